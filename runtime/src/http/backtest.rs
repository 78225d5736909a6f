//! Backtest endpoints: start a run on stored candles, poll its headline, read its full
//! report. Each handler parses, sends one message to the backtest actor and renders.
//!
//! `POST /api/backtest/run` answers `202` with `{"backtest_id", "status": "running"}`;
//! `GET /api/backtest/results/{id}` the headline (`status` running | completed | failed,
//! `progress`, the spec's `total_return`, `sharpe_ratio`, `max_drawdown`, `win_rate`,
//! null until completed); `GET /api/backtest/performance/{id}` the full report (409
//! while running or after a failure).
//!
//! `POST /api/backtest/optimize` answers `202` with `{"backtest_id", "kind":
//! "optimize", "status": "running"}` (503 while another optimisation runs); its progress
//! and result are read from the same `results/{id}` (with `"kind": "optimize"`: best
//! params, in-sample and out-of-sample scores, the gap, the ranked top trials) and
//! `performance/{id}` (plus both metric blocks). `GET /api/backtest/report/{id}` serves
//! a finished run's self-contained HTML report (`text/html`).
//!
//! `POST /api/backtest/walk-forward` works as `optimize` does and shares its one slot
//! (503 while an optimisation or walk-forward runs); its result (`"kind":
//! "walk_forward"`) gives per window the best params and in-sample / out-of-sample
//! scores, and the stitched out-of-sample metrics; `performance/{id}` adds the full
//! metric block and the stitched equity curve.

use super::auth::{Trader, Viewer};
use super::error::ApiError;
use super::json::ApiJson;
use super::request_id::RequestId;
use super::trading::correlation;
use crate::actor_call::call_actor;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::Value;
use tradpal_actors::backtest::actor::{BacktestMsg, RunAccepted};
use tradpal_actors::backtest::optimize_request::OptimizeRequest;
use tradpal_actors::backtest::request::RunRequest;
use tradpal_actors::backtest::walk_forward_request::WalkForwardRequest;
use tradpal_actors::names;
use tradpal_messages::{BacktestId, ErrorCode};

pub async fn run(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<RunRequest>,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    let (req, meta) = (Box::new(req), correlation(&rid));
    let accepted = call_actor(names::BACKTEST, |reply| BacktestMsg::Run { req, meta, reply }).await??;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

fn backtest_id(text: &str) -> Result<BacktestId, ApiError> {
    text.parse().map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("backtest id: {e}")))
}

pub async fn results(_role: Viewer, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = backtest_id(&id)?;
    Ok(Json(call_actor(names::BACKTEST, |reply| BacktestMsg::Results { id, reply }).await??))
}

pub async fn performance(_role: Viewer, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = backtest_id(&id)?;
    Ok(Json(call_actor(names::BACKTEST, |reply| BacktestMsg::Performance { id, reply }).await??))
}

pub async fn optimize(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<OptimizeRequest>,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    let (req, meta) = (Box::new(req), correlation(&rid));
    let accepted = call_actor(names::BACKTEST, |reply| BacktestMsg::Optimize { req, meta, reply }).await??;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn walk_forward(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<WalkForwardRequest>,
) -> Result<(StatusCode, Json<RunAccepted>), ApiError> {
    let (req, meta) = (Box::new(req), correlation(&rid));
    let accepted = call_actor(names::BACKTEST, |reply| BacktestMsg::WalkForward { req, meta, reply }).await??;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn report(_role: Viewer, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let id = backtest_id(&id)?;
    let html = call_actor(names::BACKTEST, |reply| BacktestMsg::Report { id, reply }).await??;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html))
}
