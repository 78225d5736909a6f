//! The ML API end to end: the real binary, real candles (`testdata/`), the spec's ML
//! examples (train with `xgboost` + hyperparameter optimisation, predict with the raw
//! 4-value vector), bad input named, models surviving a restart, deletion, and the CLI.
// Test code: the ignored latency test times real HTTP requests.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{json, Value};

async fn train(server: &Server, body: &Value) -> (u16, Value) {
    send(client().post(server.url("/api/ml/train")).bearer_auth(TRADER_KEY).json(body)).await
}

async fn predict(server: &Server, body: &Value) -> (u16, Value) {
    send(client().post(server.url("/api/ml/predict")).bearer_auth(VIEWER_KEY).json(body)).await
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    send(client().get(server.url(path)).bearer_auth(VIEWER_KEY)).await
}

/// Longest wait for a model to train.
const TRAIN_WAIT_MS: u64 = 120_000;

async fn poll(server: &Server, id: &str) -> Value {
    wait_until(&format!("model {id} to finish training"), TRAIN_WAIT_MS, || async {
        let (s, r) = get(server, &format!("/api/ml/models/{id}")).await;
        assert_eq!(s, 200, "{r}");
        if r["status"] != "training" {
            return Ok(r);
        }
        let p = r["progress"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{r}");
        Err(r.to_string())
    })
    .await
}

fn expect_error(status: u16, body: &Value, want_status: u16, needle: &str) {
    assert_eq!(status, want_status, "{body}");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
}

#[tokio::test]
async fn spec_examples_bad_input_restart_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (data, csv) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);

    // The spec's example, exactly.
    let spec = json!({"symbol": "BTC/USDT", "features": ["rsi", "macd", "bb", "volume"], "target": "price_direction",
                      "model_type": "xgboost", "hyperparameter_optimization": true});
    let (s, accepted) = train(&server, &spec).await;
    assert_eq!(s, 202, "{accepted}");
    assert_eq!(accepted["status"], "training");
    assert_eq!(accepted["version"], 1);
    assert!(accepted["implementation"].as_str().unwrap().contains("lightgbm3"), "{accepted}");
    let id = accepted["model_id"].as_str().unwrap().to_string();
    let m = poll(&server, &id).await;
    assert_eq!(m["status"], "ready", "{m}");
    let oos = &m["metrics"]["out_of_sample"];
    let auc = oos["model"]["auc"].as_f64().unwrap();
    assert!((0.3..0.7).contains(&auc), "real minutes are close to a coin flip: {oos}");
    assert_eq!(oos["baseline"]["auc"], 0.5, "{oos}");
    for k in ["log_loss", "brier", "accuracy"] {
        assert!(oos["model"][k].is_number() && oos["baseline"][k].is_number(), "{k} in {oos}");
    }
    assert_eq!(m["features"], json!(["rsi_14", "macd_hist_rel", "bb_percent_b", "volume_ratio_20"]));
    assert!(m["metrics"]["hyperparameter_optimization"]["trials"].as_u64().unwrap() > 1, "{m}");
    assert!(m["data_hash"].as_str().unwrap().len() == 64 && m["seed"] == 0 && m["code_version"].is_string(), "{m}");
    assert_eq!(m["causality_check"]["passed"], true);
    assert!(m["training_window"]["end"].as_str() < m["test_window"]["start"].as_str(), "{m}");

    // The spec's predict example: RSI, MACD, BB, volume.
    let (s, p) = predict(&server, &json!({"model_id": id, "features": [0.7, 0.3, 0.8, 1000]})).await;
    assert_eq!(s, 200, "{p}");
    let prob = p["probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&prob) && p["version"] == 1 && (p["class"] == 0 || p["class"] == 1), "{p}");
    let (s, latest) = predict(&server, &json!({"model_id": id, "symbol": "BTC/USDT"})).await;
    assert_eq!(s, 200, "{latest}");
    assert_eq!(latest["bar_time"], "2022-01-07T23:59:00Z", "{latest}");

    let (s, imp) = get(&server, &format!("/api/ml/feature-importance?model_id={id}")).await;
    assert_eq!(s, 200, "{imp}");
    let rows = imp["features"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r["name"].is_string() && r["gain"].is_number() && r["permutation"].is_number()), "{imp}");

    // Bad input, each named.
    let cases = [
        (predict(&server, &json!({"model_id": id, "features": [0.7, 0.3, 0.8]})).await, 400, "expected 4 values"),
        (
            predict(&server, &json!({"model_id": id, "features": [0.7, null, 0.8, 1]})).await,
            400,
            "features[1] (macd_hist_rel) is not a finite number",
        ),
        (predict(&server, &json!({"model_id": id, "features": [0.7, "NaN", 0.8, 1]})).await, 400, "not a finite number"),
        (predict(&server, &json!({"model_id": "00000000-0000-4000-8000-000000000000", "features": [1]})).await, 404, "no model"),
        (predict(&server, &json!({"model_id": id, "symbol": "DOGE/USDT"})).await, 404, "DOGE/USDT"),
        (train(&server, &json!({"symbol": "BTC/USDT", "model_type": "random_forest"})).await, 400, "xgboost"),
        (train(&server, &json!({"symbol": "BTC/USDT", "features": ["rsi", "astrology"]})).await, 400, "astrology"),
        (train(&server, &json!({"symbol": "DOGE/USDT"})).await, 404, "DOGE/USDT"),
        (
            train(&server, &json!({"symbol": "BTC/USDT", "start_date": "2022-01-01T00:00:00Z", "end_date": "2022-01-01T02:00:00Z"})).await,
            400,
            "at least 300",
        ),
        (get(&server, "/api/ml/feature-importance").await, 400, "model_id"),
    ];
    for ((s, body), want, needle) in cases {
        expect_error(s, &body, want, needle);
    }
    let (_, list) = get(&server, "/api/ml/models").await;
    assert_eq!(list["count"], 1, "{list}");
    server.stop();

    // A restart: the model is still there, loaded from its file, predicting the same.
    let server = Server::start(&data, &[]);
    let m2 = poll(&server, &id).await;
    assert_eq!(m2["metrics"], m["metrics"]);
    let (s, p2) = predict(&server, &json!({"model_id": id, "features": [0.7, 0.3, 0.8, 1000]})).await;
    assert_eq!((s, p2["probability"].clone()), (200, p["probability"].clone()), "{p2}");
    let (s, del) = send(client().delete(server.url(&format!("/api/ml/models/{id}"))).bearer_auth(TRADER_KEY)).await;
    assert_eq!(s, 200, "{del}");
    let (s, gone) = get(&server, &format!("/api/ml/models/{id}")).await;
    expect_error(s, &gone, 410, "deleted");
    assert!(!data.join(format!("models/{id}.json")).exists(), "the file is removed");
    let (_, list) = get(&server, "/api/ml/models").await;
    assert_eq!(list["count"], 0, "{list}");
    server.stop();

    // The CLI trains on the same file in-process.
    let args = ["ml", "train", "--data", csv.to_str().unwrap(), "--timeframe", "1m", "--model-type", "logistic", "--json"];
    let (code, out, err) = run_cli(&args, &[]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["out_of_sample"]["baseline"]["auc"], 0.5, "{r}");
    let (code, _, err) = run_cli(&["ml", "train", "--data", csv.to_str().unwrap(), "--timeframe", "1m", "--model-type", "svm"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("neural_network"), "{err}");
}

/// `predict` over HTTP, one row per request, sequential (target p99 < 1 ms). Run by
/// `scripts/bench_ml.sh` in release: `cargo test --release --test ml_api -- --ignored`.
#[tokio::test]
#[ignore]
async fn predict_latency() {
    const CALLS: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);
    let (s, accepted) = train(&server, &json!({"symbol": "BTC/USDT"})).await;
    assert_eq!(s, 202, "{accepted}");
    let id = accepted["model_id"].as_str().unwrap().to_string();
    assert_eq!(poll(&server, &id).await["status"], "ready");
    let c = client();
    let body = json!({"model_id": id, "features": [50.0, 0.0001, 0.5, 1.0, 0.0001, 0.0003, 0.001, 0.0008]});
    let started = std::time::Instant::now();
    let mut lat = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = std::time::Instant::now();
        let (s, p) = send(c.post(server.url("/api/ml/predict")).bearer_auth(VIEWER_KEY).json(&body)).await;
        assert_eq!(s, 200, "{p}");
        lat.push(t.elapsed().as_micros() as u64);
    }
    print_latencies("ml predict over HTTP (1 row)", lat, Some(started.elapsed()));
    server.stop();
}
