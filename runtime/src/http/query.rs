//! The query-string extractor: axum's `Query<T>` (serde, `form_urlencoded` decoding) with
//! its rejection turned into the API's JSON 400 that names the parameter at fault
//! (`limit: invalid digit found in string`, `unknown field `x`, expected one of ...`).
//!
//! Why a wrapper: a bare `Query<T>` answers a plain-text 400; every other error here is
//! the JSON `{"error": {...}}` shape. Handlers take `ApiQuery<T>` where `T` is a
//! `#[serde(deny_unknown_fields)]` struct, so an unknown parameter is refused, not ignored.

use super::error::ApiError;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tradpal_messages::ErrorCode;

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(rejected(&rejection.body_text())),
        }
    }
}

/// `Failed to deserialize query string: limit: ...` -> `invalid query string: limit: ...`.
fn rejected(text: &str) -> ApiError {
    let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(text);
    ApiError::new(ErrorCode::BadRequest, format!("invalid query string: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Q {
        timeframe: String,
        limit: Option<usize>,
    }

    async fn extract(uri: &str) -> Result<Q, (u16, String)> {
        let (mut parts, ()) = axum::http::Request::builder().uri(uri).body(()).unwrap().into_parts();
        match ApiQuery::<Q>::from_request_parts(&mut parts, &()).await {
            Ok(ApiQuery(q)) => Ok(q),
            Err(e) => Err((super::super::error::status_of(e.0.code).as_u16(), e.0.message)),
        }
    }

    #[tokio::test]
    async fn decodes_and_names_the_parameter_at_fault() {
        let q = extract("/x?timeframe=1%20h&limit=7").await.unwrap();
        assert_eq!(q, Q { timeframe: "1 h".into(), limit: Some(7) });
        let (status, msg) = extract("/x?timeframe=1m&limit=abc").await.unwrap_err();
        assert_eq!(status, 400);
        assert!(msg.starts_with("invalid query string: limit: "), "{msg}");
        let (_, msg) = extract("/x?timeframe=1m&colour=red").await.unwrap_err();
        assert!(msg.contains("unknown field `colour`") && msg.contains("`limit`"), "{msg}");
        let (_, msg) = extract("/x?limit=1").await.unwrap_err();
        assert!(msg.contains("missing field `timeframe`"), "{msg}");
    }
}
