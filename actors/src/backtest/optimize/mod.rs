//! Parameter optimisation: the strategy's parameters searched over declared ranges for
//! the best score of one metric, on in-sample bars only, then checked once on the
//! held-out bars.
//!
//! [`optimize`] splits the bars at `floor(n * train_fraction)`: the first part is
//! in-sample (IS), the rest out-of-sample (OOS). Every trial runs the engine on the IS
//! bars only; the best point (the first in the ranking order) then runs once, fresh, on
//! the OOS bars (its indicators warm up there: the OOS run never sees an IS bar). The
//! report gives both scores and the gap `IS - OOS`, with the top-k table of IS trials.
//!
//! Methods: `grid` (every point of the ranges' cartesian product, at most
//! [`space::GRID_POINTS_MAX`]) and `tpe` (a seeded Tree-structured Parzen Estimator,
//! `tpe.rs`). Trials run on every core ([`eval`]); the ranking order is total, so the
//! result is the same for any thread count. Pure: no I/O, no clock, no tokio.
//!
//! # Layout
//!
//! - `mod.rs`: [`OptimizeSpec`], [`Method`], [`optimize`], the report types.
//! - `space.rs`: [`ParamRange`] (and its `--range` syntax), the checks, the grid.
//! - `objective.rs`: [`Objective`], the metrics that can be maximised.
//! - `eval.rs`: one run per point, in parallel (`std::thread::scope`), the ranking order.
//! - `tpe.rs`: the TPE sampler and its documented simplifications.
//! - `error.rs`: [`OptimizeError`].
//! - `tests.rs` (tests only).

pub mod error;
pub mod eval;
pub mod objective;
pub mod space;
pub mod tpe;

#[cfg(test)]
mod tests;

pub use error::OptimizeError;
pub use eval::{default_threads, Problem, Scored, THREADS_MAX};
pub use objective::{Objective, OBJECTIVES, OBJECTIVE_DEFAULT};
pub use space::{ParamRange, GRID_POINTS_MAX};
pub use tpe::TPE_STARTUP_DEFAULT;

use super::metrics::Metrics;
use super::strategy::StrategySpec;
use super::BacktestConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use tradpal_messages::{Candle, Timeframe, Timestamp};

/// Most trials a TPE search may ask for.
pub const TRIALS_MAX: usize = 10_000;
/// TPE trials unless told otherwise.
pub const TRIALS_DEFAULT: usize = 100;
/// The in-sample share of the bars unless told otherwise.
pub const TRAIN_FRACTION_DEFAULT: f64 = 0.7;
/// Rows in the report's top table unless told otherwise.
pub const TOP_K_DEFAULT: usize = 10;
/// Fewest bars an in-sample or out-of-sample segment (or a walk-forward window) may have:
/// the metrics need two equity points for a return.
pub const SEGMENT_BARS_MIN: usize = 2;

/// How points are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "name")]
pub enum Method {
    /// Every point of the grid.
    Grid,
    /// `trials` points, the first `startup` uniform (see `tpe.rs`).
    Tpe { trials: usize, startup: usize },
}

impl Method {
    /// `grid` or `tpe` (with `trials`, and the default startup capped at `trials`).
    pub fn parse(name: &str, trials: usize) -> Result<Method, OptimizeError> {
        match name {
            "grid" => Ok(Method::Grid),
            "tpe" => Ok(Method::Tpe { trials, startup: TPE_STARTUP_DEFAULT.min(trials) }),
            other => Err(OptimizeError::UnknownMethod(other.to_string())),
        }
    }
}

/// One optimisation's settings.
#[derive(Debug, Clone)]
pub struct OptimizeSpec {
    /// The strategy and its fixed parameters (a range may not also be fixed here).
    pub strategy: StrategySpec,
    pub ranges: Vec<ParamRange>,
    pub method: Method,
    /// A name of [`OBJECTIVES`].
    pub objective: String,
    /// Seeds the TPE sampler (the engine's ids use the config's own seed).
    pub seed: u64,
    /// Worker threads; 0 means every core.
    pub threads: usize,
    pub top_k: usize,
    /// In-sample share of the bars, in (0, 1) (not used by walk-forward).
    pub train_fraction: f64,
}

impl OptimizeSpec {
    pub fn new(strategy: StrategySpec, ranges: Vec<ParamRange>, method: Method) -> Self {
        OptimizeSpec {
            strategy,
            ranges,
            method,
            objective: OBJECTIVE_DEFAULT.into(),
            seed: 0,
            threads: 0,
            top_k: TOP_K_DEFAULT,
            train_fraction: TRAIN_FRACTION_DEFAULT,
        }
    }

    /// Checks everything but the bars; the objective parsed.
    pub fn check(&self) -> Result<Objective, OptimizeError> {
        space::check(&self.strategy, &self.ranges)?;
        let objective = Objective::parse(&self.objective)?;
        if let Method::Tpe { trials, .. } = self.method {
            if !(1..=TRIALS_MAX).contains(&trials) {
                return Err(OptimizeError::BadTrials { trials, max: TRIALS_MAX });
            }
        }
        if self.method == Method::Grid {
            space::grid(&self.ranges, GRID_POINTS_MAX)?;
        }
        let f = self.train_fraction;
        if !(f > 0.0 && f < 1.0) {
            return Err(OptimizeError::BadTrainFraction(f));
        }
        Ok(objective)
    }

    /// The run-wide settings of every trial.
    pub fn problem<'a>(&'a self, config: &'a BacktestConfig, timeframe: Timeframe, symbol: &'a str, objective: Objective) -> Problem<'a> {
        Problem {
            config,
            timeframe,
            symbol,
            base: &self.strategy,
            ranges: &self.ranges,
            objective,
            threads: self.threads_used(),
            progress: None,
        }
    }

    /// Engine runs [`optimize`] makes: the points it scores (at most; TPE stops early
    /// when a finite space runs out) plus the best point's two final runs. What a
    /// progress counter counts up to.
    pub fn runs_planned(&self) -> usize {
        let points = match self.method {
            Method::Grid => space::grid(&self.ranges, GRID_POINTS_MAX).map_or(0, |g| g.len()),
            Method::Tpe { trials, .. } => trials,
        };
        points + 2
    }

    /// The worker threads trials run on: `threads`, or every core for 0.
    pub fn threads_used(&self) -> usize {
        if self.threads == 0 {
            default_threads()
        } else {
            self.threads.min(THREADS_MAX)
        }
    }
}

/// Every point scored over `bars` by the spec's method, ranked (best first). Fails
/// only when no point ran at all.
pub fn search(spec: &OptimizeSpec, problem: &Problem, bars: &[Candle]) -> Result<Vec<Scored>, OptimizeError> {
    let mut scored = match spec.method {
        Method::Grid => problem.evaluate(bars, &space::grid(&spec.ranges, GRID_POINTS_MAX)?),
        Method::Tpe { trials, startup } => tpe::search(problem, bars, trials, startup, spec.seed),
    };
    eval::rank(&mut scored);
    match scored.first() {
        Some(best) if best.error.is_none() => Ok(scored),
        first => Err(OptimizeError::NoTrialRan {
            params: first.map(|s| describe(&spec.ranges, &s.point)).unwrap_or_default(),
            error: first.and_then(|s| s.error.clone()).unwrap_or_else(|| "no points".into()),
        }),
    }
}

/// A contiguous run of bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Index of its first bar in the input.
    pub first_bar: usize,
    pub bars: usize,
    /// Open time of its first bar.
    pub start: Timestamp,
    /// Open time of its last bar.
    pub end: Timestamp,
}

impl Segment {
    pub fn of(bars: &[Candle], first_bar: usize, len: usize) -> Segment {
        Segment { first_bar, bars: len, start: bars[first_bar].open_time, end: bars[first_bar + len - 1].open_time }
    }
}

/// One row of the top table: in-sample score (`None` when undefined or failed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    #[serde(serialize_with = "crate::strategy::ser_params")]
    pub params: BTreeMap<String, f64>,
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What [`optimize`] found. Scores are the objective's values; `None` is undefined.
#[derive(Debug, Clone, Serialize)]
pub struct OptimizeReport {
    pub strategy: String,
    pub method: Method,
    pub objective: String,
    pub train_fraction: f64,
    pub in_sample: Segment,
    pub out_of_sample: Segment,
    /// Points scored, and how many of them failed to run (scored `-inf`).
    pub trials: usize,
    pub failed_trials: usize,
    /// The best point's full parameters (fixed ones included); whole values as integers.
    #[serde(serialize_with = "crate::strategy::ser_params")]
    pub best_params: BTreeMap<String, f64>,
    pub in_sample_score: Option<f64>,
    /// The best point, run once on the held-out bars.
    pub out_of_sample_score: Option<f64>,
    /// `in_sample_score - out_of_sample_score` (positive: worse out of sample).
    pub gap: Option<f64>,
    pub in_sample_metrics: Metrics,
    pub out_of_sample_metrics: Metrics,
    /// The best `top_k` in-sample trials, best first.
    pub top: Vec<Trial>,
    /// Why trials failed: the first [`FAILURES_SHOWN_MAX`] failed trials with their
    /// errors (a failed trial scores nothing and would otherwise say nothing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Trial>,
}

/// Most failed trials a report lists with their reasons.
pub const FAILURES_SHOWN_MAX: usize = 5;

/// Optimises `spec` on the first `train_fraction` of `bars`, then runs the best point
/// on the rest (see the module doc).
pub fn optimize(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    spec: &OptimizeSpec,
) -> Result<OptimizeReport, OptimizeError> {
    optimize_observed(config, bars, timeframe, symbol, spec, None)
}

/// [`optimize`], counting every engine run into `progress` (see
/// [`OptimizeSpec::runs_planned`] for the total).
pub fn optimize_observed(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    spec: &OptimizeSpec,
    progress: Option<&AtomicUsize>,
) -> Result<OptimizeReport, OptimizeError> {
    let objective = spec.check()?;
    let f = spec.train_fraction;
    let split = (bars.len() as f64 * f).floor() as usize;
    for (what, n) in [("in-sample segment", split), ("out-of-sample segment", bars.len() - split)] {
        if n < SEGMENT_BARS_MIN {
            return Err(OptimizeError::TooFewBars { what: format!("{what} ({} bars x {f})", bars.len()), bars: n, min: SEGMENT_BARS_MIN });
        }
    }
    let (is_bars, oos_bars) = bars.split_at(split);
    let problem = Problem { progress, ..spec.problem(config, timeframe, symbol, objective) };
    let ranked = search(spec, &problem, is_bars)?;
    let best = &ranked[0];
    let run = |what: &str, b: &[Candle]| {
        let r = problem.run_point(b, &best.point).map_err(|source| OptimizeError::Backtest { what: what.to_string(), source });
        problem.tick();
        r
    };
    let is_run = run("in-sample run of the best point", is_bars)?;
    let oos_run = run("out-of-sample run of the best point", oos_bars)?;
    let is_score = objective::finite(best.score);
    let oos_score = objective::finite(objective.score(&oos_run.metrics));
    Ok(OptimizeReport {
        strategy: spec.strategy.name.clone(),
        method: spec.method,
        objective: objective.name().to_string(),
        train_fraction: f,
        in_sample: Segment::of(bars, 0, split),
        out_of_sample: Segment::of(bars, split, bars.len() - split),
        trials: ranked.len(),
        failed_trials: ranked.iter().filter(|s| s.error.is_some()).count(),
        best_params: space::spec_at(&spec.strategy, &spec.ranges, &best.point).params,
        in_sample_score: is_score,
        out_of_sample_score: oos_score,
        gap: is_score.zip(oos_score).map(|(a, b)| a - b),
        in_sample_metrics: is_run.metrics,
        out_of_sample_metrics: oos_run.metrics,
        top: ranked.iter().take(spec.top_k).map(|s| trial(spec, s)).collect(),
        failures: ranked.iter().filter(|s| s.error.is_some()).take(FAILURES_SHOWN_MAX).map(|s| trial(spec, s)).collect(),
    })
}

/// A scored point as a report row.
pub fn trial(spec: &OptimizeSpec, s: &Scored) -> Trial {
    Trial {
        params: space::spec_at(&spec.strategy, &spec.ranges, &s.point).params,
        score: objective::finite(s.score),
        error: s.error.clone(),
    }
}

/// `name=value, ...` of a point.
pub fn describe(ranges: &[ParamRange], point: &[f64]) -> String {
    ranges.iter().zip(point).map(|(r, v)| format!("{}={v}", r.name)).collect::<Vec<_>>().join(", ")
}
