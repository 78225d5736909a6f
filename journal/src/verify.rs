//! `verify`: a read-only audit of a journal directory (`tradpal journal verify`).
//!
//! It runs the same scan as `Journal::open`, so the two never disagree about what is
//! valid, but it changes nothing: no truncation, no index, no lock. A torn tail is
//! reported as such (open would cut it), distinct from corruption (open refuses), and
//! so is a log that ends before the acknowledged high-water mark (open refuses it too;
//! see `watermark.rs`), with what is known about whether torn records were acknowledged.
//! Run it on a stopped service: on a live one, the write in flight can look torn.

use crate::acknowledged::AcknowledgedGap;
use crate::error::VerifyError;
use crate::format::hex;
use crate::scan::{self, Problem, ProblemKind};
use crate::segment;
use crate::watermark;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use tradpal_messages::{Envelope, EventKind, Timestamp};

/// What `verify` found. All fields public so callers can render them (JSON, tables).
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub journal_dir: PathBuf,
    pub segments: usize,
    /// Valid records (before the first problem, if any).
    pub records: u64,
    /// Bytes in the segment files scanned.
    pub bytes: u64,
    pub first_sequence: Option<u64>,
    pub last_sequence: Option<u64>,
    pub first_timestamp: Option<Timestamp>,
    pub last_timestamp: Option<Timestamp>,
    pub kinds: BTreeMap<EventKind, u64>,
    /// Hex blake3 hash of the last valid record (the genesis hash when there is none).
    pub chain_hash: String,
    /// The first bad spot: a torn tail (what a crash leaves; open repairs it) or
    /// corruption (fatal; open refuses).
    pub problem: Option<Problem>,
    /// The acknowledged high-water mark on disk (`None`: none kept yet).
    pub acknowledged_through: Option<u64>,
    /// Acknowledged records the log no longer holds (open refuses this journal).
    pub acknowledged_gap: Option<AcknowledgedGap>,
    /// Set instead of the two above when the mark file exists but is unreadable.
    pub watermark_error: Option<String>,
}

impl VerifyReport {
    /// No problem of any kind.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none() && self.acknowledged_gap.is_none() && self.watermark_error.is_none()
    }

    /// The log misses acknowledged records (see [`AcknowledgedGap`]).
    pub fn is_acknowledged_loss(&self) -> bool {
        self.acknowledged_gap.is_some()
    }

    pub fn is_corrupt(&self) -> bool {
        self.problem.as_ref().is_some_and(|p| p.kind == ProblemKind::Corrupt)
    }

    pub fn is_torn_tail(&self) -> bool {
        self.problem.as_ref().is_some_and(|p| p.kind == ProblemKind::TornTail)
    }
}

/// Verifies the journal in `dir` (the data directory holding `journal/`), read-only.
pub fn verify(dir: &Path) -> Result<VerifyReport, VerifyError> {
    let journal_dir = dir.join("journal");
    let firsts = segment::list_segments(&journal_dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => VerifyError::NotFound { path: journal_dir.clone(), source },
        _ => VerifyError::Io { path: journal_dir.clone(), source },
    })?;
    let mut kinds = BTreeMap::new();
    let mut first_timestamp = None;
    let mut last_timestamp = None;
    let mut visit = |envelope: &Envelope| {
        *kinds.entry(envelope.kind).or_insert(0) += 1;
        first_timestamp.get_or_insert(envelope.timestamp);
        last_timestamp = Some(envelope.timestamp);
    };
    let scan = scan::scan_log(&journal_dir, &firsts, &mut visit).map_err(|e| VerifyError::Io { path: e.path, source: e.source })?;
    let (mark, watermark_error) = match watermark::read(&journal_dir) {
        Ok(mark) => (mark, None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(VerifyReport {
        acknowledged_through: mark.map(|m| m.sequence),
        acknowledged_gap: AcknowledgedGap::between(scan.last_seq, mark),
        watermark_error,
        journal_dir,
        segments: firsts.len(),
        records: scan.records,
        bytes: scan.bytes,
        first_sequence: (scan.records > 0).then_some(1),
        last_sequence: (scan.records > 0).then_some(scan.last_seq),
        first_timestamp,
        last_timestamp,
        kinds,
        chain_hash: hex(&scan.last_hash),
        problem: scan.problem,
    })
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::TornTail => "TORN TAIL",
            ProblemKind::Corrupt => "CORRUPT",
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} offset {} sequence {}: {}", self.kind, self.file.display(), self.offset, self.sequence, self.reason)?;
        match self.kind {
            ProblemKind::TornTail => {
                write!(f, " (what a crash mid-write leaves: open cuts {} bytes)", self.bytes_cut)
            }
            ProblemKind::Corrupt => write!(f, " (fatal: open refuses this journal)"),
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match (&self.problem, &self.acknowledged_gap) {
            (_, Some(_)) => "ACKNOWLEDGED RECORDS LOST".to_string(),
            (None, None) if self.watermark_error.is_some() => "WATERMARK UNREADABLE".to_string(),
            (None, None) => "OK".to_string(),
            (Some(p), None) => p.kind.to_string(),
        };
        writeln!(f, "journal {}: {status}", self.journal_dir.display())?;
        match (self.first_sequence, self.last_sequence) {
            (Some(first), Some(last)) => {
                writeln!(f, "  records  {} (sequences {first}..={last}) in {} segments, {} bytes", self.records, self.segments, self.bytes)?
            }
            _ => writeln!(f, "  records  0 in {} segments, {} bytes", self.segments, self.bytes)?,
        }
        if let (Some(a), Some(b)) = (self.first_timestamp, self.last_timestamp) {
            writeln!(f, "  time     {} .. {}", a.to_rfc3339(), b.to_rfc3339())?;
        }
        if !self.kinds.is_empty() {
            let kinds: Vec<String> = self.kinds.iter().map(|(k, n)| format!("{}={n}", k.as_str())).collect();
            writeln!(f, "  kinds    {}", kinds.join(" "))?;
        }
        write!(f, "  chain    blake3 {}", self.chain_hash)?;
        match self.acknowledged_through {
            Some(m) => write!(f, "\n  acked    through sequence {m} (the acknowledged high-water mark)")?,
            None => write!(f, "\n  acked    no high-water mark kept yet (a journal from before marks, or never opened)")?,
        }
        if let Some(p) = &self.problem {
            write!(f, "\n  problem  {p}")?;
            if p.kind == ProblemKind::TornTail && self.watermark_error.is_none() {
                let mark = self.acknowledged_through.map(|sequence| crate::Watermark { sequence, hash: [0; 32] });
                write!(f, "\n           the torn records: {}", crate::recovery::torn_acknowledgement(p.sequence, mark))?;
            }
        }
        if let Some(gap) = &self.acknowledged_gap {
            write!(
                f,
                "\n  LOST     {gap}: open refuses this journal (tradpal serve --accept-journal-loss accepts the loss and journals it)"
            )?;
        }
        if let Some(e) = &self.watermark_error {
            write!(f, "\n  problem  {e}")?;
        }
        Ok(())
    }
}
