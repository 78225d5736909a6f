//! The strategy runtime: one registry of strategy names and parameters, and one path
//! from a complete bar to a target position, used by the backtest engine and by live
//! sessions alike (`backtest/account.rs` calls it for both).
//!
//! A [`Strategy`] sees a [`BarContext`] at a bar's close: the bars up to and including
//! that bar (never a later one: the slice ends there, so peeking is impossible by
//! construction), the current position and equity. It answers a [`Signal`]: keep what is
//! there ([`Signal::Hold`]) or a target position as a signed fraction of equity
//! ([`Signal::Target`]: `1.0` all in long, `-0.5` half the equity short, `0.0` flat).
//! [`StrategyRuntime::decide`] checks the target (finite, at most [`FRACTION_MAX`]) and
//! passes it on only when it differs from the previous one; the account turns it into a
//! market order stamped at the bar's close, so it fills at the next bar's open: decided
//! on a close, acted on at the next open.
//!
//! Built-in strategies (parameters, defaults and rules on each type; `fraction` is the
//! size of the target, in (0, [`FRACTION_MAX`]], default 1):
//!
//! | name | parameters | position |
//! |---|---|---|
//! | `sma_cross` | `fast` 10, `slow` 20, `fraction` | always in: long when SMA(fast) > SMA(slow), short when below |
//! | `sma_cross_long` | `fast` 10, `slow` 20, `fraction` | long when SMA(fast) > SMA(slow), else flat |
//! | `buy_and_hold` | `fraction` | long from the first bar on |
//! | `rsi_reversion` | `period` 14, `lower` 30, `upper` 70, `fraction` | long below `lower`, flat above `upper` |
//! | `bollinger_breakout` | `period` 20, `k` 2, `fraction` | long above the upper band, flat below the middle |
//!
//! | `ai_ensemble` | `threshold` 0.1, `long_only` 0, `fraction` | the ML / RL / regime ensemble (`ai_ensemble.rs`): long above `threshold`, short (flat with `long_only`) below `-threshold` |
//!
//! `ai_ensemble` needs its models: [`StrategySpec::ai`] carries them, resolved by the
//! service when the run starts; [`build`] refuses a spec without them.
//!
//! Indicators are the incremental ones of `market_data::indicators` (one implementation
//! for live, batch and backtest), fed one close per call: the engine calls `on_bar`
//! exactly once per bar, in order.
//!
//! # Layout
//!
//! - `mod.rs`: [`Strategy`], [`BarContext`], [`Signal`], [`StrategySpec`] and [`build`].
//! - `params.rs`: the registry ([`STRATEGIES`], [`NOT_BUILT`], [`strategy_list`]) and
//!   parameter checking ([`StrategyError`]).
//! - `runtime.rs`: [`StrategyRuntime`]: bar in, checked target out, once per change.
//! - `sma_cross.rs`: `sma_cross` and `sma_cross_long`.
//! - `shared.rs`: [`SharedColumns`] and [`build_shared`]: SMA columns computed once for
//!   the many runs of a grid over one series.
//! - `ai_ensemble.rs`: `ai_ensemble` and its resolved models ([`AiModels`]).
//! - `simple.rs`: `buy_and_hold`, `rsi_reversion`, `bollinger_breakout`.
//! - `tests.rs` (tests only): the factory's refusals and each built-in's rules.

mod ai_ensemble;
mod params;
mod runtime;
mod shared;
mod simple;
mod sma_cross;

pub use ai_ensemble::{AiEnsemble, AiModels, MlScorer};
pub use params::{
    de_params, not_built, param_value, param_word, ser_params, strategy_list, StrategyError, StrategyInfo, FRACTION_MAX, NOT_BUILT,
    PARAM_WORDS, STRATEGIES,
};
pub use runtime::{BadSignal, StrategyRuntime};
pub use shared::{build_shared, SharedColumns};
pub use simple::{BollingerBreakout, BuyAndHold, RsiReversion};
pub use sma_cross::{SmaColumn, SmaCross};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tradpal_messages::{Candle, Fixed, Timeframe};

/// What a strategy wants after a bar's close.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// Keep the position (and any order still working) as it is.
    Hold,
    /// Hold this signed fraction of equity: `1.0` long, `-1.0` short, `0.0` flat. The
    /// engine acts only when the target changes (it does not rebalance as prices drift).
    Target(f64),
}

/// What a strategy may see at a bar's close: the bars so far, the account.
#[derive(Debug, Clone, Copy)]
pub struct BarContext<'a> {
    bars: &'a [Candle],
    /// Index in the run of `bars[0]` (0 in a backtest; a live session keeps a window).
    offset: usize,
    timeframe: Timeframe,
    /// Exact money, converted to f64 only when asked (most strategies never ask).
    position: Fixed,
    equity: Fixed,
    cash: Fixed,
}

impl<'a> BarContext<'a> {
    /// `bars` ends with the bar just closed; `None` when it is empty.
    pub fn new(bars: &'a [Candle], timeframe: Timeframe, position: Fixed, equity: Fixed, cash: Fixed) -> Option<Self> {
        (!bars.is_empty()).then_some(BarContext { bars, offset: 0, timeframe, position, equity, cash })
    }

    /// The engine's context at `bars[index]`: the slice is cut there, so nothing later
    /// is reachable. `index < bars.len()` (the engine's loop index).
    #[cfg(test)]
    pub(crate) fn at(bars: &'a [Candle], index: usize, timeframe: Timeframe, position: Fixed, equity: Fixed, cash: Fixed) -> Self {
        BarContext { bars: &bars[..=index], offset: 0, timeframe, position, equity, cash }
    }

    /// The context at bar `index` of a run of which `window` holds the latest bars, the
    /// current one last; `None` when the window is empty or longer than `index + 1`.
    pub fn windowed(window: &'a [Candle], index: usize, timeframe: Timeframe, position: Fixed, equity: Fixed, cash: Fixed) -> Option<Self> {
        let offset = (index + 1).checked_sub(window.len())?;
        (!window.is_empty()).then_some(BarContext { bars: window, offset, timeframe, position, equity, cash })
    }

    /// The bars up to and including the current one, oldest first; nothing later. A
    /// backtest passes every bar of the run; a live session its latest
    /// `session::runner::HISTORY_BARS_MAX`.
    #[inline]
    pub fn bars(&self) -> &'a [Candle] {
        self.bars
    }

    /// The bar that just closed.
    #[inline]
    pub fn bar(&self) -> &'a Candle {
        &self.bars[self.bars.len() - 1]
    }

    /// Index of the current bar in the run (0 for the first).
    #[inline]
    pub fn index(&self) -> usize {
        self.offset + self.bars.len() - 1
    }

    pub fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// Signed position in units of the base asset, after this bar's fills.
    pub fn position(&self) -> f64 {
        self.position.to_f64()
    }

    /// Equity (cash plus the position at this bar's close), in quote currency.
    pub fn equity(&self) -> f64 {
        self.equity.to_f64()
    }

    /// Cash, in quote currency (negative when a long is bought with more than the cash).
    pub fn cash(&self) -> f64 {
        self.cash.to_f64()
    }
}

/// A trading strategy, called once per bar in time order. `Send`: a live session's
/// strategy lives in an actor.
pub trait Strategy: Send {
    /// The name it was built under (recorded as each trade's `source`).
    fn name(&self) -> &str;
    /// Decides on the bar that just closed (see [`BarContext`]).
    fn on_bar(&mut self, ctx: &BarContext) -> Signal;
    /// Why the last [`Strategy::on_bar`] decided what it did, for strategies that can say
    /// (the AI ensemble: each part's score, weight and model); the account journals it
    /// as an `AiDecision` before the order a changed target causes.
    fn explain(&self) -> Option<crate::ensemble::core::Decision> {
        None
    }
}

/// A strategy by name with its parameters (missing ones take their defaults).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySpec {
    pub name: String,
    #[serde(default, deserialize_with = "params::de_params")]
    pub params: BTreeMap<String, f64>,
    /// `ai_ensemble`'s resolved models (never serialized: the pins are journaled).
    #[serde(skip)]
    pub ai: Option<AiModels>,
}

impl StrategySpec {
    pub fn new(name: &str) -> Self {
        StrategySpec { name: name.to_string(), params: BTreeMap::new(), ai: None }
    }

    /// Adds a parameter (builder style).
    pub fn with(mut self, param: &str, value: f64) -> Self {
        self.params.insert(param.to_string(), value);
        self
    }

    /// Parses `name=value` (as the CLI's `--param` takes it); a value is a number or
    /// one of the parameter's words (`entry=cross`, see [`params::PARAM_WORDS`]).
    pub fn parse_param(text: &str) -> Result<(String, f64), StrategyError> {
        let bad = || StrategyError::ParamSyntax(text.to_string());
        let (k, v) = text.split_once('=').ok_or_else(bad)?;
        let k = k.trim();
        if k.is_empty() {
            return Err(bad());
        }
        Ok((k.to_string(), params::param_value(k, v)?))
    }

    /// `name(k=v, ...)` with every parameter, defaults included.
    pub fn describe(&self) -> String {
        let info = STRATEGIES.iter().find(|s| s.name == self.name);
        let params: Vec<String> = match info {
            Some(i) => i
                .params
                .iter()
                .map(|(p, d, _)| {
                    let v = self.params.get(*p).copied().unwrap_or(*d);
                    match params::param_word(p, v) {
                        Some(word) => format!("{p}={word}"),
                        None => format!("{p}={v}"),
                    }
                })
                .collect(),
            None => self.params.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        };
        format!("{}({})", self.name, params.join(", "))
    }
}

/// Checks a spec's name and parameters as [`build`] would, without building it:
/// `ai_ensemble`'s parameters can be checked before its models are resolved.
pub fn check(spec: &StrategySpec) -> Result<(), StrategyError> {
    if spec.name == "ai_ensemble" && spec.ai.is_none() {
        let p = params::Params::check(spec)?;
        p.threshold()?;
        p.flag("long_only")?;
        p.fraction()?;
        return Ok(());
    }
    build(spec).map(|_| ())
}

/// Builds a strategy from its spec; unknown names and parameters, and values out of
/// range, are refused with the rule named.
pub fn build(spec: &StrategySpec) -> Result<Box<dyn Strategy>, StrategyError> {
    let p = params::Params::check(spec)?;
    Ok(match spec.name.as_str() {
        "sma_cross" => Box::new(SmaCross::new(p.period("fast")?, p.period("slow")?, p.fraction()?, true)?.entry(p.entry_on_cross()?)),
        "sma_cross_long" => Box::new(SmaCross::new(p.period("fast")?, p.period("slow")?, p.fraction()?, false)?.entry(p.entry_on_cross()?)),
        "buy_and_hold" => Box::new(BuyAndHold::new(p.fraction()?)),
        "rsi_reversion" => Box::new(RsiReversion::new(p.period("period")?, p.get("lower"), p.get("upper"), p.fraction()?)?),
        "bollinger_breakout" => Box::new(BollingerBreakout::new(p.period("period")?, p.get("k"), p.fraction()?)?),
        "ai_ensemble" => {
            let (threshold, long_only, fraction) = (p.threshold()?, p.flag("long_only")?, p.fraction()?);
            let models = spec.ai.clone().ok_or(StrategyError::ModelsNotResolved)?;
            Box::new(
                AiEnsemble::new(models, threshold, fraction, long_only)
                    .map_err(|e| StrategyError::Ai { strategy: spec.name.clone(), why: e.to_string() })?,
            )
        }
        other => return Err(StrategyError::unknown(other)),
    })
}

#[cfg(test)]
mod tests;
