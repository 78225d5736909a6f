//! Execution: orders, the paper exchange, the portfolio, the kill switch.
//!
//! The core ([`core::ExecutionCore`]) is one deterministic state machine over exact money
//! ([`tradpal_messages::Fixed`]); the actor (`actor.rs`) journals what it decides; the
//! backtest drives the same core under a simulated clock.
//!
//! # Layout
//!
//! - `instrument.rs`: per-symbol tick, lot, minimum quantity and notional.
//! - `request.rs`: the submit-order request and its validation into order specs
//!   (bracket, OCO, OTO legs).
//! - `order.rs`: one order and its transition table (`match (status, step)`).
//! - `order_map.rs`: the core's orders by id, each written once into a slot and dropped
//!   where it lies (a B-tree of ids over a vector).
//! - `symbol_map.rs`: values by symbol (positions, last prices, open orders), each in a
//!   slot of its own, found by identity when the caller holds the symbol as a `SharedStr`.
//! - `fill.rs`: the paper exchange's documented fill rules (one bar, one order).
//! - `portfolio.rs`: positions, cash, P&L: a fold over fills.
//! - `core.rs`: the state and `apply` (the fold every replay runs).
//! - `decide.rs`: submit (idempotency, kill switch, pre-trade risk), cancel, flatten.
//! - `error.rs`: [`ExecutionError`], what every part of the core returns, and its HTTP
//!   reply (its own module so `core.rs` and `decide.rs` do not name each other).
//! - `matching.rs`: bars and the clock against working orders (paper; live: bars only mark).
//! - `live.rs`: live mode of the core: venue reports (acceptance, new fills, cancel,
//!   expiry, rejection) and unknown orders into events; idempotent.
//! - `replay/`: a recorded paper account's inputs through a fresh core, every decided
//!   event compared with the recorded one (`tradpal replay`).
//! - `view.rs`: the JSON answers (orders, pages, portfolio) and order listing.
//! - `durable.rs`: the durability watermark answers wait for (pipelined journal writes).
//! - `actor.rs`: the actor: journals decisions, pulls candles from the journal, rebuilds.
//! - `actor_live.rs`: the actor's live half: routes journaled submissions and cancels to
//!   the venue, applies its answers, queries working orders per tick, reconciles at start.
//! - `venue_call.rs`: the venue requests a journaled batch asks for, a working order's
//!   query, one request's round trip (pure planning: `actor.rs` and `actor_live.rs` use
//!   it; `actor_live.rs` extends the actor of `actor.rs`, never the other way).
//! - `venue.rs`: [`venue::LiveVenue`], the boundary to a real exchange (implemented in
//!   `runtime::exchange`).
//! - `core_tests.rs`, `fill_tests.rs`, `live_tests.rs` (tests only): the core end to end
//!   (with the replay property), the fill rules, live mode.

pub mod actor;
pub mod actor_live;
pub mod core;
pub mod decide;
pub mod durable;
pub mod error;
pub mod fill;
pub mod instrument;
pub mod live;
pub mod matching;
pub mod order;
pub mod order_map;
pub mod portfolio;
pub mod replay;
pub mod request;
pub mod symbol_map;
pub mod venue;
pub mod venue_call;
pub mod view;

#[cfg(test)]
mod core_tests;
#[cfg(test)]
mod fill_tests;
#[cfg(test)]
mod live_tests;

pub use self::core::{ExecutionConfig, ExecutionCore};
pub use decide::{OrderIds, Submitted};
pub use error::ExecutionError;
pub use request::OrderRequest;
