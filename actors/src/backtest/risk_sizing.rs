//! Risk-based sizing: the size of a target delegated to the risk core's pure sizing
//! functions (`risk/sizing.rs`, the same code behind `POST /api/risk/calculate-position-size`)
//! instead of the strategy's fraction of equity.
//!
//! Under [`RiskSizing`] the strategy's signal gives only the direction: the sign of its
//! target (long, short) or flat (`0`); its `fraction` is ignored. At the decision bar's
//! close the engine asks the risk core, with
//!
//! - `portfolio_value` = the symbol's sleeve of equity (equity / number of symbols, see
//!   `engine.rs`), marked at that close;
//! - `current_price` = that close;
//! - `max_position_size` = the run's position limit (`limits.max_position_size`);
//! - for `volatility_target`: `close_prices` = the last `lookback_bars + 1` closes up to
//!   and including the decision bar (fewer at the start, at least 3), `periods_per_year`
//!   from the timeframe (365-day calendar, as the metrics annualise);
//!
//! and takes its **capped** quantity (the figure execution must use, see the risk module):
//!
//! - `fixed_fractional`: `units = sleeve * risk_per_trade / (close * stop_loss)`;
//! - `kelly`: `units = kelly_fraction * (p - (1 - p) / b) * sleeve / stop_loss / close`
//!   (`stop_loss` 1 when absent);
//! - `volatility_target`: `units = sleeve * target_volatility / realised_volatility / close`,
//!   `realised = sample_std(ln returns) * sqrt(periods_per_year)`;
//!
//! each capped at `max_position_size * sleeve / close`, then rounded toward zero onto the
//! lot (and whole units when asked), with the signal's sign. Only bars up to the decision
//! bar are read, so no look-ahead. When the risk core cannot size (e.g. closes that never
//! moved: zero volatility) the order is skipped and counted in `orders_skipped`.

use crate::execution::instrument::Instrument;
use crate::risk::sizing::{calculate_position_size, FixedFractional, Kelly, PositionSizeRequest, SizingMethod, VolatilityTarget};
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, Fixed, Rounding};

/// A sizing method's parameters refused before a run; the text names the field
/// (`BacktestConfig::validate` passes it on).
#[derive(Debug, thiserror::Error)]
pub enum SizingError {
    #[error("sizing: lookback_bars must be in 2..={VOLATILITY_LOOKBACK_BARS_MAX} (VOLATILITY_LOOKBACK_BARS_MAX), got {0}")]
    LookbackBars(usize),
    /// The risk core's own check on made-up prices.
    #[error("sizing: {0}")]
    Risk(crate::risk::RiskError),
}

/// Longest volatility lookback, in bars (bounds the closes copied per decision).
pub const VOLATILITY_LOOKBACK_BARS_MAX: usize = 10_000;

/// The risk core's single-asset methods, with the inputs a backtest fixes per run.
/// JSON: `{"method": "fixed_fractional", "risk_per_trade": 0.01, "stop_loss": 0.02}`,
/// `{"method": "kelly", "win_probability": 0.55, "win_loss_ratio": 1.2}`,
/// `{"method": "volatility_target", "target_volatility": 0.2, "lookback_bars": 30}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum RiskSizing {
    FixedFractional(FixedFractional),
    Kelly(Kelly),
    VolatilityTarget(VolatilityLookback),
}

/// Volatility targeting over the last `lookback_bars` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolatilityLookback {
    /// Target annual volatility of the position, as a fraction of the sleeve.
    pub target_volatility: f64,
    /// Returns the realised volatility is measured over, 2..=[`VOLATILITY_LOOKBACK_BARS_MAX`].
    pub lookback_bars: usize,
}

impl RiskSizing {
    /// The risk core's request at a decision bar (`closes` ends with that bar's close).
    pub fn request(&self, sleeve: f64, price: f64, closes: &[f64], periods_per_year: f64, max_position_size: f64) -> PositionSizeRequest {
        let method = match self {
            RiskSizing::FixedFractional(m) => SizingMethod::FixedFractional(m.clone()),
            RiskSizing::Kelly(m) => SizingMethod::Kelly(m.clone()),
            RiskSizing::VolatilityTarget(v) => {
                let from = closes.len().saturating_sub(v.lookback_bars + 1);
                SizingMethod::VolatilityTarget(VolatilityTarget {
                    target_volatility: v.target_volatility,
                    close_prices: closes[from..].to_vec(),
                    periods_per_year,
                })
            }
        };
        PositionSizeRequest { portfolio_value: sleeve, current_price: Some(price), max_position_size: Some(max_position_size), method }
    }

    /// Checks the method's parameters once, before a run (the risk core's own checks on
    /// made-up prices; the message names the field).
    pub fn validate(&self, max_position_size: f64) -> Result<(), SizingError> {
        if let RiskSizing::VolatilityTarget(v) = self {
            if !(2..=VOLATILITY_LOOKBACK_BARS_MAX).contains(&v.lookback_bars) {
                return Err(SizingError::LookbackBars(v.lookback_bars));
            }
        }
        let probe = self.request(10_000.0, 100.0, &[100.0, 101.0, 100.5], 365.0, max_position_size);
        calculate_position_size(&probe).map(|_| ()).map_err(SizingError::Risk)
    }

    /// Signed units for `direction` (the strategy's target; only its sign is used) at
    /// `bars.last()`'s close: the risk core's capped quantity, rounded toward zero onto
    /// the lot (and whole units). `None` when the risk core cannot size it.
    // Eight plain inputs from the engine's one call site; a parameter struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn units(
        &self,
        direction: f64,
        sleeve: Fixed,
        bars: &[Candle],
        periods_per_year: f64,
        max_position_size: f64,
        inst: &Instrument,
        whole_units: bool,
    ) -> Option<Fixed> {
        if direction == 0.0 {
            return Some(Fixed::ZERO);
        }
        let price = bars.last()?.close;
        let closes: Vec<f64> = match self {
            RiskSizing::VolatilityTarget(v) => bars[bars.len().saturating_sub(v.lookback_bars + 1)..].iter().map(|b| b.close).collect(),
            _ => Vec::new(),
        };
        let answer = calculate_position_size(&self.request(sleeve.to_f64(), price, &closes, periods_per_year, max_position_size)).ok()?;
        let quantity = answer.capped_quantity.filter(|q| q.is_finite() && *q >= 0.0)?;
        let units = Fixed::from_f64_rounded(quantity, Rounding::Down).ok()?.round_to_step(inst.lot_size, Rounding::Down)?;
        let units = if whole_units { units.round_to_step(Fixed::ONE, Rounding::Down)? } else { units };
        Some(if direction < 0.0 { Fixed::from_raw(-units.raw()) } else { units })
    }
}
