//! The full-log scan shared by `Journal::open` (which then repairs a torn tail) and
//! `verify` (which only reports): checks every record and decides torn tail vs corruption.
//!
//! The rule (also in `lib.rs`): a damaged record is a *torn tail* only when it lies in the
//! last segment, inside the final write, and no intact record after it shows that write
//! was complete: no intact record of a later write, and not the write's own final record.
//! Then the whole final write is cut, from its first record, so that a group commit (and
//! `append_batch`) is all-or-nothing across a crash too. Anything else is corruption.
//! A crc-valid record that breaks the chain, the sequence, the write framing, decoding or
//! the envelope invariants is always corruption: a crash cannot produce a valid crc.

use crate::format::{self, Corruption, Hash, Header, RecordFault, HEADER_BYTES};
use crate::hash_batch::BatchHasher;
use crate::segment::{self, ChunkReader, SCAN_CHUNK_BYTES};
use std::io;
use std::path::{Path, PathBuf};
use tradpal_messages::codec::EnvelopeDecoder;
use tradpal_messages::Envelope;

/// Torn tail (a crash's leftovers, repaired by open) or corruption (fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    TornTail,
    Corrupt,
}

/// The first bad spot in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub file: PathBuf,
    /// For a torn tail: where open cuts the file (the start of the final write).
    /// For corruption: where the bad record starts.
    pub offset: u64,
    /// The first sequence cut (torn tail), or the sequence the bad record has or should have.
    pub sequence: u64,
    pub reason: String,
    /// Bytes open would cut (torn tail only; 0 for corruption).
    pub bytes_cut: u64,
}

/// What the scan found. `last_seq`/`last_hash` describe the log after a torn-tail cut.
#[derive(Debug)]
pub struct Scan {
    pub records: u64,
    pub last_seq: u64,
    pub last_hash: Hash,
    pub bytes: u64,
    pub problem: Option<Problem>,
}

/// An I/O failure during the scan (not a problem in the log itself).
pub struct ScanIoError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// The write (group commit) the scan is inside of.
struct OpenWrite {
    first: u64,
    last: u64,
    start_offset: u64,
    /// Records of this write, handed to the visitor only once the write is complete.
    pending: Vec<Envelope>,
}

/// Records hashed ahead of the scan at a time (see [`HashAhead`]).
const HASH_AHEAD_RECORDS_MAX: usize = 256;

/// Segments at least this long are hashed ahead on a thread of their own (a thread costs
/// tens of microseconds; a megabyte is a few thousand records).
const HASH_AHEAD_THREAD_BYTES_MIN: u64 = 1 << 20;

/// Batches the hashing thread may be ahead of the scan.
const HASH_AHEAD_BATCHES_QUEUED_MAX: usize = 8;

/// One batch of hashes computed ahead: (offset, crc, sequence) of each record and its
/// chain hash.
#[derive(Default)]
struct Hashed {
    records: Vec<(u64, u32, u64)>,
    hashes: Vec<Hash>,
}

/// Chain hashes of the records ahead of the scan, computed in batches (`hash_batch.rs`)
/// from the bytes as they are, before the scan has checked them: the scan takes a hash
/// from here only for a record it has since checked (crc included) at the same offset
/// with the same crc and sequence, so a record that turns out damaged, or bytes that
/// changed in between, never lend their hash to anything.
///
/// Where: for a long segment, on a thread of its own reading the file with a reader of
/// its own ([`hash_segment`]), so the hashing (about a quarter of an open's time) runs
/// beside the scan's checks and decoding; otherwise, or once that thread stopped (at
/// bytes that do not parse as a record: the scan then finds what is wrong itself), here,
/// from the scan's own buffer.
struct HashAhead {
    hasher: BatchHasher,
    batch: Hashed,
    next: usize,
    ahead: Option<std::sync::mpsc::Receiver<Hashed>>,
}

impl HashAhead {
    fn new() -> HashAhead {
        HashAhead { hasher: BatchHasher::new(), batch: Hashed::default(), next: 0, ahead: None }
    }

    /// Starts over for a new segment, with the hashes of a thread when `ahead` is one.
    fn restart(&mut self, ahead: Option<std::sync::mpsc::Receiver<Hashed>>) {
        self.batch.records.clear();
        self.batch.hashes.clear();
        self.next = 0;
        self.ahead = ahead;
    }

    /// The chain hash of the checked record `header` at `offset`, prev_hash being its
    /// (checked) link.
    fn hash(&mut self, reader: &mut ChunkReader, offset: u64, header: &Header) -> io::Result<Hash> {
        let key = (offset, header.crc, header.sequence);
        loop {
            // Entries before this record are of records the scan never checked.
            while self.batch.records.get(self.next).is_some_and(|r| r.0 < offset) {
                self.next += 1;
            }
            if self.next < self.batch.records.len() {
                break;
            }
            match self.ahead.as_ref().map(|rx| rx.recv()) {
                Some(Ok(batch)) => (self.batch, self.next) = (batch, 0),
                Some(Err(_)) => self.ahead = None, // the thread is done: on from here
                None => {
                    self.fill(reader, offset)?;
                    break;
                }
            }
        }
        if self.batch.records.get(self.next) == Some(&key) {
            self.next += 1;
            return Ok(self.batch.hashes[self.next - 1]);
        }
        let payload = reader.bytes(offset + HEADER_BYTES as u64, header.payload_len as usize)?;
        Ok(format::record_hash(&header.prev_hash, header.sequence, payload))
    }

    /// Hashes the records that start at `offset` and lie wholly in the reader's buffer.
    fn fill(&mut self, reader: &mut ChunkReader, offset: u64) -> io::Result<()> {
        self.next = 0;
        let bytes = reader.buffered_from(offset)?;
        hash_records(&mut self.hasher, bytes, offset, &mut self.batch);
        Ok(())
    }
}

/// Hashes up to [`HASH_AHEAD_RECORDS_MAX`] records of `bytes` (file offset `offset`)
/// into `out`, from the start to the first that does not parse or is not wholly there.
/// Returns the bytes they take.
fn hash_records(hasher: &mut BatchHasher, bytes: &[u8], offset: u64, out: &mut Hashed) -> usize {
    hasher.clear();
    out.records.clear();
    let mut at = 0usize;
    while out.records.len() < HASH_AHEAD_RECORDS_MAX {
        let Some(head) = bytes.get(at..).and_then(|b| b.first_chunk::<HEADER_BYTES>()) else { break };
        let Ok(header) = Header::parse(head) else { break };
        let end = at.saturating_add(header.record_bytes() as usize);
        if end > bytes.len() {
            break;
        }
        hasher.push(&header.prev_hash, header.sequence, at + HEADER_BYTES..end);
        out.records.push((offset + at as u64, header.crc, header.sequence));
        at = end;
    }
    hasher.finish(bytes);
    out.hashes.clear();
    out.hashes.extend_from_slice(&hasher.hashes);
    at
}

/// Starts [`hash_segment`] on a thread; `None` when none could be started. Not joined:
/// it stops on its own once the scan drops the receiver (or unwinds), at its next batch.
fn hash_ahead_thread(path: &Path) -> Option<std::sync::mpsc::Receiver<Hashed>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(HASH_AHEAD_BATCHES_QUEUED_MAX);
    let path = path.to_owned();
    std::thread::Builder::new().name("journal-scan-hash".into()).spawn(move || hash_segment(&path, &tx)).ok().map(|_| rx)
}

/// The hashing thread of one segment: every record from the start, in batches, until
/// the end of the file, bytes that do not parse as a record, an I/O error (the scan
/// meets the same bytes and reports them), or a scan that no longer listens.
fn hash_segment(path: &Path, out: &std::sync::mpsc::SyncSender<Hashed>) {
    let Ok(mut reader) = ChunkReader::open(path) else { return };
    let mut hasher = BatchHasher::new();
    let mut offset = 0u64;
    while offset < reader.len() {
        // The first record whole in the buffer (a long one grows it), then what follows.
        let Ok(head) = reader.bytes(offset, HEADER_BYTES) else { return };
        let Some(header) = head.first_chunk::<HEADER_BYTES>().and_then(|h| Header::parse(h).ok()) else { return };
        if reader.bytes(offset, header.record_bytes() as usize).is_err() {
            return;
        }
        let Ok(bytes) = reader.buffered_from(offset) else { return };
        let mut batch = Hashed::default();
        let used = hash_records(&mut hasher, bytes, offset, &mut batch);
        if used == 0 || out.send(batch).is_err() {
            return;
        }
        offset += used as u64;
    }
}

struct Scanner<'v> {
    visit: &'v mut dyn FnMut(&Envelope),
    hashes: HashAhead,
    decoder: EnvelopeDecoder,
    /// Chain state after the last record read (including pending ones).
    expected_seq: u64,
    prev_hash: Hash,
    /// Chain state after the last complete write.
    committed_seq: u64,
    committed_hash: Hash,
    records: u64,
    write: Option<OpenWrite>,
}

/// Scans every segment of `journal_dir` (given as sorted first sequences) and calls
/// `visit` for every record that survives (is not in a torn write), in order.
pub fn scan_log(journal_dir: &Path, segment_firsts: &[u64], visit: &mut dyn FnMut(&Envelope)) -> Result<Scan, ScanIoError> {
    let genesis = format::genesis_hash();
    let mut scanner = Scanner {
        visit,
        hashes: HashAhead::new(),
        decoder: EnvelopeDecoder::new(),
        expected_seq: 1,
        prev_hash: genesis,
        committed_seq: 0,
        committed_hash: genesis,
        records: 0,
        write: None,
    };
    let mut scan = Scan { records: 0, last_seq: 0, last_hash: genesis, bytes: 0, problem: None };
    for (i, &first) in segment_firsts.iter().enumerate() {
        let path = segment::segment_path(journal_dir, first);
        let is_last = i + 1 == segment_firsts.len();
        let io_err = |source| ScanIoError { path: path.clone(), source };
        let mut reader = ChunkReader::open(&path).map_err(io_err)?;
        scan.bytes += reader.len();
        let outcome = if first != scanner.expected_seq {
            Err(scanner.corrupt(
                &path,
                0,
                format!("segment is named for sequence {first}, but the log continues at {}", scanner.expected_seq),
            ))
        } else {
            let ahead = (reader.len() >= HASH_AHEAD_THREAD_BYTES_MIN).then(|| hash_ahead_thread(&path)).flatten();
            scanner.hashes.restart(ahead);
            let outcome = scanner.scan_segment(&mut reader, &path, is_last);
            scanner.hashes.restart(None); // hangs up: a thread still hashing stops at its next batch
            outcome.map_err(io_err)?
        };
        if let Err(problem) = outcome {
            scan.problem = Some(problem);
            break;
        }
    }
    scan.records = scanner.records;
    scan.last_seq = scanner.committed_seq;
    scan.last_hash = scanner.committed_hash;
    Ok(scan)
}

impl Scanner<'_> {
    fn corrupt(&self, file: &Path, offset: u64, reason: String) -> Problem {
        Problem { kind: ProblemKind::Corrupt, file: file.to_owned(), offset, sequence: self.expected_seq, reason, bytes_cut: 0 }
    }

    /// Scans one segment: `Ok(Ok(()))` when it is clean.
    fn scan_segment(&mut self, reader: &mut ChunkReader, path: &Path, is_last: bool) -> io::Result<Result<(), Problem>> {
        let len = reader.len();
        let first_in_segment = self.expected_seq;
        let mut offset = 0u64;
        while offset < len {
            match probe_at(reader, offset)? {
                Err(fault) => return self.resolve_damage(reader, path, offset, fault, is_last).map(Err),
                Ok(header) => {
                    if let Err(problem) = self.accept(reader, path, offset, &header)? {
                        return Ok(Err(problem));
                    }
                    offset += header.record_bytes();
                }
            }
        }
        if let Some(w) = &self.write {
            let reason =
                format!("the file ends inside write {}..={}: only up to sequence {} was written", w.first, w.last, self.expected_seq - 1);
            if is_last {
                return Ok(Err(self.torn(path, len, len, reason)));
            }
            return Ok(Err(self.corrupt(path, len, format!("{reason} (and later segments exist)"))));
        }
        if !is_last && self.expected_seq == first_in_segment {
            return Ok(Err(self.corrupt(path, 0, "empty segment followed by more segments".into())));
        }
        Ok(Ok(()))
    }

    /// Checks a crc-valid record against the chain and the write framing, decodes it and
    /// checks its invariants. Any failure here is corruption.
    fn accept(&mut self, reader: &mut ChunkReader, path: &Path, offset: u64, header: &Header) -> io::Result<Result<(), Problem>> {
        let payload = reader.bytes(offset + HEADER_BYTES as u64, header.payload_len as usize)?;
        let checked = check_chain(header, self.expected_seq, &self.prev_hash, self.write.as_ref().map(|w| (w.first, w.last)))
            .and_then(|()| decode_checked(&mut self.decoder, payload, header.sequence));
        let envelope = match checked {
            Ok(envelope) => envelope,
            Err(reason) => return Ok(Err(self.corrupt(path, offset, reason.to_string()))),
        };
        // check_chain made the header's prev_hash the chain's, so hashing with it is the same.
        let hash = self.hashes.hash(reader, offset, header)?;
        let write = self.write.get_or_insert_with(|| OpenWrite {
            first: header.batch_first,
            last: header.batch_last(),
            start_offset: offset,
            pending: Vec::new(),
        });
        write.pending.push(envelope);
        self.expected_seq += 1;
        self.prev_hash = hash;
        if header.sequence == header.batch_last() {
            let write = self.write.take().expect("a write is open");
            for envelope in &write.pending {
                (self.visit)(envelope);
            }
            self.records += write.pending.len() as u64;
            self.committed_seq = header.sequence;
            self.committed_hash = hash;
        }
        Ok(Ok(()))
    }

    /// A damaged record at `offset`: torn tail or corruption (see the module docs).
    fn resolve_damage(
        &mut self,
        reader: &mut ChunkReader,
        path: &Path,
        offset: u64,
        fault: RecordFault,
        is_last: bool,
    ) -> io::Result<Problem> {
        let here = format!("{fault} at offset {offset}");
        if !is_last {
            return Ok(self.corrupt(path, offset, format!("{here}, in a segment that is not the last")));
        }
        let write_first = self.write.as_ref().map_or(self.expected_seq, |w| w.first);
        let mut from = offset + 1;
        while let Some((at, h)) = find_next_record(reader, from)? {
            if h.batch_first != write_first {
                let reason = format!(
                    "{here}; an intact record of a later write (sequence {}, offset {at}) follows, so this is not a torn tail",
                    h.sequence
                );
                return Ok(self.corrupt(path, offset, reason));
            }
            if h.sequence == h.batch_last() {
                let reason = format!(
                    "{here}; the final record of the same write (sequence {}, offset {at}) is intact, so that write was complete",
                    h.sequence
                );
                return Ok(self.corrupt(path, offset, reason));
            }
            from = at + h.record_bytes();
        }
        Ok(self.torn(path, reader.len(), offset, here))
    }

    /// A torn tail: the final write is cut from its first record (or from the damage,
    /// when the damage is the start of a new write).
    fn torn(&self, path: &Path, file_len: u64, damage_offset: u64, reason: String) -> Problem {
        let (offset, sequence) = match &self.write {
            Some(w) => (w.start_offset, w.first),
            None => (damage_offset, self.expected_seq),
        };
        Problem { kind: ProblemKind::TornTail, file: path.to_owned(), offset, sequence, reason, bytes_cut: file_len - offset }
    }
}

/// Chain, sequence and write-framing checks of a crc-valid header.
fn check_chain(header: &Header, expected_seq: u64, prev_hash: &Hash, write: Option<(u64, u64)>) -> Result<(), Corruption> {
    header.check_framing()?;
    if header.sequence != expected_seq {
        return Err(Corruption::Sequence { found: header.sequence, expected: expected_seq });
    }
    if header.prev_hash != *prev_hash {
        return Err(Corruption::ChainBreak { found: header.prev_hash, expected: *prev_hash });
    }
    let (first, last) = (header.batch_first, header.batch_last());
    match write {
        Some((open_first, open_last)) if (first, last) != (open_first, open_last) => {
            Err(Corruption::InsideAnotherWrite { first, last, open_first, open_last })
        }
        None if header.batch_first != header.sequence => Err(Corruption::WriteStartMissing { first, last, previous_end: expected_seq - 1 }),
        _ => Ok(()),
    }
}

/// Decodes a payload and checks it against its header and the envelope invariants.
#[inline(always)]
pub fn decode_checked(decoder: &mut EnvelopeDecoder, payload: &[u8], sequence: u64) -> Result<Envelope, Corruption> {
    decode_checked_or(decoder, payload, sequence, |reason| reason)
}

/// [`decode_checked`], with its `Corruption` made the caller's error by `fail`.
///
/// Inline, and the envelope matched out of each `Result` rather than mapped: an
/// `Envelope` is over 500 bytes, and each conversion of a `Result` holding one can be a
/// copy of it on replay's path (memcpy was about a tenth of replay's time in `perf`,
/// mostly such copies).
#[inline(always)]
pub fn decode_checked_or<E>(
    decoder: &mut EnvelopeDecoder,
    payload: &[u8],
    sequence: u64,
    fail: impl FnOnce(Corruption) -> E,
) -> Result<Envelope, E> {
    let envelope = match decoder.decode(payload) {
        Ok(envelope) => envelope,
        Err(e) => return Err(fail(Corruption::Undecodable(e))),
    };
    if envelope.sequence != sequence {
        return Err(fail(Corruption::PayloadSequence { found: envelope.sequence, expected: sequence }));
    }
    if let Err(e) = envelope.check_invariants() {
        return Err(fail(Corruption::Invariant(e)));
    }
    Ok(envelope)
}

/// Parses the record at `offset`: magic, length limit, completeness, crc.
fn probe_at(reader: &mut ChunkReader, offset: u64) -> io::Result<Result<Header, RecordFault>> {
    let available = reader.len().saturating_sub(offset);
    let head = reader.bytes(offset, HEADER_BYTES)?;
    let Some(head) = head.first_chunk::<HEADER_BYTES>() else {
        return Ok(Err(RecordFault::Incomplete { needed: HEADER_BYTES as u64, available }));
    };
    let header = match Header::parse(head) {
        Ok(h) => h,
        Err(fault) => return Ok(Err(fault)),
    };
    let needed = header.record_bytes();
    if needed > available {
        return Ok(Err(RecordFault::Incomplete { needed, available }));
    }
    let record = reader.bytes(offset, needed as usize)?;
    let (head, payload) = record.split_at(HEADER_BYTES);
    Ok(header.check_crc(head, payload).map(|()| header))
}

/// The next intact (crc-valid) record starting at or after `from`, by searching for the
/// magic at every byte offset. Only used after damage, so speed matters little.
fn find_next_record(reader: &mut ChunkReader, mut from: u64) -> io::Result<Option<(u64, Header)>> {
    let len = reader.len();
    while from + HEADER_BYTES as u64 <= len {
        let chunk = reader.bytes(from, SCAN_CHUNK_BYTES)?;
        let chunk_len = chunk.len();
        match chunk.windows(format::MAGIC.len()).position(|w| w == format::MAGIC) {
            Some(i) => {
                let at = from + i as u64;
                if let Ok(header) = probe_at(reader, at)? {
                    return Ok(Some((at, header)));
                }
                from = at + 1;
            }
            None => from += (chunk_len.saturating_sub(format::MAGIC.len() - 1)).max(1) as u64,
        }
    }
    Ok(None)
}
