//! Moving-average crossover: `sma_cross` (long or short, always in the market) and
//! `sma_cross_long` (long or flat).
//!
//! Rule, on each bar's close: with both SMAs defined (from bar `slow - 1` on), the state
//! is the sign of `SMA(fast) - SMA(slow)`: above is long (`+fraction`), below is short
//! (`-fraction`, or flat for `sma_cross_long`). The first defined bar already sets the
//! state (so the strategy enters there, without waiting for a cross); after that the
//! target changes only when the sign changes (a cross). Equal SMAs keep the previous
//! state. Before both are defined the answer is [`Signal::Hold`] (flat at the start).
//!
//! With `entry=cross` the first defined bar only notes the side; the strategy stays flat
//! until the sign first changes, then trades every cross: backtesting.py's `SmaCross`
//! and vectorbt's crossover signals enter this way.
//!
//! A grid search over many `(fast, slow)` pairs on the same bars shares the SMA columns
//! instead of recomputing them per point ([`SmaCross::with_columns`]): the batch
//! [`sma`](crate::market_data::indicators::sma) is bit-identical to the incremental
//! [`Sma`], so a run reads the same values either way.

use super::params::StrategyError;
use super::{BarContext, Signal, Strategy};
use crate::market_data::indicators::{Column, Indicator, Sma};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct SmaCross {
    name: &'static str,
    fast: Sma,
    slow: Sma,
    fraction: f64,
    /// `true`: short below (`sma_cross`); `false`: flat below (`sma_cross_long`).
    short: bool,
    /// +1 long, -1 below, 0 not decided yet.
    state: i8,
    /// `entry=cross`, and no cross seen yet: hold.
    waiting: bool,
    /// Precomputed SMA(fast) and SMA(slow) of the run's closes, by bar index (a grid's
    /// shared columns); `None`: the incremental `fast` / `slow` above.
    columns: Option<SmaColumns>,
}

/// SMA columns of one run's bars (row `i` is bar `i`), shared between grid points.
/// A [`Column`] (8 bytes a row; a grid holds one per distinct period).
pub type SmaColumn = Arc<Column>;

#[derive(Debug, Clone)]
struct SmaColumns {
    fast: SmaColumn,
    slow: SmaColumn,
}

impl SmaCross {
    pub fn new(fast: usize, slow: usize, fraction: f64, short: bool) -> Result<Self, StrategyError> {
        let name = if short { "sma_cross" } else { "sma_cross_long" };
        if fast >= slow {
            return Err(StrategyError::FastNotShorter { strategy: name.to_string(), fast, slow });
        }
        Ok(SmaCross { name, fast: Sma::new(fast)?, slow: Sma::new(slow)?, fraction, short, state: 0, waiting: false, columns: None })
    }

    /// `true`: wait for the first cross before entering (`entry=cross`).
    pub fn entry(mut self, on_cross: bool) -> Self {
        self.waiting = on_cross;
        self
    }

    /// Reads SMA(fast) and SMA(slow) from `fast` and `slow` (the batch SMA of the closes
    /// of exactly the bars this run will see, at this strategy's periods) instead of
    /// updating its own. The caller guarantees the match; a bar past a column's end
    /// holds (a shorter column is a caller's bug, not a signal).
    pub fn with_columns(mut self, fast: SmaColumn, slow: SmaColumn) -> Self {
        self.columns = Some(SmaColumns { fast, slow });
        self
    }

    /// The two averages at the bar just closed.
    #[inline]
    fn averages(&mut self, ctx: &BarContext) -> (Option<f64>, Option<f64>) {
        match &self.columns {
            Some(c) => {
                let i = ctx.index();
                (c.fast.get(i), c.slow.get(i))
            }
            None => {
                let close = ctx.bar().close;
                (self.fast.update(close), self.slow.update(close))
            }
        }
    }

    fn target(&self) -> f64 {
        match (self.state, self.short) {
            (1, _) => self.fraction,
            (_, true) => -self.fraction,
            (_, false) => 0.0,
        }
    }
}

impl Strategy for SmaCross {
    fn name(&self) -> &str {
        self.name
    }

    #[inline]
    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        let (Some(fast), Some(slow)) = self.averages(ctx) else { return Signal::Hold };
        let state = if fast > slow {
            1
        } else if fast < slow {
            -1
        } else {
            self.state
        };
        if state == 0 {
            return Signal::Hold;
        }
        if self.waiting {
            let first = self.state == 0;
            if first || state == self.state {
                self.state = state;
                return Signal::Hold;
            }
            self.waiting = false;
        }
        self.state = state;
        Signal::Target(self.target())
    }
}
