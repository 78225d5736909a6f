//! Roles as extractors: a handler that takes `Trader` runs only for a trader or admin
//! key. Missing or unknown key: 401; known key, too weak a role: 403. Runs before the
//! body is read, so unauthenticated callers cannot make the server parse anything.
//! Credentials: an API key in a header, or the dashboard's session cookie (`ui_sessions.rs`).
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

/// The caller's key id and role: a presented API key or API token, else the dashboard's
/// session cookie (whose writes must carry the `X-TradPal-UI` header: see `ui/mod.rs`).
pub(crate) fn authenticate(
    headers: &axum::http::HeaderMap,
    method: &axum::http::Method,
    state: &AppState,
) -> Result<(String, Role), ApiError> {
    let Some(key) = presented_key(headers) else {
        return cookie_role(headers, method, state);
    };
    if crate::tokens::looks_like_jwt(key) {
        return state.keys.role_of_token(key, crate::tokens::unix_now()).map_err(|e| ApiError::new(ErrorCode::Unauthorized, e.to_string()));
    }
    key_role(state, key)
}

/// A configured API key's id and role (not a token); 401 for an unknown key.
pub(crate) fn key_role(state: &AppState, key: &str) -> Result<(String, Role), ApiError> {
    let role = state.keys.role_of(key).ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "unknown API key"))?;
    Ok((crate::keys::key_id(key), role))
}

/// 401 for a request that presents no credential.
pub(crate) fn missing_key() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "missing API key: send `Authorization: Bearer KEY` or `X-API-Key: KEY`")
}

/// For callers that only read (the method is taken as GET).
pub(crate) fn authorize_headers(headers: &axum::http::HeaderMap, state: &AppState, needed: Role) -> Result<Role, ApiError> {
    authorize(headers, &axum::http::Method::GET, state, needed)
}

/// The caller's role, if it allows `needed` (else 401 or 403).
pub(crate) fn authorize(
    headers: &axum::http::HeaderMap,
    method: &axum::http::Method,
    state: &AppState,
    needed: Role,
) -> Result<Role, ApiError> {
    let (_, role) = authenticate(headers, method, state)?;
    if !role.allows(needed) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("this key's role is {}; this endpoint needs {}", role.as_str(), needed.as_str()),
        ));
    }
    Ok(role)
}

fn cookie_role(headers: &axum::http::HeaderMap, method: &axum::http::Method, state: &AppState) -> Result<(String, Role), ApiError> {
    let token = super::ui_sessions::cookie_token(headers).ok_or_else(missing_key)?;
    // Session expiry is wall time at the edge, not a core's decision.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let login = state
        .ui
        .get(token, now)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the dashboard session has expired or is unknown: log in again"))?;
    let safe = matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    if !safe && !headers.contains_key(super::ui_sessions::UI_HEADER) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "a write authenticated by the dashboard cookie must carry the X-TradPal-UI header (protection against cross-site requests)",
        ));
    }
    Ok((login.key_id, login.role))
}

macro_rules! role_extractor {
    ($name:ident, $role:expr) => {
        #[doc = concat!("Proof that the caller holds at least the `", stringify!($name), "` role.")]
        pub struct $name(pub Role);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;
            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
                authorize(&parts.headers, &parts.method, state, $role).map($name)
            }
        }
    };
}

role_extractor!(Viewer, Role::Viewer);
role_extractor!(Trader, Role::Trader);
role_extractor!(Admin, Role::Admin);
