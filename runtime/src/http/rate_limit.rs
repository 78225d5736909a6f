//! Token buckets: per API key, per key on the order routes, and per client address for
//! failed authentications.
//!
//! `TRADPAL_RATE_LIMIT` = r requests per second per key, with a burst of 2r. The order
//! routes (`submit-order`, `cancel-order`) draw from a separate, stricter bucket of r/5
//! per key (burst 2r/5), since an order is what costs money when a client loops. A
//! client address whose requests failed authentication (401) gets r/10 failures per
//! second (burst 2r/10), so keys cannot be guessed at line rate. Each rate is at least
//! 1 per second. `TRADPAL_RATE_LIMIT=0` turns limiting off.
//!
//! Clock: the real monotonic clock. This is the HTTP adapter, not a replayed core:
//! nothing here is journaled or decided again in a replay.
//!
//! Memory: at most `rate_keys_max` buckets (addresses are unbounded on the internet).
//! When full, buckets idle long enough to be full again are dropped (forgetting them
//! changes nothing), then the least recently used.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most buckets kept (keys and client addresses together).
pub const RATE_KEYS_MAX: usize = 10_000;
/// The order routes' rate is the key rate divided by this.
pub const ORDER_RATE_DIVISOR: u32 = 5;
/// Failed authentications per address: the key rate divided by this.
pub const AUTH_FAILURE_RATE_DIVISOR: u32 = 10;
/// Burst = rate times this.
pub const BURST_FACTOR: f64 = 2.0;

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Key,
    Orders,
    AuthFailure,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Key => "key",
            Class::Orders => "orders",
            Class::AuthFailure => "auth_failure",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    /// Requests per second per key; 0 = no limit.
    per_sec: u32,
    keys_max: usize,
    buckets: Mutex<HashMap<(Class, String), Bucket>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32, keys_max: usize) -> Self {
        Self { per_sec, keys_max: keys_max.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        self.per_sec > 0
    }

    /// Tokens per second of `class`.
    pub fn rate(&self, class: Class) -> f64 {
        let r = self.per_sec;
        f64::from(match class {
            Class::Key => r,
            Class::Orders => (r / ORDER_RATE_DIVISOR).max(1),
            Class::AuthFailure => (r / AUTH_FAILURE_RATE_DIVISOR).max(1),
        })
    }

    /// Takes one token from `id`'s bucket of `class`, or says how long until one is there.
    pub fn take(&self, class: Class, id: &str, now: Instant) -> Result<(), Duration> {
        self.with_bucket(class, id, now, |b, rate| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                Ok(())
            } else {
                Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
            }
        })
    }

    /// Whether `id`'s bucket of `class` is empty (without taking anything), and for how long.
    pub fn blocked(&self, class: Class, id: &str, now: Instant) -> Option<Duration> {
        self.with_bucket(class, id, now, |b, rate| (b.tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - b.tokens) / rate)))
    }

    /// Charges one token to `id`'s bucket of `class` (down to zero at most): a failure
    /// known only after the request ran.
    pub fn charge(&self, class: Class, id: &str, now: Instant) {
        self.with_bucket(class, id, now, |b, _| b.tokens = (b.tokens - 1.0).max(0.0));
    }

    fn with_bucket<T>(&self, class: Class, id: &str, now: Instant, f: impl FnOnce(&mut Bucket, f64) -> T) -> T {
        let rate = self.rate(class);
        let burst = rate * BURST_FACTOR;
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let key = (class, id.to_string());
        if !map.contains_key(&key) && map.len() >= self.keys_max {
            self.evict(&mut map, now);
        }
        let b = map.entry(key).or_insert(Bucket { tokens: burst, last: now });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        f(b, rate)
    }

    /// Drops buckets that would be full by now; if none, the least recently used one.
    fn evict(&self, map: &mut HashMap<(Class, String), Bucket>, now: Instant) {
        let before = map.len();
        map.retain(|(class, _), b| {
            let rate = self.rate(*class);
            b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < rate * BURST_FACTOR
        });
        if map.len() == before {
            if let Some(oldest) = map.iter().min_by_key(|(_, b)| b.last).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap().len()
    }
}

#[cfg(test)]
// Tests build instants around one real reading; the buckets only see the instants given.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_then_refill() {
        let l = RateLimiter::new(10, 100);
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(l.take(Class::Key, "a", t0).is_ok(), "token {i} of the burst of 20");
        }
        let wait = l.take(Class::Key, "a", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        assert!(l.take(Class::Key, "b", t0).is_ok(), "another key has its own bucket");
        assert!(l.take(Class::Key, "a", t0 + Duration::from_millis(100)).is_ok());
        assert!(l.take(Class::Key, "a", t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn orders_and_auth_failures_are_stricter_and_at_least_one() {
        let l = RateLimiter::new(50, 100);
        assert_eq!(l.rate(Class::Orders), 10.0);
        assert_eq!(l.rate(Class::AuthFailure), 5.0);
        let slow = RateLimiter::new(2, 100);
        assert_eq!(slow.rate(Class::Orders), 1.0);
        assert_eq!(slow.rate(Class::AuthFailure), 1.0);
        let t0 = Instant::now();
        assert_eq!(slow.blocked(Class::AuthFailure, "1.2.3.4", t0), None);
        slow.charge(Class::AuthFailure, "1.2.3.4", t0);
        slow.charge(Class::AuthFailure, "1.2.3.4", t0);
        assert!(slow.blocked(Class::AuthFailure, "1.2.3.4", t0).is_some());
    }

    #[test]
    fn the_map_is_bounded_and_full_idle_buckets_go_first() {
        let l = RateLimiter::new(1, 3);
        let t0 = Instant::now();
        l.take(Class::Key, "busy", t0).unwrap();
        l.take(Class::Key, "idle", t0 - Duration::from_secs(10)).unwrap();
        l.take(Class::Key, "c", t0).unwrap();
        l.take(Class::Key, "d", t0).unwrap();
        assert_eq!(l.len(), 3);
        // "idle" was dropped (full again), not "busy": busy's spent token is remembered.
        l.take(Class::Key, "busy", t0).unwrap();
        assert!(l.take(Class::Key, "busy", t0).is_err());
        for i in 0..50 {
            l.take(Class::Key, &format!("k{i}"), t0).unwrap();
        }
        assert_eq!(l.len(), 3);
    }
}
