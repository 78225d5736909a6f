//! The trading orchestrator's endpoints: status, start-session, stop-session, the
//! emergency stop of a session, performance.
//! Each handler only translates: HTTP in, one actor message, HTTP out.

use super::auth::{Trader, Viewer};
use super::error::ApiError;
use super::json::ApiJson;
use super::request_id::RequestId;
use super::AppState;
use crate::actor_call::call_actor;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use tradpal_actors::names;
use tradpal_actors::session::SessionMsg;
use tradpal_actors::RequestMeta;
use tradpal_messages::reply::{JournalStatus, OrchestratorStatus, SessionStartedReply, SessionStoppedReply};
use tradpal_messages::{CorrelationId, ErrorCode, SessionStatus, StartSession, StatusReply, StopSession};

/// Request metadata for actors: the request id and a fresh correlation id.
// A fresh correlation id per request: unseeded on purpose (the HTTP edge).
#[allow(clippy::disallowed_methods)]
pub fn correlation(request_id: &RequestId) -> RequestMeta {
    RequestMeta { request_id: Some(request_id.0.clone()), correlation_id: CorrelationId(rand::random()) }
}

/// Longest accepted `Idempotency-Key`, in bytes.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 100;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_BYTES_MAX && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_string()))
        }
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("invalid Idempotency-Key: expected 1..={IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters"),
        )),
    }
}

/// Starts a session. With an `Idempotency-Key` header, a retry (same key, same body)
/// answers 200 with the original session instead of starting another.
pub async fn start_session(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    ApiJson(cmd): ApiJson<StartSession>,
) -> Result<(StatusCode, Json<SessionStartedReply>), ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let meta = correlation(&rid);
    let msg = |reply| SessionMsg::Start { cmd, idempotency_key, meta, reply };
    let reply = call_actor(names::SESSION, msg).await??;
    Ok((if reply.replayed { StatusCode::OK } else { StatusCode::CREATED }, Json(reply)))
}

/// Stops a session: with `close_positions` (default true) its working orders are
/// canceled and its position closed at the next bar (status `stopping`, then `stopped`).
pub async fn stop_session(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(cmd): ApiJson<StopSession>,
) -> Result<Json<SessionStoppedReply>, ApiError> {
    let meta = correlation(&rid);
    let reason = "requested".to_string();
    let reply = call_actor(names::SESSION, |reply| SessionMsg::Stop { cmd, reason, meta, reply }).await??;
    Ok(Json(reply))
}

/// The body of `POST /api/trading/emergency-stop`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyStop {
    pub session_id: tradpal_messages::SessionId,
}

/// A session's emergency stop: cancel, flatten at the next bar, stop (journaled with
/// the reason `emergency_stop`). The whole account's is `POST /api/execution/flatten`.
pub async fn emergency_stop(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(body): ApiJson<EmergencyStop>,
) -> Result<Json<SessionStoppedReply>, ApiError> {
    let meta = correlation(&rid);
    let cmd = StopSession { session_id: body.session_id, close_positions: true };
    let reason = "emergency_stop".to_string();
    let reply = call_actor(names::SESSION, |reply| SessionMsg::Stop { cmd, reason, meta, reply }).await??;
    Ok(Json(reply))
}

/// `?session_id=` of the performance endpoint.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceQuery {
    pub session_id: Option<tradpal_messages::SessionId>,
}

/// Every session's summary, or one session's metrics (the backtest's names), trades
/// (the shape of `tradpal backtest --trades --json`) and equity curve.
pub async fn performance(
    _role: Viewer,
    super::query::ApiQuery(q): super::query::ApiQuery<PerformanceQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = call_actor(names::SESSION, |reply| SessionMsg::List { reply }).await?;
    let Some(id) = q.session_id else {
        let sessions: Vec<_> = rows.iter().filter(|r| r.pnl.is_some()).collect();
        return Ok(Json(serde_json::json!({ "sessions": sessions })));
    };
    let row = rows.into_iter().find(|r| r.info.session_id == id);
    let perf = call_actor(names::SESSION, |reply| SessionMsg::Performance { session_id: id, reply }).await??;
    let mut body = serde_json::to_value(&perf).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    body["session"] = serde_json::to_value(&row).unwrap_or_default();
    Ok(Json(body))
}

pub async fn status(_role: Viewer, State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut rows = call_actor(names::SESSION, |reply| SessionMsg::List { reply }).await?;
    // Status shows the sessions not stopped (bounded by the active-session limit), not history.
    rows.retain(|s| s.info.status != SessionStatus::Stopped);
    let sessions: Vec<_> = rows.iter().map(|r| r.info.clone()).collect();
    let active = sessions.len() as u64;
    let actors = state.statuses.read().expect("status registry poisoned").values().cloned().collect();
    let reply = StatusReply {
        service: "tradpal".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        mode: if state.settings.execution.paper_trading { "paper".into() } else { "live".into() },
        bus: if state.nats.is_some() { "in_process+nats".into() } else { "in_process".into() },
        orchestrator: OrchestratorStatus { active_sessions: active, sessions },
        actors,
        journal: JournalStatus { last_sequence: state.journal.last_sequence() },
    };
    let mut body = serde_json::to_value(&reply).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    // Each session with its timeframe, parameters and P&L (a superset of SessionInfo).
    body["orchestrator"]["sessions"] = serde_json::to_value(&rows).unwrap_or_default();
    body["nats"] = match &state.nats {
        Some(n) => serde_json::to_value(n.status()).unwrap_or_default(),
        None => serde_json::Value::Null,
    };
    body["cluster"] = match &state.cluster {
        Some(c) => serde_json::to_value(c.get()).unwrap_or_default(),
        None => serde_json::Value::Null,
    };
    Ok(Json(body))
}

/// `POST /api/trading/smart-trade`: the AI ensemble's decision (and, with `execute`,
/// its order). 409 when no model is trained for the symbol.
pub async fn smart_trade(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<tradpal_actors::ensemble::actor::SmartTradeRequest>,
) -> Result<Json<tradpal_actors::ensemble::actor::SmartTradeReply>, ApiError> {
    use tradpal_actors::ensemble::actor::EnsembleMsg;
    let (req, meta) = (Box::new(req), correlation(&rid));
    let reply = call_actor(names::AI_ENSEMBLE, |reply| EnsembleMsg::SmartTrade { req, meta, reply }).await??;
    Ok(Json(reply))
}

/// `GET /api/audit/orders/{order_id}`: the order's audit chain from the journal (the bar
/// that triggered it, the decision with model and agent versions, the risk check, the
/// order and every fill, with sequences). Read-only; runs on a blocking thread.
pub async fn audit_order(
    _role: Viewer,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use tradpal_actors::audit::{order_chain, AuditError};
    let id: tradpal_messages::OrderId = id.parse().map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("order_id: {e}")))?;
    let journal = state.journal.clone();
    let chain = tokio::task::spawn_blocking(move || order_chain(&journal, id))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    match chain {
        Ok(v) => Ok(Json(v)),
        Err(e @ AuditError::NotFound(_)) => Err(ApiError::new(ErrorCode::NotFound, e.to_string())),
        Err(e @ AuditError::TooLarge(_)) => Err(ApiError::new(ErrorCode::Unavailable, e.to_string())),
        Err(e) => Err(ApiError::new(ErrorCode::Internal, e.to_string())),
    }
}
