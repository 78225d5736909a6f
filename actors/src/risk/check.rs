//! Input checks shared by every risk computation: ranges, series and counts, each failing
//! with a [`RiskError`] that names the field (and index) and the rule it broke.
//!
//! Why one place: every public function validates before it computes, and the messages
//! should read the same everywhere ("x must be in (0, 1), got 0").

use super::error::{Num, RiskError};
use std::fmt;

/// A real interval with open or closed ends; NaN is never inside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    lo: f64,
    lo_open: bool,
    hi: f64,
    hi_open: bool,
}

impl Interval {
    /// `(lo, hi)`.
    pub const fn open(lo: f64, hi: f64) -> Self {
        Interval { lo, lo_open: true, hi, hi_open: true }
    }
    /// `(lo, hi]`.
    pub const fn left_open(lo: f64, hi: f64) -> Self {
        Interval { lo, lo_open: true, hi, hi_open: false }
    }
    /// `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Self {
        Interval { lo, lo_open: false, hi, hi_open: false }
    }

    pub fn contains(&self, v: f64) -> bool {
        let above = if self.lo_open { v > self.lo } else { v >= self.lo };
        let below = if self.hi_open { v < self.hi } else { v <= self.hi };
        above && below
    }

    /// `v` itself when inside, else an `OutOfRange` error naming `field`.
    pub fn check(&self, field: &str, v: f64) -> Result<f64, RiskError> {
        if self.contains(v) {
            Ok(v)
        } else {
            Err(RiskError::OutOfRange { field: field.to_string(), rule: self.to_string(), value: v })
        }
    }

    /// Checks an optional input, filling `default` when absent.
    pub fn check_or(&self, field: &str, v: Option<f64>, default: f64) -> Result<f64, RiskError> {
        self.check(field, v.unwrap_or(default))
    }

    /// Checks every element, naming the first bad one as `field[i]`.
    pub fn check_all(&self, field: &str, xs: &[f64]) -> Result<(), RiskError> {
        match xs.iter().position(|&x| !self.contains(x)) {
            None => Ok(()),
            Some(i) => Err(RiskError::OutOfRange { field: format!("{field}[{i}]"), rule: self.to_string(), value: xs[i] }),
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = if self.lo_open { '(' } else { '[' };
        let close = if self.hi_open { ')' } else { ']' };
        write!(f, "in {open}{}, {}{close}", Num(self.lo), Num(self.hi))
    }
}

/// A count between `min` and `max` (named `limit` in the error) inclusive.
pub(crate) fn count(field: &str, got: usize, min: usize, limit: &'static str, max: usize) -> Result<(), RiskError> {
    if got < min {
        return Err(RiskError::TooFew { field: field.to_string(), min, got });
    }
    if got > max {
        return Err(RiskError::TooMany { field: field.to_string(), limit, max, got });
    }
    Ok(())
}

/// Two lengths that must agree.
pub(crate) fn same_len(field: &str, got: usize, other: &str, expected: usize) -> Result<(), RiskError> {
    if got == expected {
        Ok(())
    } else {
        Err(RiskError::LengthMismatch { field: field.to_string(), got, other: other.to_string(), expected })
    }
}

/// An answer that must be finite; `what` names it in the error.
pub(crate) fn finite(what: &str, v: f64) -> Result<f64, RiskError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(RiskError::Overflow { what: what.to_string(), detail: format!("got {}", Num(v)) })
    }
}

/// Symbols must be non-empty, at most 64 characters, and unique within one request
/// (they key maps and tables in the answers).
pub(crate) fn symbols<'a>(field: &str, names: impl IntoIterator<Item = &'a str>) -> Result<(), RiskError> {
    // The first few names are compared with each other in place (the pre-trade check
    // asks this for every order, with one or a handful of names): no set to allocate.
    let mut first: [&str; SYMBOLS_SCANNED_MAX] = [""; SYMBOLS_SCANNED_MAX];
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in names.into_iter().enumerate() {
        // Bytes >= characters: a name of at most 64 bytes counts none.
        if s.is_empty() || (s.len() > 64 && s.chars().count() > 64) {
            return Err(RiskError::invalid(format!("{field}[{i}]"), "a symbol must have 1 to 64 characters"));
        }
        let repeated = if i < SYMBOLS_SCANNED_MAX {
            first[i] = s;
            first[..i].contains(&s)
        } else {
            if seen.is_empty() {
                seen.extend(first); // the scanned ones join the set once
            }
            !seen.insert(s)
        };
        if repeated {
            return Err(RiskError::invalid(format!("{field}[{i}]"), format!("symbol {s:?} appears more than once")));
        }
    }
    Ok(())
}

/// Names [`symbols`] checks for repeats by scanning, before it builds a set.
const SYMBOLS_SCANNED_MAX: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_print_and_reject_nan() {
        let i = Interval::open(0.0, 1.0);
        assert_eq!(i.check("stop_loss", 0.0).unwrap_err().to_string(), "stop_loss must be in (0, 1), got 0");
        assert!(!i.contains(f64::NAN));
        assert!(i.contains(0.5));
        assert_eq!(Interval::left_open(0.0, 1e15).to_string(), "in (0, 1e15]");
        assert_eq!(Interval::closed(-1.0, 1.0).to_string(), "in [-1, 1]");
        let e = Interval::left_open(0.0, 0.5).check_all("xs", &[0.1, 0.5, 1.0]).unwrap_err();
        assert_eq!(e.to_string(), "xs[2] must be in (0, 0.5], got 1");
    }

    #[test]
    fn counts_and_symbols() {
        assert!(count("paths", 0, 1, "PATHS_MAX", 10).is_err());
        assert_eq!(count("paths", 11, 1, "PATHS_MAX", 10).unwrap_err().to_string(), "paths has 11 values, more than PATHS_MAX = 10");
        assert!(symbols("symbols", ["A", "B"]).is_ok());
        assert!(symbols("symbols", ["A", "A"]).is_err());
        assert!(symbols("symbols", [""]).is_err());
        // Past the scanned few: a repeat of a scanned name, of a later one, and none.
        let names: Vec<String> = (0..40).map(|i| format!("S{i}/USDT")).collect();
        let mut list: Vec<&str> = names.iter().map(String::as_str).collect();
        assert!(symbols("symbols", list.iter().copied()).is_ok());
        list.push("S3/USDT");
        let e = symbols("symbols", list.iter().copied()).unwrap_err().to_string();
        assert!(e.contains("symbols[40]") && e.contains("S3/USDT"), "{e}");
        list[40] = "S30/USDT";
        assert!(symbols("symbols", list.iter().copied()).unwrap_err().to_string().contains("symbols[40]"));
        assert!(symbols("symbols", ["A", "B", "A"]).unwrap_err().to_string().contains("symbols[2]"));
        // At most 64 characters, not bytes: 64 two-byte ones pass, a 65th fails either way.
        let (wide, ascii) = ("é".repeat(64), "x".repeat(64));
        assert!(symbols("symbols", [wide.as_str(), ascii.as_str()]).is_ok());
        for long in [format!("{wide}é"), format!("{ascii}x")] {
            assert!(symbols("symbols", [long.as_str()]).unwrap_err().to_string().contains("1 to 64 characters"));
        }
    }
}
