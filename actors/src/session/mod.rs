//! Trading sessions: the orchestrator's record of who is trading what.
//!
//! `core.rs` decides and folds (pure); `actor.rs` journals and replies.

pub mod actor;
pub mod core;

pub use actor::{SessionActor, SessionMsg};
pub use core::{SessionBook, SessionLimits, KNOWN_STRATEGIES};
