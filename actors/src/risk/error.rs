//! [`RiskError`]: every way a risk request can be refused, each message naming the input
//! and saying what is wrong with it, so a caller can fix the request without reading code.

use std::fmt;

/// Why a risk computation refused its input (or could not produce a trustworthy answer).
///
/// Messages quote the offending field (with its index for series, e.g. `returns[3]`) and
/// value, e.g. `stop_loss must be in (0, 1), got 0`. [`RiskError::code`] gives a stable
/// snake_case code for the HTTP error body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RiskError {
    /// A number outside its allowed range; NaN and infinities always are.
    #[error("{field} must be {rule}, got {}", Num(*.value))]
    OutOfRange { field: String, rule: String, value: f64 },
    /// A list shorter than the computation needs.
    #[error("{field} needs at least {min} values, got {got}")]
    TooFew { field: String, min: usize, got: usize },
    /// A list longer than a named bound (see `bounds.rs`) allows.
    #[error("{field} has {got} values, more than {limit} = {max}")]
    TooMany { field: String, limit: &'static str, max: usize, got: usize },
    /// Two inputs that must line up do not.
    #[error("{field} has {got} values but {other} has {expected}; they must have the same length")]
    LengthMismatch { field: String, got: usize, other: String, expected: usize },
    /// An input the chosen computation needs is absent.
    #[error("{field} is required {context}")]
    Missing { field: String, context: String },
    /// Inputs that contradict each other or cannot be used together.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A covariance matrix that is not square, symmetric, finite or (semi)definite.
    #[error("{field} is not a usable covariance matrix: {reason}")]
    Covariance { field: String, reason: String },
    /// Kelly sizing on a bet that loses money on average.
    #[error(
        "Kelly edge f* = p - (1 - p) / b = {} is not positive for win_probability {} and \
         win_loss_ratio {}: the bet loses money on average, so Kelly sizes no position",
        Num(*.edge), Num(*.win_probability), Num(*.win_loss_ratio)
    )]
    NoEdge { edge: f64, win_probability: f64, win_loss_ratio: f64 },
    /// A quantity the inputs leave undefined (zero volatility, no excess return ...).
    #[error("{what} is undefined: {reason}")]
    Undefined { what: String, reason: String },
    /// An iterative solver stopped at its iteration bound before meeting its tolerance.
    #[error("{solver} did not converge in {iterations} iterations: {detail}")]
    NotConverged { solver: &'static str, iterations: usize, detail: String },
    /// A computation whose result would not be a finite number.
    #[error("{what} is not a finite number ({detail}); the inputs are too large or too extreme")]
    Overflow { what: String, detail: String },
}

impl RiskError {
    /// A stable snake_case code for error bodies (`{"error": {"code", "message"}}`).
    pub fn code(&self) -> &'static str {
        match self {
            RiskError::OutOfRange { .. } => "out_of_range",
            RiskError::TooFew { .. } => "too_few_values",
            RiskError::TooMany { .. } => "too_many_values",
            RiskError::LengthMismatch { .. } => "length_mismatch",
            RiskError::Missing { .. } => "missing_input",
            RiskError::Invalid { .. } => "invalid_input",
            RiskError::Covariance { .. } => "bad_covariance",
            RiskError::NoEdge { .. } => "no_edge",
            RiskError::Undefined { .. } => "undefined",
            RiskError::NotConverged { .. } => "not_converged",
            RiskError::Overflow { .. } => "overflow",
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RiskError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn missing(field: impl Into<String>, context: impl Into<String>) -> Self {
        RiskError::Missing { field: field.into(), context: context.into() }
    }

    pub(crate) fn undefined(what: impl Into<String>, reason: impl Into<String>) -> Self {
        RiskError::Undefined { what: what.into(), reason: reason.into() }
    }

    pub(crate) fn covariance(field: impl Into<String>, reason: impl Into<String>) -> Self {
        RiskError::Covariance { field: field.into(), reason: reason.into() }
    }
}

/// Formats a number for a message: the shortest exact decimal, switching to scientific
/// notation when the plain form is long (over 8 characters) and the scientific one is
/// shorter (so `1e12` and `1e-7` stay readable and `1e300` does not print 300 digits),
/// and `NaN` / `inf` as Rust spells them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Num(pub f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = if self.0 == 0.0 { 0.0 } else { self.0 };
        let plain = v.to_string();
        let sci = format!("{v:e}");
        f.write_str(if v.is_finite() && plain.len() > 8 && sci.len() < plain.len() { &sci } else { &plain })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_field_rule_and_value() {
        let e = RiskError::OutOfRange { field: "stop_loss".into(), rule: "in (0, 1)".into(), value: 0.0 };
        assert_eq!(e.to_string(), "stop_loss must be in (0, 1), got 0");
        assert_eq!(e.code(), "out_of_range");
    }

    #[test]
    fn numbers_print_compactly() {
        assert_eq!(Num(0.05).to_string(), "0.05");
        assert_eq!(Num(10000.0).to_string(), "10000");
        assert_eq!(Num(1e12).to_string(), "1e12");
        assert_eq!(Num(123456789.0).to_string(), "123456789");
        assert_eq!(Num(0.30000000000000004).to_string(), "0.30000000000000004");
        assert_eq!(Num(-0.0).to_string(), "0");
        assert_eq!(Num(1e300).to_string(), "1e300");
        assert_eq!(Num(2.5e-9).to_string(), "2.5e-9");
        assert_eq!(Num(f64::NAN).to_string(), "NaN");
        assert_eq!(Num(f64::NEG_INFINITY).to_string(), "-inf");
    }
}
