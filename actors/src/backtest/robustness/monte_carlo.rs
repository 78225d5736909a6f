//! Monte Carlo resampling of a run's trade sequence: how much of the result was the
//! order (and the draw) of the trades (pure, seeded).
//!
//! # The model
//!
//! Each closed trade becomes a return on the equity it was taken with:
//! `r_i = pnl_i / E_{i-1}`, `E_0 = starting equity`, `E_i = E_{i-1} + pnl_i`. Strategies
//! size as a fraction of equity, so a resampled path compounds these returns
//! (`e_i = e_{i-1} (1 + r_i)`, from 1) rather than adding fixed money amounts; replayed
//! in the original order the path ends exactly at the original closed-trade equity.
//! Drawdowns are measured on that path (equity at each trade exit), so the original
//! run's value reported here is its trade-level drawdown, which can be smaller than the
//! bar-level `metrics.max_drawdown` (it does not see moves inside a trade).
//!
//! # Resampling methods
//!
//! - [`Resampling::Bootstrap`] (the default): each run draws `n` trades with replacement.
//!   Both the final return and the drawdown vary: it treats the trades as a sample of the
//!   strategy's edge and asks what else that edge could have produced. This is the one
//!   picked by default because it answers both questions the report asks.
//! - [`Resampling::Permutation`]: each run shuffles the same `n` trades. A product does
//!   not depend on the order, so the final return is the original's in every run (it is
//!   reported as exactly that, not recomputed with rounding noise): only the drawdown
//!   varies. Use it to ask "same trades, other order: how deep could it have gone?".
//!
//! Each run's RNG is one [`ChaCha8Rng`] seeded from `seed`, drawn in run order: the
//! same trades, method, runs and seed give the same report, bit for bit. Cost:
//! `runs * trades` steps, bounded by [`MONTE_CARLO_RUNS_MAX`], [`MONTE_CARLO_TRADES_MAX`]
//! and [`MONTE_CARLO_STEPS_MAX`].

use super::super::metrics::TradeRecord;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Most resampled runs one report may ask for.
pub const MONTE_CARLO_RUNS_MAX: usize = 10_000;
/// Most trades resampled (a longer trade list is refused, not cut).
pub const MONTE_CARLO_TRADES_MAX: usize = 200_000;
/// Most `runs * trades` steps (about 0.5 s in a release build: `benches/robustness.rs`).
pub const MONTE_CARLO_STEPS_MAX: usize = 50_000_000;
/// Fewest trades that give a distribution (with one, every bootstrap run is the same).
pub const MONTE_CARLO_TRADES_MIN: usize = 2;

/// How runs are drawn (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resampling {
    #[default]
    Bootstrap,
    Permutation,
}

/// A resampling method that is neither `bootstrap` nor `permutation`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown resampling {0:?}: expected bootstrap or permutation")]
pub struct UnknownResampling(pub String);

impl std::str::FromStr for Resampling {
    type Err = UnknownResampling;
    fn from_str(s: &str) -> Result<Self, UnknownResampling> {
        match s {
            "bootstrap" => Ok(Resampling::Bootstrap),
            "permutation" => Ok(Resampling::Permutation),
            other => Err(UnknownResampling(other.to_string())),
        }
    }
}

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonteCarloSpec {
    /// 1..=[`MONTE_CARLO_RUNS_MAX`].
    pub runs: usize,
    pub seed: u64,
    pub method: Resampling,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MonteCarloError {
    #[error("monte carlo runs must be in 1..={max} (MONTE_CARLO_RUNS_MAX), got {runs}")]
    Runs { runs: usize, max: usize },
    #[error("monte carlo: {trades} trades is more than {max} (MONTE_CARLO_TRADES_MAX)")]
    Trades { trades: usize, max: usize },
    #[error("monte carlo: {runs} runs x {trades} trades is more than {max} steps (MONTE_CARLO_STEPS_MAX): ask for fewer runs")]
    Steps { runs: usize, trades: usize, max: usize },
    #[error("monte carlo: starting equity must be finite and > 0, got {0}")]
    StartingEquity(f64),
    #[error("monte carlo: trade {index} has a non-finite P&L")]
    NonFinite { index: usize },
    #[error("monte carlo: the equity before trade {index} is {equity} (<= 0): no return can be taken on it")]
    EquityGone { index: usize, equity: f64 },
}

/// Percentiles (linear between the nearest ranks) and the extremes of one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub min: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
}

/// The original order's values and where they rank among the runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Original {
    /// Trade-level (see the module doc), a fraction: 0.25 = 25% below the peak.
    pub max_drawdown: f64,
    /// `closed-trade equity / starting equity - 1`.
    pub final_return: f64,
    /// Mid-rank in [0, 1]: `(runs below + runs equal / 2) / runs`. 0.9 = deeper than 90%
    /// of the resampled runs (the order was unlucky).
    pub max_drawdown_rank: f64,
    /// Same for the final return; 0.5 for every permutation run (all equal).
    pub final_return_rank: f64,
}

/// A finished Monte Carlo analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonteCarloReport {
    pub method: Resampling,
    pub runs: usize,
    pub seed: u64,
    pub trades: usize,
    pub max_drawdown: Distribution,
    pub final_return: Distribution,
    /// Fraction of runs ending below the starting equity.
    pub probability_of_loss: f64,
    pub original: Original,
}

/// The answer: a report, or why there is none (not an error: a run may have no trades).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MonteCarlo {
    Completed(MonteCarloReport),
    NotEnoughTrades { trades: usize, trades_min: usize, message: String },
}

/// Resamples `trades` (closed round trips, in the order they closed) `spec.runs` times.
pub fn monte_carlo(trades: &[TradeRecord], starting_equity: f64, spec: &MonteCarloSpec) -> Result<MonteCarlo, MonteCarloError> {
    let n = trades.len();
    if spec.runs == 0 || spec.runs > MONTE_CARLO_RUNS_MAX {
        return Err(MonteCarloError::Runs { runs: spec.runs, max: MONTE_CARLO_RUNS_MAX });
    }
    if n > MONTE_CARLO_TRADES_MAX {
        return Err(MonteCarloError::Trades { trades: n, max: MONTE_CARLO_TRADES_MAX });
    }
    if spec.runs.saturating_mul(n) > MONTE_CARLO_STEPS_MAX {
        return Err(MonteCarloError::Steps { runs: spec.runs, trades: n, max: MONTE_CARLO_STEPS_MAX });
    }
    if n < MONTE_CARLO_TRADES_MIN {
        let message = format!("{n} closed trade(s): a Monte Carlo distribution needs at least {MONTE_CARLO_TRADES_MIN}");
        return Ok(MonteCarlo::NotEnoughTrades { trades: n, trades_min: MONTE_CARLO_TRADES_MIN, message });
    }
    let returns = trade_returns(trades, starting_equity)?;
    let (orig_dd, orig_final) = path(returns.iter().copied());
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let (mut dds, mut finals) = (Vec::with_capacity(spec.runs), Vec::with_capacity(spec.runs));
    let mut order = returns.clone();
    for _ in 0..spec.runs {
        let (dd, fin) = match spec.method {
            Resampling::Bootstrap => path((0..n).map(|_| returns[rng.random_range(0..n)])),
            Resampling::Permutation => {
                order.shuffle(&mut rng);
                (path(order.iter().copied()).0, orig_final)
            }
        };
        dds.push(dd);
        finals.push(fin);
    }
    let original = Original {
        max_drawdown: orig_dd,
        final_return: orig_final,
        max_drawdown_rank: mid_rank(&dds, orig_dd),
        final_return_rank: mid_rank(&finals, orig_final),
    };
    let probability_of_loss = finals.iter().filter(|f| **f < 0.0).count() as f64 / spec.runs as f64;
    Ok(MonteCarlo::Completed(MonteCarloReport {
        method: spec.method,
        runs: spec.runs,
        seed: spec.seed,
        trades: n,
        max_drawdown: distribution(dds),
        final_return: distribution(finals),
        probability_of_loss,
        original,
    }))
}

/// `r_i = pnl_i / E_{i-1}` (see the module doc).
fn trade_returns(trades: &[TradeRecord], starting_equity: f64) -> Result<Vec<f64>, MonteCarloError> {
    if !(starting_equity.is_finite() && starting_equity > 0.0) {
        return Err(MonteCarloError::StartingEquity(starting_equity));
    }
    let mut equity = starting_equity;
    let mut out = Vec::with_capacity(trades.len());
    for (index, t) in trades.iter().enumerate() {
        if !t.pnl.is_finite() {
            return Err(MonteCarloError::NonFinite { index });
        }
        if equity <= 0.0 {
            return Err(MonteCarloError::EquityGone { index, equity });
        }
        out.push(t.pnl / equity);
        equity += t.pnl;
    }
    Ok(out)
}

/// `(max drawdown, final return)` of the compounded path from 1. A path whose equity
/// reaches 0 is ruined there: drawdown 1, final return -1.
fn path(returns: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut e, mut peak, mut dd) = (1.0f64, 1.0f64, 0.0f64);
    for r in returns {
        e *= 1.0 + r;
        if e <= 0.0 {
            return (1.0, -1.0);
        }
        peak = peak.max(e);
        dd = dd.max(1.0 - e / peak);
    }
    (dd, e - 1.0)
}

fn mid_rank(values: &[f64], x: f64) -> f64 {
    let below = values.iter().filter(|v| **v < x).count() as f64;
    let equal = values.iter().filter(|v| **v == x).count() as f64;
    (below + equal / 2.0) / values.len() as f64
}

/// Linear interpolation between the nearest ranks of a sorted, non-empty slice.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pos = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn distribution(mut v: Vec<f64>) -> Distribution {
    v.sort_by(f64::total_cmp);
    // Clamped: the mean of equal values can round one bit outside them.
    let mean = (v.iter().sum::<f64>() / v.len() as f64).clamp(v[0], v[v.len() - 1]);
    Distribution {
        min: v[0],
        p5: percentile(&v, 5.0),
        p25: percentile(&v, 25.0),
        p50: percentile(&v, 50.0),
        p75: percentile(&v, 75.0),
        p95: percentile(&v, 95.0),
        max: v[v.len() - 1],
        mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tradpal_messages::{Side, Timestamp};

    fn trades(pnls: &[f64]) -> Vec<TradeRecord> {
        pnls.iter()
            .enumerate()
            .map(|(i, p)| TradeRecord {
                symbol: "X/USDT".into(),
                side: Side::Buy,
                entry_time: Timestamp(i as i64),
                exit_time: Timestamp(i as i64 + 1),
                entry_price: 1.0,
                exit_price: 1.0,
                quantity: 1.0,
                pnl: *p,
                fees: 0.0,
                return_pct: 0.0,
                bars_held: 1,
                source: "t".into(),
            })
            .collect()
    }

    fn spec(runs: usize, seed: u64, method: Resampling) -> MonteCarloSpec {
        MonteCarloSpec { runs, seed, method }
    }

    fn report(m: MonteCarlo) -> MonteCarloReport {
        match m {
            MonteCarlo::Completed(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn original_order_reproduces_the_run() {
        // 1000 -> 1100 -> 990 -> 1089: drawdown 10%, +8.9%.
        let t = trades(&[100.0, -110.0, 99.0]);
        let r = report(monte_carlo(&t, 1000.0, &spec(500, 1, Resampling::Bootstrap)).unwrap());
        assert!((r.original.max_drawdown - 0.1).abs() < 1e-12 && (r.original.final_return - 0.089).abs() < 1e-12, "{:?}", r.original);
        let d = &r.final_return;
        assert!(d.min <= d.p5 && d.p5 <= d.p25 && d.p25 <= d.p50 && d.p50 <= d.p75 && d.p75 <= d.p95 && d.p95 <= d.max, "{d:?}");
        // Three draws of {+10%, -10%, +10%}: the all-winning draw (+33.1%) is the max.
        assert!((d.max - (1.1f64.powi(3) - 1.0)).abs() < 1e-12, "{d:?}");
        assert!(r.probability_of_loss > 0.0 && r.probability_of_loss < 1.0);
    }

    #[test]
    fn permutation_keeps_the_final_return_and_varies_the_drawdown() {
        let t = trades(&[50.0, -30.0, 20.0, -40.0, 60.0, -10.0, 25.0]);
        let r = report(monte_carlo(&t, 1000.0, &spec(300, 7, Resampling::Permutation)).unwrap());
        assert_eq!((r.final_return.min, r.final_return.max), (r.original.final_return, r.original.final_return));
        assert_eq!(r.original.final_return_rank, 0.5);
        assert!(r.max_drawdown.min < r.max_drawdown.max, "{:?}", r.max_drawdown);
        // Losses back to back (all three first) are the deepest an order can go.
        let worst = 1.0 - (1.0 - 30.0 / 1000.0 - 40.0 / 1000.0 - 10.0 / 1000.0);
        assert!(r.max_drawdown.max <= worst + 0.02, "{:?}", r.max_drawdown);
    }

    #[test]
    fn same_seed_same_report_other_seed_other_draws() {
        let t = trades(&[12.0, -8.0, 30.0, -25.0, 4.0, 9.0, -3.0, 17.0]);
        for method in [Resampling::Bootstrap, Resampling::Permutation] {
            let a = monte_carlo(&t, 500.0, &spec(200, 42, method)).unwrap();
            assert_eq!(a, monte_carlo(&t, 500.0, &spec(200, 42, method)).unwrap());
            assert_ne!(a, monte_carlo(&t, 500.0, &spec(200, 43, method)).unwrap());
        }
    }

    #[test]
    fn too_few_trades_and_bad_input() {
        for n in 0..MONTE_CARLO_TRADES_MIN {
            let m = monte_carlo(&trades(&vec![5.0; n]), 100.0, &spec(10, 0, Resampling::Bootstrap)).unwrap();
            assert!(matches!(&m, MonteCarlo::NotEnoughTrades { trades, .. } if *trades == n), "{m:?}");
            let json = serde_json::to_value(&m).unwrap();
            assert_eq!(json["status"], "not_enough_trades");
        }
        let t = trades(&[1.0, 2.0]);
        let err = |runs, eq| monte_carlo(&t, eq, &spec(runs, 0, Resampling::Bootstrap)).unwrap_err();
        assert!(matches!(err(0, 1.0), MonteCarloError::Runs { .. }));
        assert!(matches!(err(MONTE_CARLO_RUNS_MAX + 1, 1.0), MonteCarloError::Runs { .. }));
        assert!(matches!(err(10, 0.0), MonteCarloError::StartingEquity(_)));
        assert!(matches!(err(10, f64::NAN), MonteCarloError::StartingEquity(_)));
        let nan = trades(&[1.0, f64::NAN]);
        assert!(matches!(monte_carlo(&nan, 1.0, &spec(1, 0, Resampling::Bootstrap)), Err(MonteCarloError::NonFinite { index: 1 })));
        let gone = trades(&[-100.0, 1.0]);
        assert!(matches!(monte_carlo(&gone, 100.0, &spec(1, 0, Resampling::Bootstrap)), Err(MonteCarloError::EquityGone { index: 1, .. })));
        let many = trades(&vec![1.0; 10_000]);
        assert!(matches!(
            monte_carlo(&many, 100.0, &spec(MONTE_CARLO_RUNS_MAX, 0, Resampling::Bootstrap)),
            Err(MonteCarloError::Steps { .. })
        ));
    }

    proptest! {
        /// Percentiles are ordered, every number is finite and in range, ranks in [0, 1].
        #[test]
        fn reports_are_ordered_and_finite(pnls in prop::collection::vec(-90.0..100.0f64, 2..40), seed in any::<u64>(), perm in any::<bool>()) {
            let method = if perm { Resampling::Permutation } else { Resampling::Bootstrap };
            // 10_000 starting equity, so no sequence of these trades can exhaust it.
            let r = report(monte_carlo(&trades(&pnls), 10_000.0, &spec(50, seed, method)).unwrap());
            for d in [&r.max_drawdown, &r.final_return] {
                let v = [d.min, d.p5, d.p25, d.p50, d.p75, d.p95, d.max];
                prop_assert!(v.windows(2).all(|w| w[0] <= w[1]), "{:?}", d);
                prop_assert!(v.iter().chain([&d.mean]).all(|x| x.is_finite()));
                prop_assert!(d.min <= d.mean && d.mean <= d.max);
            }
            prop_assert!(r.max_drawdown.min >= 0.0 && r.max_drawdown.max <= 1.0);
            prop_assert!(r.final_return.min >= -1.0);
            for x in [r.probability_of_loss, r.original.max_drawdown_rank, r.original.final_return_rank] {
                prop_assert!((0.0..=1.0).contains(&x));
            }
            let sum: f64 = pnls.iter().sum();
            prop_assert!((r.original.final_return - sum / 10_000.0).abs() < 1e-9);
        }
    }
}
