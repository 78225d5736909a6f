//! The stored bars a job runs over, asked of the market-data actor: the timeframe to use
//! (asked, configured, or the finest stored), one symbol's range page by page
//! ([`RangePages`], also used in-process by `tradpal backtest --symbol`), a plan's series.
//! Shared by backtest runs, optimisations, walk-forwards, ML and RL training and the
//! ensemble, so none of them imports the backtest actor to read bars.

use super::request::RunPlan;
use crate::market_data::actor::MarketDataMsg;
use crate::market_data::store::CANDLES_PAGE_MAX;
use crate::names;
use tradpal_messages::{Candle, ErrorCode, ErrorReply, Timeframe, Timestamp};

/// Most bars one backtest may run over (about 4 years of 1m bars).
pub const BACKTEST_BARS_MAX: usize = 2_000_000;
/// How long a call to the market-data actor may take.
const MARKET_DATA_CALL_MS: u64 = 10_000;

async fn market_data<T: Send + 'static>(msg: impl FnOnce(ractor::RpcReplyPort<T>) -> MarketDataMsg) -> Result<T, ErrorReply> {
    crate::context::ask(names::MARKET_DATA, MARKET_DATA_CALL_MS, msg).await
}

/// The request's timeframe; else `default` (the settings' first trading timeframe) when the
/// stored data is as fine or finer (it is resampled); else the finest stored.
pub async fn timeframe_or_default(asked: Option<Timeframe>, default: Option<Timeframe>, symbol: &str) -> Result<Timeframe, ErrorReply> {
    if let Some(tf) = asked {
        return Ok(tf);
    }
    let finest = finest_stored(symbol).await?;
    Ok(default.filter(|d| d.seconds() >= finest.seconds()).unwrap_or(finest))
}

/// The request's timeframe, or else the finest stored for `symbol`.
pub async fn timeframe_or_finest(asked: Option<Timeframe>, symbol: &str) -> Result<Timeframe, ErrorReply> {
    match asked {
        Some(tf) => Ok(tf),
        None => finest_stored(symbol).await,
    }
}

/// The finest timeframe stored for `symbol` (404 when none is).
async fn finest_stored(symbol: &str) -> Result<Timeframe, ErrorReply> {
    let series = market_data(|reply| MarketDataMsg::Summary { reply }).await?;
    series.iter().filter(|(s, _, n)| s == symbol && *n > 0).map(|(_, tf, _)| *tf).min_by_key(|tf| tf.seconds()).ok_or_else(|| {
        ErrorReply::new(
            ErrorCode::NotFound,
            format!("symbol: no candles stored for {symbol}; import some first (POST /api/data/candles or tradpal data import)"),
        )
    })
}

/// Every complete bar of the plan's range for each of its symbols, in `plan.symbols` order.
pub(super) async fn fetch_series(plan: &RunPlan, timeframe: Timeframe) -> Result<Vec<Vec<Candle>>, ErrorReply> {
    let mut series = Vec::with_capacity(plan.symbols.len());
    for symbol in &plan.symbols {
        series.push(fetch_range(symbol, timeframe, plan.start, plan.end).await?);
    }
    Ok(series)
}

/// Every complete bar of the plan's range (see [`fetch_range`]).
pub(super) async fn fetch_bars(plan: &RunPlan, timeframe: Timeframe) -> Result<Vec<Candle>, ErrorReply> {
    fetch_range(&plan.symbol, timeframe, plan.start, plan.end).await
}

/// Every complete bar of `symbol` in `[start, end)` from the running market-data actor,
/// page by page (at most [`BACKTEST_BARS_MAX`]); messages name the request field.
/// Public for `tradpal backtest --symbol`, which runs the actor in-process.
pub async fn fetch_range(
    symbol: &str,
    timeframe: Timeframe,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> Result<Vec<Candle>, ErrorReply> {
    let mut pages = RangePages::new(symbol, timeframe, start, end);
    let mut cursor = start;
    loop {
        let symbol = symbol.to_string();
        let page =
            market_data(|reply| MarketDataMsg::Range { symbol, timeframe, start: cursor, end, limit: CANDLES_PAGE_MAX, reply }).await?;
        match pages.push(page)? {
            Some(next) => cursor = Some(next),
            None => return pages.finish(),
        }
    }
}

/// The complete bars of a range, collected page by page: what [`fetch_range`] does over
/// the market-data actor and `tradpal backtest --symbol` does on a store it folded from
/// the journal itself (a read opens nothing for writing). Messages name the request field.
pub struct RangePages {
    symbol: String,
    timeframe: Timeframe,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    bars: Vec<Candle>,
}

impl RangePages {
    pub fn new(symbol: &str, timeframe: Timeframe, start: Option<Timestamp>, end: Option<Timestamp>) -> Self {
        RangePages { symbol: symbol.to_string(), timeframe, start, end, bars: Vec::new() }
    }

    /// Takes one page (or the store's refusal); returns where the next page starts.
    pub fn push(&mut self, page: Result<crate::market_data::CandlePage, ErrorReply>) -> Result<Option<Timestamp>, ErrorReply> {
        let timeframe = self.timeframe;
        let page = page.map_err(|e| {
            if e.code == ErrorCode::NotFound {
                ErrorReply::new(ErrorCode::NotFound, format!("symbol: {}", e.message))
            } else {
                ErrorReply::new(e.code, format!("timeframe: {}", e.message))
            }
        })?;
        self.bars.extend(page.bars.iter().filter(|b| b.complete).map(|b| b.candle));
        if self.bars.len() > BACKTEST_BARS_MAX {
            return Err(ErrorReply::new(ErrorCode::BadRequest, format!("the range holds more than {BACKTEST_BARS_MAX} {timeframe} bars (BACKTEST_BARS_MAX): narrow start_date / end_date or use a longer timeframe")));
        }
        Ok(page.next_start)
    }

    /// The bars, or a 404 naming the range when there are none.
    pub fn finish(self) -> Result<Vec<Candle>, ErrorReply> {
        if self.bars.is_empty() {
            let range = format!(
                "[{}, {})",
                self.start.map_or("the first bar".into(), |t| t.to_string()),
                self.end.map_or("the last bar".into(), |t| t.to_string())
            );
            return Err(ErrorReply::new(
                ErrorCode::NotFound,
                format!(
                    "no complete {} bars of {} in {range}: check start_date / end_date against the stored data",
                    self.timeframe, self.symbol
                ),
            ));
        }
        Ok(self.bars)
    }
}
