//! The few statistics the metric files share. Mean and sample standard deviation are the
//! risk core's (one definition in the crate); this file adds the zero-volatility
//! threshold and the finite-or-`None` filter every output goes through.

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

/// Population central moments `(m2, m3, m4)`, `m_k = sum((x - mean)^k) / n`, in two passes
/// (the mean first) for accuracy. Zeros for an empty slice.
pub(crate) fn central_moments(xs: &[f64]) -> (f64, f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mu = mean(xs);
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
        let (m2, m3, m4) = central_moments(&[1.0, 2.0, 3.0, 6.0]);
        assert!((m2 - 3.5).abs() < 1e-12 && (m3 - 4.5).abs() < 1e-12 && (m4 - 24.5).abs() < 1e-12);
        assert_eq!(central_moments(&[]), (0.0, 0.0, 0.0));
    }

    #[test]
    fn finite_filters_nan_and_infinities() {
        assert_eq!(finite(1.5), Some(1.5));
        assert_eq!(finite(f64::NAN), None);
        assert_eq!(finite(f64::INFINITY), None);
        assert_eq!(finite(f64::NEG_INFINITY), None);
    }
}
