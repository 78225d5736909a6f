//! PPO (Schulman et al. 2017): clipped surrogate objective, GAE advantages, an entropy
//! bonus; separate policy and value networks, one Adam optimiser over both.
//!
//! Per episode: one rollout with the current policy (actions sampled from its softmax
//! with the seeded stream), then `epochs` passes of shuffled minibatches minimising
//!
//! ```text
//! L = -mean(min(rho A, clip(rho, 1 - clip, 1 + clip) A))
//!     + value_coef * mean((V - R)^2) - entropy_coef * mean(H(pi))
//! ```
//!
//! with `rho = pi(a|s) / pi_old(a|s)`, GAE `A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}`,
//! `delta_t = r_t + gamma (1 - done_t) V(s_{t+1}) - V(s_t)`, `R_t = A_t + V(s_t)`, and
//! advantages normalised per rollout.
//!
//! Exploration: the policy is stochastic and the entropy bonus (`entropy_coef`, default
//! 0.01) keeps it from collapsing onto one action before the advantages say so.

use super::env::Env;
use super::net::{batch, softmax, Mlp, PlainMlp};
use super::obs::{MARKET_FEATURES, OBS_DIM};
use super::RlError;
use candle_core::{Device, Tensor, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PpoParams {
    pub gamma: f64,
    pub gae_lambda: f64,
    pub clip: f64,
    pub learning_rate: f64,
    pub epochs: usize,
    pub minibatch_size: usize,
    pub entropy_coef: f64,
    pub value_coef: f64,
}

impl Default for PpoParams {
    fn default() -> Self {
        PpoParams {
            gamma: 0.9,
            gae_lambda: 0.95,
            clip: 0.2,
            learning_rate: 1e-3,
            epochs: 4,
            minibatch_size: 256,
            entropy_coef: 0.01,
            value_coef: 0.5,
        }
    }
}

struct Rollout {
    /// The learner that acted at each step (its regime's, or 0).
    expert: Vec<usize>,
    obs: Vec<[f32; OBS_DIM]>,
    actions: Vec<u32>,
    logp: Vec<f32>,
    rewards: Vec<f32>,
    values: Vec<f32>,
    dones: Vec<bool>,
}

pub struct Ppo {
    pub policy: Mlp,
    pub value: Mlp,
    opt: AdamW,
    params: PpoParams,
    pub updates: usize,
}

impl Ppo {
    pub fn new(policy: &PlainMlp, value: &PlainMlp, params: &PpoParams) -> Result<Self, RlError> {
        let (policy, value) = (Mlp::from_plain(policy)?, Mlp::from_plain(value)?);
        let adam = ParamsAdamW { lr: params.learning_rate, weight_decay: 0.0, ..ParamsAdamW::default() };
        let opt = AdamW::new([policy.vars(), value.vars()].concat(), adam)?;
        Ok(Ppo { policy, value, opt, params: params.clone(), updates: 0 })
    }

    fn update(&mut self, r: &Rollout, idx: &[usize], adv: &[f32], ret: &[f32]) -> Result<(), RlError> {
        let b = idx.len();
        let col = |v: Vec<f32>| Tensor::from_vec(v, (b, 1), &Device::Cpu);
        let obs = batch(&idx.iter().map(|i| &r.obs[*i][..]).collect::<Vec<_>>(), OBS_DIM)?;
        let actions = Tensor::from_vec(idx.iter().map(|i| r.actions[*i]).collect::<Vec<u32>>(), (b, 1), &Device::Cpu)?;
        let old = col(idx.iter().map(|i| r.logp[*i]).collect())?;
        let adv = col(idx.iter().map(|i| adv[*i]).collect())?;
        let ret = col(idx.iter().map(|i| ret[*i]).collect())?;
        let logp_all = candle_nn::ops::log_softmax(&self.policy.forward(&obs)?, D::Minus1)?;
        let logp = logp_all.gather(&actions, 1)?;
        let ratio = (logp - old)?.exp()?;
        let clipped = ratio.clamp(1.0 - self.params.clip as f32, 1.0 + self.params.clip as f32)?;
        let surrogate = (ratio * &adv)?.minimum(&(clipped * &adv)?)?;
        let entropy = (logp_all.exp()? * &logp_all)?.sum(1)?.neg()?.mean_all()?;
        let v_loss = candle_nn::loss::mse(&self.value.forward(&obs)?, &ret)?;
        let loss = ((surrogate.mean_all()?.neg()? + v_loss.affine(self.params.value_coef, 0.0)?)?
            - entropy.affine(self.params.entropy_coef, 0.0)?)?;
        self.opt.backward_step(&loss)?;
        self.updates += 1;
        Ok(())
    }
}

/// The learner acting on `obs`: one learner acts everywhere; three (one per trend
/// regime: bull, bear, sideways) are picked by the most probable trend in the observation.
pub fn expert_for(experts: usize, obs: &[f32; OBS_DIM]) -> usize {
    if experts <= 1 {
        return 0;
    }
    super::net::argmax(&obs[MARKET_FEATURES..MARKET_FEATURES + experts])
}

/// One rollout over `start..end` with `learners` (one, or one per trend regime, each
/// acting on its regime's bars) and each learner's updates on its own steps; returns the
/// sum of rewards.
pub fn episode(learners: &mut [Ppo], env: &mut Env, start: usize, end: usize, rng: &mut ChaCha8Rng) -> Result<f64, RlError> {
    let r = rollout(learners, env, start, end, rng)?;
    let sum = r.rewards.iter().map(|x| *x as f64).sum();
    let params = learners[0].params.clone();
    let (adv, ret) = gae(&r, &params);
    for (k, learner) in learners.iter_mut().enumerate() {
        let mut order: Vec<usize> = (0..r.obs.len()).filter(|t| r.expert[*t] == k).collect();
        for _ in 0..params.epochs {
            order.shuffle(rng);
            for chunk in order.chunks(params.minibatch_size) {
                learner.update(&r, chunk, &adv, &ret)?;
            }
        }
        learner.policy.sync()?;
        learner.value.sync()?;
    }
    Ok(sum)
}

fn rollout(learners: &[Ppo], env: &mut Env, start: usize, end: usize, rng: &mut ChaCha8Rng) -> Result<Rollout, RlError> {
    env.reset(start, end)?;
    let cap = end - start;
    let mut r = Rollout {
        expert: Vec::with_capacity(cap),
        obs: Vec::with_capacity(cap),
        actions: Vec::with_capacity(cap),
        logp: Vec::with_capacity(cap),
        rewards: Vec::with_capacity(cap),
        values: Vec::with_capacity(cap),
        dones: Vec::with_capacity(cap),
    };
    let mut obs = [0.0; OBS_DIM];
    loop {
        env.observe(&mut obs);
        let k = expert_for(learners.len(), &obs);
        let p = softmax(&learners[k].policy.plain.forward(&obs));
        let a = sample(&p, rng.random::<f64>());
        let s = env.step(a)?;
        r.expert.push(k);
        r.obs.push(obs);
        r.actions.push(a as u32);
        r.logp.push(p[a].max(1e-12).ln() as f32);
        r.rewards.push(s.reward);
        r.values.push(learners[k].value.plain.forward(&obs)[0]);
        r.dones.push(s.done);
        if s.done {
            return Ok(r);
        }
    }
}

/// Normalised advantages and returns (the episode's last state bootstraps to 0: done).
fn gae(r: &Rollout, params: &PpoParams) -> (Vec<f32>, Vec<f32>) {
    let (g, l) = (params.gamma as f32, params.gae_lambda as f32);
    let n = r.rewards.len();
    let (mut adv, mut next_adv) = (vec![0.0f32; n], 0.0f32);
    for t in (0..n).rev() {
        let live = if r.dones[t] { 0.0 } else { 1.0 };
        let next_v = if t + 1 < n { r.values[t + 1] } else { 0.0 };
        let delta = r.rewards[t] + g * live * next_v - r.values[t];
        next_adv = delta + g * l * live * next_adv;
        adv[t] = next_adv;
    }
    let ret: Vec<f32> = adv.iter().zip(&r.values).map(|(a, v)| a + v).collect();
    let mean = adv.iter().sum::<f32>() / n as f32;
    let sd = (adv.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / n as f32).sqrt().max(1e-8);
    (adv.iter().map(|a| (a - mean) / sd).collect(), ret)
}

/// The action whose cumulative probability first exceeds `u` in `[0, 1)`.
fn sample(p: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, pi) in p.iter().enumerate() {
        acc += pi;
        if u < acc {
            return i;
        }
    }
    p.len() - 1
}
