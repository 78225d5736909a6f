//! What one group commit carries between the two journal threads: the queued requests,
//! the records staged for the write, and how every caller is answered once the group is
//! acknowledged (or failed). The writer (`writer.rs`) fills a group and writes it; the
//! acknowledging thread (`ack.rs`) answers it. Kept apart from both so that neither
//! thread's module depends on the other's.

use crate::error::JournalError;
use std::collections::HashMap;
use tokio::sync::oneshot;
use tradpal_messages::{Envelope, EnvelopeDraft};

/// Where an answer goes: a blocked thread or an awaiting future.
pub(crate) enum Responder<T> {
    Blocking(std::sync::mpsc::SyncSender<Result<T, JournalError>>),
    Async(oneshot::Sender<Result<T, JournalError>>),
}

impl<T> Responder<T> {
    pub(crate) fn send(self, result: Result<T, JournalError>) {
        // A caller that went away (dropped future) just misses the answer; the record
        // stays written, as after a crash between fsync and ack.
        match self {
            Responder::Blocking(tx) => drop(tx.send(result)),
            Responder::Async(tx) => drop(tx.send(result)),
        }
    }
}

// One request is moved once, into the queue and out; boxing would cost an allocation
// per append for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Request {
    One {
        draft: EnvelopeDraft,
        reply: Responder<Envelope>,
    },
    Batch {
        drafts: Vec<EnvelopeDraft>,
        reply: Responder<Vec<Envelope>>,
    },
    /// Finish what was queued before this, then stop.
    Shutdown,
}

/// A draft's fate within a group.
#[allow(clippy::large_enum_variant)] // short-lived, one per draft in a group
pub(crate) enum Slot {
    /// Written in this group at `staged[i]` (a same-key duplicate points at the first).
    New(usize),
    /// Already journaled under the same idempotency key.
    Existing(Envelope),
}

#[allow(clippy::large_enum_variant)] // short-lived, one per request in a group
pub(crate) enum Answer {
    One(Responder<Envelope>, Result<Slot, JournalError>),
    Batch(Responder<Vec<Envelope>>, Result<Vec<Slot>, JournalError>),
}

pub(crate) struct Staged {
    pub envelope: Envelope,
    pub payload: Vec<u8>,
}

/// The requests taken into one write.
pub(crate) struct Group {
    pub first_seq: u64,
    pub staged: Vec<Staged>,
    pub bytes: usize,
    /// Idempotency keys staged in this group: same-group duplicates get the first record.
    pub keys: HashMap<String, usize>,
    pub answers: Vec<Answer>,
}

impl Group {
    pub(crate) fn new(first_seq: u64) -> Group {
        Group { first_seq, staged: Vec::new(), bytes: 0, keys: HashMap::new(), answers: Vec::new() }
    }

    /// Answers every caller. `failure` is the write/fsync error, if the group failed:
    /// then every caller with a new record gets it; refusals are answered as they are
    /// either way, and so are existing records that were acknowledged (at or below
    /// `acknowledged_through`). An existing record above it was written by an earlier group
    /// that then failed: it shares that failure rather than be acknowledged here first.
    pub(crate) fn answer(self, failure: Option<&JournalError>, acknowledged_through: u64) {
        let staged = &self.staged;
        let resolve = |slot: Slot| -> Result<Envelope, JournalError> {
            match (slot, failure) {
                (Slot::Existing(envelope), Some(e)) if envelope.sequence > acknowledged_through => Err(e.duplicate()),
                (Slot::Existing(envelope), _) => {
                    assert!(envelope.sequence <= acknowledged_through, "an existing record is answered only once acknowledged");
                    Ok(envelope)
                }
                (Slot::New(_), Some(e)) => Err(e.duplicate()),
                (Slot::New(i), None) => Ok(staged[i].envelope.clone()),
            }
        };
        for answer in self.answers {
            match answer {
                Answer::One(reply, outcome) => reply.send(outcome.and_then(resolve)),
                Answer::Batch(reply, outcome) => reply.send(outcome.and_then(|slots| slots.into_iter().map(resolve).collect())),
            }
        }
    }
}
