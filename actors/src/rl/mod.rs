//! Reinforcement-learning agents on the backtest's execution core: the pure core.
//!
//! Deterministic and synchronous: no tokio, no clock, no I/O. Every random draw
//! (initial weights, exploration, replay sampling, minibatch order, random baseline
//! agents, bootstrap) comes from ChaCha8 streams of the caller's seed, and candle runs
//! on the CPU, so a seed gives the same agent (tested).
//!
//! # How it works
//!
//! bars -> chronological split (`train_fraction`, default 0.7) -> regime model fitted on
//! the training bars only -> observation per bar (market features, regime probabilities,
//! position, unrealised P&L; `obs.rs`) -> episodes over the training bars through the
//! backtest's [`Account`](crate::backtest::account::Account) (`env.rs`: same fills,
//! fees, slippage and risk check; action at the close, fill at the next open) -> DQN or
//! PPO (`dqn.rs`, `ppo.rs`) -> an [`Agent`] -> evaluated on the held-out bars only
//! against buy-and-hold and seeded random agents trading as often (`evaluate.rs`).
//!
//! Rewards (formulas in `reward.rs`): P&L after costs, differential Sharpe, drawdown
//! penalty. Exploration: DQN's linear epsilon schedule (`dqn.rs`), PPO's entropy bonus
//! (`ppo.rs`).
//!
//! # Layout
//!
//! - `actor.rs`: [`actor::RlActor`], the thin actor: training jobs, the registry
//!   (rebuilt from the journal), evaluation and inference on stored candles.
//! - `request.rs`: the endpoint request shapes and their checks.
//! - `files.rs`: agent files under `<data_dir>/rl/`, written atomically.
//! - `error.rs`: [`RlError`], naming the request field at fault.
//! - `obs.rs`: observation; [`obs::market_features`] scales the ML feature code's columns.
//! - `reward.rs`: [`RewardKind`] and the reward formulas.
//! - `env.rs`: [`Env`] over the backtest account; [`Actions`] (short / flat / long with
//!   optional size levels).
//! - `net.rs`: small MLPs, candle for training and plain weights for acting.
//! - `dqn.rs`, `ppo.rs`: the algorithms.
//! - `agent.rs`: [`Agent`] (serde) and [`infer`], the pure inference over an observation
//!   (action probabilities for [short, flat, long]) the AI ensemble can call.
//! - `train.rs`: [`train()`], [`split`], the named limits.
//! - `evaluate.rs`: [`evaluate()`]: held-out metrics, excess return over random agents
//!   with a bootstrap CI and a p-value.
//! - `synthetic.rs`: AR(1) candles (a planted momentum rule, or a random walk).
//! - `tests.rs` (tests only): planted rule, random walk, determinism, bad input.

pub mod actor;
pub mod agent;
pub mod dqn;
pub mod env;
pub mod error;
pub mod evaluate;
pub mod files;
pub mod net;
pub mod obs;
pub mod ppo;
pub mod request;
pub mod reward;
pub mod synthetic;
pub mod train;

#[cfg(test)]
mod tests;

pub use agent::{act, infer, Agent, Algorithm, Inference};
pub use env::{Actions, Env, EnvParams};
pub use error::RlError;
pub use evaluate::{evaluate, EvalParams, Evaluation};
pub use reward::RewardKind;
pub use train::{split, train, CurvePoint, TrainParams, Trained};
