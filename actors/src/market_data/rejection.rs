//! Why a row was refused: one vocabulary for the CSV parser and the validator.
//!
//! A caller importing a file wants a single list, in row order, that says for each refused
//! row where it is (0-based row index among data rows; 1-based line number when it came
//! from a text file), which field is wrong, and what is wrong with it.

use serde::Serialize;
use std::fmt;
use tradpal_messages::{Timeframe, Timestamp};

/// Longest excerpt of offending text kept in a [`Problem`], in characters: enough to
/// recognise the value, bounded so a hostile file cannot make rejections large.
pub const EXCERPT_CHARS_MAX: usize = 32;

/// A candle field (or CSV column) a rejection points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The bar's open time (the CSV `timestamp` column).
    OpenTime,
    Open,
    High,
    Low,
    Close,
    Volume,
}

impl Field {
    /// The CSV columns in file order, each with the field it fills.
    pub const CSV_ORDER: [Field; 6] = [Field::OpenTime, Field::Open, Field::High, Field::Low, Field::Close, Field::Volume];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::OpenTime => "open_time",
            Field::Open => "open",
            Field::High => "high",
            Field::Low => "low",
            Field::Close => "close",
            Field::Volume => "volume",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a row. Values are quoted back so the message is actionable.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    #[error("value {value} is not a finite number")]
    NotFinite { value: f64 },
    #[error("price {value} is not positive (a traded price is > 0)")]
    NotPositive { value: f64 },
    #[error("volume {value} is negative")]
    Negative { value: f64 },
    #[error("high {high} is below low {low}")]
    HighBelowLow { high: f64, low: f64 },
    #[error("value {value} is outside the bar's range [low {low}, high {high}]")]
    OutsideRange { value: f64, low: f64, high: f64 },
    #[error("open time {open_time} is not aligned to {timeframe} bars (that bar opens at {bar_open})")]
    Misaligned { open_time: Timestamp, timeframe: Timeframe, bar_open: Timestamp },
    #[error("open time {open_time} is before the previous accepted bar's {previous} (timestamps must increase)")]
    NotIncreasing { open_time: Timestamp, previous: Timestamp },
    #[error("a different bar with open time {open_time} was already accepted (conflicting duplicate)")]
    ConflictingDuplicate { open_time: Timestamp },
    #[error("open time {open_time} is before the last stored bar's {last_stored}")]
    BeforeLastStored { open_time: Timestamp, last_stored: Timestamp },
    #[error("expected {expected} columns (timestamp,open,high,low,close,volume), found {found}")]
    ColumnCount { found: usize, expected: usize },
    #[error("{text:?} is not a number")]
    NotANumber { text: String },
    #[error(
        "{text:?} is not a timestamp: expected RFC 3339 (2021-12-31T23:01:00Z), \
         YYYY-MM-DD[ HH:MM:SS] (UTC) or epoch milliseconds"
    )]
    BadTimestamp { text: String },
    #[error("line is longer than {bytes_max} bytes")]
    LineTooLong { bytes_max: usize },
}

/// One refused row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// 0-based index of the row among the data rows (the CSV header and blank lines do
    /// not count), or the index in the slice handed to the validator.
    pub row: usize,
    /// 1-based line number in the text it came from, when it came from text.
    pub line: Option<usize>,
    /// The field at fault; `None` when the row as a whole is malformed.
    pub field: Option<Field>,
    pub problem: Problem,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line} (row {})", self.row)?,
            None => write!(f, "row {}", self.row)?,
        }
        if let Some(field) = self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// `bytes` as text for a message: lossy UTF-8, at most [`EXCERPT_CHARS_MAX`] characters.
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(EXCERPT_CHARS_MAX).collect();
    if text.chars().nth(EXCERPT_CHARS_MAX).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_row_and_field() {
        let r = Rejection { row: 3, line: Some(5), field: Some(Field::High), problem: Problem::HighBelowLow { high: 1.0, low: 2.0 } };
        assert_eq!(r.to_string(), "line 5 (row 3), field high: high 1 is below low 2");
        let r = Rejection { row: 0, line: None, field: None, problem: Problem::ColumnCount { found: 2, expected: 6 } };
        assert!(r.to_string().starts_with("row 0: expected 6 columns"));
    }

    #[test]
    fn excerpt_is_bounded() {
        assert_eq!(excerpt(b"abc"), "abc");
        assert_eq!(excerpt(&[b'x'; 100]).chars().count(), EXCERPT_CHARS_MAX + 3);
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
    }
}
