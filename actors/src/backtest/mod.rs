//! The backtester: a strategy over stored candles through the same execution core a
//! paper session runs, and the report of what it did.
//!
//! The engine drives [`crate::execution::ExecutionCore`] (fills, fees, slippage, the
//! pre-trade risk check, the portfolio) with bar times as the clock and a seeded id
//! generator; it has no fill logic of its own, so a backtest fills exactly as paper
//! trading does. No tokio, no I/O, no clock reads: the same inputs give the same
//! result, bit for bit, and the same event-stream hash.
//!
//! # Layout
//!
//! - `actor.rs`: [`actor::BacktestActor`], the thin actor behind `/api/backtest/*`: checks
//!   a request, fetches bars from the market-data actor, journals `BacktestJobStarted`, runs
//!   the engine on a blocking thread (progress via [`run_observed`]), writes the report
//!   file and journals `BacktestCompleted` / `BacktestFailed`; rebuilt from those events.
//!   Also serves the HTML report of a finished run (rendered by the `tradpal-report`
//!   crate from the result file).
//! - `bars.rs`: the stored bars a job runs over, asked of the market-data actor
//!   ([`bars::fetch_range`], [`bars::RangePages`]: also `tradpal backtest --symbol`
//!   in-process, ML and RL training, the ensemble).
//! - `job_kind.rs`: [`job_kind::JobKind`], a job's kind (run, optimize, walk_forward),
//!   named by string on the wire and in the journal.
//! - `jobs.rs`: what the actor and its job files share (the actor's struct and
//!   messages, a job's index entry, the single search slot, journaling a job's start
//!   and end), so `actor.rs` -> job files -> `jobs.rs` runs one way.
//! - `optimize_job.rs`: optimisations over HTTP in the same actor: one at a time
//!   ([`optimize_job::OPTIMIZATIONS_RUNNING_MAX`]), same journal events and result files
//!   (`"kind": "optimize"`), progress in engine runs.
//! - `walk_forward_job.rs`: walk-forwards over HTTP in the same actor, sharing the
//!   optimisations' single slot, journal events and result files (`"kind":
//!   "walk_forward"`: per-window best params and scores, the stitched out-of-sample
//!   metrics and equity curve).
//! - `walk_forward_request.rs`: [`walk_forward_request::WalkForwardRequest`] (the body of
//!   `POST /api/backtest/walk-forward`): an optimisation's fields plus the windows, in
//!   bars or fractions, resolved against the fetched bars; each message names the field.
//! - `optimize_request.rs`: [`optimize_request::OptimizeRequest`] (the body of
//!   `POST /api/backtest/optimize`) and its checks, each naming the field.
//! - `request.rs`: [`request::RunRequest`] (the HTTP body: the run, and the optional
//!   `monte_carlo_runs` / `monte_carlo_method` / `lookahead_checks`) and its checks, each
//!   naming the field (an `ai_ensemble` run's models are resolved by the actor).
//! - `ai_report.rs`: an `ai_ensemble` run's report section (pinned models, P&L by part).
//! - `report.rs`: the JSON reports (`performance`, `summary`), the equity curve
//!   downsampled to [`report::EQUITY_POINTS_MAX`] points, the attribution, and the
//!   robustness sections a run asked for ([`report::add_sections`]).
//! - `attribution.rs`: P&L of the closed trades by symbol, side, signal source and UTC
//!   month of exit (counts, gross / net P&L, fees, win rate per bucket), and inside the
//!   deepest drawdown periods (taken from `metrics`, not recomputed).
//! - `robustness/`: checks that run after a backtest when asked (seeded, bounded).
//!   - `mod.rs`: [`robustness::RobustnessRequest`] and [`robustness::analyse`].
//!   - `monte_carlo.rs`: bootstrap / permutation of the trade sequence: percentiles of
//!     max drawdown and final return, probability of loss, the original's rank.
//!   - `lookahead.rs`: the signal at sampled bars with the later bars cut off against
//!     the full series; every mismatch.
//!   - `tests.rs` (tests only): built-ins pass on real data, cheating strategies fail.
//! - `retention.rs`: the actor's index of jobs (with the completion order) and result
//!   retention: past `BACKTEST_RESULTS_MAX` finished results the oldest are removed
//!   (journaled `BacktestResultRemoved`, then the file deleted); `results/{id}` says 410.
//! - `files.rs`: result files `<data_dir>/backtests/<id>.json`, written atomically, read
//!   with a size limit ([`files::RESULT_FILE_BYTES_MAX`]).
//! - `account.rs`: [`account::Account`], one account stepped bar by bar (the core, sizing,
//!   the ledger, the equity curve): what the engine and live sessions share.
//! - `engine.rs`: [`run`] and [`run_observed`] (a progress callback) for one symbol,
//!   [`run_portfolio`] / [`run_spec`] for several on one account (bars merged by open
//!   time, ties in name order, one strategy instance per symbol, equal sleeves of equity,
//!   at most [`SYMBOLS_PER_RUN_MAX`]); one loop serves both (its order of operations is
//!   documented there), funding, the end-of-run report.
//! - `config.rs`: [`BacktestConfig`] (cash, costs, limits, seed) and the execution
//!   core's settings derived from it.
//! - `sizing.rs`: target fraction of equity -> units on the lot -> the order, or a skip
//!   below the instrument's minimums.
//! - `risk_sizing.rs`: [`risk_sizing::RiskSizing`], the size delegated to the risk core's
//!   pure sizing functions (fixed fractional, Kelly, volatility target) at the decision
//!   bar (config `sizing`, request field `sizing`); the formulas.
//! - `ledger.rs`: round trips (entry to flat or reversal) from fills, as
//!   [`metrics::TradeRecord`]s.
//! - `ledger_worker.rs`: a long backtest's ledgers folded on a thread of their own (the
//!   run only batches its fills; the trades are the same).
//! - `events.rs`: the event stream's blake3 hash (and, optionally, the events).
//! - `batch_thread.rs`: the helper thread both of those use (batches folded in order
//!   through a bounded queue, emptied buffers handed back).
//! - `result.rs`: [`BacktestResult`], [`RunCounts`], [`SymbolResult`] (a portfolio's
//!   per-symbol part).
//! - `error.rs`: [`BacktestError`].
//! - `strategy` (re-exported from `crate::strategy`): the [`strategy::Strategy`] trait, its [`strategy::BarContext`] (bars
//!   up to the current one, never later), the built-in strategies and the
//!   [`strategy::StrategySpec`] factory.
//! - `metrics/`: performance metrics ([`metrics::compute`]): returns, risk-adjusted
//!   ratios, drawdowns, trade statistics, benchmark alpha / beta, the probabilistic
//!   Sharpe ratio, monthly returns, and the [`metrics::Metric`] trait for custom ones.
//!   - `mod.rs`: input and report types ([`metrics::EquityPoint`],
//!     [`metrics::TradeRecord`], [`metrics::MetricsInput`], [`metrics::Metrics`]), the
//!     conventions, `compute`, the Calmar ratio.
//!   - `error.rs`: [`metrics::MetricsError`], one variant per kind of bad input.
//!   - `validate.rs`: the input checks that run before any arithmetic.
//!   - `annualise.rs`: periods per year on a 365-day, 24-hour calendar; interval names.
//!   - `stats.rs`: the zero-volatility threshold, the finite-only gate, central moments.
//!   - `returns.rs`: per-bar returns, total return, CAGR, volatility, Sharpe, Sortino.
//!   - `drawdown.rs`: drawdown periods, maximum drawdown and its longest duration.
//!   - `trades.rs`: win rate, profit factor, expectancy, best / worst / average, SQN.
//!   - `benchmark.rs`: buy-and-hold return, alpha and beta.
//!   - `psr.rs`: the probabilistic Sharpe ratio and the normal CDF.
//!   - `monthly.rs`: returns per UTC calendar month.
//!   - `custom.rs`: the [`metrics::Metric`] trait and [`metrics::compute_with`].
//!   - `tests.rs`, `property_tests.rs` (tests only): whole-report tests, property tests
//!     and the linear-time check on two years of 1m bars.
//! - `optimize/`: parameter optimisation ([`optimize::optimize`]): ranges, objectives,
//!   `grid` and a seeded TPE, trials in parallel (`std::thread::scope`) with a total
//!   ranking order, in-sample / out-of-sample split and the best point's held-out score.
//!   - `mod.rs`: [`optimize::OptimizeSpec`], [`optimize::Method`], the report types.
//!   - `space.rs`: [`optimize::ParamRange`], the checks, the grid ([`optimize::GRID_POINTS_MAX`]).
//!   - `objective.rs`: [`optimize::Objective`], the metrics that can be maximised.
//!   - `eval.rs`: one engine run per point, in parallel; the ranking order.
//!   - `tpe.rs`: the Tree-structured Parzen Estimator and its simplifications.
//!   - `error.rs`: [`optimize::OptimizeError`].
//!   - `tests.rs` (tests only).
//! - `walk_forward.rs`: [`walk_forward::walk_forward`]: rolling or anchored windows,
//!   optimise on each training window, run the best on the next test window, metrics of
//!   the stitched out-of-sample curve.
//! - `walk_forward_tests.rs` (tests only): windows as documented, stitching.
//! - `engine_tests.rs` (tests only): the engine on real data (`testdata/`): SMA-cross
//!   fills against crossings computed independently, buy-and-hold against the price
//!   return, determinism by hash, no look-ahead, bad input.
//! - `engine_portfolio_tests.rs` (tests only): two symbols on one account (ETH/BTC and
//!   LTC/BTC 5m): determinism, the account identity, fills after each symbol's own
//!   crossings, equal sleeves; single-symbol hashes recorded on `main`; risk sizing
//!   against the risk core's formula.
//!
//! Several symbols: plain runs only; optimisation, walk-forward and the look-ahead check
//! take one symbol (their requests / CLI refuse several).
//!
//! Not built yet: cancelling a running backtest, journal replay of a run, PNG charts
//! (SVG only).

pub mod account;
pub mod actor;
pub mod ai_report;
pub mod attribution;
pub mod bars;
pub mod batch_thread;
pub mod config;
pub mod engine;
pub mod error;
pub mod events;
pub mod files;
pub mod job_kind;
pub mod jobs;
pub mod ledger;
pub mod ledger_worker;
pub mod metrics;
pub mod optimize;
pub mod optimize_job;
pub mod optimize_request;
pub mod report;
pub mod request;
pub mod result;
pub mod retention;
pub mod risk_sizing;
pub mod robustness;
pub mod sizing;
/// The strategy runtime lives in `crate::strategy` (shared with live sessions); this
/// path stays for the backtest's callers.
pub use crate::strategy;
pub mod walk_forward;
pub mod walk_forward_job;
pub mod walk_forward_request;

#[cfg(test)]
mod engine_portfolio_tests;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod walk_forward_tests;

pub use config::{BacktestConfig, BACKTEST_MAX_POSITION_SIZE};
pub use engine::{run, run_observed, run_portfolio, run_portfolio_observed, run_spec, SymbolBars, SYMBOLS_PER_RUN_MAX};
pub use error::BacktestError;
pub use result::{BacktestResult, RunCounts, SymbolResult};
pub use strategy::{build, BarContext, Signal, Strategy, StrategySpec};
