//! Strategy parameters: the table of known strategies with their defaults, and the
//! checks every value passes before a strategy is built.

use super::StrategySpec;
use crate::market_data::indicators::{IndicatorError, PERIOD_BARS_MAX};
use std::collections::BTreeMap;

/// Largest |target| a strategy may ask for, as a fraction of equity (10x leverage; the
/// same bound the risk limits accept).
pub const FRACTION_MAX: f64 = crate::risk::bounds::FRACTION_MAX;

/// A built-in strategy: its name, what it does, its parameters `(name, default, doc)`.
#[derive(Debug, Clone, Copy)]
pub struct StrategyInfo {
    pub name: &'static str,
    pub about: &'static str,
    pub params: &'static [(&'static str, f64, &'static str)],
}

const FRACTION: (&str, f64, &str) = ("fraction", 1.0, "size of the target position as a fraction of equity");
const ENTRY: (&str, f64, &str) = (
    "entry",
    0.0,
    "state (0): take the SMAs' side at the end of warm-up; cross (1): wait for the first cross, as backtesting.py and vectorbt do",
);

/// Parameters whose values are words on every surface (`--param entry=cross`,
/// `"entry": "cross"`), stored as the number beside each word (so a spec stays a map of
/// numbers, and its hash does not depend on the spelling).
pub const PARAM_WORDS: &[(&str, &[(&str, f64)])] = &[("entry", &[("state", 0.0), ("cross", 1.0)])];

/// The number a parameter's value stands for: a number as written, or one of the
/// parameter's words ([`PARAM_WORDS`]).
pub fn param_value(name: &str, text: &str) -> Result<f64, StrategyError> {
    let text = text.trim();
    if let Ok(v) = text.parse::<f64>() {
        return Ok(v);
    }
    let words = PARAM_WORDS.iter().find(|(n, _)| *n == name).map(|(_, w)| *w);
    match words.and_then(|w| w.iter().find(|(word, _)| *word == text)) {
        Some((_, v)) => Ok(*v),
        None => Err(StrategyError::ParamSyntax(match words {
            Some(w) => format!("{name}={text} (expected {})", w.iter().map(|(word, _)| *word).collect::<Vec<_>>().join(" or ")),
            None => format!("{name}={text}"),
        })),
    }
}

/// The word a parameter's number stands for, when it has words.
pub fn param_word(name: &str, value: f64) -> Option<&'static str> {
    let words = PARAM_WORDS.iter().find(|(n, _)| *n == name)?.1;
    words.iter().find(|(_, v)| *v == value).map(|(w, _)| *w)
}

/// Serialises a parameter map with whole values as integers (`"fast": 10`, not `10.0`):
/// periods are counts of bars, and a report should say so.
pub fn ser_params<S: serde::Serializer>(params: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(params.len()))?;
    for (k, v) in params {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            map.serialize_entry(k, &(*v as i64))?;
        } else {
            map.serialize_entry(k, v)?;
        }
    }
    map.end()
}

/// Deserialises a parameter map whose values are numbers, or words of [`PARAM_WORDS`].
pub fn de_params<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Value {
        Number(f64),
        Word(String),
    }
    let raw: BTreeMap<String, Value> = serde::Deserialize::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| match v {
            Value::Number(x) => Ok((k, x)),
            Value::Word(w) => param_value(&k, &w).map(|x| (k, x)).map_err(serde::de::Error::custom),
        })
        .collect()
}

impl StrategyInfo {
    /// Whether it needs resolved models to be built (`ai_ensemble`): such a strategy runs
    /// where the service resolves them, not from its spec alone.
    pub fn needs_models(&self) -> bool {
        self.name == "ai_ensemble"
    }
}

/// Every built-in strategy.
pub const STRATEGIES: &[StrategyInfo] = &[
    StrategyInfo {
        name: "sma_cross",
        about: "always in the market: long while SMA(fast) > SMA(slow), short while below; reverses on each cross",
        params: &[("fast", 10.0, "fast SMA period, bars"), ("slow", 20.0, "slow SMA period, bars (> fast)"), FRACTION, ENTRY],
    },
    StrategyInfo {
        name: "sma_cross_long",
        about: "long while SMA(fast) > SMA(slow), flat otherwise",
        params: &[("fast", 10.0, "fast SMA period, bars"), ("slow", 20.0, "slow SMA period, bars (> fast)"), FRACTION, ENTRY],
    },
    StrategyInfo { name: "buy_and_hold", about: "long from the first bar to the end", params: &[FRACTION] },
    StrategyInfo {
        name: "rsi_reversion",
        about: "long when RSI(period) < lower, flat when RSI > upper, otherwise keep",
        params: &[
            ("period", 14.0, "RSI period, bars"),
            ("lower", 30.0, "entry level, 0..100"),
            ("upper", 70.0, "exit level, lower..100"),
            FRACTION,
        ],
    },
    StrategyInfo {
        name: "ai_ensemble",
        about: "the AI ensemble: the ML model's probability, the RL agent's action and the regime, weighted (config \
                strategies.ai_ensemble.*); buy above threshold, sell below -threshold; the models are the symbol's latest \
                ready ones unless model_id / agent_id name them, pinned when the run starts",
        params: &[
            ("threshold", 0.1, "the score a decision must reach to act, in (0, 1]"),
            ("long_only", 0.0, "1: sell goes flat instead of short; 0: it goes short"),
            FRACTION,
        ],
    },
    StrategyInfo {
        name: "bollinger_breakout",
        about: "long when the close is above the upper band, flat when below the middle band",
        params: &[("period", 20.0, "band period, bars"), ("k", 2.0, "band width, standard deviations"), FRACTION],
    },
];

/// Strategies every surface names but that are not built yet, with the issue that
/// builds them: refused (501), never substituted. Empty since `ai_ensemble` was built;
/// kept so a named-but-unbuilt strategy has one place to go.
pub const NOT_BUILT: &[(&str, &str)] = &[];

/// The issue that builds `name`, if it is a named strategy that is not built yet.
pub fn not_built(name: &str) -> Option<&'static str> {
    NOT_BUILT.iter().find(|(n, _)| *n == name).map(|(_, issue)| *issue)
}

/// Every built-in strategy with its parameters and defaults, on one line.
pub fn strategy_list() -> String {
    let rows: Vec<String> = STRATEGIES
        .iter()
        .map(|s| format!("{}({})", s.name, s.params.iter().map(|(n, d, _)| format!("{n}={d}")).collect::<Vec<_>>().join(", ")))
        .collect();
    rows.join("; ")
}

/// Why a strategy could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyError {
    #[error("unknown strategy {name:?}; known: {known}")]
    UnknownStrategy { name: String, known: String },
    #[error("strategy {strategy} has no parameter {param:?}; its parameters: {known}")]
    UnknownParam { strategy: String, param: String, known: String },
    #[error("strategy {strategy}: parameter {param} = {value}: {rule}")]
    BadParam { strategy: String, param: &'static str, value: f64, rule: String },
    #[error("strategy {strategy}: fast ({fast}) must be shorter than slow ({slow})")]
    FastNotShorter { strategy: String, fast: usize, slow: usize },
    #[error("parameter {0:?} is not name=number (e.g. fast=10)")]
    ParamSyntax(String),
    #[error("strategy indicator: {0}")]
    Indicator(#[from] IndicatorError),
    /// `ai_ensemble` built without its models: the service resolves them (the caller's
    /// backtest or session start does), a bare spec cannot.
    #[error("strategy ai_ensemble needs its ML model / RL agent / regime model resolved by the service (POST /api/backtest/run or /api/trading/start-session)")]
    ModelsNotResolved,
    #[error("strategy {strategy}: {why}")]
    Ai { strategy: String, why: String },
}

impl StrategyError {
    pub(crate) fn unknown(name: &str) -> Self {
        let known: Vec<&str> = STRATEGIES.iter().map(|s| s.name).collect();
        StrategyError::UnknownStrategy { name: name.to_string(), known: known.join(", ") }
    }
}

/// A spec whose name and parameter names are known; values with defaults filled in.
pub(crate) struct Params {
    strategy: &'static str,
    values: BTreeMap<&'static str, f64>,
}

impl Params {
    pub fn check(spec: &StrategySpec) -> Result<Params, StrategyError> {
        let info = STRATEGIES.iter().find(|s| s.name == spec.name).ok_or_else(|| StrategyError::unknown(&spec.name))?;
        let mut values: BTreeMap<&'static str, f64> = info.params.iter().map(|(n, d, _)| (*n, *d)).collect();
        for (k, v) in &spec.params {
            let Some((name, _, _)) = info.params.iter().find(|(n, _, _)| n == k) else {
                let known: Vec<&str> = info.params.iter().map(|(n, _, _)| *n).collect();
                return Err(StrategyError::UnknownParam { strategy: spec.name.clone(), param: k.clone(), known: known.join(", ") });
            };
            if !v.is_finite() {
                return Err(StrategyError::BadParam {
                    strategy: spec.name.clone(),
                    param: name,
                    value: *v,
                    rule: "must be a finite number".into(),
                });
            }
            values.insert(name, *v);
        }
        Ok(Params { strategy: info.name, values })
    }

    /// A value (known to exist: the table has a default for every parameter).
    pub fn get(&self, name: &'static str) -> f64 {
        self.values.get(name).copied().unwrap_or(f64::NAN)
    }

    fn bad(&self, param: &'static str, rule: String) -> StrategyError {
        StrategyError::BadParam { strategy: self.strategy.to_string(), param, value: self.get(param), rule }
    }

    /// A period: a whole number of bars in 1..=PERIOD_BARS_MAX.
    pub fn period(&self, name: &'static str) -> Result<usize, StrategyError> {
        let v = self.get(name);
        if v.fract() != 0.0 || !(1.0..=PERIOD_BARS_MAX as f64).contains(&v) {
            return Err(self.bad(name, format!("must be a whole number of bars in 1..={PERIOD_BARS_MAX}")));
        }
        Ok(v as usize)
    }

    /// A score threshold in (0, 1].
    pub fn threshold(&self) -> Result<f64, StrategyError> {
        let v = self.get("threshold");
        if !(v > 0.0 && v <= 1.0) {
            return Err(self.bad("threshold", "must be in (0, 1]".into()));
        }
        Ok(v)
    }

    /// `entry`: `false` for state (0), `true` for cross (1).
    pub fn entry_on_cross(&self) -> Result<bool, StrategyError> {
        match self.get("entry") {
            0.0 => Ok(false),
            1.0 => Ok(true),
            _ => Err(self.bad("entry", "must be state (0) or cross (1)".into())),
        }
    }

    /// A switch: 0 or 1.
    pub fn flag(&self, name: &'static str) -> Result<bool, StrategyError> {
        match self.get(name) {
            0.0 => Ok(false),
            1.0 => Ok(true),
            _ => Err(self.bad(name, "must be 0 or 1".into())),
        }
    }

    /// The target size, in (0, FRACTION_MAX].
    pub fn fraction(&self) -> Result<f64, StrategyError> {
        let v = self.get("fraction");
        if !(v > 0.0 && v <= FRACTION_MAX) {
            return Err(self.bad("fraction", format!("must be in (0, {FRACTION_MAX}]")));
        }
        Ok(v)
    }
}
