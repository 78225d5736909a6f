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
//! - `calls.rs`: the one way to call an actor and wait for its answer, counting the calls
//!   waiting on each actor (`calls::in_flight`, a metric).
//! - `context.rs`: [`Services`], what every actor is handed: journal, clock, id
//!   generator, event sink; [`RequestMeta`] that carries request and correlation ids
//!   (and makes an actor message's tracing span, `RequestMeta::span`).
//! - `fault.rs`: fault injection (panic / error) used to test supervision.
//! - `reason.rs`: failure reasons cut to a journal record's length.
//! - `atomic_file.rs`: the one crash-safe file write (temporary file, fsync, rename,
//!   directory fsync) of backtest results, ML models and RL agents.
//! - `session/`: sessions that trade: the book (`core.rs`), each session's strategy loop
//!   and account (`runner.rs`, pure), the actor that feeds them the journal (`actor.rs`).
//! - `audit.rs`: an order's audit chain read from the journal (trigger, decision, risk
//!   check, order, fills, with sequences).
//! - `ensemble/`: the trading AI's decision: ML, RL and regime combined (pure core).
//! - `strategy/`: the strategy runtime shared by backtests and sessions: the one registry
//!   of strategies and parameters, [`strategy::StrategyRuntime`] (bar in, target out).
//! - `market_data/`: CSV parsing, validation and gap reports, the candle store (with
//!   back-fill of empty slots), resampling, indicators, seeded synthetic data; the actor
//!   is the one door candles enter by (CSV import, HTTP, NATS) and journals them.
//! - `regime/`: market regimes: features, HMM fit and causal filter, hysteresis, scoring;
//!   the actor fits on stored bars and journals `RegimeChanged`.
//! - `risk/`: risk management: sizing, VaR / ES, limits, pre-trade checks, stress tests;
//!   the actor answers requests and journals breaches.
//! - `execution/`: orders, the paper exchange's fills, the portfolio, the kill switch,
//!   live mode against a venue, replay of a recorded account; the actor journals its
//!   decisions and drives the venue.
//! - `backtest/`: the backtester: the engine driving the execution core over stored
//!   bars, strategies, round-trip trades, the performance metrics, optimisation and
//!   walk-forward, robustness checks, reports; the actor runs them as jobs over HTTP.
//! - `ml/`: ML training (issue 14): features, leak-proof splits and CV, logistic / GBM
//!   (LightGBM) / MLP (candle) / ensemble, metrics beside baselines, the model registry actor.
//! - `rl/`: reinforcement-learning agents on the backtest's account (DQN, PPO in candle),
//!   held-out evaluation against random agents; the actor trains them as jobs over HTTP.
//! - `concern.rs`: the actor for concerns whose capability is not built yet; it is
//!   supervised and answers health pings, and nothing else (see README's roadmap).

pub mod atomic_file;
pub mod audit;
pub mod backtest;
pub mod calls;
pub mod concern;
pub mod context;
pub mod ensemble;
pub mod execution;
pub mod fault;
pub mod market_data;
pub mod ml;
pub mod names;
pub mod reason;
pub mod regime;
pub mod risk;
pub mod rl;
pub mod session;
pub mod strategy;

pub use context::{ActorError, EventSink, FatalSignal, RequestMeta, Services};
pub use fault::Fault;
