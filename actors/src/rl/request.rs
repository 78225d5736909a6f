//! The HTTP / CLI request shapes of the RL endpoints and their checks (pure): each
//! failure is an [`RlError`] naming the field.

use super::agent::Algorithm;
use super::env::{Actions, EnvParams};
use super::evaluate::EvalParams;
use super::reward::RewardKind;
use super::train::TrainParams;
use super::RlError;
use serde::{Deserialize, Serialize};
use tradpal_messages::Timeframe;

/// Longest agent id accepted.
pub const AGENT_ID_BYTES_MAX: usize = 64;

/// `POST /api/rl/train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    pub symbol: String,
    /// Default: the finest stored for the symbol.
    #[serde(default)]
    pub timeframe: Option<Timeframe>,
    /// `dqn` | `ppo` (default `ppo`).
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// `1..=EPISODES_MAX` (default 20).
    #[serde(default = "default_episodes")]
    pub episodes: usize,
    /// `pnl` | `differential_sharpe` | `drawdown_penalty` (default `pnl`).
    #[serde(default = "default_reward")]
    pub reward: String,
    /// Fee rate each way, `[0, 1)` (default 0.001).
    #[serde(default = "default_commission")]
    pub commission: f64,
    /// `0..=SLIPPAGE_BPS_MAX` (default 1).
    #[serde(default = "default_slippage")]
    pub slippage_bps: u32,
    /// `[TRAIN_FRACTION_MIN, TRAIN_FRACTION_MAX]` (default 0.7).
    #[serde(default = "default_train_fraction")]
    pub train_fraction: f64,
    #[serde(default)]
    pub seed: u64,
    /// Fine-tune this agent (same algorithm) instead of starting fresh.
    #[serde(default)]
    pub base_agent_id: Option<String>,
    /// Regime probabilities in the observation (default true).
    #[serde(default = "default_true")]
    pub regimes: bool,
    /// One agent per trend regime (PPO; default false).
    #[serde(default)]
    pub per_regime: bool,
    /// Position sizes per side, ascending in (0, 1] (default `[1.0]`).
    #[serde(default)]
    pub size_levels: Option<Vec<f64>>,
}

fn default_algorithm() -> String {
    "ppo".into()
}
fn default_episodes() -> usize {
    20
}
fn default_reward() -> String {
    "pnl".into()
}
fn default_commission() -> f64 {
    0.001
}
fn default_slippage() -> u32 {
    1
}
fn default_train_fraction() -> f64 {
    0.7
}
fn default_true() -> bool {
    true
}

impl TrainRequest {
    /// The training parameters this request asks for (checked).
    pub fn params(&self) -> Result<TrainParams, RlError> {
        let algorithm = Algorithm::parse(&self.algorithm)
            .ok_or_else(|| RlError::invalid("algorithm", format!("unknown algorithm {:?}: one of {}", self.algorithm, Algorithm::NAMES)))?;
        let env = env_params(&self.reward, self.commission, self.slippage_bps, self.size_levels.clone())?;
        let p = TrainParams {
            algorithm,
            episodes: self.episodes,
            seed: self.seed,
            train_fraction: self.train_fraction,
            env,
            regimes: self.regimes,
            per_regime: self.per_regime,
            ..TrainParams::default()
        };
        p.check()?;
        if let Some(id) = &self.base_agent_id {
            check_agent_id("base_agent_id", id)?;
        }
        Ok(p)
    }
}

fn env_params(reward: &str, commission: f64, slippage_bps: u32, levels: Option<Vec<f64>>) -> Result<EnvParams, RlError> {
    let reward = RewardKind::parse(reward)
        .ok_or_else(|| RlError::invalid("reward", format!("unknown reward {reward:?}: one of {}", RewardKind::NAMES)))?;
    if !commission.is_finite() {
        return Err(RlError::invalid("commission", format!("must be a finite rate in [0, 1), got {commission}")));
    }
    let actions = levels.map_or_else(Actions::default, |levels| Actions { levels });
    let env = EnvParams { commission, slippage_bps, reward, actions };
    env.config()?;
    Ok(env)
}

pub fn check_agent_id(field: &'static str, id: &str) -> Result<(), RlError> {
    let ok = !id.is_empty() && id.len() <= AGENT_ID_BYTES_MAX && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(RlError::invalid(field, format!("an agent id is 1..={AGENT_ID_BYTES_MAX} of [A-Za-z0-9_-], got {id:?}")))
    }
}

/// `POST /api/rl/evaluate`: an agent on the held-out bars of a symbol (default: the
/// symbol, timeframe and split it was trained with).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    pub agent_id: String,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub timeframe: Option<Timeframe>,
    #[serde(default = "default_commission")]
    pub commission: f64,
    #[serde(default = "default_slippage")]
    pub slippage_bps: u32,
    #[serde(default)]
    pub train_fraction: Option<f64>,
    /// `1..=RANDOM_AGENTS_MAX` (default 100).
    #[serde(default = "default_random_agents")]
    pub random_agents: usize,
    #[serde(default)]
    pub seed: u64,
}

fn default_random_agents() -> usize {
    100
}

impl EvaluateRequest {
    pub fn params(&self) -> Result<(EnvParams, EvalParams), RlError> {
        check_agent_id("agent_id", &self.agent_id)?;
        let env = env_params("pnl", self.commission, self.slippage_bps, None)?;
        let eval = EvalParams { random_agents: self.random_agents, seed: self.seed, ..EvalParams::default() };
        eval.check()?;
        Ok((env, eval))
    }
}

/// `POST /api/rl/infer`: the agent's decision on the latest complete stored bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferRequest {
    pub agent_id: String,
    pub symbol: String,
    /// Default: the agent's.
    #[serde(default)]
    pub timeframe: Option<Timeframe>,
}
