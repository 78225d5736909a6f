//! Average True Range, Wilder's definition.
//!
//! Definition: true range TR_t = max(high - low, |high - close_{t-1}|, |low - close_{t-1}|),
//! which needs the previous close, so the first bar has none (as in TA-Lib). ATR is
//! Wilder's smoothing (`wilder.rs`) of TR: the first ATR is the simple mean of the first n
//! true ranges, then `prev*(n-1)/n + TR/n`, computed as one fused multiply-add with the
//! weights rounded once (`wilder.rs` says why: the batch loop waits on that chain, 4
//! cycles a bar instead of about 21 for `(prev*(n-1) + TR)/n`; the values differ from
//! that form in the last bits).
//! Warm-up: n bars; the first value is at index n.

use super::series::{simd_dispatch, WilderChain};
use super::wilder::Wilder;
use super::{check_period, Column, Indicator, IndicatorError};
use tradpal_messages::Candle;

#[derive(Debug, Clone)]
pub struct Atr {
    previous_close: Option<f64>,
    average: Wilder,
}

impl Atr {
    /// Wilder's period (14 bars).
    pub const DEFAULT_PERIOD: usize = 14;

    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self::unchecked(check_period("atr", period, 1)?))
    }

    fn unchecked(period: usize) -> Self {
        Self { previous_close: None, average: Wilder::new(period) }
    }
}

impl Default for Atr {
    fn default() -> Self {
        Self::unchecked(Self::DEFAULT_PERIOD)
    }
}

impl Indicator for Atr {
    type Input = Candle;
    type Output = f64;

    fn update(&mut self, c: Candle) -> Option<f64> {
        let previous = self.previous_close.replace(c.close)?;
        self.average.update(true_range(c.high, c.low, previous))
    }
}

/// ATR(`period`) of every candle (see the module doc).
pub fn atr(candles: &[Candle], period: usize) -> Result<Vec<Option<f64>>, IndicatorError> {
    Ok(atr_column(candles, period)?.to_options())
}

/// [`atr`] as a [`Column`] (8 bytes a row instead of 16: the faster form).
pub fn atr_column(candles: &[Candle], period: usize) -> Result<Column, IndicatorError> {
    Atr::new(period)?;
    Ok(Column::build(candles.len(), period, |out| push_atr(candles, period, out)))
}

/// [`atr_column`] over the highs, lows and closes as three series (TA-Lib's layout, for
/// a caller that holds them so; [`compute_all`](super::compute_all) reads the candles):
/// the same values to the bit. It reads 24 bytes a bar where a [`Candle`] is 48, and
/// reading the candles, not the arithmetic, bounds [`atr_column`]'s speed.
pub fn atr_column_hlc(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Result<Column, IndicatorError> {
    Atr::new(period)?;
    if high.len() != close.len() || low.len() != close.len() {
        return Err(IndicatorError::Lengths { indicator: "atr", lengths: [high.len(), low.len(), close.len()] });
    }
    Ok(Column::build(close.len(), period, |out| push_atr_hlc(high, low, close, period, out)))
}

simd_dispatch!(
    /// Appends ATR(`period`) of the candles from index `period` on to `out` ([`smooth`]).
    pub(super) fn push_atr(candles: &[Candle], period: usize, out: &mut Vec<f64>) {
        "avx2,fma" => push_atr_generic,
        _ => push_atr_generic,
    }
);

#[inline(always)]
pub(super) fn push_atr_generic(candles: &[Candle], period: usize, out: &mut Vec<f64>) {
    smooth(candles.len(), period, out, |i| true_range(candles[i].high, candles[i].low, candles[i - 1].close));
}

simd_dispatch!(
    /// Appends ATR(`period`) of the three series (of equal length) from index `period`
    /// on to `out` ([`smooth`]).
    pub(super) fn push_atr_hlc(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut Vec<f64>) {
        "avx2,fma" => push_atr_hlc_generic,
        _ => push_atr_hlc_generic,
    }
);

#[inline(always)]
pub(super) fn push_atr_hlc_generic(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut Vec<f64>) {
    let bars = close.len();
    let (high, low) = (&high[..bars], &low[..bars]);
    smooth(bars, period, out, |i| true_range(high[i], low[i], close[i - 1]));
}

/// The batch loop of ATR over `bars` bars, bar `i`'s true range being
/// `true_range_at(i)` (for `i >= 1`): the mean of the first `period` (summed from `0.0`
/// as `Wilder` does), then one [`WilderChain::step`] a bar, appended to `out`; nothing
/// when there are `period` bars or fewer. The chain (one fused multiply-add a bar) sets
/// the speed; the true ranges are off it.
#[inline(always)]
fn smooth(bars: usize, period: usize, out: &mut Vec<f64>, true_range_at: impl Fn(usize) -> f64) {
    if bars <= period {
        return;
    }
    let chain = WilderChain::new(period);
    let mut sum = 0.0;
    for i in 1..=period {
        sum += true_range_at(i);
    }
    let mut atr = sum / period as f64;
    out.push(atr);
    // Written into the reserved rows, the length set once at the end: a `push` a row
    // kept the vector's length in memory (three more memory operations a bar beside the
    // chain's one), and `extend` over a closure left the step out of line, compiled
    // without FMA.
    let rows = bars - period - 1;
    out.reserve(rows);
    let (filled, spare) = (out.len(), &mut out.spare_capacity_mut()[..rows]);
    for (slot, i) in spare.iter_mut().zip(period + 1..bars) {
        atr = chain.step(atr, true_range_at(i));
        slot.write(atr);
    }
    // SAFETY: the loop wrote every one of the `rows` slots after `filled` (the zip's two
    // sides have `rows` items each), and `reserve` made room for them.
    unsafe { out.set_len(filled + rows) };
}

/// The true range of a bar (`high`, `low`) after a close of `previous`: the largest of
/// `high - low`, `|high - previous|` and `|low - previous|`, the one formula of both
/// paths. [`larger`] rather than `f64::max`: the same result on numbers, one
/// instruction instead of three.
#[inline(always)]
fn true_range(high: f64, low: f64, previous: f64) -> f64 {
    larger(larger(high - low, (high - previous).abs()), (low - previous).abs())
}

/// `a` if it is larger than `b`, else `b`: `f64::max` on numbers, but a NaN in either
/// gives `b` (x86's `maxsd`) where `f64::max` skips the NaN, which takes a compare and a
/// blend besides the `maxsd`. A NaN price makes the true range NaN (or one of the other
/// two terms), as IEEE arithmetic propagates it; validated candles have none.
#[inline(always)]
fn larger(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::{assert_bits_eq, btcperp, warm_up};
    use tradpal_messages::Timestamp;

    fn hlc(high: f64, low: f64, close: f64) -> Candle {
        Candle { open_time: Timestamp(0), open: close, high, low, close, volume: 1.0 }
    }

    #[test]
    fn reference_values() {
        // Previous close 10. TRs: bar 1 (12, 9): max(3, 2, 1) = 3; bar 2 gaps up (15, 14)
        // after close 11: max(1, 4, 3) = 4; bar 3 gaps down (10, 8) after 14.5:
        // max(2, 4.5, 6.5) = 6.5; bar 4 (9, 8.5) after 9: max(0.5, 0, 0.5) = 0.5.
        // n = 3: first ATR = (3 + 4 + 6.5)/3 = 4.5; then (4.5*2 + 0.5)/3 = 9.5/3.
        let candles = [hlc(10.5, 9.5, 10.0), hlc(12.0, 9.0, 11.0), hlc(15.0, 14.0, 14.5), hlc(10.0, 8.0, 9.0), hlc(9.0, 8.5, 8.7)];
        let got = atr(&candles, 3).unwrap();
        assert_eq!(got, vec![None, None, None, Some(4.5), Some(9.5 / 3.0)]);
        assert!(Atr::new(0).is_err());
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let candles = btcperp();
        let batch = atr(candles, 14).unwrap();
        let mut a = Atr::default();
        let incremental: Vec<_> = candles.iter().map(|&c| a.update(c)).collect();
        assert_bits_eq(&incremental, &batch);
        assert_eq!(warm_up(&batch), 14);
        assert!(batch.iter().flatten().all(|&v| v > 0.0));
    }
}
