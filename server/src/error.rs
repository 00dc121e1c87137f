//! The one error type of Kiln's HTTP layer. Each variant knows its status; the response shows a
//! safe message, and internal causes are logged, never sent.

use app::error::AppError;
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthorized,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that cannot be accepted, with a message for the caller.
    #[error("{message}")]
    Unprocessable { field: Option<&'static str>, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A failure the caller cannot fix; the message is for the log.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Unprocessable { field: Some(field), message: message.into() }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the caller may read: internal causes are replaced by a generic sentence.
    fn public_message(&self) -> String {
        match self {
            Error::Database(_) | Error::Internal(_) => {
                "something went wrong on the server; it has been logged".to_owned()
            }
            other => other.to_string(),
        }
    }

    fn log_if_internal(&self) {
        match self {
            Error::Database(cause) => tracing::error!(error = %cause, "database error"),
            Error::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log_if_internal();
        let mut body = json!({ "error": self.public_message() });
        if let Error::Unprocessable { field: Some(field), .. } = &self {
            body["field"] = json!(field);
        }
        let mut response = (self.status_code(), Json(body)).into_response();
        match self {
            Error::Unauthorized => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::TooManyRequests { retry_after_secs } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

/// Server functions answer with the app's error type; this is the one place they meet.
impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        error.log_if_internal();
        match error {
            Error::Unauthorized => AppError::Unauthorized,
            Error::Forbidden => AppError::Forbidden,
            Error::NotFound(what) => AppError::NotFound(capitalise(what)),
            Error::Unprocessable { field, message } => AppError::Invalid { field: field.map(str::to_owned), message },
            Error::Conflict(message) => AppError::Conflict(message),
            throttled @ Error::TooManyRequests { .. } => AppError::Conflict(throttled.to_string()),
            Error::Database(_) | Error::Internal(_) => AppError::Internal,
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
