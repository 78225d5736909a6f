//! Walk-forward analysis: optimise on a training window, trade the best parameters on
//! the next (unseen) test window, move on, and judge the strategy by the stitched
//! out-of-sample results only.
//!
//! # Windows (`n` bars, `train_bars`, `test_bars`, `step_bars >= test_bars`)
//!
//! Window `k` (from 0) tests bars `[t_k, t_k + test_bars)` with
//! `t_k = train_bars + k * step_bars`, and trains on `[t_k - train_bars, t_k)` (rolling)
//! or `[0, t_k)` (anchored: the training window grows). Windows are made while the test
//! window fits whole (`t_k + test_bars <= n`); the bars after the last one are left
//! untested and reported as `untested_bars`. With `step_bars == test_bars` (the default)
//! the test windows tile `[train_bars, train_bars + windows * test_bars)` with neither gap
//! nor overlap; a larger step leaves gaps; a smaller one is refused (overlapping tests
//! cannot be stitched). At most [`WINDOWS_MAX`] windows.
//!
//! # Stitching
//!
//! Each test window runs fresh (flat, `starting_cash`, indicators warming up inside the
//! window), so its curve starts at `starting_cash` at its first close (nothing fills on a
//! first bar). The curve is scaled by `previous final equity / starting_cash`: each
//! window starts where the previous ended, and the stitched curve is continuous. Trades
//! are scaled alike (money fields; returns unchanged); a position still open at a
//! window's end is marked in its equity, not counted as a trade. [`metrics::compute`]
//! then runs on the stitched curve, with the test windows' closes as the benchmark.
//!
//! The report gives per window its best parameters, in-sample (training) score and
//! out-of-sample (test) score, the stitched out-of-sample metrics and score, and the
//! mean in-sample score next to them. No in-sample number is reported as out-of-sample.

use super::metrics::{self, EquityPoint, Metrics, MetricsInput, TradeRecord};
use super::optimize::{objective, search, space, Method, OptimizeError, OptimizeSpec, Segment, SEGMENT_BARS_MIN};
use super::BacktestConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use tradpal_messages::{Candle, Timeframe};

/// Most windows one walk-forward may have.
pub const WINDOWS_MAX: usize = 1_000;

/// The windows' sizes, in bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Windows {
    pub train_bars: usize,
    pub test_bars: usize,
    /// Bars between two windows' starts; `>= test_bars`.
    pub step_bars: usize,
    /// Training windows start at bar 0 and grow, instead of rolling.
    pub anchored: bool,
}

/// One window: `(train, test)` segments of the input.
pub fn windows(n: usize, w: &Windows) -> Result<Vec<(Span, Span)>, OptimizeError> {
    let bad = |why: String| OptimizeError::BadWindows(why);
    if w.train_bars < SEGMENT_BARS_MIN || w.test_bars < SEGMENT_BARS_MIN {
        return Err(bad(format!("train_bars ({}) and test_bars ({}) must be >= {SEGMENT_BARS_MIN}", w.train_bars, w.test_bars)));
    }
    if w.step_bars < w.test_bars {
        return Err(bad(format!("step_bars ({}) < test_bars ({}): test windows would overlap", w.step_bars, w.test_bars)));
    }
    let mut out = Vec::new();
    let mut t = w.train_bars;
    while t.checked_add(w.test_bars).is_some_and(|end| end <= n) {
        if out.len() == WINDOWS_MAX {
            return Err(bad(format!("more than {WINDOWS_MAX} windows: raise step_bars")));
        }
        let train_start = if w.anchored { 0 } else { t - w.train_bars };
        out.push(((train_start, t - train_start), (t, w.test_bars)));
        t = t.saturating_add(w.step_bars);
    }
    if out.is_empty() {
        return Err(bad(format!("{n} bars hold no window of train_bars {} + test_bars {}", w.train_bars, w.test_bars)));
    }
    Ok(out)
}

/// A segment as `(first bar, bars)`.
pub type Span = (usize, usize);

/// One window's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    pub train: Segment,
    pub test: Segment,
    #[serde(serialize_with = "crate::strategy::ser_params")]
    pub best_params: BTreeMap<String, f64>,
    /// The best score on the training bars.
    pub in_sample_score: Option<f64>,
    /// Those parameters' score on the test bars.
    pub out_of_sample_score: Option<f64>,
    pub trials: usize,
}

/// What [`walk_forward`] found.
#[derive(Debug, Clone, Serialize)]
pub struct WalkForwardReport {
    pub strategy: String,
    pub method: Method,
    pub objective: String,
    pub windows: Windows,
    pub per_window: Vec<WindowReport>,
    /// Bars after the last test window, never tested.
    pub untested_bars: usize,
    /// Mean of the windows' defined in-sample scores (`None` if none is defined).
    pub mean_in_sample_score: Option<f64>,
    /// The objective on the stitched out-of-sample curve.
    pub out_of_sample_score: Option<f64>,
    /// Every metric of the stitched out-of-sample curve.
    pub out_of_sample_metrics: Metrics,
    /// The stitched curve (one point per test bar); not serialised.
    #[serde(skip)]
    pub equity: Vec<EquityPoint>,
}

/// Engine runs a walk-forward of `windows` windows makes at most: each window's search
/// (the points [`OptimizeSpec::runs_planned`] counts, without the optimiser's two final
/// runs) plus its test run. What a progress counter counts up to.
pub fn runs_planned(spec: &OptimizeSpec, windows: usize) -> usize {
    windows.saturating_mul(spec.runs_planned().saturating_sub(2) + 1)
}

/// Runs the walk-forward (see the module doc). `spec.train_fraction` is not used: each
/// training window is wholly in-sample.
pub fn walk_forward(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    spec: &OptimizeSpec,
    w: &Windows,
) -> Result<WalkForwardReport, OptimizeError> {
    walk_forward_observed(config, bars, timeframe, symbol, spec, w, None)
}

/// [`walk_forward`], counting every engine run into `progress` (see [`runs_planned`]
/// for the total): the HTTP job's progress.
pub fn walk_forward_observed(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    spec: &OptimizeSpec,
    w: &Windows,
    progress: Option<&AtomicUsize>,
) -> Result<WalkForwardReport, OptimizeError> {
    let objective = spec.check()?;
    let plan = windows(bars.len(), w)?;
    let problem = super::optimize::Problem { progress, ..spec.problem(config, timeframe, symbol, objective) };
    let cash = config.starting_cash.to_f64();
    let mut stitch = Stitched::default();
    let mut per_window = Vec::with_capacity(plan.len());
    for (k, ((a, an), (b, bn))) in plan.iter().copied().enumerate() {
        let ranked = search(spec, &problem, &bars[a..a + an])?;
        let best = &ranked[0];
        let test = &bars[b..b + bn];
        let r = problem
            .run_point(test, &best.point)
            .map_err(|source| OptimizeError::Backtest { what: format!("window {k}: test run"), source })?;
        problem.tick();
        per_window.push(WindowReport {
            train: Segment::of(bars, a, an),
            test: Segment::of(bars, b, bn),
            best_params: space::spec_at(&spec.strategy, &spec.ranges, &best.point).params,
            in_sample_score: objective::finite(best.score),
            out_of_sample_score: objective::finite(objective.score(&r.metrics)),
            trials: ranked.len(),
        });
        stitch.append(&r, test, cash);
    }
    let input = MetricsInput {
        equity: &stitch.equity,
        trades: &stitch.trades,
        benchmark: Some(&stitch.closes),
        bar_interval_ns: timeframe.nanos(),
        risk_free_rate: config.risk_free_rate,
        calendar: config.calendar,
        exposure_bars: stitch.exposure_bars,
    };
    let m = metrics::compute(&input)
        .map_err(|e| OptimizeError::Backtest { what: "stitched out-of-sample metrics".into(), source: e.into() })?;
    let is: Vec<f64> = per_window.iter().filter_map(|p| p.in_sample_score).collect();
    let last_tested = plan.last().map_or(0, |(_, (b, bn))| b + bn);
    Ok(WalkForwardReport {
        strategy: spec.strategy.name.clone(),
        method: spec.method,
        objective: objective.name().to_string(),
        windows: *w,
        per_window,
        untested_bars: bars.len() - last_tested,
        mean_in_sample_score: (!is.is_empty()).then(|| is.iter().sum::<f64>() / is.len() as f64),
        out_of_sample_score: objective::finite(objective.score(&m)),
        out_of_sample_metrics: m,
        equity: stitch.equity,
    })
}

/// The out-of-sample curve, trades and benchmark built window by window.
#[derive(Default)]
struct Stitched {
    equity: Vec<EquityPoint>,
    trades: Vec<TradeRecord>,
    closes: Vec<f64>,
    exposure_bars: usize,
}

impl Stitched {
    /// Appends one test run, scaled so it starts at the previous final equity.
    fn append(&mut self, r: &super::BacktestResult, test: &[Candle], cash: f64) {
        let start = self.equity.last().map_or(cash, |p| p.equity);
        let s = start / cash;
        self.equity.extend(r.equity.iter().map(|p| EquityPoint { time: p.time, equity: p.equity * s }));
        self.trades.extend(r.trades.iter().map(|t| TradeRecord {
            quantity: t.quantity * s,
            pnl: t.pnl * s,
            fees: t.fees * s,
            ..t.clone()
        }));
        self.closes.extend(test.iter().map(|b| b.close));
        self.exposure_bars += (r.metrics.exposure_time * r.metrics.bars as f64).round() as usize;
    }
}
