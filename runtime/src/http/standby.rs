//! What a standby node answers (replicated operation, see `cluster/`): it runs no actors,
//! so every API route is a 503 that names the leader, and `/health` and
//! `/api/trading/status` say what this node is doing. Load balancers health-check
//! `/api/trading/status` (`cluster.role`) to route to the leader.

use super::error::ApiError;
use crate::cluster::ClusterState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use tradpal_messages::ErrorCode;

async fn health(State(state): State<Arc<ClusterState>>) -> Json<serde_json::Value> {
    let c = state.get();
    Json(serde_json::json!({ "status": "standby", "service": "tradpal", "version": env!("CARGO_PKG_VERSION"), "cluster": c }))
}

/// A standby is alive but not ready: it takes no writes (see `ready.rs`).
async fn ready(State(state): State<Arc<ClusterState>>) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    let c = state.get();
    let leader = c.leader.clone().map_or_else(|| "not known yet".to_string(), |l| format!("node {l}"));
    let check = serde_json::json!({ "name": "leader", "ok": false, "required": true,
        "detail": format!("node {} is a standby (the leader is {leader})", c.node) });
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "not_ready", "checks": [check] })))
}

async fn status(State(state): State<Arc<ClusterState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "service": "tradpal", "version": env!("CARGO_PKG_VERSION"), "cluster": state.get() }))
}

async fn elsewhere(State(state): State<Arc<ClusterState>>) -> ApiError {
    let c = state.get();
    let leader = c.leader.map_or_else(|| "not known yet".to_string(), |l| format!("node {l}"));
    ApiError::new(
        ErrorCode::Unavailable,
        format!("node {} is a standby (it follows the leader's journal and takes over if the leader stops); the leader is {leader}: send requests there", c.node),
    )
}

pub fn router(state: Arc<ClusterState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/api/trading/status", get(status))
        .fallback(elsewhere)
        .with_state(state)
}

/// Serves the standby's answers until `stop`; over HTTPS when the service has TLS.
pub async fn serve(
    listener: std::net::TcpListener,
    state: Arc<ClusterState>,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(config) => super::https::serve_router(listener, config, router(state), stop).await,
        None => axum::serve(tokio::net::TcpListener::from_std(listener)?, router(state)).with_graceful_shutdown(stop).await,
    }
}
