//! Damage on disk: truncations (torn tails, repaired) and bit flips, chain breaks, gaps
//! (corruption, refused). `verify` must report every one; open must never return a record
//! that differs from what was written. Seeds are printed; set `JOURNAL_DAMAGE_SEED` to
//! reproduce a failure.

// Test code: fresh seeds (printed, reproducible by env var) and real-time waits.
#![allow(clippy::disallowed_methods)]

mod common;

use common::{copy_dir, draft, forget_watermark, open, read_all, record_spans, segment_files};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use tradpal_journal::{verify, Journal, JournalError, ProblemKind, HEADER_BYTES};
use tradpal_messages::Envelope;

/// Records in each template journal ...
const TEMPLATE_RECORDS: u64 = 120;
/// ... and in the one-segment template (about 1.3 MB).
const LONG_TEMPLATE_RECORDS: u64 = 12_000;
const TRUNCATION_CASES: usize = 60;
const BIT_FLIP_CASES: usize = 120;

/// Where each record lives on disk.
#[derive(Clone, Debug)]
struct Span {
    seq: u64,
    file: PathBuf,
    offset: u64,
    bytes: u64,
}

struct Template {
    dir: tempfile::TempDir,
    records: Vec<Envelope>,
    /// Records per write: 1 (single appends) or the batch size.
    write_records: u64,
    spans: Vec<Span>,
}

impl Template {
    /// A closed journal of [`TEMPLATE_RECORDS`] records written `write_records` at a time,
    /// over several small segments.
    fn build(write_records: u64) -> Template {
        let t = Template::build_with(TEMPLATE_RECORDS, write_records, common::small_segments());
        assert!(segment_files(t.dir.path()).len() >= 3, "the template spans several segments");
        t
    }

    /// [`LONG_TEMPLATE_RECORDS`] records in one segment of more than a megabyte: open and
    /// verify hash such a segment ahead on a thread (`scan.rs`).
    fn build_long() -> Template {
        let t = Template::build_with(LONG_TEMPLATE_RECORDS, 100, tradpal_journal::JournalOptions::default());
        let files = segment_files(t.dir.path());
        assert_eq!(files.len(), 1);
        assert!(std::fs::metadata(&files[0]).unwrap().len() > 1 << 20, "past the scan's threshold for hashing on a thread");
        t
    }

    fn build_with(records_total: u64, write_records: u64, options: tradpal_journal::JournalOptions) -> Template {
        let dir = tempfile::tempdir().unwrap();
        let (journal, _) = Journal::open(dir.path(), options).unwrap();
        let mut records = Vec::new();
        for first in (0..records_total).step_by(write_records as usize) {
            let drafts: Vec<_> = (first..first + write_records).map(|n| draft(n * 5 + 1)).collect();
            records.extend(journal.append_batch(drafts).unwrap());
        }
        journal.close().unwrap();
        let spans = segment_files(dir.path())
            .into_iter()
            .flat_map(|file| {
                record_spans(&file).into_iter().map(move |(seq, offset, bytes, _)| Span { seq, file: file.clone(), offset, bytes })
            })
            .collect::<Vec<_>>();
        assert_eq!(spans.len() as u64, records_total);
        Template { dir, records, write_records, spans }
    }

    /// A fresh copy to damage; returns the copy's dir and the path map from template to copy.
    /// The damage these tests make stands for a crash mid-write, which happens before the
    /// acknowledged high-water mark covers that write; the copy therefore has no mark
    /// (tests/watermark.rs covers damage below a mark).
    fn copy(&self) -> tempfile::TempDir {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(self.dir.path(), copy.path());
        forget_watermark(copy.path());
        copy
    }

    fn in_copy(&self, copy: &Path, file: &Path) -> PathBuf {
        copy.join("journal").join(file.file_name().unwrap())
    }

    /// The first sequence of the write holding `seq`.
    fn write_first(&self, seq: u64) -> u64 {
        (seq - 1) / self.write_records * self.write_records + 1
    }
}

fn seed(name: &str) -> u64 {
    let seed = std::env::var("JOURNAL_DAMAGE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("{name}: seed {seed} (set JOURNAL_DAMAGE_SEED={seed} to reproduce)");
    seed
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

/// Cuts the last segment at `cut` and checks verify before, open, and verify after.
fn check_truncation(t: &Template, cut: u64) {
    let copy = t.copy();
    let last_file = t.spans.last().unwrap().file.clone();
    truncate(&t.in_copy(copy.path(), &last_file), cut);
    let in_last: Vec<&Span> = t.spans.iter().filter(|s| s.file == last_file).collect();
    let whole_before_cut = in_last.iter().filter(|s| s.offset + s.bytes <= cut).map(|s| s.seq).max();
    let first_in_last = in_last[0].seq;
    // Records kept: every complete write before the cut.
    let complete_through = whole_before_cut.map_or(first_in_last - 1, |seq| seq);
    let kept = if complete_through % t.write_records == 0 { complete_through } else { t.write_first(complete_through) - 1 };
    let at_write_boundary = in_last.iter().any(|s| s.offset == cut && (s.seq - 1) % t.write_records == 0);

    let pre = verify(copy.path()).unwrap();
    if at_write_boundary || cut == 0 && first_in_last == 1 {
        assert!(pre.is_ok(), "cut {cut} at a write boundary is a shorter, valid log: {pre}");
    } else {
        assert!(pre.is_torn_tail(), "cut {cut}: verify must report a torn tail: {pre}");
        assert_eq!(pre.problem.as_ref().unwrap().sequence, kept + 1, "{pre}");
    }
    let (journal, report) = open(copy.path());
    assert_eq!(report.truncated.is_some(), !pre.is_ok(), "cut {cut}: {report}");
    assert_eq!(journal.last_sequence(), kept, "cut {cut}: {report}");
    assert_eq!(read_all(&journal), t.records[..kept as usize], "cut {cut}: records before the cut are intact");
    for e in &t.records {
        if let Some(key) = &e.idempotency_key {
            assert_eq!(journal.find_by_key(key).unwrap().is_some(), e.sequence <= kept, "key {key} after cut {cut}");
        }
    }
    assert_eq!(journal.append(draft(9_999)).unwrap().sequence, kept + 1, "the journal goes on after the cut");
    journal.close().unwrap();
    let post = verify(copy.path()).unwrap();
    assert!(post.is_ok(), "cut {cut}: after recovery: {post}");
}

#[test]
fn truncating_the_last_segment_anywhere_is_a_repairable_torn_tail() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed("truncation"));
    for write_records in [1, 5] {
        let t = Template::build(write_records);
        let last_file = t.spans.last().unwrap().file.clone();
        let len = std::fs::metadata(&last_file).unwrap().len();
        for case in 0..TRUNCATION_CASES {
            let cut = match case {
                0 => 0,
                1 => len - 1,
                2 => t.spans.last().unwrap().offset, // a record boundary
                _ => rng.random_range(0..len),
            };
            check_truncation(&t, cut);
        }
    }
}

/// Flips `bit` of `file` (in a copy) and checks the outcome against the rule.
fn check_bit_flip(t: &Template, file: &Path, byte: u64, bit: u8) {
    let copy = t.copy();
    let path = t.in_copy(copy.path(), file);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[byte as usize] ^= 1 << bit;
    std::fs::write(&path, &bytes).unwrap();
    let hit = t.spans.iter().find(|s| s.file == file && s.offset <= byte && byte < s.offset + s.bytes).unwrap();
    let last = t.spans.last().unwrap();
    let what = format!("flip of bit {bit} at {}:{byte} (record {})", file.display(), hit.seq);

    let report = verify(copy.path()).unwrap();
    let problem = report.problem.clone().unwrap_or_else(|| panic!("{what}: verify said OK:\n{report}"));
    match Journal::open(copy.path(), common::small_segments()) {
        Err(JournalError::Corrupt { file: f, offset, sequence, reason }) => {
            assert_eq!(problem.kind, ProblemKind::Corrupt, "{what}: verify and open agree");
            assert_eq!((f.as_path(), offset, sequence), (path.as_path(), hit.offset, hit.seq), "{what}: {reason}");
            assert_eq!((problem.offset, problem.sequence), (offset, sequence), "{what}");
        }
        Err(e) => panic!("{what}: unexpected error {e}"),
        Ok((journal, recovery)) => {
            assert_eq!(problem.kind, ProblemKind::TornTail, "{what}: {report}");
            assert_eq!(hit.seq, last.seq, "{what}: only damage to the final record may pass for a torn tail");
            let kept = t.write_first(last.seq) - 1;
            assert_eq!(recovery.truncated.as_ref().unwrap().first_sequence_cut, kept + 1, "{what}");
            assert_eq!(read_all(&journal), t.records[..kept as usize], "{what}: returned records are as written");
        }
    }
}

#[test]
fn a_flipped_bit_anywhere_is_detected_and_never_returned() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed("bit flips"));
    for write_records in [1, 5] {
        let t = Template::build(write_records);
        let files = segment_files(t.dir.path());
        for _ in 0..BIT_FLIP_CASES {
            let file = &files[rng.random_range(0..files.len())];
            let len = std::fs::metadata(file).unwrap().len();
            check_bit_flip(&t, file, rng.random_range(0..len), rng.random_range(0..8));
        }
        // Every bit of the final record's header, and of its predecessor's.
        let last = t.spans.last().unwrap().clone();
        let before = t.spans[t.spans.len() - 2].clone();
        for span in [before, last] {
            for byte in span.offset..span.offset + HEADER_BYTES as u64 {
                check_bit_flip(&t, &span.file, byte, (byte % 8) as u8);
            }
        }
    }
}

/// Sets a record's length field (in a copy) and returns the copy.
fn with_length(t: &Template, span: &Span, payload_len: u32) -> tempfile::TempDir {
    let copy = t.copy();
    let path = t.in_copy(copy.path(), &span.file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = span.offset as usize + 8;
    bytes[at..at + 4].copy_from_slice(&payload_len.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    copy
}

#[test]
fn a_damaged_length_field_mid_log_is_corruption_not_a_torn_tail() {
    let t = Template::build(1);
    let last_file = t.spans.last().unwrap().file.clone();
    let in_last: Vec<Span> = t.spans.iter().filter(|s| s.file == last_file).cloned().collect();
    let middle = &in_last[in_last.len() / 2];
    let payload = (middle.bytes - HEADER_BYTES as u64) as u32;
    // Shorter, longer (landing inside later records), and far past the end of the file.
    for bad_len in [payload - 1, payload + 1, payload + 200, payload | 1 << 20] {
        let copy = with_length(&t, middle, bad_len);
        let report = verify(copy.path()).unwrap();
        assert!(report.is_corrupt(), "length {bad_len}: {report}");
        let err = Journal::open(copy.path(), common::small_segments()).err().expect("open must refuse");
        assert!(
            matches!(&err, JournalError::Corrupt { sequence, offset, .. } if *sequence == middle.seq && *offset == middle.offset),
            "{err}"
        );
        assert!(err.is_fatal());
    }
    let last = t.spans.last().unwrap();
    let copy = with_length(&t, last, (last.bytes - HEADER_BYTES as u64) as u32 + 1);
    assert!(verify(copy.path()).unwrap().is_torn_tail(), "the final record's length: a torn write");
}

/// Rewrites a record's prev_hash and recomputes its crc, so only the chain can tell.
fn break_chain(t: &Template, span: &Span) -> tempfile::TempDir {
    let copy = t.copy();
    let path = t.in_copy(copy.path(), &span.file);
    let mut bytes = std::fs::read(&path).unwrap();
    let (start, end) = (span.offset as usize, (span.offset + span.bytes) as usize);
    bytes[start + 40] ^= 0xFF;
    let rec = &bytes[start..end];
    let crc = crc32c::crc32c_append(crc32c::crc32c_append(crc32c::crc32c(&rec[0..4]), &rec[8..HEADER_BYTES]), &rec[HEADER_BYTES..]);
    bytes[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    copy
}

#[test]
fn a_chain_break_with_a_valid_crc_is_refused_even_at_the_tail() {
    let t = Template::build(1);
    for span in [t.spans[40].clone(), t.spans.last().unwrap().clone()] {
        let copy = break_chain(&t, &span);
        let report = verify(copy.path()).unwrap();
        assert!(report.is_corrupt(), "{report}");
        assert!(report.problem.as_ref().unwrap().reason.contains("chain break"), "{report}");
        match Journal::open(copy.path(), common::small_segments()) {
            Err(JournalError::Corrupt { sequence, reason, .. }) => {
                assert_eq!(sequence, span.seq);
                assert!(reason.contains("chain break"), "{reason}");
            }
            other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r)),
        }
    }
}

#[test]
fn a_missing_middle_segment_is_a_gap() {
    let t = Template::build(1);
    let copy = t.copy();
    let files = segment_files(copy.path());
    std::fs::remove_file(&files[1]).unwrap();
    let report = verify(copy.path()).unwrap();
    assert!(report.is_corrupt(), "{report}");
    let err = Journal::open(copy.path(), common::small_segments()).err().unwrap();
    assert!(matches!(&err, JournalError::Corrupt { offset: 0, .. }) && err.to_string().contains("named for sequence"), "{err}");
}

#[test]
fn zeros_after_the_tail_are_a_torn_tail() {
    let t = Template::build(1);
    let copy = t.copy();
    let last = t.in_copy(copy.path(), &t.spans.last().unwrap().file);
    let len = std::fs::metadata(&last).unwrap().len();
    truncate(&last, len + 4096); // what a power loss can leave: a longer file of zeros
    let report = verify(copy.path()).unwrap();
    assert!(report.is_torn_tail(), "{report}");
    assert_eq!(report.problem.as_ref().unwrap().bytes_cut, 4096);
    let (journal, recovery) = open(copy.path());
    assert_eq!(recovery.truncated.unwrap().offset, len);
    assert_eq!(read_all(&journal), t.records);
}

#[test]
fn garbage_followed_by_an_intact_record_is_corruption() {
    let t = Template::build(1);
    let copy = t.copy();
    let last = t.in_copy(copy.path(), &t.spans.last().unwrap().file);
    let old = &t.spans[2]; // an intact record of an earlier write
    let old_bytes =
        std::fs::read(t.in_copy(copy.path(), &old.file)).unwrap()[old.offset as usize..(old.offset + old.bytes) as usize].to_vec();
    let mut bytes = std::fs::read(&last).unwrap();
    let damage_at = bytes.len() as u64;
    bytes.extend_from_slice(&[0xAB; 100]);
    bytes.extend_from_slice(&old_bytes);
    std::fs::write(&last, &bytes).unwrap();
    let report = verify(copy.path()).unwrap();
    assert!(report.is_corrupt(), "{report}");
    assert_eq!(report.problem.as_ref().unwrap().offset, damage_at);
    assert!(Journal::open(copy.path(), common::small_segments()).is_err());
}

#[test]
fn a_torn_batch_is_cut_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let before: Vec<Envelope> = (0..7).map(|n| journal.append(draft(n * 5 + 1)).unwrap()).collect();
    let batch = journal.append_batch((0..10).map(|n| draft(100 + n * 5 + 1)).collect()).unwrap();
    assert_eq!(batch.first().unwrap().sequence, 8);
    journal.close().unwrap();
    let last = segment_files(dir.path()).pop().unwrap();
    let spans = record_spans(&last);
    let fifth = spans.iter().find(|s| s.0 == 12).unwrap();
    for cut in [fifth.1 + 10, fifth.1 + fifth.2] {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        forget_watermark(copy.path()); // a crash before the mark covered the batch
        truncate(&copy.path().join("journal").join(last.file_name().unwrap()), cut);
        assert!(verify(copy.path()).unwrap().is_torn_tail());
        let (journal, report) = open(copy.path());
        assert_eq!(report.truncated.unwrap().first_sequence_cut, 8, "cut {cut}");
        assert_eq!(read_all(&journal), before, "cut {cut}: all or nothing");
    }
}

#[test]
fn verify_is_read_only_and_reports_the_contents() {
    let t = Template::build(1);
    let copy = t.copy();
    let last = t.in_copy(copy.path(), &t.spans.last().unwrap().file);
    let len = std::fs::metadata(&last).unwrap().len();
    truncate(&last, len - 3);
    let snapshot = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    let before = snapshot(copy.path());
    let report = verify(copy.path()).unwrap();
    assert_eq!(snapshot(copy.path()), before, "verify changed nothing");
    assert!(report.is_torn_tail());
    let text = report.to_string();
    assert!(text.contains("TORN TAIL") && text.contains("open cuts"), "{text}");

    let (journal, _) = open(copy.path());
    let head = journal.head();
    drop(journal);
    let report = verify(copy.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert!(report.to_string().lines().next().unwrap().ends_with("OK"), "{report}");
    let kept = &t.records[..TEMPLATE_RECORDS as usize - 1];
    assert_eq!(report.records, kept.len() as u64);
    assert_eq!((report.first_sequence, report.last_sequence), (Some(1), Some(kept.len() as u64)));
    assert_eq!(report.first_timestamp, Some(kept[0].timestamp));
    assert_eq!(report.last_timestamp, Some(kept.last().unwrap().timestamp));
    assert_eq!(report.kinds.values().sum::<u64>(), kept.len() as u64);
    for (kind, n) in &report.kinds {
        assert_eq!(*n, kept.iter().filter(|e| e.kind == *kind).count() as u64);
    }
    assert_eq!(report.chain_hash, tradpal_journal::hex(&head.hash));
    assert!(matches!(verify(&copy.path().join("nope")), Err(tradpal_journal::VerifyError::NotFound { .. })));
}

#[test]
fn a_long_segment_hashed_ahead_on_a_thread_finds_the_same_damage() {
    // Open and verify hash a segment of a megabyte or more on a second thread, which stops
    // at bytes that do not parse; the scan takes a hash from it only for a record it has
    // checked itself. The same rules must hold as for short segments.
    let t = Template::build_long();
    let file = t.spans[0].file.clone();
    let intact = t.copy();
    let report = verify(intact.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, LONG_TEMPLATE_RECORDS);
    let (journal, _) = Journal::open(intact.path(), common::small_segments()).unwrap();
    assert_eq!(journal.last_sequence(), LONG_TEMPLATE_RECORDS);
    assert_eq!(report.chain_hash, tradpal_journal::hex(&journal.head().hash), "the scan's chain hash is the writer's");
    drop(journal);

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed("long segment"));
    let len = std::fs::metadata(&file).unwrap().len();
    for _ in 0..20 {
        check_bit_flip(&t, &file, rng.random_range(0..len), rng.random_range(0..8));
    }
    // A whole header of garbage mid-log (the thread stops there), and records around the
    // scan's batches of 256.
    for seq in [2, 256, 257, 6_000, 11_999] {
        let span = &t.spans[seq - 1];
        check_bit_flip(&t, &file, span.offset + 9, 3); // in the length field
        check_bit_flip(&t, &file, span.offset + HEADER_BYTES as u64 + 5, 0); // in the payload
    }
    for seq in [1, 257, 6_000, LONG_TEMPLATE_RECORDS as usize] {
        let copy = break_chain(&t, &t.spans[seq - 1]);
        match Journal::open(copy.path(), common::small_segments()) {
            Err(JournalError::Corrupt { sequence, reason, .. }) => {
                assert_eq!(sequence, seq as u64);
                assert!(reason.contains("chain break"), "{reason}");
            }
            other => panic!("expected a chain break at {seq}, got {:?}", other.map(|(_, r)| r)),
        }
    }
    for _ in 0..5 {
        check_truncation(&t, rng.random_range(len - 40_000..len));
    }
}
