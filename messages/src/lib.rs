//! TradPal's vocabulary: the typed messages every other crate speaks.
//!
//! Nothing here does I/O or touches tokio; every crate depends on this one and it
//! depends on none of them (messages <- journal <- actors <- runtime).
//!
//! # Layout
//!
//! - `ids.rs`: 128-bit ids (event, session, order, correlation, causation) and the seeded
//!   [`IdGenerator`] that makes replays reproduce them.
//! - `time.rs`: [`Timestamp`] (UTC ns, RFC 3339 text and calendar days by jiff) and the [`Clock`] trait with the
//!   simulated clock; the wall clock lives in `runtime`, because reading it is a side effect.
//! - `event.rs`: facts ([`Event`], one struct per event, closed enum) and [`EventKind`].
//! - `regime.rs`: the regime vocabulary (trend, volatility, the 9 labels).
//! - `event_check.rs`: the invariants every event satisfies on both sides of the disk.
//! - `invariant.rs`: [`InvariantError`] (what a refused record breaks) and the text
//!   check and limits the event modules share; a leaf they all use.
//! - `order_event.rs`, `backtest_event.rs`: the events of orders and the account, and of
//!   backtest jobs (variants of [`Event`], split from `event.rs` for length).
//! - `rl_event.rs`: the events of RL training jobs (variants of [`Event`]).
//! - `session_event.rs`: the events of sessions that trade (variants of [`Event`]), and
//!   the session's [`SessionConfig`] and [`TradingMode`] they and `event.rs` share.
//! - `command.rs`: the session commands ([`StartSession`], [`StopSession`]), as HTTP and NATS send them.
//! - `money.rs`: [`Fixed`], exact decimal money (8 decimals, `i128`), rounding made explicit.
//! - `order.rs`: order specs, sides, types, statuses, contingencies, the kill-switch states.
//! - `shared_str.rs`: [`SharedStr`], an immutable string whose clones share one
//!   allocation, on every wire exactly a `String` (order symbols and ids).
//! - `market.rs`: symbols, [`Timeframe`]s, [`Candle`]s.
//! - `subjects.rs`: NATS subject names and the symbol-token encoding (one place).
//! - `reply.rs`: answers (session and status replies) and the error classes ([`ErrorCode`]).
//! - `envelope.rs`: the [`Envelope`] around every journaled event and its draft.
//! - `codec.rs`: JSON for the outside, versioned and validated rkyv for the journal.
//! - `schema.rs`: OpenAPI schemas (utoipa) of the types whose serde is hand-written (ids,
//!   [`Fixed`], [`Timestamp`], [`TimeWire`]); the others derive `ToSchema` where they are.
//! - `testing.rs` (feature `proptest` or tests): proptest strategies for every type.

pub mod backtest_event;
pub mod codec;
pub mod command;
pub mod envelope;
pub mod event;
pub mod event_check;
pub mod ids;
pub mod invariant;
pub mod market;
pub mod money;
pub mod order;
pub mod order_event;
pub mod regime;
pub mod reply;
pub mod rl_event;
pub mod schema;
pub mod session_event;
pub mod shared_str;
pub mod subjects;
pub mod time;

#[cfg(any(test, feature = "proptest"))]
pub mod testing;

pub use command::{StartSession, StopSession};
pub use envelope::{Envelope, EnvelopeDraft};
pub use event::{
    ActorRestarted, CandlesIngested, DataSource, Event, EventKind, RegimeChanged, RiskLimitBreached, ServiceStarted, SessionConfig,
    SessionStarted, SessionStopped, TradingMode,
};
pub use event::{
    BacktestCompleted, BacktestFailed, BacktestJobStarted, BacktestResultRemoved, BacktestStarted, ExecutionConfigured,
    ExecutionLimitsConfigured, JournalLossAccepted,
};
pub use event::{
    CashAdjusted, OrderAccepted, OrderCancelRequested, OrderCanceled, OrderExpired, OrderFilled, OrderRejected, OrderReleased,
    OrderSubmitted, OrderTriggered, TradingStateChanged,
};
pub use event::{MlModelDeleted, MlModelTrained, MlTrainingFailed, MlTrainingStarted};
pub use ids::ModelId;
pub use ids::{BacktestId, CausationId, CorrelationId, EventId, IdGenerator, OrderId, SessionId};
pub use invariant::InvariantError;
pub use market::{is_valid_symbol, Candle, CandleWire, TimeWire, TimeWireError, Timeframe};
pub use money::{Fixed, FixedError, Rounding};
pub use order::{Contingency, Liquidity, OrderLink, OrderSpec, OrderStatus, OrderType, RejectSource, Side, TimeInForce, TradingState};
pub use reply::{ActorState, ActorStatus, ErrorCode, ErrorReply, SessionInfo, SessionStatus, StatusReply};
pub use rl_event::{RlAgentTrained, RlTrainingFailed, RlTrainingStarted};
pub use session_event::{AiDecision, AiPins, SessionInputDecided, SessionOpened, SessionStopRequested, StrategyParam};
pub use shared_str::SharedStr;
pub use time::{Clock, SimClock, Timestamp};
