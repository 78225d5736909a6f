//! `verify`: a read-only audit of a journal directory (`tradpal journal verify`).
//!
//! It runs the same scan as `Journal::open`, so the two never disagree about what is
//! valid, but it changes nothing: no truncation, no index, no lock. A torn tail is
//! reported as such (open would cut it), distinct from corruption (open refuses).
//! Run it on a stopped service: on a live one, the write in flight can look torn.

use crate::error::VerifyError;
use crate::format::hex;
use crate::scan::{self, Problem, ProblemKind};
use crate::segment;
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
}

impl VerifyReport {
    /// No problem of any kind.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
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
    Ok(VerifyReport {
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
                write!(f, " (a crash leftover: open cuts {} bytes; those records were never acknowledged)", self.bytes_cut)
            }
            ProblemKind::Corrupt => write!(f, " (fatal: open refuses this journal)"),
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match &self.problem {
            None => "OK".to_string(),
            Some(p) => p.kind.to_string(),
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
        if let Some(p) = &self.problem {
            write!(f, "\n  problem  {p}")?;
        }
        Ok(())
    }
}
