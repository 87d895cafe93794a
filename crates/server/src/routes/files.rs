//! Files: the list of a conversation's files, one file, its download through a signed link
//! (with Range), and the moderator's review of held files.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::blob::BlobStore;
use crate::domain::files::{self, LinkError};
use crate::error::{Json, Query};
use crate::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/conversations/{id}/files", get(list))
        .route("/v1/files/{id}", get(one))
        .route("/v1/files/{id}/content", get(content))
        .route("/v1/moderation/files", get(held))
        .route("/v1/moderation/files/{id}/decision", post(decide))
}

/// `GET /v1/conversations/{id}/files`: the files the caller may see, newest first.
pub async fn list(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> ApiResult<Json<Value>> {
    let me = s.require_user(&h).await?;
    let list = s.store().list_files(&id, &me).await?;
    let views: Vec<_> = list.iter().map(|f| files::view(&s, f, &me)).collect();
    Ok(Json(json!({ "files": views })))
}

/// `GET /v1/files/{id}`: one file (404 unless the caller may see it).
pub async fn one(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> ApiResult<Json<files::FileView>> {
    let me = s.require_user(&h).await?;
    let f = s.store().get_file(&id).await?;
    if !s.store().is_member(&f.conversation_id, &me).await? || !f.visible_to(&me) {
        return Err(ApiError::not_found("file"));
    }
    Ok(Json(files::view(&s, &f, &me)))
}

#[derive(Debug, Deserialize)]
pub struct Link {
    user: String,
    expires: i64,
    sig: String,
}

/// A single `bytes=` range of a file of `size` bytes: `(start, len)`; `Err` when unsatisfiable.
pub fn parse_range(v: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // several ranges: answer the whole file
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let r = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        let n = n.min(size);
        (size - n, n)
    } else {
        let start: u64 = a.parse().ok()?;
        let end: u64 = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            b.parse::<u64>().ok()?.min(size.saturating_sub(1))
        };
        if start >= size || end < start {
            return Some(Err(()));
        }
        (start, end - start + 1)
    };
    Some(Ok(r))
}

fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `GET /v1/files/{id}/content?user&expires&sig`: the bytes, through a signed link.
/// 403 for a forged or expired link, 404 when the link's user may not download the file.
pub async fn content(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(link): Query<Link>,
    h: HeaderMap,
) -> ApiResult<Response> {
    match files::verify(&s, &id, &link.user, link.expires, &link.sig) {
        Ok(()) => {}
        Err(LinkError::Forged) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "bad_link",
                "this download link is not valid",
            ))
        }
        Err(LinkError::Expired) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "link_expired",
                "this download link has expired; open the file again for a new one",
            ))
        }
    }
    let f = files::downloadable(&s, &id, &link.user).await?;
    let blobs = s.inner.files.storage.blobs();
    let size = blobs
        .size(&f.sha256)
        .await
        .map_err(|_| ApiError::not_found("file"))?;
    let range = h
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, size));
    let (status, start, len) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Ok((a, n))) => (StatusCode::PARTIAL_CONTENT, a, n),
        Some(Err(())) => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "bad_range",
                "range not satisfiable",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let reader = blobs
        .open_range(&f.sha256, start, len)
        .await
        .map_err(|_| ApiError::not_found("file"))?;
    let mut r = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(reader)));
    *r.status_mut() = status;
    let hd = r.headers_mut();
    // Never rendered by the browser: always a download, never sniffed, scripts sandboxed.
    let ty = match f.content_type.as_str() {
        "text/html" | "image/svg+xml" | "application/xhtml+xml" => "application/octet-stream",
        t => t,
    };
    let set = |hd: &mut HeaderMap, k: header::HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            hd.insert(k, v);
        }
    };
    set(hd, header::CONTENT_TYPE, ty);
    set(hd, header::CONTENT_LENGTH, &len.to_string());
    set(hd, header::CONTENT_DISPOSITION, &disposition(&f.name));
    set(hd, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(hd, header::CONTENT_SECURITY_POLICY, "sandbox");
    set(hd, header::CACHE_CONTROL, "private, no-cache");
    set(hd, header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        set(
            hd,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{}/{size}", start + len - 1),
        );
    }
    Ok(r)
}

/// `GET /v1/moderation/files`: held and unscannable files with the scan's evidence.
pub async fn held(State(s): State<AppState>, h: HeaderMap) -> ApiResult<Json<Value>> {
    let me = crate::routes::auth::moderator(&s, &h).await?;
    let list = s.store().held_files(200).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|f| {
            let mut v = json!(files::view(&s, f, &me));
            v["scan"] = f.scan.clone().unwrap_or(Value::Null);
            // The moderator may open the file to judge it.
            v["download_url"] = json!(files::signed_url(&s, &f.id, &me));
            v
        })
        .collect();
    Ok(Json(json!({ "files": items })))
}

#[derive(Debug, Deserialize)]
pub struct Review {
    /// `approve` (deliver to the other members) or `reject` (block).
    action: String,
}

/// `POST /v1/moderation/files/{id}/decision`.
pub async fn decide(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    Json(r): Json<Review>,
) -> ApiResult<Json<files::FileView>> {
    let me = crate::routes::auth::moderator(&s, &h).await?;
    let approve = match r.action.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::bad_request("action must be approve or reject")),
    };
    let f = files::review(&s, &me, &id, approve).await?;
    Ok(Json(files::view(&s, &f, &me)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 10))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 10))));
        assert_eq!(parse_range("bytes=-5", 100), Some(Ok((95, 5))));
        assert_eq!(parse_range("bytes=50-500", 100), Some(Ok((50, 50))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=5-1", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert!(disposition("a\"b.pdf").starts_with("attachment; filename=\"a_b.pdf\""));
    }
}
