//! One annotated stub per route of the route table (`super::super::route_table`): the
//! method, the path (axum's `{*symbol}` written `{symbol}`), the body and answer types.
//! The stubs are never called; the handlers they describe are named in each doc line.
//! Bodies typed [`Undescribed`] are real JSON objects whose fields are not described yet.
#![allow(dead_code)]

use super::{ErrorBody, ErrorDetail, Health, Undescribed};
use crate::http::execution::{CancelRequest, FlattenRequest, TradingStateRequest};
use crate::http::trading::EmergencyStop;
use tradpal_actors::execution::view::{FlattenReply, OrderView, OrdersPage, PortfolioView, SubmitReply, TradingStateView};
use tradpal_actors::execution::OrderRequest;
use tradpal_messages::reply::{SessionStartedReply, SessionStoppedReply};
use tradpal_messages::{StartSession, StopSession};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TradPal",
        description = "Event-sourced trading service. Errors: `{\"error\": {\"code\", \"message\"}}`; \
        keys: `Authorization: Bearer KEY` or `X-API-Key: KEY`. Generated from the route table; see README."
    ),
    paths(
        health,
        ready,
        auth_token,
        metrics,
        openapi_json,
        docs,
        start_session,
        stop_session,
        emergency_stop,
        smart_trade,
        status,
        alerts,
        performance,
        audit_order,
        post_candles,
        get_candles,
        get_indicators,
        get_series,
        regime_current,
        regime_history,
        regime_confidence,
        regime_classify,
        check_limits,
        position_size,
        portfolio_risk_get,
        portfolio_risk_post,
        stress_get,
        stress_post,
        submit_order,
        cancel_order,
        trading_state_get,
        trading_state_post,
        flatten,
        orders,
        get_order,
        portfolio,
        backtest_run,
        backtest_optimize,
        backtest_walk_forward,
        backtest_results,
        backtest_performance,
        backtest_report,
        ml_train,
        ml_models,
        ml_model,
        ml_delete,
        ml_predict,
        ml_feature_importance,
        rl_train,
        rl_agents,
        rl_agent,
        rl_evaluate,
        rl_infer,
        ui_index,
        ui_asset,
        ui_login,
        ui_logout,
        ui_me,
        events_stream,
    ),
    components(schemas(ErrorBody, ErrorDetail, Undescribed))
)]
pub struct Api;

// Operations.

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
fn health() {}

/// Readiness: 200 when the journal is open, every actor runs and (replicated) this node
/// leads; else 503. The body names each check.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Undescribed), (status = 503, description = "Not ready: the failing checks are named", body = Undescribed)))]
fn ready() {}

/// A short-lived HS256 API token for the presented key (not for a token), carrying its role.
#[utoipa::path(post, path = "/api/auth/token", tag = "operations", responses((status = 200, body = Undescribed)))]
fn auth_token() {}

/// Prometheus text format (a viewer key unless TRADPAL_METRICS_PUBLIC=true).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
fn metrics() {}

/// This document (public).
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, body = Undescribed)))]
fn openapi_json() {}

/// A page that renders this document (public, no external assets).
#[utoipa::path(get, path = "/api/docs", tag = "operations", responses((status = 200, content_type = "text/html", body = String)))]
fn docs() {}

// Trading sessions.

/// Starts a session (trader). With `Idempotency-Key`, a retry answers 200 with the original.
#[utoipa::path(post, path = "/api/trading/start-session", tag = "trading", request_body = StartSession,
    params(("Idempotency-Key" = Option<String>, Header, description = "1..=100 visible ASCII characters")),
    responses((status = 201, body = SessionStartedReply), (status = 200, description = "Idempotent retry", body = SessionStartedReply),
        (status = 409, description = "Same key, different body", body = ErrorBody)))]
fn start_session() {}

/// Stops a session (trader).
#[utoipa::path(post, path = "/api/trading/stop-session", tag = "trading", request_body = StopSession,
    responses((status = 200, body = SessionStoppedReply), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
fn stop_session() {}

/// A session's emergency stop: cancel, flatten at the next bar, stop (trader).
#[utoipa::path(post, path = "/api/trading/emergency-stop", tag = "trading", request_body = EmergencyStop,
    responses((status = 200, body = SessionStoppedReply), (status = 404, body = ErrorBody)))]
fn emergency_stop() {}

/// The AI ensemble's decision, and with `execute` its order (trader).
#[utoipa::path(post, path = "/api/trading/smart-trade", tag = "trading", request_body = Undescribed,
    responses((status = 200, body = Undescribed), (status = 409, description = "No model for the symbol", body = ErrorBody)))]
fn smart_trade() {}

/// Service, sessions, actors, journal, NATS and cluster status (viewer).
#[utoipa::path(get, path = "/api/trading/status", tag = "trading", responses((status = 200, body = Undescribed)))]
fn status() {}

/// The alerts raised since the service started, newest first (viewer): `{"alerts": [{"id",
/// "kind", "severity", "message", "at_unix_ms", "sequence", "session_id", "details"}],
/// "kept_max"}`.
#[utoipa::path(get, path = "/api/alerts", tag = "operations", responses((status = 200, body = Undescribed)))]
fn alerts() {}

/// Sessions' P&L, or one session's metrics, trades and equity (viewer).
#[utoipa::path(get, path = "/api/trading/performance", tag = "trading",
    params(("session_id" = Option<String>, Query)), responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn performance() {}

/// An order's audit chain from the journal (viewer).
#[utoipa::path(get, path = "/api/audit/orders/{id}", tag = "trading", params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn audit_order() {}

// Market data.

/// Stores candles (trader).
#[utoipa::path(post, path = "/api/data/candles", tag = "data", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn post_candles() {}

/// Stored candles of a symbol (`BTC/USDT`: the slash stays in the path); query `timeframe`, `start`, `end`, `limit`.
#[utoipa::path(get, path = "/api/data/candles/{symbol}", tag = "data", params(("symbol" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn get_candles() {}

/// Indicators over a symbol's stored candles; query as for candles.
#[utoipa::path(get, path = "/api/data/indicators/{symbol}", tag = "data", params(("symbol" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn get_indicators() {}

/// The stored series (symbol, timeframe, range).
#[utoipa::path(get, path = "/api/data/series", tag = "data", responses((status = 200, body = Undescribed)))]
fn get_series() {}

// Market regime.

/// The symbol's current regime: every timeframe's view and the combined one (no query).
#[utoipa::path(get, path = "/api/regime/current/{symbol}", tag = "regime", params(("symbol" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn regime_current() {}

/// The symbol's regime history; query `days`, `timeframe`.
#[utoipa::path(get, path = "/api/regime/history/{symbol}", tag = "regime", params(("symbol" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn regime_history() {}

/// The confidence of the symbol's current regime: every timeframe's probabilities and the combined ones (no query).
#[utoipa::path(get, path = "/api/regime/confidence/{symbol}", tag = "regime", params(("symbol" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn regime_confidence() {}

/// Classifies posted candles (nothing stored).
#[utoipa::path(post, path = "/api/regime/classify", tag = "regime", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn regime_classify() {}

// Risk.

/// Checks an order against the risk limits (trader; journals the check).
#[utoipa::path(post, path = "/api/risk/check-limits", tag = "risk", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn check_limits() {}

/// Position size for a stop distance and risk budget.
#[utoipa::path(post, path = "/api/risk/calculate-position-size", tag = "risk", request_body = Undescribed,
    responses((status = 200, body = Undescribed)))]
fn position_size() {}

/// Risk of the current portfolio.
#[utoipa::path(get, path = "/api/risk/portfolio-risk", tag = "risk", responses((status = 200, body = Undescribed)))]
fn portfolio_risk_get() {}

/// Risk of a posted portfolio.
#[utoipa::path(post, path = "/api/risk/portfolio-risk", tag = "risk", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn portfolio_risk_post() {}

/// Stress test of the current portfolio.
#[utoipa::path(get, path = "/api/risk/stress-test", tag = "risk", responses((status = 200, body = Undescribed)))]
fn stress_get() {}

/// Stress test of a posted portfolio.
#[utoipa::path(post, path = "/api/risk/stress-test", tag = "risk", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn stress_post() {}

// Execution.

/// Submits an order (trader). 201 new, 200 same client order id again, 422 refused (recorded, with the reason).
#[utoipa::path(post, path = "/api/execution/submit-order", tag = "execution", request_body = OrderRequest,
    responses((status = 201, body = SubmitReply), (status = 200, description = "Same client order id, same request", body = SubmitReply),
        (status = 422, description = "Refused by the risk check or the kill switch (recorded)", body = SubmitReply),
        (status = 409, description = "Same client order id, different request", body = ErrorBody),
        (status = 503, description = "10,000 orders are working (WORKING_ORDERS_MAX): cancel some first; or a needed part is restarting", body = ErrorBody)))]
fn submit_order() {}

/// Cancels an order by `order_id` or `client_order_id` (trader).
#[utoipa::path(post, path = "/api/execution/cancel-order", tag = "execution", request_body = CancelRequest,
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
fn cancel_order() {}

/// The kill switch's state (viewer).
#[utoipa::path(get, path = "/api/execution/trading-state", tag = "execution", responses((status = 200, body = TradingStateView)))]
fn trading_state_get() {}

/// Sets the kill switch (admin).
#[utoipa::path(post, path = "/api/execution/trading-state", tag = "execution", request_body = TradingStateRequest,
    responses((status = 200, body = TradingStateView)))]
fn trading_state_post() {}

/// Cancels every working order and closes every position at the next bar (admin).
#[utoipa::path(post, path = "/api/execution/flatten", tag = "execution", request_body = FlattenRequest, responses((status = 200, body = FlattenReply)))]
fn flatten() {}

/// Orders, newest first (viewer).
#[utoipa::path(get, path = "/api/execution/orders", tag = "execution",
    params(("symbol" = Option<String>, Query), ("status" = Option<String>, Query, description = "A status, `open` or `closed`"),
        ("session_id" = Option<String>, Query), ("client_order_id" = Option<String>, Query),
        ("limit" = Option<usize>, Query, description = "1..=500, default 100"), ("offset" = Option<usize>, Query)),
    responses((status = 200, body = OrdersPage)))]
fn orders() {}

/// One order (viewer).
#[utoipa::path(get, path = "/api/execution/orders/{id}", tag = "execution", params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody)))]
fn get_order() {}

/// Cash, positions, P&L and the kill switch (viewer).
#[utoipa::path(get, path = "/api/execution/portfolio", tag = "execution", responses((status = 200, body = PortfolioView)))]
fn portfolio() {}

// Backtests.

/// Starts a backtest job (trader); 202 with its id.
#[utoipa::path(post, path = "/api/backtest/run", tag = "backtest", request_body = Undescribed, responses((status = 202, body = Undescribed)))]
fn backtest_run() {}

/// Starts a parameter optimisation job (trader).
#[utoipa::path(post, path = "/api/backtest/optimize", tag = "backtest", request_body = Undescribed, responses((status = 202, body = Undescribed)))]
fn backtest_optimize() {}

/// Starts a walk-forward job (trader).
#[utoipa::path(post, path = "/api/backtest/walk-forward", tag = "backtest", request_body = Undescribed, responses((status = 202, body = Undescribed)))]
fn backtest_walk_forward() {}

/// A job's result (viewer); 410 when removed by retention.
#[utoipa::path(get, path = "/api/backtest/results/{id}", tag = "backtest", params(("id" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
fn backtest_results() {}

/// A job's performance metrics (viewer).
#[utoipa::path(get, path = "/api/backtest/performance/{id}", tag = "backtest", params(("id" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn backtest_performance() {}

/// A job's report (viewer).
#[utoipa::path(get, path = "/api/backtest/report/{id}", tag = "backtest", params(("id" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn backtest_report() {}

// Machine learning.

/// Starts training a model (trader).
#[utoipa::path(post, path = "/api/ml/train", tag = "ml", request_body = Undescribed, responses((status = 202, body = Undescribed)))]
fn ml_train() {}

/// Trained models (viewer).
#[utoipa::path(get, path = "/api/ml/models", tag = "ml", responses((status = 200, body = Undescribed)))]
fn ml_models() {}

/// One model (viewer).
#[utoipa::path(get, path = "/api/ml/models/{id}", tag = "ml", params(("id" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn ml_model() {}

/// Deletes a model (trader).
#[utoipa::path(delete, path = "/api/ml/models/{id}", tag = "ml", params(("id" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn ml_delete() {}

/// A model's prediction (viewer).
#[utoipa::path(post, path = "/api/ml/predict", tag = "ml", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn ml_predict() {}

/// A model's feature importance (viewer); query `model_id`.
#[utoipa::path(get, path = "/api/ml/feature-importance", tag = "ml", responses((status = 200, body = Undescribed)))]
fn ml_feature_importance() {}

// Reinforcement learning.

/// Starts training an agent (trader).
#[utoipa::path(post, path = "/api/rl/train", tag = "rl", request_body = Undescribed, responses((status = 202, body = Undescribed)))]
fn rl_train() {}

/// Trained agents (viewer).
#[utoipa::path(get, path = "/api/rl/agents", tag = "rl", responses((status = 200, body = Undescribed)))]
fn rl_agents() {}

/// One agent (viewer).
#[utoipa::path(get, path = "/api/rl/agents/{agent_id}", tag = "rl", params(("agent_id" = String, Path)),
    responses((status = 200, body = Undescribed), (status = 404, body = ErrorBody)))]
fn rl_agent() {}

/// Evaluates an agent (viewer).
#[utoipa::path(post, path = "/api/rl/evaluate", tag = "rl", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn rl_evaluate() {}

/// An agent's action for an observation (viewer).
#[utoipa::path(post, path = "/api/rl/infer", tag = "rl", request_body = Undescribed, responses((status = 200, body = Undescribed)))]
fn rl_infer() {}

// The dashboard (`ui/`).

/// The dashboard's page (public: it logs in with a form).
#[utoipa::path(get, path = "/", tag = "dashboard", responses((status = 200, content_type = "text/html", body = String)))]
fn ui_index() {}

/// One of the page's embedded assets (`app.css`, `app.js`, `charts.js`).
#[utoipa::path(get, path = "/ui/assets/{name}", tag = "dashboard", params(("name" = String, Path, description = "Asset name")),
    responses((status = 200, content_type = "text/javascript", body = String), (status = 404, body = ErrorBody)))]
fn ui_asset() {}

/// Logs in with a key in a form (`key=...`): 303 to `/` and an HttpOnly, SameSite=Strict
/// session cookie; 401 shows the form again.
#[utoipa::path(post, path = "/ui/login", tag = "dashboard", request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Logged in: the session cookie is set"), (status = 401, content_type = "text/html", body = String)))]
fn ui_login() {}

/// Ends the dashboard session and clears its cookie.
#[utoipa::path(post, path = "/ui/logout", tag = "dashboard", responses((status = 303, description = "Logged out")))]
fn ui_logout() {}

/// Who the caller is: `{"role": null}` when not logged in.
#[utoipa::path(get, path = "/ui/me", tag = "dashboard", responses((status = 200, body = Undescribed)))]
fn ui_me() {}

/// Server-sent events of journaled events (viewer): the dashboard's live updates.
#[utoipa::path(get, path = "/api/events/stream", tag = "dashboard", responses((status = 200, content_type = "text/event-stream", body = String)))]
fn events_stream() {}
