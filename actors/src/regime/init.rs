//! Where Baum-Welch starts: EM only climbs to the nearest optimum, so the start decides
//! which one. We start from the rolling features, which already separate the regimes
//! roughly: the trend score clusters around `+-drift * sqrt(window)` (bull, bear) and 0
//! (sideways), the log of the realised vol around one level per volatility regime.
//!
//! Each axis is clustered on its own, in one dimension, by k-means with k-means++
//! seeding (the first centre drawn uniformly, each next one with probability
//! proportional to the squared distance to the nearest centre chosen so far) from a
//! ChaCha8 stream seeded by the caller: the same seed gives the same start. Each bar is
//! then assigned to the (trend cluster, volatility cluster) cell, and one M-step on those
//! hard assignments gives the starting emission parameters.

use super::emission::AXIS_STATES;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Lloyd iterations after the k-means++ seeding.
pub const KMEANS_ITERATIONS: usize = 25;
/// Most values the seeding and Lloyd steps look at (an even stride through the series):
/// cluster centres of 1-D data settle long before this many points.
pub const KMEANS_SAMPLE_MAX: usize = 20_000;

/// k-means on 1-D `values` with `AXIS_STATES` clusters; returns the centres in ascending
/// order. Non-finite values are ignored; with fewer distinct values than clusters, the
/// missing centres repeat the largest one.
pub fn kmeans_1d(values: &[f64], rng: &mut ChaCha8Rng) -> [f64; AXIS_STATES] {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let stride = finite.len().div_ceil(KMEANS_SAMPLE_MAX).max(1);
    let sample: Vec<f64> = finite.iter().step_by(stride).copied().collect();
    if sample.is_empty() {
        return [0.0; AXIS_STATES];
    }
    let mut centres = Vec::with_capacity(AXIS_STATES);
    centres.push(sample[rng.random_range(0..sample.len())]);
    while centres.len() < AXIS_STATES {
        let d2: Vec<f64> = sample.iter().map(|v| centres.iter().map(|c| (v - c) * (v - c)).fold(f64::INFINITY, f64::min)).collect();
        let total: f64 = d2.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            break; // Every point sits on a centre already.
        }
        let mut target = rng.random::<f64>() * total;
        let mut pick = sample.len() - 1;
        for (i, d) in d2.iter().enumerate() {
            if target < *d {
                pick = i;
                break;
            }
            target -= d;
        }
        centres.push(sample[pick]);
    }
    for _ in 0..KMEANS_ITERATIONS {
        let mut sums = vec![(0.0, 0usize); centres.len()];
        for v in &sample {
            let c = nearest(&centres, *v);
            sums[c].0 += v;
            sums[c].1 += 1;
        }
        for (c, (s, n)) in centres.iter_mut().zip(sums) {
            if n > 0 {
                *c = s / n as f64;
            }
        }
    }
    centres.sort_by(f64::total_cmp);
    let mut out = [*centres.last().unwrap_or(&0.0); AXIS_STATES];
    out[..centres.len()].copy_from_slice(&centres);
    out
}

/// Index of the centre nearest to `v` (the first of equals).
pub fn nearest(centres: &[f64], v: f64) -> usize {
    let mut best = 0;
    for (i, c) in centres.iter().enumerate() {
        if (v - c).abs() < (v - centres[best]).abs() {
            best = i;
        }
    }
    best
}

/// A ChaCha8 stream for restart `restart` of a fit seeded with `seed`.
pub fn rng_for(seed: u64, restart: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(restart as u64);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_three_separated_clusters_whatever_the_seed() {
        let values: Vec<f64> = (0..3000).map(|i| [-2.0, 0.0, 2.0][i % 3] + ((i * 7919) % 101) as f64 / 500.0 - 0.1).collect();
        for seed in 0..20 {
            let c = kmeans_1d(&values, &mut rng_for(seed, 0));
            for (got, want) in c.iter().zip([-2.0, 0.0, 2.0]) {
                assert!((got - want).abs() < 0.05, "seed {seed}: {c:?}");
            }
        }
        assert_eq!(kmeans_1d(&values, &mut rng_for(3, 0)), kmeans_1d(&values, &mut rng_for(3, 0)));
    }

    #[test]
    fn degenerate_inputs_give_finite_sorted_centres() {
        let mut rng = rng_for(0, 0);
        assert_eq!(kmeans_1d(&[], &mut rng), [0.0; 3]);
        assert_eq!(kmeans_1d(&[f64::NAN, f64::INFINITY], &mut rng), [0.0; 3]);
        assert_eq!(kmeans_1d(&[5.0; 10], &mut rng), [5.0; 3]);
        assert_eq!(kmeans_1d(&[1.0, 2.0], &mut rng), [1.0, 2.0, 2.0]);
        assert_eq!(nearest(&[0.0, 1.0, 2.0], 1.4), 1);
    }
}
