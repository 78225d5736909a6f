//! Custom metrics: a user-defined number computed from the same input as the built-in
//! ones, reported by name next to them.
//!
//! Results go into a `BTreeMap`, not a `HashMap`: iteration (and so the JSON) is sorted by
//! name, the same on every run, as everything a backtest reports must be.

use super::stats::finite;
use super::{compute, Metrics, MetricsError, MetricsInput};
use std::collections::BTreeMap;

/// A metric a caller adds, e.g. the Ulcer index or a tail ratio.
///
/// `compute` returns `None` when the metric is undefined for the input. It is only called
/// on validated input (non-empty, finite positive equity, ...), so it may rely on that.
pub trait Metric {
    /// The key of its result; unique among the metrics passed to [`compute_with`].
    fn name(&self) -> &str;
    fn compute(&self, input: &MetricsInput) -> Option<f64>;
}

/// The built-in [`Metrics`] plus each custom metric's result under its name.
///
/// A custom result that is NaN or infinite is reported as `None`, keeping the guarantee
/// that every reported number is finite. Fails like [`compute`] on bad input, and with
/// [`MetricsError::DuplicateMetric`] when two metrics share a name (one would silently
/// overwrite the other). No custom metric runs on invalid input.
pub fn compute_with(input: &MetricsInput, metrics: &[&dyn Metric]) -> Result<(Metrics, BTreeMap<String, Option<f64>>), MetricsError> {
    let builtin = compute(input)?;
    let mut custom = BTreeMap::new();
    for m in metrics {
        let name = m.name().to_string();
        if custom.contains_key(&name) {
            return Err(MetricsError::DuplicateMetric(name));
        }
        custom.insert(name, m.compute(input).and_then(finite));
    }
    Ok((builtin, custom))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::metrics::EquityPoint;
    use tradpal_messages::Timestamp;

    /// Final equity over the maximum equity seen: 1 at a new high.
    struct FinalOverMax;
    impl Metric for FinalOverMax {
        fn name(&self) -> &str {
            "final_over_max"
        }
        fn compute(&self, input: &MetricsInput) -> Option<f64> {
            let max = input.equity.iter().map(|p| p.equity).fold(0.0, f64::max);
            Some(input.equity.last()?.equity / max)
        }
    }

    /// Always infinite, to check the finite-only guarantee.
    struct Broken(&'static str);
    impl Metric for Broken {
        fn name(&self) -> &str {
            self.0
        }
        fn compute(&self, _: &MetricsInput) -> Option<f64> {
            Some(f64::INFINITY)
        }
    }

    fn input(equity: &[EquityPoint]) -> MetricsInput<'_> {
        MetricsInput {
            equity,
            trades: &[],
            benchmark: None,
            bar_interval_ns: 1_000,
            risk_free_rate: 0.0,
            calendar: crate::backtest::metrics::Calendar::Observed,
            exposure_bars: 0,
        }
    }

    #[test]
    fn custom_results_by_name_in_sorted_order() {
        let c: Vec<_> =
            [100.0, 120.0, 90.0].iter().enumerate().map(|(i, &e)| EquityPoint { time: Timestamp(i as i64), equity: e }).collect();
        let (m, custom) = compute_with(&input(&c), &[&Broken("zz_broken"), &FinalOverMax]).unwrap();
        assert!((m.max_drawdown - 0.25).abs() < 1e-15);
        assert_eq!(custom.keys().collect::<Vec<_>>(), ["final_over_max", "zz_broken"]);
        assert_eq!(custom["final_over_max"], Some(0.75));
        assert_eq!(custom["zz_broken"], None, "infinity is reported as undefined");
    }

    #[test]
    fn duplicate_names_and_bad_input_are_errors() {
        let c = [EquityPoint { time: Timestamp(0), equity: 1.0 }];
        let dup = compute_with(&input(&c), &[&Broken("x"), &Broken("x")]);
        assert_eq!(dup, Err(MetricsError::DuplicateMetric("x".into())));
        assert_eq!(compute_with(&input(&[]), &[&FinalOverMax]), Err(MetricsError::EmptyEquity));
    }
}
