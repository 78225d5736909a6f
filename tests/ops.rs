//! Operating the service, part two (issue 19), against the real binary: API tokens
//! (real HS256 JWTs), HTTPS with a certificate made in the test, `/ready`, alerts to a
//! real webhook receiver and a real nats-server over TLS, refused keys never echoed.

// Test code: deadlines and waits against a real process.
#![allow(clippy::disallowed_methods)]

mod common;

use base64::Engine;
use common::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789";
/// Longest wait for an alert to reach the webhook (the first attempt fails and is retried
/// after 250 ms).
const ALERT_WAIT_MS: u64 = 10_000;
/// Longest wait for the service's NATS link to connect (TLS handshake included).
const NATS_CONNECT_WAIT_MS: u64 = 15_000;

async fn token_for(server: &Server, key: &str) -> Value {
    let (s, body) = send(client().post(server.url("/api/auth/token")).bearer_auth(key)).await;
    assert_eq!(s, 200, "{body}");
    body
}

/// A token signed with the test's secret, as another issuer (or an attacker who knows
/// nothing) would make it.
fn forged(claims: &Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), claims, &key).unwrap()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_carry_the_key_role_and_expired_tampered_and_alg_none_answer_401() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("TRADPAL_JWT_SECRET", JWT_SECRET), ("TRADPAL_JWT_TTL", "120")]);
    let viewer = token_for(&server, VIEWER_KEY).await;
    assert_eq!(
        (viewer["role"].as_str(), viewer["token_type"].as_str(), viewer["expires_in"].as_u64()),
        (Some("viewer"), Some("Bearer"), Some(120))
    );
    let token = viewer["token"].as_str().unwrap();
    // The token works where a key does, with the key's role.
    let (s, body) = send(client().get(server.url("/api/execution/portfolio")).bearer_auth(token)).await;
    assert_eq!(s, 200, "{body}");
    let halt = json!({"state": "halted", "reason": "token test"});
    let (s, body) = send(client().post(server.url("/api/execution/trading-state")).bearer_auth(token).json(&halt)).await;
    assert_eq!(s, 403, "{body}");
    let admin = token_for(&server, ADMIN_KEY).await;
    let (s, body) =
        send(client().post(server.url("/api/execution/trading-state")).bearer_auth(admin["token"].as_str().unwrap()).json(&halt)).await;
    assert_eq!(s, 200, "{body}");
    // A token cannot mint a token.
    let (s, body) = send(client().post(server.url("/api/auth/token")).bearer_auth(token)).await;
    assert_eq!(s, 403, "{body}");

    let key_id = tradpal_config::key_id(VIEWER_KEY);
    let now = unix_now();
    let claims = |exp: u64, role: &str| json!({"sub": key_id, "role": role, "iss": "tradpal", "iat": now - 300, "exp": exp});
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let admin_payload = b64.encode(claims(now + 600, "admin").to_string());
    let cases = [
        ("expired", forged(&claims(now - 10, "viewer"), JWT_SECRET), "expired"),
        ("tampered", format!("{}.{admin_payload}.{}", parts[0], parts[2]), "signature does not match"),
        ("another secret", forged(&claims(now + 600, "admin"), "some-other-secret-0123456789abcdef"), "signature does not match"),
        ("alg none", format!("{}.{admin_payload}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#)), "`none` is not accepted"),
        (
            "unknown key",
            forged(&json!({"sub": "key-00000000", "role": "admin", "iss": "tradpal", "iat": now, "exp": now + 60}), JWT_SECRET),
            "revoked",
        ),
    ];
    for (what, bad, says) in cases {
        let (s, body) = send(client().get(server.url("/api/execution/portfolio")).bearer_auth(&bad)).await;
        assert_eq!(s, 401, "{what}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{what}: {message}");
    }
    // A token signed with the right secret for a configured key is accepted: the checks
    // above failed for the reason they name, not for being forged.
    let (s, body) =
        send(client().get(server.url("/api/execution/portfolio")).bearer_auth(forged(&claims(now + 60, "viewer"), JWT_SECRET))).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_jwt_secret_is_mode_0600_and_survives_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let token = token_for(&server, TRADER_KEY).await["token"].as_str().unwrap().to_string();
    let secret = dir.path().join("jwt.secret");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{:o}", mode);
    assert!(!server.logs().contains(std::fs::read_to_string(&secret).unwrap().trim()), "the secret was logged");
    assert_eq!(server.stop().code(), Some(0));
    let server = Server::start(dir.path(), &[]);
    let (s, body) = send(client().get(server.url("/api/trading/status")).bearer_auth(&token)).await;
    assert_eq!(s, 200, "the same secret after a restart: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_names_each_check_and_needs_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (s, body) = send(client().get(server.url("/ready"))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "ready");
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["journal", "actors"], "{body}");
    assert!(body["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{body}");
    let (s, _) = send(client().get(server.url("/health"))).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_generated_certificate_and_clear_errors_for_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let pki = tls::generate(dir.path());
    let (cert, key) = (pki.cert.to_str().unwrap(), pki.key.to_str().unwrap());
    let server = Server::start(&dir.path().join("data"), &[("TRADPAL_TLS_CERT", cert), ("TRADPAL_TLS_KEY", key)]);
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .use_rustls_tls()
        .build()
        .unwrap();
    let (s, body) = send(trusting.get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = send(trusting.post(server.url("/api/auth/token")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{body}");
    // Plain HTTP to the HTTPS port gets no answer; a client that does not trust the CA refuses.
    assert!(client().get(server.url("/health").replace("https://", "http://")).send().await.map_or(true, |r| !r.status().is_success()));
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(untrusting.get(server.url("/health")).send().await.is_err());
    drop(server);

    let data = dir.path().join("data2");
    let data = data.to_str().unwrap();
    let missing = dir.path().join("missing.pem");
    let other = pki.other_key.to_str().unwrap();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("TRADPAL_TLS_CERT", missing.to_str().unwrap()), ("TRADPAL_TLS_KEY", key)], "missing.pem"),
        (&[("TRADPAL_TLS_CERT", cert), ("TRADPAL_TLS_KEY", other)], "other-key.pem"),
        (&[("TRADPAL_TLS_CERT", cert)], "TRADPAL_TLS_KEY is not set"),
    ];
    for (env, names) in cases {
        let mut env = env.to_vec();
        let keys = api_keys();
        env.push(("TRADPAL_API_KEYS", &keys));
        let (code, _, stderr) = run_cli(&["serve", "--port", "0", "--data-dir", data], &env);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(names), "{names}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_a_non_loopback_address_warns_and_refused_keys_are_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("TRADING_SERVICE_HOST", "0.0.0.0")]);
    let logs = server.logs();
    assert!(logs.contains("plain HTTP on a non-loopback address") && logs.contains("TRADPAL_TLS_CERT"), "{logs}");
    let wrong = "abcdWRONGkey0123456789";
    let (s, body) = send(client().get(server.url("/api/trading/status")).bearer_auth(wrong)).await;
    assert_eq!(s, 401);
    assert!(!body.to_string().contains("abcd") && !server.logs().contains("abcd"), "{body}");
    drop(server);
    // A refused configured key: named by its position, never by any of its characters.
    let data = dir.path().join("other");
    let (code, _, stderr) = run_cli(
        &["serve", "--port", "0", "--data-dir", data.to_str().unwrap()],
        &[("TRADPAL_API_KEYS", "abcdEFGH12345678secret:superuser")],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("entry 1") && !stderr.contains("abcd") && !stderr.contains("secret:"), "{stderr}");
}

/// A webhook receiver: answers 500 to the first request, 200 after; keeps every request.
async fn receiver() -> (String, Arc<Mutex<Vec<(u16, String, Value)>>>) {
    let got: Arc<Mutex<Vec<(u16, String, Value)>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                let status = if seen.is_empty() { 500 } else { 200 };
                let id = headers.get("x-tradpal-alert-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                seen.push((status, id, body.0));
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn set_state(server: &Server, state: &str) {
    let body = json!({"state": state, "reason": "alert test"});
    let (s, r) = send(client().post(server.url("/api/execution/trading-state")).bearer_auth(ADMIN_KEY).json(&body)).await;
    assert_eq!(s, 200, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_switch_alert_reaches_the_webhook_once_after_a_retry() {
    let (url, got) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("TRADPAL_ALERT_WEBHOOK", &url)]);
    set_state(&server, "halted").await;
    set_state(&server, "halted").await;
    let delivered = |to: &'static str| {
        let got = got.clone();
        move || {
            let got = got.clone();
            async move {
                let got = got.lock().unwrap();
                holds(got.iter().any(|(s, _, a)| *s == 200 && a["details"]["to"] == to), || format!("{got:?}"))
            }
        }
    };
    wait_until("the kill switch alert delivered", ALERT_WAIT_MS, delivered("halted")).await;
    // A duplicate would show up before a later alert: the webhook POSTs one alert at a
    // time, in order. So the resume alert, once delivered, closes the window.
    set_state(&server, "active").await;
    wait_until("the resume alert delivered", ALERT_WAIT_MS, delivered("active")).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "one refused attempt, one delivery, then the resume alert: {got:?}");
    assert_eq!((got[0].0, got[1].0), (500, 200));
    assert_eq!(got[0].1, got[1].1, "a retry carries the same alert id");
    assert_ne!(got[2].1, got[1].1, "the resume alert is another alert");
    let alert = &got[1].2;
    assert_eq!((alert["kind"].as_str(), alert["severity"].as_str()), (Some("kill_switch"), Some("critical")), "{alert}");
    assert_eq!(alert["id"].as_str(), Some(got[1].1.as_str()));
    assert!(alert["message"].as_str().unwrap().contains("active -> halted"), "{alert}");
    assert_eq!(alert["details"]["to"], "halted");
    let logs = server.logs();
    assert!(logs.contains("alert") && logs.contains("kill_switch") && logs.contains("webhook attempt failed"), "{logs}");
    assert!(!logs.contains(&url), "the webhook URL may carry a token: never logged");

    // The same alerts, once each, in GET /api/alerts (viewer), newest first (listed
    // before they are POSTed); no key: 401.
    let (s, recent) = send(client().get(server.url("/api/alerts")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200, "{recent}");
    let kill: Vec<&Value> = recent["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "kill_switch").collect();
    assert_eq!(kill.len(), 2, "one alert for two identical moves, one for the resume: {recent}");
    assert_eq!(kill[1]["id"], alert["id"], "the alert the webhook got: {recent}");
    assert_eq!(
        (kill[0]["details"]["to"].as_str(), kill[0]["id"].as_str()),
        (Some("active"), Some(got[2].1.as_str())),
        "newest first: {recent}"
    );
    assert_eq!(recent["kept_max"], 200);
    let (s, _) = send(client().get(server.url("/api/alerts"))).await;
    assert_eq!(s, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_published_on_nats_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = tls::generate(dir.path());
    let nats = nats::NatsServer::start_tls(pki.cert.clone(), pki.key.clone());
    let subscriber = async_nats::ConnectOptions::new().add_root_certificates(pki.ca.clone()).connect(nats.url()).await.unwrap();
    let mut alerts = subscriber.subscribe("tradpal.alert.>").await.unwrap();
    subscriber.flush().await.unwrap();
    let server = Server::start(&dir.path().join("data"), &[("NATS_URL", &nats.url()), ("NATS_TLS_CA", pki.ca.to_str().unwrap())]);
    // Connected over TLS: the status says so, and /ready reports it.
    wait_until("the NATS link connected over TLS", NATS_CONNECT_WAIT_MS, || async {
        let (_, body) = send(client().get(server.url("/api/trading/status")).bearer_auth(VIEWER_KEY)).await;
        holds(body["nats"]["state"] == "connected", || format!("{body}\n{}", server.logs()))
    })
    .await;
    let (_, ready) = send(client().get(server.url("/ready"))).await;
    assert!(ready["checks"].as_array().unwrap().iter().any(|c| c["name"] == "nats" && c["ok"] == true), "{ready}");
    set_state(&server, "reducing").await;
    let msg =
        tokio::time::timeout(Duration::from_secs(10), futures_util::StreamExt::next(&mut alerts)).await.expect("no alert on NATS").unwrap();
    assert_eq!(msg.subject.as_str(), "tradpal.alert.kill_switch");
    let alert: Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(alert["details"]["to"], "reducing", "{alert}");
    let id = msg.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string());
    assert_eq!(id.as_deref(), alert["id"].as_str());
}
