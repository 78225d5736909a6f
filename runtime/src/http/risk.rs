//! Risk endpoints: sizing, limit checks, portfolio risk, stress tests.
//!
//! `GET /api/risk/portfolio-risk` and `GET /api/risk/stress-test` value the positions
//! named in the query (`positions=BTC/USDT:0.5,ETH/USDT:-2`) at their last stored close
//! and take returns from the stored candles; without `positions=` they assess the live
//! execution portfolio's open positions. The `POST` forms take every input explicitly in the body.

use super::auth::{Trader, Viewer};
use super::error::ApiError;
use super::json::ApiJson;
use super::query::ApiQuery;
use super::request_id::RequestId;
use super::trading::correlation;
use crate::actor_call::call_actor;
use axum::{Extension, Json};
use tradpal_actors::execution::actor::ExecutionMsg;
use tradpal_actors::names;
use tradpal_actors::risk::actor::{RiskMsg, StoredPortfolio};
use tradpal_actors::risk::limits::{CheckLimitsRequest, CheckLimitsResponse};
use tradpal_actors::risk::portfolio::{PortfolioRiskRequest, PortfolioRiskResponse};
use tradpal_actors::risk::sizing::{PositionSizeRequest, PositionSizeResponse};
use tradpal_actors::risk::stress::{StressTestRequest, StressTestResponse};
use tradpal_messages::{is_valid_symbol, ErrorCode, Timeframe};

/// Positions one query may name.
pub const QUERY_POSITIONS_MAX: usize = 50;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

pub async fn position_size(_role: Viewer, ApiJson(req): ApiJson<PositionSizeRequest>) -> Result<Json<PositionSizeResponse>, ApiError> {
    let req = Box::new(req);
    Ok(Json(call_actor(names::RISK, |reply| RiskMsg::Size { req, reply }).await??))
}

pub async fn check_limits(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(req): ApiJson<CheckLimitsRequest>,
) -> Result<Json<CheckLimitsResponse>, ApiError> {
    let (req, meta) = (Box::new(req), correlation(&rid));
    Ok(Json(call_actor(names::RISK, |reply| RiskMsg::CheckLimits { req, meta, reply }).await??))
}

pub async fn portfolio_post(_role: Viewer, ApiJson(req): ApiJson<PortfolioRiskRequest>) -> Result<Json<PortfolioRiskResponse>, ApiError> {
    let req = Box::new(req);
    Ok(Json(call_actor(names::RISK, |reply| RiskMsg::Portfolio { req, reply }).await??))
}

pub async fn stress_post(_role: Viewer, ApiJson(req): ApiJson<StressTestRequest>) -> Result<Json<StressTestResponse>, ApiError> {
    let req = Box::new(req);
    Ok(Json(call_actor(names::RISK, |reply| RiskMsg::Stress { req, reply }).await??))
}

/// Without `positions=`, the execution portfolio's open positions (the live portfolio);
/// `None` when it holds none.
async fn with_live_positions(mut spec: StoredPortfolio) -> Result<Option<StoredPortfolio>, ApiError> {
    if !spec.positions.is_empty() {
        return Ok(Some(spec));
    }
    let p = call_actor(names::EXECUTION, |reply| ExecutionMsg::Portfolio { reply }).await??;
    spec.positions = p.positions.iter().filter(|x| !x.quantity.is_zero()).map(|x| (x.symbol.clone(), x.quantity.to_f64())).collect();
    Ok((!spec.positions.is_empty()).then_some(spec))
}

/// What an empty portfolio measures: a valid state (a fresh service), not an error.
fn empty_portfolio(confidence: f64, stress: bool) -> serde_json::Value {
    let mut v = serde_json::json!({
        "portfolio_value": 0.0,
        "positions": [],
        "confidence": confidence,
        "exposure": {"gross": 0.0, "net": 0.0},
        "note": "the execution portfolio has no open positions: nothing is at risk (name positions=SYMBOL:QUANTITY,... to assess others)",
    });
    if stress {
        v["scenarios"] = serde_json::json!([]);
        v["worst_case"] = serde_json::Value::Null;
    } else {
        for k in ["var", "volatility", "drawdown", "correlation"] {
            v[k] = serde_json::Value::Null;
        }
    }
    v
}

pub async fn portfolio_get(_role: Viewer, ApiQuery(q): ApiQuery<StoredQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let spec = parse_stored(q, false)?;
    let confidence = spec.confidence.unwrap_or(0.95);
    let Some(spec) = with_live_positions(spec).await? else { return Ok(Json(empty_portfolio(confidence, false))) };
    let r = call_actor(names::RISK, |reply| RiskMsg::PortfolioFromStore { spec, reply }).await??;
    Ok(Json(serde_json::to_value(r).map_err(|e| ApiError::new(tradpal_messages::ErrorCode::Internal, e.to_string()))?))
}

pub async fn stress_get(_role: Viewer, ApiQuery(q): ApiQuery<StoredQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let spec = parse_stored(q, true)?;
    let confidence = spec.confidence.unwrap_or(0.95);
    let Some(spec) = with_live_positions(spec).await? else { return Ok(Json(empty_portfolio(confidence, true))) };
    let r = call_actor(names::RISK, |reply| RiskMsg::StressFromStore { spec, reply }).await??;
    Ok(Json(serde_json::to_value(r).map_err(|e| ApiError::new(tradpal_messages::ErrorCode::Internal, e.to_string()))?))
}

/// `positions=SYM:QTY,...&timeframe=1h&confidence=0.95&paths=10000&seed=1[&horizon=10]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredQuery {
    pub positions: Option<String>,
    pub timeframe: Option<Timeframe>,
    pub confidence: Option<f64>,
    pub paths: Option<u64>,
    pub seed: Option<u64>,
    /// Stress test only: the horizon in periods (default 10).
    pub horizon: Option<u64>,
}

fn parse_stored(q: StoredQuery, stress: bool) -> Result<StoredPortfolio, ApiError> {
    if !stress && q.horizon.is_some() {
        return Err(bad("horizon: only the stress test takes a horizon"));
    }
    let positions = parse_positions(q.positions.as_deref())?;
    let monte_carlo = match (q.paths, q.seed) {
        (Some(p), seed) => Some((p as usize, seed.unwrap_or(0))),
        (None, Some(_)) => return Err(bad("seed needs paths (Monte Carlo)")),
        (None, None) => None,
    };
    Ok(StoredPortfolio {
        positions,
        timeframe: q.timeframe.unwrap_or(Timeframe::H1),
        confidence: q.confidence,
        monte_carlo,
        horizon: q.horizon.unwrap_or(10) as usize,
    })
}

/// `SYM:QTY,...`: distinct valid symbols, non-zero quantities, at most
/// [`QUERY_POSITIONS_MAX`]; none named means the execution portfolio's.
fn parse_positions(raw: Option<&str>) -> Result<Vec<(String, f64)>, ApiError> {
    if raw == Some("") {
        return Err(bad("positions is empty: SYMBOL:QUANTITY,... e.g. BTC/USDT:0.5 (or leave it out for the execution portfolio)"));
    }
    let mut positions = Vec::new();
    for item in raw.unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
        let (sym, qty) = item.split_once(':').ok_or_else(|| bad(format!("position {item:?}: expected SYMBOL:QUANTITY")))?;
        if !is_valid_symbol(sym) {
            return Err(bad(format!("position {item:?}: invalid symbol {sym:?}")));
        }
        let qty: f64 = qty
            .parse()
            .ok()
            .filter(|q: &f64| q.is_finite() && *q != 0.0)
            .ok_or_else(|| bad(format!("position {item:?}: quantity must be a non-zero number")))?;
        if positions.iter().any(|(s, _): &(String, f64)| s == sym) {
            return Err(bad(format!("position {sym} named twice")));
        }
        positions.push((sym.to_string(), qty));
    }
    if positions.len() > QUERY_POSITIONS_MAX {
        return Err(bad(format!("at most {QUERY_POSITIONS_MAX} positions, got {}", positions.len())));
    }
    Ok(positions)
}
