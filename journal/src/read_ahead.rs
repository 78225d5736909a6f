//! Read-ahead for long range reads: the [`Cursor`] (file reads, crc, framing; with the
//! chain hashes, about two thirds of a replay's time) runs on a thread of its own while
//! the caller decodes the records it already has.
//!
//! Why a thread: the cursor's work is already batched (crc and blake3 over 16 records
//! side by side, `crc_batch.rs` and `hash_batch.rs`); what is left to win is the second
//! core. The records, their order, their checks and the error that ends a damaged range
//! are the cursor's, unchanged: the thread hands the checked records over in batches, in
//! order, with the cursor's read buffers that hold them (shared, not copied: while a
//! batch holds a buffer, the cursor refills another, and the last holder gives it back),
//! so a range reads the same on either path (tests/read.rs reads both).
//!
//! The chain hashes (blake3, about two fifths of the cursor's work) go to whichever side
//! has time: the cursor runs with its chain deferred ([`Cursor::defer_chain`]); the
//! thread hashes a batch itself when the caller still has an earlier one waiting (the
//! thread is ahead), and otherwise hands it over unhashed for the caller to hash as it
//! receives it. The caller then checks every link in order (each record's stored
//! `prev_hash` against the hash of the record before it), so a broken link ends the
//! range at that record, with the error the cursor would have given, and replaces any
//! later error of the batch, as in the cursor. Why: with all the hashing on the thread,
//! a caller that only decodes waited on it (the thread busy all the time, the caller
//! about two fifths of it); with a fixed share on the caller, a caller with work of its
//! own per record was slowed instead (`--bench journal -- replay`: both cases, in
//! ARCHITECTURE.md's journal section).
//!
//! Bounds: [`READ_AHEAD_BATCHES_QUEUED_MAX`] batches of at most
//! [`READ_AHEAD_BATCH_RECORDS`] records and about [`READ_AHEAD_BATCH_BYTES_MAX`] bytes
//! may wait for the caller (the thread blocks beyond that); used batches go back to the
//! thread for reuse. A caller that drops the iterator early ends the thread at its next
//! hand-over. A panic on the thread (a broken invariant) is raised again in the caller,
//! as it would have been inline.

use crate::error::JournalError;
use crate::format::{Corruption, Hash};
use crate::hash_batch::BatchHasher;
use crate::read::{corrupt, Cursor, RawRecord};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Ranges of at least this many records are read ahead on a thread (a thread costs tens
/// of microseconds; shorter reads, such as `get`, stay on the caller's).
pub(crate) const READ_AHEAD_RECORDS_MIN: u64 = 8_192;

/// Records handed over at once, at most (256 woke the caller often enough to cost 5 %;
/// 4,096 outgrew the caches) ...
pub(crate) const READ_AHEAD_BATCH_RECORDS: usize = 1_024;

/// ... and payload bytes: a batch closes once it holds this many (large records), so
/// the queue holds a few megabytes whatever the records' sizes.
pub(crate) const READ_AHEAD_BATCH_BYTES_MAX: usize = 1 << 20;

/// Batches the thread may be ahead of the caller.
pub(crate) const READ_AHEAD_BATCHES_QUEUED_MAX: usize = 4;

/// Who computes a batch's chain hashes: the rule above (`Adaptive`), or, for tests that
/// must reach both paths whatever the timing, always the thread or always the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashSide {
    Adaptive,
    #[cfg_attr(not(test), allow(dead_code))]
    Thread,
    #[cfg_attr(not(test), allow(dead_code))]
    Caller,
}

#[derive(Default)]
struct Batch {
    /// Each record, where its payload lies, and in which of `buffers`.
    records: Vec<(RawRecord, Range<usize>, usize)>,
    /// The cursor's read buffers holding the payloads (shared, not copied: the cursor
    /// continues in another buffer while a batch holds one).
    buffers: Vec<Arc<Vec<u8>>>,
    payload_bytes: usize,
    /// The error that ends the range, after the records.
    error: Option<JournalError>,
    /// Set on the thread's last batch: a hang-up without it means the thread died.
    last: bool,
    /// Whether the records' chain hashes are computed (by the thread); the caller
    /// computes them otherwise.
    hashed: bool,
}

impl Batch {
    /// Computes each record's chain hash (`RawRecord::hash`), from its stored
    /// `prev_hash`, its sequence and its payload: one hasher run per buffer.
    fn hash(&mut self, hasher: &mut BatchHasher) {
        let mut start = 0;
        while start < self.records.len() {
            let buffer = self.records[start].2;
            let end = start + self.records[start..].iter().take_while(|r| r.2 == buffer).count();
            hasher.clear();
            for (raw, payload, _) in &self.records[start..end] {
                hasher.push(&raw.stored_prev, raw.sequence, payload.clone());
            }
            hasher.finish(&self.buffers[buffer]);
            for ((raw, _, _), hash) in self.records[start..end].iter_mut().zip(&hasher.hashes) {
                raw.hash = *hash;
            }
            start = end;
        }
        self.hashed = true;
    }
}

pub(crate) struct ReadAhead {
    journal_dir: PathBuf,
    batches: Receiver<Batch>,
    emptied: Sender<Batch>,
    thread: Option<JoinHandle<()>>,
    current: Batch,
    handed: usize,
    payload: (usize, Range<usize>),
    /// What the next record must chain to (`None`: unknown, the range started past 1).
    prev_hash: Option<Hash>,
    hasher: BatchHasher,
    /// Batches sent and not yet received (the thread's measure of being ahead).
    queued: Arc<AtomicUsize>,
}

impl ReadAhead {
    /// Starts reading `cursor` on a thread; gives it back when no thread can be started.
    pub fn start(mut cursor: Box<Cursor>, side: HashSide) -> Result<ReadAhead, Box<Cursor>> {
        let journal_dir = cursor.journal_dir().to_owned();
        let prev_hash = cursor.defer_chain();
        let (handover, slot) = mpsc::channel::<Box<Cursor>>();
        let (out, batches) = mpsc::sync_channel(READ_AHEAD_BATCHES_QUEUED_MAX);
        let (emptied, reuse) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let sent = Arc::clone(&queued);
        let reader = move || {
            if let Ok(cursor) = slot.recv() {
                read(*cursor, &out, &reuse, &sent, side);
            }
        };
        // The cursor moves to the thread only once it runs, so a failed start keeps it.
        let Ok(thread) = std::thread::Builder::new().name("journal-read".into()).spawn(reader) else {
            return Err(cursor);
        };
        if let Err(mpsc::SendError(cursor)) = handover.send(cursor) {
            return Err(cursor);
        }
        Ok(ReadAhead {
            journal_dir,
            batches,
            emptied,
            thread: Some(thread),
            current: Batch::default(),
            handed: 0,
            payload: (0, 0..0),
            prev_hash,
            hasher: BatchHasher::new(),
            queued,
        })
    }

    pub fn journal_dir(&self) -> &Path {
        &self.journal_dir
    }

    /// As [`Cursor::next_raw`].
    pub fn next_raw(&mut self) -> Option<Result<RawRecord, JournalError>> {
        loop {
            if let Some((raw, payload, buffer)) = self.current.records.get(self.handed) {
                self.handed += 1;
                self.payload = (*buffer, payload.clone());
                return Some(Ok(*raw));
            }
            if let Some(e) = self.current.error.take() {
                return Some(Err(e));
            }
            if self.current.last {
                return None;
            }
            let Ok(next) = self.batches.recv() else {
                // Gone without its last batch: it panicked. Raise that here.
                match self.thread.take().map(JoinHandle::join) {
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    _ => panic!("the journal read-ahead thread stopped before the end of its range"),
                }
            };
            self.queued.fetch_sub(1, Ordering::Relaxed);
            let used = std::mem::replace(&mut self.current, next);
            let _ = self.emptied.send(used); // the thread may be done: then dropped
            self.handed = 0;
            if !self.current.hashed {
                self.current.hash(&mut self.hasher);
            }
            self.link();
        }
    }

    /// Checks the links of the batch just received, in order; a broken one ends the
    /// range at its record (the batch's own error came later: it is replaced).
    fn link(&mut self) {
        for k in 0..self.current.records.len() {
            let raw = &self.current.records[k].0;
            if let Some(prev) = self.prev_hash {
                if prev != raw.stored_prev {
                    let reason = Corruption::ChainBreak { found: raw.stored_prev, expected: prev };
                    self.current.error = Some(corrupt(&self.journal_dir, raw.location, raw.sequence, reason));
                    self.current.records.truncate(k);
                    self.current.last = true;
                    return;
                }
            }
            self.prev_hash = Some(raw.hash);
        }
    }

    /// As [`Cursor::payload`].
    pub fn payload(&self) -> &[u8] {
        &self.current.buffers[self.payload.0][self.payload.1.clone()]
    }
}

/// The thread: the cursor's records in batches, until its end, its error, or a caller
/// that hung up.
fn read(mut cursor: Cursor, out: &SyncSender<Batch>, reuse: &Receiver<Batch>, queued: &AtomicUsize, side: HashSide) {
    let mut hasher = BatchHasher::new();
    loop {
        let mut batch = reuse.try_recv().unwrap_or_default();
        batch.records.clear();
        batch.payload_bytes = 0;
        for buffer in batch.buffers.drain(..) {
            // The last holder of a buffer gives it back to the cursor for reuse.
            if let Ok(buffer) = Arc::try_unwrap(buffer) {
                cursor.recycle(buffer);
            }
        }
        debug_assert!(batch.error.is_none() && !batch.last, "a used batch was ended");
        batch.hashed = false;
        while batch.records.len() < READ_AHEAD_BATCH_RECORDS && batch.payload_bytes < READ_AHEAD_BATCH_BYTES_MAX {
            match cursor.next_raw() {
                None => {
                    batch.last = true;
                    break;
                }
                Some(Ok(raw)) => {
                    let (buffer, payload) = cursor.payload_in_buffer();
                    if batch.buffers.last().is_none_or(|last| !Arc::ptr_eq(last, buffer)) {
                        batch.buffers.push(Arc::clone(buffer));
                    }
                    batch.payload_bytes += payload.len();
                    batch.records.push((raw, payload, batch.buffers.len() - 1));
                }
                Some(Err(e)) => {
                    batch.error = Some(e);
                    batch.last = true;
                    break;
                }
            }
        }
        // Ahead of the caller (it has a batch waiting besides the one it works on): hash
        // here. Otherwise the caller would wait for this batch: it hashes it itself.
        let here = match side {
            HashSide::Adaptive => queued.load(Ordering::Relaxed) > 0,
            HashSide::Thread => true,
            HashSide::Caller => false,
        };
        if here {
            batch.hash(&mut hasher);
        }
        queued.fetch_add(1, Ordering::Relaxed);
        let last = batch.last;
        if out.send(batch).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Both hashing paths whatever the timing (`tests/read.rs` reads through the adaptive
    //! rule, which in a test mostly leaves the hashing to the caller).

    use super::HashSide;
    use crate::format::{record_crc, Header, HEADER_BYTES};
    use crate::{Journal, JournalError, JournalOptions};
    use std::os::unix::fs::FileExt;
    use tradpal_messages::{ActorRestarted, CorrelationId, Envelope, EnvelopeDraft, Event, EventId, Timestamp};

    /// Records written: past the read-ahead threshold, about twelve batches.
    const RECORDS: u64 = 12_000;

    fn draft(n: u64) -> EnvelopeDraft {
        let event = Event::ActorRestarted(ActorRestarted {
            actor: "test".into(),
            restart_count: n as u32,
            reason: "x".repeat((n % 300) as usize),
            restarted: true,
        });
        EnvelopeDraft::new(EventId(u128::from(n) + 1), Timestamp::from_millis(n as i64), CorrelationId(1), event)
    }

    /// A journal of [`RECORDS`] records in one segment, and what was written.
    fn journal() -> (tempfile::TempDir, Journal, Vec<Envelope>) {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(dir.path(), JournalOptions::default()).unwrap();
        let mut written = Vec::new();
        for chunk in 0..RECORDS / 500 {
            written.extend(journal.append_batch((0..500).map(|i| draft(chunk * 500 + i)).collect()).unwrap());
        }
        (dir, journal, written)
    }

    /// Rewrites record `seq`'s stored prev_hash with a valid crc: only the chain tells.
    fn break_link(dir: &std::path::Path, seq: u64) {
        let path = std::fs::read_dir(dir.join("journal"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "seg"))
            .unwrap();
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let mut offset = 0u64;
        loop {
            let mut head = [0u8; HEADER_BYTES];
            file.read_exact_at(&mut head, offset).unwrap();
            let header = Header::parse(&head).unwrap();
            if header.sequence == seq {
                let mut payload = vec![0u8; header.payload_len as usize];
                file.read_exact_at(&mut payload, offset + HEADER_BYTES as u64).unwrap();
                head[40] ^= 0xFF; // in prev_hash
                let crc = record_crc(&head, &payload);
                head[4..8].copy_from_slice(&crc.to_le_bytes());
                file.write_all_at(&head, offset).unwrap();
                return;
            }
            offset += header.record_bytes();
        }
    }

    #[test]
    fn either_side_hashes_the_same_records_and_finds_the_same_breaks() {
        let (dir, journal, written) = journal();
        for side in [HashSide::Thread, HashSide::Caller, HashSide::Adaptive] {
            let read: Vec<Envelope> = journal.read_range_hashed_by(1, RECORDS, side).collect::<Result<_, _>>().unwrap();
            assert_eq!(read, written, "{side:?}");
            let from: Vec<Envelope> = journal.read_range_hashed_by(3_001, RECORDS, side).collect::<Result<_, _>>().unwrap();
            assert_eq!(from, written[3_000..], "{side:?}: from past 1");
        }
        // The link to genesis, one in the first batch, one mid-range (batch 8).
        for seq in [1, 700, 9_000] {
            break_link(dir.path(), seq);
            for side in [HashSide::Thread, HashSide::Caller, HashSide::Adaptive] {
                let mut records = journal.read_range_hashed_by(1, RECORDS, side);
                for expected in 1..seq {
                    assert_eq!(records.next().unwrap().unwrap().sequence, expected, "{side:?}");
                }
                match records.next() {
                    Some(Err(JournalError::Corrupt { sequence, reason, .. })) => {
                        assert_eq!(sequence, seq, "{side:?}: {reason}");
                        assert!(reason.contains("chain break"), "{side:?}: {reason}");
                    }
                    other => panic!("{side:?}: expected a chain break at {seq}, got {other:?}"),
                }
                assert!(records.next().is_none(), "{side:?}: nothing after the break");
            }
            break_link(dir.path(), seq); // flipped back: intact again
        }
    }
}
