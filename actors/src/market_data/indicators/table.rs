//! Every indicator at its default parameters, as named columns aligned with the candles.
//!
//! For callers that want "all the features" at once (the CLI prints it as JSON, the HTTP
//! API returns it, ML builds features from it). Columns are `Vec<Option<f64>>`, `None`
//! (JSON `null`) during each indicator's warm-up; a `BTreeMap` keeps the column order
//! stable, so the JSON is byte-for-byte reproducible.

use super::{atr, bollinger, ema, macd, rsi, series, sma, volatility, volume};
use super::{Atr, Bollinger, Ema, Macd, Rsi, Sma, Volatility, VolumeFeatures};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tradpal_messages::{Candle, Timestamp};

/// The column names [`compute_all`] fills, in the order the map iterates them.
pub const COLUMNS: [&str; 17] = [
    "atr_14",
    "bb_lower",
    "bb_middle",
    "bb_percent_b",
    "bb_upper",
    "bb_width",
    "ema_20",
    "log_return_1",
    "macd_hist",
    "macd_line",
    "macd_signal",
    "return_1",
    "rsi_14",
    "sma_20",
    "volatility_20",
    "volume_ratio_20",
    "volume_sma_20",
];

/// Indicator columns for a candle series: row i of every column belongs to `open_time[i]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IndicatorTable {
    pub open_time: Vec<Timestamp>,
    pub columns: BTreeMap<String, Vec<Option<f64>>>,
}

impl IndicatorTable {
    pub fn column(&self, name: &str) -> Option<&[Option<f64>]> {
        self.columns.get(name).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.open_time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open_time.is_empty()
    }
}

/// Computes every indicator over `candles` at the default parameters (closes for the
/// price indicators, the candle for ATR, volumes for the volume features), through the
/// batch loops (bit-identical to the incremental structs), in four parts on up to four
/// threads. The multi-output indicators (Bollinger, MACD, volume) write each output
/// straight into its column, without a vector of structs in between; the one-bar log
/// returns are computed once, for both `log_return_1` and `volatility_20` (the same
/// expression in both).
///
/// Most of the time goes to writing the columns themselves: 17 `Vec<Option<f64>>` of
/// 16 bytes a row.
pub fn compute_all(candles: &[Candle]) -> IndicatorTable {
    let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
    let closes = closes.as_slice();
    let columns = std::thread::scope(|s| {
        let parts = [s.spawn(|| band_columns(closes)), s.spawn(|| macd_columns(closes)), s.spawn(|| average_columns(candles, closes))];
        let mut columns = price_columns(candles, closes);
        for part in parts {
            match part.join() {
                Ok(more) => columns.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        columns
    });
    let columns = columns.into_iter().map(|(name, values)| (name.to_string(), values)).collect();
    IndicatorTable { open_time: candles.iter().map(|c| c.open_time).collect(), columns }
}

type Columns = Vec<(&'static str, Vec<Option<f64>>)>;

/// `N` empty columns with room for `len` rows, each starting with `lead` `None`s.
fn empty_columns<const N: usize>(len: usize, lead: usize) -> [Vec<Option<f64>>; N] {
    std::array::from_fn(|_| {
        let mut column = Vec::with_capacity(len);
        column.extend(std::iter::repeat_n(None, lead.min(len)));
        column
    })
}

/// The five Bollinger columns.
fn band_columns(closes: &[f64]) -> Columns {
    let (period, k) = (Bollinger::DEFAULT_PERIOD, Bollinger::DEFAULT_K);
    let [mut upper, mut middle, mut lower, mut percent_b, mut width] = empty_columns(closes.len(), period - 1);
    bollinger::each_output(closes, period, k, |o| {
        upper.push(Some(o.upper));
        middle.push(Some(o.middle));
        lower.push(Some(o.lower));
        percent_b.push(Some(o.percent_b));
        width.push(Some(o.width));
    });
    vec![("bb_upper", upper), ("bb_middle", middle), ("bb_lower", lower), ("bb_percent_b", percent_b), ("bb_width", width)]
}

/// The three MACD columns (signal and histogram `None` until the signal's warm-up ends).
fn macd_columns(closes: &[f64]) -> Columns {
    let (fast, slow, signal) = Macd::DEFAULT_PERIODS;
    let [mut line, mut signals, mut histogram] = empty_columns(closes.len(), slow - 1);
    macd::each_output(closes, fast, slow, signal, |o| {
        line.push(Some(o.line));
        signals.push(o.signal);
        histogram.push(o.histogram);
    });
    vec![("macd_line", line), ("macd_signal", signals), ("macd_hist", histogram)]
}

/// SMA and EMA of the closes, and the volume features.
fn average_columns(candles: &[Candle], closes: &[f64]) -> Columns {
    let period = VolumeFeatures::DEFAULT_PERIOD;
    let volumes: Vec<f64> = candles.iter().map(|c| c.volume).collect();
    let [mut volume_sma, mut ratio] = empty_columns(volumes.len(), period - 1);
    volume::each_output(&volumes, period, |o| {
        volume_sma.push(Some(o.sma));
        ratio.push(Some(o.ratio));
    });
    vec![
        ("sma_20", sma(closes, Sma::DEFAULT_PERIOD).expect("default period")),
        ("ema_20", ema(closes, Ema::DEFAULT_PERIOD).expect("default period")),
        ("volume_sma_20", volume_sma),
        ("volume_ratio_20", ratio),
    ]
}

/// RSI, ATR, returns and volatility.
fn price_columns(candles: &[Candle], closes: &[f64]) -> Columns {
    let log_returns: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let [mut simple] = empty_columns(closes.len(), 1);
    simple.extend(closes.windows(2).map(|w| Some(w[1] / w[0] - 1.0)));
    vec![
        ("rsi_14", rsi(closes, Rsi::DEFAULT_PERIOD).expect("default period")),
        ("atr_14", atr(candles, Atr::DEFAULT_PERIOD).expect("default period")),
        ("volatility_20", volatility::from_log_returns(closes.len(), &log_returns, Volatility::DEFAULT_PERIOD)),
        ("return_1", simple),
        ("log_return_1", series::with_warm_up(closes.len(), 1, log_returns.iter().copied())),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::{assert_bits_eq, btcperp, warm_up};
    use crate::market_data::indicators::{Indicator, Returns};
    use crate::market_data::testdata;
    use tradpal_messages::Timeframe;

    /// Feeds one candle to every default indicator: the bar-by-bar twin of [`compute_all`],
    /// used by the tests to check the table matches incremental updates.
    #[derive(Default)]
    struct AllIndicators {
        sma: Sma,
        ema: Ema,
        rsi: Rsi,
        atr: Atr,
        volatility: Volatility,
        macd: Macd,
        bands: Bollinger,
        returns: Returns,
        volume: VolumeFeatures,
    }

    impl AllIndicators {
        fn update(&mut self, c: Candle) -> BTreeMap<&'static str, Option<f64>> {
            let macd = self.macd.update(c.close);
            let bands = self.bands.update(c.close);
            let returns = self.returns.update(c.close);
            let volume = self.volume.update(c.volume);
            BTreeMap::from([
                ("sma_20", self.sma.update(c.close)),
                ("ema_20", self.ema.update(c.close)),
                ("rsi_14", self.rsi.update(c.close)),
                ("atr_14", self.atr.update(c)),
                ("volatility_20", self.volatility.update(c.close)),
                ("macd_line", macd.map(|o| o.line)),
                ("macd_signal", macd.and_then(|o| o.signal)),
                ("macd_hist", macd.and_then(|o| o.histogram)),
                ("bb_upper", bands.map(|o| o.upper)),
                ("bb_middle", bands.map(|o| o.middle)),
                ("bb_lower", bands.map(|o| o.lower)),
                ("bb_percent_b", bands.map(|o| o.percent_b)),
                ("bb_width", bands.map(|o| o.width)),
                ("return_1", returns.map(|o| o.simple)),
                ("log_return_1", returns.map(|o| o.log)),
                ("volume_sma_20", volume.map(|o| o.sma)),
                ("volume_ratio_20", volume.map(|o| o.ratio)),
            ])
        }
    }

    #[test]
    fn columns_and_warm_ups() {
        let table = compute_all(btcperp());
        assert_eq!(table.columns.keys().map(String::as_str).collect::<Vec<_>>(), COLUMNS.to_vec());
        assert!(table.columns.values().all(|c| c.len() == table.len()));
        let warm = |name: &str| warm_up(table.column(name).unwrap());
        let expected = [
            ("sma_20", 19),
            ("ema_20", 19),
            ("rsi_14", 14),
            ("atr_14", 14),
            ("volatility_20", 20),
            ("macd_line", 25),
            ("macd_signal", 33),
            ("macd_hist", 33),
            ("bb_upper", 19),
            ("bb_percent_b", 19),
            ("return_1", 1),
            ("log_return_1", 1),
            ("volume_sma_20", 19),
            ("volume_ratio_20", 19),
        ];
        for (name, n) in expected {
            assert_eq!(warm(name), n, "{name}");
            assert!(
                table.column(name).unwrap()[n..].iter().all(|v| v.is_some_and(f64::is_finite)),
                "{name} has a gap or a non-finite value"
            );
        }
    }

    #[test]
    fn table_equals_bar_by_bar_updates_bit_for_bit() {
        for (name, timeframe) in [
            ("btcperp-1m.csv", Timeframe::M1),
            ("altbtc-1m-gaps.csv", Timeframe::M1),
            ("goog-1d.csv", Timeframe::D1),
            ("eurusd-1h.csv", Timeframe::H1),
            ("ethbtc-5m.csv", Timeframe::M5),
            ("ltcbtc-5m.csv", Timeframe::M5),
        ] {
            let candles = testdata::candles(name, timeframe);
            let table = compute_all(&candles);
            let mut all = AllIndicators::default();
            let mut columns: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
            for c in &candles {
                for (column, value) in all.update(*c) {
                    columns.entry(column).or_default().push(value);
                }
            }
            assert_eq!(columns.len(), COLUMNS.len());
            for (column, values) in columns {
                assert_bits_eq(&values, table.column(column).unwrap());
            }
        }
    }

    #[test]
    fn serializes_warm_up_as_null_and_round_trips() {
        let table = compute_all(&btcperp()[..40]);
        let json = serde_json::to_value(&table).unwrap();
        assert_eq!(json["open_time"][0], "2021-12-31T23:01:00Z");
        assert_eq!(json["columns"]["sma_20"][18], serde_json::Value::Null);
        assert!(json["columns"]["sma_20"][19].is_f64());
        let back: IndicatorTable = serde_json::from_value(json).unwrap();
        assert_eq!(back, table);
        assert_eq!(compute_all(&[]).columns.len(), COLUMNS.len());
    }
}
