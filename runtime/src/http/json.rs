//! The JSON body extractor: size-limited, and every failure a 4xx JSON error that says
//! what is wrong (line and column, missing or unknown field), never a panic.

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use tradpal_messages::ErrorCode;

pub struct ApiJson<T>(pub T);

/// The body limit in force (`TRADPAL_BODY_BYTES_MAX`), set when the router is built, so a
/// 413 can say what the limit is.
pub static BODY_BYTES_MAX: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                let limit = BODY_BYTES_MAX.load(std::sync::atomic::Ordering::Relaxed);
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("request body is larger than the limit of {limit} bytes (TRADPAL_BODY_BYTES_MAX)"),
                )
            } else {
                ApiError::new(ErrorCode::BadRequest, format!("cannot read request body: {}", rejection.body_text()))
            }
        })?;
        if bytes.is_empty() {
            return Err(ApiError::new(ErrorCode::BadRequest, "request body is empty: expected a JSON object"));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = if path == "." || path.is_empty() {
                format!("invalid JSON body: {inner}")
            } else {
                format!("invalid JSON body at `{path}`: {inner}")
            };
            ApiError::new(ErrorCode::BadRequest, message)
        })?;
        Ok(ApiJson(value))
    }
}
