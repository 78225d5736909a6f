//! The single writer thread: drains queued appends into one group, writes the group with
//! one `write`, fsyncs once, stores the acknowledged high-water mark, updates the index, publishes the new durable sequence, and
//! only then answers every caller.
//!
//! Why one thread: sequence assignment, the hash chain and the file offset are then plain
//! fields, not shared state, and a group is the natural unit of durability.

use crate::error::JournalError;
use crate::format::{self, Hash, Header, HEADER_BYTES};
use crate::index::{IndexBatch, Location};
use crate::journal::Shared;
use crate::read::FileCache;
use crate::segment::{segment_path, sync_dir};
use crate::watermark::{Watermark, WatermarkFile};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use tokio::sync::oneshot;
use tradpal_messages::codec::encode_envelope;
use tradpal_messages::{Envelope, EnvelopeDraft};

/// Where an answer goes: a blocked thread or an awaiting future.
pub(crate) enum Responder<T> {
    Blocking(std::sync::mpsc::SyncSender<Result<T, JournalError>>),
    Async(oneshot::Sender<Result<T, JournalError>>),
}

impl<T> Responder<T> {
    fn send(self, result: Result<T, JournalError>) {
        // A caller that went away (dropped future) just misses the answer; the record
        // stays written, as after a crash between fsync and ack.
        match self {
            Responder::Blocking(tx) => drop(tx.send(result)),
            Responder::Async(tx) => drop(tx.send(result)),
        }
    }
}

// One request is moved once, into the queue and out; boxing would cost an allocation
// per append for nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Request {
    One {
        draft: EnvelopeDraft,
        reply: Responder<Envelope>,
    },
    Batch {
        drafts: Vec<EnvelopeDraft>,
        reply: Responder<Vec<Envelope>>,
    },
    /// Finish what was queued before this, then stop.
    Shutdown,
}

/// A draft's fate within a group.
#[allow(clippy::large_enum_variant)] // short-lived, one per draft in a group
enum Slot {
    /// Written in this group at `staged[i]` (a same-key duplicate points at the first).
    New(usize),
    /// Already journaled under the same idempotency key.
    Existing(Envelope),
}

#[allow(clippy::large_enum_variant)] // short-lived, one per request in a group
enum Answer {
    One(Responder<Envelope>, Result<Slot, JournalError>),
    Batch(Responder<Vec<Envelope>>, Result<Vec<Slot>, JournalError>),
}

struct Staged {
    envelope: Envelope,
    payload: Vec<u8>,
}

/// The requests taken into one write.
struct Group {
    first_seq: u64,
    staged: Vec<Staged>,
    bytes: usize,
    /// Idempotency keys staged in this group: same-group duplicates get the first record.
    keys: HashMap<String, usize>,
    answers: Vec<Answer>,
}

pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub rx: Receiver<Request>,
    pub file: File,
    /// First sequence of the current segment, and its length in bytes.
    pub segment: u64,
    pub segment_bytes: u64,
    pub next_seq: u64,
    pub last_hash: Hash,
    /// The acknowledged high-water mark, stored after each group's fsync.
    pub watermark: WatermarkFile,
    pub files: FileCache,
}

/// Marks the journal poisoned if the writer unwinds (a bug), so every later call fails
/// with the reason. (Callers whose answers were dropped by the unwinding itself already
/// get `Poisoned`: see `Shared::stopped_error`.)
struct PoisonOnPanic(Arc<Shared>);

impl Drop for PoisonOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poison("the writer thread panicked".into());
        }
    }
}

/// Marks the journal closed when the writer stops (and wakes async senders waiting for
/// queue space, so they see it). Runs before the queue's receiver is dropped.
struct ClosedOnExit(Arc<Shared>);

impl Drop for ClosedOnExit {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.space.notify_waiters();
    }
}

impl Writer {
    pub fn run(mut self) {
        let _closed_on_exit = ClosedOnExit(self.shared.clone());
        let records_max = self.shared.options.group_commit_records_max;
        let bytes_max = self.shared.options.group_commit_bytes_max;
        while let Ok(first) = self.rx.recv() {
            let mut group = Group::new(self.next_seq);
            let _poison_on_panic = PoisonOnPanic(self.shared.clone());
            let mut stop = self.take(&mut group, first);
            while !stop && group.staged.len() < records_max && group.bytes < bytes_max {
                match self.rx.try_recv() {
                    Ok(request) => stop = self.take(&mut group, request),
                    Err(_) => break,
                }
            }
            self.shared.space.notify_waiters();
            self.commit(group);
            if stop {
                break;
            }
        }
        // Requests still queued are dropped with the receiver: their callers see `Closed`.
    }

    /// Stages one request into the group. Returns true on `Shutdown`.
    fn take(&mut self, group: &mut Group, request: Request) -> bool {
        let poisoned = self.shared.poisoned.get().map(|reason| JournalError::Poisoned(reason.clone()));
        match request {
            Request::Shutdown => return true,
            Request::One { draft, reply } => {
                let outcome = match poisoned {
                    Some(e) => Err(e),
                    None => group.stage(draft, self),
                };
                group.answers.push(Answer::One(reply, outcome));
            }
            Request::Batch { drafts, reply } => {
                let outcome = match poisoned {
                    Some(e) => Err(e),
                    None => group.stage_batch(drafts, self),
                };
                group.answers.push(Answer::Batch(reply, outcome));
            }
        }
        false
    }

    /// The record already journaled under `key`, if any.
    fn existing(&mut self, key: &str) -> Result<Option<Envelope>, JournalError> {
        let Some((seq, loc)) = self.shared.index.lookup_key(key)? else { return Ok(None) };
        let envelope = self.files.read(loc, seq)?;
        if envelope.idempotency_key.as_deref() != Some(key) {
            return Err(JournalError::Index(format!("key index points {key:?} at sequence {seq}, which has another key")));
        }
        Ok(Some(envelope))
    }

    /// Writes, fsyncs, indexes, publishes, answers. Never answers success before the fsync.
    fn commit(&mut self, group: Group) {
        if group.staged.is_empty() {
            return group.answer(None);
        }
        debug_assert_eq!(group.first_seq, self.next_seq);
        match self.write_durably(&group) {
            Err(e) => {
                self.shared.poison(e.to_string());
                tracing::error!(error = %e, "journal write failed; journal poisoned");
                group.answer(Some(&e));
            }
            Ok(written) => {
                self.index_and_publish(&group, &written);
                group.answer(None);
            }
        }
    }

    /// Rolls the segment if needed, then one write and one fsync. Returns each record's
    /// location and hash; advances the in-memory chain state only on success.
    // Times the fsync for the stats (a measurement, not journaled).
    #[allow(clippy::disallowed_methods)]
    fn write_durably(&mut self, group: &Group) -> Result<Vec<(Location, Hash)>, JournalError> {
        let total: u64 = group.staged.iter().map(|s| (HEADER_BYTES + s.payload.len()) as u64).sum();
        if self.segment_bytes > 0 && self.segment_bytes + total > self.shared.options.segment_bytes_max {
            self.roll(group.first_seq)?;
        }
        let records = u32::try_from(group.staged.len()).expect("group size is bounded by the options");
        let mut buf = Vec::with_capacity(total as usize);
        let mut written = Vec::with_capacity(group.staged.len());
        let mut prev_hash = self.last_hash;
        for staged in &group.staged {
            let seq = staged.envelope.sequence;
            let location = Location { segment: self.segment, offset: self.segment_bytes + buf.len() as u64 };
            let header = Header {
                crc: 0,
                payload_len: staged.payload.len() as u32,
                batch_records: records,
                sequence: seq,
                batch_first: group.first_seq,
                prev_hash,
            };
            header.write_record(&staged.payload, &mut buf);
            prev_hash = format::record_hash(&prev_hash, seq, &staged.payload);
            written.push((location, prev_hash));
        }
        assert_eq!(buf.len() as u64, total);
        let path = segment_path(&self.shared.journal_dir, self.segment);
        let started = std::time::Instant::now();
        self.file.write_all(&buf).map_err(|e| JournalError::io(format!("write {}", path.display()), e))?;
        self.file.sync_data().map_err(|e| JournalError::io(format!("fsync {}", path.display()), e))?;
        // Before anyone is answered: the mark covers every acknowledged record.
        let last = group.first_seq + group.staged.len() as u64 - 1;
        self.watermark.store(Watermark { sequence: last, hash: prev_hash })?;
        let stats = &self.shared.stats;
        let nanos = started.elapsed().as_nanos() as u64;
        stats.fsync_nanos.fetch_add(nanos, Ordering::Relaxed);
        stats.fsync_micros_log2.record(nanos.div_ceil(1_000));
        stats.group_records_log2.record(group.staged.len() as u64);
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats.records.fetch_add(group.staged.len() as u64, Ordering::Relaxed);
        stats.bytes.fetch_add(total, Ordering::Relaxed);
        self.segment_bytes += total;
        self.next_seq += group.staged.len() as u64;
        self.last_hash = prev_hash;
        Ok(written)
    }

    /// Starts a new segment named after `first_seq` and makes its creation durable.
    fn roll(&mut self, first_seq: u64) -> Result<(), JournalError> {
        let dir = &self.shared.journal_dir;
        let path = segment_path(dir, first_seq);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| JournalError::io(format!("create {}", path.display()), e))?;
        sync_dir(dir).map_err(|e| JournalError::io(format!("fsync directory {}", dir.display()), e))?;
        self.shared.segments.write().expect("segment list lock").push(first_seq);
        self.file = file;
        self.segment = first_seq;
        self.segment_bytes = 0;
        tracing::info!(segment = %path.display(), "journal segment rolled");
        Ok(())
    }

    /// Index after the fsync, before the ack. An index failure does not undo durability:
    /// the group is still acknowledged, but the journal is poisoned (later idempotency
    /// lookups could be wrong) until a reopen rebuilds the index from the log.
    // Times the index update for the stats (a measurement, not journaled).
    #[allow(clippy::disallowed_methods)]
    fn index_and_publish(&mut self, group: &Group, written: &[(Location, Hash)]) {
        let mut batch = IndexBatch::default();
        for (staged, (loc, hash)) in group.staged.iter().zip(written) {
            batch.add(&staged.envelope, *loc, hash);
        }
        let started = std::time::Instant::now();
        let applied = self.shared.index.apply(batch);
        self.shared.stats.index_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if let Err(e) = applied {
            tracing::error!(error = %e, "journal index update failed; journal poisoned until reopen");
            self.shared.poison(format!("index update failed after a durable write: {e}"));
        }
        let last = self.next_seq - 1;
        *self.shared.head.lock().expect("head lock") = (last, self.last_hash);
        self.shared.durable_seq.store(last, Ordering::Release);
        self.shared.durable_tx.send_replace(last);
    }
}

impl Group {
    fn new(first_seq: u64) -> Group {
        Group { first_seq, staged: Vec::new(), bytes: 0, keys: HashMap::new(), answers: Vec::new() }
    }

    /// Stages one draft: invariants, idempotency, sequence, encoding, size limit.
    /// `added_keys` collects the keys this call registered (for a batch's rollback).
    fn stage_draft(&mut self, draft: EnvelopeDraft, writer: &mut Writer, added_keys: &mut Vec<String>) -> Result<Slot, JournalError> {
        draft.check_invariants().map_err(JournalError::Invalid)?;
        if let Some(key) = &draft.idempotency_key {
            if let Some(&i) = self.keys.get(key) {
                return Ok(Slot::New(i));
            }
            if let Some(existing) = writer.existing(key)? {
                return Ok(Slot::Existing(existing));
            }
        }
        let sequence = self.first_seq + self.staged.len() as u64;
        let envelope = draft.seal(sequence);
        if let Err(e) = envelope.check_invariants() {
            panic!("a draft that passed its invariants sealed into an invalid envelope: {e}");
        }
        let payload = encode_envelope(&envelope);
        let record_bytes = HEADER_BYTES + payload.len();
        let record_bytes_max = writer.shared.options.record_bytes_max;
        if record_bytes > record_bytes_max {
            return Err(JournalError::TooLarge { record_bytes, record_bytes_max });
        }
        if let Some(key) = &envelope.idempotency_key {
            self.keys.insert(key.clone(), self.staged.len());
            added_keys.push(key.clone());
        }
        self.bytes += record_bytes;
        self.staged.push(Staged { envelope, payload });
        Ok(Slot::New(self.staged.len() - 1))
    }

    fn stage(&mut self, draft: EnvelopeDraft, writer: &mut Writer) -> Result<Slot, JournalError> {
        self.stage_draft(draft, writer, &mut Vec::new())
    }

    /// All or nothing: on the first refused draft, everything this batch staged is undone.
    fn stage_batch(&mut self, drafts: Vec<EnvelopeDraft>, writer: &mut Writer) -> Result<Vec<Slot>, JournalError> {
        let records_max = writer.shared.options.group_commit_records_max;
        if drafts.len() > records_max {
            return Err(JournalError::Invalid(format!("batch of {} drafts exceeds group_commit_records_max {records_max}", drafts.len())));
        }
        let (staged_before, bytes_before) = (self.staged.len(), self.bytes);
        let mut added_keys = Vec::new();
        let mut slots = Vec::with_capacity(drafts.len());
        for (i, draft) in drafts.into_iter().enumerate() {
            match self.stage_draft(draft, writer, &mut added_keys) {
                Ok(slot) => slots.push(slot),
                Err(e) => {
                    self.staged.truncate(staged_before);
                    self.bytes = bytes_before;
                    for key in &added_keys {
                        self.keys.remove(key);
                    }
                    return Err(match e {
                        JournalError::Invalid(reason) => JournalError::Invalid(format!("batch draft {i}: {reason}")),
                        other => other,
                    });
                }
            }
        }
        Ok(slots)
    }

    /// Answers every caller. `failure` is the write/fsync error, if the group failed:
    /// then every caller with a new record gets it; refusals and existing records are
    /// answered as they are either way.
    fn answer(self, failure: Option<&JournalError>) {
        let staged = &self.staged;
        let resolve = |slot: Slot| -> Result<Envelope, JournalError> {
            match (slot, failure) {
                (Slot::Existing(envelope), _) => Ok(envelope),
                (Slot::New(_), Some(e)) => Err(e.duplicate()),
                (Slot::New(i), None) => Ok(staged[i].envelope.clone()),
            }
        };
        for answer in self.answers {
            match answer {
                Answer::One(reply, outcome) => reply.send(outcome.and_then(resolve)),
                Answer::Batch(reply, outcome) => reply.send(outcome.and_then(|slots| slots.into_iter().map(resolve).collect())),
            }
        }
    }
}
