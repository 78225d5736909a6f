//! Exponential moving average.
//!
//! Definition: alpha = 2 / (n + 1); EMA_t = alpha * x_t + (1 - alpha) * EMA_{t-1},
//! computed as `EMA_{t-1}.mul_add(1 - alpha, alpha * x_t)` (`series::EmaChain::step`):
//! the product of the previous value and its sum with `alpha * x_t` rounded once, a
//! fused multiply-add. The batch loop waits on the chain from one value to the next, and
//! that is one operation (4 cycles a bar) where a multiply and then an add were two; the
//! result differs from the unfused form in the last bit at most bars.
//! Seed: the first value, at index n - 1, is the SMA of the first n inputs (the common
//! convention, e.g. TA-Lib's default), so the start does not depend on a single price.
//! Warm-up: n - 1 bars.

use super::series::{self, EmaChain};
use super::{check_period, Column, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    chain: EmaChain,
    seen: usize,
    sum: f64,
    value: Option<f64>,
}

impl Ema {
    /// The table's default period (20 bars).
    pub const DEFAULT_PERIOD: usize = 20;

    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self::unchecked(check_period("ema", period, 1)?))
    }

    pub(crate) fn unchecked(period: usize) -> Self {
        let period = period.max(1);
        Self { period, chain: EmaChain::new(period), seen: 0, sum: 0.0, value: None }
    }
}

impl Default for Ema {
    fn default() -> Self {
        Self::unchecked(Self::DEFAULT_PERIOD)
    }
}

impl Indicator for Ema {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        let value = match self.value {
            Some(prev) => self.chain.step(prev, x),
            None => {
                self.sum += x;
                self.seen += 1;
                if self.seen < self.period {
                    return None;
                }
                self.sum / self.period as f64
            }
        };
        self.value = Some(value);
        Some(value)
    }
}

/// EMA(`period`) of every value (see the module doc).
pub fn ema(values: &[f64], period: usize) -> Result<Vec<Option<f64>>, IndicatorError> {
    Ok(ema_column(values, period)?.to_options())
}

/// [`ema`] as a [`Column`] (8 bytes a row instead of 16: the faster form).
pub fn ema_column(values: &[f64], period: usize) -> Result<Column, IndicatorError> {
    Ema::new(period)?;
    Ok(Column::build(values.len(), period - 1, |out| series::push_ema(values, period, out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::{assert_bits_eq, assert_close, closes, warm_up};

    #[test]
    fn reference_values() {
        // n = 3, alpha = 0.5. Seed (2+4+6)/3 = 4; 0.5*8+0.5*4 = 6; 0.5*12+0.5*6 = 9;
        // 0.5*14+0.5*9 = 11.5.
        let got = ema(&[2.0, 4.0, 6.0, 8.0, 12.0, 14.0], 3).unwrap();
        assert_eq!(got, vec![None, None, Some(4.0), Some(6.0), Some(9.0), Some(11.5)]);
        // n = 4, alpha = 0.4. Seed (1+2+3+4)/4 = 2.5; 0.4*5+0.6*2.5 = 3.5; 0.4*1+0.6*3.5 = 2.5.
        let got = ema(&[1.0, 2.0, 3.0, 4.0, 5.0, 1.0], 4).unwrap();
        assert_close(&got, &[None, None, None, Some(2.5), Some(3.5), Some(2.5)], 1e-12);
        assert!(Ema::new(0).is_err());
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let closes = closes();
        let batch = ema(&closes, 20).unwrap();
        let mut e = Ema::new(20).unwrap();
        let incremental: Vec<_> = closes.iter().map(|&x| e.update(x)).collect();
        assert_bits_eq(&incremental, &batch);
        assert_eq!(warm_up(&batch), 19);
        assert_eq!(batch[19], Some(closes[..20].iter().sum::<f64>() / 20.0), "seeded with the SMA");
        let (lo, hi) = closes.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &c| (lo.min(c), hi.max(c)));
        assert!(batch.iter().flatten().all(|&v| (lo..=hi).contains(&v)), "an average stays inside the data's range");
    }
}
