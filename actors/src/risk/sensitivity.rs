//! Sensitivity analysis: portfolio P&L over a grid of market-wide price moves, with the
//! one-period VaR of the moved portfolio under scaled volatility.
//!
//! Why volatility enters only through VaR: the positions here are linear (spot or
//! perpetual-like, no options), so the P&L of a price move is `notional * move` whatever
//! the volatility; volatility changes how much *more* could be lost next period. Each
//! cell therefore reports the move's P&L, the parametric VaR of the moved positions with
//! sigma scaled by the multiplier, and their sum as a stressed P&L.

use super::bounds::GRID_POINTS_MAX;
use super::check::{self, Interval};
use super::error::RiskError;
use super::exposure::Position;
use super::inputs::{returns_matrix, ReturnsBySymbol};
use super::linalg::quad_form;
use super::scenarios::AssetClass;
use super::stats;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Grid axes; both optional (defaults below).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivitySpec {
    /// Price moves as fractions, each in [-1, 10] (default -0.5 to +0.5 by 0.1).
    #[serde(default)]
    pub price_moves: Option<Vec<f64>>,
    /// Volatility multipliers, each in [0, 100] (default 0.5, 1, 1.5, 2, 3).
    #[serde(default)]
    pub vol_multipliers: Option<Vec<f64>>,
}

/// The grid: one row per price move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitivityGrid {
    pub confidence: f64,
    pub vol_multipliers: Vec<f64>,
    /// False when `returns_by_symbol` did not cover the held positions: rows then carry
    /// no cells (P&L only).
    pub var_available: bool,
    pub rows: Vec<SensitivityRow>,
}

/// P&L of one price move, and per volatility multiplier the VaR after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitivityRow {
    pub price_move: f64,
    pub pnl: f64,
    /// `pnl / portfolio_value`.
    pub pnl_fraction: f64,
    pub cells: Vec<SensitivityCell>,
}

/// One (move, multiplier) cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SensitivityCell {
    pub vol_multiplier: f64,
    /// One-period parametric VaR of the moved positions, positive = loss.
    pub var_amount: f64,
    /// `pnl - var_amount`: the move, then a VaR-sized loss on top.
    pub pnl_at_var: f64,
}

fn default_moves() -> Vec<f64> {
    (-5..=5).map(|i| i as f64 / 10.0).collect()
}

const DEFAULT_VOL_MULTIPLIERS: [f64; 5] = [0.5, 1.0, 1.5, 2.0, 3.0];

/// Builds the grid for `positions` (with their classes; stablecoins are held at par and
/// neither move nor add VaR).
///
/// For a move `m`, each non-stable position's value becomes `V_i (1 + m)`, so
/// `pnl = m * sum_{non-stable} V_i`. With returns for every held non-stable symbol
/// (simple returns, mean `mu`, sample covariance `S`), the moved values `V'` give a
/// one-period P&L `~ N(V'.mu, V'SV')`, and for multiplier `k`:
/// `var_amount = -V'.mu + k * sqrt(V'SV') * Phi^-1(confidence)`.
pub fn sensitivity(
    positions: &[(Position, AssetClass)],
    returns: Option<&ReturnsBySymbol>,
    spec: &SensitivitySpec,
    portfolio_value: f64,
    confidence: f64,
) -> Result<SensitivityGrid, RiskError> {
    let moves = spec.price_moves.clone().unwrap_or_else(default_moves);
    let ks = spec.vol_multipliers.clone().unwrap_or_else(|| DEFAULT_VOL_MULTIPLIERS.to_vec());
    check::count("sensitivity.price_moves", moves.len(), 1, "GRID_POINTS_MAX", GRID_POINTS_MAX)?;
    check::count("sensitivity.vol_multipliers", ks.len(), 1, "GRID_POINTS_MAX", GRID_POINTS_MAX)?;
    Interval::closed(-1.0, 10.0).check_all("sensitivity.price_moves", &moves)?;
    Interval::closed(0.0, 100.0).check_all("sensitivity.vol_multipliers", &ks)?;
    let risky: Vec<&Position> = positions.iter().filter(|(p, c)| p.quantity != 0.0 && *c != AssetClass::Stable).map(|(p, _)| p).collect();
    let moments = match returns {
        Some(map) if !risky.is_empty() && risky.iter().all(|p| map.contains_key(&p.symbol)) => {
            let symbols: Vec<String> = risky.iter().map(|p| p.symbol.clone()).collect();
            let m = returns_matrix("returns_by_symbol", map, &symbols, 2)?;
            Some((stats::column_means(&m), stats::covariance(&m)))
        }
        _ => None,
    };
    let z = stats::normal_quantile(confidence);
    let rows = moves
        .iter()
        .map(|&mv| {
            let moved: Vec<f64> = risky.iter().map(|p| p.notional() * (1.0 + mv)).collect();
            let pnl: f64 = risky.iter().map(|p| p.notional() * mv).sum();
            let cells = match &moments {
                None => Vec::new(),
                Some((mu, cov)) => cells(&moved, mu, cov, &ks, z, pnl),
            };
            SensitivityRow { price_move: mv, pnl, pnl_fraction: pnl / portfolio_value, cells }
        })
        .collect();
    Ok(SensitivityGrid { confidence, vol_multipliers: ks, var_available: moments.is_some(), rows })
}

/// The VaR cells of one row (formula in [`sensitivity`]).
fn cells(moved: &[f64], mu: &[f64], cov: &Array2<f64>, ks: &[f64], z: f64, pnl: f64) -> Vec<SensitivityCell> {
    let mean: f64 = moved.iter().zip(mu).map(|(v, m)| v * m).sum();
    let sd = quad_form(cov, moved).max(0.0).sqrt();
    ks.iter()
        .map(|&k| {
            let var_amount = -mean + k * sd * z;
            SensitivityCell { vol_multiplier: k, var_amount, pnl_at_var: pnl - var_amount }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnl_is_linear_and_var_scales_with_the_multiplier() {
        let pos = vec![
            (Position { symbol: "BTC/USDT".into(), quantity: 0.1, price: 50000.0 }, AssetClass::Major),
            (Position { symbol: "USDC/USDT".into(), quantity: 1000.0, price: 1.0 }, AssetClass::Stable),
        ];
        let returns: ReturnsBySymbol = [("BTC/USDT".to_string(), vec![0.01, -0.02, 0.03, -0.01])].into();
        let g = sensitivity(&pos, Some(&returns), &SensitivitySpec::default(), 10000.0, 0.99).unwrap();
        assert_eq!(g.rows.len(), 11);
        assert!(g.var_available, "USDC is held at par and needs no returns");
        assert!(!sensitivity(&pos, None, &SensitivitySpec::default(), 10000.0, 0.99).unwrap().var_available);
        let down = &g.rows[0];
        assert!((down.pnl + 2500.0).abs() < 1e-9);
        let (c1, c2) = (down.cells[1], down.cells[3]); // k = 1 and k = 2
        let mean = 2500.0 * stats::mean(&returns["BTC/USDT"]);
        assert!(((c2.var_amount + mean) - 2.0 * (c1.var_amount + mean)).abs() < 1e-9);
        let e = sensitivity(&pos, None, &SensitivitySpec { price_moves: Some(vec![-2.0]), vol_multipliers: None }, 1.0, 0.9);
        assert_eq!(e.unwrap_err().to_string(), "sensitivity.price_moves[0] must be in [-1, 10], got -2");
    }
}
