//! The strategy against a benchmark (buy-and-hold equity or the price, one value per bar):
//! the benchmark's own return, and the CAPM regression of the strategy's per-bar returns
//! on the benchmark's, `r - rf = alpha + beta * (r_b - rf) + noise`.

use super::stats::{finite, ReturnStats, VOL_EPSILON};

/// Buy-and-hold return, `b_last / b_first - 1`: what holding the benchmark over the same
/// bars earned. A price series gives the same number as an equity series holding it.
/// `b` must be non-empty and positive (validated by `compute`); 0 for an empty slice.
pub fn buy_and_hold_return(b: &[f64]) -> f64 {
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => last / first - 1.0,
        _ => 0.0,
    }
}

/// `(alpha, beta)` of per-bar returns `r` against benchmark returns `rb` (same bars):
///
/// - `beta = cov(r, rb) / var(rb)`, sample covariance and variance (the `n - 1` cancels):
///   the OLS slope, how much the strategy moves per unit move of the benchmark.
/// - `alpha = (mean(r - rf_bar) - beta * mean(rb - rf_bar)) * periods_per_year`: Jensen's
///   alpha, the OLS intercept on excess returns (a constant `rf_bar` does not change the
///   slope), annualised like a mean return, linearly in bars.
///
/// `(None, None)` when the lengths differ, there are fewer than two returns, or the
/// benchmark's std is at or below [`VOL_EPSILON`] (a flat benchmark explains nothing).
pub fn alpha_beta(r: &[f64], rb: &[f64], rf_bar: f64, periods_per_year: f64) -> (Option<f64>, Option<f64>) {
    alpha_beta_of(&ReturnStats::of(r.iter().copied(), Some(rb.iter().copied()), rf_bar), rf_bar, periods_per_year)
}

/// [`alpha_beta`] of returns whose statistics and benchmark's are known; `(None, None)`
/// without a benchmark.
pub(crate) fn alpha_beta_of(r: &ReturnStats, rf_bar: f64, periods_per_year: f64) -> (Option<f64>, Option<f64>) {
    let Some(b) = r.benchmark else { return (None, None) };
    let (m, mb, sd_b) = (r.mean, b.mean, b.sd);
    let Some(cov) = b.cov else { return (None, None) };
    if sd_b.is_nan() || sd_b <= VOL_EPSILON {
        return (None, None);
    }
    let Some(beta) = finite(cov / (sd_b * sd_b)) else {
        return (None, None);
    };
    let alpha = ((m - rf_bar) - beta * (mb - rf_bar)) * periods_per_year;
    (finite(alpha), Some(beta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::metrics::bar_returns;

    #[test]
    fn twice_the_benchmark_has_beta_two_and_no_alpha() {
        let rb = [0.01, -0.02, 0.015, 0.003, -0.007, 0.02];
        let r: Vec<f64> = rb.iter().map(|x| 2.0 * x).collect();
        let (alpha, beta) = alpha_beta(&r, &rb, 0.0, 365.0);
        assert!((beta.unwrap() - 2.0).abs() < 1e-9);
        assert!(alpha.unwrap().abs() < 1e-12);
        // With rf: alpha_bar = (2 mean - rf_bar) - 2 (mean - rf_bar) = rf_bar, so the
        // annual alpha is rf_bar * 365 = the annual rate (leverage financed at 0).
        let (alpha, _) = alpha_beta(&r, &rb, 0.02 / 365.0, 365.0);
        assert!((alpha.unwrap() - 0.02).abs() < 1e-12);
    }

    #[test]
    fn constant_excess_is_alpha() {
        // r = rb + 0.001 each bar: beta 1, alpha 0.001 * 365 = 0.365 a year.
        let rb = [0.01, -0.02, 0.015, 0.003];
        let r: Vec<f64> = rb.iter().map(|x| x + 0.001).collect();
        let (alpha, beta) = alpha_beta(&r, &rb, 0.0, 365.0);
        assert!((beta.unwrap() - 1.0).abs() < 1e-9);
        assert!((alpha.unwrap() - 0.365).abs() < 1e-9);
    }

    #[test]
    fn undefined_cases() {
        assert_eq!(alpha_beta(&[0.1, 0.2], &[0.01, 0.01], 0.0, 365.0), (None, None), "flat benchmark");
        assert_eq!(alpha_beta(&[0.1], &[0.01], 0.0, 365.0), (None, None), "one return");
        assert_eq!(alpha_beta(&[0.1, 0.2], &[0.01], 0.0, 365.0), (None, None), "lengths differ");
        assert!((buy_and_hold_return(&[50.0, 40.0, 75.0]) - 0.5).abs() < 1e-15);
        assert_eq!(bar_returns(&[50.0]).len(), 0);
    }
}
