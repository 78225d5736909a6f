//! Read-ahead for long range reads: the [`Cursor`] (file reads, crc, chain hashes and
//! links: about two thirds of a replay's time) runs on a thread of its own while the
//! caller decodes the records it already has.
//!
//! Why a thread: the cursor's work is already batched (crc and blake3 over 16 records
//! side by side, `crc_batch.rs` and `hash_batch.rs`); what is left to win is the second
//! core. The records, their order, their checks and the error that ends a damaged range
//! are the cursor's, unchanged: the thread hands the checked records over in batches, in
//! order, with the cursor's read buffers that hold them (shared, not copied: while a
//! batch holds a buffer, the cursor refills another, and the last holder gives it back),
//! so a range reads the same on either path (tests/read.rs reads both).
//!
//! Bounds: [`READ_AHEAD_BATCHES_QUEUED_MAX`] batches of at most
//! [`READ_AHEAD_BATCH_RECORDS`] records and about [`READ_AHEAD_BATCH_BYTES_MAX`] bytes
//! may wait for the caller (the thread blocks beyond that); used batches go back to the
//! thread for reuse. A caller that drops the iterator early ends the thread at its next
//! hand-over. A panic on the thread (a broken invariant) is raised again in the caller,
//! as it would have been inline.

use crate::error::JournalError;
use crate::read::{Cursor, RawRecord};
use std::ops::Range;
use std::path::{Path, PathBuf};
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
}

pub(crate) struct ReadAhead {
    journal_dir: PathBuf,
    batches: Receiver<Batch>,
    emptied: Sender<Batch>,
    thread: Option<JoinHandle<()>>,
    current: Batch,
    handed: usize,
    payload: (usize, Range<usize>),
}

impl ReadAhead {
    /// Starts reading `cursor` on a thread; gives it back when no thread can be started.
    pub fn start(cursor: Box<Cursor>) -> Result<ReadAhead, Box<Cursor>> {
        let journal_dir = cursor.journal_dir().to_owned();
        let (handover, slot) = mpsc::channel::<Box<Cursor>>();
        let (out, batches) = mpsc::sync_channel(READ_AHEAD_BATCHES_QUEUED_MAX);
        let (emptied, reuse) = mpsc::channel();
        let reader = move || {
            if let Ok(cursor) = slot.recv() {
                read(*cursor, &out, &reuse);
            }
        };
        // The cursor moves to the thread only once it runs, so a failed start keeps it.
        let Ok(thread) = std::thread::Builder::new().name("journal-read".into()).spawn(reader) else {
            return Err(cursor);
        };
        if let Err(mpsc::SendError(cursor)) = handover.send(cursor) {
            return Err(cursor);
        }
        Ok(ReadAhead { journal_dir, batches, emptied, thread: Some(thread), current: Batch::default(), handed: 0, payload: (0, 0..0) })
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
            let used = std::mem::replace(&mut self.current, next);
            let _ = self.emptied.send(used); // the thread may be done: then dropped
            self.handed = 0;
        }
    }

    /// As [`Cursor::payload`].
    pub fn payload(&self) -> &[u8] {
        &self.current.buffers[self.payload.0][self.payload.1.clone()]
    }
}

/// The thread: the cursor's records in batches, until its end, its error, or a caller
/// that hung up.
fn read(mut cursor: Cursor, out: &SyncSender<Batch>, reuse: &Receiver<Batch>) {
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
        let last = batch.last;
        if out.send(batch).is_err() || last {
            return;
        }
    }
}
