//! Technical indicators: one implementation each, usable bar by bar or over a series.
//!
//! Every indicator is an incremental struct implementing [`Indicator`]: `update` takes the
//! next value (or candle) and returns `None` during warm-up, then a value every bar. The
//! batch function of each indicator computes the whole series with the same floating-point
//! operations in the same order, laid out for speed (`series.rs`; the sum of a window longer
//! than 128 values is exact, so any order gives its bits: `exact.rs`), so the live path (one
//! bar at a time) and the backtest path (whole series) do not disagree, to the bit
//! (`batch_tests.rs` checks every indicator on random series, each file on real data).
//! Each batch function comes in two forms: `sma` returns `Vec<Option<f64>>`, `sma_column`
//! a [`Column`] (plain `f64`s and a warm-up count: half the bytes, so faster; what
//! [`compute_all`] uses).
//! Each file documents its definition: smoothing, warm-up length (how many
//! leading `None`s), and how the first value is seeded, since libraries differ on exactly
//! these points.
//!
//! Inputs are assumed to be validated candles (finite, prices > 0). Other inputs never
//! panic; NaN propagates as IEEE arithmetic says.
//!
//! # Layout
//!
//! - `window.rs`: the fixed-length ring buffer behind every rolling-window indicator
//!   (a window of up to 128 values summed in time order, a longer one exactly; squared
//!   deviations in time order; no running-sum drift).
//! - `exact.rs`: exact sums of windows longer than 128 values (the exact sum rounded
//!   once), one integer add and subtract a bar in the batch kernels whatever the period,
//!   the same bits as `window.rs` takes for each window (`exact_tests.rs`: three
//!   independent paths to the sum, against each other and hand-worked cases).
//! - `wilder.rs`: Wilder's smoothing (seed = simple mean, then
//!   `prev.mul_add((n-1)/n, x/n)`, one fused multiply-add a bar), shared by RSI and ATR.
//! - `sma.rs`, `ema.rs`, `rsi.rs`, `macd.rs`, `bollinger.rs`, `atr.rs`,
//!   `volatility.rs`, `returns.rs`, `volume.rs`: one indicator each.
//! - `series.rs`: the batch functions' kernels (rolling sums and squared deviations
//!   several windows at a time, the EMA and Wilder recurrences without per-bar state
//!   machines) and
//!   `simd_dispatch`, which compiles a kernel again for AVX2 + FMA or AVX-512 and picks
//!   the copy the CPU runs (the same bits: `dispatch_tests.rs`).
//! - `split.rs`: long series with long windows (a window summed oldest first, or its
//!   squared deviations, are `period` adds) split into runs of windows on several
//!   threads, the same bits.
//! - `column.rs`: [`Column`], one output series as `f64`s after a warm-up count; it
//!   serializes as the `Vec<Option<f64>>` it stands for.
//! - `table.rs`: [`compute_all`], every indicator at its default parameters as named
//!   columns ([`IndicatorTable`]), for the CLI and the HTTP API.

pub mod atr;
pub mod bollinger;
pub mod column;
pub mod ema;
mod exact;
pub mod macd;
pub mod returns;
pub mod rsi;
pub mod series;
pub mod sma;
mod split;
pub mod table;
pub mod volatility;
pub mod volume;
mod wilder;
mod window;

#[cfg(test)]
mod batch_tests;
#[cfg(test)]
mod dispatch_tests;

pub use atr::{atr, atr_column, atr_column_hlc, Atr};
pub use bollinger::{bollinger, bollinger_columns, Bollinger, BollingerColumns, BollingerOutput};
pub use column::{Column, ColumnShapeError};
pub use ema::{ema, ema_column, Ema};
pub use macd::{macd, macd_columns, Macd, MacdColumns, MacdOutput};
pub use returns::{returns, Returns, ReturnsOutput};
pub use rsi::{rsi, rsi_column, Rsi};
pub use sma::{sma, sma_column, Sma};
pub use table::{compute_all, IndicatorTable};
pub use volatility::{volatility, volatility_column, Volatility};
pub use volume::{volume_columns, volume_features, VolumeColumns, VolumeFeatures, VolumeOutput};

/// Longest look-back accepted, in bars: bounds the memory a window allocates, so a
/// request for an absurd period is an error instead of an allocation failure.
pub const PERIOD_BARS_MAX: usize = 100_000;

/// An indicator fed one input at a time.
pub trait Indicator {
    /// What one step consumes: a price (`f64`) or a whole [`Candle`](tradpal_messages::Candle).
    type Input: Copy;
    type Output: Copy;

    /// Feeds the next input; `None` while warming up.
    fn update(&mut self, input: Self::Input) -> Option<Self::Output>;
}

/// Runs `indicator` over `inputs` from its current state: the batch form of every
/// indicator, one output per input.
pub fn run<I: Indicator>(mut indicator: I, inputs: impl IntoIterator<Item = I::Input>) -> Vec<Option<I::Output>> {
    inputs.into_iter().map(|input| indicator.update(input)).collect()
}

/// A parameter outside what an indicator can compute.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    #[error("{indicator}: period {period} is outside 1..={max} bars (at least {min})")]
    Period { indicator: &'static str, period: usize, min: usize, max: usize },
    #[error("macd: the fast period {fast} must be shorter than the slow period {slow}")]
    FastNotShorter { fast: usize, slow: usize },
    #[error("bollinger: the band width {k} standard deviations must be finite and >= 0")]
    Deviations { k: f64 },
    #[error("{indicator}: the input series differ in length ({lengths:?})")]
    Lengths { indicator: &'static str, lengths: [usize; 3] },
}

/// Checks `period` is in `min..=PERIOD_BARS_MAX`.
pub(crate) fn check_period(indicator: &'static str, period: usize, min: usize) -> Result<usize, IndicatorError> {
    if (min..=PERIOD_BARS_MAX).contains(&period) {
        Ok(period)
    } else {
        Err(IndicatorError::Period { indicator, period, min, max: PERIOD_BARS_MAX })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the indicator tests.
    use crate::market_data::testdata;
    use std::sync::OnceLock;
    use tradpal_messages::{Candle, Timeframe};

    /// The btcperp-1m candles, read once per test binary.
    pub fn btcperp() -> &'static [Candle] {
        static CANDLES: OnceLock<Vec<Candle>> = OnceLock::new();
        CANDLES.get_or_init(|| testdata::candles("btcperp-1m.csv", Timeframe::M1))
    }

    pub fn closes() -> Vec<f64> {
        btcperp().iter().map(|c| c.close).collect()
    }

    /// A xorshift random walk of `n` values from `level` (steps of up to 1 %), with every
    /// value whose draw is a multiple of 97 multiplied by `spike`: sums whose order
    /// matters to the last bit, and ranges as wide as asked.
    pub fn walk(n: usize, seed: u64, level: f64, spike: f64) -> Vec<f64> {
        let mut x = seed | 1;
        let mut v = level;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v *= 1.0 + ((x % 2001) as f64 - 1000.0) * 1e-5;
                if x.is_multiple_of(97) {
                    v * spike
                } else {
                    v
                }
            })
            .collect()
    }

    /// Asserts two series are identical bit for bit (NaN included) and `None` alike.
    pub fn assert_bits_eq(a: &[Option<f64>], b: &[Option<f64>]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(x.map(f64::to_bits), y.map(f64::to_bits), "index {i}: {x:?} vs {y:?}");
        }
    }

    /// Asserts `got` matches `want` within `tolerance`, `None`s in the same places.
    pub fn assert_close(got: &[Option<f64>], want: &[Option<f64>], tolerance: f64) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            match (g, w) {
                (Some(g), Some(w)) => assert!((g - w).abs() <= tolerance, "index {i}: got {g}, want {w}"),
                (None, None) => {}
                _ => panic!("index {i}: got {g:?}, want {w:?}"),
            }
        }
    }

    /// Number of leading `None`s.
    pub fn warm_up<T>(series: &[Option<T>]) -> usize {
        series.iter().take_while(|v| v.is_none()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tradpal_messages::{Candle, Timestamp};

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![3 => 0.1f64..1e6, 1 => prop::num::f64::ANY, 1 => Just(0.0), 1 => Just(f64::NAN)]
    }

    proptest! {
        #[test]
        fn any_values_never_panic(values in proptest::collection::vec((any_value(), any_value(), any_value()), 0..80)) {
            let candles: Vec<_> = values
                .iter()
                .enumerate()
                .map(|(i, &(close, spread, volume))| Candle {
                    open_time: Timestamp(i as i64),
                    open: close,
                    high: close + spread,
                    low: close - spread,
                    close,
                    volume,
                })
                .collect();
            let table = compute_all(&candles);
            prop_assert!(table.columns.values().all(|c| c.len() == candles.len()));
        }

        #[test]
        fn any_parameters_are_accepted_or_refused(
            period in any::<usize>(),
            other in 0usize..300,
            k in prop::num::f64::ANY,
        ) {
            for p in [period, other] {
                let ok = (1..=PERIOD_BARS_MAX).contains(&p);
                prop_assert_eq!(Sma::new(p).is_ok(), ok);
                prop_assert_eq!(Ema::new(p).is_ok(), ok);
                prop_assert_eq!(Rsi::new(p).is_ok(), ok);
                prop_assert_eq!(Atr::new(p).is_ok(), ok);
                prop_assert_eq!(Returns::new(p).is_ok(), ok);
                prop_assert_eq!(VolumeFeatures::new(p).is_ok(), ok);
                prop_assert_eq!(Volatility::new(p).is_ok(), ok && p >= 2);
                prop_assert_eq!(Bollinger::new(p, k).is_ok(), ok && k.is_finite() && k >= 0.0);
                prop_assert_eq!(Macd::new(other, p, other).is_ok(), ok && (1..p).contains(&other));
            }
        }
    }
}
