//! Simple moving average.
//!
//! Definition: SMA(n)_t = (x_{t-n+1} + ... + x_t) / n, summed oldest first for n up to 128;
//! for longer windows the sum is exact and rounded once (`exact.rs`: one add and one
//! subtract a bar whatever n; the two differ by a few ulps at most).
//! Warm-up: n - 1 bars (`None`); the first value is at index n - 1.

use super::window::Window;
use super::{check_period, series, Column, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Sma {
    window: Window,
}

impl Sma {
    /// The table's default period (20 bars).
    pub const DEFAULT_PERIOD: usize = 20;

    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self::unchecked(check_period("sma", period, 1)?))
    }

    fn unchecked(period: usize) -> Self {
        Self { window: Window::new(period) }
    }
}

impl Default for Sma {
    fn default() -> Self {
        Self::unchecked(Self::DEFAULT_PERIOD)
    }
}

impl Indicator for Sma {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push(x);
        self.window.is_full().then(|| self.window.mean())
    }
}

/// SMA(`period`) of every value (see the module doc).
pub fn sma(values: &[f64], period: usize) -> Result<Vec<Option<f64>>, IndicatorError> {
    Ok(sma_column(values, period)?.to_options())
}

/// [`sma`] as a [`Column`] (8 bytes a row instead of 16: the faster form).
pub fn sma_column(values: &[f64], period: usize) -> Result<Column, IndicatorError> {
    Sma::new(period)?;
    Ok(Column::build(values.len(), period - 1, |out| series::push_rolling_means(values, period, out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::{assert_bits_eq, closes, warm_up};

    #[test]
    fn reference_values() {
        // By hand: (1+2+3)/3 = 2, (2+3+4)/3 = 3, (3+4+5)/3 = 4.
        assert_eq!(sma(&[1.0, 2.0, 3.0, 4.0, 5.0], 3).unwrap(), vec![None, None, Some(2.0), Some(3.0), Some(4.0)]);
        assert_eq!(sma(&[7.0, 8.0], 1).unwrap(), vec![Some(7.0), Some(8.0)]);
        assert!(Sma::new(0).is_err() && Sma::new(usize::MAX).is_err());
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let closes = closes();
        let batch = sma(&closes, 20).unwrap();
        let mut s = Sma::new(20).unwrap();
        let incremental: Vec<_> = closes.iter().map(|&x| s.update(x)).collect();
        assert_bits_eq(&incremental, &batch);
        assert_eq!(warm_up(&batch), 19);
        // Each value is the textbook mean of exactly its window.
        for i in [19, 1000, closes.len() - 1] {
            let want = closes[i - 19..=i].iter().sum::<f64>() / 20.0;
            assert_eq!(batch[i], Some(want));
        }
    }
}
