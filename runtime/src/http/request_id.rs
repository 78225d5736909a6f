//! `X-Request-Id`: honoured when the client sends a sane one, generated otherwise,
//! echoed on the response, attached to the tracing span of the request (so every log
//! line names it) and handed to actors (so every journal record names it).

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
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = resp.status().as_u16(), "response"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(HEADER, v);
    }
    resp
}
