//! Relative Strength Index, Wilder's definition.
//!
//! Definition: for each change d_t = x_t - x_{t-1}, gain = max(d, 0), loss = max(-d, 0).
//! Average gain and average loss use Wilder's smoothing (`wilder.rs`): the first average
//! is the simple mean of the first n gains (losses), then `prev*(n-1)/n + g/n`, computed
//! as one fused multiply-add with the weights rounded once (`wilder.rs` says why: the
//! batch loop waits on that chain, 4 cycles a bar instead of about 21 for
//! `(prev*(n-1) + g)/n`; the values differ from that form in the last bits).
//! RSI = 100 * avg_gain / (avg_gain + avg_loss), which equals 100 - 100 / (1 + RS) with
//! RS = avg_gain / avg_loss, but is defined when avg_loss = 0 (RSI = 100). When both are 0
//! (a flat market) RSI is 50, neutral (TA-Lib reports 0 there; 0 would read as
//! "oversold", which a flat market is not).
//! Warm-up: n bars (n changes need n + 1 prices); the first value is at index n.

use super::series::{simd_dispatch, WilderChain};
use super::wilder::Wilder;
use super::{check_period, Column, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Rsi {
    previous: Option<f64>,
    gains: Wilder,
    losses: Wilder,
}

impl Rsi {
    /// Wilder's period (14 bars).
    pub const DEFAULT_PERIOD: usize = 14;

    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self::unchecked(check_period("rsi", period, 1)?))
    }

    fn unchecked(period: usize) -> Self {
        Self { previous: None, gains: Wilder::new(period), losses: Wilder::new(period) }
    }
}

impl Default for Rsi {
    fn default() -> Self {
        Self::unchecked(Self::DEFAULT_PERIOD)
    }
}

impl Indicator for Rsi {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        let previous = self.previous.replace(x)?;
        let change = x - previous;
        let gain = self.gains.update(change.max(0.0));
        let loss = self.losses.update((-change).max(0.0));
        Some(rsi_value(gain?, loss?))
    }
}

/// RSI(`period`) of every value (see the module doc).
pub fn rsi(values: &[f64], period: usize) -> Result<Vec<Option<f64>>, IndicatorError> {
    Ok(rsi_column(values, period)?.to_options())
}

/// [`rsi`] as a [`Column`] (8 bytes a row instead of 16: the faster form).
pub fn rsi_column(values: &[f64], period: usize) -> Result<Column, IndicatorError> {
    Rsi::new(period)?;
    Ok(Column::build(values.len(), period, |out| push_rsi(values, period, out)))
}

simd_dispatch!(
    /// Appends RSI(`period`) from index `period` on to `out` ([`push_rsi_generic`]).
    pub(super) fn push_rsi(values: &[f64], period: usize, out: &mut Vec<f64>) {
        "avx2,fma" => push_rsi_generic,
        _ => push_rsi_generic,
    }
);

/// The steady loop of [`rsi`]: both Wilder averages in one pass (their two dependency
/// chains overlap), the same operations as [`Rsi::update`]. One value per input from
/// index `period` on, nothing when there are `period` inputs or fewer. Each average is
/// a chain of one fused multiply-add per bar ([`WilderChain::step`]): that chain sets
/// the speed, the division of [`rsi_value`] is off it.
#[inline(always)]
pub(super) fn push_rsi_generic(values: &[f64], period: usize, out: &mut Vec<f64>) {
    if values.len() <= period {
        return;
    }
    let n = period as f64;
    let chain = WilderChain::new(period);
    let (mut gain, mut loss) = (0.0, 0.0);
    for w in values[..=period].windows(2) {
        let change = w[1] - w[0];
        gain += change.max(0.0);
        loss += (-change).max(0.0);
    }
    (gain, loss) = (gain / n, loss / n);
    out.push(rsi_value(gain, loss));
    let (previous, next) = (&values[period..values.len() - 1], &values[period + 1..]);
    for (&previous, &x) in previous.iter().zip(next) {
        let change = x - previous;
        gain = chain.step(gain, change.max(0.0));
        loss = chain.step(loss, (-change).max(0.0));
        out.push(rsi_value(gain, loss));
    }
}

/// RSI from the two averages (see the module doc), as [`Rsi::update`] computes it.
#[inline(always)]
fn rsi_value(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if total == 0.0 {
        50.0
    } else {
        100.0 * gain / total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::{assert_bits_eq, closes, warm_up};

    /// The 33 closes of StockCharts' ChartSchool RSI worksheet ("Relative Strength Index
    /// (RSI)", the 14-day example), a widely reproduced reference series.
    const STOCKCHARTS: [f64; 33] = [
        44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41,
        46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13,
    ];

    #[test]
    fn reference_values() {
        let got = rsi(&STOCKCHARTS, 14).unwrap();
        assert_eq!(warm_up(&got), 14);
        // Exact derivation: the first 14 changes gain 3.34 in total and lose 1.40, so
        // RSI_14 = 100 * 3.34 / (3.34 + 1.40) = 70.4641...; the 15th change is -0.28, so
        // avg_gain = 3.34*13/14/14, avg_loss = (1.40*13/14 + 0.28)/14 and
        // RSI_15 = 100 * 43.42 / (43.42 + 18.20 + 3.92) = 66.2496...
        assert!((got[14].unwrap() - 100.0 * 3.34 / 4.74).abs() < 1e-9, "{:?}", got[14]);
        assert!((got[15].unwrap() - 100.0 * 43.42 / 65.54).abs() < 1e-9, "{:?}", got[15]);
        // The worksheet itself rounds its averages to 2 decimals at each step, so its
        // printed RSIs (70.53, 66.32, ..., 37.77) differ from the exact ones by < 0.1.
        let printed = [
            70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.08,
            37.77,
        ];
        for (g, p) in got[14..].iter().zip(printed) {
            assert!((g.unwrap() - p).abs() < 0.1, "{g:?} vs {p}");
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(rsi(&[5.0; 4], 2).unwrap(), vec![None, None, Some(50.0), Some(50.0)], "flat is neutral");
        assert_eq!(rsi(&[1.0, 2.0, 3.0], 2).unwrap()[2], Some(100.0), "only gains");
        assert_eq!(rsi(&[3.0, 2.0, 1.0], 2).unwrap()[2], Some(0.0), "only losses");
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let closes = closes();
        let batch = rsi(&closes, 14).unwrap();
        let mut r = Rsi::default();
        let incremental: Vec<_> = closes.iter().map(|&x| r.update(x)).collect();
        assert_bits_eq(&incremental, &batch);
        assert!(batch.iter().flatten().all(|v| (0.0..=100.0).contains(v)));
    }
}
