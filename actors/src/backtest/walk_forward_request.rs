//! [`WalkForwardRequest`]: the body of `POST /api/backtest/walk-forward`, and its checks
//! (pure: no store, no clock). The run and search fields are an optimisation's and go
//! through [`OptimizeRequest::plan`]; the window sizes, given in bars or as fractions
//! of the fetched bars, are resolved by [`WindowSpec::resolve`] once the bars are known.
//! Every message names the field.

use super::optimize::{ParamRange, SEGMENT_BARS_MIN};
use super::optimize_request::{OptimizePlan, OptimizeRequest};
use super::request::RequestError;
use super::walk_forward::{self, Windows, WINDOWS_MAX};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most engine runs one walk-forward may make (windows x (points + 1)): bounds the work
/// one request can queue on the single search slot.
pub const WALK_FORWARD_RUNS_MAX: usize = 100_000;

/// The request, as sent: an optimisation's fields (without its single split) plus the
/// windows. Each size is `<name>_bars` or `<name>_fraction` (of the fetched bars), not
/// both; `train` and `test` are required, `step` defaults to the test size; `mode` is
/// `rolling` (default) or `anchored`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkForwardRequest {
    pub symbol: String,
    #[serde(default)]
    pub timeframe: Option<String>,
    pub strategy: String,
    #[serde(default, deserialize_with = "super::strategy::de_params")]
    pub params: BTreeMap<String, f64>,
    #[serde(default)]
    pub ranges: Vec<ParamRange>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub trials: Option<usize>,
    #[serde(default)]
    pub objective: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub train_bars: Option<usize>,
    #[serde(default)]
    pub train_fraction: Option<f64>,
    #[serde(default)]
    pub test_bars: Option<usize>,
    #[serde(default)]
    pub test_fraction: Option<f64>,
    #[serde(default)]
    pub step_bars: Option<usize>,
    #[serde(default)]
    pub step_fraction: Option<f64>,
    /// `rolling` (default) or `anchored`.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub initial_capital: Option<f64>,
    #[serde(default)]
    pub commission: Option<f64>,
    #[serde(default)]
    pub slippage_bps: Option<u32>,
    /// The cost and sizing fields of [`RunRequest`](super::request::RunRequest), with the same meaning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participation: Option<super::request::Participation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole_units: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_position_size: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_free_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<super::metrics::Calendar>,
}

/// A window size as sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    Bars(usize),
    Fraction(f64),
}

/// The windows as sent; sizes become bars in [`WindowSpec::resolve`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    pub train: Size,
    pub test: Size,
    /// `None`: the test size.
    pub step: Option<Size>,
    pub anchored: bool,
}

/// A checked request: the optimisation's plan (what to fetch, the search) and the windows.
#[derive(Debug, Clone)]
pub struct WalkForwardPlan {
    pub optimize: OptimizePlan,
    pub windows: WindowSpec,
}

fn field(field: &'static str, why: impl Into<String>) -> RequestError {
    RequestError::Field { field, why: why.into() }
}

/// One size from its `_bars` / `_fraction` pair; `None` when neither is given.
fn size(bars: Option<usize>, fraction: Option<f64>, names: (&'static str, &'static str)) -> Result<Option<Size>, RequestError> {
    match (bars, fraction) {
        (Some(_), Some(_)) => Err(field(names.1, format!("give {} or {}, not both", names.0, names.1))),
        (Some(b), None) if b < SEGMENT_BARS_MIN => {
            Err(field(names.0, format!("must be >= {SEGMENT_BARS_MIN} (SEGMENT_BARS_MIN), got {b}")))
        }
        (Some(b), None) => Ok(Some(Size::Bars(b))),
        (None, Some(f)) if !(f.is_finite() && f > 0.0 && f < 1.0) => {
            Err(field(names.1, format!("must be a finite number in (0, 1), got {f}")))
        }
        (None, Some(f)) => Ok(Some(Size::Fraction(f))),
        (None, None) => Ok(None),
    }
}

impl WalkForwardRequest {
    /// Checks every field that does not depend on the bars.
    pub fn plan(&self) -> Result<WalkForwardPlan, RequestError> {
        let optimize = self.optimize_request().plan()?;
        let train = size(self.train_bars, self.train_fraction, ("train_bars", "train_fraction"))?
            .ok_or_else(|| field("train_bars", "give train_bars or train_fraction"))?;
        let test = size(self.test_bars, self.test_fraction, ("test_bars", "test_fraction"))?
            .ok_or_else(|| field("test_bars", "give test_bars or test_fraction"))?;
        let step = size(self.step_bars, self.step_fraction, ("step_bars", "step_fraction"))?;
        let anchored = match self.mode.as_deref().unwrap_or("rolling") {
            "rolling" => false,
            "anchored" => true,
            other => return Err(field("mode", format!("must be rolling or anchored, got {other:?}"))),
        };
        Ok(WalkForwardPlan { optimize, windows: WindowSpec { train, test, step, anchored } })
    }

    /// The fields an optimisation shares, as an [`OptimizeRequest`] (its split unused).
    fn optimize_request(&self) -> OptimizeRequest {
        OptimizeRequest {
            symbol: self.symbol.clone(),
            timeframe: self.timeframe.clone(),
            strategy: self.strategy.clone(),
            params: self.params.clone(),
            ranges: self.ranges.clone(),
            method: self.method.clone(),
            trials: self.trials,
            objective: self.objective.clone(),
            seed: self.seed,
            start_date: self.start_date.clone(),
            end_date: self.end_date.clone(),
            initial_capital: self.initial_capital,
            commission: self.commission,
            slippage_bps: self.slippage_bps,
            participation: self.participation,
            quantity: self.quantity,
            whole_units: self.whole_units,
            max_position_size: self.max_position_size,
            risk_free_rate: self.risk_free_rate,
            calendar: self.calendar,
            ..OptimizeRequest::default()
        }
    }
}

impl WalkForwardRequest {
    /// Fills the fields left out from the service's settings (as `RunRequest::with_defaults`).
    pub fn with_defaults(mut self, d: &super::request::RunDefaults) -> Self {
        d.fill(&mut self.commission, &mut self.risk_free_rate, &mut self.initial_capital);
        d.fill_dates(&mut self.start_date, &mut self.end_date);
        self
    }
}

impl WindowSpec {
    /// The windows in bars over `n` fetched bars, checked: each size at least
    /// [`SEGMENT_BARS_MIN`], step >= test, one window fits, at most [`WINDOWS_MAX`]
    /// windows. Returns the windows and their count.
    pub fn resolve(&self, n: usize) -> Result<(Windows, usize), RequestError> {
        let bars = |s: Size, name: (&'static str, &'static str)| -> Result<usize, RequestError> {
            match s {
                Size::Bars(b) => Ok(b),
                Size::Fraction(f) => {
                    let b = (n as f64 * f).floor() as usize;
                    if b < SEGMENT_BARS_MIN {
                        return Err(field(name.1, format!("{f} of {n} bars is {b} bars, need at least {SEGMENT_BARS_MIN}")));
                    }
                    Ok(b)
                }
            }
        };
        let train_bars = bars(self.train, ("train_bars", "train_fraction"))?;
        let test_bars = bars(self.test, ("test_bars", "test_fraction"))?;
        let step_name = match self.step {
            Some(Size::Fraction(_)) => "step_fraction",
            _ => "step_bars",
        };
        let step_bars = match self.step {
            Some(s) => bars(s, ("step_bars", "step_fraction"))?,
            None => test_bars,
        };
        if step_bars < test_bars {
            return Err(field(
                step_name,
                format!("step of {step_bars} bars < test window of {test_bars} bars: test windows would overlap"),
            ));
        }
        let train_name = if matches!(self.train, Size::Fraction(_)) { "train_fraction" } else { "train_bars" };
        if train_bars.saturating_add(test_bars) > n {
            return Err(field(train_name, format!("training window {train_bars} + test window {test_bars} bars exceed the {n} bars fetched: shrink them or widen start_date / end_date")));
        }
        let count = (n - train_bars - test_bars) / step_bars + 1;
        if count > WINDOWS_MAX {
            return Err(field(step_name, format!("{count} windows, more than {WINDOWS_MAX} (WINDOWS_MAX): raise the step")));
        }
        let w = Windows { train_bars, test_bars, step_bars, anchored: self.anchored };
        debug_assert_eq!(walk_forward::windows(n, &w).map(|v| v.len()).ok(), Some(count));
        Ok((w, count))
    }
}

/// Checks the work a walk-forward of `windows` windows plans against
/// [`WALK_FORWARD_RUNS_MAX`]; returns the engine runs it plans.
pub fn check_runs(plan: &OptimizePlan, windows: usize) -> Result<usize, RequestError> {
    let runs = walk_forward::runs_planned(&plan.spec, windows);
    if runs > WALK_FORWARD_RUNS_MAX {
        return Err(field("ranges", format!("{windows} windows x {} points per window is {runs} engine runs, more than {WALK_FORWARD_RUNS_MAX} (WALK_FORWARD_RUNS_MAX): fewer points (ranges / trials) or fewer windows", runs / windows.max(1) - 1)));
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> WalkForwardRequest {
        WalkForwardRequest {
            symbol: "BTC/USDT".into(),
            strategy: "sma_cross".into(),
            ranges: vec![ParamRange::new("fast", 5.0, 20.0, Some(5.0)), ParamRange::new("slow", 30.0, 60.0, Some(10.0))],
            train_bars: Some(30),
            test_bars: Some(20),
            ..WalkForwardRequest::default()
        }
    }

    #[test]
    fn sizes_resolve_in_bars_and_fractions() {
        let p = req().plan().unwrap();
        assert_eq!(p.windows.resolve(100).unwrap(), (Windows { train_bars: 30, test_bars: 20, step_bars: 20, anchored: false }, 3));
        let f = WalkForwardRequest {
            train_bars: None,
            train_fraction: Some(0.5),
            test_bars: None,
            test_fraction: Some(0.25),
            mode: Some("anchored".into()),
            ..req()
        };
        assert_eq!(
            f.plan().unwrap().windows.resolve(100).unwrap(),
            (Windows { train_bars: 50, test_bars: 25, step_bars: 25, anchored: true }, 2)
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(WalkForwardRequest, &str)> = vec![
            (WalkForwardRequest { train_bars: None, ..req() }, "train_bars"),
            (WalkForwardRequest { test_bars: None, ..req() }, "test_bars"),
            (WalkForwardRequest { train_fraction: Some(0.5), ..req() }, "train_fraction"),
            (WalkForwardRequest { test_bars: None, test_fraction: Some(1.5), ..req() }, "test_fraction"),
            (WalkForwardRequest { test_bars: Some(1), ..req() }, "test_bars"),
            (WalkForwardRequest { mode: Some("sideways".into()), ..req() }, "mode"),
            (WalkForwardRequest { ranges: vec![], ..req() }, "ranges"),
            (WalkForwardRequest { method: Some("anneal".into()), ..req() }, "method"),
        ];
        for (r, name) in cases {
            let e = r.plan().unwrap_err();
            assert!(e.to_string().starts_with(name), "{name}: {e}");
        }
        let resolved = |r: WalkForwardRequest, n: usize| r.plan().unwrap().windows.resolve(n).unwrap_err().to_string();
        assert!(resolved(WalkForwardRequest { step_bars: Some(10), ..req() }, 100).starts_with("step_bars"));
        assert!(resolved(req(), 40).starts_with("train_bars"));
        assert!(resolved(WalkForwardRequest { test_bars: None, test_fraction: Some(0.01), ..req() }, 100).starts_with("test_fraction"));
        assert!(
            resolved(WalkForwardRequest { train_bars: Some(2), test_bars: Some(2), ..req() }, 10_000).starts_with("step_bars"),
            "WINDOWS_MAX"
        );
    }
}
