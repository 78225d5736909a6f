//! The events of trading sessions that trade (`actors::session`): split from `event.rs`
//! only to keep that file short; the same change rules apply (they are variants at the
//! end of [`crate::Event`]).

use crate::event::{check_text, SessionConfig};
use crate::ids::SessionId;
use crate::market::{is_valid_symbol, Timeframe};
use serde::{Deserialize, Serialize};

/// One strategy parameter as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct StrategyParam {
    pub name: String,
    pub value: f64,
}

/// A trading session started: the spec's config plus everything its strategy loop
/// needs, so a replay of the journal alone rebuilds it (`session::runner`). Sessions
/// journaled as [`SessionStarted`] (before sessions traded) never trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionOpened {
    pub session_id: SessionId,
    pub config: SessionConfig,
    pub timeframe: Timeframe,
    /// Every parameter of the strategy, defaults filled in, in name order.
    pub params: Vec<StrategyParam>,
    /// Fee rate per fill (maker and taker).
    pub commission: f64,
    pub slippage_bps: u32,
    /// Seeds the session's order ids.
    pub seed: u64,
    /// The session's own drawdown limit (fraction of its peak equity); a breach flattens
    /// and stops it. `None`: none.
    pub max_drawdown: Option<f64>,
    /// The session's own daily loss limit (fraction of its equity at the first bar of the
    /// UTC day); a breach flattens and stops it. `None`: none.
    pub max_daily_loss: Option<f64>,
}

/// Input: a user asked to stop a session (or its emergency stop). Its decisions (cancels,
/// the closing order, `SessionStopped`) follow in the session actor's loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionStopRequested {
    pub session_id: SessionId,
    pub close_positions: bool,
    /// `requested` for a stop, `emergency_stop` for the emergency stop.
    pub reason: String,
}

/// The session actor decided everything the input record `input_sequence` (candles, a
/// stop request) called for; it is journaled in the same batch as those decisions, so
/// after a crash the inputs after the last one are exactly those not acted on yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionInputDecided {
    pub input_sequence: u64,
    /// Sessions that acted on it.
    pub sessions: u32,
}

impl SessionOpened {
    /// The record invariants (also asserted after reading the record back).
    pub fn check(&self) -> Result<(), String> {
        let c = &self.config;
        if !is_valid_symbol(&c.symbol) {
            return Err(format!("invalid symbol {:?}", c.symbol));
        }
        if !(c.capital.is_finite() && c.capital > 0.0) {
            return Err(format!("session capital must be finite and > 0, got {}", c.capital));
        }
        if !(c.risk_per_trade.is_finite() && c.risk_per_trade > 0.0 && c.risk_per_trade <= 1.0) {
            return Err(format!("risk_per_trade must be in (0, 1], got {}", c.risk_per_trade));
        }
        if !(self.commission.is_finite() && (0.0..1.0).contains(&self.commission)) {
            return Err(format!("commission must be in [0, 1), got {}", self.commission));
        }
        for (name, v) in [("max_drawdown", self.max_drawdown), ("max_daily_loss", self.max_daily_loss)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0 && *v <= 1.0)) {
                return Err(format!("{name} must be in (0, 1], got {v}"));
            }
        }
        if let Some(p) = self.params.iter().find(|p| !p.value.is_finite()) {
            return Err(format!("strategy parameter {} is not finite", p.name));
        }
        for p in &self.params {
            check_text("params", &p.name)?;
        }
        check_text("strategy", &c.strategy)
    }
}

/// The AI ensemble decided (`smart-trade`): journaled before anything acts on it; an
/// order it sends has the client id `ai-<this record's sequence>`, which links the two
/// in the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct AiDecision {
    pub symbol: String,
    /// Open time of the bar decided on.
    pub bar: crate::time::Timestamp,
    /// `buy`, `sell` or `hold`.
    pub action: String,
    /// Units the risk sizing gave (0 for hold).
    pub quantity: f64,
    pub score: f64,
    pub confidence: f64,
    /// The whole decision (each part's score, weight, contribution, model and agent
    /// versions, what was left out), as JSON.
    pub decision_json: String,
}

impl AiDecision {
    pub fn check(&self) -> Result<(), String> {
        if !is_valid_symbol(&self.symbol) {
            return Err(format!("invalid symbol {:?}", self.symbol));
        }
        if ![self.quantity, self.score, self.confidence].iter().all(|v| v.is_finite()) {
            return Err("AI decision numbers must be finite".into());
        }
        check_text("action", &self.action)?;
        if self.decision_json.len() > 16 * 1024 {
            return Err(format!("decision_json is {} bytes, limit 16384", self.decision_json.len()));
        }
        Ok(())
    }
}
