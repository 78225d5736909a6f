//! A trained agent (plain weights, serde) and [`infer`], the pure function the service
//! and the AI ensemble call on one observation.

use super::env::Actions;
use super::net::{argmax, softmax, PlainMlp};
use super::obs::OBS_DIM;
use crate::regime::model::RegimeModel;
use serde::{Deserialize, Serialize};

/// The learning algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    Dqn,
    Ppo,
}

impl Algorithm {
    pub const NAMES: &'static str = "dqn | ppo";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dqn" => Some(Algorithm::Dqn),
            "ppo" => Some(Algorithm::Ppo),
            _ => None,
        }
    }
}

/// A trained agent: its network (DQN: Q-values per action; PPO: the policy's logits),
/// the actions it chooses among, and the regime model its observations use (fitted on
/// its training bars; `None`: regimes off, those inputs are zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub algorithm: Algorithm,
    pub actions: Actions,
    pub net: PlainMlp,
    /// PPO's value network (kept for fine-tuning); `None` for DQN.
    pub value: Option<PlainMlp>,
    pub regime: Option<RegimeModel>,
    /// A `per_regime` agent: one policy (and value network) per trend regime (bull,
    /// bear, sideways), the most probable trend in the observation picking it; empty
    /// otherwise (`net` acts everywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experts: Vec<PlainMlp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expert_values: Vec<PlainMlp>,
}

impl Agent {
    /// The network that acts on `obs`.
    pub fn policy(&self, obs: &[f32; OBS_DIM]) -> &PlainMlp {
        if self.experts.is_empty() {
            &self.net
        } else {
            &self.experts[super::ppo::expert_for(self.experts.len(), obs)]
        }
    }
}

/// What an agent would do on one observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inference {
    /// Index into the agent's actions (greedy).
    pub action: usize,
    /// "short" | "flat" | "long".
    pub direction: &'static str,
    /// Target fraction of equity (signed).
    pub fraction: f64,
    /// Probabilities of [short, flat, long] (size levels summed). PPO: the policy's.
    /// DQN: a softmax of its Q-values (Boltzmann, temperature 1), a ranking, not a
    /// calibrated probability.
    pub probabilities: [f64; 3],
    /// DQN only: the Q-value of each action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q_values: Option<Vec<f64>>,
}

pub const DIRECTIONS: [&str; 3] = ["short", "flat", "long"];

/// The greedy action on `obs`.
pub fn act(agent: &Agent, obs: &[f32; OBS_DIM]) -> usize {
    argmax(&agent.policy(obs).forward(obs))
}

/// The agent's decision on one observation (see [`Inference`]).
pub fn infer(agent: &Agent, obs: &[f32; OBS_DIM]) -> Inference {
    let out = agent.policy(obs).forward(obs);
    let action = argmax(&out);
    let p = softmax(&out);
    let mut probabilities = [0.0; 3];
    for (a, pa) in p.iter().enumerate() {
        probabilities[agent.actions.direction(a)] += pa;
    }
    Inference {
        action,
        direction: DIRECTIONS[agent.actions.direction(action)],
        fraction: agent.actions.fraction(action),
        probabilities,
        q_values: (agent.algorithm == Algorithm::Dqn).then(|| out.iter().map(|v| *v as f64).collect()),
    }
}
