//! The edge's own bookkeeping for every request: who is calling (a key id, never the
//! key), the rate limits, the request metrics and one access-log line. And `/metrics`.
//!
//! Access log: target `access`, level info, one line per request after the response,
//! with `method`, `route` (the matched route template, `/api/backtest/results/{id}`,
//! never the raw path, so ids and symbols do not leak into logs or explode label sets;
//! `unmatched` for 404s), `status`, `latency_us` (microseconds, from the request entering
//! this layer to the response leaving it), `key_id` (see [`crate::keys::key_id`];
//! `invalid` for an unknown key, `-` for none), `request_id` and `client` (the peer IP).
//! `RUST_LOG=access=off` silences it.

use super::error::ApiError;
use super::rate_limit::Class;
use super::request_id::RequestId;
use super::AppState;
use crate::metrics::names;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tradpal_config::Role;
use tradpal_messages::ErrorCode;

/// The routes that place or cancel orders: the stricter bucket.
const ORDER_ROUTES: &[&str] = &["/api/execution/submit-order", "/api/execution/cancel-order"];

/// Who is calling, as far as the edge can tell before the handler runs.
enum Caller {
    /// A configured key, by id.
    Key(String),
    /// A key was presented but is not one of ours.
    Invalid,
    /// No key.
    Anonymous,
}

impl Caller {
    /// A token counts as its key (same id, same buckets).
    fn of(state: &AppState, headers: &HeaderMap) -> Caller {
        match super::auth::presented_key(headers) {
            None if super::ui_sessions::cookie_token(headers).is_none() => Caller::Anonymous,
            // A key, a token or the dashboard's cookie (its id is that of the key that logged in).
            _ => super::auth::authenticate(headers, &axum::http::Method::GET, state).map_or(Caller::Invalid, |(id, _)| Caller::Key(id)),
        }
    }

    fn id(&self) -> &str {
        match self {
            Caller::Key(id) => id,
            Caller::Invalid => "invalid",
            Caller::Anonymous => "-",
        }
    }
}

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Request latency and the rate-limit buckets: the HTTP edge measures real time.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().clone();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let caller = Caller::of(&state, req.headers());
    let resp = match refused(&state, &caller, &client, &route, started) {
        Some(resp) => resp,
        None => next.run(req).await,
    };
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED {
        state.limiter.charge(Class::AuthFailure, &client, started);
        if state.metrics.is_some() {
            metrics::counter!(names::AUTH_FAILURES).increment(1);
        }
    }
    // Measured with the same clock as `started` (see above).
    #[allow(clippy::disallowed_methods)]
    let latency = started.elapsed();
    if state.metrics.is_some() {
        record(&route, method.as_str(), status, latency);
    }
    tracing::info!(
        target: "access",
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_us = latency.as_micros() as u64,
        key_id = %caller.id(),
        request_id = %request_id,
        client = %client,
        "request"
    );
    resp
}

fn record(route: &str, method: &str, status: StatusCode, latency: Duration) {
    let (route, method) = (route.to_owned(), method.to_owned());
    metrics::counter!(names::HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status.as_str().to_owned())
        .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "route" => route, "method" => method).record(latency.as_secs_f64());
}

/// The 429 for a caller past its bucket, if it is.
fn refused(state: &AppState, caller: &Caller, client: &str, route: &str, now: Instant) -> Option<Response> {
    let limiter = &state.limiter;
    if !limiter.enabled() {
        return None;
    }
    let (class, wait) = match caller {
        Caller::Key(id) => {
            let class = if ORDER_ROUTES.contains(&route) { Class::Orders } else { Class::Key };
            (class, limiter.take(class, id, now).err()?)
        }
        // Requests that need no key are not held back for another caller's failures.
        _ if route == "/health" || route == "/ready" || (route == "/metrics" && state.settings.monitoring.metrics_public) => return None,
        _ => (Class::AuthFailure, limiter.blocked(Class::AuthFailure, client, now)?),
    };
    if state.metrics.is_some() {
        metrics::counter!(names::RATE_LIMITED, "class" => class.as_str()).increment(1);
    }
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let what = match class {
        Class::Key => format!("this key is limited to {} requests per second", limiter.rate(class)),
        Class::Orders => format!("this key is limited to {} order requests per second", limiter.rate(class)),
        Class::AuthFailure => format!("too many failed authentications from this address ({} per second)", limiter.rate(class)),
    };
    let mut resp = ApiError::new(ErrorCode::TooManyRequests, format!("{what} (TRADPAL_RATE_LIMIT); retry after {secs} s")).into_response();
    resp.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
    Some(resp)
}

/// `GET /metrics`: the Prometheus text format. Needs a viewer key unless
/// `TRADPAL_METRICS_PUBLIC=true`; with `ENABLE_PERFORMANCE_MONITORING=false` it answers
/// 503 naming the setting (as other services turned off by a setting do).
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if !state.settings.monitoring.metrics_public {
        super::auth::authorize_headers(&headers, &state, Role::Viewer)?;
    }
    let Some(handle) = &state.metrics else {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "ENABLE_PERFORMANCE_MONITORING is false: metrics are not recorded (set ENABLE_PERFORMANCE_MONITORING=true to use /metrics)",
        ));
    };
    let mut body = handle.render();
    let nats = state.nats.as_ref().map(|n| &*n.stats);
    body.push_str(&crate::metrics::render_counters(&state.journal.stats(), nats));
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response())
}
