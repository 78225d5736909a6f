//! `POST /api/auth/token`: an API key in, a short-lived signed token out (see
//! `crate::tokens`). Only a key can get a token: a token cannot extend itself, so its
//! lifetime really bounds how long a leaked one works.

use super::error::ApiError;
use super::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use tradpal_messages::ErrorCode;

pub async fn issue(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    let key = super::auth::presented_key(&headers).ok_or_else(super::auth::missing_key)?;
    if crate::tokens::looks_like_jwt(key) {
        return Err(ApiError::new(ErrorCode::Forbidden, "a token cannot be exchanged for a new token: present the API key"));
    }
    let (key_id, role) = super::auth::key_role(&state, key)?;
    let issuer =
        state.keys.tokens.as_ref().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "API tokens are not enabled in this process"))?;
    let now = crate::tokens::unix_now();
    let (token, claims) = issuer.issue(role, &key_id, now).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    tracing::info!(target: "auth", key_id = %key_id, role = role.as_str(), expires_at = claims.exp, "API token issued");
    Ok(Json(serde_json::json!({
        "token": token,
        "token_type": "Bearer",
        "role": role.as_str(),
        "key_id": key_id,
        "expires_in": claims.exp - now,
        "expires_at": claims.exp,
    })))
}
