//! The events of reinforcement-learning agents (`actors::rl`): split from `event.rs`
//! only to keep that file short; the same change rules apply (they are variants at the
//! end of [`crate::Event`]).

use crate::invariant::{check_text, InvariantError};
use crate::market::{is_valid_symbol, Timeframe};
use serde::{Deserialize, Serialize};

/// An RL training job was accepted and began (`POST /api/rl/train`). Without a matching
/// [`RlAgentTrained`] or [`RlTrainingFailed`] it was interrupted (a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct RlTrainingStarted {
    pub agent_id: String,
    /// 1 for a new agent, the base's version + 1 for a fine-tuned one.
    pub version: u32,
    pub symbol: String,
    pub timeframe: Timeframe,
    /// `dqn` | `ppo`.
    pub algorithm: String,
    pub episodes: u64,
    pub bars: u64,
    /// The agent fine-tuned from; empty for a new one.
    pub base_agent_id: String,
    /// The accepted request as JSON (replays and reports show what was asked).
    pub request: String,
}

/// A training job finished; the agent and its report are the JSON file `agent_file`
/// (relative to the data directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct RlAgentTrained {
    pub agent_id: String,
    pub agent_file: String,
    /// Held-out excess return over random agents, and its p-value.
    pub excess_return: f64,
    pub p_value: f64,
}

/// A training job stopped with an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct RlTrainingFailed {
    pub agent_id: String,
    pub reason: String,
}

impl RlTrainingStarted {
    pub fn check(&self) -> Result<(), InvariantError> {
        if !is_valid_symbol(&self.symbol) {
            return Err(InvariantError::Symbol(self.symbol.clone()));
        }
        check_text("agent_id", &self.agent_id)?;
        check_text("algorithm", &self.algorithm)?;
        check_text("base_agent_id", &self.base_agent_id)
    }
}

impl RlAgentTrained {
    pub fn check(&self) -> Result<(), InvariantError> {
        if !(self.excess_return.is_finite() && self.p_value.is_finite()) {
            return Err(InvariantError::Broken(format!(
                "excess_return and p_value must be finite, got {} and {}",
                self.excess_return, self.p_value
            )));
        }
        check_text("agent_id", &self.agent_id)?;
        check_text("agent_file", &self.agent_file)
    }
}
