//! The run's event stream: every event the execution core emitted (and the funding),
//! in order, folded into a blake3 hash. Two runs with the same inputs must give the same
//! hash; any difference in any order, fill, fee or id changes it.
//!
//! Each event is hashed as its rkyv archive (the journal's binary form, without the
//! format-version byte: rkyv zeroes padding, so equal values give equal bytes) preceded
//! by its length as 8 little-endian bytes, so the framing is unambiguous. rkyv rather
//! than JSON because it is several times cheaper: JSON spends most of its time printing
//! timestamps and ids, and the stream has a few events per order. The framed bytes are
//! gathered into [`HASH_BATCH_BYTES`] batches before hashing (the same hash: blake3 is
//! streaming) because blake3 is several times faster on large inputs than on one
//! 200-byte event at a time. Full batches are hashed on a thread of the log's own (from
//! the first full batch: a short run starts none), in order, so the hash is the same and
//! the run does not wait for it; a queue of [`HASH_BATCHES_QUEUED_MAX`] batches bounds
//! what it holds.

use super::batch_thread::BatchThread;
use rkyv::rancor;
use tradpal_messages::Event;

/// Bytes gathered before they are hashed (a megabyte: the hashing thread wakes about a
/// hundred times for a run of 60,000 orders, not two thousand).
pub const HASH_BATCH_BYTES: usize = 1024 * 1024;

/// Full batches on their way to the hashing thread at most (a bounded queue: the run
/// waits rather than buffering without end).
pub const HASH_BATCHES_QUEUED_MAX: usize = 4;

pub struct EventLog {
    /// Hashes full batches on a thread of its own from the first full batch on (a run
    /// too short to fill one never starts it); `Inline` when none could be started.
    hasher: Hasher,
    pending: Vec<u8>,
    count: u64,
    kept: Option<Vec<Event>>,
    /// False for a log that only keeps events (a live session's: its record is the journal).
    hashing: bool,
    /// False: full batches are hashed here, never on a thread ([`EventLog::hash_here`]).
    threads: bool,
    /// rkyv's scratch space for serializing, the log's own: rkyv's default takes a
    /// thread-local one out and puts it back around every event.
    arena: rkyv::ser::allocator::Arena,
}

/// A writer appending to the batch whose positions count from `base` (the frame's
/// first archive byte): rkyv aligns by position, so the archive's bytes are the ones it
/// gives in a buffer of its own.
struct Framed<'a> {
    out: &'a mut Vec<u8>,
    base: usize,
}

impl rkyv::ser::Positional for Framed<'_> {
    fn pos(&self) -> usize {
        self.out.len() - self.base
    }
}

impl<E> rkyv::ser::Writer<E> for Framed<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), E> {
        self.out.extend_from_slice(bytes);
        Ok(())
    }
}

/// Where full batches are hashed. The bytes and their order are the same either way, so
/// the hash is too; the thread only takes blake3's time (a few percent of a backtest with
/// many orders) off the run.
enum Hasher {
    Inline(Box<blake3::Hasher>),
    Worker(BatchThread<u8, blake3::Hasher>),
}

impl Hasher {
    /// Hashes `batch` (taken; left empty, ready for the next), on the worker when there
    /// is one, starting it on first use when `threads` allows.
    fn update(&mut self, batch: &mut Vec<u8>, threads: bool) {
        if let Hasher::Inline(h) = self {
            if threads && h.count() == 0 {
                let hash = |h: &mut blake3::Hasher, batch: &mut Vec<u8>| {
                    h.update(batch);
                };
                if let Ok(worker) = BatchThread::start("event-hash", blake3::Hasher::new(), HASH_BATCHES_QUEUED_MAX, hash) {
                    *self = Hasher::Worker(worker);
                }
            }
        }
        match self {
            Hasher::Inline(h) => {
                h.update(batch);
                batch.clear();
            }
            Hasher::Worker(worker) => worker.send(batch, "bytes"),
        }
    }

    /// The hash of every batch, then `last`.
    fn finish(self, last: &[u8]) -> blake3::Hash {
        let mut h = match self {
            Hasher::Inline(h) => *h,
            Hasher::Worker(worker) => worker.finish(),
        };
        h.update(last);
        h.finalize()
    }
}

impl EventLog {
    /// `keep`: also keep every event (memory grows with the number of orders).
    pub fn new(keep: bool) -> Self {
        EventLog {
            hasher: Hasher::Inline(Box::default()),
            // Grows to about HASH_BATCH_BYTES on first use: a short run does not hold a
            // megabyte for it.
            pending: Vec::new(),
            count: 0,
            kept: keep.then(Vec::new),
            hashing: true,
            threads: true,
            arena: rkyv::ser::allocator::Arena::new(),
        }
    }

    /// Hashes every batch on the caller's thread (the same hash; for runs that already
    /// share the cores with other runs).
    pub fn hash_here(mut self) -> Self {
        self.threads = false;
        self
    }

    /// A log that keeps the events and hashes nothing (a live session journals them; a
    /// hash would cost time and about 68 kB per session).
    pub fn kept_only() -> Self {
        EventLog { hashing: false, ..EventLog::new(true) }
    }

    pub fn record(&mut self, event: &Event) {
        if !self.hashing {
            self.count += 1;
            if let Some(kept) = self.kept.as_mut() {
                kept.push(event.clone());
            }
            return;
        }
        // The frame's length is written once the archive is: 8 bytes kept for it, then
        // the archive serialized straight into the batch (no copy of ~600 bytes an event).
        let frame = self.pending.len();
        self.pending.extend_from_slice(&[0; 8]);
        let at = Framed { out: &mut self.pending, base: frame + 8 };
        rkyv::api::high::to_bytes_in_with_alloc::<_, _, rancor::Error>(event, at, self.arena.acquire())
            .expect("serializing an event to memory cannot fail");
        let archived = (self.pending.len() - frame - 8) as u64;
        self.pending[frame..frame + 8].copy_from_slice(&archived.to_le_bytes());
        if self.pending.len() >= HASH_BATCH_BYTES {
            self.hasher.update(&mut self.pending, self.threads);
        }
        self.count += 1;
        if let Some(kept) = self.kept.as_mut() {
            kept.push(event.clone());
        }
    }

    /// Takes the events kept since the last call (a live session journals them).
    pub fn drain(&mut self) -> Vec<Event> {
        self.kept.as_mut().map(std::mem::take).unwrap_or_default()
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The hash (hex), the number of events, and the events if kept.
    pub fn finish(self) -> (String, u64, Vec<Event>) {
        let hash = self.hasher.finish(&self.pending);
        (hash.to_hex().to_string(), self.count, self.kept.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::{CashAdjusted, Fixed};

    fn cash(amount: i64) -> Event {
        Event::CashAdjusted(CashAdjusted { asset: "USDT".into(), amount: Fixed::from_int(amount), reason: "test".into() })
    }

    #[test]
    fn equal_streams_hash_alike_and_order_matters() {
        let hash = |events: &[Event]| {
            let mut log = EventLog::new(false);
            events.iter().for_each(|e| log.record(e));
            log.finish().0
        };
        assert_eq!(hash(&[cash(1), cash(2)]), hash(&[cash(1), cash(2)]));
        assert_ne!(hash(&[cash(1), cash(2)]), hash(&[cash(2), cash(1)]));
        assert_ne!(hash(&[cash(1)]), hash(&[cash(1), cash(1)]));
        // Across the batch boundary: the same as hashing the framed bytes in one go.
        let many: Vec<Event> = (0..30_000).map(cash).collect();
        let mut whole = blake3::Hasher::new();
        for e in &many {
            let bytes = rkyv::to_bytes::<rancor::Error>(e).unwrap();
            whole.update(&(bytes.len() as u64).to_le_bytes());
            whole.update(&bytes);
        }
        assert_eq!(hash(&many), whole.finalize().to_hex().to_string());
        let mut kept = EventLog::new(true);
        kept.record(&cash(5));
        assert_eq!((kept.count(), kept.finish().2), (1, vec![cash(5)]));
    }
}
