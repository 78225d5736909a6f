//! [`Runtime`]: the running service without its HTTP face (tests drive it directly).
//!
//! Start order: open (and recover) the journal, journal `ServiceStarted` with the id
//! generator's seed, then spawn the supervision tree, whose children rebuild their
//! state from the journal. Shutdown order: stop the tree (children first), then close
//! the journal (drains queued appends).

use crate::bus::InProcessBus;
use crate::clock::WallClock;
use crate::exchange::{BinanceConfig, BinanceVenue};
use crate::supervisor::{ChildSpec, RestartPolicy, StatusRegistry, Supervisor, SupervisorArgs, SupervisorMsg};
use ractor::{Actor, ActorRef};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tradpal_actors::backtest::actor::BacktestActor;
use tradpal_actors::concern::ConcernActor;
use tradpal_actors::ensemble::actor::{EnsembleActor, EnsembleSettings};
use tradpal_actors::ensemble::core::Weights;
use tradpal_actors::execution::actor::{ExecutionActor, ExecutionMsg};
use tradpal_actors::execution::venue::LiveVenue;
use tradpal_actors::execution::ExecutionConfig;
use tradpal_actors::market_data::actor::MarketDataActor;
use tradpal_actors::ml::actor::MlActor;
use tradpal_actors::regime::actor::{RegimeActor, RegimeMsg};
use tradpal_actors::risk::actor::RiskActor;
use tradpal_actors::rl::actor::RlActor;
use tradpal_actors::session::{SessionActor, SessionDefaults, SessionLimits, SessionMsg};
use tradpal_actors::{names, FatalSignal, RequestMeta, Services};
use tradpal_config::Settings;
use tradpal_journal::{Journal, JournalOptions, RecoveryReport};
use tradpal_messages::{
    ActorState, Clock, CorrelationId, Event, ExecutionConfigured, ExecutionLimitsConfigured, IdGenerator, JournalLossAccepted,
    ServiceStarted,
};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot open the journal in {dir}: {source}")]
    Journal { dir: String, source: tradpal_journal::JournalError },
    #[error("cannot record the service start: {0}")]
    Record(#[from] tradpal_actors::ActorError),
    #[error("cannot start the supervision tree: {0}")]
    Spawn(String),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("invalid NATS_URL {url}: {reason}")]
    Nats { url: String, reason: String },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    /// Paper trading is off but no real exchange can be reached with this configuration.
    #[error("live trading: {0}")]
    Venue(String),
}

/// The real exchange orders go to when `ENABLE_PAPER_TRADING=false` (`None` in paper
/// mode). Refuses an exchange without an adapter and missing or invalid credentials:
/// the service must not start believing it trades.
pub fn live_venue(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Option<Arc<dyn LiveVenue>>, RuntimeError> {
    let e = &settings.execution;
    if e.paper_trading {
        return Ok(None);
    }
    if e.default_exchange != "binance" {
        return Err(RuntimeError::Venue(format!(
            "ENABLE_PAPER_TRADING=false routes orders to DEFAULT_EXCHANGE={}, which has no adapter (supported: binance)",
            e.default_exchange
        )));
    }
    let (Some(key), Some(secret)) = (&e.binance_api_key, &e.binance_api_secret) else {
        return Err(RuntimeError::Venue(
            "ENABLE_PAPER_TRADING=false with DEFAULT_EXCHANGE=binance needs BINANCE_API_KEY and BINANCE_API_SECRET".into(),
        ));
    };
    let config = BinanceConfig { base_url: e.binance_base_url.clone(), ..BinanceConfig::new(key.expose(), secret.expose()) };
    let venue = BinanceVenue::new(config, clock).map_err(|err| RuntimeError::Venue(err.to_string()))?;
    Ok(Some(Arc::new(venue)))
}

/// How long start-up waits for every actor to be running before serving anyway.
pub const READY_WAIT_MS: u64 = 10_000;

/// Knobs that are not user settings (tests shorten the back-off).
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    pub restart_policy: RestartPolicy,
}

pub struct Runtime {
    pub settings: Arc<Settings>,
    pub services: Services,
    pub bus: InProcessBus,
    pub statuses: StatusRegistry,
    pub recovery: RecoveryReport,
    /// The NATS bridge, when `NATS_URL` is set.
    pub nats: Option<crate::nats::Nats>,
    /// The metrics recorder's handle; `None` when `ENABLE_PERFORMANCE_MONITORING=false`.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The event counter and the gauge sampler (see `metrics.rs`), stopped at shutdown.
    metrics_tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Alerts (log, NATS, webhook), see `alerts/`.
    pub alerts: crate::alerts::AlertService,
    supervisor: ActorRef<SupervisorMsg>,
    supervisor_join: tokio::task::JoinHandle<()>,
    doorbell: tokio::task::JoinHandle<()>,
}

/// Every child of the tree, in start order.
fn children(services: &Services, settings: &Settings, venue: Option<Arc<dyn LiveVenue>>) -> Vec<ChildSpec> {
    let limits = SessionLimits { live_trading_enabled: false, ..SessionLimits::default() };
    let _ = settings; // live trading needs an exchange adapter; see the execution issue.
    names::ALL
        .iter()
        .map(|&name| match name {
            names::SESSION => ChildSpec::of(
                name,
                SessionActor { services: services.clone(), limits, defaults: session_defaults(settings), ai: ensemble_settings(settings) },
            ),
            names::MARKET_DATA => ChildSpec::of(name, MarketDataActor { services: services.clone() }),
            names::REGIME => ChildSpec::of(name, RegimeActor { services: services.clone() }),
            names::RISK => ChildSpec::of(name, RiskActor { services: services.clone() }),
            names::BACKTEST => ChildSpec::of(
                name,
                BacktestActor {
                    services: services.clone(),
                    data_dir: settings.data_dir.clone(),
                    results_max: settings.backtest.results_max,
                    ai: ensemble_settings(settings),
                    defaults: tradpal_actors::backtest::request::RunDefaults::from_settings(settings),
                },
            ),
            names::EXECUTION => {
                ChildSpec::of(name, ExecutionActor { services: services.clone(), config: execution_config(settings), venue: venue.clone() })
            }
            names::ML => ChildSpec::of(name, MlActor { services: services.clone(), data_dir: settings.data_dir.clone() }),
            names::AI_ENSEMBLE => ChildSpec::of(name, EnsembleActor { services: services.clone(), settings: ensemble_settings(settings) }),
            names::RL => ChildSpec::of(
                name,
                RlActor {
                    services: services.clone(),
                    data_dir: settings.data_dir.clone(),
                    enabled: settings.features.reinforcement_learning,
                },
            ),
            other => ChildSpec::of(other, ConcernActor { name: other }),
        })
        .collect()
}

/// The configuration inputs of the execution core, as journaled at every start.
pub fn execution_settings(settings: &Settings) -> ExecutionConfigured {
    ExecutionConfigured {
        transaction_costs: settings.backtest.transaction_costs,
        max_position_size: settings.risk.max_position_size,
        max_drawdown: settings.risk.max_drawdown,
        order_timeout_ns: settings.execution.order_timeout.as_nanos().min(i64::MAX as u128) as i64,
        live_venue: (!settings.execution.paper_trading).then(|| settings.execution.default_exchange.clone()),
    }
}

/// The limits journaled beside [`execution_settings`]: `trading_config.max_positions`.
pub fn execution_limits(settings: &Settings) -> ExecutionLimitsConfigured {
    ExecutionLimitsConfigured { max_open_positions: settings.trading.max_positions }
}

/// The execution core's settings from the service's.
pub fn execution_config(settings: &Settings) -> ExecutionConfig {
    ExecutionConfig::from_recorded(&execution_settings(settings)).with_recorded_limits(&execution_limits(settings))
}

/// The AI ensemble's weights and switches from the settings.
pub fn ensemble_settings(settings: &Settings) -> EnsembleSettings {
    let e = &settings.trading.strategies.ai_ensemble;
    EnsembleSettings {
        weights: Weights { ml: e.ml_weight, rl: e.rl_weight, regime: e.regime_weight },
        ml_enabled: settings.features.ml_training,
        rl_enabled: settings.features.reinforcement_learning,
        regime_enabled: settings.features.market_regime,
        risk_per_trade: settings.trading.risk_per_trade,
        max_position_size: settings.risk.max_position_size,
    }
}

/// What a session takes from the settings when its request names nothing: the config's
/// first timeframe and `TRANSACTION_COSTS` (the CLI backtest's default too).
pub fn session_defaults(settings: &Settings) -> SessionDefaults {
    SessionDefaults {
        timeframe: settings
            .trading
            .timeframes
            .first()
            .and_then(|tf| tf.as_str().parse::<tradpal_messages::Timeframe>().ok())
            .unwrap_or(tradpal_messages::Timeframe::H1),
        commission: settings.backtest.transaction_costs,
        symbols: settings.trading.symbols.clone(),
    }
}

/// Rings the execution and session actors' doorbells whenever candles, a risk breach or a
/// kill-switch change are journaled (and when the bus lagged: something may have been
/// missed). The actors read the journal themselves.
fn spawn_doorbell(bus: &InProcessBus) -> tokio::task::JoinHandle<()> {
    let mut rx = bus.subscribe();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            use tradpal_messages::EventKind as K;
            let kind = match rx.recv().await {
                Ok(env) => {
                    if let tradpal_messages::Event::CandlesIngested(c) = &env.event {
                        if let Some(actor) = ActorRef::<RegimeMsg>::where_is(names::REGIME) {
                            let _ = actor.cast(RegimeMsg::BarsArrived { symbol: c.symbol.clone() });
                        }
                    }
                    Some(env.kind)
                }
                Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => return,
            };
            if matches!(kind, None | Some(K::CandlesIngested | K::RiskLimitBreached)) {
                if let Some(actor) = ActorRef::<ExecutionMsg>::where_is(names::EXECUTION) {
                    let _ = actor.cast(ExecutionMsg::Wake);
                }
            }
            if matches!(kind, None | Some(K::CandlesIngested | K::TradingStateChanged)) {
                if let Some(actor) = ActorRef::<SessionMsg>::where_is(names::SESSION) {
                    let _ = actor.cast(SessionMsg::Wake);
                }
            }
        }
    })
}

/// Opens (and recovers) the journal in the settings' data directory. A journal that
/// ends before its acknowledged high-water mark is refused unless `accept_loss` (the
/// operator's `--accept-journal-loss`); [`Runtime::start_with`] then journals the loss.
pub async fn open_journal(settings: &Settings, accept_loss: bool) -> Result<(Journal, RecoveryReport), RuntimeError> {
    let dir = settings.data_dir.clone();
    let open_dir = dir.clone();
    let options = JournalOptions { accept_acknowledged_loss: accept_loss, ..JournalOptions::default() };
    let opened = tokio::task::spawn_blocking(move || Journal::open(&open_dir, options)).await.expect("journal open task panicked");
    let (journal, recovery) = opened.map_err(|source| RuntimeError::Journal { dir: dir.display().to_string(), source })?;
    tracing::info!(dir = %dir.display(), last_sequence = journal.last_sequence(), recovery = ?recovery, "journal open");
    Ok((journal, recovery))
}

impl Runtime {
    pub async fn start(settings: Settings, options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let (journal, recovery) = open_journal(&settings, false).await?;
        Runtime::start_with(settings, options, journal, recovery, FatalSignal::default()).await
    }

    /// Starts on a journal opened by the caller (a replicated node opens it to follow the
    /// leader before it starts anything), raising `fatal` on fatal errors.
    pub async fn start_with(
        settings: Settings,
        options: RuntimeOptions,
        journal: Journal,
        recovery: RecoveryReport,
        fatal: FatalSignal,
    ) -> Result<Runtime, RuntimeError> {
        let settings = Arc::new(settings);
        let clock: Arc<dyn Clock> = Arc::new(WallClock);
        let venue = live_venue(&settings, clock.clone())?;

        // The runtime draws the id generator's seed: ids must differ between runs of the service.
        #[allow(clippy::disallowed_methods)]
        let seed: u64 = rand::random();
        let bus = InProcessBus::default();
        let services = Services {
            journal,
            clock: clock.clone(),
            ids: Arc::new(Mutex::new(IdGenerator::from_seed(seed))),
            sink: Arc::new(bus.clone()),
            fatal,
        };
        let meta = RequestMeta { request_id: None, correlation_id: CorrelationId(0) };
        let started = Event::ServiceStarted(ServiceStarted {
            version: env!("CARGO_PKG_VERSION").to_string(),
            id_seed: seed,
            started_at: clock.now(),
        });
        services.record(services.draft(&meta, started)).await?;
        if let Some(gap) = recovery.acknowledged_loss_accepted {
            let accepted = JournalLossAccepted { first_missing: gap.first, acknowledged_through: gap.last };
            services.record(services.draft(&meta, Event::JournalLossAccepted(accepted))).await?;
        }
        // What the execution core will decide with, so a replay uses the same (not the
        // environment of the day of the audit).
        services.record(services.draft(&meta, Event::ExecutionConfigured(execution_settings(&settings)))).await?;
        services.record(services.draft(&meta, Event::ExecutionLimitsConfigured(execution_limits(&settings)))).await?;

        let doorbell = spawn_doorbell(&bus);
        let webhook = settings.ops.alert_webhook.as_ref().map(|w| w.expose().to_string());
        let alerts = crate::alerts::AlertService::start(&bus, services.journal.clone(), webhook, seed);
        let metrics = crate::metrics::install(&settings.monitoring);
        let metrics_tasks = match &metrics {
            Some(handle) => vec![
                crate::metrics::spawn_observer(&bus),
                crate::metrics::spawn_sampler(handle.clone(), settings.monitoring.metrics_update_interval),
            ],
            None => Vec::new(),
        };
        let statuses = StatusRegistry::default();
        let args = SupervisorArgs {
            children: children(&services, &settings, venue),
            policy: options.restart_policy,
            statuses: statuses.clone(),
            services: services.clone(),
        };
        let (supervisor, supervisor_join) = Actor::spawn(None, Supervisor, args).await.map_err(|e| RuntimeError::Spawn(e.to_string()))?;
        let mut runtime = Runtime {
            settings,
            services,
            bus,
            statuses,
            recovery,
            nats: None,
            metrics,
            metrics_tasks,
            alerts,
            supervisor,
            supervisor_join,
            doorbell,
        };
        runtime.wait_ready(Duration::from_millis(READY_WAIT_MS)).await;
        if let Some(url) = runtime.settings.nats_url.clone() {
            let link = crate::nats::Link {
                url: url.expose(),
                url_masked: url.to_string(),
                tls_ca: runtime.settings.ops.nats_tls_ca.as_deref(),
                alerts: Some(runtime.alerts.alerts.clone()),
                replicas: runtime.settings.nats_replicas,
            };
            let nats = crate::nats::Nats::start(link, runtime.services.journal.clone(), runtime.bus.clone())
                .await
                .map_err(|e| RuntimeError::Nats { url: url.to_string(), reason: e.to_string() })?;
            runtime.alerts.alerts.attach_nats(nats.view.client.clone());
            runtime.nats = Some(nats);
        }
        Ok(runtime)
    }

    /// Waits until every child has left `starting` (running, or already restarting after
    /// a failed first start), so the service is not announced before its actors exist.
    // A real-time start-up deadline (the runtime).
    #[allow(clippy::disallowed_methods)]
    async fn wait_ready(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let pending: Vec<String> = {
                let map = self.statuses.read().expect("status registry poisoned");
                map.values().filter(|s| s.state == ActorState::Starting).map(|s| s.name.clone()).collect()
            };
            if pending.is_empty() {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(?pending, "actors still starting; serving anyway");
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the tree (children first, each `post_stop` runs), then closes the journal.
    pub async fn shutdown(self) {
        if let Some(nats) = self.nats {
            nats.shutdown().await;
        }
        let _ = self.supervisor.stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(15))).await;
        let _ = self.supervisor_join.await;
        self.doorbell.abort();
        self.alerts.shutdown();
        for task in &self.metrics_tasks {
            task.abort();
        }
        let journal = self.services.journal.clone();
        drop(self.services);
        match tokio::task::spawn_blocking(move || journal.close()).await {
            Ok(Ok(())) => tracing::info!("journal closed"),
            Ok(Err(e)) => tracing::error!(error = %e, "journal closed with an error"),
            Err(e) => tracing::error!(error = %e, "journal close task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trading_config_max_positions_reaches_the_execution_core_live_and_in_replay() {
        let mut settings = Settings::load(&Default::default(), None).unwrap();
        settings.trading.max_positions = 3;
        // Live: the core's pre-trade limits.
        assert_eq!(execution_config(&settings).limits.max_open_positions, Some(3));
        // Journaled beside ExecutionConfigured, and read back the same way by a replay.
        let limits = execution_limits(&settings);
        let replayed = ExecutionConfig::from_recorded(&execution_settings(&settings)).with_recorded_limits(&limits);
        assert_eq!(replayed.limits, execution_config(&settings).limits);
        assert!(Event::ExecutionLimitsConfigured(limits).check_invariants().is_ok());
    }
}
