//! Risk over real HTTP: the spec's examples, breaches journaled, portfolio risk and
//! stress tests on stored real candles (ETH/BTC and LTC/BTC 5m), clear 4xx errors.

// Test code: deadlines, latency timings and random kill moments against real processes.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    for (symbol, file) in [("ETH/BTC", "ethbtc-5m.csv"), ("LTC/BTC", "ltcbtc-5m.csv")] {
        let f = test_data(file);
        let args =
            ["data", "import", "--data-dir", dir.path().to_str().unwrap(), "--symbol", symbol, "--timeframe", "5m", f.to_str().unwrap()];
        let (code, out, err) = run_cli(&args, &[]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let post = |path: &str, body: Value| c.post(server.url(path)).bearer_auth(TRADER_KEY).json(&body);
    let get = |path: &str| c.get(server.url(path)).bearer_auth(VIEWER_KEY);

    // The spec's examples.
    let (s, r) = send(post(
        "/api/risk/calculate-position-size",
        json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": 50000}),
    ))
    .await;
    assert_eq!(s, 200, "{r}");
    assert!((r["quantity"].as_f64().unwrap() - 0.2).abs() < 1e-12, "{r}");
    assert!((r["risk_amount"].as_f64().unwrap() - 200.0).abs() < 1e-9, "{r}");
    assert_eq!(r["capped"], true, "10,000 notional is 100% of the portfolio, above MAX_POSITION_SIZE: {r}");
    let (s, r) = send(post("/api/risk/check-limits", json!({"portfolio_value": 9500, "daily_loss": -500, "max_daily_loss": 0.05}))).await;
    assert_eq!((s, r["within_limits"].as_bool()), (200, Some(true)), "{r}");
    let (s, r) = send(post("/api/risk/check-limits", json!({"portfolio_value": 9000, "daily_loss": -1000, "max_daily_loss": 0.05}))).await;
    assert_eq!((s, r["within_limits"].as_bool()), (200, Some(false)), "{r}");
    assert_eq!(r["breaches"][0]["limit"], "max_daily_loss", "{r}");

    // Portfolio risk and stress on stored candles.
    let (s, p) =
        send(get("/api/risk/portfolio-risk?positions=ETH/BTC:10,LTC/BTC:50&timeframe=5m&confidence=0.99&paths=10000&seed=7")).await;
    assert_eq!(s, 200, "{p}");
    let var = &p["var"];
    for m in ["historical", "parametric", "monte_carlo"] {
        let (v, es) = (var[m]["var"].as_f64().unwrap(), var[m]["es"].as_f64().unwrap());
        assert!(v > 0.0 && es >= v, "{m}: {var}");
    }
    assert_eq!(p["correlation"]["symbols"], json!(["ETH/BTC", "LTC/BTC"]));
    let (s, again) =
        send(get("/api/risk/portfolio-risk?positions=ETH/BTC:10,LTC/BTC:50&timeframe=5m&confidence=0.99&paths=10000&seed=7")).await;
    assert_eq!((s, &again["var"]["monte_carlo"]), (200, &p["var"]["monte_carlo"]), "seeded Monte Carlo repeats exactly");
    let (s, st) = send(get("/api/risk/stress-test?positions=ETH/BTC:10,LTC/BTC:50&timeframe=5m&paths=500&seed=1&horizon=12")).await;
    assert_eq!(s, 200, "{st}");
    assert!(!st["scenarios"].as_array().unwrap().is_empty() && st["worst_case"].is_object(), "{st}");

    // Bad input: a 4xx JSON error that says what is wrong.
    for (req, status, needle) in [
        (
            post(
                "/api/risk/calculate-position-size",
                json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0, "current_price": 50000}),
            ),
            400,
            "stop_loss",
        ),
        (
            post(
                "/api/risk/calculate-position-size",
                json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": -5}),
            ),
            400,
            "current_price",
        ),
        (post("/api/risk/portfolio-risk", json!({"returns": [0.01, -0.02, 0.005], "confidence": 1.5})), 400, "confidence"),
        (get("/api/risk/portfolio-risk?positions="), 400, "empty"),
        (get("/api/risk/portfolio-risk?positions=DOGE/USDT:5"), 404, "DOGE/USDT"),
        (
            post(
                "/api/risk/calculate-position-size",
                json!({"method": "risk_parity", "portfolio_value": 1000, "symbols": ["A/B", "C/D"], "covariance": [[1.0, 1.0], [1.0, 1.0]]}),
            ),
            400,
            "covariance",
        ),
    ] {
        let (s, b) = send(req).await;
        assert_eq!(s, status, "{b}");
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{needle:?} not in {b}");
    }

    // An empty portfolio (a fresh service's execution account) is a valid state: 200,
    // zero exposure, for both reads.
    for path in ["/api/risk/portfolio-risk?timeframe=5m", "/api/risk/stress-test"] {
        let (s, b) = send(get(path)).await;
        assert_eq!(s, 200, "{path}: {b}");
        assert_eq!((b["portfolio_value"].as_f64(), b["exposure"]["gross"].as_f64()), (Some(0.0), Some(0.0)), "{path}: {b}");
        assert!(b["positions"].as_array().unwrap().is_empty(), "{b}");
    }

    // A check is a check: the breach it reported was not journaled (a journaled breach
    // moves the kill switch).
    server.stop();
    let (code, out, _) = run_cli(&["journal", "dump", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0);
    let breaches: Vec<Value> =
        out.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|r| r["kind"] == "risk_limit_breached").collect();
    assert!(breaches.is_empty(), "{out}");
}

/// Latency, not a pass/fail check: `cargo test --release --test risk_api -- --ignored --nocapture`.
/// 4 concurrent clients send 20,000 position-size requests over real HTTP (keep-alive);
/// prints p50/p99/max of the round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_position_size_latency() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LOG_LEVEL", "warn")]);
    let url = server.url("/api/risk/calculate-position-size");
    let body = json!({"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": 50000});
    let mut tasks = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..4 {
        let (url, body, c) = (url.clone(), body.clone(), client());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(5_000);
            for _ in 0..5_000 {
                let t = std::time::Instant::now();
                let r = c.post(&url).bearer_auth(VIEWER_KEY).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                lat.push(t.elapsed().as_micros() as u64);
            }
            lat
        }));
    }
    report_latencies("position size over HTTP (requests)", tasks, started).await;
}
