//! Rolling volatility: the standard deviation of log returns over the last n bars.
//!
//! Definition: r_t = ln(x_t / x_{t-1}); volatility = sample standard deviation (divide by
//! n - 1: the window is a sample of the return process, and n - 1 makes the variance
//! unbiased) of the last n returns. Per bar, not annualised: multiply by sqrt(bars per
//! year) for that (the factor depends on the timeframe and the market's hours).
//! Warm-up: n bars (n returns need n + 1 prices); the first value is at index n. n >= 2.

use super::window::Window;
use super::{check_period, series, Column, Indicator, IndicatorError};

#[derive(Debug, Clone)]
pub struct Volatility {
    previous: Option<f64>,
    returns: Window,
}

impl Volatility {
    /// The table's default window (20 bars).
    pub const DEFAULT_PERIOD: usize = 20;

    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self::unchecked(check_period("volatility", period, 2)?))
    }

    fn unchecked(period: usize) -> Self {
        Self { previous: None, returns: Window::new(period) }
    }
}

impl Default for Volatility {
    fn default() -> Self {
        Self::unchecked(Self::DEFAULT_PERIOD)
    }
}

impl Indicator for Volatility {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Option<f64> {
        let previous = self.previous.replace(x)?;
        self.returns.push((x / previous).ln());
        self.returns.is_full().then(|| self.returns.variance(1).sqrt())
    }
}

/// Rolling volatility over `period` log returns of every value (see the module doc).
pub fn volatility(values: &[f64], period: usize) -> Result<Vec<Option<f64>>, IndicatorError> {
    Ok(volatility_column(values, period)?.to_options())
}

/// [`volatility`] as a [`Column`] (8 bytes a row instead of 16: the faster form).
pub fn volatility_column(values: &[f64], period: usize) -> Result<Column, IndicatorError> {
    Volatility::new(period)?;
    let log_returns: Vec<f64> = values.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    Ok(from_log_returns(values.len(), &log_returns, period))
}

/// [`volatility_column`] from the one-bar log returns `(x_t / x_{t-1}).ln()` of `len`
/// values (`log_returns[i]` belongs to index `i + 1`): `compute_all` shares them with the
/// returns. `period >= 1`.
pub(crate) fn from_log_returns(len: usize, log_returns: &[f64], period: usize) -> Column {
    let dof = period.saturating_sub(1) as f64;
    Column::build(len, period, |out| {
        series::rolling_moments(log_returns, period, |_, squares| out.extend(squares.iter().map(|s| (s / dof).sqrt())));
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::{assert_bits_eq, closes, warm_up};

    #[test]
    fn reference_values() {
        // Closes 100, 110, 99, 108.9: returns a = ln 1.1, b = ln 0.9, a. Mean (2a + b)/3;
        // deviations (a-b)/3, -2(a-b)/3, (a-b)/3; squares sum 6(a-b)^2/9; / (n-1 = 2)
        // = (a-b)^2/3; so sigma = ln(1.1/0.9)/sqrt 3 = ln(11/9)/sqrt 3 = 0.115857...
        let got = volatility(&[100.0, 110.0, 99.0, 108.9], 3).unwrap();
        assert_eq!(warm_up(&got), 3);
        assert!((got[3].unwrap() - (11.0f64 / 9.0).ln() / 3f64.sqrt()).abs() < 1e-12, "{got:?}");
        assert_eq!(volatility(&[1.0, 2.0, 4.0, 8.0], 2).unwrap()[3], Some(0.0), "constant growth has no volatility");
        assert!(Volatility::new(1).is_err());
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let closes = closes();
        let batch = volatility(&closes, 20).unwrap();
        let mut v = Volatility::default();
        let incremental: Vec<_> = closes.iter().map(|&x| v.update(x)).collect();
        assert_bits_eq(&incremental, &batch);
        // Bitcoin minutes: per-minute volatility is well under 1% and above 0.
        assert!(batch.iter().flatten().all(|&s| s > 0.0 && s < 0.01));
    }
}
