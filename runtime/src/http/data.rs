//! Market-data endpoints: ingest a batch of candles, page through stored (or resampled)
//! candles, compute indicators. Symbols like `BTC/USDT` travel in the path as they are.

use super::auth::{Trader, Viewer};
use super::error::ApiError;
use super::json::ApiJson;
use super::query::ApiQuery;
use super::request_id::RequestId;
use super::trading::correlation;
use crate::actor_call::call_actor;
use axum::extract::Path;
use axum::{Extension, Json};
use serde::Deserialize;
use tradpal_actors::market_data::actor::{IndicatorReply, IngestReport, MarketDataMsg, RejectPolicy};
use tradpal_actors::market_data::{CandlePage, CsvRecord, CsvRow, CANDLES_PAGE_MAX};
use tradpal_actors::names;
use tradpal_messages::{CandleWire, DataSource, ErrorCode, Timeframe, Timestamp};

/// Most candles one `POST /api/data/candles` may carry (the body limit applies too).
pub const CANDLES_PER_REQUEST_MAX: usize = 50_000;
/// Rejections quoted in an error message (the total is always given).
const REJECTIONS_QUOTED_MAX: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostCandles {
    pub symbol: String,
    pub timeframe: Timeframe,
    pub candles: Vec<CandleWire>,
    /// Store the good rows of a batch with bad ones (default: all or nothing).
    #[serde(default)]
    pub keep_good: bool,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

pub async fn post_candles(
    _role: Trader,
    Extension(rid): Extension<RequestId>,
    ApiJson(body): ApiJson<PostCandles>,
) -> Result<Json<IngestReport>, ApiError> {
    if body.candles.is_empty() || body.candles.len() > CANDLES_PER_REQUEST_MAX {
        return Err(bad(format!("candles: expected 1..={CANDLES_PER_REQUEST_MAX} candles, got {}", body.candles.len())));
    }
    let mut rows = Vec::with_capacity(body.candles.len());
    for (row, c) in body.candles.iter().enumerate() {
        let candle = c.to_candle().map_err(|e| bad(format!("candles[{row}].timestamp: {e}")))?;
        rows.push(CsvRecord::Row(CsvRow { row, line: 0, candle }));
    }
    let policy = if body.keep_good { RejectPolicy::KeepGood } else { RejectPolicy::AllOrNothing };
    let meta = correlation(&rid);
    let (symbol, timeframe) = (body.symbol, body.timeframe);
    let report = call_actor::<MarketDataMsg, _>(names::MARKET_DATA, |reply| MarketDataMsg::Ingest {
        symbol,
        timeframe,
        source: DataSource::Http,
        rows,
        policy,
        meta,
        reply,
    })
    .await??;
    if report.rejected_total > 0 && !report.stored {
        let quoted: Vec<String> = report.rejected.iter().take(REJECTIONS_QUOTED_MAX).map(|r| r.to_string()).collect();
        return Err(bad(format!(
            "{} of {} candles rejected, nothing stored (send \"keep_good\": true to store the good ones): {}",
            report.rejected_total,
            report.rejected_total + report.accepted + report.duplicates_dropped,
            quoted.join("; ")
        )));
    }
    Ok(Json(report))
}

/// `GET /api/data/candles/{symbol}?timeframe=1m[&start=..][&end=..][&limit=..]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandlesQuery {
    pub timeframe: Timeframe,
    pub start: Option<String>,
    pub end: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/data/indicators/{symbol}?timeframe=1h[&start=..][&end=..][&names=a,b]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsQuery {
    pub timeframe: Timeframe,
    pub start: Option<String>,
    pub end: Option<String>,
    /// Comma-separated indicator names.
    pub names: Option<String>,
}

/// A query's `start` / `end`: epoch milliseconds or RFC 3339.
fn query_time(name: &str, value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    value
        .map(|v| match v.parse::<i64>() {
            Ok(ms) => Ok(Timestamp::from_millis(ms)),
            Err(_) => v.parse::<Timestamp>().map_err(|e| bad(format!("{name}: {e}"))),
        })
        .transpose()
}

/// `start` and `end`, checked to be in order.
fn query_range(start: Option<&str>, end: Option<&str>) -> Result<(Option<Timestamp>, Option<Timestamp>), ApiError> {
    let (start, end) = (query_time("start", start)?, query_time("end", end)?);
    if let (Some(s), Some(e)) = (start, end) {
        if s >= e {
            return Err(bad(format!("start {s} must be before end {e}")));
        }
    }
    Ok((start, end))
}

/// A `BASE/QUOTE` symbol taken from a request path.
pub(crate) fn check_symbol(symbol: &str) -> Result<(), ApiError> {
    if tradpal_messages::is_valid_symbol(symbol) {
        Ok(())
    } else {
        Err(bad(format!("invalid symbol {symbol:?} in the path: expected BASE/QUOTE, e.g. /BTC/USDT")))
    }
}

pub async fn get_candles(
    _role: Viewer,
    Path(symbol): Path<String>,
    ApiQuery(q): ApiQuery<CandlesQuery>,
) -> Result<Json<CandlePage>, ApiError> {
    check_symbol(&symbol)?;
    let (start, end) = query_range(q.start.as_deref(), q.end.as_deref())?;
    let limit = match q.limit {
        None => CANDLES_PAGE_MAX,
        Some(n) if (1..=CANDLES_PAGE_MAX).contains(&n) => n,
        Some(n) => return Err(bad(format!("limit {n}: expected 1..={CANDLES_PAGE_MAX}"))),
    };
    let page = call_actor::<MarketDataMsg, _>(names::MARKET_DATA, |reply| MarketDataMsg::Range {
        symbol,
        timeframe: q.timeframe,
        start,
        end,
        limit,
        reply,
    })
    .await??;
    Ok(Json(page))
}

pub async fn get_indicators(
    _role: Viewer,
    Path(symbol): Path<String>,
    ApiQuery(q): ApiQuery<IndicatorsQuery>,
) -> Result<Json<IndicatorReply>, ApiError> {
    check_symbol(&symbol)?;
    let (start, end) = query_range(q.start.as_deref(), q.end.as_deref())?;
    let names = q.names.map(|n| n.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect());
    let reply = call_actor::<MarketDataMsg, _>(names::MARKET_DATA, |reply| MarketDataMsg::Indicators {
        symbol,
        timeframe: q.timeframe,
        start,
        end,
        names,
        reply,
    })
    .await??;
    Ok(Json(reply))
}

pub async fn get_series(_role: Viewer) -> Result<Json<serde_json::Value>, ApiError> {
    let summary = call_actor::<MarketDataMsg, _>(names::MARKET_DATA, |reply| MarketDataMsg::Summary { reply }).await?;
    let series: Vec<serde_json::Value> =
        summary.into_iter().map(|(symbol, tf, bars)| serde_json::json!({ "symbol": symbol, "timeframe": tf, "bars": bars })).collect();
    Ok(Json(serde_json::json!({ "series": series })))
}
