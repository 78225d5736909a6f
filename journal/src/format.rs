//! The record format: header layout, checksum and hash chain (the table is in `lib.rs`).
//!
//! Everything here is pure byte work, shared by the writer, the readers, `open`'s scan and
//! `verify`, so that all of them agree on what a valid record is.

use std::fmt;
use tradpal_messages::codec::CodecError;
use tradpal_messages::InvariantError;

/// First bytes of every record. Not ASCII-only, so a run of text in a payload is unlikely
/// to look like a record start when a scan searches for the next record after damage.
pub const MAGIC: [u8; 4] = [0xF3, b'T', b'P', b'J'];

/// Size of the fixed record header, in bytes.
pub const HEADER_BYTES: usize = 64;

/// Format ceiling on one record (header + payload), in bytes. Readers use this, not the
/// writer's `record_bytes_max`, so that lowering the option never makes old records unreadable.
pub const RECORD_BYTES_LIMIT: usize = 64 << 20;

/// A blake3 hash: what each record chains to.
pub type Hash = [u8; 32];

const GENESIS_SEED: &[u8] = b"tradpal-journal genesis v1";

/// What record 1 chains to: blake3 of the ASCII text `tradpal-journal genesis v1`.
pub fn genesis_hash() -> Hash {
    *blake3::hash(GENESIS_SEED).as_bytes()
}

/// The record's own hash, `blake3(prev_hash || sequence as u64 LE || payload)`: the next
/// record's `prev_hash`. Covers the sequence so that a record moved elsewhere breaks the chain.
pub fn record_hash(prev_hash: &Hash, sequence: u64, payload: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(prev_hash);
    h.update(&sequence.to_le_bytes());
    h.update(payload);
    *h.finalize().as_bytes()
}

/// Lower-case hex of a hash (for reports and error messages).
pub fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The decoded fixed header of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub crc: u32,
    pub payload_len: u32,
    /// Records in the write (group commit) this record was part of.
    pub batch_records: u32,
    pub sequence: u64,
    /// Sequence of the first record of that write.
    pub batch_first: u64,
    pub prev_hash: Hash,
}

/// Why bytes at an offset are not a record. Every variant is something a crash mid-write
/// can leave behind, so the scan decides between torn tail and corruption by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordFault {
    /// Fewer bytes left in the file than the header (or the header's length) needs.
    Incomplete {
        needed: u64,
        available: u64,
    },
    BadMagic([u8; 4]),
    /// The length field is beyond [`RECORD_BYTES_LIMIT`].
    LengthOverLimit(u32),
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
}

impl fmt::Display for RecordFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Incomplete { needed, available } => {
                write!(f, "incomplete record: needs {needed} bytes, {available} left in the file")
            }
            Self::BadMagic(m) => write!(f, "bad magic {m:02x?} (expected {MAGIC:02x?})"),
            Self::LengthOverLimit(n) => write!(f, "payload length {n} exceeds the format limit {RECORD_BYTES_LIMIT}"),
            Self::CrcMismatch { stored, computed } => {
                write!(f, "crc32c mismatch: stored {stored:08x}, computed {computed:08x}")
            }
        }
    }
}

/// Why a record whose bytes are intact (its crc matched) cannot be right. A torn write
/// does not leave a valid crc, so each of these is corruption wherever it is found; its
/// text becomes the `reason` of [`crate::JournalError::Corrupt`] and of verify's report.
#[derive(Debug, thiserror::Error)]
pub enum Corruption {
    /// Damage in a record a reader expected intact (one below the durable sequence).
    #[error("{0}")]
    Damaged(RecordFault),
    #[error("write record count is 0")]
    EmptyWrite,
    #[error("sequence {sequence} outside its write {first}..={last}")]
    OutsideItsWrite { sequence: u64, first: u64, last: u64 },
    #[error("sequence {found} found where {expected} was expected")]
    Sequence { found: u64, expected: u64 },
    #[error("chain break: prev_hash {} is not the hash {} of the previous record", hex(.found), hex(.expected))]
    ChainBreak { found: Hash, expected: Hash },
    /// The record's write framing disagrees with the write it lies in.
    #[error("record claims write {first}..={last}, but lies inside write {open_first}..={open_last}")]
    InsideAnotherWrite { first: u64, last: u64, open_first: u64, open_last: u64 },
    /// A write that starts in the middle: its first record is missing.
    #[error("record claims write {first}..={last}, but the previous write ended at sequence {previous_end}")]
    WriteStartMissing { first: u64, last: u64, previous_end: u64 },
    #[error("payload does not decode: {0}")]
    Undecodable(CodecError),
    #[error("payload holds sequence {found}, header says {expected}")]
    PayloadSequence { found: u64, expected: u64 },
    #[error("envelope invariant broken: {0}")]
    Invariant(InvariantError),
}

impl Header {
    /// The last sequence of this record's write.
    pub fn batch_last(&self) -> u64 {
        self.batch_first.saturating_add(u64::from(self.batch_records).saturating_sub(1))
    }

    /// Whole record size (header + payload), in bytes.
    pub fn record_bytes(&self) -> u64 {
        HEADER_BYTES as u64 + u64::from(self.payload_len)
    }

    /// Appends header + payload to `out`, computing the crc.
    pub fn write_record(&self, payload: &[u8], out: &mut Vec<u8>) {
        debug_assert_eq!(self.payload_len as usize, payload.len());
        let start = out.len();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[0; 4]); // crc, patched below
        out.extend_from_slice(&self.payload_len.to_le_bytes());
        out.extend_from_slice(&self.batch_records.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.batch_first.to_le_bytes());
        out.extend_from_slice(&self.prev_hash);
        debug_assert_eq!(out.len() - start, HEADER_BYTES);
        out.extend_from_slice(payload);
        let crc = record_crc(&out[start..start + HEADER_BYTES], payload);
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Parses the header's fields after checking the magic and the length limit (the crc
    /// needs the payload: see [`Header::check_crc`]).
    pub fn parse(bytes: &[u8; HEADER_BYTES]) -> Result<Header, RecordFault> {
        let magic: [u8; 4] = bytes[0..4].try_into().expect("4 bytes");
        if magic != MAGIC {
            return Err(RecordFault::BadMagic(magic));
        }
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let header = Header {
            crc: u32_at(4),
            payload_len: u32_at(8),
            batch_records: u32_at(12),
            sequence: u64_at(16),
            batch_first: u64_at(24),
            prev_hash: bytes[32..64].try_into().expect("32 bytes"),
        };
        if header.record_bytes() > RECORD_BYTES_LIMIT as u64 {
            return Err(RecordFault::LengthOverLimit(header.payload_len));
        }
        Ok(header)
    }

    pub fn check_crc(&self, header_bytes: &[u8], payload: &[u8]) -> Result<(), RecordFault> {
        let computed = record_crc(header_bytes, payload);
        if computed != self.crc {
            return Err(RecordFault::CrcMismatch { stored: self.crc, computed });
        }
        Ok(())
    }

    /// Framing rules a crc-valid header must also satisfy. A violation cannot come from a
    /// torn write (the crc matched), so callers treat it as corruption.
    pub fn check_framing(&self) -> Result<(), Corruption> {
        if self.batch_records == 0 {
            return Err(Corruption::EmptyWrite);
        }
        if self.sequence < self.batch_first || self.sequence > self.batch_last() {
            return Err(Corruption::OutsideItsWrite { sequence: self.sequence, first: self.batch_first, last: self.batch_last() });
        }
        Ok(())
    }
}

/// crc32c over the header with its crc field (bytes 4..8) left out, then the payload.
pub(crate) fn record_crc(header_bytes: &[u8], payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&header_bytes[0..4]);
    let crc = crc32c::crc32c_append(crc, &header_bytes[8..HEADER_BYTES]);
    crc32c::crc32c_append(crc, payload)
}

/// Parses and fully checks (magic, limit, crc, framing) a record that starts at
/// `bytes[0]`; `bytes` runs to the end of the file or further than the record.
/// (Tests use it; the scan and the readers do the same steps on their own buffers.)
#[cfg(test)]
pub fn check_record(bytes: &[u8]) -> Result<(Header, &[u8]), RecordFault> {
    let available = bytes.len() as u64;
    let Some(head) = bytes.first_chunk::<HEADER_BYTES>() else {
        return Err(RecordFault::Incomplete { needed: HEADER_BYTES as u64, available });
    };
    let header = Header::parse(head)?;
    let needed = header.record_bytes();
    if needed > available {
        return Err(RecordFault::Incomplete { needed, available });
    }
    let payload = &bytes[HEADER_BYTES..needed as usize];
    header.check_crc(head, payload)?;
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64) -> (Header, Vec<u8>) {
        let payload = b"hello payload".to_vec();
        let header = Header {
            crc: 0,
            payload_len: payload.len() as u32,
            batch_records: 3,
            sequence: seq,
            batch_first: 5,
            prev_hash: genesis_hash(),
        };
        (header, payload)
    }

    #[test]
    fn header_round_trips_and_crc_covers_every_bit() {
        let (header, payload) = sample(6);
        let mut out = Vec::new();
        header.write_record(&payload, &mut out);
        assert_eq!(out.len(), HEADER_BYTES + payload.len());
        let (parsed, body) = check_record(&out).unwrap();
        assert_eq!(body, &payload[..]);
        assert_eq!(parsed.sequence, 6);
        assert_eq!(parsed.batch_last(), 7);
        parsed.check_framing().unwrap();
        for bit in 0..out.len() * 8 {
            let mut bad = out.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(check_record(&bad).is_err(), "bit {bit} flip went unnoticed");
        }
    }

    #[test]
    fn framing_rejects_sequence_outside_write() {
        let (mut header, _) = sample(9);
        assert!(header.check_framing().is_err());
        header.sequence = 5;
        header.batch_records = 0;
        assert!(header.check_framing().is_err());
    }

    #[test]
    fn hash_depends_on_sequence_and_prev() {
        let g = genesis_hash();
        assert_ne!(record_hash(&g, 1, b"x"), record_hash(&g, 2, b"x"));
        assert_ne!(record_hash(&g, 1, b"x"), record_hash(&[0; 32], 1, b"x"));
        assert_eq!(hex(&[0xab; 32]).len(), 64);
    }
}
