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
//! 200-byte event at a time.

use rkyv::rancor;
use tradpal_messages::Event;

/// Bytes gathered before they are hashed.
pub const HASH_BATCH_BYTES: usize = 64 * 1024;

pub struct EventLog {
    hasher: blake3::Hasher,
    pending: Vec<u8>,
    count: u64,
    kept: Option<Vec<Event>>,
    /// False for a log that only keeps events (a live session's: its record is the journal).
    hashing: bool,
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

impl EventLog {
    /// `keep`: also keep every event (memory grows with the number of orders).
    pub fn new(keep: bool) -> Self {
        EventLog {
            hasher: blake3::Hasher::new(),
            // Grows to about HASH_BATCH_BYTES on first use: a live session that never
            // hashes much does not hold 68 kB for it.
            pending: Vec::new(),
            count: 0,
            kept: keep.then(Vec::new),
            hashing: true,
        }
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
        rkyv::api::high::to_bytes_in::<_, rancor::Error>(event, at).expect("serializing an event to memory cannot fail");
        let archived = (self.pending.len() - frame - 8) as u64;
        self.pending[frame..frame + 8].copy_from_slice(&archived.to_le_bytes());
        if self.pending.len() >= HASH_BATCH_BYTES {
            self.hasher.update(&self.pending);
            self.pending.clear();
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
    pub fn finish(mut self) -> (String, u64, Vec<Event>) {
        self.hasher.update(&self.pending);
        (self.hasher.finalize().to_hex().to_string(), self.count, self.kept.unwrap_or_default())
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
        let many: Vec<Event> = (0..2_000).map(cash).collect();
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
