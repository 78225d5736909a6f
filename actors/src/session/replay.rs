//! Replaying a trading session from the journal (pure): the session's inputs, in
//! journal order, through a fresh [`SessionRunner`], and what it decides compared with
//! what was journaled under the session's id. `tradpal replay --session ID` runs it.
//!
//! Inputs are the records the session actor feeds (`session::actor`): the session's
//! `SessionOpened`, candle records, the kill switch (`TradingStateChanged`) and the
//! session's `SessionStopRequested`. Recorded decisions are the records of the session's
//! own account carrying its id: its orders' records (client prefix `ss-`; orders a user
//! tagged with the session trade the paper account and are replayed with it), its
//! `AiDecision`s, `RiskLimitBreached` and `SessionStopped`. Replayed and recorded decisions must be equal one by one, in order:
//! the same code on the same inputs (and, for `ai_ensemble`, the same pinned models)
//! decides the same, so any difference is a bug or a tampered journal.

use super::runner::SessionRunner;
use crate::strategy::AiModels;
use serde::Serialize;
use serde_json::Value;
use tradpal_messages::{Envelope, Event, SessionId};

/// Why a session could not be replayed ([`SessionReplayer::finish`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Its recorded configuration no longer opens a session (names why).
    #[error("the session cannot be opened again: {0}")]
    CannotReopen(String),
    #[error("session {0} is not a trading session of this journal (no session_opened)")]
    NotASession(SessionId),
}

/// The first decision that differs: its index among the session's decisions, the
/// journal sequence of the recorded one, and both as JSON (`null`: missing on that side).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub index: usize,
    pub sequence: Option<u64>,
    pub recorded: Value,
    pub replayed: Value,
}

/// What a session's replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReplay {
    pub session_id: SessionId,
    /// Input records the session acted on (its start included).
    pub inputs: usize,
    pub recorded: usize,
    pub replayed: usize,
    pub identical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Difference>,
}

/// Feeds a journal, record by record, to one session (see the module doc).
pub struct SessionReplayer {
    id: SessionId,
    ai: Option<AiModels>,
    runner: Option<SessionRunner>,
    inputs: usize,
    replayed: Vec<Event>,
    recorded: Vec<(u64, Event)>,
    owned: crate::execution::replay::SessionOwned,
    error: Option<String>,
}

impl SessionReplayer {
    /// `ai`: an `ai_ensemble` session's pinned models, loaded.
    pub fn new(id: SessionId, ai: Option<AiModels>) -> Self {
        SessionReplayer {
            id,
            ai,
            runner: None,
            inputs: 0,
            replayed: Vec::new(),
            recorded: Vec::new(),
            owned: Default::default(),
            error: None,
        }
    }

    /// One journal record, in sequence order.
    pub fn feed(&mut self, env: &Envelope) {
        let own = env.session_id == Some(self.id)
            && (self.owned.owns(env) || matches!(env.event, Event::AiDecision(_) | Event::RiskLimitBreached(_) | Event::SessionStopped(_)));
        match &env.event {
            Event::SessionOpened(o) if o.session_id == self.id => {
                self.inputs += 1;
                match SessionRunner::open(o, env.sequence, env.timestamp, self.ai.take()) {
                    Ok(r) => self.runner = Some(r),
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
            Event::SessionStopRequested(r) if r.session_id == self.id => {
                if let Some(runner) = self.runner.as_mut() {
                    let out = runner.on_stop(r);
                    self.inputs += out.acted as usize;
                    self.replayed.extend(out.events);
                }
            }
            Event::CandlesIngested(c) => {
                if let Some(runner) = self.runner.as_mut().filter(|r| r.symbol() == c.symbol && !r.is_stopped()) {
                    let out = runner.on_candles(c, env.sequence);
                    self.inputs += out.acted as usize;
                    self.replayed.extend(out.events);
                }
            }
            Event::TradingStateChanged(t) => {
                if let Some(runner) = self.runner.as_mut() {
                    runner.on_trading_state(t);
                }
            }
            e if own => self.recorded.push((env.sequence, e.clone())),
            _ => {}
        }
    }

    /// The comparison; `Err` when the session never opened (or could not be).
    pub fn finish(self) -> Result<SessionReplay, ReplayError> {
        if let Some(e) = self.error {
            return Err(ReplayError::CannotReopen(e));
        }
        if self.runner.is_none() {
            return Err(ReplayError::NotASession(self.id));
        }
        let json = |e: Option<&Event>| e.and_then(|e| serde_json::to_value(e).ok()).unwrap_or(Value::Null);
        let n = self.recorded.len().max(self.replayed.len());
        let difference = (0..n).find(|&i| self.recorded.get(i).map(|(_, e)| e) != self.replayed.get(i)).map(|i| Difference {
            index: i,
            sequence: self.recorded.get(i).map(|(s, _)| *s),
            recorded: json(self.recorded.get(i).map(|(_, e)| e)),
            replayed: json(self.replayed.get(i)),
        });
        Ok(SessionReplay {
            session_id: self.id,
            inputs: self.inputs,
            recorded: self.recorded.len(),
            replayed: self.replayed.len(),
            identical: difference.is_none(),
            difference,
        })
    }
}
