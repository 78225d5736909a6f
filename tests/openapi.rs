//! The OpenAPI document against the real binary: every route of the router's own table
//! is in it with its method (and nothing else is), the real server answers every one of
//! them, real answers validate against its schemas (`$ref`s resolved into components by
//! a JSON Schema validator), and the docs page is served with no external assets.

// Test code: waits against a real process.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// axum's `{*symbol}` is OpenAPI's `{symbol}`.
fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

async fn document(server: &Server) -> Value {
    // Public: no key.
    let resp = client().get(server.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_of_the_router_is_documented_with_its_method_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let doc = document(&server).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);

    let table = tradpal_runtime::http::route_table();
    assert!(table.len() >= 45, "the route table has {} routes", table.len());
    let routes: BTreeSet<(String, String)> = table.iter().map(|(m, p)| (m.to_lowercase(), openapi_path(p))).collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
                let public =
                    ["/health", "/ready", "/api/openapi.json", "/api/docs", "/", "/ui/assets/{name}", "/ui/login", "/ui/logout", "/ui/me"]
                        .contains(&path.as_str());
                assert_eq!(op.get("security").is_none(), public, "{method} {path}: a key unless public");
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.values().all(|r| r["description"].as_str().is_some_and(|d| !d.is_empty())),
                    "{method} {path}: described answers"
                );
                // A success answer: 2xx, or the login form's 303 to the page.
                assert!(responses.keys().any(|s| s.starts_with('2') || s == "303"), "{method} {path} has a success answer");
                for status in ["400", "429", "500"] {
                    let schema = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
                }
            }
        }
    }
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(missing.is_empty(), "routes missing from the document: {missing:?}");
    let phantom: Vec<_> = documented.difference(&routes).collect();
    assert!(phantom.is_empty(), "documented but not routed: {phantom:?}");

    // The table is the router's: each route answers something other than the router's
    // own 404 or 405 (a viewer key; no body, so nothing is journaled).
    let c = client();
    for (method, path) in &table {
        let concrete = path.replace("{*symbol}", "BTC/USDT").replace("{id}", "x").replace("{agent_id}", "x").replace("{name}", "app.js");
        let req = c.request(method.parse().unwrap(), server.url(&concrete)).bearer_auth(VIEWER_KEY);
        if *path == "/api/events/stream" {
            // An event stream never ends: its head is the answer.
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200, "{method} {path}");
            assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
            continue;
        }
        let (status, body) = send(req).await;
        let router_said = status == 405 || body["error"]["message"].as_str().is_some_and(|m| m.starts_with("no route for"));
        assert!(!router_said, "{method} {path}: {status} {body}");
    }

    // The docs page: served by the binary, renders the document, loads nothing else.
    let resp = c.get(server.url("/api/docs")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = resp.text().await.unwrap();
    assert!(page.contains("fetch(\"/api/openapi.json\")"));
    assert!(
        !page.contains("<script src") && !page.contains("<link") && !page.contains("http://") && !page.contains("https://"),
        "no external assets"
    );
}

/// A validator for `schema`, with the document's components reachable by `$ref`.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({ "components": doc["components"], "allOf": [schema] });
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("invalid schema {schema}: {e}"))
}

fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let s = &doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(!s.is_null(), "no schema for {method} {path} {status}");
    s
}

fn assert_valid(doc: &Value, method: &str, path: &str, status: u16, body: &Value) {
    let v = validator(doc, response_schema(doc, method, path, status));
    let errors: Vec<String> = v.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{method} {path} {status} does not match the document: {errors:?}\n{body:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_validate_against_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let doc = document(&server).await;
    let c = client();

    let (s, health) = send(c.get(server.url("/health"))).await;
    assert_valid(&doc, "get", "/health", s, &health);

    // A session: the request body validates against the request schema, the answer
    // against the answer's.
    let start = json!({"symbol": "BTC/USDT", "capital": 2000, "strategy": "sma_cross", "risk_per_trade": 0.02});
    let request_schema = &doc["paths"]["/api/trading/start-session"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(validator(&doc, request_schema).is_valid(&start));
    assert!(!validator(&doc, request_schema).is_valid(&json!({"capital": 2000})), "symbol is required");
    let (s, started) = send(c.post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&start)).await;
    assert_eq!(s, 201, "{started}");
    assert_valid(&doc, "post", "/api/trading/start-session", s, &started);

    // An order: 201 with the order; then the list, one order, the portfolio.
    let t = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 / 3_600_000 + 2) * 3_600_000;
    let bar = json!({"timestamp": t, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 100.0});
    let (s, r) = send(
        c.post(server.url("/api/data/candles"))
            .bearer_auth(TRADER_KEY)
            .json(&json!({"symbol": "BTC/USDT", "timeframe": "1h", "candles": [bar]})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let order = json!({"client_order_id": "o1", "symbol": "BTC/USDT", "side": "buy", "type": "limit", "quantity": "0.1", "price": 90, "stop_loss": "80"});
    let order_schema = &doc["paths"]["/api/execution/submit-order"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(validator(&doc, order_schema).is_valid(&order));
    let (s, submitted) = send(c.post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&order)).await;
    assert_eq!(s, 201, "{submitted}");
    assert_valid(&doc, "post", "/api/execution/submit-order", s, &submitted);
    let mut broken = submitted.clone();
    broken["order"].as_object_mut().unwrap().remove("status");
    assert!(!validator(&doc, response_schema(&doc, "post", "/api/execution/submit-order", 201)).is_valid(&broken), "the schema has teeth");
    let id = submitted["order"]["order_id"].as_str().unwrap();
    let (s, one) = send(c.get(server.url(&format!("/api/execution/orders/{id}"))).bearer_auth(VIEWER_KEY)).await;
    assert_valid(&doc, "get", "/api/execution/orders/{id}", s, &one);
    let (s, page) = send(c.get(server.url("/api/execution/orders")).bearer_auth(VIEWER_KEY)).await;
    assert_valid(&doc, "get", "/api/execution/orders", s, &page);
    let (s, portfolio) = send(c.get(server.url("/api/execution/portfolio")).bearer_auth(VIEWER_KEY)).await;
    assert_valid(&doc, "get", "/api/execution/portfolio", s, &portfolio);

    // Errors: a bad body (400), no key (401), an unknown order (404).
    let (s, bad) = send(c.post(server.url("/api/execution/submit-order")).bearer_auth(TRADER_KEY).json(&json!({"symbol": 1}))).await;
    assert_eq!(s, 400);
    assert_valid(&doc, "post", "/api/execution/submit-order", s, &bad);
    let (s, unauthorized) = send(c.get(server.url("/api/execution/portfolio"))).await;
    assert_eq!(s, 401);
    assert_valid(&doc, "get", "/api/execution/portfolio", s, &unauthorized);
    let (s, missing) = send(c.get(server.url("/api/execution/orders/00000000-0000-4000-8000-000000000000")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 404, "{missing}");
    assert_valid(&doc, "get", "/api/execution/orders/{id}", s, &missing);
}
