//! Leader side: publish every durable journal record to the log, in order, packed into
//! frames (`frame.rs`), each frame with `Nats-Expected-Last-Sequence` = the log message
//! before it, then advance the replication gate, which releases the acknowledgements
//! waiting on those records.
//!
//! After any error (NATS away, an ack lost) the replicator does not guess what the server
//! stored: it reads the log's last sequence and compares that message with its own
//! record. Equal: carry on from there. The log ahead of this node's journal, or a
//! different record: another node wrote the log, so this node is no longer the leader.

use super::follow::{local_payload, log_end};
use super::frame;
use super::lease::Lease;
use super::{nats_err, ClusterError, ClusterState, REPLICATE_BATCH_MAX, RETRY_BACKOFF_MAX_MS};
use async_nats::jetstream::{self, message::PublishMessage, stream};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tradpal_journal::{Journal, ReplicationGate};
use tradpal_messages::subjects;

/// Publishes records after the gate until told to stop; returns the error that ended
/// leadership (`None` on a requested stop, after replicating what was durable by then).
/// `log_last_message`: the log's last message when this node took the lease.
#[allow(clippy::too_many_arguments)] // one call site (`Node::lead`); a struct would only rename them
pub async fn replicate(
    js: jetstream::Context,
    mut stream: stream::Stream,
    journal: Journal,
    gate: Arc<ReplicationGate>,
    mut log_last_message: u64,
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
            // Idle: notice an outage before the next write has to wait for it.
            let connected = js.client().connection_state() == async_nats::connection::State::Connected;
            state.update(|s| match (connected, s.stalled.is_some()) {
                (false, false) => s.stalled = Some("NATS is unreachable, so the cluster log cannot be written".into()),
                (true, true) if !unsure => s.stalled = None,
                _ => {}
            });
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
                reconcile(&mut stream, &journal, &gate, &mut log_last_message).await?;
            }
            publish_round(&js, &journal, &gate, &mut log_last_message, gate.through() + 1, last).await
        };
        match round.await {
            Ok(through) => {
                unsure = false;
                backoff_ms = 50;
                state.update(|s| {
                    s.log_through = through;
                    s.stalled = None;
                });
            }
            Err(e) if e.is_fatal() => return Some(e),
            Err(e) => {
                unsure = true;
                let why = format!("the cluster log cannot be written ({e})");
                state.update(|s| s.stalled = Some(why));
                tracing::warn!(error = %e, retry_ms = backoff_ms, "replicating the journal to NATS failed; commits wait");
                tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                backoff_ms = (backoff_ms * 2).min(RETRY_BACKOFF_MAX_MS);
            }
        }
    }
}

/// One round: records `from..=to` (at most `REPLICATE_BATCH_MAX`) packed into frames,
/// each published with the log's expected last message; acks awaited in order.
async fn publish_round(
    js: &jetstream::Context,
    journal: &Journal,
    gate: &ReplicationGate,
    log_last_message: &mut u64,
    from: u64,
    to: u64,
) -> Result<u64, ClusterError> {
    let to = to.min(from + REPLICATE_BATCH_MAX - 1);
    let j = journal.clone();
    let records = tokio::task::spawn_blocking(move || j.read_range(from, to).collect::<Result<Vec<_>, _>>())
        .await
        .map_err(|e| ClusterError::Journal(tradpal_journal::JournalError::Poisoned(e.to_string())))??;
    let mut acks = Vec::new();
    for (k, f) in frame::pack(&records).into_iter().enumerate() {
        let expected = *log_last_message + k as u64;
        let publish = PublishMessage::build().payload(f.payload.clone().into()).headers(f.headers()).expected_last_sequence(expected);
        let ack = js.send_publish(subjects::LOG_SUBJECT, publish).await.map_err(|e| nats_err("publish to the log", e))?;
        acks.push((expected + 1, f.last, ack));
    }
    let mut through = from - 1;
    for (message, last_record, ack) in acks {
        let ack = ack.await.map_err(|e| nats_err("log publish ack", e))?;
        if ack.sequence != message {
            return Err(ClusterError::Diverged(format!("a frame expected as log message {message} was stored as {}", ack.sequence)));
        }
        *log_last_message = message;
        through = last_record;
        gate.advance(through);
    }
    Ok(through)
}

/// After an error: where is the log, and is it still ours?
async fn reconcile(
    stream: &mut stream::Stream,
    journal: &Journal,
    gate: &ReplicationGate,
    log_last_message: &mut u64,
) -> Result<(), ClusterError> {
    let end = log_end(stream).await?;
    let ours = gate.through();
    if end.last_message < *log_last_message || end.last_record < ours {
        return Err(ClusterError::Diverged(format!(
            "the log ends at message {} (record {}) but held message {} (record {ours}) before: was the stream deleted?",
            end.last_message, end.last_record, log_last_message
        )));
    }
    if end.last_message == *log_last_message {
        return Ok(());
    }
    if end.last_record > journal.last_sequence() {
        return Err(ClusterError::LeadershipLost(format!(
            "the log reached record {}, past this node's journal: another node wrote it",
            end.last_record
        )));
    }
    let m = stream.get_raw_message(end.last_message).await.map_err(|e| nats_err("read a log message", e))?;
    let (first, last) = frame::span(Some(&m.headers), end.last_message)?;
    let theirs = frame::unpack(&m.payload, first, last, end.last_message)?;
    if theirs[theirs.len() - 1] != local_payload(journal, last).await?.as_slice() {
        return Err(ClusterError::LeadershipLost(format!("log message {} is not this node's: another node wrote it", end.last_message)));
    }
    *log_last_message = end.last_message; // our publishes were stored; their acks were lost
    gate.advance(last);
    Ok(())
}
