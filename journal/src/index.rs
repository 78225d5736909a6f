//! The sled indexes in `<dir>/index/`: derived data, rebuilt from the log whenever in doubt.
//!
//! Trees (all integers big-endian, so keys sort numerically):
//!
//! | tree        | key                          | value                                   |
//! |-------------|------------------------------|-----------------------------------------|
//! | `keys`      | idempotency key (UTF-8)      | sequence u64, segment u64, offset u64   |
//! | `sessions`  | session id (16) ++ seq u64   | segment u64, offset u64                 |
//! | `positions` | sequence u64 (every 64th)    | segment u64, offset u64                 |
//! | `meta`      | `indexed_through`            | sequence u64 ++ that record's hash (32) |
//!
//! `segment` is the first sequence of the segment file. Positions are sparse (one per
//! [`POSITION_STRIDE_RECORDS`]) because a read by sequence can scan forward a few records
//! cheaply, while an index write per record would cost throughput. `indexed_through`
//! carries the chain hash so that open can tell an index of *this* log from one of another
//! (or of a log that was truncated and rewritten): the hash commits to all history.

use crate::error::JournalError;
use crate::format::Hash;
use std::path::Path;
use std::time::{Duration, Instant};
use tradpal_messages::{Envelope, SessionId};

/// One position entry per this many sequences (a read by sequence scans at most this many
/// records forward).
pub const POSITION_STRIDE_RECORDS: u64 = 64;

/// How long open waits for sled's directory lock (a just-dropped handle in the same
/// process may still be releasing it).
const LOCK_WAIT_MS_MAX: u64 = 2_000;

const META_INDEXED_THROUGH: &[u8] = b"indexed_through";

/// Where a record lives: segment (its first sequence) and byte offset in that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub segment: u64,
    pub offset: u64,
}

pub struct Index {
    db: sled::Db,
    keys: sled::Tree,
    sessions: sled::Tree,
    positions: sled::Tree,
    meta: sled::Tree,
}

/// Pending index updates for a run of records, applied in one sled batch per tree.
#[derive(Default)]
pub struct IndexBatch {
    keys: sled::Batch,
    sessions: sled::Batch,
    positions: sled::Batch,
    through: Option<(u64, Hash)>,
    len: usize,
    /// Entries per tree (sled has no `Batch::is_empty`; an empty batch still costs a pass).
    keys_len: usize,
    sessions_len: usize,
    positions_len: usize,
}

impl IndexBatch {
    pub fn add(&mut self, envelope: &Envelope, location: Location, hash: &Hash) {
        let seq = envelope.sequence;
        if let Some(key) = &envelope.idempotency_key {
            self.keys.insert(key.as_bytes(), key_value(seq, location).to_vec());
            self.keys_len += 1;
        }
        if let Some(session) = envelope.session_id {
            self.sessions.insert(session_key(session, seq).to_vec(), location_value(location).to_vec());
            self.sessions_len += 1;
        }
        if (seq - 1).is_multiple_of(POSITION_STRIDE_RECORDS) {
            self.positions.insert(&seq.to_be_bytes(), location_value(location).to_vec());
            self.positions_len += 1;
        }
        self.through = Some((seq, *hash));
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

impl Index {
    /// Opens (or creates) the index. A database sled cannot open is deleted and recreated:
    /// the log is the truth, so a broken index costs a rebuild, never an outage.
    // Waiting for sled's file lock is a real-time I/O deadline; nothing journaled depends on it.
    #[allow(clippy::disallowed_methods)]
    pub fn open(path: &Path) -> Result<Index, JournalError> {
        let deadline = Instant::now() + Duration::from_millis(LOCK_WAIT_MS_MAX);
        let db = loop {
            match sled::Config::new().path(path).open() {
                Ok(db) => break db,
                Err(e) if is_lock_error(&e) && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Err(e) if is_lock_error(&e) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "index unreadable; deleting it to rebuild from the log");
                    std::fs::remove_dir_all(path).map_err(|io| JournalError::io(format!("remove broken index {}", path.display()), io))?;
                    break sled::Config::new().path(path).open()?;
                }
            }
        };
        Ok(Index {
            keys: db.open_tree("keys")?,
            sessions: db.open_tree("sessions")?,
            positions: db.open_tree("positions")?,
            meta: db.open_tree("meta")?,
            db,
        })
    }

    /// The last sequence indexed and its chain hash, if any.
    pub fn indexed_through(&self) -> Result<Option<(u64, Hash)>, JournalError> {
        let Some(v) = self.meta.get(META_INDEXED_THROUGH)? else { return Ok(None) };
        if v.len() != 40 {
            return Err(JournalError::Index(format!("indexed_through value has {} bytes, expected 40", v.len())));
        }
        Ok(Some((be_u64(&v[0..8]), v[8..40].try_into().expect("32 bytes"))))
    }

    pub fn clear(&self) -> Result<(), JournalError> {
        for tree in [&self.keys, &self.sessions, &self.positions, &self.meta] {
            tree.clear()?;
        }
        Ok(())
    }

    /// Applies a batch; `indexed_through` goes last, so an interrupted apply only makes
    /// the next open reindex a little more.
    pub fn apply(&self, batch: IndexBatch) -> Result<(), JournalError> {
        let Some((seq, hash)) = batch.through else { return Ok(()) };
        for (tree, entries, len) in [
            (&self.keys, batch.keys, batch.keys_len),
            (&self.sessions, batch.sessions, batch.sessions_len),
            (&self.positions, batch.positions, batch.positions_len),
        ] {
            if len > 0 {
                tree.apply_batch(entries)?;
            }
        }
        let mut through = Vec::with_capacity(40);
        through.extend_from_slice(&seq.to_be_bytes());
        through.extend_from_slice(&hash);
        self.meta.insert(META_INDEXED_THROUGH, through)?;
        Ok(())
    }

    pub fn lookup_key(&self, key: &str) -> Result<Option<(u64, Location)>, JournalError> {
        let Some(v) = self.keys.get(key.as_bytes())? else { return Ok(None) };
        if v.len() != 24 {
            return Err(JournalError::Index(format!("key entry has {} bytes, expected 24", v.len())));
        }
        Ok(Some((be_u64(&v[0..8]), parse_location(&v[8..24]))))
    }

    /// The nearest indexed position at or before `seq`.
    pub fn position_floor(&self, seq: u64) -> Result<Option<(u64, Location)>, JournalError> {
        let Some((k, v)) = self.positions.get_lt(seq.saturating_add(1).to_be_bytes())? else { return Ok(None) };
        if k.len() != 8 || v.len() != 16 {
            return Err(JournalError::Index("malformed position entry".into()));
        }
        Ok(Some((be_u64(&k), parse_location(&v))))
    }

    /// Every (sequence, location) of a session, ascending.
    pub fn session_entries(&self, session: SessionId) -> impl Iterator<Item = Result<(u64, Location), JournalError>> + Send {
        self.sessions.scan_prefix(session.to_bytes()).map(|entry| {
            let (k, v) = entry?;
            if k.len() != 24 || v.len() != 16 {
                return Err(JournalError::Index("malformed session entry".into()));
            }
            Ok((be_u64(&k[16..24]), parse_location(&v)))
        })
    }

    /// Best-effort flush on close (durability is not needed: open reindexes the gap).
    pub fn flush(&self) -> Result<(), JournalError> {
        self.db.flush()?;
        Ok(())
    }
}

fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

fn be_u64(bytes: &[u8]) -> u64 {
    u64::from_be_bytes(bytes.try_into().expect("8 bytes"))
}

fn session_key(session: SessionId, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(&session.to_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn location_value(loc: Location) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&loc.segment.to_be_bytes());
    v[8..].copy_from_slice(&loc.offset.to_be_bytes());
    v
}

fn key_value(seq: u64, loc: Location) -> [u8; 24] {
    let mut v = [0u8; 24];
    v[..8].copy_from_slice(&seq.to_be_bytes());
    v[8..].copy_from_slice(&location_value(loc));
    v
}

fn parse_location(v: &[u8]) -> Location {
    Location { segment: be_u64(&v[0..8]), offset: be_u64(&v[8..16]) }
}
