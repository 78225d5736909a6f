//! NATS subject names: the one place they are spelled.
//!
//! Symbols contain a slash (`BTC/USDT`), which subjects cannot carry as a token
//! separator, and a `.` would split a token. Symbols are `BASE/QUOTE` of uppercase ASCII
//! letters and digits only (see [`crate::is_valid_symbol`]), so `BTC/USDT` travels as
//! the token `BTC-USDT` and decodes unambiguously.

use crate::market::{is_valid_symbol, Timeframe, TimeframeParseError};

/// JetStream stream holding market data published by outside producers.
pub const MD_STREAM: &str = "TRADPAL_MD";
/// Every market-data subject (the stream's subject filter).
pub const MD_ALL: &str = "tradpal.md.>";
/// Candle subjects: `tradpal.md.candle.{BASE-QUOTE}.{timeframe}`.
pub const MD_CANDLE_PREFIX: &str = "tradpal.md.candle";
/// Filter of every candle subject (the ingest consumer's filter).
pub const MD_CANDLE_ALL: &str = "tradpal.md.candle.>";
/// Where the service publishes each rejected market-data message, with the reason.
pub const MD_REJECTED: &str = "tradpal.md.rejected";
/// Durable consumer name of the market-data ingest (shared by every service process).
pub const MD_INGEST_CONSUMER: &str = "tradpal-md-ingest";

/// Commands as NATS request/reply: `tradpal.cmd.{capability}.{command}`, e.g.
/// `tradpal.cmd.execution.submit-order`. The request body is the HTTP body's JSON; the
/// reply is the HTTP answer's JSON (errors as `{"error": {"code", "message"}}`).
pub const CMD_PREFIX: &str = "tradpal.cmd";
/// Every command subject (what the service subscribes to).
pub const CMD_ALL: &str = "tradpal.cmd.>";
/// Queue group of the command subscribers: with several service processes, each request
/// goes to exactly one of them.
pub const CMD_QUEUE_GROUP: &str = "tradpal-commands";

/// The subject of a command, e.g. `command_subject("execution", "submit-order")`.
pub fn command_subject(capability: &str, command: &str) -> String {
    format!("{CMD_PREFIX}.{capability}.{command}")
}

/// JetStream stream of every journaled event, in journal order.
pub const EVENTS_STREAM: &str = "TRADPAL_EVENTS";
/// Every event subject: `tradpal.evt.{kind}`, e.g. `tradpal.evt.order_filled`.
pub const EVENTS_ALL: &str = "tradpal.evt.>";
/// Header carrying the journal sequence of a published event.
pub const EVENTS_SEQUENCE_HEADER: &str = "Tradpal-Sequence";

/// Replicated operation (`TRADPAL_NODE`): the leader's journal, one message per record
/// in sequence order (message sequence = journal sequence), as the exact binary record
/// payload, so a standby's journal is byte-identical and hash-chain-identical.
pub const LOG_STREAM: &str = "TRADPAL_LOG";
/// The one subject of [`LOG_STREAM`].
pub const LOG_SUBJECT: &str = "tradpal.log";
/// KV bucket holding the leader lease (key [`LEADER_KEY`], value: the leader's node name).
pub const LEADER_BUCKET: &str = "TRADPAL_LEADER";
pub const LEADER_KEY: &str = "leader";

/// The subject an event of `kind` (its `EventKind::as_str`) is published on.
pub fn event_subject(kind: &str) -> String {
    format!("tradpal.evt.{kind}")
}

/// `BTC/USDT` -> `BTC-USDT`.
pub fn symbol_token(symbol: &str) -> String {
    symbol.replacen('/', "-", 1)
}

/// `BTC-USDT` -> `BTC/USDT`, if it is a valid symbol token.
pub fn symbol_from_token(token: &str) -> Option<String> {
    let symbol = token.replacen('-', "/", 1);
    is_valid_symbol(&symbol).then_some(symbol)
}

/// The subject to publish candles of `symbol` at `timeframe` on.
pub fn candle_subject(symbol: &str, timeframe: Timeframe) -> String {
    format!("{MD_CANDLE_PREFIX}.{}.{}", symbol_token(symbol), timeframe.as_str())
}

/// Why a subject is not a candle subject (the ingest logs it and drops the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("subject {subject:?} is not under {}.", MD_CANDLE_PREFIX)]
    NotCandles { subject: String },
    #[error("subject {subject:?}: expected {}.BASE-QUOTE.TIMEFRAME", MD_CANDLE_PREFIX)]
    Shape { subject: String },
    #[error("subject {subject:?}: {token:?} is not a symbol token like BTC-USDT")]
    SymbolToken { subject: String, token: String },
    #[error("subject {subject:?}: {source}")]
    Timeframe { subject: String, source: TimeframeParseError },
}

/// Parses a candle subject back into `(symbol, timeframe)`, saying what is wrong if not.
pub fn parse_candle_subject(subject: &str) -> Result<(String, Timeframe), SubjectError> {
    let rest = subject
        .strip_prefix(MD_CANDLE_PREFIX)
        .and_then(|r| r.strip_prefix('.'))
        .ok_or_else(|| SubjectError::NotCandles { subject: subject.to_string() })?;
    let (token, tf) = rest.split_once('.').ok_or_else(|| SubjectError::Shape { subject: subject.to_string() })?;
    let symbol =
        symbol_from_token(token).ok_or_else(|| SubjectError::SymbolToken { subject: subject.to_string(), token: token.to_string() })?;
    let timeframe = tf.parse::<Timeframe>().map_err(|source| SubjectError::Timeframe { subject: subject.to_string(), source })?;
    Ok((symbol, timeframe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip_and_refuse_garbage() {
        for tf in Timeframe::ALL {
            let s = candle_subject("BTC/USDT", tf);
            assert_eq!(parse_candle_subject(&s).unwrap(), ("BTC/USDT".to_string(), tf));
        }
        assert_eq!(candle_subject("ETH/BTC", Timeframe::M1), "tradpal.md.candle.ETH-BTC.1m");
        for bad in [
            "tradpal.md.candle.BTC.1m",
            "tradpal.md.candle.BTC-USDT.2m",
            "tradpal.md.candle.btc-usdt.1m",
            "x.y",
            "tradpal.md.candle.BTC-USDT.1m.extra",
        ] {
            assert!(parse_candle_subject(bad).is_err(), "{bad}");
        }
    }
}
