//! Test harness: runs the real `tradpal` binary on a free loopback port with its own
//! data directory, and talks to it over real HTTP.
#![allow(dead_code)]
// Test code: deadlines and latency timings against real processes.
#![allow(clippy::disallowed_methods)]

pub mod nats;
pub mod tls;
pub mod wait;
pub mod webdriver;

pub use wait::{holds, wait_until, wait_until_blocking};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ADMIN_KEY: &str = "admin-key-0123456789abcdef";
pub const TRADER_KEY: &str = "trader-key-0123456789abcdef";
pub const VIEWER_KEY: &str = "viewer-key-0123456789abcdef";

pub fn api_keys() -> String {
    format!("{ADMIN_KEY}:admin,{TRADER_KEY}:trader,{VIEWER_KEY}:viewer")
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tradpal")
}

/// A running `tradpal serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// Everything the server wrote to stderr so far (its logs).
    pub logs: Arc<Mutex<String>>,
    /// Every line the server wrote to stdout so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts a server on `data_dir` with the test keys and extra environment.
    pub fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        Server::spawn(data_dir, extra_env, false, &[])
    }

    /// [`Server::start`] with extra `serve` arguments (e.g. `--accept-journal-loss`).
    pub fn start_with_args(data_dir: &Path, extra_env: &[(&str, &str)], args: &[&str]) -> Server {
        Server::spawn(data_dir, extra_env, false, args)
    }

    /// Starts a replicated node (`TRADPAL_NODE`): returns once it leads or stands by.
    pub fn start_node(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        Server::spawn(data_dir, extra_env, true, &[])
    }

    /// True once the process printed its "listening" line (a standby: once it leads).
    pub fn is_serving(&self) -> bool {
        self.stdout.lock().unwrap().iter().any(|l| l.starts_with("tradpal listening on "))
    }

    fn spawn(data_dir: &Path, extra_env: &[(&str, &str)], accept_standby: bool, args: &[&str]) -> Server {
        let mut cmd = Command::new(bin());
        cmd.args(["serve", "--port", "0", "--data-dir"]).arg(data_dir).args(args);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TRADPAL_API_KEYS", api_keys())
            .env("TRADING_SERVICE_HOST", "127.0.0.1")
            // Load tests and benches send thousands of requests with one key: a high
            // limit keeps the limiter in the path without holding them back (the rate
            // limit tests set their own).
            .env("TRADPAL_RATE_LIMIT", "100000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn tradpal");
        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                seen.lock().unwrap().push(line.clone());
                let standby = line.strip_prefix("tradpal standby on ").filter(|_| accept_standby);
                if let Some(addr) = line.strip_prefix("tradpal listening on ").or(standby) {
                    let addr = addr.split_whitespace().next().unwrap_or(addr);
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; logs:\n{}", logs.lock().unwrap());
            }
        };
        Server { child, base, data_dir: data_dir.to_path_buf(), logs, stdout: lines }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL: no shutdown code runs, as in a power cut or OOM kill.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let logs = self.logs();
                let tail: Vec<&str> = logs.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
                let stdout = self.stdout.lock().unwrap().join("\n");
                panic!("server did not stop on SIGTERM within 30 s (killed); stdout:\n{stdout}\nlast log lines:\n{}", tail.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// Sends a request and returns (status, JSON body or Null).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Runs `tradpal` with arguments and a clean environment; returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run tradpal");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The real market data files (`testdata/` in the repository). Fails loudly if
/// missing: these tests must not silently skip.
pub fn test_data(file: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let path = dir.join(file);
    assert!(path.exists(), "test data {} is missing: see testdata/README.md", path.display());
    path
}

/// Joins latency-collecting tasks and prints count, rate and p50/p99/max (microseconds):
/// the report of every ignored latency bench.
pub async fn report_latencies(label: &str, tasks: Vec<tokio::task::JoinHandle<Vec<u64>>>, started: Instant) {
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    print_latencies(label, all, Some(elapsed));
}

/// Prints p50/p99/max of `lat` (microseconds), and the rate when `elapsed` is known.
pub fn print_latencies(label: &str, mut lat: Vec<u64>, elapsed: Option<Duration>) {
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    let rate = elapsed.map_or(String::new(), |e| format!(" in {:.2}s ({:.0}/s)", e.as_secs_f64(), lat.len() as f64 / e.as_secs_f64()));
    eprintln!("{label}: {}{rate}, p50 {} us, p99 {} us, max {} us", lat.len(), q(0.5), q(0.99), lat[lat.len() - 1]);
}

/// The first `n` of the BTC perpetual's minutes (`testdata/btcperp-1m.csv`), as the API's
/// candles (`POST /api/data/candles`).
pub fn btc_minutes(n: usize) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(test_data("btcperp-1m.csv")).unwrap();
    text.lines()
        .skip(1)
        .take(n)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            serde_json::json!({"timestamp": f[0], "open": n(1), "high": n(2), "low": n(3), "close": n(4), "volume": n(5)})
        })
        .collect()
}

/// One week of the BTC perpetual's minutes (2022-01-01 .. 2022-01-08): written as a CSV
/// into `dir` and imported (`tradpal data import`) as BTC/USDT 1m into the data
/// directory `dir/data`. Returns (data directory, CSV).
pub fn btc_week_imported(dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(test_data("btcperp-1m.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = String::from(lines.next().unwrap());
    out.push('\n');
    for l in lines.filter(|l| &l[..10] >= "2022-01-01" && &l[..10] < "2022-01-08") {
        out.push_str(l);
        out.push('\n');
    }
    let csv = dir.join("btc-week-1m.csv");
    std::fs::write(&csv, out).unwrap();
    let data = dir.join("data");
    let args = [
        "data",
        "import",
        "--json",
        "--data-dir",
        data.to_str().unwrap(),
        "--symbol",
        "BTC/USDT",
        "--timeframe",
        "1m",
        csv.to_str().unwrap(),
    ];
    let (code, out, err) = run_cli(&args, &[]);
    assert_eq!(code, 0, "{out}{err}");
    (data, csv)
}

/// Longest wait for a started server to settle (every actor running, start-up records
/// durable): `READY_WAIT_MS` (10 s) is how long the service itself waits before serving
/// anyway; a loaded test machine gets three times that.
pub const SETTLE_WAIT_MS: u64 = 30_000;

/// The journal's last sequence, as `/api/trading/status` reports it.
pub async fn journal_sequence(server: &Server) -> u64 {
    let (s, st) = send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{st}");
    st["journal"]["last_sequence"].as_u64().unwrap_or_else(|| panic!("no journal.last_sequence in {st}"))
}

/// Waits until the server has settled after start: every actor `running` (a start under
/// load can serve before, after `READY_WAIT_MS`), and the execution actor's start-up
/// records durable (it answers the portfolio only after everything it queued is on disk).
/// From then on the journal moves only on what the test does.
pub async fn wait_settled(server: &Server) {
    wait_until("every actor running", SETTLE_WAIT_MS, || async move {
        let (s, st) = send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
        let actors = st["actors"].as_array().cloned().unwrap_or_default();
        holds(s == 200 && !actors.is_empty() && actors.iter().all(|a| a["state"] == "running"), || format!("{s} {st}"))
    })
    .await;
    wait_until("the execution actor's start-up records", SETTLE_WAIT_MS, || async move {
        let (s, p) = send(client().get(server.url("/api/execution/portfolio")).bearer_auth(VIEWER_KEY)).await;
        holds(s == 200, || format!("{s} {p}"))
    })
    .await;
}

/// Bars stored for `symbol` (any timeframe) once at least `want` are there, or what is
/// there after 60 s.
pub async fn wait_for_bars(server: &Server, symbol: &str, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, s) = send(client().get(server.url("/api/data/series")).bearer_auth(VIEWER_KEY)).await;
        let bars =
            s["series"].as_array().and_then(|a| a.iter().find(|x| x["symbol"] == symbol)).map(|x| x["bars"].as_u64().unwrap()).unwrap_or(0);
        if bars >= want || Instant::now() > deadline {
            return bars;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
