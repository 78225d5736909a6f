//! The acknowledged high-water mark: `<dir>/journal/acknowledged.hwm`.
//!
//! Why it exists: the log alone cannot tell a journal that *ends* at sequence N from one
//! that was *cut* back to N. A cut exactly at a record boundary (a restored backup, a
//! copy that stopped early, a filesystem that lost the last extents) leaves a perfectly
//! valid log, and the service used to start on it silently, folding state from which
//! acknowledged records (cancels, fills) had vanished. This file remembers, durably, the
//! last record the journal ever acknowledged; open and verify compare the log with it.
//!
//! When it is written: by the writer thread after each group's `fdatasync` and *before*
//! any caller of that group is answered (one more `fdatasync`, of 1 KiB overwritten in
//! place). So every acknowledged record is at or below the mark, and a torn write above
//! the mark is proven never acknowledged. The cost is one extra small fsync per group
//! commit (shared by the whole group).
//!
//! Format: two 512-byte slots (sector-sized, so one slot write is not torn by a crash in
//! practice; and if it is, the other slot still holds the previous mark). Writes
//! alternate slots; open takes the valid slot with the higher sequence. Each slot:
//! magic `TPHW` (4), version u32 (4), sequence u64 (8), the chain hash of that record
//! (32), crc32c of the first 48 bytes (4), zero padding. Little-endian.
//!
//! A missing file means "no mark": a journal written before the mark existed, or a new
//! one. Open then creates it from the log it found (nothing to compare against once).

use crate::acknowledged::Watermark;
use crate::error::JournalError;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const WATERMARK_FILE: &str = "acknowledged.hwm";
const MAGIC: &[u8; 4] = b"TPHW";
const VERSION: u32 = 1;
/// One slot per sector.
const SLOT_BYTES: usize = 512;
/// Bytes of a slot covered by the crc (magic, version, sequence, hash).
const SLOT_BODY_BYTES: usize = 48;

pub fn watermark_path(journal_dir: &Path) -> PathBuf {
    journal_dir.join(WATERMARK_FILE)
}

/// Reads the mark; `None` when the file does not exist. A file with no valid slot is an
/// error (it existed, so a mark was kept; refusing is safer than forgetting it).
pub fn read(journal_dir: &Path) -> Result<Option<Watermark>, JournalError> {
    let path = watermark_path(journal_dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(JournalError::io(format!("read {}", path.display()), e)),
    };
    let best = bytes.chunks(SLOT_BYTES).take(2).filter_map(parse_slot).max_by_key(|w| w.sequence);
    match best {
        Some(w) => Ok(Some(w)),
        None => Err(JournalError::Corrupt {
            file: path,
            offset: 0,
            sequence: 0,
            reason: "the acknowledged high-water mark has no valid slot (remove it only if you know the journal is complete)".into(),
        }),
    }
}

fn parse_slot(slot: &[u8]) -> Option<Watermark> {
    if slot.len() < SLOT_BODY_BYTES + 4 || &slot[0..4] != MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(slot[48..52].try_into().ok()?);
    if crc32c::crc32c(&slot[..SLOT_BODY_BYTES]) != crc || u32::from_le_bytes(slot[4..8].try_into().ok()?) != VERSION {
        return None;
    }
    Some(Watermark { sequence: u64::from_le_bytes(slot[8..16].try_into().ok()?), hash: slot[16..48].try_into().ok()? })
}

fn encode_slot(mark: Watermark) -> [u8; SLOT_BYTES] {
    let mut slot = [0u8; SLOT_BYTES];
    slot[0..4].copy_from_slice(MAGIC);
    slot[4..8].copy_from_slice(&VERSION.to_le_bytes());
    slot[8..16].copy_from_slice(&mark.sequence.to_le_bytes());
    slot[16..48].copy_from_slice(&mark.hash);
    let crc = crc32c::crc32c(&slot[..SLOT_BODY_BYTES]);
    slot[48..52].copy_from_slice(&crc.to_le_bytes());
    slot
}

/// The writer's handle on the mark file: overwrites alternate slots in place.
pub struct WatermarkFile {
    file: File,
    path: PathBuf,
    next_slot: u64,
}

impl WatermarkFile {
    /// Opens (creating, both slots set to `mark`, fsynced with its directory) the file.
    pub fn open(journal_dir: &Path, mark: Watermark) -> Result<WatermarkFile, JournalError> {
        let path = watermark_path(journal_dir);
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| JournalError::io(format!("open {}", path.display()), e))?;
        let mut this = WatermarkFile { file, path, next_slot: 0 };
        this.store(mark)?;
        this.store(mark)?;
        if !existed {
            crate::segment::sync_dir(journal_dir).map_err(|e| JournalError::io(format!("fsync directory {}", journal_dir.display()), e))?;
        }
        Ok(this)
    }

    /// Makes `mark` durable (one positional write, one `fdatasync`).
    pub fn store(&mut self, mark: Watermark) -> Result<(), JournalError> {
        let offset = self.next_slot * SLOT_BYTES as u64;
        self.file.write_all_at(&encode_slot(mark), offset).map_err(|e| JournalError::io(format!("write {}", self.path.display()), e))?;
        self.file.sync_data().map_err(|e| JournalError::io(format!("fsync {}", self.path.display()), e))?;
        self.next_slot = 1 - self.next_slot;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newer_valid_slot_wins_and_a_torn_slot_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = WatermarkFile::open(dir.path(), Watermark { sequence: 5, hash: [1; 32] }).unwrap();
        f.store(Watermark { sequence: 9, hash: [2; 32] }).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(Watermark { sequence: 9, hash: [2; 32] }));
        // Tear the slot that holds 9: the other slot (5) is what is left.
        let path = watermark_path(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        let torn = if parse_slot(&bytes[..SLOT_BYTES]).unwrap().sequence == 9 { 0 } else { SLOT_BYTES };
        bytes[torn + 20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read(dir.path()).unwrap().unwrap().sequence, 5);
        // Both slots torn: refuse rather than forget.
        bytes[(SLOT_BYTES - torn) + 20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(dir.path()).is_err());
    }
}
