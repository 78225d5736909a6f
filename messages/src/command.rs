//! Commands: requests that an actor may accept or refuse. Each is answered by a `Reply`.
//! Same change rules as `event.rs`: add at the end, never renumber.

use crate::event::TradingMode;
use crate::ids::SessionId;
use serde::{Deserialize, Serialize};

/// `POST /api/trading/start-session`, the spec's request shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
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
}

fn default_strategy() -> String {
    "ai_ensemble".into()
}
fn default_risk_per_trade() -> f64 {
    0.02
}

/// `POST /api/trading/stop-session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopSession {
    pub session_id: SessionId,
}

/// `GET /api/trading/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct GetStatus {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    StartSession(StartSession),
    StopSession(StopSession),
    GetStatus(GetStatus),
}
