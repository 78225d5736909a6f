//! Scoring points: one engine run per point, spread over threads with
//! `std::thread::scope`, and the total order results are ranked by.
//!
//! Each point's run is independent and the engine is deterministic, so a point scores
//! the same on any thread; each thread takes the next point not yet taken (an atomic
//! counter: runs differ in length, so fixed chunks would leave cores idle), and the
//! scores are put back in input order. The points of one batch share their indicator
//! columns ([`SharedColumns`]: each SMA period computed once over the bars, not once per
//! point and bar). Ranking then sorts by (score descending,
//! parameter vector ascending) with `f64::total_cmp`: a total order, so the result does
//! not depend on the thread count.

use super::objective::Objective;
use super::space::{spec_at, ParamRange};
use crate::backtest::strategy::{build, build_shared, SharedColumns, StrategySpec};
use crate::backtest::{run, BacktestConfig, BacktestError, BacktestResult};
use std::cmp::Ordering;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use tradpal_messages::{Candle, Timeframe};

/// Most threads an optimisation uses, whatever is asked.
pub const THREADS_MAX: usize = 256;

/// What every run of one optimisation shares.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    pub config: &'a BacktestConfig,
    pub timeframe: Timeframe,
    pub symbol: &'a str,
    /// The strategy with its fixed parameters; the ranges' values are set per point.
    pub base: &'a StrategySpec,
    pub ranges: &'a [ParamRange],
    pub objective: Objective,
    /// Worker threads (1..=[`THREADS_MAX`]).
    pub threads: usize,
    /// Counts every scored point (and the best point's final runs), for a progress bar
    /// or a poll: the only shared state, and nothing reads it back here.
    pub progress: Option<&'a AtomicUsize>,
}

/// One point's score: `-inf` when its metric is undefined or its run failed (`error`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub point: Vec<f64>,
    pub score: f64,
    pub error: Option<String>,
}

impl<'a> Problem<'a> {
    /// One backtest of the strategy at `point` over `bars`.
    pub fn run_point(&self, bars: &[Candle], point: &[f64]) -> Result<BacktestResult, BacktestError> {
        let spec = spec_at(self.base, self.ranges, point);
        let mut strategy = build(&spec)?;
        run(self.config, bars, self.timeframe, self.symbol, strategy.as_mut())
    }

    /// [`Self::run_point`] under `config` with the batch's shared columns (computed over
    /// `bars`).
    fn run_shared(
        &self,
        config: &BacktestConfig,
        bars: &[Candle],
        point: &[f64],
        shared: &SharedColumns,
    ) -> Result<BacktestResult, BacktestError> {
        let spec = spec_at(self.base, self.ranges, point);
        let mut strategy = build_shared(&spec, shared)?;
        run(config, bars, self.timeframe, self.symbol, strategy.as_mut())
    }

    fn score_point(&self, config: &BacktestConfig, bars: &[Candle], point: &[f64], shared: &SharedColumns) -> Scored {
        let scored = match self.run_shared(config, bars, point, shared) {
            Ok(r) => Scored { point: point.to_vec(), score: self.objective.score(&r.metrics), error: None },
            Err(e) => Scored { point: point.to_vec(), score: f64::NEG_INFINITY, error: Some(e.to_string()) },
        };
        self.tick();
        scored
    }

    /// One more run done (see `progress`).
    pub fn tick(&self) {
        if let Some(p) = self.progress {
            p.fetch_add(1, AtomicOrdering::Relaxed);
        }
    }

    /// Scores every point over `bars`, in parallel; the result is in `points` order.
    pub fn evaluate(&self, bars: &[Candle], points: &[Vec<f64>]) -> Vec<Scored> {
        let specs: Vec<StrategySpec> = points.iter().map(|p| spec_at(self.base, self.ranges, p)).collect();
        let shared = SharedColumns::for_specs(bars, &specs);
        let threads = self.threads.clamp(1, THREADS_MAX).min(points.len().max(1));
        if threads <= 1 {
            return points.iter().map(|p| self.score_point(self.config, bars, p, &shared)).collect();
        }
        // Runs side by side fill the cores: no helper threads of their own.
        let config = &BacktestConfig { helper_threads: false, ..self.config.clone() };
        let next = AtomicUsize::new(0);
        let worker = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some(p) = points.get(i) else { return done };
                done.push((i, self.score_point(config, bars, p, &shared)));
            }
        };
        let mut scored: Vec<(usize, Scored)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        });
        scored.sort_by_key(|(i, _)| *i);
        scored.into_iter().map(|(_, s)| s).collect()
    }
}

/// The ranking order: score descending, then the parameter vector ascending.
pub fn rank_order(a: &Scored, b: &Scored) -> Ordering {
    b.score.total_cmp(&a.score).then_with(|| cmp_points(&a.point, &b.point))
}

/// Lexicographic `total_cmp` on two parameter vectors.
pub fn cmp_points(a: &[f64], b: &[f64]) -> Ordering {
    a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// Sorts `scored` into the ranking order.
pub fn rank(scored: &mut [Scored]) {
    scored.sort_by(rank_order);
}

/// The threads to use by default: every core the OS reports (1 if it cannot tell).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(THREADS_MAX)
}
