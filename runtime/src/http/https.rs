//! Serving a router over HTTPS (axum-server with rustls): the API's router
//! (`crate::tls::serve`) and a standby's (`standby.rs`) alike.
//!
//! Why here and not in `tls.rs`: `tls::serve` serves the API's router, so `tls` depends
//! on `http`; the standby, in `http`, needs the same server loop, which therefore lives
//! on this side, and `tls` keeps only the certificate loading and the API's entry point.

use std::sync::Arc;

/// How long requests in flight may finish after a stop signal (HTTPS).
pub const SHUTDOWN_GRACE_MS: u64 = 10_000;

/// Serves `app` over HTTPS (peer addresses kept for the rate limiter) until `shutdown`
/// resolves, then lets requests in flight finish for up to [`SHUTDOWN_GRACE_MS`].
pub async fn serve_router(
    listener: std::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_millis(SHUTDOWN_GRACE_MS)));
    });
    axum_server::from_tcp_rustls(listener, axum_server::tls_rustls::RustlsConfig::from_config(config))
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
}
