//! Held-out evaluation that can say "no skill".
//!
//! On the bars after the training split only, through the same [`Env`] (same costs), it
//! runs the agent (greedy), buy-and-hold (the largest long action throughout), and
//! `random_agents` seeded random agents that trade as often as the agent did: each bar,
//! with probability `p = agent action changes / steps`, a random agent switches to an
//! action drawn uniformly among the others.
//!
//! With `r^a_t` the agent's per-bar return and `r^k_t` random agent `k`'s:
//! - `excess_return = sum_t (r^a_t - mean_k r^k_t)` over held-out bars;
//! - `excess_return_ci95`: 2.5% and 97.5% quantiles of the same sum over a moving-block
//!   bootstrap of the per-bar differences (block `round(sqrt(n))` bars, keeps the serial
//!   dependence), `bootstrap_samples` resamples, seeded;
//! - `p_value = (1 + #{k : R^k >= R^a}) / (N + 1)`, `R` the total return: the rank of the
//!   agent among agents that trade as often at random (one-sided, exact under the null
//!   that the agent is one more of them);
//! - `skill` is `p_value < SKILL_P_VALUE && ci95 low > 0`.

use super::agent::{act, Agent};
use super::env::{rollout, Env, EnvParams};
use super::obs::{Features, OBS_DIM};
use super::train::split;
use super::RlError;
use crate::backtest::metrics::NANOS_PER_YEAR;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, Timeframe};

pub const RANDOM_AGENTS_MAX: usize = 10_000;
pub const BOOTSTRAP_SAMPLES_MAX: usize = 100_000;
pub const SKILL_P_VALUE: f64 = 0.05;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalParams {
    pub random_agents: usize,
    pub bootstrap_samples: usize,
    pub seed: u64,
}

impl Default for EvalParams {
    fn default() -> Self {
        EvalParams { random_agents: 100, bootstrap_samples: 1_000, seed: 0 }
    }
}

/// One policy's held-out performance.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Perf {
    pub total_return: f64,
    /// Annualised: mean / sd of per-bar returns * sqrt(bars per year).
    pub sharpe: f64,
    pub max_drawdown: f64,
    /// Action changes.
    pub trades: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub held_out_bars: usize,
    pub agent: Perf,
    pub buy_and_hold: Perf,
    /// Means over the random agents.
    pub random_mean: Perf,
    pub random_agents: usize,
    pub excess_return: f64,
    pub excess_return_ci95: [f64; 2],
    pub p_value: f64,
    pub skill: bool,
}

impl EvalParams {
    pub fn check(&self) -> Result<(), RlError> {
        if self.random_agents == 0 || self.random_agents > RANDOM_AGENTS_MAX {
            return Err(RlError::invalid("random_agents", format!("must be in 1..={RANDOM_AGENTS_MAX}, got {}", self.random_agents)));
        }
        if self.bootstrap_samples == 0 || self.bootstrap_samples > BOOTSTRAP_SAMPLES_MAX {
            return Err(RlError::invalid(
                "bootstrap_samples",
                format!("must be in 1..={BOOTSTRAP_SAMPLES_MAX}, got {}", self.bootstrap_samples),
            ));
        }
        Ok(())
    }
}

/// Evaluates `agent` on `bars` after `split(bars.len(), train_fraction)` (see module doc).
pub fn evaluate(
    agent: &Agent,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    env: &EnvParams,
    train_fraction: f64,
    params: &EvalParams,
) -> Result<Evaluation, RlError> {
    params.check()?;
    let start = split(bars.len(), train_fraction)?;
    let features = Features::build(bars, agent.regime.as_ref())?;
    let env_params = EnvParams { actions: agent.actions.clone(), ..env.clone() };
    let mut e = Env::new(bars, &features, &env_params, symbol, timeframe)?;
    let n = bars.len();
    let (agent_curve, changes) = rollout(&mut e, start, n, &mut |obs: &[f32; OBS_DIM], _| act(agent, obs))?;
    let long = env_params.actions.count() - 1;
    let (hold_curve, _) = rollout(&mut e, start, n, &mut |_, _| long)?;
    let steps = agent_curve.len() - 1;
    let p_change = changes as f64 / steps as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let count = env_params.actions.count();
    let mut randoms = Vec::with_capacity(params.random_agents);
    for _ in 0..params.random_agents {
        let mut current = env_params.actions.flat();
        let mut policy = |_: &[f32; OBS_DIM], _| {
            if rng.random::<f64>() < p_change {
                current = (current + 1 + rng.random_range(0..count - 1)) % count;
            }
            current
        };
        randoms.push(rollout(&mut e, start, n, &mut policy)?);
    }
    let ppy = NANOS_PER_YEAR as f64 / timeframe.nanos() as f64;
    let agent_r = returns(&agent_curve);
    let random_r: Vec<Vec<f64>> = randoms.iter().map(|(c, _)| returns(c)).collect();
    let diffs: Vec<f64> = (0..steps).map(|t| agent_r[t] - random_r.iter().map(|r| r[t]).sum::<f64>() / random_r.len() as f64).collect();
    let agent_perf = perf(&agent_curve, changes, ppy);
    let random_perfs: Vec<Perf> = randoms.iter().map(|(c, k)| perf(c, *k, ppy)).collect();
    let at_least = random_perfs.iter().filter(|p| p.total_return >= agent_perf.total_return).count();
    let p_value = (1 + at_least) as f64 / (params.random_agents + 1) as f64;
    let ci = block_bootstrap(&diffs, params.bootstrap_samples, &mut rng);
    Ok(Evaluation {
        held_out_bars: n - start,
        agent: agent_perf,
        buy_and_hold: perf(&hold_curve, 1, ppy),
        random_mean: mean_perf(&random_perfs),
        random_agents: params.random_agents,
        excess_return: diffs.iter().sum(),
        excess_return_ci95: ci,
        p_value,
        skill: p_value < SKILL_P_VALUE && ci[0] > 0.0,
    })
}

fn returns(curve: &[f64]) -> Vec<f64> {
    curve.windows(2).map(|w| if w[0] > 0.0 { w[1] / w[0] - 1.0 } else { 0.0 }).collect()
}

/// Total return, annualised Sharpe and max drawdown of an equity curve.
pub fn perf(curve: &[f64], trades: usize, periods_per_year: f64) -> Perf {
    let r = returns(curve);
    let n = r.len().max(1) as f64;
    let mean = r.iter().sum::<f64>() / n;
    let sd = (r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    let sharpe = if sd > 0.0 { mean / sd * periods_per_year.sqrt() } else { 0.0 };
    let (mut peak, mut mdd) = (f64::MIN, 0.0f64);
    for e in curve {
        peak = peak.max(*e);
        mdd = mdd.max(1.0 - e / peak);
    }
    let total_return = curve.last().zip(curve.first()).map_or(0.0, |(l, f)| l / f - 1.0);
    Perf { total_return, sharpe, max_drawdown: mdd, trades }
}

fn mean_perf(ps: &[Perf]) -> Perf {
    let n = ps.len().max(1) as f64;
    Perf {
        total_return: ps.iter().map(|p| p.total_return).sum::<f64>() / n,
        sharpe: ps.iter().map(|p| p.sharpe).sum::<f64>() / n,
        max_drawdown: ps.iter().map(|p| p.max_drawdown).sum::<f64>() / n,
        trades: (ps.iter().map(|p| p.trades).sum::<usize>() as f64 / n).round() as usize,
    }
}

/// 95% interval of `sum(d)` under a moving-block bootstrap.
fn block_bootstrap(d: &[f64], samples: usize, rng: &mut ChaCha8Rng) -> [f64; 2] {
    let n = d.len();
    if n == 0 {
        return [0.0, 0.0];
    }
    let block = ((n as f64).sqrt().round() as usize).clamp(1, n);
    let mut sums: Vec<f64> = (0..samples)
        .map(|_| {
            let (mut s, mut taken) = (0.0, 0);
            while taken < n {
                let from = rng.random_range(0..=n - block);
                let len = block.min(n - taken);
                s += d[from..from + len].iter().sum::<f64>();
                taken += len;
            }
            s
        })
        .collect();
    sums.sort_by(f64::total_cmp);
    let q = |p: f64| sums[((p * (samples - 1) as f64).round() as usize).min(samples - 1)];
    [q(0.025), q(0.975)]
}
