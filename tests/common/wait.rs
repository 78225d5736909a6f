//! Waiting on a condition instead of sleeping (issue 23): a fixed sleep is either too
//! short on a loaded machine (a flaky failure) or longer than needed everywhere else.
//! Every wait here polls the thing it waits for, gives up after a named limit, and fails
//! saying what it waited for and what it saw last.
//!
//! A test that must show that something does *not* happen waits for a later event that
//! must come after it (the next alert delivered in order, a queue drained), then checks.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a wait looks again: short, so a test goes on soon after the condition holds,
/// long enough not to busy-loop the (shared, 2-core) test machine.
pub const POLL_MS: u64 = 20;

/// Polls `check` every [`POLL_MS`] until it gives `Ok`; after `limit_ms` it panics with
/// `what` and the last `Err` (what the test saw instead).
pub async fn wait_until<T, F, Fut>(what: &str, limit_ms: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_millis(limit_ms);
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(last) => last,
        };
        assert!(Instant::now() < deadline, "timed out after {limit_ms} ms waiting for {what}; last seen: {last}");
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
}

/// [`wait_until`] for blocking code (the harness's process start and stop, outside a
/// runtime).
pub fn wait_until_blocking<T>(what: &str, limit_ms: u64, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_millis(limit_ms);
    loop {
        let last = match check() {
            Ok(v) => return v,
            Err(last) => last,
        };
        assert!(Instant::now() < deadline, "timed out after {limit_ms} ms waiting for {what}; last seen: {last}");
        std::thread::sleep(Duration::from_millis(POLL_MS));
    }
}

/// `Ok(())` when `holds`, else `Err(seen)`: the usual shape of a check.
pub fn holds(holds: bool, seen: impl FnOnce() -> String) -> Result<(), String> {
    if holds {
        Ok(())
    } else {
        Err(seen())
    }
}
