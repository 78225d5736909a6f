//! `tradpal replay` against a journal the real service wrote: a paper session with
//! market, limit, bracket and canceled orders replays identically (every decision and
//! fill the journal holds compared); another fee setting makes it differ at the first
//! fill; the session's candles run as a backtest; a running service's data directory
//! is refused.

// Test code: deadlines, latency timings and random kill moments against real processes.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const HOUR_MS: i64 = 3_600_000;
const ENV: &[(&str, &str)] = &[("MAX_POSITION_SIZE", "0.5"), ("TRANSACTION_COSTS", "0.001")];

fn future_hour() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    (now / HOUR_MS + 2) * HOUR_MS
}

fn bar(t: i64, o: f64, h: f64, l: f64, c: f64) -> Value {
    json!({"timestamp": t, "open": o, "high": h, "low": l, "close": c, "volume": 100.0})
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    send(client().post(server.url(path)).bearer_auth(TRADER_KEY).json(&body)).await
}

async fn post_bars(server: &Server, bars: Vec<Value>) {
    let (s, r) = post(server, "/api/data/candles", json!({"symbol": "BTC/USDT", "timeframe": "1h", "candles": bars})).await;
    assert_eq!(s, 200, "{r}");
}

/// Waits until execution has taken in the bar closing at `close` (fills are durable
/// before the portfolio answers).
async fn wait_mark(server: &Server, close: &str) {
    wait_until(&format!("the mark {close}"), MARK_WAIT_MS, || async {
        let (s, p) = send(client().get(server.url("/api/execution/portfolio")).bearer_auth(VIEWER_KEY)).await;
        holds(s == 200 && p["last_prices"]["BTC/USDT"]["price"] == close, || format!("{s} {p}"))
    })
    .await;
}

/// Longest wait for execution to take in a posted bar.
const MARK_WAIT_MS: u64 = 10_000;

/// Records of each kind in the journal (`tradpal journal dump`).
fn journal_kinds(dir: &Path) -> std::collections::BTreeMap<String, u64> {
    let (code, out, err) = run_cli(&["journal", "dump", "--data-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let mut kinds = std::collections::BTreeMap::new();
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        *kinds.entry(v["kind"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    kinds
}

/// Runs a paper session over HTTP and stops the service; returns the session id.
async fn record_session(dir: &Path) -> String {
    let server = Server::start(dir, ENV);
    let (s, r) = post(&server, "/api/trading/start-session", json!({"symbol": "BTC/USDT", "capital": 10000, "mode": "paper"})).await;
    assert_eq!(s, 201, "{r}");
    let sid = r["session_id"].as_str().unwrap().to_string();
    let t0 = future_hour();
    post_bars(&server, vec![bar(t0, 30_000.0, 30_100.0, 29_900.0, 30_000.0)]).await;
    wait_mark(&server, "30000").await;

    let orders = [
        json!({"client_order_id": "m1", "symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.05", "session_id": sid}),
        json!({"client_order_id": "b1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.05", "price": "29500",
               "stop_loss": "29000", "take_profit": "31000", "session_id": sid}),
        json!({"client_order_id": "c1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "25000", "session_id": sid}),
        json!({"client_order_id": "big", "symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.3", "session_id": sid}),
        // Orders the engine ends by itself on the next bar (decisions, not inputs).
        json!({"client_order_id": "fok1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "20000",
               "time_in_force": "fok", "session_id": sid}),
        json!({"client_order_id": "ioc1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "20000",
               "time_in_force": "ioc", "session_id": sid}),
        json!({"client_order_id": "ro1", "symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.01", "reduce_only": true,
               "session_id": sid}),
    ];
    for o in orders {
        let (s, r) = post(&server, "/api/execution/submit-order", o).await;
        assert_eq!(s, 201, "{r}");
    }
    let (s, r) = post(&server, "/api/execution/cancel-order", json!({"client_order_id": "c1"})).await;
    assert_eq!((s, r["status"].as_str()), (200, Some("canceled")), "{r}");
    post_bars(&server, vec![bar(t0 + HOUR_MS, 30_000.0, 30_050.0, 29_400.0, 29_800.0)]).await;
    wait_mark(&server, "29800").await;
    post_bars(&server, vec![bar(t0 + 2 * HOUR_MS, 29_800.0, 31_100.0, 29_700.0, 31_000.0)]).await;
    wait_mark(&server, "31000").await;
    let (s, r) = post(&server, "/api/trading/stop-session", json!({"session_id": sid})).await;
    assert_eq!(s, 200, "{r}");
    assert!(server.stop().success());
    sid
}

fn replay_json(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let (code, out, err) = run_cli(args, env);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, v, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_paper_session_replays_identically_and_a_changed_fee_differs() {
    let dir = tempfile::tempdir().unwrap();
    let sid = record_session(dir.path()).await;
    let d = dir.path().to_str().unwrap();
    let kinds = journal_kinds(dir.path());
    let n = |k: &str| kinds.get(k).copied().unwrap_or(0);
    assert!(n("order_filled") >= 3 && n("order_canceled") >= 5, "the session must have fills and cancels: {kinds:?}");

    // Every record of the session's orders names it: `journal dump --session` has them all.
    let (code, dump, err) = run_cli(&["journal", "dump", "--data-dir", d, "--session", &sid], &[]);
    assert_eq!(code, 0, "{err}");
    let in_dump = |k: &str| dump.lines().filter(|l| serde_json::from_str::<Value>(l).unwrap()["kind"] == k).count() as u64;
    for k in ["order_submitted", "order_accepted", "order_filled", "order_canceled"] {
        assert_eq!(in_dump(k), n(k), "{k} records under the session");
    }

    // Every order of this journal is the session's: all its decisions and fills compared.
    let (code, r, err) = replay_json(&["replay", "--session", &sid, "--data-dir", d, "--json"], ENV);
    assert_eq!(code, 0, "{r}\n{err}");
    assert_eq!((r["identical"].as_bool(), r["scope"].as_str()), (Some(true), Some("session")), "{r}");
    // The session's own loop (its account) replays identically too.
    assert_eq!(r["trading_session"]["identical"].as_bool(), Some(true), "{r}");
    assert_eq!(r["fills"].as_u64(), Some(n("order_filled")), "{r}");
    assert_eq!(r["decisions"].as_u64(), Some(n("order_accepted") + n("order_rejected")), "{r}");
    assert_eq!(r["compared"]["order_submitted"].as_u64(), Some(n("order_submitted")), "{r}");
    assert_eq!(r["compared"]["order_canceled"].as_u64(), Some(n("order_canceled")), "{r}");
    assert_eq!(r["inputs"]["cancel"].as_u64(), Some(1), "{r}");

    // The whole account, as text.
    let (code, out, err) = run_cli(&["replay", "--data-dir", d], ENV);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("replay of the account: identical"), "{out}");

    // The settings come from the journal: replaying under another environment (and with
    // no environment at all) still decides with what the service used ...
    let (code, r, _) = replay_json(&["replay", "--session", &sid, "--data-dir", d, "--json"], &[]);
    assert_eq!((code, r["identical"].as_bool(), r["config_source"].as_str()), (0, Some(true), Some("journal")), "{r}");
    assert_eq!(r["config"]["max_position_size"].as_f64(), Some(0.5), "{r}");

    // ... and --what-if decides with other settings: at another fee the first fill
    // differs, in its fee.
    let fee2 = &[("MAX_POSITION_SIZE", "0.5"), ("TRANSACTION_COSTS", "0.002")];
    let (code, r, _) = replay_json(&["replay", "--session", &sid, "--data-dir", d, "--json"], fee2);
    assert_eq!(code, 0, "the journaled fee is used, not the environment's: {r}");
    let (code, r, _) = replay_json(&["replay", "--session", &sid, "--data-dir", d, "--json", "--what-if"], fee2);
    assert_eq!(code, 1, "{r}");
    let diff = &r["difference"];
    assert_eq!((diff["kind"].as_str(), diff["field"].as_str()), (Some("order_filled"), Some("fee")), "{r}");
    assert_ne!(diff["recorded"], diff["replayed"]);
    assert_eq!(r["fills"].as_u64(), Some(0), "nothing after the difference is counted: {r}");

    // The session's candles as a backtest.
    let (code, b, err) =
        replay_json(&["replay", "--session", &sid, "--data-dir", d, "--as-backtest", "--strategy", "buy_and_hold", "--json"], ENV);
    assert_eq!(code, 0, "{b}\n{err}");
    assert_eq!(
        (b["symbol"].as_str(), b["metrics"]["bars"].as_u64(), b["session_id"].as_str()),
        (Some("BTC/USDT"), Some(3), Some(sid.as_str())),
        "{b}"
    );
    assert!(b["counts"]["fills"].as_u64().unwrap() >= 1, "{b}");

    // Usage errors: exit 2 with a message.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let (code, _, err) = run_cli(&["replay", "--session", unknown, "--data-dir", d], ENV);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no session"), "{err}");
    let (code, _, err) = run_cli(&["replay", "--session", &sid, "--data-dir", d, "--as-backtest", "--strategy", "nope"], ENV);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_services_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), ENV);
    let (code, out, err) = run_cli(&["replay", "--data-dir", dir.path().to_str().unwrap()], ENV);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("in use"), "{err}");
    drop(server);
}
