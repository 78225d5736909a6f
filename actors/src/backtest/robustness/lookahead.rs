//! The look-ahead check: does a strategy's signal at bar `k` change when the bars after
//! `k` do not exist? (Pure, seeded.)
//!
//! [`BarContext`](super::super::strategy::BarContext) already cuts the slice a strategy
//! sees at the current bar, so a strategy cannot peek through it. The check is for what
//! the type cannot stop: a strategy built *from the data set* (the classic bug: an
//! indicator or a normalisation precomputed over the whole series in a constructor),
//! one that reads other data it was handed, or one that keeps state between runs. It
//! treats the strategy as a black box built by a factory that is handed the bars of the
//! run about to happen.
//!
//! # How
//!
//! 1. One full engine run over all `n` bars, recording the signal at each sampled bar.
//! 2. `checks` bar indices `k`, sampled without replacement from `0..n-1` with a
//!    [`ChaCha8Rng`] seeded from `seed` (every index when `checks >= n - 1`).
//! 3. For each `k`, a fresh strategy from the factory, handed `bars[..=k]`, run through
//!    the engine on `bars[..=k]`; its signal at `k` is compared with the full run's.
//!    The engine is causal (fills, equity and position at `k` depend on bars up to `k`
//!    only), so the two runs hand the strategy identical contexts: any difference is
//!    the strategy's doing. Every difference is reported.
//!
//! Signals are compared exactly (`Hold` vs `Target(x)`, and `x` by value): a strategy
//! that is causal gives the same bits on the same inputs.
//!
//! # Cost
//!
//! One full run plus `checks` prefix runs: `n + sum(k + 1)` bar steps, about
//! `n * (1 + checks / 2)`. `checks` is at most [`LOOKAHEAD_CHECKS_MAX`]; when
//! `checks * n` exceeds [`LOOKAHEAD_BAR_STEPS_MAX`] the check runs fewer (at least one)
//! and says so in [`LookaheadReport::checks_capped`].

use super::super::config::BacktestConfig;
use super::super::engine::run;
use super::super::error::BacktestError;
use super::super::strategy::{BarContext, Signal, Strategy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, Timeframe, Timestamp};

/// Most truncation points one check may ask for.
pub const LOOKAHEAD_CHECKS_MAX: usize = 200;
/// Most `checks * bars` a check may cost; more bars mean fewer checks.
pub const LOOKAHEAD_BAR_STEPS_MAX: usize = 20_000_000;
/// Most mismatches listed (all are counted).
pub const LOOKAHEAD_MISMATCHES_MAX: usize = 100;

/// Builds a fresh strategy for a run over the given bars.
pub type StrategyFactory<'a> = dyn Fn(&[Candle]) -> Result<Box<dyn Strategy>, String> + 'a;

/// A signal as reported: `null` for [`Signal::Hold`], else the target fraction.
pub type SignalView = Option<f64>;

fn view(s: Signal) -> SignalView {
    match s {
        Signal::Hold => None,
        Signal::Target(x) => Some(x),
    }
}

/// One bar where the truncated run decided differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    pub index: usize,
    /// Open time of the bar.
    pub time: Timestamp,
    /// The signal at `index` on the full series (`null` = hold).
    pub full: SignalView,
    /// The signal at `index` with the series cut there (`null` = hold).
    pub truncated: SignalView,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookaheadReport {
    pub bars: usize,
    pub seed: u64,
    pub checks_requested: usize,
    /// Truncation points actually run (sorted in [`LookaheadReport::checked`]).
    pub checks_run: usize,
    /// Why fewer were run than requested, if so.
    pub checks_capped: Option<String>,
    pub checked: Vec<usize>,
    /// Mismatches found (all of them, even beyond the listed ones).
    pub mismatches_total: usize,
    /// The first [`LOOKAHEAD_MISMATCHES_MAX`] mismatches, by bar index.
    pub mismatches: Vec<Mismatch>,
    /// `true` when no checked bar changed its signal.
    pub passed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LookaheadError {
    #[error("lookahead checks must be in 1..={max} (LOOKAHEAD_CHECKS_MAX), got {checks}")]
    Checks { checks: usize, max: usize },
    #[error("lookahead: {bars} bar(s): a check needs at least 2 (a bar to cut at and one after it)")]
    TooFewBars { bars: usize },
    #[error("lookahead: the strategy cannot be built: {0}")]
    Build(String),
    #[error("lookahead: the full run failed: {0}")]
    Run(#[from] BacktestError),
    #[error("lookahead: the strategy gave no signal at bar {index} of the {what} run")]
    NoSignal { index: usize, what: &'static str },
}

/// Wraps a strategy and keeps its signal at the wanted (sorted) indices.
struct Recorder<'w> {
    inner: Box<dyn Strategy>,
    wanted: &'w [usize],
    seen: Vec<(usize, Signal)>,
}

impl Strategy for Recorder<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        let s = self.inner.on_bar(ctx);
        if self.wanted.binary_search(&ctx.index()).is_ok() {
            self.seen.push((ctx.index(), s));
        }
        s
    }
}

/// Runs the check (see the module doc). `config`, `timeframe` and `symbol` are those of
/// the run being checked.
pub fn check_lookahead(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    make: &StrategyFactory,
    checks: usize,
    seed: u64,
) -> Result<LookaheadReport, LookaheadError> {
    if checks == 0 || checks > LOOKAHEAD_CHECKS_MAX {
        return Err(LookaheadError::Checks { checks, max: LOOKAHEAD_CHECKS_MAX });
    }
    let n = bars.len();
    if n < 2 {
        return Err(LookaheadError::TooFewBars { bars: n });
    }
    let affordable = (LOOKAHEAD_BAR_STEPS_MAX / n.max(1)).max(1);
    let capped = (checks > affordable)
        .then(|| format!("{checks} checks x {n} bars is more than LOOKAHEAD_BAR_STEPS_MAX = {LOOKAHEAD_BAR_STEPS_MAX}: ran {affordable}"));
    let points = sample(n, checks.min(affordable), seed);
    let full = record(config, bars, timeframe, symbol, make, &points)?;
    if full.len() != points.len() {
        let missing = points.iter().find(|k| !full.iter().any(|(i, _)| i == *k)).copied().unwrap_or(0);
        return Err(LookaheadError::NoSignal { index: missing, what: "full" });
    }
    let mut mismatches = Vec::new();
    let mut total = 0;
    for &(k, want) in &full {
        let prefix = &bars[..=k];
        let got = record(config, prefix, timeframe, symbol, make, &[k])?;
        let Some(&(_, signal)) = got.last() else { return Err(LookaheadError::NoSignal { index: k, what: "truncated" }) };
        if !same(signal, want) {
            total += 1;
            if mismatches.len() < LOOKAHEAD_MISMATCHES_MAX {
                mismatches.push(Mismatch { index: k, time: bars[k].open_time, full: view(want), truncated: view(signal) });
            }
        }
    }
    Ok(LookaheadReport {
        bars: n,
        seed,
        checks_requested: checks,
        checks_run: points.len(),
        checks_capped: capped,
        checked: points,
        mismatches_total: total,
        mismatches,
        passed: total == 0,
    })
}

/// Bit-equal signals (a NaN target equals itself: the engine refuses it anyway).
fn same(a: Signal, b: Signal) -> bool {
    match (a, b) {
        (Signal::Hold, Signal::Hold) => true,
        (Signal::Target(x), Signal::Target(y)) => x.to_bits() == y.to_bits(),
        _ => false,
    }
}

/// `want` distinct indices of `0..n-1` (the last bar is the full run itself), sorted.
fn sample(n: usize, want: usize, seed: u64) -> Vec<usize> {
    let pool = n.saturating_sub(1);
    if want >= pool {
        return (0..pool).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = rand::seq::index::sample(&mut rng, pool, want).into_vec();
    v.sort_unstable();
    v
}

/// One engine run over `bars` with a fresh strategy; the signals at `wanted`. A run that
/// fails after the last wanted bar (in the end-of-run metrics) still gives its signals.
fn record(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    make: &StrategyFactory,
    wanted: &[usize],
) -> Result<Vec<(usize, Signal)>, LookaheadError> {
    let inner = make(bars).map_err(LookaheadError::Build)?;
    let mut rec = Recorder { inner, wanted, seen: Vec::with_capacity(wanted.len()) };
    match run(config, bars, timeframe, symbol, &mut rec) {
        Ok(_) => Ok(rec.seen),
        Err(_) if rec.seen.len() == wanted.len() => Ok(rec.seen),
        Err(e) => Err(LookaheadError::Run(e)),
    }
}
