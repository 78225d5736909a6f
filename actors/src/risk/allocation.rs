//! Multi-asset sizing: risk parity and mean-variance weights turned into per-symbol
//! allocations of a budget, each capped at `max_position_size`.
//!
//! Why separate from the solvers: `risk_parity.rs` and `mean_variance.rs` are pure
//! optimisers on a covariance matrix; this file owns the request shapes, where the
//! covariance comes from (given, or fitted from `returns_by_symbol`), the units
//! (per-period inputs, annualised outputs) and the money (budget, prices, caps).

use super::bounds::PERIODS_PER_YEAR_MAX;
use super::bounds::{ITERATIONS_DEFAULT, RISK_FREE_RATE_DEFAULT};
use super::capped::{cap, SizingDetail};
use super::check::{self, Interval};
use super::error::RiskError;
use super::inputs::{covariance_of, ReturnsBySymbol};
use super::inputs::{FRACTION, PRICE};
use super::linalg::{dot, mat_vec, quad_form};
use super::mean_variance::{max_sharpe, min_variance, Objective};
use super::risk_parity::risk_parity;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Risk parity across `symbols`: each contributes the same share of portfolio variance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskParitySizing {
    pub symbols: Vec<String>,
    /// Per-period covariance, rows and columns in `symbols` order (or give returns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariance: Option<Vec<Vec<f64>>>,
    /// Per-period simple returns per symbol, to fit the covariance from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_by_symbol: Option<ReturnsBySymbol>,
    /// Current prices in `symbols` order; with them each allocation has a quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<Vec<f64>>,
    /// Fraction of `portfolio_value` spread across the symbols (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// Newton step bound (default 1000, at most ITERATIONS_MAX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations_max: Option<usize>,
}

/// Long-only minimum-variance or maximum-Sharpe weights across `symbols`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanVarianceSizing {
    pub objective: Objective,
    pub symbols: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariance: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_by_symbol: Option<ReturnsBySymbol>,
    /// Per-period expected returns in `symbols` order; default: the sample means of
    /// `returns_by_symbol`. Required for max_sharpe when the covariance is given directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_returns: Option<Vec<f64>>,
    /// Annual risk-free rate (default 0.02, RISK_FREE_RATE), in [-1, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_free_rate: Option<f64>,
    /// Periods per year of the per-period inputs (default 1: they are annual).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods_per_year: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations_max: Option<usize>,
}

/// One symbol's share of a multi-asset answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub symbol: String,
    /// Weight within the budget (weights sum to 1).
    pub weight: f64,
    /// Share of portfolio variance, `w_i (S w)_i / (w' S w)` (sums to 1).
    pub risk_contribution: f64,
    /// `budget * weight * portfolio_value`, uncapped.
    pub notional: f64,
    pub fraction_of_portfolio: f64,
    /// `notional / price` when prices were given.
    pub quantity: Option<f64>,
    pub capped: bool,
    pub capped_notional: f64,
    pub capped_fraction: f64,
    pub capped_quantity: Option<f64>,
}

/// Risk parity (see [`risk_parity`]) spread over `budget * portfolio_value`.
pub(crate) fn size_risk_parity(m: &RiskParitySizing, pv: f64, max: f64) -> Result<(Vec<Allocation>, SizingDetail), RiskError> {
    let (cov, _) = covariance_of(&m.symbols, m.covariance.as_ref(), m.returns_by_symbol.as_ref())?;
    let money = Money::new(m.prices.as_deref(), m.budget, m.symbols.len(), pv, max)?;
    let its = iterations(m.iterations_max)?;
    let s = risk_parity(&cov, &m.symbols, its)?;
    let volatility = quad_form(&cov, &s.weights).sqrt();
    let detail = SizingDetail::RiskParity { iterations: s.iterations, max_risk_contribution_deviation: s.max_deviation, volatility };
    Ok((money.allocate(&m.symbols, &s.weights, &s.risk_contributions), detail))
}

/// Minimum variance or maximum Sharpe (see `mean_variance.rs`) over the budget.
/// Reported figures are annualised: `expected_return = w'mu * ppy`,
/// `volatility = sqrt(w'Sw * ppy)`, `sharpe_ratio = (expected_return - r_f) / volatility`;
/// max Sharpe uses per-period excess returns `mu_i - r_f / ppy`.
pub(crate) fn size_mean_variance(m: &MeanVarianceSizing, pv: f64, max: f64) -> Result<(Vec<Allocation>, SizingDetail), RiskError> {
    let (cov, fitted_means) = covariance_of(&m.symbols, m.covariance.as_ref(), m.returns_by_symbol.as_ref())?;
    let money = Money::new(m.prices.as_deref(), m.budget, m.symbols.len(), pv, max)?;
    let its = iterations(m.iterations_max)?;
    let rf = Interval::closed(-1.0, 1.0).check_or("risk_free_rate", m.risk_free_rate, RISK_FREE_RATE_DEFAULT)?;
    let ppy = Interval::left_open(0.0, PERIODS_PER_YEAR_MAX).check_or("periods_per_year", m.periods_per_year, 1.0)?;
    let mu = match &m.expected_returns {
        Some(e) => {
            check::same_len("expected_returns", e.len(), "symbols", m.symbols.len())?;
            Interval::closed(-1e4, 1e4).check_all("expected_returns", e)?;
            Some(e.clone())
        }
        None => fitted_means,
    };
    let s = match (m.objective, &mu) {
        (Objective::MinVariance, _) => min_variance(&cov, &m.symbols, its)?,
        (Objective::MaxSharpe, Some(mu)) => {
            let excess: Vec<f64> = mu.iter().map(|r| r - rf / ppy).collect();
            max_sharpe(&cov, &excess, &m.symbols, its)?
        }
        (Objective::MaxSharpe, None) => {
            return Err(RiskError::missing(
                "expected_returns",
                "for objective max_sharpe when the covariance is given directly (or give returns_by_symbol)",
            ))
        }
    };
    let rc = risk_contributions(&cov, &s.weights);
    let volatility = (quad_form(&cov, &s.weights) * ppy).sqrt();
    let expected_return = mu.as_ref().map(|mu| dot(mu, &s.weights) * ppy);
    let sharpe_ratio = expected_return.filter(|_| volatility > 0.0).map(|r| (r - rf) / volatility);
    let detail = SizingDetail::MeanVariance {
        objective: m.objective,
        iterations: s.iterations,
        expected_return,
        volatility,
        sharpe_ratio,
        risk_free_rate: rf,
        periods_per_year: ppy,
    };
    Ok((money.allocate(&m.symbols, &s.weights, &rc), detail))
}

fn iterations(requested: Option<usize>) -> Result<usize, RiskError> {
    let n = requested.unwrap_or(ITERATIONS_DEFAULT);
    Interval::closed(1.0, super::bounds::ITERATIONS_MAX as f64).check("iterations_max", n as f64)?;
    Ok(n)
}

/// `w_i (S w)_i / (w' S w)`; zeros when the variance is 0.
fn risk_contributions(cov: &Array2<f64>, w: &[f64]) -> Vec<f64> {
    let sw = mat_vec(cov, w);
    let var = dot(w, &sw);
    w.iter().zip(&sw).map(|(a, b)| if var > 0.0 { a * b / var } else { 0.0 }).collect()
}

/// The money side of a multi-asset answer: validated prices, budget and cap.
struct Money<'a> {
    prices: Option<&'a [f64]>,
    budget: f64,
    pv: f64,
    max: f64,
}

impl<'a> Money<'a> {
    fn new(prices: Option<&'a [f64]>, budget: Option<f64>, n: usize, pv: f64, max: f64) -> Result<Self, RiskError> {
        if let Some(p) = prices {
            check::same_len("prices", p.len(), "symbols", n)?;
            PRICE.check_all("prices", p)?;
        }
        let budget = FRACTION.check_or("budget", budget, 1.0)?;
        Ok(Money { prices, budget, pv, max })
    }

    /// `notional_i = budget * w_i * pv`, `quantity_i = notional_i / price_i`, each capped.
    fn allocate(&self, symbols: &[String], weights: &[f64], rc: &[f64]) -> Vec<Allocation> {
        symbols
            .iter()
            .enumerate()
            .map(|(i, symbol)| {
                let notional = self.budget * weights[i] * self.pv;
                let quantity = self.prices.map(|p| notional / p[i]);
                let c = cap(notional, quantity, self.pv, self.max);
                Allocation {
                    symbol: symbol.clone(),
                    weight: weights[i],
                    risk_contribution: rc[i],
                    notional,
                    fraction_of_portfolio: notional / self.pv,
                    quantity,
                    capped: c.capped,
                    capped_notional: c.notional,
                    capped_fraction: c.fraction,
                    capped_quantity: c.quantity,
                }
            })
            .collect()
    }
}
