//! Time: a `Timestamp` (UTC nanoseconds) and the `Clock` every core reads it from.
//!
//! Cores never read the wall clock; they are handed a `Clock`. Live runs get the wall
//! clock (in `runtime`), backtests and replays a [`SimClock`] that only moves when told,
//! so the same inputs give the same timestamps.
//!
//! RFC 3339 text and calendar days are jiff's (issue 23 replaced the hand-written code;
//! a `Timestamp` is still i64 nanoseconds, so the journal's rkyv layout is unchanged).
//! `cargo bench -p tradpal-messages --bench time` compares the two, ns a call, release,
//! two runs on a loaded 2-core machine: formatting jiff 116-120 vs hand-written 632-658
//! (jiff wins); parsing jiff 147-167 vs 129-145 and `days_from_civil` 18-21 vs 12
//! (hand-written ~15 % and ~1.6x faster, not kept: neither is on a hot path, candles are
//! formatted far more often than parsed, and jiff validates what the old code wrapped);
//! `civil_from_days` 22-23 vs 21-23 (even).

use jiff::civil::{Date, Time};
use jiff::tz::Offset;
use jiff::SignedDuration;
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

    /// RFC 3339 in UTC, `Z` suffix, fractional seconds only as long as needed (jiff's).
    pub fn to_rfc3339(self) -> String {
        self.to_jiff().to_string()
    }

    /// Parses RFC 3339 with an offset (`YYYY-MM-DDTHH:MM:SS[.fffffffff](Z|+HH:MM|-HH:MM)`,
    /// by jiff after a check of RFC 3339's layout) or a bare `YYYY-MM-DD` (midnight UTC). Text without an offset is refused: local time is
    /// ambiguous.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampParseError> {
        parse_rfc3339(text).ok_or_else(|| TimestampParseError(text.chars().take(64).collect()))
    }

    /// The same instant as a `jiff::Timestamp` (whose range, years -9999..=9999, holds
    /// every i64 nanosecond count).
    pub fn to_jiff(self) -> jiff::Timestamp {
        jiff::Timestamp::from_nanosecond(i128::from(self.0)).expect("i64 nanoseconds (years 1677..2262) are inside jiff's range")
    }
}

/// Why a timestamp failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {0:?}: expected RFC 3339, e.g. 2024-01-31T12:00:00Z")]
pub struct TimestampParseError(pub String);

/// jiff parses what has RFC 3339's shape; the instant must fit i64 nanoseconds (years
/// 1677..2262).
fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    if text.len() != 10 && !rfc3339_shape(text.as_bytes()) {
        return None;
    }
    let ts = match text.parse::<jiff::Timestamp>() {
        Ok(ts) => ts,
        Err(_) if text.len() == 10 => Offset::UTC.to_timestamp(text.parse::<Date>().ok()?.to_datetime(Time::midnight())).ok()?,
        Err(_) => return None,
    };
    i64::try_from(ts.as_nanosecond()).ok().map(Timestamp)
}

/// RFC 3339's layout: `YYYY-MM-DD`, `T` (or `t` or a space), `HH:MM:SS`, an optional
/// fraction of 1-9 digits, then `Z`/`z` or `+HH:MM`/`-HH:MM`. jiff also takes ISO 8601's
/// other forms (`+0100`, `+01`, `[Europe/Paris]` annotations); the API, the CSV importer
/// and the journal's readers promise RFC 3339, so those stay refused. jiff checks the
/// digits and ranges.
fn rfc3339_shape(b: &[u8]) -> bool {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return false;
        }
        rest = &frac[digits..];
    }
    matches!(rest, [b'Z' | b'z']) || matches!(rest, [b'+' | b'-', _, _, b':', _, _])
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` when the date does not
/// exist (2023-02-29) or is outside years -9999..=9999.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    let date = Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()?;
    Some(date.duration_since(UNIX_EPOCH_DATE).as_secs().div_euclid(SECS_PER_DAY))
}

/// The date `(year, month, day)` of a day count since 1970-01-01 (inverse of
/// [`days_from_civil`]); counts beyond years -9999..=9999 saturate at those ends.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    // Clamped first so that the multiplication cannot overflow; jiff refuses the rest.
    let shift = SignedDuration::from_secs(z.clamp(-CIVIL_DAYS_MAX, CIVIL_DAYS_MAX) * SECS_PER_DAY);
    let date = UNIX_EPOCH_DATE.checked_add(shift).unwrap_or(if z < 0 { Date::MIN } else { Date::MAX });
    (i64::from(date.year()), i64::from(date.month()), i64::from(date.day()))
}

const UNIX_EPOCH_DATE: Date = Date::constant(1970, 1, 1);
/// More days than jiff's calendar spans either side of 1970 (about 4.4M back, 2.9M on).
const CIVIL_DAYS_MAX: i64 = 10_000_000;

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_jiff(), f)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_jiff())
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
        for good in ["2021-12-31t23:01:00z", "2021-12-31 23:01:00Z", "2021-12-31T22:01:00-01:00", "2021-12-31T23:01:00.000000000Z"] {
            assert_eq!(good.parse::<Timestamp>().map(Timestamp::as_millis), Ok(1_640_991_660_000), "{good}");
        }
        for bad in [
            "2021-12-3é:00:00Z",
            "2021-12-31T23:01:0é",
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00",
            "nope",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+01",
            "2024-01-01T00:00:00Z[Europe/Paris]",
            "2024-01-01T00:00:00.1234567890Z",
            "20240101T000000Z",
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
            prop_assert_eq!(days_from_civil(y, m, d), Some(days));
        }
    }
}
