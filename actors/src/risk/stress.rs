//! Stress tests (`GET /api/risk/stress-test`): historical scenarios and custom shocks
//! applied to the positions, Monte Carlo paths, a sensitivity grid, and the worst case
//! across all of them.
//!
//! What runs: historical scenarios (all of `HISTORICAL_SCENARIOS` unless `scenarios`
//! names some) and `custom_scenarios` always; the sensitivity grid always (its VaR column
//! when `returns_by_symbol` covers the risky positions); Monte Carlo when `monte_carlo` is
//! given (it needs `returns_by_symbol` for every non-stable position). Stablecoins are
//! held at par throughout: no scenario shock, no simulated path, no VaR.
//!
//! The worst case is the lowest P&L among scenario totals, the Monte Carlo terminal and
//! worst-along-path minima, and the sensitivity cells (`pnl_at_var`, and each row's P&L).

use super::bounds::SCENARIOS_MAX;
use super::check::{self, Interval};
use super::error::RiskError;
use super::exposure::{check_positions, Position};
use super::inputs::ReturnsBySymbol;
use super::inputs::PORTFOLIO_VALUE;
use super::scenarios::{classify, scenario, AssetClass, HISTORICAL_SCENARIOS};
use super::sensitivity::{sensitivity, SensitivityGrid, SensitivitySpec};
use super::stress_mc::{monte_carlo_stress, MonteCarloStress, StressMonteCarlo};
use super::var::CONFIDENCE;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Confidence for Monte Carlo and sensitivity VaR when the request names none: stress
/// looks further into the tail than day-to-day VaR.
pub const STRESS_CONFIDENCE_DEFAULT: f64 = 0.99;

/// What to stress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StressTestRequest {
    pub portfolio_value: f64,
    pub positions: Vec<Position>,
    /// Historical scenarios to run by name (default: all).
    #[serde(default)]
    pub scenarios: Option<Vec<String>>,
    #[serde(default)]
    pub custom_scenarios: Vec<CustomScenario>,
    /// Overrides of the asset class guessed from each symbol.
    #[serde(default)]
    pub asset_classes: BTreeMap<String, AssetClass>,
    #[serde(default)]
    pub returns_by_symbol: Option<ReturnsBySymbol>,
    #[serde(default)]
    pub monte_carlo: Option<StressMonteCarlo>,
    #[serde(default)]
    pub sensitivity: SensitivitySpec,
    /// VaR / ES confidence for Monte Carlo and sensitivity, in (0, 1) (default 0.99).
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// A caller-defined shock: a return per symbol, `default_shock` for the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomScenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Return for positions not in `shocks`, in [-1, 10] (default 0).
    #[serde(default)]
    pub default_shock: f64,
    /// Return per held symbol, each in [-1, 10].
    #[serde(default)]
    pub shocks: BTreeMap<String, f64>,
}

/// Whether a scenario came from the table or the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    Historical,
    Custom,
}

/// One scenario's P&L table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub name: String,
    pub kind: ScenarioKind,
    pub description: String,
    pub window: Option<String>,
    pub positions: Vec<PositionPnl>,
    pub total_pnl: f64,
    /// `total_pnl / portfolio_value`.
    pub total_return: f64,
}

/// One row of a scenario table: `pnl = notional * shock`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionPnl {
    pub symbol: String,
    pub asset_class: AssetClass,
    pub notional: f64,
    pub shock: f64,
    pub pnl: f64,
}

/// Which test produced the worst case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorstCaseSource {
    Historical,
    Custom,
    MonteCarlo,
    Sensitivity,
}

/// The worst P&L found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstCase {
    pub source: WorstCaseSource,
    pub name: String,
    pub pnl: f64,
    /// `pnl / portfolio_value`.
    pub pnl_fraction: f64,
}

/// Everything the stress test found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressTestResponse {
    pub portfolio_value: f64,
    pub scenarios: Vec<ScenarioResult>,
    pub monte_carlo: Option<MonteCarloStress>,
    pub sensitivity: SensitivityGrid,
    pub worst_case: WorstCase,
}

/// Runs the stress tests (module docs say which).
pub fn stress_test(req: &StressTestRequest) -> Result<StressTestResponse, RiskError> {
    let pv = PORTFOLIO_VALUE.check("portfolio_value", req.portfolio_value)?;
    let c = CONFIDENCE.check_or("confidence", req.confidence, STRESS_CONFIDENCE_DEFAULT)?;
    check_positions("positions", &req.positions)?;
    let classed = classes(req)?;
    let mut scenarios = Vec::new();
    for s in selected(req.scenarios.as_deref())? {
        let rows = apply(&classed, |_, class| s.shock(class));
        scenarios.push(result(s.name, ScenarioKind::Historical, s.description, Some(s.window), rows, pv));
    }
    check::count("custom_scenarios", req.custom_scenarios.len(), 0, "SCENARIOS_MAX", SCENARIOS_MAX)?;
    for (i, cs) in req.custom_scenarios.iter().enumerate() {
        scenarios.push(custom(i, cs, &classed, pv)?);
    }
    let monte_carlo = match (&req.monte_carlo, &req.returns_by_symbol) {
        (None, _) => None,
        (Some(spec), Some(r)) => {
            let risky: Vec<Position> = classed.iter().filter(|(_, class)| *class != AssetClass::Stable).map(|(p, _)| p.clone()).collect();
            Some(monte_carlo_stress(&risky, r, spec, c)?)
        }
        (Some(_), None) => return Err(RiskError::missing("returns_by_symbol", "when monte_carlo is given")),
    };
    let grid = sensitivity(&classed, req.returns_by_symbol.as_ref(), &req.sensitivity, pv, c)?;
    let worst_case = worst(&scenarios, monte_carlo.as_ref(), &grid, pv);
    Ok(StressTestResponse { portfolio_value: pv, scenarios, monte_carlo, sensitivity: grid, worst_case })
}

/// Each position with its class: `asset_classes` override, else [`classify`].
fn classes(req: &StressTestRequest) -> Result<Vec<(Position, AssetClass)>, RiskError> {
    for s in req.asset_classes.keys() {
        if !req.positions.iter().any(|p| &p.symbol == s) {
            return Err(RiskError::invalid(format!("asset_classes[{s:?}]"), "names a symbol that is not among the positions"));
        }
    }
    Ok(req
        .positions
        .iter()
        .map(|p| (p.clone(), req.asset_classes.get(&p.symbol).copied().unwrap_or_else(|| classify(&p.symbol))))
        .collect())
}

fn selected(names: Option<&[String]>) -> Result<Vec<&'static super::scenarios::Scenario>, RiskError> {
    let Some(names) = names else { return Ok(HISTORICAL_SCENARIOS.iter().collect()) };
    check::count("scenarios", names.len(), 0, "SCENARIOS_MAX", SCENARIOS_MAX)?;
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            scenario(n).ok_or_else(|| {
                let known: Vec<&str> = HISTORICAL_SCENARIOS.iter().map(|s| s.name).collect();
                RiskError::invalid(format!("scenarios[{i}]"), format!("unknown scenario {n:?}; known: {}", known.join(", ")))
            })
        })
        .collect()
}

/// Per-position P&L `notional * shock(symbol, class)`.
fn apply(classed: &[(Position, AssetClass)], shock: impl Fn(&str, AssetClass) -> f64) -> Vec<PositionPnl> {
    classed
        .iter()
        .map(|(p, class)| {
            let s = shock(&p.symbol, *class);
            PositionPnl { symbol: p.symbol.clone(), asset_class: *class, notional: p.notional(), shock: s, pnl: p.notional() * s }
        })
        .collect()
}

fn result(name: &str, kind: ScenarioKind, desc: &str, window: Option<&str>, rows: Vec<PositionPnl>, pv: f64) -> ScenarioResult {
    let total: f64 = rows.iter().map(|r| r.pnl).sum();
    ScenarioResult {
        name: name.to_string(),
        kind,
        description: desc.to_string(),
        window: window.map(str::to_string),
        positions: rows,
        total_pnl: total,
        total_return: total / pv,
    }
}

fn custom(i: usize, cs: &CustomScenario, classed: &[(Position, AssetClass)], pv: f64) -> Result<ScenarioResult, RiskError> {
    let field = format!("custom_scenarios[{i}]");
    check::symbols(&format!("{field}.name"), [cs.name.as_str()])?;
    let range = Interval::closed(-1.0, 10.0);
    range.check(&format!("{field}.default_shock"), cs.default_shock)?;
    for (s, v) in &cs.shocks {
        range.check(&format!("{field}.shocks[{s:?}]"), *v)?;
        if !classed.iter().any(|(p, _)| &p.symbol == s) {
            return Err(RiskError::invalid(format!("{field}.shocks[{s:?}]"), "names a symbol that is not among the positions"));
        }
    }
    let rows = apply(classed, |s, _| cs.shocks.get(s).copied().unwrap_or(cs.default_shock));
    let desc = cs.description.clone().unwrap_or_else(|| "custom scenario".to_string());
    Ok(result(&cs.name, ScenarioKind::Custom, &desc, None, rows, pv))
}

/// The lowest P&L among all candidates (module docs); the first found wins ties.
fn worst(scenarios: &[ScenarioResult], mc: Option<&MonteCarloStress>, grid: &SensitivityGrid, pv: f64) -> WorstCase {
    let mut cands: Vec<(WorstCaseSource, String, f64)> = Vec::new();
    for s in scenarios {
        let source = match s.kind {
            ScenarioKind::Historical => WorstCaseSource::Historical,
            ScenarioKind::Custom => WorstCaseSource::Custom,
        };
        cands.push((source, s.name.clone(), s.total_pnl));
    }
    if let Some(m) = mc {
        let tag = format!("{} paths x {} steps, seed {}", m.paths, m.horizon, m.seed);
        cands.push((WorstCaseSource::MonteCarlo, format!("worst terminal P&L ({tag})"), m.terminal.worst));
        cands.push((WorstCaseSource::MonteCarlo, format!("worst P&L along a path ({tag})"), m.worst_along_path.worst));
    }
    for row in &grid.rows {
        let name = |k: Option<f64>| match k {
            Some(k) => format!("price move {:+} with VaR at {}x volatility", row.price_move, k),
            None => format!("price move {:+}", row.price_move),
        };
        cands.push((WorstCaseSource::Sensitivity, name(None), row.pnl));
        for c in &row.cells {
            cands.push((WorstCaseSource::Sensitivity, name(Some(c.vol_multiplier)), c.pnl_at_var));
        }
    }
    let (source, name, pnl) = cands.into_iter().reduce(|a, b| if b.2 < a.2 { b } else { a }).unwrap_or((
        WorstCaseSource::Sensitivity,
        "no positions".to_string(),
        0.0,
    ));
    WorstCase { source, name, pnl, pnl_fraction: pnl / pv }
}

#[cfg(test)]
#[path = "stress_tests.rs"]
mod tests;
