//! Roles as extractors: a handler that takes `Trader` runs only for a trader or admin
//! key. Missing or unknown key: 401; known key, too weak a role: 403. Runs before the
//! body is read, so unauthenticated callers cannot make the server parse anything.
//!
//! A bearer credential that looks like a JWT is checked as an API token
//! (`crate::tokens`): it grants the role it carries; an expired, altered, `alg: none`
//! or revoked token is a 401 saying which.

use super::error::ApiError;
use super::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tradpal_config::Role;
use tradpal_messages::ErrorCode;

/// The presented key: `Authorization: Bearer KEY` or `X-API-Key: KEY`.
pub(crate) fn presented_key(headers: &axum::http::HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The caller's key id and role: from an API key or an API token.
pub(crate) fn authenticate(headers: &axum::http::HeaderMap, state: &AppState) -> Result<(String, Role), ApiError> {
    let key = presented_key(headers)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "missing API key: send `Authorization: Bearer KEY` or `X-API-Key: KEY`"))?;
    if crate::tokens::looks_like_jwt(key) {
        return state.keys.role_of_token(key, crate::tokens::unix_now()).map_err(|e| ApiError::new(ErrorCode::Unauthorized, e.to_string()));
    }
    let role = state.keys.role_of(key).ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "unknown API key"))?;
    Ok((crate::keys::key_id(key), role))
}

pub(crate) fn authorize_headers(headers: &axum::http::HeaderMap, state: &AppState, needed: Role) -> Result<Role, ApiError> {
    let (_, role) = authenticate(headers, state)?;
    if !role.allows(needed) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("this key's role is {}; this endpoint needs {}", role.as_str(), needed.as_str()),
        ));
    }
    Ok(role)
}

macro_rules! role_extractor {
    ($name:ident, $role:expr) => {
        #[doc = concat!("Proof that the caller holds at least the `", stringify!($name), "` role.")]
        pub struct $name(pub Role);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;
            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
                authorize_headers(&parts.headers, state, $role).map($name)
            }
        }
    };
}

role_extractor!(Viewer, Role::Viewer);
role_extractor!(Trader, Role::Trader);
role_extractor!(Admin, Role::Admin);
