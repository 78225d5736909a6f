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
//! - `vol_score`: the z-score of `ln(realised_vol)` against its own last
//!   [`VOL_HISTORY_BARS`] values (this bar's included): how unusual the current volatility
//!   is for this market, in standard deviations of its own history. Scale-free (a ratio of
//!   vols), so it means the same for BTC minutes and GOOG days. 0 until the history holds
//!   [`VOL_HISTORY_MIN_BARS`] values or while it has no spread (under 1e-6 in log vol).
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
/// History the volatility score compares the realised vol with, in bars.
pub const VOL_HISTORY_BARS: usize = 1_000;
/// Fewest realised-vol values before the volatility score is not 0.
pub const VOL_HISTORY_MIN_BARS: usize = 50;
/// `ln` of the smallest realised vol the score uses (a flat stretch has vol 0).
const LN_VOL_FLOOR: f64 = -46.0; // ~1e-20
/// Least standard deviation of the log vol history for the score to be other than 0.
const LN_VOL_SPREAD_MIN: f64 = 1e-6;

/// The features of one bar (see the module doc for the definitions).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BarFeatures {
    pub open_time: Timestamp,
    pub log_return: f64,
    pub realised_vol: f64,
    pub trend_score: f64,
    pub log_range: f64,
    /// Absent (0) in features serialised before it existed.
    #[serde(default)]
    pub vol_score: f64,
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

/// A ring of the most recent values (log returns; log realised vols), fixed capacity.
#[derive(Debug, Clone)]
struct Ring {
    values: Vec<f64>,
    next: usize,
    capacity: usize,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Self { values: Vec::with_capacity(capacity), next: 0, capacity }
    }

    fn push(&mut self, v: f64) {
        if self.values.len() < self.capacity {
            self.values.push(v);
        } else {
            self.values[self.next] = v;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// The last `n` values, oldest first (`n` <= held).
    fn last(&self, n: usize) -> impl Iterator<Item = f64> + '_ {
        let len = self.values.len();
        let n = n.min(len);
        let newest = if len < self.capacity { len } else { self.next + self.capacity };
        (newest - n..newest).map(move |i| self.values[i % len])
    }
}

/// z-score of the newest value of `ring` against all it holds (0 while too few or flat).
fn z_of_newest(ring: &Ring, newest: f64) -> f64 {
    let n = ring.values.len();
    if n < VOL_HISTORY_MIN_BARS {
        return 0.0;
    }
    let mean = ring.values.iter().sum::<f64>() / n as f64;
    let var = ring.values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let z = (newest - mean) / var.sqrt();
    // A spread of rounding noise (a perfectly regular series) is no spread.
    if var.sqrt() > LN_VOL_SPREAD_MIN && z.is_finite() {
        z
    } else {
        0.0
    }
}

/// Computes [`BarFeatures`] bar by bar; [`features`] runs it over a series.
#[derive(Debug, Clone)]
pub struct FeatureExtractor {
    ring: Ring,
    /// `ln(realised_vol)` of the last [`VOL_HISTORY_BARS`] bars.
    vol_history: Ring,
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
        Self { ring: Ring::new(TREND_WINDOW_BARS), vol_history: Ring::new(VOL_HISTORY_BARS), previous: None, bars: 0 }
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
        let realised_vol = vol_ms.sqrt();
        let ln_vol = if realised_vol > 0.0 { realised_vol.ln().max(LN_VOL_FLOOR) } else { LN_VOL_FLOOR };
        self.vol_history.push(ln_vol);
        let vol_score = z_of_newest(&self.vol_history, ln_vol);
        Ok(BarFeatures { open_time: c.open_time, log_return, realised_vol, trend_score, log_range: (c.high / c.low).ln(), vol_score })
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
        assert!(features(&flat).unwrap().iter().all(|b| b.vol_score == 0.0));
    }

    #[test]
    fn vol_score_is_high_after_calm_and_scale_free() {
        // 300 calm bars (moves of 0.1%), then 60 wild ones (2%): the score rises well
        // above 0 once the 20-bar vol is wild, and the same path at another price level
        // gives the same scores.
        let path = |scale: f64| -> Vec<Candle> {
            let mut close = 100.0 * scale;
            (0..360)
                .map(|i| {
                    let step = if i < 300 { 0.001 } else { 0.02 };
                    let open = close;
                    close *= if i % 2 == 0 { 1.0 + step } else { 1.0 / (1.0 + step) };
                    candle(i, open, close)
                })
                .collect()
        };
        let a = features(&path(1.0)).unwrap();
        let b = features(&path(1e-3)).unwrap();
        assert!(a[..VOL_HISTORY_MIN_BARS - 1].iter().all(|f| f.vol_score == 0.0));
        assert!(a[359].vol_score > 2.0, "{}", a[359].vol_score);
        assert!(a[250].vol_score.abs() < 1.0, "{}", a[250].vol_score);
        for (x, y) in a.iter().zip(&b) {
            assert!((x.vol_score - y.vol_score).abs() < 1e-6);
        }
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
