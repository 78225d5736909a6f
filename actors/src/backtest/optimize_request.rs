//! [`OptimizeRequest`]: the body of `POST /api/backtest/optimize`, and its validation
//! into an [`OptimizePlan`] (pure: no store, no clock). The data, strategy and cost
//! fields are those of [`RunRequest`] and are checked by it; the search fields go through
//! [`OptimizeSpec::check`], the same checks as `tradpal optimize`. Every message names
//! the field.

use super::metrics::Calendar;
use super::optimize::{
    Method, OptimizeError, OptimizeSpec, ParamRange, OBJECTIVE_DEFAULT, TOP_K_DEFAULT, TRAIN_FRACTION_DEFAULT, TRIALS_DEFAULT,
};
use super::request::{Participation, RequestError, RunDefaults, RunPlan, RunRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most rows of the ranked-trials table a request may ask for.
pub const OPTIMIZE_TOP_MAX: usize = 100;

/// The request, as sent. `ranges` are `{"name", "min", "max", "step"?, "log"?}` (the
/// CLI's `--range NAME=MIN:MAX[:STEP|:log]`); `params` are fixed parameters.
/// `train_fraction` (in-sample share) or `out_of_sample_fraction` (its complement), not
/// both; default 0.7 / 0.3.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    pub symbol: String,
    #[serde(default)]
    pub timeframe: Option<String>,
    pub strategy: String,
    #[serde(default, deserialize_with = "super::strategy::de_params")]
    pub params: BTreeMap<String, f64>,
    #[serde(default)]
    pub ranges: Vec<ParamRange>,
    /// `grid` (default) or `tpe`.
    #[serde(default)]
    pub method: Option<String>,
    /// Points the `tpe` method scores (default 100).
    #[serde(default)]
    pub trials: Option<usize>,
    /// The metric to maximise (default `sharpe_ratio`; `max_drawdown` is minimised).
    #[serde(default)]
    pub objective: Option<String>,
    /// Seeds the TPE sampler and the engine's order ids.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub train_fraction: Option<f64>,
    #[serde(default)]
    pub out_of_sample_fraction: Option<f64>,
    /// Rows of the ranked-trials table (default 10, at most [`OPTIMIZE_TOP_MAX`]).
    #[serde(default)]
    pub top_k: Option<usize>,
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
    /// The cost and sizing fields of [`RunRequest`], with the same meaning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participation: Option<Participation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole_units: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_position_size: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_free_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
}

impl OptimizeRequest {
    /// Fills the fields left out from the service's settings (as [`RunRequest::with_defaults`]).
    pub fn with_defaults(mut self, d: &RunDefaults) -> Self {
        d.fill(&mut self.commission, &mut self.risk_free_rate, &mut self.initial_capital);
        d.fill_dates(&mut self.start_date, &mut self.end_date);
        self
    }
}

/// A checked request: what to fetch (and the engine's config), and the search.
#[derive(Debug, Clone)]
pub struct OptimizePlan {
    pub run: RunPlan,
    pub spec: OptimizeSpec,
}

fn field(field: &'static str, why: impl Into<String>) -> RequestError {
    RequestError::Field { field, why: why.into() }
}

/// The request field an [`OptimizeError`] from [`OptimizeSpec::check`] is about.
fn field_of(e: &OptimizeError, fraction_field: &'static str) -> &'static str {
    match e {
        OptimizeError::UnknownStrategy { .. } => "strategy",
        OptimizeError::UnknownObjective { .. } => "objective",
        OptimizeError::UnknownMethod(_) => "method",
        OptimizeError::BadTrials { .. } => "trials",
        OptimizeError::BadTrainFraction(_) => fraction_field,
        _ => "ranges",
    }
}

impl OptimizeRequest {
    /// Checks every field (the run's through [`RunRequest::plan`]).
    pub fn plan(&self) -> Result<OptimizePlan, RequestError> {
        let run = self.run_request().plan()?;
        let (train_fraction, fraction_field) = match (self.train_fraction, self.out_of_sample_fraction) {
            (Some(_), Some(_)) => return Err(field("out_of_sample_fraction", "give train_fraction or out_of_sample_fraction, not both")),
            (Some(f), None) => (f, "train_fraction"),
            (None, Some(f)) => (1.0 - f, "out_of_sample_fraction"),
            (None, None) => (TRAIN_FRACTION_DEFAULT, "train_fraction"),
        };
        if !train_fraction.is_finite() {
            return Err(field(fraction_field, "must be a finite number in (0, 1)"));
        }
        let method = Method::parse(self.method.as_deref().unwrap_or("grid"), self.trials.unwrap_or(TRIALS_DEFAULT))
            .map_err(|e| field("method", e.to_string()))?;
        let top_k = self.top_k.unwrap_or(TOP_K_DEFAULT);
        if !(1..=OPTIMIZE_TOP_MAX).contains(&top_k) {
            return Err(field("top_k", format!("must be in 1..={OPTIMIZE_TOP_MAX} (OPTIMIZE_TOP_MAX), got {top_k}")));
        }
        let mut spec = OptimizeSpec::new(run.spec.clone(), self.ranges.clone(), method);
        spec.objective = self.objective.clone().unwrap_or_else(|| OBJECTIVE_DEFAULT.to_string());
        spec.seed = self.seed.unwrap_or(0);
        spec.top_k = top_k;
        spec.train_fraction = train_fraction;
        spec.check().map_err(|e| match &e {
            OptimizeError::BadTrainFraction(_) if fraction_field == "out_of_sample_fraction" => {
                field(fraction_field, format!("must be in (0, 1), got {:?}", self.out_of_sample_fraction))
            }
            _ => field(field_of(&e, fraction_field), e.to_string()),
        })?;
        Ok(OptimizePlan { run, spec })
    }

    /// The fields a plain run shares, as a [`RunRequest`].
    fn run_request(&self) -> RunRequest {
        RunRequest {
            symbol: self.symbol.clone(),
            timeframe: self.timeframe.clone(),
            strategy: self.strategy.clone(),
            params: self.params.clone(),
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
            seed: self.seed,
            // Robustness analyses are per run; an optimisation does not run them.
            monte_carlo_runs: None,
            monte_carlo_method: None,
            lookahead_checks: None,
            // An optimisation runs one symbol with fraction sizing (`symbols` and
            // `sizing` are not fields of its request: refused as unknown).
            symbols: None,
            sizing: None,
            // An optimisation resolves no models (`ai_ensemble` runs singly).
            model_id: None,
            agent_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(name: &str, min: f64, max: f64, step: Option<f64>) -> ParamRange {
        ParamRange::new(name, min, max, step)
    }

    fn req() -> OptimizeRequest {
        OptimizeRequest {
            symbol: "BTC/USDT".into(),
            strategy: "sma_cross".into(),
            ranges: vec![range("fast", 5.0, 20.0, Some(5.0)), range("slow", 30.0, 60.0, Some(10.0))],
            ..OptimizeRequest::default()
        }
    }

    #[test]
    fn plans_with_defaults_and_oos_fraction() {
        let p = req().plan().unwrap();
        assert_eq!(p.spec.method, Method::Grid);
        assert_eq!(p.spec.train_fraction, TRAIN_FRACTION_DEFAULT);
        let p =
            OptimizeRequest { out_of_sample_fraction: Some(0.25), method: Some("tpe".into()), trials: Some(7), ..req() }.plan().unwrap();
        assert_eq!(p.spec.train_fraction, 0.75);
        assert!(matches!(p.spec.method, Method::Tpe { trials: 7, .. }));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(OptimizeRequest, &str)> = vec![
            (OptimizeRequest { symbol: "BTCUSDT".into(), ..req() }, "symbol"),
            (OptimizeRequest { strategy: "moon".into(), ..req() }, "strategy"),
            (OptimizeRequest { ranges: vec![], ..req() }, "ranges"),
            (OptimizeRequest { ranges: vec![range("nope", 1.0, 2.0, Some(1.0))], ..req() }, "ranges"),
            (OptimizeRequest { ranges: vec![range("fast", 9.0, 2.0, Some(1.0))], ..req() }, "ranges"),
            (OptimizeRequest { ranges: vec![range("fast", 1.0, 20.0, None)], ..req() }, "ranges"),
            (OptimizeRequest { method: Some("anneal".into()), ..req() }, "method"),
            (OptimizeRequest { method: Some("tpe".into()), trials: Some(0), ..req() }, "trials"),
            (OptimizeRequest { objective: Some("luck".into()), ..req() }, "objective"),
            (OptimizeRequest { train_fraction: Some(1.5), ..req() }, "train_fraction"),
            (OptimizeRequest { out_of_sample_fraction: Some(0.0), ..req() }, "out_of_sample_fraction"),
            (OptimizeRequest { train_fraction: Some(0.5), out_of_sample_fraction: Some(0.5), ..req() }, "out_of_sample_fraction"),
            (OptimizeRequest { top_k: Some(0), ..req() }, "top_k"),
            (OptimizeRequest { commission: Some(2.0), ..req() }, "commission"),
        ];
        for (r, name) in cases {
            let e = r.plan().unwrap_err();
            assert!(matches!(&e, RequestError::Field { field, .. } if *field == name), "{name}: {e}");
            assert!(e.to_string().starts_with(name), "{e}");
        }
    }
}
