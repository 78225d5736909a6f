//! The single writer thread: drains queued appends into one group, writes the group with
//! one `write` and fsyncs it once, then hands it to the acknowledging thread (`ack.rs`),
//! which stores the acknowledged high-water mark, updates the index, publishes the new
//! durable sequence, and only then answers every caller.
//!
//! Why one thread: sequence assignment, the hash chain and the file offset are then plain
//! fields, not shared state, and a group is the natural unit of durability.
//!
//! Why a second one: the mark's fsync and the index update of group N take as long as
//! the data fsync itself; the writer meanwhile writes and fsyncs group N+1. The rules of
//! `lib.rs` still hold: a write starts only after the previous write's fsync returned
//! (the writer does both, in order), the mark of a group is stored after its data fsync
//! and before any of its callers is answered, and groups are acknowledged in order.
//! What changes is only that group N+1's data may be durable before group N's mark is:
//! after a crash then, N+1 is above the mark and unacknowledged, as it was.

use crate::ack::{Acker, Written};
use crate::error::JournalError;
use crate::format::{self, Hash, Header, HEADER_BYTES};
use crate::group::{Answer, Group, Request, Slot, Staged};
use crate::index::Location;
use crate::read::FileCache;
use crate::segment::{segment_path, sync_dir};
use crate::shared::Shared;
use crate::watermark::WatermarkFile;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use tradpal_messages::codec::encode_envelope;
use tradpal_messages::{Envelope, EnvelopeDraft};

/// Written groups queued for the acknowledging thread beyond the one it is working on:
/// the writer may be this many groups ahead of the acknowledgements (then it waits).
const GROUPS_UNACKNOWLEDGED_MAX: usize = 1;

pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub rx: Receiver<Request>,
    pub file: File,
    /// First sequence of the current segment, and its length in bytes.
    pub segment: u64,
    pub segment_bytes: u64,
    pub next_seq: u64,
    pub last_hash: Hash,
    /// The acknowledged high-water mark, stored after each group's fsync (moved to the
    /// acknowledging thread when the writer starts).
    pub watermark: Option<WatermarkFile>,
    pub files: FileCache,
    /// Idempotency keys of written groups the index may not hold yet (their acknowledgement
    /// is in flight), with their record: a duplicate in the next group must still find them.
    /// Pruned once `durable_seq` (published after the index update) passes them.
    pub unindexed_keys: HashMap<String, Envelope>,
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
        let watermark = self.watermark.take().expect("the writer starts with the mark file");
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(GROUPS_UNACKNOWLEDGED_MAX);
        let acker = Acker::new(self.shared.clone(), watermark, self.next_seq);
        let acker = match std::thread::Builder::new().name("journal-ack".into()).spawn(move || acker.run(done_rx)) {
            Ok(handle) => handle,
            Err(e) => {
                self.shared.poison(format!("cannot start the journal's acknowledging thread: {e}"));
                return; // queued callers see `Poisoned`
            }
        };
        self.collect_and_write(&done_tx);
        drop(done_tx); // the acknowledging thread answers what it has, then stops
        if acker.join().is_err() {
            self.shared.poison("the journal's acknowledging thread panicked".into());
        }
        // Requests still queued are dropped with the receiver: their callers see `Closed`.
    }

    fn collect_and_write(&mut self, done: &SyncSender<(Group, Written)>) {
        let records_max = self.shared.options.group_commit_records_max;
        let bytes_max = self.shared.options.group_commit_bytes_max;
        while let Ok(first) = self.rx.recv() {
            let mut group = Group::new(self.next_seq);
            let _poison_on_panic = PoisonOnPanic(self.shared.clone());
            self.prune_unindexed_keys();
            let mut stop = self.take(&mut group, first);
            while !stop && group.staged.len() < records_max && group.bytes < bytes_max {
                match self.rx.try_recv() {
                    Ok(request) => stop = self.take(&mut group, request),
                    Err(_) => break,
                }
            }
            self.shared.space.notify_waiters();
            let written = self.commit(&group);
            if done.send((group, written)).is_err() {
                self.shared.poison("the journal's acknowledging thread stopped".into());
                return;
            }
            if stop {
                return;
            }
        }
    }

    fn prune_unindexed_keys(&mut self) {
        if self.unindexed_keys.is_empty() {
            return;
        }
        let indexed = self.shared.durable_seq.load(Ordering::Acquire);
        self.unindexed_keys.retain(|_, envelope| envelope.sequence > indexed);
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
        if let Some(envelope) = self.unindexed_keys.get(key) {
            return Ok(Some(envelope.clone()));
        }
        let Some((seq, loc)) = self.shared.index.lookup_key(key)? else { return Ok(None) };
        let envelope = self.files.read(loc, seq)?;
        if envelope.idempotency_key.as_deref() != Some(key) {
            return Err(JournalError::Index(format!("key index points {key:?} at sequence {seq}, which has another key")));
        }
        Ok(Some(envelope))
    }

    /// Writes and fsyncs the group (nothing to write: nothing to do); the acknowledging
    /// thread does the rest. A failure poisons the journal at once, so that nothing is
    /// written after a write that may be incomplete.
    fn commit(&mut self, group: &Group) -> Written {
        if group.staged.is_empty() {
            return Ok(None);
        }
        assert_eq!(group.first_seq, self.next_seq, "a group starts where the log ends");
        match self.write_durably(group) {
            Err(e) => {
                self.shared.poison(e.to_string());
                tracing::error!(error = %e, "journal write failed; journal poisoned");
                Err(e)
            }
            Ok(written) => {
                for (key, &i) in &group.keys {
                    self.unindexed_keys.insert(key.clone(), group.staged[i].envelope.clone());
                }
                Ok(Some(written))
            }
        }
    }

    /// Rolls the segment if needed, then one write and one fsync. Returns each record's
    /// location and hash; advances the in-memory chain state only on success.
    // Times the fsync for the stats (a measurement, not journaled).
    #[allow(clippy::disallowed_methods)]
    fn write_durably(&mut self, group: &Group) -> Result<(Vec<(Location, Hash)>, u64), JournalError> {
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
        let nanos = started.elapsed().as_nanos() as u64;
        let stats = &self.shared.stats;
        stats.group_records_log2.record(group.staged.len() as u64);
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats.records.fetch_add(group.staged.len() as u64, Ordering::Relaxed);
        stats.bytes.fetch_add(total, Ordering::Relaxed);
        self.segment_bytes += total;
        self.next_seq += group.staged.len() as u64;
        self.last_hash = prev_hash;
        Ok((written, nanos))
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
}

impl Group {
    /// Stages one draft: invariants, idempotency, sequence, encoding, size limit.
    /// `added_keys` collects the keys this call registered (for a batch's rollback).
    fn stage_draft(&mut self, draft: EnvelopeDraft, writer: &mut Writer, added_keys: &mut Vec<String>) -> Result<Slot, JournalError> {
        draft.check_invariants().map_err(|e| JournalError::Invalid(e.to_string()))?;
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
}
