//! Market data vocabulary: symbols, timeframes, candles.

use crate::time::{Timestamp, NANOS_PER_SEC};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Bar length. The spec's list: 1m, 5m, 15m, 1h, 4h, 1d. Bars align to UTC boundaries.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    utoipa::ToSchema,
)]
pub enum Timeframe {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "4h")]
    H4,
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    pub const ALL: [Timeframe; 6] = [Self::M1, Self::M5, Self::M15, Self::H1, Self::H4, Self::D1];

    pub fn seconds(self) -> i64 {
        match self {
            Self::M1 => 60,
            Self::M5 => 300,
            Self::M15 => 900,
            Self::H1 => 3600,
            Self::H4 => 14_400,
            Self::D1 => 86_400,
        }
    }

    pub fn nanos(self) -> i64 {
        self.seconds() * NANOS_PER_SEC
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::H1 => "1h",
            Self::H4 => "4h",
            Self::D1 => "1d",
        }
    }

    /// The open time of the bar of this timeframe that contains `t` (UTC-aligned).
    pub fn bar_open(self, t: Timestamp) -> Timestamp {
        Timestamp(t.0 - t.0.rem_euclid(self.nanos()))
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeframe {0:?}: expected one of 1m, 5m, 15m, 1h, 4h, 1d")]
pub struct TimeframeParseError(pub String);

impl FromStr for Timeframe {
    type Err = TimeframeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| TimeframeParseError(s.chars().take(16).collect()))
    }
}

/// One OHLCV bar. `open_time` marks the bar's start (UTC). Prices and volume are floats:
/// market data feeds statistics and indicators; exact money lives in execution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Candle {
    pub open_time: Timestamp,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// A timestamp as outside JSON carries it: RFC 3339 text or epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeWire {
    Millis(i64),
    Text(String),
}

/// Why a [`TimeWire`] is not a [`Timestamp`]; callers put the text after the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeWireError {
    /// Epoch milliseconds beyond what nanoseconds in an `i64` can hold.
    #[error("epoch milliseconds {0} out of range")]
    MillisOutOfRange(i64),
    /// Text that is not RFC 3339.
    #[error(transparent)]
    Text(#[from] crate::time::TimestampParseError),
}

impl TimeWire {
    pub fn to_timestamp(&self) -> Result<Timestamp, TimeWireError> {
        match self {
            TimeWire::Millis(ms) => {
                const MS_MAX: i64 = i64::MAX / 1_000_000;
                if ms.abs() > MS_MAX {
                    return Err(TimeWireError::MillisOutOfRange(*ms));
                }
                Ok(Timestamp::from_millis(*ms))
            }
            TimeWire::Text(t) => Ok(t.parse()?),
        }
    }
}

/// A candle as outside producers send it (HTTP bodies, NATS messages): the CSV's fields
/// as JSON. Validation (finite, positive, consistent) happens in the market-data core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandleWire {
    /// The bar's open time.
    pub timestamp: TimeWire,
    /// Prices and volume: JSON numbers, or decimal strings (`"42000.5"`) as exchange APIs
    /// send them and as orders already accept.
    #[serde(deserialize_with = "number_or_decimal")]
    pub open: f64,
    #[serde(deserialize_with = "number_or_decimal")]
    pub high: f64,
    #[serde(deserialize_with = "number_or_decimal")]
    pub low: f64,
    #[serde(deserialize_with = "number_or_decimal")]
    pub close: f64,
    #[serde(deserialize_with = "number_or_decimal")]
    pub volume: f64,
}

/// A JSON number, or a string holding a decimal number (`"42000.5"`, `"1e-3"`). Other
/// text is refused here, naming it; whether the value is finite and positive is the
/// market-data core's check.
fn number_or_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<'a> {
        Number(f64),
        Text(std::borrow::Cow<'a, str>),
    }
    match Raw::deserialize(d)? {
        Raw::Number(x) => Ok(x),
        Raw::Text(t) => {
            let t = t.trim();
            let decimal = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
            match t.parse::<f64>() {
                Ok(x) if decimal => Ok(x),
                _ => Err(serde::de::Error::custom(format!("{t:?} is not a decimal number"))),
            }
        }
    }
}

impl CandleWire {
    pub fn to_candle(&self) -> Result<Candle, TimeWireError> {
        let open_time = self.timestamp.to_timestamp()?;
        Ok(Candle { open_time, open: self.open, high: self.high, low: self.low, close: self.close, volume: self.volume })
    }
}

/// `BASE/QUOTE`, each 1..=20 uppercase ASCII letters or digits (e.g. `BTC/USDT`).
pub fn is_valid_symbol(symbol: &str) -> bool {
    let ok = |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    matches!(symbol.split_once('/'), Some((b, q)) if ok(b) && ok(q))
}

#[cfg(test)]
mod tests {
    #[test]
    fn candle_prices_may_be_decimal_strings() {
        let w: CandleWire = serde_json::from_str(
            r#"{"timestamp":"2024-01-01T00:00:00Z","open":"42000.5","high":42100,"low":"41900.25","close":"42050","volume":"1.5"}"#,
        )
        .unwrap();
        assert_eq!((w.open, w.high, w.low, w.close, w.volume), (42000.5, 42100.0, 41900.25, 42050.0, 1.5));
        for bad in [r#""abc""#, r#""""#, r#""NaN""#, r#""inf""#, "true"] {
            let text = format!(r#"{{"timestamp":0,"open":{bad},"high":1,"low":1,"close":1,"volume":1}}"#);
            let e = serde_json::from_str::<CandleWire>(&text).unwrap_err().to_string();
            assert!(!e.is_empty(), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn timeframes_parse_and_align() {
        for tf in Timeframe::ALL {
            assert_eq!(tf.as_str().parse::<Timeframe>().unwrap(), tf);
            assert_eq!(serde_json::to_string(&tf).unwrap(), format!("\"{}\"", tf.as_str()));
        }
        let t: Timestamp = "2022-01-01T05:47:13Z".parse().unwrap();
        assert_eq!(Timeframe::H4.bar_open(t).to_rfc3339(), "2022-01-01T04:00:00Z");
        assert_eq!(Timeframe::D1.bar_open(t).to_rfc3339(), "2022-01-01T00:00:00Z");
        assert!("2h".parse::<Timeframe>().is_err());
    }

    #[test]
    fn symbols() {
        assert!(is_valid_symbol("BTC/USDT"));
        for bad in ["btc/usdt", "BTCUSDT", "BTC/", "/USDT", "BTC/USDT/X", "BTC-USDT"] {
            assert!(!is_valid_symbol(bad), "{bad}");
        }
    }
}
