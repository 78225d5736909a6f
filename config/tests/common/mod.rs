//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;

use tradpal_config::{ConfigError, Problem, Settings};

/// The spec's "Trading Configuration" example, verbatim.
pub const SPEC_JSON: &str = r#"{
  "trading_config": {
    "capital": 10000.0,
    "risk_per_trade": 0.02,
    "max_positions": 5,
    "max_drawdown": 0.1,
    "symbols": ["BTC/USDT", "ETH/USDT", "ADA/USDT"],
    "timeframes": ["1h", "4h", "1d"],
    "strategies": {
      "ai_ensemble": {
        "enabled": true,
        "ml_weight": 0.4,
        "rl_weight": 0.4,
        "regime_weight": 0.2
      }
    }
  }
}"#;

/// Two keys long enough to be valid.
pub const KEY_A: &str = "abcdEFGH12345678secret";
pub const KEY_B: &str = "wxyzWXYZ98765432hidden";

pub fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn json_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write temp file");
    f
}

pub fn load_env(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load(&env(pairs), None)
}

pub fn load_json(text: &str, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let f = json_file(text);
    Settings::load(&env(pairs), Some(f.path()))
}

/// The single `Invalid` problem of `err`, as (source, value, expected).
pub fn only_invalid(err: &ConfigError) -> (String, String, String) {
    match err.problems.as_slice() {
        [Problem::Invalid { source, value, expected }] => (source.clone(), value.clone(), expected.clone()),
        other => panic!("expected exactly one Invalid problem, got {other:#?}"),
    }
}
