//! `ai_ensemble`: the AI ensemble as a strategy of the one registry, so backtests and
//! sessions run it on the same code and make the same fills on the same bars.
//!
//! At each close it computes, from the bars fed so far (once per bar, in order; nothing
//! later is reachable):
//! - the ML part: the pinned direction model's probability on the `ml::features` row of
//!   its feature groups (left out while the features warm up);
//! - the RL part: the pinned agent's action probabilities on its observation (the same
//!   scaled features and regime probabilities as in training, `rl::obs`; the position is
//!   the strategy's own target and the unrealised P&L its equity since that target was
//!   taken, as in `rl::env`), left out for the first `rl::obs::WARMUP_BARS` bars;
//! - the regime part: bull / bear / sideways probabilities of the pinned regime model,
//!   filtered forward bar by bar (`regime::tracker`);
//!
//! and combines them with [`crate::ensemble::core::decide`] (the formula is documented
//! there). `buy` targets `+fraction`, `sell` `-fraction` (`0` with `long_only`), `hold`
//! keeps what is held.
//!
//! The models are not found here: the service resolves them when the backtest or session
//! starts (`ensemble::resolve`) and pins them (`AiPins`: ids, versions, the regime model
//! itself, the weights), so a rebuild or a replay decides with the same ones. Every
//! decision that changes the target is explained ([`Strategy::explain`]): the account
//! journals it as an `AiDecision` before the order it causes.

use super::{BarContext, Signal, Strategy};
use crate::ensemble::core::{decide, Decision, Inputs, LeftOut, MlInput, RegimeInput, RlInput, Rules, Weights};
use crate::ml::features::{FeatureGroup, FeatureState};
use crate::ml::model::Loaded;
use crate::regime::hysteresis::HysteresisParams;
use crate::regime::model::RegimeModel;
use crate::regime::tracker::RegimeTracker;
use crate::rl::agent::{infer, Agent};
use crate::rl::obs::{regime_row, scale_market_row, CLIP, MARKET_FEATURES, OBS_DIM, WARMUP_BARS};
use std::sync::{Arc, Mutex};
use tradpal_messages::AiPins;

/// A loaded ML direction model and what scoring it needs from its file.
#[derive(Debug)]
pub struct MlScorer {
    /// Behind a lock: LightGBM's booster may move between threads but not be shared.
    pub model: Mutex<Loaded>,
    pub groups: Vec<FeatureGroup>,
    /// Which of the groups' columns the model takes, in order.
    pub columns: Vec<usize>,
}

impl MlScorer {
    /// The probability that the price rises, on one full row of the groups' columns
    /// (`x`: the caller's buffer for the model's columns, reused bar after bar).
    fn probability(&self, row: &[f64], x: &mut Vec<f64>) -> Result<f64, LeftOut> {
        x.clear();
        x.extend(self.columns.iter().map(|&j| row[j]));
        let model = self.model.lock().map_err(|_| LeftOut::from("the ML model's lock is poisoned"))?;
        model
            .predict(x)
            .map_err(|e| LeftOut::Unavailable(e.to_string()))?
            .first()
            .copied()
            .ok_or_else(|| LeftOut::from("the ML model gave no prediction"))
    }
}

/// The resolved models of an `ai_ensemble` run: what the pins name, loaded. Shared (one
/// copy for every session on the same models).
#[derive(Clone)]
pub struct AiModels {
    pub pins: AiPins,
    pub ml: Option<Arc<MlScorer>>,
    pub rl: Option<Arc<Agent>>,
    pub regime: Option<Arc<RegimeModel>>,
}

impl AiModels {
    /// The ensemble's weights as pinned.
    pub fn weights(&self) -> Weights {
        Weights { ml: self.pins.ml_weight, rl: self.pins.rl_weight, regime: self.pins.regime_weight }
    }

    /// Why a part is left out for the whole run, as pinned (`"ml: ..."`).
    fn left_out(&self, part: &str) -> LeftOut {
        let prefix = format!("{part}: ");
        self.pins
            .left_out
            .iter()
            .find_map(|l| l.strip_prefix(&prefix).map(LeftOut::from))
            .unwrap_or_else(|| LeftOut::Unavailable(format!("no {part} part pinned")))
    }
}

impl std::fmt::Debug for AiModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiModels").field("pins", &self.pins).finish_non_exhaustive()
    }
}

/// Two resolutions are the same when they pin the same models.
impl PartialEq for AiModels {
    fn eq(&self, other: &Self) -> bool {
        self.pins == other.pins
    }
}

/// The pinned regime model does not make a tracker (a corrupt or foreign model).
#[derive(Debug, thiserror::Error)]
#[error("regime model: {0}")]
pub struct BadRegimeModel(#[from] crate::regime::error::RegimeError);

/// The `ai_ensemble` strategy (see the module doc).
pub struct AiEnsemble {
    models: AiModels,
    rules: Rules,
    fraction: f64,
    ml_state: FeatureState,
    rl_state: FeatureState,
    tracker: Option<RegimeTracker>,
    /// Per-bar buffers (no allocation per bar): the ML groups' row, the model's columns,
    /// the RL observation's feature row.
    row: Vec<f64>,
    x: Vec<f64>,
    rl_row: Vec<f64>,
    /// The RL observation's market columns at the current bar (zeros while warming up).
    market: [f32; MARKET_FEATURES],
    /// The target taken last, and the equity when it was taken (the RL observation).
    held: f64,
    entry_equity: f64,
    last: Option<Decision>,
}

impl AiEnsemble {
    /// `threshold` in (0, 1], `fraction` in (0, FRACTION_MAX] (checked by the registry).
    pub fn new(models: AiModels, threshold: f64, fraction: f64, long_only: bool) -> Result<Self, BadRegimeModel> {
        let tracker = match &models.regime {
            Some(m) => Some(RegimeTracker::new((**m).clone(), &HysteresisParams::default())?),
            None => None,
        };
        let rules = Rules { weights: models.weights(), threshold, allow_short: !long_only };
        Ok(AiEnsemble {
            models,
            rules,
            fraction,
            ml_state: FeatureState::default(),
            rl_state: FeatureState::default(),
            tracker,
            row: Vec::with_capacity(16),
            x: Vec::with_capacity(16),
            rl_row: Vec::with_capacity(MARKET_FEATURES),
            market: [0.0; MARKET_FEATURES],
            held: 0.0,
            entry_equity: 0.0,
            last: None,
        })
    }

    fn ml_part(&mut self, ctx: &BarContext) -> Result<MlInput, LeftOut> {
        let Some(ml) = &self.models.ml else { return Err(self.models.left_out("ml")) };
        if !self.ml_state.update(*ctx.bar(), &ml.groups, &mut self.row) {
            return Err(LeftOut::MlWarmingUp(crate::ml::features::WARM_UP_BARS));
        }
        let probability = ml.probability(&self.row, &mut self.x)?;
        let pins = &self.models.pins;
        Ok(MlInput { probability, model_id: pins.model_id.clone().unwrap_or_default(), version: pins.model_version })
    }

    fn regime_part(&mut self, ctx: &BarContext) -> Result<RegimeInput, LeftOut> {
        let Some(tracker) = self.tracker.as_mut() else { return Err(self.models.left_out("regime")) };
        // A bar the tracker refuses (a bad price) leaves its state as it was.
        let _ = tracker.update(ctx.bar());
        let b = tracker.current().ok_or(LeftOut::RegimeWarmingUp)?;
        let p = b.probs.trend.p;
        Ok(RegimeInput { bull: p[0], bear: p[1], sideways: p[2], regime: b.trend.as_str().into() })
    }

    fn rl_part(&mut self, ctx: &BarContext) -> Result<RlInput, LeftOut> {
        let complete = self.rl_state.update(*ctx.bar(), &FeatureGroup::ALL, &mut self.rl_row);
        self.market = if complete { scale_market_row(&self.rl_row) } else { [0.0; MARKET_FEATURES] };
        let Some(agent) = &self.models.rl else { return Err(self.models.left_out("rl")) };
        if ctx.index() < WARMUP_BARS {
            return Err(LeftOut::RlWarmingUp(WARMUP_BARS));
        }
        let mut obs = [0.0f32; OBS_DIM];
        obs[..MARKET_FEATURES].copy_from_slice(&self.market);
        // The agent's regime inputs come from its own regime model (pinned as the run's
        // regime model when it has one); zeros when it was trained without regimes.
        if agent.regime.is_some() {
            if let Some(b) = self.tracker.as_ref().and_then(|t| t.current()) {
                obs[MARKET_FEATURES..OBS_DIM - 2].copy_from_slice(&regime_row(b));
            }
        }
        let unrealised = if self.held != 0.0 && self.entry_equity > 0.0 { (ctx.equity() / self.entry_equity - 1.0) * 100.0 } else { 0.0 };
        obs[OBS_DIM - 2] = self.held as f32;
        obs[OBS_DIM - 1] = (unrealised as f32).clamp(-CLIP, CLIP);
        let out = infer(agent, &obs);
        let pins = &self.models.pins;
        Ok(RlInput { probabilities: out.probabilities, agent_id: pins.agent_id.clone().unwrap_or_default(), version: pins.agent_version })
    }
}

impl Strategy for AiEnsemble {
    fn name(&self) -> &str {
        "ai_ensemble"
    }

    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        // Every part sees every bar (their filters and indicators run in order).
        let regime = self.regime_part(ctx);
        let ml = self.ml_part(ctx);
        let rl = self.rl_part(ctx);
        let decision = decide(&Inputs { ml, rl, regime }, &self.rules);
        let signal = match decision.target {
            Some(t) => {
                let target = t * self.fraction;
                if target != self.held {
                    (self.held, self.entry_equity) = (target, ctx.equity());
                }
                Signal::Target(target)
            }
            None => Signal::Hold,
        };
        self.last = Some(decision);
        signal
    }

    fn explain(&self) -> Option<Decision> {
        self.last.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rl::agent::Algorithm;
    use crate::rl::env::Actions;
    use crate::rl::net::PlainMlp;
    use crate::rl::obs::{fit_regime, Features};
    use rand::SeedableRng;
    use tradpal_messages::{Candle, Fixed, Timeframe};

    fn models(bars: &[Candle]) -> AiModels {
        let regime = fit_regime(&bars[..600], Timeframe::M1, 7).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let agent = Agent {
            algorithm: Algorithm::Ppo,
            actions: Actions::default(),
            net: PlainMlp::init(&[OBS_DIM, 16, 3], 1.0, &mut rng),
            value: None,
            regime: Some(regime.clone()),
            experts: Vec::new(),
            expert_values: Vec::new(),
        };
        let pins = AiPins {
            model_id: None,
            model_version: 0,
            agent_id: Some("rl-1".into()),
            agent_version: 1,
            regime_model_json: Some(serde_json::to_string(&regime).unwrap()),
            ml_weight: 0.4,
            rl_weight: 0.4,
            regime_weight: 0.2,
            left_out: vec!["ml: none trained".into()],
        };
        AiModels { pins, ml: None, rl: Some(Arc::new(agent)), regime: Some(Arc::new(regime)) }
    }

    fn run(s: &mut AiEnsemble, bars: &[Candle]) -> Vec<Decision> {
        (0..bars.len())
            .map(|i| {
                s.on_bar(&BarContext::at(bars, i, Timeframe::M1, Fixed::ZERO, Fixed::ONE, Fixed::ONE));
                s.explain().unwrap()
            })
            .collect()
    }

    #[test]
    fn the_incremental_observation_is_the_training_one_and_a_rerun_decides_alike() {
        let bars = crate::rl::synthetic::ar_candles(900, 0.2, 0.001, 5);
        let m = models(&bars);
        // Threshold 1: it never acts, so the agent is observed from flat as in the batch.
        let decisions = run(&mut AiEnsemble::new(m.clone(), 1.0, 1.0, false).unwrap(), &bars);
        let agent = m.rl.clone().unwrap();
        let batch = Features::build(&bars, agent.regime.as_ref()).unwrap();
        let mut obs = [0.0f32; OBS_DIM];
        for (i, d) in decisions.iter().enumerate() {
            match &d.inputs.rl {
                None => assert!(i < WARMUP_BARS, "bar {i}: {:?}", d.rl.left_out),
                Some(rl) => {
                    batch.observe(i, 0.0, 0.0, &mut obs);
                    assert_eq!(rl.probabilities, infer(&agent, &obs).probabilities, "bar {i}");
                }
            }
            assert_eq!(d.ml.left_out.as_deref(), Some("none trained"));
        }
        assert!(decisions.iter().filter(|d| d.inputs.regime.is_some()).count() > 800);
        // The same models on the same bars decide the same, bit for bit.
        let again = run(&mut AiEnsemble::new(m, 1.0, 1.0, false).unwrap(), &bars);
        assert_eq!(decisions, again);
    }

    #[test]
    fn without_its_models_it_is_refused_and_its_params_are_checked() {
        use crate::strategy::{build, check, StrategyError, StrategySpec};
        let spec = StrategySpec::new("ai_ensemble");
        assert_eq!(build(&spec).err(), Some(StrategyError::ModelsNotResolved));
        assert!(check(&spec).is_ok());
        let e = check(&spec.clone().with("threshold", 0.0)).unwrap_err().to_string();
        assert!(e.contains("threshold"), "{e}");
        let e = check(&spec.with("long_only", 2.0)).unwrap_err().to_string();
        assert!(e.contains("long_only"), "{e}");
    }
}
