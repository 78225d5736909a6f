//! Every indicator at its default parameters, as named columns aligned with the candles.
//!
//! For callers that want "all the features" at once (the CLI prints it as JSON, the HTTP
//! API returns it, ML builds features from it). Columns are [`Column`]s, `None` (JSON
//! `null`) during each indicator's warm-up; a `BTreeMap` keeps the column order stable,
//! so the JSON is byte-for-byte reproducible.

use super::{atr_column, bollinger_columns, ema_column, macd_columns, rsi_column, sma_column, volatility, volume_columns};
use super::{Atr, Bollinger, Column, Ema, Macd, Rsi, Sma, Volatility, VolumeFeatures};
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
    pub columns: BTreeMap<String, Column>,
}

impl IndicatorTable {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.get(name)
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
/// threads. The multi-output indicators (Bollinger, MACD, volume) fill all their columns
/// in one loop; the one-bar log returns are computed once, for both `log_return_1` and
/// `volatility_20` (the same expression in both), straight into `log_return_1`'s rows.
///
/// The columns are [`Column`]s, 8 bytes a row: writing 17 columns of `Option<f64>` (16
/// bytes a row) was most of the time.
pub fn compute_all(candles: &[Candle]) -> IndicatorTable {
    let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
    let closes = closes.as_slice();
    let (columns, open_time) = std::thread::scope(|s| {
        let parts =
            [s.spawn(|| band_columns(closes)), s.spawn(|| chain_columns(candles, closes)), s.spawn(|| average_columns(candles, closes))];
        let mut columns = return_columns(closes);
        let open_time = candles.iter().map(|c| c.open_time).collect();
        for part in parts {
            match part.join() {
                Ok(more) => columns.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (columns, open_time)
    });
    let columns = columns.into_iter().map(|(name, values)| (name.to_string(), values)).collect();
    IndicatorTable { open_time, columns }
}

type Columns = Vec<(&'static str, Column)>;

/// The five Bollinger columns.
fn band_columns(closes: &[f64]) -> Columns {
    let b = bollinger_columns(closes, Bollinger::DEFAULT_PERIOD, Bollinger::DEFAULT_K).expect("default parameters");
    vec![("bb_upper", b.upper), ("bb_middle", b.middle), ("bb_lower", b.lower), ("bb_percent_b", b.percent_b), ("bb_width", b.width)]
}

/// The recurrences: MACD's three EMAs, RSI's and ATR's Wilder averages (each a chain of
/// dependent operations, bound by their latency, so they share a thread well). ATR reads
/// the candles: extracting highs and lows first for `atr_column_hlc` would read them too.
fn chain_columns(candles: &[Candle], closes: &[f64]) -> Columns {
    let (fast, slow, signal) = Macd::DEFAULT_PERIODS;
    let m = macd_columns(closes, fast, slow, signal).expect("default periods");
    vec![
        ("macd_line", m.line),
        ("macd_signal", m.signal),
        ("macd_hist", m.histogram),
        ("rsi_14", rsi_column(closes, Rsi::DEFAULT_PERIOD).expect("default period")),
        ("atr_14", atr_column(candles, Atr::DEFAULT_PERIOD).expect("default period")),
    ]
}

/// SMA and EMA of the closes, and the volume features.
fn average_columns(candles: &[Candle], closes: &[f64]) -> Columns {
    let volumes: Vec<f64> = candles.iter().map(|c| c.volume).collect();
    let v = volume_columns(&volumes, VolumeFeatures::DEFAULT_PERIOD).expect("default period");
    vec![
        ("sma_20", sma_column(closes, Sma::DEFAULT_PERIOD).expect("default period")),
        ("ema_20", ema_column(closes, Ema::DEFAULT_PERIOD).expect("default period")),
        ("volume_sma_20", v.sma),
        ("volume_ratio_20", v.ratio),
    ]
}

/// Returns and volatility (one logarithm a bar, shared: written once, as
/// `log_return_1`'s rows, which `volatility_20` reads).
fn return_columns(closes: &[f64]) -> Columns {
    let len = closes.len();
    let mut log_rows = Column::rows(len, 1);
    log_rows.extend(closes.windows(2).map(|w| (w[1] / w[0]).ln()));
    let volatility = volatility::from_log_returns(len, &log_rows[len.min(1)..], Volatility::DEFAULT_PERIOD);
    let simple = Column::build(len, 1, |out| out.extend(closes.windows(2).map(|w| w[1] / w[0] - 1.0)));
    vec![("volatility_20", volatility), ("return_1", simple), ("log_return_1", Column::new(1, log_rows))]
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
        let warm = |name: &str| warm_up(&table.column(name).unwrap().to_options());
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
                table.column(name).unwrap().iter().skip(n).all(|v| v.is_some_and(f64::is_finite)),
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
                assert_bits_eq(&values, &table.column(column).unwrap().to_options());
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
