//! The HTTP adapter over real HTTP against the real binary: auth, errors, limits,
//! request ids, and the session endpoints.

mod common;

use common::*;
use serde_json::{json, Value};

fn start_body() -> Value {
    json!({"symbol": "BTC/USDT", "capital": 2000, "strategy": "sma_cross", "risk_per_trade": 0.02})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let c = client();

    let (s, body) = send(c.get(server.url("/health"))).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("ok")));

    let (s, body) = send(c.get(server.url("/api/trading/status"))).await;
    assert_eq!(s, 401);
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    let (s, _) = send(c.get(server.url("/api/trading/status")).bearer_auth("not-a-key-at-all-xxxx")).await;
    assert_eq!(s, 401);

    let (s, body) = send(c.get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["orchestrator"]["active_sessions"], 0);
    let actors: Vec<&str> = body["actors"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    for name in ["market_data", "regime", "risk", "execution", "backtest", "ml", "rl", "ai_ensemble", "session", "live_bot"] {
        assert!(actors.contains(&name), "{name} missing from {actors:?}");
    }
    assert!(body["actors"].as_array().unwrap().iter().all(|a| a["state"] == "running"), "{body}");

    // Viewer may read but not trade; trader may trade; X-API-Key works too.
    let (s, body) = send(c.post(server.url("/api/trading/start-session")).bearer_auth(VIEWER_KEY).json(&start_body())).await;
    assert_eq!((s, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let (s, body) = send(c.post(server.url("/api/trading/start-session")).header("X-API-Key", TRADER_KEY).json(&start_body())).await;
    assert_eq!(s, 201, "{body}");
    assert!(body["session_id"].as_str().unwrap().len() == 36);
    let (s, _) = send(c.post(server.url("/api/trading/start-session")).bearer_auth(ADMIN_KEY).json(&start_body())).await;
    assert_eq!(s, 201);
    let (_, body) = send(c.get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(body["orchestrator"]["active_sessions"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_json_errors_and_journals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("TRADPAL_BODY_BYTES_MAX", "4096")]);
    let c = client();
    let post = |path: &str| c.post(server.url(path)).bearer_auth(TRADER_KEY);
    // Under load the service can serve before its actors have journaled their start-up
    // records (after READY_WAIT_MS): those would land after `before` and look like a
    // refused request that reached the journal.
    wait_settled(&server).await;
    let before = journal_sequence(&server).await;

    let cases: Vec<(reqwest::RequestBuilder, u16, &str, &str)> = vec![
        (post("/api/trading/start-session").body("{\"symbol\": "), 400, "bad_request", "line 1"),
        (post("/api/trading/start-session").body(""), 400, "bad_request", "empty"),
        (post("/api/trading/start-session").body("[1,2]"), 400, "bad_request", "invalid JSON"),
        (post("/api/trading/start-session").json(&json!({"symbol": "BTC/USDT"})), 400, "bad_request", "capital"),
        (post("/api/trading/start-session").json(&json!({"symbol": "BTC/USDT", "capital": 1, "colour": 1})), 400, "bad_request", "colour"),
        (post("/api/trading/start-session").json(&json!({"symbol": "BTC/USDT", "capital": "lots"})), 400, "bad_request", "capital"),
        (post("/api/trading/start-session").json(&json!({"symbol": "btc", "capital": 1})), 400, "bad_request", "symbol"),
        (post("/api/trading/start-session").json(&json!({"symbol": "BTC/USDT", "capital": -5})), 400, "bad_request", "capital"),
        (post("/api/trading/start-session").body("{\"symbol\":\"BTC/USDT\",\"capital\":1e999}"), 400, "bad_request", "number"),
        (
            post("/api/trading/start-session").json(&json!({"symbol": "BTC/USDT", "capital": 5, "strategy": "moon"})),
            400,
            "bad_request",
            "strategy",
        ),
        (
            post("/api/trading/start-session").json(&json!({"symbol": "BTC/USDT", "capital": 5, "mode": "live"})),
            501,
            "not_implemented",
            "live",
        ),
        (
            post("/api/trading/start-session").body(format!("{{\"symbol\":\"{}\"}}", "X".repeat(5000))),
            413,
            "payload_too_large",
            "limit of 4096 bytes",
        ),
        (post("/api/trading/stop-session").json(&json!({"session_id": "nope"})), 400, "bad_request", "session"),
        (
            post("/api/trading/stop-session").json(&json!({"session_id": "00000000-0000-4000-8000-000000000000"})),
            404,
            "not_found",
            "no session",
        ),
        (c.get(server.url("/api/nothing/here")), 404, "not_found", "/api/nothing/here"),
        (c.delete(server.url("/api/trading/status")).bearer_auth(ADMIN_KEY), 405, "method_not_allowed", "DELETE"),
        (c.get(server.url("/api/rl/agents/rl-999")).bearer_auth(VIEWER_KEY), 404, "not_found", "agent_id"),
    ];
    for (req, status, code, needle) in cases {
        let (s, body) = send(req).await;
        assert_eq!(s, status, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
    assert_eq!(journal_sequence(&server).await, before, "a refused request reached the journal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_session_and_request_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("LOG_FORMAT", "json"), ("LOG_LEVEL", "DEBUG")]);
    let c = client();
    let resp = c
        .post(server.url("/api/trading/start-session"))
        .bearer_auth(TRADER_KEY)
        .header("X-Request-Id", "req-start-42")
        .json(&start_body())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "req-start-42");
    let body: Value = resp.json().await.unwrap();
    let id = body["session_id"].as_str().unwrap().to_string();

    let resp = c.get(server.url("/health")).send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"].len(), 32, "generated when absent");

    let stop = || c.post(server.url("/api/trading/stop-session")).bearer_auth(TRADER_KEY).json(&json!({"session_id": id}));
    let (s, body) = send(stop()).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("stopped")), "{body}");
    let (s, body) = send(stop()).await;
    assert_eq!((s, body["error"]["code"].as_str()), (409, Some("conflict")));

    // The request id is in the log lines of that request ...
    let logs = server.logs();
    assert!(logs.lines().any(|l| l.contains("req-start-42") && l.starts_with('{')), "no JSON log line names the request id:\n{logs}");
    // including the lines the session actor logs while handling it (span propagation).
    assert!(
        logs.lines().any(|l| l.contains("session started") && l.contains("req-start-42")),
        "the actor's log line does not carry the request id:\n{logs}"
    );
    // ... and in the journal record it caused.
    server.stop();
    let (code, out, err) = run_cli(&["journal", "dump", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let started = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["kind"] == "session_opened")
        .expect("session_opened record");
    assert_eq!(started["request_id"], "req-start-42");
    assert_eq!(started["event"]["session_id"], id);
}
