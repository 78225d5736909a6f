//! Standby side: the log stream, where a journal sequence lives in it, the agreement
//! check between the local journal and the log, and following the log into the journal.

use super::frame::{self, FRAME_BYTES_MAX};
use super::{nats_err, ClusterError, ClusterState, FOLLOW_BATCH_MAX, FOLLOW_MESSAGE_WAIT_MS, LOG_MESSAGES_MAX};
use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use std::time::Duration;
use tradpal_journal::Journal;
use tradpal_messages::{codec, subjects, EnvelopeDraft};

pub fn log_config(replicas: usize) -> stream::Config {
    stream::Config {
        num_replicas: replicas,
        name: subjects::LOG_STREAM.to_string(),
        description: Some("TradPal replicated journal: the leader's records in frames, in order".into()),
        subjects: vec![subjects::LOG_SUBJECT.to_string()],
        retention: stream::RetentionPolicy::Limits,
        max_messages: LOG_MESSAGES_MAX,
        max_message_size: crate::nats::MESSAGE_BYTES_MAX.max(FRAME_BYTES_MAX as i32 * 2),
        storage: stream::StorageType::File,
        // Nothing is ever discarded by age: a standby must be able to replay from its
        // position, however old. (`LOG_MESSAGES_MAX` bounds the disk.)
        ..Default::default()
    }
}

pub async fn log_stream(js: &jetstream::Context, replicas: usize) -> Result<stream::Stream, ClusterError> {
    js.get_or_create_stream(log_config(replicas)).await.map_err(|e| nats_err("open the log stream", e))
}

/// Where the log stands: its first and last message, and the last journal sequence it
/// holds (0 when empty).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogEnd {
    pub first_message: u64,
    pub last_message: u64,
    pub last_record: u64,
}

pub async fn log_end(stream: &mut stream::Stream) -> Result<LogEnd, ClusterError> {
    let info = stream.info().await.map_err(|e| nats_err("read the log's state", e))?;
    let (first_message, last_message) = (info.state.first_sequence, info.state.last_sequence);
    if last_message == 0 {
        return Ok(LogEnd { first_message, last_message, last_record: 0 });
    }
    let (_, last_record) = span_of(stream, last_message).await?;
    Ok(LogEnd { first_message, last_message, last_record })
}

/// The journal sequences held by log message `message`.
pub async fn span_of(stream: &stream::Stream, message: u64) -> Result<(u64, u64), ClusterError> {
    let m = stream.get_raw_message(message).await.map_err(|e| nats_err("read a log message", e))?;
    frame::span(Some(&m.headers), message)
}

/// The log message holding journal record `record` (binary search on the frames'
/// headers: frames are consecutive and ordered). `None` when the log no longer (or not
/// yet) holds it.
pub async fn locate(stream: &stream::Stream, end: &LogEnd, record: u64) -> Result<Option<u64>, ClusterError> {
    if end.last_message == 0 || record > end.last_record || record == 0 {
        return Ok(None);
    }
    let (mut lo, mut hi) = (end.first_message, end.last_message);
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        let (first, last) = span_of(stream, mid).await?;
        if record < first {
            if mid == lo {
                return Ok(None); // before the oldest message kept
            }
            hi = mid - 1;
        } else if record > last {
            lo = mid + 1;
        } else {
            return Ok(Some(mid));
        }
    }
    Ok(None)
}

/// The log's encoding of journal record `record` (`None` when the log does not hold it).
async fn log_record(stream: &stream::Stream, end: &LogEnd, record: u64) -> Result<Option<Vec<u8>>, ClusterError> {
    let Some(message) = locate(stream, end, record).await? else { return Ok(None) };
    let m = stream.get_raw_message(message).await.map_err(|e| nats_err("read a log message", e))?;
    let (first, last) = frame::span(Some(&m.headers), message)?;
    let records = frame::unpack(&m.payload, first, last, message)?;
    Ok(Some(records[(record - first) as usize].to_vec()))
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

/// Whether this node's record `sequence` is byte-identical to the log's (`None`: the log
/// no longer holds it).
async fn agrees(stream: &stream::Stream, end: &LogEnd, journal: &Journal, sequence: u64) -> Result<Option<bool>, ClusterError> {
    if sequence == 0 {
        return Ok(Some(true));
    }
    let Some(theirs) = log_record(stream, end, sequence).await? else { return Ok(None) };
    Ok(Some(theirs == local_payload(journal, sequence).await?))
}

/// Checks the local journal against the log. They must agree on a common prefix (checked
/// at its end: with the hash chain behind each side, agreement at the end of the shorter
/// one pins the whole prefix). Returns where the log ends, or [`ClusterError::Ahead`]
/// with the last sequence both agree on when this node holds records the log does not
/// (its tail as a leader that died before publishing it, never acknowledged to anyone),
/// found by binary search when the tail also disagrees.
pub async fn check_agreement(stream: &mut stream::Stream, journal: &Journal) -> Result<LogEnd, ClusterError> {
    let end = log_end(stream).await?;
    let local = journal.last_sequence();
    if end.last_record == 0 || local == 0 {
        return Ok(end); // an empty log is seeded by the first leader; an empty journal copies the log
    }
    let trimmed = || {
        ClusterError::CannotFollow(format!(
            "the log no longer holds the records around this node's journal end ({local}): it was trimmed by its limits; copy a journal to this node"
        ))
    };
    let hi = local.min(end.last_record);
    match agrees(stream, &end, journal, hi).await? {
        Some(true) if local > end.last_record => return Err(ClusterError::Ahead { keep_through: end.last_record, local }),
        Some(true) => return Ok(end),
        Some(false) => {}
        None => return Err(trimmed()),
    }
    // Largest k < hi that agrees: the divergence starts at k+1.
    let (mut lo, mut bad) = (0, hi);
    while bad - lo > 1 {
        let mid = lo + (bad - lo) / 2;
        match agrees(stream, &end, journal, mid).await? {
            Some(true) => lo = mid,
            Some(false) => bad = mid,
            None => return Err(trimmed()),
        }
    }
    Err(ClusterError::Ahead { keep_through: lo, local })
}

/// Appends the log's records `journal.last_sequence()+1 ..= through` to the local journal
/// in batches, asserting that each gets the sequence it has in the log.
pub async fn catch_up(
    stream: &stream::Stream,
    end: &LogEnd,
    journal: &Journal,
    through: u64,
    state: &ClusterState,
) -> Result<u64, ClusterError> {
    let mut next = journal.last_sequence() + 1;
    if next > through {
        return Ok(next - 1);
    }
    let Some(start) = locate(stream, end, next).await? else {
        return Err(ClusterError::CannotFollow(format!(
            "the log no longer holds record {next} (trimmed by its limits); copy a journal to this node"
        )));
    };
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: subjects::LOG_SUBJECT.to_string(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: start },
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
            Err(_) => return Err(ClusterError::Nats(format!("no log message with record {next} within {FOLLOW_MESSAGE_WAIT_MS} ms"))),
        };
        let message = msg.info().map_err(|e| nats_err("log message metadata", e))?.stream_sequence;
        let (first, last) = frame::span(msg.headers.as_ref(), message)?;
        if first > next || last < next {
            return Err(ClusterError::CannotFollow(format!(
                "log message {message} holds records {first}..={last}, expected one holding {next}"
            )));
        }
        for (k, bytes) in frame::unpack(&msg.payload, first, last, message)?.into_iter().enumerate() {
            let sequence = first + k as u64;
            if sequence < next || sequence > through {
                continue;
            }
            drafts.push(frame::decode(bytes, sequence, message)?.into_draft());
            next = sequence + 1;
        }
        if drafts.len() >= FOLLOW_BATCH_MAX || next > through {
            append_checked(journal, std::mem::take(&mut drafts), batch_first).await?;
            batch_first = next;
            state.update(|s| s.log_through = next - 1);
        }
    }
    Ok(next - 1)
}

/// Appends a batch of the log's records, asserting the journal gives each the sequence it
/// has in the log.
async fn append_checked(journal: &Journal, drafts: Vec<EnvelopeDraft>, first: u64) -> Result<(), ClusterError> {
    let written = journal.append_batch_async(drafts).await?;
    for (i, env) in written.iter().enumerate() {
        if env.sequence != first + i as u64 {
            return Err(ClusterError::Diverged(format!(
                "log record {} was journaled here as {} (an idempotency key already present?)",
                first + i as u64,
                env.sequence
            )));
        }
    }
    Ok(())
}
