//! A fake Binance spot REST server for the adapter's tests: real HTTP on 127.0.0.1,
//! following the documented behaviour of the endpoints the adapter uses. It checks the
//! `X-MBX-APIKEY` header, the HMAC-SHA256 `signature` over the exact query string, and
//! `timestamp` against its own clock and `recvWindow`; keeps orders in memory; fills
//! MARKET orders at once (two fills); keeps LIMIT and stop orders NEW; and can be told to
//! answer the next requests with 429, 418, 500 or a delay.

#![allow(dead_code)]
// Handlers return the error response itself as `Err` (test code: size does not matter).
#![allow(clippy::result_large_err)]

mod book;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tradpal_messages::{Clock, Fixed, SimClock, Timestamp};

/// How the next request is answered instead of normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 with `Retry-After: secs` (or no header).
    TooMany { retry_after_s: Option<u64> },
    /// HTTP 418 (IP banned) with `Retry-After: secs`.
    Banned { retry_after_s: u64 },
    /// HTTP 500 without acting on the request.
    ServerError,
    /// Acts on the request, then answers HTTP 500 (the response was lost).
    ServerErrorAfterProcessing,
    /// Waits this long before handling the request normally.
    Delay { ms: u64 },
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub api_key: Option<String>,
}

impl Recorded {
    /// The decoded value of one parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        parse_query(&self.query).get(name).cloned()
    }
}

pub struct State {
    pub api_key: String,
    pub secret: String,
    pub requests: Vec<Recorded>,
    pub failures: VecDeque<Failure>,
    pub book: book::Book,
}

/// A running fake server. Dropping it leaves the server task running until the test's
/// runtime ends.
pub struct FakeBinance {
    pub url: String,
    pub clock: SimClock,
    state: Arc<Mutex<State>>,
}

#[derive(Clone)]
struct Shared {
    clock: SimClock,
    state: Arc<Mutex<State>>,
}

impl FakeBinance {
    pub async fn start(api_key: &str, secret: &str, now_ms: i64) -> Self {
        let clock = SimClock::new(Timestamp::from_millis(now_ms));
        let state = Arc::new(Mutex::new(State {
            api_key: api_key.into(),
            secret: secret.into(),
            requests: vec![],
            failures: VecDeque::new(),
            book: book::Book::new(),
        }));
        let shared = Shared { clock: clock.clone(), state: state.clone() };
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, clock, state }
    }

    pub fn fail_next(&self, n: usize, failure: Failure) {
        let mut s = self.state.lock().unwrap();
        s.failures.extend(std::iter::repeat_n(failure, n));
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
    pub fn request_count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }
    pub fn last_request(&self) -> Recorded {
        self.state.lock().unwrap().requests.last().cloned().expect("a request")
    }
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}

fn error(status: StatusCode, code: i64, msg: &str) -> Response {
    (status, axum::Json(json!({ "code": code, "msg": msg }))).into_response()
}

fn with_retry_after(status: StatusCode, secs: Option<u64>, body: Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    if let Some(s) = secs {
        r.headers_mut().insert("Retry-After", s.to_string().parse().unwrap());
    }
    r
}

async fn handle(axum::extract::State(shared): axum::extract::State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let query = uri.query().unwrap_or("").to_string();
    let api_key = headers.get("X-MBX-APIKEY").and_then(|v| v.to_str().ok()).map(str::to_string);
    let failure = {
        let mut s = shared.state.lock().unwrap();
        s.requests.push(Recorded { method: method.clone(), path: uri.path().into(), query: query.clone(), api_key: api_key.clone() });
        s.failures.pop_front()
    };
    let too_many = json!({ "code": -1003, "msg": "Too much request weight used; please use WebSocket Streams for live updates to avoid polling the API." });
    match failure {
        Some(Failure::TooMany { retry_after_s }) => return with_retry_after(StatusCode::TOO_MANY_REQUESTS, retry_after_s, too_many),
        Some(Failure::Banned { retry_after_s }) => return with_retry_after(StatusCode::IM_A_TEAPOT, Some(retry_after_s), too_many),
        Some(Failure::ServerError) => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, -1000, "An unknown error occurred while processing the request.")
        }
        Some(Failure::Delay { ms }) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        _ => {}
    }
    let now_ms = shared.clock.now().as_millis();
    let mut s = shared.state.lock().unwrap();
    let response = match authenticate(&s, api_key.as_deref(), &query, now_ms) {
        Err(r) => r,
        Ok(params) => s.book.dispatch(&method, uri.path(), &params, now_ms),
    };
    if failure == Some(Failure::ServerErrorAfterProcessing) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, -1000, "An unknown error occurred while processing the request.");
    }
    response
}

/// Checks key, signature and timestamp as Binance does; returns the decoded parameters.
fn authenticate(s: &State, api_key: Option<&str>, query: &str, now_ms: i64) -> Result<BTreeMap<String, String>, Response> {
    if api_key != Some(s.api_key.as_str()) {
        return Err(error(StatusCode::UNAUTHORIZED, -2015, "Invalid API-key, IP, or permissions for action."));
    }
    let Some((payload, signature)) = query.rsplit_once("&signature=") else {
        return Err(error(StatusCode::BAD_REQUEST, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."));
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(s.secret.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    if hex::encode(mac.finalize().into_bytes()) != signature.to_ascii_lowercase() {
        return Err(error(StatusCode::UNAUTHORIZED, -1022, "Signature for this request is not valid."));
    }
    let params = parse_query(payload);
    let timestamp: Option<i64> = params.get("timestamp").and_then(|t| t.parse().ok());
    let recv_window: i64 = params.get("recvWindow").map_or(Some(5_000), |r| r.parse().ok()).unwrap_or(-1);
    let Some(timestamp) = timestamp else {
        return Err(error(StatusCode::BAD_REQUEST, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."));
    };
    if !(1..=60_000).contains(&recv_window) {
        return Err(error(StatusCode::BAD_REQUEST, -1131, "recvWindow must be less than 60000"));
    }
    // Binance's documented rule.
    if !(timestamp < now_ms + 1_000 && now_ms - timestamp <= recv_window) {
        return Err(error(StatusCode::BAD_REQUEST, -1021, "Timestamp for this request is outside of the recvWindow."));
    }
    Ok(params.into_iter().collect())
}

/// `k=v&...` with percent-decoding (`+` stays `+`: Binance's query strings encode spaces as %20).
pub fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(byte) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A decimal as Binance prints it: always 8 decimals.
pub fn fixed(text: &str) -> Fixed {
    Fixed::parse(text).unwrap()
}
