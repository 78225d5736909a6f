//! Market data from outside producers over a real nats-server (JetStream): every good
//! candle ends in the journal exactly once, through a service SIGKILL and a nats-server
//! SIGKILL; malformed messages are rejected, published with a reason, and counted.

// Test code: deadlines, latency timings and random kill moments against real processes.
#![allow(clippy::disallowed_methods)]

mod common;

use common::nats::{wait_ingest_drained, wait_stream, NatsServer};
use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn candle(minute: i64) -> Value {
    let p = 100.0 + (minute % 50) as f64;
    json!({"timestamp": minute * 60_000 + 1_600_000_000_000i64 - (1_600_000_000_000i64 % 60_000), "open": p, "high": p + 1.0, "low": p - 1.0, "close": p + 0.5, "volume": 10.0})
}

async fn publish(js: &async_nats::jetstream::Context, subject: &str, payload: Vec<u8>, id: &str) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    // Retry through a nats-server restart: the producer's job, as with any client.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match js.publish_with_headers(subject.to_string(), headers.clone(), payload.clone().into()).await {
            Ok(ack) => match ack.await {
                Ok(_) => return,
                Err(e) if Instant::now() < deadline => eprintln!("publish ack failed, retrying: {e}"),
                Err(e) => panic!("publish failed: {e}"),
            },
            Err(e) if Instant::now() < deadline => eprintln!("publish failed, retrying: {e}"),
            Err(e) => panic!("publish failed: {e}"),
        }
        // A retry's pause, not a wait for something (nats-server is coming back).
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn status(server: &Server) -> Value {
    send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candles_arrive_once_and_malformed_messages_are_rejected() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("NATS_URL", &nats.url())]);
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client.clone());
    let mut rejected = client.subscribe("tradpal.md.rejected").await.unwrap();
    // Wait for the service to create its stream.
    wait_stream(&js, "TRADPAL_MD").await;
    let subject = "tradpal.md.candle.BTC-USDT.1m";
    // 300 single-candle messages, then 7 arrays of 100, one of them sent twice.
    for m in 0..300 {
        publish(&js, subject, candle(m).to_string().into_bytes(), &format!("c{m}")).await;
    }
    for b in 0..7 {
        let arr: Vec<Value> = (300 + b * 100..400 + b * 100).map(candle).collect();
        publish(&js, subject, serde_json::to_vec(&arr).unwrap(), &format!("b{b}")).await;
    }
    let arr: Vec<Value> = (500..600).map(candle).collect();
    publish(&js, subject, serde_json::to_vec(&arr).unwrap(), "b2-again-with-new-id").await;

    let mut bad_price = candle(1000);
    bad_price["low"] = json!(-1.0);
    let mut wrong_type = candle(1001);
    wrong_type["close"] = json!("NaN");
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        (subject, b"{not json".to_vec()),
        (subject, wrong_type.to_string().into_bytes()),
        (subject, bad_price.to_string().into_bytes()),
        (subject, b"[]".to_vec()),
        ("tradpal.md.candle.btc-usdt.1m", candle(1002).to_string().into_bytes()),
        ("tradpal.md.candle.BTC-USDT.7m", candle(1003).to_string().into_bytes()),
    ];
    for (i, (s, p)) in malformed.into_iter().enumerate() {
        publish(&js, s, p, &format!("bad{i}")).await;
    }
    // Too large for the stream: refused at publish, never reaches the service.
    let huge = vec![b' '; 2 << 20];
    let refused = match js.publish(subject.to_string(), huge.into()).await {
        Ok(ack) => ack.await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "a 2 MB message must be refused by the stream");

    assert_eq!(wait_for_bars(&server, "BTC/USDT", 1000).await, 1000);
    let mut reasons = Vec::new();
    while reasons.len() < 6 {
        let msg = tokio::time::timeout(Duration::from_secs(20), rejected.next()).await.expect("rejects published").unwrap();
        reasons.push(serde_json::from_slice::<Value>(&msg.payload).unwrap());
    }
    let text = serde_json::to_string(&reasons).unwrap();
    for needle in ["invalid JSON", "not a decimal number", "field low", "expected 1..=", "btc-usdt", "7m"] {
        assert!(text.contains(needle), "{needle:?} missing from rejects: {text}");
    }
    let st = status(&server).await;
    assert_eq!(st["nats"]["state"], "connected", "{st}");
    assert_eq!(st["nats"]["messages_rejected"], 6, "{st}");
    assert_eq!(st["nats"]["candles_stored"], 1000, "{st}");
    assert_eq!(st["nats"]["duplicates_dropped"], 100, "{st}");
    assert_eq!(st["nats"]["consumer_pending"], 0, "drained: no lag {st}");
    // The same counters in the Prometheus scrape (the ingest's own atomics, read then).
    let resp = common::client().get(server.url("/metrics")).bearer_auth(VIEWER_KEY).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    for line in [
        "tradpal_nats_candles_stored_total 1000",
        "tradpal_nats_duplicates_dropped_total 100",
        "tradpal_nats_messages_rejected_total 6",
        "tradpal_nats_consumer_pending 0",
        "# TYPE tradpal_nats_consumer_pending gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} missing from /metrics:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_or_doubled_through_service_and_nats_crashes() {
    let mut nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let url = nats.url();
    let mut server = Server::start(dir.path(), &[("NATS_URL", &url)]);
    let client = async_nats::ConnectOptions::new().retry_on_initial_connect().connect(&url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    wait_stream(&js, "TRADPAL_MD").await;
    let subject = "tradpal.md.candle.ETH-USDT.1m";
    let total = 3000i64;
    for chunk in 0..30 {
        let arr: Vec<Value> = (chunk * 100..chunk * 100 + 100).map(candle).collect();
        publish(&js, subject, serde_json::to_vec(&arr).unwrap(), &format!("k{chunk}")).await;
        if chunk == 10 {
            // The service dies mid-stream (its fetched, unacked batch is redelivered).
            server.kill_hard();
            server = Server::start(dir.path(), &[("NATS_URL", &url)]);
        }
        if chunk == 20 {
            // nats-server dies and comes back on the same store.
            nats.kill();
            // Not a wait: how long NATS stays away (the service must keep serving).
            tokio::time::sleep(Duration::from_millis(300)).await;
            let st = status(&server).await;
            assert_eq!(st["actors"].as_array().unwrap().len(), 10, "the service keeps serving without NATS: {st}");
            nats.launch();
        }
    }
    let got = wait_for_bars(&server, "ETH/USDT", total as u64).await;
    if got != total as u64 {
        eprintln!("status: {}\nservice logs:\n{}", status(&server).await, server.logs());
    }
    assert_eq!(got, total as u64);
    // Exactly once: no more than `total` either, once nothing is left to redeliver.
    wait_ingest_drained(&js).await;
    assert_eq!(wait_for_bars(&server, "ETH/USDT", total as u64).await, total as u64);
    server.stop();
    let (code, out, _) = run_cli(&["journal", "verify", "--json", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}");
}

/// Throughput, not a pass/fail check: `cargo test --release --test nats_ingest -- --ignored --nocapture`.
/// Publishes 100,000 candles (as 100,000 single-candle messages and as arrays of 100)
/// and reports candles/s from first publish to the last candle durable in the journal,
/// then the same with the backlog published first: the service's own ingest rate.
/// The last two rounds run the service as a replicated leader (`TRADPAL_NODE`): each
/// ack then also waits for the journal record to be stored in the cluster log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_ingest_throughput() {
    for (per_message, backlog, replicated) in
        [(1i64, false, false), (100, false, false), (1, true, false), (100, true, false), (100, false, true), (100, true, true)]
    {
        let nats = NatsServer::start();
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![("NATS_URL", nats.url()), ("LOG_LEVEL", "warn".to_string())];
        if replicated {
            env.push(("TRADPAL_NODE", "a".to_string()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut server = Some(Server::start(dir.path(), &env));
        let client = async_nats::connect(nats.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        wait_stream(&js, "TRADPAL_MD").await;
        if backlog {
            server.take().unwrap().stop();
        }
        let total = 100_000i64;
        let started = Instant::now();
        let mut acks = Vec::new();
        for first in (0..total).step_by(per_message as usize) {
            let payload = if per_message == 1 {
                candle(first).to_string().into_bytes()
            } else {
                serde_json::to_vec(&(first..first + per_message).map(candle).collect::<Vec<_>>()).unwrap()
            };
            acks.push(js.publish("tradpal.md.candle.BTC-USDT.1m", payload.into()).await.unwrap());
            if acks.len() >= 2048 {
                for a in acks.drain(..) {
                    a.await.unwrap();
                }
            }
        }
        for a in acks {
            a.await.unwrap();
        }
        let published = started.elapsed();
        let started = if backlog { Instant::now() } else { started };
        let server = server.unwrap_or_else(|| Server::start(dir.path(), &env));
        assert_eq!(wait_for_bars(&server, "BTC/USDT", total as u64).await, total as u64);
        let done = started.elapsed();
        eprintln!(
            "{}{per_message} candle(s)/message{}: published in {:.2}s, durable in {:.2}s: {:.0} candles/s",
            if replicated { "replicated leader, " } else { "" },
            if backlog { " from a backlog (service started after publishing)" } else { ", live" },
            published.as_secs_f64(),
            done.as_secs_f64(),
            total as f64 / done.as_secs_f64()
        );
    }
}
