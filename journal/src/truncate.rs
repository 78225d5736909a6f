//! Cutting a journal's tail on purpose, for one situation only: a replicated node whose
//! journal holds records the cluster log never stored (it led, journaled, and died before
//! publishing them). Those records were never acknowledged to anyone (the replication
//! gate holds every acknowledgement until the log has the record), and the new leader has
//! since written different records under the same sequences; keeping them would fork
//! history. They are not thrown away: they are written, as JSON lines, to
//! `<dir>/cut/<first>-<last>.jsonl` (fsynced) before the log is cut, for audit.
//!
//! Offline: the journal must not be open (sled's lock on the index enforces it).
//! The cut is made at the start of the record after `keep_through`; a group-commit write
//! that straddles that point is then incomplete, which the next open treats as a torn tail
//! and cuts whole, so the journal may end a little *before* `keep_through`. That is safe
//! for the one caller: the node then copies those records back from the log.

use crate::error::JournalError;
use crate::journal::Journal;
use crate::segment::{list_segments, segment_path, sync_dir};
use crate::JournalOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What [`truncate_after`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct TruncateReport {
    /// Records cut: `first..=last` (none when the journal ended at or before `keep_through`).
    pub cut: Option<(u64, u64)>,
    /// Where the cut records were saved.
    pub saved_to: Option<PathBuf>,
    /// The journal's last sequence after reopening (≤ `keep_through`).
    pub last_sequence: u64,
}

/// Cuts every record after `keep_through` from the journal in `dir` (see the module docs).
pub fn truncate_after(dir: &Path, keep_through: u64, options: JournalOptions) -> Result<TruncateReport, JournalError> {
    let (journal, _) = Journal::open(dir, options.clone())?;
    let last = journal.last_sequence();
    if last <= keep_through {
        journal.close()?;
        return Ok(TruncateReport { cut: None, saved_to: None, last_sequence: last });
    }
    let first_cut = keep_through + 1;
    let location = journal.location_of(first_cut)?;
    let saved_to = dir.join("cut").join(format!("{first_cut}-{last}.jsonl"));
    save(&journal, first_cut, last, &saved_to)?;
    let journal_dir = journal.journal_dir().to_path_buf();
    journal.close()?;

    let path = segment_path(&journal_dir, location.segment);
    let file = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| JournalError::io(format!("open {}", path.display()), e))?;
    file.set_len(location.offset).map_err(|e| JournalError::io(format!("truncate {}", path.display()), e))?;
    file.sync_all().map_err(|e| JournalError::io(format!("fsync {}", path.display()), e))?;
    let segments = list_segments(&journal_dir).map_err(|e| JournalError::io(format!("list {}", journal_dir.display()), e))?;
    for later in segments.into_iter().filter(|&s| s > location.segment) {
        let p = segment_path(&journal_dir, later);
        std::fs::remove_file(&p).map_err(|e| JournalError::io(format!("remove {}", p.display()), e))?;
    }
    // The cut records were never acknowledged (see above), but the local writer's
    // high-water mark covers them: it marks what this journal fsynced. The mark is
    // dropped with the cut; the reopen below rebuilds it from the log.
    let mark = crate::watermark::watermark_path(&journal_dir);
    if mark.exists() {
        std::fs::remove_file(&mark).map_err(|e| JournalError::io(format!("remove {}", mark.display()), e))?;
    }
    sync_dir(&journal_dir).map_err(|e| JournalError::io(format!("fsync directory {}", journal_dir.display()), e))?;
    // The index describes the cut records; it is derived, so it is rebuilt from the log.
    let index = dir.join("index");
    if index.exists() {
        std::fs::remove_dir_all(&index).map_err(|e| JournalError::io(format!("remove {}", index.display()), e))?;
    }
    let (journal, _) = Journal::open(dir, options)?;
    let last_sequence = journal.last_sequence();
    journal.close()?;
    tracing::warn!(first_cut, last, saved = %saved_to.display(), last_sequence, "journal tail cut");
    Ok(TruncateReport { cut: Some((first_cut, last)), saved_to: Some(saved_to), last_sequence })
}

fn save(journal: &Journal, from: u64, to: u64, path: &Path) -> Result<(), JournalError> {
    let parent = path.parent().expect("cut file has a parent");
    std::fs::create_dir_all(parent).map_err(|e| JournalError::io(format!("create {}", parent.display()), e))?;
    let io = |e| JournalError::io(format!("write {}", path.display()), e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for env in journal.read_range(from, to) {
        out.write_all(&tradpal_messages::codec::to_json(&env?)).map_err(io)?;
        out.write_all(b"\n").map_err(io)?;
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    sync_dir(parent).map_err(io)
}
