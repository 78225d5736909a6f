//! One signed HTTP request to Binance, with a timeout, back-off and retry on HTTP 429,
//! and the mapping of HTTP statuses and Binance error codes onto [`VenueError`].
//!
//! Retries: only HTTP 429 is retried (Binance rejected the request without acting on
//! it), each time freshly timestamped and signed, after `Retry-After` seconds when the
//! header is there, else after `backoff_base_ms * 2^retry` (at most `backoff_max_ms`).
//! A `Retry-After` longer than `backoff_max_ms` is not slept through: the caller gets
//! `RateLimited` at once. Nothing else is retried here: 418 (banned), and timeouts,
//! connection errors and 5xx, whose outcome is unknown (a `POST /api/v3/order` may have
//! placed the order; the caller resolves it with a query, never with a blind resend).

use super::config::{BinanceConfig, ConfigError};
use super::map::ErrorBody;
use super::sign::{Signer, API_KEY_HEADER};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;
use tradpal_actors::execution::venue::VenueError;
use tradpal_messages::Clock;

/// How long an IP ban lasts when a 418 carries no `Retry-After` (Binance's shortest ban
/// is 2 minutes).
pub const BAN_RETRY_AFTER_MS_DEFAULT: u64 = 120_000;
/// Characters of a non-JSON error body quoted in an error message.
const BODY_QUOTE_MAX: usize = 200;

/// The HTTP side of the adapter: signs, sends, retries 429s, classifies errors.
pub struct RestClient {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    signer: Signer,
    clock: Arc<dyn Clock>,
    recv_window_ms: u64,
    request_timeout_ms: u64,
    retries_max: u32,
    backoff_base_ms: u64,
    backoff_max_ms: u64,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// What one request came to.
enum Attempt {
    Done(Result<String, VenueError>),
    /// HTTP 429, with `Retry-After` in ms when the header was there.
    Throttled {
        retry_after_ms: Option<u64>,
    },
}

impl RestClient {
    pub fn new(config: &BinanceConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        config.validate()?;
        let timeout = Duration::from_millis(config.request_timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ConfigError(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: config.base_url.clone(),
            api_key: config.api_key.clone(),
            signer: Signer::new(&config.api_secret),
            clock,
            recv_window_ms: config.recv_window_ms,
            request_timeout_ms: config.request_timeout_ms,
            retries_max: config.retries_max,
            backoff_base_ms: config.backoff_base_ms,
            backoff_max_ms: config.backoff_max_ms,
        })
    }

    /// Sends a signed request and returns the body of a 2xx response.
    pub async fn signed(&self, method: Method, path: &str, params: &[(&'static str, String)]) -> Result<String, VenueError> {
        let mut retries = 0u32;
        loop {
            let retry_after_ms = match self.attempt(method.clone(), path, params).await {
                Attempt::Done(result) => return result,
                Attempt::Throttled { retry_after_ms } => retry_after_ms,
            };
            let wait_ms = retry_after_ms.unwrap_or_else(|| backoff_ms(self.backoff_base_ms, self.backoff_max_ms, retries));
            if retries >= self.retries_max || wait_ms > self.backoff_max_ms {
                tracing::warn!(%method, path, retries, wait_ms, "Binance rate limit (429): giving up");
                return Err(VenueError::RateLimited { retry_after_ms: wait_ms });
            }
            tracing::info!(%method, path, retries, wait_ms, "Binance rate limit (429): backing off");
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            retries += 1;
        }
    }

    async fn attempt(&self, method: Method, path: &str, params: &[(&'static str, String)]) -> Attempt {
        let timestamp_ms = self.clock.now().as_millis();
        let query = self.signer.signed_query(params, timestamp_ms, self.recv_window_ms);
        let url = format!("{}{}?{}", self.base_url, path, query);
        let sent = self.http.request(method.clone(), url).header(API_KEY_HEADER, &self.api_key).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Attempt::Done(Err(self.transport_error(&method, path, e))),
        };
        let status = response.status().as_u16();
        let retry_after_ms = retry_after_ms(response.headers());
        if status == 429 {
            return Attempt::Throttled { retry_after_ms };
        }
        let result = match response.text().await {
            Err(e) => Err(self.transport_error(&method, path, e)),
            Ok(body) if (200..300).contains(&status) => Ok(body),
            Ok(body) => Err(classify(status, retry_after_ms, &body)),
        };
        if let Err(e) = &result {
            tracing::warn!(%method, path, status, error = %e, "Binance request failed");
        }
        Attempt::Done(result)
    }

    /// No response (or no whole body): the request may or may not have been acted on.
    fn transport_error(&self, method: &Method, path: &str, e: reqwest::Error) -> VenueError {
        // The URL carries the signature: leave it out of messages and logs.
        let e = e.without_url();
        let what = if e.is_timeout() {
            format!("no answer within {} ms", self.request_timeout_ms)
        } else if e.is_connect() {
            format!("connection failed: {e}")
        } else {
            format!("transport error: {e}")
        };
        VenueError::Unknown(format!("{method} {path}: {what}"))
    }
}

/// `backoff_base_ms * 2^retries`, at most `backoff_max_ms`.
pub fn backoff_ms(backoff_base_ms: u64, backoff_max_ms: u64, retries: u32) -> u64 {
    backoff_base_ms.saturating_mul(1u64.checked_shl(retries).unwrap_or(u64::MAX)).min(backoff_max_ms)
}

/// `Retry-After` in whole seconds (Binance's form), as ms.
fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    let secs: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(secs.saturating_mul(1_000))
}

/// A non-2xx, non-429 response in our terms.
pub fn classify(status: u16, retry_after_ms: Option<u64>, body: &str) -> VenueError {
    let (code, msg) = match serde_json::from_str::<ErrorBody>(body) {
        Ok(b) => (Some(b.code), b.msg),
        Err(_) => (None, format!("HTTP {status}: {}", body.chars().take(BODY_QUOTE_MAX).collect::<String>())),
    };
    match (status, code) {
        (418, _) => VenueError::Banned { retry_after_ms: retry_after_ms.unwrap_or(BAN_RETRY_AFTER_MS_DEFAULT) },
        // 5xx, and Binance's "execution status unknown" codes (-1006 UNEXPECTED_RESP,
        // -1007 TIMEOUT): the request may have been acted on.
        (500..=599, _) | (_, Some(-1006 | -1007)) => VenueError::Unknown(format!("HTTP {status} ({code:?}): {msg}")),
        // -1022 INVALID_SIGNATURE, -2014 BAD_API_KEY_FMT, -2015 REJECTED_MBX_KEY.
        (401, _) | (_, Some(-1022 | -2014 | -2015)) => VenueError::Auth(msg),
        // -2011 CANCEL_REJECTED ("Unknown order sent."), -2013 NO_SUCH_ORDER.
        (_, Some(-2011 | -2013)) => VenueError::UnknownOrder(msg),
        (400..=499, _) => VenueError::Refused { code: code.unwrap_or(i64::from(status)), message: msg },
        _ => VenueError::Unknown(format!("unexpected HTTP {status}: {msg}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!((0..6).map(|r| backoff_ms(100, 1_000, r)).collect::<Vec<_>>(), [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(backoff_ms(100, 1_000, 200), 1_000);
    }

    #[test]
    fn statuses_and_codes_classify() {
        let body = |c: i64| format!(r#"{{"code":{c},"msg":"m"}}"#);
        assert_eq!(classify(418, Some(5_000), &body(-1003)), VenueError::Banned { retry_after_ms: 5_000 });
        assert_eq!(classify(418, None, ""), VenueError::Banned { retry_after_ms: BAN_RETRY_AFTER_MS_DEFAULT });
        assert!(matches!(classify(503, None, "<html>"), VenueError::Unknown(_)));
        assert!(matches!(classify(400, None, &body(-1007)), VenueError::Unknown(_)));
        assert_eq!(classify(401, None, &body(-2015)), VenueError::Auth("m".into()));
        assert_eq!(classify(400, None, &body(-1022)), VenueError::Auth("m".into()));
        assert_eq!(classify(400, None, &body(-2014)), VenueError::Auth("m".into()));
        assert_eq!(classify(400, None, &body(-2011)), VenueError::UnknownOrder("m".into()));
        assert_eq!(classify(400, None, &body(-2013)), VenueError::UnknownOrder("m".into()));
        assert_eq!(classify(400, None, &body(-1013)), VenueError::Refused { code: -1013, message: "m".into() });
        assert_eq!(classify(404, None, "nope"), VenueError::Refused { code: 404, message: "HTTP 404: nope".into() });
    }
}
