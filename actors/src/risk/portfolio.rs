//! Portfolio risk (`GET /api/risk/portfolio-risk`): VaR and ES by every method, volatility,
//! drawdown, correlation and exposure, each computed only when its inputs are present.
//!
//! Why one request with optional parts: the actor assembles the request from what the
//! portfolio and market data hold at that moment (returns, positions, equity curve); a
//! part with no inputs is simply absent from the answer, while a part with inconsistent
//! inputs is an error, never a silent guess.

use super::bounds::{CONFIDENCE_DEFAULT, PERIODS_PER_YEAR_MAX};
use super::check::Interval;
use super::drawdown::{drawdown, Drawdown};
use super::error::RiskError;
use super::exposure::{check_positions, exposure, Exposure, Position};
use super::inputs::PORTFOLIO_VALUE;
use super::inputs::{returns_matrix, ReturnsBySymbol};
use super::simulate::seeded_rng;
use super::stats;
use super::var::{self, TailRisk, CONFIDENCE, WEIGHT};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to assess. Every field is optional; see [`assess_portfolio`] for which parts
/// each enables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioRiskRequest {
    /// VaR / ES confidence in (0, 1) (default 0.95).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Equity, for amounts and for weights derived from positions.
    #[serde(default)]
    pub portfolio_value: Option<f64>,
    /// The portfolio's own per-period returns (instead of per-symbol returns and weights).
    #[serde(default)]
    pub returns: Option<Vec<f64>>,
    /// Per-period simple returns per symbol, aligned.
    #[serde(default)]
    pub returns_by_symbol: Option<ReturnsBySymbol>,
    /// Weights per symbol (fractions of portfolio value); default: from positions.
    #[serde(default)]
    pub weights: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub positions: Option<Vec<Position>>,
    /// Portfolio value over time, oldest first, for drawdowns.
    #[serde(default)]
    pub equity_curve: Option<Vec<f64>>,
    /// Periods per year of the returns, for annualised volatility.
    #[serde(default)]
    pub periods_per_year: Option<f64>,
    /// Adds Monte Carlo VaR / ES.
    #[serde(default)]
    pub monte_carlo: Option<MonteCarloSpec>,
}

/// Monte Carlo size and seed (journaled by the caller, so the answer replays exactly).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonteCarloSpec {
    /// In [100, PATHS_MAX].
    pub paths: usize,
    pub seed: u64,
}

/// The assessment; each part is `null` when its inputs were absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioRiskResponse {
    pub confidence: f64,
    pub var: Option<VarReport>,
    pub volatility: Option<Volatility>,
    pub drawdown: Option<Drawdown>,
    pub correlation: Option<CorrelationMatrix>,
    pub exposure: Option<Exposure>,
}

/// VaR / ES by method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarReport {
    /// Number of return observations behind the estimates.
    pub observations: usize,
    pub historical: TailReport,
    pub parametric: TailReport,
    pub monte_carlo: Option<TailReport>,
}

/// VaR / ES as loss fractions, and as amounts when a portfolio value was given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TailReport {
    pub var: f64,
    pub es: f64,
    pub var_amount: Option<f64>,
    pub es_amount: Option<f64>,
}

/// Standard deviation of the portfolio's returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Volatility {
    /// Sample standard deviation (n - 1) per period.
    pub per_period: f64,
    /// `per_period * sqrt(periods_per_year)`, when periods_per_year was given.
    pub annualised: Option<f64>,
}

/// Pairwise correlations of the symbols' returns (symbols in key order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationMatrix {
    pub symbols: Vec<String>,
    pub matrix: Vec<Vec<f64>>,
}

/// Assesses what the request's inputs allow:
/// - `var` and `volatility`: from `returns`, or from `returns_by_symbol` with `weights`
///   (or with `positions` and `portfolio_value`, `w_i = quantity_i * price_i / value` for
///   each open position), the portfolio return being `r_p[t] = sum_i w_i r_i[t]`; when
///   both `returns` and `returns_by_symbol` are given, `returns` is the portfolio's and
///   `returns_by_symbol` only feeds the correlation;
///   Monte Carlo only with `monte_carlo` (univariate for `returns`, multivariate via
///   Cholesky for `returns_by_symbol`).
/// - `correlation`: `returns_by_symbol` with at least 2 symbols.
/// - `drawdown`: `equity_curve`. `exposure`: `positions`.
pub fn assess_portfolio(req: &PortfolioRiskRequest) -> Result<PortfolioRiskResponse, RiskError> {
    let c = CONFIDENCE.check_or("confidence", req.confidence, CONFIDENCE_DEFAULT)?;
    let pv = req.portfolio_value.map(|v| PORTFOLIO_VALUE.check("portfolio_value", v)).transpose()?;
    let ppy = req.periods_per_year.map(|v| Interval::left_open(0.0, PERIODS_PER_YEAR_MAX).check("periods_per_year", v)).transpose()?;
    if let Some(p) = &req.positions {
        check_positions("positions", p)?;
    }
    let series = portfolio_series(req, pv)?;
    let var = series.as_ref().map(|s| var_report(s, c, pv, req.monte_carlo)).transpose()?;
    let volatility = series.as_ref().map(|s| {
        let per_period = stats::sample_std(s.returns());
        Volatility { per_period, annualised: ppy.map(|p| per_period * p.sqrt()) }
    });
    let correlation = match &req.returns_by_symbol {
        Some(map) if map.len() >= 2 => Some(correlation_matrix(map)?),
        _ => None,
    };
    Ok(PortfolioRiskResponse {
        confidence: c,
        var,
        volatility,
        drawdown: req.equity_curve.as_deref().map(drawdown).transpose()?,
        correlation,
        exposure: req.positions.as_deref().map(|p| exposure(p, pv)).transpose()?,
    })
}

/// Where the portfolio's returns come from.
enum Series {
    Direct(Vec<f64>),
    Weighted { weights: Vec<f64>, matrix: Array2<f64>, returns: Vec<f64> },
}

impl Series {
    fn returns(&self) -> &[f64] {
        match self {
            Series::Direct(r) => r,
            Series::Weighted { returns, .. } => returns,
        }
    }
}

fn portfolio_series(req: &PortfolioRiskRequest, pv: Option<f64>) -> Result<Option<Series>, RiskError> {
    if let Some(r) = &req.returns {
        if req.weights.is_some() {
            return Err(RiskError::invalid("weights", "give returns or weights (with returns_by_symbol), not both"));
        }
        super::inputs::series("returns", r, 2, super::inputs::PORTFOLIO_RETURN)?;
        return Ok(Some(Series::Direct(r.clone())));
    }
    let Some(map) = &req.returns_by_symbol else {
        if req.weights.is_some() {
            return Err(RiskError::missing("returns_by_symbol", "when weights are given"));
        }
        return Ok(None);
    };
    let weights = match (&req.weights, &req.positions, pv) {
        (Some(w), _, _) => w.clone(),
        (None, Some(p), Some(v)) => p.iter().filter(|p| p.quantity != 0.0).map(|p| (p.symbol.clone(), p.notional() / v)).collect(),
        _ => return Ok(None),
    };
    let symbols: Vec<String> = weights.keys().cloned().collect();
    if symbols.is_empty() {
        return Ok(None);
    }
    let w: Vec<f64> = symbols.iter().map(|s| weights[s]).collect();
    for (s, v) in symbols.iter().zip(&w) {
        WEIGHT.check(&format!("weights[{s:?}]"), *v)?;
    }
    let matrix = returns_matrix("returns_by_symbol", map, &symbols, 2)?;
    let returns = var::portfolio_returns(&w, &matrix)?;
    Ok(Some(Series::Weighted { weights: w, matrix, returns }))
}

fn var_report(s: &Series, c: f64, pv: Option<f64>, mc: Option<MonteCarloSpec>) -> Result<VarReport, RiskError> {
    let r = s.returns();
    let monte_carlo = match (mc, s) {
        (None, _) => None,
        (Some(m), Series::Direct(r)) => Some(var::monte_carlo_var(r, c, m.paths, &mut seeded_rng(m.seed))?),
        (Some(m), Series::Weighted { weights, matrix, .. }) => {
            Some(var::monte_carlo_portfolio_var(weights, matrix, c, m.paths, &mut seeded_rng(m.seed))?)
        }
    };
    let report = |t: TailRisk| TailReport { var: t.var, es: t.es, var_amount: pv.map(|v| t.var * v), es_amount: pv.map(|v| t.es * v) };
    Ok(VarReport {
        observations: r.len(),
        historical: report(var::historical_var(r, c)?),
        parametric: report(var::parametric_var(r, c)?),
        monte_carlo: monte_carlo.map(report),
    })
}

/// Correlation of all symbols' returns (see [`stats::correlation`]).
pub fn correlation_matrix(map: &ReturnsBySymbol) -> Result<CorrelationMatrix, RiskError> {
    let symbols: Vec<String> = map.keys().cloned().collect();
    super::check::symbols("returns_by_symbol", symbols.iter().map(String::as_str))?;
    let m = returns_matrix("returns_by_symbol", map, &symbols, 2)?;
    let r = stats::correlation(&stats::covariance(&m));
    Ok(CorrelationMatrix { symbols, matrix: r.rows().into_iter().map(|row| row.to_vec()).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assess(v: serde_json::Value) -> Result<PortfolioRiskResponse, RiskError> {
        assess_portfolio(&serde_json::from_value(v).expect("request parses"))
    }

    #[test]
    fn empty_request_has_only_confidence() {
        let r = assess(json!({})).unwrap();
        assert_eq!(r.confidence, 0.95);
        assert!(r.var.is_none() && r.drawdown.is_none() && r.exposure.is_none() && r.correlation.is_none());
    }

    #[test]
    fn direct_returns_give_every_method_and_amounts() {
        let r = assess(json!({"returns": [-0.05, -0.03, -0.01, 0.0, 0.01, 0.02, 0.04, -0.02, 0.03, 0.05],
            "portfolio_value": 10000, "periods_per_year": 365, "monte_carlo": {"paths": 1000, "seed": 1}}))
        .unwrap();
        let v = r.var.unwrap();
        assert!((v.historical.var - 0.041).abs() < 1e-15);
        assert!((v.historical.var_amount.unwrap() - 410.0).abs() < 1e-9);
        assert!(v.monte_carlo.is_some());
        let vol = r.volatility.unwrap();
        assert!((vol.annualised.unwrap() - vol.per_period * 365f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn weights_from_positions_and_correlation() {
        let req = json!({
            "portfolio_value": 10000,
            "positions": [{"symbol": "BTC/USDT", "quantity": 0.1, "price": 50000}],
            "returns_by_symbol": {"BTC/USDT": [0.01, -0.02, 0.03], "ETH/USDT": [0.02, -0.03, 0.05]},
            "equity_curve": [10000, 11000, 9900],
        });
        let r = assess(req).unwrap();
        // Weight 0.5 on BTC: portfolio returns are half of BTC's.
        let v = r.var.unwrap();
        let h = var::historical_var(&[0.005, -0.01, 0.015], 0.95).unwrap();
        assert!((v.historical.var - h.var).abs() < 1e-15);
        let c = r.correlation.unwrap();
        assert_eq!(c.symbols, vec!["BTC/USDT", "ETH/USDT"]);
        assert!(c.matrix[0][1] > 0.99);
        assert!((r.drawdown.unwrap().current - 0.1).abs() < 1e-12);
        assert_eq!(r.exposure.unwrap().gross, 5000.0);
    }

    #[test]
    fn inconsistent_inputs_are_errors() {
        let e = assess(json!({"weights": {"A": 1.0}})).unwrap_err();
        assert_eq!(e.to_string(), "returns_by_symbol is required when weights are given");
        let e = assess(json!({"weights": {"B": 1.0}, "returns_by_symbol": {"A": [0.1, 0.2]}})).unwrap_err();
        assert!(e.to_string().starts_with("returns_by_symbol[\"B\"] is required"), "{e}");
        assert!(serde_json::from_value::<PortfolioRiskRequest>(json!({"returnz": []})).is_err());
    }
}
