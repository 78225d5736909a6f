//! The envelope: what the journal stores and the bus carries around every event.

use crate::event::{Event, EventKind};
use crate::ids::{CausationId, CorrelationId, EventId, SessionId};
use crate::invariant::InvariantError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Longest request id or idempotency key kept, in bytes (longer ones are refused).
pub const KEY_BYTES_MAX: usize = 128;

/// An event as recorded: the journal assigns `sequence` (dense, from 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Envelope {
    pub sequence: u64,
    pub event_id: EventId,
    /// From the Clock of whoever decided the event (wall clock live, simulated in replay).
    pub timestamp: Timestamp,
    pub session_id: Option<SessionId>,
    pub correlation_id: CorrelationId,
    pub causation_id: Option<CausationId>,
    /// The HTTP `X-Request-Id` (or bus message id) that led here, for audit.
    pub request_id: Option<String>,
    /// When set, the journal keeps at most one record per key: appending a draft whose
    /// key exists returns the existing record instead (client order ids, bus redelivery).
    pub idempotency_key: Option<String>,
    pub kind: EventKind,
    pub event: Event,
}

/// An envelope before the journal has given it a sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeDraft {
    pub event_id: EventId,
    pub timestamp: Timestamp,
    pub session_id: Option<SessionId>,
    pub correlation_id: CorrelationId,
    pub causation_id: Option<CausationId>,
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub event: Event,
}

impl EnvelopeDraft {
    /// A draft whose session id is taken from the event itself.
    pub fn new(event_id: EventId, timestamp: Timestamp, correlation_id: CorrelationId, event: Event) -> Self {
        Self {
            event_id,
            timestamp,
            session_id: event.session_id(),
            correlation_id,
            causation_id: None,
            request_id: None,
            idempotency_key: None,
            event,
        }
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn with_causation(mut self, causation_id: CausationId) -> Self {
        self.causation_id = Some(causation_id);
        self
    }

    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Everything that must hold before the draft may be journaled.
    pub fn check_invariants(&self) -> Result<(), InvariantError> {
        check_draft_fields(&self.request_id, &self.idempotency_key, self.session_id, &self.event)
    }

    pub fn seal(self, sequence: u64) -> Envelope {
        Envelope {
            sequence,
            event_id: self.event_id,
            timestamp: self.timestamp,
            session_id: self.session_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            request_id: self.request_id,
            idempotency_key: self.idempotency_key,
            kind: self.event.kind(),
            event: self.event,
        }
    }
}

/// [`EnvelopeDraft::check_invariants`], on the fields an envelope and its draft share.
fn check_draft_fields(
    request_id: &Option<String>,
    idempotency_key: &Option<String>,
    session_id: Option<SessionId>,
    event: &Event,
) -> Result<(), InvariantError> {
    for (name, value) in [("request_id", request_id), ("idempotency_key", idempotency_key)] {
        if let Some(v) = value {
            if v.is_empty() || v.len() > KEY_BYTES_MAX {
                return Err(InvariantError::Broken(format!("{name} must be 1..={KEY_BYTES_MAX} bytes, got {}", v.len())));
            }
        }
    }
    if session_id.is_some() && event.session_id().is_some() && session_id != event.session_id() {
        return Err(InvariantError::Broken("envelope session_id differs from the event's session".into()));
    }
    event.check_invariants()
}

impl Envelope {
    /// Invariants of a stored record (checked again after reading it back).
    pub fn check_invariants(&self) -> Result<(), InvariantError> {
        if self.sequence == 0 {
            return Err(InvariantError::Broken("sequence 0 is never assigned".into()));
        }
        if self.kind != self.event.kind() {
            return Err(InvariantError::Broken(format!("kind {:?} does not match event {:?}", self.kind, self.event.kind())));
        }
        // The draft's checks, on the fields in place (replay checks every record read back:
        // a clone per record, to make a draft of it, was a tenth of replay's time).
        check_draft_fields(&self.request_id, &self.idempotency_key, self.session_id, &self.event)
    }

    pub fn into_draft(self) -> EnvelopeDraft {
        EnvelopeDraft {
            event_id: self.event_id,
            timestamp: self.timestamp,
            session_id: self.session_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            request_id: self.request_id,
            idempotency_key: self.idempotency_key,
            event: self.event,
        }
    }
}
