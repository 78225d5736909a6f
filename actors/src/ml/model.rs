//! Model types by the spec's names, the stored weights, and a loaded model that predicts.
//!
//! `xgboost`, `lightgbm` and `gbm` all run the one GBM ([`super::gbm::IMPLEMENTATION`]);
//! `logistic` is the baseline; `mlp` / `neural_network` the candle MLP; `ensemble` the
//! average of the three's predictions (probabilities or values).

use super::error::MlError;
use super::gbm::Gbm;
use super::linear::Linear;
use super::mlp::{Mlp, MlpWeights};
use serde::{Deserialize, Serialize};

/// Every `model_type` accepted.
pub const MODEL_TYPES: [&str; 8] = ["gbm", "lightgbm", "xgboost", "logistic", "logistic_regression", "mlp", "neural_network", "ensemble"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Gbm,
    Logistic,
    Mlp,
    Ensemble,
}

impl ModelKind {
    pub fn parse(name: &str) -> Result<Self, MlError> {
        match name {
            "gbm" | "lightgbm" | "xgboost" => Ok(Self::Gbm),
            "logistic" | "logistic_regression" => Ok(Self::Logistic),
            "mlp" | "neural_network" => Ok(Self::Mlp),
            "ensemble" => Ok(Self::Ensemble),
            other => Err(MlError::UnknownModelType { name: other.chars().take(64).collect(), valid: MODEL_TYPES.join(", ") }),
        }
    }

    /// What actually runs, for the answer.
    pub fn implementation(self) -> String {
        match self {
            Self::Gbm => super::gbm::IMPLEMENTATION.to_string(),
            Self::Logistic => "logistic regression (IRLS, L2), tradpal".to_string(),
            Self::Mlp => "MLP (candle-core/candle-nn 0.11, CPU)".to_string(),
            Self::Ensemble => format!("mean of: {}; logistic regression; MLP (candle)", super::gbm::IMPLEMENTATION),
        }
    }
}

/// The serialisable weights of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Weights {
    Gbm { cols: usize, text: String },
    Logistic { model: Linear },
    Mlp { model: MlpWeights },
    Ensemble { members: Vec<Weights> },
}

/// A model ready to predict.
#[derive(Debug)]
pub enum Loaded {
    Gbm(Gbm),
    Logistic(Linear),
    Mlp(Mlp),
    Ensemble(Vec<Loaded>),
}

impl Loaded {
    pub fn load(w: &Weights) -> Result<Loaded, MlError> {
        Ok(match w {
            Weights::Gbm { cols, text } => Loaded::Gbm(Gbm::from_text(text, *cols)?),
            Weights::Logistic { model } => Loaded::Logistic(model.clone()),
            Weights::Mlp { model } => Loaded::Mlp(Mlp::load(model.clone())?),
            Weights::Ensemble { members } => Loaded::Ensemble(members.iter().map(Loaded::load).collect::<Result<_, _>>()?),
        })
    }

    pub fn weights(&self) -> Weights {
        match self {
            Loaded::Gbm(g) => Weights::Gbm { cols: g.cols(), text: g.text.clone() },
            Loaded::Logistic(m) => Weights::Logistic { model: m.clone() },
            Loaded::Mlp(m) => Weights::Mlp { model: m.weights.clone() },
            Loaded::Ensemble(ms) => Weights::Ensemble { members: ms.iter().map(Loaded::weights).collect() },
        }
    }

    /// One prediction per row of `x` (row-major).
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>, MlError> {
        match self {
            Loaded::Gbm(g) => g.predict(x),
            Loaded::Logistic(m) => Ok(m.predict(x)),
            Loaded::Mlp(m) => m.predict(x),
            Loaded::Ensemble(ms) => {
                let mut sum: Vec<f64> = Vec::new();
                for m in ms {
                    let p = m.predict(x)?;
                    if sum.is_empty() {
                        sum = p;
                    } else {
                        sum.iter_mut().zip(&p).for_each(|(s, v)| *s += v);
                    }
                }
                let k = ms.len().max(1) as f64;
                Ok(sum.into_iter().map(|s| s / k).collect())
            }
        }
    }

    /// Gain importance, when the model has one (GBM; an ensemble's GBM member).
    pub fn gain(&self) -> Result<Option<Vec<f64>>, MlError> {
        match self {
            Loaded::Gbm(g) => g.gain().map(Some),
            Loaded::Ensemble(ms) => ms.iter().find(|m| matches!(m, Loaded::Gbm(_))).map_or(Ok(None), Loaded::gain),
            Loaded::Logistic(_) | Loaded::Mlp(_) => Ok(None),
        }
    }
}
