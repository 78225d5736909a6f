//! `tradpal serve`: opens the journal in the data directory, starts the supervision
//! tree and serves the HTTP API until SIGINT/SIGTERM, then shuts down in order.

use super::{load_settings, SettingsArgs};
use anyhow::Context;
use std::process::ExitCode;
use tradpal_runtime::http::{self, AppState};
use tradpal_runtime::keys::KeyRing;
use tradpal_runtime::{logging, Runtime, RuntimeOptions};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Listen address; overrides TRADING_SERVICE_HOST.
    #[arg(long)]
    pub host: Option<String>,
    /// Listen port; overrides TRADING_SERVICE_PORT (0 picks a free port).
    #[arg(long)]
    pub port: Option<u16>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut settings = match load_settings(&args.settings) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if let Some(host) = args.host {
        settings.service.host = host;
    }
    if let Some(port) = args.port {
        settings.service.port = port;
    }
    logging::init(&settings.log);
    for w in settings.warnings() {
        tracing::warn!("{w}");
    }
    let keys = match KeyRing::for_settings(&settings) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    // Paper trading off: refuse to start without a reachable configuration for the venue.
    if let Err(e) = tradpal_runtime::service::live_venue(&settings, std::sync::Arc::new(tradpal_runtime::clock::WallClock)) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    rt.block_on(serve(settings, keys))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: tradpal_config::Settings, keys: KeyRing) -> anyhow::Result<()> {
    let addr = settings.service.bind_addr();
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let runtime = Runtime::start(settings, RuntimeOptions::default()).await?;
    if let Some(path) = &keys.generated_key_file {
        tracing::info!(key_file = %path.display(), "no TRADPAL_API_KEYS configured: using the generated admin key in this file");
    }
    let state = AppState::new(&runtime, keys);
    tracing::info!(%local, data_dir = %runtime.settings.data_dir.display(), "tradpal listening");
    // One line on stdout that scripts and tests can wait for.
    println!("tradpal listening on http://{local}");
    let fatal = runtime.services.fatal.clone();
    let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel::<String>();
    let stop = async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            why = fatal.raised() => { let _ = fatal_tx.send(why); }
        }
    };
    let served = http::serve(listener, state, stop).await;
    tracing::info!("shutting down");
    runtime.shutdown().await;
    served?;
    if let Ok(why) = fatal_rx.await {
        anyhow::bail!("stopped on a fatal journal error: {why}");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
