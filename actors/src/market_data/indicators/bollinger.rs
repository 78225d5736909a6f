//! Bollinger Bands (John Bollinger), default 20 bars, 2 standard deviations.
//!
//! Definition: middle = SMA(n); sigma = the population standard deviation of the same n
//! values (over n, as Bollinger specifies and TA-Lib does); upper/lower = middle
//! +/- k * sigma. %B = (x - lower) / (upper - lower): 0 at the lower band, 1 at the upper;
//! when the bands coincide (sigma = 0, every value equal) %B is 0.5, the price sits on the
//! middle. Width (BandWidth) = (upper - lower) / middle.
//! Warm-up: n - 1 bars.
//!
//! The squared deviations are multiplied by `1 / n` (rounded once) rather than divided
//! by n: a division is the slowest step of a band, and each window had four (mean,
//! variance, %B, width) besides the square root. Sigma moved in the last bit for some
//! windows when this came in; batch and incremental are still bit-identical.

use super::series::{self, simd_dispatch};
use super::window::Window;
use super::{check_period, Column, Indicator, IndicatorError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BollingerOutput {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
    pub percent_b: f64,
    pub width: f64,
}

#[derive(Debug, Clone)]
pub struct Bollinger {
    window: Window,
    k: f64,
    /// `1 / period`, the variance's factor (see the module doc).
    inverse_n: f64,
}

impl Bollinger {
    /// Bollinger's defaults: 20 bars, 2 standard deviations.
    pub const DEFAULT_PERIOD: usize = 20;
    pub const DEFAULT_K: f64 = 2.0;

    pub fn new(period: usize, k: f64) -> Result<Self, IndicatorError> {
        check_period("bollinger", period, 1)?;
        if !(k.is_finite() && k >= 0.0) {
            return Err(IndicatorError::Deviations { k });
        }
        Ok(Self::unchecked(period, k))
    }

    fn unchecked(period: usize, k: f64) -> Self {
        Self { window: Window::new(period), k, inverse_n: 1.0 / period as f64 }
    }
}

impl Default for Bollinger {
    fn default() -> Self {
        Self::unchecked(Self::DEFAULT_PERIOD, Self::DEFAULT_K)
    }
}

impl Indicator for Bollinger {
    type Input = f64;
    type Output = BollingerOutput;

    fn update(&mut self, x: f64) -> Option<BollingerOutput> {
        self.window.push(x);
        if !self.window.is_full() {
            return None;
        }
        let (mean, squares) = self.window.moments();
        Some(bands(mean, (squares * self.inverse_n).sqrt(), self.k, x))
    }
}

/// Bollinger Bands(`period`, `k`) of every value (see the module doc).
pub fn bollinger(values: &[f64], period: usize, k: f64) -> Result<Vec<Option<BollingerOutput>>, IndicatorError> {
    let c = bollinger_columns(values, period, k)?;
    let row = |i| {
        let middle = c.middle.get(i)?;
        let at = |column: &Column| column.as_f64()[i];
        Some(BollingerOutput { upper: at(&c.upper), middle, lower: at(&c.lower), percent_b: at(&c.percent_b), width: at(&c.width) })
    };
    Ok((0..values.len()).map(row).collect())
}

/// [`bollinger`]'s five outputs as [`Column`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct BollingerColumns {
    pub upper: Column,
    pub middle: Column,
    pub lower: Column,
    pub percent_b: Column,
    pub width: Column,
}

/// [`bollinger`] as five [`Column`]s (8 bytes a row each: the faster form), each with a
/// warm-up of `period - 1` rows.
pub fn bollinger_columns(values: &[f64], period: usize, k: f64) -> Result<BollingerColumns, IndicatorError> {
    Bollinger::new(period, k)?;
    let rows = || Column::rows(values.len(), period - 1);
    let mut out = Rows { upper: rows(), middle: rows(), lower: rows(), percent_b: rows(), width: rows() };
    push_bands_in(values, period, k, super::split::parts(values.len(), period), &mut out);
    let column = |values| Column::new(period - 1, values);
    Ok(BollingerColumns {
        upper: column(out.upper),
        middle: column(out.middle),
        lower: column(out.lower),
        percent_b: column(out.percent_b),
        width: column(out.width),
    })
}

/// The five columns' rows being written.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Rows {
    pub upper: Vec<f64>,
    pub middle: Vec<f64>,
    pub lower: Vec<f64>,
    pub percent_b: Vec<f64>,
    pub width: Vec<f64>,
}

/// [`push_bands`] over the given parts of `values` (`None`: on this thread; long series
/// with long windows run on several threads, the same rows in the same order).
pub(super) fn push_bands_in(values: &[f64], period: usize, k: f64, parts: Option<Vec<std::ops::Range<usize>>>, out: &mut Rows) {
    let Some(parts) = parts else { return push_bands(values, period, k, out) };
    let rows = super::split::run(values, &parts, |part| {
        let mut rows = Rows::default();
        push_bands(part, period, k, &mut rows);
        rows
    });
    for r in rows {
        out.upper.extend(r.upper);
        out.middle.extend(r.middle);
        out.lower.extend(r.lower);
        out.percent_b.extend(r.percent_b);
        out.width.extend(r.width);
    }
}

simd_dispatch!(
    /// Appends the bands of every full window to `out` ([`push_bands_generic`]).
    pub(super) fn push_bands(values: &[f64], period: usize, k: f64, out: &mut Rows) {
        "avx512f" => push_bands_generic::<{ series::LANES_AVX512 }>,
        "avx2" => push_bands_generic::<{ series::LANES }>,
        _ => push_bands_generic::<{ series::LANES }>,
    }
);

/// The batch loop of [`bollinger`]: the bands of every full window, in order (from
/// index `period - 1` on). `LANES` windows at a time, their means and squared
/// deviations as `Window` takes them ([`series::lane_moments`]) and then [`bands`]'s
/// formula a whole chunk per operation, written to the five columns; the last windows
/// one at a time. No closure: the whole loop is compiled into each SIMD copy.
#[inline(always)]
pub(super) fn push_bands_generic<const LANES: usize>(values: &[f64], period: usize, k: f64, out: &mut Rows) {
    let (windows, inverse_n) = (series::windows(values.len(), period), 1.0 / period as f64);
    let mut all_means = series::Means::new(values, period);
    let mut start = 0;
    while start + LANES <= windows {
        let (means, squares) = series::lane_moments::<LANES>(&values[start..start + period - 1 + LANES], period, &mut all_means);
        let newest: &[f64; LANES] = values[start + period - 1..][..LANES].try_into().expect("LANES values");
        let [mut upper, mut lower, mut percent_b, mut width] = [[0.0; LANES]; 4];
        for i in 0..LANES {
            let b = bands(means[i], (squares[i] * inverse_n).sqrt(), k, newest[i]);
            (upper[i], lower[i], percent_b[i], width[i]) = (b.upper, b.lower, b.percent_b, b.width);
        }
        // By value: copied inline (`extend_from_slice` called `memcpy` five times a chunk).
        out.upper.extend(upper);
        out.middle.extend(means);
        out.lower.extend(lower);
        out.percent_b.extend(percent_b);
        out.width.extend(width);
        start += LANES;
    }
    for start in start..windows {
        let (mean, squares) = series::window_moments(&values[start..start + period], &mut all_means);
        let b = bands(mean, (squares * inverse_n).sqrt(), k, values[start + period - 1]);
        out.upper.push(b.upper);
        out.middle.push(b.middle);
        out.lower.push(b.lower);
        out.percent_b.push(b.percent_b);
        out.width.push(b.width);
    }
}

/// The bands around `middle` at `k` standard deviations `sd`, for the newest value `x`:
/// the one formula of the incremental and the batch path.
#[inline(always)]
fn bands(middle: f64, sd: f64, k: f64, x: f64) -> BollingerOutput {
    let band = k * sd;
    let (upper, lower) = (middle + band, middle - band);
    let percent_b = if upper > lower { (x - lower) / (upper - lower) } else { 0.5 };
    BollingerOutput { upper, middle, lower, percent_b, width: (upper - lower) / middle }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::sma::sma;
    use crate::market_data::indicators::testing::{assert_bits_eq, closes, warm_up};

    #[test]
    fn reference_values() {
        // 1..=5, n = 5, k = 2: mean 3, population variance (4+1+0+1+4)/5 = 2, sigma = sqrt 2;
        // bands 3 +/- 2 sqrt 2; %B of 5 = (2 + 2 sqrt 2) / (4 sqrt 2); width = 4 sqrt 2 / 3.
        let got = bollinger(&[1.0, 2.0, 3.0, 4.0, 5.0], 5, 2.0).unwrap();
        assert_eq!(warm_up(&got), 4);
        let b = got[4].unwrap();
        let s2 = 2f64.sqrt();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(b.middle, 3.0) && close(b.upper, 3.0 + 2.0 * s2) && close(b.lower, 3.0 - 2.0 * s2), "{b:?}");
        assert!(close(b.percent_b, (2.0 + 2.0 * s2) / (4.0 * s2)) && close(b.width, 4.0 * s2 / 3.0), "{b:?}");
        let flat = bollinger(&[7.0; 3], 3, 2.0).unwrap()[2].unwrap();
        assert_eq!((flat.upper, flat.lower, flat.percent_b, flat.width), (7.0, 7.0, 0.5, 0.0));
        assert!(Bollinger::new(20, f64::NAN).is_err() && Bollinger::new(20, -1.0).is_err() && Bollinger::new(0, 2.0).is_err());
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let closes = closes();
        let batch = bollinger(&closes, 20, 2.0).unwrap();
        let mut b = Bollinger::default();
        let incremental: Vec<_> = closes.iter().map(|&x| b.update(x)).collect();
        assert_eq!(incremental, batch);
        let middle: Vec<_> = batch.iter().map(|o| o.map(|o| o.middle)).collect();
        assert_bits_eq(&middle, &sma(&closes, 20).unwrap());
        assert!(batch.iter().flatten().all(|o| o.lower <= o.middle && o.middle <= o.upper && o.width >= 0.0));
    }
}
