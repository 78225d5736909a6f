//! `Journal::open`'s recovery: scan and verify the log, refuse corruption and a log
//! that ends before the acknowledged high-water mark, cut a torn tail, reconcile the index with the log (the log wins), reindex what is missing.

use crate::acknowledged::{AcknowledgedGap, Watermark};
use crate::error::JournalError;
use crate::format::Hash;
use crate::index::{Index, IndexBatch};
use crate::read::Cursor;
use crate::scan::{self, decode_checked, ProblemKind};
use crate::segment::{self, segment_path, sync_dir};
use crate::watermark::{self, WatermarkFile};
use crate::JournalOptions;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tradpal_messages::codec::EnvelopeDecoder;

/// Records per sled batch while reindexing (bounds memory, keeps batches efficient).
const REINDEX_BATCH_RECORDS_MAX: usize = 16_384;

/// What open found and did.
#[derive(Debug, Clone)]
pub struct RecoveryReport {
    pub segments: usize,
    pub records: u64,
    pub last_sequence: u64,
    pub bytes_scanned: u64,
    /// The torn tail that was cut, if any.
    pub truncated: Option<Truncation>,
    /// The index was dropped and rebuilt from scratch (missing, ahead of the log, or of
    /// another history).
    pub index_rebuilt: bool,
    /// Records (re)indexed from the log during open.
    pub reindexed_records: u64,
    /// The acknowledged high-water mark found on disk (`None`: no mark yet, e.g. a new
    /// journal or one written before marks existed).
    pub acknowledged_through: Option<u64>,
    /// Acknowledged records missing from the log that the operator accepted to lose
    /// (`JournalOptions::accept_acknowledged_loss`); the caller should journal this.
    pub acknowledged_loss_accepted: Option<AcknowledgedGap>,
    pub elapsed: Duration,
}

/// A torn tail cut by open.
#[derive(Debug, Clone)]
pub struct Truncation {
    pub file: PathBuf,
    /// The file's new length (where the cut write started).
    pub offset: u64,
    pub bytes_cut: u64,
    /// The first sequence of the cut write (never acknowledged).
    pub first_sequence_cut: u64,
    pub reason: String,
    /// What is known about whether the cut records were acknowledged.
    pub acknowledged: String,
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "journal opened: {} records in {} segments ({} bytes) in {:.1?}",
            self.records, self.segments, self.bytes_scanned, self.elapsed
        )?;
        if let Some(t) = &self.truncated {
            write!(
                f,
                "; torn tail cut: {} bytes at {} offset {} ({}; {})",
                t.bytes_cut,
                t.file.display(),
                t.offset,
                t.reason,
                t.acknowledged
            )?;
        }
        if let Some(gap) = &self.acknowledged_loss_accepted {
            write!(f, "; LOSS ACCEPTED by the operator: {gap}")?;
        }
        if self.reindexed_records > 0 || self.index_rebuilt {
            write!(f, "; reindexed {} records{}", self.reindexed_records, if self.index_rebuilt { " (rebuilt)" } else { "" })?;
        }
        Ok(())
    }
}

/// Everything the writer and the handle need after recovery.
pub(crate) struct Recovered {
    pub journal_dir: PathBuf,
    pub index: Index,
    pub segments: Vec<u64>,
    pub file: File,
    pub segment: u64,
    pub segment_bytes: u64,
    pub last_seq: u64,
    pub last_hash: Hash,
    pub watermark: WatermarkFile,
    pub report: RecoveryReport,
}

// The report's `elapsed` is a measurement; the recovered state does not depend on it.
#[allow(clippy::disallowed_methods)]
pub(crate) fn recover(dir: &Path, options: &JournalOptions) -> Result<Recovered, JournalError> {
    let started = Instant::now();
    options.validate()?;
    let journal_dir = dir.join("journal");
    create_dir_durably(dir, &journal_dir)?;
    let mut firsts = segment::list_segments(&journal_dir).map_err(|e| JournalError::io(format!("list {}", journal_dir.display()), e))?;
    // The log first: a corrupt journal is refused before the index is even opened.
    let scan =
        scan::scan_log(&journal_dir, &firsts, &mut |_| {}).map_err(|e| JournalError::io(format!("read {}", e.path.display()), e.source))?;
    if let Some(p) = scan.problem.as_ref().filter(|p| p.kind == ProblemKind::Corrupt) {
        let p = p.clone();
        return Err(JournalError::Corrupt { file: p.file, offset: p.offset, sequence: p.sequence, reason: p.reason });
    }
    // Before anything is cut: does the log (after the torn tail) still hold every
    // acknowledged record?
    let mark = watermark::read(&journal_dir)?;
    let acknowledged_loss_accepted = check_acknowledged(&scan, mark, options.accept_acknowledged_loss)?;
    let truncated = match scan.problem.clone() {
        Some(p) => Some(cut_torn_tail(p, mark)?),
        None => None,
    };
    let (file, segment, segment_bytes) = open_tail_segment(&journal_dir, &mut firsts)?;
    let index = Index::open(&dir.join("index"))?;
    let (index_rebuilt, reindexed_records) = reconcile_index(&journal_dir, &firsts, &index, scan.last_seq)?;
    if let Some(t) = &truncated {
        tracing::warn!(file = %t.file.display(), offset = t.offset, bytes = t.bytes_cut, reason = %t.reason, acknowledged = %t.acknowledged, "journal torn tail cut");
    }
    if let Some(gap) = &acknowledged_loss_accepted {
        tracing::error!(%gap, "journal opened WITHOUT acknowledged records: loss accepted by the operator");
    }
    // From here on the mark follows the log (lowered to it when a loss was accepted).
    let watermark = WatermarkFile::open(&journal_dir, Watermark { sequence: scan.last_seq, hash: scan.last_hash })?;
    let report = RecoveryReport {
        segments: firsts.len(),
        records: scan.records,
        last_sequence: scan.last_seq,
        bytes_scanned: scan.bytes,
        truncated,
        index_rebuilt,
        reindexed_records,
        acknowledged_through: mark.map(|m| m.sequence),
        acknowledged_loss_accepted,
        elapsed: started.elapsed(),
    };
    Ok(Recovered {
        journal_dir,
        index,
        segments: firsts,
        file,
        segment,
        segment_bytes,
        last_seq: scan.last_seq,
        last_hash: scan.last_hash,
        watermark,
        report,
    })
}

/// Refuses a log that ends before the acknowledged mark (unless `accept`), naming the gap
/// and whether a torn tail is part of it. Returns the accepted gap, if any.
fn check_acknowledged(scan: &scan::Scan, mark: Option<Watermark>, accept: bool) -> Result<Option<AcknowledgedGap>, JournalError> {
    let Some(gap) = AcknowledgedGap::between(scan.last_seq, mark) else { return Ok(None) };
    if accept {
        return Ok(Some(gap));
    }
    let detail = match &scan.problem {
        Some(p) => format!(
            " (the log is damaged at {} offset {}, sequence {}: {}; those records were acknowledged, so this is not a crash leftover)",
            p.file.display(),
            p.offset,
            p.sequence,
            p.reason
        ),
        None => " (the log ends cleanly at a record boundary: it was cut or restored from an older copy)".to_string(),
    };
    Err(JournalError::AcknowledgedLoss { gap, detail })
}

/// What is known about a torn write's records, given the mark.
pub(crate) fn torn_acknowledgement(first_cut: u64, mark: Option<Watermark>) -> String {
    match mark {
        Some(m) if first_cut > m.sequence => {
            format!("never acknowledged: the acknowledged high-water mark is sequence {}, below the torn write", m.sequence)
        }
        Some(m) => format!("ACKNOWLEDGED: the acknowledged high-water mark is sequence {}", m.sequence),
        None => "unknown whether acknowledged: this journal has no acknowledged high-water mark yet".to_string(),
    }
}

/// Brings the index in line with the log: keeps it when its `indexed_through` names a
/// record of this log (same sequence, same chain hash) and indexes the rest; otherwise
/// clears and rebuilds it. Returns (rebuilt, records indexed).
fn reconcile_index(journal_dir: &Path, firsts: &[u64], index: &Index, last_seq: u64) -> Result<(bool, u64), JournalError> {
    let through = index.indexed_through()?;
    let current = match through {
        None => false,
        Some((seq, hash)) => seq <= last_seq && chain_hash_at(journal_dir, firsts, index, seq) == Some(hash),
    };
    if !current {
        index.clear()?;
    }
    let from = if current { through.map_or(1, |(seq, _)| seq + 1) } else { 1 };
    let indexed = reindex(journal_dir, firsts, index, from, last_seq)?;
    Ok((!current && through.is_some(), indexed))
}

/// The chain hash of record `seq`, read through the index's own position entries: if
/// they belong to another history, the read fails or the hash differs, and either way
/// the index is rebuilt. (The scan already verified the chain, so a record's header
/// `prev_hash` is trustworthy and one record suffices.)
fn chain_hash_at(journal_dir: &Path, firsts: &[u64], index: &Index, seq: u64) -> Option<Hash> {
    let mut cursor = Cursor::new(journal_dir, firsts.to_vec(), index, seq, seq).ok()?;
    while let Some(raw) = cursor.next_raw() {
        match raw {
            Ok(raw) if raw.sequence == seq => return Some(raw.hash),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Opens the last segment for appending (creating segment 1 in an empty journal).
/// Returns the file, its first sequence and its length.
fn open_tail_segment(journal_dir: &Path, firsts: &mut Vec<u64>) -> Result<(File, u64, u64), JournalError> {
    if firsts.is_empty() {
        let path = segment_path(journal_dir, 1);
        File::create_new(&path).map_err(|e| JournalError::io(format!("create {}", path.display()), e))?;
        sync_dir(journal_dir).map_err(|e| JournalError::io(format!("fsync directory {}", journal_dir.display()), e))?;
        firsts.push(1);
    }
    let segment = *firsts.last().expect("at least one segment");
    let path = segment_path(journal_dir, segment);
    let file = OpenOptions::new().append(true).open(&path).map_err(|e| JournalError::io(format!("open {}", path.display()), e))?;
    let bytes = file.metadata().map_err(|e| JournalError::io(format!("stat {}", path.display()), e))?.len();
    Ok((file, segment, bytes))
}

/// Creates `<dir>/journal` if missing, fsyncing the parents so the directory survives.
fn create_dir_durably(dir: &Path, journal_dir: &Path) -> Result<(), JournalError> {
    if journal_dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(journal_dir).map_err(|e| JournalError::io(format!("create {}", journal_dir.display()), e))?;
    for d in [dir, journal_dir] {
        sync_dir(d).map_err(|e| JournalError::io(format!("fsync directory {}", d.display()), e))?;
    }
    Ok(())
}

/// Cuts the file at the start of the torn write and makes the new length durable before
/// anything is appended (so no stale bytes can reappear after a second crash).
fn cut_torn_tail(p: scan::Problem, mark: Option<Watermark>) -> Result<Truncation, JournalError> {
    let file = OpenOptions::new().write(true).open(&p.file).map_err(|e| JournalError::io(format!("open {}", p.file.display()), e))?;
    file.set_len(p.offset).map_err(|e| JournalError::io(format!("truncate {}", p.file.display()), e))?;
    file.sync_all().map_err(|e| JournalError::io(format!("fsync {}", p.file.display()), e))?;
    let acknowledged = torn_acknowledgement(p.sequence, mark);
    Ok(Truncation {
        file: p.file,
        offset: p.offset,
        bytes_cut: p.bytes_cut,
        first_sequence_cut: p.sequence,
        reason: p.reason,
        acknowledged,
    })
}

/// Indexes `from..=to` from the log. Returns how many records were indexed.
fn reindex(journal_dir: &Path, segments: &[u64], index: &Index, from: u64, to: u64) -> Result<u64, JournalError> {
    if from > to {
        return Ok(0);
    }
    let mut cursor = Cursor::new(journal_dir, segments.to_vec(), index, from, to)?;
    let mut batch = IndexBatch::default();
    let mut count = 0;
    let mut decoder = EnvelopeDecoder::new();
    while let Some(raw) = cursor.next_raw() {
        let raw = raw?;
        if raw.sequence < from {
            continue;
        }
        let envelope = decode_checked(&mut decoder, cursor.payload(), raw.sequence).map_err(|reason| JournalError::Corrupt {
            file: segment_path(journal_dir, raw.location.segment),
            offset: raw.location.offset,
            sequence: raw.sequence,
            reason: reason.to_string(),
        })?;
        batch.add(&envelope, raw.location, &raw.hash);
        count += 1;
        if batch.len() >= REINDEX_BATCH_RECORDS_MAX {
            index.apply(std::mem::take(&mut batch))?;
        }
    }
    index.apply(batch)?;
    debug_assert_eq!(cursor.next_seq(), to + 1);
    Ok(count)
}
