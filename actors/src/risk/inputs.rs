//! Turning request inputs into validated numbers: return series, `returns_by_symbol` maps
//! aligned to a symbol list, and the covariance a multi-asset method works from.
//!
//! Why a file of its own: sizing, portfolio risk, limits and stress all accept the same
//! shapes of market data, and they should accept and refuse them identically.

use super::bounds::{AMOUNT_MAX, AMOUNT_MIN, ASSETS_MAX, CELLS_MAX, FRACTION_MAX, OBSERVATIONS_MAX};
use super::bounds::{PRICE_MAX, PRICE_MIN, RETURN_ABS_MAX};
use super::check::{self, Interval};
use super::error::RiskError;
use super::linalg::covariance_from_rows;
use super::stats;
use ndarray::Array2;
use std::collections::BTreeMap;

/// Per-period simple returns keyed by symbol. All series must cover the same periods, in
/// the same order (the caller aligns them; the core only checks their lengths agree).
pub type ReturnsBySymbol = BTreeMap<String, Vec<f64>>;

/// Portfolio value (equity) range, in quote currency.
pub(crate) const PORTFOLIO_VALUE: Interval = Interval::closed(AMOUNT_MIN, AMOUNT_MAX);
/// Price range, in quote currency per unit.
pub(crate) const PRICE: Interval = Interval::closed(PRICE_MIN, PRICE_MAX);
/// Range of a fraction of the portfolio used as a cap, budget or target.
pub(crate) const FRACTION: Interval = Interval::left_open(0.0, FRACTION_MAX);
/// Range of probabilities and of risk / stop fractions.
pub(crate) const UNIT: Interval = Interval::open(0.0, 1.0);
/// Range of one asset's simple return per period: an asset can lose at most everything.
pub(crate) const ASSET_RETURN: Interval = Interval::closed(-1.0, RETURN_ABS_MAX);
/// Range of one portfolio return per period: leverage and shorts can lose more than 100 %.
pub(crate) const PORTFOLIO_RETURN: Interval = Interval::closed(-RETURN_ABS_MAX, RETURN_ABS_MAX);

/// A single return series with at least `min` observations, each in `range`.
pub(crate) fn series(field: &str, xs: &[f64], min: usize, range: Interval) -> Result<(), RiskError> {
    check::count(field, xs.len(), min, "OBSERVATIONS_MAX", OBSERVATIONS_MAX)?;
    range.check_all(field, xs)
}

/// The observations x assets matrix of `symbols`' returns, column j = `symbols[j]`.
/// Every symbol must have a series, all of one length `T >= min`, `T x N <= CELLS_MAX`.
pub(crate) fn returns_matrix(field: &str, map: &ReturnsBySymbol, symbols: &[String], min: usize) -> Result<Array2<f64>, RiskError> {
    check::count("symbols", symbols.len(), 1, "ASSETS_MAX", ASSETS_MAX)?;
    let mut columns = Vec::with_capacity(symbols.len());
    for s in symbols {
        let col = map
            .get(s)
            .ok_or_else(|| RiskError::missing(format!("{field}[{s:?}]"), format!("because {s} is among the symbols to assess")))?;
        columns.push((s, col));
    }
    let (first, t) = (columns[0].0, columns[0].1.len());
    let cells = t.saturating_mul(symbols.len());
    if cells > CELLS_MAX {
        return Err(RiskError::TooMany { field: field.to_string(), limit: "CELLS_MAX", max: CELLS_MAX, got: cells });
    }
    let mut m = Array2::<f64>::zeros((t, symbols.len()));
    for (j, (s, col)) in columns.iter().enumerate() {
        let name = format!("{field}[{s:?}]");
        check::same_len(&name, col.len(), &format!("{field}[{first:?}]"), t)?;
        series(&name, col, min, ASSET_RETURN)?;
        for (i, &r) in col.iter().enumerate() {
            m[[i, j]] = r;
        }
    }
    Ok(m)
}

/// The covariance (and, when fitted from returns, the per-period mean returns) of
/// `symbols`: exactly one of `covariance` (rows in `symbols` order) or `returns_by_symbol`
/// (sample covariance with n - 1, at least 2 observations) must be given.
pub(crate) fn covariance_of(
    symbols: &[String],
    covariance: Option<&Vec<Vec<f64>>>,
    returns: Option<&ReturnsBySymbol>,
) -> Result<(Array2<f64>, Option<Vec<f64>>), RiskError> {
    check::count("symbols", symbols.len(), 1, "ASSETS_MAX", ASSETS_MAX)?;
    check::symbols("symbols", symbols.iter().map(String::as_str))?;
    match (covariance, returns) {
        (Some(rows), None) => Ok((covariance_from_rows("covariance", rows, symbols.len())?, None)),
        (None, Some(map)) => {
            let m = returns_matrix("returns_by_symbol", map, symbols, 2)?;
            Ok((stats::covariance(&m), Some(stats::column_means(&m))))
        }
        (Some(_), Some(_)) => Err(RiskError::invalid(
            "covariance",
            "give either covariance or returns_by_symbol, not both (the covariance would be ambiguous)",
        )),
        (None, None) => Err(RiskError::missing("covariance or returns_by_symbol", "for a multi-asset method")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn matrix_aligns_columns_to_symbols() {
        let map: ReturnsBySymbol = [("A".to_string(), vec![0.01, 0.02, -0.01]), ("B".to_string(), vec![0.0, 0.1, 0.2])].into();
        let m = returns_matrix("returns_by_symbol", &map, &s(&["B", "A"]), 2).unwrap();
        assert_eq!(m[[1, 0]], 0.1);
        assert_eq!(m[[1, 1]], 0.02);
    }

    #[test]
    fn bad_shapes_are_named() {
        let map: ReturnsBySymbol = [("A".to_string(), vec![0.01, 0.02]), ("B".to_string(), vec![0.0])].into();
        let e = returns_matrix("returns_by_symbol", &map, &s(&["A", "B"]), 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "returns_by_symbol[\"B\"] has 1 values but returns_by_symbol[\"A\"] has 2; they must have the same length"
        );
        let e = returns_matrix("returns_by_symbol", &map, &s(&["C"]), 1).unwrap_err();
        assert!(e.to_string().starts_with("returns_by_symbol[\"C\"] is required"), "{e}");
        let bad: ReturnsBySymbol = [("A".to_string(), vec![0.01, -1.5])].into();
        let e = returns_matrix("returns_by_symbol", &bad, &s(&["A"]), 1).unwrap_err();
        assert_eq!(e.to_string(), "returns_by_symbol[\"A\"][1] must be in [-1, 100], got -1.5");
        assert!(covariance_of(&s(&["A"]), None, None).is_err());
    }
}
