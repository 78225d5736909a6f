//! The environment: the backtest's own [`Account`] (execution core, fees, slippage,
//! pre-trade risk check), one step per bar, never a second simulator.
//!
//! A step at bar `t` (decided at its close): the action's target fraction of equity is
//! sized at the close by `sizing::target_units`, the market order reaching it is sent
//! through `Account::order_to` stamped at the close, then bar `t + 1` is played
//! (`Account::play`: the order fills at its open with slippage and fees) and equity is
//! marked at its close. The reward ([`super::reward`]) comes from that equity.

use super::obs::{Features, OBS_DIM};
use super::reward::{Reward, RewardKind};
use super::RlError;
use crate::backtest::account::Account;
use crate::backtest::config::BacktestConfig;
use crate::backtest::error::BacktestError;
use crate::backtest::sizing::target_units;
use crate::execution::ExecutionCore;
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, Fixed, Rounding, Timeframe, Timestamp};

/// Most size levels per side.
pub const SIZE_LEVELS_MAX: usize = 4;

/// The discrete actions: short at each level (largest first), flat, long at each level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actions {
    /// Fractions of equity in (0, 1], ascending; `[1.0]` is short / flat / long.
    pub levels: Vec<f64>,
}

impl Default for Actions {
    fn default() -> Self {
        Actions { levels: vec![1.0] }
    }
}

impl Actions {
    pub fn check(&self) -> Result<(), RlError> {
        let ok = !self.levels.is_empty()
            && self.levels.len() <= SIZE_LEVELS_MAX
            && self.levels.iter().all(|l| *l > 0.0 && *l <= 1.0)
            && self.levels.windows(2).all(|w| w[0] < w[1]);
        if ok {
            Ok(())
        } else {
            Err(RlError::invalid("size_levels", format!("1..={SIZE_LEVELS_MAX} ascending fractions in (0, 1], got {:?}", self.levels)))
        }
    }

    pub fn count(&self) -> usize {
        2 * self.levels.len() + 1
    }

    /// Action `a`'s signed target fraction of equity.
    pub fn fraction(&self, a: usize) -> f64 {
        let l = self.levels.len();
        match a.cmp(&l) {
            std::cmp::Ordering::Less => -self.levels[l - 1 - a],
            std::cmp::Ordering::Equal => 0.0,
            std::cmp::Ordering::Greater => self.levels[(a - l - 1).min(l - 1)],
        }
    }

    /// 0 short, 1 flat, 2 long.
    pub fn direction(&self, a: usize) -> usize {
        let l = self.levels.len();
        (a.cmp(&l) as i8 + 1) as usize
    }

    pub fn flat(&self) -> usize {
        self.levels.len()
    }
}

/// Costs and reward of an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvParams {
    /// Fee rate each way (0.001 = 0.1%).
    pub commission: f64,
    pub slippage_bps: u32,
    pub reward: RewardKind,
    pub actions: Actions,
}

impl Default for EnvParams {
    fn default() -> Self {
        EnvParams { commission: 0.001, slippage_bps: 1, reward: RewardKind::Pnl, actions: Actions::default() }
    }
}

impl EnvParams {
    /// The backtest config these costs make (validated: the message names the field).
    pub fn config(&self) -> Result<BacktestConfig, RlError> {
        let fee =
            Fixed::from_f64_rounded(self.commission, Rounding::Nearest).map_err(|e| RlError::invalid("commission", format!("{e}")))?;
        let config = BacktestConfig::default().with_commission(fee).with_slippage_bps(self.slippage_bps);
        config.validate().map_err(|why| {
            let why = why.to_string();
            let field = if why.starts_with("slippage") { "slippage_bps" } else { "commission" };
            RlError::invalid(field, why)
        })?;
        self.actions.check()?;
        Ok(config)
    }
}

/// What one step returns.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub reward: f32,
    /// Equity at the close of the new bar.
    pub equity: f64,
    pub done: bool,
}

/// One episode over `bars[start..end]` of one symbol.
pub struct Env<'a> {
    bars: &'a [Candle],
    features: &'a Features,
    params: &'a EnvParams,
    config: BacktestConfig,
    symbol: String,
    timeframe: Timeframe,
    account: Option<Account>,
    t: usize,
    end: usize,
    reward: Reward,
    equity: f64,
    entry_equity: f64,
    fraction: f64,
}

impl<'a> Env<'a> {
    pub fn new(
        bars: &'a [Candle],
        features: &'a Features,
        params: &'a EnvParams,
        symbol: &str,
        timeframe: Timeframe,
    ) -> Result<Self, RlError> {
        let config = params.config()?;
        Ok(Env {
            bars,
            features,
            params,
            config,
            symbol: symbol.to_string(),
            timeframe,
            account: None,
            t: 0,
            end: 0,
            reward: Reward::new(params.reward, 1.0),
            equity: 0.0,
            entry_equity: 0.0,
            fraction: 0.0,
        })
    }

    /// Starts an episode: a fresh account funded at `bars[start]`'s open, that bar played.
    pub fn reset(&mut self, start: usize, end: usize) -> Result<(), RlError> {
        let end = end.min(self.bars.len());
        if start + 2 > end {
            return Err(RlError::TooFewBars { need: 2, name: "episode bars", got: end.saturating_sub(start) });
        }
        let mut account = Account::open(&self.config, &[&self.symbol], self.timeframe, "rl", self.bars[start].open_time)?;
        account.retarget_reason = "rl: the action changed";
        account.play(0, &self.bars[start], start, start as u64)?;
        let equity = account.mark_equity(self.close_time(start), start)?.to_f64();
        self.account = Some(account);
        (self.t, self.end, self.equity, self.entry_equity, self.fraction) = (start, end, equity, equity, 0.0);
        self.reward = Reward::new(self.params.reward, equity);
        Ok(())
    }

    fn close_time(&self, t: usize) -> Timestamp {
        Timestamp(self.bars[t].open_time.0.saturating_add(self.timeframe.nanos()))
    }

    /// The bar the next action is decided on.
    pub fn bar(&self) -> usize {
        self.t
    }

    pub fn equity(&self) -> f64 {
        self.equity
    }

    /// The observation at the current bar's close.
    pub fn observe(&self, out: &mut [f32; OBS_DIM]) {
        let unreal = if self.fraction != 0.0 { (self.equity / self.entry_equity - 1.0) * 100.0 } else { 0.0 };
        self.features.observe(self.t, self.fraction as f32, unreal as f32, out);
    }

    /// Acts on the current bar's close and plays the next bar.
    pub fn step(&mut self, action: usize) -> Result<Step, RlError> {
        let (t, close_time) = (self.t, self.close_time(self.t));
        let fraction = self.params.actions.fraction(action);
        let Some(account) = self.account.as_mut() else { return Err(RlError::invalid("env", "step before reset")) };
        if fraction != self.fraction {
            let equity = account.core.portfolio().equity();
            let price = ExecutionCore::close_of(&self.bars[t]).unwrap_or(Fixed::ZERO);
            let inst = &account.legs[0].inst;
            let target = target_units(fraction, equity, price, inst, false);
            account.cancel_working(0, close_time, t, account.retarget_reason)?;
            account.order_to(0, target, price, close_time, t)?;
            self.fraction = fraction;
            self.entry_equity = self.equity;
        }
        let next = t + 1;
        let next_close = Timestamp(self.bars[next].open_time.0.saturating_add(self.timeframe.nanos()));
        account.play(0, &self.bars[next], next, next as u64)?;
        let (equity, bust) = match account.mark_equity(next_close, next) {
            Ok(e) => (e.to_f64(), false),
            Err(BacktestError::Bust { equity, .. }) => (equity.max(0.0), true),
            Err(e) => return Err(e.into()),
        };
        let reward = self.reward.step(self.equity, equity);
        self.equity = equity;
        self.t = next;
        Ok(Step { reward, equity, done: bust || next + 1 >= self.end })
    }
}

/// Bars of `bars[start..end]` played with a fixed action sequence from `policy`, returning
/// the equity curve (one point per bar from `start`) and the number of action changes.
pub fn rollout(
    env: &mut Env,
    start: usize,
    end: usize,
    policy: &mut dyn FnMut(&[f32; OBS_DIM], usize) -> usize,
) -> Result<(Vec<f64>, usize), RlError> {
    env.reset(start, end)?;
    let mut curve = vec![env.equity()];
    let (mut obs, mut last, mut changes) = ([0.0; OBS_DIM], env.params.actions.flat(), 0);
    loop {
        env.observe(&mut obs);
        let a = policy(&obs, env.bar());
        if a != last {
            changes += 1;
            last = a;
        }
        let s = env.step(a)?;
        curve.push(s.equity);
        if s.done {
            return Ok((curve, changes));
        }
    }
}
