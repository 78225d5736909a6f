//! [`RegimeError`]: every way a regime request can be refused, with a message that says
//! what is wrong and what was expected, so the HTTP adapter can pass it on unchanged.

use tradpal_messages::{Timeframe, Timestamp};

/// Why a fit, a classification, an evaluation or a label file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegimeError {
    #[error("need at least {need} bars of {timeframe} data, got {got}")]
    TooFewBars { need: usize, timeframe: Timeframe, got: usize },
    #[error("at most {max} bars can be fitted at once, got {got}")]
    TooManyBars { max: usize, got: usize },
    #[error("bar {bar} ({open_time}): {field} must be finite and > 0, got {value}")]
    BadCandle { bar: usize, open_time: Timestamp, field: &'static str, value: f64 },
    #[error("bar {bar} ({open_time}): high {high} is below low {low}")]
    HighBelowLow { bar: usize, open_time: Timestamp, high: f64, low: f64 },
    #[error("bar {bar}: open time {open_time} is not after the previous bar's {previous}")]
    NotIncreasing { bar: usize, open_time: Timestamp, previous: Timestamp },
    #[error("{name}: {value} is outside {expected}")]
    InvalidParam { name: &'static str, value: String, expected: &'static str },
    #[error("{what}: {predicted} predicted labels but {truth} true labels; they must pair up bar for bar")]
    LengthMismatch { what: &'static str, predicted: usize, truth: usize },
    #[error("{what}: nothing to work on (empty input)")]
    Empty { what: &'static str },
    #[error("{what}: probabilities must be finite, >= 0 and sum to 1 (within 1e-6), got {got:?}")]
    BadProbabilities { what: String, got: Vec<f64> },
    #[error("model: {0}")]
    BadModel(String),
    #[error("labels CSV line {line}: {message}")]
    LabelsCsv { line: usize, message: String },
    #[error("no true label for the bar at {open_time} (the labels file does not cover the candles)")]
    MissingLabel { open_time: Timestamp },
    #[error("timeframe {timeframe} appears more than once; give one probability vector per timeframe")]
    DuplicateTimeframe { timeframe: Timeframe },
}

impl RegimeError {
    /// A stable machine-readable code for the HTTP error body.
    pub fn code(&self) -> &'static str {
        match self {
            RegimeError::TooFewBars { .. } => "too_few_bars",
            RegimeError::TooManyBars { .. } => "too_many_bars",
            RegimeError::BadCandle { .. } | RegimeError::HighBelowLow { .. } => "bad_candle",
            RegimeError::NotIncreasing { .. } => "not_increasing",
            RegimeError::InvalidParam { .. } => "invalid_param",
            RegimeError::LengthMismatch { .. } => "length_mismatch",
            RegimeError::Empty { .. } => "empty",
            RegimeError::BadProbabilities { .. } => "bad_probabilities",
            RegimeError::BadModel(_) => "bad_model",
            RegimeError::LabelsCsv { .. } => "bad_labels_csv",
            RegimeError::MissingLabel { .. } => "missing_label",
            RegimeError::DuplicateTimeframe { .. } => "duplicate_timeframe",
        }
    }
}

/// Checks that `value` lies in `range`, naming the parameter otherwise.
pub(crate) fn check_range<T>(
    name: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
    expected: &'static str,
) -> Result<(), RegimeError>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        Ok(())
    } else {
        Err(RegimeError::InvalidParam { name, value: value.to_string(), expected })
    }
}
