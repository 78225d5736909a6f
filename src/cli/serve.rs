//! `tradpal serve`: opens the journal in the data directory, starts the supervision
//! tree and serves the HTTP API until SIGINT/SIGTERM, then shuts down in order.

use super::{load_settings, SettingsArgs};
use anyhow::Context;
use std::process::ExitCode;
use tradpal_actors::FatalSignal;
use tradpal_runtime::cluster::node::Leadership;
use tradpal_runtime::cluster::node::Node;
use tradpal_runtime::cluster::{ClusterError, ClusterState};
use tradpal_runtime::http::{self, standby, AppState};
use tradpal_runtime::keys::KeyRing;
use tradpal_runtime::service::open_journal;
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
    /// Start even though the journal ends before its acknowledged high-water mark
    /// (acknowledged records are missing; `tradpal journal verify` names them). The
    /// loss is journaled (`journal_loss_accepted`) and the mark lowered to the journal's
    /// end. Without this flag such a journal is refused (exit 1, the gap named).
    #[arg(long)]
    pub accept_journal_loss: bool,
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
    let (telemetry, keys, tls) = match prepare(&settings) {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    let served = rt.block_on(serve(settings, keys, tls, args.accept_journal_loss));
    drop(rt);
    // After the runtime: the last spans (the shutdown's own) are flushed from this thread.
    telemetry.shutdown();
    served?;
    Ok(ExitCode::SUCCESS)
}

type Tls = Option<std::sync::Arc<tradpal_runtime::tls::ServerConfig>>;

/// What is set up and checked before anything starts: traces and logging, the keys, the
/// TLS files, the node and venue settings. An error here is invalid configuration (exit
/// code 2), named.
fn prepare(settings: &tradpal_config::Settings) -> anyhow::Result<(tradpal_runtime::telemetry::Telemetry, KeyRing, Tls)> {
    // OpenTelemetry traces: the standard OTEL_* variables, off without an endpoint.
    let otel = tradpal_runtime::telemetry::OtelSettings::from_env().map_err(anyhow::Error::msg)?;
    let telemetry = logging::init(&settings.log, otel.as_ref()).map_err(anyhow::Error::msg)?;
    if let Some(o) = &otel {
        tracing::info!(endpoint = %o.endpoint, protocol = ?o.protocol, service = %o.service_name, "exporting traces over OTLP");
    }
    for w in settings.warnings() {
        tracing::warn!("{w}");
    }
    let keys = KeyRing::for_settings(settings).map_err(anyhow::Error::msg)?;
    // Loaded before anything starts: a bad certificate or key is a start-up error.
    let tls = tradpal_runtime::tls::from_settings(settings).map_err(anyhow::Error::msg)?;
    if tls.is_none() && !settings.service.is_loopback() {
        tracing::warn!(
            addr = %settings.service.bind_addr(),
            "serving plain HTTP on a non-loopback address: API keys, tokens and orders cross the network unencrypted, \
             readable and replayable by anyone on the path; set TRADPAL_TLS_CERT and TRADPAL_TLS_KEY (or put a TLS proxy in front)"
        );
    }
    if settings.node.is_some() && settings.nats_url.is_none() {
        anyhow::bail!("TRADPAL_NODE needs NATS_URL: replicated nodes elect their leader and follow its journal over NATS");
    }
    // Paper trading off: refuse to start without a reachable configuration for the venue.
    tradpal_runtime::service::live_venue(settings, std::sync::Arc::new(tradpal_runtime::clock::WallClock)).map_err(anyhow::Error::msg)?;
    Ok((telemetry, keys, tls))
}

async fn serve(settings: tradpal_config::Settings, keys: KeyRing, tls: Tls, accept_journal_loss: bool) -> anyhow::Result<()> {
    let addr = settings.service.bind_addr();
    let listener = std::net::TcpListener::bind(&addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let fatal = FatalSignal::default();
    // One watch of SIGTERM / Ctrl-C for the whole life of the process: a signal that
    // arrives while a standby is being promoted (between standing by and serving) must
    // stop the leader it becomes, not be lost between two listeners.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let (journal, recovery) = open_journal(&settings, accept_journal_loss).await?;
    let (journal, leadership) = match take_part(&settings, &listener, local, journal, &fatal, &tls, stop_rx.clone()).await? {
        Part::Alone(journal) => (journal, None),
        Part::Leading(journal, leadership, state) => (journal, Some((*leadership, state))),
        Part::Stopped => return Ok(()),
    };
    let runtime = Runtime::start_with(settings, RuntimeOptions::default(), journal, recovery, fatal.clone()).await?;
    if let Some(path) = &keys.generated_key_file {
        tracing::info!(key_file = %path.display(), "no TRADPAL_API_KEYS configured: using the generated admin key in this file");
    }
    let mut state = AppState::new(&runtime, keys);
    state.cluster = leadership.as_ref().map(|(_, s)| s.clone());
    tracing::info!(%local, data_dir = %runtime.settings.data_dir.display(), "tradpal listening");
    // One line on stdout that scripts and tests can wait for.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("tradpal listening on {scheme}://{local}");
    let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel::<String>();
    let mut stop_rx = stop_rx;
    let stop = async move {
        tokio::select! {
            _ = stop_rx.wait_for(|stop| *stop) => {}
            why = fatal.raised() => { let _ = fatal_tx.send(why); }
        }
    };
    let served = match tls {
        Some(config) => tradpal_runtime::tls::serve(listener, config, state, stop).await,
        None => http::serve(tokio::net::TcpListener::from_std(listener)?, state, stop).await,
    };
    tracing::info!("shutting down");
    runtime.shutdown().await;
    if let Some((leadership, _)) = leadership {
        leadership.shutdown().await;
    }
    signal.abort();
    served?;
    if let Ok(why) = fatal_rx.await {
        anyhow::bail!("stopped on a fatal journal error: {why}");
    }
    Ok(())
}

/// What this process is once it may serve.
enum Part {
    /// Not a replicated node (`TRADPAL_NODE` unset).
    Alone(tradpal_journal::Journal),
    /// A node that holds the lease.
    Leading(tradpal_journal::Journal, Box<Leadership>, std::sync::Arc<ClusterState>),
    /// Stopped by a signal while standing by.
    Stopped,
}

/// Replicated operation: stand by (following the leader's journal, answering HTTP as a
/// standby on the same port) until this node holds the lease, then lead. See
/// runtime/src/cluster. (`run` refused TRADPAL_NODE without NATS_URL.)
async fn take_part(
    settings: &tradpal_config::Settings,
    listener: &std::net::TcpListener,
    local: std::net::SocketAddr,
    journal: tradpal_journal::Journal,
    fatal: &FatalSignal,
    tls: &Tls,
    mut stop_rx: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Part> {
    let Some((name, url)) = settings.node.as_ref().zip(settings.nats_url.as_ref()) else { return Ok(Part::Alone(journal)) };
    let node = Node::connect(url.expose(), name, settings.ops.nats_tls_ca.as_deref(), settings.nats_replicas).await?;
    let standby_listener = listener.try_clone()?;
    let (promoted_tx, promoted_rx) = tokio::sync::oneshot::channel::<()>();
    let standby_http = tokio::spawn(standby::serve(standby_listener, node.state.clone(), tls.clone(), async move {
        let _ = promoted_rx.await;
    }));
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("tradpal standby on {scheme}://{local} (node {name}): following the leader's journal");
    let taken = stand_by(&node, settings, journal, &mut stop_rx).await;
    let _ = promoted_tx.send(());
    let _ = standby_http.await;
    let Some((lease, journal)) = taken? else {
        tracing::info!("stopped while standing by");
        return Ok(Part::Stopped);
    };
    let leadership = node.lead(&journal, lease, fatal.clone()).await?;
    Ok(Part::Leading(journal, Box::new(leadership), node.state.clone()))
}

/// Follows the leader until this node takes the lease. A journal that holds records the
/// log does not (this node led, then died before publishing them) is closed, its tail cut
/// and saved (`Node::cut_unreplicated_tail`), reopened, and the node stands by again.
/// `None`: stopped by a signal (the journal is closed).
async fn stand_by(
    node: &Node,
    settings: &tradpal_config::Settings,
    mut journal: tradpal_journal::Journal,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<(std::sync::Arc<tradpal_runtime::cluster::lease::Lease>, tradpal_journal::Journal)>> {
    loop {
        match node.stand_by(&journal, stop).await {
            Ok(Some(lease)) => return Ok(Some((lease, journal))),
            Ok(None) => {
                let _ = tokio::task::spawn_blocking(move || journal.close()).await;
                return Ok(None);
            }
            Err(ClusterError::Ahead { keep_through, local }) => {
                tokio::task::spawn_blocking(move || journal.close()).await??;
                let report = Node::cut_unreplicated_tail(&settings.data_dir, keep_through, local).await?;
                if let (Some((from, to)), Some(saved)) = (report.cut, &report.saved_to) {
                    println!(
                        "tradpal: cut records {from}..={to} that the cluster log never stored (never acknowledged); saved to {}",
                        saved.display()
                    );
                }
                journal = open_journal(settings, false).await?.0;
            }
            Err(e) => return Err(e.into()),
        }
    }
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
