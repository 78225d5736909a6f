//! Limit checks (`POST /api/risk/check-limits`): every limit whose inputs are present is
//! evaluated, each listed in `checks` with its value, and the ones over their threshold in
//! `breaches` with the excess.
//!
//! Rules, chosen so a check is never silently skipped or guessed:
//! - A limit is checked only when its threshold and its inputs are both given; a
//!   threshold without its inputs (or daily_loss / equity_peak without their threshold) is
//!   an error naming what is missing.
//! - Boundary: a value *at* its threshold is within the limit (spec: a 5 % loss against
//!   `max_daily_loss` 0.05 is within limits). A value within `LIMIT_TOLERANCE_REL` (1e-12)
//!   relative of the threshold counts as at it, so division rounding cannot flip the case.
//! - Daily loss is measured against the start-of-day value (see [`daily_loss_fraction`]).

use super::bounds::{AMOUNT_MAX, FRACTION_MAX, LIMIT_TOLERANCE_REL};
use super::check::Interval;
use super::error::RiskError;
use super::exposure::{check_positions, Position};
use super::inputs::PORTFOLIO_VALUE;
use super::inputs::{returns_matrix, ReturnsBySymbol};
use super::stats;
use serde::{Deserialize, Serialize};

/// Thresholds that are fractions of equity in (0, 1].
pub(crate) const LOSS_FRACTION: Interval = Interval::left_open(0.0, 1.0);

/// What to check. `portfolio_value` is the current equity; the rest is optional in pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckLimitsRequest {
    pub portfolio_value: f64,
    /// Today's P&L so far, <= 0 (the spec's -500 is a 500 loss).
    #[serde(default)]
    pub daily_loss: Option<f64>,
    /// Largest daily loss as a fraction of the start-of-day value, in (0, 1].
    #[serde(default)]
    pub max_daily_loss: Option<f64>,
    /// Highest equity reached (for the drawdown check).
    #[serde(default)]
    pub equity_peak: Option<f64>,
    /// Largest drawdown from `equity_peak`, in (0, 1] (service default MAX_DRAWDOWN 0.1).
    #[serde(default)]
    pub max_drawdown: Option<f64>,
    #[serde(default)]
    pub positions: Option<Vec<Position>>,
    /// Largest |notional| of one position as a fraction of equity (MAX_POSITION_SIZE).
    #[serde(default)]
    pub max_position_size: Option<f64>,
    /// Most positions with a non-zero quantity.
    #[serde(default)]
    pub max_open_positions: Option<usize>,
    /// Per-period returns of the held symbols, for the correlation check.
    #[serde(default)]
    pub returns_by_symbol: Option<ReturnsBySymbol>,
    /// Largest correlation between two positions' P&L, in [-1, 1].
    #[serde(default)]
    pub max_correlation: Option<f64>,
}

/// The limits the service knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitName {
    MaxDailyLoss,
    MaxDrawdown,
    MaxPositionSize,
    MaxOpenPositions,
    MaxCorrelation,
}

/// One evaluated limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub limit: LimitName,
    /// The position(s) it concerns; empty for portfolio-wide limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    pub value: f64,
    pub threshold: f64,
    pub within: bool,
}

/// A limit exceeded: `excess = value - threshold` (> 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub limit: LimitName,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    pub value: f64,
    pub threshold: f64,
    pub excess: f64,
}

/// The verdict: `within_limits` is true when no check breached (also when none ran).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckLimitsResponse {
    pub within_limits: bool,
    pub breaches: Vec<Breach>,
    pub checks: Vec<Check>,
}

/// `value <= threshold`, up to LIMIT_TOLERANCE_REL relative (the boundary rule).
pub fn within(value: f64, threshold: f64) -> bool {
    value <= threshold + LIMIT_TOLERANCE_REL * threshold.abs()
}

/// Today's loss as a fraction of the start-of-day value:
/// `|daily_loss| / (portfolio_value - daily_loss)`, with `daily_loss <= 0` the day's P&L
/// and `portfolio_value` the equity now, so the denominator is the equity at the start of
/// the day (spec: 500 / (9500 + 500) = 5 %). Why start of day: a limit on "how much of
/// what we had this morning we lost" does not tighten as the loss itself shrinks equity.
pub fn daily_loss_fraction(portfolio_value: f64, daily_loss: f64) -> Result<f64, RiskError> {
    let pv = PORTFOLIO_VALUE.check("portfolio_value", portfolio_value)?;
    let loss = Interval::closed(-AMOUNT_MAX, 0.0).check("daily_loss (the day's P&L, <= 0 for a loss)", daily_loss)?;
    Ok(-loss / (pv - loss))
}

/// Evaluates every limit the request has inputs for (module docs give the rules). Values:
/// - `max_daily_loss`: [`daily_loss_fraction`];
/// - `max_drawdown`: `max(0, 1 - portfolio_value / equity_peak)`;
/// - `max_position_size`: `|quantity * price| / portfolio_value`, one check per held symbol;
/// - `max_open_positions`: the number of positions with a non-zero quantity;
/// - `max_correlation`: one check per pair of held positions (see `correlation_checks`).
///
/// Each check is `within` when `value <= threshold` (up to LIMIT_TOLERANCE_REL); each
/// breach carries `excess = value - threshold`.
pub fn check_limits(req: &CheckLimitsRequest) -> Result<CheckLimitsResponse, RiskError> {
    let pv = PORTFOLIO_VALUE.check("portfolio_value", req.portfolio_value)?;
    if let Some(p) = &req.positions {
        check_positions("positions", p)?;
    }
    let mut checks = Vec::new();
    if let Some((loss, max)) = pair("daily_loss", req.daily_loss, "max_daily_loss", req.max_daily_loss)? {
        let threshold = LOSS_FRACTION.check("max_daily_loss", max)?;
        checks.push(check(LimitName::MaxDailyLoss, vec![], daily_loss_fraction(pv, loss)?, threshold));
    }
    if let Some((peak, max)) = pair("equity_peak", req.equity_peak, "max_drawdown", req.max_drawdown)? {
        let peak = PORTFOLIO_VALUE.check("equity_peak", peak)?;
        let threshold = LOSS_FRACTION.check("max_drawdown", max)?;
        checks.push(check(LimitName::MaxDrawdown, vec![], (1.0 - pv / peak).max(0.0), threshold));
    }
    let held: Vec<&Position> = req.positions.iter().flatten().filter(|p| p.quantity != 0.0).collect();
    if let Some(max) = req.max_position_size {
        needs_positions(req, "max_position_size")?;
        let threshold = Interval::left_open(0.0, FRACTION_MAX).check("max_position_size", max)?;
        for p in &held {
            checks.push(check(LimitName::MaxPositionSize, vec![p.symbol.clone()], p.notional().abs() / pv, threshold));
        }
    }
    if let Some(max) = req.max_open_positions {
        needs_positions(req, "max_open_positions")?;
        checks.push(check(LimitName::MaxOpenPositions, vec![], held.len() as f64, max as f64));
    }
    if let Some(max) = req.max_correlation {
        needs_positions(req, "max_correlation")?;
        let threshold = Interval::closed(-1.0, 1.0).check("max_correlation", max)?;
        let map = req.returns_by_symbol.as_ref().ok_or_else(|| RiskError::missing("returns_by_symbol", "when max_correlation is given"))?;
        checks.extend(correlation_checks(&held, map, threshold)?);
    }
    let breaches: Vec<Breach> = checks
        .iter()
        .filter(|c| !c.within)
        .map(|c| Breach {
            limit: c.limit,
            symbols: c.symbols.clone(),
            value: c.value,
            threshold: c.threshold,
            excess: c.value - c.threshold,
        })
        .collect();
    Ok(CheckLimitsResponse { within_limits: breaches.is_empty(), breaches, checks })
}

fn check(limit: LimitName, symbols: Vec<String>, value: f64, threshold: f64) -> Check {
    Check { limit, symbols, value, threshold, within: within(value, threshold) }
}

/// Both of a value and its threshold, neither, or an error naming the missing one.
fn pair(a: &str, va: Option<f64>, b: &str, vb: Option<f64>) -> Result<Option<(f64, f64)>, RiskError> {
    match (va, vb) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(RiskError::missing(b, format!("when {a} is given (the check needs both)"))),
        (None, Some(_)) => Err(RiskError::missing(a, format!("when {b} is given (the check needs both)"))),
    }
}

fn needs_positions(req: &CheckLimitsRequest, threshold: &str) -> Result<(), RiskError> {
    match req.positions {
        Some(_) => Ok(()),
        None => Err(RiskError::missing("positions", format!("when {threshold} is given"))),
    }
}

/// One check per pair of held positions: the correlation of their P&L,
/// `rho_ij * sign(q_i) * sign(q_j)` (a long and a short in correlated assets hedge; two
/// shorts add up like two longs), from the sample correlation of their returns.
fn correlation_checks(held: &[&Position], map: &ReturnsBySymbol, threshold: f64) -> Result<Vec<Check>, RiskError> {
    if held.len() < 2 {
        return Ok(Vec::new());
    }
    let symbols: Vec<String> = held.iter().map(|p| p.symbol.clone()).collect();
    let m = returns_matrix("returns_by_symbol", map, &symbols, 2)?;
    let rho = stats::correlation(&stats::covariance(&m));
    let mut out = Vec::new();
    for i in 0..held.len() {
        for j in i + 1..held.len() {
            let sign = held[i].quantity.signum() * held[j].quantity.signum();
            let pair = vec![symbols[i].clone(), symbols[j].clone()];
            out.push(check(LimitName::MaxCorrelation, pair, rho[[i, j]] * sign, threshold));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn run(v: serde_json::Value) -> Result<CheckLimitsResponse, RiskError> {
        check_limits(&serde_json::from_value(v).expect("request parses"))
    }

    #[test]
    fn spec_example_is_exactly_at_the_limit_and_within() {
        let r = run(json!({"portfolio_value": 9500, "daily_loss": -500, "max_daily_loss": 0.05})).unwrap();
        assert!(r.within_limits);
        assert!(r.breaches.is_empty());
        assert_eq!(r.checks.len(), 1);
        assert_eq!(r.checks[0].value, 0.05);
        assert_eq!(serde_json::to_value(&r).unwrap()["within_limits"], json!(true));
        let r = run(json!({"portfolio_value": 9499, "daily_loss": -501, "max_daily_loss": 0.05})).unwrap();
        assert!(!r.within_limits);
        assert!((r.breaches[0].excess - 0.0001).abs() < 1e-12);
    }

    #[test]
    fn every_limit_with_inputs_is_checked() {
        let r = run(json!({
            "portfolio_value": 9000, "equity_peak": 10000, "max_drawdown": 0.1,
            "positions": [{"symbol": "BTC/USDT", "quantity": 0.01, "price": 50000},
                          {"symbol": "ETH/USDT", "quantity": -0.1, "price": 2500},
                          {"symbol": "ADA/USDT", "quantity": 0, "price": 1}],
            "max_position_size": 0.05, "max_open_positions": 1,
            "returns_by_symbol": {"BTC/USDT": [0.01, -0.02, 0.03, 0.0], "ETH/USDT": [0.012, -0.025, 0.028, 0.001]},
            "max_correlation": 0.7,
        }))
        .unwrap();
        let limits: Vec<LimitName> = r.checks.iter().map(|c| c.limit).collect();
        use LimitName::*;
        assert_eq!(limits, vec![MaxDrawdown, MaxPositionSize, MaxPositionSize, MaxOpenPositions, MaxCorrelation]);
        assert!(r.checks[0].within); // exactly 10 %: 1 - 9000/10000 rounds to 0.09999999999999998
        assert!(!r.checks[1].within); // 500 / 9000 = 5.6 %
        assert!(r.checks[2].within); // 250 / 9000
        assert!(!r.checks[3].within); // 2 open > 1
        assert!(r.checks[4].value < -0.9); // long BTC vs short ETH: a hedge
        assert!(r.checks[4].within);
        assert_eq!(r.breaches.len(), 2);
    }

    #[test]
    fn half_given_pairs_and_bad_signs_are_errors() {
        let e = run(json!({"portfolio_value": 1, "daily_loss": -1})).unwrap_err();
        assert_eq!(e.to_string(), "max_daily_loss is required when daily_loss is given (the check needs both)");
        let e = run(json!({"portfolio_value": 1, "max_position_size": 0.05})).unwrap_err();
        assert_eq!(e.to_string(), "positions is required when max_position_size is given");
        let e = run(json!({"portfolio_value": 1, "daily_loss": 500, "max_daily_loss": 0.05})).unwrap_err();
        assert_eq!(e.to_string(), "daily_loss (the day's P&L, <= 0 for a loss) must be in [-1e15, 0], got 500");
    }

    proptest! {
        #[test]
        fn never_panics(pv in any::<f64>(), dl in proptest::option::of(any::<f64>()),
                        m in proptest::option::of(any::<f64>()),
                        q in any::<f64>(), p in any::<f64>(), n in proptest::option::of(0usize..3)) {
            let req = CheckLimitsRequest {
                portfolio_value: pv, daily_loss: dl, max_daily_loss: m, equity_peak: dl.map(f64::abs), max_drawdown: m,
                positions: Some(vec![Position { symbol: "A".into(), quantity: q, price: p },
                                     Position { symbol: "B".into(), quantity: -q, price: p }]),
                max_position_size: m, max_open_positions: n,
                returns_by_symbol: Some(
                    [("A".to_string(), vec![q, p, 0.0]), ("B".to_string(), vec![p, q, 0.1])].into(),
                ),
                max_correlation: m,
            };
            if let Ok(r) = check_limits(&req) {
                prop_assert_eq!(r.within_limits, r.breaches.is_empty());
                prop_assert!(r.checks.iter().all(|c| c.value.is_finite()));
            }
        }
    }
}
