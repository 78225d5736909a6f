//! Helpers shared by the journal's integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use tradpal_journal::{Journal, JournalOptions, RecoveryReport};
use tradpal_messages::{
    ActorRestarted, CorrelationId, Envelope, EnvelopeDraft, Event, EventId, SessionConfig, SessionId, SessionStarted, SessionStopped,
    Timestamp, TradingMode,
};

/// Sessions the deterministic drafts spread over.
pub const SESSIONS: u128 = 4;

/// A deterministic draft: kinds rotate, sessions rotate over [`SESSIONS`], every fifth
/// draft carries the idempotency key `k{n}`.
pub fn draft(n: u64) -> EnvelopeDraft {
    let session = SessionId(1 + u128::from(n) % SESSIONS);
    let event = match n % 3 {
        0 => Event::SessionStarted(SessionStarted {
            session_id: session,
            config: SessionConfig {
                symbol: "ETH/USDT".into(),
                capital: 1000.0 + n as f64,
                strategy: "trend".into(),
                risk_per_trade: 0.01,
                mode: TradingMode::Paper,
            },
        }),
        1 => Event::SessionStopped(SessionStopped { session_id: session, reason: format!("requested {n}") }),
        _ => Event::ActorRestarted(ActorRestarted {
            actor: "regime".into(),
            restart_count: n as u32,
            reason: "r".repeat((n % 50) as usize),
            restarted: n.is_multiple_of(2),
        }),
    };
    let d =
        EnvelopeDraft::new(EventId(0xE000 + u128::from(n)), Timestamp::from_millis(1_700_000_000_000 + n as i64), CorrelationId(7), event);
    if n.is_multiple_of(5) {
        d.with_idempotency_key(format!("k{n}"))
    } else {
        d
    }
}

/// Small segments, so a few hundred records span several files.
pub fn small_segments() -> JournalOptions {
    JournalOptions { segment_bytes_max: 8 << 10, ..JournalOptions::default() }
}

pub fn open(dir: &Path) -> (Journal, RecoveryReport) {
    Journal::open(dir, small_segments()).expect("open journal")
}

/// Every durable record, in order (panics on a read error).
pub fn read_all(journal: &Journal) -> Vec<Envelope> {
    journal.read_range(1, u64::MAX).collect::<Result<Vec<_>, _>>().expect("read_range")
}

/// Segment files of `<dir>/journal`, in log order.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("journal"))
        .expect("journal dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

/// Recursive copy (journal + index), for running many damage cases from one template.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read_dir") {
        let entry = entry.expect("entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
}

/// (sequence, offset, record bytes, last sequence of its write) of every well-formed
/// record at the start of a segment file, read straight from the bytes (header:
/// payload_len at 8..12, batch_records at 12..16, sequence at 16..24, batch_first at 24..32).
pub fn record_spans(path: &Path) -> Vec<(u64, u64, u64, u64)> {
    let bytes = std::fs::read(path).expect("read segment");
    let mut spans = Vec::new();
    let mut at = 0usize;
    while at + tradpal_journal::HEADER_BYTES <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize + tradpal_journal::HEADER_BYTES;
        if at + len > bytes.len() {
            break;
        }
        let seq = u64::from_le_bytes(bytes[at + 16..at + 24].try_into().unwrap());
        let batch_records = u64::from(u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap()));
        let batch_first = u64::from_le_bytes(bytes[at + 24..at + 32].try_into().unwrap());
        spans.push((seq, at as u64, len as u64, batch_first + batch_records - 1));
        at += len;
    }
    spans
}

/// Removes the acknowledged high-water mark: the state of a journal whose last write a
/// crash interrupted before the mark covered it (or of a journal from before marks).
pub fn forget_watermark(dir: &Path) {
    let path = dir.join("journal").join(tradpal_journal::WATERMARK_FILE);
    std::fs::remove_file(&path).expect("remove the watermark");
}
