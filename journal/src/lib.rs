//! TradPal's append-only event journal: the record of truth.
//!
//! Every event is appended here, fsynced, and only then acknowledged (write-ahead): an
//! actor never acts on, and a caller never hears of, an event a crash could lose. Records
//! are checksummed and hash-chained so that `verify` detects any change, gap or reorder.
//! Indexes (by idempotency key, by session, by position) live in sled and are rebuilt from
//! the log whenever they are behind, missing or from another history: the log is the truth.
//!
//! # Layout
//!
//! - `lib.rs`: this overview, the on-disk format, the torn-tail rule, [`JournalOptions`].
//! - `error.rs`: [`JournalError`] (recoverable vs fatal) and [`VerifyError`].
//! - `format.rs`: the record header, crc32c and the blake3 chain: the one place that
//!   knows the bytes, shared by writer, readers, open and verify.
//! - `segment.rs`: segment file names, listing, directory fsync, the chunked scan reader.
//! - `scan.rs`: the full-log scan and the torn-tail vs corruption decision, shared by
//!   open (which repairs) and verify (which only reports), so they never disagree; a
//!   segment of a megabyte or more has its chain hashes computed ahead on a second thread.
//! - `recovery.rs`: open's recovery: cut a torn tail, refuse corruption, reindex.
//! - `index.rs`: the sled trees (keys, sessions, sparse positions, `indexed_through`).
//! - `shared.rs`: the state the handle, the two threads and the readers share (durable
//!   sequence, segments, poison, counters), so none of them depends on another's module.
//! - `group.rs`: one group commit's requests, staged records and answers, handed from
//!   the writer to the acknowledging thread.
//! - `writer.rs`: the single writer thread and group commit (write + data fsync).
//! - `ack.rs`: the acknowledging thread beside it: per written group, in order, the
//!   high-water mark's fsync, the index, publishing, the answers (so group N+1's data
//!   fsync overlaps group N's mark and index).
//! - `journal.rs`: the [`Journal`] handle: appends (async ones in a `journal.append`
//!   span, open until durable), reads, close.
//! - `replication.rs`: [`ReplicationGate`]: with several service processes, appends are
//!   acknowledged only once the replication log holds them too (off by default).
//! - `read.rs`: range cursor (crc + chain checked; large reads, batches, no per-record
//!   copy) and indexed single-record reads.
//! - `read_ahead.rs`: a long range's cursor on a thread of its own (reads and crc checks
//!   there, the chain hashes shared between it and the caller, decoding and the links in
//!   the caller), the same records and errors in the same order.
//! - `hash_batch.rs`: the chain hashes of a batch of records at once, queued as places in
//!   the reader's buffer, for the cursor and the scan (which hashes the records ahead of it).
//! - `blake3_lanes.rs`: blake3 of 16 inputs of up to one chunk at once, each with its own
//!   length (AVX-512), loading each block where it lies; `hash_batch.rs` uses it when it can.
//! - `crc_batch.rs`: the crcs of a batch of records three at a time (interleaved
//!   `crc32` chains, SSE 4.2 when present), for the cursor.
//! - `watermark.rs`: the acknowledged high-water mark's file (`journal/acknowledged.hwm`),
//!   the fsync'd sequence every acknowledged record is at or below.
//! - `acknowledged.rs`: the mark's values, [`Watermark`] and [`AcknowledgedGap`] (a log
//!   that ends before the mark has lost acknowledged records: open refuses, verify
//!   reports); no I/O, so the errors can name a gap without depending on the file code.
//! - `truncate.rs`: [`truncate_after`]: cut a replicated node's never-acknowledged tail,
//!   saving it as JSON lines first (the one deliberate cut; offline).
//! - `verify.rs`: [`verify`], the read-only audit behind `tradpal journal verify`.
//! - `bin/append_child.rs`: a process the crash test kills with SIGKILL mid-append.
//! - `tests/roundtrip.rs`: append/reopen/read back (proptest drafts), sessions, keys,
//!   idempotency, refusals, async, index rebuilds; `tests/concurrency.rs`: 64 writers, and writers racing on the same keys;
//!   `tests/crash.rs`: SIGKILL (and lost unsynced tails) then recovery; `tests/corruption.rs`:
//!   truncations, bit flips, chain breaks, gaps against the rule below; `tests/poison.rs`:
//!   a failed write poisons (alone in its binary: it sets a process-wide file size limit);
//!   `tests/truncate.rs`: [`truncate_after`] saves the cut records first and leaves a
//!   verifiable journal that takes new appends; `tests/read.rs`: range reads of records
//!   of every size from any start, and damage found by a running journal's reader, each
//!   on both paths (on the caller's thread and read ahead).
//! - `benches/journal.rs`: durable appends/s at 1, 8, 64 writers; replay and open records/s.
//!
//! A data directory holds `journal/` (the segments: the truth) and `index/` (sled:
//! derived, disposable). sled's lock on `index/` also keeps a second process from opening
//! the same journal for writing; `verify` takes no lock and writes nothing.
//!
//! # On-disk format
//!
//! `<dir>/journal/NNNNNNNNNNNNNNNNNNNN.seg`: segment files named by their first sequence
//! (20 digits, so names sort in log order). Sequences are dense from 1 across segments. A
//! segment rolls once it would exceed `segment_bytes_max`; a write (group commit) never
//! spans two segments. A segment is a plain concatenation of records, no file header.
//! Each record (integers little-endian):
//!
//! | offset | bytes | field          | meaning                                                  |
//! |-------:|------:|----------------|----------------------------------------------------------|
//! |      0 |     4 | magic          | `F3 54 50 4A` (`\xF3TPJ`)                                |
//! |      4 |     4 | crc32c         | over bytes 0..4 and 8..64 of the header, then the payload |
//! |      8 |     4 | payload_len    | payload bytes (record ≤ 64 MiB, the format limit)        |
//! |     12 |     4 | batch_records  | records in the write this record was part of             |
//! |     16 |     8 | sequence       | this record's sequence (≥ 1)                             |
//! |     24 |     8 | batch_first    | sequence of the first record of that write               |
//! |     32 |    32 | prev_hash      | hash of the previous record (genesis for sequence 1)     |
//! |     64 |     n | payload        | `tradpal_messages::codec::encode_envelope` (version byte first) |
//!
//! A record's hash is `blake3(prev_hash ‖ sequence as u64 LE ‖ payload)`; the genesis
//! hash is `blake3("tradpal-journal genesis v1")`. `batch_first`/`batch_records` frame the
//! group-commit write, which is what lets recovery tell a torn write from corruption.
//!
//! # Torn tail vs corruption
//!
//! A crash can only damage the final write: writes happen one at a time and the next
//! starts only after the previous one's fsync returned. So, scanning forward:
//!
//! - A damaged record (incomplete, bad magic, length over the limit, crc mismatch) is a
//!   **torn tail** only if it lies in the last segment, inside the final write, and no
//!   intact record after it proves that write complete: the rest of the file is searched
//!   for intact records (magic + crc at any byte offset), and finding one of a *later*
//!   write, or the final record of the *same* write, makes the damage **corruption**.
//!   A bit flip in a length field therefore cannot pass for a torn tail: the records
//!   after it are still intact and are found. (A power loss that persists a write's
//!   pages out of order could also leave a damaged record before that write's intact
//!   final record; the journal then refuses rather than guess, and `verify` shows where.)
//! - A file that ends inside a write (the last record's sequence is below its write's
//!   last) is a torn tail in the last segment and corruption elsewhere.
//! - A crc-valid record that breaks the sequence, the chain, the write framing, decoding
//!   or the envelope invariants is always corruption: a crash does not produce valid crcs.
//!
//! A torn tail is cut at the start of the torn write (all of it: those records were never
//! acknowledged, and cutting the whole write keeps `append_batch` all-or-nothing across a
//! crash). "Never acknowledged" is checked, not assumed: the write must lie above the
//! acknowledged high-water mark (`watermark.rs`); damage at or below it lost acknowledged
//! records and open refuses, naming the gap. The new length is fsynced before anything is appended. Corruption makes `open`
//! fail with [`JournalError::Corrupt`] naming file, offset and sequence; `verify` reports
//! either without touching anything. Damage confined to the final record of the final
//! write is indistinguishable from a torn write and is cut like one.
//!
//! # Event ids
//!
//! Duplicate `event_id`s are *not* refused: that would need an index entry per record
//! (or an unbounded in-memory set) on the append path. Event ids come from the seeded
//! id generator and are unique by construction; retried deliveries are de-duplicated by
//! `idempotency_key`, which is enforced, across restarts and within one group.

mod ack;
mod acknowledged;
mod blake3_lanes;
mod crc_batch;
mod error;
mod format;
mod group;
mod hash_batch;
mod index;
mod journal;
mod read;
mod read_ahead;
mod recovery;
mod replication;
mod scan;
mod segment;
mod shared;
mod truncate;
mod verify;
mod watermark;
mod writer;

pub use acknowledged::{AcknowledgedGap, Watermark};
pub use error::{JournalError, VerifyError};
pub use format::{genesis_hash, hex, Hash, HEADER_BYTES, RECORD_BYTES_LIMIT};
pub use index::POSITION_STRIDE_RECORDS;
pub use journal::{ChainHead, Journal, JournalStats};
pub use read::{RangeIter, SessionIter};
pub use recovery::{RecoveryReport, Truncation};
pub use replication::ReplicationGate;
pub use scan::{Problem, ProblemKind};
pub use segment::segment_file_name;
pub use truncate::{truncate_after, TruncateReport};
pub use verify::{verify, VerifyReport};
pub use watermark::WATERMARK_FILE;

/// Limits and sizes. Defaults suit the service; tests shrink segments to exercise rolls.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// A segment rolls before a write would take it past this size (bytes).
    pub segment_bytes_max: u64,
    /// Largest record accepted, header included (bytes); larger drafts are refused.
    pub record_bytes_max: usize,
    /// The writer stops taking requests into a group at this many records (one
    /// `append_batch` may take a group past it by up to its own size).
    pub group_commit_records_max: usize,
    /// ... or at this many encoded bytes.
    pub group_commit_bytes_max: usize,
    /// Appends queued for the writer before `append` blocks (and `append_async` waits).
    pub queue_depth_max: usize,
    /// Open a log that ends before the acknowledged high-water mark anyway (the
    /// operator's `--accept-journal-loss`): the gap is reported in
    /// [`RecoveryReport::acknowledged_loss_accepted`] and the mark lowered to the log.
    /// Off: open fails with [`JournalError::AcknowledgedLoss`].
    pub accept_acknowledged_loss: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            segment_bytes_max: 256 << 20,
            record_bytes_max: 1 << 20,
            group_commit_records_max: 1024,
            group_commit_bytes_max: 8 << 20,
            queue_depth_max: 4096,
            accept_acknowledged_loss: false,
        }
    }
}

/// Largest group, in records (the header's `batch_records` is a u32; keep it far below).
const GROUP_COMMIT_RECORDS_LIMIT: usize = 1 << 20;

impl JournalOptions {
    pub fn validate(&self) -> Result<(), JournalError> {
        let bad = |m: String| Err(JournalError::Invalid(format!("journal options: {m}")));
        if self.record_bytes_max <= HEADER_BYTES || self.record_bytes_max > RECORD_BYTES_LIMIT {
            return bad(format!("record_bytes_max must be in {}..={RECORD_BYTES_LIMIT}", HEADER_BYTES + 1));
        }
        if self.segment_bytes_max == 0 {
            return bad("segment_bytes_max must be at least 1 (a segment may exceed it by one write)".into());
        }
        if self.group_commit_records_max == 0 || self.group_commit_records_max > GROUP_COMMIT_RECORDS_LIMIT {
            return bad(format!("group_commit_records_max must be in 1..={GROUP_COMMIT_RECORDS_LIMIT}"));
        }
        if self.group_commit_bytes_max < self.record_bytes_max {
            return bad("group_commit_bytes_max must be at least record_bytes_max".into());
        }
        if self.queue_depth_max == 0 {
            return bad("queue_depth_max must be at least 1".into());
        }
        Ok(())
    }
}
