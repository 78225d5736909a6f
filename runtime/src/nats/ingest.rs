//! One fetched batch of market-data messages: parse, group by symbol and timeframe,
//! ingest through the market-data actor (durable before this returns), publish each
//! rejected message with its reason, then ack. If the ingest itself fails (journal or
//! actor down), nothing is acked and the batch is redelivered after the ack wait.

use super::{NatsStats, FETCH_EXPIRES_MS, FETCH_MESSAGES_MAX, MESSAGE_BYTES_MAX};
use crate::actor_call::call_actor;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::Message;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use tradpal_actors::market_data::actor::{MarketDataMsg, RejectPolicy};
use tradpal_actors::market_data::{CsvRecord, CsvRow};
use tradpal_actors::{names, RequestMeta};
use tradpal_messages::event::CANDLES_PER_RECORD_MAX;
use tradpal_messages::subjects::SubjectError;
use tradpal_messages::{subjects, Candle, CandleWire, CorrelationId, DataSource, ErrorReply, TimeWireError, Timeframe};

/// Most candles one message may carry (a JSON array); larger ones are rejected.
pub const CANDLES_PER_MESSAGE_MAX: usize = CANDLES_PER_RECORD_MAX;

/// Why the ingest loop stopped. None is fatal: `run` (in `mod.rs`) logs it, backs off
/// and starts over, and since nothing of the batch in hand was acked, JetStream
/// redelivers it. (A bad message is no error of the loop: see [`MessageError`].)
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The market-data stream could not be created or looked up (NATS away, a clash
    /// with an existing stream's settings).
    #[error(transparent)]
    Stream(#[from] async_nats::jetstream::context::CreateStreamError),
    /// The durable ingest consumer could not be created or looked up.
    #[error(transparent)]
    Consumer(#[from] async_nats::jetstream::stream::ConsumerError),
    /// The fetch request for a batch failed.
    #[error("fetch: {0}")]
    Fetch(#[source] async_nats::jetstream::consumer::pull::BatchError),
    /// A message of a fetched batch could not be received.
    #[error("fetch: {0}")]
    FetchMessage(#[source] async_nats::Error),
    /// The market-data actor did not answer (restarting, silent or failed).
    #[error("market-data actor: {}", .0.message)]
    Actor(ErrorReply),
    /// The actor refused the ingest as a whole (the journal or the store failed).
    #[error("ingest failed (batch left for redelivery): {0}")]
    Ingest(ErrorReply),
}

/// Why one market-data message is refused. Unlike an [`IngestError`] this is final for
/// the message (a redelivery would say the same): its text is published on
/// `tradpal.md.rejected`, the message is acked, and the rest of its batch goes on.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("message of {bytes} bytes exceeds {max}", max = MESSAGE_BYTES_MAX)]
    TooLarge { bytes: usize },
    /// The subject names no symbol and timeframe.
    #[error(transparent)]
    Subject(#[from] SubjectError),
    #[error("invalid JSON candle array: {0}")]
    JsonArray(#[source] serde_json::Error),
    #[error("invalid JSON candle: {0}")]
    Json(#[source] serde_json::Error),
    #[error("expected 1..={max} candles, got {got}", max = CANDLES_PER_MESSAGE_MAX)]
    CandleCount { got: usize },
    #[error("candle {index}: timestamp: {source}")]
    Timestamp { index: usize, source: TimeWireError },
}

/// Fetches and processes batches until told to stop or an error interrupts.
pub async fn consume(
    client: &async_nats::Client,
    consumer: &PullConsumer,
    stats: &NatsStats,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), IngestError> {
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let fetch = consumer.fetch().max_messages(FETCH_MESSAGES_MAX).expires(Duration::from_millis(FETCH_EXPIRES_MS)).messages();
        let mut messages = tokio::select! {
            m = fetch => m.map_err(IngestError::Fetch)?,
            _ = stop.changed() => return Ok(()),
        };
        let mut batch = Vec::new();
        while let Some(m) = messages.next().await {
            batch.push(m.map_err(IngestError::FetchMessage)?);
        }
        // The lag after this batch: what the stream holds that the consumer has not been
        // sent yet (an empty fetch: nothing is waiting).
        let pending = batch.last().and_then(|m| m.info().ok()).map_or(0, |info| info.pending);
        stats.consumer_pending.store(pending, Ordering::Relaxed);
        if !batch.is_empty() {
            process(client, batch, stats).await?;
        }
    }
}

/// The candles a message carries, or why it is refused.
fn parse(msg: &Message) -> Result<(String, Timeframe, Vec<Candle>), MessageError> {
    if msg.payload.len() > MESSAGE_BYTES_MAX as usize {
        return Err(MessageError::TooLarge { bytes: msg.payload.len() });
    }
    let (symbol, timeframe) = subjects::parse_candle_subject(msg.subject.as_str())?;
    let wires: Vec<CandleWire> = match msg.payload.first().copied() {
        Some(b'[') => serde_json::from_slice(&msg.payload).map_err(MessageError::JsonArray)?,
        _ => vec![serde_json::from_slice(&msg.payload).map_err(MessageError::Json)?],
    };
    if wires.is_empty() || wires.len() > CANDLES_PER_MESSAGE_MAX {
        return Err(MessageError::CandleCount { got: wires.len() });
    }
    let candles = wires
        .iter()
        .enumerate()
        .map(|(index, w)| w.to_candle().map_err(|source| MessageError::Timestamp { index, source }))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((symbol, timeframe, candles))
}

async fn process(client: &async_nats::Client, batch: Vec<Message>, stats: &NatsStats) -> Result<(), IngestError> {
    stats.messages_received.fetch_add(batch.len() as u64, Ordering::Relaxed);
    let mut rejects: BTreeMap<usize, String> = BTreeMap::new();
    // (symbol, timeframe) -> rows in arrival order, each remembering its message.
    let mut groups: BTreeMap<(String, Timeframe), Vec<(usize, Candle)>> = BTreeMap::new();
    for (i, msg) in batch.iter().enumerate() {
        match parse(msg) {
            Ok((symbol, tf, candles)) => groups.entry((symbol, tf)).or_default().extend(candles.into_iter().map(|c| (i, c))),
            Err(reason) => {
                rejects.insert(i, reason.to_string());
            }
        }
    }
    for ((symbol, timeframe), mut rows) in groups {
        // Stream order is publish order, but redeliveries after a crash come late: sort
        // by bar time so newer bars in the batch do not shadow older ones.
        rows.sort_by_key(|(_, c)| c.open_time);
        let records = rows.iter().enumerate().map(|(row, (_, candle))| CsvRecord::Row(CsvRow { row, line: 0, candle: *candle })).collect();
        // A fresh correlation id per batch: unseeded on purpose (the NATS edge).
        #[allow(clippy::disallowed_methods)]
        let meta = RequestMeta { request_id: None, correlation_id: CorrelationId(rand::random()) };
        let report = call_actor::<MarketDataMsg, _>(names::MARKET_DATA, |reply| MarketDataMsg::Ingest {
            symbol,
            timeframe,
            source: DataSource::Nats,
            rows: records,
            policy: RejectPolicy::KeepGood,
            meta,
            reply,
        })
        .await
        .map_err(IngestError::Actor)?
        .map_err(|e| {
            stats.batches_failed.fetch_add(1, Ordering::Relaxed);
            IngestError::Ingest(e)
        })?;
        stats.candles_stored.fetch_add(report.accepted as u64, Ordering::Relaxed);
        stats.duplicates_dropped.fetch_add(report.duplicates_dropped as u64, Ordering::Relaxed);
        for r in &report.rejected {
            if let Some((msg_index, _)) = rows.get(r.row) {
                rejects.entry(*msg_index).or_insert_with(|| r.to_string());
            }
        }
    }
    stats.messages_rejected.fetch_add(rejects.len() as u64, Ordering::Relaxed);
    for (i, reason) in &rejects {
        let body = serde_json::json!({ "subject": batch[*i].subject.as_str(), "reason": reason });
        if let Err(e) = client.publish(subjects::MD_REJECTED, body.to_string().into()).await {
            tracing::warn!(error = %e, "could not publish a market-data reject");
        }
        tracing::debug!(subject = batch[*i].subject.as_str(), %reason, "market-data message rejected");
    }
    // Durable in the journal (or refused for good): now the stream may forget them.
    for msg in &batch {
        if let Err(e) = msg.ack().await {
            tracing::warn!(error = %e, "ack failed; the message will be redelivered and deduplicated");
        }
    }
    Ok(())
}
