//! [`BinanceConfig`]: where the adapter talks to, with which keys, and its limits.

use std::fmt;

/// Production spot REST endpoint.
pub const BASE_URL_LIVE: &str = "https://api.binance.com";
/// The spot test network (separate keys, fake money).
pub const BASE_URL_TESTNET: &str = "https://testnet.binance.vision";
/// Default `recvWindow`: how long after its `timestamp` Binance still accepts a request.
pub const RECV_WINDOW_MS_DEFAULT: u64 = 5_000;
/// Binance refuses a `recvWindow` above one minute.
pub const RECV_WINDOW_MS_MAX: u64 = 60_000;
/// Default limit on one HTTP request (connect + send + response body).
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Default number of retries after an HTTP 429 (so at most `1 + retries` requests).
pub const RETRIES_MAX_DEFAULT: u32 = 3;
/// Default first back-off after a 429 without `Retry-After`; doubled on each retry.
pub const BACKOFF_BASE_MS_DEFAULT: u64 = 500;
/// Default longest wait the adapter sleeps itself; a longer `Retry-After` is handed back
/// to the caller as `RateLimited` at once instead of blocking the request.
pub const BACKOFF_MAX_MS_DEFAULT: u64 = 10_000;

/// Configuration of [`super::BinanceVenue`].
#[derive(Clone, PartialEq, Eq)]
pub struct BinanceConfig {
    /// Scheme, host and optional port, no trailing slash: [`BASE_URL_LIVE`],
    /// [`BASE_URL_TESTNET`], or a local server in tests.
    pub base_url: String,
    pub api_key: String,
    pub api_secret: String,
    pub recv_window_ms: u64,
    pub request_timeout_ms: u64,
    /// Retries after HTTP 429 before giving up with `VenueError::RateLimited`.
    pub retries_max: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
}

impl BinanceConfig {
    /// Production endpoint with the default limits.
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self {
            base_url: BASE_URL_LIVE.to_string(),
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            recv_window_ms: RECV_WINDOW_MS_DEFAULT,
            request_timeout_ms: REQUEST_TIMEOUT_MS_DEFAULT,
            retries_max: RETRIES_MAX_DEFAULT,
            backoff_base_ms: BACKOFF_BASE_MS_DEFAULT,
            backoff_max_ms: BACKOFF_MAX_MS_DEFAULT,
        }
    }

    /// The spot test network with the default limits.
    pub fn testnet(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self { base_url: BASE_URL_TESTNET.to_string(), ..Self::new(api_key, api_secret) }
    }

    /// Checks what would otherwise fail on every request.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError(m.to_string()));
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return err("base_url must start with http:// or https://");
        }
        if self.base_url.ends_with('/') {
            return err("base_url must not end with '/'");
        }
        if self.api_key.is_empty() || self.api_secret.is_empty() {
            return err("api_key and api_secret must not be empty");
        }
        // The key travels in a header: it must be a valid header value.
        if !self.api_key.bytes().all(|b| b.is_ascii_graphic()) {
            return err("api_key must be printable ASCII without spaces");
        }
        if self.recv_window_ms == 0 || self.recv_window_ms > RECV_WINDOW_MS_MAX {
            return err("recv_window_ms must be in 1..=60000");
        }
        if self.request_timeout_ms == 0 {
            return err("request_timeout_ms must be positive");
        }
        if self.backoff_base_ms > self.backoff_max_ms {
            return err("backoff_base_ms must not exceed backoff_max_ms");
        }
        Ok(())
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Binance configuration: {0}")]
pub struct ConfigError(pub String);

/// Masks the key and the secret (logs and panics must never carry them).
impl fmt::Debug for BinanceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &format_args!("***"))
            .field("api_secret", &format_args!("***"))
            .field("recv_window_ms", &self.recv_window_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("retries_max", &self.retries_max)
            .field("backoff_base_ms", &self.backoff_base_ms)
            .field("backoff_max_ms", &self.backoff_max_ms)
            .finish()
    }
}
