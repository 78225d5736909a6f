//! `GET /api/alerts`: the alerts raised since the service started, newest first (at most
//! `alerts::ALERTS_RECENT_MAX`), as logged, published on NATS and POSTed to the webhook.
//! Operators and the dashboard read it after the fact; the live feed is NATS
//! `tradpal.alert.>`, the webhook, or the event stream.

use super::auth::Viewer;
use super::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub async fn recent(_role: Viewer, State(state): State<AppState>) -> Json<Value> {
    let alerts = state.alerts.as_ref().map(|a| a.recent()).unwrap_or_default();
    Json(json!({ "alerts": alerts, "kept_max": crate::alerts::ALERTS_RECENT_MAX }))
}
