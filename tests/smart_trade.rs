//! `POST /api/trading/smart-trade` end to end on the real binary and real candles: 409
//! saying how to train when nothing is trained (the spec's body included); with a
//! trained model, a decision with each part's contribution, journaled before its order.

mod common;

use common::*;
use serde_json::{json, Value};

/// Longest wait for a model to train.
const TRAIN_WAIT_MS: u64 = 120_000;

async fn smart(server: &Server, body: Value) -> (u16, Value) {
    send(client().post(server.url("/api/trading/smart-trade")).bearer_auth(TRADER_KEY).json(&body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_trade_decides_with_a_trained_model_and_journals_first() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);

    // The spec's example, with nothing trained: 409 naming how to train one.
    let spec = json!({"symbol": "BTC/USDT", "market_data": {"close": [50000, 50500, 51000], "volume": [1000, 1100, 1200]}});
    let (s, r) = smart(&server, spec).await;
    assert_eq!(s, 409, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("POST /api/ml/train"), "{r}");
    // Bad input names the field.
    let (s, r) = smart(&server, json!({"symbol": "BTC/USDT", "market_data": {"close": [1, "x"]}})).await;
    assert_eq!(s, 400, "{r}");
    let (s, r) = smart(&server, json!({"symbol": "BTC/USDT", "market_data": {"close": [1.0, -2.0]}})).await;
    assert_eq!(s, 400, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("market_data.close[1]"), "{r}");

    // Train a direction model on the stored week.
    let body =
        json!({"symbol": "BTC/USDT", "features": ["rsi", "macd", "bb", "volume"], "target": "price_direction", "model_type": "logistic"});
    let (s, r) = send(client().post(server.url("/api/ml/train")).bearer_auth(TRADER_KEY).json(&body)).await;
    assert_eq!(s, 202, "{r}");
    let id = r["model_id"].as_str().unwrap().to_string();
    let m = wait_until("the model to train", TRAIN_WAIT_MS, || async {
        let (_, m) = send(client().get(server.url(&format!("/api/ml/models/{id}"))).bearer_auth(VIEWER_KEY)).await;
        if m["status"] != "training" {
            Ok(m)
        } else {
            Err(m.to_string())
        }
    })
    .await;
    assert_eq!(m["status"], "ready", "{m}");

    // A decision on the stored bars: the ML part speaks, RL is left out and says why.
    let (s, d) = smart(&server, json!({"symbol": "BTC/USDT"})).await;
    assert_eq!(s, 200, "{d}");
    let ml = &d["decision"]["ml"];
    assert!(ml["score"].is_number() && ml["weight"].as_f64().unwrap() > 0.0, "{d}");
    assert!(d["decision"]["rl"]["left_out"].as_str().unwrap().contains("POST /api/rl/train"), "{d}");
    let parts: f64 = ["ml", "rl", "regime"].iter().map(|k| d["decision"][k]["contribution"].as_f64().unwrap()).sum();
    assert!((parts - d["decision"]["score"].as_f64().unwrap()).abs() < 1e-9, "{d}");
    assert!(["buy", "sell", "hold"].contains(&d["action"].as_str().unwrap()), "{d}");

    // Executed at threshold 0: an order that names its decision, journaled after it.
    let (s, d) = smart(&server, json!({"symbol": "BTC/USDT", "execute": true, "threshold": 0.0})).await;
    assert_eq!(s, 200, "{d}");
    let seq = d["decision_sequence"].as_u64().unwrap();
    assert_ne!(d["action"], "hold", "{d}");
    assert_eq!(d["order"]["order"]["client_order_id"], format!("ai-{seq}"), "{d}");
    // The audit chain of that order: the decision with the model's id, version and
    // probability, the regime, the weights; the risk check; the order.
    let order_id = d["order"]["order"]["order_id"].as_str().unwrap();
    let (s, a) = send(client().get(server.url(&format!("/api/audit/orders/{order_id}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["decision"]["kind"], "ai_ensemble", "{a}");
    assert_eq!(a["decision"]["sequence"], seq, "{a}");
    assert_eq!(a["decision"]["ml"]["model_id"], id.as_str(), "{a}");
    assert!(a["decision"]["ml"]["probability"].is_number() && a["decision"]["ml"]["version"] == 1, "{a}");
    assert!(a["decision"]["weights"]["ml"].as_f64().unwrap() > 0.0, "{a}");
    assert!(["passed", "resized", "refused"].contains(&a["risk_check"]["result"].as_str().unwrap()), "{a}");
    assert!(a["order"]["sequence"].as_u64().unwrap() > seq, "{a}");
    let (s, _) = send(client().get(server.url("/api/audit/orders/00000000-0000-4000-8000-000000000000")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 404);
    server.stop();
    let (code, dump, err) = run_cli(&["journal", "dump", "--data-dir", data.to_str().unwrap(), "--from", &seq.to_string()], &[]);
    assert_eq!(code, 0, "{err}");
    let first: Value = serde_json::from_str(dump.lines().next().unwrap()).unwrap();
    assert_eq!(first["kind"], "ai_decision", "{first}");
    assert!(dump.lines().any(|l| l.contains("order_submitted") && l.contains(&format!("ai-{seq}"))));
}

/// Latency of `smart-trade` over HTTP with a trained model and agent on the stored bars
/// (each call reads 2,000 bars, scores the model and the agent, reads the regime, sizes,
/// and journals its decision durably before answering). A benchmark, not a test:
/// `cargo test --release --test smart_trade -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn bench_smart_trade_latency() {
    #![allow(clippy::disallowed_methods)] // a benchmark reads the wall clock
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);
    let ml =
        json!({"symbol": "BTC/USDT", "features": ["rsi", "macd", "bb", "volume"], "target": "price_direction", "model_type": "lightgbm"});
    let (s, r) = send(client().post(server.url("/api/ml/train")).bearer_auth(TRADER_KEY).json(&ml)).await;
    assert_eq!(s, 202, "{r}");
    let rl = json!({"symbol": "BTC/USDT", "algorithm": "ppo", "episodes": 1});
    let (s, r) = send(client().post(server.url("/api/rl/train")).bearer_auth(TRADER_KEY).json(&rl)).await;
    assert_eq!(s, 202, "{r}");
    let agent = r["agent_id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let (_, a) = send(client().get(server.url(&format!("/api/rl/agents/{agent}"))).bearer_auth(VIEWER_KEY)).await;
        let (_, d) = smart(&server, json!({"symbol": "BTC/USDT"})).await;
        if a["status"] == "trained" && d["decision"]["ml"]["score"].is_number() {
            assert!(d["decision"]["rl"]["score"].is_number(), "{d}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not trained: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let mut lat = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..300 {
        let t = std::time::Instant::now();
        let (s, d) = smart(&server, json!({"symbol": "BTC/USDT"})).await;
        lat.push(t.elapsed().as_micros() as u64);
        assert_eq!(s, 200, "{d}");
    }
    print_latencies("smart-trade over HTTP (ML + RL + regime, journaled)", lat, Some(started.elapsed()));
    server.stop();
}
