//! Reads: a forward cursor over the log (range reads, reindexing) and single-record reads
//! at an indexed location (sessions, idempotency keys).
//!
//! Readers open their own file handles, so they never take a lock the writer needs; they
//! stop at the durable sequence captured when they were created, so they only ever see
//! records that were fsynced and acknowledged, never a write in progress.

use crate::error::JournalError;
use crate::format::{self, Hash, Header, HEADER_BYTES};
use crate::index::{Index, Location};
use crate::scan::decode_checked;
use crate::segment::segment_path;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use tradpal_messages::{Envelope, SessionId};

/// Read buffer of a cursor over a long range, in bytes (big reads, few syscalls) ...
const READ_BUFFER_BYTES_MAX: usize = 1 << 20;
/// ... and of one over a few records (`get`): no point allocating a megabyte for one record.
const READ_BUFFER_BYTES_MIN: usize = 16 << 10;
/// Bytes per record assumed when sizing the buffer.
const READ_RECORD_BYTES_TYPICAL: u64 = 512;

fn corrupt(journal_dir: &Path, loc: Location, sequence: u64, reason: impl Into<String>) -> JournalError {
    JournalError::Corrupt { file: segment_path(journal_dir, loc.segment), offset: loc.offset, sequence, reason: reason.into() }
}

/// Walks records forward from a sequence, checking crc, sequence and chain as it goes.
/// The first record's link to its predecessor is checked only when reading from 1.
pub(crate) struct Cursor {
    journal_dir: PathBuf,
    segments: Vec<u64>,
    segment_idx: usize,
    reader: Option<BufReader<File>>,
    offset: u64,
    next_seq: u64,
    prev_hash: Option<Hash>,
    last_seq: u64,
    buffer_bytes: usize,
    pub payload: Vec<u8>,
}

/// What `Cursor::next_raw` read (the payload stays in `Cursor::payload`).
pub(crate) struct RawRecord {
    pub sequence: u64,
    pub location: Location,
    pub hash: Hash,
}

impl Cursor {
    /// A cursor positioned at or before `from` (it skips forward to `from` on its own),
    /// yielding through `last_seq`. `segments` must hold every segment up to `last_seq`.
    pub fn new(journal_dir: &Path, segments: Vec<u64>, index: &Index, from: u64, last_seq: u64) -> Result<Cursor, JournalError> {
        let from = from.max(1);
        let segment_idx = segments.partition_point(|&first| first <= from).saturating_sub(1);
        let segment_first = segments.get(segment_idx).copied().unwrap_or(1);
        let (next_seq, offset) = match index.position_floor(from)? {
            Some((seq, loc)) if loc.segment == segment_first && seq >= segment_first => (seq, loc.offset),
            _ => (segment_first, 0),
        };
        let prev_hash = (next_seq == 1).then(format::genesis_hash);
        let records = last_seq.saturating_sub(next_seq).saturating_add(1);
        let buffer_bytes =
            records.saturating_mul(READ_RECORD_BYTES_TYPICAL).clamp(READ_BUFFER_BYTES_MIN as u64, READ_BUFFER_BYTES_MAX as u64);
        Ok(Cursor {
            journal_dir: journal_dir.to_owned(),
            segments,
            segment_idx,
            reader: None,
            offset,
            next_seq,
            prev_hash,
            last_seq,
            buffer_bytes: buffer_bytes as usize,
            payload: Vec::new(),
        })
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn location(&self) -> Location {
        Location { segment: self.segments.get(self.segment_idx).copied().unwrap_or(1), offset: self.offset }
    }

    /// Reads the next record, or `None` past `last_seq`.
    pub fn next_raw(&mut self) -> Option<Result<RawRecord, JournalError>> {
        if self.next_seq > self.last_seq {
            return None;
        }
        if self.segments.get(self.segment_idx + 1) == Some(&self.next_seq) {
            self.segment_idx += 1;
            self.offset = 0;
            self.reader = None;
        }
        Some(self.read_one())
    }

    fn read_one(&mut self) -> Result<RawRecord, JournalError> {
        let location = self.location();
        let seq = self.next_seq;
        let dir = self.journal_dir.clone();
        let io_err = |e: std::io::Error| {
            if e.kind() == ErrorKind::UnexpectedEof {
                corrupt(&dir, location, seq, "segment ends before a durable record")
            } else {
                JournalError::io(format!("read {}", segment_path(&dir, location.segment).display()), e)
            }
        };
        if self.reader.is_none() {
            let mut file = File::open(segment_path(&self.journal_dir, location.segment)).map_err(io_err)?;
            file.seek(SeekFrom::Start(self.offset)).map_err(io_err)?;
            self.reader = Some(BufReader::with_capacity(self.buffer_bytes, file));
        }
        let reader = self.reader.as_mut().expect("opened above");
        let mut head = [0u8; HEADER_BYTES];
        reader.read_exact(&mut head).map_err(io_err)?;
        let header = Header::parse(&head).map_err(|f| corrupt(&dir, location, seq, f.to_string()))?;
        self.payload.resize(header.payload_len as usize, 0);
        reader.read_exact(&mut self.payload).map_err(io_err)?;
        check_header(&header, &head, &self.payload, seq, self.prev_hash.as_ref()).map_err(|r| corrupt(&dir, location, seq, r))?;
        let hash = format::record_hash(&header.prev_hash, seq, &self.payload);
        self.prev_hash = Some(hash);
        self.next_seq += 1;
        self.offset += header.record_bytes();
        Ok(RawRecord { sequence: seq, location, hash })
    }
}

/// crc, framing, sequence and (when known) chain checks of one record read back.
fn check_header(header: &Header, head: &[u8], payload: &[u8], seq: u64, prev_hash: Option<&Hash>) -> Result<(), String> {
    header.check_crc(head, payload).map_err(|f| f.to_string())?;
    header.check_framing()?;
    if header.sequence != seq {
        return Err(format!("sequence {} found where {seq} was expected", header.sequence));
    }
    match prev_hash {
        Some(prev) if *prev != header.prev_hash => Err(format!(
            "chain break: prev_hash {} is not the hash {} of the previous record",
            format::hex(&header.prev_hash),
            format::hex(prev)
        )),
        _ => Ok(()),
    }
}

/// Streams `from..=to` in order; see [`crate::Journal::read_range`].
pub struct RangeIter {
    cursor: Option<Cursor>,
    from: u64,
    pending_error: Option<JournalError>,
}

impl RangeIter {
    pub(crate) fn new(cursor: Result<Option<Cursor>, JournalError>, from: u64) -> RangeIter {
        match cursor {
            Ok(cursor) => RangeIter { cursor, from: from.max(1), pending_error: None },
            Err(e) => RangeIter { cursor: None, from, pending_error: Some(e) },
        }
    }
}

impl Iterator for RangeIter {
    type Item = Result<Envelope, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        let cursor = self.cursor.as_mut()?;
        loop {
            let result = match cursor.next_raw()? {
                Ok(raw) if raw.sequence < self.from => continue, // positioned before `from`
                Ok(raw) => {
                    decode_checked(&cursor.payload, raw.sequence).map_err(|r| corrupt(&cursor.journal_dir, raw.location, raw.sequence, r))
                }
                Err(e) => Err(e),
            };
            if result.is_err() {
                self.cursor = None; // fused after an error: nothing after it can be trusted
            }
            return Some(result);
        }
    }
}

/// Reads and checks the record of `sequence` at `loc` (crc, framing, sequence, decode,
/// invariants; the chain is not checked for a single record: `verify` does that).
pub(crate) fn read_at(journal_dir: &Path, file: &File, loc: Location, sequence: u64) -> Result<Envelope, JournalError> {
    let io_err = |e| JournalError::io(format!("read {} at {}", segment_path(journal_dir, loc.segment).display(), loc.offset), e);
    let mut head = [0u8; HEADER_BYTES];
    file.read_exact_at(&mut head, loc.offset).map_err(io_err)?;
    let header = Header::parse(&head).map_err(|f| corrupt(journal_dir, loc, sequence, f.to_string()))?;
    let mut payload = vec![0u8; header.payload_len as usize];
    file.read_exact_at(&mut payload, loc.offset + HEADER_BYTES as u64).map_err(io_err)?;
    check_header(&header, &head, &payload, sequence, None).map_err(|r| corrupt(journal_dir, loc, sequence, r))?;
    decode_checked(&payload, sequence).map_err(|r| corrupt(journal_dir, loc, sequence, r))
}

/// Opens segment files for `read_at`, keeping the last one open (session reads mostly
/// stay in one segment).
pub(crate) struct FileCache {
    journal_dir: PathBuf,
    open: Option<(u64, File)>,
}

impl FileCache {
    pub fn new(journal_dir: &Path) -> FileCache {
        FileCache { journal_dir: journal_dir.to_owned(), open: None }
    }

    pub fn read(&mut self, loc: Location, sequence: u64) -> Result<Envelope, JournalError> {
        if self.open.as_ref().is_none_or(|(segment, _)| *segment != loc.segment) {
            let path = segment_path(&self.journal_dir, loc.segment);
            let file = File::open(&path).map_err(|e| JournalError::io(format!("open {}", path.display()), e))?;
            self.open = Some((loc.segment, file));
        }
        let (_, file) = self.open.as_ref().expect("opened above");
        read_at(&self.journal_dir, file, loc, sequence)
    }
}

/// A session's records in order, via the session index; see [`crate::Journal::read_session`].
pub struct SessionIter {
    entries: Box<dyn Iterator<Item = Result<(u64, Location), JournalError>> + Send>,
    files: FileCache,
    session: SessionId,
    last_seq: u64,
}

impl SessionIter {
    pub(crate) fn new(journal_dir: &Path, index: &Index, session: SessionId, last_seq: u64) -> SessionIter {
        SessionIter { entries: Box::new(index.session_entries(session)), files: FileCache::new(journal_dir), session, last_seq }
    }
}

impl Iterator for SessionIter {
    type Item = Result<Envelope, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (seq, loc) = match self.entries.next()? {
            Ok(entry) => entry,
            Err(e) => return Some(Err(e)),
        };
        if seq > self.last_seq {
            return None; // ascending: everything after is newer than this reader
        }
        let result = self.files.read(loc, seq).and_then(|env| {
            if env.session_id == Some(self.session) {
                Ok(env)
            } else {
                Err(JournalError::Index(format!("session index points sequence {seq} at a record of another session")))
            }
        });
        Some(result)
    }
}
