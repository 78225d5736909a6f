//! Trading sessions: each an account of its own, traded by a strategy on every complete
//! bar of its symbol, through the backtest's own per-bar code.
//!
//! # Layout
//!
//! - `core.rs`: [`SessionBook`]: start and stop commands checked into events (each
//!   refusal names the field), the book of sessions folded from them (pure).
//! - `runner.rs`: [`runner::SessionRunner`]: one session's strategy loop and account
//!   (pure): candles, the kill switch and stop requests in; orders, fills, stops out;
//!   its P&L and performance (the backtest's metric names, trades, equity curve).
//! - `actor.rs`: [`SessionActor`]: journals starts and stop requests, feeds the journal's
//!   records to the sessions in order, journals each input's decisions with a marker,
//!   rebuilds by feeding the journal again (see its doc for why that is exact).
//! - `replay.rs`: [`replay::SessionReplayer`]: a session's inputs from the journal through
//!   a fresh runner, its decisions compared with the journaled ones (`tradpal replay
//!   --session`).
//! - `runner_tests.rs` (tests only): a session against the backtest engine on real data.

pub mod actor;
pub mod core;
pub mod replay;
pub mod runner;

pub use actor::{SessionActor, SessionDefaults, SessionMsg, SessionRow};
pub use core::{SessionBook, SessionLimits, StartContext};

#[cfg(test)]
mod runner_tests;
