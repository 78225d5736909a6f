//! Journal throughput: durable appends/s at 1, 8 and 64 concurrent writers (each writer
//! waits for its append's ack before the next, as an actor does) on OS threads and at 64
//! and 256 on tokio tasks, and replay records/s (by a caller that only decodes, and by
//! one with work of its own per record).
//!
//! Files go under cargo's target tmp dir (a real disk), not /tmp (maybe tmpfs, where
//! fsync is free and the numbers would lie).

// A bench: timing is what it measures.
#![allow(clippy::disallowed_methods)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};
use tradpal_journal::{Journal, JournalOptions};
use tradpal_messages::{ActorRestarted, CorrelationId, EnvelopeDraft, Event, EventId, Timestamp};

/// Records replayed per iteration of the replay benchmark.
const REPLAY_RECORDS: u64 = 100_000;
/// Dependent multiply-adds per record of the busy caller (about half a microsecond).
const CALLER_WORK_STEPS: usize = 600;

fn draft(n: u64) -> EnvelopeDraft {
    let event = Event::ActorRestarted(ActorRestarted {
        actor: "execution".into(),
        restart_count: n as u32,
        reason: "benchmark record with a typical short reason".into(),
        restarted: true,
    });
    EnvelopeDraft::new(EventId(u128::from(n) + 1), Timestamp::from_millis(n as i64), CorrelationId(u128::from(n)), event)
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir under target/")
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_durable");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    for writers in [1u64, 8, 64] {
        let dir = temp_dir();
        let (journal, _) = Journal::open(dir.path(), JournalOptions::default()).expect("open");
        group.bench_with_input(BenchmarkId::from_parameter(writers), &writers, |b, &writers| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for w in 0..writers {
                        let journal = &journal;
                        let share = iters / writers + u64::from(w < iters % writers);
                        s.spawn(move || {
                            for n in 0..share {
                                journal.append(draft(n)).expect("append");
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
        let s = journal.stats();
        eprintln!(
            "  {writers} writers: {} groups, {:.1} records/group, per group: {:.0} us write+fsync, {:.0} us index",
            s.groups,
            s.records as f64 / s.groups.max(1) as f64,
            s.write_fsync_nanos as f64 / s.groups.max(1) as f64 / 1e3,
            s.index_nanos as f64 / s.groups.max(1) as f64 / 1e3
        );
        journal.close().expect("close");
    }
    group.finish();
}

/// The same appends from tokio tasks on a two-worker runtime (each awaits its append's
/// ack before the next, as an actor does): how the service's actors append. The thread
/// version above wakes one OS thread per answer, which on a 2-core VM costs a good part
/// of a group's time; a task's wake-up is a queue push.
fn appends_tasks(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_durable_tasks");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    for tasks in [64u64, 256] {
        let dir = temp_dir();
        let (journal, _) = Journal::open(dir.path(), JournalOptions::default()).expect("open");
        group.bench_with_input(BenchmarkId::from_parameter(tasks), &tasks, |b, &tasks| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let start = Instant::now();
                    let handles: Vec<_> = (0..tasks)
                        .map(|t| {
                            let journal = journal.clone();
                            let share = iters / tasks + u64::from(t < iters % tasks);
                            tokio::spawn(async move {
                                for n in 0..share {
                                    journal.append_async(draft(n)).await.expect("append");
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.expect("task");
                    }
                    start.elapsed()
                })
            });
        });
        let s = journal.stats();
        eprintln!("  {tasks} tasks: {} groups, {:.1} records/group", s.groups, s.records as f64 / s.groups.max(1) as f64);
        journal.close().expect("close");
    }
    group.finish();
}

fn replay(c: &mut Criterion) {
    let dir = temp_dir();
    let (journal, _) = Journal::open(dir.path(), JournalOptions::default()).expect("open");
    for chunk in 0..REPLAY_RECORDS / 1000 {
        journal.append_batch((0..1000).map(|i| draft(chunk * 1000 + i)).collect()).expect("batch");
    }
    let mut group = c.benchmark_group("replay");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(REPLAY_RECORDS));
    group.bench_function("read_range_100k", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for record in journal.read_range(1, REPLAY_RECORDS) {
                record.expect("record");
                n += 1;
            }
            assert_eq!(n as u64, REPLAY_RECORDS);
        });
    });
    // The same range read by a caller with work of its own per record (about half a
    // microsecond: a replay folding state), so that the read-ahead thread is the one with
    // time to spare: where its share of the hashing must not slow the caller down.
    group.bench_function("read_range_100k_busy_caller", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for record in journal.read_range(1, REPLAY_RECORDS) {
                let mut x = record.expect("record").sequence;
                for _ in 0..CALLER_WORK_STEPS {
                    x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
                }
                std::hint::black_box(x);
                n += 1;
            }
            assert_eq!(n as u64, REPLAY_RECORDS);
        });
    });
    let path = dir.path().to_owned();
    let mut current = Some(journal);
    group.bench_function("open_scan_100k", |b| {
        b.iter(|| {
            if let Some(j) = current.take() {
                j.close().expect("close");
            }
            let (j, report) = Journal::open(&path, JournalOptions::default()).expect("reopen");
            assert_eq!(report.records, REPLAY_RECORDS);
            current = Some(j);
        });
    });
    group.finish();
}

criterion_group!(benches, appends, appends_tasks, replay);
criterion_main!(benches);
