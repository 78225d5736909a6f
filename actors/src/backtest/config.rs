//! [`BacktestConfig`]: money, costs, limits and the seed of one run, and the execution
//! core's settings derived from it.

use super::metrics::Calendar;
use super::risk_sizing::{RiskSizing, SizingError};
use crate::execution::fill::{FillModel, Slippage};
use crate::execution::instrument::Instruments;
use crate::execution::ExecutionConfig;
use crate::risk::bounds::RISK_FREE_RATE_DEFAULT;
use crate::risk::pretrade::Limits;
use serde::Serialize;
use tradpal_messages::Fixed;

/// Largest starting cash accepted (keeps every product of money far from overflow).
pub const STARTING_CASH_MAX: i64 = 1_000_000_000_000;
/// Largest fixed slippage accepted, in basis points: 10%, the cap the volatility model
/// has (`fill::SLIPPAGE_FRACTION_MAX`).
pub const SLIPPAGE_BPS_MAX: u32 = 1_000;

/// The position-size limit a backtest runs under unless told otherwise: a whole
/// equity's worth. The service's default (`MAX_POSITION_SIZE` = 0.05) would resize every
/// order of a strategy that targets 100%; a backtest measures the strategy as written,
/// so it only keeps the risk check from allowing leverage nobody asked for. Raise it
/// (e.g. 2.0) for leveraged targets.
pub const BACKTEST_MAX_POSITION_SIZE: f64 = 1.0;

/// One backtest's settings. [`Default`]: 10,000 USDT, Binance's 0.1% fee both ways,
/// 1 bp slippage, 100% of a bar's volume available, no drawdown halt, seed 0.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestConfig {
    pub starting_cash: Fixed,
    /// Fees, slippage and participation: the paper exchange's own model.
    #[serde(skip)]
    pub fill: FillModel,
    /// The pre-trade risk limits every order passes (see [`BACKTEST_MAX_POSITION_SIZE`];
    /// `max_drawdown` is off by default: a halted backtest measures the halt).
    pub limits: Limits,
    /// Tick, lot and minimums per symbol (Binance's `*/USDT` table by default).
    #[serde(skip)]
    pub instruments: Instruments,
    /// Round target quantities down to whole units of the base asset (as for shares).
    pub whole_units: bool,
    /// A fixed size in units of the base asset: a full target (fraction 1) is this many
    /// units, whatever the equity (`None`: the target's fraction of equity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Fixed>,
    /// Seeds the id generator: order ids, hence the event stream, depend on it.
    pub seed: u64,
    /// Annual risk-free rate for Sharpe, Sortino and alpha.
    pub risk_free_rate: f64,
    /// Bars per year for Sharpe, Sortino and volatility: observed (default) or declared.
    pub calendar: Calendar,
    /// Keep every event in the result (tests, audits); the hash is always computed.
    pub keep_events: bool,
    /// Keep every finished order in the execution core (its idempotency memory and
    /// order listing). Off by default: the core keeps no finished order
    /// (`ExecutionConfig::finished_orders_kept` 0; the history is in the event stream),
    /// which keeps its maps as small as the working orders on long runs. The events, and
    /// so the hash and every number, are the same either way (tested).
    pub keep_orders: bool,
    /// How a target is sized: `None`, the strategy's fraction of equity (`sizing.rs`);
    /// a method of the risk core (`risk_sizing.rs`): the signal's sign, the risk core's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sizing: Option<RiskSizing>,
    /// A long run hashes its events and folds its trades on helper threads (`events.rs`,
    /// `ledger_worker.rs`) while its own thread runs the bars. Off where runs already
    /// fill the cores side by side (an optimisation's points): there a helper only
    /// competes with the next run. The results are the same either way (tested).
    #[serde(skip)]
    pub helper_threads: bool,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        BacktestConfig {
            starting_cash: Fixed::from_int(10_000),
            fill: FillModel { participation: 1.0, ..FillModel::default() },
            limits: Limits {
                max_position_size: BACKTEST_MAX_POSITION_SIZE,
                max_drawdown: None,
                max_daily_loss: None,
                max_open_positions: None,
            },
            instruments: Instruments::binance_usdt(),
            whole_units: false,
            quantity: None,
            seed: 0,
            risk_free_rate: RISK_FREE_RATE_DEFAULT,
            calendar: Calendar::Observed,
            keep_events: false,
            keep_orders: false,
            sizing: None,
            helper_threads: true,
        }
    }
}

/// Symbols quoted in different currencies asked to share one account (the currencies,
/// joined by " and ").
/// Why a [`BacktestConfig`] cannot run ([`BacktestConfig::validate`]); each text starts
/// with the field it names (callers map it to their own field names by that).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("starting_cash must be in (0, {STARTING_CASH_MAX}], got {0}")]
    StartingCash(Fixed),
    #[error("commission must be in [0, 1), got taker {taker} maker {maker}")]
    Commission { taker: Fixed, maker: Fixed },
    #[error("participation must be in (0, 1] or none, got {0}")]
    Participation(f64),
    #[error("quantity must be > 0 units, got {0}")]
    Quantity(Fixed),
    #[error("quantity: give a fixed quantity or a sizing method, not both")]
    QuantityAndSizing,
    #[error("slippage must be at most {SLIPPAGE_BPS_MAX} bps (10%), got {0}")]
    Slippage(u32),
    #[error("volatility slippage k must be finite and >= 0, got {0}")]
    VolatilityK(f64),
    #[error("{0}")]
    Sizing(SizingError),
    #[error("risk_free_rate must be a finite number > -1, got {0}")]
    RiskFreeRate(f64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the symbols are quoted in {0}: one account holds one currency; run them apart")]
pub struct MixedQuotes(pub String);

impl BacktestConfig {
    /// Sets both fee rates (taker and maker) to `rate` (0.001 = 0.1%).
    pub fn with_commission(mut self, rate: Fixed) -> Self {
        self.fill.taker_fee = rate;
        self.fill.maker_fee = rate;
        self
    }

    pub fn with_slippage_bps(mut self, bps: u32) -> Self {
        self.fill.slippage = Slippage::FixedBps(bps);
        self
    }

    /// Checks the values the engine relies on; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.starting_cash.is_positive() || self.starting_cash > Fixed::from_int(STARTING_CASH_MAX) {
            return Err(ConfigError::StartingCash(self.starting_cash));
        }
        let rate_ok = |r: Fixed| !r.is_negative() && r < Fixed::ONE;
        if !rate_ok(self.fill.taker_fee) || !rate_ok(self.fill.maker_fee) {
            return Err(ConfigError::Commission { taker: self.fill.taker_fee, maker: self.fill.maker_fee });
        }
        let p = self.fill.participation;
        if !(p > 0.0 && p <= 1.0 || p == f64::INFINITY) {
            return Err(ConfigError::Participation(p));
        }
        if let Some(q) = self.quantity {
            if !q.is_positive() {
                return Err(ConfigError::Quantity(q));
            }
            if self.sizing.is_some() {
                return Err(ConfigError::QuantityAndSizing);
            }
        }
        match self.fill.slippage {
            Slippage::FixedBps(bps) if bps > SLIPPAGE_BPS_MAX => return Err(ConfigError::Slippage(bps)),
            Slippage::VolatilityScaled { k } if !(k.is_finite() && k >= 0.0) => return Err(ConfigError::VolatilityK(k)),
            _ => {}
        }
        if let Some(sizing) = &self.sizing {
            sizing.validate(self.limits.max_position_size).map_err(ConfigError::Sizing)?;
        }
        if !(self.risk_free_rate.is_finite() && self.risk_free_rate > -1.0) {
            return Err(ConfigError::RiskFreeRate(self.risk_free_rate));
        }
        Ok(())
    }

    /// This config for an account trading `symbols`: a backtest account holds the
    /// currency its symbols are quoted in, so `GOOG/USD` runs in USD on the generic rule
    /// (whatever can be imported can be backtested). Symbols quoted in different
    /// currencies cannot share one account: refused, naming them.
    pub fn for_symbols(&self, symbols: &[&str]) -> Result<BacktestConfig, MixedQuotes> {
        let quotes: std::collections::BTreeSet<&str> = symbols.iter().filter_map(|s| s.split_once('/').map(|(_, q)| q)).collect();
        match quotes.iter().next() {
            Some(q) if quotes.len() == 1 && *q != self.instruments.quote() => {
                Ok(BacktestConfig { instruments: Instruments::generic(q), ..self.clone() })
            }
            _ if quotes.len() > 1 => Err(MixedQuotes(quotes.iter().copied().collect::<Vec<_>>().join(" and "))),
            _ => Ok(self.clone()),
        }
    }

    /// The execution core's settings for this run.
    pub fn execution_config(&self) -> ExecutionConfig {
        ExecutionConfig {
            instruments: self.instruments.clone(),
            fill: self.fill.clone(),
            starting_cash: self.starting_cash,
            limits: self.limits.clone(),
            live_venue: None,
            finished_orders_kept: if self.keep_orders { usize::MAX } else { 0 },
            ..ExecutionConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_holds_its_symbols_quote_currency() {
        let c = BacktestConfig::default();
        assert_eq!(c.for_symbols(&["BTC/USDT"]).unwrap().instruments.quote(), "USDT");
        assert_eq!(c.for_symbols(&["GOOG/USD"]).unwrap().instruments.quote(), "USD");
        assert_eq!(c.for_symbols(&["ETH/BTC", "LTC/BTC"]).unwrap().instruments.quote(), "BTC");
        let e = c.for_symbols(&["GOOG/USD", "BTC/USDT"]).unwrap_err().to_string();
        assert!(e.contains("USD and USDT") && e.contains("one account holds one currency"), "{e}");
    }
}
