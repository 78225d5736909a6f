//! `X-Request-Id`: honoured when the client sends a sane one, generated otherwise,
//! echoed on the response, attached to the tracing span of the request (so every log
//! line names it) and handed to actors (so every journal record names it).
//!
//! With traces on (`crate::telemetry`), the same span is the trace's server span: named
//! `METHOD /route/template`, child of an incoming `traceparent`, with the answer's status;
//! its `trace_id` field lands in every log line of the request, and the answer carries
//! `traceparent` so a client can find its trace. With traces off none of that runs.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tradpal_messages::envelope::KEY_BYTES_MAX;

pub const HEADER: &str = "x-request-id";

/// The request's id, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= KEY_BYTES_MAX && id.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn middleware(mut req: Request, next: Next) -> Response {
    // A random request id when the client sent none: unseeded on purpose (the HTTP edge).
    #[allow(clippy::disallowed_methods)]
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        trace_id = tracing::field::Empty,
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    let traceparent = if crate::telemetry::enabled() { trace_span(&span, &req) } else { None };
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = resp.status().as_u16(), "response"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(HEADER, v);
    }
    if let Some(header) = traceparent {
        span.record("http.response.status_code", resp.status().as_u16());
        if let Ok(v) = HeaderValue::from_str(&header) {
            resp.headers_mut().insert("traceparent", v);
        }
    }
    resp
}

/// Makes the request span a server span of the trace; returns its `traceparent`.
fn trace_span(span: &tracing::Span, req: &Request) -> Option<String> {
    // Router::layer runs inside the routing, so the matched route is known here.
    let route = req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |m| m.as_str());
    crate::telemetry::join_remote_parent(span, req.headers());
    span.record("otel.name", format!("{} {route}", req.method()));
    span.record("otel.kind", "server");
    span.record("http.route", route);
    let (trace_id, header) = crate::telemetry::traceparent(span)?;
    span.record("trace_id", tracing::field::display(&trace_id));
    Some(header)
}
