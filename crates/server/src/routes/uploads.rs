//! `/v1/uploads`: tus 1.0.0 (core, creation, creation-with-upload, expiration, checksum,
//! termination), authenticated by the user's token. Thin: headers in, domain call, headers out.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::tus::{self, HeaderError};
use crate::domain::uploads::{self, UploadError};
use crate::error::ErrorBody;
use crate::{ApiError, AppState};

/// Authenticated in the handlers (tus answers OPTIONS without credentials), so merged outside
/// the guard's route layer; documented all the same.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, options))
        .routes(routes!(head, patch, terminate, options_upload))
        // Upload bodies are streamed to disk and bounded by Upload-Length, not by the JSON limit.
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// Bytes of the file (`Content-Type: application/offset+octet-stream`).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Chunk(pub Vec<u8>);

/// An error answered the tus way: the API's JSON error with `Tus-Resumable` (and
/// `Tus-Version` on a version mismatch).
pub struct TusError(ApiError);

impl IntoResponse for TusError {
    fn into_response(self) -> Response {
        let version_mismatch = self.0.code == "tus_version";
        let mut r = self.0.into_response();
        let h = r.headers_mut();
        h.insert("tus-resumable", HeaderValue::from_static(tus::VERSION));
        if version_mismatch {
            h.insert("tus-version", HeaderValue::from_static(tus::VERSION));
        }
        r
    }
}

impl From<ApiError> for TusError {
    fn from(e: ApiError) -> TusError {
        TusError(e)
    }
}

impl From<HeaderError> for TusError {
    fn from(e: HeaderError) -> TusError {
        TusError(ApiError::bad_request(e.to_string()))
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> ApiError {
        let m = e.to_string();
        match e {
            UploadError::NotFound => ApiError::not_found("upload"),
            UploadError::ConversationNotFound => ApiError::not_found("conversation"),
            UploadError::Expired => ApiError::new(StatusCode::GONE, "upload_expired", m),
            UploadError::OffsetMismatch { .. } => {
                ApiError::new(StatusCode::CONFLICT, "offset_mismatch", m)
            }
            UploadError::TooLarge(_) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", m)
            }
            UploadError::OverQuota { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded", m)
            }
            UploadError::TooManyPending(_) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_uploads", m)
            }
            UploadError::ChecksumMismatch => ApiError::new(
                StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
                "checksum_mismatch",
                m,
            ),
            UploadError::Busy => ApiError::new(StatusCode::CONFLICT, "upload_busy", m),
            UploadError::Invalid(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m),
            UploadError::Store(e) => e.into(),
            UploadError::Io(e) => {
                tracing::error!(error = %e, "file storage");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "file storage error",
                )
            }
        }
    }
}

impl From<UploadError> for TusError {
    fn from(e: UploadError) -> TusError {
        TusError(e.into())
    }
}

type TusResult = Result<Response, TusError>;

fn text<'a>(h: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, TusError> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| ApiError::bad_request(format!("{name} is not ASCII")).into()),
    }
}

/// `Tus-Resumable: 1.0.0` on every request but OPTIONS, else 412.
fn check_version(h: &HeaderMap) -> Result<(), TusError> {
    match text(h, "tus-resumable")? {
        Some(tus::VERSION) => Ok(()),
        Some(v) => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version",
            format!("tus version {v:?} is not supported (supported: 1.0.0)"),
        )
        .into()),
        None => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version",
            "Tus-Resumable: 1.0.0 is required",
        )
        .into()),
    }
}

fn is_offset_stream(h: &HeaderMap) -> Result<bool, TusError> {
    Ok(text(h, "content-type")?.is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(tus::OFFSET_OCTET_STREAM))
    }))
}

fn checksum(h: &HeaderMap) -> Result<Option<tus::Checksum>, TusError> {
    match text(h, "upload-checksum")? {
        None => Ok(None),
        Some(v) => Ok(Some(tus::parse_checksum(v)?)),
    }
}

fn http_date(ms: i64) -> HeaderValue {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    HeaderValue::from_str(&httpdate::fmt_http_date(t))
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

fn set(r: &mut Response, name: &'static str, v: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
        r.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

fn answer(status: StatusCode) -> Response {
    let mut r = status.into_response();
    set(&mut r, "tus-resumable", tus::VERSION);
    r
}

/// tus discovery: what this server supports (no authentication, no `Tus-Resumable`).
#[utoipa::path(options, path = "/v1/uploads", operation_id = "upload_options", tag = "files",
    responses((status = 204, description = "The server's tus capabilities",
        headers(
            ("Tus-Version" = String, description = "1.0.0"),
            ("Tus-Extension" = String, description = "creation,creation-with-upload,expiration,checksum,termination"),
            ("Tus-Max-Size" = u64, description = "files.max_upload_bytes"),
            ("Tus-Checksum-Algorithm" = String, description = "sha1,sha256"),
        ))))]
pub async fn options(State(s): State<AppState>) -> Response {
    capabilities(&s)
}

/// tus discovery on an upload's URL (same answer as on `/v1/uploads`).
#[utoipa::path(options, path = "/v1/uploads/{id}", operation_id = "upload_item_options", tag = "files",
    params(("id" = String, Path, description = "The upload's id (`u_...`)")),
    responses((status = 204, description = "The server's tus capabilities",
        headers(
            ("Tus-Version" = String, description = "1.0.0"),
            ("Tus-Extension" = String),
            ("Tus-Max-Size" = u64),
            ("Tus-Checksum-Algorithm" = String),
        ))))]
pub async fn options_upload(State(s): State<AppState>, Path(_id): Path<String>) -> Response {
    capabilities(&s)
}

fn capabilities(s: &AppState) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    set(&mut r, "tus-version", tus::VERSION);
    set(&mut r, "tus-extension", tus::EXTENSIONS);
    set(
        &mut r,
        "tus-max-size",
        s.inner.files.config.max_upload_bytes,
    );
    set(&mut r, "tus-checksum-algorithm", tus::CHECKSUM_ALGORITHMS);
    r
}

/// tus creation (and creation-with-upload when a body of type
/// `application/offset+octet-stream` comes with it). `Upload-Metadata` carries `filename`,
/// `conversation_id` (required), `filetype` and `purpose` (`legal_document`), each base64.
#[utoipa::path(post, path = "/v1/uploads", operation_id = "create_upload", tag = "files",
    security(("userToken" = [])),
    params(
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Length" = u64, Header, description = "The file's size in bytes"),
        ("Upload-Metadata" = String, Header, description = "`key base64,key base64`: filename, conversation_id, filetype, purpose"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1 BASE64` or `sha256 BASE64` of the body"),
    ),
    request_body(content = Option<Chunk>, content_type = "application/offset+octet-stream",
        description = "Optional: the first bytes (creation-with-upload)"),
    responses(
        (status = 201, description = "Created",
            headers(
                ("Tus-Resumable" = String),
                ("Location" = String, description = "`/v1/uploads/u_...`; the last segment is the upload's (and the file's) id"),
                ("Upload-Expires" = String, description = "HTTP date"),
                ("Upload-Offset" = Option<u64>, description = "With a body: the bytes stored"),
            )),
        (status = 400, description = "invalid_request: a missing or malformed header or metadata value, a refused file name", body = ErrorBody),
        (status = 404, description = "No such conversation, or not a member", body = ErrorBody),
        (status = 412, description = "tus_version: `Tus-Resumable` missing or not 1.0.0 (with `Tus-Version`)", body = ErrorBody),
        (status = 413, description = "too_large: over files.max_upload_bytes (nothing stored); quota_exceeded", body = ErrorBody),
        (status = 429, description = "too_many_uploads: files.max_pending_uploads unfinished uploads; rate_limited", body = ErrorBody),
        (status = 460, description = "checksum_mismatch: the body was discarded", body = ErrorBody),
    ))]
pub async fn create(State(s): State<AppState>, h: HeaderMap, body: Body) -> TusResult {
    check_version(&h)?;
    let user = s.require_user(&h).await?;
    if text(&h, "upload-defer-length")?.is_some() {
        return Err(ApiError::bad_request("Upload-Defer-Length is not supported").into());
    }
    let length = text(&h, "upload-length")?
        .ok_or_else(|| ApiError::bad_request("Upload-Length is required"))?;
    let length = tus::parse_length("Upload-Length", length)?;
    let max = s.inner.files.config.max_upload_bytes;
    if length > max {
        return Err(UploadError::TooLarge(format!(
            "Upload-Length {length} is over the limit of {max} bytes"
        ))
        .into());
    }
    let meta = tus::parse_metadata(text(&h, "upload-metadata")?.unwrap_or(""))?;
    let meta = tus::upload_meta(&meta)?;
    let with_body = is_offset_stream(&h)?;
    let sum = if with_body { checksum(&h)? } else { None };
    let up = uploads::create(&s, &user, length, meta).await?;
    let up = if with_body {
        uploads::write_chunk(&s, &user, &up.id, 0, sum, body.into_data_stream()).await?
    } else {
        uploads::finish_if_empty(&s, &up).await?;
        up
    };
    let mut r = answer(StatusCode::CREATED);
    set(&mut r, "location", format!("/v1/uploads/{}", up.id));
    set(
        &mut r,
        "upload-expires",
        http_date(up.expires_at).to_str().unwrap_or(""),
    );
    if with_body {
        set(&mut r, "upload-offset", up.received);
    }
    Ok(r)
}

/// The upload's offset (never cached).
#[utoipa::path(head, path = "/v1/uploads/{id}", operation_id = "upload_offset", tag = "files",
    security(("userToken" = [])),
    params(
        ("id" = String, Path, description = "The upload's id (`u_...`)"),
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
    ),
    responses(
        (status = 200, description = "The upload's state (no body)",
            headers(
                ("Tus-Resumable" = String),
                ("Upload-Offset" = u64),
                ("Upload-Length" = u64),
                ("Upload-Metadata" = String),
                ("Upload-Expires" = String),
                ("Cache-Control" = String, description = "no-store"),
            )),
        (status = 404, description = "No such upload, or someone else's"),
        (status = 410, description = "upload_expired: its bytes are deleted"),
        (status = 412, description = "tus_version"),
    ))]
pub async fn head(State(s): State<AppState>, Path(id): Path<String>, h: HeaderMap) -> TusResult {
    check_version(&h)?;
    let user = s.require_user(&h).await?;
    let up = uploads::get(&s, &user, &id).await?;
    let mut r = answer(StatusCode::OK);
    set(&mut r, "upload-offset", up.received);
    set(&mut r, "upload-length", up.length);
    set(&mut r, "upload-metadata", metadata_header(&up));
    set(
        &mut r,
        "upload-expires",
        http_date(up.expires_at).to_str().unwrap_or(""),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The metadata given at creation, as validated (tus: HEAD repeats it).
fn metadata_header(up: &parley_store::Upload) -> String {
    use base64::Engine;
    let b = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let mut parts = vec![
        format!("filename {}", b(&up.filename)),
        format!("filetype {}", b(&up.filetype)),
        format!("conversation_id {}", b(&up.conversation_id)),
    ];
    if let Some(p) = &up.purpose {
        parts.push(format!("purpose {}", b(p)));
    }
    parts.join(",")
}

/// Appends a chunk at `Upload-Offset` (durable before the answer).
#[utoipa::path(patch, path = "/v1/uploads/{id}", operation_id = "upload_chunk", tag = "files",
    security(("userToken" = [])),
    params(
        ("id" = String, Path, description = "The upload's id (`u_...`)"),
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Offset" = u64, Header, description = "Must equal the upload's offset"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1 BASE64` or `sha256 BASE64` of this chunk"),
    ),
    request_body(content = Chunk, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Stored",
            headers(
                ("Tus-Resumable" = String),
                ("Upload-Offset" = u64),
                ("Upload-Expires" = String),
            )),
        (status = 400, description = "invalid_request: a missing or malformed header, an unsupported checksum algorithm", body = ErrorBody),
        (status = 404, description = "No such upload, or someone else's", body = ErrorBody),
        (status = 409, description = "offset_mismatch (nothing written); upload_busy (another PATCH is running)", body = ErrorBody),
        (status = 410, description = "upload_expired", body = ErrorBody),
        (status = 412, description = "tus_version", body = ErrorBody),
        (status = 413, description = "too_large: past Upload-Length (the chunk discarded)", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/offset+octet-stream", body = ErrorBody),
        (status = 460, description = "checksum_mismatch: the chunk discarded", body = ErrorBody),
    ))]
pub async fn patch(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Body,
) -> TusResult {
    check_version(&h)?;
    let user = s.require_user(&h).await?;
    if !is_offset_stream(&h)? {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "PATCH needs Content-Type: application/offset+octet-stream",
        )
        .into());
    }
    let offset = text(&h, "upload-offset")?
        .ok_or_else(|| ApiError::bad_request("Upload-Offset is required"))?;
    let offset = tus::parse_length("Upload-Offset", offset)?;
    let sum = checksum(&h)?;
    let up = uploads::write_chunk(&s, &user, &id, offset, sum, body.into_data_stream()).await?;
    let mut r = answer(StatusCode::NO_CONTENT);
    set(&mut r, "upload-offset", up.received);
    set(
        &mut r,
        "upload-expires",
        http_date(up.expires_at).to_str().unwrap_or(""),
    );
    Ok(r)
}

/// Termination: the upload and its bytes are deleted.
#[utoipa::path(delete, path = "/v1/uploads/{id}", operation_id = "terminate_upload", tag = "files",
    security(("userToken" = [])),
    params(
        ("id" = String, Path, description = "The upload's id (`u_...`)"),
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
    ),
    responses(
        (status = 204, description = "Deleted", headers(("Tus-Resumable" = String))),
        (status = 404, description = "No such upload, or someone else's", body = ErrorBody),
        (status = 409, description = "upload_busy", body = ErrorBody),
        (status = 410, description = "upload_expired", body = ErrorBody),
        (status = 412, description = "tus_version", body = ErrorBody),
    ))]
pub async fn terminate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> TusResult {
    check_version(&h)?;
    let user = s.require_user(&h).await?;
    uploads::terminate(&s, &user, &id).await?;
    Ok(answer(StatusCode::NO_CONTENT))
}
