//! Several symbols on one account, end to end: the real binary over the two aligned
//! 5m files of `testdata/` (ETH/BTC and LTC/BTC, run under the generic-rule symbols
//! `ETHBTC/USDT` and `LTCBTC/USDT`), by CLI and over HTTP from the store, agreeing.

mod common;

use common::*;
use serde_json::{json, Value};

const ETH: &str = "ETHBTC/USDT";
const LTC: &str = "LTCBTC/USDT";
/// Longest wait for the portfolio backtest to finish.
const BACKTEST_WAIT_MS: u64 = 60_000;

fn cli_json(args: &[&str]) -> Value {
    let (code, out, err) = run_cli(args, &[]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn files() -> (String, String) {
    (test_data("ethbtc-5m.csv").to_str().unwrap().to_string(), test_data("ltcbtc-5m.csv").to_str().unwrap().to_string())
}

#[test]
fn cli_runs_two_files_on_one_account() {
    let (eth, ltc) = files();
    let (de, dl) = (format!("{ETH}={eth}"), format!("{LTC}={ltc}"));
    let base = ["backtest", "--timeframe", "5m", "--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=15", "--json", "--quiet"];
    let a = cli_json(&[&base[..], &["--data", &de, "--data", &dl]].concat());
    assert_eq!(a["symbol"], format!("{ETH},{LTC}"));
    assert_eq!(a["counts"]["bars"], 2 * 5760);
    let per: Vec<&str> = a["per_symbol"].as_array().unwrap().iter().map(|s| s["symbol"].as_str().unwrap()).collect();
    assert_eq!(per, [ETH, LTC]);
    // The same files listed in the other order, their symbols given by --symbol: same run.
    let listed = format!("{LTC},{ETH}");
    let b = cli_json(&[&base[..], &["--data", &ltc, "--data", &eth, "--symbol", &listed]].concat());
    assert_eq!(a["event_stream_hash"], b["event_stream_hash"]);
    assert_eq!(a["metrics"], b["metrics"]);
    // One of them alone is another run.
    let one = cli_json(&[&base[..], &["--data", &de]].concat());
    assert_ne!(one["event_stream_hash"], a["event_stream_hash"]);
    assert!(one.get("per_symbol").is_none(), "a one-symbol report keeps its shape");
    // Several files without their symbols, look-ahead over several: exit 2, the reason.
    let (code, _, err) = run_cli(&[&base[..], &["--data", &eth, "--data", &ltc]].concat(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("name each one's symbol"), "{err}");
    let (code, _, err) = run_cli(&[&base[..], &["--data", &de, "--data", &dl, "--check-lookahead", "5"]].concat(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("takes one symbol"), "{err}");
}

async fn run(server: &Server, body: &Value) -> (u16, Value) {
    send(client().post(server.url("/api/backtest/run")).bearer_auth(TRADER_KEY).json(body)).await
}

#[tokio::test]
async fn http_runs_stored_symbols_like_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (eth, ltc) = files();
    for (symbol, file) in [(ETH, &eth), (LTC, &ltc)] {
        let args = ["data", "import", "--json", "--data-dir", data.to_str().unwrap(), "--symbol", symbol, "--timeframe", "5m", file];
        let (code, out, err) = run_cli(&args, &[]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let server = Server::start(&data, &[]);
    let body = json!({"symbols": [LTC, ETH], "timeframe": "5m", "strategy": "sma_cross", "params": {"fast": 5, "slow": 15}});
    let (s, accepted) = run(&server, &body).await;
    assert_eq!(s, 202, "{accepted}");
    assert_eq!(accepted["bars"], 2 * 5760);
    let id = accepted["backtest_id"].as_str().unwrap().to_string();
    let r = wait_until(&format!("backtest {id}'s performance"), BACKTEST_WAIT_MS, || async {
        let (s, v) = send(client().get(server.url(&format!("/api/backtest/performance/{id}"))).bearer_auth(VIEWER_KEY)).await;
        if s == 200 {
            Ok(v)
        } else {
            Err(format!("{s} {v}"))
        }
    })
    .await;
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(r["per_symbol"].as_array().map(Vec::len), Some(2), "{r}");
    let by_symbol: Vec<&str> =
        r["attribution"]["by_symbol"].as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(by_symbol, [ETH, LTC], "attribution by symbol: {}", r["attribution"]);
    // The CLI over the same files gives the same event stream.
    let (de, dl) = (format!("{ETH}={eth}"), format!("{LTC}={ltc}"));
    let c = cli_json(&[
        "backtest",
        "--timeframe",
        "5m",
        "--strategy",
        "sma_cross",
        "--param",
        "fast=5",
        "--param",
        "slow=15",
        "--json",
        "--quiet",
        "--data",
        &de,
        "--data",
        &dl,
    ]);
    assert_eq!(r["event_stream_hash"], c["event_stream_hash"]);
    assert_eq!(r["metrics"]["total_return"], c["metrics"]["total_return"]);

    // Risk sizing is accepted; bad portfolios are 400s naming the field.
    let sized = json!({"symbols": [ETH, LTC], "strategy": "sma_cross", "sizing": {"method": "fixed_fractional", "risk_per_trade": 0.01, "stop_loss": 0.05}});
    assert_eq!(run(&server, &sized).await.0, 202);
    let many: Vec<String> = (0..51).map(|k| format!("S{k}/USDT")).collect();
    let cases = [
        (json!({"symbols": many, "strategy": "sma_cross"}), "symbols"),
        (json!({"symbols": [ETH, ETH], "strategy": "sma_cross"}), "symbols"),
        (json!({"symbol": ETH, "symbols": [LTC], "strategy": "sma_cross"}), "symbols"),
        (json!({"symbols": [ETH, LTC], "strategy": "sma_cross", "lookahead_checks": 5}), "lookahead_checks"),
        (
            json!({"symbols": [ETH], "strategy": "sma_cross", "sizing": {"method": "kelly", "win_probability": 0.3, "win_loss_ratio": 1.0}}),
            "sizing",
        ),
    ];
    for (body, field) in cases {
        let (s, e) = run(&server, &body).await;
        assert_eq!(s, 400, "{body}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().starts_with(field), "{body}: {e}");
    }
}
