//! The actors: one module per concern, each a pure core plus a thin ractor actor.
//!
//! A core is plain data and functions (no tokio, no I/O, no clock or RNG of its own):
//! it *decides* (command -> event or refusal) and *applies* (event -> new state). The
//! actor around it journals each decided event through [`Services::record`] before
//! applying it or replying, and rebuilds its state on (re)start by folding the journal.
//! Backtests and replays drive the same cores, so they cannot disagree with live runs.
//!
//! # Layout
//!
//! - `names.rs`: the registered name of every supervised actor (one per concern).
//! - `context.rs`: [`Services`], what every actor is handed: journal, clock, id
//!   generator, event sink; [`RequestMeta`] that carries request and correlation ids.
//! - `fault.rs`: fault injection (panic / error) used to test supervision.
//! - `session/`: the trading-session orchestrator (`core.rs` pure, `actor.rs` actor).
//! - `market_data/`: the market-data core: CSV parsing, validation and gap reports,
//!   resampling, indicators (pure; the actor is to come).
//! - `regime/`: market regimes: features, HMM fit and causal filter, hysteresis, scoring (pure).
//! - `risk/`: risk management: sizing, VaR / ES, limits, pre-trade checks, stress tests (pure).
//! - `backtest/`: the backtester (pure): the engine driving the execution core over stored
//!   bars, strategies, round-trip trades, the performance metrics.
//! - `ml/`: ML training (issue 14): features, leak-proof splits and CV, logistic / GBM
//!   (LightGBM) / MLP (candle) / ensemble, metrics beside baselines, the model registry actor.
//! - `concern.rs`: the actor for concerns whose capability is not built yet; it is
//!   supervised and answers health pings, and nothing else (see README's roadmap).

pub mod backtest;
pub mod concern;
pub mod context;
pub mod execution;
pub mod fault;
pub mod market_data;
pub mod ml;
pub mod names;
pub mod regime;
pub mod risk;
pub mod session;

pub use context::{ActorError, EventSink, FatalSignal, RequestMeta, Services};
pub use fault::Fault;
