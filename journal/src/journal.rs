//! The `Journal` handle: appends (blocking, async, batch), reads, close.

use crate::error::JournalError;
use crate::format::Hash;
use crate::group::{Request, Responder};
use crate::read::{Cursor, FileCache, RangeIter, SessionIter};
use crate::read_ahead::HashSide;
use crate::recovery::{self, RecoveryReport};
use crate::replication::ReplicationGate;
use crate::shared::{Counters, Shared, FSYNC_BUCKETS, GROUP_BUCKETS};
use crate::writer::Writer;
use crate::JournalOptions;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;
use tokio::sync::{oneshot, watch, Notify};
use tracing::Instrument as _;
use tradpal_messages::{Envelope, EnvelopeDraft, SessionId};

/// Cumulative writer statistics since open (for metrics and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Group commits (one write + one fsync each).
    pub groups: u64,
    /// Records written (idempotent repeats not counted).
    pub records: u64,
    pub bytes: u64,
    /// Time spent in write + fsync, in nanoseconds.
    pub write_fsync_nanos: u64,
    /// Time spent updating the sled index after the fsync, in nanoseconds.
    pub index_nanos: u64,
    /// Group commits by write + fsync time: bucket `i` counts those that took at most
    /// 2^i µs (and more than 2^(i-1)); the last bucket also holds slower ones.
    pub fsync_micros_log2: [u64; FSYNC_BUCKETS],
    /// Group commits by size: bucket `i` counts groups of at most 2^i records (and more
    /// than 2^(i-1)); the last bucket also holds larger ones.
    pub group_records_log2: [u64; GROUP_BUCKETS],
}

struct Inner {
    shared: Arc<Shared>,
    tx: SyncSender<Request>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    /// Asks the writer to finish the queue and stop, then waits for it.
    fn shut_down(&self) {
        let handle = self.writer.lock().expect("writer handle lock").take();
        if let Some(handle) = handle {
            let _ = self.tx.send(Request::Shutdown); // fails only if the writer already stopped
            if handle.join().is_err() {
                tracing::error!("journal writer thread panicked");
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The append-only journal. Cheap to clone (an `Arc`); `Send + Sync`. The directory (and
/// sled's lock on the index) is released when the last clone and the last reader drop.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

/// The chain head: the last durable record's sequence and hash (genesis when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub sequence: u64,
    pub hash: Hash,
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`: scans and verifies the whole log,
    /// cuts a torn tail, refuses corruption, brings the index up to date, starts the writer.
    pub fn open(dir: &Path, options: JournalOptions) -> Result<(Journal, RecoveryReport), JournalError> {
        let recovered = recovery::recover(dir, &options)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(options.queue_depth_max);
        let journal_dir = recovered.journal_dir.clone();
        let shared = Arc::new(Shared {
            journal_dir: journal_dir.clone(),
            options,
            index: recovered.index,
            segments: RwLock::new(recovered.segments),
            durable_seq: AtomicU64::new(recovered.last_seq),
            head: Mutex::new((recovered.last_seq, recovered.last_hash)),
            poisoned: OnceLock::new(),
            space: Notify::new(),
            closed: AtomicBool::new(false),
            stats: Counters::default(),
            durable_tx: watch::Sender::new(recovered.last_seq),
            replication: OnceLock::new(),
        });
        let writer = Writer {
            shared: shared.clone(),
            rx,
            file: recovered.file,
            segment: recovered.segment,
            segment_bytes: recovered.segment_bytes,
            next_seq: recovered.last_seq + 1,
            last_hash: recovered.last_hash,
            watermark: Some(recovered.watermark),
            files: FileCache::new(&journal_dir),
            unindexed_keys: std::collections::HashMap::new(),
        };
        let handle = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| JournalError::io("spawn the journal writer thread", e))?;
        let inner = Inner { shared, tx, writer: Mutex::new(Some(handle)) };
        Ok((Journal { inner: Arc::new(inner) }, recovered.report))
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Appends one draft and returns its envelope once it is durable (blocks the thread:
    /// from async code use [`Journal::append_async`]). With an idempotency key that is
    /// already journaled (or earlier in the same group), returns that record instead and
    /// writes nothing.
    pub fn append(&self, draft: EnvelopeDraft) -> Result<Envelope, JournalError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send_blocking(Request::One { draft, reply: Responder::Blocking(tx) })?;
        let envelope = rx.recv().map_err(|_| self.shared().stopped_error())??;
        self.shared().replicated_blocking(envelope.sequence)?;
        Ok(envelope)
    }

    /// Appends drafts as one unit: all are written in one write and one fsync, or none
    /// (a refused draft refuses the batch; a crash mid-write cuts the whole write on open).
    pub fn append_batch(&self, drafts: Vec<EnvelopeDraft>) -> Result<Vec<Envelope>, JournalError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send_blocking(Request::Batch { drafts, reply: Responder::Blocking(tx) })?;
        let envelopes = rx.recv().map_err(|_| self.shared().stopped_error())??;
        self.shared().replicated_blocking(last_of(&envelopes))?;
        Ok(envelopes)
    }

    /// [`Journal::append`] for async callers: never blocks the executor (waits for queue
    /// space and for the fsync on futures). Dropping the future does not cancel the append.
    pub fn append_async(&self, draft: EnvelopeDraft) -> impl Future<Output = Result<Envelope, JournalError>> + Send + 'static {
        let inner = self.inner.clone();
        let span = append_span(1);
        async move {
            let (tx, rx) = oneshot::channel();
            send_async(&inner, Request::One { draft, reply: Responder::Async(tx) }).await?;
            let envelope = rx.await.map_err(|_| inner.shared.stopped_error())??;
            inner.shared.replicated(envelope.sequence).await?;
            tracing::Span::current().record("sequence", envelope.sequence);
            Ok(envelope)
        }
        .instrument(span)
    }

    /// [`Journal::append_batch`] for async callers.
    pub fn append_batch_async(
        &self,
        drafts: Vec<EnvelopeDraft>,
    ) -> impl Future<Output = Result<Vec<Envelope>, JournalError>> + Send + 'static {
        let inner = self.inner.clone();
        let span = append_span(drafts.len());
        async move {
            if drafts.is_empty() {
                return Ok(Vec::new());
            }
            let (tx, rx) = oneshot::channel();
            send_async(&inner, Request::Batch { drafts, reply: Responder::Async(tx) }).await?;
            let envelopes = rx.await.map_err(|_| inner.shared.stopped_error())??;
            inner.shared.replicated(last_of(&envelopes)).await?;
            tracing::Span::current().record("sequence", last_of(&envelopes));
            Ok(envelopes)
        }
        .instrument(span)
    }

    /// Queues a batch and returns once it is *queued* (in call order with every other
    /// append), with a future that resolves when it is durable. Lets a single writer
    /// (an actor) pipeline: decide, queue, move on, and answer its caller when the
    /// future resolves — many decisions then share one fsync, and their order in the
    /// journal is the order they were queued in.
    pub async fn enqueue_batch(
        &self,
        drafts: Vec<EnvelopeDraft>,
    ) -> Result<impl Future<Output = Result<Vec<Envelope>, JournalError>> + Send + 'static, JournalError> {
        let inner = self.inner.clone();
        let (tx, rx) = oneshot::channel();
        let span = append_span(drafts.len());
        if !drafts.is_empty() {
            send_async(&inner, Request::Batch { drafts, reply: Responder::Async(tx) }).instrument(span.clone()).await?;
        } else {
            let _ = tx.send(Ok(Vec::new()));
        }
        let durable = async move {
            let envelopes = rx.await.map_err(|_| inner.shared.stopped_error())??;
            inner.shared.replicated(last_of(&envelopes)).await?;
            tracing::Span::current().record("sequence", last_of(&envelopes));
            Ok(envelopes)
        };
        Ok(durable.instrument(span))
    }

    /// Turns the replication gate on (once; later calls return the same gate): from now
    /// on every append is acknowledged only after the replicator has advanced the gate
    /// past it. `replicated_through`: what the replication log already holds.
    pub fn require_replication(&self, replicated_through: u64) -> Arc<ReplicationGate> {
        self.shared().replication.get_or_init(|| Arc::new(ReplicationGate::new(replicated_through))).clone()
    }

    /// Replication can no longer be trusted (leadership lost, diverged log): poisons the
    /// journal (no more appends) and fails every acknowledgement still waiting.
    pub fn fail_replication(&self, reason: String) {
        if let Some(gate) = self.shared().replication.get() {
            gate.fail(reason.clone());
        }
        self.shared().poison(format!("replication failed: {reason}"));
    }

    /// The last durable sequence, as a watch: replicators wait on it instead of polling.
    pub fn durable_changes(&self) -> watch::Receiver<u64> {
        self.shared().durable_tx.subscribe()
    }

    fn send_blocking(&self, request: Request) -> Result<(), JournalError> {
        self.shared().check_open()?;
        self.inner.tx.send(request).map_err(|_| self.shared().stopped_error())
    }

    /// Durable records `from..=to_inclusive` (clamped to what exists), streamed from disk
    /// with crc and chain checks. Records appended after this call are not included.
    pub fn read_range(&self, from: u64, to_inclusive: u64) -> RangeIter {
        self.read_range_hashed_by(from, to_inclusive, HashSide::Adaptive)
    }

    /// [`Self::read_range`], a read-ahead batch's chain hashes computed by `side`.
    pub(crate) fn read_range_hashed_by(&self, from: u64, to_inclusive: u64, side: HashSide) -> RangeIter {
        let (last, segments) = self.shared().read_view();
        let to = to_inclusive.min(last);
        let from = from.max(1);
        if from > to {
            return RangeIter::new(Ok(None), from, side);
        }
        let shared = self.shared();
        RangeIter::new(Cursor::new(&shared.journal_dir, segments, &shared.index, from, to).map(Some), from, side)
    }

    /// A session's durable records, in sequence order, via the session index.
    pub fn read_session(&self, session: SessionId) -> SessionIter {
        let (last, _) = self.shared().read_view();
        SessionIter::new(&self.shared().journal_dir, &self.shared().index, session, last)
    }

    /// Where durable record `sequence` starts on disk.
    pub(crate) fn location_of(&self, sequence: u64) -> Result<crate::index::Location, JournalError> {
        let (last, segments) = self.shared().read_view();
        if sequence == 0 || sequence > last {
            return Err(JournalError::Invalid(format!("no durable record {sequence} (last is {last})")));
        }
        let shared = self.shared();
        let mut cursor = Cursor::new(&shared.journal_dir, segments, &shared.index, sequence, sequence)?;
        loop {
            match cursor.next_raw() {
                Some(Ok(raw)) if raw.sequence == sequence => return Ok(raw.location),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Err(JournalError::Invalid(format!("record {sequence} not found"))),
            }
        }
    }

    /// The durable record with this sequence, if any.
    pub fn get(&self, sequence: u64) -> Result<Option<Envelope>, JournalError> {
        if sequence == 0 {
            return Ok(None);
        }
        self.read_range(sequence, sequence).next().transpose()
    }

    /// The durable record journaled under this idempotency key, if any.
    pub fn find_by_key(&self, key: &str) -> Result<Option<Envelope>, JournalError> {
        let shared = self.shared();
        let last = shared.durable_seq.load(Ordering::Acquire);
        match shared.index.lookup_key(key)? {
            Some((seq, loc)) if seq <= last => {
                let envelope = FileCache::new(&shared.journal_dir).read(loc, seq)?;
                if envelope.idempotency_key.as_deref() != Some(key) {
                    return Err(JournalError::Index(format!("key index points {key:?} at a record with another key")));
                }
                Ok(Some(envelope))
            }
            _ => Ok(None),
        }
    }

    /// The last durable, acknowledged sequence (0 when empty).
    pub fn last_sequence(&self) -> u64 {
        self.shared().durable_seq.load(Ordering::Acquire)
    }

    pub fn head(&self) -> ChainHead {
        let (sequence, hash) = *self.shared().head.lock().expect("head lock");
        ChainHead { sequence, hash }
    }

    /// `<dir>/journal`, where the segments live.
    pub fn journal_dir(&self) -> &Path {
        &self.shared().journal_dir
    }

    pub fn stats(&self) -> JournalStats {
        let c = &self.shared().stats;
        JournalStats {
            groups: c.groups.load(Ordering::Relaxed),
            records: c.records.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            write_fsync_nanos: c.fsync_nanos.load(Ordering::Relaxed),
            index_nanos: c.index_nanos.load(Ordering::Relaxed),
            fsync_micros_log2: c.fsync_micros_log2.snapshot(),
            group_records_log2: c.group_records_log2.snapshot(),
        }
    }

    /// Why the journal refuses appends, if it is poisoned.
    pub fn poisoned(&self) -> Option<String> {
        self.shared().poisoned.get().cloned()
    }

    /// Stops the writer after it has written everything queued so far, then flushes the
    /// index. Appends through other clones fail with `Closed` afterwards.
    pub fn close(self) -> Result<(), JournalError> {
        self.inner.shut_down();
        self.shared().index.flush()?;
        match self.shared().poisoned.get() {
            Some(reason) => Err(JournalError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }
}

/// The highest sequence among a batch's envelopes (0 for none: nothing to wait for).
fn last_of(envelopes: &[Envelope]) -> u64 {
    envelopes.iter().map(|e| e.sequence).max().unwrap_or(0)
}

/// Queues a request without blocking the executor: on a full queue, waits for the writer
/// to signal that it took requests off (registering before retrying, so no wake-up is lost).
async fn send_async(inner: &Inner, mut request: Request) -> Result<(), JournalError> {
    inner.shared.check_open()?;
    loop {
        let notified = inner.shared.space.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        match inner.tx.try_send(request) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(_)) => return Err(inner.shared.stopped_error()),
            Err(TrySendError::Full(back)) => {
                request = back;
                inner.shared.check_open()?;
                notified.await;
            }
        }
    }
}

/// The span of one async append, a child of the caller's span (an actor message), open
/// from queueing until the records are durable (and replicated, when that is required):
/// a trace shows what a request waited for on the journal. `sequence`: the last record's.
fn append_span(records: usize) -> tracing::Span {
    tracing::info_span!("journal.append", records, sequence = tracing::field::Empty)
}
