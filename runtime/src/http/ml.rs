//! ML endpoints (issue 14). Each handler parses, sends one message to the ML actor and
//! renders.
//!
//! - `POST /api/ml/train` answers `202` with `{"model_id", "version", "status":
//!   "training", "implementation", ...}`; the status moves to `ready` or `failed`.
//! - `GET /api/ml/models` lists models; `GET /api/ml/models/{id}` gives one (status,
//!   progress, parameters, `metrics.out_of_sample` with the baseline beside it);
//!   `DELETE /api/ml/models/{id}` deletes one.
//! - `POST /api/ml/predict` with `model_id` and `features` (the vector in the model's
//!   feature order) or `symbol` (the latest complete stored bar).
//! - `GET /api/ml/feature-importance?model_id=` gives gain and permutation importance.

use super::auth::{Trader, Viewer};
use super::error::ApiError;
use super::json::ApiJson;
use super::query::ApiQuery;
use super::request_id::RequestId;
use super::trading::correlation;
use crate::actor_call::call_actor;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;
use tradpal_actors::ml::actor::MlMsg;
use tradpal_actors::ml::request::{PredictRequest, TrainRequest};
use tradpal_actors::names;
use tradpal_actors::session::SessionMsg;
use tradpal_messages::{ErrorCode, ModelId, SessionStatus};

pub async fn train(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<TrainRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (req, meta) = (Box::new(req), correlation(&rid));
    let accepted = call_actor(names::ML, |reply| MlMsg::Train { req, meta, reply }).await??;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

fn model_id(text: &str) -> Result<ModelId, ApiError> {
    text.parse().map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("model_id: {e}")))
}

pub async fn models(_role: Viewer) -> Result<Json<Value>, ApiError> {
    Ok(Json(call_actor(names::ML, |reply| MlMsg::Models { reply }).await??))
}

pub async fn model(_role: Viewer, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = model_id(&id)?;
    Ok(Json(call_actor(names::ML, |reply| MlMsg::Model { id, reply }).await??))
}

/// Deletes a model, unless a session that is not stopped pins it (its restart would find
/// the file gone): 409 naming the sessions.
pub async fn delete(_role: Trader, Extension(rid): Extension<RequestId>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let (id, meta) = (model_id(&id)?, correlation(&rid));
    let rows = call_actor(names::SESSION, |reply| SessionMsg::List { reply }).await?;
    let pinning: Vec<String> = rows
        .iter()
        .filter(|r| r.info.status != SessionStatus::Stopped)
        .filter(|r| r.models.as_ref().is_some_and(|m| m.model_id.as_deref() == Some(id.to_string().as_str())))
        .map(|r| r.info.session_id.to_string())
        .collect();
    if !pinning.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("model {id} is pinned by ai_ensemble session(s) {}: stop them first", pinning.join(", ")),
        ));
    }
    Ok(Json(call_actor(names::ML, |reply| MlMsg::Delete { id, meta, reply }).await??))
}

pub async fn predict(_role: Viewer, ApiJson(req): ApiJson<PredictRequest>) -> Result<Json<Value>, ApiError> {
    let req = Box::new(req);
    Ok(Json(call_actor(names::ML, |reply| MlMsg::Predict { req, reply }).await??))
}

/// `GET /api/ml/feature-importance?model_id=<id>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportanceQuery {
    pub model_id: Option<String>,
}

pub async fn feature_importance(_role: Viewer, ApiQuery(q): ApiQuery<ImportanceQuery>) -> Result<Json<Value>, ApiError> {
    let text = q.model_id.ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadRequest,
            "model_id: missing; GET /api/ml/feature-importance?model_id=<id> (GET /api/ml/models lists them)",
        )
    })?;
    let id = model_id(&text)?;
    Ok(Json(call_actor(names::ML, |reply| MlMsg::Importance { id, reply }).await??))
}
