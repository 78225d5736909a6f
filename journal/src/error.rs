//! Errors, split by what the caller can do about them.
//!
//! Recoverable: the request was refused, nothing was written, the journal is fine; fix
//! the input (or wait) and carry on. Fatal: the journal cannot be trusted to go on
//! (corruption, an I/O error, a poisoned writer); stop and let an operator look, because
//! retrying a failed fsync can silently lose data (fsyncgate).

use crate::acknowledged::AcknowledgedGap;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    // ---- recoverable: nothing was written, the journal is healthy ----
    /// The draft (or the options) broke an invariant.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The encoded record would exceed `record_bytes_max`.
    #[error("record of {record_bytes} bytes exceeds record_bytes_max {record_bytes_max}")]
    TooLarge { record_bytes: usize, record_bytes_max: usize },
    /// The journal was closed (by `close` or drop); no more appends.
    #[error("journal is closed")]
    Closed,

    // ---- fatal: stop; the log or the machine needs an operator ----
    /// Bytes on disk are not what the journal wrote. `sequence` is the sequence the record
    /// at `offset` has or should have had.
    #[error("journal corrupt: {file}, offset {offset}, sequence {sequence}: {reason}", file = file.display())]
    Corrupt { file: PathBuf, offset: u64, sequence: u64, reason: String },
    /// A file operation failed. On write or fsync this poisons the journal.
    #[error("journal I/O error: {context}: {source}")]
    Io { context: String, source: io::Error },
    /// The sled index failed (it is rebuilt from the log on the next open).
    #[error("journal index error: {0}")]
    Index(String),
    /// An earlier write or fsync failed; the writer refuses everything since (never
    /// retry an fsync: the kernel may have dropped the dirty pages).
    #[error("journal poisoned by an earlier failure: {0}")]
    Poisoned(String),
    /// Replicated operation: the records can no longer be replicated (this node lost its
    /// leadership); nothing more is acknowledged here. Retry against the new leader.
    #[error("not replicated: {0}")]
    Replication(String),
    /// The log ends before the acknowledged high-water mark: records that were
    /// acknowledged are gone (a cut at a record boundary, or a damaged tail below the
    /// mark). Open refuses unless `JournalOptions::accept_acknowledged_loss` is set.
    #[error("journal lost acknowledged records: {gap}{detail}; the service refuses to start on it (restore the missing records, or start with --accept-journal-loss to accept the loss, which is journaled)")]
    AcknowledgedLoss { gap: AcknowledgedGap, detail: String },
}

impl JournalError {
    /// True for errors after which the journal must not be used (see the module docs).
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::Invalid(_) | Self::TooLarge { .. } | Self::Closed => false,
            Self::Corrupt { .. } | Self::Io { .. } | Self::Index(_) | Self::Poisoned(_) | Self::Replication(_) => true,
            Self::AcknowledgedLoss { .. } => true,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }

    /// A copy to hand to every caller of a failed group (io::Error is not Clone).
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Self::Invalid(s) => Self::Invalid(s.clone()),
            Self::TooLarge { record_bytes, record_bytes_max } => {
                Self::TooLarge { record_bytes: *record_bytes, record_bytes_max: *record_bytes_max }
            }
            Self::Closed => Self::Closed,
            Self::Corrupt { file, offset, sequence, reason } => {
                Self::Corrupt { file: file.clone(), offset: *offset, sequence: *sequence, reason: reason.clone() }
            }
            Self::Io { context, source } => {
                Self::Io { context: context.clone(), source: io::Error::new(source.kind(), source.to_string()) }
            }
            Self::Index(s) => Self::Index(s.clone()),
            Self::Poisoned(s) => Self::Poisoned(s.clone()),
            Self::Replication(s) => Self::Replication(s.clone()),
            Self::AcknowledgedLoss { gap, detail } => Self::AcknowledgedLoss { gap: *gap, detail: detail.clone() },
        }
    }
}

impl From<sled::Error> for JournalError {
    fn from(e: sled::Error) -> Self {
        Self::Index(e.to_string())
    }
}

/// Why `verify` could not produce a report at all. Problems *in* the log (torn tail,
/// corruption) are not errors: they are reported in [`crate::VerifyReport::problem`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no journal at {}: {source}", path.display())]
    NotFound { path: PathBuf, source: io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}
