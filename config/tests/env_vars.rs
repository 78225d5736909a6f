//! `ENV_VARS` is the single list of variables: every entry is read by `load`, its documented
//! default is the real default, and its file path is accepted by the file.

mod common;

use std::collections::BTreeSet;

use common::*;
use tradpal_config::{Origin, Settings, ENV_VARS};

/// For every variable: a valid non-default value, and a value that must be rejected
/// (`None` for the one variable whose every value is a path we cannot pre-judge).
fn samples(name: &str) -> (&'static str, Option<&'static str>) {
    match name {
        "TRADING_SERVICE_HOST" => ("0.0.0.0", Some("bad host!")),
        "TRADING_SERVICE_PORT" => ("9999", Some("garbage")),
        "TRADPAL_BODY_BYTES_MAX" => ("2048", Some("garbage")),
        "TRADPAL_DATA_DIR" => ("/var/lib/tradpal", Some("")),
        "NATS_URL" => ("nats://localhost:4222", Some("garbage")),
        "TRADPAL_NODE" => ("node-a", Some("Node A!")),
        "TRADPAL_NATS_REPLICAS" => ("3", Some("2")),
        "TRADPAL_API_KEYS" => ("abcdefghijklmnopqrst:admin", Some("garbage")),
        "LOG_LEVEL" => ("debug", Some("garbage")),
        "LOG_FORMAT" => ("json", Some("garbage")),
        "TRADPAL_CONFIG" => ("(a temp file)", None),
        "ENABLE_ML_TRAINING" | "ENABLE_REINFORCEMENT_LEARNING" | "ENABLE_MARKET_REGIME" => ("false", Some("garbage")),
        "ENABLE_PAPER_TRADING" | "ENABLE_PERFORMANCE_MONITORING" => ("false", Some("garbage")),
        "MAX_DRAWDOWN" => ("0.25", Some("garbage")),
        "MAX_POSITION_SIZE" => ("0.5", Some("garbage")),
        "RISK_FREE_RATE" => ("-0.005", Some("garbage")),
        "DEFAULT_EXCHANGE" => ("kraken", Some("!!")),
        "ORDER_TIMEOUT" => ("5", Some("garbage")),
        "BINANCE_API_KEY" | "BINANCE_API_SECRET" => ("k3yK3yk3yK3yk3yK3yk3y", Some("has spaces")),
        "BINANCE_BASE_URL" => ("https://testnet.binance.vision", Some("ftp://x")),
        "BACKTEST_START_DATE" => ("2021-03-04", Some("garbage")),
        "BACKTEST_END_DATE" => ("2023-05-06", Some("garbage")),
        "TRANSACTION_COSTS" => ("0", Some("garbage")),
        "BACKTEST_RESULTS_MAX" => ("25", Some("0")),
        "METRICS_UPDATE_INTERVAL" => ("15", Some("garbage")),
        "TRADPAL_METRICS_PUBLIC" => ("true", Some("garbage")),
        "TRADPAL_RATE_LIMIT" => ("7", Some("-1")),
        "TRADPAL_JWT_SECRET" => ("0123456789abcdef0123456789abcdef", Some("too-short")),
        "TRADPAL_JWT_TTL" => ("60", Some("86401")),
        "TRADPAL_TLS_CERT" | "TRADPAL_TLS_KEY" | "NATS_TLS_CA" => ("/etc/tradpal/x.pem", Some("")),
        "TRADPAL_ALERT_WEBHOOK" => ("https://hooks.example.com/t0k3n", Some("ftp://x")),
        other => panic!("no test samples for {other}: add them when adding a variable"),
    }
}

#[test]
fn names_are_unique_and_described() {
    let names: BTreeSet<_> = ENV_VARS.iter().map(|v| v.name).collect();
    assert_eq!(names.len(), ENV_VARS.len());
    for v in ENV_VARS {
        assert!(!v.description.is_empty() && v.description.ends_with('.'), "{}", v.name);
    }
    let spec = [
        "TRADING_SERVICE_HOST",
        "TRADING_SERVICE_PORT",
        "ENABLE_ML_TRAINING",
        "ENABLE_REINFORCEMENT_LEARNING",
        "ENABLE_MARKET_REGIME",
        "MAX_DRAWDOWN",
        "MAX_POSITION_SIZE",
        "RISK_FREE_RATE",
        "DEFAULT_EXCHANGE",
        "ENABLE_PAPER_TRADING",
        "ORDER_TIMEOUT",
        "BACKTEST_START_DATE",
        "BACKTEST_END_DATE",
        "TRANSACTION_COSTS",
        "ENABLE_PERFORMANCE_MONITORING",
        "METRICS_UPDATE_INTERVAL",
    ];
    for name in spec {
        assert!(names.contains(name), "the spec's {name} is missing");
    }
}

#[test]
fn every_variable_is_read_by_load() {
    for var in ENV_VARS {
        let (good, bad) = samples(var.name);
        if var.name == "TRADPAL_CONFIG" {
            let f = json_file(r#"{"service": {"port": 4321}}"#);
            let s = load_env(&[(var.name, f.path().to_str().unwrap())]).unwrap();
            assert_eq!(s.service.port, 4321);
            continue;
        }
        let s = load_env(&[(var.name, good)]).unwrap_or_else(|e| panic!("{}={good}: {e}", var.name));
        assert_ne!(s.value_of(var.name), Settings::defaults().value_of(var.name), "{} was not applied", var.name);
        assert_eq!(s.origin(var.name), Origin::Env, "{}", var.name);
        if !var.secret {
            assert_eq!(s.value_of(var.name).as_deref(), Some(good), "{} does not round-trip", var.name);
        }
        if let Some(bad) = bad {
            let err = load_env(&[(var.name, bad)]).expect_err(var.name);
            assert!(err.mentions(var.name), "{}: {err}", var.name);
        }
    }
}

#[test]
fn documented_defaults_are_the_real_defaults() {
    let defaults = Settings::defaults();
    for var in ENV_VARS {
        assert_eq!(defaults.value_of(var.name).as_deref(), var.default, "{}", var.name);
        if let Some(text) = var.default {
            // Setting a variable to its documented default changes nothing but the origin.
            let mut s = load_env(&[(var.name, text)]).unwrap();
            s.origins.clear();
            assert_eq!(s, defaults, "{}={text}", var.name);
        }
    }
}

#[test]
fn every_file_path_is_accepted_by_the_file() {
    for var in ENV_VARS {
        let Some(path) = var.file_path else { continue };
        let (good, _) = samples(var.name);
        let (section, key) = path.split_once('.').unwrap();
        let json = serde_json::json!({ section: { key: good } });
        let json = if var.name == "MAX_DRAWDOWN" { serde_json::json!({ section: { key: 0.25 } }) } else { json };
        let s = load_json(&json.to_string(), &[]).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(s.value_of(var.name).as_deref(), Some(good), "{path}");
        assert_eq!(s.origin(var.name), Origin::File(path.to_string()));
    }
}

#[test]
fn the_readme_table_has_a_row_per_variable() {
    let table = tradpal_config::markdown_table();
    assert_eq!(table.lines().count(), ENV_VARS.len() + 2);
    assert!(table.contains("| `TRADING_SERVICE_HOST` | `127.0.0.1` | `service.host` |"), "{table}");
    assert!(table.contains("| `TRADPAL_API_KEYS` | (unset) | (env only) |"), "{table}");
}
