//! [`OptimizeError`]: why an optimisation or walk-forward could not run. Each message
//! names the input to fix.

use crate::backtest::BacktestError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizeError {
    #[error("unknown strategy {name:?}; known: {known}")]
    UnknownStrategy { name: String, known: String },
    #[error("strategy {strategy} has no parameter {param:?}; its parameters: {known}")]
    UnknownParam { strategy: String, param: String, known: String },
    #[error("no parameter ranges: give at least one (e.g. fast=5:30:5)")]
    NoRanges,
    #[error("range {0:?} is not name=min:max, name=min:max:step or name=min:max:log")]
    RangeSyntax(String),
    #[error("range {name}: empty (min {min} > max {max})")]
    EmptyRange { name: String, min: f64, max: f64 },
    #[error("range {name}: step must be a finite number > 0, got {step}")]
    BadStep { name: String, step: f64 },
    #[error("range {name}: {why}")]
    BadRange { name: String, why: String },
    #[error("range {name}: the grid needs a linear step (name=min:max:step); log or continuous ranges are for --method tpe")]
    GridNeedsStep { name: String },
    #[error("the grid has {points} points, more than the limit of {max}: widen the steps or use --method tpe")]
    TooManyPoints { points: usize, max: usize },
    #[error("unknown objective {name:?}; choices: {known}")]
    UnknownObjective { name: String, known: String },
    #[error("unknown method {0:?}; choices: grid, tpe")]
    UnknownMethod(String),
    #[error("trials must be in 1..={max}, got {trials}")]
    BadTrials { trials: usize, max: usize },
    #[error("train fraction must be in (0, 1), got {0}")]
    BadTrainFraction(f64),
    #[error("{what}: {bars} bars, need at least {min}")]
    TooFewBars { what: String, bars: usize, min: usize },
    #[error("walk-forward: {0}")]
    BadWindows(String),
    #[error("no trial ran: every point failed; the first ({params}): {error}")]
    NoTrialRan { params: String, error: String },
    #[error("{what}: {source}")]
    Backtest { what: String, source: BacktestError },
}
