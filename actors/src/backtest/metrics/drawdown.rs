//! Drawdowns: every stretch the curve spends below its running peak, how deep it went and
//! how long it lasted.
//!
//! Conventions: the drawdown at bar t is `1 - equity_t / peak_t`, with the running peak
//! `peak_t = max_{s <= t} equity_s`; a positive fraction (0.25 = 25% below the peak). A
//! period starts at the peak bar before the first bar below it and ends at the first bar
//! back at or above that peak (equal counts as recovered). Its length in bars is
//! `end_index - peak_index`, or `last_index - peak_index` while still under water.

use super::validate;
use super::{EquityPoint, MetricsError};
use serde::{Deserialize, Serialize};
use tradpal_messages::Timestamp;

/// One stretch below a previous peak.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DrawdownPeriod {
    /// Time of the peak the drawdown is measured from.
    pub start: Timestamp,
    /// Time of the lowest equity in the period (the first one on ties).
    pub trough: Timestamp,
    /// Time of the first bar back at or above the peak; `None` if the curve ends below it.
    pub end: Option<Timestamp>,
    /// `1 - trough_equity / peak_equity`, in (0, 1].
    pub depth: f64,
    /// Bars from the peak to the recovery (or to the last bar if not recovered).
    pub bars: usize,
}

/// The drawdown numbers [`super::compute`] reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    /// `max_t (1 - equity_t / peak_t)`: the deepest period's depth, 0 without any.
    pub max_drawdown: f64,
    /// The longest period in bars (the first on ties), `None` if the curve never dips.
    pub longest: Option<DrawdownPeriod>,
}

/// Every drawdown period of `equity`, oldest first, in one O(n) pass.
///
/// Fails like [`super::compute`] on an empty, non-positive, non-finite or time-disordered
/// curve. A curve that never falls below a previous peak has no periods.
pub fn drawdown_periods(equity: &[EquityPoint]) -> Result<Vec<DrawdownPeriod>, MetricsError> {
    validate::equity(equity)?;
    Ok(periods(equity))
}

/// [`drawdown_periods`] on a validated curve: the peak index moves to every bar at or above
/// the current peak; a bar below it opens a period (or deepens its trough), and the next
/// bar at or above the peak closes it.
fn periods(equity: &[EquityPoint]) -> Vec<DrawdownPeriod> {
    let mut out = Vec::new();
    each_period(equity, |p| out.push(p));
    out
}

/// Calls `f` with each period of a validated curve, oldest first (the one walk behind
/// [`periods`] and [`summary`]; the summary keeps no list).
fn each_period(equity: &[EquityPoint], mut f: impl FnMut(DrawdownPeriod)) {
    // The peak's and trough's values ride along with their indexes (no reload per bar);
    // `trough_value` is +inf while no period is open, so the first bar below opens one.
    let (mut peak, mut peak_value) = (0usize, equity.first().map_or(0.0, |p| p.equity));
    let (mut trough, mut trough_value) = (None::<usize>, f64::INFINITY);
    for (i, p) in equity.iter().enumerate().skip(1) {
        if p.equity >= peak_value {
            if let Some(t) = trough.take() {
                f(period(equity, peak, t, Some(i)));
                trough_value = f64::INFINITY;
            }
            (peak, peak_value) = (i, p.equity);
        } else if p.equity < trough_value {
            (trough, trough_value) = (Some(i), p.equity);
        }
    }
    if let Some(t) = trough {
        f(period(equity, peak, t, None));
    }
}

fn period(equity: &[EquityPoint], peak: usize, trough: usize, end: Option<usize>) -> DrawdownPeriod {
    let last = end.unwrap_or(equity.len() - 1);
    DrawdownPeriod {
        start: equity[peak].time,
        trough: equity[trough].time,
        end: end.map(|e| equity[e].time),
        depth: 1.0 - equity[trough].equity / equity[peak].equity,
        bars: last - peak,
    }
}

/// Maximum drawdown and the longest period of a validated curve. The maximum drawdown is
/// the deepest period's depth: within a period the trough is the lowest point under one
/// fixed peak, so this equals `max_t (1 - equity_t / peak_t)`.
pub(crate) fn summary(equity: &[EquityPoint]) -> Summary {
    let mut max_drawdown = 0.0;
    let mut longest = None::<DrawdownPeriod>;
    each_period(equity, |p| {
        max_drawdown = f64::max(max_drawdown, p.depth);
        if longest.is_none_or(|b| b.bars < p.bars) {
            longest = Some(p); // the first on ties
        }
    });
    Summary { max_drawdown, longest }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(values: &[f64]) -> Vec<EquityPoint> {
        values.iter().enumerate().map(|(i, &equity)| EquityPoint { time: Timestamp(i as i64 * 1_000), equity }).collect()
    }

    #[test]
    fn known_drawdown_100_120_90_130() {
        // Peak 120 at bar 1, trough 90 at bar 2: 1 - 90 / 120 = 0.25. Recovered at bar 3
        // (130 >= 120): 3 - 1 = 2 bars.
        let c = curve(&[100.0, 120.0, 90.0, 130.0]);
        let p = drawdown_periods(&c).unwrap();
        assert_eq!(p.len(), 1);
        assert!((p[0].depth - 0.25).abs() < 1e-15);
        assert_eq!((p[0].start, p[0].trough, p[0].end, p[0].bars), (Timestamp(1_000), Timestamp(2_000), Some(Timestamp(3_000)), 2));
        let s = summary(&c);
        assert!((s.max_drawdown - 0.25).abs() < 1e-15);
        assert_eq!(s.longest, Some(p[0]));
    }

    #[test]
    fn longest_and_deepest_can_differ_and_unrecovered_ends_open() {
        // Period A: peak 100 (bar 0), 95, 96, 97, back to 100 at bar 4: 4 bars, depth 0.05.
        // Period B: peak 110 (bar 5), 55 (bar 6), 60 (bar 7), end of data: 2 bars, depth 0.5.
        let c = curve(&[100.0, 95.0, 96.0, 97.0, 100.0, 110.0, 55.0, 60.0]);
        let p = drawdown_periods(&c).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].bars, p[0].end), (4, Some(Timestamp(4_000))));
        assert!((p[0].depth - 0.05).abs() < 1e-15);
        assert_eq!((p[1].start, p[1].trough, p[1].end, p[1].bars), (Timestamp(5_000), Timestamp(6_000), None, 2));
        let s = summary(&c);
        assert!((s.max_drawdown - 0.5).abs() < 1e-15);
        assert_eq!(s.longest.unwrap().bars, 4);
    }

    #[test]
    fn a_rising_curve_has_no_drawdown() {
        let c = curve(&[1.0, 1.0, 2.0, 3.0]);
        assert!(drawdown_periods(&c).unwrap().is_empty());
        assert_eq!(summary(&c), Summary { max_drawdown: 0.0, longest: None });
    }

    #[test]
    fn bad_curves_are_errors() {
        assert_eq!(drawdown_periods(&[]), Err(MetricsError::EmptyEquity));
        assert_eq!(drawdown_periods(&curve(&[1.0, 0.0])), Err(MetricsError::Equity { index: 1, value: 0.0 }));
    }
}
