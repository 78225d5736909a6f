//! The dashboard's login sessions: a random token in an HttpOnly, SameSite=Strict
//! cookie stands for the API key that logged in, so the page never holds the key.
//!
//! The token is 256 bits from the OS CSPRNG; the map is keyed by its blake3 digest, so
//! a memory dump does not hand out live cookies. Sessions end at `UI_SESSION_TTL_S`, at
//! logout, or when the map is full (`UI_SESSIONS_MAX`: the one closest to expiry goes).
//!
//! Why here and not in `ui/`: a session cookie is a credential `auth.rs` accepts, and
//! `ui/` (login, logout) builds on `auth.rs`; with the sessions beside both, the
//! dependencies run one way (`ui` -> `auth` -> `ui_sessions`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tradpal_config::Role;

/// The cookie's name.
pub const COOKIE: &str = "tradpal_ui";
/// The header cookie-authenticated writes must carry (a cross-site form cannot send it;
/// see `ui/mod.rs`).
pub const UI_HEADER: &str = "x-tradpal-ui";
/// How long a dashboard login lasts.
pub const UI_SESSION_TTL_S: u64 = 8 * 3600;
/// Dashboard sessions held at once; past it the one closest to expiry is dropped.
pub const UI_SESSIONS_MAX: usize = 1_000;

/// Who a cookie stands for.
#[derive(Debug, Clone)]
pub struct UiLogin {
    pub role: Role,
    /// The key's id (`keys::key_id`), for the access log; never the key.
    pub key_id: String,
    expires: Instant,
}

impl UiLogin {
    /// Seconds until this login expires.
    pub fn expires_in_s(&self, now: Instant) -> u64 {
        self.expires.saturating_duration_since(now).as_secs()
    }
}

pub struct UiSessions {
    by_digest: Mutex<HashMap<[u8; 32], UiLogin>>,
    ttl: Duration,
    max: usize,
}

impl Default for UiSessions {
    fn default() -> Self {
        Self::new(Duration::from_secs(UI_SESSION_TTL_S), UI_SESSIONS_MAX)
    }
}

fn digest(token: &str) -> [u8; 32] {
    blake3::derive_key("tradpal 2026-12 dashboard session", token.as_bytes())
}

impl UiSessions {
    pub fn new(ttl: Duration, max: usize) -> Self {
        assert!(max > 0, "UiSessions needs room for one session");
        Self { by_digest: Mutex::new(HashMap::new()), ttl, max }
    }

    /// A new session for `role`; the token for the cookie.
    pub fn open(&self, role: Role, key_id: String, now: Instant) -> String {
        // A session token must be unpredictable: the OS-seeded CSPRNG, never a fixed seed.
        #[allow(clippy::disallowed_methods)]
        let token = format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
        let mut map = self.by_digest.lock().expect("ui sessions lock poisoned");
        map.retain(|_, s| s.expires > now);
        while map.len() >= self.max {
            let oldest = map.iter().min_by_key(|(_, s)| s.expires).map(|(d, _)| *d);
            match oldest {
                Some(d) => map.remove(&d),
                None => break,
            };
        }
        map.insert(digest(&token), UiLogin { role, key_id, expires: now + self.ttl });
        token
    }

    /// The live login behind `token`, if any.
    pub fn get(&self, token: &str, now: Instant) -> Option<UiLogin> {
        let map = self.by_digest.lock().expect("ui sessions lock poisoned");
        map.get(&digest(token)).filter(|s| s.expires > now).cloned()
    }

    pub fn close(&self, token: &str) {
        self.by_digest.lock().expect("ui sessions lock poisoned").remove(&digest(token));
    }

    pub fn len(&self) -> usize {
        self.by_digest.lock().expect("ui sessions lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The dashboard token in a `Cookie` header, if any.
pub fn cookie_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn sessions_open_resolve_expire_and_stay_bounded() {
        let s = UiSessions::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        let a = s.open(Role::Viewer, "key-a".into(), t0);
        assert_eq!(a.len(), 64);
        assert_eq!(s.get(&a, t0).unwrap().role, Role::Viewer);
        assert!(s.get(&a, t0 + Duration::from_secs(11)).is_none(), "expired");
        assert!(s.get("not-a-token", t0).is_none());
        let b = s.open(Role::Trader, "key-b".into(), t0 + Duration::from_secs(1));
        let c = s.open(Role::Admin, "key-c".into(), t0 + Duration::from_secs(2));
        assert_eq!(s.len(), 2, "bounded by max");
        assert!(s.get(&a, t0 + Duration::from_secs(2)).is_none(), "the oldest went");
        assert!(s.get(&b, t0 + Duration::from_secs(2)).is_some() && s.get(&c, t0 + Duration::from_secs(2)).is_some());
        s.close(&b);
        assert!(s.get(&b, t0 + Duration::from_secs(2)).is_none());
    }

    #[test]
    fn cookie_header_parsing() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::COOKIE, "a=1; tradpal_ui=abc ; b=2".parse().unwrap());
        assert_eq!(cookie_token(&h), Some("abc"));
        h.insert(axum::http::header::COOKIE, "tradpal_uix=1".parse().unwrap());
        assert_eq!(cookie_token(&h), None);
    }
}
