//! Robustness checks of a backtest (pure, seeded): is the result more than the luck of
//! the trade order, and does the strategy decide on bars it could not have seen?
//!
//! # Layout
//!
//! - `monte_carlo.rs`: [`monte_carlo::monte_carlo`]: bootstrap or permutation of the
//!   closed trades' returns; percentiles of the max drawdown and the final return, the
//!   probability of a loss, the original order's rank.
//! - `lookahead.rs`: [`lookahead::check_lookahead`]: the signal at sampled bars with the
//!   series cut there against the full-series signal; every mismatch.
//! - `mod.rs`: [`RobustnessRequest`] and [`analyse`], the one call the CLI and the
//!   actor make after a run: each asked-for analysis as its report section.
//! - `tests.rs` (tests only): the look-ahead check on real data (`testdata/`): the
//!   built-in strategies pass, deliberately cheating strategies are caught.

pub mod lookahead;
pub mod monte_carlo;

#[cfg(test)]
mod tests;

pub use lookahead::{check_lookahead, LookaheadError, LookaheadReport, Mismatch, LOOKAHEAD_BAR_STEPS_MAX, LOOKAHEAD_CHECKS_MAX};
pub use monte_carlo::{monte_carlo, MonteCarlo, MonteCarloError, MonteCarloReport, MonteCarloSpec, Resampling, MONTE_CARLO_RUNS_MAX};

use super::config::BacktestConfig;
use super::result::BacktestResult;
use super::strategy::{build, Strategy, StrategySpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tradpal_messages::{Candle, Timeframe};

/// The analyses asked for with a run (each costs time, so none by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RobustnessRequest {
    pub monte_carlo: Option<MonteCarloSpec>,
    /// Truncation points of the look-ahead check (seeded with `lookahead_seed`).
    pub lookahead_checks: Option<usize>,
    pub lookahead_seed: u64,
}

/// What a run of a built-in strategy needs for the look-ahead check's re-runs.
pub struct RunInputs<'a> {
    pub config: &'a BacktestConfig,
    pub bars: &'a [Candle],
    pub timeframe: Timeframe,
    pub symbol: &'a str,
    pub spec: &'a StrategySpec,
}

fn failed(message: String) -> Value {
    json!({ "status": "error", "message": message })
}

/// Runs what `req` asks for on a finished run; the report sections by name
/// (`monte_carlo`, `lookahead`). An analysis that cannot run is a section with
/// `"status": "error"` and the reason, not a failed backtest.
pub fn analyse(req: &RobustnessRequest, run: &RunInputs, result: &BacktestResult) -> BTreeMap<&'static str, Value> {
    let mut out = BTreeMap::new();
    if let Some(spec) = &req.monte_carlo {
        let v = match monte_carlo(&result.trades, result.starting_cash.to_f64(), spec) {
            Ok(m) => serde_json::to_value(m).unwrap_or_else(|e| failed(e.to_string())),
            Err(e) => failed(e.to_string()),
        };
        out.insert("monte_carlo", v);
    }
    if let Some(checks) = req.lookahead_checks {
        let make = |_: &[Candle]| -> Result<Box<dyn Strategy>, String> { build(run.spec).map_err(|e| e.to_string()) };
        let v = match check_lookahead(run.config, run.bars, run.timeframe, run.symbol, &make, checks, req.lookahead_seed) {
            Ok(r) => {
                let mut v = serde_json::to_value(r).unwrap_or_else(|e| failed(e.to_string()));
                v["status"] = json!("completed");
                v
            }
            Err(e) => failed(e.to_string()),
        };
        out.insert("lookahead", v);
    }
    out
}
