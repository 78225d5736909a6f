//! Bollinger Bands (John Bollinger), default 20 bars, 2 standard deviations.
//!
//! Definition: middle = SMA(n); sigma = the population standard deviation of the same n
//! values (divide by n, as Bollinger specifies and TA-Lib does); upper/lower = middle
//! +/- k * sigma. %B = (x - lower) / (upper - lower): 0 at the lower band, 1 at the upper;
//! when the bands coincide (sigma = 0, every value equal) %B is 0.5, the price sits on the
//! middle. Width (BandWidth) = (upper - lower) / middle.
//! Warm-up: n - 1 bars.

use super::window::Window;
use super::{check_period, series, Indicator, IndicatorError};
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
        Ok(Self { window: Window::new(period), k })
    }
}

impl Default for Bollinger {
    fn default() -> Self {
        Self { window: Window::new(Self::DEFAULT_PERIOD), k: Self::DEFAULT_K }
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
        Some(bands(self.window.mean(), self.window.variance(0).sqrt(), self.k, x))
    }
}

/// Bollinger Bands(`period`, `k`) of every value (see the module doc).
pub fn bollinger(values: &[f64], period: usize, k: f64) -> Result<Vec<Option<BollingerOutput>>, IndicatorError> {
    Bollinger::new(period, k)?;
    let mut out = Vec::with_capacity(values.len());
    out.extend(std::iter::repeat_n(None, (period - 1).min(values.len())));
    each_output(values, period, k, |o| out.push(Some(o)));
    Ok(out)
}

/// The batch loop of [`bollinger`]: `emit` gets the bands of every full window, in
/// order (from index `period - 1` on); `compute_all` writes them straight into its
/// columns. `period >= 1`.
pub(crate) fn each_output(values: &[f64], period: usize, k: f64, mut emit: impl FnMut(BollingerOutput)) {
    let means = series::rolling_means(values, period);
    let (len, mut window) = (period as f64, 0);
    series::rolling_square_sums(values, period, &means, &mut |squares| {
        for s in squares {
            emit(bands(means[window], (s / len).sqrt(), k, values[window + period - 1]));
            window += 1;
        }
    });
}

/// The bands around `middle` at `k` standard deviations `sd`, for the newest value `x`:
/// the one formula of the incremental and the batch path.
#[inline]
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
