//! OpenTelemetry traces from the real binary to a real OTLP receiver in this test, over
//! OTLP/HTTP (axum on /v1/traces) and gRPC (tonic), decoding the protobuf with the
//! `opentelemetry-proto` types: the service name, the HTTP server span with its route and
//! status, the actor-message and journal-append spans in the same trace, the trace id in
//! the log lines and in `traceparent`, the flush at shutdown, and nothing when off.

// Test code: deadlines and waits against a real process.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// One received span with its resource's `service.name`.
#[derive(Debug, Clone)]
struct Got {
    service: String,
    span: opentelemetry_proto::tonic::trace::v1::Span,
}

type Collected = Arc<Mutex<Vec<Got>>>;

fn collect(into: &Collected, req: ExportTraceServiceRequest) {
    let mut got = into.lock().unwrap();
    for rs in req.resource_spans {
        let attrs = rs.resource.map(|r| r.attributes).unwrap_or_default();
        let service = text(&attrs, "service.name").unwrap_or_default();
        for ss in rs.scope_spans {
            got.extend(ss.spans.into_iter().map(|span| Got { service: service.clone(), span }));
        }
    }
}

fn text(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        _ => None,
    })
}

/// An OTLP/HTTP receiver: POST /v1/traces with a protobuf body. Returns its base URL.
async fn http_receiver(into: Collected) -> String {
    async fn traces(
        axum::extract::State(into): axum::extract::State<Collected>,
        body: axum::body::Bytes,
    ) -> impl axum::response::IntoResponse {
        let req = ExportTraceServiceRequest::decode(body).expect("a protobuf ExportTraceServiceRequest");
        collect(&into, req);
        ([("content-type", "application/x-protobuf")], ExportTraceServiceResponse::default().encode_to_vec())
    }
    let app = axum::Router::new().route("/v1/traces", axum::routing::post(traces)).with_state(into);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

struct Collector(Collected);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        collect(&self.0, req.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP/gRPC receiver. Returns its URL.
async fn grpc_receiver(into: Collected) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder().add_service(TraceServiceServer::new(Collector(into)));
    tokio::spawn(async move { server.serve_with_incoming(incoming).await.unwrap() });
    format!("http://{addr}")
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Longest wait for spans to arrive at the receiver (or a log line to be written).
const TRACE_WAIT_MS: u64 = 20_000;

async fn wait_for(into: &Collected, what: &str, f: impl Fn(&[Got]) -> bool) {
    wait_until(what, TRACE_WAIT_MS, || async {
        let done = f(&into.lock().unwrap());
        holds(done, || format!("{:#?}", names(into)))
    })
    .await;
}

fn names(into: &Collected) -> Vec<String> {
    into.lock().unwrap().iter().map(|g| g.span.name.clone()).collect()
}

/// Drives a trader's order through the server: a bar, then an order sent with a W3C
/// `traceparent` and a request id. Returns the answer's `traceparent`.
async fn traced_order(server: &Server, request_id: &str) -> String {
    let t = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 / 3_600_000 + 2) * 3_600_000;
    let bar = json!({"timestamp": t, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 100.0});
    let body = json!({"symbol": "BTC/USDT", "timeframe": "1h", "candles": [bar]});
    let (s, r) = send(client().post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body)).await;
    assert_eq!(s, 200, "{r}");
    let order = json!({"client_order_id": "t1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.1", "price": "90"});
    let resp = client()
        .post(server.url("/api/execution/submit-order"))
        .bearer_auth(TRADER_KEY)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .header("x-request-id", request_id)
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.headers().get("traceparent").expect("traceparent on the answer").to_str().unwrap().to_string()
}

/// The spans of the order's trace: the HTTP server span (a child of the caller's span),
/// the execution actor's message span under it, and a journal append under that.
fn assert_order_trace(into: &Collected, service: &str, request_id: &str) {
    let got = into.lock().unwrap().clone();
    let hex = hex_of;
    let in_trace: Vec<&Got> = got.iter().filter(|g| hex(&g.span.trace_id) == TRACE_ID).collect();
    assert!(in_trace.iter().all(|g| g.service == service), "service.name is {service}: {in_trace:#?}");
    let http = in_trace.iter().find(|g| g.span.name == "POST /api/execution/submit-order").expect("the HTTP span");
    assert_eq!(http.span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&http.span.parent_span_id), CALLER_SPAN, "joins the caller's trace");
    assert_eq!(text(&http.span.attributes, "http.route").as_deref(), Some("/api/execution/submit-order"));
    assert_eq!(text(&http.span.attributes, "http.response.status_code").as_deref(), Some("201"));
    assert_eq!(text(&http.span.attributes, "request_id").as_deref(), Some(request_id));
    let actor = in_trace.iter().find(|g| g.span.name == "execution submit").expect("the actor message span");
    assert_eq!(text(&actor.span.attributes, "request_id").as_deref(), Some(request_id), "the request id crosses into the actor");
    assert!(text(&actor.span.attributes, "correlation_id").is_some_and(|c| c.len() == 36), "{:?}", actor.span.attributes);
    let ancestors = |g: &Got| {
        let mut chain = Vec::new();
        let mut parent = g.span.parent_span_id.clone();
        while let Some(p) = in_trace.iter().find(|x| x.span.span_id == parent) {
            chain.push(p.span.name.clone());
            parent = p.span.parent_span_id.clone();
        }
        chain
    };
    assert!(ancestors(actor).contains(&http.span.name), "the actor span is under the HTTP span: {:?}", ancestors(actor));
    let append = in_trace.iter().find(|g| g.span.name == "journal.append" && ancestors(g).contains(&actor.span.name));
    let append = append.unwrap_or_else(|| panic!("a journal.append under the actor span: {in_trace:#?}"));
    assert!(text(&append.span.attributes, "records").is_some_and(|n| n.parse::<u64>().unwrap() >= 1));
    assert!(text(&append.span.attributes, "sequence").is_some_and(|n| n.parse::<u64>().unwrap() >= 1));
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_exports_the_request_actor_and_journal_spans_of_one_trace_and_logs_its_id() {
    let into: Collected = Arc::default();
    let endpoint = http_receiver(into.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_SERVICE_NAME", "tradpal-http-test"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("LOG_FORMAT", "json"),
    ];
    let server = Server::start(dir.path(), &env);
    let header = traced_order(&server, "req-http-1").await;
    assert!(header.starts_with(&format!("00-{TRACE_ID}-")), "{header}");
    // The server span ends after the answer, so it may come in a later export batch than
    // its children: wait for both ends of the trace before reading it.
    wait_for(&into, "the order's journal append and HTTP span", |g| {
        let in_trace = |name: &str| g.iter().any(|g| g.span.name == name && hex_of(&g.span.trace_id) == TRACE_ID);
        in_trace("journal.append") && in_trace("POST /api/execution/submit-order")
    })
    .await;
    assert_order_trace(&into, "tradpal-http-test", "req-http-1");

    // A request without traceparent starts a trace; the answer names it, and so do the
    // spans and the request's JSON log lines.
    let resp = client().get(server.url("/health")).header("x-request-id", "req-http-2").send().await.unwrap();
    let own = resp.headers()["traceparent"].to_str().unwrap().split('-').nth(1).unwrap().to_string();
    assert_ne!(own, TRACE_ID);
    wait_for(&into, "GET /health", |g| g.iter().any(|g| g.span.name == "GET /health" && hex_of(&g.span.trace_id) == own)).await;
    let logs = server.logs();
    for (rid, trace) in [("req-http-1", TRACE_ID), ("req-http-2", own.as_str())] {
        let line = logs
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["target"] == "access" && v["fields"]["request_id"] == rid)
            .unwrap_or_else(|| panic!("an access line for {rid}:\n{logs}"));
        assert_eq!(line["span"]["trace_id"], trace, "{line}");
    }
    assert!(server.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exports_the_same_trace_and_shutdown_flushes_it() {
    let into: Collected = Arc::default();
    let endpoint = grpc_receiver(into.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_SERVICE_NAME", "tradpal-grpc-test"),
        // No timed export during the test: only the flush at shutdown can deliver them.
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ("LOG_FORMAT", "text"),
    ];
    let server = Server::start(dir.path(), &env);
    traced_order(&server, "req-grpc-1").await;
    // A later request, logged once it is answered: by then the order's spans have ended,
    // so an exporter that sends spans as they end (no batching) would have sent them.
    let later = client().get(server.url("/health")).header("x-request-id", "req-grpc-later").send().await.unwrap();
    assert_eq!(later.status(), 200);
    wait_until("the later request's access line", TRACE_WAIT_MS, || async {
        let logs = server.logs();
        holds(logs.lines().any(|l| l.contains("request_id=req-grpc-later") && l.contains(" access: ")), || logs.clone())
    })
    .await;
    assert!(into.lock().unwrap().is_empty(), "nothing exported before the flush: {:?}", names(&into));
    let logs_before_stop = server.logs();
    assert!(server.stop().success());
    assert_order_trace(&into, "tradpal-grpc-test", "req-grpc-1");
    let line = logs_before_stop.lines().find(|l| l.contains("request_id=req-grpc-1") && l.contains(" access: "));
    let line = line.unwrap_or_else(|| panic!("a text access line for req-grpc-1:\n{logs_before_stop}"));
    assert!(line.contains(&format!("trace_id={TRACE_ID}")), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_off_without_an_endpoint_and_a_bad_protocol_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LOG_FORMAT", "text")]);
    let resp = client().get(server.url("/health")).header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01")).send().await.unwrap();
    assert!(resp.headers().get("traceparent").is_none(), "no trace when off");
    assert!(!server.logs().contains("trace_id"), "no trace ids in logs when off");
    drop(server);

    let data = dir.path().to_str().unwrap();
    let (code, _, err) = run_cli(
        &["serve", "--port", "0", "--data-dir", data],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("TRADPAL_API_KEYS", &api_keys()),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL=\"http/json\" is not supported"), "{err}");
}
