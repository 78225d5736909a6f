//! The few statistics the metric files share. Mean and sample standard deviation are the
//! risk core's (one definition in the crate); this file adds the zero-volatility
//! threshold and the finite-or-`None` filter every output goes through.

use crate::risk::stats::sample_variance_about;
pub(crate) use crate::risk::stats::{mean, sample_std};

/// A per-bar standard deviation (or downside deviation) at or below this counts as zero.
///
/// Why 1e-12: a simple return `e_t / e_{t-1} - 1` computed in f64 carries about 1e-16 of
/// rounding noise, so a curve growing by exactly 1% a bar has a measured std of ~1e-17,
/// not 0, and a Sharpe ratio of ~1e15. Real strategies have per-bar volatility of 1e-5
/// or more even on 1m bars; 1e-12 per bar is 7e-10 a year on 1m bars, far below anything
/// a market produces and far above the noise.
pub const VOL_EPSILON: f64 = 1e-12;

/// `Some(x)` when `x` is a finite number, `None` for NaN and infinities: the one gate
/// between a computation that may overflow and the report, which holds finite numbers only.
pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// A sample with its mean and sample standard deviation computed once.
///
/// Why: `compute` asks Sharpe, Sortino, volatility, PSR and alpha/beta of the same
/// million-bar return series, and each used to take its own mean and std (17 passes over
/// the returns); they now share these. The values are exactly [`mean`] and
/// [`sample_std`] of `xs`, so every metric is bit-identical to computing them apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample<'a> {
    pub xs: &'a [f64],
    pub mean: f64,
    pub sd: f64,
}

impl<'a> Sample<'a> {
    /// Two passes: the mean, then the squared deviations from it (what [`sample_std`]
    /// computes, without taking the mean a second time).
    pub fn of(xs: &'a [f64]) -> Self {
        let m = mean(xs);
        Sample { xs, mean: m, sd: sample_variance_about(xs, m).sqrt() }
    }
}

/// Population central moments `(m2, m3, m4)`, `m_k = sum((x - mu)^k) / n`, about `mu`, the
/// mean of `xs` already computed (two passes in all, for accuracy). Zeros for an empty
/// slice.
pub(crate) fn central_moments_about(xs: &[f64], mu: f64) -> (f64, f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &x in xs {
        let d = x - mu;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    let n = xs.len() as f64;
    (m2 / n, m3 / n, m4 / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_known_sample() {
        // x = [1, 2, 3, 6]: mean 3, deviations -2, -1, 0, 3.
        // m2 = (4 + 1 + 0 + 9) / 4 = 3.5; m3 = (-8 - 1 + 0 + 27) / 4 = 4.5;
        // m4 = (16 + 1 + 0 + 81) / 4 = 24.5.
        let xs = [1.0, 2.0, 3.0, 6.0];
        let (m2, m3, m4) = central_moments_about(&xs, mean(&xs));
        assert!((m2 - 3.5).abs() < 1e-12 && (m3 - 4.5).abs() < 1e-12 && (m4 - 24.5).abs() < 1e-12);
        assert_eq!(central_moments_about(&[], 0.0), (0.0, 0.0, 0.0));
    }

    #[test]
    fn a_sample_holds_exactly_mean_and_sample_std() {
        let xs: Vec<f64> = (0..1000).map(|i| ((i as f64) * 0.731).sin() * 1e-3 + 1e-5).collect();
        for n in [0, 1, 2, 3, 1000] {
            let s = Sample::of(&xs[..n]);
            assert_eq!(s.mean.to_bits(), mean(&xs[..n]).to_bits());
            assert_eq!(s.sd.to_bits(), sample_std(&xs[..n]).to_bits());
        }
    }

    #[test]
    fn finite_filters_nan_and_infinities() {
        assert_eq!(finite(1.5), Some(1.5));
        assert_eq!(finite(f64::NAN), None);
        assert_eq!(finite(f64::INFINITY), None);
        assert_eq!(finite(f64::NEG_INFINITY), None);
    }
}
