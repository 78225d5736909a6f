//! The search space: [`ParamRange`]s, their checks against the strategy's table, the
//! grid's points, and the unit-cube mapping the TPE sampler works in.

use super::error::OptimizeError;
use crate::backtest::strategy::{StrategySpec, STRATEGIES};
use serde::{Deserialize, Serialize};

/// Most points a grid may have (the product of every range's count): checked before a
/// single point is built.
pub const GRID_POINTS_MAX: usize = 10_000;
/// Decimal places grid values and quantised samples are rounded to, so `0.1` steps give
/// `0.3`, not `0.30000000000000004`.
pub const VALUE_DECIMALS: i32 = 10;

/// One parameter's declared range, inclusive at both ends.
///
/// - `step`: the grid's spacing (`min, min + step, ...` up to `max`); a TPE sample is
///   snapped to the same lattice. Required by the grid; optional for TPE (continuous).
/// - `log`: TPE samples `ln(value)` uniformly instead of the value (for scale-like
///   parameters; needs `min > 0`). The grid refuses it (a grid is linear in `step`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamRange {
    pub name: String,
    pub min: f64,
    pub max: f64,
    #[serde(default)]
    pub step: Option<f64>,
    #[serde(default)]
    pub log: bool,
}

impl ParamRange {
    pub fn new(name: &str, min: f64, max: f64, step: Option<f64>) -> Self {
        ParamRange { name: name.to_string(), min, max, step, log: false }
    }

    /// Parses `name=min:max`, `name=min:max:step` or `name=min:max:log` (the CLI's
    /// `--range`).
    pub fn parse(text: &str) -> Result<ParamRange, OptimizeError> {
        let bad = || OptimizeError::RangeSyntax(text.to_string());
        let (name, spec) = text.split_once('=').ok_or_else(bad)?;
        let parts: Vec<&str> = spec.split(':').map(str::trim).collect();
        if name.trim().is_empty() || !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
        let mut r = ParamRange::new(name.trim(), num(parts[0])?, num(parts[1])?, None);
        match parts.get(2) {
            Some(&"log") => r.log = true,
            Some(s) => r.step = Some(num(s)?),
            None => {}
        }
        Ok(r)
    }

    /// Values on the lattice, `min + k * step` for `k` in `0..count` (grid only).
    fn count(&self, step: f64) -> usize {
        ((self.max - self.min) / step + 1e-9).floor() as usize + 1
    }

    fn value_at(&self, k: usize, step: f64) -> f64 {
        round_value(self.min + k as f64 * step)
    }

    /// Maps `u` in [0, 1] to a value (log scale when `log`), snapped to the step.
    pub(crate) fn value_at_unit(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let v = if self.log { (self.min.ln() + u * (self.max.ln() - self.min.ln())).exp() } else { self.min + u * (self.max - self.min) };
        match self.step {
            Some(s) => self.value_at(((v - self.min) / s).round().max(0.0) as usize, s).min(self.max),
            None => v.clamp(self.min, self.max),
        }
    }

    /// The inverse of [`Self::value_at_unit`] (before snapping).
    pub(crate) fn unit_of(&self, v: f64) -> f64 {
        if self.max <= self.min {
            return 0.5;
        }
        let u = if self.log { (v.ln() - self.min.ln()) / (self.max.ln() - self.min.ln()) } else { (v - self.min) / (self.max - self.min) };
        u.clamp(0.0, 1.0)
    }
}

pub(crate) fn round_value(v: f64) -> f64 {
    let scale = 10f64.powi(VALUE_DECIMALS);
    let r = (v * scale).round() / scale;
    if r.is_finite() {
        r
    } else {
        v
    }
}

/// Checks `ranges` against the strategy `base` names: a known strategy, each range a
/// known parameter named once and not also fixed in `base.params`, finite bounds,
/// `min <= max`, `step > 0`, `log` only with `min > 0`.
pub fn check(base: &StrategySpec, ranges: &[ParamRange]) -> Result<(), OptimizeError> {
    let info = STRATEGIES.iter().find(|s| s.name == base.name).ok_or_else(|| {
        let known: Vec<&str> = STRATEGIES.iter().map(|s| s.name).collect();
        OptimizeError::UnknownStrategy { name: base.name.clone(), known: known.join(", ") }
    })?;
    if ranges.is_empty() {
        return Err(OptimizeError::NoRanges);
    }
    for (i, r) in ranges.iter().enumerate() {
        let bad = |why: String| OptimizeError::BadRange { name: r.name.clone(), why };
        if !info.params.iter().any(|(p, _, _)| *p == r.name) {
            let known: Vec<&str> = info.params.iter().map(|(p, _, _)| *p).collect();
            return Err(OptimizeError::UnknownParam { strategy: base.name.clone(), param: r.name.clone(), known: known.join(", ") });
        }
        if ranges[..i].iter().any(|q| q.name == r.name) || base.params.contains_key(&r.name) {
            return Err(bad("is given more than once (as two ranges, or as a range and a fixed --param)".into()));
        }
        if !(r.min.is_finite() && r.max.is_finite()) {
            return Err(bad(format!("bounds must be finite numbers, got {}..{}", r.min, r.max)));
        }
        if r.min > r.max {
            return Err(OptimizeError::EmptyRange { name: r.name.clone(), min: r.min, max: r.max });
        }
        if let Some(s) = r.step {
            if !(s.is_finite() && s > 0.0) {
                return Err(OptimizeError::BadStep { name: r.name.clone(), step: s });
            }
        }
        if r.log && r.min <= 0.0 {
            return Err(bad(format!("a log range needs min > 0, got {}", r.min)));
        }
    }
    Ok(())
}

/// Every grid point (the cartesian product, the last range varying fastest), each a
/// value per range in range order. Refuses a range without a step or with `log`, and
/// more than `max_points` points (counted before any is built).
pub fn grid(ranges: &[ParamRange], max_points: usize) -> Result<Vec<Vec<f64>>, OptimizeError> {
    let mut counts = Vec::with_capacity(ranges.len());
    let mut total: usize = 1;
    for r in ranges {
        let step = match (r.step, r.log) {
            (Some(s), false) => s,
            _ => return Err(OptimizeError::GridNeedsStep { name: r.name.clone() }),
        };
        let c = r.count(step);
        counts.push(c);
        total = total.saturating_mul(c);
    }
    if total > max_points {
        return Err(OptimizeError::TooManyPoints { points: total, max: max_points });
    }
    let mut points = Vec::with_capacity(total);
    for mut n in 0..total {
        let mut p = vec![0.0; ranges.len()];
        for d in (0..ranges.len()).rev() {
            let step = ranges[d].step.unwrap_or(1.0);
            p[d] = ranges[d].value_at(n % counts[d], step);
            n /= counts[d];
        }
        points.push(p);
    }
    Ok(points)
}

/// How many distinct points the space has, when every range has a step (else `None`:
/// continuous).
pub fn finite_size(ranges: &[ParamRange]) -> Option<usize> {
    ranges.iter().try_fold(1usize, |acc, r| r.step.map(|s| acc.saturating_mul(r.count(s))))
}

/// `base` with the point's values set.
pub fn spec_at(base: &StrategySpec, ranges: &[ParamRange], point: &[f64]) -> StrategySpec {
    let mut spec = base.clone();
    for (r, v) in ranges.iter().zip(point) {
        spec.params.insert(r.name.clone(), *v);
    }
    spec
}
