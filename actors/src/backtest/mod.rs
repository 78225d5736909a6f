//! The backtester's pure parts: what a backtest measures about a finished run.
//!
//! A backtest drives the same cores as a live session over stored candles with a
//! simulated clock (see `session/`); what lives here needs no actor at all: plain
//! functions from a run's equity curve and trades to its report. No tokio, no I/O, no
//! clock reads, so a replayed run reports bit-identical numbers.
//!
//! # Layout
//!
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

pub mod metrics;
