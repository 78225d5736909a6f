//! Reads: a forward cursor over the log (range reads, reindexing) and single-record reads
//! at an indexed location (sessions, idempotency keys).
//!
//! Readers open their own file handles, so they never take a lock the writer needs; they
//! stop at the durable sequence captured when they were created, so they only ever see
//! records that were fsynced and acknowledged, never a write in progress.

use crate::crc_batch;
use crate::error::JournalError;
use crate::format::{self, Corruption, Hash, Header, RecordFault, HEADER_BYTES};
use crate::hash_batch::BatchHasher;
use crate::index::{Index, Location};
use crate::read_ahead::{HashSide, ReadAhead, READ_AHEAD_RECORDS_MIN};
use crate::scan::{decode_checked, decode_checked_or};
use crate::segment::segment_path;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tradpal_messages::codec::EnvelopeDecoder;
use tradpal_messages::{Envelope, SessionId};

/// Read buffer of a cursor over a long range, in bytes (big reads, few syscalls) ...
const READ_BUFFER_BYTES_MAX: usize = 1 << 20;
/// ... and of one over a few records (`get`): no point allocating a megabyte for one record.
const READ_BUFFER_BYTES_MIN: usize = 16 << 10;
/// Bytes per record assumed when sizing the buffer.
const READ_RECORD_BYTES_TYPICAL: u64 = 512;
/// Given-back buffers a cursor keeps for reuse (read ahead, a handful are in flight).
const READ_BUFFERS_SPARE_MAX: usize = 8;

pub(crate) fn corrupt(journal_dir: &Path, loc: Location, sequence: u64, reason: impl ToString) -> JournalError {
    JournalError::Corrupt { file: segment_path(journal_dir, loc.segment), offset: loc.offset, sequence, reason: reason.to_string() }
}

/// Records checked and hashed per batch: blake3 hashes up to 16 records side by side
/// (`hash_batch.rs`), and a batch a few times that lets records of different sizes
/// still fill the lanes.
const HASH_BATCH_RECORDS_MAX: usize = 256;

/// Walks records forward from a sequence, checking crc, sequence and chain as it goes.
/// The first record's link to its predecessor is checked only when reading from 1.
///
/// Reads the segment in large chunks into one buffer and checks records in batches
/// (crc and framing one by one, then all their chain hashes at once, then the links),
/// handing them out one at a time; a record's payload is a slice of that buffer, so
/// nothing is allocated or copied per record. A damaged record ends its batch: the
/// records before it come out first, then the error, then nothing.
pub(crate) struct Cursor {
    journal_dir: PathBuf,
    segments: Vec<u64>,
    segment_idx: usize,
    file: Option<File>,
    /// Bytes of the current segment from file offset `buf_offset`; `buf[..filled]` valid.
    /// Shared only with read-ahead batches that hold records in it (`read_ahead.rs`):
    /// then a refill continues in another buffer instead of moving this one.
    buf: Arc<Vec<u8>>,
    /// Buffers read-ahead batches gave back, for the next refill of a shared `buf`.
    spare: Vec<Vec<u8>>,
    buf_offset: u64,
    filled: usize,
    /// File offset and sequence of the next record to parse.
    offset: u64,
    parse_seq: u64,
    /// Sequence of the next record to hand out.
    next_seq: u64,
    /// Hash of the last parsed record (what the next one must chain to), when known.
    prev_hash: Option<Hash>,
    last_seq: u64,
    buffer_bytes: usize,
    /// The batch's records: parsed (`parse_one`), then cut back to those that pass
    /// `check_batch` and `link_batch`; `batch[handed..]` are yet to be handed out.
    batch: Vec<Ready>,
    /// Their headers (checked, then read for each record's stored `prev_hash` as it is
    /// handed out) and computed crcs.
    headers: Vec<Header>,
    crcs: Vec<u32>,
    handed: usize,
    /// The error that ended the batch, handed out after its records.
    failed: Option<JournalError>,
    /// The payload of the record handed out last, in `buf`.
    current: Range<usize>,
    hasher: BatchHasher,
    /// Chain hashes and links left to the caller ([`Cursor::defer_chain`]).
    chain_deferred: bool,
}

struct Ready {
    sequence: u64,
    location: Location,
    hash: Hash,
    payload: Range<usize>,
}

/// What `Cursor::next_raw` read (the payload is `Cursor::payload` until the next call).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord {
    pub sequence: u64,
    pub location: Location,
    /// The record's chain hash (zero from a cursor whose chain is deferred: its reader
    /// computes it, `read_ahead.rs`).
    pub hash: Hash,
    /// The `prev_hash` its header stores (what the record before it must hash to).
    pub stored_prev: Hash,
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
            file: None,
            buf: Arc::default(),
            spare: Vec::new(),
            buf_offset: offset,
            filled: 0,
            offset,
            parse_seq: next_seq,
            next_seq,
            prev_hash,
            last_seq,
            buffer_bytes: buffer_bytes as usize,
            batch: Vec::new(),
            headers: Vec::new(),
            crcs: Vec::new(),
            handed: 0,
            failed: None,
            current: 0..0,
            hasher: BatchHasher::new(),
            chain_deferred: false,
        })
    }

    /// From now on, checks crc, framing and sequence only: each record's chain hash
    /// (`RawRecord::hash`, zero here) and its link to the record before it are left to
    /// the caller, who has `RawRecord::stored_prev` for that and the hash the first
    /// record must chain to, returned here (`None`: not known, reading from past 1).
    /// Read-ahead uses it to share the hashing with the thread that decodes.
    pub fn defer_chain(&mut self) -> Option<Hash> {
        self.chain_deferred = true;
        self.prev_hash
    }

    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub fn journal_dir(&self) -> &Path {
        &self.journal_dir
    }

    /// The last sequence it yields.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The payload of the record `next_raw` returned last.
    pub fn payload(&self) -> &[u8] {
        &self.buf[self.current.clone()]
    }

    /// The buffer holding that payload, and where it lies in it (read-ahead batches keep
    /// the buffer instead of copying the payload).
    pub fn payload_in_buffer(&self) -> (&Arc<Vec<u8>>, Range<usize>) {
        (&self.buf, self.current.clone())
    }

    /// Takes back a buffer a read-ahead batch no longer needs, for a later refill.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < READ_BUFFERS_SPARE_MAX {
            self.spare.push(buf);
        }
    }

    /// Reads the next record, or `None` past `last_seq` (and after an error).
    pub fn next_raw(&mut self) -> Option<Result<RawRecord, JournalError>> {
        if self.next_seq > self.last_seq {
            return None;
        }
        if self.handed == self.batch.len() && self.failed.is_none() {
            self.fill_batch();
        }
        let Some(ready) = self.batch.get(self.handed) else {
            self.last_seq = 0; // fused: nothing after an error can be trusted
            let e = self.failed.take().expect("a batch yields records or an error");
            return Some(Err(e));
        };
        // The batch's records are a prefix of the parsed headers (both cut together).
        let stored_prev = self.headers[self.handed].prev_hash;
        self.handed += 1;
        debug_assert_eq!(ready.sequence, self.next_seq);
        self.next_seq += 1;
        self.current = ready.payload.clone();
        Some(Ok(RawRecord { sequence: ready.sequence, location: ready.location, hash: ready.hash, stored_prev }))
    }

    fn segment(&self) -> u64 {
        self.segments.get(self.segment_idx).copied().unwrap_or(1)
    }

    fn corrupt_here(&self, seq: u64, reason: impl ToString) -> JournalError {
        corrupt(&self.journal_dir, Location { segment: self.segment(), offset: self.offset }, seq, reason)
    }

    /// Parses up to `HASH_BATCH_RECORDS_MAX` records into `batch` and checks them (or
    /// sets `failed`).
    fn fill_batch(&mut self) {
        if self.segments.get(self.segment_idx + 1) == Some(&self.parse_seq) {
            self.segment_idx += 1;
            self.offset = 0;
            self.file = None;
        }
        self.hasher.clear();
        self.batch.clear();
        self.headers.clear();
        self.handed = 0;
        while self.batch.len() < HASH_BATCH_RECORDS_MAX
            && self.parse_seq <= self.last_seq
            && (self.batch.is_empty() || self.segments.get(self.segment_idx + 1) != Some(&self.parse_seq))
        {
            match self.parse_one() {
                Ok(true) => {}
                Ok(false) => break, // the batch reached the end of the buffer
                Err(e) => {
                    self.failed = Some(e);
                    break;
                }
            }
        }
        self.check_batch();
        if !self.chain_deferred {
            self.hasher.finish(&self.buf);
            self.link_batch();
        }
    }

    /// Parses the header of the record at `offset` and finds its end (`check_batch` then
    /// checks the rest). `Ok(false)`:
    /// it is not wholly in the buffer and the batch already has records (parse it later,
    /// after the buffer has moved on).
    fn parse_one(&mut self) -> Result<bool, JournalError> {
        let seq = self.parse_seq;
        if !self.ensure(HEADER_BYTES)? {
            return Ok(false);
        }
        let at = (self.offset - self.buf_offset) as usize;
        let head: &[u8; HEADER_BYTES] = self.buf[at..at + HEADER_BYTES].try_into().expect("ensured");
        let header = Header::parse(head).map_err(|f| self.corrupt_here(seq, f.to_string()))?;
        let record_bytes = header.record_bytes() as usize;
        if !self.ensure(record_bytes)? {
            return Ok(false);
        }
        let at = (self.offset - self.buf_offset) as usize;
        assert!(self.filled >= at + record_bytes, "ensured");
        let location = Location { segment: self.segment(), offset: self.offset };
        let ready = Ready { sequence: seq, location, hash: [0; 32], payload: at + HEADER_BYTES..at + record_bytes };
        self.headers.push(header);
        self.batch.push(ready);
        self.offset += record_bytes as u64;
        self.parse_seq += 1;
        Ok(true)
    }

    /// Checks the crc (of all the batch's records at once: `crc_batch.rs`), framing and
    /// sequence of each parsed record in order and queues its chain hash; the first that
    /// fails ends the batch there (replacing the error that ended the parse, which was
    /// further on).
    fn check_batch(&mut self) {
        let buf = &self.buf;
        crc_batch::record_crcs(self.batch.iter().map(|r| &buf[r.payload.start - HEADER_BYTES..r.payload.end]), &mut self.crcs);
        for (k, ((header, ready), &crc)) in self.headers.iter().zip(&self.batch).zip(&self.crcs).enumerate() {
            if let Err(reason) = check_header(header, crc, ready.sequence, None) {
                self.failed = Some(corrupt(&self.journal_dir, ready.location, ready.sequence, reason));
                self.batch.truncate(k);
                self.headers.truncate(k);
                break;
            }
            if !self.chain_deferred {
                self.hasher.push(&header.prev_hash, ready.sequence, ready.payload.clone());
            }
        }
    }

    /// Checks each checked record's link to the one before it and gives it its hash; a
    /// broken link ends the batch there (replacing a later error).
    fn link_batch(&mut self) {
        for k in 0..self.batch.len() {
            let (header, ready) = (&self.headers[k], &mut self.batch[k]);
            if let Some(prev) = &self.prev_hash {
                if *prev != header.prev_hash {
                    let reason = Corruption::ChainBreak { found: header.prev_hash, expected: *prev };
                    self.failed = Some(corrupt(&self.journal_dir, ready.location, ready.sequence, reason));
                    self.batch.truncate(k);
                    break;
                }
            }
            ready.hash = self.hasher.hashes[k];
            self.prev_hash = Some(ready.hash);
        }
    }

    /// Makes `n` bytes from `offset` available in `buf`, reading the segment when the
    /// batch is still empty (moving the buffer would invalidate its records' payloads).
    /// `Ok(false)` when they are not there and the batch is not empty; an error at the
    /// end of the file (a durable record is missing there).
    fn ensure(&mut self, n: usize) -> Result<bool, JournalError> {
        let have = (self.buf_offset + self.filled as u64).saturating_sub(self.offset);
        if self.file.is_some() && self.offset >= self.buf_offset && have >= n as u64 {
            return Ok(true);
        }
        if !self.batch.is_empty() {
            return Ok(false);
        }
        let path = segment_path(&self.journal_dir, self.segment());
        let io_err = |e| JournalError::io(format!("read {}", path.display()), e);
        if self.file.is_none() || self.offset < self.buf_offset {
            self.file = Some(File::open(&path).map_err(io_err)?);
            self.buf_offset = self.offset;
            self.filled = 0;
        }
        // Keep the unread bytes, drop the rest, then read to fill the buffer.
        let keep = (self.offset - self.buf_offset) as usize..self.filled;
        let buf = match Arc::get_mut(&mut self.buf) {
            Some(buf) => {
                buf.copy_within(keep.clone(), 0);
                buf
            }
            None => {
                // Read-ahead batches still hold records in it: continue in another.
                let mut fresh = self.spare.pop().unwrap_or_default();
                if fresh.len() < keep.len() {
                    fresh.resize(keep.len(), 0);
                }
                fresh[..keep.len()].copy_from_slice(&self.buf[keep.clone()]);
                self.buf = Arc::new(fresh);
                Arc::get_mut(&mut self.buf).expect("a new buffer is not shared")
            }
        };
        self.filled = keep.len();
        self.buf_offset = self.offset;
        let size = self.buffer_bytes.max(n);
        if buf.len() < size {
            buf.resize(size, 0);
        }
        let file = self.file.as_ref().expect("opened above");
        while self.filled < n {
            let read = file.read_at(&mut buf[self.filled..], self.buf_offset + self.filled as u64).map_err(io_err)?;
            if read == 0 {
                return Err(self.corrupt_here(self.parse_seq, "segment ends before a durable record"));
            }
            self.filled += read;
        }
        Ok(true)
    }
}

/// crc (`crc`: the one computed from the bytes read), framing, sequence and (when known)
/// chain checks of one record read back.
fn check_header(header: &Header, crc: u32, seq: u64, prev_hash: Option<&Hash>) -> Result<(), Corruption> {
    if crc != header.crc {
        return Err(Corruption::Damaged(RecordFault::CrcMismatch { stored: header.crc, computed: crc }));
    }
    header.check_framing()?;
    if header.sequence != seq {
        return Err(Corruption::Sequence { found: header.sequence, expected: seq });
    }
    match prev_hash {
        Some(prev) if *prev != header.prev_hash => Err(Corruption::ChainBreak { found: header.prev_hash, expected: *prev }),
        _ => Ok(()),
    }
}

/// Streams `from..=to` in order; see [`crate::Journal::read_range`].
pub struct RangeIter {
    source: Source,
    decoder: EnvelopeDecoder,
    from: u64,
    pending_error: Option<JournalError>,
}

/// Where a range's checked records come from: the cursor on this thread, or (a long
/// range) the same cursor on a thread of its own (`read_ahead.rs`).
enum Source {
    Done,
    Inline(Box<Cursor>),
    Ahead(Box<ReadAhead>),
}

impl Source {
    fn next_raw(&mut self) -> Option<Result<RawRecord, JournalError>> {
        match self {
            Source::Done => None,
            Source::Inline(cursor) => cursor.next_raw(),
            Source::Ahead(ahead) => ahead.next_raw(),
        }
    }

    /// The payload of the record `next_raw` returned last, and the journal's directory.
    fn payload(&self) -> (&[u8], &Path) {
        match self {
            Source::Done => unreachable!("no record was read"),
            Source::Inline(cursor) => (cursor.payload(), cursor.journal_dir()),
            Source::Ahead(ahead) => (ahead.payload(), ahead.journal_dir()),
        }
    }
}

impl RangeIter {
    /// `side`: who hashes a read-ahead batch ([`HashSide::Adaptive`] but in tests).
    pub(crate) fn new(cursor: Result<Option<Cursor>, JournalError>, from: u64, side: HashSide) -> RangeIter {
        let from = from.max(1);
        let (source, pending_error) = match cursor {
            Ok(None) => (Source::Done, None),
            Ok(Some(cursor)) if cursor.last_seq().saturating_sub(from) + 1 >= READ_AHEAD_RECORDS_MIN => {
                match ReadAhead::start(Box::new(cursor), side) {
                    Ok(ahead) => (Source::Ahead(Box::new(ahead)), None),
                    Err(cursor) => (Source::Inline(cursor), None),
                }
            }
            Ok(Some(cursor)) => (Source::Inline(Box::new(cursor)), None),
            Err(e) => (Source::Done, Some(e)),
        };
        RangeIter { source, decoder: EnvelopeDecoder::new(), from, pending_error }
    }
}

impl Iterator for RangeIter {
    type Item = Result<Envelope, JournalError>;

    // Inline (into the caller's loop too): one copy of the 544-byte envelope fewer per
    // record (a uprobe on memmove counted 10 calls per record before, 9 after).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        let raw = loop {
            match self.source.next_raw()? {
                Ok(raw) if raw.sequence < self.from => continue, // positioned before `from`
                Ok(raw) => break raw,
                Err(e) => {
                    self.source = Source::Done; // fused after an error: nothing after it can be trusted
                    return Some(Err(e));
                }
            }
        };
        let (payload, journal_dir) = self.source.payload();
        let fail = |r| corrupt(journal_dir, raw.location, raw.sequence, r);
        match decode_checked_or(&mut self.decoder, payload, raw.sequence, fail) {
            Ok(envelope) => Some(Ok(envelope)),
            Err(e) => {
                self.source = Source::Done; // fused after an error: nothing after it can be trusted
                Some(Err(e))
            }
        }
    }
}

/// Reads and checks the record of `sequence` at `loc` (crc, framing, sequence, decode,
/// invariants; the chain is not checked for a single record: `verify` does that).
fn read_at(journal_dir: &Path, file: &File, decoder: &mut EnvelopeDecoder, loc: Location, sequence: u64) -> Result<Envelope, JournalError> {
    let io_err = |e| JournalError::io(format!("read {} at {}", segment_path(journal_dir, loc.segment).display(), loc.offset), e);
    let mut head = [0u8; HEADER_BYTES];
    file.read_exact_at(&mut head, loc.offset).map_err(io_err)?;
    let header = Header::parse(&head).map_err(|f| corrupt(journal_dir, loc, sequence, f.to_string()))?;
    let mut payload = vec![0u8; header.payload_len as usize];
    file.read_exact_at(&mut payload, loc.offset + HEADER_BYTES as u64).map_err(io_err)?;
    check_header(&header, format::record_crc(&head, &payload), sequence, None).map_err(|r| corrupt(journal_dir, loc, sequence, r))?;
    decode_checked(decoder, &payload, sequence).map_err(|r| corrupt(journal_dir, loc, sequence, r))
}

/// Opens segment files for `read_at`, keeping the last one open (session reads mostly
/// stay in one segment).
pub(crate) struct FileCache {
    journal_dir: PathBuf,
    open: Option<(u64, File)>,
    decoder: EnvelopeDecoder,
}

impl FileCache {
    pub fn new(journal_dir: &Path) -> FileCache {
        FileCache { journal_dir: journal_dir.to_owned(), open: None, decoder: EnvelopeDecoder::new() }
    }

    pub fn read(&mut self, loc: Location, sequence: u64) -> Result<Envelope, JournalError> {
        if self.open.as_ref().is_none_or(|(segment, _)| *segment != loc.segment) {
            let path = segment_path(&self.journal_dir, loc.segment);
            let file = File::open(&path).map_err(|e| JournalError::io(format!("open {}", path.display()), e))?;
            self.open = Some((loc.segment, file));
        }
        let (_, file) = self.open.as_ref().expect("opened above");
        read_at(&self.journal_dir, file, &mut self.decoder, loc, sequence)
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
