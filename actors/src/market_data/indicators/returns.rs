//! Returns over k bars: simple and logarithmic.
//!
//! Definition: simple = x_t / x_{t-k} - 1; log = ln(x_t / x_{t-k}). Log returns add up
//! over time (the sum of k one-bar log returns is the k-bar log return), simple returns
//! are what a position earns.
//! Warm-up: k bars; the first value is at index k.

use super::window::Window;
use super::{check_period, Indicator, IndicatorError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReturnsOutput {
    pub simple: f64,
    pub log: f64,
}

#[derive(Debug, Clone)]
pub struct Returns {
    /// The last k + 1 values: the oldest is x_{t-k}.
    values: Window,
}

impl Returns {
    /// One-bar returns.
    pub const DEFAULT_PERIOD: usize = 1;

    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        check_period("returns", period, 1)?;
        Ok(Self::unchecked(period))
    }

    fn unchecked(period: usize) -> Self {
        Self { values: Window::new(period + 1) }
    }
}

impl Default for Returns {
    fn default() -> Self {
        Self::unchecked(Self::DEFAULT_PERIOD)
    }
}

impl Indicator for Returns {
    type Input = f64;
    type Output = ReturnsOutput;

    fn update(&mut self, x: f64) -> Option<ReturnsOutput> {
        self.values.push(x);
        if !self.values.is_full() {
            return None;
        }
        let ratio = x / self.values.oldest()?;
        Some(ReturnsOutput { simple: ratio - 1.0, log: ratio.ln() })
    }
}

/// `period`-bar returns of every value (see the module doc).
pub fn returns(values: &[f64], period: usize) -> Result<Vec<Option<ReturnsOutput>>, IndicatorError> {
    Returns::new(period)?;
    let mut out = Vec::with_capacity(values.len());
    out.extend(std::iter::repeat_n(None, period.min(values.len())));
    out.extend(values.iter().zip(values.iter().skip(period)).map(|(old, x)| {
        let ratio = x / old;
        Some(ReturnsOutput { simple: ratio - 1.0, log: ratio.ln() })
    }));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::{closes, warm_up};

    #[test]
    fn reference_values() {
        // 100 -> 110 is +10% (ln 1.1); 110 -> 99 is -10% (ln 0.9); over 2 bars 100 -> 99 is -1%.
        let got = returns(&[100.0, 110.0, 99.0], 1).unwrap();
        assert_eq!(got[0], None);
        let (a, b) = (got[1].unwrap(), got[2].unwrap());
        assert!((a.simple - 0.1).abs() < 1e-12 && (a.log - 1.1f64.ln()).abs() < 1e-12);
        assert!((b.simple + 0.1).abs() < 1e-12 && (b.log - 0.9f64.ln()).abs() < 1e-12);
        let two = returns(&[100.0, 110.0, 99.0], 2).unwrap();
        assert_eq!(warm_up(&two), 2);
        assert!((two[2].unwrap().simple + 0.01).abs() < 1e-12);
        assert!(Returns::new(0).is_err() && Returns::new(usize::MAX).is_err());
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let closes = closes();
        let batch = returns(&closes, 1).unwrap();
        let mut r = Returns::default();
        let incremental: Vec<_> = closes.iter().map(|&x| r.update(x)).collect();
        assert_eq!(incremental, batch);
        // Log returns add up: their sum is the log of last / first close.
        let sum: f64 = batch.iter().flatten().map(|r| r.log).sum();
        assert!((sum - (closes[closes.len() - 1] / closes[0]).ln()).abs() < 1e-9);
    }
}
