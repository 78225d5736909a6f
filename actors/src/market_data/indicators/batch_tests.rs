//! The batch functions (`series.rs` kernels) against the incremental structs, bit for
//! bit, on random series: every length around the kernels' lane width and the warm-ups,
//! random periods, and values that include zeros of both signs, infinities and NaN.
//!
//! Both forms of every batch function are checked: the `Vec<Option<f64>>` one and the
//! [`Column`] one (`sma_column`, `bollinger_columns`, ...).
//!
//! Equality is on `f64::to_bits` (so `0.0` and `-0.0` differ), except that any NaN
//! equals any NaN: IEEE and Rust leave a NaN's payload unspecified, the value is not.

use super::series::OLDEST_FIRST_PERIOD_MAX;
use super::*;
use proptest::prelude::*;
use tradpal_messages::{Candle, Timestamp};

/// The bits of `v`, every NaN alike.
fn bits(v: Option<f64>) -> Option<u64> {
    v.map(|x| if x.is_nan() { f64::NAN.to_bits() } else { x.to_bits() })
}

fn assert_same(what: &str, batch: &[Option<f64>], incremental: &[Option<f64>]) -> Result<(), TestCaseError> {
    prop_assert_eq!(batch.len(), incremental.len(), "{}: lengths", what);
    for (i, (b, s)) in batch.iter().zip(incremental).enumerate() {
        prop_assert_eq!(bits(*b), bits(*s), "{} at {}: batch {:?}, incremental {:?}", what, i, b, s);
    }
    Ok(())
}

/// One field of a struct output, as a column.
fn field<T: Copy>(series: &[Option<T>], f: impl Fn(T) -> Option<f64>) -> Vec<Option<f64>> {
    series.iter().map(|o| o.and_then(&f)).collect()
}

/// Mostly price-like values, sometimes the awkward ones.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => 1.0f64..1e5,
        2 => -1e3f64..1e3,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => prop::num::f64::NORMAL,
    ]
}

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(value(), 0..90)
}

fn candles(values: &[(f64, f64, f64)]) -> Vec<Candle> {
    values
        .iter()
        .enumerate()
        .map(|(i, &(close, spread, volume))| Candle {
            open_time: Timestamp(i as i64 * 60_000_000_000),
            open: close,
            high: close + spread.abs(),
            low: close - spread.abs(),
            close,
            volume,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn price_indicators_match_their_structs(values in series(), period in 1usize..30) {
        let incremental = run(&mut Sma::new(period).unwrap(), &values);
        assert_same("sma", &sma(&values, period).unwrap(), &incremental)?;
        assert_same("sma column", &sma_column(&values, period).unwrap().to_options(), &incremental)?;
        let incremental = run(&mut Ema::new(period).unwrap(), &values);
        assert_same("ema", &ema(&values, period).unwrap(), &incremental)?;
        assert_same("ema column", &ema_column(&values, period).unwrap().to_options(), &incremental)?;
        let incremental = run(&mut Rsi::new(period).unwrap(), &values);
        assert_same("rsi", &rsi(&values, period).unwrap(), &incremental)?;
        assert_same("rsi column", &rsi_column(&values, period).unwrap().to_options(), &incremental)?;
        if period >= 2 {
            let incremental = run(&mut Volatility::new(period).unwrap(), &values);
            assert_same("volatility", &volatility(&values, period).unwrap(), &incremental)?;
            assert_same("volatility column", &volatility_column(&values, period).unwrap().to_options(), &incremental)?;
        }
        let mut r = Returns::new(period).unwrap();
        let (batch, incremental) = (returns(&values, period).unwrap(), run(&mut r, &values));
        assert_same("returns simple", &field(&batch, |o| Some(o.simple)), &field(&incremental, |o| Some(o.simple)))?;
        assert_same("returns log", &field(&batch, |o| Some(o.log)), &field(&incremental, |o| Some(o.log)))?;
        let mut v = VolumeFeatures::new(period).unwrap();
        let (batch, incremental) = (volume_features(&values, period).unwrap(), run(&mut v, &values));
        assert_same("volume sma", &field(&batch, |o| Some(o.sma)), &field(&incremental, |o| Some(o.sma)))?;
        assert_same("volume ratio", &field(&batch, |o| Some(o.ratio)), &field(&incremental, |o| Some(o.ratio)))?;
        let columns = volume_columns(&values, period).unwrap();
        assert_same("volume sma column", &columns.sma.to_options(), &field(&incremental, |o| Some(o.sma)))?;
        assert_same("volume ratio column", &columns.ratio.to_options(), &field(&incremental, |o| Some(o.ratio)))?;
    }

    /// Windows longer than `OLDEST_FIRST_PERIOD_MAX` take exact sums (`exact.rs`): the
    /// batch kernels' running integer sums and the structs' window sums must still agree
    /// to the bit, awkward values included (a NORMAL value spans the whole exponent range:
    /// those series take the window-by-window path).
    #[test]
    fn long_windows_match_their_structs(
        values in prop::collection::vec(value(), 0..300),
        period in (OLDEST_FIRST_PERIOD_MAX + 1)..(OLDEST_FIRST_PERIOD_MAX + 120),
    ) {
        let incremental = run(&mut Sma::new(period).unwrap(), &values);
        assert_same("sma", &sma(&values, period).unwrap(), &incremental)?;
        assert_same("sma column", &sma_column(&values, period).unwrap().to_options(), &incremental)?;
        let incremental = run(&mut Volatility::new(period).unwrap(), &values);
        assert_same("volatility column", &volatility_column(&values, period).unwrap().to_options(), &incremental)?;
        let mut v = VolumeFeatures::new(period).unwrap();
        let (batch, incremental) = (volume_features(&values, period).unwrap(), run(&mut v, &values));
        assert_same("volume sma", &field(&batch, |o| Some(o.sma)), &field(&incremental, |o| Some(o.sma)))?;
        let mut b = Bollinger::new(period, 2.0).unwrap();
        let (c, incremental) = (bollinger_columns(&values, period, 2.0).unwrap(), run(&mut b, &values));
        assert_same("bb middle column", &c.middle.to_options(), &field(&incremental, |o| Some(o.middle)))?;
        assert_same("bb upper column", &c.upper.to_options(), &field(&incremental, |o| Some(o.upper)))?;
        assert_same("bb %b column", &c.percent_b.to_options(), &field(&incremental, |o| Some(o.percent_b)))?;
    }

    #[test]
    fn bollinger_matches_its_struct(values in series(), period in 1usize..30, k in prop_oneof![Just(2.0), 0.0f64..5.0]) {
        let mut b = Bollinger::new(period, k).unwrap();
        let (batch, incremental) = (bollinger(&values, period, k).unwrap(), run(&mut b, &values));
        assert_same("bb upper", &field(&batch, |o| Some(o.upper)), &field(&incremental, |o| Some(o.upper)))?;
        assert_same("bb middle", &field(&batch, |o| Some(o.middle)), &field(&incremental, |o| Some(o.middle)))?;
        assert_same("bb lower", &field(&batch, |o| Some(o.lower)), &field(&incremental, |o| Some(o.lower)))?;
        assert_same("bb %b", &field(&batch, |o| Some(o.percent_b)), &field(&incremental, |o| Some(o.percent_b)))?;
        assert_same("bb width", &field(&batch, |o| Some(o.width)), &field(&incremental, |o| Some(o.width)))?;
        let c = bollinger_columns(&values, period, k).unwrap();
        assert_same("bb upper column", &c.upper.to_options(), &field(&incremental, |o| Some(o.upper)))?;
        assert_same("bb middle column", &c.middle.to_options(), &field(&incremental, |o| Some(o.middle)))?;
        assert_same("bb lower column", &c.lower.to_options(), &field(&incremental, |o| Some(o.lower)))?;
        assert_same("bb %b column", &c.percent_b.to_options(), &field(&incremental, |o| Some(o.percent_b)))?;
        assert_same("bb width column", &c.width.to_options(), &field(&incremental, |o| Some(o.width)))?;
    }

    #[test]
    fn macd_matches_its_struct(values in series(), fast in 1usize..15, longer in 1usize..15, signal in 1usize..12) {
        let slow = fast + longer;
        let mut m = Macd::new(fast, slow, signal).unwrap();
        let (batch, incremental) = (macd(&values, fast, slow, signal).unwrap(), run(&mut m, &values));
        let defined = |s: &[Option<MacdOutput>]| s.iter().map(Option::is_some).collect::<Vec<_>>();
        prop_assert_eq!(defined(&batch), defined(&incremental));
        assert_same("macd line", &field(&batch, |o| Some(o.line)), &field(&incremental, |o| Some(o.line)))?;
        assert_same("macd signal", &field(&batch, |o| o.signal), &field(&incremental, |o| o.signal))?;
        assert_same("macd hist", &field(&batch, |o| o.histogram), &field(&incremental, |o| o.histogram))?;
        let c = macd_columns(&values, fast, slow, signal).unwrap();
        assert_same("macd line column", &c.line.to_options(), &field(&incremental, |o| Some(o.line)))?;
        assert_same("macd signal column", &c.signal.to_options(), &field(&incremental, |o| o.signal))?;
        assert_same("macd hist column", &c.histogram.to_options(), &field(&incremental, |o| o.histogram))?;
    }

    #[test]
    fn atr_matches_its_struct(values in prop::collection::vec((value(), value(), value()), 0..60), period in 1usize..25) {
        let candles = candles(&values);
        let mut a = Atr::new(period).unwrap();
        let incremental: Vec<_> = candles.iter().map(|&c| a.update(c)).collect();
        assert_same("atr", &atr(&candles, period).unwrap(), &incremental)?;
        assert_same("atr column", &atr_column(&candles, period).unwrap().to_options(), &incremental)?;
    }

    #[test]
    fn the_table_matches_the_default_structs(values in prop::collection::vec((value(), value(), value()), 0..70)) {
        let candles = candles(&values);
        let table = compute_all(&candles);
        let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
        let volumes: Vec<f64> = candles.iter().map(|c| c.volume).collect();
        let mut atr = Atr::default();
        let atr: Vec<_> = candles.iter().map(|&c| atr.update(c)).collect();
        let macd = run(&mut Macd::default(), &closes);
        let bands = run(&mut Bollinger::default(), &closes);
        let returns = run(&mut Returns::default(), &closes);
        let volume = run(&mut VolumeFeatures::default(), &volumes);
        let want: [(&str, Vec<Option<f64>>); 17] = [
            ("sma_20", run(&mut Sma::default(), &closes)),
            ("ema_20", run(&mut Ema::default(), &closes)),
            ("rsi_14", run(&mut Rsi::default(), &closes)),
            ("atr_14", atr),
            ("volatility_20", run(&mut Volatility::default(), &closes)),
            ("macd_line", field(&macd, |o| Some(o.line))),
            ("macd_signal", field(&macd, |o| o.signal)),
            ("macd_hist", field(&macd, |o| o.histogram)),
            ("bb_upper", field(&bands, |o| Some(o.upper))),
            ("bb_middle", field(&bands, |o| Some(o.middle))),
            ("bb_lower", field(&bands, |o| Some(o.lower))),
            ("bb_percent_b", field(&bands, |o| Some(o.percent_b))),
            ("bb_width", field(&bands, |o| Some(o.width))),
            ("return_1", field(&returns, |o| Some(o.simple))),
            ("log_return_1", field(&returns, |o| Some(o.log))),
            ("volume_sma_20", field(&volume, |o| Some(o.sma))),
            ("volume_ratio_20", field(&volume, |o| Some(o.ratio))),
        ];
        prop_assert_eq!(table.columns.len(), want.len());
        for (name, column) in want {
            assert_same(name, &table.column(name).unwrap().to_options(), &column)?;
        }
    }
}

/// The incremental struct over `values`, one output per value.
fn run<I: Indicator<Input = f64>>(indicator: &mut I, values: &[f64]) -> Vec<Option<I::Output>> {
    values.iter().map(|&x| indicator.update(x)).collect()
}

#[test]
fn the_comparison_tells_signed_zeros_apart() {
    // The helper must be able to fail: -0.0 == 0.0 as floats, not as bits.
    let outcome = assert_same("zeros", &[Some(0.0)], &[Some(-0.0)]);
    assert!(outcome.is_err());
    assert!(assert_same("nan", &[Some(f64::NAN)], &[Some(-f64::NAN)]).is_ok());
}
