//! RL agents end to end on the real binary over HTTP, on real BTC minutes: train (202),
//! poll to trained with a training curve and a held-out evaluation, infer on the latest
//! bar, evaluate, survive a restart, fine-tune from a base agent (version 2, results
//! before and after), and bad input answered 4xx naming the field.

// Test code: a deadline while polling a real process.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{client, run_cli, send, wait_until, Server, TRADER_KEY, VIEWER_KEY};
use serde_json::{json, Value};

const BARS: usize = 1_200;

fn candles() -> Vec<Value> {
    common::btc_minutes(BARS)
}

async fn post(server: &Server, path: &str, key: &str, body: Value) -> (u16, Value) {
    send(client().post(server.url(path)).bearer_auth(key).json(&body)).await
}

/// Longest wait for an agent to train.
const TRAIN_WAIT_MS: u64 = 180_000;

/// The agent's document once trained (or failed: the test fails with it).
async fn trained(server: &Server, id: &str) -> Value {
    wait_until(&format!("agent {id} to train"), TRAIN_WAIT_MS, || async {
        let (s, a) = send(client().get(server.url(&format!("/api/rl/agents/{id}"))).bearer_auth(VIEWER_KEY)).await;
        assert_eq!(s, 200, "{a}");
        match a["status"].as_str() {
            Some("trained") => Ok(a),
            Some("running") => Err(a.to_string()),
            _ => panic!("agent {id} did not train: {a}"),
        }
    })
    .await
}

async fn bad_input(server: &Server) {
    let base = json!({"symbol": "BTC/USDT", "timeframe": "1m", "episodes": 1});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field, code) in [
        (with("algorithm", json!("a2c")), "algorithm", 400),
        (with("reward", json!("sortino")), "reward", 400),
        (with("episodes", json!(0)), "episodes", 400),
        (with("train_fraction", json!(0.99)), "train_fraction", 400),
        (with("base_agent_id", json!("rl-999")), "base_agent_id", 404),
    ] {
        let (s, r) = post(server, "/api/rl/train", TRADER_KEY, body).await;
        assert_eq!(s, code, "{field}: {r}");
        assert!(r.to_string().contains(field), "{field}: {r}");
    }
    let (s, r) = post(server, "/api/rl/infer", VIEWER_KEY, json!({"agent_id": "rl-999", "symbol": "BTC/USDT"})).await;
    assert_eq!(s, 404, "{r}");
    assert!(r.to_string().contains("agent_id"), "{r}");
    // Too few bars: a symbol with 100 stored.
    let few: Vec<Value> = candles().into_iter().take(100).collect();
    let body = json!({"symbol": "ETH/USDT", "timeframe": "1m", "candles": few});
    assert_eq!(post(server, "/api/data/candles", TRADER_KEY, body).await.0, 200);
    let (s, r) = post(server, "/api/rl/train", TRADER_KEY, json!({"symbol": "ETH/USDT", "timeframe": "1m"})).await;
    assert_eq!(s, 400, "{r}");
    assert!(r.to_string().contains("bars") && r.to_string().contains("BARS_MIN"), "{r}");
}

#[tokio::test]
async fn rl_agents_train_infer_evaluate_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let body = json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": candles()});
    let (s, r) = post(&server, "/api/data/candles", TRADER_KEY, body).await;
    assert_eq!(s, 200, "{r}");
    bad_input(&server).await;

    let req = json!({"symbol": "BTC/USDT", "timeframe": "1m", "algorithm": "ppo", "episodes": 2, "seed": 1});
    let (s, r) = post(&server, "/api/rl/train", TRADER_KEY, req).await;
    assert_eq!(s, 202, "{r}");
    let id = r["agent_id"].as_str().unwrap().to_string();
    let a = trained(&server, &id).await;
    assert_eq!(a["training_curve"].as_array().unwrap().len(), 2, "{a}");
    assert!(a["evaluation"]["p_value"].as_f64().is_some(), "{a}");
    assert_eq!(a["version"], 1);

    let (s, inf) = post(&server, "/api/rl/infer", VIEWER_KEY, json!({"agent_id": id, "symbol": "BTC/USDT"})).await;
    assert_eq!(s, 200, "{inf}");
    let p = &inf["probabilities"];
    let sum = p["short"].as_f64().unwrap() + p["flat"].as_f64().unwrap() + p["long"].as_f64().unwrap();
    assert!((sum - 1.0).abs() < 1e-9, "{inf}");
    assert_eq!(inf["version"], 1);

    let (s, ev) = post(&server, "/api/rl/evaluate", VIEWER_KEY, json!({"agent_id": id, "random_agents": 20})).await;
    assert_eq!(s, 200, "{ev}");
    for k in ["agent", "buy_and_hold", "random_mean", "excess_return", "excess_return_ci95", "p_value"] {
        assert!(!ev["evaluation"][k].is_null(), "{k}: {ev}");
    }
    server.stop();

    let server = Server::start(&data, &[]);
    let (s, list) = send(client().get(server.url("/api/rl/agents")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["agents"][0]["agent_id"], id.as_str(), "{list}");
    assert_eq!(list["agents"][0]["status"], "trained", "{list}");
    let (s, again) = post(&server, "/api/rl/infer", VIEWER_KEY, json!({"agent_id": id, "symbol": "BTC/USDT"})).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["probabilities"], inf["probabilities"], "the same agent after a restart");
    // Asked again, it answers from the observation it made; a new bar makes a new one.
    let (_, cached) = post(&server, "/api/rl/infer", VIEWER_KEY, json!({"agent_id": id, "symbol": "BTC/USDT"})).await;
    assert_eq!(cached, again);
    let next = common::btc_minutes(BARS + 1).pop().unwrap();
    let body = json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": [next]});
    assert_eq!(send(client().post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await.0, 200);
    let (_, moved) = post(&server, "/api/rl/infer", VIEWER_KEY, json!({"agent_id": id, "symbol": "BTC/USDT"})).await;
    assert_ne!(moved["bar_open_time"], again["bar_open_time"], "{moved}");

    let req = json!({"symbol": "BTC/USDT", "timeframe": "1m", "algorithm": "ppo", "episodes": 1, "seed": 2, "base_agent_id": id});
    let (s, r) = post(&server, "/api/rl/train", TRADER_KEY, req).await;
    assert_eq!(s, 202, "{r}");
    assert_eq!(r["version"], 2, "{r}");
    let tuned = trained(&server, r["agent_id"].as_str().unwrap()).await;
    assert!(!tuned["base_evaluation"].is_null() && !tuned["evaluation"].is_null(), "{tuned}");

    // The CLI reads the same registry over HTTP.
    let (code, out, err) = run_cli(&["rl", "agents", "--url", &server.base, "--key", VIEWER_KEY], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&id) && out.contains("\"version\": 2"), "{out}");
    let (code, out, err) =
        run_cli(&["rl", "infer", "--agent-id", &id, "--symbol", "BTC/USDT", "--url", &server.base, "--key", VIEWER_KEY], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("probabilities"), "{out}");
    server.stop();
}

/// `POST /api/rl/infer` latency over HTTP (sequential calls, one agent, 1,200 stored
/// bars): `cargo test --release --test rl_api -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn bench_infer_latency_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let body = json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": candles()});
    assert_eq!(post(&server, "/api/data/candles", TRADER_KEY, body).await.0, 200);
    let req = json!({"symbol": "BTC/USDT", "timeframe": "1m", "algorithm": "ppo", "episodes": 1});
    let (_, r) = post(&server, "/api/rl/train", TRADER_KEY, req).await;
    let id = r["agent_id"].as_str().unwrap().to_string();
    trained(&server, &id).await;
    let (c, body) = (client(), json!({"agent_id": id, "symbol": "BTC/USDT"}));
    let started = std::time::Instant::now();
    let mut lat = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let t = std::time::Instant::now();
        let (s, _) = send(c.post(server.url("/api/rl/infer")).bearer_auth(VIEWER_KEY).json(&body)).await;
        assert_eq!(s, 200);
        lat.push(t.elapsed().as_micros() as u64);
    }
    common::print_latencies("rl infer over HTTP", lat, Some(started.elapsed()));
    server.stop();
}
