//! `truncate_after`: the cut records are saved first, the journal ends at or before the
//! cut, stays verifiable, and takes new appends on a continuous chain.

mod common;

use common::{draft, open, small_segments};
use tradpal_journal::{truncate_after, verify, JournalOptions};

#[test]
fn cuts_after_a_sequence_saving_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_segments();
    let (journal, _) = open(dir.path());
    // Single appends (one write each), then a batch of 5 (one write).
    for i in 0..20u64 {
        journal.append(draft(i)).unwrap();
    }
    journal.append_batch((20..25u64).map(draft).collect()).unwrap();
    assert_eq!(journal.last_sequence(), 25);
    let kept_hash = journal.read_range(12, 12).next().unwrap().unwrap();
    journal.close().unwrap();

    // Cut after 12: records 13..=25 go to the side file.
    let report = truncate_after(dir.path(), 12, options.clone()).unwrap();
    assert_eq!(report.cut, Some((13, 25)));
    assert_eq!(report.last_sequence, 12);
    let saved = std::fs::read_to_string(report.saved_to.as_ref().unwrap()).unwrap();
    assert_eq!(saved.lines().count(), 13, "every cut record saved");
    assert!(verify(dir.path()).unwrap().problem.is_none());

    // Cutting inside the batch write (after 22) cuts the whole write: it ends at 20.
    let (journal, _) = open(dir.path());
    journal.append_batch((30..40u64).map(draft).collect()).unwrap(); // 13..=22 in one write
    journal.close().unwrap();
    let report = truncate_after(dir.path(), 17, options.clone()).unwrap();
    assert_eq!(report.cut, Some((18, 22)));
    assert_eq!(report.last_sequence, 12, "a straddled write is cut whole, never half");

    // The journal goes on: the same record 12, a continuous chain, new appends.
    let (journal, _) = open(dir.path());
    assert_eq!(journal.read_range(12, 12).next().unwrap().unwrap(), kept_hash);
    assert_eq!(journal.append(draft(99)).unwrap().sequence, 13);
    journal.close().unwrap();
    assert!(verify(dir.path()).unwrap().problem.is_none());

    // Nothing to cut: a no-op.
    let report = truncate_after(dir.path(), 50, JournalOptions::default()).unwrap();
    assert_eq!((report.cut, report.last_sequence), (None, 13));
}
