//! Double DQN with a target network and a uniform replay buffer.
//!
//! Target: `y = r + gamma * (1 - done) * Q_target(s', argmax_a Q_online(s', a))` (the
//! online network picks the next action, the target network values it: van Hasselt et
//! al. 2016); loss: mean squared error of `Q_online(s, a)` against `y`; Adam. The target
//! network copies the online one every `target_sync_steps` environment steps.
//!
//! Exploration: epsilon-greedy with a linear schedule, `eps(step) = eps_start +
//! (eps_end - eps_start) * min(1, step / (eps_decay_fraction * total_steps))`: random
//! actions (uniform, seeded) early, mostly greedy after the decay.

use super::env::Env;
use super::net::{argmax, batch, Mlp, PlainMlp};
use super::obs::OBS_DIM;
use super::RlError;
use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Largest replay buffer accepted, in transitions.
pub const REPLAY_TRANSITIONS_MAX: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DqnParams {
    pub gamma: f64,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub replay_transitions: usize,
    /// Transitions collected before the first update.
    pub warmup_steps: usize,
    /// Environment steps between two updates.
    pub train_every_steps: usize,
    pub target_sync_steps: usize,
    pub eps_start: f64,
    pub eps_end: f64,
    pub eps_decay_fraction: f64,
}

impl Default for DqnParams {
    fn default() -> Self {
        DqnParams {
            gamma: 0.9,
            learning_rate: 1e-3,
            batch_size: 64,
            replay_transitions: 50_000,
            warmup_steps: 256,
            train_every_steps: 2,
            target_sync_steps: 250,
            eps_start: 1.0,
            eps_end: 0.05,
            eps_decay_fraction: 0.5,
        }
    }
}

impl DqnParams {
    pub fn epsilon(&self, step: usize, total: usize) -> f64 {
        let span = (self.eps_decay_fraction * total as f64).max(1.0);
        self.eps_start + (self.eps_end - self.eps_start) * (step as f64 / span).min(1.0)
    }
}

struct Transition {
    obs: [f32; OBS_DIM],
    action: u32,
    reward: f32,
    next: [f32; OBS_DIM],
    done: f32,
}

/// The DQN learner: online and target networks, the buffer, the optimiser.
pub struct Dqn {
    pub online: Mlp,
    target: PlainMlp,
    target_net: Mlp,
    opt: AdamW,
    buffer: Vec<Transition>,
    next_slot: usize,
    params: DqnParams,
    steps: usize,
    pub updates: usize,
}

impl Dqn {
    pub fn new(net: &PlainMlp, params: &DqnParams) -> Result<Self, RlError> {
        let online = Mlp::from_plain(net)?;
        let adam = ParamsAdamW { lr: params.learning_rate, weight_decay: 0.0, ..ParamsAdamW::default() };
        let opt = AdamW::new(online.vars(), adam)?;
        Ok(Dqn {
            target_net: Mlp::from_plain(net)?,
            target: net.clone(),
            online,
            opt,
            buffer: Vec::new(),
            next_slot: 0,
            params: params.clone(),
            steps: 0,
            updates: 0,
        })
    }

    /// One episode of `env` from `start` to `end`; returns the sum of rewards.
    pub fn episode(&mut self, env: &mut Env, start: usize, end: usize, total_steps: usize, rng: &mut ChaCha8Rng) -> Result<f64, RlError> {
        env.reset(start, end)?;
        let n = self.online.plain.sizes[self.online.plain.sizes.len() - 1];
        let (mut obs, mut next, mut sum) = ([0.0; OBS_DIM], [0.0; OBS_DIM], 0.0);
        env.observe(&mut obs);
        loop {
            let eps = self.params.epsilon(self.steps, total_steps);
            let a = if rng.random::<f64>() < eps { rng.random_range(0..n) } else { argmax(&self.online.plain.forward(&obs)) };
            let s = env.step(a)?;
            env.observe(&mut next);
            self.push(Transition { obs, action: a as u32, reward: s.reward, next, done: f32::from(u8::from(s.done)) });
            sum += s.reward as f64;
            self.steps += 1;
            if self.buffer.len() >= self.params.warmup_steps.max(self.params.batch_size)
                && self.steps.is_multiple_of(self.params.train_every_steps)
            {
                self.update(rng)?;
            }
            if self.steps.is_multiple_of(self.params.target_sync_steps) {
                self.target = self.online.plain.clone();
                self.target_net = Mlp::from_plain(&self.target)?;
            }
            if s.done {
                return Ok(sum);
            }
            obs = next;
        }
    }

    fn push(&mut self, t: Transition) {
        if self.buffer.len() < self.params.replay_transitions {
            self.buffer.push(t);
        } else {
            self.buffer[self.next_slot] = t;
            self.next_slot = (self.next_slot + 1) % self.params.replay_transitions;
        }
    }

    /// One gradient step on a uniformly sampled batch.
    fn update(&mut self, rng: &mut ChaCha8Rng) -> Result<(), RlError> {
        let b = self.params.batch_size;
        let idx: Vec<usize> = (0..b).map(|_| rng.random_range(0..self.buffer.len())).collect();
        let pick = |f: &dyn Fn(&Transition) -> &[f32]| -> Vec<&[f32]> { idx.iter().map(|i| f(&self.buffer[*i])).collect() };
        let obs = batch(&pick(&|t| &t.obs), OBS_DIM)?;
        let next = batch(&pick(&|t| &t.next), OBS_DIM)?;
        let actions = Tensor::from_vec(idx.iter().map(|i| self.buffer[*i].action).collect::<Vec<u32>>(), (b, 1), &Device::Cpu)?;
        let rewards = Tensor::from_vec(idx.iter().map(|i| self.buffer[*i].reward).collect::<Vec<f32>>(), (b, 1), &Device::Cpu)?;
        let dones = Tensor::from_vec(idx.iter().map(|i| self.buffer[*i].done).collect::<Vec<f32>>(), (b, 1), &Device::Cpu)?;
        let best_next = self.online.forward(&next)?.detach().argmax_keepdim(1)?;
        let next_q = self.target_net.forward(&next)?.detach().gather(&best_next, 1)?;
        let not_done = dones.affine(-1.0, 1.0)?;
        let y = (rewards + (next_q * not_done)?.affine(self.params.gamma, 0.0)?)?.detach();
        let q = self.online.forward(&obs)?.gather(&actions, 1)?;
        let loss = candle_nn::loss::mse(&q, &y)?;
        self.opt.backward_step(&loss)?;
        self.online.sync()?;
        self.updates += 1;
        debug_assert_eq!(loss.dtype(), DType::F32);
        Ok(())
    }
}
