//! [`MetricsError`]: every way the metrics refuse their input. Each message names the
//! input, the index for series, and the rule, so a caller can fix the data without
//! reading this code. Bad input is refused up front, never turned into a panic or a NaN.

use tradpal_messages::Timestamp;

/// Why performance metrics could not be computed from the given input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// No equity points: there is nothing to measure.
    #[error("equity is empty: metrics need at least one equity point")]
    EmptyEquity,
    /// An equity value that is NaN, infinite, zero or negative. Returns are ratios of
    /// consecutive values, so every value must be a finite number > 0.
    #[error("equity[{index}].equity must be a finite number > 0, got {value}")]
    Equity { index: usize, value: f64 },
    /// Equity (or benchmark) values so far apart that `max / min` overflows f64: the
    /// returns between them would be infinite.
    #[error("{field} spans too many orders of magnitude: max {max} / min {min} is not a finite number")]
    Range { field: &'static str, min: f64, max: f64 },
    /// Equity points out of time order or repeated: the curve must be strictly increasing
    /// in time, one point per bar.
    #[error(
        "equity[{index}].time {time} is not after equity[{}].time {previous}; times must strictly increase",
        .index - 1
    )]
    TimeOrder { index: usize, previous: Timestamp, time: Timestamp },
    /// A benchmark that does not line up bar for bar with the equity curve.
    #[error("benchmark has {got} values but equity has {expected}; they must have the same length")]
    BenchmarkLength { got: usize, expected: usize },
    /// A benchmark value (equity or price) that is not a finite number > 0.
    #[error("benchmark[{index}] must be a finite number > 0, got {value}")]
    Benchmark { index: usize, value: f64 },
    /// A bar interval that is zero or negative: periods per year would be undefined.
    #[error("bar_interval_ns must be > 0, got {0}")]
    BarInterval(i64),
    /// A risk-free rate that is not a finite number > -1 (a rate of -100% or less
    /// would wipe out the money it is charged on).
    #[error("risk_free_rate must be a finite number > -1 (annual, e.g. 0.02), got {0}")]
    RiskFreeRate(f64),
    /// More bars in a position than bars on the curve.
    #[error("exposure_bars is {got} but equity has only {bars} bars")]
    ExposureBars { got: usize, bars: usize },
    /// A trade whose number field is NaN or infinite.
    #[error("trades[{index}].{field} must be a finite number, got {value}")]
    Trade { index: usize, field: &'static str, value: f64 },
    /// Two custom metrics with the same name: their results would overwrite each other.
    #[error("two custom metrics are named {0:?}; names must be unique")]
    DuplicateMetric(String),
}
