//! The acknowledging thread: for each group the writer wrote and fsynced, in order, it
//! stores the acknowledged high-water mark (write + fsync), updates the index, publishes
//! the new durable sequence, and only then answers the group's callers.
//!
//! It runs beside the writer (see `writer.rs` for why) and is the only place that answers
//! appends, so answers come out in log order, and an answer that names an earlier
//! record (an idempotent repeat) never comes before that record's own acknowledgement.

use crate::acknowledged::Watermark;
use crate::error::JournalError;
use crate::format::Hash;
use crate::group::Group;
use crate::index::{IndexBatch, Location};
use crate::shared::Shared;
use crate::watermark::WatermarkFile;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// What the writer did with a group: nothing to write (`None`), or each record's location
/// and hash plus the write + fsync time in nanoseconds, or the write's failure.
pub(crate) type Written = Result<Option<(Vec<(Location, Hash)>, u64)>, JournalError>;

pub(crate) struct Acker {
    shared: Arc<Shared>,
    watermark: WatermarkFile,
    /// The first sequence of the next group to acknowledge (groups come in log order).
    next_seq: u64,
    /// The last sequence acknowledged (covered by the mark, indexed, published).
    acknowledged_through: u64,
}

/// Poisons the journal if this thread unwinds (a bug): callers of the groups it held
/// then get `Poisoned` rather than wait forever.
struct PoisonOnPanic(Arc<Shared>);

impl Drop for PoisonOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.poison("the journal's acknowledging thread panicked".into());
        }
    }
}

impl Acker {
    pub fn new(shared: Arc<Shared>, watermark: WatermarkFile, next_seq: u64) -> Acker {
        Acker { shared, watermark, next_seq, acknowledged_through: next_seq - 1 }
    }

    /// Acknowledges groups until the writer hangs up.
    pub fn run(mut self, done: Receiver<(Group, Written)>) {
        let _poison_on_panic = PoisonOnPanic(self.shared.clone());
        while let Ok((group, written)) = done.recv() {
            self.acknowledge(group, written);
        }
    }

    fn acknowledge(&mut self, group: Group, written: Written) {
        let written = match written {
            Err(e) => return group.answer(Some(&e), self.acknowledged_through),
            Ok(written) => written,
        };
        if let Some((locations, _)) = &written {
            assert_eq!(group.first_seq, self.next_seq, "groups are acknowledged in log order");
            assert_eq!(locations.len(), group.staged.len(), "one location per record written");
            self.next_seq += group.staged.len() as u64;
        }
        // A journal poisoned since this group was written (an earlier group's mark or index
        // update failed) acknowledges nothing more: these records are durable, unanswered.
        if let Some(reason) = self.shared.poisoned.get() {
            return group.answer(Some(&JournalError::Poisoned(reason.clone())), self.acknowledged_through);
        }
        let Some((locations, write_nanos)) = written else {
            return group.answer(None, self.acknowledged_through);
        };
        let (_, last_hash) = *locations.last().expect("a written group has records");
        let last = self.next_seq - 1;
        match self.store_mark(Watermark { sequence: last, hash: last_hash }, write_nanos) {
            Err(e) => {
                self.shared.poison(e.to_string());
                tracing::error!(error = %e, "journal mark write failed; journal poisoned");
                group.answer(Some(&e), self.acknowledged_through);
            }
            Ok(()) => {
                self.index_and_publish(&group, &locations, last, last_hash);
                self.acknowledged_through = last;
                group.answer(None, last);
            }
        }
    }

    /// Before anyone is answered: the mark covers every acknowledged record.
    // Times the mark's fsync for the stats (a measurement, not journaled).
    #[allow(clippy::disallowed_methods)]
    fn store_mark(&mut self, mark: Watermark, write_nanos: u64) -> Result<(), JournalError> {
        let started = std::time::Instant::now();
        self.watermark.store(mark)?;
        let nanos = write_nanos + started.elapsed().as_nanos() as u64;
        let stats = &self.shared.stats;
        stats.fsync_nanos.fetch_add(nanos, Ordering::Relaxed);
        stats.fsync_micros_log2.record(nanos.div_ceil(1_000));
        Ok(())
    }

    /// Index after the fsync, before the ack. An index failure does not undo durability:
    /// the group is still acknowledged, but the journal is poisoned (later idempotency
    /// lookups could be wrong) until a reopen rebuilds the index from the log.
    // Times the index update for the stats (a measurement, not journaled).
    #[allow(clippy::disallowed_methods)]
    fn index_and_publish(&mut self, group: &Group, written: &[(Location, Hash)], last: u64, last_hash: Hash) {
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
        *self.shared.head.lock().expect("head lock") = (last, last_hash);
        self.shared.durable_seq.store(last, Ordering::Release);
        self.shared.durable_tx.send_replace(last);
    }
}
