//! The ensemble's decision (pure): the ML probability, the RL action and the regime
//! combined into one target position, with a confidence and each part's contribution.
//!
//! # The formula
//!
//! Each part gives a score in [-1, 1] (positive: long):
//! - ML: `s_ml = 2 p - 1`, `p` the model's probability that the price rises;
//! - RL: `s_rl = P(long) - P(short)` from the agent's action probabilities (a greedy
//!   agent's action is `+1`, `0` or `-1`);
//! - regime: `s_regime = P(bull) - P(bear)` from the filtered trend probabilities.
//!
//! Parts that are missing (no model or agent, no regime yet) or disabled by the settings
//! (`ENABLE_ML_TRAINING`, `ENABLE_REINFORCEMENT_LEARNING`, `ENABLE_MARKET_REGIME`) are
//! left out and the weights of the others are renormalised to sum to 1; the decision
//! lists what was left out and why. With weights `w` (the config's `ml_weight`,
//! `rl_weight`, `regime_weight`):
//!
//! `score = sum(w_i * s_i) / sum(w_i)` over the parts present, in [-1, 1];
//! `contribution_i = w_i * s_i / sum(w_i)` (they add up to `score`);
//! `confidence = |score|`.
//!
//! The action: `buy` (target `+1`, long the whole sleeve) when `score >= threshold`,
//! `sell` (target `-1`, or `0` when shorting is off) when `score <= -threshold`,
//! otherwise `hold` (keep what is held). `threshold` defaults to
//! [`DEFAULT_THRESHOLD`]. No part present: `hold` with confidence 0.

use serde::{Deserialize, Serialize};

/// The score a decision must reach to act, by default.
pub const DEFAULT_THRESHOLD: f64 = 0.1;

/// The weights of the parts (the config's; need not sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub ml: f64,
    pub rl: f64,
    pub regime: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { ml: 0.4, rl: 0.4, regime: 0.2 }
    }
}

/// The ML part's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlInput {
    /// Probability that the price rises over the model's horizon, in [0, 1].
    pub probability: f64,
    pub model_id: String,
    pub version: u32,
}

/// The RL part's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlInput {
    /// Probabilities of short, flat, long (sum 1).
    pub probabilities: [f64; 3],
    pub agent_id: String,
    pub version: u32,
}

/// The regime part's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeInput {
    /// Filtered probabilities of bull, bear, sideways.
    pub bull: f64,
    pub bear: f64,
    pub sideways: f64,
    /// The stable regime's name.
    pub regime: String,
}

/// A part's state in one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Its score in [-1, 1]; `None` when left out.
    pub score: Option<f64>,
    /// The weight it had after renormalisation (0 when left out).
    pub weight: f64,
    /// `weight * score`: its share of the decision's score.
    pub contribution: f64,
    /// Why it was left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Buy,
    Sell,
    Hold,
}

/// One decision of the ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: Action,
    /// The target position as a fraction of the sleeve (`None` for hold: keep it).
    pub target: Option<f64>,
    pub score: f64,
    pub confidence: f64,
    pub ml: Part,
    pub rl: Part,
    pub regime: Part,
    /// What each part was given (model and agent ids and versions, the probability, the
    /// regime), for the audit chain.
    pub inputs: Sources,
}

/// The parts' inputs as the decision saw them (`None`: left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    pub ml: Option<MlInput>,
    pub rl: Option<RlInput>,
    pub regime: Option<RegimeInput>,
}

/// What the parts are, and which the settings allow.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    pub ml: Result<MlInput, LeftOut>,
    pub rl: Result<RlInput, LeftOut>,
    pub regime: Result<RegimeInput, LeftOut>,
}

/// Why a part is left out of a decision. Its text is the part's `left_out` (journaled
/// in `AiDecision`, answered over HTTP), as it always read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LeftOut {
    /// The part's setting is off; names the variable (`ENABLE_ML_TRAINING` ...).
    #[error("{0} is false")]
    Disabled(&'static str),
    #[error("the ML features are warming up (about {0} bars)")]
    MlWarmingUp(usize),
    #[error("the RL observation is warming up ({0} bars)")]
    RlWarmingUp(usize),
    #[error("the regime filter is warming up")]
    RegimeWarmingUp,
    #[error("ML probability {0} is not a number")]
    MlNotANumber(f64),
    /// `RL` or `regime`: its probabilities are not numbers.
    #[error("{0} probabilities are not numbers")]
    NotNumbers(&'static str),
    /// Its source could not give it (no model or agent, the source's refusal, the run's
    /// pinned reason): that source's text.
    #[error("{0}")]
    Unavailable(String),
}

impl From<String> for LeftOut {
    fn from(why: String) -> Self {
        LeftOut::Unavailable(why)
    }
}

impl From<&str> for LeftOut {
    fn from(why: &str) -> Self {
        LeftOut::Unavailable(why.to_string())
    }
}

/// How decisions are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub weights: Weights,
    pub threshold: f64,
    /// `sell` goes short (`-1`) rather than flat (`0`).
    pub allow_short: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { weights: Weights::default(), threshold: DEFAULT_THRESHOLD, allow_short: true }
    }
}

fn clamp_unit(x: f64) -> Option<f64> {
    x.is_finite().then(|| x.clamp(-1.0, 1.0))
}

/// The scores of the parts present (or why each is left out).
fn scores(inputs: &Inputs) -> [Result<f64, LeftOut>; 3] {
    let ml = inputs
        .ml
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|m| clamp_unit(2.0 * m.probability - 1.0).ok_or(LeftOut::MlNotANumber(m.probability)));
    let rl = inputs.rl.as_ref().map_err(Clone::clone).and_then(|r| {
        let [short, _, long] = r.probabilities;
        clamp_unit(long - short).ok_or(LeftOut::NotNumbers("RL"))
    });
    let regime =
        inputs.regime.as_ref().map_err(Clone::clone).and_then(|g| clamp_unit(g.bull - g.bear).ok_or(LeftOut::NotNumbers("regime")));
    [ml, rl, regime]
}

/// The ensemble's decision (see the module doc for the formula).
pub fn decide(inputs: &Inputs, rules: &Rules) -> Decision {
    let w = rules.weights;
    let raw = [w.ml, w.rl, w.regime].map(|x| if x.is_finite() && x > 0.0 { x } else { 0.0 });
    let scores = scores(inputs);
    let total: f64 = scores.iter().zip(raw).filter(|(s, _)| s.is_ok()).map(|(_, w)| w).sum();
    let parts: Vec<Part> = scores
        .iter()
        .zip(raw)
        .map(|(s, w)| match s {
            Ok(s) if total > 0.0 => Part { score: Some(*s), weight: w / total, contribution: w / total * s, left_out: None },
            Ok(s) => Part { score: Some(*s), weight: 0.0, contribution: 0.0, left_out: Some("every present part has weight 0".into()) },
            Err(why) => Part { score: None, weight: 0.0, contribution: 0.0, left_out: Some(why.to_string()) },
        })
        .collect();
    let score = parts.iter().map(|p| p.contribution).sum::<f64>().clamp(-1.0, 1.0);
    let (action, target) = if total > 0.0 && score >= rules.threshold {
        (Action::Buy, Some(1.0))
    } else if total > 0.0 && score <= -rules.threshold {
        (Action::Sell, Some(if rules.allow_short { -1.0 } else { 0.0 }))
    } else {
        (Action::Hold, None)
    };
    let mut it = parts.into_iter();
    let (ml, rl, regime) = (it.next().expect("three parts"), it.next().expect("three parts"), it.next().expect("three parts"));
    let inputs = Sources { ml: inputs.ml.clone().ok(), rl: inputs.rl.clone().ok(), regime: inputs.regime.clone().ok() };
    Decision { action, target, score, confidence: score.abs(), ml, rl, regime, inputs }
}

impl Decision {
    /// The action's name as journaled and answered.
    pub fn action_name(&self) -> &'static str {
        match self.action {
            Action::Buy => "buy",
            Action::Sell => "sell",
            Action::Hold => "hold",
        }
    }

    /// The part that drove the decision: the one whose contribution pushed hardest in the
    /// score's direction (`ml`, `rl` or `regime`; `ml` on a tie). Trades are attributed
    /// to it (`backtest::attribution`'s `by_source`).
    pub fn driver(&self) -> &'static str {
        let sign = if self.score < 0.0 { -1.0 } else { 1.0 };
        let parts = [("ml", &self.ml), ("rl", &self.rl), ("regime", &self.regime)];
        parts
            .iter()
            .fold(("ml", f64::NEG_INFINITY), |best, (name, p)| {
                let push = p.contribution * sign;
                if push > best.1 {
                    (name, push)
                } else {
                    best
                }
            })
            .0
    }

    /// The journaled record of this decision on `symbol`'s bar opening at `bar` (what the
    /// audit chain reads). `quantity`: the units sized (smart-trade), 0 where the order
    /// that follows carries the size (backtests and sessions size the target there).
    pub fn record(&self, symbol: &str, bar: tradpal_messages::Timestamp, quantity: f64) -> tradpal_messages::AiDecision {
        tradpal_messages::AiDecision {
            symbol: symbol.to_string(),
            bar,
            action: self.action_name().into(),
            quantity,
            score: self.score,
            confidence: self.confidence,
            decision_json: serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ml(p: f64) -> Result<MlInput, LeftOut> {
        Ok(MlInput { probability: p, model_id: "m".into(), version: 1 })
    }
    fn rl(short: f64, flat: f64, long: f64) -> Result<RlInput, LeftOut> {
        Ok(RlInput { probabilities: [short, flat, long], agent_id: "a".into(), version: 1 })
    }
    fn regime(bull: f64, bear: f64) -> Result<RegimeInput, LeftOut> {
        Ok(RegimeInput { bull, bear, sideways: 1.0 - bull - bear, regime: "bull".into() })
    }

    #[test]
    fn contributions_add_up_to_the_score_and_follow_the_weights() {
        let d = decide(&Inputs { ml: ml(0.8), rl: rl(0.0, 0.0, 1.0), regime: regime(0.5, 0.3) }, &Rules::default());
        // 0.4 * 0.6 + 0.4 * 1.0 + 0.2 * 0.2 = 0.68
        assert!((d.score - 0.68).abs() < 1e-12, "{d:?}");
        assert!((d.ml.contribution + d.rl.contribution + d.regime.contribution - d.score).abs() < 1e-12);
        assert_eq!((d.action, d.target), (Action::Buy, Some(1.0)));
        assert!((d.confidence - 0.68).abs() < 1e-12);
    }

    #[test]
    fn a_missing_or_disabled_part_is_left_out_and_the_rest_renormalised() {
        let inputs = Inputs { ml: ml(0.2), rl: Err("ENABLE_REINFORCEMENT_LEARNING is false".into()), regime: regime(0.1, 0.5) };
        let d = decide(&inputs, &Rules::default());
        assert_eq!(d.rl.left_out.as_deref(), Some("ENABLE_REINFORCEMENT_LEARNING is false"));
        assert!((d.ml.weight - 0.4 / 0.6).abs() < 1e-12 && (d.regime.weight - 0.2 / 0.6).abs() < 1e-12);
        // (0.4 * -0.6 + 0.2 * -0.4) / 0.6
        assert!((d.score - (-0.32 / 0.6)).abs() < 1e-12, "{d:?}");
        assert_eq!((d.action, d.target), (Action::Sell, Some(-1.0)));
        let long_only = decide(&inputs, &Rules { allow_short: false, ..Rules::default() });
        assert_eq!(long_only.target, Some(0.0));
    }

    #[test]
    fn weak_or_absent_signals_hold() {
        let d = decide(&Inputs { ml: ml(0.52), rl: rl(0.3, 0.4, 0.3), regime: regime(0.3, 0.3) }, &Rules::default());
        assert_eq!((d.action, d.target), (Action::Hold, None));
        let none =
            decide(&Inputs { ml: Err("no model".into()), rl: Err("no agent".into()), regime: Err("no regime".into()) }, &Rules::default());
        assert_eq!((none.action, none.confidence), (Action::Hold, 0.0));
        let nan = decide(&Inputs { ml: ml(f64::NAN), rl: Err("x".into()), regime: Err("y".into()) }, &Rules::default());
        assert!(nan.ml.left_out.is_some() && nan.action == Action::Hold);
    }
}
