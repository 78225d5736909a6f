//! Execution endpoints: submit, list, get and cancel orders; the portfolio; the kill
//! switch (admin). Each handler parses, sends one message to the execution actor and
//! renders its answer.
//!
//! Status codes: a new order is `201`, the same client order id with the same request
//! again is `200` with the original order (`created: false`); an order refused by the
//! kill switch or the risk check is recorded and answered `422` with the order (status
//! `rejected`, `reason`); a malformed request is `400` and records nothing; the same
//! client order id with a different request is `409`.

use super::auth::{Admin, Trader, Viewer};
use super::error::ApiError;
use super::json::ApiJson;
use super::query::ApiQuery;
use super::request_id::RequestId;
use super::trading::correlation;
use crate::actor_call::call_actor;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tradpal_actors::execution::actor::{ExecutionMsg, OrderRef};
use tradpal_actors::execution::view::{FlattenReply, OrderView, OrdersPage, OrdersQuery, PortfolioView, SubmitReply, TradingStateView};
use tradpal_actors::execution::OrderRequest;
use tradpal_actors::names;
use tradpal_messages::{ErrorCode, OrderId, OrderStatus, TradingState};

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

pub async fn submit_order(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<OrderRequest>,
) -> Result<(StatusCode, Json<SubmitReply>), ApiError> {
    let (req, meta) = (Box::new(req), correlation(&rid));
    let reply = call_actor(names::EXECUTION, |reply| ExecutionMsg::Submit { req, meta, reply }).await??;
    let status = match (reply.created, reply.order.status) {
        (_, OrderStatus::Rejected) => StatusCode::UNPROCESSABLE_ENTITY,
        (true, _) => StatusCode::CREATED,
        (false, _) => StatusCode::OK,
    };
    Ok((status, Json(reply)))
}

/// `{"order_id": "..."}` or `{"client_order_id": "..."}`, and an optional reason.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[serde(default)]
    pub order_id: Option<OrderId>,
    #[serde(default)]
    pub client_order_id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Longest cancel reason, in bytes.
pub const REASON_BYTES_MAX: usize = 200;

fn order_ref(order_id: Option<OrderId>, client_order_id: Option<String>) -> Result<OrderRef, ApiError> {
    match (order_id, client_order_id) {
        (Some(id), None) => Ok(OrderRef::Id(id)),
        (None, Some(c)) => Ok(OrderRef::Client(c)),
        _ => Err(bad("give exactly one of order_id and client_order_id")),
    }
}

fn reason(r: Option<String>, default: &str) -> Result<String, ApiError> {
    let r = r.unwrap_or_else(|| default.to_string());
    if r.len() > REASON_BYTES_MAX {
        return Err(bad(format!("reason: at most {REASON_BYTES_MAX} bytes")));
    }
    Ok(r)
}

pub async fn cancel_order(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> Result<Json<OrderView>, ApiError> {
    let order = order_ref(req.order_id, req.client_order_id)?;
    let (reason, meta) = (reason(req.reason, "canceled by request")?, correlation(&rid));
    Ok(Json(call_actor(names::EXECUTION, |reply| ExecutionMsg::Cancel { order, reason, meta, reply }).await??))
}

pub async fn get_order(_role: Viewer, Path(id): Path<String>) -> Result<Json<OrderView>, ApiError> {
    let order = match id.parse::<OrderId>() {
        Ok(id) => OrderRef::Id(id),
        // axum's `Path` has already percent-decoded the segment (client ids are A-Z a-z 0-9 - _ . :).
        Err(_) => OrderRef::Client(id),
    };
    Ok(Json(call_actor(names::EXECUTION, |reply| ExecutionMsg::Get { order, reply }).await??))
}

pub async fn orders(_role: Viewer, ApiQuery(query): ApiQuery<OrdersQuery>) -> Result<Json<OrdersPage>, ApiError> {
    Ok(Json(call_actor(names::EXECUTION, |reply| ExecutionMsg::Orders { query, reply }).await??))
}

pub async fn portfolio(_role: Viewer) -> Result<Json<PortfolioView>, ApiError> {
    Ok(Json(call_actor(names::EXECUTION, |reply| ExecutionMsg::Portfolio { reply }).await??))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TradingStateRequest {
    pub state: TradingState,
    #[serde(default)]
    pub reason: Option<String>,
    /// With `halted`: cancel every working order atomically with the halt.
    #[serde(default)]
    pub cancel_working: bool,
}

pub async fn get_trading_state(_role: Viewer) -> Result<Json<TradingStateView>, ApiError> {
    let p = call_actor(names::EXECUTION, |reply| ExecutionMsg::Portfolio { reply }).await??;
    Ok(Json(TradingStateView { trading_state: p.trading_state, changed: false, canceled_orders: Vec::new() }))
}

pub async fn set_trading_state(
    _role: Admin,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<TradingStateRequest>,
) -> Result<Json<TradingStateView>, ApiError> {
    let (to, reason, meta) = (req.state, reason(req.reason, "set by an administrator")?, correlation(&rid));
    let cancel_working = req.cancel_working;
    Ok(Json(call_actor(names::EXECUTION, |reply| ExecutionMsg::SetTradingState { to, reason, cancel_working, meta, reply }).await??))
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlattenRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

pub async fn flatten(
    _role: Admin,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<FlattenRequest>,
) -> Result<Json<FlattenReply>, ApiError> {
    let (reason, meta) = (reason(req.reason, "flatten requested by an administrator")?, correlation(&rid));
    Ok(Json(call_actor(names::EXECUTION, |reply| ExecutionMsg::Flatten { reason, meta, reply }).await??))
}
