//! The rules a candle series for one symbol and timeframe must follow before it is stored.
//!
//! Per row: every price finite and > 0, volume finite and >= 0, `low <= high`, open and
//! close inside `[low, high]`, `open_time` on a bar boundary of the timeframe (UTC).
//! Across rows: open times strictly increase. A row identical to a bar already accepted
//! (same open time, same values) is an idempotent repeat: dropped and counted, so
//! re-importing a file or replaying an overlapping feed is harmless. A row with the open
//! time of an accepted bar but different values is a conflict and is rejected: the first
//! accepted bar wins, the data is never silently overwritten. Missing bars between
//! consecutive accepted bars are reported as [`Gap`]s and never filled: inventing prices
//! would bias every indicator and backtest built on them.
//!
//! Rejecting a row never stops validation: the report lists every refused row, in order,
//! with the accepted remainder, so one bad line does not cost a whole import.

use super::rejection::{Field, Problem, Rejection};
use serde::Serialize;
use tradpal_messages::{Candle, Timeframe, Timestamp};

/// Rejections kept in a report, each with its reason; further ones are only counted
/// (`rejected_total`), so a file of garbage cannot grow the report without bound.
pub const REJECTIONS_KEPT_MAX: usize = 10_000;

/// A run of missing bars: the half-open interval `[from, to)` of open times where bars
/// should be and are not. `from` is the open time of the first missing bar, `to` the open
/// time of the bar that ends the gap, `missing_bars = (to - from) / timeframe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub from: Timestamp,
    pub to: Timestamp,
    pub missing_bars: i64,
}

/// The outcome of validating a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationReport {
    pub timeframe: Timeframe,
    /// Candles that passed, strictly increasing by open time.
    pub accepted: Vec<Candle>,
    /// Exact repeats of an already accepted (or the last stored) bar, dropped.
    pub duplicates_dropped: usize,
    /// The first [`REJECTIONS_KEPT_MAX`] refused rows, in row order.
    pub rejected: Vec<Rejection>,
    /// Every refused row, including those beyond the kept ones.
    pub rejected_total: usize,
    /// Missing bars between consecutive accepted bars (and between the last stored bar
    /// and the first accepted one, for a continuation), in time order.
    pub gaps: Vec<Gap>,
}

impl ValidationReport {
    fn new(timeframe: Timeframe) -> Self {
        Self { timeframe, accepted: Vec::new(), duplicates_dropped: 0, rejected: Vec::new(), rejected_total: 0, gaps: Vec::new() }
    }

    /// Bars missing across all gaps.
    pub fn missing_bars_total(&self) -> i64 {
        self.gaps.iter().fold(0i64, |sum, g| sum.saturating_add(g.missing_bars))
    }

    /// Nothing rejected (duplicates and gaps are not errors).
    pub fn is_clean(&self) -> bool {
        self.rejected_total == 0
    }
}

/// What [`Validator::push`] did with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Duplicate,
    Rejected,
}

/// Streaming validator: push rows one at a time (from a parser or a feed) and take the
/// report at the end. It keeps the accepted candles (they are the result) so that a
/// repeat of any accepted bar, not only the previous one, is recognised as a duplicate.
#[derive(Debug, Clone)]
pub struct Validator {
    last_stored: Option<Candle>,
    report: ValidationReport,
}

enum Order {
    Accept,
    Duplicate,
    Reject(Problem),
}

impl Validator {
    /// A validator for a fresh series (nothing stored yet).
    pub fn new(timeframe: Timeframe) -> Self {
        Self::continuing(timeframe, None)
    }

    /// A validator for rows that continue a stored series whose last bar is `last_stored`:
    /// a row repeating it exactly is a duplicate, one with its open time and other values
    /// a conflict, one before it is refused (this core sees only the last stored bar;
    /// a caller holding the history drops known bars first), and a hole between it and
    /// the first new bar is a gap.
    pub fn continuing(timeframe: Timeframe, last_stored: Option<Candle>) -> Self {
        Self { last_stored, report: ValidationReport::new(timeframe) }
    }

    /// Room for `rows` more accepted candles (an importer that can estimate its input's
    /// rows: one allocation instead of a doubling one).
    pub fn reserve(&mut self, rows: usize) {
        self.report.accepted.reserve(rows);
    }

    /// Validates one row. `row` is its 0-based index in the batch, `line` its 1-based line
    /// in a text source, both only used to locate rejections.
    pub fn push(&mut self, row: usize, line: Option<usize>, candle: Candle) -> Verdict {
        if let Err((field, problem)) = check_row(&candle, self.report.timeframe) {
            self.reject(Rejection { row, line, field: Some(field), problem });
            return Verdict::Rejected;
        }
        match self.order(&candle) {
            Order::Accept => {
                let previous = self.report.accepted.last().or(self.last_stored.as_ref()).map(|c| c.open_time);
                if let Some(gap) = previous.and_then(|p| gap_between(p, candle.open_time, self.report.timeframe)) {
                    self.report.gaps.push(gap);
                }
                self.report.accepted.push(candle);
                Verdict::Accepted
            }
            Order::Duplicate => {
                self.report.duplicates_dropped += 1;
                Verdict::Duplicate
            }
            Order::Reject(problem) => {
                self.reject(Rejection { row, line, field: Some(Field::OpenTime), problem });
                Verdict::Rejected
            }
        }
    }

    /// Records a row refused before it became a candle (e.g. unparsable CSV), so the
    /// report lists every refused row in one place.
    pub fn reject(&mut self, rejection: Rejection) {
        self.report.rejected_total += 1;
        if self.report.rejected.len() < REJECTIONS_KEPT_MAX {
            self.report.rejected.push(rejection);
        }
    }

    /// The report so far.
    pub fn report(&self) -> &ValidationReport {
        &self.report
    }

    pub fn finish(self) -> ValidationReport {
        self.report
    }

    /// Where `candle` stands relative to what is already accepted or stored.
    fn order(&self, candle: &Candle) -> Order {
        let t = candle.open_time;
        let previous = match self.report.accepted.last().or(self.last_stored.as_ref()) {
            None => return Order::Accept,
            Some(p) if t > p.open_time => return Order::Accept,
            Some(p) => p.open_time,
        };
        if let Some(existing) = self.find(t) {
            return if existing == candle { Order::Duplicate } else { Order::Reject(Problem::ConflictingDuplicate { open_time: t }) };
        }
        match self.last_stored {
            Some(stored) if t < stored.open_time => {
                Order::Reject(Problem::BeforeLastStored { open_time: t, last_stored: stored.open_time })
            }
            _ => Order::Reject(Problem::NotIncreasing { open_time: t, previous }),
        }
    }

    /// The accepted (or last stored) bar with open time `t`, if any.
    fn find(&self, t: Timestamp) -> Option<&Candle> {
        let accepted = &self.report.accepted;
        match accepted.binary_search_by_key(&t, |c| c.open_time) {
            Ok(i) => accepted.get(i),
            Err(_) => self.last_stored.as_ref().filter(|s| s.open_time == t),
        }
    }
}

/// Validates a batch for a fresh series. Row indexes in the report are slice indexes.
pub fn validate_batch(timeframe: Timeframe, candles: &[Candle]) -> ValidationReport {
    validate_continuation(timeframe, None, candles)
}

/// Validates a batch that continues a stored series ending with `last_stored`
/// (see [`Validator::continuing`] for the rules at the seam).
pub fn validate_continuation(timeframe: Timeframe, last_stored: Option<&Candle>, candles: &[Candle]) -> ValidationReport {
    let mut validator = Validator::continuing(timeframe, last_stored.copied());
    for (row, candle) in candles.iter().enumerate() {
        validator.push(row, None, *candle);
    }
    validator.finish()
}

/// The checks that need only the row itself, in a fixed order; the first failure wins.
fn check_row(c: &Candle, timeframe: Timeframe) -> Result<(), (Field, Problem)> {
    for (field, value) in [(Field::Open, c.open), (Field::High, c.high), (Field::Low, c.low), (Field::Close, c.close)] {
        if !value.is_finite() {
            return Err((field, Problem::NotFinite { value }));
        }
        if value <= 0.0 {
            return Err((field, Problem::NotPositive { value }));
        }
    }
    if !c.volume.is_finite() {
        return Err((Field::Volume, Problem::NotFinite { value: c.volume }));
    }
    if c.volume < 0.0 {
        return Err((Field::Volume, Problem::Negative { value: c.volume }));
    }
    if c.high < c.low {
        return Err((Field::High, Problem::HighBelowLow { high: c.high, low: c.low }));
    }
    for (field, value) in [(Field::Open, c.open), (Field::Close, c.close)] {
        if value < c.low || value > c.high {
            return Err((field, Problem::OutsideRange { value, low: c.low, high: c.high }));
        }
    }
    let offset = c.open_time.0.rem_euclid(timeframe.nanos());
    if offset != 0 {
        // Saturating: an open time near the bottom of the range has no representable bar.
        let bar_open = Timestamp(c.open_time.0.saturating_sub(offset));
        return Err((Field::OpenTime, Problem::Misaligned { open_time: c.open_time, timeframe, bar_open }));
    }
    Ok(())
}

/// The gap between consecutive bars opening at `previous` and `next`, if bars are missing.
/// Open times at opposite ends of the range overflow an i64 difference: those are
/// computed in i128. The usual row (the next bar, one step later) divides nothing: an
/// i128 division is a library call, once per row of an import.
fn gap_between(previous: Timestamp, next: Timestamp, timeframe: Timeframe) -> Option<Gap> {
    let step = timeframe.nanos();
    let missing = match next.0.checked_sub(previous.0) {
        Some(d) if d < step.saturating_mul(2) => return None, // d / step - 1 <= 0
        Some(d) => i128::from(d / step - 1),
        None => (i128::from(next.0) - i128::from(previous.0)) / i128::from(step) - 1,
    };
    if missing <= 0 {
        return None;
    }
    let from = Timestamp(previous.0.saturating_add(timeframe.nanos()));
    Some(Gap { from, to: next, missing_bars: i64::try_from(missing).unwrap_or(i64::MAX) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000_000_000;

    fn bar(minute: i64, close: f64) -> Candle {
        Candle { open_time: Timestamp(minute * MIN), open: 10.0, high: 12.0, low: 9.0, close, volume: 5.0 }
    }

    fn only_rejection(report: &ValidationReport) -> &Rejection {
        assert_eq!(report.rejected.len(), 1, "{:?}", report.rejected);
        &report.rejected[0]
    }

    #[test]
    fn a_clean_series_is_accepted_whole() {
        let candles: Vec<_> = (0..10).map(|m| bar(m, 11.0)).collect();
        let report = validate_batch(Timeframe::M1, &candles);
        assert_eq!(report.accepted, candles);
        assert!(report.is_clean() && report.gaps.is_empty() && report.duplicates_dropped == 0);
    }

    #[test]
    fn each_row_rule_names_its_field() {
        let cases: Vec<(Candle, Field, &str)> = vec![
            (Candle { open: f64::NAN, ..bar(1, 11.0) }, Field::Open, "not_finite"),
            (Candle { high: f64::INFINITY, ..bar(1, 11.0) }, Field::High, "not_finite"),
            (Candle { low: -1.0, ..bar(1, 11.0) }, Field::Low, "not_positive"),
            (Candle { close: 0.0, ..bar(1, 11.0) }, Field::Close, "not_positive"),
            (Candle { volume: -0.5, ..bar(1, 11.0) }, Field::Volume, "negative"),
            (Candle { volume: f64::NEG_INFINITY, ..bar(1, 11.0) }, Field::Volume, "not_finite"),
            (Candle { high: 8.0, open: 8.5, close: 8.5, ..bar(1, 11.0) }, Field::High, "high_below_low"),
            (Candle { open: 12.5, ..bar(1, 11.0) }, Field::Open, "outside_range"),
            (bar(1, 8.9), Field::Close, "outside_range"),
            (Candle { open_time: Timestamp(MIN + 1), ..bar(1, 11.0) }, Field::OpenTime, "misaligned"),
        ];
        for (candle, field, kind) in cases {
            let report = validate_batch(Timeframe::M1, &[bar(0, 11.0), candle, bar(2, 11.0)]);
            let r = only_rejection(&report);
            assert_eq!((r.row, r.line, r.field), (1, None, Some(field)), "{candle:?}");
            assert_eq!(serde_json::to_value(&r.problem).unwrap()["kind"], kind, "{candle:?}");
            assert_eq!(report.accepted.len(), 2);
            assert_eq!(report.gaps, vec![Gap { from: Timestamp(MIN), to: Timestamp(2 * MIN), missing_bars: 1 }]);
        }
    }

    #[test]
    fn misalignment_is_relative_to_the_timeframe() {
        let report = validate_batch(Timeframe::H1, &[bar(0, 11.0), bar(60, 11.0), bar(90, 11.0)]);
        let r = only_rejection(&report);
        assert_eq!(r.row, 2);
        assert!(r.to_string().contains("not aligned to 1h bars"), "{r}");
    }

    #[test]
    fn timestamps_must_increase() {
        let report = validate_batch(Timeframe::M1, &[bar(0, 11.0), bar(5, 11.0), bar(3, 11.0), bar(6, 11.0)]);
        let r = only_rejection(&report);
        assert_eq!(r.row, 2);
        assert_eq!(r.problem, Problem::NotIncreasing { open_time: Timestamp(3 * MIN), previous: Timestamp(5 * MIN) });
        assert_eq!(report.accepted.len(), 3);
    }

    #[test]
    fn exact_duplicates_are_dropped_anywhere_and_conflicts_rejected() {
        let base: Vec<_> = (0..4).map(|m| bar(m, 11.0)).collect();
        // The whole series twice (a re-appended export) plus a repeat of the last bar.
        let mut twice = base.clone();
        twice.extend_from_slice(&base);
        twice.push(base[3]);
        let report = validate_batch(Timeframe::M1, &twice);
        assert_eq!((report.accepted.clone(), report.duplicates_dropped, report.rejected_total), (base.clone(), 5, 0));

        let report = validate_batch(Timeframe::M1, &[bar(0, 11.0), bar(1, 11.0), bar(1, 10.5), bar(0, 9.5)]);
        assert_eq!(report.rejected_total, 2);
        assert_eq!(report.rejected[0].problem, Problem::ConflictingDuplicate { open_time: Timestamp(MIN) });
        assert_eq!(report.rejected[1].problem, Problem::ConflictingDuplicate { open_time: Timestamp(0) });
        assert_eq!(report.accepted[1].close, 11.0, "the first accepted bar wins");
    }

    #[test]
    fn gaps_are_reported_never_filled() {
        let report = validate_batch(Timeframe::M1, &[bar(0, 11.0), bar(1, 11.0), bar(5, 11.0), bar(7, 11.0)]);
        assert_eq!(report.accepted.len(), 4);
        assert_eq!(
            report.gaps,
            vec![
                Gap { from: Timestamp(2 * MIN), to: Timestamp(5 * MIN), missing_bars: 3 },
                Gap { from: Timestamp(6 * MIN), to: Timestamp(7 * MIN), missing_bars: 1 },
            ]
        );
        assert_eq!(report.missing_bars_total(), 4);
    }

    #[test]
    fn continuation_checks_the_seam_with_the_last_stored_bar() {
        let stored = bar(10, 11.0);
        let report = validate_continuation(Timeframe::M1, Some(&stored), &[stored, bar(13, 11.0)]);
        assert_eq!((report.accepted.len(), report.duplicates_dropped), (1, 1));
        assert_eq!(report.gaps, vec![Gap { from: Timestamp(11 * MIN), to: Timestamp(13 * MIN), missing_bars: 2 }]);

        let report = validate_continuation(Timeframe::M1, Some(&stored), &[bar(10, 10.0), bar(9, 11.0), bar(11, 11.0)]);
        assert_eq!(report.rejected[0].problem, Problem::ConflictingDuplicate { open_time: Timestamp(10 * MIN) });
        assert_eq!(
            report.rejected[1].problem,
            Problem::BeforeLastStored { open_time: Timestamp(9 * MIN), last_stored: Timestamp(10 * MIN) }
        );
        assert_eq!(report.accepted, vec![bar(11, 11.0)]);
        assert!(report.gaps.is_empty());
    }

    #[test]
    fn rejections_beyond_the_cap_are_counted_not_kept() {
        let bad: Vec<_> = (0..REJECTIONS_KEPT_MAX as i64 + 5).map(|m| Candle { volume: -1.0, ..bar(m, 11.0) }).collect();
        let report = validate_batch(Timeframe::M1, &bad);
        assert_eq!((report.rejected.len(), report.rejected_total), (REJECTIONS_KEPT_MAX, REJECTIONS_KEPT_MAX + 5));
    }

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => 0.5f64..2.0,
            1 => prop::num::f64::ANY,
            1 => Just(0.0),
            1 => Just(f64::NAN),
        ]
    }

    fn any_candle() -> impl Strategy<Value = Candle> {
        let time = prop_oneof![4 => (0i64..50).prop_map(|m| m * MIN), 1 => any::<i64>()];
        (time, any_f64(), any_f64(), any_f64(), any_f64(), any_f64()).prop_map(|(t, open, high, low, close, volume)| Candle {
            open_time: Timestamp(t),
            open,
            high,
            low,
            close,
            volume,
        })
    }

    proptest! {
        /// The division-free and i64 paths give what the i128 arithmetic gives, near the
        /// next bar, far apart, backwards, and at the ends of the range.
        #[test]
        fn a_gap_is_computed_as_in_i128(
            previous in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -1_000i64..1_000],
            delta in prop_oneof![any::<i64>(), -3 * MIN..5 * MIN, Just(2 * MIN), Just(2 * MIN - 1)],
        ) {
            let tf = Timeframe::M1;
            let next = previous.saturating_add(delta);
            let step = i128::from(tf.nanos());
            let missing = (i128::from(next) - i128::from(previous)) / step - 1;
            let expected = (missing > 0).then(|| i64::try_from(missing).unwrap_or(i64::MAX));
            let got = gap_between(Timestamp(previous), Timestamp(next), tf);
            prop_assert_eq!(got.map(|g| g.missing_bars), expected);
        }

        #[test]
        fn any_input_gives_a_consistent_report(
            stored in proptest::option::of(any_candle()),
            candles in proptest::collection::vec(any_candle(), 0..60),
        ) {
            let report = validate_continuation(Timeframe::M1, stored.as_ref(), &candles);
            prop_assert_eq!(report.accepted.len() + report.duplicates_dropped + report.rejected_total, candles.len());
            for pair in report.accepted.windows(2) {
                prop_assert!(pair[0].open_time < pair[1].open_time);
            }
            for c in &report.accepted {
                prop_assert!(check_row(c, Timeframe::M1).is_ok());
            }
            // Re-validating what was accepted changes nothing and finds the same gaps.
            let again = validate_continuation(Timeframe::M1, stored.as_ref(), &report.accepted);
            prop_assert_eq!(&again.accepted, &report.accepted);
            prop_assert_eq!(&again.gaps, &report.gaps);
        }
    }
}
