//! Append, reopen, read back: ranges, sessions, keys, idempotency, refusals, index rebuilds.

mod common;

use common::{copy_dir, draft, open, read_all, segment_files, small_segments};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::collections::HashMap;
use tradpal_journal::{verify, Journal, JournalError, JournalOptions};
use tradpal_messages::testing;
use tradpal_messages::{Envelope, EnvelopeDraft, Event, SessionId};

/// Appends `drafts` (some as batches), returning what a correct journal must answer,
/// given idempotency keys: the first record per key wins.
fn append_all(journal: &Journal, drafts: Vec<EnvelopeDraft>, batch_every: usize) -> Vec<Envelope> {
    let mut answers = Vec::new();
    let mut chunk = Vec::new();
    for (i, d) in drafts.into_iter().enumerate() {
        chunk.push(d);
        if batch_every == 0 || i % batch_every == 0 {
            let mut got = if chunk.len() == 1 {
                vec![journal.append(chunk.pop().unwrap()).unwrap()]
            } else {
                journal.append_batch(std::mem::take(&mut chunk)).unwrap()
            };
            answers.append(&mut got);
        }
    }
    answers.extend(journal.append_batch(chunk).unwrap());
    answers
}

/// What the log must hold: the answers with duplicates (by key) removed, and a check that
/// every duplicate was answered with the first record.
fn expected_log(answers: &[Envelope]) -> Vec<Envelope> {
    let mut by_key: HashMap<&str, &Envelope> = HashMap::new();
    let mut log: Vec<Envelope> = Vec::new();
    for a in answers {
        if let Some(key) = a.idempotency_key.as_deref() {
            if let Some(first) = by_key.get(key) {
                assert_eq!(*first, a, "duplicate key {key} must answer the first record");
                continue;
            }
            by_key.insert(key, a);
        }
        log.push(a.clone());
    }
    log
}

/// Cases of the round-trip property: `PROPTEST_CASES / 8` (at least 8), because every
/// case is a real journal on disk (open, fsyncs, close, reopen: tens of milliseconds).
fn round_trip_cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse::<u32>().ok()).map_or(12, |n| (n / 8).max(8))
}

/// Random drafts in, the same records out after a reopen: ranges, sessions, keys.
#[test]
fn random_drafts_round_trip() {
    let mut runner = TestRunner::new(ProptestConfig { cases: round_trip_cases(), ..ProptestConfig::default() });
    let strategy = (proptest::collection::vec(testing::draft(), 1..120), 0usize..6);
    let outcome = runner.run(&strategy, |(drafts, batch_every)| check_round_trip(drafts, batch_every));
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

fn check_round_trip(drafts: Vec<EnvelopeDraft>, batch_every: usize) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let answers = append_all(&journal, drafts.clone(), batch_every);
    prop_assert_eq!(answers.len(), drafts.len());
    for (a, d) in answers.iter().zip(&drafts) {
        if d.idempotency_key.is_none() {
            prop_assert_eq!(&a.clone().into_draft(), d);
        }
    }
    let log = expected_log(&answers);
    journal.close().unwrap();

    let (journal, report) = open(dir.path());
    prop_assert_eq!(report.records, log.len() as u64);
    prop_assert!(report.truncated.is_none());
    let back = read_all(&journal);
    prop_assert_eq!(&back, &log);
    let seqs: Vec<u64> = back.iter().map(|e| e.sequence).collect();
    prop_assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>());

    let mut sessions: Vec<SessionId> = log.iter().filter_map(|e| e.session_id).collect();
    sessions.sort();
    sessions.dedup();
    for s in sessions {
        let got: Vec<Envelope> = journal.read_session(s).collect::<Result<_, _>>().unwrap();
        let want: Vec<Envelope> = log.iter().filter(|e| e.session_id == Some(s)).cloned().collect();
        prop_assert_eq!(got, want);
    }
    for e in &log {
        if let Some(key) = &e.idempotency_key {
            prop_assert_eq!(journal.find_by_key(key).unwrap(), Some(e.clone()));
        }
    }
    let mid = log.len() as u64 / 2 + 1;
    prop_assert_eq!(journal.get(mid).unwrap(), log.get(mid as usize - 1).cloned());
    prop_assert_eq!(journal.get(log.len() as u64 + 1).unwrap(), None);
    drop(journal);
    prop_assert!(verify(dir.path()).unwrap().is_ok());
    Ok(())
}

#[test]
fn read_range_in_the_middle_and_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let written: Vec<Envelope> = (0..400).map(|n| journal.append(draft(n)).unwrap()).collect();
    assert!(segment_files(dir.path()).len() > 3, "small segments roll");
    for (from, to) in [(1, 1), (63, 66), (64, 65), (100, 300), (399, 400), (390, 10_000)] {
        let got: Vec<Envelope> = journal.read_range(from, to).collect::<Result<_, _>>().unwrap();
        let want: Vec<Envelope> = written.iter().filter(|e| e.sequence >= from && e.sequence <= to).cloned().collect();
        assert_eq!(got, want, "range {from}..={to}");
    }
    assert_eq!(journal.read_range(401, 500).count(), 0);
    assert_eq!(journal.read_range(5, 4).count(), 0);
    for file in segment_files(dir.path()) {
        let first: u64 = file.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        assert_eq!(journal.get(first).unwrap().unwrap().sequence, first, "segment named by its first sequence");
    }
}

#[test]
fn same_key_twice_is_one_record_across_reopen_and_within_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let first = journal.append(draft(1).with_idempotency_key("order-1")).unwrap();
    let again = journal.append(draft(2).with_idempotency_key("order-1")).unwrap();
    assert_eq!(again, first, "a retried key answers the existing record");
    let batch = journal
        .append_batch(vec![
            draft(3).with_idempotency_key("order-2"),
            draft(4),
            draft(6).with_idempotency_key("order-2"),
            draft(7).with_idempotency_key("order-1"),
        ])
        .unwrap();
    assert_eq!(batch[0], batch[2], "same key twice in one batch: one record");
    assert_eq!(batch[3], first);
    assert_eq!(journal.last_sequence(), 3);
    journal.close().unwrap();

    let (journal, _) = open(dir.path());
    assert_eq!(journal.append(draft(8).with_idempotency_key("order-1")).unwrap(), first);
    assert_eq!(journal.append(draft(9).with_idempotency_key("order-2")).unwrap(), batch[0]);
    assert_eq!(journal.last_sequence(), 3);
    assert_eq!(journal.find_by_key("order-2").unwrap().unwrap().sequence, 2);
    assert_eq!(journal.find_by_key("nope").unwrap(), None);
}

#[test]
fn same_key_from_concurrent_async_callers_is_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let answers: Vec<Envelope> = rt.block_on(async {
        let tasks: Vec<_> =
            (0..50).map(|n| tokio::spawn(journal.append_async(draft(n * 5 + 1).with_idempotency_key(format!("dup-{}", n % 5))))).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    });
    assert_eq!(journal.last_sequence(), 5);
    for a in &answers {
        let key = a.idempotency_key.as_deref().unwrap();
        assert_eq!(journal.find_by_key(key).unwrap().as_ref(), Some(a));
    }
}

#[test]
fn async_appends_are_dense_and_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut seqs: Vec<u64> = rt.block_on(async {
        let futures: Vec<_> = (0..200).map(|n| tokio::spawn(journal.append_async(draft(n * 5 + 1)))).collect();
        let mut out = Vec::new();
        for f in futures {
            out.push(f.await.unwrap().unwrap().sequence);
        }
        let batch = journal.append_batch_async((0..10).map(|n| draft(n * 5 + 2)).collect()).await.unwrap();
        out.extend(batch.iter().map(|e| e.sequence));
        out
    });
    seqs.sort();
    assert_eq!(seqs, (1..=210).collect::<Vec<_>>());
}

#[test]
fn invalid_and_oversized_drafts_are_refused_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let options = JournalOptions { record_bytes_max: 1024, ..small_segments() };
    let (journal, _) = Journal::open(dir.path(), options).unwrap();
    let mut bad = draft(0);
    if let Event::SessionStarted(s) = &mut bad.event {
        s.config.capital = f64::NAN;
    }
    let err = journal.append(bad.clone()).unwrap_err();
    assert!(matches!(err, JournalError::Invalid(_)) && !err.is_fatal(), "{err}");
    let mut big = draft(2);
    if let Event::ActorRestarted(a) = &mut big.event {
        a.reason = "x".repeat(2000);
    }
    let err = journal.append(big).unwrap_err();
    assert!(matches!(err, JournalError::TooLarge { .. }) && !err.is_fatal(), "{err}");
    let err = journal.append_batch(vec![draft(1), bad, draft(3)]).unwrap_err();
    assert!(err.to_string().contains("batch draft 1"), "{err}");
    assert_eq!(journal.last_sequence(), 0, "nothing written for refused drafts");
    assert_eq!(journal.append(draft(4)).unwrap().sequence, 1, "the journal goes on");
    let too_many = (0..2000).map(draft).collect();
    assert!(matches!(journal.append_batch(too_many), Err(JournalError::Invalid(_))));
}

#[test]
fn deleted_index_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let written: Vec<Envelope> = (0..300).map(|n| journal.append(draft(n)).unwrap()).collect();
    journal.close().unwrap();
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();

    let (journal, report) = open(dir.path());
    assert_eq!(report.reindexed_records, 300, "{report}");
    assert_eq!(journal.find_by_key("k10").unwrap().as_ref(), Some(&written[10]));
    let session = written[0].session_id.unwrap();
    let got: Vec<Envelope> = journal.read_session(session).collect::<Result<_, _>>().unwrap();
    let want: Vec<Envelope> = written.iter().filter(|e| e.session_id == Some(session)).cloned().collect();
    assert_eq!(got, want);
    assert_eq!(journal.get(200).unwrap().as_ref(), Some(&written[199]));
    assert_eq!(journal.append(draft(7).with_idempotency_key("k10")).unwrap(), written[10], "keys survive the rebuild");
}

#[test]
fn index_ahead_of_the_log_is_dropped_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let written: Vec<Envelope> = (0..50).map(|n| journal.append(draft(n)).unwrap()).collect();
    journal.close().unwrap();
    let saved = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join("journal"), saved.path());
    let (journal, _) = open(dir.path());
    for n in 50..100 {
        journal.append(draft(n)).unwrap();
    }
    journal.close().unwrap();
    // Put back the older, shorter log; the index still claims sequences 51..=100.
    std::fs::remove_dir_all(dir.path().join("journal")).unwrap();
    copy_dir(saved.path(), &dir.path().join("journal"));

    let (journal, report) = open(dir.path());
    assert!(report.index_rebuilt, "{report}");
    assert_eq!(journal.last_sequence(), 50);
    assert_eq!(journal.find_by_key("k55").unwrap(), None, "no key of a record the log lacks");
    assert_eq!(journal.find_by_key("k45").unwrap().as_ref(), Some(&written[45]));
    assert_eq!(journal.append(draft(55)).unwrap().sequence, 51);
}

#[test]
fn index_behind_the_log_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    for n in 0..20 {
        journal.append(draft(n)).unwrap();
    }
    journal.close().unwrap();
    let saved_index = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join("index"), saved_index.path());
    let (journal, _) = open(dir.path());
    let later: Vec<Envelope> = (20..60).map(|n| journal.append(draft(n)).unwrap()).collect();
    journal.close().unwrap();
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    copy_dir(saved_index.path(), &dir.path().join("index"));

    let (journal, report) = open(dir.path());
    assert!(!report.index_rebuilt);
    assert_eq!(report.reindexed_records, 40, "{report}");
    assert_eq!(journal.find_by_key("k50").unwrap().as_ref(), Some(&later[30]));
}

#[test]
fn clones_share_one_writer_and_close_releases_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..5u64 {
        let (journal, report) = open(dir.path());
        assert_eq!(report.last_sequence, round * 10);
        let other = journal.clone();
        std::thread::scope(|s| {
            s.spawn(|| (0..5).for_each(|n| drop(other.append(draft(round * 100 + n * 5 + 1)).unwrap())));
            s.spawn(|| (0..5).for_each(|n| drop(journal.append(draft(round * 100 + n * 5 + 2)).unwrap())));
        });
        if round % 2 == 0 {
            drop(other);
            journal.close().unwrap();
        } else {
            drop(journal);
            drop(other); // dropping the last clone releases everything too
        }
    }
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 50);
}

#[test]
fn appends_after_close_fail_with_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let other = journal.clone();
    journal.append(draft(1)).unwrap();
    journal.close().unwrap();
    let err = other.append(draft(2)).unwrap_err();
    assert!(matches!(err, JournalError::Closed), "{err}");
    assert_eq!(other.get(1).unwrap().unwrap().sequence, 1, "reads still work");
}

#[test]
fn index_of_another_history_is_detected_by_its_chain_hash() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (journal_a, _) = open(a.path());
    let written: Vec<Envelope> = (0..30).map(|n| journal_a.append(draft(n)).unwrap()).collect();
    journal_a.close().unwrap();
    let (journal_b, _) = open(b.path());
    for n in 0..30 {
        let mut d = draft(n + 1000);
        d.idempotency_key = Some(format!("k{n}")); // same keys, other records
        journal_b.append(d).unwrap();
    }
    journal_b.close().unwrap();
    std::fs::remove_dir_all(a.path().join("index")).unwrap();
    copy_dir(&b.path().join("index"), &a.path().join("index"));

    let (journal, report) = open(a.path());
    assert!(report.index_rebuilt, "same length, other chain: {report}");
    assert_eq!(journal.find_by_key("k10").unwrap().as_ref(), Some(&written[10]));
    assert_eq!(journal.find_by_key("k11").unwrap(), None);
}
