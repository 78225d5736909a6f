//! What can go wrong in the ML core, each variant naming the problem for the caller.

/// An ML request or training run that cannot proceed. Safe to show to the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MlError {
    #[error("features: unknown feature group {name:?}; valid: {valid}")]
    UnknownFeature { name: String, valid: String },
    #[error("model_type: unknown model type {name:?}; valid: {valid}")]
    UnknownModelType { name: String, valid: String },
    #[error("target: unknown target {name:?}; valid: price_direction, forward_return")]
    UnknownTarget { name: String },
    #[error("too few bars: {bars} given, at least {min_bars} are needed ({why})")]
    TooFewBars { bars: usize, min_bars: usize, why: String },
    #[error("{field}: {why}")]
    Field { field: &'static str, why: String },
    #[error("features: expected {expected} values ({names}), got {got}")]
    VectorLength { expected: usize, got: usize, names: String },
    #[error("features[{index}] ({name}) is not a finite number")]
    NotFinite { index: usize, name: String },
    #[error("the training data has one class only ({class}): direction cannot be learned from it")]
    OneClass { class: f64 },
    #[error("gradient boosting (lightgbm3): {0}")]
    Gbm(String),
    #[error("neural network (candle): {0}")]
    Mlp(String),
    #[error("causality check failed: {0}")]
    Causality(String),
}

impl From<lightgbm3::Error> for MlError {
    fn from(e: lightgbm3::Error) -> Self {
        MlError::Gbm(e.to_string())
    }
}

impl From<candle_core::Error> for MlError {
    fn from(e: candle_core::Error) -> Self {
        MlError::Mlp(e.to_string())
    }
}
