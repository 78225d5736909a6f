//! Time: a `Timestamp` (UTC nanoseconds) and the `Clock` every core reads it from.
//!
//! Cores never read the wall clock; they are handed a `Clock`. Live runs get the wall
//! clock (in `runtime`), backtests and replays a [`SimClock`] that only moves when told,
//! so the same inputs give the same timestamps.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Nanoseconds since 1970-01-01T00:00:00Z. Covers 1677..2262.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Timestamp(pub i64);

pub const NANOS_PER_MILLI: i64 = 1_000_000;
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

impl Timestamp {
    pub const fn from_nanos(n: i64) -> Self {
        Self(n)
    }
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms.saturating_mul(NANOS_PER_MILLI))
    }
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(NANOS_PER_MILLI)
    }

    /// RFC 3339 in UTC, `Z` suffix, fractional seconds only as long as needed.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0.div_euclid(NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(NANOS_PER_SEC);
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60);
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+HH:MM|-HH:MM)` or a bare `YYYY-MM-DD`.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampParseError> {
        parse_rfc3339(text).ok_or_else(|| TimestampParseError(text.chars().take(64).collect()))
    }
}

/// Why a timestamp failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {0:?}: expected RFC 3339, e.g. 2024-01-31T12:00:00Z")]
pub struct TimestampParseError(pub String);

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    // Byte-position slicing below is only sound on ASCII; any other text is invalid anyway.
    if !text.is_ascii() {
        return None;
    }
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(&text[0..4])?, num(&text[5..7])?, num(&text[8..10])?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if b.len() == 10 {
        return Some(Timestamp(days.checked_mul(SECS_PER_DAY * NANOS_PER_SEC)?));
    }
    if b.len() < 20 || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hh, mm, ss) = (num(&text[11..13])?, num(&text[14..16])?, num(&text[17..19])?);
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(&frac[..digits])? * 10i64.pow(9 - digits as u32);
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":" => {
            let (oh, om) = (num(&rest[1..3])?, num(&rest[4..6])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let s = oh * 3600 + om * 60;
            if rest.starts_with('-') {
                -s
            } else {
                s
            }
        }
        _ => return None,
    };
    let secs = days.checked_mul(SECS_PER_DAY)? + hh * 3600 + mm * 60 + ss - offset_secs;
    Some(Timestamp(secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)?))
}

/// Whether `y` is a leap year (proleptic Gregorian).
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1..=12) of year `y`.
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The only source of "now" for cores and actors.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// A clock that stands still until moved: backtests, replays and tests.
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    nanos: Arc<AtomicI64>,
}

impl SimClock {
    pub fn new(start: Timestamp) -> Self {
        Self { nanos: Arc::new(AtomicI64::new(start.0)) }
    }
    /// Moves the clock to `t`. Time never goes backwards: an earlier `t` is ignored.
    pub fn set(&self, t: Timestamp) {
        self.nanos.fetch_max(t.0, Ordering::SeqCst);
    }
    pub fn advance_nanos(&self, n: i64) {
        assert!(n >= 0, "a simulated clock only moves forward");
        self.nanos.fetch_add(n, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        let t: Timestamp = "2021-12-31T23:01:00Z".parse().unwrap();
        assert_eq!(t.as_millis(), 1_640_991_660_000);
        let t2: Timestamp = "2021-12-31T23:01:00.5+01:00".parse().unwrap();
        assert_eq!(t2.as_millis(), 1_640_991_660_000 - 3_600_000 + 500);
        assert_eq!("2024-02-29".parse::<Timestamp>().unwrap().to_rfc3339(), "2024-02-29T00:00:00Z");
        for bad in [
            "2021-12-3é:00:00Z",
            "2021-12-31T23:01:0é",
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00",
            "nope",
            "2024-01-01T00:00:00.Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sim_clock_only_moves_forward() {
        let c = SimClock::new(Timestamp(100));
        c.set(Timestamp(50));
        assert_eq!(c.now(), Timestamp(100));
        c.advance_nanos(5);
        assert_eq!(c.now(), Timestamp(105));
    }

    proptest! {
        #[test]
        fn rfc3339_round_trip(n in -6_000_000_000_000_000_000i64..9_000_000_000_000_000_000i64) {
            let t = Timestamp(n);
            prop_assert_eq!(t.to_rfc3339().parse::<Timestamp>().unwrap(), t);
        }

        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,40}", prefix in 0usize..20) {
            let _ = text.parse::<Timestamp>();
            let base = "2021-12-31T23:01:00.123Z";
            let mixed = format!("{}{}", &base[..prefix.min(base.len())], text);
            let _ = mixed.parse::<Timestamp>();
        }

        #[test]
        fn civil_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
