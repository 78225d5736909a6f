//! The backtest HTTP API end to end: the real binary, real candles (`testdata/`),
//! results that agree with `tradpal backtest --data` on the same bars, and results that
//! survive a restart.

mod common;

use common::*;
use serde_json::{json, Value};

fn spec_request(strategy: &str) -> Value {
    json!({"symbol": "BTC/USDT", "strategy": strategy, "start_date": "2022-01-01", "end_date": "2022-01-08",
           "initial_capital": 10000, "commission": 0.001, "timeframe": "1m"})
}

async fn run(server: &Server, body: &Value) -> (u16, Value) {
    send(client().post(server.url("/api/backtest/run")).bearer_auth(TRADER_KEY).json(body)).await
}

/// Longest wait for a backtest to finish.
const BACKTEST_WAIT_MS: u64 = 60_000;

async fn poll(server: &Server, id: &str) -> Value {
    wait_until(&format!("backtest {id} to finish"), BACKTEST_WAIT_MS, || async {
        let (s, r) = send(client().get(server.url(&format!("/api/backtest/results/{id}"))).bearer_auth(VIEWER_KEY)).await;
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

#[tokio::test]
async fn run_poll_compare_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (data, csv) = btc_week_imported(dir.path());

    let server = Server::start(&data, &[]);
    let (s, accepted) = run(&server, &spec_request("sma_cross")).await;
    assert_eq!(s, 202, "{accepted}");
    assert_eq!(accepted["status"], "running");
    assert_eq!(accepted["timeframe"], "1m");
    assert_eq!(accepted["bars"], 7 * 24 * 60);
    let id = accepted["backtest_id"].as_str().unwrap().to_string();
    let r = poll(&server, &id).await;
    assert_eq!(r["status"], "completed", "{r}");
    for f in ["total_return", "sharpe_ratio", "max_drawdown", "win_rate"] {
        assert!(r[f].is_number(), "{f} in {r}");
    }

    // The CLI on the same bars gives the same numbers.
    let cli =
        ["backtest", "--data", csv.to_str().unwrap(), "--timeframe", "1m", "--symbol", "BTC/USDT", "--strategy", "sma_cross", "--json"];
    let (code, out, err) = run_cli(&cli, &[]);
    assert_eq!(code, 0, "{err}");
    let c: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["total_return"], c["metrics"]["total_return"]);
    assert_eq!(r["sharpe_ratio"], c["metrics"]["sharpe_ratio"]);
    assert_eq!(r["event_stream_hash"], c["event_stream_hash"]);

    let (s, p) = send(client().get(server.url(&format!("/api/backtest/performance/{id}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{p}");
    assert!(!p["trades"].as_array().unwrap().is_empty());
    let curve = p["equity_curve"].as_array().unwrap().len();
    assert!(curve > 100 && curve <= 2_000, "{curve}");
    assert_eq!(p["equity_points_total"], 7 * 24 * 60);
    assert!(p["monthly_returns"].is_array() && p["drawdown_periods"].is_array());
    assert_eq!(p["metrics"], c["metrics"]);
    // Attribution, always: every breakdown adds up to the trades' P&L.
    let pnl: f64 = p["trades"].as_array().unwrap().iter().map(|t| t["pnl"].as_f64().unwrap()).sum();
    let attr = &p["attribution"];
    assert!((attr["total"]["net_pnl"].as_f64().unwrap() - pnl).abs() < 1e-6, "{attr}");
    for key in ["by_symbol", "by_side", "by_source", "by_month"] {
        let sum: f64 = attr[key].as_object().unwrap().values().map(|b| b["net_pnl"].as_f64().unwrap()).sum();
        assert!((sum - pnl).abs() < 1e-6, "{key}: {sum} vs {pnl}");
    }
    assert!(attr["by_symbol"].get("BTC/USDT").is_some() && attr["by_month"].get("2022-01").is_some(), "{attr}");
    assert!(p.get("monte_carlo").is_none() && p.get("lookahead").is_none(), "only when asked");

    // Asked for: Monte Carlo and the look-ahead check in the report, same as the CLI's.
    let mut asked = spec_request("sma_cross");
    asked["monte_carlo_runs"] = json!(300);
    asked["lookahead_checks"] = json!(3);
    asked["start_date"] = json!("2022-01-06");
    let (s, a) = run(&server, &asked).await;
    assert_eq!(s, 202, "{a}");
    let aid = a["backtest_id"].as_str().unwrap().to_string();
    assert_eq!(poll(&server, &aid).await["status"], "completed");
    let (s, pa) = send(client().get(server.url(&format!("/api/backtest/performance/{aid}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{pa}");
    assert_eq!((&pa["monte_carlo"]["status"], &pa["monte_carlo"]["runs"]), (&json!("completed"), &json!(300)), "{}", pa["monte_carlo"]);
    assert_eq!((&pa["lookahead"]["passed"], &pa["lookahead"]["checks_run"]), (&json!(true), &json!(3)), "{}", pa["lookahead"]);

    // A coarser timeframe (resampled from the minutes) runs too.
    let (s, a) = run(&server, &json!({"symbol": "BTC/USDT", "strategy": "buy_and_hold", "timeframe": "1h"})).await;
    assert_eq!((s, &a["bars"]), (202, &json!(7 * 24)), "{a}");
    assert_eq!(poll(&server, a["backtest_id"].as_str().unwrap()).await["status"], "completed");

    // The spec's own strategy needs a trained model or agent: 409 saying how to train one
    // (tests/ai_ensemble.rs runs it with both).
    let (s, e) = run(&server, &spec_request("ai_ensemble")).await;
    assert_eq!(s, 409, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("POST /api/ml/train") && msg.contains("POST /api/rl/train"), "{msg}");

    bad_input(&server).await;
    server.stop();

    // After a restart: the same results, read back from the result file.
    let server = Server::start(&data, &[]);
    let r2 = poll(&server, &id).await;
    assert_eq!(r2, r);
    let (s, p2) = send(client().get(server.url(&format!("/api/backtest/performance/{id}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!((s, &p2), (200, &p));

    // A lost file is a clear error naming it, not a panic.
    std::fs::remove_file(data.join(format!("backtests/{id}.json"))).unwrap();
    let (s, e) = send(client().get(server.url(&format!("/api/backtest/results/{id}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 500, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains(&format!("backtests/{id}.json")), "{e}");
    server.stop();
}

async fn bad_input(server: &Server) {
    let with = |k: &str, v: Value| {
        let mut b = spec_request("sma_cross");
        b[k] = v;
        b
    };
    let cases = [
        (with("strategy", json!("moon")), 400, "strategy"),
        (with("end_date", json!("2021-12-01")), 400, "end_date"),
        (with("symbol", json!("DOGE/USDT")), 404, "DOGE/USDT"),
        (with("commission", json!("NaN")), 400, "commission"),
        (with("commission", json!(-0.1)), 400, "commission"),
        (with("params", json!({"fast": 50})), 400, "params"),
        (with("monte_carlo_runs", json!(0)), 400, "monte_carlo_runs"),
        (with("monte_carlo_runs", json!(1_000_000)), 400, "MONTE_CARLO_RUNS_MAX"),
        (with("lookahead_checks", json!(5_000)), 400, "lookahead_checks"),
        (with("monte_carlo_method", json!("jackknife")), 400, "monte_carlo_method"),
        (with("start_date", json!("2030-01-01")).tap_remove("end_date"), 404, "no complete 1m bars"),
    ];
    for (body, status, needle) in cases {
        let (s, e) = run(server, &body).await;
        assert_eq!(s, status, "{body} -> {e}");
        assert!(e["error"]["message"].as_str().unwrap_or("").contains(needle), "{needle} in {e}");
    }
    let raw = r#"{"symbol": "BTC/USDT", "strategy": "sma_cross", "commission": NaN}"#;
    let (s, _) =
        send(client().post(server.url("/api/backtest/run")).bearer_auth(TRADER_KEY).header("content-type", "application/json").body(raw))
            .await;
    assert_eq!(s, 400);
    let (s, _) = send(client().post(server.url("/api/backtest/run")).bearer_auth(VIEWER_KEY).json(&spec_request("sma_cross"))).await;
    assert_eq!(s, 403, "running a backtest needs the trader role");
    let (s, e) = send(client().get(server.url("/api/backtest/results/00000000-0000-4000-8000-000000000000")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 404, "{e}");
    let (s, _) = send(client().get(server.url("/api/backtest/results/nope")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 400);
}

fn optimize_request(method: &str, trials: u64) -> Value {
    json!({"symbol": "BTC/USDT", "timeframe": "1h", "strategy": "sma_cross", "start_date": "2022-01-01", "end_date": "2022-01-08",
           "ranges": [{"name": "fast", "min": 3, "max": 12, "step": 3}, {"name": "slow", "min": 15, "max": 45, "step": 10}],
           "method": method, "trials": trials, "objective": "total_return", "seed": 7, "out_of_sample_fraction": 0.3, "top_k": 5})
}

async fn optimize(server: &Server, body: &Value) -> (u16, Value) {
    send(client().post(server.url("/api/backtest/optimize")).bearer_auth(TRADER_KEY).json(body)).await
}

/// Optimisation over HTTP: submit, poll, the best point inside the declared ranges, one
/// at a time, bad fields named, the result kept over a restart; and the HTML report of a
/// run.
#[tokio::test]
async fn optimize_poll_report_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);

    // The journal is held by the service: the CLI's --symbol says so and what to do.
    let cli = ["backtest", "--symbol", "BTC/USDT", "--timeframe", "1h", "--strategy", "buy_and_hold", "--data-dir", data.to_str().unwrap()];
    let (code, _, err) = run_cli(&cli, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Stop the service") && err.contains("POST /api/backtest/run"), "{err}");

    // A long search on the minutes over continuous ranges; meanwhile no second one
    // (an optimisation uses every core).
    let long = json!({"symbol": "BTC/USDT", "timeframe": "1m", "strategy": "sma_cross", "method": "tpe", "trials": 60, "seed": 3,
                      "ranges": [{"name": "fast", "min": 2, "max": 20}, {"name": "slow", "min": 25, "max": 200, "log": true}]});
    let (s, a) = optimize(&server, &long).await;
    assert_eq!(s, 202, "{a}");
    assert_eq!((a["kind"].as_str(), a["status"].as_str(), &a["bars"]), (Some("optimize"), Some("running"), &json!(7 * 24 * 60)));
    let (s, e) = optimize(&server, &optimize_request("grid", 1)).await;
    assert_eq!(s, 503, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("OPTIMIZATIONS_RUNNING_MAX"), "{e}");
    let l = poll(&server, a["backtest_id"].as_str().unwrap()).await;
    assert_eq!((l["status"].as_str(), &l["trials"]), (Some("completed"), &json!(60)), "{l}");
    let (fast, slow) = (l["best_params"]["fast"].as_f64().unwrap(), l["best_params"]["slow"].as_f64().unwrap());
    assert!((2.0..=20.0).contains(&fast) && (25.0..=200.0).contains(&slow), "within the declared ranges: {l}");

    let (s, a) = optimize(&server, &optimize_request("tpe", 40)).await;
    assert_eq!(s, 202, "{a}");
    let id = a["backtest_id"].as_str().unwrap().to_string();
    let r = poll(&server, &id).await;
    assert_eq!((r["status"].as_str(), r["kind"].as_str()), (Some("completed"), Some("optimize")), "{r}");
    let best = &r["best_params"];
    let (fast, slow) = (best["fast"].as_f64().unwrap(), best["slow"].as_f64().unwrap());
    assert!([3.0, 6.0, 9.0, 12.0].contains(&fast) && [15.0, 25.0, 35.0, 45.0].contains(&slow), "on the declared lattice: {best}");
    assert_eq!(r["trials"], 16, "tpe stops when the 16-point space is exhausted: {r}");
    let (is, oos) = (r["in_sample_score"].as_f64().unwrap(), r["out_of_sample_score"].as_f64().unwrap());
    assert!((r["gap"].as_f64().unwrap() - (is - oos)).abs() < 1e-12, "{r}");
    let top = r["top"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    assert_eq!(&top[0]["params"], best);
    assert!(top.windows(2).all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()), "ranked: {r}");
    assert_eq!(r["out_of_sample"]["bars"], 7 * 24 - (7.0 * 24.0 * 0.7_f64).floor() as u64);

    // The same search by grid finds the same best point (same space, same order).
    let (s, g) = optimize(&server, &optimize_request("grid", 1)).await;
    assert_eq!(s, 202, "{g}");
    let g = poll(&server, g["backtest_id"].as_str().unwrap()).await;
    assert_eq!((&g["best_params"], &g["in_sample_score"]), (best, &r["in_sample_score"]), "{g}");

    let (s, p) = send(client().get(server.url(&format!("/api/backtest/performance/{id}"))).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{p}");
    assert!(p["in_sample_metrics"]["sharpe_ratio"].is_number() && p["out_of_sample_metrics"]["total_return"].is_number(), "{p}");
    assert_eq!(p["request"]["seed"], 7);

    optimize_bad_input(&server).await;
    let run_id = html_report(&server, &id).await;
    server.stop();

    // After a restart: the same optimisation result, from its file.
    let server = Server::start(&data, &[]);
    assert_eq!(poll(&server, &id).await, r);
    let (s, h) = get_text(&server, &format!("/api/backtest/report/{run_id}")).await;
    assert_eq!(s, 200);
    assert!(h.contains("<!DOCTYPE html>"));
    server.stop();
}

async fn get_text(server: &Server, path: &str) -> (u16, String) {
    let res = client().get(server.url(path)).bearer_auth(VIEWER_KEY).send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = res.text().await.unwrap();
    if status == 200 {
        assert!(ctype.starts_with("text/html"), "{ctype}");
    }
    (status, body)
}

/// `report/{id}`: a finished run's HTML; 409 for an optimisation. Returns the run's id.
async fn html_report(server: &Server, optimize_id: &str) -> String {
    let (s, a) =
        run(server, &json!({"symbol": "BTC/USDT", "timeframe": "1h", "strategy": "sma_cross", "params": {"fast": 3, "slow": 15}})).await;
    assert_eq!(s, 202, "{a}");
    let id = a["backtest_id"].as_str().unwrap().to_string();
    let r = poll(server, &id).await;
    assert_eq!(r["kind"], "run");
    let (s, html) = get_text(server, &format!("/api/backtest/report/{id}")).await;
    assert_eq!(s, 200, "{html}");
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(!html.contains("http"));
    assert!(html.contains(&format!("data-trades-total=\"{}\"", r["trades"])), "{}", r["trades"]);
    let (s, e) = get_text(server, &format!("/api/backtest/report/{optimize_id}")).await;
    assert_eq!(s, 409, "{e}");
    assert!(e.contains("optimisation"), "{e}");
    id
}

async fn optimize_bad_input(server: &Server) {
    let with = |k: &str, v: Value| {
        let mut b = optimize_request("grid", 1);
        b[k] = v;
        b
    };
    let cases = [
        (with("ranges", json!([])), 400, "ranges"),
        (with("ranges", json!([{"name": "speed", "min": 1, "max": 3, "step": 1}])), 400, "ranges"),
        (with("ranges", json!([{"name": "fast", "min": 9, "max": 3, "step": 1}])), 400, "ranges"),
        (with("method", json!("anneal")), 400, "method"),
        (with("objective", json!("luck")), 400, "objective"),
        (with("out_of_sample_fraction", json!(1.0)), 400, "out_of_sample_fraction"),
        (with("top_k", json!(1000)), 400, "top_k"),
        (with("strategy", json!("moon")), 400, "strategy"),
        (with("symbol", json!("DOGE/USDT")), 404, "DOGE/USDT"),
        (with("colour", json!("red")), 400, "colour"),
    ];
    for (body, status, needle) in cases {
        let (s, e) = optimize(server, &body).await;
        assert_eq!(s, status, "{body} -> {e}");
        assert!(e["error"]["message"].as_str().unwrap_or("").contains(needle), "{needle} in {e}");
    }
    let (s, _) = send(client().post(server.url("/api/backtest/optimize")).bearer_auth(VIEWER_KEY).json(&optimize_request("grid", 1))).await;
    assert_eq!(s, 403, "optimising needs the trader role");
}

trait TapRemove {
    fn tap_remove(self, key: &str) -> Self;
}

impl TapRemove for Value {
    fn tap_remove(mut self, key: &str) -> Self {
        if let Some(o) = self.as_object_mut() {
            o.remove(key);
        }
        self
    }
}

/// The CLI's flags are the request's fields (`--participation none` is
/// `"participation": "none"`, `--param entry=cross` is `"params": {"entry": "cross"}`,
/// `--cash` an alias of `initial_capital`), with the same defaults: the two give the same
/// event stream. The service's TRANSACTION_COSTS stands in for a missing commission.
#[tokio::test]
async fn one_vocabulary_and_settings_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (data, csv) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[("TRANSACTION_COSTS", "0.0005")]);
    let body = json!({"symbol": "BTC/USDT", "timeframe": "1m", "strategy": "sma_cross", "params": {"entry": "cross", "fast": 12},
                      "cash": 20000, "participation": "none", "quantity": 0.05, "calendar": "crypto_24_7",
                      "whole_units": false, "max_position_size": 2.0, "risk_free_rate": 0.0});
    let (s, a) = run(&server, &body).await;
    assert_eq!(s, 202, "{a}");
    let r = poll(&server, a["backtest_id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "completed", "{r}");
    let cli = [
        "backtest",
        "--data",
        csv.to_str().unwrap(),
        "--symbol",
        "BTC/USDT",
        "--strategy",
        "sma_cross",
        "--param",
        "entry=cross",
        "--param",
        "fast=12",
        "--initial-capital",
        "20000",
        "--participation",
        "none",
        "--quantity",
        "0.05",
        "--calendar",
        "crypto_24_7",
        "--max-position-size",
        "2",
        "--risk-free-rate",
        "0",
        "--commission",
        "0.0005",
        "--json",
        "--quiet",
    ];
    let (code, out, err) = run_cli(&cli, &[]);
    assert_eq!(code, 0, "{err}");
    let c: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["event_stream_hash"], c["event_stream_hash"], "same run on both sides");
    assert_eq!(r["sharpe_ratio"], c["metrics"]["sharpe_ratio"]);
    // Bad values name the field.
    for (field, value, needle) in [
        ("participation", json!("sometimes"), "participation"),
        ("quantity", json!(-1), "quantity"),
        ("calendar", json!("nyse"), "calendar"),
    ] {
        let mut b = spec_request("sma_cross");
        b[field] = value;
        let (s, e) = run(&server, &b).await;
        assert_eq!(s, 400, "{field}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().contains(needle), "{e}");
    }
}

/// The natural first call (`{"symbol", "strategy"}` on minute bars) runs on the settings'
/// first trading timeframe (1h, resampled) rather than every minute, and a result whose
/// fees ate its capital says so.
#[tokio::test]
async fn a_newcomers_first_call_does_not_mislead() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = btc_week_imported(dir.path());
    let server = Server::start(&data, &[]);
    let (s, a) = run(&server, &json!({"symbol": "BTC/USDT", "strategy": "sma_cross"})).await;
    assert_eq!(s, 202, "{a}");
    assert_eq!((a["timeframe"].as_str(), a["bars"].as_u64()), (Some("1h"), Some(7 * 24)), "{a}");
    let r = poll(&server, a["backtest_id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "completed", "{r}");
    // Every minute with a 1% fee: the fees eat the account, and the result says so.
    let (s, a) = run(
        &server,
        &json!({"symbol": "BTC/USDT", "strategy": "sma_cross", "timeframe": "1m", "commission": 0.01, "params": {"fast": 2, "slow": 3}}),
    )
    .await;
    assert_eq!(s, 202, "{a}");
    let r = poll(&server, a["backtest_id"].as_str().unwrap()).await;
    let notes = r["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("of the starting cash")), "{r}");
}
