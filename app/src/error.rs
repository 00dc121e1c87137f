//! The one error type that crosses the wire between server functions and the browser.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

/// What a server function can answer instead of its result. Every message is safe to show to the
/// person at the browser: internal details are logged on the server, never sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("Please sign in again.")]
    Unauthorized,
    #[error("Your role does not allow this.")]
    Forbidden,
    #[error("{0} was not found.")]
    NotFound(String),
    /// Input that cannot be accepted; `field` names the form field when there is one.
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("Something went wrong on the server; it has been logged.")]
    Internal,
    /// The call did not get through (network, encoding); produced by the server-function layer.
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid { field: Some(field.to_owned()), message: message.into() }
    }

    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } => 422,
            AppError::Conflict(_) => 409,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
