//! NATS JetStream transport: outside producers publish market data to NATS, the
//! service ingests it through the same market-data actor as every other path; commands
//! arrive as request/reply and go to the same actors as the HTTP routes.
//!
//! Enabled by `NATS_URL`. Without it the service runs alone on its in-process bus.
//! JetStream is transport, not the record of truth: a message is acknowledged only
//! after the candles it carries are durable in the journal, and a redelivered message
//! (crash before the ack, ack lost) has one effect because the market-data store drops
//! exact repeats of stored bars. The JetStream dedupe window (`Nats-Msg-Id`) is only a
//! first filter: it is finite.
//!
//! # Layout
//!
//! - `mod.rs`: connection, stream and consumer set-up, the reconnecting loop, status.
//! - `ingest.rs`: one fetched batch: parse, group, ingest, publish rejects, ack.
//! - `events.rs`: every journaled event on JetStream (`TRADPAL_EVENTS`), pulled from the journal.
//! - `commands.rs`: commands as request/reply (`tradpal.cmd.>`, a queue group).

pub mod commands;
pub mod events;
pub mod ingest;

use async_nats::jetstream::{self, consumer, stream};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tradpal_messages::subjects;

/// Messages fetched per batch (one ingest, one fsync per symbol/timeframe in it).
pub const FETCH_MESSAGES_MAX: usize = 1_000;
/// How long a fetch waits for messages before returning a short batch.
pub const FETCH_EXPIRES_MS: u64 = 500;
/// Unacknowledged messages per consumer before JetStream stops delivering.
pub const ACK_PENDING_MAX: i64 = 20_000;
/// How long JetStream waits for an ack before redelivering (a crashed process's batch
/// is redelivered after this).
pub const ACK_WAIT_MS: u64 = 5_000;
/// Largest accepted message, in bytes (the stream refuses larger ones at publish).
pub const MESSAGE_BYTES_MAX: i32 = 1 << 20;
/// Messages kept in the market-data stream (older ones are discarded).
pub const STREAM_MESSAGES_MAX: i64 = 10_000_000;
/// Age after which stream messages are discarded.
pub const STREAM_AGE_MAX_SECS: u64 = 7 * 24 * 3600;
/// JetStream de-duplication window for `Nats-Msg-Id`.
pub const DUPLICATE_WINDOW_SECS: u64 = 120;
/// The servers of a comma-separated `NATS_URL` list (what config validation accepted),
/// for `ConnectOptions::connect`, which takes a list but parses one string as one server.
/// The client connects to any of them (in random order) and fails over to the others,
/// and to servers the cluster announces.
pub fn server_list(url: &str) -> Vec<String> {
    url.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Longest pause between reconnect / re-setup attempts.
pub const RETRY_BACKOFF_MAX_MS: u64 = 5_000;

/// Counters for `/api/trading/status` (relaxed atomics: reporting only).
#[derive(Debug, Default)]
pub struct NatsStats {
    pub messages_received: AtomicU64,
    pub candles_stored: AtomicU64,
    pub duplicates_dropped: AtomicU64,
    pub messages_rejected: AtomicU64,
    pub batches_failed: AtomicU64,
    /// Consumer lag: messages of the market-data stream not yet delivered to the ingest
    /// consumer, as of the last fetch (JetStream's `pending` in the last message's
    /// metadata; 0 after an empty fetch).
    pub consumer_pending: AtomicU64,
}

/// The NATS part of the status reply.
#[derive(Debug, Clone, Serialize)]
pub struct NatsStatus {
    pub url: String,
    /// `connected`, `disconnected` or `pending` (never connected yet).
    pub state: String,
    pub messages_received: u64,
    pub candles_stored: u64,
    pub duplicates_dropped: u64,
    pub messages_rejected: u64,
    pub batches_failed: u64,
    /// Market-data messages waiting for the ingest consumer (its lag).
    pub consumer_pending: u64,
    /// Command requests answered over NATS, and how many of them were errors.
    pub command_requests: u64,
    pub command_errors: u64,
    /// Journaled events published to `TRADPAL_EVENTS`, and the journal sequence reached.
    pub events_published: u64,
    pub events_published_through: u64,
}

/// A running NATS bridge.
pub struct Nats {
    pub view: NatsView,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    commands: tokio::task::JoinHandle<()>,
    events: tokio::task::JoinHandle<()>,
}

/// What the HTTP adapter may see of the bridge (cheap to clone).
#[derive(Clone)]
pub struct NatsView {
    pub client: async_nats::Client,
    pub stats: Arc<NatsStats>,
    pub commands: Arc<commands::CommandStats>,
    pub events: Arc<events::EventStats>,
    url_masked: String,
}

/// Where and how to connect.
pub struct Link<'a> {
    pub url: &'a str,
    pub url_masked: String,
    /// `NATS_TLS_CA`: a CA to trust for `tls://` servers, besides the system roots.
    pub tls_ca: Option<&'a std::path::Path>,
    /// Raises `nats_disconnected` alerts from the client's connection events.
    pub alerts: Option<crate::alerts::Alerts>,
    /// `TRADPAL_NATS_REPLICAS`: of every stream and bucket this process creates.
    pub replicas: usize,
}

/// Connect options shared by the bridge and replicated nodes: `tls://` URLs make the
/// client require TLS (async-nats, rustls); `tls_ca` adds a private CA.
pub fn connect_options(name: String, tls_ca: Option<&std::path::Path>) -> async_nats::ConnectOptions {
    let mut options = async_nats::ConnectOptions::new().name(name).retry_on_initial_connect().connection_timeout(Duration::from_secs(2));
    if let Some(ca) = tls_ca {
        options = options.add_root_certificates(ca.to_path_buf());
    }
    options
}

impl Nats {
    /// Connects (retrying in the background: the service starts even when NATS is down)
    /// and starts the ingest loop.
    pub async fn start(
        link: Link<'_>,
        journal: tradpal_journal::Journal,
        bus: crate::bus::InProcessBus,
    ) -> Result<Nats, async_nats::ConnectError> {
        let url_masked = link.url_masked.clone();
        let alerts = link.alerts.clone();
        let shown = url_masked.clone();
        let replicas = link.replicas;
        let client = connect_options("tradpal".into(), link.tls_ca)
            .event_callback(move |event| {
                let (alerts, shown) = (alerts.clone(), shown.clone());
                async move {
                    tracing::info!(%event, "nats connection event");
                    if let (async_nats::Event::Disconnected, Some(alerts)) = (&event, alerts) {
                        let message =
                            format!("disconnected from NATS ({shown}); reconnecting (ingest, commands and event publishing wait)");
                        alerts.raise_signal(
                            crate::alerts::AlertKind::NatsDisconnected,
                            crate::alerts::Severity::Critical,
                            message,
                            serde_json::json!({ "url": shown }),
                        );
                    }
                }
            })
            .connect(server_list(link.url))
            .await?;
        let stats = Arc::new(NatsStats::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(client.clone(), stats.clone(), stopped.clone(), replicas));
        let command_stats = Arc::new(commands::CommandStats::default());
        let commands = tokio::spawn(commands::serve(client.clone(), command_stats.clone(), stopped.clone()));
        let event_stats = Arc::new(events::EventStats::default());
        let events = tokio::spawn(events::publish(client.clone(), journal, bus, event_stats.clone(), stopped, replicas));
        let view = NatsView { client, stats, commands: command_stats, events: event_stats, url_masked };
        Ok(Nats { view, stop, task, commands, events })
    }

    /// Stops the loop after the batch in hand (its messages are acked or left for
    /// redelivery), then drains the connection.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let _ = self.commands.await;
        let _ = self.events.await;
        let _ = self.view.client.drain().await;
    }
}

impl NatsView {
    pub fn status(&self) -> NatsStatus {
        let s = &self.stats;
        let state = match self.client.connection_state() {
            async_nats::connection::State::Connected => "connected",
            async_nats::connection::State::Disconnected => "disconnected",
            async_nats::connection::State::Pending => "pending",
        };
        NatsStatus {
            url: self.url_masked.clone(),
            state: state.to_string(),
            messages_received: s.messages_received.load(Ordering::Relaxed),
            consumer_pending: s.consumer_pending.load(Ordering::Relaxed),
            candles_stored: s.candles_stored.load(Ordering::Relaxed),
            duplicates_dropped: s.duplicates_dropped.load(Ordering::Relaxed),
            messages_rejected: s.messages_rejected.load(Ordering::Relaxed),
            batches_failed: s.batches_failed.load(Ordering::Relaxed),
            command_requests: self.commands.requests.load(Ordering::Relaxed),
            command_errors: self.commands.errors.load(Ordering::Relaxed),
            events_published: self.events.published.load(Ordering::Relaxed),
            events_published_through: self.events.cursor.load(Ordering::Relaxed),
        }
    }
}

fn stream_config(replicas: usize) -> stream::Config {
    stream::Config {
        num_replicas: replicas,
        name: subjects::MD_STREAM.to_string(),
        description: Some("TradPal market data from outside producers".into()),
        subjects: vec![subjects::MD_ALL.to_string()],
        retention: stream::RetentionPolicy::Limits,
        max_messages: STREAM_MESSAGES_MAX,
        max_age: Duration::from_secs(STREAM_AGE_MAX_SECS),
        max_message_size: MESSAGE_BYTES_MAX,
        duplicate_window: Duration::from_secs(DUPLICATE_WINDOW_SECS),
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

fn consumer_config() -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(subjects::MD_INGEST_CONSUMER.to_string()),
        description: Some("TradPal market-data ingest (shared by every service process)".into()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_millis(ACK_WAIT_MS),
        filter_subject: subjects::MD_CANDLE_ALL.to_string(),
        max_ack_pending: ACK_PENDING_MAX,
        ..Default::default()
    }
}

/// Sets up the stream and the durable consumer (idempotent), then ingests until an
/// error; on error waits (doubling back-off) and starts over. Ends when told to stop.
async fn run(client: async_nats::Client, stats: Arc<NatsStats>, mut stop: watch::Receiver<bool>, replicas: usize) {
    let js = jetstream::new(client.clone());
    let mut backoff_ms = 100;
    while !*stop.borrow() {
        let result = async {
            let stream = js.get_or_create_stream(stream_config(replicas)).await?;
            let consumer: consumer::PullConsumer = stream.get_or_create_consumer(subjects::MD_INGEST_CONSUMER, consumer_config()).await?;
            tracing::info!(stream = subjects::MD_STREAM, consumer = subjects::MD_INGEST_CONSUMER, "nats ingest ready");
            ingest::consume(&client, &consumer, &stats, &mut stop).await
        }
        .await;
        match result {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, retry_ms = backoff_ms, "nats ingest interrupted; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(backoff_ms)) => {}
                    _ = stop.changed() => {}
                }
                backoff_ms = (backoff_ms * 2).min(RETRY_BACKOFF_MAX_MS);
            }
        }
    }
}

#[cfg(test)]
mod server_list_tests {
    use super::server_list;

    /// What config validation accepts (config/src/secret.rs), connect parses: every
    /// server of the list, credentials and IPv6 included.
    #[test]
    fn every_server_of_a_validated_list_parses_for_connect() {
        let list = "nats://a:4222, nats://u:p@b:4223 ,tls://tok@c,nats://[::1]:4224,";
        let servers = server_list(list);
        assert_eq!(servers, ["nats://a:4222", "nats://u:p@b:4223", "tls://tok@c", "nats://[::1]:4224"]);
        for s in &servers {
            s.parse::<async_nats::ServerAddr>().unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        // The bug this replaced: the whole list as one server does not parse.
        assert!(list.parse::<async_nats::ServerAddr>().is_err());
    }
}
