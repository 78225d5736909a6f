//! Secrets: API keys (and their [`Role`]s) and NATS credentials, parsed, compared and
//! masked in one place.
//!
//! Why together: every path that could print a secret (Debug, `show`, error messages)
//! goes through the masking functions here, so there is one thing to audit.

use std::collections::BTreeSet;
use std::fmt;

/// Shortest accepted API key: 16 characters.
pub const API_KEY_MIN_LEN: usize = 16;

/// What an API key may do. Ordered: `Viewer < Trader < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read-only: portfolio, results, metrics.
    Viewer,
    /// Viewer plus placing and cancelling orders, running backtests.
    Trader,
    /// Everything, including configuration and model management.
    Admin,
}

impl Role {
    /// Whether a holder of `self` may do what needs `needed` (admin > trader > viewer).
    pub fn allows(&self, needed: Role) -> bool {
        *self >= needed
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Trader => "trader",
            Role::Admin => "admin",
        }
    }

    /// Parses `viewer`, `trader` or `admin`, case-insensitively.
    pub fn parse(text: &str) -> Option<Role> {
        match text.to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "trader" => Some(Role::Trader),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A NATS server list (`nats://user:pass@host:4222,nats://other:4222`).
///
/// A newtype rather than a `String` so that `Debug` and `Display` mask credentials; only
/// [`NatsUrl::expose`] gives the real text, for the one place that connects.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsUrl(pub(crate) String);

impl NatsUrl {
    /// The URL with credentials, for connecting. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NatsUrl({:?})", mask_url_credentials(&self.0))
    }
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_url_credentials(&self.0))
    }
}

/// One API key and its role. `Debug` and `show` name it by its key id, never by any of
/// its characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key: String,
    pub role: Role,
}

impl ApiKey {
    /// Whether `presented` is this key, compared in time independent of where they differ
    /// (the length is not hidden; keys are long and random, so it reveals little).
    pub fn verify(&self, presented: &str) -> bool {
        let (a, b) = (self.key.as_bytes(), presented.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
        diff == 0
    }

    /// The key itself, for handing to a client in a test or a setup tool. Never log this.
    pub fn expose(&self) -> &str {
        &self.key
    }

    /// `key-6fd4a0ed (masked) : trader`: the key id that the access log names too, enough
    /// to tell keys apart, nothing of the key itself.
    pub fn masked(&self) -> String {
        format!("{} (masked) : {}", key_id(&self.key), self.role)
    }

    /// This key's id for logs, metrics and `config show` (see [`key_id`]).
    pub fn id(&self) -> String {
        key_id(&self.key)
    }
}

/// A key's id: `key-` and 8 hex digits of a hash of the key under its own derivation
/// context (not a digest any comparison uses), so it names a key without revealing
/// anything usable about it. The access log, `/metrics` and `config show` use it.
pub fn key_id(key: &str) -> String {
    let h = blake3::derive_key("tradpal 2026-12 api key id for logs", key.as_bytes());
    let hex: String = h[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("key-{hex}")
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey").field("key", &format!("{} (masked)", self.id())).field("role", &self.role).finish()
    }
}

/// A credential for an exchange (API key or secret): `Debug` and `Display` mask it;
/// only [`Secret::expose`] gives the text, for the one place that signs requests.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Printable ASCII without spaces, 1 to 256 characters (it travels in a header or
    /// keys an HMAC).
    pub(crate) fn parse(raw: &str) -> Result<Secret, Reject> {
        let t = raw.trim();
        if (1..=256).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Secret(t.to_string()))
        } else {
            Err(Reject { value: mask_key(raw), expected: InvalidSecret.to_string() })
        }
    }

    /// The credential itself. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_key(&self.0)
    }
}

/// Text refused as a [`Secret`] by `"…".parse::<Secret>()`. It says what was expected
/// and never holds the text, which may be most of a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("1 to 256 printable ASCII characters without spaces")]
pub struct InvalidSecret;

/// `"…".parse::<Secret>()`: the same check as the environment variable's.
impl std::str::FromStr for Secret {
    type Err = InvalidSecret;
    fn from_str(raw: &str) -> Result<Secret, InvalidSecret> {
        Secret::parse(raw).map_err(|_| InvalidSecret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", mask_key(&self.0))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_key(&self.0))
    }
}

/// Nothing of the secret but its length (issue 19: a refused key is never echoed, not
/// even its first characters: a typo'd key is usually one character off a real one).
pub(crate) fn mask_key(key: &str) -> String {
    format!("(masked, {} chars)", key.chars().count())
}

/// One rejected piece of a value: what to show (masked) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    pub value: String,
    pub expected: String,
}

/// Parses `key:role,key:role`. Empty text = no keys. Every bad entry is reported.
pub(crate) fn parse_api_keys(raw: &str) -> Result<Vec<ApiKey>, Vec<Reject>> {
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut keys: Vec<ApiKey> = Vec::new();
    let mut rejects = Vec::new();
    let mut seen = BTreeSet::new();
    for (n, entry) in raw.split(',').map(str::trim).enumerate() {
        match parse_entry(entry) {
            Ok(key) if !seen.insert(key.key.clone()) => rejects.push(Reject {
                value: format!("entry {}: {}:{}", n + 1, mask_key(&key.key), key.role),
                expected: "each key listed once".to_string(),
            }),
            Ok(key) => keys.push(key),
            Err(mut reject) => {
                reject.value = format!("entry {}: {}", n + 1, reject.value);
                rejects.push(reject)
            }
        }
    }
    if rejects.is_empty() {
        Ok(keys)
    } else {
        Err(rejects)
    }
}

fn parse_entry(entry: &str) -> Result<ApiKey, Reject> {
    let shape = "key:role entries separated by commas, role one of viewer, trader, admin";
    if entry.is_empty() {
        return Err(Reject { value: "(empty entry)".to_string(), expected: shape.to_string() });
    }
    let Some((key, role)) = entry.split_once(':') else {
        return Err(Reject { value: mask_key(entry), expected: shape.to_string() });
    };
    let shown = || format!("{}:{role}", mask_key(key));
    if key.len() < API_KEY_MIN_LEN || !key.bytes().all(is_key_byte) {
        return Err(Reject {
            value: shown(),
            expected: format!("a key of at least {API_KEY_MIN_LEN} printable ASCII characters without spaces, ',' or ':'"),
        });
    }
    let Some(role) = Role::parse(role.trim()) else {
        return Err(Reject { value: shown(), expected: "role viewer, trader or admin".to_string() });
    };
    Ok(ApiKey { key: key.to_string(), role })
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b',' && b != b':'
}

/// Text that is not a NATS server list; its text is the form expected (the caller shows
/// the value through [`mask_url_credentials`], since it may carry a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("nats://[user:pass@]host[:port] (or tls://, ws://, wss://), comma-separated for several servers")]
pub(crate) struct InvalidNatsUrl;

/// Parses a comma-separated NATS server list. Empty = none.
pub(crate) fn parse_nats_url(raw: &str) -> Result<Option<NatsUrl>, InvalidNatsUrl> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.split(',').all(|server| valid_server(server.trim())) {
        Ok(Some(NatsUrl(text.to_string())))
    } else {
        Err(InvalidNatsUrl)
    }
}

fn valid_server(server: &str) -> bool {
    let Some((scheme, rest)) = server.split_once("://") else {
        return false;
    };
    let websocket = matches!(scheme, "ws" | "wss");
    if !websocket && !matches!(scheme, "nats" | "tls") {
        return false;
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !path.is_empty() && !websocket {
        return false;
    }
    let host_port = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) if !userinfo.is_empty() => host_port,
        Some(_) => return false,
        None => authority,
    };
    valid_host_port(host_port)
}

fn valid_host_port(text: &str) -> bool {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        (v6, after.strip_prefix(':'))
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
    host_ok && port_ok
}

/// Replaces `user:pass@` (or `token@`) in every server of a URL list with `(masked)@`.
/// Works on invalid text too, because error messages echo what was given.
pub(crate) fn mask_url_credentials(text: &str) -> String {
    text.split(',').map(mask_one).collect::<Vec<_>>().join(",")
}

fn mask_one(server: &str) -> String {
    let start = server.find("://").map_or(0, |i| i + 3);
    let end = server[start..].find('/').map_or(server.len(), |i| start + i);
    match server[start..end].rfind('@') {
        Some(at) => format!("{}(masked){}", &server[..start], &server[start + at..]),
        None => server.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "abcdefghijklmnop";
    const K2: &str = "QRSTUVWXYZ012345-_";

    #[test]
    fn parses_key_role_pairs() {
        let keys = parse_api_keys(&format!(" {K1}:viewer , {K2}:ADMIN")).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!((keys[0].expose(), keys[0].role), (K1, Role::Viewer));
        assert_eq!((keys[1].expose(), keys[1].role), (K2, Role::Admin));
        assert!(parse_api_keys("").unwrap().is_empty());
    }

    #[test]
    fn reports_every_bad_entry_masked() {
        let raw = format!("{K1}:boss,short:admin,{K2},,{K1}:viewer,{K1}:trader");
        let rejects = parse_api_keys(&raw).unwrap_err();
        assert_eq!(rejects.len(), 5, "{rejects:?}");
        for r in &rejects {
            assert!(!r.value.contains(K1) && !r.value.contains(K2) && !r.value.contains("short"), "{r:?}");
        }
        assert_eq!(rejects[0].value, "entry 1: (masked, 16 chars):boss");
        assert_eq!(rejects[1].value, "entry 2: (masked, 5 chars):admin");
        assert_eq!(rejects[4].expected, "each key listed once");
    }

    #[test]
    fn verify_matches_only_the_exact_key() {
        let key = parse_api_keys(&format!("{K1}:trader")).unwrap().remove(0);
        assert!(key.verify(K1));
        assert!(!key.verify("abcdefghijklmnoq"));
        assert!(!key.verify("abcdefghijklmno"));
        assert!(!key.verify(""));
        let id = key_id(K1);
        assert!(id.starts_with("key-") && id.len() == 12, "{id}");
        assert_eq!(format!("{key:?}"), format!(r#"ApiKey {{ key: "{id} (masked)", role: Trader }}"#));
        assert_eq!(key.masked(), format!("{id} (masked) : trader"));
        assert!(!key.masked().contains("abcd"));
    }

    #[test]
    fn nats_urls() {
        for ok in [
            "nats://localhost:4222",
            "nats://127.0.0.1",
            "tls://user:p%40ss@nats.example.com:4222",
            "nats://a:4222, nats://b:4223",
            "wss://host/path",
            "nats://[::1]:4222",
            "nats://token@host",
        ] {
            assert!(parse_nats_url(ok).unwrap().is_some(), "{ok}");
        }
        for bad in ["localhost:4222", "http://x", "nats://", "nats://h:0", "nats://h:99999", "nats://@h", "nats://h/p", "nats://a b"] {
            assert!(parse_nats_url(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_nats_url("  ").unwrap(), None);
    }

    #[test]
    fn masks_credentials_in_every_server() {
        assert_eq!(mask_url_credentials("nats://u:p@a:4222,tls://tok@b,nats://c"), "nats://(masked)@a:4222,tls://(masked)@b,nats://c");
        assert_eq!(mask_url_credentials("garbage u:p@x"), "(masked)@x");
        assert_eq!(mask_url_credentials("wss://h/p@q"), "wss://h/p@q");
    }
}
