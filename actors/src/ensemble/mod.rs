//! The trading AI: the ML probability, the RL action and the regime combined into one
//! target position (issue 16).
//!
//! # Layout
//!
//! - `core.rs`: [`core::decide`], the pure combination (formula in its doc), with each
//!   part's contribution and what was left out.
//! - `actor.rs`: [`actor::EnsembleActor`]: `smart-trade` (bars, the parts from the ML and
//!   regime actors, the decision journaled as `AiDecision`, the risk sizing, an optional
//!   order).
//! - `resolve.rs`: which models an `ai_ensemble` backtest or session decides with,
//!   resolved at its start and pinned ([`resolve::resolve`], [`resolve::load`]).

pub mod actor;
pub mod core;
pub mod resolve;
