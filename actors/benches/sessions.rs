//! Trading sessions' loop (pure core, no journal): 1,000 sessions on 10 symbols, each bar
//! of a symbol fed to its 100 sessions (`sma_cross` 2/3: a decision on most bars).
//! `cargo bench -p tradpal-actors --bench sessions`. Also prints the heap held per
//! session after 2,000 bars (a counting allocator; the history and equity curve are
//! bounded, so this does not grow with the bars).
//! The journaled path end to end (HTTP, journal, decisions, latency from a candle's
//! record to its decisions): `cargo test --release --test session_parity -- --ignored --nocapture`.
#![allow(clippy::disallowed_methods)] // bench code

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use tradpal_actors::session::runner::SessionRunner;
use tradpal_messages::{
    Candle, CandlesIngested, DataSource, SessionConfig, SessionId, SessionOpened, StrategyParam, Timeframe, Timestamp, TradingMode,
};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static A: Counting = Counting;

const SYMBOLS: usize = 10;
const SESSIONS: usize = 1_000;
const M: i64 = 60_000_000_000;

fn symbol(k: usize) -> String {
    format!("S{k}/USDT")
}

fn runners() -> Vec<SessionRunner> {
    (0..SESSIONS)
        .map(|i| {
            let opened = SessionOpened {
                session_id: SessionId(i as u128 + 1),
                config: SessionConfig {
                    symbol: symbol(i % SYMBOLS),
                    capital: 1_000.0,
                    strategy: "sma_cross".into(),
                    risk_per_trade: 0.02,
                    mode: TradingMode::Paper,
                },
                timeframe: Timeframe::M1,
                params: vec![StrategyParam { name: "fast".into(), value: 2.0 }, StrategyParam { name: "slow".into(), value: 3.0 }],
                commission: 0.001,
                slippage_bps: 1,
                seed: i as u64,
                max_drawdown: None,
                max_daily_loss: None,
            };
            SessionRunner::open(&opened, 1, Timestamp(0)).unwrap()
        })
        .collect()
}

/// A zig-zag price so the 2/3 cross flips often.
fn bar(t: usize) -> Candle {
    let p = 100.0 + ((t * 7919) % 13) as f64;
    Candle { open_time: Timestamp(t as i64 * M), open: p, high: p + 1.0, low: p - 1.0, close: p + 0.5, volume: 1e9 }
}

/// One bar of every symbol through every session; returns the events decided.
fn feed(rs: &mut [SessionRunner], t: usize) -> usize {
    let mut events = 0;
    for k in 0..SYMBOLS {
        let rec = CandlesIngested { symbol: symbol(k), timeframe: Timeframe::M1, source: DataSource::Nats, candles: vec![bar(t)] };
        for r in rs.iter_mut().filter(|r| r.symbol() == rec.symbol) {
            events += r.on_candles(&rec, 2 + t as u64).events.len();
        }
    }
    events
}

fn bench(c: &mut Criterion) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut rs = runners();
    let opened = LIVE.load(Ordering::Relaxed);
    let mut events = 0;
    for t in 0..2_000 {
        events += feed(&mut rs, t);
    }
    let after = LIVE.load(Ordering::Relaxed);
    eprintln!(
        "sessions: {SESSIONS} opened: {} B each; after 2,000 bars: {} B each ({events} events decided)",
        (opened - before) / SESSIONS as isize,
        (after - before) / SESSIONS as isize
    );
    let mut g = c.benchmark_group("sessions");
    g.throughput(Throughput::Elements(SESSIONS as u64));
    let mut t = 2_000;
    g.bench_function("one_bar_to_1000_sessions_on_10_symbols", |b| {
        b.iter(|| {
            t += 1;
            feed(&mut rs, t)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
