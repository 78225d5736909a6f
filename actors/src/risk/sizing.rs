//! Position sizing (`POST /api/risk/calculate-position-size`): how much to hold, by one of
//! five methods chosen per request with the `method` tag (default `fixed_fractional`, so
//! the spec's example request needs no tag).
//!
//! Single-asset methods (fixed fractional, Kelly, volatility targeting) answer one
//! position; multi-asset ones (risk parity, mean-variance; see `allocation.rs`) answer
//! per-symbol `allocations` whose totals fill the top-level fields.
//!
//! The cap, and why it is reported rather than silently applied: the spec's example
//! (`portfolio_value` 10000, `risk_per_trade` 0.02, `stop_loss` 0.02, `current_price` 50000)
//! must answer `quantity` 0.2 and `risk_amount` 200, yet 0.2 BTC is 100 % of the portfolio,
//! which the service's MAX_POSITION_SIZE (0.05) forbids. So `quantity`, `notional`,
//! `fraction_of_portfolio` and `risk_amount` are the method's own, uncapped answer, and
//! `capped_quantity` / `capped_notional` / `capped_fraction` / `capped_risk_amount` are the
//! same position cut to `max_position_size` (request field, default 0.05), with
//! `capped: true` and a `cap_reason` when the cut bit. Execution must use the capped
//! figures (its pre-trade check enforces the same limit regardless).

use super::allocation::{self, Allocation, MeanVarianceSizing, RiskParitySizing};
use super::bounds::{KELLY_FRACTION_DEFAULT, MAX_POSITION_SIZE_DEFAULT, OBSERVATIONS_MAX, PERIODS_PER_YEAR_MAX};
use super::capped::cap;
pub use super::capped::SizingDetail;
use super::check::{self, Interval};
use super::error::{Num, RiskError};
use super::inputs::{FRACTION, PORTFOLIO_VALUE, PRICE, UNIT};
use super::stats;
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

/// A position-size request: common fields plus the method's own, in one flat JSON object.
/// Unknown fields are refused, also those of another method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionSizeRequest {
    /// Equity the position is sized against, > 0.
    pub portfolio_value: f64,
    /// Price of the symbol (single-asset methods); with it the answer has a `quantity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_price: Option<f64>,
    /// Largest position as a fraction of `portfolio_value` (default 0.05, MAX_POSITION_SIZE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_position_size: Option<f64>,
    #[serde(flatten)]
    pub method: SizingMethod,
}

/// The sizing method and its inputs (`"method": "kelly"`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SizingMethod {
    FixedFractional(FixedFractional),
    Kelly(Kelly),
    VolatilityTarget(VolatilityTarget),
    RiskParity(RiskParitySizing),
    MeanVariance(MeanVarianceSizing),
}

/// Risk a fixed fraction of equity between entry and stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedFractional {
    /// Fraction of `portfolio_value` lost if the stop is hit, in (0, 1).
    pub risk_per_trade: f64,
    /// Stop distance as a fraction of price, in (0, 1).
    pub stop_loss: f64,
}

/// Kelly criterion for a bet won with probability `win_probability` paying
/// `win_loss_ratio` times what a loss costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kelly {
    /// p, in (0, 1).
    pub win_probability: f64,
    /// b = average win / average loss, in (0, 1e6].
    pub win_loss_ratio: f64,
    /// Multiplier on full Kelly, in (0, 1] (default 0.5, half-Kelly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kelly_fraction: Option<f64>,
    /// Stop distance as a fraction of price, in (0, 1); without it the whole stake is at risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<f64>,
}

/// Scale the position so its volatility matches a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolatilityTarget {
    /// Target annual volatility of the position, as a fraction of the portfolio, in (0, 10].
    pub target_volatility: f64,
    /// Recent close prices of the symbol, oldest first (at least 3).
    pub close_prices: Vec<f64>,
    /// Bars per year of `close_prices` (365 for daily crypto, 8760 for hourly).
    pub periods_per_year: f64,
}

/// Method names as they appear in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodName {
    FixedFractional,
    Kelly,
    VolatilityTarget,
    RiskParity,
    MeanVariance,
}

/// The answer: the method's uncapped position, the same position cut to
/// `max_position_size`, per-symbol allocations for multi-asset methods, method detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionSizeResponse {
    pub method: MethodName,
    /// Units to hold, uncapped; `null` without a price (and for multi-asset methods).
    pub quantity: Option<f64>,
    /// Position value in quote currency, uncapped.
    pub notional: f64,
    /// `notional / portfolio_value`, uncapped.
    pub fraction_of_portfolio: f64,
    /// What is lost if the stop is hit, uncapped; `null` where the method defines none.
    pub risk_amount: Option<f64>,
    /// The cap applied to each position (fraction of portfolio).
    pub max_position_size: f64,
    /// Whether any position exceeded the cap.
    pub capped: bool,
    /// Why and how much the cap cut, when it did.
    pub cap_reason: Option<String>,
    pub capped_quantity: Option<f64>,
    pub capped_notional: f64,
    pub capped_fraction: f64,
    pub capped_risk_amount: Option<f64>,
    /// Per-symbol answers of risk parity and mean-variance (absent otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<Allocation>,
    pub detail: SizingDetail,
}

const COMMON_FIELDS: [&str; 3] = ["portfolio_value", "current_price", "max_position_size"];

impl<'de> Deserialize<'de> for PositionSizeRequest {
    /// Splits the flat object into the common fields and the method's (both refusing
    /// unknown fields; serde's `flatten` cannot), defaulting `method` to fixed_fractional.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Common {
            portfolio_value: f64,
            #[serde(default)]
            current_price: Option<f64>,
            #[serde(default)]
            max_position_size: Option<f64>,
        }
        let mut rest = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let mut common = serde_json::Map::new();
        for key in COMMON_FIELDS {
            if let Some(v) = rest.remove(key) {
                common.insert(key.to_string(), v);
            }
        }
        rest.entry("method").or_insert_with(|| "fixed_fractional".into());
        let c = Common::deserialize(serde_json::Value::Object(common)).map_err(D::Error::custom)?;
        let method = SizingMethod::deserialize(serde_json::Value::Object(rest)).map_err(D::Error::custom)?;
        Ok(PositionSizeRequest {
            portfolio_value: c.portfolio_value,
            current_price: c.current_price,
            max_position_size: c.max_position_size,
            method,
        })
    }
}

/// Sizes a position by the request's method and caps it (see the module docs). Each
/// method's formula is on its function: `fixed_fractional` (`risk_amount =
/// portfolio_value * risk_per_trade`, `quantity = risk_amount / (current_price *
/// stop_loss)`), [`kelly_edge`] and Kelly sizing, [`realised_volatility`] and volatility
/// targeting (`fraction = target / realised`), and `allocation.rs` for the multi-asset
/// methods. For single-asset methods `quantity = notional / current_price` unless the
/// method defines it, and `fraction_of_portfolio = notional / portfolio_value`.
pub fn calculate_position_size(req: &PositionSizeRequest) -> Result<PositionSizeResponse, RiskError> {
    let pv = PORTFOLIO_VALUE.check("portfolio_value", req.portfolio_value)?;
    let max = FRACTION.check_or("max_position_size", req.max_position_size, MAX_POSITION_SIZE_DEFAULT)?;
    let price = req.current_price.map(|p| PRICE.check("current_price", p)).transpose()?;
    let per_price = |notional: f64| price.map(|p| notional / p);
    match &req.method {
        SizingMethod::FixedFractional(m) => {
            let (notional, quantity, risk, detail) = fixed_fractional(pv, price, m)?;
            single_answer(pv, max, notional, quantity, Some(risk), detail)
        }
        SizingMethod::Kelly(m) => {
            let (notional, risk, detail) = kelly(pv, m)?;
            single_answer(pv, max, notional, per_price(notional), Some(risk), detail)
        }
        SizingMethod::VolatilityTarget(m) => {
            let (fraction, detail) = volatility_target(m)?;
            single_answer(pv, max, fraction * pv, per_price(fraction * pv), None, detail)
        }
        SizingMethod::RiskParity(m) => {
            no_single_price(price, "risk_parity")?;
            let (allocs, detail) = allocation::size_risk_parity(m, pv, max)?;
            Ok(multi_answer(MethodName::RiskParity, pv, max, allocs, detail))
        }
        SizingMethod::MeanVariance(m) => {
            no_single_price(price, "mean_variance")?;
            let (allocs, detail) = allocation::size_mean_variance(m, pv, max)?;
            Ok(multi_answer(MethodName::MeanVariance, pv, max, allocs, detail))
        }
    }
}

fn no_single_price(price: Option<f64>, method: &str) -> Result<(), RiskError> {
    match price {
        None => Ok(()),
        Some(_) => Err(RiskError::invalid(
            "current_price",
            format!("{method} sizes several symbols; give their prices as `prices`, one per symbol"),
        )),
    }
}

/// Fixed fractional: `risk_amount = portfolio_value * risk_per_trade`;
/// `quantity = risk_amount / (current_price * stop_loss)`; `notional = quantity * price`
/// (or `risk_amount / stop_loss` without a price).
/// Returns (notional, quantity, risk_amount, detail).
fn fixed_fractional(pv: f64, price: Option<f64>, m: &FixedFractional) -> Result<(f64, Option<f64>, f64, SizingDetail), RiskError> {
    let rpt = UNIT.check("risk_per_trade", m.risk_per_trade)?;
    let stop = UNIT.check("stop_loss", m.stop_loss)?;
    let risk_amount = pv * rpt;
    let quantity = price.map(|p| risk_amount / (p * stop));
    let notional = match (quantity, price) {
        (Some(q), Some(p)) => q * p,
        _ => risk_amount / stop,
    };
    let detail = SizingDetail::FixedFractional { risk_per_trade: rpt, stop_loss: stop };
    Ok((notional, quantity, risk_amount, detail))
}

/// Full Kelly `f* = p - (1 - p) / b`, the fraction of equity to stake on a bet that wins
/// `b` per unit staked with probability `p` and loses the stake otherwise. Errors when
/// `f* <= 0` (no edge). Inputs: p in (0, 1), b in (0, 1e6].
pub fn kelly_edge(win_probability: f64, win_loss_ratio: f64) -> Result<f64, RiskError> {
    let p = UNIT.check("win_probability", win_probability)?;
    let b = Interval::left_open(0.0, 1e6).check("win_loss_ratio", win_loss_ratio)?;
    let edge = p - (1.0 - p) / b;
    if edge > 0.0 {
        Ok(edge)
    } else {
        Err(RiskError::NoEdge { edge, win_probability: p, win_loss_ratio: b })
    }
}

/// Kelly sizing: `fraction_at_risk = kelly_fraction * f*` of equity may be lost.
/// Without a stop the stake itself is at risk, so `notional = fraction_at_risk * pv`;
/// with stop `s` only `s` of the notional is, so `notional = fraction_at_risk * pv / s`.
/// `risk_amount = fraction_at_risk * pv` either way.
fn kelly(pv: f64, m: &Kelly) -> Result<(f64, f64, SizingDetail), RiskError> {
    let full = kelly_edge(m.win_probability, m.win_loss_ratio)?;
    let k = Interval::left_open(0.0, 1.0).check_or("kelly_fraction", m.kelly_fraction, KELLY_FRACTION_DEFAULT)?;
    let stop = m.stop_loss.map(|s| UNIT.check("stop_loss", s)).transpose()?;
    let at_risk = k * full;
    let notional = at_risk * pv / stop.unwrap_or(1.0);
    let detail = SizingDetail::Kelly { full_kelly: full, kelly_fraction: k, fraction_at_risk: at_risk, stop_loss: stop };
    Ok((notional, at_risk * pv, detail))
}

/// Annualised realised volatility of a close-price series:
/// `sample_std(ln(p[t] / p[t-1])) * sqrt(periods_per_year)` (log returns, n - 1 divisor).
/// Needs at least 3 prices, each in (0, PRICE_MAX].
pub fn realised_volatility(close_prices: &[f64], periods_per_year: f64) -> Result<f64, RiskError> {
    check::count("close_prices", close_prices.len(), 3, "OBSERVATIONS_MAX", OBSERVATIONS_MAX)?;
    PRICE.check_all("close_prices", close_prices)?;
    let ppy = Interval::left_open(0.0, PERIODS_PER_YEAR_MAX).check("periods_per_year", periods_per_year)?;
    Ok(stats::sample_std(&stats::log_returns(close_prices)) * ppy.sqrt())
}

/// Volatility targeting: `fraction_of_portfolio = target_volatility / realised_volatility`
/// (both annual), so the position's volatility as a share of equity equals the target.
fn volatility_target(m: &VolatilityTarget) -> Result<(f64, SizingDetail), RiskError> {
    let target = FRACTION.check("target_volatility", m.target_volatility)?;
    let realised = realised_volatility(&m.close_prices, m.periods_per_year)?;
    if realised <= 0.0 {
        return Err(RiskError::undefined(
            "volatility targeting",
            "close_prices never change, so realised volatility is 0 and any position size would meet the target",
        ));
    }
    let fraction = check::finite("fraction_of_portfolio (target / realised volatility)", target / realised)?;
    let detail = SizingDetail::VolatilityTarget {
        realised_volatility: realised,
        target_volatility: target,
        periods_per_year: m.periods_per_year,
        observations: m.close_prices.len() - 1,
    };
    Ok((fraction, detail))
}

/// `x` at the service's money precision (8 decimals: `Fixed`, the finest lot and tick of
/// any instrument), so answers read `0.01` and `1250`, not `0.010000000000000002` and
/// `1250.0000000000002` (float noise of the arithmetic above).
pub(crate) fn precise(x: f64) -> f64 {
    let scaled = (x * 1e8).round();
    if scaled.is_finite() && scaled.abs() < 9.0e15 {
        scaled / 1e8
    } else {
        x
    }
}

fn single_answer(
    pv: f64,
    max: f64,
    notional: f64,
    quantity: Option<f64>,
    risk_amount: Option<f64>,
    detail: SizingDetail,
) -> Result<PositionSizeResponse, RiskError> {
    let notional = check::finite("notional", notional)?;
    let method = method_of(&detail);
    let c = cap(notional, quantity, pv, max);
    let cap_reason = c.capped.then(|| {
        format!(
            "fraction_of_portfolio {} exceeds max_position_size {}: notional cut from {} to {}",
            Num(notional / pv),
            Num(max),
            Num(notional),
            Num(c.notional)
        )
    });
    let scale = if notional > 0.0 { c.notional / notional } else { 1.0 };
    Ok(PositionSizeResponse {
        method,
        quantity: quantity.map(precise),
        notional: precise(notional),
        fraction_of_portfolio: notional / pv,
        risk_amount: risk_amount.map(precise),
        max_position_size: max,
        capped: c.capped,
        cap_reason,
        capped_quantity: c.quantity.map(precise),
        capped_notional: precise(c.notional),
        capped_fraction: c.fraction,
        capped_risk_amount: risk_amount.map(|r| precise(r * scale)),
        allocations: Vec::new(),
        detail,
    })
}

fn multi_answer(method: MethodName, pv: f64, max: f64, allocs: Vec<Allocation>, detail: SizingDetail) -> PositionSizeResponse {
    let notional: f64 = allocs.iter().map(|a| a.notional).sum();
    let capped_notional: f64 = allocs.iter().map(|a| a.capped_notional).sum();
    let cut: Vec<&str> = allocs.iter().filter(|a| a.capped).map(|a| a.symbol.as_str()).collect();
    let cap_reason = (!cut.is_empty()).then(|| {
        format!(
            "{} of {} allocations exceed max_position_size {} and were cut to it ({}); total notional {} -> {}",
            cut.len(),
            allocs.len(),
            Num(max),
            cut.join(", "),
            Num(notional),
            Num(capped_notional)
        )
    });
    PositionSizeResponse {
        method,
        quantity: None,
        notional,
        fraction_of_portfolio: notional / pv,
        risk_amount: None,
        max_position_size: max,
        capped: !cut.is_empty(),
        cap_reason,
        capped_quantity: None,
        capped_notional,
        capped_fraction: capped_notional / pv,
        capped_risk_amount: None,
        allocations: allocs,
        detail,
    }
}

fn method_of(detail: &SizingDetail) -> MethodName {
    match detail {
        SizingDetail::FixedFractional { .. } => MethodName::FixedFractional,
        SizingDetail::Kelly { .. } => MethodName::Kelly,
        SizingDetail::VolatilityTarget { .. } => MethodName::VolatilityTarget,
        SizingDetail::RiskParity { .. } => MethodName::RiskParity,
        SizingDetail::MeanVariance { .. } => MethodName::MeanVariance,
    }
}

#[cfg(test)]
#[path = "sizing_tests.rs"]
mod tests;
