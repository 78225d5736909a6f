//! Kill a process mid-append (SIGKILL, random moment), reopen, check every ack survived.
//!
//! The child (`src/bin/append_child.rs`) prints each record only after `append` returned,
//! so a printed line is an acknowledged record. Reproduce a failure with
//! `JOURNAL_CRASH_SEED=<seed printed below> cargo test -p tradpal-journal --test crash`.

// Test code: fresh seeds (printed, reproducible by env var) and real-time waits.
#![allow(clippy::disallowed_methods)]

mod common;

use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tradpal_journal::{verify, Journal, JournalOptions};

/// Kill/reopen rounds on the same directory.
const ROUNDS: usize = 30;
/// Segment size for the child: small, so kills also land around segment rolls.
const CHILD_SEGMENT_BYTES_MAX: u64 = 32 << 10;
const KILL_DELAY_MS_MIN: u64 = 5;
const KILL_DELAY_MS_MAX: u64 = 150;

struct Ack {
    event_id: u128,
    key: Option<String>,
}

/// Runs the child until a random delay has passed, then SIGKILLs it. Returns its acks.
fn run_and_kill(dir: &std::path::Path, delay: Duration) -> HashMap<u64, Ack> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_journal-append-child"))
        .arg(dir)
        .arg(CHILD_SEGMENT_BYTES_MAX.to_string())
        .arg("4")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acks = HashMap::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("child stdout");
            assert!(!line.starts_with("ERR"), "child reported: {line}");
            let mut parts = line.split(' ');
            let seq: u64 = parts.next().unwrap().parse().unwrap();
            let event_id = u128::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let key = parts.next().filter(|k| *k != "-").map(str::to_owned);
            acks.insert(seq, Ack { event_id, key });
        }
        acks
    });
    std::thread::sleep(delay);
    // SAFETY: plain syscall on the pid of a child we spawned and have not reaped yet.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill failed");
    child.wait().expect("reap child");
    reader.join().expect("stdout reader")
}

/// Every other round also simulates a power loss: bytes after the last acknowledged
/// record may vanish (a kill alone rarely tears a write: `write` to the page cache is
/// nearly atomic), so the last segment is cut at a random offset past that record.
fn lose_unsynced_tail(dir: &std::path::Path, acks: &HashMap<u64, Ack>, rng: &mut impl Rng) {
    let Some(last) = common::segment_files(dir).pop() else { return };
    let len = std::fs::metadata(&last).unwrap().len();
    // Everything at or below the acknowledged high-water mark had been fsynced (the mark
    // is stored after the fsync), even if the child died before printing its ack: a
    // power loss cannot take it, so the simulated loss starts above it.
    let mark = verify(dir).expect("verify").acknowledged_through.unwrap_or(0);
    let max_ack = acks.keys().copied().max().unwrap_or(0).max(mark);
    // An acknowledged write was fsynced, so it is kept whole: keep through the end of the
    // write holding the highest acknowledged record (its other records may be unprinted).
    let spans = common::record_spans(&last);
    let write_last = spans.iter().find(|s| s.0 == max_ack).map_or(0, |s| s.3);
    let keep = spans.iter().filter(|s| s.0 <= write_last.max(max_ack)).map(|s| s.1 + s.2).max().unwrap_or(0);
    if keep < len {
        let cut = rng.random_range(keep..len);
        std::fs::OpenOptions::new().write(true).open(&last).unwrap().set_len(cut).unwrap();
    }
}

#[test]
fn sigkill_mid_append_loses_no_acknowledged_record() {
    let seed: u64 = std::env::var("JOURNAL_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("crash test seed {seed} (set JOURNAL_CRASH_SEED={seed} to reproduce)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (mut total_acks, mut cuts) = (0usize, 0usize);
    for round in 0..ROUNDS {
        let delay = Duration::from_millis(rng.random_range(KILL_DELAY_MS_MIN..=KILL_DELAY_MS_MAX));
        let acks = run_and_kill(dir.path(), delay);
        total_acks += acks.len();
        if !dir.path().join("journal").exists() {
            // Killed before the child created the journal (a busy machine starts it
            // slower than the shortest delay): nothing written, nothing acknowledged.
            assert!(acks.is_empty(), "seed {seed} round {round}: acknowledged without a journal: {}", acks.len());
            continue;
        }
        if round % 2 == 1 {
            lose_unsynced_tail(dir.path(), &acks, &mut rng);
        }
        let pre = verify(dir.path()).expect("verify before reopen");
        assert!(!pre.is_corrupt(), "seed {seed} round {round}: a crash must never look like corruption: {pre}");

        let (journal, report) = Journal::open(dir.path(), JournalOptions::default())
            .unwrap_or_else(|e| panic!("seed {seed} round {round}: reopen failed: {e}"));
        cuts += usize::from(report.truncated.is_some());
        for (seq, ack) in &acks {
            let got = journal.get(*seq).unwrap().unwrap_or_else(|| panic!("seed {seed} round {round}: acked {seq} lost"));
            assert_eq!(got.event_id.0, ack.event_id, "seed {seed} round {round}: record {seq} differs");
            if let Some(key) = &ack.key {
                assert_eq!(journal.find_by_key(key).unwrap().map(|e| e.sequence), Some(*seq), "key {key}");
            }
        }
        let all: Vec<_> = journal.read_range(1, u64::MAX).collect::<Result<_, _>>().expect("chain verifies");
        assert_eq!(all.len() as u64, journal.last_sequence());
        journal.close().unwrap();
        let post = verify(dir.path()).unwrap();
        assert!(post.is_ok(), "seed {seed} round {round}: after recovery: {post}");
    }
    println!("{ROUNDS} kills, {total_acks} acks checked, {cuts} torn tails cut, {:.1?}", started.elapsed());
    assert!(total_acks > 0, "the child never acknowledged anything");
}
