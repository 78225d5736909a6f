//! Positions and the exposure they carry: signed notional per symbol, long, short, gross
//! and net totals, and each as a fraction of the portfolio.
//!
//! Why its own file: limits, portfolio risk and stress tests all start from the same
//! `[{symbol, quantity, price}]` list and must read it the same way.

use super::bounds::{POSITIONS_MAX, QUANTITY_MAX};
use super::check::{self, Interval};
use super::error::RiskError;
use super::inputs::{PORTFOLIO_VALUE, PRICE};
use serde::{Deserialize, Serialize};

/// Quantity range: negative is short.
pub(crate) const QUANTITY: Interval = Interval::closed(-QUANTITY_MAX, QUANTITY_MAX);

/// One open position, marked at `price`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub symbol: String,
    /// Units of the base asset; negative for a short.
    pub quantity: f64,
    /// Mark price, quote currency per unit, in (0, PRICE_MAX].
    pub price: f64,
}

impl Position {
    /// `quantity * price`, signed.
    pub fn notional(&self) -> f64 {
        self.quantity * self.price
    }
}

/// One symbol's exposure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolExposure {
    pub symbol: String,
    pub quantity: f64,
    pub price: f64,
    /// `quantity * price` (negative when short).
    pub notional: f64,
    /// `notional / portfolio_value`, when a portfolio value was given.
    pub fraction_of_portfolio: Option<f64>,
}

/// Exposure of a set of positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    pub by_symbol: Vec<SymbolExposure>,
    /// Sum of positive notionals.
    pub long: f64,
    /// Sum of |negative notionals|.
    pub short: f64,
    /// `long + short`.
    pub gross: f64,
    /// `long - short`.
    pub net: f64,
    pub gross_fraction: Option<f64>,
    pub net_fraction: Option<f64>,
    /// Positions with a non-zero quantity.
    pub open_positions: usize,
}

/// Validates a position list: at most POSITIONS_MAX, unique valid symbols, quantities in
/// [-QUANTITY_MAX, QUANTITY_MAX], prices in (0, PRICE_MAX].
pub(crate) fn check_positions(field: &str, positions: &[Position]) -> Result<(), RiskError> {
    check::count(field, positions.len(), 0, "POSITIONS_MAX", POSITIONS_MAX)?;
    check::symbols(field, positions.iter().map(|p| p.symbol.as_str()))?;
    for (i, p) in positions.iter().enumerate() {
        // The field's name is written only for an error: this runs in every order's
        // pre-trade check, and formatting it each time was most of the check's cost.
        if !QUANTITY.contains(p.quantity) {
            QUANTITY.check(&format!("{field}[{i}].quantity"), p.quantity)?;
        }
        if !PRICE.contains(p.price) {
            PRICE.check(&format!("{field}[{i}].price"), p.price)?;
        }
    }
    Ok(())
}

/// Exposure per symbol (input order) and in total; fractions divide by `portfolio_value`
/// when given (in (0, AMOUNT_MAX]).
pub fn exposure(positions: &[Position], portfolio_value: Option<f64>) -> Result<Exposure, RiskError> {
    check_positions("positions", positions)?;
    let pv = portfolio_value.map(|v| PORTFOLIO_VALUE.check("portfolio_value", v)).transpose()?;
    let by_symbol: Vec<SymbolExposure> = positions
        .iter()
        .map(|p| SymbolExposure {
            symbol: p.symbol.clone(),
            quantity: p.quantity,
            price: p.price,
            notional: p.notional(),
            fraction_of_portfolio: pv.map(|v| p.notional() / v),
        })
        .collect();
    let long: f64 = by_symbol.iter().map(|e| e.notional.max(0.0)).sum();
    let short: f64 = by_symbol.iter().map(|e| (-e.notional).max(0.0)).sum();
    Ok(Exposure {
        by_symbol,
        long,
        short,
        gross: long + short,
        net: long - short,
        gross_fraction: pv.map(|v| (long + short) / v),
        net_fraction: pv.map(|v| (long - short) / v),
        open_positions: positions.iter().filter(|p| p.quantity != 0.0).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(symbol: &str, quantity: f64, price: f64) -> Position {
        Position { symbol: symbol.into(), quantity, price }
    }

    #[test]
    fn long_short_gross_net() {
        let e =
            exposure(&[pos("BTC/USDT", 0.1, 50000.0), pos("ETH/USDT", -2.0, 2500.0), pos("ADA/USDT", 0.0, 1.0)], Some(10000.0)).unwrap();
        assert_eq!((e.long, e.short, e.gross, e.net), (5000.0, 5000.0, 10000.0, 0.0));
        assert_eq!(e.gross_fraction, Some(1.0));
        assert_eq!(e.by_symbol[1].fraction_of_portfolio, Some(-0.5));
        assert_eq!(e.open_positions, 2);
    }

    #[test]
    fn bad_positions_are_named() {
        let e = exposure(&[pos("A", 1.0, 0.0)], None).unwrap_err();
        assert_eq!(e.to_string(), "positions[0].price must be in [1e-12, 1e12], got 0");
        let e = exposure(&[pos("A", 1.0, 1.0), pos("A", 2.0, 1.0)], None).unwrap_err();
        assert!(e.to_string().contains("appears more than once"));
    }
}
