//! Range and single-record reads through the batched cursor (`read.rs`): records of every
//! size (across buffer refills, blake3's one-chunk limit and segment rolls) read back
//! exactly from any start; a record damaged under a running journal is reported at its
//! sequence after every record before it (a bad crc, or a broken chain link with a valid
//! crc), and nothing after it is returned. Both on the
//! caller's thread and, for ranges of 8,192 records and more, read ahead on a thread.

mod common;

use common::{record_spans, segment_files};
use std::os::unix::fs::FileExt;
use tradpal_journal::{Journal, JournalError, JournalOptions, HEADER_BYTES};
use tradpal_messages::{ActorRestarted, CorrelationId, Envelope, EnvelopeDraft, Event, EventId, Timestamp};

/// Reason lengths cycled through: empty, around blake3's 1 KiB chunk (one-chunk and
/// multi-chunk hashes), past the cursor's smallest buffer (16 KiB) ...
const REASON_BYTES: [usize; 7] = [0, 10, 900, 1_100, 3_000, 20_000, 200];
/// ... and, every `LARGE_EVERY_RECORDS`, near the 1 MiB largest buffer.
const REASON_BYTES_LARGE: usize = 900_000;
const LARGE_EVERY_RECORDS: u64 = 97;

fn reason_bytes(n: u64) -> usize {
    if n % LARGE_EVERY_RECORDS == 50 {
        REASON_BYTES_LARGE
    } else {
        REASON_BYTES[(n % 7) as usize] + (n % 5) as usize
    }
}

fn draft(n: u64, reason_bytes: usize) -> EnvelopeDraft {
    let event = Event::ActorRestarted(ActorRestarted {
        actor: "regime".into(),
        restart_count: n as u32,
        reason: "x".repeat(reason_bytes),
        restarted: true,
    });
    EnvelopeDraft::new(EventId(u128::from(n) + 1), Timestamp::from_millis(n as i64), CorrelationId(1), event)
}

#[test]
fn records_of_every_size_read_back_from_any_start() {
    let dir = tempfile::tempdir().unwrap();
    let options = JournalOptions { segment_bytes_max: 2 << 20, ..JournalOptions::default() };
    let (journal, _) = Journal::open(dir.path(), options).unwrap();
    let mut written: Vec<Envelope> = Vec::new();
    for chunk in 0..40u64 {
        let drafts = (0..15).map(|i| chunk * 15 + i).map(|n| draft(n, reason_bytes(n))).collect();
        written.extend(journal.append_batch(drafts).unwrap());
    }
    assert!(segment_files(dir.path()).len() > 3, "the records span several segments");
    let last = written.len() as u64;
    let all: Vec<Envelope> = journal.read_range(1, u64::MAX).collect::<Result<_, _>>().unwrap();
    assert_eq!(all, written);
    for from in [2, 63, 64, 65, 255, 256, 257, 258, 400, last - 1, last] {
        for to in [from, from + 1, from + 300, last] {
            let got: Vec<Envelope> = journal.read_range(from, to).collect::<Result<_, _>>().unwrap();
            assert_eq!(got, written[(from - 1) as usize..to.min(last) as usize], "read_range({from}, {to})");
        }
    }
    for seq in (1..=last).step_by(7) {
        assert_eq!(journal.get(seq).unwrap().as_ref(), Some(&written[(seq - 1) as usize]), "get({seq})");
    }
    assert_eq!(journal.get(last + 1).unwrap(), None);
}

#[test]
fn a_long_range_read_ahead_on_a_thread_reads_back_exactly() {
    // Past the read-ahead threshold (8,192 records), across segment rolls and batch
    // hand-overs (about 1 KiB a record: some batches close on their byte limit), from
    // several starts; an iterator dropped early ends its thread.
    const RECORDS: u64 = 12_000;
    let dir = tempfile::tempdir().unwrap();
    let options = JournalOptions { segment_bytes_max: 2 << 20, ..JournalOptions::default() };
    let (journal, _) = Journal::open(dir.path(), options).unwrap();
    let mut written: Vec<Envelope> = Vec::new();
    for chunk in 0..RECORDS / 500 {
        let drafts = (0..500).map(|i| chunk * 500 + i).map(|n| draft(n, [0, 10, 900, 1_100, 3_000, 2_000, 50][(n % 7) as usize])).collect();
        written.extend(journal.append_batch(drafts).unwrap());
    }
    assert!(segment_files(dir.path()).len() > 2, "the records span several segments");
    let all: Vec<Envelope> = journal.read_range(1, u64::MAX).collect::<Result<_, _>>().unwrap();
    assert_eq!(all, written);
    for from in [2, 257, 3_001] {
        for to in [from + 8_191, RECORDS] {
            let got: Vec<Envelope> = journal.read_range(from, to).collect::<Result<_, _>>().unwrap();
            assert_eq!(got, written[(from - 1) as usize..to as usize], "read_range({from}, {to})");
        }
    }
    let first: Vec<u64> = journal.read_range(1, u64::MAX).take(10).map(|r| r.unwrap().sequence).collect();
    assert_eq!(first, (1..=10).collect::<Vec<_>>());
    assert_eq!(journal.read_range(1, u64::MAX).count() as u64, RECORDS, "a second full read after an early drop");
    journal.close().unwrap();
}

#[test]
fn a_record_damaged_under_a_running_journal_is_reported_at_its_sequence() {
    damaged_record_is_reported(700, &[(300, Damage::Crc)], 300, "crc"); // past the first batch of 256 records
    damaged_record_is_reported(700, &[(300, Damage::Chain)], 300, "chain break");
}

#[test]
fn a_record_damaged_in_a_range_read_ahead_is_reported_at_its_sequence() {
    // A range long enough to be read ahead, in batches of 1,024 records, hashed by the
    // thread or the caller as their timing goes (the unit tests of `read_ahead.rs` force
    // each side); the caller checks every link.
    damaged_record_is_reported(12_000, &[(9_000, Damage::Crc)], 9_000, "crc");
    // Batch 8, batch 9, the link to genesis.
    damaged_record_is_reported(12_000, &[(9_000, Damage::Chain)], 9_000, "chain break");
    damaged_record_is_reported(12_000, &[(10_000, Damage::Chain)], 10_000, "chain break");
    damaged_record_is_reported(12_000, &[(1, Damage::Chain)], 1, "chain break");
    // Two damaged records in one batch: the first is reported, whichever check finds it.
    damaged_record_is_reported(12_000, &[(9_000, Damage::Chain), (9_100, Damage::Crc)], 9_000, "chain break");
    damaged_record_is_reported(12_000, &[(9_000, Damage::Crc), (9_100, Damage::Chain)], 9_000, "crc");
}

#[derive(Clone, Copy)]
enum Damage {
    /// A payload bit flipped: the crc tells.
    Crc,
    /// The stored `prev_hash` changed and the crc recomputed: only the chain tells.
    Chain,
}

fn damage(file: &std::fs::File, offset: u64, bytes: u64, how: Damage) {
    let mut record = vec![0u8; bytes as usize];
    file.read_exact_at(&mut record, offset).unwrap();
    match how {
        Damage::Crc => record[HEADER_BYTES + 10] ^= 0x04,
        Damage::Chain => {
            record[40] ^= 0xFF; // in prev_hash
            let crc = crc32c::crc32c_append(
                crc32c::crc32c_append(crc32c::crc32c(&record[0..4]), &record[8..HEADER_BYTES]),
                &record[HEADER_BYTES..],
            );
            record[4..8].copy_from_slice(&crc.to_le_bytes());
        }
    }
    file.write_all_at(&record, offset).unwrap();
}

fn damaged_record_is_reported(records: u64, damages: &[(u64, Damage)], first: u64, why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(dir.path(), JournalOptions::default()).unwrap();
    for chunk in 0..records / 100 {
        journal.append_batch((0..100).map(|i| draft(chunk * 100 + i, 50)).collect()).unwrap();
    }
    let segment = segment_files(dir.path()).pop().unwrap();
    let spans = record_spans(&segment);
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&segment).unwrap();
    for &(seq, how) in damages {
        let (_, offset, bytes, _) = spans.iter().find(|s| s.0 == seq).copied().unwrap();
        damage(&file, offset, bytes, how);
    }
    let offset = spans.iter().find(|s| s.0 == first).unwrap().1;

    let mut records = journal.read_range(1, records);
    for seq in 1..first {
        assert_eq!(records.next().unwrap().unwrap().sequence, seq);
    }
    match records.next() {
        Some(Err(JournalError::Corrupt { sequence, offset: o, reason, .. })) => {
            assert_eq!((sequence, o), (first, offset), "{reason}");
            assert!(reason.contains(why), "{why}: {reason}");
        }
        other => panic!("expected corruption at {first}, got {other:?}"),
    }
    assert!(records.next().is_none(), "nothing after damage is returned");
    if matches!(damages[0].1, Damage::Crc) {
        let damaged = first;
        assert!(journal.get(damaged).is_err());
        assert_eq!(journal.get(damaged - 1).unwrap().unwrap().sequence, damaged - 1);
        assert_eq!(journal.get(damaged + 80).unwrap().unwrap().sequence, damaged + 80, "indexed reads start past the damage");
    }
}
