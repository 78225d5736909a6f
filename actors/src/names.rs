//! Registered actor names. The supervisor spawns one child per concern under these
//! names; the HTTP adapter finds the current incarnation with `ActorRef::where_is`.

pub const MARKET_DATA: &str = "market_data";
pub const REGIME: &str = "regime";
pub const RISK: &str = "risk";
pub const EXECUTION: &str = "execution";
pub const BACKTEST: &str = "backtest";
pub const ML: &str = "ml";
pub const RL: &str = "rl";
pub const AI_ENSEMBLE: &str = "ai_ensemble";
pub const SESSION: &str = "session";
pub const LIVE_BOT: &str = "live_bot";

/// Every concern, in start order (dependencies first).
pub const ALL: &[&str] = &[MARKET_DATA, REGIME, RISK, EXECUTION, BACKTEST, ML, RL, AI_ENSEMBLE, SESSION, LIVE_BOT];
