//! The single-indicator strategies: `buy_and_hold`, `rsi_reversion`,
//! `bollinger_breakout`. All decide on a bar's close; the engine acts at the next open.

use super::params::StrategyError;
use super::{BarContext, Signal, Strategy};
use crate::market_data::indicators::{Bollinger, Indicator, Rsi};

/// `buy_and_hold`: `Target(fraction)` on every bar, so it buys after the first close
/// (at the second bar's open) and never sells.
#[derive(Debug, Clone)]
pub struct BuyAndHold {
    fraction: f64,
}

impl BuyAndHold {
    pub fn new(fraction: f64) -> Self {
        BuyAndHold { fraction }
    }
}

impl Strategy for BuyAndHold {
    fn name(&self) -> &str {
        "buy_and_hold"
    }

    fn on_bar(&mut self, _ctx: &BarContext) -> Signal {
        Signal::Target(self.fraction)
    }
}

/// `rsi_reversion`: Wilder's RSI(`period`) of the closes; below `lower` (oversold) the
/// target is long `fraction`, above `upper` (overbought) flat, in between unchanged
/// ([`Signal::Hold`]). Long or flat, never short. `0 <= lower < upper <= 100`.
#[derive(Debug, Clone)]
pub struct RsiReversion {
    rsi: Rsi,
    lower: f64,
    upper: f64,
    fraction: f64,
}

impl RsiReversion {
    pub fn new(period: usize, lower: f64, upper: f64, fraction: f64) -> Result<Self, StrategyError> {
        let bad = |param, value, rule: &str| StrategyError::BadParam { strategy: "rsi_reversion".into(), param, value, rule: rule.into() };
        if !(0.0..100.0).contains(&lower) {
            return Err(bad("lower", lower, "must be in [0, 100) and below upper"));
        }
        if !(upper > lower && upper <= 100.0) {
            return Err(bad("upper", upper, &format!("must be in ({lower}, 100] (above lower)")));
        }
        Ok(RsiReversion { rsi: Rsi::new(period)?, lower, upper, fraction })
    }
}

impl Strategy for RsiReversion {
    fn name(&self) -> &str {
        "rsi_reversion"
    }

    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        match self.rsi.update(ctx.bar().close) {
            Some(r) if r < self.lower => Signal::Target(self.fraction),
            Some(r) if r > self.upper => Signal::Target(0.0),
            _ => Signal::Hold,
        }
    }
}

/// `bollinger_breakout`: Bollinger Bands(`period`, `k`) of the closes; a close above the
/// upper band goes long `fraction`, a close below the middle band (the SMA) goes flat,
/// otherwise unchanged. Long or flat. `k` finite and >= 0.
#[derive(Debug, Clone)]
pub struct BollingerBreakout {
    bands: Bollinger,
    fraction: f64,
}

impl BollingerBreakout {
    pub fn new(period: usize, k: f64, fraction: f64) -> Result<Self, StrategyError> {
        Ok(BollingerBreakout { bands: Bollinger::new(period, k)?, fraction })
    }
}

impl Strategy for BollingerBreakout {
    fn name(&self) -> &str {
        "bollinger_breakout"
    }

    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        let close = ctx.bar().close;
        match self.bands.update(close) {
            Some(b) if close > b.upper => Signal::Target(self.fraction),
            Some(b) if close < b.middle => Signal::Target(0.0),
            _ => Signal::Hold,
        }
    }
}
