//! Commands: the requests the session actor accepts or refuses (HTTP and NATS send the
//! same structs). Not journaled themselves: what a command decides is (see `event.rs`).

use crate::event::TradingMode;
use crate::ids::SessionId;
use crate::market::Timeframe;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /api/trading/start-session`: the spec's fields plus what a trading session
/// needs (`timeframe`, `params`); optional costs default to the service's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    pub symbol: String,
    pub capital: f64,
    #[serde(default = "default_strategy")]
    pub strategy: String,
    #[serde(default = "default_risk_per_trade")]
    pub risk_per_trade: f64,
    #[serde(default)]
    pub mode: TradingMode,
    /// The bars the session decides on; default: the config's first timeframe.
    #[serde(default)]
    pub timeframe: Option<Timeframe>,
    /// The strategy's parameters (as `tradpal backtest --param`); missing ones take defaults.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Fee rate per fill; default `TRANSACTION_COSTS`.
    #[serde(default)]
    pub commission: Option<f64>,
    /// Slippage of every market fill in basis points; default the backtest's (1).
    #[serde(default)]
    pub slippage_bps: Option<u32>,
    /// The session's own drawdown limit, a fraction of its peak equity in (0, 1]: a
    /// breach flattens and stops it. Default: none.
    #[serde(default)]
    pub max_drawdown: Option<f64>,
    /// The session's own daily loss limit, a fraction of its equity at the UTC day's
    /// first bar in (0, 1]: a breach flattens and stops it. Default: none.
    #[serde(default)]
    pub max_daily_loss: Option<f64>,
    /// `ai_ensemble`: the ML model (its `model_id`); default the symbol's latest ready
    /// direction model.
    #[serde(default)]
    pub model_id: Option<String>,
    /// `ai_ensemble`: the RL agent (`rl-<n>`); default the symbol's latest trained agent.
    #[serde(default)]
    pub agent_id: Option<String>,
}

fn default_strategy() -> String {
    "sma_cross".into()
}
fn default_risk_per_trade() -> f64 {
    0.02
}

/// `POST /api/trading/stop-session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopSession {
    pub session_id: SessionId,
    /// Cancel the session's working orders and close its position at the next bar
    /// before it stops (default true); false stops at once and leaves the position.
    #[serde(default = "default_true")]
    pub close_positions: bool,
}

fn default_true() -> bool {
    true
}
