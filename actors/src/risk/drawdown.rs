//! Drawdown of an equity curve: how far below its running peak the portfolio is now, and
//! the deepest it has been.
//!
//! Why fractions of the peak: MAX_DRAWDOWN (spec default 0.1) is a fraction, and a
//! fraction compares across account sizes.

use super::bounds::{AMOUNT_MAX, OBSERVATIONS_MAX};
use super::check::{self, Interval};
use super::error::RiskError;
use serde::{Deserialize, Serialize};

/// Current and maximum drawdown, with where they happened (0-based indices into the curve).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Drawdown {
    /// `1 - equity[last] / peak[last]`.
    pub current: f64,
    /// `max_t (1 - equity[t] / peak[t])`.
    pub max: f64,
    /// Index of the running peak the current drawdown is measured from.
    pub current_peak_index: usize,
    /// Index of the peak before the maximum drawdown.
    pub max_peak_index: usize,
    /// Index of the trough of the maximum drawdown.
    pub max_trough_index: usize,
}

/// Drawdowns of an equity curve (oldest first): with the running peak
/// `peak[t] = max_{s <= t} equity[s]`, the drawdown at t is `1 - equity[t] / peak[t]`
/// (0 at a new high, 1 at zero equity). Values must be in [0, AMOUNT_MAX] and the first
/// must be > 0, so the peak is always positive. The first trough wins ties.
pub fn drawdown(equity: &[f64]) -> Result<Drawdown, RiskError> {
    check::count("equity_curve", equity.len(), 1, "OBSERVATIONS_MAX", OBSERVATIONS_MAX)?;
    Interval::closed(0.0, AMOUNT_MAX).check_all("equity_curve", equity)?;
    Interval::left_open(0.0, AMOUNT_MAX).check("equity_curve[0]", equity[0])?;
    let mut d = Drawdown { current: 0.0, max: 0.0, current_peak_index: 0, max_peak_index: 0, max_trough_index: 0 };
    let mut peak = equity[0];
    for (t, &e) in equity.iter().enumerate() {
        if e > peak {
            peak = e;
            d.current_peak_index = t;
        }
        d.current = 1.0 - e / peak;
        if d.current > d.max {
            d.max = d.current;
            d.max_peak_index = d.current_peak_index;
            d.max_trough_index = t;
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn drawdowns_of_a_known_curve() {
        let d = drawdown(&[100.0, 120.0, 90.0, 110.0, 130.0, 117.0]).unwrap();
        assert!((d.max - 0.25).abs() < 1e-15);
        assert_eq!((d.max_peak_index, d.max_trough_index), (1, 2));
        assert!((d.current - 0.1).abs() < 1e-15);
        assert_eq!(d.current_peak_index, 4);
        assert_eq!(drawdown(&[5.0]).unwrap().max, 0.0);
        assert_eq!(drawdown(&[0.0, 1.0]).unwrap_err().to_string(), "equity_curve[0] must be in (0, 1e15], got 0");
    }

    proptest! {
        #[test]
        fn bounded_and_never_panics(e in prop::collection::vec(any::<f64>(), 0..30)) {
            if let Ok(d) = drawdown(&e) {
                prop_assert!((0.0..=1.0).contains(&d.current) && (0.0..=1.0).contains(&d.max));
                prop_assert!(d.current <= d.max);
            }
        }
    }
}
