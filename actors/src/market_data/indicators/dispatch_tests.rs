//! The SIMD copies of the batch kernels (`series::simd_dispatch`: AVX2 + FMA for the
//! recurrences, AVX-512 or AVX2 for Bollinger) against the plain build of the same
//! kernel, bit for bit, on the btcperp file and on random series. On a CPU without the
//! features both sides are the plain build and the tests pass trivially; the CI
//! machine and this one have them. (`f64::mul_add` in the plain build is libm's `fma`,
//! correctly rounded like the instruction; these tests hold it to that.)

use super::testing::btcperp;
use super::{atr, bollinger, macd, rsi, series};
use proptest::prelude::*;
use tradpal_messages::Candle;

/// Bits, any NaN alike (IEEE leaves a NaN's payload unspecified, not the value).
fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() }).collect()
}

/// Runs one kernel both ways (`dispatched`, `plain`), each into fresh rows, and compares.
fn same(what: &str, dispatched: impl Fn(&mut Vec<f64>), plain: impl Fn(&mut Vec<f64>)) -> Result<(), TestCaseError> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    dispatched(&mut a);
    plain(&mut b);
    prop_assert_eq!(bits(&a), bits(&b), "{}", what);
    Ok(())
}

/// Every dispatched kernel against its plain build on `values` (as closes; the candles
/// for ATR) at `period`.
fn check_all(values: &[f64], candles: &[Candle], period: usize) -> Result<(), TestCaseError> {
    same("ema", |o| series::push_ema(values, period, o), |o| series::push_ema_generic(values, period, o))?;
    same("rsi", |o| rsi::push_rsi(values, period, o), |o| rsi::push_rsi_generic(values, period, o))?;
    same("atr", |o| atr::push_atr(candles, period, o), |o| atr::push_atr_generic(candles, period, o))?;
    let field = |f: fn(&Candle) -> f64| candles.iter().map(f).collect::<Vec<_>>();
    let (high, low, close) = (field(|c| c.high), field(|c| c.low), field(|c| c.close));
    same("atr hlc", |o| atr::push_atr_hlc(&high, &low, &close, period, o), |o| atr::push_atr_hlc_generic(&high, &low, &close, period, o))?;
    let periods = (period, period + 3, period.div_ceil(2));
    let macd_rows = |dispatched: bool| {
        let [mut l, mut s, mut h] = [Vec::new(), Vec::new(), Vec::new()];
        match dispatched {
            true => macd::push_macd(values, periods, &mut l, &mut s, &mut h),
            false => macd::push_macd_generic(values, periods, &mut l, &mut s, &mut h),
        }
        [l, s, h].map(|rows| bits(&rows))
    };
    prop_assert_eq!(macd_rows(true), macd_rows(false), "macd");
    for k in [2.0, 0.5] {
        let (mut a, mut b) = (bollinger::Rows::default(), bollinger::Rows::default());
        bollinger::push_bands(values, period, k, &mut a);
        bollinger::push_bands_generic::<{ series::LANES }>(values, period, k, &mut b);
        let rows = |r: &bollinger::Rows| [&r.upper, &r.middle, &r.lower, &r.percent_b, &r.width].map(|v| bits(v));
        prop_assert_eq!(rows(&a), rows(&b), "bollinger k {}", k);
    }
    Ok(())
}

#[test]
fn simd_copies_equal_the_plain_build_on_btcperp() {
    let candles = btcperp();
    let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
    for period in [1, 2, 9, 14, 20, 33] {
        check_all(&closes, candles, period).unwrap();
    }
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![12 => 1.0f64..1e5, 2 => -1e3f64..1e3, 1 => Just(0.0), 1 => Just(-0.0), 1 => Just(f64::NAN), 1 => prop::num::f64::NORMAL]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn simd_copies_equal_the_plain_build_on_random_series(
        rows in prop::collection::vec((value(), value(), value()), 0..200),
        period in 1usize..40,
    ) {
        let candles: Vec<Candle> = rows
            .iter()
            .map(|&(close, spread, volume)| Candle {
                open_time: tradpal_messages::Timestamp(0),
                open: close,
                high: close + spread.abs(),
                low: close - spread.abs(),
                close,
                volume,
            })
            .collect();
        let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
        check_all(&closes, &candles, period)?;
    }
}
