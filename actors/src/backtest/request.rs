//! [`RunRequest`]: the body of `POST /api/backtest/run`, and its validation into a
//! [`RunPlan`] (pure: no store, no clock). Every message names the field.

use super::config::BacktestConfig;
use super::engine::SYMBOLS_PER_RUN_MAX;
use super::metrics::Calendar;
use super::risk_sizing::RiskSizing;
use super::robustness::{MonteCarloSpec, Resampling, RobustnessRequest, LOOKAHEAD_CHECKS_MAX, MONTE_CARLO_RUNS_MAX};
pub use super::strategy::strategy_list;
use super::strategy::{check, StrategyError, StrategySpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tradpal_messages::{is_valid_symbol, Fixed, Rounding, Timeframe, Timestamp};

/// Strategy names of the spec that are not built yet (the one registry's list).
pub use super::strategy::NOT_BUILT as NOT_BUILT_STRATEGIES;

/// The spec's request, as sent. Unset fields take the defaults of [`BacktestConfig`];
/// no dates means the whole stored range.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// One symbol; or leave it out and give `symbols`.
    #[serde(default)]
    pub symbol: String,
    /// Several symbols on one account (1..=`SYMBOLS_PER_RUN_MAX`), each with its own
    /// instance of the strategy on an equal sleeve of equity; instead of `symbol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<Vec<String>>,
    /// Sizing by a method of the risk core (`fixed_fractional`, `kelly`,
    /// `volatility_target`; see `risk_sizing.rs`) instead of the strategy's fraction of
    /// equity (the default, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizing: Option<RiskSizing>,
    /// 1m, 5m, 15m, 1h, 4h or 1d; default: the finest timeframe stored for the symbol.
    #[serde(default)]
    pub timeframe: Option<String>,
    pub strategy: String,
    /// Numbers, or a parameter's words (`"entry": "cross"`).
    #[serde(default, deserialize_with = "super::strategy::de_params")]
    pub params: BTreeMap<String, f64>,
    /// `YYYY-MM-DD` (00:00 UTC) or RFC 3339; bars opening at or after it.
    #[serde(default)]
    pub start_date: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339; bars opening before it (exclusive).
    #[serde(default)]
    pub end_date: Option<String>,
    /// Starting cash in the quote currency (CLI `--initial-capital`, alias `--cash`).
    #[serde(default, alias = "cash")]
    pub initial_capital: Option<f64>,
    /// Fee rate per fill, maker and taker (0.001 = 0.1%); default `TRANSACTION_COSTS`.
    #[serde(default)]
    pub commission: Option<f64>,
    #[serde(default)]
    pub slippage_bps: Option<u32>,
    /// Largest fraction of a bar's volume one order may fill, in (0, 1], or `"none"` for
    /// no cap; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participation: Option<Participation>,
    /// A fixed size in units of the base asset instead of a fraction of equity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<f64>,
    /// Round target quantities down to whole units (shares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole_units: Option<bool>,
    /// Largest position as a fraction of equity the risk check allows (default 1: no
    /// leverage; raise it for leveraged targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_position_size: Option<f64>,
    /// Annual risk-free rate for Sharpe, Sortino and alpha; default `RISK_FREE_RATE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_free_rate: Option<f64>,
    /// Bars per year for Sharpe and Sortino: `observed` (default), `crypto_24_7`,
    /// `equities_252` or `fx_24_5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Monte Carlo resamples of the trades, 1..=`MONTE_CARLO_RUNS_MAX` (none if unset).
    #[serde(default)]
    pub monte_carlo_runs: Option<usize>,
    /// `bootstrap` (default) or `permutation`.
    #[serde(default)]
    pub monte_carlo_method: Option<String>,
    /// Look-ahead check points, 1..=`LOOKAHEAD_CHECKS_MAX` (none if unset).
    #[serde(default)]
    pub lookahead_checks: Option<usize>,
    /// `ai_ensemble`: the ML model; default the symbol's latest ready direction model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// `ai_ensemble`: the RL agent; default the symbol's latest trained agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// `participation`: a fraction of the bar's volume, or `none` (no cap).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Participation {
    Fraction(f64),
    None,
}

impl Participation {
    /// The fill model's number: the fraction, or infinity for no cap.
    pub fn value(self) -> f64 {
        match self {
            Participation::Fraction(f) => f,
            Participation::None => f64::INFINITY,
        }
    }
}

/// A participation cap that is neither a number nor `none` (the range is checked
/// with the rest of the request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a fraction in (0, 1] or none")]
pub struct BadParticipation(pub String);

impl std::str::FromStr for Participation {
    type Err = BadParticipation;
    fn from_str(s: &str) -> Result<Self, BadParticipation> {
        match s.trim() {
            "none" => Ok(Participation::None),
            t => t.parse::<f64>().map(Participation::Fraction).map_err(|_| BadParticipation(t.to_string())),
        }
    }
}

impl Serialize for Participation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Participation::Fraction(f) => s.serialize_f64(*f),
            Participation::None => s.serialize_str("none"),
        }
    }
}

impl<'de> Deserialize<'de> for Participation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(f) => Ok(Participation::Fraction(f)),
            Raw::Word(w) => w.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The service's settings that stand in for fields a request leaves out (precedence:
/// the field, then the setting, then the built-in default of [`BacktestConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunDefaults {
    /// `TRANSACTION_COSTS` (`trading_config.transaction_costs`).
    pub commission: Option<f64>,
    /// `RISK_FREE_RATE` (`risk_management.risk_free_rate`).
    pub risk_free_rate: Option<f64>,
    /// `trading_config.capital`.
    pub initial_capital: Option<f64>,
    /// `trading_config.timeframes[0]` (1h by default): the timeframe a backtest without
    /// one runs on, resampled from finer stored bars (the finest stored when only coarser
    /// data exists). A newcomer's first call then trades hourly bars, not every minute.
    pub timeframe: Option<Timeframe>,
    /// `BACKTEST_START_DATE` / `BACKTEST_END_DATE`, only when configured (file or
    /// environment): their built-in values (2020-01-01 .. 2024-01-01) would silently cut
    /// most data sets, so unconfigured they leave the whole stored range.
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

impl RunDefaults {
    /// None: every field falls back to the built-in default.
    pub const BUILT_IN: RunDefaults =
        RunDefaults { commission: None, risk_free_rate: None, initial_capital: None, timeframe: None, start_date: None, end_date: None };

    /// Fills a request's commission, risk-free rate and starting cash where it left them
    /// out (the one rule of the run, optimisation and walk-forward requests).
    pub fn fill(&self, commission: &mut Option<f64>, risk_free_rate: &mut Option<f64>, initial_capital: &mut Option<f64>) {
        *commission = commission.or(self.commission);
        *risk_free_rate = risk_free_rate.or(self.risk_free_rate);
        *initial_capital = initial_capital.or(self.initial_capital);
    }

    /// Fills a request's date range where it gave none (the configured defaults).
    pub fn fill_dates(&self, start_date: &mut Option<String>, end_date: &mut Option<String>) {
        if start_date.is_none() && end_date.is_none() {
            *start_date = self.start_date.clone();
            *end_date = self.end_date.clone();
        }
    }

    /// `TRANSACTION_COSTS`, `RISK_FREE_RATE` and `trading_config.capital`.
    pub fn from_settings(settings: &tradpal_config::Settings) -> Self {
        RunDefaults {
            commission: Some(settings.backtest.transaction_costs),
            risk_free_rate: Some(settings.risk.risk_free_rate),
            initial_capital: Some(settings.trading.capital),
            timeframe: settings.trading.timeframes.first().and_then(|t| t.as_str().parse().ok()),
            start_date: settings.origins.contains_key("BACKTEST_START_DATE").then(|| settings.backtest.start_date.to_string()),
            end_date: settings.origins.contains_key("BACKTEST_END_DATE").then(|| settings.backtest.end_date.to_string()),
        }
    }
}

/// A checked request, ready to fetch bars for and run.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The symbol, or a portfolio's symbols joined by `,` (for events and logs).
    pub symbol: String,
    /// Every symbol of the run, in name order (one for a single-symbol run).
    pub symbols: Vec<String>,
    /// `None`: the finest stored (resolved by the actor against the store).
    pub timeframe: Option<Timeframe>,
    pub spec: StrategySpec,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub config: BacktestConfig,
    /// The robustness analyses to run after the backtest (seeded with `seed`).
    pub robustness: RobustnessRequest,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("{field}: {why}")]
    Field { field: &'static str, why: String },
    #[error("strategy {name:?} is not built yet: it arrives with {issue}. Built-in strategies: {built}")]
    NotBuilt { name: String, issue: &'static str, built: String },
}

fn field(field: &'static str, why: impl Into<String>) -> RequestError {
    RequestError::Field { field, why: why.into() }
}

/// `YYYY-MM-DD` as 00:00 UTC, or an RFC 3339 time.
pub fn parse_date(name: &'static str, text: &str) -> Result<Timestamp, RequestError> {
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_string() };
    full.parse::<Timestamp>().map_err(|e| field(name, format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time: {e}")))
}

impl RunRequest {
    /// Fills the fields left out from the service's settings.
    pub fn with_defaults(mut self, d: &RunDefaults) -> Self {
        d.fill(&mut self.commission, &mut self.risk_free_rate, &mut self.initial_capital);
        d.fill_dates(&mut self.start_date, &mut self.end_date);
        self
    }

    /// Checks every field; builds the strategy once to check its parameters.
    pub fn plan(&self) -> Result<RunPlan, RequestError> {
        let symbols = self.symbols()?;
        let timeframe =
            self.timeframe.as_deref().map(|t| t.parse::<Timeframe>().map_err(|e| field("timeframe", e.to_string()))).transpose()?;
        let spec = self.spec()?;
        let start = self.start_date.as_deref().map(|d| parse_date("start_date", d)).transpose()?;
        let end = self.end_date.as_deref().map(|d| parse_date("end_date", d)).transpose()?;
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                return Err(field("end_date", format!("must be after start_date ({s}), got {e}")));
            }
        }
        let config = self.config()?;
        let robustness = self.robustness(config.seed)?;
        if symbols.len() > 1 && robustness.lookahead_checks.is_some() {
            return Err(field("lookahead_checks", "the look-ahead check takes one symbol; run it per symbol"));
        }
        Ok(RunPlan { symbol: symbols.join(","), symbols, timeframe, spec, start, end, robustness, config })
    }

    /// `symbol`, or `symbols` (1..=`SYMBOLS_PER_RUN_MAX`, distinct), sorted by name.
    fn symbols(&self) -> Result<Vec<String>, RequestError> {
        let (name, mut list) = match (&self.symbols, self.symbol.is_empty()) {
            (None, _) => ("symbol", vec![self.symbol.clone()]),
            (Some(list), true) => ("symbols", list.clone()),
            (Some(_), false) => return Err(field("symbols", "give symbol or symbols, not both")),
        };
        if list.is_empty() || list.len() > SYMBOLS_PER_RUN_MAX {
            return Err(field("symbols", format!("must list 1..={SYMBOLS_PER_RUN_MAX} symbols (SYMBOLS_PER_RUN_MAX), got {}", list.len())));
        }
        if let Some(bad) = list.iter().find(|s| !is_valid_symbol(s)) {
            return Err(field(name, format!("invalid symbol {bad:?}: expected BASE/QUOTE, e.g. \"BTC/USDT\"")));
        }
        list.sort();
        if let Some(w) = list.windows(2).find(|w| w[0] == w[1]) {
            return Err(field("symbols", format!("{} is listed twice", w[0])));
        }
        Ok(list)
    }

    fn robustness(&self, seed: u64) -> Result<RobustnessRequest, RequestError> {
        if let Some(runs) = self.monte_carlo_runs.filter(|r| *r == 0 || *r > MONTE_CARLO_RUNS_MAX) {
            return Err(field("monte_carlo_runs", format!("must be in 1..={MONTE_CARLO_RUNS_MAX} (MONTE_CARLO_RUNS_MAX), got {runs}")));
        }
        if let Some(k) = self.lookahead_checks.filter(|k| *k == 0 || *k > LOOKAHEAD_CHECKS_MAX) {
            return Err(field("lookahead_checks", format!("must be in 1..={LOOKAHEAD_CHECKS_MAX} (LOOKAHEAD_CHECKS_MAX), got {k}")));
        }
        let method = match self.monte_carlo_method.as_deref() {
            None => Resampling::default(),
            Some(m) if self.monte_carlo_runs.is_none() => {
                return Err(field("monte_carlo_method", format!("{m:?} given without monte_carlo_runs")))
            }
            Some(m) => m.parse::<Resampling>().map_err(|e| field("monte_carlo_method", e.to_string()))?,
        };
        Ok(RobustnessRequest {
            monte_carlo: self.monte_carlo_runs.map(|runs| MonteCarloSpec { runs, seed, method }),
            lookahead_checks: self.lookahead_checks,
            lookahead_seed: seed,
        })
    }

    fn spec(&self) -> Result<StrategySpec, RequestError> {
        if let Some((name, issue)) = NOT_BUILT_STRATEGIES.iter().find(|(n, _)| *n == self.strategy) {
            return Err(RequestError::NotBuilt { name: name.to_string(), issue, built: strategy_list() });
        }
        let spec = StrategySpec { name: self.strategy.clone(), params: self.params.clone(), ai: None };
        check(&spec).map_err(|e| match e {
            StrategyError::UnknownStrategy { .. } => field("strategy", format!("{e}; with parameters: {}", strategy_list())),
            other => field("params", other.to_string()),
        })?;
        Ok(spec)
    }

    /// The run's config from the cost, sizing and limit fields (what the CLI's flags
    /// build too, so both sides share every default and check).
    pub fn config(&self) -> Result<BacktestConfig, RequestError> {
        let money = |name: &'static str, x: f64| {
            if !x.is_finite() {
                return Err(field(name, format!("must be a finite number, got {x}")));
            }
            Fixed::from_f64_rounded(x, Rounding::Nearest).map_err(|e| field(name, e.to_string()))
        };
        let mut config = BacktestConfig { seed: self.seed.unwrap_or(0), ..BacktestConfig::default() };
        if let Some(c) = self.initial_capital {
            config.starting_cash = money("initial_capital", c)?;
            if !config.starting_cash.is_positive() {
                return Err(field("initial_capital", format!("must be > 0, got {c}")));
            }
        }
        if let Some(c) = self.commission {
            let rate = money("commission", c)?;
            if rate.is_negative() || rate >= Fixed::ONE {
                return Err(field("commission", format!("must be in [0, 1) (0.001 = 0.1%), got {c}")));
            }
            config = config.with_commission(rate);
        }
        if let Some(bps) = self.slippage_bps {
            config = config.with_slippage_bps(bps);
        }
        self.limits(&mut config)?;
        config.sizing = self.sizing.clone();
        config.validate().map_err(|why| {
            let why = why.to_string();
            let name = ["starting_cash", "commission", "slippage", "sizing", "participation", "quantity", "risk_free_rate"]
                .into_iter()
                .find(|n| why.starts_with(n))
                .unwrap_or("config");
            field(
                if name == "starting_cash" {
                    "initial_capital"
                } else if name == "slippage" {
                    "slippage_bps"
                } else {
                    name
                },
                why,
            )
        })?;
        Ok(config)
    }

    /// participation, quantity, whole units, the position limit, the risk-free rate and
    /// the calendar.
    fn limits(&self, config: &mut BacktestConfig) -> Result<(), RequestError> {
        if let Some(p) = self.participation {
            config.fill.participation = p.value();
        }
        if let Some(q) = self.quantity {
            if !(q.is_finite() && q > 0.0) {
                return Err(field("quantity", format!("must be a finite number of units > 0, got {q}")));
            }
            config.quantity = Some(Fixed::from_f64_rounded(q, Rounding::Nearest).map_err(|e| field("quantity", e.to_string()))?);
        }
        config.whole_units = self.whole_units.unwrap_or(config.whole_units);
        if let Some(m) = self.max_position_size {
            if !(m > 0.0 && m <= MAX_POSITION_SIZE_MAX) {
                return Err(field("max_position_size", format!("must be in (0, {MAX_POSITION_SIZE_MAX}], got {m}")));
            }
            config.limits.max_position_size = m;
        }
        config.risk_free_rate = self.risk_free_rate.unwrap_or(config.risk_free_rate);
        config.calendar = self.calendar.unwrap_or(config.calendar);
        Ok(())
    }
}

/// Largest `max_position_size` a backtest accepts (10x equity).
pub const MAX_POSITION_SIZE_MAX: f64 = 10.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> RunRequest {
        RunRequest { symbol: "BTC/USDT".into(), strategy: "sma_cross".into(), ..RunRequest::default() }
    }

    #[test]
    fn spec_example_plans() {
        let r = RunRequest {
            start_date: Some("2023-01-01".into()),
            end_date: Some("2024-01-01".into()),
            initial_capital: Some(10_000.0),
            commission: Some(0.001),
            ..req()
        };
        let p = r.plan().unwrap();
        assert_eq!(p.start.unwrap().to_string(), "2023-01-01T00:00:00Z");
        assert_eq!(p.config.fill.taker_fee, Fixed::from_f64_rounded(0.001, Rounding::Nearest).unwrap());
        assert!(p.timeframe.is_none());
        assert_eq!(p.robustness, RobustnessRequest::default(), "no analysis unless asked");
        let r = RunRequest {
            monte_carlo_runs: Some(500),
            monte_carlo_method: Some("permutation".into()),
            lookahead_checks: Some(20),
            seed: Some(4),
            ..req()
        };
        let rb = r.plan().unwrap().robustness;
        assert_eq!(rb.monte_carlo, Some(MonteCarloSpec { runs: 500, seed: 4, method: Resampling::Permutation }));
        assert_eq!((rb.lookahead_checks, rb.lookahead_seed), (Some(20), 4));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(RunRequest, &str)> = vec![
            (RunRequest { symbol: "BTCUSDT".into(), ..req() }, "symbol"),
            (RunRequest { strategy: "nope".into(), ..req() }, "strategy"),
            (RunRequest { params: [("fast".to_string(), 50.0)].into(), ..req() }, "params"),
            (RunRequest { start_date: Some("2023-02-01".into()), end_date: Some("2023-01-01".into()), ..req() }, "end_date"),
            (RunRequest { start_date: Some("yesterday".into()), ..req() }, "start_date"),
            (RunRequest { commission: Some(f64::NAN), ..req() }, "commission"),
            (RunRequest { commission: Some(1.5), ..req() }, "commission"),
            (RunRequest { initial_capital: Some(-5.0), ..req() }, "initial_capital"),
            (RunRequest { slippage_bps: Some(5_000), ..req() }, "slippage_bps"),
            (RunRequest { timeframe: Some("2m".into()), ..req() }, "timeframe"),
            (RunRequest { monte_carlo_runs: Some(0), ..req() }, "monte_carlo_runs"),
            (RunRequest { monte_carlo_runs: Some(MONTE_CARLO_RUNS_MAX + 1), ..req() }, "monte_carlo_runs"),
            (RunRequest { monte_carlo_runs: Some(10), monte_carlo_method: Some("jackknife".into()), ..req() }, "monte_carlo_method"),
            (RunRequest { monte_carlo_method: Some("permutation".into()), ..req() }, "monte_carlo_method"),
            (RunRequest { lookahead_checks: Some(0), ..req() }, "lookahead_checks"),
            (RunRequest { lookahead_checks: Some(LOOKAHEAD_CHECKS_MAX + 1), ..req() }, "lookahead_checks"),
        ];
        for (r, name) in cases {
            let e = r.plan().unwrap_err();
            assert!(matches!(&e, RequestError::Field { field, .. } if *field == name), "{name}: {e}");
            assert!(e.to_string().starts_with(name), "{e}");
        }
    }

    #[test]
    fn ai_ensemble_plans_without_models_and_checks_its_params() {
        // The models are resolved by the actor when the run starts; the plan checks the rest.
        let plan = RunRequest { strategy: "ai_ensemble".into(), ..req() }.plan().unwrap();
        assert!(plan.spec.ai.is_none());
        let mut bad = RunRequest { strategy: "ai_ensemble".into(), ..req() };
        bad.params.insert("threshold".into(), 2.0);
        let e = bad.plan().unwrap_err().to_string();
        assert!(e.starts_with("params") && e.contains("threshold"), "{e}");
    }
}
