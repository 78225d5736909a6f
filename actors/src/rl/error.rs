//! [`RlError`]: everything the RL core refuses, each naming the request field at fault.

use crate::backtest::error::BacktestError;
use crate::regime::error::RegimeError;

#[derive(Debug, thiserror::Error)]
pub enum RlError {
    /// A request field is out of range or unknown; `field` is its JSON name.
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    /// Too few bars: `need` is the named minimum.
    #[error("bars: need at least {need} ({name}), got {got}")]
    TooFewBars { need: usize, name: &'static str, got: usize },
    #[error("the execution core refused a step: {0}")]
    Backtest(#[from] BacktestError),
    #[error("regime: {0}")]
    Regime(#[from] RegimeError),
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

impl RlError {
    /// The request field a caller should fix (`None`: not the caller's input).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RlError::Invalid { field, .. } => Some(field),
            RlError::TooFewBars { .. } => Some("bars"),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        RlError::Invalid { field, why: why.into() }
    }
}
