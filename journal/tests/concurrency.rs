//! Many writers at once: dense sequences, every ack durable, the chain intact.

mod common;

use common::{draft, open, read_all};
use std::collections::HashMap;
use tradpal_journal::verify;
use tradpal_messages::Envelope;

/// Writers, and appends each (awaiting every ack before the next).
const WRITERS: u64 = 64;
const APPENDS_PER_WRITER: u64 = 200;

#[test]
fn sixty_four_writers_dense_durable_chained() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let acks: Vec<Vec<Envelope>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let journal = journal.clone();
                s.spawn(move || {
                    // Keys here would make some appends answer earlier records; keep them out.
                    (0..APPENDS_PER_WRITER)
                        .map(|i| {
                            let mut d = draft(w * 1000 + i);
                            d.idempotency_key = None;
                            let e = journal.append(d).unwrap();
                            assert!(e.sequence <= journal.last_sequence(), "acked means visible");
                            e
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total = WRITERS * APPENDS_PER_WRITER;
    assert_eq!(journal.last_sequence(), total);
    for per_writer in &acks {
        assert!(per_writer.windows(2).all(|w| w[0].sequence < w[1].sequence), "one writer's appends are ordered");
    }
    journal.close().unwrap();

    let (journal, report) = open(dir.path());
    assert_eq!(report.records, total);
    let log = read_all(&journal);
    assert_eq!(log.iter().map(|e| e.sequence).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
    let by_seq: HashMap<u64, &Envelope> = log.iter().map(|e| (e.sequence, e)).collect();
    for ack in acks.iter().flatten() {
        assert_eq!(by_seq[&ack.sequence], ack, "every acknowledged record is in the log as acknowledged");
    }
    drop(journal);
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, total);
}

/// Keys shared by the writers of the idempotency test, and the writers.
const SHARED_KEYS: u64 = 300;
const KEYED_WRITERS: u64 = 16;

/// Writers racing on the same idempotency keys: while one group's acknowledgement is in
/// flight (its keys not yet indexed) the next group is already being staged, and a
/// duplicate there must still get the first record, never a second one.
#[test]
fn writers_racing_on_keys_get_one_record_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = open(dir.path());
    let acks: Vec<Vec<(u64, Envelope)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..KEYED_WRITERS)
            .map(|w| {
                let journal = journal.clone();
                s.spawn(move || {
                    (0..SHARED_KEYS)
                        .map(|i| {
                            let key = (i + w * 7) % SHARED_KEYS; // writers walk the keys out of step
                            let d = draft(w * 1000 + i).with_idempotency_key(format!("shared{key}"));
                            (key, journal.append(d).unwrap())
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(journal.last_sequence(), SHARED_KEYS, "one record per key");
    let mut first: HashMap<u64, &Envelope> = HashMap::new();
    for (key, envelope) in acks.iter().flatten() {
        assert_eq!(envelope.idempotency_key.as_deref(), Some(format!("shared{key}").as_str()));
        assert_eq!(*first.entry(*key).or_insert(envelope), envelope, "every caller of key {key} gets the same record");
    }
    let log = read_all(&journal);
    assert_eq!(log.len() as u64, SHARED_KEYS);
    for e in &log {
        let key: u64 = e.idempotency_key.as_deref().unwrap().trim_start_matches("shared").parse().unwrap();
        assert_eq!(first[&key], e, "the journaled record is the one every caller got");
    }
}
