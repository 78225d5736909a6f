//! Risk management, the pure core: position sizing, portfolio risk (VaR / ES, volatility,
//! drawdown, correlation, exposure), limit checks, the pre-trade check execution runs on
//! every order, and stress tests.
//!
//! Everything here is deterministic and synchronous: no tokio, no clock, no I/O, and no
//! randomness of its own. Monte Carlo functions take `&mut impl Rng`, and the
//! request-level ones a `seed` (journaled by the actor), so a replay reproduces every
//! number. The risk actor and the HTTP endpoints wrap the request/response types here:
//! requests are `Deserialize` with `deny_unknown_fields`, answers `Serialize`, with the
//! spec's field names where the spec has them (`quantity`, `risk_amount`,
//! `within_limits`, ...).
//!
//! Bad input never panics (property tests feed NaN, infinities and absurd sizes to every
//! entry point): it is a [`RiskError`] naming the field, index and rule
//! (`stop_loss must be in (0, 1), got 0`), and every size a request controls is bounded
//! by a named constant in [`bounds`]. Statistics are f64: money handed to execution
//! (quantities, resize sizes) is converted to its exact representation there.
//!
//! # Layout
//!
//! - `actor.rs`: the thin actor: answers requests, journals breaches, builds inputs
//!   from stored candles.
//! - `error.rs`: [`RiskError`], one variant per kind of refusal, and stable error codes.
//! - `bounds.rs`: the named limits on request sizes (`ASSETS_MAX`, `PATHS_MAX`,
//!   `ITERATIONS_MAX`, ...) and the spec's defaults (MAX_POSITION_SIZE 0.05, ...).
//! - `check.rs`: the shared range / length / symbol checks that make messages uniform.
//! - `stats.rs`: moments, the type-7 quantile, tail means, covariance and correlation,
//!   the normal quantile (AS241).
//! - `linalg.rs`: covariance validation, Cholesky (strict and semidefinite), solves.
//! - `inputs.rs`: return series and `returns_by_symbol` maps turned into checked matrices;
//!   where a multi-asset method's covariance comes from.
//! - `simulate.rs`: the seeded multivariate-normal sampler (Cholesky) Monte Carlo uses.
//! - `sizing.rs`: `POST /api/risk/calculate-position-size`: the request with its `method`
//!   tag, fixed fractional, Kelly, volatility targeting, the reported cap.
//! - `capped.rs`: what sizing and allocation share (the answer's method detail, the cut
//!   to `max_position_size`), so allocation does not import sizing back.
//! - `allocation.rs`: risk parity and mean-variance requests turned into per-symbol,
//!   capped allocations (covariance source, units, budget, prices).
//! - `risk_parity.rs`: equal-risk-contribution weights (Spinu's damped Newton).
//! - `mean_variance.rs`: long-only minimum variance and maximum Sharpe (active set).
//! - `var.rs`: VaR and ES, historical / parametric / Monte Carlo, series or portfolio.
//! - `drawdown.rs`: current and maximum drawdown of an equity curve.
//! - `exposure.rs`: [`Position`] and long / short / gross / net exposure.
//! - `portfolio.rs`: `GET /api/risk/portfolio-risk`: all portfolio metrics in one request.
//! - `limits.rs`: `POST /api/risk/check-limits`: checks, breaches, the boundary rule.
//! - `pretrade.rs`: [`pre_trade_check`]: approve, resize or refuse one order.
//! - `scenarios.rs`: the historical scenario table and symbol -> asset class.
//! - `stress.rs`: `GET /api/risk/stress-test`: scenarios, custom shocks, worst case.
//! - `stress_mc.rs`: Monte Carlo stress paths and P&L distributions.
//! - `sensitivity.rs`: P&L over price moves x volatility multipliers.
//! - `sizing_tests.rs`, `stress_tests.rs` (tests only): JSON-level tests of the two
//!   largest request types, kept apart so the code files stay short.
//! - `fuzz_tests.rs` (tests only): never-panic property tests on random JSON for every
//!   request type.

pub mod actor;
pub mod allocation;
pub mod bounds;
pub mod capped;
pub(crate) mod check;
pub mod drawdown;
pub mod error;
pub mod exposure;
pub mod inputs;
pub mod limits;
pub mod linalg;
pub mod mean_variance;
pub mod portfolio;
pub mod pretrade;
pub mod risk_parity;
pub mod scenarios;
pub mod sensitivity;
pub mod simulate;
pub mod sizing;
pub mod stats;
pub mod stress;
pub mod stress_mc;
pub mod var;

#[cfg(test)]
mod fuzz_tests;

pub use allocation::{Allocation, MeanVarianceSizing, RiskParitySizing};
pub use drawdown::{drawdown, Drawdown};
pub use error::RiskError;
pub use exposure::{exposure, Exposure, Position, SymbolExposure};
pub use inputs::ReturnsBySymbol;
pub use limits::{check_limits, Breach, Check, CheckLimitsRequest, CheckLimitsResponse, LimitName};
pub use mean_variance::{max_sharpe, min_variance, MeanVarianceSolution, Objective};
pub use portfolio::{assess_portfolio, MonteCarloSpec, PortfolioRiskRequest, PortfolioRiskResponse};
pub use pretrade::{pre_trade_check, Limits, PortfolioSnapshot, PreTradeDecision, ProposedOrder, Side};
pub use risk_parity::{risk_parity, RiskParitySolution};
pub use scenarios::{classify, AssetClass, Scenario, HISTORICAL_SCENARIOS};
pub use sizing::{
    calculate_position_size, kelly_edge, realised_volatility, FixedFractional, Kelly, PositionSizeRequest, PositionSizeResponse,
    SizingDetail, SizingMethod, VolatilityTarget,
};
pub use stress::{stress_test, CustomScenario, StressTestRequest, StressTestResponse, WorstCase};
pub use stress_mc::{Distribution, MonteCarloStress, StressMonteCarlo};
pub use var::{historical_var, monte_carlo_portfolio_var, monte_carlo_var, parametric_var, portfolio_returns, TailRisk};
