//! Crash-test helper: `journal-append-child DIR [SEGMENT_BYTES_MAX] [THREADS]`.
//!
//! Opens the journal in DIR and appends forever from several threads (single appends,
//! some with idempotency keys, some retried with the same key, and small batches). After
//! each append *returns*, it prints one line per acknowledged record, flushed:
//! `SEQ EVENT_ID_HEX KEY_OR_DASH`. Anything wrong is printed as a line starting `ERR`.
//! The parent test kills it with SIGKILL at a random moment and checks that every
//! printed record survived.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tradpal_journal::{Journal, JournalError, JournalOptions};
use tradpal_messages::{
    ActorRestarted, CorrelationId, Envelope, EnvelopeDraft, Event, IdGenerator, SessionConfig, SessionStarted, SessionStopped, Timestamp,
    TradingMode,
};

fn draft(ids: &mut IdGenerator, n: u64, session: tradpal_messages::SessionId) -> EnvelopeDraft {
    let event = match n % 3 {
        0 => Event::SessionStarted(SessionStarted {
            session_id: session,
            config: SessionConfig {
                symbol: "BTC/USDT".into(),
                capital: 10_000.0,
                strategy: "sma".into(),
                risk_per_trade: 0.02,
                mode: TradingMode::Paper,
            },
        }),
        1 => Event::SessionStopped(SessionStopped { session_id: session, reason: format!("stop {n}") }),
        _ => Event::ActorRestarted(ActorRestarted {
            actor: "risk".into(),
            restart_count: n as u32,
            reason: "x".repeat((n % 200) as usize),
            restarted: true,
        }),
    };
    EnvelopeDraft::new(ids.event_id(), Timestamp::from_millis(n as i64), CorrelationId(u128::from(n)), event)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).expect("usage: journal-append-child DIR [SEGMENT_BYTES_MAX] [THREADS]"));
    let segment_bytes_max = args.get(2).map_or(64 << 10, |s| s.parse().expect("segment bytes"));
    let threads: u64 = args.get(3).map_or(4, |s| s.parse().expect("threads"));
    let options = JournalOptions { segment_bytes_max, ..JournalOptions::default() };
    let (journal, _report) = match Journal::open(&dir, options) {
        Ok(opened) => opened,
        Err(e) => {
            println!("ERR open: {e}");
            std::process::exit(2);
        }
    };
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let pid = u64::from(std::process::id());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let journal = journal.clone();
            let out = out.clone();
            std::thread::spawn(move || append_forever(&journal, &out, pid, t))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

fn print(out: &Mutex<std::io::Stdout>, envelopes: &[Envelope]) {
    let mut out = out.lock().expect("stdout lock");
    for e in envelopes {
        let key = e.idempotency_key.as_deref().unwrap_or("-");
        let _ = writeln!(out, "{} {:032x} {key}", e.sequence, e.event_id.0);
    }
    let _ = out.flush();
}

fn append_forever(journal: &Journal, out: &Mutex<std::io::Stdout>, pid: u64, thread: u64) {
    let mut ids = IdGenerator::from_seed(pid << 8 | thread);
    let session = ids.session_id();
    for n in 0u64.. {
        let result = match n % 7 {
            // A batch: all-or-nothing, even across the kill. Thread 0's are big (a write of
            // tens of KiB), so that some kills land inside the write itself.
            6 => {
                let size = if thread == 0 { 300 } else { 3 };
                journal.append_batch((0..size).map(|i| draft(&mut ids, n * 1000 + i, session)).collect())
            }
            // A keyed append, then the same key again: must return the same record.
            3 => {
                let key = format!("p{pid}-t{thread}-{n}");
                let first = journal.append(draft(&mut ids, n, session).with_idempotency_key(key.clone()));
                let again = journal.append(draft(&mut ids, n + 1, session).with_idempotency_key(key));
                match (first, again) {
                    (Ok(first), Ok(again)) if again == first => Ok(vec![first]),
                    (Ok(first), Ok(again)) => {
                        Err(JournalError::Invalid(format!("idempotency broken: {} then {}", first.sequence, again.sequence)))
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
            _ => journal.append(draft(&mut ids, n, session)).map(|e| vec![e]),
        };
        match result {
            Ok(envelopes) => print(out, &envelopes),
            Err(e) => {
                let mut out = out.lock().expect("stdout lock");
                let _ = writeln!(out, "ERR append: {e}");
                let _ = out.flush();
                return;
            }
        }
    }
}
