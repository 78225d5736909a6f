//! [`BacktestError`]: why a backtest could not run or finish. Each message names the
//! input (bar index and time for data) so a caller can fix it without reading the code.

use super::metrics::MetricsError;
use super::strategy::StrategyError;
use crate::execution::ExecutionError;
use tradpal_messages::Timestamp;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    #[error("no bars: a backtest needs at least one candle")]
    NoBars,
    #[error("bars[{index}] (open {time}): {why}")]
    BadBar { index: usize, time: Timestamp, why: String },
    #[error("config: {0}")]
    Config(String),
    #[error("symbol: {0}")]
    Symbol(String),
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error("strategy {strategy} at bars[{index}]: target {value} is not a finite fraction in [-{max}, {max}]")]
    BadSignal { strategy: String, index: usize, value: f64, max: f64 },
    #[error("equity fell to {equity} at bars[{index}] (close {time}): the account is bust, so no return after it is defined")]
    Bust { index: usize, time: Timestamp, equity: f64 },
    #[error("execution at bars[{index}]: {source}")]
    Execution { index: usize, source: ExecutionError },
    /// A portfolio run's error, with the symbol it concerns (`index`es are that
    /// symbol's bars).
    #[error("{symbol}: {source}")]
    InSymbol { symbol: String, source: Box<BacktestError> },
    #[error("metrics: {0}")]
    Metrics(#[from] MetricsError),
}

impl From<crate::strategy::BadSignal> for BacktestError {
    fn from(b: crate::strategy::BadSignal) -> Self {
        BacktestError::BadSignal { strategy: b.strategy, index: b.index, value: b.value, max: b.max }
    }
}
