//! Events: facts, in the past tense, one struct per event inside one closed enum.
//!
//! Rules for changing this file (the journal keeps old records forever):
//! - add new variants and new `EventKind`s at the END; never reorder, renumber or remove;
//! - never change a field's type; add a new event instead;
//! - a change that breaks either rule bumps `codec::FORMAT_VERSION` and teaches
//!   `codec::decode` the old layout.

use crate::ids::SessionId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How a session trades. Paper is the default and needs no exchange account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradingMode {
    #[default]
    Paper,
    Live,
}

/// The spec's session request, as accepted (validated) by the session actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionConfig {
    /// `BASE/QUOTE`, e.g. `BTC/USDT`.
    pub symbol: String,
    /// Starting capital in quote currency. A float here: the config as the user typed it;
    /// exact money arithmetic lives in execution (see ARCHITECTURE.md).
    pub capital: f64,
    pub strategy: String,
    pub risk_per_trade: f64,
    pub mode: TradingMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionStarted {
    pub session_id: SessionId,
    pub config: SessionConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionStopped {
    pub session_id: SessionId,
    /// Why it stopped: `requested` for a user's stop, otherwise the automatic reason.
    pub reason: String,
}

/// A supervised actor failed and was (or was not) restarted. Journaled for audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct ActorRestarted {
    pub actor: String,
    /// Restarts of this actor since the service started.
    pub restart_count: u32,
    /// The panic message or error, truncated.
    pub reason: String,
    /// False when the restart budget was exhausted and the actor stays down.
    pub restarted: bool,
}

/// The service started on a journal; records the seed of its id generator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct ServiceStarted {
    pub version: String,
    pub id_seed: u64,
    pub started_at: Timestamp,
}

/// Every fact the system records. Closed: a new fact is a new variant (at the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ServiceStarted(ServiceStarted),
    SessionStarted(SessionStarted),
    SessionStopped(SessionStopped),
    ActorRestarted(ActorRestarted),
}

/// The event's kind without its payload: stored in the envelope (and in indexes) so a
/// reader can filter without decoding the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u16)]
pub enum EventKind {
    ServiceStarted = 1,
    SessionStarted = 2,
    SessionStopped = 3,
    ActorRestarted = 4,
}

impl EventKind {
    pub const ALL: &'static [EventKind] =
        &[Self::ServiceStarted, Self::SessionStarted, Self::SessionStopped, Self::ActorRestarted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceStarted => "service_started",
            Self::SessionStarted => "session_started",
            Self::SessionStopped => "session_stopped",
            Self::ActorRestarted => "actor_restarted",
        }
    }
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::ServiceStarted(_) => EventKind::ServiceStarted,
            Event::SessionStarted(_) => EventKind::SessionStarted,
            Event::SessionStopped(_) => EventKind::SessionStopped,
            Event::ActorRestarted(_) => EventKind::ActorRestarted,
        }
    }

    /// The session this event belongs to, if any (indexed by the journal).
    pub fn session_id(&self) -> Option<SessionId> {
        match self {
            Event::SessionStarted(e) => Some(e.session_id),
            Event::SessionStopped(e) => Some(e.session_id),
            Event::ServiceStarted(_) | Event::ActorRestarted(_) => None,
        }
    }

    /// Checks the invariants a record must satisfy before it may be written (and after
    /// it is read back): finite numbers, bounded text. Returns what is wrong.
    pub fn check_invariants(&self) -> Result<(), String> {
        match self {
            Event::SessionStarted(e) => {
                let c = &e.config;
                if !(c.capital.is_finite() && c.capital > 0.0) {
                    return Err(format!("session capital must be finite and > 0, got {}", c.capital));
                }
                if !(c.risk_per_trade.is_finite() && c.risk_per_trade > 0.0 && c.risk_per_trade <= 1.0) {
                    return Err(format!("risk_per_trade must be in (0, 1], got {}", c.risk_per_trade));
                }
                check_text("symbol", &c.symbol)?;
                check_text("strategy", &c.strategy)
            }
            Event::SessionStopped(e) => check_text("reason", &e.reason),
            Event::ActorRestarted(e) => check_text("actor", &e.actor),
            Event::ServiceStarted(e) => check_text("version", &e.version),
        }
    }
}

/// Longest text field an event may carry, in bytes.
pub const EVENT_TEXT_BYTES_MAX: usize = 4096;

fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.len() > EVENT_TEXT_BYTES_MAX {
        return Err(format!("{field} is {} bytes, limit {EVENT_TEXT_BYTES_MAX}", text.len()));
    }
    Ok(())
}
