//! The execution core's error ([`ExecutionError`]) and its HTTP answer ([`refused`]).
//!
//! Its own module because every part of the core returns it (`decide.rs`, `matching.rs`,
//! `live.rs`, `core.rs`) and the actors map it to a reply: kept beside `decide.rs` it
//! made `core.rs` and `decide.rs` name each other.

use tradpal_messages::{ErrorCode, ErrorReply};

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
