//! POSTs alerts to `TRADPAL_ALERT_WEBHOOK` as JSON, one at a time, in order.
//!
//! A 2xx answer delivers it. A network error, a timeout, 408, 429 or a 5xx is retried
//! after [`WEBHOOK_BACKOFF_MS`], doubling, up to [`WEBHOOK_ATTEMPTS_MAX`] attempts in
//! all; any other 4xx is final (the receiver refuses this alert; sending it again would
//! not help). Every attempt carries the same `X-Tradpal-Alert-Id`, so a receiver that
//! answered 2xx but was not heard can drop the repeat. Given up: logged at error.

use super::Alert;
use std::time::Duration;
use tokio::sync::mpsc;

/// Alerts waiting for the webhook; past it the dispatcher drops (and logs) new ones.
pub const WEBHOOK_QUEUE_MAX: usize = 256;
/// Attempts per alert, the first included.
pub const WEBHOOK_ATTEMPTS_MAX: u32 = 5;
/// Pause before the first retry; doubles each time (250, 500, 1000, 2000 ms).
pub const WEBHOOK_BACKOFF_MS: u64 = 250;
/// One attempt's deadline (connect + answer).
pub const WEBHOOK_TIMEOUT_MS: u64 = 5_000;

pub async fn deliver(url: String, mut rx: mpsc::Receiver<Alert>) {
    let client = match reqwest::Client::builder().timeout(Duration::from_millis(WEBHOOK_TIMEOUT_MS)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target: "alert", error = %e, "cannot build the webhook client: alerts are not POSTed");
            return;
        }
    };
    while let Some(alert) = rx.recv().await {
        send(&client, &url, &alert).await;
    }
}

/// Whether an answer (or its absence) is worth another attempt.
fn retryable(status: Option<reqwest::StatusCode>) -> bool {
    status.is_none_or(|s| s.is_server_error() || s.as_u16() == 408 || s.as_u16() == 429)
}

async fn send(client: &reqwest::Client, url: &str, alert: &Alert) {
    let mut backoff = Duration::from_millis(WEBHOOK_BACKOFF_MS);
    for attempt in 1..=WEBHOOK_ATTEMPTS_MAX {
        let sent = client.post(url).header("X-Tradpal-Alert-Id", &alert.id).json(alert).send().await;
        let (status, error) = match sent {
            Ok(r) if r.status().is_success() => {
                tracing::info!(target: "alert", id = %alert.id, attempt, "alert delivered to the webhook");
                return;
            }
            Ok(r) => (Some(r.status()), format!("answered {}", r.status())),
            // Never the URL itself: it may carry a token.
            Err(e) => (None, if e.is_timeout() { "timed out".to_string() } else { "unreachable".to_string() }),
        };
        if !retryable(status) || attempt == WEBHOOK_ATTEMPTS_MAX {
            tracing::error!(target: "alert", id = %alert.id, attempt, %error, "the webhook did not take the alert; giving up");
            return;
        }
        tracing::warn!(target: "alert", id = %alert.id, attempt, %error, retry_in_ms = backoff.as_millis() as u64, "webhook attempt failed");
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_answers_are_retried() {
        assert!(retryable(None));
        for s in [500, 503, 408, 429] {
            assert!(retryable(Some(reqwest::StatusCode::from_u16(s).unwrap())), "{s}");
        }
        for s in [400, 401, 404, 410] {
            assert!(!retryable(Some(reqwest::StatusCode::from_u16(s).unwrap())), "{s}");
        }
    }
}
