//! API tokens (issue 19): short-lived HS256 JWTs that stand in for an API key.
//!
//! `POST /api/auth/token` with a key answers a token carrying the key's role, its key id
//! (`sub`, the same id the access log shows) and an expiry (`TRADPAL_JWT_TTL`, default
//! 900 s, at most [`tradpal_config::JWT_TTL_MAX_SECS`]). The token is accepted wherever a
//! key is, with the same role. Why tokens at all: a client (a browser, a script on a
//! shared box) can hold a credential that stops working by itself, while the long-lived
//! key stays with whoever provisions it.
//!
//! Checks, in this order, each with its own 401 message: the header's `alg` must be
//! HS256 (read before any signature check, so `alg: none` and algorithm confusion are
//! refused by name), then the signature, then the issuer, then the expiry (no leeway: one
//! process signs and checks, on one clock), then the key must still be configured
//! (removing a key and restarting revokes its tokens; there is no other revocation, which
//! is why lifetimes are short).
//!
//! The secret: `TRADPAL_JWT_SECRET`, or generated into `<data dir>/jwt.secret` (mode 0600)
//! on first start and reused after. Replicated nodes must share `TRADPAL_JWT_SECRET`, or a
//! token from the old leader is refused by the new one.

use crate::secret_file::{load_or_generate, SecretFileError};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tradpal_config::{Role, Settings};

/// File name of the generated signing secret inside the data directory.
pub const JWT_SECRET_FILE: &str = "jwt.secret";
/// The `iss` claim of every token this service signs (and the only one it accepts).
pub const ISSUER: &str = "tradpal";
/// Longest token text looked at; anything longer is refused unread.
pub const TOKEN_BYTES_MAX: usize = 4096;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The key id of the API key it was issued for (never the key).
    pub sub: String,
    pub role: String,
    pub iss: String,
    /// Issued at and expiry, Unix seconds.
    pub iat: u64,
    pub exp: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired at {exp} (Unix seconds): get a new one from POST /api/auth/token")]
    Expired { exp: u64 },
    #[error("token signature does not match: the token was altered or signed with another secret")]
    BadSignature,
    #[error("token algorithm `{alg}` is not accepted: only HS256 tokens issued by POST /api/auth/token are")]
    Algorithm { alg: String },
    #[error("token was issued for a key that is no longer configured (revoked)")]
    Revoked,
    #[error("malformed token: {0}")]
    Malformed(String),
}

/// Signs and checks tokens with one HS256 secret.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenIssuer(ttl {} s)", self.ttl.as_secs())
    }
}

impl TokenIssuer {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the caller's clock, after the signature.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.set_issuer(&[ISSUER]);
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation, ttl }
    }

    /// `TRADPAL_JWT_SECRET`, or the generated `<data dir>/jwt.secret`.
    pub fn for_settings(settings: &Settings) -> Result<Self, SecretFileError> {
        let secret = match &settings.ops.jwt_secret {
            Some(s) => s.expose().to_string(),
            None => load_or_generate(&settings.data_dir.join(JWT_SECRET_FILE))?,
        };
        Ok(Self::new(secret.as_bytes(), settings.ops.jwt_ttl))
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `key_id` with `role`, valid from `now` (Unix seconds) for the TTL.
    pub fn issue(&self, role: Role, key_id: &str, now: u64) -> Result<(String, Claims), TokenError> {
        let claims = Claims {
            sub: key_id.to_string(),
            role: role.as_str().to_string(),
            iss: ISSUER.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Malformed(format!("cannot sign: {e}")))?;
        Ok((token, claims))
    }

    /// The claims of a valid token at `now` (Unix seconds); see the module docs for the
    /// order of the checks. Whether the key is still configured is the caller's check.
    pub fn verify(&self, token: &str, now: u64) -> Result<(Claims, Role), TokenError> {
        if token.len() > TOKEN_BYTES_MAX {
            return Err(TokenError::Malformed(format!("longer than {TOKEN_BYTES_MAX} bytes")));
        }
        let alg = header_alg(token)?;
        if alg != "HS256" {
            return Err(TokenError::Algorithm { alg });
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
            _ => TokenError::Malformed(e.to_string()),
        })?;
        let claims = data.claims;
        if claims.exp <= now {
            return Err(TokenError::Expired { exp: claims.exp });
        }
        let role = Role::parse(&claims.role).ok_or_else(|| TokenError::Malformed(format!("unknown role {:?}", claims.role)))?;
        Ok((claims, role))
    }
}

/// The header's `alg`, read without trusting anything else in the token.
fn header_alg(token: &str) -> Result<String, TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(TokenError::Malformed("a JWT has three dot-separated parts".into()));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .map_err(|_| TokenError::Malformed("the header is not base64url".into()))?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed("the header is not JSON".into()))?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some(alg) => Ok(alg.to_string()),
        None => Err(TokenError::Malformed("the header has no `alg`".into())),
    }
}

/// Whether a presented credential is a JWT rather than an API key: a JSON header
/// (`eyJ`) and three parts. API keys are checked as keys otherwise.
pub fn looks_like_jwt(presented: &str) -> bool {
    presented.starts_with("eyJ") && presented.bytes().filter(|b| *b == b'.').count() == 2
}

/// Now, in Unix seconds. Token expiry is an edge concern (nothing here is journaled or
/// replayed), so the adapter reads the system clock.
#[allow(clippy::disallowed_methods)]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60))
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let i = issuer();
        let (token, claims) = i.issue(Role::Trader, "key-01234567", 1_000).unwrap();
        assert!(looks_like_jwt(&token));
        assert_eq!(claims.exp, 1_060);
        let (got, role) = i.verify(&token, 1_059).unwrap();
        assert_eq!((got.sub.as_str(), role), ("key-01234567", Role::Trader));
        assert_eq!(i.verify(&token, 1_060), Err(TokenError::Expired { exp: 1_060 }));
    }

    #[test]
    fn another_secret_tampering_and_alg_none_are_refused_by_name() {
        let (token, _) = issuer().issue(Role::Viewer, "key-01234567", 1_000).unwrap();
        let other = TokenIssuer::new(b"another secret of 32 bytes at least!", Duration::from_secs(60));
        assert_eq!(other.verify(&token, 1_001), Err(TokenError::BadSignature));
        let parts: Vec<&str> = token.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let admin = b64.encode(r#"{"sub":"key-01234567","role":"admin","iss":"tradpal","iat":1000,"exp":9999999999}"#);
        let tampered = format!("{}.{admin}.{}", parts[0], parts[2]);
        assert_eq!(issuer().verify(&tampered, 1_001), Err(TokenError::BadSignature));
        let none = format!("{}.{admin}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(issuer().verify(&none, 1_001), Err(TokenError::Algorithm { alg: "none".into() }));
        assert!(matches!(issuer().verify("eyJ.x.y", 1), Err(TokenError::Malformed(_))));
        assert!(!looks_like_jwt("admin-key-0123456789abcdef"));
    }
}
