//! The `ai_ensemble` strategy end to end on the real binary and real BTC minutes: train
//! an ML direction model and an RL agent on the history, start an `ai_ensemble` paper
//! session, feed it newer bars over HTTP; then the spec's `ai_ensemble` backtest over
//! exactly those bars makes the same trades (parity), its report names the pinned models
//! and the P&L by part; the audit chain of a session order is complete (the bar, the ML
//! prediction, the RL action, the regime, the weights, the risk check, the fills); after
//! a SIGKILL the session resumes with its pinned models and acts on nothing twice.

// Test code waits on a real server with real-time deadlines.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{client, run_cli, send, wait_until, Server, TRADER_KEY, VIEWER_KEY};
use serde_json::{json, Value};

/// Bars stored before the session starts (what the models train on).
const HISTORY: usize = 2_000;
/// Bars the session acts on.
const LIVE: usize = 900;

fn candles() -> Vec<Value> {
    common::btc_minutes(HISTORY + LIVE + 100)
}

async fn post(server: &Server, path: &str, key: &str, body: Value) -> (u16, Value) {
    send(client().post(server.url(path)).bearer_auth(key).json(&body)).await
}

async fn ingest(server: &Server, candles: &[Value]) {
    for chunk in candles.chunks(50) {
        let (s, r) =
            post(server, "/api/data/candles", TRADER_KEY, json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": chunk})).await;
        assert_eq!(s, 200, "{r}");
    }
}

/// Longest wait for a training or evaluation to leave `running`.
const SETTLE_WAIT_MS: u64 = 180_000;
/// Longest wait for a session to act on the bars it was sent.
const SESSION_WAIT_MS: u64 = 60_000;

/// Polls `path` until `field` leaves `running`; the final document.
async fn settled(server: &Server, path: &str, field: &str, running: &str) -> Value {
    wait_until(&format!("{path} to leave {field} {running}"), SETTLE_WAIT_MS, || async {
        let (s, v) = send(client().get(server.url(path)).bearer_auth(VIEWER_KEY)).await;
        assert_eq!(s, 200, "{v}");
        if v[field] != running {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await
}

/// The session's performance once it has acted on `bars` bars.
async fn performance(server: &Server, id: &str, bars: u64) -> Value {
    let url = server.url(&format!("/api/trading/performance?session_id={id}"));
    wait_until(&format!("session {id} to act on {bars} bars"), SESSION_WAIT_MS, || async {
        let (s, p) = send(client().get(&url).bearer_auth(VIEWER_KEY)).await;
        assert_eq!(s, 200, "{p}");
        if p["pnl"]["bars"].as_u64() == Some(bars) {
            Ok(p)
        } else {
            Err(p.to_string())
        }
    })
    .await
}

fn key(t: &Value) -> Value {
    json!([t["entry_time"], t["exit_time"], t["side"], t["entry_price"], t["exit_price"], t["quantity"], t["fees"], t["pnl"]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ai_ensemble_session_trades_as_its_backtest_does_with_a_complete_audit_chain() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let all = candles();
    let server = Server::start(&data, &[]);
    ingest(&server, &all[..HISTORY]).await;

    // Nothing trained yet: 409 saying how to train.
    let session = json!({"symbol": "BTC/USDT", "capital": 5000, "strategy": "ai_ensemble", "timeframe": "1m",
                         "params": {"threshold": 0.005}});
    let (s, r) = post(&server, "/api/trading/start-session", TRADER_KEY, session.clone()).await;
    assert_eq!(s, 409, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("POST /api/ml/train"), "{r}");

    // Train both on the history.
    let ml = json!({"symbol": "BTC/USDT", "timeframe": "1m", "features": ["rsi", "macd", "bb", "volume"], "target": "price_direction",
                    "model_type": "lightgbm"});
    let (s, r) = post(&server, "/api/ml/train", TRADER_KEY, ml).await;
    assert_eq!(s, 202, "{r}");
    let model_id = r["model_id"].as_str().unwrap().to_string();
    let rl = json!({"symbol": "BTC/USDT", "timeframe": "1m", "algorithm": "ppo", "episodes": 1, "seed": 3});
    let (s, r) = post(&server, "/api/rl/train", TRADER_KEY, rl).await;
    assert_eq!(s, 202, "{r}");
    let agent_id = r["agent_id"].as_str().unwrap().to_string();
    assert_eq!(settled(&server, &format!("/api/ml/models/{model_id}"), "status", "training").await["status"], "ready");
    assert_eq!(settled(&server, &format!("/api/rl/agents/{agent_id}"), "status", "running").await["status"], "trained");

    // The session pins them and acts on every newer bar.
    let (s, r) = post(&server, "/api/trading/start-session", TRADER_KEY, session).await;
    assert_eq!(s, 201, "{r}");
    let id = r["session_id"].as_str().unwrap().to_string();
    let live = &all[HISTORY..HISTORY + LIVE];
    ingest(&server, live).await;
    let perf = performance(&server, &id, LIVE as u64).await;
    assert_eq!(perf["pnl"]["bars"], LIVE, "{}", perf["pnl"]);
    let got: Vec<Value> = perf["trades"].as_array().unwrap().iter().map(key).collect();
    eprintln!("ai_ensemble session: {} closed trades, counts {}", got.len(), perf["counts"]);
    assert!(got.len() >= 5, "the ensemble trades on these bars: {} trades, {}", got.len(), perf["counts"]);

    // The spec's backtest example over exactly those bars: the same trades.
    let start = live[0]["timestamp"].as_str().unwrap();
    let end = all[HISTORY + LIVE]["timestamp"].as_str().unwrap();
    let bt = json!({"symbol": "BTC/USDT", "strategy": "ai_ensemble", "start_date": start, "end_date": end, "timeframe": "1m",
                    "initial_capital": 5000, "params": {"threshold": 0.005}});
    let (s, r) = post(&server, "/api/backtest/run", TRADER_KEY, bt).await;
    assert_eq!(s, 202, "{r}");
    let bid = r["backtest_id"].as_str().unwrap().to_string();
    assert_eq!(r["bars"], LIVE, "{r}");
    assert_eq!(settled(&server, &format!("/api/backtest/results/{bid}"), "status", "running").await["status"], "completed");
    let (s, report) = send(client().get(server.url(&format!("/api/backtest/performance/{bid}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{report}");
    let want: Vec<Value> = report["trades"].as_array().unwrap().iter().map(key).collect();
    assert_eq!(got, want, "session and backtest trades");
    let ai = &report["ai_ensemble"];
    assert_eq!(ai["model"]["model_id"], model_id.as_str(), "{ai}");
    assert_eq!(ai["agent"]["agent_id"], agent_id.as_str(), "{ai}");
    assert_eq!(ai["regime_model"], "pinned", "{ai}");
    let parts: usize = ai["pnl_by_part"].as_object().unwrap().values().map(|v| v["trades"].as_u64().unwrap() as usize).sum();
    assert_eq!(parts, want.len(), "every trade attributed to a part: {ai}");
    assert!(ai["pnl_by_part"].as_object().unwrap().keys().all(|k| ["ml", "rl", "regime"].contains(&k.as_str())), "{ai}");

    // Its models are in the listing, and the ML model cannot be deleted under it.
    let (_, status) = send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(status["orchestrator"]["sessions"][0]["models"]["model_id"], model_id.as_str(), "{status}");
    let (s, r) = send(client().delete(server.url(&format!("/api/ml/models/{model_id}"))).bearer_auth(TRADER_KEY)).await;
    assert_eq!(s, 409, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains(&id), "{r}");

    // Restart hard: the session resumes with its pinned models, acting on nothing twice.
    server.kill_hard();
    let server = Server::start(&data, &[]);
    let again = performance(&server, &id, LIVE as u64).await;
    assert_eq!(again["trades"].as_array().unwrap().iter().map(key).collect::<Vec<_>>(), got, "rebuilt from the journal");
    ingest(&server, &all[HISTORY + LIVE..]).await;
    let more = performance(&server, &id, (all.len() - HISTORY) as u64).await;
    assert_eq!(more["pnl"]["bars"], all.len() - HISTORY, "{}", more["pnl"]);
    server.stop();

    // The audit chain of a session order, offline.
    let (code, dump, err) = run_cli(&["journal", "dump", "--data-dir", data.to_str().unwrap(), "--session", &id], &[]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<Value> = dump.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let decisions = records.iter().filter(|v| v["kind"] == "ai_decision").count();
    let submitted: Vec<&Value> = records.iter().filter(|v| v["kind"] == "order_submitted").collect();
    assert!(decisions >= 1 && decisions <= submitted.len(), "{decisions} decisions for {} orders", submitted.len());
    // An order decided once every part had warmed up, that has filled.
    let audit = |order_id: &str| -> Value {
        let (code, out, err) = run_cli(&["audit", "order", order_id, "--data-dir", data.to_str().unwrap()], &[]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let (order, chain) = submitted
        .iter()
        .skip(submitted.len() / 2)
        .map(|o| (*o, audit(o["event"]["order_id"].as_str().unwrap())))
        .find(|(_, c)| !c["decision"]["ml"].is_null() && !c["fills"].as_array().unwrap().is_empty())
        .expect("a filled order decided with every part");
    let d = &chain["decision"];
    assert_eq!(d["kind"], "ai_ensemble", "{chain}");
    assert_eq!(d["session"]["session_id"], id.as_str(), "{chain}");
    assert_eq!(d["ml"]["model_id"], model_id.as_str(), "{chain}");
    assert!(d["ml"]["probability"].is_number(), "{chain}");
    assert_eq!(d["rl"]["agent_id"], agent_id.as_str(), "{chain}");
    assert!(d["regime"]["regime"].is_string(), "{chain}");
    assert!(d["weights"]["ml"].as_f64().unwrap() > 0.0, "{chain}");
    assert!(d["sequence"].as_u64().unwrap() < order["sequence"].as_u64().unwrap(), "{chain}");
    assert_eq!(chain["trigger"]["symbol"], "BTC/USDT", "{chain}");
    assert!(["passed", "resized", "refused"].contains(&chain["risk_check"]["result"].as_str().unwrap()), "{chain}");
    assert!(!chain["fills"].as_array().unwrap().is_empty(), "{chain}");

    // Replayed offline with its pinned models loaded from their files: the same decisions,
    // AI decisions included, one by one.
    let (code, out, err) = run_cli(&["replay", "--session", &id, "--data-dir", data.to_str().unwrap(), "--json"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((r["identical"].as_bool(), r["trading_session"]["identical"].as_bool()), (Some(true), Some(true)), "{r}");
    let r = &r["trading_session"];
    assert_eq!(r["recorded"].as_u64(), Some(records.len() as u64 - 1), "every record but the start: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_turned_off_is_left_out_and_its_endpoints_answer_503_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let off = [("ENABLE_ML_TRAINING", "false"), ("ENABLE_REINFORCEMENT_LEARNING", "false"), ("ENABLE_MARKET_REGIME", "false")];
    let server = Server::start(&dir.path().join("data"), &off);
    ingest(&server, &candles()[..300]).await;
    for (path, flag) in [("/api/ml/models", "ENABLE_ML_TRAINING"), ("/api/regime/current/BTC/USDT", "ENABLE_MARKET_REGIME")] {
        let (s, r) = send(client().get(server.url(path)).bearer_auth(VIEWER_KEY)).await;
        assert_eq!(s, 503, "{path}: {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains(flag), "{r}");
    }
    let (s, r) = post(&server, "/api/rl/train", TRADER_KEY, json!({"symbol": "BTC/USDT"})).await;
    assert_eq!(s, 503, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("ENABLE_REINFORCEMENT_LEARNING"), "{r}");
    // Every part off: the ensemble holds and says why for each.
    let (s, d) = post(&server, "/api/trading/smart-trade", TRADER_KEY, json!({"symbol": "BTC/USDT"})).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["action"], "hold", "{d}");
    for (part, flag) in [("ml", "ENABLE_ML_TRAINING"), ("rl", "ENABLE_REINFORCEMENT_LEARNING"), ("regime", "ENABLE_MARKET_REGIME")] {
        assert!(d["decision"][part]["left_out"].as_str().unwrap().contains(flag), "{part}: {d}");
    }
    server.stop();
}
