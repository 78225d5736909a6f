//! Secrets never appear in `show`, `Debug` or error messages.

mod common;

use common::*;

fn loaded() -> tradpal_config::Settings {
    let keys = format!("{KEY_A}:admin, {KEY_B}:viewer");
    load_env(&[("TRADPAL_API_KEYS", &keys), ("NATS_URL", "nats://alice:s3cr3t@broker:4222,tls://tok3n@b2")]).unwrap()
}

fn assert_no_secret(text: &str) {
    for secret in [KEY_A, KEY_B, "abcd", "wxyz", "EFGH1234", "alice", "s3cr3t", "tok3n"] {
        assert!(!text.contains(secret), "{secret:?} leaked in {text}");
    }
}

#[test]
fn show_masks_api_keys_and_nats_credentials() {
    let shown = loaded().show();
    let (a, b) = (tradpal_config::key_id(KEY_A), tradpal_config::key_id(KEY_B));
    assert_eq!(shown["api_keys"], serde_json::json!([format!("{a} (masked) : admin"), format!("{b} (masked) : viewer")]));
    assert_eq!(shown["nats_url"], "nats://(masked)@broker:4222,tls://(masked)@b2");
    assert_no_secret(&shown.to_string());
}

#[test]
fn debug_masks_too() {
    let s = loaded();
    let debug = format!("{s:?}");
    assert!(debug.contains(&format!("{} (masked)", tradpal_config::key_id(KEY_A))), "{debug}");
    assert_no_secret(&debug);
    assert_no_secret(&format!("{s:#?}"));
    // The real values are still there for the code that needs them.
    assert_eq!(s.api_keys[0].expose(), KEY_A);
    assert!(s.nats_url.unwrap().expose().contains("alice:s3cr3t@"));
}

#[test]
fn value_of_masks_too() {
    let s = loaded();
    let (a, b) = (tradpal_config::key_id(KEY_A), tradpal_config::key_id(KEY_B));
    assert_eq!(s.value_of("TRADPAL_API_KEYS").unwrap(), format!("{a} (masked) : admin, {b} (masked) : viewer"));
    assert_eq!(s.value_of("NATS_URL").unwrap(), "nats://(masked)@broker:4222,tls://(masked)@b2");
}

#[test]
fn error_messages_mask_too() {
    let keys = format!("{KEY_A}:root,{KEY_B}");
    let err = load_env(&[("TRADPAL_API_KEYS", &keys), ("NATS_URL", "http://alice:s3cr3t@broker")]).unwrap_err();
    assert_eq!(err.problems.len(), 3);
    assert_no_secret(&err.to_string());
    assert_no_secret(&format!("{err:?}"));
    assert!(err.to_string().contains(r#""http://(masked)@broker""#), "{err}");
}

#[test]
fn show_has_every_section_and_the_spec_trading_shape() {
    let f = json_file(r#"{"service": {"port": 9001}}"#);
    let e = env(&[("LOG_LEVEL", "CRITICAL")]);
    let shown = tradpal_config::Settings::load(&e, Some(f.path())).unwrap().show();
    for section in ["service", "features", "risk", "execution", "backtest", "monitoring", "log", "trading_config"] {
        assert!(shown[section].is_object(), "{section}");
    }
    assert_eq!(shown["service"]["host"], "127.0.0.1");
    assert_eq!(shown["log"]["level"], "error");
    assert_eq!(shown["config_file"], f.path().display().to_string());
    assert_eq!(shown["origins"], serde_json::json!({"TRADING_SERVICE_PORT": "file (service.port)", "LOG_LEVEL": "env"}));
    // The spec's example, as loaded from the defaults, shows as the spec's example.
    let spec: serde_json::Value = serde_json::from_str(SPEC_JSON).unwrap();
    assert_eq!(shown["trading_config"], spec["trading_config"]);
}

#[test]
fn binance_credentials_are_masked() {
    let key = "BnKeyBnKeyBnKeyBnKey1234";
    let secret = "BnSecretBnSecretBnSecret99";
    let s = load_env(&[("BINANCE_API_KEY", key), ("BINANCE_API_SECRET", secret)]).unwrap();
    for text in [s.show().to_string(), format!("{s:?}"), s.value_of("BINANCE_API_KEY").unwrap(), s.value_of("BINANCE_API_SECRET").unwrap()]
    {
        assert!(!text.contains(key) && !text.contains(secret), "leaked in {text}");
    }
    assert_eq!(s.show()["execution"]["binance_api_key"], "(masked, 24 chars)");
    assert_eq!(s.execution.binance_api_secret.as_ref().unwrap().expose(), secret);
    let err = load_env(&[("BINANCE_API_SECRET", "BnSecretBnSecret with space")]).unwrap_err();
    assert!(!err.to_string().contains("BnSecretBnSecret"), "{err}");
}
