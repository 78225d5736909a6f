//! What single-asset sizing (`sizing.rs`) and multi-asset allocation (`allocation.rs`)
//! share: the method detail of an answer and the cut to `max_position_size`. A leaf of
//! both, so that neither has to import the other's internals (sizing calls allocation
//! for the multi-asset methods; allocation used to import these back from sizing).

use super::mean_variance::Objective;
use serde::{Deserialize, Serialize};

/// Method-specific figures behind the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingDetail {
    FixedFractional {
        risk_per_trade: f64,
        stop_loss: f64,
    },
    Kelly {
        full_kelly: f64,
        kelly_fraction: f64,
        fraction_at_risk: f64,
        stop_loss: Option<f64>,
    },
    VolatilityTarget {
        realised_volatility: f64,
        target_volatility: f64,
        periods_per_year: f64,
        observations: usize,
    },
    RiskParity {
        iterations: usize,
        max_risk_contribution_deviation: f64,
        volatility: f64,
    },
    MeanVariance {
        objective: Objective,
        iterations: usize,
        expected_return: Option<f64>,
        volatility: f64,
        sharpe_ratio: Option<f64>,
        risk_free_rate: f64,
        periods_per_year: f64,
    },
}

/// A position after the cap: `capped_fraction = min(fraction, max)`, notional and
/// quantity scaled by the same factor.
pub(crate) struct Cap {
    pub capped: bool,
    pub notional: f64,
    pub fraction: f64,
    pub quantity: Option<f64>,
}

/// Cuts a position to the cap: `fraction = notional / pv`; when `fraction > max`, the
/// capped position is `max * pv` in notional and `quantity * max / fraction` in units.
pub(crate) fn cap(notional: f64, quantity: Option<f64>, pv: f64, max: f64) -> Cap {
    let fraction = notional / pv;
    if fraction <= max {
        return Cap { capped: false, notional, fraction, quantity };
    }
    let scale = max / fraction;
    Cap { capped: true, notional: max * pv, fraction: max, quantity: quantity.map(|q| q * scale) }
}
