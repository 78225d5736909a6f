//! Value at Risk and Expected Shortfall of a return series, or of a weights vector over a
//! returns matrix, by three methods: historical, parametric (Gaussian) and Monte Carlo.
//!
//! Sign convention: both are reported as *loss fractions*, positive for a loss (a VaR of
//! 0.05 at 95 % means "5 % or more of the value is lost in 5 % of periods"). They are not
//! clamped at zero: a negative VaR says the quantile itself is a gain, which is honest for
//! a strongly trending sample. Multiply by the portfolio value for amounts.
//!
//! Why one rule for all tails: Monte Carlo VaR/ES are the historical estimators applied to
//! the simulated sample, so the three methods differ only in where the sample comes from.

use super::bounds::{ASSETS_MAX, FRACTION_MAX, PATHS_MAX};
use super::check::{self, Interval};
use super::error::RiskError;
use super::inputs::{self, ASSET_RETURN, PORTFOLIO_RETURN};
use super::simulate::MvNormal;
use super::stats;
use ndarray::Array2;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Confidence range: a VaR at 0 or 1 is the sample's best or worst case, not a quantile.
pub(crate) const CONFIDENCE: Interval = Interval::open(0.0, 1.0);
/// Monte Carlo paths: a tail quantile from fewer than 100 draws is noise.
pub(crate) const PATHS: Interval = Interval::closed(100.0, PATHS_MAX as f64);
/// Portfolio weights (fractions of portfolio value, negative for shorts).
pub(crate) const WEIGHT: Interval = Interval::closed(-FRACTION_MAX, FRACTION_MAX);

/// VaR and ES at one confidence, as loss fractions (positive = loss).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TailRisk {
    /// The `confidence` quantile of the loss distribution.
    pub var: f64,
    /// The mean loss at or beyond `var`; never below it.
    pub es: f64,
}

/// Historical VaR/ES of at least 2 per-period returns.
///
/// Losses `L = -r` are sorted ascending; `VaR = Q_7(L, c)`, the type-7 quantile
/// (`h = (n - 1) c`, linear between the order statistics around h, see
/// [`stats::quantile_type7`]); `ES = mean{L_i : L_i >= VaR}`. Type 7 is symmetric, so
/// this equals `-Q_7(r, 1 - c)`.
pub fn historical_var(returns: &[f64], confidence: f64) -> Result<TailRisk, RiskError> {
    let c = CONFIDENCE.check("confidence", confidence)?;
    inputs::series("returns", returns, 2, PORTFOLIO_RETURN)?;
    Ok(tail_of_losses(returns.iter().map(|r| -r).collect(), c))
}

/// Parametric (Gaussian) VaR/ES from the sample mean `m` and sample standard deviation
/// `s` (n - 1) of at least 2 returns: `VaR = -m + s z_c`, `ES = -m + s phi(z_c) / (1 - c)`,
/// with `z_c = Phi^-1(c)` and `phi` the standard normal density.
pub fn parametric_var(returns: &[f64], confidence: f64) -> Result<TailRisk, RiskError> {
    let c = CONFIDENCE.check("confidence", confidence)?;
    inputs::series("returns", returns, 2, PORTFOLIO_RETURN)?;
    Ok(gaussian_tail(stats::mean(returns), stats::sample_std(returns), c))
}

/// Gaussian VaR/ES for a known mean and standard deviation (formulas of [`parametric_var`]);
/// ES is kept >= VaR against rounding.
pub(crate) fn gaussian_tail(mean: f64, std: f64, c: f64) -> TailRisk {
    let z = stats::normal_quantile(c);
    let var = -mean + std * z;
    let es = -mean + std * stats::normal_pdf(z) / (1.0 - c);
    TailRisk { var, es: es.max(var) }
}

/// Monte Carlo VaR/ES of one return series: draw `paths` returns from `N(m, s^2)` fitted
/// as in [`parametric_var`], then apply the historical estimators to the draws.
pub fn monte_carlo_var<R: Rng + ?Sized>(returns: &[f64], confidence: f64, paths: usize, rng: &mut R) -> Result<TailRisk, RiskError> {
    let c = CONFIDENCE.check("confidence", confidence)?;
    inputs::series("returns", returns, 2, PORTFOLIO_RETURN)?;
    PATHS.check("paths", paths as f64)?;
    let (m, s) = (stats::mean(returns), stats::sample_std(returns));
    let losses = (0..paths).map(|_| -(m + s * rng.sample::<f64, _>(StandardNormal))).collect();
    Ok(tail_of_losses(losses, c))
}

/// The portfolio's per-period returns `r_p[t] = sum_i w_i r[t][i]` for weights `w`
/// (fractions of portfolio value, negative for shorts) over an observations x assets
/// matrix of simple returns.
pub fn portfolio_returns(weights: &[f64], returns: &Array2<f64>) -> Result<Vec<f64>, RiskError> {
    check_portfolio(weights, returns)?;
    Ok(returns.rows().into_iter().map(|row| row.iter().zip(weights).map(|(r, w)| r * w).sum()).collect())
}

/// Monte Carlo VaR/ES of a weighted portfolio: fit `N(mu, S)` to the returns matrix (column
/// means, sample covariance), draw `paths` asset-return vectors `mu + L z` with `L` the
/// Cholesky factor of `S` and `z` standard normal, take `r_p = w . r` for each, and apply
/// the historical estimators to the simulated portfolio returns.
pub fn monte_carlo_portfolio_var<R: Rng + ?Sized>(
    weights: &[f64],
    returns: &Array2<f64>,
    confidence: f64,
    paths: usize,
    rng: &mut R,
) -> Result<TailRisk, RiskError> {
    let c = CONFIDENCE.check("confidence", confidence)?;
    check_portfolio(weights, returns)?;
    PATHS.check("paths", paths as f64)?;
    let mv = MvNormal::fit("returns", returns)?;
    let n = mv.dim();
    let (mut z, mut r) = (vec![0.0; n], vec![0.0; n]);
    let mut losses = Vec::with_capacity(paths);
    for _ in 0..paths {
        mv.sample_into(rng, &mut z, &mut r);
        losses.push(-r.iter().zip(weights).map(|(a, w)| a * w).sum::<f64>());
    }
    Ok(tail_of_losses(losses, c))
}

fn check_portfolio(weights: &[f64], returns: &Array2<f64>) -> Result<(), RiskError> {
    let (t, n) = returns.dim();
    check::count("weights", weights.len(), 1, "ASSETS_MAX", ASSETS_MAX)?;
    check::same_len("weights", weights.len(), "the columns of returns", n)?;
    WEIGHT.check_all("weights", weights)?;
    check::count("returns", t, 2, "OBSERVATIONS_MAX", super::bounds::OBSERVATIONS_MAX)?;
    for ((i, j), &v) in returns.indexed_iter() {
        ASSET_RETURN.check(&format!("returns[{i}][{j}]"), v)?;
    }
    Ok(())
}

/// Historical VaR/ES of a loss sample (see [`historical_var`]).
pub(crate) fn tail_of_losses(mut losses: Vec<f64>, c: f64) -> TailRisk {
    losses.sort_unstable_by(f64::total_cmp);
    let var = stats::quantile_type7(&losses, c);
    TailRisk { var, es: stats::tail_mean_from(&losses, var) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::simulate::seeded_rng;
    use proptest::prelude::*;
    use rand::Rng;

    const SAMPLE: [f64; 10] = [-0.05, -0.03, -0.01, 0.0, 0.01, 0.02, 0.04, -0.02, 0.03, 0.05];

    #[test]
    fn historical_var_is_the_type7_quantile_of_losses() {
        // Losses sorted: -0.05 -0.04 -0.03 -0.02 -0.01 0 0.01 0.02 0.03 0.05.
        // c = 0.95: h = 9 * 0.95 = 8.55 -> 0.03 + 0.55 * (0.05 - 0.03) = 0.041.
        let t = historical_var(&SAMPLE, 0.95).unwrap();
        assert!((t.var - 0.041).abs() < 1e-15);
        assert!((t.es - 0.05).abs() < 1e-15); // only 0.05 is >= 0.041
                                              // c = 0.8: h = 7.2 -> 0.02 + 0.2 * 0.01 = 0.022; tail {0.03, 0.05}.
        let t = historical_var(&SAMPLE, 0.8).unwrap();
        assert!((t.var - 0.022).abs() < 1e-15);
        assert!((t.es - 0.04).abs() < 1e-15);
    }

    #[test]
    fn parametric_matches_the_closed_form() {
        let t = parametric_var(&SAMPLE, 0.99).unwrap();
        let (m, s) = (stats::mean(&SAMPLE), stats::sample_std(&SAMPLE));
        assert!((t.var - (-m + s * 2.3263478740408408)).abs() < 1e-14);
        assert!((t.es - (-m + s * 2.665214220345806)).abs() < 1e-12); // phi(z)/(1-c) at 99 %
    }

    #[test]
    fn inputs_are_checked() {
        assert_eq!(historical_var(&SAMPLE, 1.0).unwrap_err().to_string(), "confidence must be in (0, 1), got 1");
        assert_eq!(historical_var(&[0.1], 0.9).unwrap_err().to_string(), "returns needs at least 2 values, got 1");
        let e = parametric_var(&[0.1, f64::NAN], 0.9).unwrap_err();
        assert_eq!(e.to_string(), "returns[1] must be in [-100, 100], got NaN");
        let m = Array2::<f64>::zeros((3, 2));
        let e = portfolio_returns(&[1.0], &m).unwrap_err();
        assert_eq!(e.code(), "length_mismatch");
        assert!(monte_carlo_var(&SAMPLE, 0.9, 10, &mut seeded_rng(1)).is_err());
    }

    #[test]
    fn monte_carlo_portfolio_converges_to_parametric() {
        let mut rng = seeded_rng(3);
        let mut m = Array2::<f64>::zeros((250, 3));
        for v in m.iter_mut() {
            *v = 0.03 * rng.sample::<f64, _>(StandardNormal);
        }
        for t in 0..250 {
            m[[t, 1]] = 0.5 * m[[t, 0]] + 0.5 * m[[t, 1]];
        }
        let w = [0.5, 0.3, 0.2];
        let p = parametric_var(&portfolio_returns(&w, &m).unwrap(), 0.99).unwrap();
        let mc = monte_carlo_portfolio_var(&w, &m, 0.99, 200_000, &mut seeded_rng(11)).unwrap();
        let s = stats::sample_std(&portfolio_returns(&w, &m).unwrap());
        assert!((mc.var - p.var).abs() < 0.03 * s, "{mc:?} vs {p:?}");
        assert!((mc.es - p.es).abs() < 0.05 * s, "{mc:?} vs {p:?}");
    }

    fn returns_strategy() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(-0.5f64..0.5, 2..200)
    }

    proptest! {
        #[test]
        fn var_is_monotone_in_confidence_and_es_dominates(
            r in returns_strategy(), c1 in 0.01f64..0.999, c2 in 0.01f64..0.999, seed in any::<u64>(),
        ) {
            let (lo, hi) = if c1 <= c2 { (c1, c2) } else { (c2, c1) };
            let pairs = [
                (historical_var(&r, lo).unwrap(), historical_var(&r, hi).unwrap()),
                (parametric_var(&r, lo).unwrap(), parametric_var(&r, hi).unwrap()),
                (monte_carlo_var(&r, lo, 500, &mut seeded_rng(seed)).unwrap(),
                 monte_carlo_var(&r, hi, 500, &mut seeded_rng(seed)).unwrap()),
            ];
            for (a, b) in pairs {
                prop_assert!(a.var <= b.var, "{a:?} {b:?}");
                prop_assert!(a.es >= a.var && b.es >= b.var);
            }
        }

        /// Historical VaR equals the type-7 quantile computed independently on the returns
        /// side: -Q_7(r, 1 - c), interpolating from the other end.
        #[test]
        fn historical_var_equals_mirrored_quantile(r in returns_strategy(), c in 0.01f64..0.999) {
            let mut s = r.clone();
            s.sort_by(f64::total_cmp);
            let h = (s.len() - 1) as f64 * (1.0 - c);
            let (lo, frac) = (h.floor() as usize, h - h.floor());
            let q = if lo + 1 < s.len() { s[lo] + frac * (s[lo + 1] - s[lo]) } else { s[lo] };
            let got = historical_var(&r, c).unwrap().var;
            prop_assert!((got + q).abs() <= 1e-12, "{got} vs {}", -q);
        }
    }

    /// Standard errors of the Monte Carlo VaR and ES of `N(m, s^2)` at confidence `c` from
    /// `n` draws: `SE_VaR = s sqrt(c (1 - c)) / (phi(z) sqrt n)` and, with
    /// `lambda = phi(z) / (1 - c)`, `SE_ES = s sqrt((1 + z lambda - lambda^2 + c (lambda - z)^2) / (n (1 - c)))`.
    fn standard_errors(s: f64, c: f64, n: usize) -> (f64, f64) {
        let z = stats::normal_quantile(c);
        let lambda = stats::normal_pdf(z) / (1.0 - c);
        let n = n as f64;
        let se_var = s * (c * (1.0 - c)).sqrt() / (stats::normal_pdf(z) * n.sqrt());
        let tail_var = 1.0 + z * lambda - lambda * lambda + c * (lambda - z).powi(2);
        (se_var, s * (tail_var / (n * (1.0 - c))).sqrt())
    }

    /// With 200,000 seeded draws, Monte Carlo VaR and ES sit within 5 standard errors of
    /// the parametric values (about 0.05 sigma for VaR at 99.5 %), over a grid of samples
    /// and confidences. A grid, not proptest cases: each check costs 200,000 draws, and
    /// PROPTEST_CASES would multiply that.
    #[test]
    fn monte_carlo_converges_to_parametric() {
        let n = 200_000;
        for data_seed in 1..=3u64 {
            let mut rng = seeded_rng(data_seed);
            let r: Vec<f64> = (0..60).map(|_| 0.001 * data_seed as f64 + 0.04 * rng.sample::<f64, _>(StandardNormal)).collect();
            for c in [0.9, 0.95, 0.975, 0.99, 0.995] {
                let p = parametric_var(&r, c).unwrap();
                let mc = monte_carlo_var(&r, c, n, &mut seeded_rng(42 + data_seed)).unwrap();
                let (se_var, se_es) = standard_errors(stats::sample_std(&r), c, n);
                assert!((mc.var - p.var).abs() <= 5.0 * se_var, "c {c}: {mc:?} vs {p:?}, se {se_var}");
                assert!((mc.es - p.es).abs() <= 5.0 * se_es, "c {c}: {mc:?} vs {p:?}, se {se_es}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn never_panics(r in prop::collection::vec(any::<f64>(), 0..20), c in any::<f64>(),
                        w in prop::collection::vec(any::<f64>(), 0..4)) {
            let _ = historical_var(&r, c);
            let _ = parametric_var(&r, c);
            let _ = monte_carlo_var(&r, c, 100, &mut seeded_rng(0));
            let m = Array2::from_shape_fn((r.len().min(5), w.len()), |(i, j)| r.get(i + j).copied().unwrap_or(0.0));
            let _ = portfolio_returns(&w, &m);
            let _ = monte_carlo_portfolio_var(&w, &m, c, 100, &mut seeded_rng(0));
        }
    }
}
