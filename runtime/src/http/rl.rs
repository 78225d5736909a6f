//! Reinforcement-learning endpoints. Each handler parses, sends one message to the RL
//! actor and renders.
//!
//! `POST /api/rl/train` answers `202` with `{"agent_id", "version", "status": "running"}`;
//! `GET /api/rl/agents` lists the agents (status, progress, version);
//! `GET /api/rl/agents/{agent_id}` adds the training curve, and once trained the
//! held-out evaluation (and the base agent's, for a fine-tuned one);
//! `POST /api/rl/evaluate` evaluates an agent on held-out bars against buy-and-hold and
//! random agents; `POST /api/rl/infer` gives an agent's action on the latest complete
//! stored bar of a symbol, with probabilities for short / flat / long.

use super::auth::{Trader, Viewer};
use super::error::ApiError;
use super::json::ApiJson;
use super::request_id::RequestId;
use super::trading::correlation;
use crate::actor_call::call_actor;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;
use tradpal_actors::names;
use tradpal_actors::rl::actor::RlMsg;
use tradpal_actors::rl::request::{EvaluateRequest, InferRequest, TrainRequest};

pub async fn train(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<TrainRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (req, meta) = (Box::new(req), correlation(&rid));
    let accepted = call_actor(names::RL, |reply| RlMsg::Train { req, meta, reply }).await??;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn agents(_role: Viewer) -> Result<Json<Value>, ApiError> {
    Ok(Json(call_actor(names::RL, |reply| RlMsg::List { reply }).await??))
}

pub async fn agent(_role: Viewer, Path(agent_id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(call_actor(names::RL, |reply| RlMsg::Get { agent_id, reply }).await??))
}

pub async fn evaluate(_role: Viewer, ApiJson(req): ApiJson<EvaluateRequest>) -> Result<Json<Value>, ApiError> {
    let req = Box::new(req);
    Ok(Json(call_actor(names::RL, |reply| RlMsg::Evaluate { req, reply }).await??))
}

pub async fn infer(_role: Viewer, ApiJson(req): ApiJson<InferRequest>) -> Result<Json<Value>, ApiError> {
    let req = Box::new(req);
    Ok(Json(call_actor(names::RL, |reply| RlMsg::Infer { req, reply }).await??))
}
