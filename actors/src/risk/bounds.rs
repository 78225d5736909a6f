//! Named bounds on what one request may ask for, and the defaults the spec implies.
//!
//! Why bounds: the risk endpoints take series, matrices and simulation sizes from callers;
//! without a ceiling one request could ask for hours of work or gigabytes of memory. Each
//! bound is named `<unit>_MAX` (unit last) and quoted back in the error that enforces it.
//! Magnitude bounds on money, prices and quantities keep every product the modules form
//! (quantity x price x shock, sums over positions) far from f64 overflow, so a finite,
//! in-range input always yields a finite answer.

/// Symbols in one multi-asset computation (covariance side, risk parity, mean-variance).
/// The active-set and Newton solvers cost O(n^3) per iteration; 200 keeps them < 1 s.
pub const ASSETS_MAX: usize = 200;
/// Observations in one return or price series.
pub const OBSERVATIONS_MAX: usize = 1_000_000;
/// Observations x assets in one returns matrix (80 MB of f64).
pub const CELLS_MAX: usize = 10_000_000;
/// Monte Carlo paths in one request.
pub const PATHS_MAX: usize = 1_000_000;
/// Steps per Monte Carlo stress path.
pub const STEPS_MAX: usize = 10_000;
/// Paths x steps x assets in one Monte Carlo stress run (about a second of work).
pub const DRAWS_MAX: u64 = 100_000_000;
/// Positions in one portfolio.
pub const POSITIONS_MAX: usize = 10_000;
/// Custom stress scenarios in one request.
pub const SCENARIOS_MAX: usize = 100;
/// Price moves (and, separately, volatility multipliers) in one sensitivity grid.
pub const GRID_POINTS_MAX: usize = 1_000;
/// Ceiling on a request's `iterations_max` for the iterative solvers.
pub const ITERATIONS_MAX: usize = 10_000;
/// `iterations_max` when a request leaves it out. Newton (risk parity) needs ~10-30,
/// the active set (mean-variance) at most a few times the number of assets.
pub const ITERATIONS_DEFAULT: usize = 1_000;

/// Largest money amount (portfolio value, P&L) accepted, in quote currency.
pub const AMOUNT_MAX: f64 = 1e15;
/// Smallest portfolio value accepted (one satoshi of a BTC-quoted account): dividing by
/// it keeps every fraction finite.
pub const AMOUNT_MIN: f64 = 1e-8;
/// Largest price accepted, in quote currency per unit.
pub const PRICE_MAX: f64 = 1e12;
/// Smallest price accepted (below the cheapest traded tokens), so `value / price` and
/// `quantity * price` stay finite.
pub const PRICE_MIN: f64 = 1e-12;
/// Largest absolute position or order quantity accepted, in units of the base asset.
pub const QUANTITY_MAX: f64 = 1e12;
/// Largest absolute simple return per period accepted (100 = +10,000 %).
pub const RETURN_ABS_MAX: f64 = 100.0;
/// Largest periods-per-year accepted (one-second bars are ~3.2e7).
pub const PERIODS_PER_YEAR_MAX: f64 = 1e8;
/// Largest fraction of the portfolio accepted for caps, budgets and targets (10x leverage).
pub const FRACTION_MAX: f64 = 10.0;

/// The service's MAX_POSITION_SIZE when the request names none (spec: 0.05).
pub const MAX_POSITION_SIZE_DEFAULT: f64 = 0.05;
/// The service's MAX_DRAWDOWN default (spec: 0.1).
pub const MAX_DRAWDOWN_DEFAULT: f64 = 0.1;
/// The service's RISK_FREE_RATE default, annual (spec: 0.02).
pub const RISK_FREE_RATE_DEFAULT: f64 = 0.02;
/// VaR / ES confidence when a request names none.
pub const CONFIDENCE_DEFAULT: f64 = 0.95;
/// Kelly multiplier when a request names none: half-Kelly keeps most of the growth at a
/// quarter of the variance and is forgiving of an over-estimated edge.
pub const KELLY_FRACTION_DEFAULT: f64 = 0.5;
/// Risk parity stops when every risk contribution is within this relative distance of
/// its equal share.
pub const PARITY_TOLERANCE: f64 = 1e-9;
/// A limit value within this relative distance of its threshold counts as at the limit,
/// so rounding in a division never turns an exact-limit case into a breach.
pub const LIMIT_TOLERANCE_REL: f64 = 1e-12;
