//! What a broken record invariant is ([`InvariantError`]) and the checks and limits the
//! event modules share ([`check_text`], the text and client-order-id limits).
//!
//! A leaf: `event.rs`, `event_check.rs` and the split-off event modules (`rl_event.rs`,
//! `session_event.rs`) all use it and it uses none of them, so the event modules need not
//! depend on each other for a shared check.

/// Longest text field an event may carry, in bytes.
pub const EVENT_TEXT_BYTES_MAX: usize = 4096;

/// Longest client order id, in bytes (Binance allows 36).
pub const CLIENT_ORDER_ID_BYTES_MAX: usize = 64;

/// A record (event or envelope) that breaks an invariant, and so may not be journaled (or
/// was read back damaged). The text says what is wrong; it is what refusals answer, what
/// the journal's corruption reports quote, and what tests match, so it is kept as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvariantError {
    /// A text field over its limit ([`EVENT_TEXT_BYTES_MAX`] for most).
    #[error("{field} is {bytes} bytes, limit {limit}")]
    TextTooLong { field: String, bytes: usize, limit: usize },
    /// A symbol that is not `BASE/QUOTE` ([`crate::is_valid_symbol`]).
    #[error("invalid symbol {0:?}")]
    Symbol(String),
    /// Any other rule broken (a number out of range or not finite, fields that disagree),
    /// described.
    #[error("{0}")]
    Broken(String),
}

/// For callers that carry refusals as text (`?` into a `Result<_, String>`, or a
/// constructor taking `impl Into<String>`): the same text as `to_string`.
impl From<InvariantError> for String {
    fn from(e: InvariantError) -> String {
        e.to_string()
    }
}

/// Refuses `text` longer than [`EVENT_TEXT_BYTES_MAX`], naming `field`.
pub fn check_text(field: &str, text: &str) -> Result<(), InvariantError> {
    if text.len() > EVENT_TEXT_BYTES_MAX {
        return Err(InvariantError::TextTooLong { field: field.to_string(), bytes: text.len(), limit: EVENT_TEXT_BYTES_MAX });
    }
    Ok(())
}
