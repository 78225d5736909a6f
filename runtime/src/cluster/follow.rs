//! Standby side: the log stream, the agreement check between the local journal and the
//! log, and following the log into the local journal.

use super::{nats_err, ClusterError, ClusterState, FOLLOW_BATCH_MAX, FOLLOW_MESSAGE_WAIT_MS, LOG_MESSAGES_MAX};
use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use std::time::Duration;
use tradpal_journal::Journal;
use tradpal_messages::{codec, subjects, EnvelopeDraft};

pub fn log_config() -> stream::Config {
    stream::Config {
        name: subjects::LOG_STREAM.to_string(),
        description: Some("TradPal replicated journal: the leader's records, message sequence = journal sequence".into()),
        subjects: vec![subjects::LOG_SUBJECT.to_string()],
        retention: stream::RetentionPolicy::Limits,
        max_messages: LOG_MESSAGES_MAX,
        max_message_size: crate::nats::MESSAGE_BYTES_MAX,
        storage: stream::StorageType::File,
        // Nothing is ever discarded by age: a standby must be able to replay from its
        // position, however old. (`LOG_MESSAGES_MAX` bounds the disk.)
        ..Default::default()
    }
}

pub async fn log_stream(js: &jetstream::Context) -> Result<stream::Stream, ClusterError> {
    js.get_or_create_stream(log_config()).await.map_err(|e| nats_err("open the log stream", e))
}

/// The log's (first, last) sequences.
pub async fn bounds(stream: &mut stream::Stream) -> Result<(u64, u64), ClusterError> {
    let info = stream.info().await.map_err(|e| nats_err("read the log's state", e))?;
    Ok((info.state.first_sequence, info.state.last_sequence))
}

/// The journal's record `sequence`, encoded exactly as the log carries it.
pub async fn local_payload(journal: &Journal, sequence: u64) -> Result<Vec<u8>, ClusterError> {
    let j = journal.clone();
    let env = tokio::task::spawn_blocking(move || j.get(sequence))
        .await
        .map_err(|e| ClusterError::Journal(tradpal_journal::JournalError::Poisoned(e.to_string())))??
        .ok_or_else(|| ClusterError::Diverged(format!("the local journal has no record {sequence}")))?;
    Ok(codec::encode_envelope(&env))
}

/// Whether this node's record `sequence` is byte-identical to the log's message.
async fn agrees(stream: &stream::Stream, journal: &Journal, sequence: u64) -> Result<bool, ClusterError> {
    if sequence == 0 {
        return Ok(true);
    }
    let theirs = stream.get_raw_message(sequence).await.map_err(|e| nats_err("read a log message", e))?;
    Ok(theirs.payload.as_ref() == local_payload(journal, sequence).await?.as_slice())
}

/// Checks the local journal against the log. They must agree on a common prefix (checked
/// at its end: with the hash chain behind each side, agreement at the end of the shorter
/// one pins the whole prefix). Returns the log's last sequence, or
/// [`ClusterError::Ahead`] with the last sequence both agree on when this node holds
/// records the log does not (its tail as a leader that died before publishing it, never
/// acknowledged to anyone), found by binary search when the tail also disagrees.
pub async fn check_agreement(stream: &mut stream::Stream, journal: &Journal) -> Result<u64, ClusterError> {
    let (first, last) = bounds(stream).await?;
    let local = journal.last_sequence();
    if last == 0 || local == 0 {
        return Ok(last); // an empty log is seeded by the first leader; an empty journal copies the log
    }
    let hi = local.min(last);
    if hi < first {
        return Err(ClusterError::CannotFollow(format!(
            "the log starts at {first} (trimmed by its limits) but this node's journal ends at {local}; copy a journal to this node"
        )));
    }
    if agrees(stream, journal, hi).await? {
        return if local > last { Err(ClusterError::Ahead { keep_through: last, local }) } else { Ok(last) };
    }
    // Largest k in [first-1, hi) that agrees: the divergence starts at k+1.
    let (mut lo, mut bad) = (first - 1, hi);
    while bad - lo > 1 {
        let mid = lo + (bad - lo) / 2;
        if agrees(stream, journal, mid).await? {
            lo = mid;
        } else {
            bad = mid;
        }
    }
    if lo < first && first > 1 {
        return Err(ClusterError::Diverged(format!("this node's journal disagrees with every record the log still holds (from {first})")));
    }
    Err(ClusterError::Ahead { keep_through: lo, local })
}

/// Appends log messages `journal.last_sequence()+1 ..= through` to the local journal, in
/// batches, asserting that each gets the sequence it has in the log.
pub async fn catch_up(stream: &stream::Stream, journal: &Journal, through: u64, state: &ClusterState) -> Result<u64, ClusterError> {
    let mut next = journal.last_sequence() + 1;
    if next > through {
        return Ok(next - 1);
    }
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: subjects::LOG_SUBJECT.to_string(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: next },
            ..Default::default()
        })
        .await
        .map_err(|e| nats_err("follow the log", e))?;
    let mut messages = consumer.messages().await.map_err(|e| nats_err("follow the log", e))?;
    let mut drafts: Vec<EnvelopeDraft> = Vec::with_capacity(FOLLOW_BATCH_MAX);
    let mut batch_first = next;
    while next <= through {
        let wait = Duration::from_millis(FOLLOW_MESSAGE_WAIT_MS);
        let msg = match tokio::time::timeout(wait, messages.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => return Err(nats_err("follow the log", e)),
            Ok(None) => return Err(ClusterError::Nats("the log consumer ended".into())),
            Err(_) => return Err(ClusterError::Nats(format!("no log message {next} within {FOLLOW_MESSAGE_WAIT_MS} ms"))),
        };
        let seq = msg.info().map_err(|e| nats_err("log message metadata", e))?.stream_sequence;
        if seq != next {
            return Err(ClusterError::CannotFollow(format!(
                "the log skips from {} to {seq} (trimmed by its limits?); copy a journal to this node instead",
                next - 1
            )));
        }
        let env = codec::decode_envelope(&msg.payload).map_err(|e| ClusterError::Diverged(format!("log message {seq} does not decode: {e}")))?;
        if env.sequence != seq {
            return Err(ClusterError::Diverged(format!("log message {seq} carries journal sequence {}", env.sequence)));
        }
        drafts.push(env.into_draft());
        next += 1;
        if drafts.len() >= FOLLOW_BATCH_MAX || next > through {
            let written = journal.append_batch_async(std::mem::take(&mut drafts)).await?;
            for (i, env) in written.iter().enumerate() {
                if env.sequence != batch_first + i as u64 {
                    return Err(ClusterError::Diverged(format!(
                        "log record {} was journaled here as {} (an idempotency key already present?)",
                        batch_first + i as u64,
                        env.sequence
                    )));
                }
            }
            batch_first = next;
            state.update(|s| s.log_through = next - 1);
        }
    }
    Ok(next - 1)
}
