//! Market regimes over real HTTP on imported (synthetic, labelled) data: the spec's
//! examples including the `BTC/USDT` path, history that survives a restart, stateless
//! classification, and clear errors for unknown symbols and too little data.

mod common;

use common::*;
use serde_json::{json, Value};

/// Longest wait for regimes to be journaled after bars arrive (arrival is debounced).
const REGIME_WAIT_MS: u64 = 20_000;

fn synth(dir: &std::path::Path, bars: &str, tf: &str, seed: &str) -> std::path::PathBuf {
    let out = dir.join(format!("synth-{seed}.csv"));
    let (code, _, err) = run_cli(
        &["data", "synth", "--bars", bars, "--timeframe", tf, "--seed", seed, "--mean-regime-bars", "200", "--out", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    out
}

fn import(data: &std::path::Path, symbol: &str, tf: &str, file: &std::path::Path) {
    let (code, out, err) = run_cli(
        &["data", "import", "--data-dir", data.to_str().unwrap(), "--symbol", symbol, "--timeframe", tf, file.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regime_endpoints_on_imported_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    import(&data, "BTC/USDT", "1h", &synth(dir.path(), "3000", "1h", "11"));
    import(&data, "ETH/USDT", "1h", &synth(dir.path(), "50", "1h", "12"));
    let server = Server::start(&data, &[]);
    let c = client();
    let get = |path: &str| c.get(server.url(path)).bearer_auth(VIEWER_KEY);

    let (s, r) = send(get("/api/regime/current/BTC/USDT")).await;
    assert_eq!(s, 200, "{r}");
    assert!(["bull", "bear", "sideways"].contains(&r["regime"].as_str().unwrap()), "{r}");
    let conf = r["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&conf), "{r}");
    for tf in ["1h", "4h", "1d"] {
        assert!(r["timeframes"][tf]["regime"].is_string(), "{tf} missing: {r}");
    }
    assert!(r["timeframes"]["1m"].is_null(), "no 1m data below the stored 1h");

    let (s, p) = send(get("/api/regime/confidence/BTC/USDT")).await;
    assert_eq!(s, 200, "{p}");
    let trend = &p["timeframes"]["1h"]["trend"];
    let sum: f64 = ["bull", "bear", "sideways"].iter().map(|k| trend[k].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-9, "probabilities sum to 1: {p}");

    let (s, h) = send(get("/api/regime/history/BTC/USDT?days=30")).await;
    assert_eq!(s, 200, "{h}");
    let entries = h["regime_transitions"].as_array().unwrap();
    assert!(!entries.is_empty(), "{h}");
    for e in entries {
        assert!(e["date"].is_string() && e["regime"].is_string() && e["confidence"].is_number(), "{e}");
        assert!(["low", "normal", "high"].contains(&e["volatility"].as_str().unwrap_or("")), "both axes recorded: {e}");
        if e["timeframe"] == "combined" {
            assert!(e["timeframes"].is_object(), "each timeframe's label beside the combined one: {e}");
        }
    }
    let (s, one) = send(get("/api/regime/history/BTC/USDT?days=3650&timeframe=1h")).await;
    assert_eq!(s, 200, "{one}");
    let one = one["regime_transitions"].as_array().unwrap();
    assert!(!one.is_empty() && one.iter().all(|e| e["timeframe"] == "1h"), "{one:?}");
    let (s, all) = send(get("/api/regime/history/BTC/USDT?days=3650")).await;
    assert_eq!(s, 200);
    assert!(all["regime_transitions"].as_array().unwrap().len() >= entries.len());

    for (path, status, needle) in [
        ("/api/regime/current/DOGE/USDT", 404, "DOGE/USDT"),
        ("/api/regime/current/ETH/USDT", 400, "need at least 120 bars"),
        ("/api/regime/history/BTC/USDT?days=0", 400, "days"),
        ("/api/regime/history/BTC/USDT?timeframe=2h", 400, "timeframe"),
        ("/api/regime/history/SOL/USDT", 404, "SOL/USDT"),
        ("/api/regime/current/btc", 400, "symbol"),
    ] {
        let (s, b) = send(get(path)).await;
        assert_eq!(s, status, "{path}: {b}");
        assert!(b["error"]["message"].as_str().unwrap().contains(needle), "{path}: {b}");
    }

    // Stateless classification of candles sent in the request.
    let text = std::fs::read_to_string(dir.path().join("synth-11.csv")).unwrap();
    let candles: Vec<Value> = text
        .lines()
        .skip(1)
        .take(400)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            json!({"timestamp": f[0], "open": n(1), "high": n(2), "low": n(3), "close": n(4), "volume": n(5)})
        })
        .collect();
    let post = |body: Value| c.post(server.url("/api/regime/classify")).bearer_auth(VIEWER_KEY).json(&body);
    let (s, cl) = send(post(json!({"timeframe": "1h", "candles": candles}))).await;
    assert_eq!(s, 200, "{cl}");
    assert_eq!(cl["bars"], 400);
    assert!(!cl["transitions"].as_array().unwrap().is_empty());
    let (s, e) = send(post(json!({"timeframe": "1h", "candles": candles[..50].to_vec()}))).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("120"), "{e}");
    let mut broken = candles.clone();
    broken[7]["low"] = json!(1e9);
    let (s, e) = send(post(json!({"timeframe": "1h", "candles": broken}))).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("row 7"), "{e}");

    // Journaled transitions survive a restart.
    let before = h["regime_transitions"].clone();
    server.kill_hard();
    let server = Server::start(&data, &[]);
    let (s, again) = send(c.get(server.url("/api/regime/history/BTC/USDT?days=30")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["regime_transitions"], before);
}

#[test]
fn evaluate_command_scores_held_out_bars() {
    let dir = tempfile::tempdir().unwrap();
    let (out, labels) = (dir.path().join("s.csv"), dir.path().join("l.csv"));
    let (code, _, err) = run_cli(
        &["data", "synth", "--bars", "4000", "--seed", "5", "--out", out.to_str().unwrap(), "--labels", labels.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let (code, text, err) = run_cli(&["regime", "evaluate", "--data", out.to_str().unwrap(), "--labels", labels.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((r["trained_on_bars"].as_u64(), r["scored_bars"].as_u64()), (Some(2000), Some(2000)), "{r}");
    let acc = r["trend"]["accuracy"].as_f64().unwrap();
    assert!(acc > 0.5, "a detector far better than chance (1/3) on held-out bars: {r}");
    assert!(r["trend"]["confusion_matrix"].is_object() || r["trend"]["confusion_matrix"].is_array(), "{r}");
    assert!(r["trend_calibration"]["bins"].as_array().unwrap().len() == 10, "{r}");
    let (code, _, err) = run_cli(
        &["regime", "evaluate", "--data", out.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--train-fraction", "1.5"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
}

/// Without labels, on the repository's real daily stock data: the sanity table, verdict PASS.
#[test]
fn evaluate_command_without_labels_prints_the_sanity_table() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/goog-1d.csv");
    let (code, text, err) = run_cli(&["regime", "evaluate", "--data", data, "--timeframe", "1d"], &[]);
    assert_eq!(code, 0, "{text}{err}");
    for needle in ["| bull |", "| bear |", "| high |", "switches per 1,000 bars", "verdict: PASS"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let (code, text, err) = run_cli(&["regime", "evaluate", "--data", data, "--timeframe", "1d", "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["detector"], "window", "{r}");
    assert_eq!(r["sanity"]["verdict"]["pass"], true, "{r}");
    assert!(r["sanity"]["trend"][0]["mean_trailing_return"].as_f64().unwrap() > 0.0, "{r}");
}

/// Regimes are detected as bars arrive: bars posted over HTTP lead to journaled regime
/// changes (history) without anyone asking for the current regime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regimes_are_detected_as_bars_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(synth(dir.path(), "600", "1h", "21")).unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let c = client();
    let (s, h) = send(c.get(server.url("/api/regime/history/SOL/USDT")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 404, "no history before any bar: {h}");
    let candles: Vec<Value> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            json!({"timestamp": f[0], "open": n(1), "high": n(2), "low": n(3), "close": n(4), "volume": n(5)})
        })
        .collect();
    for chunk in candles.chunks(100) {
        let body = json!({"symbol": "SOL/USDT", "timeframe": "1h", "candles": chunk});
        assert_eq!(send(c.post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await.0, 200);
    }
    let history = wait_until("a regime journaled on arrival", REGIME_WAIT_MS, || async {
        let (s, h) = send(c.get(server.url("/api/regime/history/SOL/USDT?days=3650")).bearer_auth(VIEWER_KEY)).await;
        if s == 200 {
            Ok(h)
        } else {
            Err(format!("{s} {h}"))
        }
    })
    .await;
    let entries = history["regime_transitions"].as_array().unwrap_or_else(|| panic!("no regime journaled on arrival: {history}"));
    assert!(entries.iter().any(|e| e["timeframe"] == "1h"), "{history}");
    assert!(entries.iter().any(|e| e["timeframe"] == "combined"), "{history}");
    assert!(entries.iter().all(|e| e["volatility"].is_string()), "both axes on every entry: {history}");
    server.stop();
}

/// Real daily stock bars (testdata/goog-1d.csv) posted as they would arrive: the history
/// shows trend changes and volatility changes, each entry with both labels; `days` counts
/// back from the last posted bar (March 2013), not from today.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_bars_arriving_show_trend_and_volatility_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/goog-1d.csv")).unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let c = client();
    let candles: Vec<Value> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            json!({"timestamp": f[0], "open": n(1), "high": n(2), "low": n(3), "close": n(4), "volume": n(5)})
        })
        .collect();
    for chunk in candles.chunks(200) {
        let body = json!({"symbol": "GOOG/USD", "timeframe": "1d", "candles": chunk});
        let (s, b) = send(c.post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await;
        assert_eq!(s, 200, "{b}");
    }
    // Arrival is debounced: wait until the last bar's regime is journaled.
    let url = server.url("/api/regime/history/GOOG/USD?days=3650&timeframe=1d");
    let history = wait_until("the last bar's regime journaled", REGIME_WAIT_MS, || async {
        let (s, h) = send(c.get(&url).bearer_auth(VIEWER_KEY)).await;
        if s == 200 && h["until"] == "2013-03-01T00:00:00Z" && h["regime_transitions"].as_array().is_some_and(|e| e.len() > 20) {
            Ok(h)
        } else {
            Err(format!("{s} {h}"))
        }
    })
    .await;
    let entries = history["regime_transitions"].as_array().unwrap_or_else(|| panic!("no history: {history}"));
    assert!(entries.iter().all(|e| e["timeframe"] == "1d" && e["volatility"].is_string()), "{history}");
    let trend_changes = entries.iter().filter(|e| e["from"] != "" && e["from"] != e["regime"]).count();
    let vol_changes = entries.iter().filter(|e| e["from_volatility"].is_string() && e["from_volatility"] != e["volatility"]).count();
    assert!(trend_changes >= 5 && vol_changes >= 5, "trend {trend_changes}, volatility {vol_changes}: {history}");
    for label in ["bull", "bear", "sideways"] {
        assert!(entries.iter().any(|e| e["regime"] == label), "{label} never entered: {history}");
    }
    // 30 days back from the last bar (2013-03-01) still finds entries, however old the data.
    let (s, recent) = send(c.get(server.url("/api/regime/history/GOOG/USD?days=30")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{recent}");
    assert_eq!(recent["until"], "2013-03-01T00:00:00Z");
    for e in recent["regime_transitions"].as_array().unwrap() {
        assert!(e["date"].as_str().unwrap() >= "2013-01-30", "{e}");
    }
    server.stop();
}
