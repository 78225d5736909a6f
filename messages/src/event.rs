//! Events: facts, in the past tense, one struct per event inside one closed enum.
//!
//! Rules for changing this file (the journal keeps old records forever):
//! - add new variants and new `EventKind`s at the END; never reorder, renumber or remove;
//! - never change a field's type; add a new event instead;
//! - a change that breaks either rule bumps `codec::FORMAT_VERSION` and teaches
//!   `codec::decode` the old layout.

use crate::ids::{ModelId, SessionId};
use crate::invariant::InvariantError;
use crate::market::{is_valid_symbol, Candle, Timeframe};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::backtest_event::{BacktestCompleted, BacktestFailed, BacktestJobStarted, BacktestResultRemoved, BacktestStarted};
pub use crate::order_event::{
    CashAdjusted, OrderAccepted, OrderCancelRequested, OrderCanceled, OrderExpired, OrderFilled, OrderRejected, OrderReleased,
    OrderSubmitted, OrderTriggered, TradingStateChanged,
};
pub use crate::rl_event::{RlAgentTrained, RlTrainingFailed, RlTrainingStarted};
pub use crate::session_event::{
    AiDecision, SessionConfig, SessionInputDecided, SessionOpened, SessionStopRequested, StrategyParam, TradingMode,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionStarted {
    pub session_id: SessionId,
    pub config: SessionConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct SessionStopped {
    pub session_id: SessionId,
    /// Why it stopped: `requested` for a user's stop, otherwise the automatic reason.
    pub reason: String,
}

/// A supervised actor failed and was (or was not) restarted. Journaled for audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct ServiceStarted {
    pub version: String,
    pub id_seed: u64,
    pub started_at: Timestamp,
}

/// Where market data came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// `tradpal data import FILE.csv`.
    Csv,
    /// `POST /api/data/candles`.
    Http,
    /// A NATS producer.
    Nats,
    /// The candles of a `smart-trade` request.
    SmartTrade,
}

/// Most candles one journal record carries (48 bytes each: ~0.5 MB a record).
pub const CANDLES_PER_RECORD_MAX: usize = 10_000;

/// Validated candles accepted into the store: strictly increasing, aligned open times,
/// none at a time already stored for this symbol and timeframe. Most extend the series;
/// late bars (older than the last stored one) fill empty slots before it (back-fill,
/// see the market-data store). Folding the records in journal order rebuilds the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct CandlesIngested {
    pub symbol: String,
    pub timeframe: Timeframe,
    pub source: DataSource,
    pub candles: Vec<Candle>,
}

impl CandlesIngested {
    /// The record invariants (also asserted after reading the record back).
    pub fn check(&self) -> Result<(), InvariantError> {
        if !is_valid_symbol(&self.symbol) {
            return Err(InvariantError::Symbol(self.symbol.clone()));
        }
        if self.candles.is_empty() || self.candles.len() > CANDLES_PER_RECORD_MAX {
            return Err(InvariantError::Broken(format!("{} candles in one record (1..={CANDLES_PER_RECORD_MAX})", self.candles.len())));
        }
        let tf = self.timeframe;
        let mut prev: Option<Timestamp> = None;
        for (i, c) in self.candles.iter().enumerate() {
            let prices_ok = [c.open, c.high, c.low, c.close].iter().all(|p| p.is_finite() && *p > 0.0);
            if !(prices_ok && c.volume.is_finite() && c.volume >= 0.0) {
                return Err(InvariantError::Broken(format!("candle {i}: prices must be finite and > 0, volume finite and >= 0")));
            }
            if c.high < c.low || c.open < c.low || c.open > c.high || c.close < c.low || c.close > c.high {
                return Err(InvariantError::Broken(format!("candle {i}: open/close outside [low, high]")));
            }
            if tf.bar_open(c.open_time) != c.open_time || prev.is_some_and(|p| p >= c.open_time) {
                return Err(InvariantError::Broken(format!("candle {i}: open time not aligned or not increasing")));
            }
            prev = Some(c.open_time);
        }
        Ok(())
    }
}

/// A risk limit was found breached. Execution and sessions act on it (block new
/// entries); the journal keeps it for audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct RiskLimitBreached {
    pub session_id: Option<SessionId>,
    /// The limit's name, e.g. `max_daily_loss`, `max_drawdown`.
    pub limit: String,
    pub value: f64,
    pub threshold: f64,
    /// How far past the threshold (`value - threshold`, in the limit's unit).
    pub excess: f64,
}

/// The detected market regime of a symbol changed (after hysteresis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct RegimeChanged {
    pub symbol: String,
    /// The timeframe whose view changed; `None` for the combined multi-timeframe view.
    pub timeframe: Option<Timeframe>,
    /// Open time of the bar at which the change was detected.
    pub bar: Timestamp,
    /// Regime names, e.g. `bull`, `bear_high_vol`; `from` is empty for the first one.
    pub from: String,
    pub to: String,
    /// Probability of `to` at `bar`, in [0, 1].
    pub confidence: f64,
}

/// The settings the execution core decides with, journaled at every service start: a
/// replay re-decides with what the service actually used, not with whatever the
/// environment says on the day of the audit. (Instruments and the rest of the fill model
/// are code constants; these are the inputs that come from configuration.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct ExecutionConfigured {
    /// Fee rate per fill, maker and taker (`TRANSACTION_COSTS`).
    pub transaction_costs: f64,
    /// Largest position, fraction of equity (`MAX_POSITION_SIZE`).
    pub max_position_size: f64,
    /// Drawdown limit, fraction (`MAX_DRAWDOWN`).
    pub max_drawdown: f64,
    /// Unacknowledged orders expire after this many ns (`ORDER_TIMEOUT`).
    pub order_timeout_ns: i64,
    /// The live venue when paper trading is off (`DEFAULT_EXCHANGE`); `None` = paper.
    pub live_venue: Option<String>,
}

/// Execution limits from configuration journaled beside [`ExecutionConfigured`] at every
/// service start (a new event rather than a field: rkyv records have a fixed layout, and
/// journals of older builds must still read). A replay applies it to the configuration
/// in force; journals without it had no such limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct ExecutionLimitsConfigured {
    /// Most positions open at once on the paper (or live) account
    /// (`trading_config.max_positions`): opening one more is refused by the pre-trade
    /// check.
    pub max_open_positions: u32,
}

/// The service started on a journal that had lost acknowledged records (it ended before
/// the journal's acknowledged high-water mark) because the operator said so
/// (`tradpal serve --accept-journal-loss`). Journaled right after `ServiceStarted`, so
/// the loss is part of the record: records `first_missing..=acknowledged_through` were
/// acknowledged once, and every later record has sequences that reuse theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct JournalLossAccepted {
    /// The first acknowledged sequence the journal no longer had (where it ended, + 1).
    pub first_missing: u64,
    /// The acknowledged high-water mark at the time.
    pub acknowledged_through: u64,
}

/// An ML training job was accepted (`POST /api/ml/train`, issue 14). With no matching
/// [`MlModelTrained`] or [`MlTrainingFailed`] after it, a restart cut it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct MlTrainingStarted {
    pub model_id: ModelId,
    /// The model's name; its versions count up per name.
    pub name: String,
    pub version: u32,
    /// As asked (`xgboost`, `gbm`, `mlp`, ...).
    pub model_type: String,
    pub symbol: String,
    pub timeframe: Timeframe,
    pub bars: u64,
    /// The request as JSON (parameters are shown from it while training and after a failure).
    pub request_json: String,
}

/// An ML model finished training: its weights and metadata are in `model_file` (relative
/// to the data directory), whose blake3 hash is `file_hash` (checked when it is loaded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct MlModelTrained {
    pub model_id: ModelId,
    pub model_file: String,
    pub file_hash: String,
    /// The headline out-of-sample score: AUC for a classifier, R² for a regression.
    pub out_of_sample_score: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct MlTrainingFailed {
    pub model_id: ModelId,
    pub reason: String,
}

/// A model was deleted (`DELETE /api/ml/models/{id}`); its file is removed after this is journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct MlModelDeleted {
    pub model_id: ModelId,
    pub reason: String,
}

/// Every fact the system records. Closed: a new fact is a new variant (at the end).
// Boxing `OrderSubmitted` (368 bytes) would change the rkyv encoding, i.e. the journal's on-disk format.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ServiceStarted(ServiceStarted),
    SessionStarted(SessionStarted),
    SessionStopped(SessionStopped),
    ActorRestarted(ActorRestarted),
    CandlesIngested(CandlesIngested),
    RiskLimitBreached(RiskLimitBreached),
    RegimeChanged(RegimeChanged),
    OrderSubmitted(OrderSubmitted),
    OrderAccepted(OrderAccepted),
    OrderRejected(OrderRejected),
    OrderFilled(OrderFilled),
    OrderTriggered(OrderTriggered),
    OrderCancelRequested(OrderCancelRequested),
    OrderCanceled(OrderCanceled),
    OrderExpired(OrderExpired),
    OrderReleased(OrderReleased),
    TradingStateChanged(TradingStateChanged),
    CashAdjusted(CashAdjusted),
    BacktestStarted(BacktestStarted),
    BacktestCompleted(BacktestCompleted),
    BacktestFailed(BacktestFailed),
    BacktestJobStarted(BacktestJobStarted),
    BacktestResultRemoved(BacktestResultRemoved),
    ExecutionConfigured(ExecutionConfigured),
    SessionOpened(SessionOpened),
    SessionStopRequested(SessionStopRequested),
    SessionInputDecided(SessionInputDecided),
    MlTrainingStarted(MlTrainingStarted),
    MlModelTrained(MlModelTrained),
    MlTrainingFailed(MlTrainingFailed),
    MlModelDeleted(MlModelDeleted),
    AiDecision(AiDecision),
    RlTrainingStarted(RlTrainingStarted),
    RlAgentTrained(RlAgentTrained),
    RlTrainingFailed(RlTrainingFailed),
    ExecutionLimitsConfigured(ExecutionLimitsConfigured),
    JournalLossAccepted(JournalLossAccepted),
}

/// The event's kind without its payload: stored in the envelope (and in indexes) so a
/// reader can filter without decoding the body.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[repr(u16)]
pub enum EventKind {
    ServiceStarted = 1,
    SessionStarted = 2,
    SessionStopped = 3,
    ActorRestarted = 4,
    CandlesIngested = 5,
    RiskLimitBreached = 6,
    RegimeChanged = 7,
    OrderSubmitted = 8,
    OrderAccepted = 9,
    OrderRejected = 10,
    OrderFilled = 11,
    OrderTriggered = 12,
    OrderCancelRequested = 13,
    OrderCanceled = 14,
    OrderExpired = 15,
    OrderReleased = 16,
    TradingStateChanged = 17,
    CashAdjusted = 18,
    BacktestStarted = 19,
    BacktestCompleted = 20,
    BacktestFailed = 21,
    BacktestJobStarted = 22,
    BacktestResultRemoved = 23,
    ExecutionConfigured = 24,
    SessionOpened = 25,
    SessionStopRequested = 26,
    SessionInputDecided = 27,
    MlTrainingStarted = 28,
    MlModelTrained = 29,
    MlTrainingFailed = 30,
    MlModelDeleted = 31,
    AiDecision = 32,
    RlTrainingStarted = 33,
    RlAgentTrained = 34,
    RlTrainingFailed = 35,
    ExecutionLimitsConfigured = 36,
    JournalLossAccepted = 37,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        Self::ServiceStarted,
        Self::SessionStarted,
        Self::SessionStopped,
        Self::ActorRestarted,
        Self::CandlesIngested,
        Self::RiskLimitBreached,
        Self::RegimeChanged,
        Self::OrderSubmitted,
        Self::OrderAccepted,
        Self::OrderRejected,
        Self::OrderFilled,
        Self::OrderTriggered,
        Self::OrderCancelRequested,
        Self::OrderCanceled,
        Self::OrderExpired,
        Self::OrderReleased,
        Self::TradingStateChanged,
        Self::CashAdjusted,
        Self::BacktestStarted,
        Self::BacktestCompleted,
        Self::BacktestFailed,
        Self::BacktestJobStarted,
        Self::BacktestResultRemoved,
        Self::ExecutionConfigured,
        Self::SessionOpened,
        Self::SessionStopRequested,
        Self::SessionInputDecided,
        Self::MlTrainingStarted,
        Self::MlModelTrained,
        Self::MlTrainingFailed,
        Self::MlModelDeleted,
        Self::AiDecision,
        Self::RlTrainingStarted,
        Self::RlAgentTrained,
        Self::RlTrainingFailed,
        Self::ExecutionLimitsConfigured,
        Self::JournalLossAccepted,
    ];

    /// The kinds the RL actor folds.
    pub const RL: &'static [EventKind] = &[Self::RlTrainingStarted, Self::RlAgentTrained, Self::RlTrainingFailed];

    /// The kinds the backtest actor folds.
    pub const BACKTEST: &'static [EventKind] =
        &[Self::BacktestStarted, Self::BacktestCompleted, Self::BacktestFailed, Self::BacktestJobStarted, Self::BacktestResultRemoved];

    /// The kinds the ML actor folds.
    pub const ML: &'static [EventKind] = &[Self::MlTrainingStarted, Self::MlModelTrained, Self::MlTrainingFailed, Self::MlModelDeleted];

    /// The kinds the execution actor folds (orders, fills, kill switch).
    pub const EXECUTION: &'static [EventKind] = &[
        Self::OrderSubmitted,
        Self::OrderAccepted,
        Self::OrderRejected,
        Self::OrderFilled,
        Self::OrderTriggered,
        Self::OrderCancelRequested,
        Self::OrderCanceled,
        Self::OrderExpired,
        Self::OrderReleased,
        Self::TradingStateChanged,
        Self::CashAdjusted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceStarted => "service_started",
            Self::SessionStarted => "session_started",
            Self::SessionStopped => "session_stopped",
            Self::ActorRestarted => "actor_restarted",
            Self::CandlesIngested => "candles_ingested",
            Self::RiskLimitBreached => "risk_limit_breached",
            Self::RegimeChanged => "regime_changed",
            Self::OrderSubmitted => "order_submitted",
            Self::OrderAccepted => "order_accepted",
            Self::OrderRejected => "order_rejected",
            Self::OrderFilled => "order_filled",
            Self::OrderTriggered => "order_triggered",
            Self::OrderCancelRequested => "order_cancel_requested",
            Self::OrderCanceled => "order_canceled",
            Self::OrderExpired => "order_expired",
            Self::OrderReleased => "order_released",
            Self::TradingStateChanged => "trading_state_changed",
            Self::CashAdjusted => "cash_adjusted",
            Self::BacktestStarted => "backtest_started",
            Self::BacktestCompleted => "backtest_completed",
            Self::BacktestFailed => "backtest_failed",
            Self::BacktestJobStarted => "backtest_job_started",
            Self::BacktestResultRemoved => "backtest_result_removed",
            Self::ExecutionConfigured => "execution_configured",
            Self::SessionOpened => "session_opened",
            Self::SessionStopRequested => "session_stop_requested",
            Self::SessionInputDecided => "session_input_decided",
            Self::MlTrainingStarted => "ml_training_started",
            Self::MlModelTrained => "ml_model_trained",
            Self::MlTrainingFailed => "ml_training_failed",
            Self::MlModelDeleted => "ml_model_deleted",
            Self::AiDecision => "ai_decision",
            Self::RlTrainingStarted => "rl_training_started",
            Self::RlAgentTrained => "rl_agent_trained",
            Self::RlTrainingFailed => "rl_training_failed",
            Self::ExecutionLimitsConfigured => "execution_limits_configured",
            Self::JournalLossAccepted => "journal_loss_accepted",
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
            Event::CandlesIngested(_) => EventKind::CandlesIngested,
            Event::RiskLimitBreached(_) => EventKind::RiskLimitBreached,
            Event::RegimeChanged(_) => EventKind::RegimeChanged,
            Event::OrderSubmitted(_) => EventKind::OrderSubmitted,
            Event::OrderAccepted(_) => EventKind::OrderAccepted,
            Event::OrderRejected(_) => EventKind::OrderRejected,
            Event::OrderFilled(_) => EventKind::OrderFilled,
            Event::OrderTriggered(_) => EventKind::OrderTriggered,
            Event::OrderCancelRequested(_) => EventKind::OrderCancelRequested,
            Event::OrderCanceled(_) => EventKind::OrderCanceled,
            Event::OrderExpired(_) => EventKind::OrderExpired,
            Event::OrderReleased(_) => EventKind::OrderReleased,
            Event::TradingStateChanged(_) => EventKind::TradingStateChanged,
            Event::CashAdjusted(_) => EventKind::CashAdjusted,
            Event::BacktestStarted(_) => EventKind::BacktestStarted,
            Event::BacktestCompleted(_) => EventKind::BacktestCompleted,
            Event::BacktestFailed(_) => EventKind::BacktestFailed,
            Event::BacktestJobStarted(_) => EventKind::BacktestJobStarted,
            Event::BacktestResultRemoved(_) => EventKind::BacktestResultRemoved,
            Event::ExecutionConfigured(_) => EventKind::ExecutionConfigured,
            Event::SessionOpened(_) => EventKind::SessionOpened,
            Event::SessionStopRequested(_) => EventKind::SessionStopRequested,
            Event::SessionInputDecided(_) => EventKind::SessionInputDecided,
            Event::MlTrainingStarted(_) => EventKind::MlTrainingStarted,
            Event::MlModelTrained(_) => EventKind::MlModelTrained,
            Event::MlTrainingFailed(_) => EventKind::MlTrainingFailed,
            Event::MlModelDeleted(_) => EventKind::MlModelDeleted,
            Event::AiDecision(_) => EventKind::AiDecision,
            Event::RlTrainingStarted(_) => EventKind::RlTrainingStarted,
            Event::RlAgentTrained(_) => EventKind::RlAgentTrained,
            Event::RlTrainingFailed(_) => EventKind::RlTrainingFailed,
            Event::ExecutionLimitsConfigured(_) => EventKind::ExecutionLimitsConfigured,
            Event::JournalLossAccepted(_) => EventKind::JournalLossAccepted,
        }
    }

    /// The session this event belongs to, if any (indexed by the journal).
    pub fn session_id(&self) -> Option<SessionId> {
        match self {
            Event::SessionStarted(e) => Some(e.session_id),
            Event::SessionStopped(e) => Some(e.session_id),
            Event::RiskLimitBreached(e) => e.session_id,
            Event::OrderSubmitted(e) => e.spec.session_id,
            Event::ServiceStarted(_) | Event::ActorRestarted(_) | Event::CandlesIngested(_) | Event::RegimeChanged(_) => None,
            Event::OrderAccepted(_) | Event::OrderRejected(_) | Event::OrderFilled(_) | Event::OrderTriggered(_) => None,
            Event::OrderCancelRequested(_) | Event::OrderCanceled(_) | Event::OrderExpired(_) => None,
            Event::OrderReleased(_) | Event::TradingStateChanged(_) | Event::CashAdjusted(_) => None,
            Event::BacktestStarted(_) | Event::BacktestCompleted(_) | Event::BacktestFailed(_) => None,
            Event::BacktestJobStarted(_) | Event::BacktestResultRemoved(_) | Event::ExecutionConfigured(_) => None,
            Event::SessionOpened(e) => Some(e.session_id),
            Event::SessionStopRequested(e) => Some(e.session_id),
            Event::SessionInputDecided(_) => None,
            Event::MlTrainingStarted(_) | Event::MlModelTrained(_) | Event::MlTrainingFailed(_) | Event::MlModelDeleted(_) => None,
            Event::AiDecision(_) => None,
            Event::RlTrainingStarted(_) | Event::RlAgentTrained(_) | Event::RlTrainingFailed(_) => None,
            Event::ExecutionLimitsConfigured(_) | Event::JournalLossAccepted(_) => None,
        }
    }
}

// The invariants of every event (`check_invariants`) are in `event_check.rs`, their
// error and shared limits in `invariant.rs`.
pub use crate::invariant::{check_text, CLIENT_ORDER_ID_BYTES_MAX, EVENT_TEXT_BYTES_MAX};
