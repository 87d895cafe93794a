//! The one error type of the HTTP API: `{"error":{"code","message",...}}` with stable codes.

use crate::domain::error::DomainError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parley_store::StoreError;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

/// An API error. `code` is stable (clients match on it); `message` is for people; `extra`
/// fields (e.g. `findings`) are merged into the error object.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing, invalid, expired or revoked credentials",
        )
    }
    pub fn rate_limited() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests, slow down",
        )
    }
    pub fn too_large(what: &str, max: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{what} is longer than {max} bytes"),
        )
    }
    pub fn with_extra(mut self, extra: Value) -> ApiError {
        self.extra = Some(extra);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({"code": self.code, "message": self.message});
        if let (Some(Value::Object(extra)), Value::Object(obj)) = (self.extra, &mut err) {
            for (k, v) in extra {
                if k != "code" && k != "message" {
                    obj.insert(k, v);
                }
            }
        }
        (self.status, axum::Json(json!({ "error": err }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Forbidden(why) => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("forbidden: {why}"),
            ),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m.clone()),
            StoreError::Invalid(m) => ApiError::bad_request(m.clone()),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = ?e, "storage unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage unavailable, retry later",
                )
            }
            StoreError::Backend(_) => {
                tracing::error!(error = ?e, "storage error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        match e {
            DomainError::Invalid(m) => ApiError::bad_request(m),
            DomainError::TooLarge(m) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", m)
            }
            DomainError::NotFound(what) => ApiError::not_found(&what),
            DomainError::Missing { code, message } => {
                ApiError::new(StatusCode::NOT_FOUND, code, message)
            }
            DomainError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            DomainError::Refused { code, message } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message)
            }
            DomainError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            DomainError::PolicyViolation(v) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "policy_violation",
                v.explanation.clone(),
            )
            .with_extra(serde_json::to_value(&*v).unwrap_or(Value::Null)),
            DomainError::Restricted(r) => {
                ApiError::new(StatusCode::FORBIDDEN, "restricted", r.message.clone())
                    .with_extra(serde_json::to_value(&*r).unwrap_or(Value::Null))
            }
            DomainError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m)
            }
            DomainError::Store(e) => e.into(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}

/// The stable codes of error answers.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    PolicyViolation,
    Restricted,
    AlreadyResolved,
    SameReviewer,
    AlreadyAppealed,
    AppealWindowClosed,
    RateLimited,
    Unavailable,
    Internal,
    /// Files (tus uploads and downloads).
    TusVersion,
    OffsetMismatch,
    ChecksumMismatch,
    UploadExpired,
    UploadBusy,
    QuotaExceeded,
    TooManyUploads,
    BadLink,
    LinkExpired,
    BadRange,
    /// Messages with attachments.
    AttachmentNotFound,
    AttachmentInUse,
}

/// The error object: a stable `code`, a `message` for people, and the details of some codes
/// (`policy_violation`: action, findings, explanation; `restricted`: enforcement_id, kind,
/// ends_at, statement).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// `policy_violation`: block or hold_for_review.
    pub action: Option<String>,
    /// `policy_violation`: what was found.
    pub findings: Option<Vec<crate::domain::views::Finding>>,
    /// `policy_violation`: the policy's explanation.
    pub explanation: Option<String>,
    /// `restricted`: the restriction (`en_N`).
    pub enforcement_id: Option<String>,
    /// `restricted`: restriction or suspension.
    pub kind: Option<String>,
    /// `restricted`: Unix milliseconds; null until further notice.
    pub ends_at: Option<i64>,
    /// `restricted`: the statement of reasons.
    pub statement: Option<crate::domain::views::Statement>,
}

/// Every error answer: `{"error": {"code", "message", ...}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "request body too large",
            );
        }
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ),
            // serde's message names the field and the problem, never server internals.
            JsonRejection::JsonDataError(e) => ApiError::bad_request(e.body_text()),
            JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("malformed JSON body"),
            _ => ApiError::bad_request("unreadable request body"),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::bad_request(r.body_text())
    }
}

/// `Json` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Path` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `Query` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;
