//! Identifiers: 128-bit values printed as UUID-shaped text.
//!
//! Why not the `uuid` crate: the ids must come from a seeded generator (replays and
//! backtests reproduce them), must archive with rkyv without extra features, and must
//! sort and compare as plain integers in indexes. A `u128` newtype does all three.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::str::FromStr;

/// Why an id failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id {text:?}: expected 32 hex digits, optionally as 8-4-4-4-12")]
pub struct IdParseError {
    pub kind: &'static str,
    pub text: String,
}

/// Parses `8-4-4-4-12` (or 32 bare) hex digits into a `u128`.
fn parse_u128_id(kind: &'static str, text: &str) -> Result<u128, IdParseError> {
    let err = || IdParseError { kind, text: text.chars().take(64).collect() };
    let bytes = text.as_bytes();
    let hex: String = if bytes.len() == 36 {
        for &i in &[8usize, 13, 18, 23] {
            if bytes[i] != b'-' {
                return Err(err());
            }
        }
        text.chars().filter(|c| *c != '-').collect()
    } else if bytes.len() == 32 {
        text.to_owned()
    } else {
        return Err(err());
    };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err());
    }
    u128::from_str_radix(&hex, 16).map_err(|_| err())
}

/// `8-4-4-4-12` lower-case hex digits, written from a stack buffer in one piece: ids are
/// printed on hot paths (every paper order's venue order id), where formatting through a
/// temporary string and five pieces cost more than the rest of the submission.
fn fmt_u128_id(v: u128, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(std::str::from_utf8(&u128_id_bytes(v)).map_err(|_| fmt::Error)?)
}

/// The 32 lower-case hex digits of `v`, most significant first (`format!("{v:032x}")`
/// without the formatting machinery): ids and generated client order ids.
pub fn hex_digits(v: u128) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // A byte at a time (two table reads each): sixteen byte operations, where a nibble
    // at a time took thirty-two 128-bit shifts.
    let mut out = [0u8; 32];
    for (pair, b) in out.chunks_exact_mut(2).zip(v.to_be_bytes()) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
    out
}

/// The 36 ASCII bytes of [`fmt_u128_id`].
fn u128_id_bytes(v: u128) -> [u8; 36] {
    let d = hex_digits(v);
    let mut buf = [b'-'; 36];
    buf[..8].copy_from_slice(&d[..8]);
    buf[9..13].copy_from_slice(&d[8..12]);
    buf[14..18].copy_from_slice(&d[12..16]);
    buf[19..23].copy_from_slice(&d[16..20]);
    buf[24..].copy_from_slice(&d[20..]);
    buf
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
        pub struct $name(pub u128);

        impl $name {
            /// `to_string()` without the formatting machinery (a paper order's venue
            /// order id is one, every order of a backtest).
            pub fn to_id_string(self) -> String {
                String::from_utf8(u128_id_bytes(self.0).to_vec()).expect("hex digits and dashes are ASCII")
            }

            /// [`Self::to_id_string`] as a [`SharedStr`](crate::SharedStr), in one
            /// allocation (the paper venue's order ids).
            pub fn to_shared_id(self) -> crate::SharedStr {
                let bytes = u128_id_bytes(self.0);
                crate::SharedStr::from(std::str::from_utf8(&bytes).expect("hex digits and dashes are ASCII"))
            }

            /// The id's big-endian bytes (index keys sort like the ids).
            pub fn to_bytes(self) -> [u8; 16] {
                self.0.to_be_bytes()
            }
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(u128::from_be_bytes(bytes))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_u128_id(self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($kind, "("))?;
                fmt_u128_id(self.0, f)?;
                write!(f, ")")
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_u128_id($kind, s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::schema::text(concat!("A ", $kind, " id: 128 bits in UUID layout"), Some(crate::schema::ID_PATTERN))
            }
        }
        impl utoipa::ToSchema for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// One journal record; unique across the journal's life.
    EventId, "event"
);
define_id!(
    /// One trading session (`/api/trading/start-session`).
    SessionId, "session"
);
define_id!(
    /// One order (the system's id; the client order id is separate text).
    OrderId, "order"
);
define_id!(
    /// Ties together everything caused by one outside stimulus (one request, one bar).
    CorrelationId, "correlation"
);
define_id!(
    /// The event that directly caused this one.
    CausationId, "causation"
);
define_id!(
    /// One backtest run (`POST /api/backtest/run`).
    BacktestId, "backtest"
);
define_id!(
    /// One trained ML model (`POST /api/ml/train`).
    ModelId, "model"
);

impl From<EventId> for CausationId {
    fn from(id: EventId) -> Self {
        CausationId(id.0)
    }
}

/// Deterministic id source: a ChaCha8 stream from a seed, shaped as UUID v4.
///
/// Live runs seed it from the OS once at start; backtests and replays seed it from
/// their journaled seed, so the same run produces the same ids.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    rng: ChaCha8Rng,
}

impl IdGenerator {
    pub fn from_seed(seed: u64) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The next 128 random bits with the UUID v4 version and variant bits set.
    pub fn next_u128(&mut self) -> u128 {
        let hi = self.rng.next_u64() as u128;
        let lo = self.rng.next_u64() as u128;
        let v = (hi << 64) | lo;
        let v = (v & !(0xF << 76)) | (0x4 << 76); // version 4
        (v & !(0b11 << 62)) | (0b10 << 62) // RFC 4122 variant
    }

    pub fn event_id(&mut self) -> EventId {
        EventId(self.next_u128())
    }
    pub fn session_id(&mut self) -> SessionId {
        SessionId(self.next_u128())
    }
    pub fn order_id(&mut self) -> OrderId {
        OrderId(self.next_u128())
    }
    pub fn correlation_id(&mut self) -> CorrelationId {
        CorrelationId(self.next_u128())
    }
    pub fn backtest_id(&mut self) -> BacktestId {
        BacktestId(self.next_u128())
    }
    pub fn model_id(&mut self) -> ModelId {
        ModelId(self.next_u128())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parse_round_trip_and_shape() {
        let mut g = IdGenerator::from_seed(7);
        for _ in 0..100 {
            let id = g.session_id();
            let text = id.to_string();
            assert_eq!(text.len(), 36);
            assert_eq!(&text[14..15], "4", "version nibble");
            assert_eq!(text.parse::<SessionId>().unwrap(), id);
            assert_eq!(text.replace('-', "").parse::<SessionId>().unwrap(), id);
            let h = format!("{:032x}", id.0);
            let pieces = format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
            assert_eq!(text, pieces, "8-4-4-4-12 hex digits");
            assert_eq!(id.to_id_string(), text);
            assert_eq!(id.to_shared_id(), text);
            assert_eq!(hex_digits(id.0).as_slice(), h.as_bytes());
        }
        assert_eq!(OrderId(u128::MAX).to_string(), "ffffffff-ffff-ffff-ffff-ffffffffffff");
        assert_eq!(OrderId(0xab).to_string(), "00000000-0000-0000-0000-0000000000ab");
    }

    #[test]
    fn same_seed_same_ids() {
        let a: Vec<_> = (0..5).scan(IdGenerator::from_seed(1), |g, _| Some(g.event_id())).collect();
        let b: Vec<_> = (0..5).scan(IdGenerator::from_seed(1), |g, _| Some(g.event_id())).collect();
        let c: Vec<_> = (0..5).scan(IdGenerator::from_seed(2), |g, _| Some(g.event_id())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", "xyz", "0000000-0000-0000-0000-0000000000000", "g0000000-0000-0000-0000-000000000000"] {
            let err = bad.parse::<OrderId>().unwrap_err();
            assert!(err.to_string().contains("order"), "{err}");
        }
    }
}
