//! Descriptive statistics the risk modules share: moments, the type-7 quantile, tail
//! means, returns from prices, covariance and correlation, and the standard normal's
//! density and quantile function.
//!
//! These functions assume validated input (finite values, enough of them); the public
//! entry points in the other files check first. They never panic on any input: an empty
//! slice gives 0 or NaN as documented, never an index out of bounds.

use ndarray::Array2;

/// Arithmetic mean, `sum(x) / n`; 0 for an empty slice.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance with Bessel's correction, `sum((x - mean)^2) / (n - 1)`, computed in
/// two passes for accuracy; 0 when n < 2.
pub fn sample_variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

/// Sample standard deviation, `sqrt(sample_variance)`.
pub fn sample_std(xs: &[f64]) -> f64 {
    sample_variance(xs).sqrt()
}

/// A sorted copy (total order, so the sort is deterministic even if a NaN slipped in).
pub fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// The p-quantile of an ascending sample by the linear interpolation rule of Hyndman and
/// Fan's type 7 (the default of R, NumPy and Excel's PERCENTILE.INC):
/// `h = (n - 1) p`, `Q(p) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])`,
/// with 0-based indices. The result is clamped to the bracketing pair so rounding can
/// never break monotonicity in `p`. `p` is clamped to [0, 1]; NaN for an empty sample.
pub fn quantile_type7(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let p = if p.is_nan() { 0.5 } else { p.clamp(0.0, 1.0) };
    let h = (n - 1) as f64 * p;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    (a + (h - lo as f64) * (b - a)).clamp(a.min(b), a.max(b))
}

/// Mean of the values of an ascending sample that are `>= threshold`; `threshold` itself
/// when none are (so a tail mean is never below its threshold).
pub fn tail_mean_from(sorted: &[f64], threshold: f64) -> f64 {
    let start = sorted.partition_point(|&x| x < threshold);
    let tail = &sorted[start..];
    if tail.is_empty() {
        threshold
    } else {
        mean(tail).max(threshold)
    }
}

/// Log returns of a price series, `ln(p[t] / p[t-1])`; prices must be > 0.
pub fn log_returns(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

/// Column means of an observations x assets matrix.
pub fn column_means(data: &Array2<f64>) -> Vec<f64> {
    let t = data.nrows().max(1) as f64;
    (0..data.ncols()).map(|j| data.column(j).sum() / t).collect()
}

/// Sample covariance of the columns of an observations x assets matrix:
/// `C[i][j] = sum_t (x[t][i] - m[i]) (x[t][j] - m[j]) / (T - 1)`; zeros when T < 2.
/// Symmetric by construction (the lower triangle is mirrored).
pub fn covariance(data: &Array2<f64>) -> Array2<f64> {
    let (t, n) = data.dim();
    let mut c = Array2::<f64>::zeros((n, n));
    if t < 2 {
        return c;
    }
    let m = column_means(data);
    let mut centred = data.clone();
    for mut row in centred.rows_mut() {
        for (x, mj) in row.iter_mut().zip(&m) {
            *x -= mj;
        }
    }
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = centred.column(i).iter().zip(centred.column(j)).map(|(a, b)| a * b).sum();
            c[[i, j]] = s / (t - 1) as f64;
            c[[j, i]] = c[[i, j]];
        }
    }
    c
}

/// Correlation from covariance, `R[i][j] = C[i][j] / sqrt(C[i][i] C[j][j])`, clamped to
/// [-1, 1]. A series with zero variance has no defined correlation; it is reported as 0
/// against every other series (and 1 with itself) so the matrix stays finite.
pub fn correlation(cov: &Array2<f64>) -> Array2<f64> {
    let n = cov.nrows();
    let mut r = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..n {
            let d = (cov[[i, i]] * cov[[j, j]]).sqrt();
            r[[i, j]] = if i == j {
                1.0
            } else if d > 0.0 && d.is_finite() {
                (cov[[i, j]] / d).clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
    }
    r
}

/// Standard normal density, `phi(x) = exp(-x^2 / 2) / sqrt(2 pi)`.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile `Phi^-1(p)` by Wichura's algorithm AS241 (PPND16, Applied
/// Statistics 37(3), 1988): rational approximations in three regions, relative error
/// about 1e-16. `-inf` for p <= 0, `+inf` for p >= 1, NaN for NaN.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&AS241_A, r) / poly(&AS241_B, r);
    }
    let r = (-(if q < 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        poly(&AS241_C, r) / poly(&AS241_D, r)
    } else {
        let r = r - 5.0;
        poly(&AS241_E, r) / poly(&AS241_F, r)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

/// Horner evaluation, coefficients from the constant term up.
fn poly(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

#[allow(clippy::excessive_precision)] // Wichura's published digits, kept verbatim
const AS241_A: [f64; 8] = [
    3.387_132_872_796_366_608,
    1.331_416_678_917_843_774_5e2,
    1.971_590_950_306_551_442_7e3,
    1.373_169_376_550_946_112_5e4,
    4.592_195_393_154_987_145_7e4,
    6.726_577_092_700_870_085_3e4,
    3.343_057_558_358_812_810_5e4,
    2.509_080_928_730_122_672_7e3,
];
#[allow(clippy::excessive_precision)] // Wichura's published digits, kept verbatim
const AS241_B: [f64; 8] = [
    1.0,
    4.231_333_070_160_091_125_2e1,
    6.871_870_074_920_579_083e2,
    5.394_196_021_424_751_107_7e3,
    2.121_379_430_158_659_586_7e4,
    3.930_789_580_009_271_061e4,
    2.872_908_573_572_194_267_4e4,
    5.226_495_278_852_854_561e3,
];
#[allow(clippy::excessive_precision)] // Wichura's published digits, kept verbatim
const AS241_C: [f64; 8] = [
    1.423_437_110_749_683_577_34,
    4.630_337_846_156_545_295_9,
    5.769_497_221_460_691_405_5,
    3.647_848_324_763_204_605_04,
    1.270_458_252_452_368_382_58,
    2.417_807_251_774_506_117_7e-1,
    2.272_384_498_926_918_458_33e-2,
    7.745_450_142_783_414_076_4e-4,
];
#[allow(clippy::excessive_precision)] // Wichura's published digits, kept verbatim
const AS241_D: [f64; 8] = [
    1.0,
    2.053_191_626_637_758_821_87,
    1.676_384_830_183_803_849_4,
    6.897_673_349_851_000_045_5e-1,
    1.481_039_764_274_800_745_9e-1,
    1.519_866_656_361_645_719_66e-2,
    5.475_938_084_995_344_946e-4,
    1.050_750_071_644_416_843_24e-9,
];
#[allow(clippy::excessive_precision)] // Wichura's published digits, kept verbatim
const AS241_E: [f64; 8] = [
    6.657_904_643_501_103_777_2,
    5.463_784_911_164_114_369_9,
    1.784_826_539_917_291_335_8,
    2.965_605_718_285_048_912_3e-1,
    2.653_218_952_657_612_309_3e-2,
    1.242_660_947_388_078_438_6e-3,
    2.711_555_568_743_487_578_15e-5,
    2.010_334_399_292_288_132_65e-7,
];
#[allow(clippy::excessive_precision)] // Wichura's published digits, kept verbatim
const AS241_F: [f64; 8] = [
    1.0,
    5.998_322_065_558_879_376_9e-1,
    1.369_298_809_227_358_053_1e-1,
    1.487_536_129_085_061_485_25e-2,
    7.868_691_311_456_132_591e-4,
    1.846_318_317_510_054_681_8e-5,
    1.421_511_758_316_445_888_7e-7,
    2.044_263_103_389_939_785_64e-15,
];

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn normal_quantile_matches_reference_values() {
        // Reference values from Python's statistics.NormalDist().inv_cdf (also AS241).
        let cases = [
            (0.5, 0.0),
            (0.95, 1.6448536269514722),
            (0.975, 1.959963984540054),
            (0.99, 2.3263478740408408),
            (0.999, 3.090232306167813),
            (0.01, -2.3263478740408408),
            (1e-10, -6.361340902404056),
            (1e-300, -37.0470962993612),
        ];
        for (p, want) in cases {
            let got = normal_quantile(p);
            assert!((got - want).abs() <= 1e-14 * want.abs().max(1.0), "p={p}: {got} vs {want}");
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(f64::NAN).is_nan());
    }

    #[test]
    fn type7_quantile_interpolates_linearly() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_type7(&xs, 0.0), 1.0);
        assert_eq!(quantile_type7(&xs, 1.0), 5.0);
        assert_eq!(quantile_type7(&xs, 0.5), 3.0);
        assert!((quantile_type7(&xs, 0.9) - 4.6).abs() < 1e-12); // h = 3.6
        assert!(quantile_type7(&[], 0.5).is_nan());
        assert_eq!(quantile_type7(&[7.0], 0.3), 7.0);
    }

    #[test]
    fn moments_and_tail_mean() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&xs), 5.0);
        assert!((sample_variance(&xs) - 32.0 / 7.0).abs() < 1e-12);
        assert_eq!(sample_variance(&[1.0]), 0.0);
        assert_eq!(tail_mean_from(&xs, 5.0), 6.5);
        assert_eq!(tail_mean_from(&xs, 10.0), 10.0);
    }

    #[test]
    fn covariance_and_correlation() {
        let data = array![[1.0, 2.0], [2.0, 4.0], [3.0, 6.5]];
        let c = covariance(&data);
        assert!((c[[0, 0]] - 1.0).abs() < 1e-12);
        assert_eq!(c[[0, 1]], c[[1, 0]]);
        let r = correlation(&c);
        assert!(r[[0, 1]] > 0.99 && r[[0, 1]] <= 1.0);
        let flat = covariance(&array![[1.0, 3.0], [2.0, 3.0]]);
        assert_eq!(correlation(&flat)[[0, 1]], 0.0);
    }
}
