//! Operating the service, against the real binary over real HTTP: `/metrics` parsed by a
//! real Prometheus text parser, the access log parsed as JSON lines, rate limits.

// Test code: deadlines and waits against a real process.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use openmetrics_parser::{MetricNumber, PrometheusValue};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Scrapes `/metrics` with the viewer key and parses it.
async fn scrape(server: &Server) -> Vec<Sample> {
    let resp = client().get(server.url("/metrics")).bearer_auth(VIEWER_KEY).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    parse(&resp.text().await.unwrap())
}

/// One sample of the scrape, flattened from the parser's families.
struct Sample {
    metric: String,
    labels: BTreeMap<String, String>,
    value: PromValue,
}

enum PromValue {
    Scalar(f64),
    /// (upper bound, cumulative count) per bucket, as parsed.
    Histogram(Vec<(f64, f64)>),
}

fn parse(text: &str) -> Vec<Sample> {
    let exposition =
        openmetrics_parser::prometheus::parse_prometheus(text).unwrap_or_else(|e| panic!("invalid Prometheus text ({e:?}):\n{text}"));
    let mut out = Vec::new();
    for (name, family) in &exposition.families {
        for s in family.iter_samples() {
            let set = s.get_labelset().unwrap();
            let labels = set.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let value = match &s.value {
                PrometheusValue::Counter(c) => PromValue::Scalar(c.value.as_f64()),
                PrometheusValue::Gauge(v) | PrometheusValue::Unknown(v) => PromValue::Scalar(v.as_f64()),
                PrometheusValue::Histogram(h) => {
                    PromValue::Histogram(h.buckets.iter().map(|b| (b.upper_bound, MetricNumber::as_f64(&b.count))).collect())
                }
                PrometheusValue::Summary(_) => continue,
            };
            out.push(Sample { metric: name.clone(), labels, value });
        }
    }
    out
}

/// The value of the counter or gauge `name` whose labels include `labels` (0 if absent).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| match s.value {
            PromValue::Scalar(v) => v,
            PromValue::Histogram(_) => panic!("{name} is not a counter or gauge"),
        })
        .sum()
}

/// Every histogram's buckets are cumulative (never decreasing with the bound) and end at
/// +Inf; returns how many histograms were checked.
fn assert_histograms_cumulative(samples: &[Sample]) -> usize {
    let mut checked = 0;
    for s in samples {
        if let PromValue::Histogram(buckets) = &s.value {
            assert!(!buckets.is_empty(), "{}", s.metric);
            for pair in buckets.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{}: bounds out of order", s.metric);
                assert!(pair[0].1 <= pair[1].1, "{} {:?}: not cumulative: {buckets:?}", s.metric, s.labels);
            }
            assert!(buckets.last().unwrap().0.is_infinite(), "{}: no +Inf bucket", s.metric);
            checked += 1;
        }
    }
    checked
}

/// Longest wait for a metric to show what happened (events are counted asynchronously,
/// gauges sampled).
const METRICS_WAIT_MS: u64 = 10_000;
/// Longest wait for an access line: it is written after the response.
const ACCESS_LINE_WAIT_MS: u64 = 5_000;

/// Polls the scrape until `f` holds.
async fn wait_metrics(server: &Server, what: &str, f: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    wait_until(what, METRICS_WAIT_MS, || async {
        let samples = scrape(server).await;
        if f(&samples) {
            Ok(samples)
        } else {
            Err(format!("{} samples", samples.len()))
        }
    })
    .await
}

async fn post_bar(server: &Server) {
    let t = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 / 3_600_000 + 2) * 3_600_000;
    let bar = json!({"timestamp": t, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 100.0});
    let body = json!({"symbol": "BTC/USDT", "timeframe": "1h", "candles": [bar]});
    let (s, r) = send(client().post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await;
    assert_eq!(s, 200, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_template_orders_and_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("METRICS_UPDATE_INTERVAL", "1")]);
    let route = "/api/backtest/results/{id}";
    let before = scrape(&server).await;
    let mut statuses = BTreeSet::new();
    for i in 0..7 {
        let (s, _) = send(client().get(server.url(&format!("/api/backtest/results/no-such-{i}"))).bearer_auth(VIEWER_KEY)).await;
        statuses.insert(s.to_string());
    }
    assert_eq!(statuses.len(), 1, "one status for all seven: {statuses:?}");
    let status = statuses.into_iter().next().unwrap();
    post_bar(&server).await;
    let order = json!({"client_order_id": "m1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.1", "price": "90"});
    let (s, r) = send(client().post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&order)).await;
    assert_eq!(s, 201, "{r}");

    let after = wait_metrics(&server, "the order to be counted and sessions sampled", |m| {
        value(m, "tradpal_orders_submitted_total", &[]) >= 1.0 && m.iter().any(|s| s.metric == "tradpal_sessions_active")
    })
    .await;
    let labels = [("route", route), ("method", "GET"), ("status", status.as_str())];
    let counted = value(&after, "tradpal_http_requests_total", &labels) - value(&before, "tradpal_http_requests_total", &labels);
    assert_eq!(counted, 7.0, "seven requests on {route}");
    assert!(!after.iter().any(|s| s.labels.get("route").is_some_and(|r| r.contains("no-such"))), "raw paths never become labels");
    let submits = [("route", "/api/execution/submit-order"), ("method", "POST"), ("status", "201")];
    assert_eq!(value(&after, "tradpal_http_requests_total", &submits), 1.0);
    assert_eq!(value(&after, "tradpal_orders_submitted_total", &[]), 1.0);
    assert_eq!(value(&after, "tradpal_sessions_active", &[]), 0.0);
    // The journal holds the service start, the configuration, the bar and the order.
    assert!(value(&after, "tradpal_journal_appends_total", &[]) >= 4.0);
    assert!(value(&after, "tradpal_journal_appended_bytes_total", &[]) > 0.0);
    assert!(value(&after, "tradpal_journal_group_commits_total", &[]) >= 1.0);
    let names: BTreeSet<&str> = after.iter().map(|s| s.metric.as_str()).collect();
    for h in ["tradpal_http_request_duration_seconds", "tradpal_journal_fsync_seconds", "tradpal_journal_group_commit_records"] {
        assert!(names.contains(h), "{h} missing: {names:?}");
    }
    assert!(assert_histograms_cumulative(&after) >= 3);
    // The calls waiting on each actor: the execution actor was called (the order) and
    // answered, so it is listed with nothing waiting now.
    let in_flight: Vec<&Sample> = after.iter().filter(|s| s.metric == "tradpal_actor_calls_in_flight").collect();
    assert!(in_flight.iter().any(|s| s.labels.get("actor").map(String::as_str) == Some("execution")), "execution listed");
    assert_eq!(value(&after, "tradpal_actor_calls_in_flight", &[("actor", "execution")]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_a_key_unless_public_and_answer_503_when_monitoring_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (s, r) = send(client().get(server.url("/metrics"))).await;
    assert_eq!((s, r["error"]["code"].as_str()), (401, Some("unauthorized")), "{r}");
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let public = Server::start(dir.path(), &[("TRADPAL_METRICS_PUBLIC", "true")]);
    let resp = client().get(public.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let samples = parse(&resp.text().await.unwrap());
    assert!(samples.iter().any(|s| s.metric == "tradpal_journal_appends_total"));
    drop(public);

    let dir = tempfile::tempdir().unwrap();
    let off = Server::start(dir.path(), &[("ENABLE_PERFORMANCE_MONITORING", "false")]);
    let (s, r) = send(client().get(off.url("/metrics")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 503, "{r}");
    assert_eq!(r["error"]["code"], "unavailable");
    assert!(r["error"]["message"].as_str().unwrap().contains("ENABLE_PERFORMANCE_MONITORING"), "{r}");
    let (s, _) = send(client().get(off.url("/metrics"))).await;
    assert_eq!(s, 401, "the key is still required");
    // The rest of the service works without metrics.
    let (s, _) = send(client().get(off.url("/api/execution/orders")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200);
}

/// The number of 200s and 429s of `n` back-to-back GETs with `key`, and the largest
/// `Retry-After` seen (seconds).
async fn hammer(server: &Server, key: &str, n: usize) -> (usize, usize, u64) {
    let (mut ok, mut limited, mut retry_after) = (0, 0, 0);
    let c = client();
    for _ in 0..n {
        let resp = c.get(server.url("/api/execution/orders")).bearer_auth(key).send().await.unwrap();
        match resp.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                let secs: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                retry_after = retry_after.max(secs);
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
                assert!(body["error"]["message"].as_str().unwrap().contains("TRADPAL_RATE_LIMIT"), "{body}");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    (ok, limited, retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_one_key_back_not_another_and_let_it_through_after_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    // 5 requests per second, burst 10; orders 1 per second, burst 2; auth failures the same.
    let server = Server::start(dir.path(), &[("TRADPAL_RATE_LIMIT", "5")]);
    let started = Instant::now();
    let (ok, limited, retry_after) = hammer(&server, VIEWER_KEY, 200).await;
    let refill = (started.elapsed().as_secs_f64() * 5.0).ceil() as usize;
    assert_eq!(ok + limited, 200);
    assert!(ok >= 10 && ok <= 10 + refill, "burst 10 plus {refill} refilled, got {ok} through");
    assert!(limited >= 150, "{limited} refused");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");

    // Another key has its own bucket.
    let (ok, limited, _) = hammer(&server, TRADER_KEY, 5).await;
    assert_eq!((ok, limited), (5, 0));
    // Order routes: a separate, stricter bucket (burst 2).
    let mut order_statuses = Vec::new();
    for i in 0..4 {
        let body = json!({"client_order_id": format!("r{i}"), "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.01", "price": "90"});
        let (s, _) = send(client().post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&body)).await;
        order_statuses.push(s);
    }
    assert_eq!(order_statuses.iter().filter(|&&s| s == 429).count(), 2, "{order_statuses:?}");
    assert!(order_statuses[..2].iter().all(|&s| s != 429), "{order_statuses:?}");

    // Failed authentications from this address: two, then 429 even for a new wrong key.
    let mut auth = Vec::new();
    for i in 0..4 {
        let (s, _) = send(client().get(server.url("/api/execution/orders")).bearer_auth(format!("wrong-key-{i:016}"))).await;
        auth.push(s);
    }
    assert_eq!(auth, [401, 401, 429, 429]);

    // After Retry-After the first key works again. Not a wait for an event: the time the
    // answer named is the contract under test.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let (ok, _, _) = hammer(&server, VIEWER_KEY, 1).await;
    assert_eq!(ok, 1);

    let m = scrape(&server).await;
    assert!(value(&m, "tradpal_http_rate_limited_total", &[("class", "key")]) >= limited as f64);
    assert_eq!(value(&m, "tradpal_http_rate_limited_total", &[("class", "orders")]), 2.0);
    assert_eq!(value(&m, "tradpal_http_rate_limited_total", &[("class", "auth_failure")]), 2.0);
    assert_eq!(value(&m, "tradpal_http_auth_failures_total", &[]), 2.0);
}

/// A JSON value that refuses objects with a repeated key (serde_json keeps the last).
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_has_one_json_line_per_request_with_a_key_id_and_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LOG_FORMAT", "json")]);
    let wrong_key = "not-a-key-but-a-secret-guess-42";
    let c = client();
    let r = c.get(server.url("/api/execution/orders/abc-123")).bearer_auth(VIEWER_KEY).header("x-request-id", "req-one").send().await;
    let viewer_status = r.unwrap().status().as_u16();
    let r = c.get(server.url("/api/execution/orders")).header("x-api-key", TRADER_KEY).header("x-request-id", "req-two").send().await;
    assert_eq!(r.unwrap().status(), 200);
    let r = c.get(server.url("/api/execution/orders")).bearer_auth(wrong_key).header("x-request-id", "req-three").send().await;
    assert_eq!(r.unwrap().status(), 401);
    let r = c.get(server.url("/no/such/route")).header("x-request-id", "req-four").send().await;
    assert_eq!(r.unwrap().status(), 404);

    let access = wait_until("the four access lines", ACCESS_LINE_WAIT_MS, || async {
        let logs = server.logs();
        let lines: Vec<Value> = logs
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .filter(|v| v["target"] == "access")
            .collect();
        if lines.len() >= 4 {
            Ok(lines)
        } else {
            Err(logs)
        }
    })
    .await;
    let logs = server.logs();
    for line in logs.lines() {
        serde_json::from_str::<UniqueKeys>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(logs.contains("\"name_field\""), "the actor span's name field is renamed, not dropped");
    for secret in [VIEWER_KEY, TRADER_KEY, wrong_key] {
        assert!(!logs.contains(secret), "a key appears in the logs");
    }
    let by_id = |id: &str| -> &Value {
        let found: Vec<_> = access.iter().filter(|v| v["fields"]["request_id"] == id).collect();
        assert_eq!(found.len(), 1, "one access line for {id}: {access:?}");
        &found[0]["fields"]
    };
    let one = by_id("req-one");
    assert_eq!((one["method"].as_str(), one["route"].as_str()), (Some("GET"), Some("/api/execution/orders/{id}")));
    assert_eq!(one["status"].as_u64(), Some(u64::from(viewer_status)));
    assert!(one["latency_us"].as_u64().is_some(), "{one}");
    assert_eq!(one["message"], "request");
    let (viewer_id, trader_id) = (one["key_id"].as_str().unwrap(), by_id("req-two")["key_id"].as_str().unwrap());
    assert!(viewer_id.starts_with("key-") && trader_id.starts_with("key-") && viewer_id != trader_id, "{viewer_id} {trader_id}");
    assert_eq!((by_id("req-three")["key_id"].as_str(), by_id("req-three")["status"].as_u64()), (Some("invalid"), Some(401)));
    assert_eq!((by_id("req-four")["key_id"].as_str(), by_id("req-four")["route"].as_str()), (Some("-"), Some("unmatched")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_in_text_format_names_the_route_status_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LOG_FORMAT", "text")]);
    let r = client().get(server.url("/api/execution/orders/xyz")).bearer_auth(VIEWER_KEY).header("x-request-id", "text-req").send().await;
    let status = r.unwrap().status().as_u16();
    let line = wait_until("the access line of text-req", ACCESS_LINE_WAIT_MS, || async {
        let logs = server.logs();
        let line = logs.lines().find(|l| l.contains(" access: ") && l.contains("request_id=text-req")).map(str::to_string);
        line.ok_or(logs)
    })
    .await;
    for part in ["method=GET", "route=/api/execution/orders/{id}", &format!("status={status}"), "latency_us=", "key_id=key-"] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
    assert!(!line.contains(VIEWER_KEY));
}
