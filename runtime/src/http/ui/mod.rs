//! The web dashboard: `GET /` serves a single page (HTML, CSS, JS and a vendored chart
//! library, all embedded in the binary: no CDN, no external font, so it works offline
//! and on locked-down hosts). The page calls the same JSON API as any client.
//!
//! # Layout
//! - `mod.rs`: the handlers (routed in `http/mod.rs`'s table): the page, its assets,
//!   login / logout / whoami.
//! - `../ui_sessions.rs`: dashboard logins (an HttpOnly, SameSite=Strict cookie stands for
//!   the key; the page never holds the key), beside `auth.rs`, which accepts them.
//! - `events.rs`: `GET /api/events/stream`, server-sent events of journaled events, so
//!   the page refreshes on change instead of polling.
//! - `assets/`: `index.html`, `app.css`, `app.js`, and lightweight-charts (TradingView,
//!   Apache-2.0, v5.2.1 from npm; `assets/VENDORED.md`).
//!
//! Why cookies and not the key in `localStorage`: a script injected into the page could
//! read storage; it cannot read an HttpOnly cookie. Cookie-authenticated writes must
//! also carry the `X-TradPal-UI` header (`ui_sessions::UI_HEADER`), which a cross-site form cannot send (defence in
//! depth next to SameSite=Strict).

pub mod events;

use super::error::ApiError;
use super::ui_sessions;
use super::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use tradpal_messages::ErrorCode;

/// The longest key the login form accepts (keys are at least 16 characters).
pub const LOGIN_KEY_BYTES_MAX: usize = 512;

const INDEX_HTML: &str = include_str!("assets/index.html");
/// (name, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("charts.js", "text/javascript; charset=utf-8", include_str!("assets/lightweight-charts.standalone.production.js")),
];

/// A strict policy: everything from this origin, nothing inline but styles the chart
/// library sets on its own elements.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn page(status: StatusCode, html: String) -> Response {
    let mut resp = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub(crate) async fn index() -> Response {
    page(StatusCode::OK, INDEX_HTML.replace("{{LOGIN_ERROR}}", ""))
}

pub(crate) async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Result<Response, ApiError> {
    let (_, ctype, body) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no dashboard asset named {name:?}")))?;
    let mut resp = ([(header::CONTENT_TYPE, *ctype)], *body).into_response();
    resp.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Versioned by the binary: a new build serves new assets, so a short cache is enough.
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    Ok(resp)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    key: String,
}

fn cookie(value: &str, max_age_s: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}", ui_sessions::COOKIE);
    HeaderValue::from_str(&v).expect("cookie value is ASCII")
}

/// Whether the request arrived over TLS: the service serves HTTPS itself
/// (`TRADPAL_TLS_CERT`), or a proxy in front says so.
fn over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.ops.tls_cert.is_some() || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// `POST /ui/login` (a form with `key`): on a known key, a session cookie and a redirect
/// to the dashboard; otherwise 401 with the form again (counted and rate-limited as any
/// failed authentication, by the `observe` layer).
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let failed = |why: &str| page(StatusCode::UNAUTHORIZED, INDEX_HTML.replace("{{LOGIN_ERROR}}", why));
    let Ok(Form(form)) = form else {
        return failed("Send the form with an API key.");
    };
    let key = form.key.trim();
    if key.is_empty() || key.len() > LOGIN_KEY_BYTES_MAX {
        return failed("Enter an API key.");
    }
    let Some(role) = state.keys.role_of(key) else {
        // Never echo the key, not even a part of it.
        return failed("That API key is not valid.");
    };
    // Session expiry is wall time at the edge, not a core's decision.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let token = state.ui.open(role, crate::keys::key_id(key), now);
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/#/overview")]).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie(&token, ui_sessions::UI_SESSION_TTL_S, over_tls(&state, &headers)));
    resp
}

/// `POST /ui/logout`: ends the cookie's session.
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = ui_sessions::cookie_token(&headers) {
        state.ui.close(token);
    }
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie("", 0, over_tls(&state, &headers)));
    resp
}

/// `GET /ui/me`: the caller's role, for the page to show what it may do. Without a
/// credential (or with an expired dashboard cookie) it answers `{"role": null}`, not 401:
/// "not logged in" is an answer here, and the page then shows the login form. A wrong
/// key in a header is still a 401.
pub(crate) async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    let version = env!("CARGO_PKG_VERSION");
    let via = if super::auth::presented_key(&headers).is_some() { "key" } else { "cookie" };
    match super::auth::authenticate(&headers, &axum::http::Method::GET, &state) {
        Ok((_, role)) => Ok(Json(serde_json::json!({ "role": role.as_str(), "via": via, "version": version }))),
        Err(e) if via == "key" => Err(e),
        Err(_) => Ok(Json(serde_json::json!({ "role": null, "via": null, "version": version }))),
    }
}
