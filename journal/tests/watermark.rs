//! The acknowledged high-water mark: a journal that lost acknowledged records is refused
//! by open and reported by verify, whether it was cut at a record boundary (a valid,
//! shorter log) or in the middle of a record; an operator can accept the loss; a torn
//! write above the mark is what a crash leaves and is cut, saying it was never
//! acknowledged.

mod common;

use common::{draft, open, read_all, record_spans, segment_files, small_segments};
use std::path::Path;
use tradpal_journal::{verify, Journal, JournalError, JournalOptions, WATERMARK_FILE};

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

/// A closed journal of `n` acknowledged records (single appends).
fn journal_of(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // One segment: the cuts below are within the last one.
    let (journal, _) = Journal::open(dir.path(), JournalOptions::default()).unwrap();
    for i in 0..n {
        assert_eq!(journal.append(draft(i * 5 + 1)).unwrap().sequence, i + 1);
    }
    journal.close().unwrap();
    dir
}

/// (offset, bytes) of record `seq` in the last segment.
fn span_of(dir: &Path, seq: u64) -> (std::path::PathBuf, u64, u64) {
    let last = segment_files(dir).pop().unwrap();
    let (_, offset, bytes, _) = record_spans(&last).into_iter().find(|s| s.0 == seq).expect("record in the last segment");
    (last, offset, bytes)
}

#[test]
fn a_cut_at_a_record_boundary_is_refused_naming_the_gap() {
    let dir = journal_of(40);
    let (file, offset, _) = span_of(dir.path(), 38);
    truncate(&file, offset); // records 38..=40 gone; what is left is a valid log
    let report = verify(dir.path()).unwrap();
    assert!(report.problem.is_none(), "the shorter log itself is intact: {report}");
    assert!(!report.is_ok() && report.is_acknowledged_loss(), "{report}");
    assert_eq!(report.acknowledged_through, Some(40));
    let gap = report.acknowledged_gap.unwrap();
    assert_eq!((gap.first, gap.last), (38, 40));
    let text = report.to_string();
    assert!(text.contains("ACKNOWLEDGED RECORDS LOST") && text.contains("38..=40"), "{text}");

    let err = Journal::open(dir.path(), small_segments()).err().expect("open must refuse");
    let JournalError::AcknowledgedLoss { gap, detail } = &err else { panic!("unexpected error {err}") };
    assert_eq!((gap.first, gap.last), (38, 40));
    assert!(detail.contains("record boundary"), "{err}");
    assert!(err.is_fatal());
    assert!(err.to_string().contains("--accept-journal-loss"), "{err}");
    // Refusing changed nothing: verify still names the same gap.
    assert_eq!(verify(dir.path()).unwrap().acknowledged_gap, Some(gap.to_owned()));
}

#[test]
fn a_cut_inside_an_acknowledged_record_is_not_called_a_crash_leftover() {
    let dir = journal_of(20);
    let (file, offset, bytes) = span_of(dir.path(), 18);
    truncate(&file, offset + bytes / 2);
    let report = verify(dir.path()).unwrap();
    assert!(report.is_torn_tail() && report.is_acknowledged_loss(), "{report}");
    let text = report.to_string();
    assert!(text.contains("ACKNOWLEDGED: the acknowledged high-water mark is sequence 20"), "{text}");
    assert!(!text.contains("never acknowledged"), "{text}");
    let err = Journal::open(dir.path(), small_segments()).err().expect("open must refuse");
    assert!(matches!(err, JournalError::AcknowledgedLoss { gap, .. } if (gap.first, gap.last) == (18, 20)), "{err}");
    assert!(err.to_string().contains("not a crash leftover"), "{err}");
    // Nothing was cut by the refused open.
    assert_eq!(std::fs::metadata(&file).unwrap().len(), offset + bytes / 2);
}

#[test]
fn accepting_the_loss_opens_lowers_the_mark_and_goes_on() {
    let dir = journal_of(12);
    let (file, offset, _) = span_of(dir.path(), 9);
    truncate(&file, offset);
    let options = JournalOptions { accept_acknowledged_loss: true, ..small_segments() };
    let (journal, report) = Journal::open(dir.path(), options).unwrap();
    let gap = report.acknowledged_loss_accepted.expect("the accepted gap is reported");
    assert_eq!((gap.first, gap.last), (9, 12));
    assert_eq!(report.acknowledged_through, Some(12));
    assert!(report.to_string().contains("LOSS ACCEPTED"), "{report}");
    assert_eq!(journal.last_sequence(), 8);
    assert_eq!(journal.append(draft(999)).unwrap().sequence, 9);
    journal.close().unwrap();
    // The mark now follows the log: a plain open and verify are clean.
    let v = verify(dir.path()).unwrap();
    assert!(v.is_ok(), "{v}");
    assert_eq!(v.acknowledged_through, Some(9));
    let (journal, report) = open(dir.path());
    assert!(report.acknowledged_loss_accepted.is_none());
    assert_eq!(read_all(&journal).len(), 9);
}

#[test]
fn a_torn_write_above_the_mark_is_cut_as_never_acknowledged() {
    let dir = journal_of(10);
    let mark = dir.path().join("journal").join(WATERMARK_FILE);
    let mark_at_10 = std::fs::read(&mark).unwrap();
    // Another write reaches the segment, then the "crash": its mark never lands.
    let (journal, _) = open(dir.path());
    journal.append_batch((0..4).map(|n| draft(500 + n * 5 + 1)).collect()).unwrap();
    journal.close().unwrap();
    std::fs::write(&mark, &mark_at_10).unwrap();
    let (file, offset, _) = span_of(dir.path(), 13);
    truncate(&file, offset + 5);
    let report = verify(dir.path()).unwrap();
    assert!(report.is_torn_tail() && !report.is_acknowledged_loss(), "{report}");
    assert!(report.to_string().contains("never acknowledged: the acknowledged high-water mark is sequence 10"), "{report}");
    let (journal, recovery) = open(dir.path());
    let cut = recovery.truncated.expect("the torn write is cut");
    assert_eq!(cut.first_sequence_cut, 11);
    assert!(cut.acknowledged.starts_with("never acknowledged"), "{}", cut.acknowledged);
    assert_eq!(journal.last_sequence(), 10);
}

#[test]
fn every_acknowledged_append_is_at_or_below_the_mark() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    for n in 0..25 {
        let e = journal.append(draft(n * 5 + 1)).unwrap();
        // Read while the journal is open: the mark is durable before the answer.
        let v = verify(dir.path()).unwrap();
        assert!(v.acknowledged_through.unwrap() >= e.sequence, "appended {} but mark {:?}", e.sequence, v.acknowledged_through);
    }
    journal.close().unwrap();
}
