//! The acceptance scenario: three sessions, SIGKILL, restart on the same data
//! directory: the sessions are back and the journal verifies.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_sigkill_and_journal_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let mut ids = Vec::new();
    {
        let server = Server::start(dir.path(), &[]);
        for symbol in ["BTC/USDT", "ETH/USDT", "ADA/USDT"] {
            let body = json!({"symbol": symbol, "capital": 3000, "strategy": "sma_cross", "risk_per_trade": 0.02});
            let (s, r) = send(c.post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&body)).await;
            assert_eq!(s, 201, "{r}");
            ids.push(r["session_id"].as_str().unwrap().to_string());
        }
        server.kill_hard();
    }
    let (code, out, err) = run_cli(&["journal", "verify", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "verify failed after SIGKILL:\n{out}\n{err}");

    let server = Server::start(dir.path(), &[]);
    let (s, status) = send(c.get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200);
    assert_eq!(status["orchestrator"]["active_sessions"], 3, "{status}");
    let mut back: Vec<String> =
        status["orchestrator"]["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap().to_string()).collect();
    back.sort();
    ids.sort();
    assert_eq!(back, ids);
    server.stop();
    let (code, out, _) = run_cli(&["journal", "verify", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn verify_names_the_first_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    // A journal with a few records, written by the real service.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = Server::start(dir.path(), &[]);
        let c = client();
        for _ in 0..3 {
            let body = json!({"symbol": "BTC/USDT", "capital": 100});
            let (s, _) = send(c.post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&body)).await;
            assert_eq!(s, 201);
        }
        server.stop();
    });
    let seg_dir = dir.path().join("journal");
    let seg = std::fs::read_dir(&seg_dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "seg")).unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&seg, &bytes).unwrap();
    let (code, out, err) = run_cli(&["journal", "verify", "--data-dir", dir.path().to_str().unwrap()], &[]);
    assert_ne!(code, 0, "a flipped bit must fail verification:\n{out}");
    let text = format!("{out}{err}");
    assert!(text.contains("sequence") && text.contains("offset"), "report must locate the record:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_holds_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let body = json!({"symbol": "ETH/USDT", "capital": 500});
    let start = |server: &Server, body: &serde_json::Value, key: &str| {
        c.post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).header("Idempotency-Key", key).json(body)
    };
    let server = Server::start(dir.path(), &[]);
    let (s, first) = send(start(&server, &body, "order-of-business-1")).await;
    assert_eq!(s, 201, "{first}");
    let (s, again) = send(start(&server, &body, "order-of-business-1")).await;
    assert_eq!((s, &again["session_id"], &again["replayed"]), (200, &first["session_id"], &json!(true)));
    let (s, other) = send(start(&server, &json!({"symbol": "ETH/USDT", "capital": 501}), "order-of-business-1")).await;
    assert_eq!((s, other["error"]["code"].as_str()), (409, Some("conflict")), "{other}");
    let (s, bad) = send(start(&server, &body, "")).await;
    assert_eq!(s, 400, "{bad}");
    server.kill_hard();

    let server = Server::start(dir.path(), &[]);
    let (s, after) = send(start(&server, &body, "order-of-business-1")).await;
    assert_eq!((s, &after["session_id"]), (200, &first["session_id"]), "the journal remembers the key");
    let (_, status) = send(c.get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(status["orchestrator"]["active_sessions"], 1);
}
