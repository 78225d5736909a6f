//! Replies: the one answer to one command, success or a typed error.

use crate::event::SessionConfig;
use crate::ids::SessionId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What went wrong, in classes that map one-to-one onto HTTP statuses (in `runtime`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed request: bad JSON, wrong types, invalid values.
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    /// Conflicts with current state (already stopped, same key different body).
    Conflict,
    PayloadTooLarge,
    MethodNotAllowed,
    /// A needed part is down or restarting; retry later.
    Unavailable,
    /// A bug or a fatal condition (journal corruption); logged with the request id.
    Internal,
    /// The endpoint exists in the spec but its capability is not built yet; the message
    /// says which part of the roadmap builds it.
    NotImplemented,
    /// The thing existed and was deliberately removed (e.g. a backtest result deleted by
    /// retention); unlike 404, the id was valid. Added at the end: the enum is archived.
    Gone,
    /// Past a rate limit (`TRADPAL_RATE_LIMIT`); retry after the `Retry-After` header.
    /// Added at the end: the enum is archived.
    TooManyRequests,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::NotImplemented => "not_implemented",
            Self::Gone => "gone",
            Self::TooManyRequests => "too_many_requests",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[error("{}: {message}", code.as_str())]
pub struct ErrorReply {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorReply {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// One session as the orchestrator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub session_id: SessionId,
    pub status: SessionStatus,
    pub config: SessionConfig,
    pub started_at: Timestamp,
    pub stopped_at: Option<Timestamp>,
    /// Journal sequence of the `SessionStarted` record.
    pub started_sequence: u64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Active,
    Stopped,
    /// Asked to stop with `close_positions`: closing its position at the next bar.
    Stopping,
}

/// Supervision state of one actor.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ActorState {
    Starting,
    Running,
    Restarting,
    /// Restart budget exhausted; stays down until the service restarts.
    Failed,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
pub struct ActorStatus {
    pub name: String,
    pub state: ActorState,
    pub restart_count: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
pub struct OrchestratorStatus {
    pub active_sessions: u64,
    pub sessions: Vec<SessionInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
pub struct JournalStatus {
    pub last_sequence: u64,
}

/// `GET /api/trading/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
pub struct StatusReply {
    pub service: String,
    pub version: String,
    pub mode: String,
    pub bus: String,
    pub orchestrator: OrchestratorStatus,
    pub actors: Vec<ActorStatus>,
    pub journal: JournalStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
pub struct SessionStartedReply {
    pub session_id: SessionId,
    pub status: SessionStatus,
    pub session: SessionInfo,
    /// True when an `Idempotency-Key` retry returned the session started earlier.
    #[serde(default)]
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
pub struct SessionStoppedReply {
    pub session_id: SessionId,
    pub status: SessionStatus,
    pub session: SessionInfo,
}
