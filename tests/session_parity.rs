//! Sessions that trade, end to end on the real binary and real candles (the BTC
//! perpetual's minutes, `testdata/`): a session fed the file a few bars at a time over
//! HTTP makes the trades `tradpal backtest` makes on the same file with the same
//! settings; SIGKILLed mid-run and restarted, it still does (no bar acted on twice or
//! skipped, no order placed twice); bad input is refused naming the field.
// Test code waits on a real server with real-time deadlines.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{client, run_cli, send, test_data, wait_until, Server, TRADER_KEY, VIEWER_KEY};
use serde_json::{json, Value};

const BARS: usize = 1_500;

/// The first `BARS` rows of the BTC minutes, as CSV text and as API candles.
fn rows() -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(test_data("btcperp-1m.csv")).unwrap();
    let mut lines = text.lines();
    let mut csv = String::from(lines.next().unwrap());
    csv.push('\n');
    let mut candles = Vec::new();
    for line in lines.take(BARS) {
        csv.push_str(line);
        csv.push('\n');
        let f: Vec<&str> = line.split(',').collect();
        let n = |i: usize| f[i].parse::<f64>().unwrap();
        candles.push(json!({"timestamp": f[0], "open": n(1), "high": n(2), "low": n(3), "close": n(4), "volume": n(5)}));
    }
    (csv, candles)
}

/// The CLI backtest's trades on the same bars and settings.
fn backtest_trades(dir: &std::path::Path, csv: &str) -> Vec<Value> {
    let file = dir.join("bars.csv");
    std::fs::write(&file, csv).unwrap();
    let data = format!("BTC/USDT={}", file.display());
    let args = [
        "backtest",
        "--data",
        &data,
        "--timeframe",
        "1m",
        "--strategy",
        "sma_cross",
        "--param",
        "fast=5",
        "--param",
        "slow=20",
        "--cash",
        "5000",
        "--json",
        "--trades",
    ];
    let (code, out, err) = run_cli(&args, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["trades"].as_array().unwrap().clone()
}

async fn post(server: &Server, candles: &[Value]) -> u16 {
    let body = json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": candles});
    send(client().post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await.0
}

async fn start_session(server: &Server) -> String {
    let body = json!({"symbol": "BTC/USDT", "capital": 5000, "strategy": "sma_cross", "risk_per_trade": 0.02,
                      "timeframe": "1m", "params": {"fast": 5, "slow": 20}});
    let (s, r) = send(client().post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&body)).await;
    assert_eq!(s, 201, "{r}");
    r["session_id"].as_str().unwrap().to_string()
}

/// Longest wait for a session to act on the bars it was sent.
const SESSION_WAIT_MS: u64 = 60_000;

/// The session's performance once it has acted on `bars` bars.
async fn performance(server: &Server, id: &str, bars: u64) -> Value {
    let url = server.url(&format!("/api/trading/performance?session_id={id}"));
    wait_until(&format!("session {id} to act on {bars} bars"), SESSION_WAIT_MS, || async {
        let (s, p) = send(client().get(&url).bearer_auth(VIEWER_KEY)).await;
        assert_eq!(s, 200, "{p}");
        if p["pnl"]["bars"].as_u64() == Some(bars) {
            Ok(p)
        } else {
            Err(p.to_string())
        }
    })
    .await
}

/// The fields of a trade both sides must agree on.
fn key(t: &Value) -> Value {
    json!([t["entry_time"], t["exit_time"], t["side"], t["entry_price"], t["exit_price"], t["quantity"], t["fees"], t["pnl"]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_fed_over_http_trades_as_the_backtest_does() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, candles) = rows();
    let want = backtest_trades(dir.path(), &csv);
    assert!(want.len() > 20, "the strategy trades on these bars: {}", want.len());

    let server = Server::start(&dir.path().join("data"), &[]);
    let id = start_session(&server).await;
    for chunk in candles.chunks(7) {
        assert_eq!(post(&server, chunk).await, 200);
    }
    let perf = performance(&server, &id, BARS as u64).await;
    assert_eq!(perf["pnl"]["bars"], BARS, "{}", perf["pnl"]);
    let got: Vec<Value> = perf["trades"].as_array().unwrap().iter().map(key).collect();
    let want: Vec<Value> = want.iter().map(key).collect();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    for name in ["total_return", "sharpe_ratio", "max_drawdown", "win_rate"] {
        assert!(perf["metrics"].get(name).is_some(), "metrics.{name}: {}", perf["metrics"]);
    }

    // The journal holds every decision under the session: orders and their fills.
    let (s, status) = send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200);
    let row = &status["orchestrator"]["sessions"][0];
    assert_eq!(row["session_id"], id.as_str());
    assert!(row["pnl"]["equity"].is_string(), "{row}");
    server.stop();
    let data = dir.path().join("data");
    let (code, dump, err) = run_cli(&["journal", "dump", "--data-dir", data.to_str().unwrap(), "--session", &id], &[]);
    assert_eq!(code, 0, "{err}");
    let fills = dump.lines().filter(|l| l.contains("\"order_filled\"")).count();
    // sma_cross is always in: each reversal fill closes one trade and opens the next.
    assert_eq!(fills as u64, perf["counts"]["fills"].as_u64().unwrap(), "every fill under the session");
    assert!(fills > got.len(), "{fills} fills for {} round trips", got.len());
    // The audit chain of a session's order (offline): the bar that triggered it, the
    // session's strategy, the risk check, the order and its fill, with sequences.
    let submitted: Value =
        dump.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|v| v["kind"] == "order_submitted").unwrap();
    let order_id = submitted["event"]["order_id"].as_str().unwrap();
    let (code, out, err) = run_cli(&["audit", "order", order_id, "--data-dir", data.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let chain: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(chain["session_id"], id.as_str(), "{chain}");
    assert_eq!(chain["decision"]["kind"], "session_strategy", "{chain}");
    assert_eq!(chain["decision"]["strategy"], "sma_cross", "{chain}");
    assert!(chain["trigger"]["sequence"].as_u64().unwrap() < submitted["sequence"].as_u64().unwrap(), "{chain}");
    assert_eq!(chain["trigger"]["symbol"], "BTC/USDT", "{chain}");
    assert_eq!(chain["risk_check"]["result"], "passed", "{chain}");
    assert_eq!(chain["fills"].as_array().unwrap().len(), 1, "{chain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_mid_run_continues_without_duplicates_or_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, candles) = rows();
    let want: Vec<Value> = backtest_trades(dir.path(), &csv).iter().map(key).collect();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let id = start_session(&server).await;
    let half = candles.len() / 2;
    for chunk in candles[..half].chunks(50) {
        assert_eq!(post(&server, chunk).await, 200);
    }
    // Kill while the session may still be acting on what was just posted.
    server.kill_hard();
    let server = Server::start(&data, &[]);
    // Everything again: the store drops exact repeats, the session acts on new bars only.
    for chunk in candles.chunks(50) {
        assert_eq!(post(&server, chunk).await, 200);
    }
    let perf = performance(&server, &id, BARS as u64).await;
    assert_eq!(perf["pnl"]["bars"], BARS);
    let got: Vec<Value> = perf["trades"].as_array().unwrap().iter().map(key).collect();
    assert_eq!(got, want);
    server.stop();
    // Each input acted on once: one decision marker per input sequence.
    let (code, dump, err) = run_cli(&["journal", "dump", "--data-dir", data.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let mut inputs: Vec<u64> = dump
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"]["type"] == "session_input_decided")
        .map(|v| v["event"]["input_sequence"].as_u64().unwrap())
        .collect();
    let n = inputs.len();
    inputs.dedup();
    assert_eq!(inputs.len(), n, "an input decided twice");
    // The session's loop re-run offline from the journal decides exactly what was
    // journaled, across the kill.
    let (code, out, err) = run_cli(&["replay", "--session", &id, "--data-dir", data.to_str().unwrap(), "--json"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((r["identical"].as_bool(), r["trading_session"]["identical"].as_bool()), (Some(true), Some(true)), "{r}");
    let r = &r["trading_session"];
    assert!(r["recorded"].as_u64().unwrap() > 2 * want.len() as u64, "orders and fills of {} trades: {r}", want.len());
    assert_eq!(r["inputs"].as_u64(), Some(1 + inputs.len() as u64), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_session_requests_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let (_, candles) = rows();
    assert_eq!(post(&server, &candles[..10]).await, 200);
    let base = json!({"symbol": "BTC/USDT", "capital": 1000, "strategy": "sma_cross", "timeframe": "5m"});
    let cases = [
        (json!({"strategy": "moon"}), 400, "strategy"),
        (json!({"params": {"fats": 3}}), 400, "fats"),
        (json!({"capital": 0}), 400, "capital"),
        (json!({"capital": 1e9}), 409, "free cash"),
        (json!({"strategy": "ai_ensemble"}), 409, "POST /api/ml/train"),
        (json!({"strategy": "ai_ensemble", "params": {"threshold": 0}}), 400, "threshold"),
        (json!({"model_id": "x"}), 400, "model_id"),
        (json!({"captial": 5}), 400, "captial"),
    ];
    for (patch, status, needle) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, r) = send(client().post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&body)).await;
        assert_eq!(s, status, "{body} -> {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains(needle), "{needle}: {r}");
    }
    // The sessions' client-id prefix is theirs alone.
    let order = json!({"client_order_id": "ss-mine", "symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.001"});
    let (s, r) = send(client().post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&order)).await;
    assert_eq!(s, 400, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("reserved"), "{r}");
    // A timeframe below the stored one: ETH/USDT is stored at 1h.
    let hourly = json!({"symbol": "ETH/USDT", "timeframe": "1h", "candles": [
        {"timestamp": "2022-01-01T00:00:00Z", "open": 10, "high": 11, "low": 9, "close": 10, "volume": 1},
        {"timestamp": "2022-01-01T01:00:00Z", "open": 10, "high": 11, "low": 9, "close": 10, "volume": 1}]});
    assert_eq!(send(client().post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&hourly)).await.0, 200);
    let body = json!({"symbol": "ETH/USDT", "capital": 1000, "strategy": "sma_cross", "timeframe": "5m"});
    let (s, r) = send(client().post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&body)).await;
    assert_eq!(s, 400, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("timeframe 5m"), "{r}");
    let (s, r) = send(client().get(server.url("/api/trading/performance?session_id=nope")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 400, "{r}");
    server.stop();
}

/// Resident memory of a process, in kB (Linux).
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// 1,000 sessions on 10 symbols, fed 300 bars per symbol over HTTP: latency from a
/// candle record to its decisions (both stamped by the service's clock), decisions per
/// second, memory. `cargo test --release --test session_parity -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_1000_sessions_on_10_symbols() {
    const SYMBOLS: usize = 10;
    const SESSIONS: usize = 1_000;
    const BARS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[("LOG_LEVEL", "warn")]);
    let pid = server.child.id();
    let idle = rss_kb(pid);
    let c = client();
    for i in 0..SESSIONS {
        let body = json!({"symbol": format!("S{}/USDT", i % SYMBOLS), "capital": 10, "strategy": "sma_cross",
                          "timeframe": "1m", "params": {"fast": 2, "slow": 3}});
        let (s, r) = send(c.post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&body)).await;
        assert_eq!(s, 201, "{r}");
    }
    let with_sessions = rss_kb(pid);
    let started = std::time::Instant::now();
    for t in 0..BARS {
        for k in 0..SYMBOLS {
            let p = 100.0 + ((t * 7919 + k) % 13) as f64;
            let bar = json!({"timestamp": (1_640_995_200 + 60 * t as i64) * 1000, "open": p, "high": p + 1.0, "low": p - 1.0, "close": p + 0.5, "volume": 1e9});
            let body = json!({"symbol": format!("S{k}/USDT"), "timeframe": "1m", "candles": [bar]});
            assert_eq!(send(c.post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await.0, 200);
        }
    }
    // Wait for the last bar to be acted on.
    let (_, rows) = send(c.get(server.url("/api/trading/performance")).bearer_auth(VIEWER_KEY)).await;
    let id = rows["sessions"][SESSIONS - 1]["session_id"].as_str().unwrap().to_string();
    performance(&server, &id, BARS as u64).await;
    let elapsed = started.elapsed();
    let traded = rss_kb(pid);
    server.stop();
    let (code, dump, err) = run_cli(&["journal", "dump", "--data-dir", data.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<Value> = dump.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let ts = |v: &Value| serde_json::from_value::<tradpal_messages::Timestamp>(v["timestamp"].clone()).unwrap().0;
    let by_seq: std::collections::BTreeMap<u64, i64> = records.iter().map(|v| (v["sequence"].as_u64().unwrap(), ts(v))).collect();
    let (mut lat, mut decisions, mut orders) = (Vec::new(), 0u64, 0u64);
    for v in &records {
        match v["event"]["type"].as_str() {
            Some("session_input_decided") => {
                let input = v["event"]["input_sequence"].as_u64().unwrap();
                lat.push(((ts(v) - by_seq[&input]) / 1_000) as u64);
                decisions += v["event"]["sessions"].as_u64().unwrap();
            }
            Some("order_submitted") if v["session_id"].is_string() => orders += 1,
            _ => {}
        }
    }
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
    eprintln!(
        "{SESSIONS} sessions, {SYMBOLS} symbols, {BARS} bars each: {decisions} session-bar decisions, {orders} orders in {:.2} s \
         ({:.0} decisions/s incl. HTTP ingest); candle record -> decisions p50 {} us, p99 {} us, max {} us; \
         RSS idle {idle} kB, with sessions {with_sessions} kB (+{} B/session), after trading {traded} kB",
        elapsed.as_secs_f64(),
        decisions as f64 / elapsed.as_secs_f64(),
        q(0.5),
        q(0.99),
        lat[lat.len() - 1],
        (with_sessions.saturating_sub(idle)) * 1024 / SESSIONS as u64,
    );
    assert_eq!(decisions, (SESSIONS * BARS) as u64);
}
