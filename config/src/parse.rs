//! Parsers for single values, shared by the environment and the JSON file.
//!
//! Each returns the parsed value or what was expected ([`Expected`]); the caller adds the
//! source name and the offending value, so every message has the same shape. Surrounding
//! whitespace is ignored (a stray space in a `.env` file is not worth a failed start), but
//! an empty value is an error for every setting that has a default: `MAX_DRAWDOWN=` is far
//! more likely a templating slip than a wish for the default.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::date::Date;
use crate::settings::{LogFormat, LogLevel};

/// One end of an [`Interval`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bound {
    Open(f64),
    Closed(f64),
    Unbounded,
}

/// The range a number must lie in, printed in interval notation: `(0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub lo: Bound,
    pub hi: Bound,
}

/// (0, 1]: a fraction that must be positive and may be all of it (drawdown, position size).
pub(crate) const POSITIVE_FRACTION: Interval = Interval { lo: Bound::Open(0.0), hi: Bound::Closed(1.0) };
/// [0, 1]: a weight.
pub(crate) const UNIT: Interval = Interval { lo: Bound::Closed(0.0), hi: Bound::Closed(1.0) };
/// [0, 1): a cost, where zero is a frictionless test and 100% is nonsense.
pub(crate) const COST_FRACTION: Interval = Interval { lo: Bound::Closed(0.0), hi: Bound::Open(1.0) };
/// (-1, 1): an interest rate, which can be negative.
pub(crate) const RATE: Interval = Interval { lo: Bound::Open(-1.0), hi: Bound::Open(1.0) };
/// (0, inf): an amount of money.
pub(crate) const POSITIVE: Interval = Interval { lo: Bound::Open(0.0), hi: Bound::Unbounded };

impl Interval {
    pub fn contains(&self, v: f64) -> bool {
        let above = match self.lo {
            Bound::Open(lo) => v > lo,
            Bound::Closed(lo) => v >= lo,
            Bound::Unbounded => true,
        };
        let below = match self.hi {
            Bound::Open(hi) => v < hi,
            Bound::Closed(hi) => v <= hi,
            Bound::Unbounded => true,
        };
        above && below
    }

    /// `a number in (0, 1]`, or `a finite number > 0` for a half-open range.
    pub fn expected(&self) -> String {
        match (self.lo, self.hi) {
            (Bound::Open(lo), Bound::Unbounded) => format!("a finite number > {lo}"),
            (Bound::Closed(lo), Bound::Unbounded) => format!("a finite number >= {lo}"),
            _ => format!("a number in {self}"),
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.lo {
            Bound::Open(v) => write!(f, "({v}, ")?,
            Bound::Closed(v) => write!(f, "[{v}, ")?,
            Bound::Unbounded => f.write_str("(-inf, ")?,
        }
        match self.hi {
            Bound::Open(v) => write!(f, "{v})"),
            Bound::Closed(v) => write!(f, "{v}]"),
            Bound::Unbounded => f.write_str("inf)"),
        }
    }
}

/// What a value should have been, by the kind of value: its text is the `expected ...`
/// part of [`crate::Problem::Invalid`] (and of `TRADPAL_*` start-up messages), so each
/// variant's text is part of the configuration's documented messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum Expected {
    /// A finite number in the interval (`a number in (0, 1]`, `a finite number > 0`).
    #[error("{}", .0.expected())]
    Number(Interval),
    #[error("true or false (or 1/0, yes/no)")]
    Boolean,
    /// A whole number in `lo..=hi`, with its unit when it has one.
    #[error("a whole number in {lo}..={hi}{}", unit_suffix(unit))]
    Integer { lo: u64, hi: u64, unit: &'static str },
    #[error("a whole number in 1..=65535")]
    Port,
    #[error("an IP address or host name (e.g. 127.0.0.1, 0.0.0.0, localhost)")]
    Host,
    #[error("http:// or https:// and a host[:port], without path, credentials or trailing '/'")]
    BaseUrl,
    #[error("an exchange id of 1 to 32 letters, digits, '_' or '-' (e.g. binance)")]
    Exchange,
    #[error("a directory path in valid Unicode")]
    Dir,
    #[error("a node name of 1-32 characters from a-z 0-9 _ -")]
    NodeName,
    #[error("1 or 3 (JetStream replicas per stream and KV bucket)")]
    NatsReplicas,
    #[error("a calendar date as YYYY-MM-DD")]
    Date,
    #[error("one of trace, debug, info, warn/warning, error, critical")]
    LogLevel,
    #[error("text or json")]
    LogFormat,
}

fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    }
}

/// A finite number inside `range`. NaN and the infinities are rejected explicitly because
/// Rust's float parser accepts `NaN`, `inf` and `infinity`.
pub(crate) fn number_in(raw: &str, range: Interval) -> Result<f64, Expected> {
    let v: f64 = raw.trim().parse().map_err(|_| Expected::Number(range))?;
    // `+ 0.0` turns -0.0 into 0.0, so "-0" is stored and printed as plain zero.
    let v = v + 0.0;
    if v.is_finite() && range.contains(v) {
        Ok(v)
    } else {
        Err(Expected::Number(range))
    }
}

/// `true/false`, `1/0`, `yes/no`, any case.
pub(crate) fn boolean(raw: &str) -> Result<bool, Expected> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Expected::Boolean),
    }
}

/// A whole number in `lo..=hi`; `unit` (e.g. `seconds`) is named in the message.
pub(crate) fn integer_in(raw: &str, lo: u64, hi: u64, unit: &'static str) -> Result<u64, Expected> {
    match raw.trim().parse::<u64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(Expected::Integer { lo, hi, unit }),
    }
}

pub(crate) fn port(raw: &str) -> Result<u16, Expected> {
    let v = integer_in(raw, 1, 65_535, "").map_err(|_| Expected::Port)?;
    u16::try_from(v).map_err(|_| Expected::Port)
}

/// An IP address (IPv6 with or without brackets) or an RFC 1123 host name.
pub(crate) fn host(raw: &str) -> Result<String, Expected> {
    let text = raw.trim();
    let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    if is_host_name(bare) {
        Ok(bare.to_ascii_lowercase())
    } else {
        Err(Expected::Host)
    }
}

fn is_host_name(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !l.starts_with('-') && !l.ends_with('-')
    };
    // An all-digit last label is a mistyped IP address (`300.1.1.1`), not a name.
    let last_is_numeric = labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    text.len() <= 253 && labels.iter().all(label_ok) && !last_is_numeric
}

/// An exchange id: 1 to 32 of `a-z 0-9 _ -`, lower-cased on the way in.
/// An HTTP(S) endpoint without path or trailing `/` (`https://api.binance.com`).
pub(crate) fn base_url(raw: &str) -> Result<String, Expected> {
    let t = raw.trim();
    let rest = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') && !host.contains(char::is_whitespace) && !host.contains('@') => {
            Ok(t.to_string())
        }
        _ => Err(Expected::BaseUrl),
    }
}

pub(crate) fn exchange(raw: &str) -> Result<String, Expected> {
    let id = raw.trim().to_ascii_lowercase();
    let ok = (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(Expected::Exchange)
    }
}

/// Any non-empty path; whether it can be created is the journal's business at start-up.
/// U+FFFD is refused because it marks a name that was not valid Unicode in the
/// environment (see `env_snapshot`): using it would silently name another directory.
pub(crate) fn dir(raw: &str) -> Result<PathBuf, Expected> {
    let text = raw.trim();
    if text.is_empty() || text.contains(['\0', '\u{FFFD}']) {
        Err(Expected::Dir)
    } else {
        Ok(PathBuf::from(text))
    }
}

/// A node name: 1-32 of `a-z 0-9 _ -` (it appears in NATS KV values, logs and status).
pub(crate) fn node_name(raw: &str) -> Result<Option<String>, Expected> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let ok = text.len() <= 32 && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(Some(text.to_string()))
    } else {
        Err(Expected::NodeName)
    }
}

/// JetStream replicas: 1 (one server, or no redundancy) or 3 (survives one server of a
/// 3-node cluster). 5 is possible in NATS but needs 5 servers; 2 and 4 tolerate no more
/// failures than 1 and 3, so they are refused as likely mistakes.
pub(crate) fn nats_replicas(raw: &str) -> Result<usize, Expected> {
    match raw.trim() {
        "1" => Ok(1),
        "3" => Ok(3),
        _ => Err(Expected::NatsReplicas),
    }
}

pub(crate) fn date(raw: &str) -> Result<Date, Expected> {
    Date::parse(raw.trim()).ok_or(Expected::Date)
}

/// The spec's `DEBUG, INFO, WARNING, ERROR, CRITICAL` plus `trace` and `warn`, any case.
pub(crate) fn log_level(raw: &str) -> Result<LogLevel, Expected> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "trace" => Ok(LogLevel::Trace),
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "warn" | "warning" => Ok(LogLevel::Warn),
        "error" | "critical" => Ok(LogLevel::Error),
        _ => Err(Expected::LogLevel),
    }
}

pub(crate) fn log_format(raw: &str) -> Result<LogFormat, Expected> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(Expected::LogFormat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message text of a refusal (what the tests pin down).
    fn text<T>(r: Result<T, Expected>) -> Result<T, String> {
        r.map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_respect_their_interval() {
        assert_eq!(number_in("0.1", POSITIVE_FRACTION), Ok(0.1));
        assert_eq!(number_in(" 1 ", POSITIVE_FRACTION), Ok(1.0));
        for bad in ["0", "-0", "1.0001", "NaN", "inf", "-infinity", "", "0,1", "abc", "1e400"] {
            assert_eq!(text(number_in(bad, POSITIVE_FRACTION)), Err("a number in (0, 1]".to_string()), "{bad}");
        }
        assert_eq!(number_in("-0", COST_FRACTION).map(f64::to_bits), Ok(0.0f64.to_bits()));
        assert_eq!(text(number_in("1", COST_FRACTION)), Err("a number in [0, 1)".to_string()));
        assert_eq!(number_in("-0.005", RATE), Ok(-0.005));
        assert_eq!(text(number_in("0", POSITIVE)), Err("a finite number > 0".to_string()));
        assert_eq!(number_in("1e300", POSITIVE), Ok(1e300));
    }

    #[test]
    fn booleans_accept_the_documented_spellings() {
        for (raw, v) in [("true", true), ("YES", true), ("1", true), ("False", false), ("no", false), ("0", false)] {
            assert_eq!(boolean(raw), Ok(v));
        }
        for bad in ["", "on", "2", "truee", "y"] {
            assert!(boolean(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_and_integers() {
        assert_eq!(port("8002"), Ok(8002));
        assert_eq!(port("65535"), Ok(65535));
        for bad in ["0", "65536", "-1", "80.0", "", "http"] {
            assert_eq!(text(port(bad)), Err("a whole number in 1..=65535".to_string()), "{bad}");
        }
        assert_eq!(text(integer_in("0", 1, 10, "seconds")), Err("a whole number in 1..=10 (seconds)".to_string()));
    }

    #[test]
    fn hosts() {
        assert_eq!(host("0.0.0.0").as_deref(), Ok("0.0.0.0"));
        assert_eq!(host("[::1]").as_deref(), Ok("::1"));
        assert_eq!(host("Trading-1.Example.com").as_deref(), Ok("trading-1.example.com"));
        for bad in ["", "300.1.1.1", "a..b", "-a", "a b", "host:80", "http://x"] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn log_levels_map_the_spec_names() {
        assert_eq!(log_level("WARNING"), Ok(LogLevel::Warn));
        assert_eq!(log_level("Critical"), Ok(LogLevel::Error));
        assert_eq!(log_level("trace"), Ok(LogLevel::Trace));
        assert!(log_level("verbose").is_err());
        assert_eq!(log_format("JSON"), Ok(LogFormat::Json));
        assert!(log_format("yaml").is_err());
    }

    #[test]
    fn exchanges_and_dirs() {
        assert_eq!(exchange(" Binance ").as_deref(), Ok("binance"));
        assert!(exchange("bin ance").is_err());
        assert!(exchange("").is_err());
        assert!(dir("  ").is_err());
        assert_eq!(dir("/var/lib/tradpal"), Ok(PathBuf::from("/var/lib/tradpal")));
    }
}
