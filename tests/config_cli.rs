//! Configuration through the real binary: invalid values stop start-up with exit code
//! 2 naming the variable and value; `config show` masks secrets.

mod common;

use common::*;

#[test]
fn invalid_env_value_exits_2_naming_variable_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = run_cli(&["serve", "--data-dir", d], &[("MAX_DRAWDOWN", "lots")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("MAX_DRAWDOWN") && err.contains("lots"), "{err}");
    let (code, _, err) = run_cli(&["config", "show"], &[("TRADING_SERVICE_PORT", "99999")]);
    assert_eq!(code, 2);
    assert!(err.contains("TRADING_SERVICE_PORT") && err.contains("99999"), "{err}");
}

#[test]
fn non_loopback_without_keys_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, _, err) = run_cli(&["serve", "--data-dir", d, "--port", "0"], &[("TRADING_SERVICE_HOST", "0.0.0.0")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("TRADPAL_API_KEYS"), "{err}");
}

#[test]
fn live_trading_without_an_adapter_or_credentials_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let paper_off = ("ENABLE_PAPER_TRADING", "false");
    let (code, _, err) = run_cli(&["serve", "--data-dir", d, "--port", "0"], &[paper_off]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("BINANCE_API_KEY") && err.contains("BINANCE_API_SECRET"), "{err}");
    let (code, _, err) = run_cli(&["serve", "--data-dir", d, "--port", "0"], &[paper_off, ("DEFAULT_EXCHANGE", "kraken")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("kraken") && err.contains("no adapter"), "{err}");
    let secret = "sEcReTsEcReTsEcReT42";
    let (code, out, err) =
        run_cli(&["config", "show"], &[paper_off, ("BINANCE_API_KEY", "kEyKeYkEyKeYkEyKeY42"), ("BINANCE_API_SECRET", secret)]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(secret) && !out.contains("kEyKeYkEyKeYkEyKeY42"), "a credential leaked:\n{out}");
}

#[test]
fn config_show_masks_keys_and_reports_file_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.json");
    std::fs::write(&file, r#"{"trading_config": {"capital": 2500.0, "max_positions": 3}}"#).unwrap();
    let keys = api_keys();
    let (code, out, err) = run_cli(&["config", "show", "--config", file.to_str().unwrap()], &[("TRADPAL_API_KEYS", &keys)]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(ADMIN_KEY) && !out.contains(TRADER_KEY), "a key leaked:\n{out}");
    assert!(out.contains("2500"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("config show prints JSON");
    assert!(json.is_object());
}

#[test]
fn generated_admin_key_serves_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Start without TRADPAL_API_KEYS: the server generates data_dir/admin.key.
        let server = Server::start(dir.path(), &[("TRADPAL_API_KEYS", "")]);
        let key = std::fs::read_to_string(dir.path().join("admin.key")).unwrap();
        let c = client();
        let (s, _) = send(c.get(server.url("/api/trading/status")).bearer_auth(key.trim())).await;
        assert_eq!(s, 200);
        let (s, _) = send(c.get(server.url("/api/trading/status"))).await;
        assert_eq!(s, 401);
    });
}
