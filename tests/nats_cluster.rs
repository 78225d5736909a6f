//! Replicated operation (`TRADPAL_NODE`), end to end with real processes and a real
//! nats-server: node `a` leads, node `b` stands by. An outside producer (nats-py)
//! publishes candles and a client sends orders over NATS request/reply; half-way the
//! leader is SIGKILLed. `b` takes over and carries on: every candle once, every order
//! that was answered is there, none twice. Then a third node `c` starts with an empty
//! data directory, copies the whole history from the log, and takes over at once when
//! `b` stops cleanly (it releases the lease).
//!
//! Issue 21, at the end: the same on a real 3-node JetStream cluster (loopback, routes,
//! `sync_interval: always`, R3 streams and lease bucket via `TRADPAL_NATS_REPLICAS=3`,
//! `NATS_URL` listing all three servers): one nats-server and the leading tradpal node
//! are SIGKILLed together half-way; the standby takes over through the two survivors.
//! And an `#[ignore]`d measurement of ingest throughput on R1 vs R3.

// Test code: deadlines, latency timings and random kill moments against real processes.
#![allow(clippy::disallowed_methods)]

mod common;

use common::nats::{wait_stream, NatsCluster, NatsServer, CLUSTER_NODES};
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tradpal_messages::subjects;

const CANDLES: u64 = 30_000;
const ORDERS: usize = 80;
/// Longest wait for a node to serve: a standby takes over once the dead leader's lease
/// expires.
const TAKEOVER_WAIT_MS: u64 = 60_000;
/// Longest wait for the answer to a request held by a paused node once it wakes.
const RAW_ANSWER_WAIT_MS: u64 = 30_000;
/// Longest wait for a standby to learn who leads.
const LEARN_WAIT_MS: u64 = 10_000;
/// Longest wait for standbys to copy the leader's log.
const CATCH_UP_WAIT_MS: u64 = 60_000;
/// Longest wait for a woken, fenced leader to stop.
const FENCED_STOP_WAIT_MS: u64 = 30_000;
/// Longest wait for a leader to notice NATS is gone (its idle check runs every 500 ms).
const STALL_WAIT_MS: u64 = 10_000;
/// Longest wait for writes to work again once NATS is back.
const RESUME_WAIT_MS: u64 = 30_000;

fn node_env<'a>(url: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("NATS_URL", url), ("TRADPAL_NODE", name)]
}

/// Submits one order over NATS, retrying (same client order id) until it is answered.
async fn submit_until_answered(nc: &async_nats::Client, i: usize) -> Value {
    let body = json!({"client_order_id": format!("cl-{i}"), "symbol": "SOL/USDT", "side": "buy", "type": "limit", "quantity": "0.2", "price": "50"});
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    loop {
        assert!(Instant::now() < deadline, "order cl-{i} never answered; last reply: {last}");
        let sent = nc.request("tradpal.cmd.execution.submit-order".to_string(), body.to_string().into());
        if let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_secs(3), sent).await {
            let v: Value = serde_json::from_slice(&reply.payload).unwrap();
            if v.get("order").is_some() {
                return v;
            }
            last = v.to_string();
            let status = v["error"]["status"].as_u64().unwrap_or(0);
            assert!(status == 503 || status >= 500, "order cl-{i} refused: {v}");
        }
        // A retry's pause: the leader is away or changing.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status(server: &Server) -> Value {
    send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await.1
}

async fn wait_serving(server: &Server, what: &str) {
    wait_until(&format!("{what} to serve"), TAKEOVER_WAIT_MS, || async { holds(server.is_serving(), || server.logs()) }).await;
}

/// `server` decided to stand by: [`Server::start_node`] returns on a node's first
/// announcement, and this one said "standby", not "listening". (It takes over only once
/// the leader's lease is gone, which the test does later.)
fn assert_stands_by(server: &Server) {
    let out = server.stdout.lock().unwrap().clone();
    let first = out.iter().find(|l| l.starts_with("tradpal standby on ") || l.starts_with("tradpal listening on "));
    assert!(first.is_some_and(|l| l.starts_with("tradpal standby on ")), "the second node stands by: {out:?}");
}

/// Sends a trader's POST as raw HTTP/1.1 and returns once the request is written: into
/// the kernel's buffers, so the server need not be running (a paused process). The task
/// answers (status, whole response); status 0 when the connection closed unanswered.
async fn post_raw(base: &str, path: &str, body: &Value) -> tokio::task::JoinHandle<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.strip_prefix("http://").expect("an http:// base").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect (the kernel accepts for a paused process)");
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TRADER_KEY}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(format!("{head}{body}").as_bytes()).await.expect("write the request");
    tokio::spawn(async move {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_millis(RAW_ANSWER_WAIT_MS), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "no answer within {RAW_ANSWER_WAIT_MS} ms");
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, text)
    })
}

/// Orders by client id, from the node's HTTP API.
async fn orders(server: &Server) -> BTreeMap<String, Value> {
    let (s, page) = send(client().get(server.url("/api/execution/orders?limit=500")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{page}");
    let mut out = BTreeMap::new();
    for o in page["orders"].as_array().unwrap() {
        let cid = o["client_order_id"].as_str().unwrap().to_string();
        assert!(out.insert(cid.clone(), o.clone()).is_none(), "order {cid} twice");
    }
    out
}

/// The standby says what it is and where the leader is; it serves nothing else.
async fn check_standby_answers(leader: &Server, standby: &Server) {
    let st = status(standby).await;
    assert_eq!(st["cluster"]["role"], "standby", "{st}");
    wait_until("the standby to learn the leader", LEARN_WAIT_MS, || async {
        let st = status(standby).await;
        holds(st["cluster"]["leader"] == "a", || st.to_string())
    })
    .await;
    let (s, e) = send(client().get(standby.url("/api/execution/portfolio")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 503, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("node a"), "{e}");
    assert_eq!(status(leader).await["cluster"]["role"], "leader");
}

/// The nats-py producer of `CANDLES` candles; its progress lines arrive on the channel.
fn start_producer(url: &str) -> (std::process::Child, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/produce_candles.py");
    let mut producer = Command::new("python3")
        .args([script, url, "SOL-USDT", &CANDLES.to_string(), "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with nats-py is needed (./scripts/test.sh installs it)");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = producer.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (producer, rx)
}

/// Submits `ORDERS` orders one after another over NATS; returns the answers.
fn start_orders(nc: async_nats::Client) -> tokio::task::JoinHandle<Vec<Value>> {
    tokio::spawn(async move {
        let mut answered = Vec::new();
        for i in 0..ORDERS {
            answered.push(submit_until_answered(&nc, i).await);
            // Pacing, not a wait: spreads the orders over the run, so some are in flight
            // when the leader is killed.
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        answered
    })
}

/// Waits until `server` prints its listening line; resolves with the time since `since`.
fn time_until_serving(server: &Server, since: Instant) -> tokio::task::JoinHandle<Duration> {
    let out = server.stdout.clone();
    tokio::spawn(async move {
        while !out.lock().unwrap().iter().any(|l| l.starts_with("tradpal listening on ")) {
            // A measurement's resolution (bounded by the caller's own wait), not a wait.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        since.elapsed()
    })
}

/// Follows the producer to the end, SIGKILLing `leader` half-way (and running `also`
/// at that moment); returns how long the standby took to serve after the kill.
async fn kill_leader_half_way(
    producer: &mut std::process::Child,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    leader: Server,
    standby: &Server,
    also: &mut dyn FnMut(),
) -> Duration {
    let (mut leader, mut takeover) = (Some(leader), None);
    let mut done = false;
    while let Some(line) = tokio::time::timeout(Duration::from_secs(120), rx.recv()).await.expect("the producer went silent") {
        if line == "done" {
            done = true;
            break;
        }
        let n: u64 = line.strip_prefix("published ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("producer said {line:?}"));
        if n >= CANDLES / 2 {
            if let Some(l) = leader.take() {
                also();
                l.kill_hard();
                takeover = Some(time_until_serving(standby, Instant::now()));
            }
        }
    }
    assert!(done && producer.wait().unwrap().success(), "the producer failed");
    let takeover = takeover.expect("the leader was killed half-way");
    wait_serving(standby, "the standby").await;
    takeover.await.unwrap()
}

/// Every answered order is the one `server` has, and it has no other, none twice.
async fn check_orders(server: &Server, answered: &[Value]) -> BTreeSet<String> {
    let got = orders(server).await;
    assert_eq!(got.len(), ORDERS, "every order once: {:?}", got.keys().collect::<Vec<_>>());
    for reply in answered {
        let o = &reply["order"];
        let cid = o["client_order_id"].as_str().unwrap();
        assert_eq!(got[cid]["order_id"], o["order_id"], "the answered order {cid} is the one the leader has");
    }
    got.into_keys().collect()
}

/// Waits until every standby's journal has caught up with the leader's log.
async fn wait_caught_up(leader: &Server, standbys: &[&Server]) {
    wait_until("the standbys to catch up with the leader's log", CATCH_UP_WAIT_MS, || async {
        let want = status(leader).await["cluster"]["log_through"].as_u64();
        let mut have = Vec::new();
        for s in standbys {
            have.push(status(s).await["cluster"]["log_through"].as_u64());
        }
        holds(want.is_some() && have.iter().all(|h| *h == want), || format!("{want:?} vs {have:?}"))
    })
    .await;
}

/// Every journal verifies, and all hold the same records over their common length.
fn check_journals_agree(dirs: &[&tempfile::TempDir]) {
    let mut journals = Vec::new();
    for dir in dirs {
        let (code, out, _) = run_cli(&["journal", "verify", "--json", "--data-dir", dir.path().to_str().unwrap()], &[]);
        assert_eq!(code, 0, "{out}");
        journals.push(tradpal_journal::Journal::open(dir.path(), Default::default()).unwrap().0);
    }
    let through = journals.iter().map(|j| j.last_sequence()).min().unwrap();
    assert!(through > 10, "{through}");
    let history = |j: &tradpal_journal::Journal| j.read_range(1, through).map(|r| r.unwrap()).collect::<Vec<_>>();
    let first = history(&journals[0]);
    assert!(journals[1..].iter().all(|j| history(j) == first), "the journals agree on records 1..={through}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_standby_takes_over_nothing_lost_nothing_twice() {
    let nats = NatsServer::start();
    let url = nats.url();
    let (dir_a, dir_b, dir_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start_node(dir_a.path(), &node_env(&url, "a"));
    wait_serving(&a, "the first node").await;
    let b = Server::start_node(dir_b.path(), &node_env(&url, "b"));
    assert_stands_by(&b);
    check_standby_answers(&a, &b).await;

    // Load through NATS (candles from a Python producer, orders from a Rust client); the
    // leader is SIGKILLed half-way.
    let (mut producer, mut progress) = start_producer(&url);
    let orders_task = start_orders(async_nats::connect(&url).await.unwrap());
    let takeover = kill_leader_half_way(&mut producer, &mut progress, a, &b, &mut || {}).await;
    println!("b took over and served {takeover:?} after a was killed");
    let answered = orders_task.await.unwrap();

    // Node b has everything: each candle once, each answered order once.
    assert_eq!(wait_for_bars(&b, "SOL/USDT", CANDLES).await, CANDLES, "every candle once");
    let st = status(&b).await;
    assert_eq!((st["cluster"]["role"].as_str(), st["cluster"]["node"].as_str()), (Some("leader"), Some("b")), "{st}");
    let got = check_orders(&b, &answered).await;

    // The killed leader rejoins as a standby (cutting, and saving, any tail it journaled
    // but never published), and a new node with an empty data directory copies the
    // whole history from the log ...
    let a = Server::start_node(dir_a.path(), &node_env(&url, "a"));
    let c = Server::start_node(dir_c.path(), &node_env(&url, "c"));
    assert!(!a.is_serving() && !c.is_serving());
    wait_caught_up(&b, &[&a, &c]).await;
    // ... and one of them takes over at once when the leader stops cleanly (it releases
    // the lease), with everything.
    let (ta, tc) = (time_until_serving(&a, Instant::now()), time_until_serving(&c, Instant::now()));
    assert!(b.stop().success());
    let handover = tokio::select! { t = ta => t.unwrap(), t = tc => t.unwrap() };
    let (next, other) = if a.is_serving() { (&a, &c) } else { (&c, &a) };
    assert_eq!(wait_for_bars(next, "SOL/USDT", CANDLES).await, CANDLES);
    assert_eq!(orders(next).await.into_keys().collect::<BTreeSet<_>>(), got);
    assert_eq!(status(other).await["cluster"]["role"], "standby");
    println!("clean handover b -> {} took {handover:?}", status(next).await["cluster"]["node"]);
    for line in a.stdout.lock().unwrap().iter().filter(|l| l.contains("cut")) {
        println!("node a on rejoining: {line}");
    }
    assert!(a.stop().success() && c.stop().success());
    check_journals_agree(&[&dir_a, &dir_b, &dir_c]);
}

/// A leader that is paused (SIGSTOP: a long GC pause, a frozen VM) past its lease must
/// not write once it wakes: the standby has taken over, and the paused node, on waking,
/// finds its lease gone and stops without publishing to the log. The log stays the new
/// leader's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_leader_wakes_up_fenced_and_stops() {
    let nats = NatsServer::start();
    let url = nats.url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = Server::start_node(dir_a.path(), &node_env(&url, "a"));
    wait_serving(&a, "node a").await;
    let b = Server::start_node(dir_b.path(), &node_env(&url, "b"));
    let nc = async_nats::connect(&url).await.unwrap();
    let first = submit_until_answered(&nc, 0).await;
    assert_eq!(first["order"]["status"], "accepted");

    unsafe { libc::kill(a.child.id() as i32, libc::SIGSTOP) };
    wait_serving(&b, "node b").await;
    // Orders go to b now; one submitted to the paused a over HTTP waits in its socket.
    let second = submit_until_answered(&nc, 1).await;
    let body =
        json!({"client_order_id": "to-paused", "symbol": "SOL/USDT", "side": "buy", "type": "limit", "quantity": "0.2", "price": "50"});
    let paused_http = post_raw(&a.base, "/api/execution/submit-order", &body).await;
    unsafe { libc::kill(a.child.id() as i32, libc::SIGCONT) };

    // a stops on its own, with an error, and never answers the request it held.
    let logs = a.logs.clone();
    let exit = wait_until("the woken leader to stop", FENCED_STOP_WAIT_MS, || {
        let (status, logs) = (a.child.try_wait().unwrap(), logs.clone());
        async move { status.ok_or_else(|| logs.lock().unwrap().clone()) }
    })
    .await;
    assert!(!exit.success(), "a stops with an error");
    assert!(a.logs().contains("leadership lost") || a.logs().contains("lease"), "a says why:\n{}", a.logs());
    let (s, reply) = paused_http.await.unwrap();
    assert_eq!(s, 503, "the paused node must not accept an order after losing the lease: {reply}");
    println!("the paused leader answered its held request with {s} {reply}");

    // b carries on with both answered orders and nothing from the paused node.
    let got = orders(&b).await;
    assert_eq!(got.keys().cloned().collect::<Vec<_>>(), vec!["cl-0".to_string(), "cl-1".to_string()], "{got:?}");
    assert_eq!(got["cl-1"]["order_id"], second["order"]["order_id"]);
    let third = submit_until_answered(&nc, 2).await;
    assert_eq!(third["order"]["status"], "accepted");
    assert!(b.stop().success());
    let (code, out, _) = run_cli(&["journal", "verify", "--json", "--data-dir", dir_b.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}");
}

/// NATS goes away under a leader: writes are refused at once with a 503 that says why
/// (they could not be committed), reads keep working, and writes work again once NATS is
/// back, with nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_refuses_writes_fast_while_nats_is_away() {
    let mut nats = NatsServer::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let a = Server::start_node(dir.path(), &node_env(&url, "a"));
    wait_serving(&a, "node a").await;
    let order =
        |cid: &str| json!({"client_order_id": cid, "symbol": "SOL/USDT", "side": "buy", "type": "limit", "quantity": "0.2", "price": "50"});
    let submit = |cid: &'static str| send(client().post(a.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&order(cid)));
    assert_eq!(submit("before").await.0, 201);

    nats.kill();
    // The leader notices within its idle check (500 ms) or on the first write that
    // cannot be replicated; from then on writes are refused at once.
    wait_until("the leader to notice NATS is gone", STALL_WAIT_MS, || async {
        let st = status(&a).await;
        holds(st["cluster"]["stalled"].is_string(), || st.to_string())
    })
    .await;
    let started = Instant::now();
    let (s, e) = submit("during").await;
    assert_eq!(s, 503, "{e}");
    assert!(started.elapsed() < Duration::from_millis(500), "refused at once, not after a timeout");
    assert!(e["error"]["message"].as_str().unwrap().contains("cannot commit"), "{e}");
    let (s, p) = send(client().get(a.url("/api/execution/portfolio")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "reads still work: {p}");

    nats.launch();
    wait_until("writes to resume after NATS came back", RESUME_WAIT_MS, || async {
        let (s, e) = submit("after").await;
        holds(s == 201 || s == 200, || format!("{s} {e}"))
    })
    .await;
    let got = orders(&a).await;
    assert!(got.contains_key("before") && got.contains_key("after"), "{got:?}");
    assert!(a.stop().success());
}

// ---- issue 21: a 3-node JetStream cluster, R3 streams ----

fn r3_env<'a>(url: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("NATS_URL", url), ("TRADPAL_NODE", name), ("TRADPAL_NATS_REPLICAS", "3")]
}

/// Waits until every stream and bucket the service creates exists with `replicas`.
async fn check_replicas(url: &str, replicas: usize) {
    let nc = async_nats::connect(url.split(',').collect::<Vec<_>>()).await.unwrap();
    let js = async_nats::jetstream::new(nc);
    let kv_stream = format!("KV_{}", subjects::LEADER_BUCKET);
    for name in [subjects::MD_STREAM, subjects::EVENTS_STREAM, subjects::LOG_STREAM, kv_stream.as_str()] {
        wait_stream(&js, name).await;
        let info = js.get_stream(name).await.unwrap().info().await.unwrap().clone();
        assert_eq!(info.config.num_replicas, replicas, "stream {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_server_and_the_leader_killed_together_nothing_lost_nothing_twice() {
    let mut cluster = NatsCluster::start();
    cluster.wait_ready().await;
    let url = cluster.url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start_node(dir_a.path(), &r3_env(&url, "a"));
    wait_serving(&a, "the first node").await;
    let b = Server::start_node(dir_b.path(), &r3_env(&url, "b"));
    assert_stands_by(&b);
    check_replicas(&url, CLUSTER_NODES).await;

    let (mut producer, mut progress) = start_producer(&url);
    let orders_task = start_orders(async_nats::connect(url.split(',').collect::<Vec<_>>()).await.unwrap());
    let mut kill_nats = || cluster.nodes[0].kill();
    let takeover = kill_leader_half_way(&mut producer, &mut progress, a, &b, &mut kill_nats).await;
    println!("R3, one of {CLUSTER_NODES} nats-servers down: b took over and served {takeover:?} after a was killed");
    let answered = orders_task.await.unwrap();

    assert_eq!(wait_for_bars(&b, "SOL/USDT", CANDLES).await, CANDLES, "every candle once");
    let st = status(&b).await;
    assert_eq!((st["cluster"]["role"].as_str(), st["cluster"]["node"].as_str()), (Some("leader"), Some("b")), "{st}");
    check_orders(&b, &answered).await;
    assert!(b.stop().success());
    let (code, out, _) = run_cli(&["journal", "verify", "--data-dir", dir_b.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}");
}

/// Candles through NATS into the leader's journal, end to end (producer publish with
/// ack, ingest, replication to the log), R1 on one server vs R3 on three. A measurement:
/// run with `cargo test --release --test nats_cluster -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn ingest_throughput_r1_vs_r3() {
    for replicas in [1, 3] {
        let (single, cluster);
        let url = if replicas == 1 {
            single = NatsServer::start();
            single.url()
        } else {
            cluster = NatsCluster::start();
            cluster.wait_ready().await;
            cluster.url()
        };
        let dir = tempfile::tempdir().unwrap();
        let r = replicas.to_string();
        let env = [("NATS_URL", url.as_str()), ("TRADPAL_NODE", "a"), ("TRADPAL_NATS_REPLICAS", r.as_str())];
        let a = Server::start_node(dir.path(), &env);
        wait_serving(&a, "the node").await;
        let started = Instant::now();
        let (mut producer, _progress) = start_producer(&url);
        assert_eq!(wait_for_bars(&a, "SOL/USDT", CANDLES).await, CANDLES);
        let elapsed = started.elapsed();
        assert!(producer.wait().unwrap().success());
        println!("R{replicas}: {CANDLES} candles in {elapsed:.2?} = {:.0} candles/s", CANDLES as f64 / elapsed.as_secs_f64());
        a.stop();
    }
}
