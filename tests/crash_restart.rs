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

/// Offsets of every record in a segment file (header: magic 4, crc 4, payload_len 4, ...,
/// 64 bytes; see journal/src/lib.rs).
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let (mut at, mut offsets) = (0, Vec::new());
    while at + 64 <= bytes.len() {
        offsets.push(at);
        at += 64 + u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    offsets
}

/// The probe: a journal cut exactly at a record boundary (a valid, shorter log)
/// used to start silently without the cut records. Now verify and serve name the gap,
/// and only `--accept-journal-loss` starts on it, journaling the loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_cut_at_a_record_boundary_is_refused_until_the_loss_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let c = client();
    let server = Server::start(dir.path(), &[]);
    for _ in 0..3 {
        let body = json!({"symbol": "BTC/USDT", "capital": 100});
        let (s, r) = send(c.post(server.url("/api/trading/start-session")).bearer_auth(TRADER_KEY).json(&body)).await;
        assert_eq!(s, 201, "{r}");
    }
    server.stop();
    let seg = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let offsets = record_offsets(&bytes);
    let total = offsets.len() as u64;
    let cut_at = offsets[offsets.len() - 3]; // the last three records go
    std::fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(cut_at as u64).unwrap();
    let gap = format!("{}..={total}", total - 2);

    let (code, out, err) = run_cli(&["journal", "verify", "--data-dir", data], &[]);
    assert_eq!(code, 1, "verify must fail on lost acknowledged records:\n{out}{err}");
    assert!(out.contains("ACKNOWLEDGED RECORDS LOST") && out.contains(&gap), "{out}");
    let (code, out, err) = run_cli(&["journal", "verify", "--json", "--data-dir", data], &[]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!((code, &v["ok"], &v["acknowledged_through"]), (1, &json!(false), &json!(total)), "{v}");
    assert_eq!(v["acknowledged_gap"], json!({"first": total - 2, "last": total}), "{v}");

    let env = [("TRADPAL_API_KEYS", api_keys()), ("TRADING_SERVICE_HOST", "127.0.0.1".to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, out, err) = run_cli(&["serve", "--port", "0", "--data-dir", data], &env);
    assert_ne!(code, 0, "serve must refuse:\n{out}{err}");
    assert!(err.contains(&gap) && err.contains("--accept-journal-loss"), "the refusal names the gap and the way out:\n{err}");

    let server = Server::start_with_args(dir.path(), &[], &["--accept-journal-loss"]);
    server.stop();
    let (code, out, _) = run_cli(&["journal", "verify", "--data-dir", data], &[]);
    assert_eq!(code, 0, "once accepted, the journal is whole again:\n{out}");
    assert!(out.contains("journal_loss_accepted=1"), "{out}");
    let (_, dump, _) = run_cli(&["journal", "dump", "--data-dir", data], &[]);
    let accepted: Vec<serde_json::Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["kind"] == "journal_loss_accepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{dump}");
    let event = serde_json::to_string(&accepted[0]).unwrap();
    assert!(
        event.contains(&format!("\"first_missing\":{}", total - 2)) && event.contains(&format!("\"acknowledged_through\":{total}")),
        "{event}"
    );
}
