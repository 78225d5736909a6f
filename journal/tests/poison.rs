//! An I/O error on write poisons the journal: that append and every later one fail
//! fatally (no fsync retry), nothing unacknowledged is reported durable, and a reopen
//! recovers every acknowledged record. The error comes from RLIMIT_FSIZE (EFBIG), so this
//! test lives alone in its own binary: the limit applies to the whole process.

mod common;

use common::{draft, read_all};
use tradpal_journal::{Journal, JournalError, JournalOptions};
use tradpal_messages::Envelope;

fn set_file_size_limit(bytes: libc::rlim_t) -> libc::rlimit {
    // SAFETY: plain syscalls on this process's own limits and signal disposition.
    unsafe {
        let mut old = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut old), 0);
        // Without this, exceeding the limit kills the process with SIGXFSZ instead of EFBIG.
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let new = libc::rlimit { rlim_cur: bytes.min(old.rlim_max), rlim_max: old.rlim_max };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &new), 0);
        old
    }
}

#[test]
fn a_failed_write_poisons_and_reopen_recovers_the_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(dir.path(), JournalOptions::default()).unwrap();
    // Grow the segment past the size of sled's files, so the limit hits the segment first.
    let mut acked: Vec<Envelope> = Vec::new();
    for chunk in 0..20u64 {
        acked.extend(journal.append_batch((0..500).map(|n| draft(chunk * 10_000 + n * 5 + 1)).collect()).unwrap());
    }
    let segment = common::segment_files(dir.path()).pop().unwrap();
    let size = std::fs::metadata(&segment).unwrap().len();
    let old = set_file_size_limit(size + 500);

    let err = journal.append_batch((0..50).map(|n| draft(900_000 + n * 5 + 1)).collect()).unwrap_err();
    assert!(matches!(err, JournalError::Io { .. }) && err.is_fatal(), "{err}");
    let later = journal.append(draft(999_991)).unwrap_err();
    assert!(matches!(later, JournalError::Poisoned(_)) && later.is_fatal(), "{later}");
    assert!(journal.poisoned().is_some());
    assert_eq!(journal.last_sequence(), acked.len() as u64, "nothing unacknowledged became visible");
    assert!(matches!(journal.close(), Err(JournalError::Poisoned(_))));

    // SAFETY: restoring the limit read above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &old) }, 0);
    let (journal, report) = Journal::open(dir.path(), JournalOptions::default()).unwrap();
    assert!(report.truncated.is_some(), "the partial write is a torn tail: {report}");
    assert_eq!(read_all(&journal), acked);
    assert_eq!(journal.append(draft(999_996)).unwrap().sequence, acked.len() as u64 + 1);
}
