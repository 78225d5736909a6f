//! Commands over NATS request/reply against the real binary and a real nats-server:
//! the same answers as HTTP, errors as JSON, and the command round trip measured next
//! to HTTP (ignored bench).

// Test code: deadlines, latency timings and random kill moments against real processes.
#![allow(clippy::disallowed_methods)]

mod common;

use common::nats::{wait_stream, NatsServer};
use common::*;
use serde_json::{json, Value};
use std::time::Instant;

/// Longest wait for the service to answer on NATS, or publish what a test waits for.
const NATS_WAIT_MS: u64 = 20_000;
/// Longest wait for the records of an imported candle file (45,000 bars) to be published.
const IMPORT_PUBLISHED_WAIT_MS: u64 = 30_000;

async fn request(client: &async_nats::Client, subject: &str, body: Value) -> Value {
    // The service subscribes shortly after it starts: "no responders" until then.
    let payload = serde_json::to_vec(&body).unwrap();
    let msg = wait_until(&format!("an answer on {subject}"), NATS_WAIT_MS, || async {
        client.request(subject.to_string(), payload.clone().into()).await.map_err(|e| e.to_string())
    })
    .await;
    serde_json::from_slice(&msg.payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_answer_like_http() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("NATS_URL", &nats.url())]);
    let client = async_nats::connect(nats.url()).await.unwrap();

    let p = request(&client, "tradpal.cmd.execution.portfolio", json!({})).await;
    assert_eq!((p["cash"].as_str(), p["trading_state"].as_str()), (Some("10000"), Some("active")), "{p}");
    let r = request(
        &client,
        "tradpal.cmd.risk.calculate-position-size",
        json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": 50000}),
    )
    .await;
    assert!((r["quantity"].as_f64().unwrap() - 0.2).abs() < 1e-12, "{r}");

    // An order over NATS is the same order over HTTP (and idempotent across both).
    let order =
        json!({"client_order_id": "n1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "30000"});
    let a = request(&client, "tradpal.cmd.execution.submit-order", order.clone()).await;
    assert_eq!((a["created"].as_bool(), a["order"]["status"].as_str()), (Some(true), Some("accepted")), "{a}");
    let (s, b) = send(client_http().post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&order)).await;
    assert_eq!((s, &b["order"]["order_id"], b["created"].as_bool()), (200, &a["order"]["order_id"], Some(false)), "{b}");
    let page = request(&client, "tradpal.cmd.execution.orders", json!({"status": "open"})).await;
    assert_eq!(page["total"], 1, "{page}");
    let c = request(&client, "tradpal.cmd.execution.cancel-order", json!({"client_order_id": "n1"})).await;
    assert_eq!(c["status"], "canceled", "{c}");

    // Sessions over NATS: start, performance, stop; the same actor messages as HTTP.
    let body = json!({"symbol": "ETH/USDT", "capital": 1000, "strategy": "sma_cross", "timeframe": "1m"});
    let started = request(&client, "tradpal.cmd.trading.start-session", body).await;
    let sid = started["session_id"].as_str().unwrap_or_else(|| panic!("{started}")).to_string();
    let perf = request(&client, "tradpal.cmd.trading.performance", json!({"session_id": sid})).await;
    assert_eq!(perf["pnl"]["capital"], 1000.0, "{perf}");
    let stopped = request(&client, "tradpal.cmd.trading.emergency-stop", json!({"session_id": sid})).await;
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    let e = request(&client, "tradpal.cmd.trading.start-session", json!({"symbol": "ETH/USDT", "capital": 1000, "strategy": "moon"})).await;
    assert_eq!(e["error"]["status"], 400, "{e}");

    // Errors: JSON with code and HTTP-equivalent status; nothing crashes.
    for (subject, body, code, status) in [
        ("tradpal.cmd.execution.submit-order", json!({"symbol": "BTC/USDT"}), "bad_request", 400),
        (
            "tradpal.cmd.execution.submit-order",
            json!({"symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "NaN"}),
            "bad_request",
            400,
        ),
        ("tradpal.cmd.execution.cancel-order", json!({"client_order_id": "nope"}), "not_found", 404),
        ("tradpal.cmd.execution.nothing", json!({}), "not_found", 404),
        ("tradpal.cmd.execution.cancel-order", json!({"client_order_id": "n1"}), "conflict", 409),
    ] {
        let e = request(&client, subject, body.clone()).await;
        assert_eq!((e["error"]["code"].as_str(), e["error"]["status"].as_u64()), (Some(code), Some(status)), "{subject} {body}: {e}");
    }
    let garbage = client.request("tradpal.cmd.execution.submit-order".to_string(), "{not json".into()).await.unwrap();
    let e: Value = serde_json::from_slice(&garbage.payload).unwrap();
    assert_eq!(e["error"]["code"], "bad_request", "{e}");
    let (s, st) = send(client_http().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200);
    assert!(st["nats"]["command_requests"].as_u64().unwrap() >= 10, "{st}");
}

fn client_http() -> reqwest::Client {
    client()
}

/// Round trip of one command, NATS request/reply vs HTTP, on loopback:
/// `cargo test --release --test nats_commands -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_command_round_trip() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("NATS_URL", &nats.url()), ("LOG_LEVEL", "warn")]);
    let client = async_nats::connect(nats.url()).await.unwrap();
    let body = json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": 50000});
    request(&client, "tradpal.cmd.risk.calculate-position-size", body.clone()).await;
    let n = 20_000;
    let payload = serde_json::to_vec(&body).unwrap();
    let mut nats_lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.request("tradpal.cmd.risk.calculate-position-size".to_string(), payload.clone().into()).await.unwrap();
        assert!(!r.payload.is_empty());
        nats_lat.push(t.elapsed().as_micros() as u64);
    }
    let http = client_http();
    let url = server.url("/api/risk/calculate-position-size");
    let mut http_lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = http.post(&url).bearer_auth(VIEWER_KEY).json(&body).send().await.unwrap();
        let _ = r.bytes().await.unwrap();
        http_lat.push(t.elapsed().as_micros() as u64);
    }
    print_latencies("position size over NATS request/reply (sequential round trips)", nats_lat, None);
    print_latencies("position size over HTTP (sequential round trips)", http_lat, None);
}

/// Every `Tradpal-Sequence` in the events stream, in stream order.
async fn published_sequences(js: &async_nats::jetstream::Context) -> Vec<(u64, String)> {
    let mut stream = js.get_stream("TRADPAL_EVENTS").await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut out = Vec::new();
    for s in 1..=last {
        let m = stream.get_raw_message(s).await.unwrap();
        let seq = m.headers.get("Tradpal-Sequence").unwrap().as_str().parse().unwrap();
        out.push((seq, m.subject.to_string()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journaled_events_reach_jetstream_once_in_order() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("NATS_URL", &nats.url())]);
    let nc = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(nc.clone());
    let order =
        json!({"client_order_id": "e1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "30000"});
    let (s, _) = send(client().post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&order)).await;
    assert_eq!(s, 201);
    let want = "tradpal.evt.order_accepted";
    wait_stream(&js, "TRADPAL_EVENTS").await;
    let got = wait_until(&format!("{want} published"), NATS_WAIT_MS, || async {
        let got = published_sequences(&js).await;
        if got.iter().any(|(_, subject)| subject == want) {
            Ok(got)
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    assert_eq!(got[0], (1, "tradpal.evt.service_started".to_string()), "{got:?}");
    assert!(got.iter().enumerate().all(|(i, (seq, _))| *seq == i as u64 + 1), "dense, in journal order: {got:?}");
    let before = got.len();
    drop(server);

    // A restart resumes after the last published record: nothing is published twice.
    let server = Server::start(dir.path(), &[("NATS_URL", &nats.url())]);
    let (s, _) = send(client().post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(
        &json!({"client_order_id": "e2", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "30000"}),
    ))
    .await;
    assert_eq!(s, 201);
    let got = wait_until("the second order published", NATS_WAIT_MS, || async {
        let got = published_sequences(&js).await;
        let accepted = got.iter().filter(|(_, s)| s == "tradpal.evt.order_accepted").count();
        holds(accepted == 2, || format!("{got:?}")).map(|()| got)
    })
    .await;
    assert!(got.len() > before);
    assert!(got.iter().enumerate().all(|(i, (seq, _))| *seq == i as u64 + 1), "no gap, no repeat across the restart: {got:?}");
}

/// A record too large for one NATS message (10,000 imported candles are about 1.1 MB of
/// JSON) must not stall the events stream: it is published as a stand-in naming what it
/// holds (header `Tradpal-Truncated`), and every later record follows in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_records_do_not_stall_events() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let csv = test_data("btcperp-1m.csv");
    let (code, out, err) =
        run_cli(&["data", "import", "--data-dir", d, "--symbol", "BTC/USDT", "--timeframe", "1m", csv.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let server = Server::start(dir.path(), &[("NATS_URL", &nats.url())]);
    let (s, st) = send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200);
    let last = st["journal"]["last_sequence"].as_u64().unwrap();
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    wait_stream(&js, "TRADPAL_EVENTS").await;
    let got = wait_until(&format!("every record through {last} published"), IMPORT_PUBLISHED_WAIT_MS, || async {
        let got = published_sequences(&js).await;
        holds(got.len() as u64 >= last, || format!("{} published\n{}", got.len(), server.logs())).map(|()| got)
    })
    .await;
    assert!(got.iter().enumerate().all(|(i, (seq, _))| *seq == i as u64 + 1), "dense, in order");
    let stream = js.get_stream("TRADPAL_EVENTS").await.unwrap();
    let mut truncated = 0;
    for seq in 1..=last {
        let m = stream.get_raw_message(seq).await.unwrap();
        if m.headers.get("Tradpal-Truncated").is_some() {
            truncated += 1;
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            assert_eq!((v["kind"].as_str(), v["truncated"].as_bool()), (Some("candles_ingested"), Some(true)), "{v}");
            assert!(v["candles"].as_u64().unwrap() > 5_000 && v["symbol"] == "BTC/USDT", "{v}");
        }
    }
    assert!(truncated > 0, "the 10,000-candle records were too large to publish whole");
}
