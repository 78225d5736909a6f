//! HTTPS for the API: a rustls server configuration from `TRADPAL_TLS_CERT` and
//! `TRADPAL_TLS_KEY` (PEM). Loaded before anything starts, so a missing, unreadable or
//! mismatched file is a start-up error naming the file, not a failed handshake later.
//! The crypto provider is ring (as for the NATS and HTTP clients; no aws-lc build).

pub use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TRADPAL_TLS_CERT and TRADPAL_TLS_KEY go together: {missing} is not set")]
    Half { missing: &'static str },
    #[error("cannot read the TLS {what} {path}: {source}")]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the TLS {what} {path} holds no PEM {expected}")]
    Empty { what: &'static str, path: PathBuf, expected: &'static str },
    #[error("the TLS {what} {path} is not valid PEM: {reason}")]
    Pem { what: &'static str, path: PathBuf, reason: String },
    #[error("the TLS key {key} does not fit the certificate {cert}: {reason}")]
    Mismatch { cert: PathBuf, key: PathBuf, reason: String },
}

/// The server configuration when both files are set; `None` when neither is.
pub fn from_settings(settings: &tradpal_config::Settings) -> Result<Option<Arc<rustls::ServerConfig>>, TlsError> {
    match (&settings.ops.tls_cert, &settings.ops.tls_key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsError::Half { missing: "TRADPAL_TLS_KEY" }),
        (None, Some(_)) => Err(TlsError::Half { missing: "TRADPAL_TLS_CERT" }),
        (Some(cert), Some(key)) => server_config(cert, key).map(Some),
    }
}

pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read = |what, path: &Path| std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.to_path_buf(), source });
    let cert_pem = read("certificate", cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<Vec<_>, _>>().map_err(|e| TlsError::Pem {
        what: "certificate",
        path: cert.to_path_buf(),
        reason: e.to_string(),
    })?;
    if chain.is_empty() {
        return Err(TlsError::Empty { what: "certificate", path: cert.to_path_buf(), expected: "CERTIFICATE block" });
    }
    let key_pem = read("key", key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            TlsError::Empty { what: "key", path: key.to_path_buf(), expected: "PRIVATE KEY block" }
        }
        other => TlsError::Pem { what: "key", path: key.to_path_buf(), reason: other.to_string() },
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |e: rustls::Error| TlsError::Mismatch { cert: cert.to_path_buf(), key: key.to_path_buf(), reason: e.to_string() };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(mismatch)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves the API over HTTPS on `listener` until `shutdown` resolves (then lets requests
/// in flight finish for up to [`crate::http::https::SHUTDOWN_GRACE_MS`]).
pub async fn serve(
    listener: std::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    state: crate::http::AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), crate::RuntimeError> {
    crate::http::https::serve_router(listener, config, crate::http::router(state), shutdown).await.map_err(crate::RuntimeError::Serve)
}
