//! The state the `Journal` handle, the writer thread, the acknowledging thread and the
//! readers share, and the writer's counters. A module of its own so that the threads
//! (`writer.rs`, `ack.rs`) and the handle (`journal.rs`) all depend on it, never on
//! each other's modules.

use crate::error::JournalError;
use crate::format::Hash;
use crate::index::Index;
use crate::replication::ReplicationGate;
use crate::JournalOptions;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use tokio::sync::{watch, Notify};

/// State shared by the handle, the writer thread and the readers.
pub(crate) struct Shared {
    pub journal_dir: PathBuf,
    pub options: JournalOptions,
    pub index: Index,
    /// First sequence of every segment. The writer appends a segment before any record in
    /// it is published, so a reader that loads `durable_seq` first and then this list
    /// always finds the segment of every sequence it may read.
    pub segments: RwLock<Vec<u64>>,
    /// Last fsynced (and indexed) sequence: what readers may see.
    pub durable_seq: AtomicU64,
    /// The chain head: last durable sequence and its record hash.
    pub head: Mutex<(u64, Hash)>,
    /// Set once, by the first write/fsync/index failure; never cleared.
    pub poisoned: OnceLock<String>,
    /// Signalled whenever the writer takes requests off the queue (async backpressure).
    pub space: Notify,
    /// The writer thread has stopped.
    pub closed: AtomicBool,
    pub stats: Counters,
    /// `durable_seq`, for replicators that wait for new records instead of polling.
    pub durable_tx: watch::Sender<u64>,
    /// Set once when the deployment replicates (see `replication.rs`).
    pub replication: OnceLock<Arc<ReplicationGate>>,
}

/// Writer counters (relaxed atomics: for metrics, not for synchronisation).
#[derive(Default)]
pub(crate) struct Counters {
    pub groups: AtomicU64,
    pub records: AtomicU64,
    pub bytes: AtomicU64,
    pub fsync_nanos: AtomicU64,
    pub index_nanos: AtomicU64,
    /// Write + fsync time per group, log2 buckets of microseconds.
    pub fsync_micros_log2: Log2Buckets<FSYNC_BUCKETS>,
    /// Records per group, log2 buckets.
    pub group_records_log2: Log2Buckets<GROUP_BUCKETS>,
}

/// Buckets of the fsync histogram: upper bounds 1 µs, 2 µs, ... 2^23 µs (8.4 s); the
/// last also holds anything slower.
pub const FSYNC_BUCKETS: usize = 24;
/// Buckets of the group-size histogram: upper bounds 1, 2, ... 2^15 records.
pub const GROUP_BUCKETS: usize = 16;

/// A histogram of counts in power-of-two buckets: bucket `i` counts values in
/// `(2^(i-1), 2^i]` (bucket 0: 0 and 1), the last one everything larger. Relaxed
/// atomics: a few increments per group commit, no lock, no metrics dependency.
pub(crate) struct Log2Buckets<const N: usize>([AtomicU64; N]);

impl<const N: usize> Default for Log2Buckets<N> {
    fn default() -> Self {
        Self(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl<const N: usize> Log2Buckets<N> {
    pub fn record(&self, value: u64) {
        let i = if value <= 1 { 0 } else { (64 - (value - 1).leading_zeros()) as usize };
        self.0[i.min(N - 1)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> [u64; N] {
        std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed))
    }
}

impl Shared {
    pub fn poison(&self, reason: String) {
        let _ = self.poisoned.set(reason);
    }

    /// The error for a caller whose request the writer dropped unanswered. The writer
    /// marks itself closed before a normal stop drops anything, so a drop while it is
    /// neither closed nor poisoned means it is unwinding from a panic.
    pub(crate) fn stopped_error(&self) -> JournalError {
        if let Some(why) = self.replication.get().and_then(|g| g.failure()) {
            return JournalError::Replication(why);
        }
        match self.poisoned.get() {
            Some(reason) => JournalError::Poisoned(reason.clone()),
            None if self.closed.load(Ordering::Acquire) => JournalError::Closed,
            None => JournalError::Poisoned("the writer thread stopped unexpectedly (panic)".into()),
        }
    }

    /// Holds an acknowledgement until `sequence` is replicated (when the gate is on).
    pub(crate) fn replicated_blocking(&self, sequence: u64) -> Result<(), JournalError> {
        match self.replication.get() {
            Some(gate) => gate.wait_blocking(sequence),
            None => Ok(()),
        }
    }

    pub(crate) async fn replicated(&self, sequence: u64) -> Result<(), JournalError> {
        match self.replication.get() {
            Some(gate) => gate.wait(sequence).await,
            None => Ok(()),
        }
    }

    pub(crate) fn check_open(&self) -> Result<(), JournalError> {
        if self.poisoned.get().is_some() || self.closed.load(Ordering::Acquire) {
            return Err(self.stopped_error());
        }
        Ok(())
    }

    /// A consistent view for a reader: the durable limit, then the segments covering it.
    pub(crate) fn read_view(&self) -> (u64, Vec<u64>) {
        let last = self.durable_seq.load(Ordering::Acquire);
        let segments = self.segments.read().expect("segment list lock").clone();
        (last, segments)
    }
}

#[cfg(test)]
mod tests {
    use super::Log2Buckets;

    #[test]
    fn log2_buckets_hold_values_up_to_their_power_of_two() {
        let b = Log2Buckets::<4>::default();
        for v in [0, 1, 2, 3, 4, 5, 8, 9, 1_000] {
            b.record(v);
        }
        // Bounds 1, 2, 4, and the last bucket (8) also takes everything larger.
        assert_eq!(b.snapshot(), [2, 1, 2, 4]);
    }
}
