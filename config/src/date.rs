//! A calendar date (`YYYY-MM-DD`): the configuration compares and prints two dates, and
//! the backtest needs them as day numbers. Whether a date exists and its day number are
//! jiff's (through `tradpal_messages::time`); the strict ten-character shape is checked
//! here, because jiff also reads other ISO 8601 forms (`20200101`, `+002020-01-01`).

use std::fmt;
use tradpal_messages::time::days_from_civil;

/// A valid proleptic-Gregorian date in years 1..=9999. Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order matters: the derived `Ord` compares year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// The date, if it exists on the calendar (e.g. no 2023-02-29).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=9999).contains(&year) && days_from_civil(i64::from(year), i64::from(month), i64::from(day)).is_some();
        valid.then_some(Date { year, month, day })
    }

    /// A literal date the caller knows to exist (for built-in defaults; `new` checks).
    pub(crate) const fn known_valid(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Parses exactly `YYYY-MM-DD` (ten characters, zero-padded); anything else is `None`.
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u16> {
            b[range].iter().try_fold(0u16, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0')))
        };
        let month = u8::try_from(num(5..7)?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        Date::new(num(0..4)?, month, day)
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before), for turning a date into a timestamp:
    /// midnight UTC of the date is `days_since_unix_epoch() * 86_400` seconds.
    pub fn days_since_unix_epoch(self) -> i64 {
        days_from_civil(i64::from(self.year), i64::from(self.month), i64::from(self.day))
            .expect("a Date is checked to exist when made (new) or a literal known to exist")
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for text in ["2020-01-01", "2024-02-29", "0001-01-01", "9999-12-31", "2000-02-29"] {
            assert_eq!(Date::parse(text).map(|d| d.to_string()).as_deref(), Some(text));
        }
    }

    #[test]
    fn rejects_non_dates() {
        for text in [
            "",
            "2020-1-01",
            "2020/01/01",
            "2020-13-01",
            "2020-00-10",
            "2020-01-00",
            "2023-02-29",
            "1900-02-29",
            "2020-04-31",
            "0000-01-01",
            "20200101",
            "2020-01-01 ",
            "+020-01-01",
            "2020-01-0a",
            "２０２０-01-01",
        ] {
            assert_eq!(Date::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn orders_chronologically() {
        let d = |s| Date::parse(s).unwrap();
        assert!(d("2020-01-01") < d("2020-01-02"));
        assert!(d("2019-12-31") < d("2020-01-01"));
        assert!(d("2020-02-28") < d("2020-10-01"));
    }

    #[test]
    fn counts_days_from_the_unix_epoch() {
        let d = |s| Date::parse(s).unwrap().days_since_unix_epoch();
        assert_eq!(d("1970-01-01"), 0);
        assert_eq!(d("1969-12-31"), -1);
        assert_eq!(d("2000-03-01"), 11_017);
        assert_eq!(d("2020-01-01"), 18_262);
        assert_eq!(d("2024-01-01") - d("2020-01-01"), 1_461);
    }
}
