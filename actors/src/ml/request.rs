//! The request bodies of `POST /api/ml/train` and `POST /api/ml/predict` (also what the
//! CLI sends), and their validation into the core's types. Every message names its field.

use super::dataset::{Target, TargetKind, HORIZON_BARS_MAX};
use super::error::MlError;
use super::features::FeatureGroup;
use super::gbm::TREES_MAX;
use super::mlp::EPOCHS_MAX;
use super::model::ModelKind;
use super::train::{TrainSpec, CV_FOLDS_MAX};
use super::tune::HPO_TRIALS_MAX;
use crate::backtest::request::parse_date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tradpal_messages::{is_valid_symbol, ModelId, Timeframe, Timestamp};

/// Longest model name, in bytes.
pub const MODEL_NAME_BYTES_MAX: usize = 128;
/// Most values in a `features` vector.
pub const FEATURE_VALUES_MAX: usize = 1_024;

/// `POST /api/ml/train`: the spec's example fields plus optional controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    pub symbol: String,
    /// Default: the finest timeframe stored for the symbol.
    #[serde(default)]
    pub timeframe: Option<String>,
    /// Feature groups (`rsi`, `macd`, `bb`, `volume`, `returns`, `atr`, `volatility`, `regime`); default all but `regime`.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// `price_direction` (default) or `forward_return`.
    #[serde(default)]
    pub target: Option<String>,
    /// Bars ahead the target looks (default 1).
    #[serde(default)]
    pub horizon: Option<usize>,
    /// `gbm` (default), `lightgbm`, `xgboost`, `logistic`, `mlp`, `neural_network`, `ensemble`.
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default)]
    pub hyperparameter_optimization: bool,
    #[serde(default)]
    pub hpo_trials: Option<usize>,
    /// Drop features that do not help on the training folds.
    #[serde(default)]
    pub feature_selection: bool,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    /// Latest fraction of the rows held out for testing (default 0.25).
    #[serde(default)]
    pub test_fraction: Option<f64>,
    #[serde(default)]
    pub embargo_bars: Option<usize>,
    #[serde(default)]
    pub cv_folds: Option<usize>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// GBM trees (default 200).
    #[serde(default)]
    pub num_iterations: Option<usize>,
    /// MLP epochs (default 20).
    #[serde(default)]
    pub epochs: Option<usize>,
    /// The model's name (versions count up per name); default `symbol-target-model_type`.
    #[serde(default)]
    pub name: Option<String>,
}

/// A validated training request.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPlan {
    pub symbol: String,
    pub timeframe: Option<Timeframe>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub model_type: String,
    pub name: String,
    pub spec: TrainSpec,
}

fn field(field: &'static str, why: impl Into<String>) -> MlError {
    MlError::Field { field, why: why.into() }
}

fn bounded(name: &'static str, v: Option<usize>, min: usize, max: usize, default: usize) -> Result<usize, MlError> {
    let v = v.unwrap_or(default);
    if !(min..=max).contains(&v) {
        return Err(field(name, format!("must be in {min}..={max}, got {v}")));
    }
    Ok(v)
}

impl TrainRequest {
    pub fn plan(&self) -> Result<TrainPlan, MlError> {
        if !is_valid_symbol(&self.symbol) {
            return Err(field("symbol", format!("{:?} is not a symbol (BASE/QUOTE, e.g. BTC/USDT)", self.symbol)));
        }
        let timeframe =
            self.timeframe.as_deref().map(|t| t.parse::<Timeframe>().map_err(|e| field("timeframe", e.to_string()))).transpose()?;
        let date = |name, d: &Option<String>| d.as_deref().map(|d| parse_date(name, d).map_err(|e| field(name, e.to_string()))).transpose();
        let (start, end) = (date("start_date", &self.start_date)?, date("end_date", &self.end_date)?);
        let groups = match &self.features {
            None => FeatureGroup::ALL.to_vec(),
            Some(names) if names.is_empty() => return Err(field("features", "at least one feature group is needed")),
            Some(names) => {
                let mut g = names.iter().map(|n| FeatureGroup::parse(n)).collect::<Result<Vec<_>, _>>()?;
                let before = g.len();
                g.dedup();
                if g.len() != before {
                    return Err(field("features", "a feature group is named twice"));
                }
                g
            }
        };
        let model_type = self.model_type.clone().unwrap_or_else(|| "gbm".into());
        let kind = ModelKind::parse(&model_type)?;
        let target = Target {
            kind: TargetKind::parse(self.target.as_deref().unwrap_or("price_direction"))?,
            horizon: bounded("horizon", self.horizon, 1, HORIZON_BARS_MAX, 1)?,
        };
        let test_fraction = self.test_fraction.unwrap_or(0.25);
        if !(0.05..=0.5).contains(&test_fraction) {
            return Err(field("test_fraction", format!("must be in 0.05..=0.5, got {test_fraction}")));
        }
        let mut spec = TrainSpec {
            groups,
            target,
            kind,
            test_fraction,
            embargo: bounded("embargo_bars", self.embargo_bars, 0, HORIZON_BARS_MAX, 0)?,
            cv_folds: bounded("cv_folds", self.cv_folds, 0, CV_FOLDS_MAX, 3)?,
            hpo: self.hyperparameter_optimization,
            hpo_trials: bounded("hpo_trials", self.hpo_trials, 1, HPO_TRIALS_MAX, super::tune::HPO_TRIALS_DEFAULT)?,
            feature_selection: self.feature_selection,
            seed: self.seed.unwrap_or(0),
            ..TrainSpec::default()
        };
        spec.params.gbm.num_iterations = bounded("num_iterations", self.num_iterations, 1, TREES_MAX, spec.params.gbm.num_iterations)?;
        spec.params.mlp.epochs = bounded("epochs", self.epochs, 1, EPOCHS_MAX, spec.params.mlp.epochs)?;
        let name = self.name.clone().unwrap_or_else(|| format!("{}-{}-{}", self.symbol, target.kind.as_str(), model_type));
        if name.is_empty() || name.len() > MODEL_NAME_BYTES_MAX {
            return Err(field("name", format!("must be 1..={MODEL_NAME_BYTES_MAX} bytes")));
        }
        Ok(TrainPlan { symbol: self.symbol.clone(), timeframe, start, end, model_type, name, spec })
    }
}

/// `POST /api/ml/predict`: `features` (the raw vector, in the model's feature order) or
/// `symbol` (features of the latest complete stored bar, computed by the service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    pub model_id: ModelId,
    /// Values as JSON: a `null` or a string (`"NaN"`) is refused by name.
    #[serde(default)]
    pub features: Option<Vec<Value>>,
    #[serde(default)]
    pub symbol: Option<String>,
}

/// The feature vector of a request, checked against the model's feature names.
pub fn feature_vector(values: &[Value], names: &[String]) -> Result<Vec<f64>, MlError> {
    if values.len() != names.len() {
        return Err(MlError::VectorLength { expected: names.len(), got: values.len(), names: names.join(", ") });
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| MlError::NotFinite { index: i, name: names[i].clone() }))
        .collect()
}
