//! The regime vocabulary: a trend axis, a volatility axis and the 9 labels they make.
//! Shared by the synthetic-data generator (which plants regimes) and the regime module
//! (which detects them); `RegimeChanged` carries the names (`as_str`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Trend axis of a regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Bull,
    Bear,
    Sideways,
}

impl Trend {
    pub const ALL: [Trend; 3] = [Trend::Bull, Trend::Bear, Trend::Sideways];

    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Bull => "bull",
            Trend::Bear => "bear",
            Trend::Sideways => "sideways",
        }
    }

    /// Sign of the drift: +1, -1, 0.
    pub fn sign(self) -> f64 {
        match self {
            Trend::Bull => 1.0,
            Trend::Bear => -1.0,
            Trend::Sideways => 0.0,
        }
    }
}

/// Volatility axis of a regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vol {
    Low,
    Normal,
    High,
}

impl Vol {
    pub const ALL: [Vol; 3] = [Vol::Low, Vol::Normal, Vol::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Vol::Low => "low",
            Vol::Normal => "normal",
            Vol::High => "high",
        }
    }

    /// 0, 1, 2 for low, normal, high (an index into per-volatility tables).
    pub fn index(self) -> usize {
        match self {
            Vol::Low => 0,
            Vol::Normal => 1,
            Vol::High => 2,
        }
    }
}

impl fmt::Display for Trend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Vol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The true regime of one bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegimeLabel {
    pub trend: Trend,
    pub volatility: Vol,
}

impl RegimeLabel {
    /// The 9 regimes, trend-major.
    pub const ALL: [RegimeLabel; 9] = {
        let mut all = [RegimeLabel { trend: Trend::Bull, volatility: Vol::Low }; 9];
        let mut i = 0;
        while i < 9 {
            all[i] = RegimeLabel { trend: Trend::ALL[i / 3], volatility: Vol::ALL[i % 3] };
            i += 1;
        }
        all
    };
}
