//! The HTTP status of each error class: what `http/` answers, and what a NATS command
//! reply (`nats/commands.rs`) carries in its `status` field, so a client handles an
//! error the same way whichever transport it came by.
//!
//! A leaf of its own because both adapters need it and `http` already depends on `nats`
//! (the status route shows the bridge), so it cannot live in `http/error.rs`.

use axum::http::StatusCode;
use tradpal_messages::ErrorCode;

/// The HTTP status of each error class.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::Gone => StatusCode::GONE,
        ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
    }
}
