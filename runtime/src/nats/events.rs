//! Journaled events on JetStream: every record of the journal, in sequence order, as
//! JSON on `tradpal.evt.{kind}` in the stream `TRADPAL_EVENTS`, for other processes and
//! outside consumers (dashboards, audit pipelines).
//!
//! Pull, not push: the publisher reads the journal after its cursor (woken by the
//! in-process bus, and every second), so a NATS outage delays events but loses none.
//! Each message carries `Nats-Msg-Id` = the event id (JetStream drops a re-publish
//! within its dedupe window) and `Tradpal-Sequence` = the journal sequence; on start the
//! cursor resumes from the stream's last message, so a restart does not republish
//! history. A consumer that needs exactly-once dedupes by `Tradpal-Sequence`.

use crate::bus::InProcessBus;
use async_nats::jetstream::{self, stream};
use async_nats::HeaderMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tradpal_journal::Journal;
use tradpal_messages::{codec, subjects};

/// Journal records published per round (their acks are awaited together).
pub const PUBLISH_BATCH_MAX: u64 = 1_000;
/// Messages kept in the events stream.
pub const EVENTS_STREAM_MESSAGES_MAX: i64 = 10_000_000;
/// Age after which event messages are discarded.
pub const EVENTS_STREAM_AGE_MAX_SECS: u64 = 7 * 24 * 3600;
/// Largest event JSON published whole; a larger record (10,000 imported candles are about
/// 1.1 MB) goes out as a stand-in (see [`stand_in`]): NATS refuses messages over its
/// `max_payload` (1 MiB by default), and a refused record would stall every later one.
pub const EVENT_JSON_BYTES_MAX: usize = 1_000_000;
/// Header set on a stand-in.
pub const TRUNCATED_HEADER: &str = "Tradpal-Truncated";
/// How often the publisher looks at the journal without a doorbell.
pub const POLL_MS: u64 = 1_000;

#[derive(Debug, Default)]
pub struct EventStats {
    pub published: AtomicU64,
    /// Journal sequence published through.
    pub cursor: AtomicU64,
}

pub fn stream_config(replicas: usize) -> stream::Config {
    stream::Config {
        num_replicas: replicas,
        name: subjects::EVENTS_STREAM.to_string(),
        description: Some("TradPal journaled events, in journal order".into()),
        subjects: vec![subjects::EVENTS_ALL.to_string()],
        retention: stream::RetentionPolicy::Limits,
        max_messages: EVENTS_STREAM_MESSAGES_MAX,
        max_age: Duration::from_secs(EVENTS_STREAM_AGE_MAX_SECS),
        max_message_size: super::MESSAGE_BYTES_MAX,
        duplicate_window: Duration::from_secs(super::DUPLICATE_WINDOW_SECS),
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

/// Why a publishing round failed. None is fatal: [`publish`] logs it, backs off and
/// tries again from the same cursor, so a failure delays events but skips none.
#[derive(Debug, thiserror::Error)]
pub enum EventPublishError {
    /// The events stream could not be created or looked up.
    #[error(transparent)]
    Stream(#[from] jetstream::context::CreateStreamError),
    /// The stream's state (its last sequence) could not be read.
    #[error(transparent)]
    StreamInfo(#[from] jetstream::context::RequestError),
    /// The stream's last message (where to resume) could not be read.
    #[error(transparent)]
    LastMessage(#[from] jetstream::stream::RawMessageError),
    /// Reading the journal failed.
    #[error(transparent)]
    Journal(#[from] tradpal_journal::JournalError),
    /// The blocking journal read did not finish (its task panicked or was cancelled).
    #[error(transparent)]
    ReadTask(#[from] tokio::task::JoinError),
    /// A publish, or its acknowledgement by JetStream, failed.
    #[error(transparent)]
    Publish(#[from] jetstream::context::PublishError),
}

/// The journal sequence of the stream's last message (0 when empty).
async fn resume_point(js: &jetstream::Context, replicas: usize) -> Result<u64, EventPublishError> {
    let mut s = js.get_or_create_stream(stream_config(replicas)).await?;
    let last = s.info().await?.state.last_sequence;
    if last == 0 {
        return Ok(0);
    }
    let msg = s.get_raw_message(last).await?;
    Ok(msg.headers.get(subjects::EVENTS_SEQUENCE_HEADER).and_then(|v| v.as_str().parse().ok()).unwrap_or(0))
}

/// What is published for a record whose JSON exceeds [`EVENT_JSON_BYTES_MAX`]: the
/// envelope's identity and what the record holds, without its bulk. The full record is in
/// the journal (and candles are served by `GET /api/data/candles`).
fn stand_in(env: &tradpal_messages::Envelope, json_bytes: usize) -> Vec<u8> {
    let mut v = serde_json::json!({
        "sequence": env.sequence,
        "event_id": env.event_id,
        "timestamp": env.timestamp,
        "kind": env.kind.as_str(),
        "truncated": true,
        "json_bytes": json_bytes,
    });
    if let tradpal_messages::Event::CandlesIngested(c) = &env.event {
        v["symbol"] = c.symbol.clone().into();
        v["timeframe"] = c.timeframe.as_str().into();
        v["candles"] = c.candles.len().into();
        v["first_open_time"] = serde_json::to_value(c.candles.first().map(|k| k.open_time)).unwrap_or_default();
        v["last_open_time"] = serde_json::to_value(c.candles.last().map(|k| k.open_time)).unwrap_or_default();
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Publishes records `cursor+1..` (one round); returns the new cursor.
async fn publish_round(js: &jetstream::Context, journal: &Journal, cursor: u64) -> Result<u64, EventPublishError> {
    let last = journal.last_sequence();
    if cursor >= last {
        return Ok(cursor);
    }
    let to = last.min(cursor + PUBLISH_BATCH_MAX);
    let j = journal.clone();
    let records = tokio::task::spawn_blocking(move || j.read_range(cursor + 1, to).collect::<Result<Vec<_>, _>>()).await??;
    let mut acks = Vec::with_capacity(records.len());
    for env in &records {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", env.event_id.to_string().as_str());
        headers.insert(subjects::EVENTS_SEQUENCE_HEADER, env.sequence.to_string().as_str());
        let subject = subjects::event_subject(env.kind.as_str());
        let mut body = codec::to_json(env);
        if body.len() > EVENT_JSON_BYTES_MAX {
            body = stand_in(env, body.len());
            headers.insert(TRUNCATED_HEADER, "true");
        }
        let ack = js.publish_with_headers(subject, headers, body.into()).await?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await?;
    }
    Ok(records.last().map_or(cursor, |e| e.sequence))
}

/// Runs until told to stop; on errors (NATS away) waits with back-off and resumes.
pub async fn publish(
    client: async_nats::Client,
    journal: Journal,
    bus: InProcessBus,
    stats: Arc<EventStats>,
    mut stop: watch::Receiver<bool>,
    replicas: usize,
) {
    let js = jetstream::new(client);
    let mut doorbell = bus.subscribe();
    let mut backoff_ms = 100;
    let mut cursor: Option<u64> = None;
    while !*stop.borrow() {
        let result = async {
            let c = match cursor {
                Some(c) => c,
                None => resume_point(&js, replicas).await?,
            };
            let next = publish_round(&js, &journal, c).await?;
            Ok::<(u64, u64), EventPublishError>((c, next))
        }
        .await;
        match result {
            Ok((before, after)) => {
                backoff_ms = 100;
                cursor = Some(after);
                stats.published.fetch_add(after - before, Ordering::Relaxed);
                stats.cursor.store(after, Ordering::Relaxed);
                if after < journal.last_sequence() {
                    continue; // more to publish right away
                }
                tokio::select! {
                    _ = doorbell.recv() => {}
                    _ = tokio::time::sleep(Duration::from_millis(POLL_MS)) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_ms = backoff_ms, "publishing events to NATS failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(backoff_ms)) => {}
                    _ = stop.changed() => {}
                }
                backoff_ms = (backoff_ms * 2).min(super::RETRY_BACKOFF_MAX_MS);
            }
        }
    }
}
