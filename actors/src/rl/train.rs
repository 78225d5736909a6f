//! Training: the chronological split, the regime model fitted on the training bars, and
//! the episode loop of either algorithm (optionally starting from a base agent).

use super::agent::{Agent, Algorithm};
use super::dqn::{Dqn, DqnParams};
use super::env::{Env, EnvParams};
use super::net::{PlainMlp, HIDDEN_UNITS_MAX};
use super::obs::{fit_regime, Features, OBS_DIM, WARMUP_BARS};
use super::ppo::{self, Ppo, PpoParams};
use super::RlError;
use crate::regime::fit::FIT_BARS_MIN;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, Timeframe};

/// Most episodes one training job runs.
pub const EPISODES_MAX: usize = 10_000;
/// Most bars one job takes.
pub const BARS_MAX: usize = 2_000_000;
/// Fewest held-out bars an evaluation accepts.
pub const HELD_OUT_BARS_MIN: usize = 50;
/// Fewest bars a job accepts: the warm-up, the regime fit's minimum on the training
/// part, and [`HELD_OUT_BARS_MIN`] held out (at the default split and above).
pub const BARS_MIN: usize = 300;
/// `train_fraction` bounds.
pub const TRAIN_FRACTION_MIN: f64 = 0.1;
pub const TRAIN_FRACTION_MAX: f64 = 0.95;

/// What to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub algorithm: Algorithm,
    pub episodes: usize,
    pub seed: u64,
    pub train_fraction: f64,
    pub env: EnvParams,
    /// Regime probabilities in the observation (fitted on the training bars).
    pub regimes: bool,
    /// One PPO agent per trend regime, the regime of each bar picking the agent.
    pub per_regime: bool,
    pub hidden: usize,
    pub dqn: DqnParams,
    pub ppo: PpoParams,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            algorithm: Algorithm::Ppo,
            episodes: 20,
            seed: 0,
            train_fraction: 0.7,
            env: EnvParams::default(),
            regimes: true,
            per_regime: false,
            hidden: 32,
            dqn: DqnParams::default(),
            ppo: PpoParams::default(),
        }
    }
}

/// One point of the training curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub episode: usize,
    pub reward_sum: f64,
    /// The episode's return on equity (after costs; exploration included).
    pub total_return: f64,
}

pub struct Trained {
    pub agent: Agent,
    pub curve: Vec<CurvePoint>,
    /// Gradient steps and environment steps taken.
    pub updates: usize,
    pub env_steps: usize,
}

/// Where the training part ends: `floor(n * train_fraction)`, checked against the minimums.
pub fn split(bars: usize, train_fraction: f64) -> Result<usize, RlError> {
    if !(TRAIN_FRACTION_MIN..=TRAIN_FRACTION_MAX).contains(&train_fraction) {
        return Err(RlError::invalid(
            "train_fraction",
            format!("must be in [{TRAIN_FRACTION_MIN}, {TRAIN_FRACTION_MAX}], got {train_fraction}"),
        ));
    }
    if bars < BARS_MIN {
        return Err(RlError::TooFewBars { need: BARS_MIN, name: "BARS_MIN", got: bars });
    }
    if bars > BARS_MAX {
        return Err(RlError::invalid("bars", format!("at most {BARS_MAX} (BARS_MAX), got {bars}")));
    }
    let end = (bars as f64 * train_fraction).floor() as usize;
    if end < WARMUP_BARS + FIT_BARS_MIN || bars - end < HELD_OUT_BARS_MIN {
        return Err(RlError::invalid(
            "train_fraction",
            format!(
                "{train_fraction} of {bars} bars leaves {end} to train (need {}) and {} held out (need {HELD_OUT_BARS_MIN})",
                WARMUP_BARS + FIT_BARS_MIN,
                bars - end
            ),
        ));
    }
    Ok(end)
}

impl TrainParams {
    pub fn check(&self) -> Result<(), RlError> {
        if self.episodes == 0 || self.episodes > EPISODES_MAX {
            return Err(RlError::invalid("episodes", format!("must be in 1..={EPISODES_MAX} (EPISODES_MAX), got {}", self.episodes)));
        }
        if self.hidden == 0 || self.hidden > HIDDEN_UNITS_MAX {
            return Err(RlError::invalid("hidden", format!("must be in 1..={HIDDEN_UNITS_MAX}, got {}", self.hidden)));
        }
        self.env.config().map(|_| ())
    }
}

/// Trains an agent on `bars[..split]` (see [`split`]); `base` fine-tunes an existing
/// agent (its networks and actions; the regime model is refitted on these bars).
/// `progress(episodes_done)` after each episode. Deterministic for a seed on CPU.
pub fn train(
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    params: &TrainParams,
    base: Option<&Agent>,
    progress: &mut dyn FnMut(usize, &CurvePoint),
) -> Result<Trained, RlError> {
    params.check()?;
    check_base(params, base)?;
    let end = split(bars.len(), params.train_fraction)?;
    let regime = if params.regimes { Some(fit_regime(&bars[..end], timeframe, params.seed)?) } else { None };
    let features = Features::build(bars, regime.as_ref())?;
    let mut env_params = params.env.clone();
    if let Some(b) = base {
        env_params.actions = b.actions.clone();
    }
    let mut env = Env::new(bars, &features, &env_params, symbol, timeframe)?;
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let n_actions = env_params.actions.count();
    let sizes = [OBS_DIM, params.hidden, params.hidden, n_actions];
    let net = base.map(|b| b.net.clone()).unwrap_or_else(|| PlainMlp::init(&sizes, 0.1, &mut rng));
    let (start, steps_per_episode) = (WARMUP_BARS, end - WARMUP_BARS - 1);
    let mut curve = Vec::with_capacity(params.episodes);
    let mut point = |episode: usize, reward_sum: f64, equity: f64| {
        let p = CurvePoint { episode, reward_sum, total_return: equity / params_cash() - 1.0 };
        progress(episode + 1, &p);
        curve.push(p);
    };
    let actions = env_params.actions.clone();
    let (agent, updates) = match params.algorithm {
        Algorithm::Dqn => {
            let mut dqn = Dqn::new(&net, &params.dqn)?;
            for ep in 0..params.episodes {
                let sum = dqn.episode(&mut env, start, end, steps_per_episode * params.episodes, &mut rng)?;
                point(ep, sum, env.equity());
            }
            let net = dqn.online.plain.clone();
            (
                Agent { algorithm: Algorithm::Dqn, actions, net, value: None, regime, experts: Vec::new(), expert_values: Vec::new() },
                dqn.updates,
            )
        }
        Algorithm::Ppo => {
            let mut learners = ppo_learners(params, base, &net, &mut rng)?;
            for ep in 0..params.episodes {
                let sum = ppo::episode(&mut learners, &mut env, start, end, &mut rng)?;
                point(ep, sum, env.equity());
            }
            let several = learners.len() > 1;
            let all = |f: &dyn Fn(&Ppo) -> PlainMlp| if several { learners.iter().map(f).collect() } else { Vec::new() };
            let agent = Agent {
                algorithm: Algorithm::Ppo,
                actions,
                net: learners[0].policy.plain.clone(),
                value: Some(learners[0].value.plain.clone()),
                regime,
                experts: all(&|l| l.policy.plain.clone()),
                expert_values: all(&|l| l.value.plain.clone()),
            };
            (agent, learners.iter().map(|l| l.updates).sum())
        }
    };
    Ok(Trained { agent, curve, updates, env_steps: steps_per_episode * params.episodes })
}

/// A base agent of the job's algorithm; `per_regime` needs PPO and regimes.
fn check_base(params: &TrainParams, base: Option<&Agent>) -> Result<(), RlError> {
    if base.is_some_and(|b| b.algorithm != params.algorithm) {
        return Err(RlError::invalid("base_agent_id", "an agent fine-tunes from an agent of the same algorithm only"));
    }
    if params.per_regime && (params.algorithm != Algorithm::Ppo || !params.regimes) {
        return Err(RlError::invalid("per_regime", "one agent per regime is built for algorithm ppo with regimes on"));
    }
    Ok(())
}

/// One PPO learner, or one per trend regime ([`REGIME_EXPERTS`]), each starting from the
/// base agent's (its expert for that regime when it has one) or from `net`.
fn ppo_learners(params: &TrainParams, base: Option<&Agent>, net: &PlainMlp, rng: &mut ChaCha8Rng) -> Result<Vec<Ppo>, RlError> {
    let n = if params.per_regime { REGIME_EXPERTS } else { 1 };
    let value0 =
        base.and_then(|b| b.value.clone()).unwrap_or_else(|| PlainMlp::init(&[OBS_DIM, params.hidden, params.hidden, 1], 1.0, rng));
    (0..n)
        .map(|k| {
            let policy = base.and_then(|b| b.experts.get(k).cloned()).unwrap_or_else(|| net.clone());
            let value = base.and_then(|b| b.expert_values.get(k).cloned()).unwrap_or_else(|| value0.clone());
            Ppo::new(&policy, &value, &params.ppo)
        })
        .collect()
}

/// Learners of a `per_regime` agent: one per trend regime (bull, bear, sideways).
pub const REGIME_EXPERTS: usize = 3;

/// Starting cash of every episode (the backtest default).
fn params_cash() -> f64 {
    crate::backtest::config::BacktestConfig::default().starting_cash.to_f64()
}
