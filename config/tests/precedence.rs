//! Layering: defaults < JSON file < environment, and the spec's example file.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use tradpal_config::{Date, LogFormat, LogLevel, Origin, Settings, Timeframe};

#[test]
fn no_file_and_empty_env_give_the_defaults() {
    let s = load_env(&[]).unwrap();
    assert_eq!(s, Settings::defaults());
    assert_eq!(s.service.host, "127.0.0.1");
    assert_eq!(s.service.port, 8002);
    assert_eq!(s.service.body_bytes_max, 1_048_576);
    assert_eq!(s.data_dir, PathBuf::from("./tradpal-data"));
    assert_eq!((s.log.level, s.log.format), (LogLevel::Info, LogFormat::Text));
    assert!(s.nats_url.is_none() && s.api_keys.is_empty() && s.config_file.is_none());
    assert_eq!(s.backtest.start_date, Date::new(2020, 1, 1).unwrap());
    assert_eq!(s.execution.order_timeout, Duration::from_secs(30));
}

#[test]
fn the_spec_example_file_loads_and_matches_the_defaults() {
    let f = json_file(SPEC_JSON);
    let s = Settings::load(&env(&[]), Some(f.path())).unwrap();
    let t = &s.trading;
    assert_eq!(t.capital, 10_000.0);
    assert_eq!(t.risk_per_trade, 0.02);
    assert_eq!(t.max_positions, 5);
    assert_eq!(s.risk.max_drawdown, 0.1);
    assert_eq!(t.symbols, ["BTC/USDT", "ETH/USDT", "ADA/USDT"]);
    assert_eq!(t.timeframes, [Timeframe::H1, Timeframe::H4, Timeframe::D1]);
    let e = t.strategies.ai_ensemble;
    assert!(e.enabled);
    assert_eq!((e.ml_weight, e.rl_weight, e.regime_weight), (0.4, 0.4, 0.2));
    assert_eq!(s.config_file.as_deref(), Some(f.path()));
    assert_eq!(s.trading, Settings::defaults().trading, "the defaults are the spec's example");
}

const FILE: &str = r#"{
  "service": { "host": "0.0.0.0", "port": 9100, "log_level": "DEBUG", "order_timeout": 45,
               "enable_paper_trading": false, "nats_url": "nats://n1:4222" },
  "trading_config": { "capital": 500, "max_drawdown": 0.2, "symbols": ["ETH/BTC"] }
}"#;

#[test]
fn the_file_overrides_defaults_and_keeps_the_rest() {
    let s = load_json(FILE, &[]).unwrap();
    assert_eq!(s.service.host, "0.0.0.0");
    assert_eq!(s.service.port, 9100);
    assert_eq!(s.log.level, LogLevel::Debug);
    assert_eq!(s.execution.order_timeout, Duration::from_secs(45));
    assert!(!s.execution.paper_trading);
    assert_eq!(s.nats_url.as_ref().map(|u| u.expose()), Some("nats://n1:4222"));
    assert_eq!(s.trading.capital, 500.0);
    assert_eq!(s.risk.max_drawdown, 0.2);
    assert_eq!(s.trading.symbols, ["ETH/BTC"]);
    // Not in the file: still the defaults.
    assert_eq!(s.trading.risk_per_trade, 0.02);
    assert_eq!(s.risk.max_position_size, 0.05);
    assert_eq!(s.origin("TRADING_SERVICE_PORT"), Origin::File("service.port".into()));
    assert_eq!(s.origin("MAX_DRAWDOWN"), Origin::File("trading_config.max_drawdown".into()));
    assert_eq!(s.origin("MAX_POSITION_SIZE"), Origin::Default);
}

#[test]
fn the_environment_overrides_the_file() {
    let s = load_json(
        FILE,
        &[
            ("TRADING_SERVICE_PORT", "9200"),
            ("LOG_LEVEL", "warning"),
            ("MAX_DRAWDOWN", "0.3"),
            ("ENABLE_PAPER_TRADING", "yes"),
            ("NATS_URL", ""),
        ],
    )
    .unwrap();
    assert_eq!(s.service.port, 9200);
    assert_eq!(s.log.level, LogLevel::Warn);
    assert_eq!(s.risk.max_drawdown, 0.3);
    assert!(s.execution.paper_trading);
    assert!(s.nats_url.is_none(), "an empty NATS_URL means none, overriding the file");
    // Only in the file: the file's value.
    assert_eq!(s.service.host, "0.0.0.0");
    assert_eq!(s.execution.order_timeout, Duration::from_secs(45));
    assert_eq!(s.origin("TRADING_SERVICE_PORT"), Origin::Env);
    assert_eq!(s.origin("TRADING_SERVICE_HOST"), Origin::File("service.host".into()));
}

#[test]
fn tradpal_config_names_the_file_unless_the_caller_does() {
    let from_env = json_file(r#"{"service": {"port": 1111}}"#);
    let from_arg = json_file(r#"{"service": {"port": 2222}}"#);
    let path = from_env.path().to_str().unwrap();
    let e = env(&[("TRADPAL_CONFIG", path)]);

    let s = Settings::load(&e, None).unwrap();
    assert_eq!(s.service.port, 1111);
    assert_eq!(s.config_file.as_deref(), Some(from_env.path()));
    assert_eq!(s.origin("TRADPAL_CONFIG"), Origin::Env);

    let s = Settings::load(&e, Some(from_arg.path())).unwrap();
    assert_eq!(s.service.port, 2222);

    let s = load_env(&[("TRADPAL_CONFIG", "  ")]).unwrap();
    assert!(s.config_file.is_none(), "an empty TRADPAL_CONFIG means no file");
}

#[test]
fn an_empty_file_object_changes_nothing() {
    let s = load_json("{}", &[]).unwrap();
    assert_eq!(s.service, Settings::defaults().service);
    assert_eq!(s.trading, Settings::defaults().trading);
}

#[test]
fn service_values_may_be_strings_like_the_environment() {
    let s = load_json(
        r#"{"service": {"port": "9300", "enable_ml_training": "no", "max_position_size": "0.5",
                        "backtest_start_date": "2021-06-01", "nats_url": null}}"#,
        &[],
    )
    .unwrap();
    assert_eq!(s.service.port, 9300);
    assert!(!s.features.ml_training);
    assert_eq!(s.risk.max_position_size, 0.5);
    assert_eq!(s.backtest.start_date.to_string(), "2021-06-01");
}

#[test]
fn api_keys_and_roles() {
    let keys = format!("{KEY_A}:trader,{KEY_B}:viewer");
    let s = load_env(&[("TRADPAL_API_KEYS", &keys)]).unwrap();
    assert_eq!(s.role_for_key(KEY_A), Some(tradpal_config::Role::Trader));
    assert_eq!(s.role_for_key(KEY_B), Some(tradpal_config::Role::Viewer));
    assert_eq!(s.role_for_key("abcdEFGH12345678secreT"), None);
    assert_eq!(s.role_for_key(""), None);
}

#[test]
fn roles_are_ordered() {
    use tradpal_config::Role::*;
    assert!(Admin.allows(Trader) && Admin.allows(Viewer) && Admin.allows(Admin));
    assert!(Trader.allows(Viewer) && Trader.allows(Trader) && !Trader.allows(Admin));
    assert!(Viewer.allows(Viewer) && !Viewer.allows(Trader));
}

#[test]
fn warnings_flag_risky_but_legal_settings() {
    assert!(load_env(&[]).unwrap().warnings().is_empty());
    let s = load_env(&[("TRADING_SERVICE_HOST", "0.0.0.0"), ("ENABLE_PAPER_TRADING", "false")]).unwrap();
    let w = s.warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("0.0.0.0:8002") && w[1].contains("binance"));
    let keys = format!("{KEY_A}:admin");
    let s = load_env(&[("TRADING_SERVICE_HOST", "0.0.0.0"), ("TRADPAL_API_KEYS", &keys)]).unwrap();
    assert!(s.warnings().is_empty());
}

#[test]
fn ipv6_hosts_bind_with_brackets() {
    let s = load_env(&[("TRADING_SERVICE_HOST", "::1")]).unwrap();
    assert_eq!(s.service.bind_addr(), "[::1]:8002");
    assert!(s.service.is_loopback());
}
