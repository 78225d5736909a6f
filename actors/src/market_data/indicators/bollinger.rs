//! Bollinger Bands (John Bollinger), default 20 bars, 2 standard deviations.
//!
//! Definition: middle = SMA(n); sigma = the population standard deviation of the same n
//! values (divide by n, as Bollinger specifies and TA-Lib does); upper/lower = middle
//! +/- k * sigma. %B = (x - lower) / (upper - lower): 0 at the lower band, 1 at the upper;
//! when the bands coincide (sigma = 0, every value equal) %B is 0.5, the price sits on the
//! middle. Width (BandWidth) = (upper - lower) / middle.
//! Warm-up: n - 1 bars.

use super::window::Window;
use super::{check_period, series, Column, Indicator, IndicatorError};
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
    each_chunk(values, period, k, |b| out.extend((0..b.len).map(|i| Some(b.output(i)))));
    Ok(out)
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
    let [mut upper, mut middle, mut lower, mut percent_b, mut width] = std::array::from_fn(|_| Column::rows(values.len(), period - 1));
    each_chunk(values, period, k, |b| {
        let n = b.len;
        upper.extend_from_slice(&b.upper[..n]);
        middle.extend_from_slice(&b.middle[..n]);
        lower.extend_from_slice(&b.lower[..n]);
        percent_b.extend_from_slice(&b.percent_b[..n]);
        width.extend_from_slice(&b.width[..n]);
    });
    let column = |values| Column::new(period - 1, values);
    Ok(BollingerColumns {
        upper: column(upper),
        middle: column(middle),
        lower: column(lower),
        percent_b: column(percent_b),
        width: column(width),
    })
}

/// The bands of up to [`series::LANES`] consecutive windows, one array per output.
struct Chunk {
    len: usize,
    upper: [f64; series::LANES],
    middle: [f64; series::LANES],
    lower: [f64; series::LANES],
    percent_b: [f64; series::LANES],
    width: [f64; series::LANES],
}

impl Chunk {
    fn output(&self, i: usize) -> BollingerOutput {
        BollingerOutput {
            upper: self.upper[i],
            middle: self.middle[i],
            lower: self.lower[i],
            percent_b: self.percent_b[i],
            width: self.width[i],
        }
    }
}

/// The batch loop of [`bollinger`]: `emit` gets the bands of every full window, in
/// order (from index `period - 1` on), a chunk at a time; each output is [`bands`]'s
/// formula, computed a whole chunk per operation. `period >= 1`.
fn each_chunk(values: &[f64], period: usize, k: f64, mut emit: impl FnMut(&Chunk)) {
    let n = period as f64;
    let mut window = 0;
    let mut chunk = Chunk {
        len: 0,
        upper: [0.0; series::LANES],
        middle: [0.0; series::LANES],
        lower: [0.0; series::LANES],
        percent_b: [0.0; series::LANES],
        width: [0.0; series::LANES],
    };
    series::rolling_moments(values, period, |means, squares| {
        let len = means.len();
        let newest = &values[window + period - 1..][..len];
        for i in 0..len {
            let b = bands(means[i], (squares[i] / n).sqrt(), k, newest[i]);
            (chunk.upper[i], chunk.middle[i], chunk.lower[i], chunk.percent_b[i], chunk.width[i]) =
                (b.upper, b.middle, b.lower, b.percent_b, b.width);
        }
        chunk.len = len;
        window += len;
        emit(&chunk);
    });
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
