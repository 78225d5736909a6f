//! Backtest jobs over HTTP against the real binary on real candles (`testdata/`):
//! walk-forwards (submit, poll, the windows as requested, one search at a time, bad
//! fields named, the result after a restart).

mod common;

use common::*;
use serde_json::{json, Value};

async fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    send(client().post(server.url(path)).bearer_auth(TRADER_KEY).json(body)).await
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    send(client().get(server.url(path)).bearer_auth(VIEWER_KEY)).await
}

/// Longest wait for a backtest job to finish.
const JOB_WAIT_MS: u64 = 120_000;

async fn poll(server: &Server, id: &str) -> Value {
    wait_until(&format!("backtest job {id} to finish"), JOB_WAIT_MS, || async {
        let (s, r) = get(server, &format!("/api/backtest/results/{id}")).await;
        assert_eq!(s, 200, "{r}");
        if r["status"] != "running" {
            return Ok(r);
        }
        let p = r["progress"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{r}");
        Err(r.to_string())
    })
    .await
}

/// A walk-forward of sma_cross on the week's hours: 168 bars.
fn walk_forward_request() -> Value {
    json!({"symbol": "BTC/USDT", "timeframe": "1h", "strategy": "sma_cross", "start_date": "2022-01-01", "end_date": "2022-01-08",
           "ranges": [{"name": "fast", "min": 2, "max": 8, "step": 2}, {"name": "slow", "min": 10, "max": 20, "step": 5}],
           "objective": "total_return", "seed": 5, "train_bars": 48, "test_bars": 24})
}

#[tokio::test]
async fn walk_forward_poll_windows_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);

    // A long anchored walk-forward on the minutes; meanwhile no second search of
    // either kind (they share the one slot).
    let long = json!({"symbol": "BTC/USDT", "timeframe": "1m", "strategy": "sma_cross", "method": "tpe", "trials": 150, "seed": 3,
                      "ranges": [{"name": "fast", "min": 2, "max": 20}, {"name": "slow", "min": 25, "max": 200, "log": true}],
                      "train_fraction": 0.3, "test_fraction": 0.05, "mode": "anchored"});
    let (s, a) = post(&server, "/api/backtest/walk-forward", &long).await;
    assert_eq!(s, 202, "{a}");
    assert_eq!((a["kind"].as_str(), a["status"].as_str(), &a["bars"]), (Some("walk_forward"), Some("running"), &json!(7 * 24 * 60)));
    let (s, e) = post(&server, "/api/backtest/walk-forward", &walk_forward_request()).await;
    assert_eq!(s, 503, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("OPTIMIZATIONS_RUNNING_MAX"), "{e}");
    let opt = json!({"symbol": "BTC/USDT", "timeframe": "1h", "strategy": "sma_cross", "ranges": [{"name": "fast", "min": 2, "max": 8, "step": 2}]});
    let (s, e) = post(&server, "/api/backtest/optimize", &opt).await;
    assert_eq!(s, 503, "an optimisation waits for the walk-forward too: {e}");
    let long_id = a["backtest_id"].as_str().unwrap().to_string();
    let l = poll(&server, &long_id).await;
    assert_eq!(
        (l["status"].as_str(), l["kind"].as_str(), l["mode"].as_str()),
        (Some("completed"), Some("walk_forward"), Some("anchored")),
        "{l}"
    );
    let (train, test) = ((10080.0 * 0.3_f64).floor() as u64, (10080.0 * 0.05_f64).floor() as u64);
    let windows = l["per_window"].as_array().unwrap();
    assert_eq!(windows.len() as u64, (10080 - train - test) / test + 1, "{l}");
    for (k, w) in windows.iter().enumerate() {
        let k = k as u64;
        assert_eq!((&w["train"]["first_bar"], &w["train"]["bars"]), (&json!(0), &json!(train + k * test)), "anchored: {w}");
        assert_eq!((&w["test"]["first_bar"], &w["test"]["bars"]), (&json!(train + k * test), &json!(test)), "{w}");
        let (fast, slow) = (w["best_params"]["fast"].as_f64().unwrap(), w["best_params"]["slow"].as_f64().unwrap());
        assert!((2.0..=20.0).contains(&fast) && (25.0..=200.0).contains(&slow), "within the declared ranges: {w}");
    }

    // The small rolling one: windows exactly as asked.
    let (s, a) = post(&server, "/api/backtest/walk-forward", &walk_forward_request()).await;
    assert_eq!(s, 202, "{a}");
    let id = a["backtest_id"].as_str().unwrap().to_string();
    let r = poll(&server, &id).await;
    assert_eq!(
        (r["status"].as_str(), r["kind"].as_str(), r["mode"].as_str()),
        (Some("completed"), Some("walk_forward"), Some("rolling")),
        "{r}"
    );
    let per = r["per_window"].as_array().unwrap();
    assert_eq!(per.len(), (168 - 48 - 24) / 24 + 1, "{r}");
    for (k, w) in per.iter().enumerate() {
        assert_eq!((&w["train"]["first_bar"], &w["train"]["bars"]), (&json!(24 * k), &json!(48)), "rolling: {w}");
        assert_eq!((&w["test"]["first_bar"], &w["test"]["bars"]), (&json!(48 + 24 * k), &json!(24)), "{w}");
        assert!([2.0, 4.0, 6.0, 8.0].contains(&w["best_params"]["fast"].as_f64().unwrap()), "on the lattice: {w}");
        assert!(w["in_sample_score"].is_number() && w["out_of_sample_score"].is_number(), "{w}");
        assert_eq!(w["trials"], 12);
    }
    assert_eq!(r["untested_bars"], 168 - 48 - 5 * 24);
    let oos = r["out_of_sample"]["total_return"].as_f64().unwrap();
    assert!(oos.is_finite() && r["out_of_sample_score"].as_f64() == Some(oos), "objective total_return is the stitched return: {r}");
    // The mean in-sample score is the mean of the windows'.
    let mean = per.iter().map(|w| w["in_sample_score"].as_f64().unwrap()).sum::<f64>() / per.len() as f64;
    assert!((r["mean_in_sample_score"].as_f64().unwrap() - mean).abs() < 1e-12, "{r}");

    let (s, p) = get(&server, &format!("/api/backtest/performance/{id}")).await;
    assert_eq!(s, 200, "{p}");
    let curve = p["equity_curve"].as_array().unwrap();
    assert_eq!(curve.len(), 5 * 24, "one stitched point per test bar: {}", curve.len());
    let (first, last) = (curve[0]["equity"].as_f64().unwrap(), curve[curve.len() - 1]["equity"].as_f64().unwrap());
    assert!((last / first - 1.0 - oos).abs() < 1e-9, "the curve ends at the stitched return: {first} -> {last}, {oos}");
    assert_eq!(p["out_of_sample_metrics"]["bars"], 120);
    assert_eq!(p["request"]["seed"], 5);
    let (s, e) = send(client().get(server.url(&format!("/api/backtest/report/{id}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 409, "no HTML report for a walk-forward: {e}");

    walk_forward_bad_input(&server).await;
    server.stop();

    // After a restart: the same results and report, from the files.
    let server = Server::start(&data, &[]);
    assert_eq!(poll(&server, &id).await, r);
    assert_eq!(poll(&server, &long_id).await, l);
    let (s, p2) = get(&server, &format!("/api/backtest/performance/{id}")).await;
    assert_eq!((s, p2), (200, p));
    server.stop();
}

async fn walk_forward_bad_input(server: &Server) {
    let with = |k: &str, v: Value| {
        let mut b = walk_forward_request();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = walk_forward_request();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let many_points = json!([{"name": "fast", "min": 2, "max": 41, "step": 1}, {"name": "slow", "min": 50, "max": 99, "step": 1}]);
    let mut too_many_runs = with("ranges", many_points);
    too_many_runs["train_bars"] = json!(2);
    too_many_runs["test_bars"] = json!(2);
    let cases = [
        (without("train_bars"), 400, "train_bars"),
        (without("test_bars"), 400, "test_bars"),
        (with("train_fraction", json!(0.5)), 400, "train_fraction"),
        (with("test_bars", json!(1)), 400, "test_bars"),
        (with("train_bars", json!(200)), 400, "train_bars"),
        (with("step_bars", json!(10)), 400, "step_bars"),
        (with("mode", json!("sideways")), 400, "mode"),
        (with("ranges", json!([])), 400, "ranges"),
        (with("method", json!("anneal")), 400, "method"),
        (with("objective", json!("luck")), 400, "objective"),
        (too_many_runs, 400, "WALK_FORWARD_RUNS_MAX"),
        (with("symbol", json!("DOGE/USDT")), 404, "DOGE/USDT"),
        (with("colour", json!("red")), 400, "colour"),
    ];
    for (body, status, needle) in cases {
        let (s, e) = post(server, "/api/backtest/walk-forward", &body).await;
        assert_eq!(s, status, "{body} -> {e}");
        assert!(e["error"]["message"].as_str().unwrap_or("").contains(needle), "{needle} in {e}");
    }
    let mut fraction = without("test_bars");
    fraction["test_fraction"] = json!(1.5);
    let (s, e) = post(server, "/api/backtest/walk-forward", &fraction).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().starts_with("test_fraction"), "{e}");
    let (s, _) = send(client().post(server.url("/api/backtest/walk-forward")).bearer_auth(VIEWER_KEY).json(&walk_forward_request())).await;
    assert_eq!(s, 403, "a walk-forward needs the trader role");
}

/// An optimisation cut by SIGKILL reports `failed` after the restart and keeps its kind
/// (journaled in `BacktestJobStarted`); a run finished before the kill keeps its own.
#[tokio::test]
async fn interrupted_optimisation_keeps_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);
    let (s, a) = post(&server, "/api/backtest/run", &json!({"symbol": "BTC/USDT", "timeframe": "1h", "strategy": "buy_and_hold"})).await;
    assert_eq!(s, 202, "{a}");
    let run_id = a["backtest_id"].as_str().unwrap().to_string();
    assert_eq!(poll(&server, &run_id).await["status"], "completed");

    let long = json!({"symbol": "BTC/USDT", "timeframe": "1m", "strategy": "sma_cross", "method": "tpe", "trials": 5000, "seed": 3,
                      "ranges": [{"name": "fast", "min": 2, "max": 20}, {"name": "slow", "min": 25, "max": 200, "log": true}]});
    let (s, a) = post(&server, "/api/backtest/optimize", &long).await;
    assert_eq!(s, 202, "{a}");
    let id = a["backtest_id"].as_str().unwrap().to_string();
    // Wait until it has made progress, so it is surely running when killed.
    wait_until("the long optimisation to make progress", JOB_WAIT_MS, || async {
        let (_, r) = get(&server, &format!("/api/backtest/results/{id}")).await;
        assert_eq!(r["status"], "running", "5,000 trials must still be running: {r}");
        assert_eq!(r["kind"], "optimize");
        holds(r["progress"].as_f64().unwrap() > 0.0, || r.to_string())
    })
    .await;
    server.kill_hard();

    let server = Server::start(&data, &[]);
    let (s, r) = get(&server, &format!("/api/backtest/results/{id}")).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!((r["status"].as_str(), r["kind"].as_str()), (Some("failed"), Some("optimize")), "{r}");
    assert!(r["error"].as_str().unwrap().contains("interrupted by a restart"), "{r}");
    let (s, e) = get(&server, &format!("/api/backtest/performance/{id}")).await;
    assert_eq!(s, 409, "{e}");
    let r = poll(&server, &run_id).await;
    assert_eq!((r["status"].as_str(), r["kind"].as_str()), (Some("completed"), Some("run")), "{r}");
    // The slot is free again after the restart.
    let (s, a) = post(&server, "/api/backtest/walk-forward", &walk_forward_request()).await;
    assert_eq!(s, 202, "{a}");
    server.stop();
}

/// Retention with `BACKTEST_RESULTS_MAX=2`: when a third result completes the oldest
/// finished one is deleted (file and all) and answers 410 naming the limit, also after a
/// restart; a job still running is not counted nor removed.
#[tokio::test]
async fn retention_removes_the_oldest_finished_result() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let env = [("BACKTEST_RESULTS_MAX", "2")];
    let server = Server::start(&data, &env);
    let run = |strategy: &'static str| json!({"symbol": "BTC/USDT", "timeframe": "1h", "strategy": strategy});
    let mut ids = Vec::new();
    // A long optimisation runs while the runs complete: it is never removed.
    let long = json!({"symbol": "BTC/USDT", "timeframe": "1m", "strategy": "sma_cross", "method": "tpe", "trials": 5000, "seed": 3,
                      "ranges": [{"name": "fast", "min": 2, "max": 20}, {"name": "slow", "min": 25, "max": 200, "log": true}]});
    let (s, a) = post(&server, "/api/backtest/optimize", &long).await;
    assert_eq!(s, 202, "{a}");
    let opt_id = a["backtest_id"].as_str().unwrap().to_string();
    for strategy in ["buy_and_hold", "sma_cross", "rsi_reversion"] {
        let (s, a) = post(&server, "/api/backtest/run", &run(strategy)).await;
        assert_eq!(s, 202, "{a}");
        let id = a["backtest_id"].as_str().unwrap().to_string();
        assert_eq!(poll(&server, &id).await["status"], "completed");
        ids.push(id);
    }
    let files = |id: &str| data.join("backtests").join(format!("{id}.json"));
    let (s, e) = get(&server, &format!("/api/backtest/results/{}", ids[0])).await;
    assert_eq!(s, 410, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("retention") && msg.contains("BACKTEST_RESULTS_MAX = 2"), "{e}");
    assert_eq!(e["error"]["code"], "gone");
    assert!(!files(&ids[0]).exists(), "the file is deleted");
    for id in &ids[1..] {
        assert!(files(id).exists());
        assert_eq!(get(&server, &format!("/api/backtest/results/{id}")).await.0, 200);
    }
    assert!(server.logs().contains("retention"), "the removal is logged");
    let (_, o) = get(&server, &format!("/api/backtest/results/{opt_id}")).await;
    assert_eq!((o["status"].as_str(), o["kind"].as_str()), (Some("running"), Some("optimize")), "still running, never removed: {o}");
    server.kill_hard();

    let server = Server::start(&data, &env);
    let (s, e) = get(&server, &format!("/api/backtest/results/{}", ids[0])).await;
    assert_eq!(s, 410, "after a restart too: {e}");
    let (s, e) = get(&server, &format!("/api/backtest/report/{}", ids[0])).await;
    assert_eq!(s, 410, "{e}");
    for id in &ids[1..] {
        assert_eq!(get(&server, &format!("/api/backtest/results/{id}")).await.0, 200);
    }
    let (_, o) = get(&server, &format!("/api/backtest/results/{opt_id}")).await;
    assert_eq!((o["status"].as_str(), o["kind"].as_str()), (Some("failed"), Some("optimize")), "{o}");
    let remaining = std::fs::read_dir(data.join("backtests"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(remaining, 2, "at most BACKTEST_RESULTS_MAX files");
    server.stop();
}
