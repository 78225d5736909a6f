//! [`StrategyRuntime`]: the one path from a complete bar to a target position. The
//! backtest engine and live sessions both call it (through `backtest/account.rs`), so
//! a signal is checked and acted on by the same rules everywhere.

use super::{BarContext, Signal, Strategy, FRACTION_MAX};

/// A strategy asked for a target that is not a finite fraction within the bound.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("strategy {strategy} asked for target {value} at bar {index}: a target must be finite, |target| <= {max}")]
pub struct BadSignal {
    pub strategy: String,
    pub index: usize,
    pub value: f64,
    pub max: f64,
}

/// What a strategy last asked for: a target is acted on once, when it changes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StrategyRuntime {
    last_target: Option<f64>,
}

impl StrategyRuntime {
    /// Asks `strategy` about the bar that just closed: `Some(target)` when it wants a
    /// target different from the last one (now remembered), `None` to keep what is there.
    pub fn decide(&mut self, strategy: &mut dyn Strategy, ctx: &BarContext) -> Result<Option<f64>, BadSignal> {
        let Signal::Target(fraction) = strategy.on_bar(ctx) else { return Ok(None) };
        if !(fraction.is_finite() && fraction.abs() <= FRACTION_MAX) {
            return Err(BadSignal { strategy: strategy.name().to_string(), index: ctx.index(), value: fraction, max: FRACTION_MAX });
        }
        if self.last_target == Some(fraction) {
            return Ok(None);
        }
        self.last_target = Some(fraction);
        Ok(Some(fraction))
    }

    /// The last target acted on (`None` before the first).
    pub fn last_target(&self) -> Option<f64> {
        self.last_target
    }
}
