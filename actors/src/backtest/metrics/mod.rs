//! Performance metrics of a backtest: one pure function from an equity curve, its trades
//! and an optional benchmark to a [`Metrics`] report.
//!
//! Pure and deterministic: no tokio, no I/O, no clock. The same input gives the same
//! bits, so a replayed backtest reports exactly the metrics of the original run.
//!
//! # Conventions (every function documents its own formula)
//!
//! - The curve has `n` points, one per bar close; it spans `m = n - 1` bar intervals and
//!   gives `m` simple per-bar returns `r_t = equity_t / equity_{t-1} - 1`.
//! - Time is calendar time: CAGR compounds over `years = (end - start) / 365 days`.
//!   Per-bar statistics are annualised by the observed bars per calendar year
//!   (`m / years`: 525600 for 1m crypto, ~252 for daily stocks) or by a declared
//!   [`Calendar`] (24/7 crypto, 252-day equities, 24/5 FX). The report states which in
//!   [`Metrics::annualisation`] (see `annualise.rs`).
//! - The per-bar risk-free rate is `rf_bar = risk_free_rate / periods_per_year`.
//! - Standard deviations are sample ones (`n - 1`), except the downside deviation and
//!   the moments in the probabilistic Sharpe ratio, which are population ones (`n`).
//! - Fractions, not percent: `0.25` is 25%. `max_drawdown` is positive (0.25 = -25%).
//! - A per-bar standard deviation at or below [`VOL_EPSILON`] counts as zero: returns
//!   computed from f64 equity carry ~1e-16 of rounding noise, and a constant-growth curve
//!   would otherwise report a Sharpe ratio of 1e14.
//! - A metric the input leaves undefined (Sharpe with zero volatility, profit factor
//!   without a losing trade, anything needing two returns on a one-point curve, a
//!   result that overflows f64) is `None`, serialised as `null`. Output numbers are
//!   always finite: never NaN or infinity.
//! - Bad input is a [`MetricsError`], never a panic.

mod annualise;
mod benchmark;
mod custom;
mod drawdown;
mod error;
mod monthly;
mod psr;
mod returns;
mod stats;
mod trades;
mod validate;

#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod tests;

pub use annualise::{annualisation, format_interval, Annualisation, Calendar, NANOS_PER_YEAR};
pub use benchmark::{alpha_beta, buy_and_hold_return};
pub use custom::{compute_with, Metric};
pub use drawdown::{drawdown_periods, DrawdownPeriod};
pub use error::MetricsError;
pub use monthly::monthly_returns;
pub(crate) use monthly::year_month;
pub use psr::{normal_cdf, probabilistic_sharpe_ratio};
pub use returns::{annual_volatility, bar_returns, cagr, sharpe_ratio, sortino_ratio, total_return};
pub use stats::VOL_EPSILON;
pub use trades::{trade_stats, TradeStats};

use benchmark::alpha_beta_of;
use psr::probabilistic_sharpe_ratio_of;
use returns::returns_of;
use returns::{annual_volatility_of, curve_returns, sharpe_ratio_of, sortino_ratio_of};
use stats::ReturnStats;

use serde::{Deserialize, Serialize};
use tradpal_messages::{SharedStr, Side, Timestamp};

/// The portfolio's equity at one bar close (cash plus positions marked to the close).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    pub time: Timestamp,
    pub equity: f64,
}

/// One closed round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRecord {
    /// Shared with the run's other records of the symbol (a string on the wire).
    pub symbol: SharedStr,
    /// `Buy` = long, `Sell` = short.
    pub side: Side,
    pub entry_time: Timestamp,
    pub exit_time: Timestamp,
    pub entry_price: f64,
    pub exit_price: f64,
    pub quantity: f64,
    /// Profit or loss in quote currency, net of fees.
    pub pnl: f64,
    /// Fees paid on entry and exit, in quote currency.
    pub fees: f64,
    /// Return of the trade as a fraction (0.05 = +5%); reported as given.
    pub return_pct: f64,
    pub bars_held: u32,
    /// What produced the signal: "sma_cross", "ml", "rl", "regime", ...
    pub source: SharedStr,
}

/// Everything the metrics are computed from. Borrowed, so a backtest hands over its
/// buffers without copying (deserialise owned `Vec`s, then borrow them).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MetricsInput<'a> {
    /// The equity curve, oldest first, strictly increasing in time, one point per bar.
    pub equity: &'a [EquityPoint],
    pub trades: &'a [TradeRecord],
    /// Buy-and-hold equity or price per bar, same length as `equity`.
    pub benchmark: Option<&'a [f64]>,
    /// The bar interval in nanoseconds (60e9 for 1m bars).
    pub bar_interval_ns: i64,
    /// Annual risk-free rate as a fraction (0.02 = 2%).
    pub risk_free_rate: f64,
    /// Bars per year: observed from the curve (the default) or a declared calendar.
    pub calendar: Calendar,
    /// How many of the bars had a non-zero position.
    pub exposure_bars: usize,
}

/// The performance report. Field names are the JSON names; `None` is `null` and means
/// "undefined for this input" (the doc of each function says when).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// How returns were annualised (periods per year, the interval, the method).
    pub annualisation: Annualisation,
    /// Number of equity points `n`.
    pub bars: usize,
    pub start: Timestamp,
    pub end: Timestamp,
    /// [`total_return`]: `final / initial - 1`.
    pub total_return: f64,
    /// [`cagr`]: `(final / initial)^(1 / years) - 1`, over calendar years.
    pub cagr: Option<f64>,
    /// [`annual_volatility`]: `std(r) * sqrt(periods_per_year)`.
    pub annual_volatility: Option<f64>,
    /// [`sharpe_ratio`]: `mean(r - rf_bar) / std(r - rf_bar) * sqrt(periods_per_year)`.
    pub sharpe_ratio: Option<f64>,
    /// [`sortino_ratio`]: `mean(r - rf_bar) / downside_deviation * sqrt(periods_per_year)`.
    pub sortino_ratio: Option<f64>,
    /// `cagr / max_drawdown`; `None` without a drawdown.
    pub calmar_ratio: Option<f64>,
    /// `max_t (1 - equity_t / running_peak_t)`, in [0, 1].
    pub max_drawdown: f64,
    /// Bars from the peak before the longest drawdown to its recovery (or to the last bar).
    pub max_drawdown_duration_bars: usize,
    /// Time of the peak that starts the longest drawdown; `None` if the curve never dips.
    pub max_drawdown_duration_start: Option<Timestamp>,
    /// Time of its recovery; `None` if never dipped or still under water at the end.
    pub max_drawdown_duration_end: Option<Timestamp>,
    /// Closed-trade statistics ([`trade_stats`]), flattened into the report: every
    /// field but the count is `None` without trades.
    #[serde(flatten)]
    pub trade_stats: TradeStats,
    /// `exposure_bars / n`: the fraction of bars with a position.
    pub exposure_time: f64,
    /// [`buy_and_hold_return`] of the benchmark; `None` without one.
    pub buy_and_hold_return: Option<f64>,
    /// [`alpha_beta`]: Jensen's alpha, annualised (`alpha_bar * periods_per_year`).
    pub alpha: Option<f64>,
    /// [`alpha_beta`]: `cov(r, r_b) / var(r_b)`.
    pub beta: Option<f64>,
    /// [`probabilistic_sharpe_ratio`] against a Sharpe ratio of 0.
    pub probabilistic_sharpe_ratio: Option<f64>,
}

/// Computes every built-in metric of `input` in O(n) time and memory.
///
/// Fails with a [`MetricsError`] naming the first bad input: empty or non-positive or
/// non-finite equity, times not strictly increasing, a benchmark of the wrong length or
/// with a non-positive value, `bar_interval_ns <= 0`, a risk-free rate not in (-1, inf),
/// `exposure_bars > n`, a trade with a non-finite number.
pub fn compute(input: &MetricsInput) -> Result<Metrics, MetricsError> {
    validate::input(input)?;
    compute_valid(input)
}

/// [`compute`] of a curve the engine recorded itself: every point was checked positive
/// when it was recorded (equity <= 0 stops a run as a bust), each is a `Fixed` amount
/// converted to `f64` (finite, and `max / min` finite: at least 1e-8, at most 2e30), and
/// the points are one per group of bars, whose open times strictly increase. So the
/// curve's own pass is skipped (a million points are 16 MB read once more: ~4 % of the
/// engine's time); debug builds still run it. The benchmark, the trades and the
/// parameters are checked as in [`compute`].
pub(crate) fn compute_recorded(input: &MetricsInput) -> Result<Metrics, MetricsError> {
    debug_assert_eq!(validate::equity(input.equity), Ok(()), "the engine recorded a curve compute would refuse");
    // The return statistics (the two longest passes) start beside the remaining checks:
    // statistics of a bad benchmark are only numbers, dropped when a check fails.
    compute_checked(input, || validate::all_but_the_curve(input))
}

/// Curves at least this long have their return statistics computed on a second thread,
/// beside the checks still to run, the drawdowns and the trade statistics (a scoped
/// thread costs tens of microseconds; a million points take milliseconds).
pub const METRICS_PARALLEL_POINTS_MIN: usize = 100_000;

/// [`compute`] after the checks.
fn compute_valid(input: &MetricsInput) -> Result<Metrics, MetricsError> {
    compute_checked(input, || Ok(()))
}

/// [`compute_valid`], running `check` (the last checks of the input) first or beside the
/// return statistics: its error, if any, is the answer.
fn compute_checked(input: &MetricsInput, check: impl FnOnce() -> Result<(), MetricsError>) -> Result<Metrics, MetricsError> {
    let span_ns = input.equity[input.equity.len() - 1].time.0 - input.equity[0].time.0;
    let ann = annualisation(input.bar_interval_ns, input.calendar, span_ns, input.equity.len() - 1)?;
    let ppy = ann.periods_per_year;
    let rf_bar = input.risk_free_rate / ppy;
    let points = input.equity;
    let stats = || ReturnStats::of(curve_returns(points), input.benchmark.map(returns_of), rf_bar);
    // The drawdowns and trade statistics only once the checks passed (they assume them).
    let rest = || check().map(|()| (drawdown::summary(points), trade_stats(input.trades)));
    let (r, rest) = if points.len() >= METRICS_PARALLEL_POINTS_MIN {
        std::thread::scope(|s| {
            let r = std::thread::Builder::new().name("metrics".into()).spawn_scoped(s, stats).ok();
            let rest = rest();
            // A thread that could not start (or died) leaves the statistics to this one.
            (r.and_then(|h| h.join().ok()).unwrap_or_else(stats), rest)
        })
    } else {
        let rest = rest();
        (stats(), rest)
    };
    let (dd, trade_stats) = rest?;
    let (first, last) = (points[0].equity, points[points.len() - 1].equity);
    let cagr = cagr(first, last, ann.years);
    let (alpha, beta) = alpha_beta_of(&r, rf_bar, ppy);
    Ok(Metrics {
        annualisation: ann,
        bars: points.len(),
        start: input.equity[0].time,
        end: points[points.len() - 1].time,
        total_return: total_return(first, last),
        cagr,
        annual_volatility: annual_volatility_of(&r, ppy),
        sharpe_ratio: sharpe_ratio_of(&r, rf_bar, ppy),
        sortino_ratio: sortino_ratio_of(&r, rf_bar, ppy),
        calmar_ratio: calmar_ratio(cagr, dd.max_drawdown),
        max_drawdown: dd.max_drawdown,
        max_drawdown_duration_bars: dd.longest.map_or(0, |p| p.bars),
        max_drawdown_duration_start: dd.longest.map(|p| p.start),
        max_drawdown_duration_end: dd.longest.and_then(|p| p.end),
        trade_stats,
        exposure_time: input.exposure_bars as f64 / points.len() as f64,
        buy_and_hold_return: input.benchmark.map(buy_and_hold_return),
        alpha,
        beta,
        probabilistic_sharpe_ratio: probabilistic_sharpe_ratio_of(&r, rf_bar, 0.0),
    })
}

/// Calmar ratio, `cagr / max_drawdown`: growth per unit of the worst loss from a peak.
/// Both are fractions, so it is unitless. `None` when CAGR is undefined or the curve never
/// fell more than [`VOL_EPSILON`] below a peak (a ratio to zero says nothing).
pub fn calmar_ratio(cagr: Option<f64>, max_drawdown: f64) -> Option<f64> {
    if max_drawdown <= VOL_EPSILON {
        return None;
    }
    stats::finite(cagr? / max_drawdown)
}
