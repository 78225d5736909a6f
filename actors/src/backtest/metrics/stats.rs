//! The few statistics the metric files share. Mean and sample standard deviation are the
//! risk core's (one definition in the crate); this file adds the zero-volatility
//! threshold and the finite-or-`None` filter every output goes through.

#[cfg(test)]
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

/// The per-bar statistics of a return series, and of a benchmark's returns over the same
/// bars: everything Sharpe, Sortino, volatility, the probabilistic Sharpe ratio and
/// alpha/beta are computed from.
///
/// Why one struct, gathered as the returns are read: `compute` asks all five metrics of
/// the same million-bar series. Each used to take its own mean and std (17 passes), then
/// they shared a [`mean`] and [`sample_std`] over a returns vector. Now no returns vector
/// exists: [`ReturnStats::of`] takes the returns as an iterator that computes each one
/// from the curve when it is read (`e_t / e_{t-1} - 1`), in two passes for the series
/// and one more for the benchmark. On this VM the two 8 MB vectors of a 1M-bar run cost
/// more in first-touch page faults than all the arithmetic.
///
/// Same bits as the slice functions: every field is the same left-to-right sum of the
/// same expression as [`mean`], [`sample_variance_about`], the downside and the central
/// moments below, with the same start value (`-0.0`, where `f64`'s `Sum` starts; `0.0`
/// for the moments, as they always were). Tested against the slice forms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReturnStats {
    /// Number of returns.
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (`n - 1`); 0 for fewer than two returns.
    pub sd: f64,
    /// `sum(min(0, r - rf_bar)^2)`: the downside deviation's numerator at `rf_bar`.
    pub shortfall_squares: f64,
    /// Population central moments `(m2, m3, m4)`, `m_k = sum((r - mean)^k) / n`; zeros
    /// for no returns.
    pub moments: (f64, f64, f64),
    pub benchmark: Option<BenchmarkStats>,
}

/// A benchmark's returns beside a [`ReturnStats`] series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BenchmarkStats {
    pub mean: f64,
    pub sd: f64,
    /// Sample covariance with the series (`n - 1`); `None` when the lengths differ or
    /// there are fewer than two returns.
    pub cov: Option<f64>,
}

impl ReturnStats {
    /// The statistics of `returns` (and of `benchmark`'s, with their covariance), with
    /// the downside measured below `rf_bar`. Each iterator is cloned once per pass.
    pub fn of<R, B>(returns: R, benchmark: Option<B>, rf_bar: f64) -> ReturnStats
    where
        R: ExactSizeIterator<Item = f64> + Clone,
        B: ExactSizeIterator<Item = f64> + Clone,
    {
        let n = returns.len();
        let (mut sum, mut shortfall_squares) = (-0.0, -0.0);
        for x in returns.clone() {
            sum += x;
            let d = (x - rf_bar).min(0.0);
            shortfall_squares += d * d;
        }
        let mean = mean_of(sum, n);
        let b_mean = benchmark.as_ref().map(|b| mean_of(b.clone().fold(-0.0, |s, y| s + y), b.len()));
        // `m2` is also the variance's sum of squares: the same terms in the same order, and
        // starting it from `0.0` rather than `Sum`'s `-0.0` changes nothing once one
        // (non-negative) term is in; with none, both the variance and the moments are 0.
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        let (mut b_squares, mut co) = (-0.0, -0.0);
        let paired = benchmark.as_ref().zip(b_mean).filter(|(b, _)| b.len() == n);
        let mut ys = paired.map(|(b, mb)| (b.clone(), mb));
        for x in returns {
            let d = x - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
            if let Some((b, mb)) = ys.as_mut() {
                let y = b.next().unwrap_or(*mb);
                b_squares += (y - *mb) * (y - *mb);
                co += (x - mean) * (y - *mb);
            }
        }
        let paired = ys.is_some();
        let benchmark = benchmark.zip(b_mean).map(|(b, mb)| {
            let bn = b.len();
            if !paired {
                b_squares = b.fold(-0.0, |s, y| s + (y - mb) * (y - mb));
            }
            let cov = (paired && n >= 2).then(|| co / (n - 1) as f64);
            BenchmarkStats { mean: mb, sd: variance_of(b_squares, bn).sqrt(), cov }
        });
        let moments = if n == 0 { (0.0, 0.0, 0.0) } else { (m2 / n as f64, m3 / n as f64, m4 / n as f64) };
        ReturnStats { n, mean, sd: variance_of(m2, n).sqrt(), shortfall_squares, moments, benchmark }
    }

    /// [`ReturnStats::of`] a slice of returns, without a benchmark.
    pub fn of_slice(r: &[f64], rf_bar: f64) -> ReturnStats {
        ReturnStats::of(r.iter().copied(), None::<std::iter::Copied<std::slice::Iter<f64>>>, rf_bar)
    }
}

/// [`mean`] from its sum: 0 for no values.
fn mean_of(sum: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// [`sample_variance_about`] from its sum of squared deviations: 0 for fewer than two.
fn variance_of(squares: f64, n: usize) -> f64 {
    if n < 2 {
        0.0
    } else {
        squares / (n - 1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central moments the plain way: two passes over a slice.
    fn central_moments(xs: &[f64]) -> (f64, f64, f64) {
        let (mu, n) = (mean(xs), xs.len() as f64);
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for &x in xs {
            let (d, d2) = (x - mu, (x - mu) * (x - mu));
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        (m2 / n, m3 / n, m4 / n)
    }

    #[test]
    fn moments_of_a_known_sample() {
        // x = [1, 2, 3, 6]: mean 3, deviations -2, -1, 0, 3.
        // m2 = (4 + 1 + 0 + 9) / 4 = 3.5; m3 = (-8 - 1 + 0 + 27) / 4 = 4.5;
        // m4 = (16 + 1 + 0 + 81) / 4 = 24.5.
        let s = ReturnStats::of_slice(&[1.0, 2.0, 3.0, 6.0], 0.0);
        let (m2, m3, m4) = s.moments;
        assert!((m2 - 3.5).abs() < 1e-12 && (m3 - 4.5).abs() < 1e-12 && (m4 - 24.5).abs() < 1e-12);
        assert_eq!(ReturnStats::of_slice(&[], 0.0).moments, (0.0, 0.0, 0.0));
    }

    fn bits(x: f64) -> u64 {
        x.to_bits()
    }

    #[test]
    fn stats_hold_exactly_the_slice_definitions() {
        let xs: Vec<f64> = (0..1000).map(|i| ((i as f64) * 0.731).sin() * 1e-3 + 1e-5).collect();
        let ys: Vec<f64> = (0..1000).map(|i| ((i as f64) * 0.377).cos() * 2e-3 - 1e-5).collect();
        let rf = 2e-6;
        for n in [0, 1, 2, 3, 1000] {
            let (x, y) = (&xs[..n], &ys[..n]);
            let s = ReturnStats::of(x.iter().copied(), Some(y.iter().copied()), rf);
            assert_eq!((s.n, bits(s.mean), bits(s.sd)), (n, bits(mean(x)), bits(sample_std(x))));
            let below = x.iter().map(|v| (v - rf).min(0.0)).map(|d| d * d).sum::<f64>();
            assert_eq!(bits(s.shortfall_squares), bits(below));
            let (m2, m3, m4) = central_moments(x);
            if n > 0 {
                assert_eq!((bits(s.moments.0), bits(s.moments.1), bits(s.moments.2)), (bits(m2), bits(m3), bits(m4)));
            }
            let b = s.benchmark.unwrap();
            assert_eq!((bits(b.mean), bits(b.sd)), (bits(mean(y)), bits(sample_std(y))));
            let (mx, my) = (mean(x), mean(y));
            let cov = (n >= 2).then(|| x.iter().zip(y).map(|(a, c)| (a - mx) * (c - my)).sum::<f64>() / (n - 1) as f64);
            assert_eq!(b.cov.map(bits), cov.map(bits));
            assert_eq!(bits(sample_variance_about(x, mx).sqrt()), bits(s.sd));
        }
        // A benchmark of another length: its own statistics, no covariance.
        let s = ReturnStats::of(xs.iter().copied(), Some(ys[..10].iter().copied()), 0.0);
        let b = s.benchmark.unwrap();
        assert_eq!((bits(b.sd), b.cov), (bits(sample_std(&ys[..10])), None));
    }

    #[test]
    fn finite_filters_nan_and_infinities() {
        assert_eq!(finite(1.5), Some(1.5));
        assert_eq!(finite(f64::NAN), None);
        assert_eq!(finite(f64::INFINITY), None);
        assert_eq!(finite(f64::NEG_INFINITY), None);
    }
}
