//! `GET /ready`: readiness for load balancers and Kubernetes, beside `/health` (liveness:
//! the process answers HTTP). 200 when every required check passes, else 503; the body
//! names each check either way:
//!
//! - `journal`: open and not poisoned (a poisoned journal refuses every append; the
//!   service stops on it).
//! - `actors`: every supervised actor `running` (not starting, restarting or failed).
//! - `leader` (replicated operation only): this node leads and can commit to the cluster
//!   log. A standby answers 503 from its own router (`standby.rs`): it is alive but does
//!   not take writes, so a load balancer must not route to it.
//! - `nats` (with `NATS_URL`, not replicated): reported, not required: the HTTP API works
//!   while NATS is away (ingest and event publishing catch up on reconnect).
//!
//! No key is needed for either, like `/health`: probes do not carry credentials, and the
//! answer holds nothing an attacker can use (check names and actor states).

use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use tradpal_messages::ActorState;

/// One named check: whether it passes, whether readiness requires it, and why not.
fn check(name: &str, ok: bool, required: bool, detail: String) -> Value {
    json!({ "name": name, "ok": ok, "required": required, "detail": detail })
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut checks = Vec::new();
    let journal = match state.journal.poisoned() {
        None => check("journal", true, true, format!("open through sequence {}", state.journal.last_sequence())),
        Some(why) => check("journal", false, true, format!("poisoned: {why}")),
    };
    checks.push(journal);
    let statuses = state.statuses.read().map(|s| s.clone()).unwrap_or_default();
    let down: Vec<String> =
        statuses.values().filter(|s| s.state != ActorState::Running).map(|s| format!("{} {:?}", s.name, s.state).to_lowercase()).collect();
    let actors_ok = !statuses.is_empty() && down.is_empty();
    let detail = if actors_ok { format!("{} running", statuses.len()) } else { format!("not running: {}", down.join(", ")) };
    checks.push(check("actors", actors_ok, true, detail));
    if let Some(cluster) = &state.cluster {
        let c = cluster.get();
        let (ok, detail) = match (&c.stalled, c.role.as_str()) {
            (None, "leader") => (true, format!("node {} leads", c.node)),
            (Some(why), _) => (false, format!("node {} cannot commit writes: {why}", c.node)),
            (None, role) => (false, format!("node {} is {role}", c.node)),
        };
        checks.push(check("leader", ok, true, detail));
    } else if let Some(nats) = &state.nats {
        let s = nats.status();
        checks.push(check("nats", s.state == "connected", false, s.state));
    }
    let ready = checks.iter().all(|c| c["ok"] == true || c["required"] == false);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks })))
}
