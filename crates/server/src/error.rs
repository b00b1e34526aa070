//! Errors by fault, in one body shape: `{"error": {"code", "message", "details"}}`.
//!
//! A library error's status comes from its `fault()` (bad input 400, not found 404, conflict
//! 409, unavailable 503, internal 500), which each crate answers exhaustively for its own
//! variants. An internal error is logged in full under the request id and answered with a
//! generic message naming that id; every other message is the library's own, which names the
//! problem.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lakehouse::store::Fault;
use serde::Serialize;
use serde_json::{Value, json};

tokio::task_local! {
    /// The id of the request being served (set by the request-id middleware).
    pub(crate) static REQUEST_ID: String;
}

/// The id of the current request, or `-` outside one.
pub(crate) fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_string())
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
    retry_after: Option<u64>,
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorInfo,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorInfo {
    /// A stable machine-readable code (`bad_input`, `not_found`, `conflict`, ...).
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
    /// More, when there is more (the request id of an internal error, ...).
    #[schema(value_type = Object)]
    pub details: Value,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// With more detail in the body.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    /// 400: the request is wrong.
    pub fn bad_input(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "bad_input", message)
    }

    /// 400: the body is not JSON.
    pub fn malformed_json(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    /// 422: the body is JSON but not the expected shape (a missing or unknown field).
    pub fn invalid_body(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405.
    pub fn method_not_allowed() -> ApiError {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take that method (see /v1/openapi.json)",
        )
    }

    /// 401: no token, or one this server does not know.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: a known token asking for what it may not do.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 413.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> ApiError {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests for this token; retry in {retry_after_secs} s"),
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 503: the request ran out of time.
    pub fn timeout(millis: u64) -> ApiError {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {millis} ms and was stopped"),
        )
    }

    /// 500 with the detail kept for the log.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        let id = request_id();
        tracing::error!(request_id = %id, error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error; the server log has the detail under request id {id}"),
        )
        .with_details(json!({ "request_id": id }))
    }

    /// The answer for a library error of `fault`.
    pub fn from_fault(fault: Fault, error: &dyn std::fmt::Display) -> ApiError {
        match fault {
            Fault::BadInput => Self::bad_input(error.to_string()),
            Fault::NotFound => Self::not_found(error.to_string()),
            Fault::Conflict => Self::new(StatusCode::CONFLICT, "conflict", error.to_string()),
            Fault::Unavailable => {
                let id = request_id();
                tracing::warn!(request_id = %id, error = %error, "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    error.to_string(),
                )
            }
            Fault::Internal => Self::internal(error),
        }
    }

    /// The error a job failed with, answered as the request that waited for it.
    pub(crate) fn from_info(info: &ErrorInfo) -> ApiError {
        let (status, code) = match info.code.as_str() {
            "bad_input" => (StatusCode::BAD_REQUEST, "bad_input"),
            "not_found" => (StatusCode::NOT_FOUND, "not_found"),
            "conflict" => (StatusCode::CONFLICT, "conflict"),
            "unavailable" => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError {
            status,
            code,
            message: info.message.clone(),
            details: info.details.clone(),
            retry_after: None,
        }
    }

    /// What is wrong, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorInfo {
                code: self.code.to_string(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(v) = self
            .retry_after
            .and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

macro_rules! from_library_error {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for ApiError {
            fn from(e: $ty) -> ApiError {
                ApiError::from_fault(e.fault(), &e)
            }
        }
    )*};
}

from_library_error!(
    lakehouse::Error,
    lakehouse::store::StoreError,
    lakehouse::store::journal::JournalError,
    lakehouse::table::TableError,
    lakehouse::vectord::VectordError,
    lakehouse::memory::MemoryError,
    lakehouse::models::ModelError,
    lakehouse::agent::AgentError,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_get_the_status_of_their_fault() {
        let e: ApiError = lakehouse::memory::MemoryError::UnknownRecord {
            namespace: "n".into(),
            id: "r1".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        let e: ApiError = lakehouse::memory::MemoryError::NotTip {
            id: "a".into(),
            tip: "b".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e: ApiError = lakehouse::table::TableError::ReadOnly {
            statement: "a DROP TABLE statement".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains("DROP TABLE"));
        let e: ApiError = lakehouse::vectord::VectordError::Corrupt {
            path: "secret/path".into(),
            message: "bad".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.body().error.message.contains("secret/path"));
    }
}
