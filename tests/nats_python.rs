//! The acceptance run with a real outside producer: a Python program using the
//! `nats-py` client (tests/python/produce_candles.py) publishes 100,000 candles while the
//! service is SIGKILLed and restarted half-way and nats-server is killed and restarted
//! at three quarters. Every candle ends in the journal exactly once.
//!
//! Needs python3 with nats-py (./scripts/test.sh installs it); fails loudly without.

mod common;

use common::nats::{wait_ingest_drained, NatsServer};
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const TOTAL: u64 = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_producer_100k_candles_through_both_crashes() {
    let mut nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let url = nats.url();
    let mut server = Server::start(dir.path(), &[("NATS_URL", &url)]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/produce_candles.py");
    let mut producer = Command::new("python3")
        .args([script, &url, "SOL-USDT", &TOTAL.to_string(), "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 is needed (./scripts/test.sh installs nats-py)");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = producer.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut killed_service, mut killed_nats, mut done) = (false, false, false);
    while let Some(line) = tokio::time::timeout(Duration::from_secs(120), rx.recv()).await.expect("the producer went silent") {
        if line == "done" {
            done = true;
            break;
        }
        let n: u64 = line.strip_prefix("published ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("producer said {line:?}"));
        if n >= TOTAL / 2 && !killed_service {
            killed_service = true;
            server.kill_hard();
            server = Server::start(dir.path(), &[("NATS_URL", &url)]);
        }
        if n >= TOTAL * 3 / 4 && !killed_nats {
            killed_nats = true;
            nats.kill();
            // Not a wait: how long NATS stays away while the producer retries.
            tokio::time::sleep(Duration::from_millis(300)).await;
            nats.launch();
        }
    }
    let status = producer.wait().unwrap();
    assert!(done && status.success(), "the producer failed ({status}); is nats-py installed? (python3 -m pip install nats-py)");
    assert!(killed_service && killed_nats);
    let got = wait_for_bars(&server, "SOL/USDT", TOTAL).await;
    assert_eq!(got, TOTAL, "every candle once");
    let js = async_nats::jetstream::new(async_nats::connect(&url).await.unwrap());
    wait_ingest_drained(&js).await;
    assert_eq!(wait_for_bars(&server, "SOL/USDT", TOTAL).await, TOTAL, "and no more once nothing is left to redeliver");
    server.stop();
    let (code, out, _) = run_cli(&["journal", "verify", "--json", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}");
}
