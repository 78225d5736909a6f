//! The spec's `trading_config` object: types, defaults and the rules for its fields.
//!
//! This part of the configuration exists only in the JSON file (no environment variables),
//! so it is parsed from JSON here, field by field, with every problem named by its path
//! (`trading_config.strategies.ai_ensemble.ml_weight`).

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use crate::error::Problem;
use crate::json::{fields, shown};
use crate::parse::{Interval, POSITIVE, POSITIVE_FRACTION, UNIT};

/// What to trade and how (the spec's `trading_config`, minus `max_drawdown`, which is
/// [`crate::RiskSettings::max_drawdown`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TradingConfig {
    /// Starting capital in quote currency; finite and > 0.
    pub capital: f64,
    /// Fraction of capital risked per trade, in (0, 1].
    pub risk_per_trade: f64,
    /// Most positions open at once; >= 1.
    pub max_positions: u32,
    /// `BASE/QUOTE` pairs, upper-case letters and digits, no duplicates, at least one.
    pub symbols: Vec<String>,
    /// Bar sizes to trade on, no duplicates, at least one.
    pub timeframes: Vec<Timeframe>,
    pub strategies: Strategies,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strategies {
    pub ai_ensemble: AiEnsemble,
}

/// The ensemble of ML, RL and regime signals. Weights are each in [0, 1] and sum to 1
/// (within 1e-9), so the blended signal stays on the scale of its inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AiEnsemble {
    pub enabled: bool,
    pub ml_weight: f64,
    pub rl_weight: f64,
    pub regime_weight: f64,
}

/// Tolerance of the weight-sum check: decimal weights such as 0.1 + 0.2 + 0.7 do not add up
/// to exactly 1 in binary floating point.
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-9;

/// A supported bar size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timeframe {
    M1,
    M5,
    M15,
    H1,
    H4,
    D1,
}

impl Timeframe {
    pub const ALL: [Timeframe; 6] = [Timeframe::M1, Timeframe::M5, Timeframe::M15, Timeframe::H1, Timeframe::H4, Timeframe::D1];

    /// The spec's spelling: `1m`, `5m`, `15m`, `1h`, `4h`, `1d`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::M1 => "1m",
            Timeframe::M5 => "5m",
            Timeframe::M15 => "15m",
            Timeframe::H1 => "1h",
            Timeframe::H4 => "4h",
            Timeframe::D1 => "1d",
        }
    }

    pub fn seconds(self) -> u64 {
        match self {
            Timeframe::M1 => 60,
            Timeframe::M5 => 300,
            Timeframe::M15 => 900,
            Timeframe::H1 => 3_600,
            Timeframe::H4 => 14_400,
            Timeframe::D1 => 86_400,
        }
    }

    /// Exact spelling only (`1h`, not `1H` or `60m`): the same string is used in subjects
    /// and file names elsewhere, so there must be one spelling.
    pub fn parse(text: &str) -> Option<Timeframe> {
        Timeframe::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Default for TradingConfig {
    /// The spec's example `trading_config`.
    fn default() -> Self {
        TradingConfig {
            capital: 10_000.0,
            risk_per_trade: 0.02,
            max_positions: 5,
            symbols: ["BTC/USDT", "ETH/USDT", "ADA/USDT"].map(String::from).to_vec(),
            timeframes: vec![Timeframe::H1, Timeframe::H4, Timeframe::D1],
            strategies: Strategies { ai_ensemble: AiEnsemble { enabled: true, ml_weight: 0.4, rl_weight: 0.4, regime_weight: 0.2 } },
        }
    }
}

/// Whether `text` is a symbol the rest of the service accepts: the one rule,
/// [`tradpal_messages::is_valid_symbol`] (`BASE/QUOTE`, 1 to 20 upper-case letters or
/// digits on each side), so configuration never accepts a symbol the journal refuses.
pub fn is_symbol(text: &str) -> bool {
    tradpal_messages::is_valid_symbol(text)
}

/// The fields of `trading_config` handled here (`max_drawdown` is handled by the caller).
pub(crate) const FIELDS: &[&str] = &["capital", "risk_per_trade", "max_positions", "max_drawdown", "symbols", "timeframes", "strategies"];

/// Applies one field of the file's `trading_config` object, reporting problems at `path`.
pub(crate) fn apply_field(key: &str, v: &Value, path: &str, t: &mut TradingConfig, problems: &mut Vec<Problem>) {
    match key {
        "capital" => set(&mut t.capital, number(v, path, POSITIVE, problems)),
        "risk_per_trade" => set(&mut t.risk_per_trade, number(v, path, POSITIVE_FRACTION, problems)),
        "max_positions" => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if n >= 1 => t.max_positions = n,
            _ => problems.push(Problem::invalid(path, shown(v), "a whole number in 1..=4294967295")),
        },
        "symbols" => set(&mut t.symbols, string_list(v, path, "BASE/QUOTE symbols like BTC/USDT", parse_symbol, problems)),
        "timeframes" => set(&mut t.timeframes, string_list(v, path, "timeframes from 1m, 5m, 15m, 1h, 4h, 1d", Timeframe::parse, problems)),
        "strategies" => {
            if let Some(obj) = fields(v, path, &["ai_ensemble"], problems) {
                if let Some(e) = obj.get("ai_ensemble") {
                    apply_ensemble(e, &format!("{path}.ai_ensemble"), &mut t.strategies.ai_ensemble, problems);
                }
            }
        }
        // Unknown keys were already reported by `fields`; `max_drawdown` belongs to the caller.
        _ => {}
    }
}

fn apply_ensemble(v: &Value, path: &str, e: &mut AiEnsemble, problems: &mut Vec<Problem>) {
    let known = ["enabled", "ml_weight", "rl_weight", "regime_weight"];
    let Some(obj) = fields(v, path, &known, problems) else {
        return;
    };
    let at = |key: &str| format!("{path}.{key}");
    if let Some(x) = obj.get("enabled") {
        match x.as_bool() {
            Some(b) => e.enabled = b,
            None => problems.push(Problem::invalid(at("enabled"), shown(x), "true or false")),
        }
    }
    for (key, slot) in [("ml_weight", &mut e.ml_weight), ("rl_weight", &mut e.rl_weight), ("regime_weight", &mut e.regime_weight)] {
        if let Some(x) = obj.get(key) {
            set(slot, number(x, &at(key), UNIT, problems));
        }
    }
}

/// Cross-field rules of the merged trading config, checked once after all layers.
pub(crate) fn check(t: &TradingConfig, problems: &mut Vec<Problem>) {
    let e = &t.strategies.ai_ensemble;
    let sum = e.ml_weight + e.rl_weight + e.regime_weight;
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        problems.push(Problem::invalid(
            "trading_config.strategies.ai_ensemble",
            format!("ml_weight={} rl_weight={} regime_weight={} (sum {sum})", e.ml_weight, e.rl_weight, e.regime_weight),
            "ml_weight + rl_weight + regime_weight = 1 (within 1e-9)",
        ));
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// A JSON number (not a string holding one) inside `range`.
fn number(v: &Value, path: &str, range: Interval, problems: &mut Vec<Problem>) -> Option<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() && range.contains(x) => Some(x),
        _ => {
            problems.push(Problem::invalid(path, shown(v), range.expected()));
            None
        }
    }
}

fn parse_symbol(text: &str) -> Option<String> {
    is_symbol(text).then(|| text.to_string())
}

/// A non-empty array of distinct strings, each accepted by `parse`. Every bad element is
/// reported at `path[i]`; the list is applied only if all are good.
fn string_list<T>(v: &Value, path: &str, what: &str, parse: impl Fn(&str) -> Option<T>, problems: &mut Vec<Problem>) -> Option<Vec<T>> {
    let expected = format!("a non-empty array of distinct {what}");
    let items = match v.as_array() {
        Some(items) if !items.is_empty() => items,
        _ => {
            problems.push(Problem::invalid(path, shown(v), expected));
            return None;
        }
    };
    let before = problems.len();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match item.as_str().and_then(|s| parse(s).map(|p| (s, p))) {
            None => problems.push(Problem::invalid(at, shown(item), what)),
            Some((s, parsed)) if seen.insert(s) => out.push(parsed),
            Some((s, _)) => problems.push(Problem::invalid(at, s, format!("each entry of {path} once"))),
        }
    }
    (problems.len() == before).then_some(out)
}

/// The spec's `trading_config` shape, for `Settings::show`.
pub(crate) fn to_json(t: &TradingConfig, max_drawdown: f64) -> Value {
    let e = &t.strategies.ai_ensemble;
    serde_json::json!({
        "capital": t.capital,
        "risk_per_trade": t.risk_per_trade,
        "max_positions": t.max_positions,
        "max_drawdown": max_drawdown,
        "symbols": t.symbols,
        "timeframes": t.timeframes.iter().map(|tf| tf.as_str()).collect::<Vec<_>>(),
        "strategies": { "ai_ensemble": {
            "enabled": e.enabled,
            "ml_weight": e.ml_weight,
            "rl_weight": e.rl_weight,
            "regime_weight": e.regime_weight,
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols() {
        for ok in ["BTC/USDT", "1000SHIB/USDT", "ETH/BTC"] {
            assert!(is_symbol(ok), "{ok}");
        }
        for bad in ["btc/usdt", "BTCUSDT", "BTC/", "/USDT", "BTC/USDT/X", "BTC-USDT", "BTC/US DT", ""] {
            assert!(!is_symbol(bad), "{bad}");
        }
    }

    #[test]
    fn timeframes_have_one_spelling() {
        for t in Timeframe::ALL {
            assert_eq!(Timeframe::parse(t.as_str()), Some(t));
        }
        assert_eq!(Timeframe::parse("1H"), None);
        assert_eq!(Timeframe::parse("60m"), None);
    }

    #[test]
    fn default_weights_sum_to_one() {
        let mut problems = Vec::new();
        check(&TradingConfig::default(), &mut problems);
        assert!(problems.is_empty());
    }
}
