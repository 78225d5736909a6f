//! A simple Tree-structured Parzen Estimator (Bergstra et al., 2011), seeded.
//!
//! 1. The first `startup` points are uniform draws (per range, in its unit interval:
//!    linear, or `ln` for a `log` range), snapped to the range's step if it has one.
//! 2. Then, per proposal: the points scored so far are ranked (the [`super::eval`]
//!    order), the best `ceil(gamma * n)` form the "good" set, the rest the "bad" set.
//!    `l(x)` and `g(x)` are Parzen (Gaussian kernel) densities over each set;
//!    [`TPE_CANDIDATES`] candidates are drawn from `l` and the one with the largest
//!    `l(x) / g(x)` is proposed (the first on a tie); one already scored is skipped.
//!
//! Simplifications against the paper and Optuna's sampler, on purpose:
//! - Univariate: each range has its own estimator and the ratio is the product over
//!   ranges (the paper's independent TPE); our spaces are flat, so there is no tree.
//! - The kernel width is a fixed Scott-like rule in the unit interval,
//!   `max(0.3 * k^(-1/5), 0.02)` for a set of `k` points, not a per-point width from
//!   the neighbours; each density mixes in a uniform prior with weight `1 / (k + 1)`,
//!   so neither is ever zero.
//! - Points are proposed in batches of [`TPE_BATCH`] from one model (the batch is scored
//!   in parallel). The batch size is a constant, not the thread count, so the sequence
//!   of points, and the result, is the same on any machine for a seed.
//! - A failed or undefined point scores `-inf` and simply ranks last (it lands in the bad
//!   set once there are enough points).
//! - A space with steps is finite: the search stops once every point is scored, or when
//!   no new point turns up in [`TPE_DRAW_TRIES`] uniform draws.

use super::eval::{rank_order, Problem, Scored};
use super::space::{finite_size, ParamRange};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::BTreeSet;
use tradpal_messages::Candle;

/// Uniform points before the model is used, unless told otherwise.
pub const TPE_STARTUP_DEFAULT: usize = 10;
/// Fraction of the points that forms the good set.
pub const TPE_GAMMA: f64 = 0.25;
/// Candidates drawn from `l(x)` per proposal.
pub const TPE_CANDIDATES: usize = 24;
/// Points proposed from one model and scored together.
pub const TPE_BATCH: usize = 8;
/// Uniform draws tried when every candidate was already scored.
pub const TPE_DRAW_TRIES: usize = 16;

/// Runs the search: `trials` points at most (fewer if the space has fewer), in the
/// order they were scored.
pub fn search(p: &Problem, bars: &[Candle], trials: usize, startup: usize, seed: u64) -> Vec<Scored> {
    search_by(p.ranges, trials, startup, seed, |batch| p.evaluate(bars, batch))
}

/// The same search over `ranges` with any scorer: `score` gets a batch of points and
/// returns them scored, in order (the ML actor tunes models with it).
pub fn search_by(
    ranges: &[ParamRange],
    trials: usize,
    startup: usize,
    seed: u64,
    mut score: impl FnMut(&[Vec<f64>]) -> Vec<Scored>,
) -> Vec<Scored> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let target = trials.min(finite_size(ranges).unwrap_or(usize::MAX));
    let mut done: Vec<Scored> = Vec::with_capacity(target);
    let mut seen: BTreeSet<Vec<u64>> = BTreeSet::new();
    while done.len() < target {
        let want = (target - done.len()).min(TPE_BATCH);
        let model = (done.len() >= startup.max(1)).then(|| Model::fit(ranges, &done));
        let mut batch: Vec<Vec<f64>> = Vec::with_capacity(want);
        for _ in 0..want {
            let next = match &model {
                Some(m) => m.propose(ranges, &mut rng, &seen),
                None => None,
            };
            let Some(point) = next.or_else(|| uniform_new(ranges, &mut rng, &seen)) else { break };
            seen.insert(key(&point));
            batch.push(point);
        }
        if batch.is_empty() {
            break;
        }
        done.extend(score(&batch));
    }
    done
}

fn key(point: &[f64]) -> Vec<u64> {
    point.iter().map(|v| v.to_bits()).collect()
}

fn uniform(ranges: &[ParamRange], rng: &mut ChaCha8Rng) -> Vec<f64> {
    ranges.iter().map(|r| r.value_at_unit(rng.random::<f64>())).collect()
}

fn uniform_new(ranges: &[ParamRange], rng: &mut ChaCha8Rng, seen: &BTreeSet<Vec<u64>>) -> Option<Vec<f64>> {
    (0..TPE_DRAW_TRIES).map(|_| uniform(ranges, rng)).find(|p| !seen.contains(&key(p)))
}

/// One Parzen density per range over a set of points (unit coordinates).
struct Parzen {
    /// `centres[d]`: the set's coordinates in range `d`.
    centres: Vec<Vec<f64>>,
    width: f64,
    prior: f64,
}

impl Parzen {
    fn new(points: &[Vec<f64>], dims: usize) -> Parzen {
        let k = points.len();
        let centres = (0..dims).map(|d| points.iter().map(|p| p[d]).collect()).collect();
        Parzen { centres, width: (0.3 * (k.max(1) as f64).powf(-0.2)).max(0.02), prior: 1.0 / (k as f64 + 1.0) }
    }

    /// `ln` of the product over ranges of each range's density at `u`.
    fn log_density(&self, u: &[f64]) -> f64 {
        let norm = 1.0 / (self.width * (2.0 * std::f64::consts::PI).sqrt());
        u.iter()
            .zip(&self.centres)
            .map(|(x, cs)| {
                let kernel = if cs.is_empty() {
                    0.0
                } else {
                    cs.iter().map(|c| norm * (-0.5 * ((x - c) / self.width).powi(2)).exp()).sum::<f64>() / cs.len() as f64
                };
                (self.prior + (1.0 - self.prior) * kernel).ln()
            })
            .sum()
    }

    /// A draw: per range, the prior with its weight, else a centre plus Gaussian noise.
    fn sample(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        self.centres
            .iter()
            .map(|cs| {
                if cs.is_empty() || rng.random::<f64>() < self.prior {
                    return rng.random::<f64>();
                }
                let c = cs[rng.random_range(0..cs.len())];
                let z: f64 = StandardNormal.sample(rng);
                (c + z * self.width).clamp(0.0, 1.0)
            })
            .collect()
    }
}

struct Model {
    good: Parzen,
    bad: Parzen,
}

impl Model {
    fn fit(ranges: &[ParamRange], done: &[Scored]) -> Model {
        let mut ranked: Vec<&Scored> = done.iter().collect();
        ranked.sort_by(|a, b| rank_order(a, b));
        let n_good = ((TPE_GAMMA * ranked.len() as f64).ceil() as usize).clamp(1, ranked.len());
        let unit = |s: &&Scored| ranges.iter().zip(&s.point).map(|(r, v)| r.unit_of(*v)).collect::<Vec<f64>>();
        let good: Vec<Vec<f64>> = ranked[..n_good].iter().map(unit).collect();
        let bad: Vec<Vec<f64>> = ranked[n_good..].iter().map(unit).collect();
        Model { good: Parzen::new(&good, ranges.len()), bad: Parzen::new(&bad, ranges.len()) }
    }

    /// The candidate with the largest `l / g` not scored yet; `None` if all were.
    fn propose(&self, ranges: &[ParamRange], rng: &mut ChaCha8Rng, seen: &BTreeSet<Vec<u64>>) -> Option<Vec<f64>> {
        let mut best: Option<(f64, Vec<f64>)> = None;
        for _ in 0..TPE_CANDIDATES {
            let u = self.good.sample(rng);
            let point: Vec<f64> = ranges.iter().zip(&u).map(|(r, x)| r.value_at_unit(*x)).collect();
            if seen.contains(&key(&point)) {
                continue;
            }
            let snapped: Vec<f64> = ranges.iter().zip(&point).map(|(r, v)| r.unit_of(*v)).collect();
            let ratio = self.good.log_density(&snapped) - self.bad.log_density(&snapped);
            if best.as_ref().is_none_or(|(b, _)| ratio > *b) {
                best = Some((ratio, point));
            }
        }
        best.map(|(_, p)| p)
    }
}
