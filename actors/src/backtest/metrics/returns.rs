//! Return and risk-adjusted-return metrics of the equity curve: total return, CAGR,
//! annual volatility, Sharpe and Sortino ratios.
//!
//! All of them start from the simple per-bar returns of [`bar_returns`]. Simple, not log,
//! returns: they are what the portfolio actually earned per bar, and Sharpe and Sortino are
//! conventionally defined on them.

use super::stats::{finite, ReturnStats, VOL_EPSILON};

/// Simple per-bar returns `r_t = v_t / v_{t-1} - 1` for `t = 1..n`: `n - 1` values, empty
/// for fewer than two. Values must be positive (validated by the callers).
pub fn bar_returns(values: &[f64]) -> Vec<f64> {
    returns_of(values).collect()
}

/// [`bar_returns`] computed as they are read (the metrics never store them).
pub(crate) fn returns_of(values: &[f64]) -> impl ExactSizeIterator<Item = f64> + Clone + '_ {
    returns_by(values, |v| *v)
}

/// [`returns_of`] an equity curve's values, without copying them out.
pub(crate) fn curve_returns(points: &[super::EquityPoint]) -> impl ExactSizeIterator<Item = f64> + Clone + '_ {
    returns_by(points, |p| p.equity)
}

/// `v_t / v_{t-1} - 1` over consecutive items' `value`: the one formula of both forms
/// above.
fn returns_by<'a, T>(items: &'a [T], value: impl Fn(&T) -> f64 + Clone + 'a) -> impl ExactSizeIterator<Item = f64> + Clone + 'a {
    items.windows(2).map(move |w| value(&w[1]) / value(&w[0]) - 1.0)
}

/// Total return `final / initial - 1` (0.5 = +50%). Finite for validated curves, whose
/// `max / min` is finite.
pub fn total_return(initial: f64, last: f64) -> f64 {
    last / initial - 1.0
}

/// Compound annual growth rate, `(final / initial)^(1 / years) - 1`, with `years` the
/// calendar time the curve spans (365-day years).
///
/// Why calendar time and not bars: a daily stock file of 8.5 years has about 2,140 bars;
/// counted as 365 a year they would be 5.9 "years" and the growth rate far too high.
/// `None` when no time elapsed and when the power overflows (a short, steep curve
/// extrapolated to a year).
pub fn cagr(initial: f64, last: f64, years: f64) -> Option<f64> {
    if years.is_nan() || years <= 0.0 {
        return None;
    }
    finite((last / initial).powf(1.0 / years) - 1.0)
}

/// Annual volatility, `std(r) * sqrt(periods_per_year)`, with the sample standard deviation
/// (`n - 1`). The square-root-of-time rule assumes independent bars, as Sharpe does.
/// `None` for fewer than two returns.
pub fn annual_volatility(r: &[f64], periods_per_year: f64) -> Option<f64> {
    annual_volatility_of(&ReturnStats::of_slice(r, 0.0), periods_per_year)
}

/// [`annual_volatility`] of returns whose std is known.
pub(crate) fn annual_volatility_of(r: &ReturnStats, periods_per_year: f64) -> Option<f64> {
    if r.n < 2 {
        return None;
    }
    finite(r.sd * periods_per_year.sqrt())
}

/// Annualised Sharpe ratio,
/// `mean(r - rf_bar) / std(r - rf_bar) * sqrt(periods_per_year)`,
/// with `rf_bar = risk_free_rate / periods_per_year` and the sample std (`n - 1`).
///
/// The risk-free rate is constant per bar, so `std(r - rf_bar) = std(r)`. Excess return per
/// unit of total volatility, scaled from per-bar to per-year by `sqrt(periods_per_year)`
/// (mean grows with time, std with its square root). `None` for fewer than two returns or
/// a std at or below [`VOL_EPSILON`] (no risk taken: the ratio is undefined, not infinite).
pub fn sharpe_ratio(r: &[f64], rf_bar: f64, periods_per_year: f64) -> Option<f64> {
    sharpe_ratio_of(&ReturnStats::of_slice(r, rf_bar), rf_bar, periods_per_year)
}

/// [`sharpe_ratio`] of returns whose mean and std are known.
pub(crate) fn sharpe_ratio_of(r: &ReturnStats, rf_bar: f64, periods_per_year: f64) -> Option<f64> {
    if r.n < 2 {
        return None;
    }
    let sd = r.sd;
    if sd.is_nan() || sd <= VOL_EPSILON {
        return None;
    }
    finite((r.mean - rf_bar) / sd * periods_per_year.sqrt())
}

/// Annualised Sortino ratio,
/// `mean(r - target) / DD * sqrt(periods_per_year)`, with target `rf_bar` and the downside
/// deviation `DD = sqrt(sum(min(0, r_t - target)^2) / n)`.
///
/// Why: only returns below the target are risk to an investor, so upside volatility does
/// not lower the ratio. The mean runs over ALL `n` bars (bars above target count as 0),
/// not only the losing ones: dividing by the number of losing bars would make one small
/// loss look as risky as a steady stream of them. `None` for fewer than two returns or
/// when `DD <= VOL_EPSILON` (no bar below target).
pub fn sortino_ratio(r: &[f64], rf_bar: f64, periods_per_year: f64) -> Option<f64> {
    sortino_ratio_of(&ReturnStats::of_slice(r, rf_bar), rf_bar, periods_per_year)
}

/// [`sortino_ratio`] of returns whose mean and shortfalls below `rf_bar` are known.
pub(crate) fn sortino_ratio_of(r: &ReturnStats, rf_bar: f64, periods_per_year: f64) -> Option<f64> {
    if r.n < 2 {
        return None;
    }
    let dd = (r.shortfall_squares / r.n as f64).sqrt();
    if dd.is_nan() || dd <= VOL_EPSILON {
        return None;
    }
    finite((r.mean - rf_bar) / dd * periods_per_year.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::metrics::stats::sample_std;

    #[test]
    fn returns_of_a_short_curve() {
        let r = bar_returns(&[100.0, 110.0, 99.0]);
        assert!((r[0] - 0.1).abs() < 1e-15 && (r[1] + 0.1).abs() < 1e-15 && r.len() == 2);
        assert!(bar_returns(&[100.0]).is_empty());
        assert!((total_return(100.0, 150.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn sharpe_by_hand() {
        // Equity 100, 110, 99, 108.9: r = +0.1, -0.1, +0.1.
        // mean = 0.1 / 3; deviations from it +0.2/3, -0.4/3, +0.2/3;
        // sample var = ((0.2/3)^2 + (0.4/3)^2 + (0.2/3)^2) / (3 - 1) = 0.04 / 3.
        let r = bar_returns(&[100.0, 110.0, 99.0, 108.9]);
        let mean = 0.1 / 3.0;
        let sd = (((0.2f64 / 3.0).powi(2) * 2.0 + (0.4f64 / 3.0).powi(2)) / 2.0).sqrt();
        assert!((sd - (0.04f64 / 3.0).sqrt()).abs() < 1e-15);
        let expected = mean / sd * 365f64.sqrt(); // daily bars, rf = 0
        assert!((sharpe_ratio(&r, 0.0, 365.0).unwrap() - expected).abs() < 1e-12);
        // 0.2886751 * sqrt(365) = 0.2886751 * 19.1049732:
        assert!((expected - 5.515_130_7).abs() < 1e-6);
        // With rf = 3.65% a year: rf_bar = 0.0001 is subtracted from the mean.
        let with_rf = (mean - 0.0001) / sd * 365f64.sqrt();
        assert!((sharpe_ratio(&r, 0.0365 / 365.0, 365.0).unwrap() - with_rf).abs() < 1e-12);
        assert!((annual_volatility(&r, 365.0).unwrap() - sd * 365f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn constant_growth_has_no_volatility_so_no_sharpe_or_sortino() {
        // 100 * 1.01^k: every return is 1% in exact arithmetic, but the f64 powers carry
        // rounding noise, so the measured std is ~1e-16, not 0: VOL_EPSILON must apply.
        let curve: Vec<f64> = (0..500).map(|k| 100.0 * 1.01f64.powi(k)).collect();
        let r = bar_returns(&curve);
        assert!(sample_std(&r) > 0.0 && sample_std(&r) < 1e-14, "{}", sample_std(&r));
        assert!(annual_volatility(&r, 8760.0).unwrap() < 1e-9);
        assert_eq!(sharpe_ratio(&r, 0.0, 8760.0), None);
        assert_eq!(sortino_ratio(&r, 0.0, 8760.0), None);
        assert_eq!(sharpe_ratio(&[0.01], 0.0, 365.0), None, "one return has no std");
    }

    #[test]
    fn sortino_by_hand() {
        // r = +0.02, -0.01, +0.03, -0.02, target 0.
        // DD = sqrt((0 + 0.01^2 + 0 + 0.02^2) / 4) = sqrt(0.0005 / 4) over ALL 4 bars.
        let r = [0.02, -0.01, 0.03, -0.02];
        let dd = (0.0005f64 / 4.0).sqrt();
        let expected = 0.005 / dd * 365f64.sqrt();
        assert!((sortino_ratio(&r, 0.0, 365.0).unwrap() - expected).abs() < 1e-12);
        // Against a target of 0.01 per bar: shortfalls 0, -0.02, 0, -0.03.
        let dd = ((0.0004f64 + 0.0009) / 4.0).sqrt();
        let expected = (0.005 - 0.01) / dd * 365f64.sqrt();
        assert!((sortino_ratio(&r, 0.01, 365.0).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn cagr_by_hand() {
        // 100 -> 121 over 2 calendar years: (1.21)^(1/2) - 1 = 0.1.
        assert!((cagr(100.0, 121.0, 2.0).unwrap() - 0.1).abs() < 1e-12);
        // 100 -> 110 over half a year: 1.1^2 - 1 = 0.21.
        assert!((cagr(100.0, 110.0, 0.5).unwrap() - 0.21).abs() < 1e-12);
        assert_eq!(cagr(100.0, 110.0, 0.0), None);
        assert_eq!(cagr(1.0, 2.0, 1.0 / 525_600.0), None, "2^525600 overflows");
    }
}
