//! The events of trading sessions that trade (`actors::session`): split from `event.rs`
//! only to keep that file short; the same change rules apply (they are variants at the
//! end of [`crate::Event`]).

use crate::ids::SessionId;
use crate::invariant::{check_text, InvariantError};
use crate::market::{is_valid_symbol, Timeframe};
use serde::{Deserialize, Serialize};

/// How a session trades. Paper is the default and needs no exchange account.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Default,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TradingMode {
    #[default]
    Paper,
    Live,
}

/// The spec's session request, as accepted (validated) by the session actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, utoipa::ToSchema)]
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
    /// An `ai_ensemble` session's models, pinned at its start (`None` for the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiPins>,
}

/// What an `ai_ensemble` session (or backtest) decides with, fixed when it starts so a
/// rebuild or a replay uses the same models even after newer ones are trained: the ML
/// model and RL agent by id and version (their files are immutable), the regime model
/// itself (the regime service refits its own), the weights and the parts left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct AiPins {
    /// The ML direction model (`ModelId` in hex) and its version; `None`: left out.
    pub model_id: Option<String>,
    pub model_version: u32,
    /// The RL agent (`rl-<n>`) and its version; `None`: left out.
    pub agent_id: Option<String>,
    pub agent_version: u32,
    /// The regime model as JSON (`None`: the regime part is left out).
    pub regime_model_json: Option<String>,
    pub ml_weight: f64,
    pub rl_weight: f64,
    pub regime_weight: f64,
    /// Why each part left out is (`ml: ...`, `rl: ...`, `regime: ...`).
    pub left_out: Vec<String>,
}

/// Most bytes of a pinned regime model (a few hundred numbers).
pub const REGIME_MODEL_JSON_BYTES_MAX: usize = 64 * 1024;

impl AiPins {
    pub fn check(&self) -> Result<(), InvariantError> {
        for (name, w) in [("ml_weight", self.ml_weight), ("rl_weight", self.rl_weight), ("regime_weight", self.regime_weight)] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(InvariantError::Broken(format!("{name} must be finite and >= 0, got {w}")));
            }
        }
        if self.regime_model_json.as_ref().is_some_and(|j| j.len() > REGIME_MODEL_JSON_BYTES_MAX) {
            return Err(InvariantError::Broken(format!("the pinned regime model is over {REGIME_MODEL_JSON_BYTES_MAX} bytes")));
        }
        for t in self.model_id.iter().chain(&self.agent_id).chain(&self.left_out) {
            check_text("ai pins", t)?;
        }
        Ok(())
    }
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
    pub fn check(&self) -> Result<(), InvariantError> {
        let c = &self.config;
        if !is_valid_symbol(&c.symbol) {
            return Err(InvariantError::Symbol(c.symbol.clone()));
        }
        if !(c.capital.is_finite() && c.capital > 0.0) {
            return Err(InvariantError::Broken(format!("session capital must be finite and > 0, got {}", c.capital)));
        }
        if !(c.risk_per_trade.is_finite() && c.risk_per_trade > 0.0 && c.risk_per_trade <= 1.0) {
            return Err(InvariantError::Broken(format!("risk_per_trade must be in (0, 1], got {}", c.risk_per_trade)));
        }
        if !(self.commission.is_finite() && (0.0..1.0).contains(&self.commission)) {
            return Err(InvariantError::Broken(format!("commission must be in [0, 1), got {}", self.commission)));
        }
        for (name, v) in [("max_drawdown", self.max_drawdown), ("max_daily_loss", self.max_daily_loss)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0 && *v <= 1.0)) {
                return Err(InvariantError::Broken(format!("{name} must be in (0, 1], got {v}")));
            }
        }
        if let Some(p) = self.params.iter().find(|p| !p.value.is_finite()) {
            return Err(InvariantError::Broken(format!("strategy parameter {} is not finite", p.name)));
        }
        for p in &self.params {
            check_text("params", &p.name)?;
        }
        if let Some(ai) = &self.ai {
            ai.check()?;
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
    pub fn check(&self) -> Result<(), InvariantError> {
        if !is_valid_symbol(&self.symbol) {
            return Err(InvariantError::Symbol(self.symbol.clone()));
        }
        if ![self.quantity, self.score, self.confidence].iter().all(|v| v.is_finite()) {
            return Err(InvariantError::Broken("AI decision numbers must be finite".into()));
        }
        check_text("action", &self.action)?;
        if self.decision_json.len() > 16 * 1024 {
            return Err(InvariantError::TextTooLong { field: "decision_json".into(), bytes: self.decision_json.len(), limit: 16 * 1024 });
        }
        Ok(())
    }
}
