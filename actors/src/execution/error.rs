//! The execution core's errors and the HTTP answer of a refused request ([`refused`]).
//!
//! - [`ExecutionError`]: what a decision (submit, cancel, matching, live reports)
//!   returns; the variant picks the HTTP status.
//! - [`ApplyError`]: a journaled event the core cannot apply (`ExecutionCore::apply`):
//!   a bug or a journal that does not fit, never a user's mistake; deciders wrap it as
//!   [`ExecutionError::Internal`], replays report it with the record's index.
//! - The parts' own refusals live beside them ([`PortfolioError`], [`FillError`],
//!   [`IllegalTransition`], `instrument::InstrumentError`); this file wraps them.
//!
//! Their texts are the ones the journal, replays and HTTP answers have always shown.
//! Its own module because every part of the core returns these (`decide.rs`,
//! `matching.rs`, `live.rs`, `core.rs`) and the actors map them to a reply: kept beside
//! `decide.rs` they made `core.rs` and `decide.rs` name each other.

use super::order::{FillError, IllegalTransition};
use super::portfolio::PortfolioError;
use tradpal_messages::{ErrorCode, ErrorReply, Fixed, OrderId, Side, TradingState};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecutionError {
    /// The request is wrong (names the field); nothing was recorded.
    #[error("{0}")]
    Invalid(String),
    /// The client order id is taken by a different order; nothing was recorded.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// A limit of the service (working orders) is reached; retry later.
    #[error("{0}")]
    Busy(String),
    /// A bug: the core refused its own event. The actor rebuilds from the journal.
    #[error("internal: {0}")]
    Internal(String),
}

/// The reply a refused request answers: the variant picks the status, the message is
/// the error's text as it is.
pub fn refused(e: ExecutionError) -> ErrorReply {
    match e {
        ExecutionError::Invalid(m) => ErrorReply::new(ErrorCode::BadRequest, m),
        ExecutionError::Conflict(m) => ErrorReply::new(ErrorCode::Conflict, m),
        ExecutionError::NotFound(m) => ErrorReply::new(ErrorCode::NotFound, m),
        ExecutionError::Busy(m) => ErrorReply::new(ErrorCode::Unavailable, m),
        ExecutionError::Internal(m) => ErrorReply::new(ErrorCode::Internal, m),
    }
}

/// A journaled event that does not fit the core's state; nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    #[error("order {order_id} / client id {client_order_id:?} submitted twice")]
    SubmittedTwice { order_id: OrderId, client_order_id: String },
    /// A step (accept, cancel, release ...) for an order the core does not know.
    #[error("event for unknown order {0}")]
    UnknownOrder(OrderId),
    #[error("fill for unknown order {0}")]
    FillOfUnknownOrder(OrderId),
    #[error("release of {released} exceeds the order's {quantity}")]
    ReleaseExceeds { released: Fixed, quantity: Fixed },
    #[error("trading state change from {} but it is {}", from.as_str(), current.as_str())]
    TradingStateMismatch { from: TradingState, current: TradingState },
    #[error("cash in {asset} but the account is in {currency}")]
    CashCurrency { asset: String, currency: String },
    #[error("fill of order {order_id} names {} {symbol} but the order is {} {order_symbol}", side.as_str(), order_side.as_str())]
    FillMismatch { order_id: OrderId, side: Side, symbol: String, order_side: Side, order_symbol: String },
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    #[error(transparent)]
    Fill(#[from] FillError),
    #[error(transparent)]
    Portfolio(#[from] PortfolioError),
}

impl From<ApplyError> for ExecutionError {
    /// The core refused its own event: a bug ([`ExecutionError::Internal`]).
    fn from(e: ApplyError) -> Self {
        ExecutionError::Internal(e.to_string())
    }
}
