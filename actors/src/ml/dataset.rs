//! Targets and the labelled matrix: features at bar `i`, label from bars `i+1..=i+h`.
//!
//! - `price_direction`: 1 when `close[i+h] > close[i]`, else 0 (a flat bar is 0).
//! - `forward_return`: `ln(close[i+h] / close[i])` (regression).
//!
//! Rows whose label would need a bar past the end are dropped, never guessed.

use super::error::MlError;
use super::features::FeatureFrame;
use serde::{Deserialize, Serialize};
use tradpal_messages::Candle;

/// The targets, as the spec names them.
pub const TARGETS: [&str; 2] = ["price_direction", "forward_return"];
/// Longest horizon accepted, in bars.
pub const HORIZON_BARS_MAX: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    PriceDirection,
    ForwardReturn,
}

impl TargetKind {
    pub fn parse(name: &str) -> Result<Self, MlError> {
        match name {
            "price_direction" => Ok(Self::PriceDirection),
            "forward_return" => Ok(Self::ForwardReturn),
            other => Err(MlError::UnknownTarget { name: other.chars().take(64).collect() }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PriceDirection => "price_direction",
            Self::ForwardReturn => "forward_return",
        }
    }

    pub fn is_classification(self) -> bool {
        self == Self::PriceDirection
    }
}

/// What to predict, and how many bars ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub horizon: usize,
}

/// A labelled matrix: row `r` is `x[r*cols..]`, label `y[r]`, bar `bars[r]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    pub names: Vec<String>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub bars: Vec<usize>,
}

impl Dataset {
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    pub fn rows(&self) -> usize {
        self.y.len()
    }

    pub fn row(&self, r: usize) -> &[f64] {
        let d = self.cols();
        &self.x[r * d..(r + 1) * d]
    }

    /// The rows `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut out = Dataset { names: self.names.clone(), ..Dataset::default() };
        out.x.reserve(idx.len() * self.cols());
        for &r in idx {
            out.x.extend_from_slice(self.row(r));
            out.y.push(self.y[r]);
            out.bars.push(self.bars[r]);
        }
        out
    }

    /// The columns `cols` only, in that order.
    pub fn columns(&self, cols: &[usize]) -> Dataset {
        let mut out = Dataset {
            names: cols.iter().map(|&j| self.names[j].clone()).collect(),
            y: self.y.clone(),
            bars: self.bars.clone(),
            x: Vec::new(),
        };
        out.x.reserve(self.rows() * cols.len());
        for r in 0..self.rows() {
            let row = self.row(r);
            out.x.extend(cols.iter().map(|&j| row[j]));
        }
        out
    }

    /// The rows in `range`.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Dataset {
        let d = self.cols();
        Dataset {
            names: self.names.clone(),
            x: self.x[range.start * d..range.end * d].to_vec(),
            y: self.y[range.clone()].to_vec(),
            bars: self.bars[range].to_vec(),
        }
    }
}

/// Labels `frame` (computed over `candles`) with `target`.
pub fn label(candles: &[Candle], frame: &FeatureFrame, target: Target) -> Dataset {
    let mut out = Dataset { names: frame.names.clone(), ..Dataset::default() };
    for (r, &i) in frame.bars.iter().enumerate() {
        let Some(ahead) = candles.get(i + target.horizon) else { break };
        let now = candles[i].close;
        let y = match target.kind {
            TargetKind::PriceDirection => f64::from(u8::from(ahead.close > now)),
            TargetKind::ForwardReturn => (ahead.close / now).ln(),
        };
        if !y.is_finite() {
            continue;
        }
        out.x.extend_from_slice(frame.row(r));
        out.y.push(y);
        out.bars.push(i);
    }
    out
}
