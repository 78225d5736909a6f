//! JSON errors: `{"error": {"code": "...", "message": "..."}}` with the matching status.

pub use crate::status_code::status_of;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tradpal_messages::{ErrorCode, ErrorReply};

/// An error answer. Built from an [`ErrorReply`] (actors) or directly (the adapter).
#[derive(Debug, Clone)]
pub struct ApiError(pub ErrorReply);

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(ErrorReply::new(code, message))
    }
}

impl From<ErrorReply> for ApiError {
    fn from(r: ErrorReply) -> Self {
        Self(r)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.code);
        if status.is_server_error() {
            tracing::error!(code = self.0.code.as_str(), message = %self.0.message, "request failed");
        }
        let body = serde_json::json!({ "error": { "code": self.0.code.as_str(), "message": self.0.message } });
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no route for {}", uri.path()))
}

pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {}", uri.path()))
}

/// Turns a handler panic into a 500 JSON error (the panic is logged, the server lives).
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = %detail, "handler panicked");
    ApiError::new(ErrorCode::Internal, "internal error (logged with this request's id)").into_response()
}
