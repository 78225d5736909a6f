//! Market-regime endpoints. Symbols like `BTC/USDT` travel in the path as they are.

use super::auth::Viewer;
use super::data::check_symbol;
use super::error::ApiError;
use super::json::ApiJson;
use super::query::ApiQuery;
use super::request_id::RequestId;
use super::trading::correlation;
use crate::actor_call::call_actor;
use axum::extract::Path;
use axum::{Extension, Json};
use serde::Deserialize;
use tradpal_actors::market_data::validate_batch;
use tradpal_actors::names;
use tradpal_actors::regime::actor::{RegimeHistory, RegimeMsg, RegimeView};
use tradpal_actors::regime::api::{ClassifyRequest, ClassifyResponse};
use tradpal_actors::regime::fit::{FitParams, FIT_BARS_MAX};
use tradpal_actors::regime::hysteresis::HysteresisParams;
use tradpal_messages::{CandleWire, ErrorCode, Timeframe};

/// Longest history window a request may ask for, in days.
pub const HISTORY_DAYS_MAX: u32 = 3_650;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

pub async fn current(
    _role: Viewer,
    Extension(rid): Extension<RequestId>,
    Path(symbol): Path<String>,
) -> Result<Json<RegimeView>, ApiError> {
    check_symbol(&symbol)?;
    let meta = correlation(&rid);
    Ok(Json(call_actor(names::REGIME, |reply| RegimeMsg::Current { symbol, meta, reply }).await??))
}

/// The full probability vector of every timeframe and of the combined view.
pub async fn confidence(
    _role: Viewer,
    Extension(rid): Extension<RequestId>,
    Path(symbol): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_symbol(&symbol)?;
    let meta = correlation(&rid);
    let view = call_actor(names::REGIME, |reply| RegimeMsg::Current { symbol, meta, reply }).await??;
    let timeframes: serde_json::Map<String, serde_json::Value> = view
        .timeframes
        .iter()
        .map(|(tf, v)| {
            let probs = serde_json::json!({ "trend": v.current.probs.trend, "volatility": v.current.probs.volatility, "as_of": v.as_of });
            (tf.clone(), probs)
        })
        .collect();
    Ok(Json(serde_json::json!({
        "symbol": view.symbol,
        "regime": view.regime,
        "confidence": view.confidence,
        "combined": { "trend": view.combined.trend_probs, "volatility": view.combined.volatility_probs },
        "timeframes": timeframes,
    })))
}

/// `GET /api/regime/history/{symbol}?days=30&timeframe=combined|1m|..|1d`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub days: Option<u32>,
    pub timeframe: Option<String>,
}

pub async fn history(
    _role: Viewer,
    Path(symbol): Path<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<RegimeHistory>, ApiError> {
    check_symbol(&symbol)?;
    let days = q.days.unwrap_or(30);
    if !(1..=HISTORY_DAYS_MAX).contains(&days) {
        return Err(bad(format!("days {days}: expected a whole number of days in 1..={HISTORY_DAYS_MAX}")));
    }
    if let Some(v) = q.timeframe.as_deref() {
        if v != "combined" && v.parse::<Timeframe>().is_err() {
            return Err(bad(format!("timeframe {v:?}: expected combined, 1m, 5m, 15m, 1h, 4h or 1d")));
        }
    }
    let timeframe = q.timeframe;
    Ok(Json(call_actor(names::REGIME, |reply| RegimeMsg::History { symbol, days, timeframe, reply }).await??))
}

/// `POST /api/regime/classify`: classify the candles sent (stateless; the model is
/// fitted on them, so its parameters are in-sample; each bar's regime uses only the
/// bars up to it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyBody {
    pub timeframe: Timeframe,
    pub candles: Vec<CandleWire>,
    #[serde(default)]
    pub fit: FitParams,
    #[serde(default)]
    pub hysteresis: HysteresisParams,
    #[serde(default)]
    pub include_bars: bool,
}

pub async fn classify(_role: Viewer, ApiJson(body): ApiJson<ClassifyBody>) -> Result<Json<ClassifyResponse>, ApiError> {
    if body.candles.len() > FIT_BARS_MAX {
        return Err(bad(format!("candles: at most {FIT_BARS_MAX}, got {}", body.candles.len())));
    }
    let candles = body
        .candles
        .iter()
        .enumerate()
        .map(|(i, c)| c.to_candle().map_err(|e| bad(format!("candles[{i}].timestamp: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let report = validate_batch(body.timeframe, &candles);
    if let Some(first) = report.rejected.first() {
        return Err(bad(format!("{} candles rejected; first: {first}", report.rejected_total)));
    }
    let request = Box::new(ClassifyRequest {
        timeframe: body.timeframe,
        candles: report.accepted,
        fit: body.fit,
        hysteresis: body.hysteresis,
        include_bars: body.include_bars,
    });
    Ok(Json(call_actor(names::REGIME, |reply| RegimeMsg::Classify { request, reply }).await??))
}
