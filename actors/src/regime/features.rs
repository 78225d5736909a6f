//! Per-bar features, computed causally: the features of bar `t` read bars `0..=t` only,
//! so the same numbers come out whether a series is processed whole or bar by bar, and no
//! classification ever peeks at the future.
//!
//! - `log_return`: `ln(close_t / close_{t-1})`; the first bar uses `ln(close / open)`.
//!   Close to close, so an overnight gap counts (it is part of what a holder earns).
//! - `realised_vol`: root mean square of the last [`VOL_WINDOW_BARS`] log returns
//!   (no mean subtracted: at bar scale the drift is noise-sized, and the textbook
//!   realised vol is the sum of squared returns). Per bar, not annualised.
//! - `trend_score`: the sum of the last [`TREND_WINDOW_BARS`] log returns divided by
//!   `rms * sqrt(n)` over the same window: the window's move in units of the noise one
//!   would expect from it, a t-statistic-like slope that means the same at any price,
//!   timeframe and volatility. 0 when the window has no movement at all.
//! - `log_range`: `ln(high / low)`, the bar's own (Parkinson) volatility evidence.
//!
//! Before a window fills, the statistics use the bars seen so far (`n < window`).
//! Window statistics are recomputed over the window each bar (O(window), ~100 adds)
//! rather than kept as running sums, so a value never depends on rounding drift from
//! how much history came before (the same reason as the indicators' `window.rs`).
//!
//! The HMM's emission reads `log_return` only (see `emission.rs` for why); the rolling
//! features seed the fit (`init.rs`) and are reported to callers beside each regime.

use super::error::RegimeError;
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, Timestamp};

/// Window of the realised volatility, in bars.
pub const VOL_WINDOW_BARS: usize = 20;
/// Window of the trend score, in bars.
pub const TREND_WINDOW_BARS: usize = 100;

/// The features of one bar (see the module doc for the definitions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BarFeatures {
    pub open_time: Timestamp,
    pub log_return: f64,
    pub realised_vol: f64,
    pub trend_score: f64,
    pub log_range: f64,
}

/// Checks one candle's prices (finite, > 0, high >= low) and that it follows `previous`.
pub fn check_candle(bar: usize, c: &Candle, previous: Option<Timestamp>) -> Result<(), RegimeError> {
    for (field, value) in [("open", c.open), ("high", c.high), ("low", c.low), ("close", c.close)] {
        if !(value.is_finite() && value > 0.0) {
            return Err(RegimeError::BadCandle { bar, open_time: c.open_time, field, value });
        }
    }
    if c.high < c.low {
        return Err(RegimeError::HighBelowLow { bar, open_time: c.open_time, high: c.high, low: c.low });
    }
    match previous {
        Some(previous) if c.open_time <= previous => Err(RegimeError::NotIncreasing { bar, open_time: c.open_time, previous }),
        _ => Ok(()),
    }
}

/// A ring of the most recent log returns (capacity [`TREND_WINDOW_BARS`]).
#[derive(Debug, Clone)]
struct Ring {
    values: Vec<f64>,
    next: usize,
}

impl Ring {
    fn push(&mut self, v: f64) {
        if self.values.len() < TREND_WINDOW_BARS {
            self.values.push(v);
        } else {
            self.values[self.next] = v;
        }
        self.next = (self.next + 1) % TREND_WINDOW_BARS;
    }

    /// The last `n` values, oldest first (`n` <= held).
    fn last(&self, n: usize) -> impl Iterator<Item = f64> + '_ {
        let len = self.values.len();
        let n = n.min(len);
        let newest = if len < TREND_WINDOW_BARS { len } else { self.next + TREND_WINDOW_BARS };
        (newest - n..newest).map(move |i| self.values[i % len])
    }
}

/// Computes [`BarFeatures`] bar by bar; [`features`] runs it over a series.
#[derive(Debug, Clone)]
pub struct FeatureExtractor {
    ring: Ring,
    previous: Option<(Timestamp, f64)>,
    bars: usize,
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl FeatureExtractor {
    pub fn new() -> Self {
        Self { ring: Ring { values: Vec::with_capacity(TREND_WINDOW_BARS), next: 0 }, previous: None, bars: 0 }
    }

    /// Bars consumed so far.
    pub fn bars(&self) -> usize {
        self.bars
    }

    /// The features of the next bar; refuses (and ignores) a bad or out-of-order candle.
    pub fn update(&mut self, c: &Candle) -> Result<BarFeatures, RegimeError> {
        check_candle(self.bars, c, self.previous.map(|p| p.0))?;
        let reference = self.previous.map_or(c.open, |p| p.1);
        let log_return = (c.close / reference).ln();
        self.ring.push(log_return);
        self.previous = Some((c.open_time, c.close));
        self.bars += 1;

        let mean_square = |n: usize| {
            let n = n.min(self.ring.values.len());
            (self.ring.last(n).map(|r| r * r).sum::<f64>() / n as f64, n)
        };
        let (vol_ms, _) = mean_square(VOL_WINDOW_BARS);
        let (trend_ms, n) = mean_square(TREND_WINDOW_BARS);
        let sum: f64 = self.ring.last(n).sum();
        let noise = (trend_ms * n as f64).sqrt();
        let trend_score = if noise > 0.0 && noise.is_finite() { sum / noise } else { 0.0 };
        Ok(BarFeatures { open_time: c.open_time, log_return, realised_vol: vol_ms.sqrt(), trend_score, log_range: (c.high / c.low).ln() })
    }
}

/// The features of every bar of `candles` (the same values [`FeatureExtractor`] gives
/// bar by bar); refuses the first bad or out-of-order candle.
pub fn features(candles: &[Candle]) -> Result<Vec<BarFeatures>, RegimeError> {
    let mut x = FeatureExtractor::new();
    candles.iter().map(|c| x.update(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn candle(i: i64, open: f64, close: f64) -> Candle {
        Candle {
            open_time: Timestamp(i * 60_000_000_000),
            open,
            high: open.max(close) * 1.001,
            low: open.min(close) * 0.999,
            close,
            volume: 1.0,
        }
    }

    #[test]
    fn definitions_on_a_known_series() {
        // Closes double every bar: every log return is ln 2, so rms = ln 2 and the score
        // is n ln2 / (ln2 sqrt(n)) = sqrt(n).
        let candles: Vec<Candle> = (0..150).map(|i| candle(i, 2f64.powi(i as i32), 2f64.powi(i as i32 + 1))).collect();
        let f = features(&candles).unwrap();
        let ln2 = 2f64.ln();
        for (i, b) in f.iter().enumerate() {
            assert!((b.log_return - ln2).abs() < 1e-12);
            assert!((b.realised_vol - ln2).abs() < 1e-12);
            let n = (i + 1).min(TREND_WINDOW_BARS) as f64;
            assert!((b.trend_score - n.sqrt()).abs() < 1e-9, "bar {i}: {}", b.trend_score);
            assert!((b.log_range - (1.001f64 / 0.999).ln() - ln2).abs() < 1e-12);
        }
        // A flat series has no vol and a zero score.
        let flat: Vec<Candle> = (0..10).map(|i| candle(i, 5.0, 5.0)).collect();
        assert!(features(&flat).unwrap().iter().all(|b| b.log_return == 0.0 && b.trend_score == 0.0 && b.realised_vol == 0.0));
    }

    #[test]
    fn causal_a_prefix_gives_the_same_features() {
        let candles: Vec<Candle> =
            (0..300).map(|i| candle(i, 100.0 + (i as f64 * 0.37).sin(), 100.0 + ((i + 1) as f64 * 0.37).sin())).collect();
        let all = features(&candles).unwrap();
        for cut in [1, 19, 20, 101, 250] {
            assert_eq!(features(&candles[..cut]).unwrap(), all[..cut]);
        }
    }

    #[test]
    fn refuses_bad_candles_naming_bar_and_field() {
        let mut c = vec![candle(0, 1.0, 1.1), candle(1, 1.1, 1.2)];
        c[1].close = f64::NAN;
        let err = features(&c).unwrap_err().to_string();
        assert!(err.starts_with("bar 1 (") && err.contains("close must be finite and > 0, got NaN"), "{err}");
        c[1].close = 1.2;
        c[1].open_time = c[0].open_time;
        assert!(matches!(features(&c), Err(RegimeError::NotIncreasing { bar: 1, .. })));
        c[1].open_time = Timestamp(60_000_000_000);
        c[1].high = 0.5;
        assert!(matches!(features(&c), Err(RegimeError::HighBelowLow { bar: 1, .. })));
    }
}
