//! Execution over real HTTP against the real binary: orders fill at the documented
//! prices on posted bars, the portfolio follows, 100 parallel identical submissions make
//! one order, the kill switch holds across restarts, and SIGKILL at random moments
//! between submit, accept and fill loses no fill and doubles none.

// Test code: deadlines, latency timings and random kill moments against real processes.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HOUR_MS: i64 = 3_600_000;
/// Longest wait for the portfolio to show a fill or a mark (execution matches bars
/// asynchronously).
const PORTFOLIO_WAIT_MS: u64 = 10_000;

/// The start of the next-but-one UTC hour, in ms: bars there open after any order
/// submitted now (the "next bar" rule).
fn future_hour() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    (now / HOUR_MS + 2) * HOUR_MS
}

fn bar(t: i64, o: f64, h: f64, l: f64, c: f64) -> Value {
    json!({"timestamp": t, "open": o, "high": h, "low": l, "close": c, "volume": 100.0})
}

async fn post_bars(server: &Server, bars: Vec<Value>) {
    let c = client();
    let (s, r) = send(
        c.post(server.url("/api/data/candles"))
            .bearer_auth(TRADER_KEY)
            .json(&json!({"symbol": "BTC/USDT", "timeframe": "1h", "candles": bars})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
}

async fn portfolio(server: &Server) -> Value {
    let (s, p) = send(client().get(server.url("/api/execution/portfolio")).bearer_auth(VIEWER_KEY)).await;
    if s != 200 {
        let logs = server.logs();
        panic!("portfolio: {s} {p}\nserver log tail:\n{}", &logs[logs.len().saturating_sub(4000)..]);
    }
    p
}

/// Waits until `f` holds on the portfolio.
async fn wait_portfolio(server: &Server, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    wait_until(what, PORTFOLIO_WAIT_MS, || async {
        let p = portfolio(server).await;
        if f(&p) {
            Ok(p)
        } else {
            Err(p.to_string())
        }
    })
    .await
}

async fn submit(server: &Server, body: Value) -> (u16, Value) {
    send(client().post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&body)).await
}

fn position(p: &Value, symbol: &str) -> String {
    p["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["symbol"] == symbol)
        .map_or("0".into(), |x| x["quantity"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_fill_where_the_rules_say_and_the_portfolio_follows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("MAX_POSITION_SIZE", "0.5"), ("TRANSACTION_COSTS", "0.001")]);
    let t0 = future_hour();
    post_bars(&server, vec![bar(t0, 30_000.0, 30_100.0, 29_900.0, 30_000.0)]).await;
    let p = wait_portfolio(&server, "the first mark", |p| p["last_prices"]["BTC/USDT"]["price"] == "30000").await;
    assert_eq!((p["cash"].as_str(), p["equity"].as_str(), p["trading_state"].as_str()), (Some("10000"), Some("10000"), Some("active")));

    // A market buy and a limit buy with a bracket.
    let (s, m) =
        submit(&server, json!({"client_order_id": "m1", "symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.1"})).await;
    assert_eq!((s, m["order"]["status"].as_str(), m["created"].as_bool()), (201, Some("accepted"), Some(true)), "{m}");
    let (s, b) = submit(
        &server,
        json!({"client_order_id": "b1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": 0.05, "price": 29500, "stop_loss": "29000", "take_profit": "31000"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["linked"].as_array().unwrap().len(), 2, "{b}");
    assert!(b["linked"].as_array().unwrap().iter().all(|o| o["status"] == "held"), "{b}");

    // Next bar: the market order fills at its open (+1 bp slippage, on the 0.01 tick),
    // the limit fills at 29500 when the low reaches it; its exits are released.
    post_bars(&server, vec![bar(t0 + HOUR_MS, 30_050.0, 30_080.0, 29_400.0, 29_600.0)]).await;
    let p = wait_portfolio(&server, "two fills", |p| position(p, "BTC/USDT") == "0.15").await;
    let (s, o) = send(client().get(server.url("/api/execution/orders/m1")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{o}");
    // 30050 * 1.0001 = 30053.005 -> 30053.01 (buy rounds up).
    assert_eq!(
        (o["status"].as_str(), o["average_price"].as_str(), o["fees"].as_str()),
        (Some("filled"), Some("30053.01"), Some("3.005301")),
        "{o}"
    );
    // cash = 10000 - 3005.301 - 3.005301 - 1475 - 1.475
    assert_eq!(p["cash"].as_str(), Some("5515.218699"), "{p}");
    let (_, orders) = send(client().get(server.url("/api/execution/orders?status=open")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(orders["total"], 2, "the bracket's stop-loss and take-profit now work: {orders}");

    // The take-profit hits on the next bar; the stop-loss is canceled (one cancels the other).
    post_bars(&server, vec![bar(t0 + 2 * HOUR_MS, 30_500.0, 31_200.0, 30_400.0, 31_100.0)]).await;
    let p = wait_portfolio(&server, "the take-profit", |p| position(p, "BTC/USDT") == "0.1").await;
    let (_, sl) = send(client().get(server.url("/api/execution/orders/b1-sl")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(sl["status"], "canceled", "{sl}");
    let btc = p["positions"].as_array().unwrap().iter().find(|x| x["symbol"] == "BTC/USDT").unwrap().clone();
    // realised (31000 - 29500) * 0.05 = 75 (the average entry of the 0.15 was blended: check the
    // identity instead of a hand figure): equity = cash + 0.1 * 31100.
    let equity: f64 = p["equity"].as_str().unwrap().parse().unwrap();
    let cash: f64 = p["cash"].as_str().unwrap().parse().unwrap();
    assert!((equity - (cash + 0.1 * 31_100.0)).abs() < 1e-6, "{p}");
    assert_eq!(btc["mark_price"], "31100", "{btc}");

    // Portfolio risk without named positions assesses the live portfolio (BTC/USDT 0.1).
    let (s, r) = send(client().get(server.url("/api/risk/portfolio-risk?timeframe=1h")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["exposure"]["by_symbol"][0]["symbol"].as_str(), r["exposure"]["by_symbol"][0]["quantity"].as_f64()),
        (Some("BTC/USDT"), Some(0.1)),
        "{r}"
    );

    // Listing, filters and pagination.
    let (s, page) = send(client().get(server.url("/api/execution/orders?limit=2")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(
        (s, page["orders"].as_array().unwrap().len(), page["total"].as_u64(), page["next_offset"].as_u64()),
        (200, 2, Some(4), Some(2)),
        "{page}"
    );

    // Cancel a resting order; canceling again is a conflict.
    let (s, r) = submit(
        &server,
        json!({"client_order_id": "rest", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "20000"}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let cancel = |body: Value| client().post(server.url("/api/execution/cancel-order")).bearer_auth(TRADER_KEY).json(&body);
    let (s, r) = send(cancel(json!({"client_order_id": "rest"}))).await;
    assert_eq!((s, r["status"].as_str()), (200, Some("canceled")), "{r}");
    let (s, r) = send(cancel(json!({"client_order_id": "rest"}))).await;
    assert_eq!((s, r["error"]["code"].as_str()), (409, Some("conflict")), "{r}");

    // Bad input: 4xx naming the problem, nothing recorded.
    for (body, status, needle) in [
        (json!({"symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01"}), 400, "price"),
        (json!({"symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "NaN"}), 400, "quantity"),
        (json!({"symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.000001"}), 400, "lot size"),
        (json!({"symbol": "NOPE", "side": "buy", "type": "market", "quantity": "1"}), 400, "BASE/QUOTE"),
        (json!({"symbol": "BTC/USDT", "side": "up", "type": "market", "quantity": "1"}), 400, "side"),
        (json!({"symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "1", "colour": "red"}), 400, "colour"),
    ] {
        let (s, r) = submit(&server, body.clone()).await;
        assert_eq!(s, status, "{body}: {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains(needle), "{body}: {r}");
    }
    let (s, r) =
        send(client().post(server.url("/api/execution/cancel-order")).bearer_auth(VIEWER_KEY).json(&json!({"order_id": "x"}))).await;
    assert_eq!(s, 403, "viewers cannot cancel: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_identical_submissions_make_one_order_and_the_kill_switch_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("MAX_POSITION_SIZE", "0.5")]);
    let t0 = future_hour();
    post_bars(&server, vec![bar(t0, 30_000.0, 30_100.0, 29_900.0, 30_000.0)]).await;
    wait_portfolio(&server, "the first mark", |p| !p["last_prices"]["BTC/USDT"].is_null()).await;
    let body =
        json!({"client_order_id": "same", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "29000"});
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (url, body) = (server.url("/api/execution/submit-order"), body.clone());
            tokio::spawn(async move { send(client().post(url).bearer_auth(TRADER_KEY).json(&body)).await })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for t in tasks {
        let (s, r) = t.await.unwrap();
        assert!(s == 201 || s == 200, "{r}");
        created += r["created"].as_bool().unwrap() as usize;
        ids.insert(r["order"]["order_id"].as_str().unwrap().to_string());
    }
    assert_eq!((ids.len(), created), (1, 1));
    let (_, page) = send(client().get(server.url("/api/execution/orders")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(page["total"], 1, "{page}");
    let (s, r) = submit(
        &server,
        json!({"client_order_id": "same", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.02", "price": "29000"}),
    )
    .await;
    assert_eq!((s, r["error"]["code"].as_str()), (409, Some("conflict")), "{r}");

    // Kill switch: admin only; halted refuses (and records) new orders, allows cancels.
    let set = |server: &Server, key: &str, state: &str| {
        client().post(server.url("/api/execution/trading-state")).bearer_auth(key).json(&json!({"state": state, "reason": "test"}))
    };
    let (s, _) = send(set(&server, TRADER_KEY, "halted")).await;
    assert_eq!(s, 403);
    let (s, r) = send(set(&server, ADMIN_KEY, "halted")).await;
    assert_eq!((s, r["trading_state"].as_str(), r["changed"].as_bool()), (200, Some("halted"), Some(true)), "{r}");
    let (s, r) = submit(
        &server,
        json!({"client_order_id": "h1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "29000"}),
    )
    .await;
    assert_eq!((s, r["order"]["status"].as_str()), (422, Some("rejected")), "{r}");
    assert!(r["order"]["reason"].as_str().unwrap().contains("halted"), "{r}");
    let (s, r) =
        send(client().post(server.url("/api/execution/cancel-order")).bearer_auth(TRADER_KEY).json(&json!({"client_order_id": "same"})))
            .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("canceled")), "{r}");
    server.kill_hard();

    // The journal remembers the switch, the ids and the refusal.
    let server = Server::start(dir.path(), &[("MAX_POSITION_SIZE", "0.5")]);
    let (s, r) = send(client().get(server.url("/api/execution/trading-state")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!((s, r["trading_state"].as_str()), (200, Some("halted")), "{r}");
    let (s, r) = submit(&server, body.clone()).await;
    assert_eq!((s, r["created"].as_bool(), r["order"]["status"].as_str()), (200, Some(false), Some("canceled")), "{r}");
    let (_, h1) = send(client().get(server.url("/api/execution/orders/h1")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(h1["status"], "rejected", "{h1}");
    let (s, r) = send(set(&server, ADMIN_KEY, "active")).await;
    assert_eq!((s, r["trading_state"].as_str()), (200, Some("active")));

    // A check of client-supplied figures has no side effects: a "breach" in invented
    // numbers answers within_limits false and leaves the switch where it was (it moves
    // only on breaches the service measures on its own accounts).
    // The switch moves only through the journal (a breach record, then the switch's own):
    // a check that recorded anything would have done so before answering, so an
    // unchanged journal sequence shows that nothing is coming.
    let limits = json!({"portfolio_value": 9000, "daily_loss": -1000, "max_daily_loss": 0.05});
    let before = journal_sequence(&server).await;
    let (s, r) = send(client().post(server.url("/api/risk/check-limits")).bearer_auth(TRADER_KEY).json(&limits)).await;
    assert_eq!((s, r["within_limits"].as_bool()), (200, Some(false)), "{r}");
    assert_eq!(journal_sequence(&server).await, before, "a check recorded something: {r}");
    let (_, r) = send(client().get(server.url("/api/execution/trading-state")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(r["trading_state"], "active", "a check moved the kill switch: {r}");

    // The same switch from the command line (over HTTP, with the admin key).
    let base = server.base.clone();
    let (code, out, err) = run_cli(&["trading-state", "reducing", "--reason", "cli test", "--url", &base, "--key", ADMIN_KEY], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"reducing\""), "{out}");
    let (code, out, _) = run_cli(&["trading-state", "--url", &base, "--key", ADMIN_KEY], &[]);
    assert!(code == 0 && out.contains("reducing"), "{out}");
    let (code, out, err) = run_cli(&["flatten", "--url", &base, "--key", ADMIN_KEY], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("canceled_orders"), "{out}");
    let (code, _, err) = run_cli(&["trading-state", "halted", "--url", &base, "--key", VIEWER_KEY], &[]);
    assert_eq!(code, 1, "a viewer key is refused: {err}");
    assert!(err.contains("403"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_between_submit_accept_and_fill_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = future_hour();
    let mut server = Server::start(dir.path(), &[("MAX_POSITION_SIZE", "0.9")]);
    post_bars(&server, vec![bar(t0, 100.0, 101.0, 99.0, 100.0)]).await;
    wait_portfolio(&server, "the first mark", |p| !p["last_prices"]["BTC/USDT"].is_null()).await;
    let rounds = 8;
    for i in 0..rounds {
        // Submit, post the bar that fills it, and kill at a varying moment after.
        let (s, r) = submit(
            &server,
            json!({"client_order_id": format!("k{i}"), "symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "1"}),
        )
        .await;
        assert_eq!(s, 201, "{r}");
        let c = client();
        let url = server.url("/api/data/candles");
        let candles = json!({"symbol": "BTC/USDT", "timeframe": "1h", "candles": [bar(t0 + (i + 1) * HOUR_MS, 100.0, 101.0, 99.0, 100.0)]});
        let post = tokio::spawn(async move { c.post(url).bearer_auth(TRADER_KEY).json(&candles).send().await });
        // Not a wait: the kill moment, varied per round (0..30 ms after the bar is sent).
        tokio::time::sleep(Duration::from_millis((i as u64 * 7) % 30)).await;
        server.kill_hard();
        let _ = post.await;
        server = Server::start(dir.path(), &[("MAX_POSITION_SIZE", "0.9")]);
        // After restart: the bar was either journaled (then the order fills exactly once,
        // from recovery if not before) or not (then it is still working). Post it again
        // to be sure it exists; a repeated identical bar is idempotent.
        post_bars(&server, vec![bar(t0 + (i + 1) * HOUR_MS, 100.0, 101.0, 99.0, 100.0)]).await;
        let want = format!("{}", i + 1);
        let p = wait_portfolio(&server, "every acknowledged order filled once", |p| position(p, "BTC/USDT") == want).await;
        let (_, o) = send(client().get(server.url(&format!("/api/execution/orders/k{i}"))).bearer_auth(VIEWER_KEY)).await;
        assert_eq!((o["status"].as_str(), o["fills"].as_u64()), (Some("filled"), Some(1)), "{o}");
        assert_eq!(p["open_orders"], 0, "{p}");
    }

    // Deterministic recovery: a bar journaled while the service is down (by the CLI
    // importer) was never matched; the restarted service must match it.
    let (s, r) =
        submit(&server, json!({"client_order_id": "offline", "symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "1"}))
            .await;
    assert_eq!(s, 201, "{r}");
    server.stop();
    let csv = dir.path().join("bar.csv");
    let t = t0 + (rounds + 1) * HOUR_MS;
    std::fs::write(&csv, format!("timestamp,open,high,low,close,volume\n{t},100,101,99,100,100\n")).unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, out, err) =
        run_cli(&["data", "import", "--data-dir", d, "--symbol", "BTC/USDT", "--timeframe", "1h", csv.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let server = Server::start(dir.path(), &[("MAX_POSITION_SIZE", "0.9")]);
    let want = format!("{}", rounds + 1);
    wait_portfolio(&server, "the bar imported while down to fill the order", |p| position(p, "BTC/USDT") == want).await;
    server.stop();
    let (code, out, err) = run_cli(&["journal", "verify", "--data-dir", d], &[]);
    assert_eq!(code, 0, "verify failed:\n{out}\n{err}");
}

/// Latency and throughput, not a pass/fail check:
/// `cargo test --release --test execution_api -- --ignored --nocapture`.
/// 4 concurrent clients submit 2,000 limit orders each (below WORKING_ORDERS_MAX) over real HTTP (keep-alive); each
/// answer comes after the risk check and the durable (fdatasync'd) journal append.
/// Then bars fill them all: prints p50/p99 of submit and the fill rate.
/// With `TRADPAL_BENCH_TRACES=1` the service exports OpenTelemetry traces (OTLP/HTTP,
/// every request sampled) to a receiver in this test that accepts and drops them (the
/// overhead of traces: compare with a run without it); `TRADPAL_BENCH_TRACES_RATIO=0.1`
/// samples a tenth of them (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`).
/// With `TRADPAL_BENCH_REPLICATED=1` the service runs as a replicated leader
/// (`TRADPAL_NODE`, its own nats-server): every answer also waits for the record to be
/// stored in the cluster log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_submit_order_latency() {
    let dir = tempfile::tempdir().unwrap();
    let nats = std::env::var("TRADPAL_BENCH_REPLICATED").is_ok().then(common::nats::NatsServer::start);
    let url = nats.as_ref().map(|n| n.url()).unwrap_or_default();
    // TRADPAL_BENCH_LOG_LEVEL=info turns the access log on; TRADPAL_BENCH_MONITORING=false
    // turns metrics off (to measure what they cost).
    let level = std::env::var("TRADPAL_BENCH_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
    let monitoring = std::env::var("TRADPAL_BENCH_MONITORING").unwrap_or_else(|_| "true".into());
    let mut env = vec![("LOG_LEVEL", level.as_str()), ("MAX_POSITION_SIZE", "1"), ("ENABLE_PERFORMANCE_MONITORING", monitoring.as_str())];
    if nats.is_some() {
        env.extend([("NATS_URL", url.as_str()), ("TRADPAL_NODE", "a")]);
        eprintln!("replicated leader (TRADPAL_NODE=a)");
    }
    let otlp = match std::env::var("TRADPAL_BENCH_TRACES").is_ok() {
        true => Some(otlp_sink().await),
        false => None,
    };
    if let Some(endpoint) = &otlp {
        env.extend([("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
        eprintln!("exporting traces to {endpoint}");
    }
    // TRADPAL_BENCH_TRACES_RATIO=0.1: sample that share of traces (the SDK's standard
    // OTEL_TRACES_SAMPLER), as a production deployment would.
    let ratio = std::env::var("TRADPAL_BENCH_TRACES_RATIO").ok();
    if let (Some(ratio), Some(_)) = (&ratio, &otlp) {
        env.extend([("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", ratio.as_str())]);
        eprintln!("sampling {ratio} of traces");
    }
    let server = Server::start(dir.path(), &env);
    let t0 = future_hour();
    post_bars(&server, vec![bar(t0, 100.0, 101.0, 99.0, 100.0)]).await;
    wait_portfolio(&server, "the first mark", |p| !p["last_prices"]["BTC/USDT"].is_null()).await;
    let (clients, per_client) = (4, 2_000);
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for k in 0..clients {
        let (url, c) = (server.url("/api/execution/submit-order"), client());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let body = json!({"client_order_id": format!("b{k}-{i}"), "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.06", "price": "99"});
                let t = std::time::Instant::now();
                let r = c.post(&url).bearer_auth(TRADER_KEY).json(&body).send().await.unwrap();
                let status = r.status();
                let text = r.text().await.unwrap();
                assert_eq!(status, 201, "{text}");
                lat.push(t.elapsed().as_micros() as u64);
            }
            lat
        }));
    }
    report_latencies("submit-order over HTTP (orders)", tasks, started).await;
    let n = clients * per_client;
    let started = std::time::Instant::now();
    let mut fill_bar = bar(t0 + HOUR_MS, 100.0, 101.0, 98.0, 100.0);
    fill_bar["volume"] = json!(1e7);
    post_bars(&server, vec![fill_bar]).await;
    let want = format!("{}", n * 6 / 100);
    wait_portfolio(&server, "all fills", |p| position(p, "BTC/USDT") == want).await;
    eprintln!("one bar filled {n} resting orders (journaled) in {:.3}s", started.elapsed().as_secs_f64());
}

/// An OTLP/HTTP endpoint that accepts span batches and drops them (for the bench).
async fn otlp_sink() -> String {
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(|_: axum::body::Bytes| async { "" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}
