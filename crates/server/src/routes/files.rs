//! Files: the list of a conversation's files, one file, its download through a signed link
//! (with Range), and the moderator's review of held files.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::blob::BlobStore;
use crate::domain::files::{
    self, FileList, FileView, LinkError, ModerationFile, ModerationFileList,
};
use crate::error::{ErrorBody, Json, Path, Query};
use crate::{ApiError, ApiResult, AppState};

/// Authenticated in the handlers (a signed download link is its own credential), so merged
/// outside the guard's route layer; documented all the same.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one, remove))
        .routes(routes!(content))
        .routes(routes!(held))
        .routes(routes!(decide))
}

/// The files the caller may see in a conversation, newest first (others' files only once
/// clean; the caller's own in every state, with the scan's explanation and evidence).
#[utoipa::path(get, path = "/v1/conversations/{id}/files", operation_id = "list_files", tag = "files",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The conversation's id")),
    responses(
        (status = 200, body = FileList),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
    ))]
pub async fn list(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> ApiResult<Json<FileList>> {
    let me = s.require_user(&h).await?;
    let list = s.store().list_files(&id, &me).await?;
    let files = list.iter().map(|f| files::view(&s, f, &me)).collect();
    Ok(Json(FileList { files }))
}

/// One file (404 unless the caller may see it).
#[utoipa::path(get, path = "/v1/files/{id}", operation_id = "get_file", tag = "files",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The file's id (its upload's id)")),
    responses(
        (status = 200, body = FileView),
        (status = 404, description = "No such file, or not visible to the caller", body = ErrorBody),
    ))]
pub async fn one(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> ApiResult<Json<FileView>> {
    let me = s.require_user(&h).await?;
    let f = s.store().get_file(&id).await?;
    if !s.store().is_member(&f.conversation_id, &me).await? || !f.visible_to(&me) {
        return Err(ApiError::not_found("file"));
    }
    Ok(Json(files::view(&s, &f, &me)))
}

/// Deletes a file (its owner, or a moderator). Its bytes are deleted with the last file that
/// uses them (identical files are stored once).
#[utoipa::path(delete, path = "/v1/files/{id}", operation_id = "delete_file", tag = "files",
    security(("userToken" = [])),
    params(("id" = String, Path, description = "The file's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such file, or not the caller's", body = ErrorBody),
    ))]
pub async fn remove(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> ApiResult<StatusCode> {
    let me = s.require_user(&h).await?;
    files::delete(&s, &me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A signed download link's query (from a file's `download_url`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Link {
    /// The user the link was made for.
    user: String,
    /// Unix seconds.
    expires: i64,
    /// HMAC-SHA256 over (file, user, expiry), hex.
    sig: String,
}

/// The bytes of a file (always served as binary).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

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

/// The bytes, through a signed link (no other credential). Always a download
/// (`Content-Disposition: attachment`), never sniffed, sandboxed; one `Range: bytes=` range
/// answers 206.
#[utoipa::path(get, path = "/v1/files/{id}/content", operation_id = "file_content", tag = "files",
    params(
        ("id" = String, Path, description = "The file's id"),
        Link,
        ("Range" = Option<String>, Header, description = "`bytes=START-END`, `bytes=START-` or `bytes=-N`"),
    ),
    responses(
        (status = 200, body = FileBytes, content_type = "application/octet-stream",
            description = "The file (its type; HTML and SVG as application/octet-stream)",
            headers(
                ("Content-Disposition" = String, description = "attachment; filename=...; filename*=UTF-8''..."),
                ("X-Content-Type-Options" = String, description = "nosniff"),
                ("Content-Security-Policy" = String, description = "sandbox"),
                ("Cache-Control" = String, description = "private, no-cache"),
                ("Accept-Ranges" = String, description = "bytes"),
            )),
        (status = 206, body = FileBytes, content_type = "application/octet-stream",
            description = "The requested range",
            headers(("Content-Range" = String, description = "bytes START-END/SIZE"))),
        (status = 400, description = "invalid_request: a missing or malformed link parameter", body = ErrorBody),
        (status = 403, description = "bad_link (forged) or link_expired", body = ErrorBody),
        (status = 404, description = "The link's user may not download this file (not a member, not clean)", body = ErrorBody),
        (status = 416, description = "bad_range: not satisfiable (with `Content-Range: bytes */SIZE`)", body = ErrorBody),
    ))]
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

/// Held and unscannable files, with the scan's record (evidence, places, offsets) and a
/// download link for the moderator.
#[utoipa::path(get, path = "/v1/moderation/files", operation_id = "held_files", tag = "moderation",
    security(("userToken" = []), ("operatorKey" = [])),
    responses(
        (status = 200, body = ModerationFileList),
        (status = 403, description = "forbidden: not a moderator", body = ErrorBody),
    ))]
pub async fn held(State(s): State<AppState>, h: HeaderMap) -> ApiResult<Json<ModerationFileList>> {
    let me = crate::routes::auth::moderator(&s, &h).await?;
    let list = s.store().held_files(200).await?;
    let files = list
        .iter()
        .map(|f| {
            let mut file = files::view(&s, f, &me);
            file.scan = None;
            // The moderator may open the file to judge it.
            file.download_url = Some(files::signed_url(&s, &f.id, &me));
            ModerationFile {
                file,
                scan: f.scan.clone(),
            }
        })
        .collect();
    Ok(Json(ModerationFileList { files }))
}

/// A moderator's call on a held file.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Review {
    action: ReviewAction,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    /// Deliver it to the other members.
    Approve,
    /// Block it.
    Reject,
}

/// Decides a held (or unscannable) file; recorded in the audit trail.
#[utoipa::path(post, path = "/v1/moderation/files/{id}/decision", operation_id = "decide_file", tag = "moderation",
    security(("userToken" = []), ("operatorKey" = [])),
    params(("id" = String, Path, description = "The file's id")),
    request_body = Review,
    responses(
        (status = 200, body = FileView),
        (status = 403, description = "forbidden: not a moderator", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
        (status = 409, description = "conflict: the file is not waiting for review", body = ErrorBody),
    ))]
pub async fn decide(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    Json(r): Json<Review>,
) -> ApiResult<Json<FileView>> {
    let me = crate::routes::auth::moderator(&s, &h).await?;
    let approve = matches!(r.action, ReviewAction::Approve);
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
