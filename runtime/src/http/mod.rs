//! The HTTP adapter (axum). It authenticates, parses, sends one message to one actor
//! and renders the answer; it holds no trading logic.
//!
//! Limits: bodies over `body_bytes_max` (TRADPAL_BODY_BYTES_MAX) get 413; unknown
//! routes 404 and wrong methods 405, both JSON; a handler panic becomes a 500 JSON
//! error and the server lives on; a key past its token bucket (TRADPAL_RATE_LIMIT) gets
//! 429 with `Retry-After` (`rate_limit.rs`).
//!
//! Layers, outermost first: request id, then `observe` (caller id, rate limits, request
//! metrics, the access log: it sees every answer, 404s, 413s, 429s and panics included),
//! then panic catching, the body limit and the routes.

pub mod alerts;
pub mod auth;
pub mod backtest;
pub mod data;
pub mod error;
pub mod execution;
pub mod https;
pub mod json;
pub mod ml;
pub mod not_built;
pub mod observe;
pub mod openapi;
pub mod query;
pub mod rate_limit;
pub mod ready;
pub mod regime;
pub mod request_id;
pub mod risk;
pub mod rl;
pub mod standby;
pub mod token;
pub mod trading;
pub mod ui;
pub mod ui_sessions;

use crate::keys::KeyRing;
use crate::supervisor::StatusRegistry;
use crate::{Runtime, RuntimeError};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tradpal_config::Settings;
use tradpal_journal::Journal;

/// What handlers can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub keys: Arc<KeyRing>,
    pub statuses: StatusRegistry,
    pub journal: Journal,
    pub nats: Option<crate::nats::NatsView>,
    /// This node's replication role, when `TRADPAL_NODE` is set.
    pub cluster: Option<Arc<crate::cluster::ClusterState>>,
    /// The metrics recorder's handle; `None` when `ENABLE_PERFORMANCE_MONITORING=false`.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub limiter: Arc<rate_limit::RateLimiter>,
    /// The dashboard's logins (`ui_sessions.rs`).
    pub ui: Arc<ui_sessions::UiSessions>,
    /// Journaled events, for `GET /api/events/stream`; `None` on a standby.
    pub bus: Option<crate::bus::InProcessBus>,
    /// The alerts raised since start, for `GET /api/alerts`.
    pub alerts: Option<crate::alerts::Alerts>,
}

impl AppState {
    pub fn new(runtime: &Runtime, keys: KeyRing) -> Self {
        Self {
            settings: runtime.settings.clone(),
            keys: Arc::new(keys),
            statuses: runtime.statuses.clone(),
            journal: runtime.services.journal.clone(),
            nats: runtime.nats.as_ref().map(|n| n.view.clone()),
            cluster: None,
            metrics: runtime.metrics.clone(),
            limiter: Arc::new(rate_limit::RateLimiter::new(runtime.settings.service.rate_limit_per_sec, rate_limit::RATE_KEYS_MAX)),
            ui: Arc::new(ui_sessions::UiSessions::default()),
            bus: Some(runtime.bus.clone()),
            alerts: Some(runtime.alerts.alerts.clone()),
        }
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "service": "tradpal", "version": env!("CARGO_PKG_VERSION") }))
}

/// Replicated operation: while the leader cannot write the cluster log (NATS away), a
/// write would only wait for its acknowledgement until the call times out; refuse it at
/// once instead (reads still work). Routes that journal nothing are not behind this.
async fn cluster_gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.method() != axum::http::Method::GET {
        if let Some(why) = state.cluster.as_ref().and_then(|c| c.get().stalled) {
            let message = format!("this node cannot commit writes now: {why}; writes are refused until it can (reads still work)");
            return axum::response::IntoResponse::into_response(error::ApiError::new(tradpal_messages::ErrorCode::Unavailable, message));
        }
    }
    next.run(req).await
}

/// The service a path belongs to that a feature flag turns off, with the flag's name.
fn disabled_by(state: &AppState, path: &str) -> Option<&'static str> {
    let f = &state.settings.features;
    if path.starts_with("/api/ml/") && !f.ml_training {
        return Some("ENABLE_ML_TRAINING");
    }
    if path.starts_with("/api/regime/") && !f.market_regime {
        return Some("ENABLE_MARKET_REGIME");
    }
    None
}

/// A service turned off by its feature flag answers 503 naming the setting (the RL
/// actor answers the same for training and inference itself).
async fn feature_gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(flag) = disabled_by(&state, req.uri().path()) {
        let message = format!("{flag} is false: this service is turned off (set {flag}=true to use it)");
        return axum::response::IntoResponse::into_response(error::ApiError::new(tradpal_messages::ErrorCode::Unavailable, message));
    }
    next.run(req).await
}

/// The route table, one line a route: `path => method(handler).method(handler);`. The
/// macro builds the routes and, from the same lines, the list of (method, path) pairs
/// that [`route_table`] returns, so the OpenAPI test checks the document against the
/// routes the server really has (not a copy of them).
macro_rules! route_table {
    ($build:ident, $list:ident: $($path:literal => $first:ident($h:path) $(.$more:ident($hh:path))*;)*) => {
        fn $build(router: Router<AppState>) -> Router<AppState> {
            router $(.route($path, $first($h) $(.$more($hh))*))*
        }
        const $list: &[(&str, &[&str])] = &[$(($path, &[stringify!($first) $(, stringify!($more))*])),*];
    };
}

route_table!(journaled_routes, JOURNALED:
    // Routes that journal (POST): behind the cluster gate.
    "/api/trading/start-session" => post(trading::start_session);
    "/api/trading/stop-session" => post(trading::stop_session);
    "/api/trading/emergency-stop" => post(trading::emergency_stop);
    "/api/trading/smart-trade" => post(trading::smart_trade);
    "/api/data/candles" => post(data::post_candles);
    "/api/risk/check-limits" => post(risk::check_limits);
    "/api/execution/submit-order" => post(execution::submit_order);
    "/api/execution/cancel-order" => post(execution::cancel_order);
    "/api/execution/trading-state" => get(execution::get_trading_state).post(execution::set_trading_state);
    "/api/execution/flatten" => post(execution::flatten);
    "/api/backtest/run" => post(backtest::run);
    "/api/backtest/optimize" => post(backtest::optimize);
    "/api/backtest/walk-forward" => post(backtest::walk_forward);
    "/api/ml/train" => post(ml::train);
    "/api/rl/train" => post(rl::train);
);

route_table!(read_routes, READS:
    "/health" => get(health);
    // Issue 19: readiness and API tokens (neither journals anything).
    "/ready" => get(ready::ready);
    "/api/auth/token" => post(token::issue);
    "/metrics" => get(observe::metrics);
    "/api/trading/status" => get(trading::status);
    "/api/alerts" => get(alerts::recent);
    "/api/trading/performance" => get(trading::performance);
    "/api/audit/orders/{id}" => get(trading::audit_order);
    "/api/data/candles/{*symbol}" => get(data::get_candles);
    "/api/data/indicators/{*symbol}" => get(data::get_indicators);
    "/api/data/series" => get(data::get_series);
    "/api/regime/current/{*symbol}" => get(regime::current);
    "/api/regime/history/{*symbol}" => get(regime::history);
    "/api/regime/confidence/{*symbol}" => get(regime::confidence);
    "/api/regime/classify" => post(regime::classify);
    "/api/risk/calculate-position-size" => post(risk::position_size);
    "/api/risk/portfolio-risk" => get(risk::portfolio_get).post(risk::portfolio_post);
    "/api/risk/stress-test" => get(risk::stress_get).post(risk::stress_post);
    "/api/execution/orders" => get(execution::orders);
    "/api/execution/orders/{id}" => get(execution::get_order);
    "/api/execution/portfolio" => get(execution::portfolio);
    "/api/backtest/results/{id}" => get(backtest::results);
    "/api/backtest/performance/{id}" => get(backtest::performance);
    "/api/backtest/report/{id}" => get(backtest::report);
    "/api/ml/models" => get(ml::models);
    "/api/ml/models/{id}" => get(ml::model).delete(ml::delete);
    "/api/ml/predict" => post(ml::predict);
    "/api/ml/feature-importance" => get(ml::feature_importance);
    "/api/rl/agents" => get(rl::agents);
    "/api/rl/agents/{agent_id}" => get(rl::agent);
    "/api/rl/evaluate" => post(rl::evaluate);
    "/api/rl/infer" => post(rl::infer);
    "/api/openapi.json" => get(openapi::document);
    "/api/docs" => get(openapi::docs_page);
);

route_table!(ui_routes, UI:
    // The dashboard (`ui/`): the page and its assets are public (the page logs in).
    "/" => get(ui::index);
    "/ui/assets/{name}" => get(ui::asset);
    "/ui/login" => post(ui::login);
    "/ui/logout" => post(ui::logout);
    "/ui/me" => get(ui::me);
    "/api/events/stream" => get(ui::events::stream);
);

/// Every (method, path) the router serves, upper-case methods, axum path syntax
/// (`{id}`, `{*symbol}`): the route table above plus the not-built routes.
pub fn route_table() -> Vec<(String, &'static str)> {
    let table = JOURNALED.iter().chain(READS).chain(UI);
    let mut all: Vec<(String, &'static str)> =
        table.flat_map(|(path, methods)| methods.iter().map(move |m| (m.to_ascii_uppercase(), *path))).collect();
    all.extend(not_built::ROUTES.iter().map(|(m, p, _)| (m.to_string(), *p)));
    all
}

pub fn router(state: AppState) -> Router {
    let body_bytes_max = state.settings.service.body_bytes_max;
    json::BODY_BYTES_MAX.store(body_bytes_max, std::sync::atomic::Ordering::Relaxed);
    // Routes that journal (POST): behind the cluster gate.
    let journaled = journaled_routes(Router::new()).route_layer(axum::middleware::from_fn_with_state(state.clone(), cluster_gate));
    ui_routes(read_routes(journaled))
        .merge(not_built::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), feature_gate))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::middleware))
        .layer(axum::middleware::from_fn(request_id::middleware))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RuntimeError> {
    // With the peer address: failed authentications are rate-limited per client address.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(RuntimeError::Serve)
}
