//! API keys: who may call what.
//!
//! Keys come from `TRADPAL_API_KEYS`. When none are configured and the service listens
//! on loopback only, it generates one admin key and keeps it in `<data dir>/admin.key`
//! (mode 0600), so the embedded default is usable (`Authorization: Bearer $(cat ...)`)
//! and still never open. On a non-loopback address the service refuses to start
//! without configured keys.
//!
//! Comparison: the presented key and every known key are hashed (blake3) and the
//! 32-byte digests compared with `subtle`, all keys every time, so neither timing nor
//! length says how close a guess was.

use crate::secret_file::{load_or_generate, SecretFileError};
use crate::tokens::{TokenError, TokenIssuer};
use std::path::PathBuf;
use subtle::ConstantTimeEq;
use tradpal_config::{Role, Settings};

/// File name of the generated admin key inside the data directory.
pub const GENERATED_KEY_FILE: &str = "admin.key";

#[derive(Clone)]
pub struct KeyRing {
    entries: Vec<([u8; 32], Role)>,
    /// The key ids of the configured keys (a token names its key by id; a token whose
    /// key is gone is refused).
    ids: std::collections::BTreeSet<String>,
    /// Set when the admin key was generated (not configured): where it is stored.
    pub generated_key_file: Option<PathBuf>,
    /// Signs and checks API tokens; `None` in rings built from bare keys (tests).
    pub tokens: Option<std::sync::Arc<TokenIssuer>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({} keys)", self.entries.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("refusing to listen on {addr} without API keys: set TRADPAL_API_KEYS (key:role,...) or listen on 127.0.0.1")]
    OpenNonLoopback { addr: String },
    /// The generated admin key's file (or the token secret's: [`TokenIssuer::for_settings`]).
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
}

fn digest(key: &str) -> [u8; 32] {
    *blake3::hash(key.as_bytes()).as_bytes()
}

impl KeyRing {
    pub fn from_keys(keys: impl IntoIterator<Item = (String, Role)>) -> Self {
        let keys: Vec<(String, Role)> = keys.into_iter().collect();
        Self {
            entries: keys.iter().map(|(k, r)| (digest(k), *r)).collect(),
            ids: keys.iter().map(|(k, _)| key_id(k)).collect(),
            generated_key_file: None,
            tokens: None,
        }
    }

    /// The configured keys, or (loopback only) the generated admin key; and the token
    /// issuer (its secret from the environment or the data directory).
    pub fn for_settings(settings: &Settings) -> Result<Self, KeyError> {
        let mut ring = Self::keys_for_settings(settings)?;
        ring.tokens = Some(std::sync::Arc::new(TokenIssuer::for_settings(settings)?));
        Ok(ring)
    }

    /// The role a token grants, if it is valid now and its key is still configured.
    pub fn role_of_token(&self, token: &str, now: u64) -> Result<(String, Role), TokenError> {
        let issuer = self.tokens.as_ref().ok_or_else(|| TokenError::Malformed("tokens are not enabled".into()))?;
        let (claims, role) = issuer.verify(token, now)?;
        if !self.ids.contains(&claims.sub) {
            return Err(TokenError::Revoked);
        }
        Ok((claims.sub, role))
    }

    fn keys_for_settings(settings: &Settings) -> Result<Self, KeyError> {
        if !settings.api_keys.is_empty() {
            return Ok(Self::from_keys(settings.api_keys.iter().map(|k| (k.expose().to_string(), k.role))));
        }
        if !settings.service.is_loopback() {
            return Err(KeyError::OpenNonLoopback { addr: settings.service.bind_addr() });
        }
        let path = settings.data_dir.join(GENERATED_KEY_FILE);
        let key = load_or_generate(&path)?;
        let mut ring = Self::from_keys([(key, Role::Admin)]);
        ring.generated_key_file = Some(path);
        Ok(ring)
    }

    /// The role of `presented`, checking every key in constant time.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let d = digest(presented);
        let mut found = None;
        for (known, role) in &self.entries {
            if bool::from(known.ct_eq(&d)) {
                found = Some(*role);
            }
        }
        found
    }
}

/// A key's id for logs and metrics: `key-` and 8 hex digits of a hash of the key under
/// its own derivation context (not the digest compared above), so it names a key without
/// revealing anything usable about it.
pub fn key_id(presented: &str) -> String {
    tradpal_config::key_id(presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_resolve_and_strangers_do_not() {
        let ring = KeyRing::from_keys([("a".repeat(20), Role::Viewer), ("b".repeat(20), Role::Trader)]);
        assert_eq!(ring.role_of(&"a".repeat(20)), Some(Role::Viewer));
        assert_eq!(ring.role_of(&"b".repeat(20)), Some(Role::Trader));
        assert_eq!(ring.role_of(&"a".repeat(19)), None);
        assert_eq!(ring.role_of(""), None);
        let id = key_id(&"a".repeat(20));
        assert_eq!(id, key_id(&"a".repeat(20)));
        assert_ne!(id, key_id(&"b".repeat(20)));
        assert!(id.starts_with("key-") && id.len() == 12 && !id.contains("aaaa"), "{id}");
    }
}
