//! The candle store: every accepted candle per symbol and timeframe, in memory, sorted,
//! rebuilt on start by folding `CandlesIngested` records from the journal.
//!
//! Why in memory: backtests scan millions of bars; a sorted `Vec<Candle>` per series
//! scans at memory speed and answers time ranges by binary search. 1M bars is 48 MB.
//! The journal is the durable copy; nothing here is written anywhere else.
//!
//! Ingest is planned here (pure) and applied only after the journal made it durable:
//! [`CandleStore::plan`] validates incoming rows against the stored history (exact
//! repeats of stored bars are dropped, so re-importing a file changes nothing;
//! conflicting bars and back-fills before the last stored bar are refused), and
//! [`CandleStore::apply`] folds a journaled record in.

use super::csv::{CsvRecord, CsvRow};
use super::rejection::{Field, Problem, Rejection};
use super::resample::{ResampleError, ResampledBar, Resampler};
use super::validate::{ValidationReport, Validator};
use serde::Serialize;
use std::collections::BTreeMap;
use tradpal_messages::{Candle, CandlesIngested, Timeframe, Timestamp};

/// Most bars one range query returns (a page; ask again from `next_start`).
pub const CANDLES_PAGE_MAX: usize = 5_000;

/// One symbol's series at one timeframe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub candles: Vec<Candle>,
}

impl Series {
    fn find(&self, t: Timestamp) -> Option<&Candle> {
        self.candles.binary_search_by_key(&t, |c| c.open_time).ok().map(|i| &self.candles[i])
    }

    /// Index of the first bar opening at or after `t`.
    fn lower_bound(&self, t: Timestamp) -> usize {
        self.candles.partition_point(|c| c.open_time < t)
    }
}

/// A page of bars answering a range query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandlePage {
    pub symbol: String,
    pub timeframe: Timeframe,
    /// The stored timeframe the bars come from (equal to `timeframe` unless resampled).
    pub source_timeframe: Timeframe,
    pub bars: Vec<ResampledBar>,
    /// Open time to ask from for the next page; `None` when this page ends the range.
    pub next_start: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("no candles stored for {symbol}")]
    UnknownSymbol { symbol: String },
    #[error("no stored timeframe of {symbol} can be resampled to {timeframe} (stored: {stored})")]
    NoSource { symbol: String, timeframe: Timeframe, stored: String },
    #[error(transparent)]
    Resample(#[from] ResampleError),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CandleStore {
    series: BTreeMap<(String, Timeframe), Series>,
}

impl CandleStore {
    pub fn series(&self, symbol: &str, timeframe: Timeframe) -> Option<&Series> {
        self.series.get(&(symbol.to_string(), timeframe))
    }

    /// Stored `(symbol, timeframe, bars)`, ordered.
    pub fn summary(&self) -> Vec<(String, Timeframe, usize)> {
        self.series.iter().map(|((s, tf), series)| (s.clone(), *tf, series.candles.len())).collect()
    }

    /// Validates incoming rows (in row order, parse rejections included) against what
    /// is stored. The report's `accepted` bars are new and may be journaled as they are.
    pub fn plan(&self, symbol: &str, timeframe: Timeframe, rows: impl IntoIterator<Item = CsvRecord>) -> ValidationReport {
        let series = self.series(symbol, timeframe);
        let last = series.and_then(|s| s.candles.last()).copied();
        let mut validator = Validator::continuing(timeframe, last);
        let mut known_repeats = 0usize;
        for record in rows {
            let CsvRow { row, line, candle } = match record {
                CsvRecord::Row(r) => r,
                CsvRecord::Rejected(r) => {
                    validator.reject(r);
                    continue;
                }
            };
            let line = (line > 0).then_some(line);
            match (series, last) {
                // Older than the last stored bar: only an exact repeat of history is fine.
                (Some(s), Some(l)) if candle.open_time < l.open_time => match s.find(candle.open_time) {
                    Some(stored) if *stored == candle => known_repeats += 1,
                    Some(_) => validator.reject(Rejection {
                        row,
                        line,
                        field: Some(Field::OpenTime),
                        problem: Problem::ConflictingDuplicate { open_time: candle.open_time },
                    }),
                    None => validator.reject(Rejection {
                        row,
                        line,
                        field: Some(Field::OpenTime),
                        problem: Problem::BeforeLastStored { open_time: candle.open_time, last_stored: l.open_time },
                    }),
                },
                _ => {
                    validator.push(row, line, candle);
                }
            }
        }
        let mut report = validator.finish();
        report.duplicates_dropped += known_repeats;
        report
    }

    /// Folds a journaled record in. The record was planned against this store, so its
    /// bars are newer than the series' last; anything else is a bug and is refused.
    pub fn apply(&mut self, e: &CandlesIngested) -> Result<(), String> {
        let series = self.series.entry((e.symbol.clone(), e.timeframe)).or_default();
        if let (Some(last), Some(first)) = (series.candles.last(), e.candles.first()) {
            if first.open_time <= last.open_time {
                return Err(format!(
                    "{} {}: record starts at {} but the series ends at {}",
                    e.symbol, e.timeframe, first.open_time, last.open_time
                ));
            }
        }
        series.candles.extend_from_slice(&e.candles);
        Ok(())
    }

    /// The stored timeframe to answer `timeframe` from: itself, or the largest stored one
    /// that divides it (fewest bars to resample).
    pub fn source_timeframe(&self, symbol: &str, timeframe: Timeframe) -> Result<Timeframe, StoreError> {
        let stored: Vec<Timeframe> = Timeframe::ALL.into_iter().filter(|tf| self.series(symbol, *tf).is_some()).collect();
        if stored.is_empty() {
            return Err(StoreError::UnknownSymbol { symbol: symbol.to_string() });
        }
        stored
            .iter()
            .rev()
            .copied()
            .find(|tf| tf.seconds() <= timeframe.seconds() && timeframe.seconds() % tf.seconds() == 0)
            .ok_or_else(|| StoreError::NoSource {
                symbol: symbol.to_string(),
                timeframe,
                stored: stored.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
            })
    }

    /// Bars of `timeframe` opening in `[start, end)`, at most `limit` (capped at
    /// [`CANDLES_PAGE_MAX`]). Resampled bars never use data after their close; a last
    /// bar whose period the stored data has not finished is marked `complete: false`.
    pub fn range(
        &self,
        symbol: &str,
        timeframe: Timeframe,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
        limit: usize,
    ) -> Result<CandlePage, StoreError> {
        let source = self.source_timeframe(symbol, timeframe)?;
        let series = self.series(symbol, source).expect("source timeframe is stored");
        let limit = limit.clamp(1, CANDLES_PAGE_MAX);
        let from = series.lower_bound(start.map(|t| ceil_to(t, timeframe)).unwrap_or(Timestamp(i64::MIN)));
        // Whole target bars only: the base slice ends where the first bar at/after `end` opens.
        let to = end.map(|t| series.lower_bound(ceil_to(t, timeframe))).unwrap_or(series.candles.len()).max(from);
        let slice = &series.candles[from..to];
        let mut bars = Vec::with_capacity(limit + 1);
        if source == timeframe {
            bars.extend(slice.iter().take(limit + 1).map(|c| ResampledBar { candle: *c, complete: true, base_bars: 1 }));
        } else {
            let mut resampler = Resampler::new(source, timeframe)?;
            for c in slice {
                bars.extend(resampler.push(*c)?);
                if bars.len() > limit {
                    break;
                }
            }
            if bars.len() <= limit {
                // Data after `to` lies in a later period, which shows this one is over.
                let over = to < series.candles.len();
                bars.extend(resampler.partial().map(|b| ResampledBar { complete: over, ..b }));
            }
        }
        let next_start = if bars.len() > limit { bars.truncate(limit + 1); bars.pop().map(|b| b.candle.open_time) } else { None };
        Ok(CandlePage { symbol: symbol.to_string(), timeframe, source_timeframe: source, bars, next_start })
    }
}

/// `t` rounded up to the next bar boundary of `tf` (itself when aligned).
fn ceil_to(t: Timestamp, tf: Timeframe) -> Timestamp {
    let open = tf.bar_open(t);
    if open == t { t } else { Timestamp(open.0.saturating_add(tf.nanos())) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::DataSource;

    fn bar(minute: i64, price: f64) -> Candle {
        Candle { open_time: Timestamp(minute * 60_000_000_000), open: price, high: price + 1.0, low: price - 1.0, close: price, volume: 1.0 }
    }

    fn rows(candles: &[Candle]) -> Vec<CsvRecord> {
        candles.iter().enumerate().map(|(row, c)| CsvRecord::Row(CsvRow { row, line: row + 2, candle: *c })).collect()
    }

    fn ingest(store: &mut CandleStore, candles: &[Candle]) -> ValidationReport {
        let report = store.plan("BTC/USDT", Timeframe::M1, rows(candles));
        if !report.accepted.is_empty() {
            let e = CandlesIngested { symbol: "BTC/USDT".into(), timeframe: Timeframe::M1, source: DataSource::Csv, candles: report.accepted.clone() };
            store.apply(&e).unwrap();
        }
        report
    }

    #[test]
    fn reimport_is_idempotent_and_conflicts_are_named() {
        let mut store = CandleStore::default();
        let first: Vec<Candle> = (0..10).map(|m| bar(m, 100.0 + m as f64)).collect();
        assert_eq!(ingest(&mut store, &first).accepted.len(), 10);
        let again = ingest(&mut store, &first);
        assert_eq!((again.accepted.len(), again.duplicates_dropped, again.rejected_total), (0, 10, 0));
        let mut changed = first.clone();
        changed[3].close = 100.5;
        let r = store.plan("BTC/USDT", Timeframe::M1, rows(&changed));
        assert_eq!(r.rejected_total, 1);
        assert_eq!(r.rejected[0].line, Some(5));
        assert!(matches!(r.rejected[0].problem, Problem::ConflictingDuplicate { .. }));
        // Overlap plus new bars: the overlap is dropped, the new bars accepted.
        let more: Vec<Candle> = (5..15).map(|m| bar(m, 100.0 + m as f64)).collect();
        let r = ingest(&mut store, &more);
        assert_eq!((r.accepted.len(), r.duplicates_dropped), (5, 5));
        assert_eq!(store.series("BTC/USDT", Timeframe::M1).unwrap().candles.len(), 15);
    }

    #[test]
    fn apply_refuses_out_of_order_records() {
        let mut store = CandleStore::default();
        ingest(&mut store, &[bar(5, 1.0 + 5.0)]);
        let e = CandlesIngested { symbol: "BTC/USDT".into(), timeframe: Timeframe::M1, source: DataSource::Http, candles: vec![bar(5, 6.0)] };
        assert!(store.apply(&e).is_err());
    }

    #[test]
    fn range_pages_and_resamples() {
        let mut store = CandleStore::default();
        let candles: Vec<Candle> = (0..125).map(|m| bar(m, 100.0 + m as f64)).collect();
        ingest(&mut store, &candles);
        let page = store.range("BTC/USDT", Timeframe::M1, None, None, 50).unwrap();
        assert_eq!(page.bars.len(), 50);
        assert_eq!(page.next_start, Some(bar(50, 0.0).open_time));
        let page = store.range("BTC/USDT", Timeframe::M5, None, None, 1000).unwrap();
        assert_eq!(page.source_timeframe, Timeframe::M1);
        assert_eq!(page.bars.len(), 25);
        assert!(page.bars.iter().all(|b| b.complete && b.base_bars == 5));
        assert_eq!(page.bars[1].candle.open, 105.0);
        assert_eq!(page.bars[1].candle.close, 109.0);
        let h1 = store.range("BTC/USDT", Timeframe::H1, None, None, 10).unwrap();
        assert_eq!(h1.bars.len(), 3);
        assert!(h1.bars[0].complete && h1.bars[1].complete && !h1.bars[2].complete, "last hour has 5 of 60 minutes");
        // A range ending inside data: the last bar is over (later data exists).
        let cut = store.range("BTC/USDT", Timeframe::M15, None, Some(bar(30, 0.0).open_time), 10).unwrap();
        assert_eq!(cut.bars.len(), 2);
        assert!(cut.bars.iter().all(|b| b.complete));
        assert!(matches!(store.range("ETH/USDT", Timeframe::M1, None, None, 1), Err(StoreError::UnknownSymbol { .. })));
    }
}
