//! Every invalid value is reported with its source, the value and what was expected;
//! all problems are collected, not just the first.

mod common;

use common::*;
use tradpal_config::{Problem, Settings};

/// (variable, bad value, expected text)
const BAD_ENV: &[(&str, &str, &str)] = &[
    ("TRADING_SERVICE_HOST", "not a host", "an IP address or host name (e.g. 127.0.0.1, 0.0.0.0, localhost)"),
    ("TRADING_SERVICE_HOST", "", "an IP address or host name (e.g. 127.0.0.1, 0.0.0.0, localhost)"),
    ("TRADING_SERVICE_PORT", "0", "a whole number in 1..=65535"),
    ("TRADING_SERVICE_PORT", "65536", "a whole number in 1..=65535"),
    ("TRADING_SERVICE_PORT", "http", "a whole number in 1..=65535"),
    ("TRADPAL_BODY_BYTES_MAX", "0", "a whole number in 1..=67108864 (bytes, at most 64 MiB)"),
    ("TRADPAL_BODY_BYTES_MAX", "67108865", "a whole number in 1..=67108864 (bytes, at most 64 MiB)"),
    ("TRADPAL_DATA_DIR", " ", "a directory path in valid Unicode"),
    ("NATS_URL", "http://broker:4222", "nats://[user:pass@]host[:port] (or tls://, ws://, wss://), comma-separated for several servers"),
    ("LOG_LEVEL", "verbose", "one of trace, debug, info, warn/warning, error, critical"),
    ("LOG_FORMAT", "yaml", "text or json"),
    ("ENABLE_ML_TRAINING", "maybe", "true or false (or 1/0, yes/no)"),
    ("ENABLE_REINFORCEMENT_LEARNING", "2", "true or false (or 1/0, yes/no)"),
    ("ENABLE_MARKET_REGIME", "", "true or false (or 1/0, yes/no)"),
    ("MAX_DRAWDOWN", "abc", "a number in (0, 1]"),
    ("MAX_DRAWDOWN", "0", "a number in (0, 1]"),
    ("MAX_DRAWDOWN", "NaN", "a number in (0, 1]"),
    ("MAX_POSITION_SIZE", "1.5", "a number in (0, 1]"),
    ("MAX_POSITION_SIZE", "inf", "a number in (0, 1]"),
    ("RISK_FREE_RATE", "1", "a number in (-1, 1)"),
    ("DEFAULT_EXCHANGE", "bin ance", "an exchange id of 1 to 32 letters, digits, '_' or '-' (e.g. binance)"),
    ("ENABLE_PAPER_TRADING", "on", "true or false (or 1/0, yes/no)"),
    ("ORDER_TIMEOUT", "0", "a whole number in 1..=3600 (seconds)"),
    ("ORDER_TIMEOUT", "2.5", "a whole number in 1..=3600 (seconds)"),
    ("BACKTEST_START_DATE", "2020-02-30", "a calendar date as YYYY-MM-DD"),
    ("BACKTEST_END_DATE", "01/01/2024", "a calendar date as YYYY-MM-DD"),
    ("TRANSACTION_COSTS", "-0.001", "a number in [0, 1)"),
    ("TRANSACTION_COSTS", "1", "a number in [0, 1)"),
    ("ENABLE_PERFORMANCE_MONITORING", "nope", "true or false (or 1/0, yes/no)"),
    ("METRICS_UPDATE_INTERVAL", "86401", "a whole number in 1..=86400 (seconds)"),
    ("TRADPAL_API_KEYS", "short:admin", "a key of at least 16 printable ASCII characters without spaces, ',' or ':'"),
];

#[test]
fn every_bad_environment_value_names_variable_value_and_expectation() {
    for &(name, value, expected) in BAD_ENV {
        let err = load_env(&[(name, value)]).expect_err(name);
        let (source, shown, wanted) = only_invalid(&err);
        assert_eq!(source, name);
        if name != "TRADPAL_API_KEYS" {
            assert_eq!(shown, value, "{name}");
        }
        assert_eq!(wanted, expected, "{name}");
        let text = err.to_string();
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn the_documented_message_shape() {
    let err = load_env(&[("MAX_DRAWDOWN", "abc")]).unwrap_err();
    assert_eq!(err.to_string(), r#"invalid configuration: invalid value for MAX_DRAWDOWN: "abc" (expected a number in (0, 1])"#);
}

#[test]
fn all_problems_are_collected() {
    let file = json_file(r#"{"trading_config": {"capital": -1, "risk_per_trade": 2}, "service": {"port": 0}}"#);
    let e = env(&[("MAX_DRAWDOWN", "abc"), ("TRADING_SERVICE_PORT", "99999"), ("LOG_FORMAT", "xml")]);
    let err = Settings::load(&e, Some(file.path())).unwrap_err();
    let subjects: Vec<String> = err.problems.iter().map(Problem::subject).collect();
    assert_eq!(
        subjects,
        ["service.port", "trading_config.capital", "trading_config.risk_per_trade", "TRADING_SERVICE_PORT", "LOG_FORMAT", "MAX_DRAWDOWN",]
    );
    assert!(err.to_string().starts_with("invalid configuration (6 problems):"));
}

/// (file text, JSON path, value shown, expected text)
const BAD_FILE: &[(&str, &str, &str, &str)] = &[
    (r#"{"trading_config": {"capital": 0}}"#, "trading_config.capital", "0", "a finite number > 0"),
    (r#"{"trading_config": {"capital": "10000"}}"#, "trading_config.capital", "10000", "a finite number > 0"),
    (r#"{"trading_config": {"risk_per_trade": 0}}"#, "trading_config.risk_per_trade", "0", "a number in (0, 1]"),
    (r#"{"trading_config": {"max_positions": 0}}"#, "trading_config.max_positions", "0", "a whole number in 1..=4294967295"),
    (r#"{"trading_config": {"max_positions": 2.5}}"#, "trading_config.max_positions", "2.5", "a whole number in 1..=4294967295"),
    (r#"{"trading_config": {"max_drawdown": 1.5}}"#, "trading_config.max_drawdown", "1.5", "a number in (0, 1]"),
    (r#"{"trading_config": {"max_drawdown": "0.1"}}"#, "trading_config.max_drawdown", "0.1", "a number in (0, 1]"),
    (
        r#"{"trading_config": {"symbols": []}}"#,
        "trading_config.symbols",
        "[]",
        "a non-empty array of distinct BASE/QUOTE symbols like BTC/USDT",
    ),
    (
        r#"{"trading_config": {"symbols": ["BTC/USDT", "btc-usdt"]}}"#,
        "trading_config.symbols[1]",
        "btc-usdt",
        "BASE/QUOTE symbols like BTC/USDT",
    ),
    (
        r#"{"trading_config": {"symbols": ["BTC/USDT", "BTC/USDT"]}}"#,
        "trading_config.symbols[1]",
        "BTC/USDT",
        "each entry of trading_config.symbols once",
    ),
    (
        r#"{"trading_config": {"timeframes": ["1h", "2h"]}}"#,
        "trading_config.timeframes[1]",
        "2h",
        "timeframes from 1m, 5m, 15m, 1h, 4h, 1d",
    ),
    (
        r#"{"trading_config": {"timeframes": "1h"}}"#,
        "trading_config.timeframes",
        "1h",
        "a non-empty array of distinct timeframes from 1m, 5m, 15m, 1h, 4h, 1d",
    ),
    (
        r#"{"trading_config": {"strategies": {"ai_ensemble": {"enabled": "yes"}}}}"#,
        "trading_config.strategies.ai_ensemble.enabled",
        "yes",
        "true or false",
    ),
    (
        r#"{"trading_config": {"strategies": {"ai_ensemble": {"ml_weight": 1.2, "rl_weight": 0, "regime_weight": 0}}}}"#,
        "trading_config.strategies.ai_ensemble.ml_weight",
        "1.2",
        "a number in [0, 1]",
    ),
    (r#"{"trading_config": []}"#, "trading_config", "[]", "a JSON object"),
    (r#"{"service": {"port": 70000}}"#, "service.port", "70000", "a whole number in 1..=65535"),
    (r#"{"service": {"enable_ml_training": "perhaps"}}"#, "service.enable_ml_training", "perhaps", "true or false (or 1/0, yes/no)"),
    (r#"{"service": {"host": null}}"#, "service.host", "null", "a string, number or boolean, as for TRADING_SERVICE_HOST"),
    (r#"{"service": {"port": [8002]}}"#, "service.port", "[8002]", "a string, number or boolean, as for TRADING_SERVICE_PORT"),
];

#[test]
fn bad_file_values_are_named_by_json_path() {
    for &(json, path, value, expected) in BAD_FILE {
        let err = load_json(json, &[]).expect_err(json);
        assert_eq!(only_invalid(&err), (path.to_string(), value.to_string(), expected.to_string()), "{json}");
    }
}

#[test]
fn a_top_level_array_is_rejected_by_file_path() {
    let f = json_file("[1]");
    let err = Settings::load(&env(&[]), Some(f.path())).unwrap_err();
    let (source, value, expected) = only_invalid(&err);
    assert_eq!(source, f.path().display().to_string());
    assert_eq!((value.as_str(), expected.as_str()), ("[1]", "a JSON object at the top level"));
}

#[test]
fn unknown_fields_are_errors_naming_the_field() {
    let err = load_json(
        r#"{"trading_config": {"captial": 1, "strategies": {"ai_ensemble": {"ml_weigth": 0.4}, "momentum": {}}},
            "service": {"prot": 1}, "extra": true}"#,
        &[],
    )
    .unwrap_err();
    let unknown: Vec<(String, Option<String>)> = err
        .problems
        .iter()
        .map(|p| match p {
            Problem::UnknownField { path, did_you_mean, .. } => (path.clone(), did_you_mean.clone()),
            other => panic!("unexpected {other}"),
        })
        .collect();
    let expect = |p: &str, g: Option<&str>| (p.to_string(), g.map(str::to_string));
    assert_eq!(
        unknown,
        [
            expect("extra", None),
            expect("service.prot", Some("port")),
            expect("trading_config.captial", Some("capital")),
            expect("trading_config.strategies.momentum", None),
            expect("trading_config.strategies.ai_ensemble.ml_weigth", Some("ml_weight")),
        ]
    );
    assert!(err.to_string().contains("unknown field trading_config.captial (did you mean capital?)"));
}

#[test]
fn api_keys_in_the_file_are_refused() {
    let err = load_json(r#"{"service": {"api_keys": "x"}}"#, &[]).unwrap_err();
    assert!(matches!(&err.problems[..], [Problem::UnknownField { path, .. }] if path == "service.api_keys"));
}

#[test]
fn malformed_json_reports_line_and_column() {
    let f = json_file("{\n  \"trading_config\": {\n    \"capital\": 10000.0,\n  }\n}");
    let err = Settings::load(&env(&[]), Some(f.path())).unwrap_err();
    match &err.problems[..] {
        [Problem::FileMalformed { path, line, column, reason }] => {
            assert_eq!(path, f.path());
            assert_eq!((*line, *column), (4, 3));
            assert!(reason.contains("trailing comma"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("at line 4, column 3"), "{err}");
}

#[test]
fn duplicate_keys_are_malformed() {
    let err = load_json("{\"service\": {\"port\": 1, \"port\": 2}}", &[]).unwrap_err();
    assert!(matches!(&err.problems[..], [Problem::FileMalformed { line: 1, reason, .. }] if reason.contains("duplicate key `port`")));
}

#[test]
fn missing_files_name_who_asked_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = Settings::load(&env(&[]), Some(&missing)).unwrap_err();
    assert_eq!(err.problems, [Problem::FileMissing { path: missing.clone(), named_by: "argument".into() }]);

    let err = load_env(&[("TRADPAL_CONFIG", missing.to_str().unwrap())]).unwrap_err();
    assert_eq!(err.problems, [Problem::FileMissing { path: missing.clone(), named_by: "TRADPAL_CONFIG".into() }]);
    assert!(err.mentions("TRADPAL_CONFIG"));
    assert!(err.to_string().contains("nope.json (named by TRADPAL_CONFIG) does not exist"));

    let err = Settings::load(&env(&[]), Some(dir.path())).unwrap_err();
    assert!(matches!(&err.problems[..], [Problem::FileUnreadable { .. }]), "{err}");
}

#[test]
fn backtest_dates_must_be_ordered_across_layers() {
    let err = load_env(&[("BACKTEST_START_DATE", "2024-01-01")]).unwrap_err();
    assert_eq!(
        only_invalid(&err),
        (
            "BACKTEST_START_DATE / BACKTEST_END_DATE".into(),
            "2024-01-01 / 2024-01-01".into(),
            "the start date strictly before the end date".into()
        )
    );
    let err = load_json(r#"{"service": {"backtest_end_date": "2019-12-31"}}"#, &[]).unwrap_err();
    assert_eq!(only_invalid(&err).0, "BACKTEST_START_DATE / service.backtest_end_date");
    // A bad date is reported once, not again as an ordering problem.
    let err = load_env(&[("BACKTEST_START_DATE", "2030-01-01"), ("BACKTEST_END_DATE", "garbage")]).unwrap_err();
    assert_eq!(only_invalid(&err).0, "BACKTEST_END_DATE");
}

#[test]
fn ensemble_weights_must_sum_to_one() {
    let err = load_json(r#"{"trading_config": {"strategies": {"ai_ensemble": {"ml_weight": 0.5}}}}"#, &[]).unwrap_err();
    let (source, value, expected) = only_invalid(&err);
    assert_eq!(source, "trading_config.strategies.ai_ensemble");
    assert!(value.contains("ml_weight=0.5 rl_weight=0.4 regime_weight=0.2"), "{value}");
    assert_eq!(expected, "ml_weight + rl_weight + regime_weight = 1 (within 1e-9)");
    // Decimal weights whose binary sum is a hair off 1 are fine.
    let ok = r#"{"trading_config": {"strategies": {"ai_ensemble": {"ml_weight": 0.1, "rl_weight": 0.2, "regime_weight": 0.7}}}}"#;
    assert!(load_json(ok, &[]).is_ok());
}

#[test]
fn api_key_entries_are_each_checked() {
    let raw = format!("{KEY_A}:superuser,{KEY_B}:viewer,{KEY_B}:admin,nocolon,");
    let err = load_env(&[("TRADPAL_API_KEYS", &raw)]).unwrap_err();
    // A refused key is never echoed, not even its first characters (issue 19).
    for head in ["abcd", "wxyz", "noco"] {
        assert!(!err.to_string().contains(head), "{head} echoed in {err}");
    }
    let got: Vec<(String, String)> = err
        .problems
        .iter()
        .map(|p| match p {
            Problem::Invalid { source, value, expected } => {
                assert_eq!(source, "TRADPAL_API_KEYS");
                (value.clone(), expected.clone())
            }
            other => panic!("{other}"),
        })
        .collect();
    let shape = "key:role entries separated by commas, role one of viewer, trader, admin";
    assert_eq!(
        got,
        [
            ("entry 1: (masked, 22 chars):superuser".to_string(), "role viewer, trader or admin".to_string()),
            ("entry 3: (masked, 22 chars):admin".to_string(), "each key listed once".to_string()),
            ("entry 4: (masked, 7 chars)".to_string(), shape.to_string()),
            ("entry 5: (empty entry)".to_string(), shape.to_string()),
        ]
    );
}
