//! [`BacktestResult`]: what one run reports.

use super::metrics::{EquityPoint, Metrics, TradeRecord};
use serde::Serialize;
use tradpal_messages::{Event, Fixed, Timeframe};

/// What the engine did with the strategy's signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RunCounts {
    pub bars: usize,
    /// Targets that differed from the previous one (each is acted on once).
    pub target_changes: usize,
    pub orders_submitted: usize,
    /// Refused by the pre-trade risk check (or the kill switch).
    pub orders_rejected: usize,
    /// Accepted smaller than asked by the risk check.
    pub orders_resized: usize,
    /// Not sent: below the instrument's minimum quantity or notional.
    pub orders_skipped: usize,
    /// Still working (partly filled) when a new target came, and canceled for it.
    pub orders_canceled: usize,
    pub fills: usize,
}

/// The report of one backtest. `equity` and `events` are not serialised (one point per
/// bar, one entry per event: large); `trades` are.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestResult {
    /// The strategy's name (see `describe` on its spec for the parameters).
    pub strategy: String,
    /// The symbol, or a portfolio's symbols joined by `,` in name order.
    pub symbol: String,
    pub timeframe: Timeframe,
    pub metrics: Metrics,
    pub counts: RunCounts,
    pub starting_cash: Fixed,
    pub final_equity: Fixed,
    pub final_cash: Fixed,
    /// Signed units of `symbol` held at the end (one-symbol runs; 0 for a portfolio,
    /// whose positions are in `per_symbol`).
    pub final_position: Fixed,
    pub fees_paid: Fixed,
    pub realized_pnl: Fixed,
    /// Closed round trips, oldest first (what the trade metrics count).
    pub trades: Vec<TradeRecord>,
    /// The trade still open at the end, valued at the last close without an exit fee;
    /// not in `trades` nor in the trade metrics. One-symbol runs; a portfolio's open
    /// trades are in `per_symbol`.
    pub open_trade: Option<TradeRecord>,
    /// A portfolio's symbols (name order), each with its position and trades; empty for
    /// a one-symbol run (whose JSON keeps its shape).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_symbol: Vec<SymbolResult>,
    /// Events emitted by the execution core (funding included).
    pub event_count: u64,
    /// blake3 of the event stream (see `events.rs`): equal for equal runs.
    pub event_stream_hash: String,
    /// What a reader should know before trusting the numbers ([`notes`]); empty when
    /// nothing stands out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip)]
    pub equity: Vec<EquityPoint>,
    /// The buy-and-hold benchmark per bar (closes, or a basket's value), as the metrics
    /// saw it; the report scales it to the starting cash.
    #[serde(skip)]
    pub benchmark: Vec<f64>,
    /// Every event, in order, when the config's `keep_events` is set; else empty.
    #[serde(skip)]
    pub events: Vec<Event>,
}

/// Share of the starting cash paid in fees above which a result says so.
pub const FEES_NOTE_FRACTION: f64 = 0.2;

/// Notes on a result whose numbers could mislead: fees that ate a large share of the
/// starting cash (a fast strategy on fine bars), or a strategy that never traded.
pub fn notes(r: &BacktestResult) -> Vec<String> {
    let mut notes = Vec::new();
    let (fees, cash) = (r.fees_paid.to_f64(), r.starting_cash.to_f64());
    if cash > 0.0 && fees / cash >= FEES_NOTE_FRACTION {
        notes.push(format!(
            "fees were {:.0}% of the starting cash ({} fills on {} bars): costs dominate this result; try a longer timeframe, fewer trades or a lower commission",
            fees / cash * 100.0,
            r.counts.fills,
            r.timeframe
        ));
    }
    if r.counts.fills == 0 {
        notes.push("no order filled: the strategy never traded on these bars (see counts for skipped or rejected orders)".into());
    }
    notes
}

/// One symbol of a portfolio run.
#[derive(Debug, Clone, Serialize)]
pub struct SymbolResult {
    pub symbol: String,
    pub bars: usize,
    /// Signed units held at the end.
    pub final_position: Fixed,
    /// The close the position is marked at (the symbol's last bar).
    pub last_close: Fixed,
    /// Closed round trips of this symbol (they are in the run's `trades` too).
    pub trades: usize,
    /// Net P&L of those trades (fees included).
    pub trades_pnl: f64,
    /// Its trade still open at the end, valued at `last_close`.
    pub open_trade: Option<TradeRecord>,
}
