//! Leader side: publish every durable journal record to the log, in order, each with
//! `Nats-Expected-Last-Sequence` = its sequence - 1, then advance the replication gate,
//! which releases the acknowledgements waiting on those records.
//!
//! After any error (NATS away, an ack lost) the replicator does not guess what the server
//! stored: it reads the log's last sequence and compares that message with its own
//! record. Equal: carry on from there. The log ahead of this node's journal, or a
//! different record: another node wrote the log, so this node is no longer the leader.

use super::follow::{bounds, local_payload};
use super::lease::Lease;
use super::{nats_err, ClusterError, ClusterState, REPLICATE_BATCH_MAX, RETRY_BACKOFF_MAX_MS};
use async_nats::jetstream::{self, message::PublishMessage, stream};
use async_nats::HeaderMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tradpal_journal::{Journal, ReplicationGate};
use tradpal_messages::{codec, subjects};

/// Publishes records after the gate until told to stop; returns the error that ended
/// leadership (`None` on a requested stop, after replicating what was durable by then).
pub async fn replicate(
    js: jetstream::Context,
    mut stream: stream::Stream,
    journal: Journal,
    gate: Arc<ReplicationGate>,
    lease: Arc<Lease>,
    state: Arc<ClusterState>,
    mut stop: watch::Receiver<bool>,
) -> Option<ClusterError> {
    let mut durable = journal.durable_changes();
    let mut unsure = false;
    let mut backoff_ms = 50;
    loop {
        let next = gate.through() + 1;
        let last = journal.last_sequence();
        if next > last {
            if *stop.borrow() {
                return None;
            }
            tokio::select! {
                _ = durable.changed() => {}
                _ = stop.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            continue;
        }
        if !lease.valid() {
            if *stop.borrow() {
                return None; // shutting down without a lease: what is left stays unacknowledged
            }
            // The lease keeper renews or declares the loss; nothing may be published meanwhile.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let round = async {
            if unsure {
                reconcile(&mut stream, &journal, &gate).await?;
            }
            publish_round(&js, &journal, &gate, gate.through() + 1, last).await
        };
        match round.await {
            Ok(through) => {
                unsure = false;
                backoff_ms = 50;
                state.update(|s| s.log_through = through);
            }
            Err(e) if e.is_fatal() => return Some(e),
            Err(e) => {
                unsure = true;
                tracing::warn!(error = %e, retry_ms = backoff_ms, "replicating the journal to NATS failed; commits wait");
                tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(RETRY_BACKOFF_MAX_MS);
            }
        }
    }
}

/// One round: records `from..=to` (at most `REPLICATE_BATCH_MAX`), acks awaited in order.
async fn publish_round(js: &jetstream::Context, journal: &Journal, gate: &ReplicationGate, from: u64, to: u64) -> Result<u64, ClusterError> {
    let to = to.min(from + REPLICATE_BATCH_MAX - 1);
    let j = journal.clone();
    let records = tokio::task::spawn_blocking(move || j.read_range(from, to).collect::<Result<Vec<_>, _>>())
        .await
        .map_err(|e| ClusterError::Journal(tradpal_journal::JournalError::Poisoned(e.to_string())))??;
    let mut acks = Vec::with_capacity(records.len());
    for env in &records {
        let mut headers = HeaderMap::new();
        headers.insert(subjects::EVENTS_SEQUENCE_HEADER, env.sequence.to_string().as_str());
        let publish = PublishMessage::build()
            .payload(codec::encode_envelope(env).into())
            .headers(headers)
            .expected_last_sequence(env.sequence - 1);
        let ack = js.send_publish(subjects::LOG_SUBJECT, publish).await.map_err(|e| nats_err("publish to the log", e))?;
        acks.push((env.sequence, ack));
    }
    let mut through = from - 1;
    for (sequence, ack) in acks {
        let ack = ack.await.map_err(|e| nats_err("log publish ack", e))?;
        if ack.sequence != sequence {
            return Err(ClusterError::Diverged(format!("record {sequence} was stored as log message {}", ack.sequence)));
        }
        through = sequence;
        gate.advance(through);
    }
    Ok(through)
}

/// After an error: where is the log, and is it still ours?
async fn reconcile(stream: &mut stream::Stream, journal: &Journal, gate: &ReplicationGate) -> Result<(), ClusterError> {
    let (_, last) = bounds(stream).await?;
    let ours = gate.through();
    if last < ours {
        return Err(ClusterError::Diverged(format!("the log ends at {last} but held {ours} before (was the stream deleted?)")));
    }
    if last == ours {
        return Ok(());
    }
    if last > journal.last_sequence() {
        return Err(ClusterError::LeadershipLost(format!("the log reached {last}, past this node's journal: another node wrote it")));
    }
    let theirs = stream.get_raw_message(last).await.map_err(|e| nats_err("read a log message", e))?;
    if theirs.payload.as_ref() != local_payload(journal, last).await?.as_slice() {
        return Err(ClusterError::LeadershipLost(format!("log message {last} is not this node's record: another node wrote it")));
    }
    gate.advance(last); // our publish was stored; its ack was lost
    Ok(())
}
