//! The candle store: every accepted candle per symbol and timeframe, in memory, sorted,
//! rebuilt on start by folding `CandlesIngested` records from the journal.
//!
//! Why in memory: backtests scan millions of bars; a sorted `Vec<Candle>` per series
//! scans at memory speed and answers time ranges by binary search. 1M bars is 48 MB.
//! The journal is the durable copy; nothing here is written anywhere else.
//!
//! Ingest is planned here (pure) and applied only after the journal made it durable:
//! [`CandleStore::plan`] validates incoming rows against the stored history (exact
//! repeats of stored bars are dropped, so re-importing a file changes nothing; a
//! different bar at a stored time is refused; a late bar, older than the last stored
//! one, fills its empty slot: back-fill, so a feed's redelivered bars are not lost), and
//! [`CandleStore::apply`] folds a journaled record in (appending, or merging late bars
//! into their slots).

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
    /// Folding a journaled record: a bar at a time already stored means the record was
    /// not planned against this store (a bug).
    #[error("{symbol} {timeframe}: a bar at {open_time} is already stored")]
    AlreadyStored { symbol: String, timeframe: Timeframe, open_time: Timestamp },
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
    /// is stored. The report's `accepted` bars are new and may be journaled as they are:
    /// late bars (older than the last stored one, for an empty slot) first, then bars
    /// continuing the series, so `accepted` is strictly increasing.
    ///
    /// Why late bars are accepted: a feed redelivers what a crashed consumer had not
    /// acknowledged after newer bars went through; refusing them would lose them.
    pub fn plan(&self, symbol: &str, timeframe: Timeframe, rows: impl IntoIterator<Item = CsvRecord>) -> ValidationReport {
        let series = self.series(symbol, timeframe);
        let last = series.and_then(|s| s.candles.last()).copied();
        let mut validator = Validator::continuing(timeframe, last);
        let mut late: Vec<CsvRow> = Vec::new();
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
                // Older than the last stored bar: an exact repeat of history is dropped, a
                // different bar at a stored time is a conflict, an empty slot is a late bar.
                (Some(s), Some(l)) if candle.open_time < l.open_time => match s.find(candle.open_time) {
                    Some(stored) if *stored == candle => known_repeats += 1,
                    Some(_) => validator.reject(Rejection {
                        row,
                        line,
                        field: Some(Field::OpenTime),
                        problem: Problem::ConflictingDuplicate { open_time: candle.open_time },
                    }),
                    None => late.push(CsvRow { row, line: line.unwrap_or(0), candle }),
                },
                _ => {
                    validator.push(row, line, candle);
                }
            }
        }
        let mut report = validator.finish();
        report.duplicates_dropped += known_repeats;
        if !late.is_empty() {
            merge_late(&mut report, late, timeframe);
        }
        report
    }

    /// Folds a journaled record in: bars after the series' end are appended, late bars
    /// merged into their empty slots. A bar at an occupied time means the record was not
    /// planned against this store: a bug, refused with the reason.
    pub fn apply(&mut self, e: &CandlesIngested) -> Result<(), StoreError> {
        let series = self.series.entry((e.symbol.clone(), e.timeframe)).or_default();
        let appends_only = match (series.candles.last(), e.candles.first()) {
            (Some(last), Some(first)) => first.open_time > last.open_time,
            _ => true,
        };
        if appends_only {
            series.candles.extend_from_slice(&e.candles);
            return Ok(());
        }
        let mut merged = Vec::with_capacity(series.candles.len() + e.candles.len());
        let (mut a, mut b) = (series.candles.iter().peekable(), e.candles.iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            if x.open_time == y.open_time {
                return Err(StoreError::AlreadyStored { symbol: e.symbol.clone(), timeframe: e.timeframe, open_time: y.open_time });
            }
            merged.push(if x.open_time < y.open_time { *a.next().unwrap() } else { *b.next().unwrap() });
        }
        merged.extend(a.copied());
        merged.extend(b.copied());
        series.candles = merged;
        Ok(())
    }

    /// The stored timeframe to answer `timeframe` from: itself, or the largest stored one
    /// that divides it (fewest bars to resample).
    pub fn source_timeframe(&self, symbol: &str, timeframe: Timeframe) -> Result<Timeframe, StoreError> {
        let stored: Vec<Timeframe> = Timeframe::ALL.into_iter().filter(|tf| self.series(symbol, *tf).is_some()).collect();
        if stored.is_empty() {
            return Err(StoreError::UnknownSymbol { symbol: symbol.to_string() });
        }
        stored.iter().rev().copied().find(|tf| tf.seconds() <= timeframe.seconds() && timeframe.seconds() % tf.seconds() == 0).ok_or_else(
            || StoreError::NoSource {
                symbol: symbol.to_string(),
                timeframe,
                stored: stored.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
            },
        )
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
        let next_start = if bars.len() > limit {
            bars.truncate(limit + 1);
            bars.pop().map(|b| b.candle.open_time)
        } else {
            None
        };
        Ok(CandlePage { symbol: symbol.to_string(), timeframe, source_timeframe: source, bars, next_start })
    }
}

impl CandleStore {
    /// The most recent `n` complete bars of `timeframe` (resampled from the stored
    /// timeframe when needed), oldest first. Fewer when the history is shorter.
    pub fn recent(&self, symbol: &str, timeframe: Timeframe, n: usize) -> Result<Vec<Candle>, StoreError> {
        let source = self.source_timeframe(symbol, timeframe)?;
        let series = self.series(symbol, source).expect("source timeframe is stored");
        let ratio = (timeframe.seconds() / source.seconds()) as usize;
        // Enough base bars for n target bars plus the partial ones at either end.
        let take = n.saturating_add(2).saturating_mul(ratio).min(series.candles.len());
        let tail = &series.candles[series.candles.len() - take..];
        let bars: Vec<Candle> = if source == timeframe {
            tail.to_vec()
        } else {
            // The first target bar may be cut by the tail's start: begin at a boundary.
            let first = tail.iter().position(|c| timeframe.bar_open(c.open_time) == c.open_time).unwrap_or(tail.len());
            let mut r = Resampler::new(source, timeframe)?;
            let mut out = Vec::new();
            for c in &tail[first..] {
                out.extend(r.push(*c)?.into_iter().map(|b| b.candle));
            }
            out
        };
        Ok(bars[bars.len().saturating_sub(n)..].to_vec())
    }
}

/// Validates late bars among themselves (row rules, order, repeats) and puts the
/// accepted ones before the report's continuation bars. Gaps are not reported for them:
/// they fill gaps.
fn merge_late(report: &mut ValidationReport, mut late: Vec<CsvRow>, timeframe: Timeframe) {
    late.sort_by_key(|r| (r.candle.open_time, r.row));
    let mut v = Validator::new(timeframe);
    for r in late {
        v.push(r.row, (r.line > 0).then_some(r.line), r.candle);
    }
    let late = v.finish();
    report.duplicates_dropped += late.duplicates_dropped;
    report.rejected_total += late.rejected_total;
    let room = super::validate::REJECTIONS_KEPT_MAX.saturating_sub(report.rejected.len());
    report.rejected.extend(late.rejected.into_iter().take(room));
    report.rejected.sort_by_key(|r| r.row);
    let mut accepted = late.accepted;
    accepted.append(&mut report.accepted);
    report.accepted = accepted;
}

/// `t` rounded up to the next bar boundary of `tf` (itself when aligned).
fn ceil_to(t: Timestamp, tf: Timeframe) -> Timestamp {
    let open = tf.bar_open(t);
    if open == t {
        t
    } else {
        Timestamp(open.0.saturating_add(tf.nanos()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::DataSource;

    fn bar(minute: i64, price: f64) -> Candle {
        Candle {
            open_time: Timestamp(minute * 60_000_000_000),
            open: price,
            high: price + 1.0,
            low: price - 1.0,
            close: price,
            volume: 1.0,
        }
    }

    fn rows(candles: &[Candle]) -> Vec<CsvRecord> {
        candles.iter().enumerate().map(|(row, c)| CsvRecord::Row(CsvRow { row, line: row + 2, candle: *c })).collect()
    }

    fn ingest(store: &mut CandleStore, candles: &[Candle]) -> ValidationReport {
        let report = store.plan("BTC/USDT", Timeframe::M1, rows(candles));
        if !report.accepted.is_empty() {
            let e = CandlesIngested {
                symbol: "BTC/USDT".into(),
                timeframe: Timeframe::M1,
                source: DataSource::Csv,
                candles: report.accepted.clone(),
            };
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
    fn apply_refuses_a_second_bar_at_a_stored_time() {
        let mut store = CandleStore::default();
        ingest(&mut store, &[bar(5, 1.0 + 5.0)]);
        let e =
            CandlesIngested { symbol: "BTC/USDT".into(), timeframe: Timeframe::M1, source: DataSource::Http, candles: vec![bar(5, 6.0)] };
        assert!(store.apply(&e).is_err());
    }

    #[test]
    fn late_bars_fill_empty_slots_in_order() {
        let mut store = CandleStore::default();
        let first: Vec<Candle> = [0, 1, 2, 6, 7].iter().map(|&m| bar(m, 100.0 + m as f64)).collect();
        ingest(&mut store, &first);
        // Redelivered late bars (out of order among themselves) mixed with a repeat and
        // new bars. New bars must still arrive in order (a feed sorts its batch first).
        let mixed = vec![bar(4, 104.0), bar(8, 108.0), bar(3, 103.0), bar(7, 107.0), bar(9, 109.0)];
        let r = ingest(&mut store, &mixed);
        assert_eq!((r.accepted.len(), r.duplicates_dropped, r.rejected_total), (4, 1, 0), "{r:?}");
        let times: Vec<i64> =
            store.series("BTC/USDT", Timeframe::M1).unwrap().candles.iter().map(|c| c.open_time.0 / 60_000_000_000).collect();
        assert_eq!(times, vec![0, 1, 2, 3, 4, 6, 7, 8, 9]);
        // A late bar that conflicts with nothing but breaks the row rules is rejected by row.
        let mut broken = bar(5, 105.0);
        broken.high = 1.0;
        let r = store.plan("BTC/USDT", Timeframe::M1, rows(&[broken]));
        assert_eq!((r.accepted.len(), r.rejected_total, r.rejected[0].row), (0, 1, 0));
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
        // The most recent complete bars: 125 minutes hold 25 complete 5m bars.
        let recent = store.recent("BTC/USDT", Timeframe::M5, 3).unwrap();
        assert_eq!(
            recent.iter().map(|c| c.open_time).collect::<Vec<_>>(),
            vec![bar(110, 0.0).open_time, bar(115, 0.0).open_time, bar(120, 0.0).open_time]
        );
        assert_eq!(store.recent("BTC/USDT", Timeframe::H1, 10).unwrap().len(), 2, "the partial third hour is left out");
        assert_eq!(store.recent("BTC/USDT", Timeframe::M1, 1000).unwrap().len(), 125);
    }
}
