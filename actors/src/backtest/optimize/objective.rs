//! [`Objective`]: the metric an optimisation maximises, by its name in [`Metrics`].

use super::error::OptimizeError;
use crate::backtest::metrics::Metrics;

type Read = fn(&Metrics) -> Option<f64>;

/// Every objective: its name and how it reads a report. `max_drawdown` is negated (a
/// smaller drawdown scores higher); every other one is maximised as reported.
pub const OBJECTIVES: &[(&str, Read)] = &[
    ("sharpe_ratio", |m| m.sharpe_ratio),
    ("sortino_ratio", |m| m.sortino_ratio),
    ("total_return", |m| Some(m.total_return)),
    ("cagr", |m| m.cagr),
    ("calmar_ratio", |m| m.calmar_ratio),
    ("profit_factor", |m| m.trade_stats.profit_factor),
    ("max_drawdown", |m| Some(-m.max_drawdown)),
    ("win_rate", |m| m.trade_stats.win_rate),
    ("expectancy", |m| m.trade_stats.expectancy),
    ("sqn", |m| m.trade_stats.sqn),
    ("alpha", |m| m.alpha),
    ("probabilistic_sharpe_ratio", |m| m.probabilistic_sharpe_ratio),
];

/// The default objective.
pub const OBJECTIVE_DEFAULT: &str = "sharpe_ratio";

/// A metric to maximise. [`Objective::score`] of a report whose metric is `None`
/// (undefined, e.g. Sharpe with zero volatility) or not finite is `-inf`: it ranks last.
#[derive(Clone, Copy)]
pub struct Objective {
    name: &'static str,
    read: Read,
}

impl std::fmt::Debug for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objective({})", self.name)
    }
}

impl Objective {
    /// By name; an unknown name is refused with the list of choices.
    pub fn parse(name: &str) -> Result<Objective, OptimizeError> {
        match OBJECTIVES.iter().find(|(n, _)| *n == name) {
            Some((n, read)) => Ok(Objective { name: n, read: *read }),
            None => Err(OptimizeError::UnknownObjective { name: name.to_string(), known: names() }),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The score of a report: higher is better; `-inf` when undefined.
    pub fn score(&self, m: &Metrics) -> f64 {
        match (self.read)(m) {
            Some(x) if x.is_finite() => x,
            _ => f64::NEG_INFINITY,
        }
    }
}

/// Every objective name, comma separated.
pub fn names() -> String {
    OBJECTIVES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// A score for a report: `None` for `-inf` (JSON has no infinity).
pub fn finite(score: f64) -> Option<f64> {
    score.is_finite().then_some(score)
}
