//! Trading sessions' loop (pure core, no journal): 1,000 sessions on 10 symbols, each bar
//! of a symbol fed to its 100 sessions (`sma_cross` 2/3: a decision on most bars).
//! `cargo bench -p tradpal-actors --bench sessions`. Also prints the heap held per
//! session after 2,000 bars (a counting allocator; the history and equity curve are
//! bounded, so this does not grow with the bars).
//! The same with 1,000 `ai_ensemble` sessions sharing one ML model (logistic on the
//! rsi/macd/bb/volume features), one RL agent (a 2x64 PPO policy) and their regime model:
//! ensemble decisions per second.
//! The journaled path end to end (HTTP, journal, decisions, latency from a candle's
//! record to its decisions): `cargo test --release --test session_parity -- --ignored --nocapture`.
#![allow(clippy::disallowed_methods)] // bench code

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use tradpal_actors::ml::linear::Linear;
use tradpal_actors::ml::model::Loaded;
use tradpal_actors::rl::agent::{Agent, Algorithm};
use tradpal_actors::rl::env::Actions;
use tradpal_actors::rl::net::PlainMlp;
use tradpal_actors::rl::obs::{fit_regime, OBS_DIM};
use tradpal_actors::session::runner::SessionRunner;
use tradpal_actors::strategy::{AiModels, MlScorer};
use tradpal_messages::{
    AiPins, Candle, CandlesIngested, DataSource, SessionConfig, SessionId, SessionOpened, StrategyParam, Timeframe, Timestamp, TradingMode,
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

/// 1,000 sessions of `strategy`, 100 per symbol, each with its own id and seed.
fn open_sessions(strategy: &str, params: &[(&str, f64)], ai: Option<&AiModels>) -> Vec<SessionRunner> {
    (0..SESSIONS)
        .map(|i| {
            let opened = SessionOpened {
                session_id: SessionId(i as u128 + 1),
                config: SessionConfig {
                    symbol: symbol(i % SYMBOLS),
                    capital: 1_000.0,
                    strategy: strategy.into(),
                    risk_per_trade: 0.02,
                    mode: TradingMode::Paper,
                },
                timeframe: Timeframe::M1,
                params: params.iter().map(|(name, value)| StrategyParam { name: name.to_string(), value: *value }).collect(),
                commission: 0.001,
                slippage_bps: 1,
                seed: i as u64,
                max_drawdown: None,
                max_daily_loss: None,
                ai: ai.map(|m| m.pins.clone()),
            };
            SessionRunner::open(&opened, 1, Timestamp(0), ai.cloned()).unwrap()
        })
        .collect()
}

fn runners() -> Vec<SessionRunner> {
    open_sessions("sma_cross", &[("fast", 2.0), ("slow", 3.0)], None)
}

/// A zig-zag price so the 2/3 cross flips often.
fn bar(t: usize) -> Candle {
    let p = 100.0 + ((t * 7919) % 13) as f64;
    Candle { open_time: Timestamp(t as i64 * M), open: p, high: p + 1.0, low: p - 1.0, close: p + 0.5, volume: 1e9 }
}

/// One bar of every symbol (`bar(t, k)`) through every session; the events decided.
fn feed(rs: &mut [SessionRunner], t: usize, bar: fn(usize, usize) -> Candle) -> usize {
    let mut events = 0;
    for k in 0..SYMBOLS {
        let rec = CandlesIngested { symbol: symbol(k), timeframe: Timeframe::M1, source: DataSource::Nats, candles: vec![bar(t, k)] };
        for r in rs.iter_mut().filter(|r| r.symbol() == rec.symbol) {
            events += r.on_candles(&rec, 2 + t as u64).events.len();
        }
    }
    events
}

/// Heap per session opened and after `warm` bars, then criterion on one more bar.
fn measure(c: &mut Criterion, label: &str, open: impl FnOnce() -> Vec<SessionRunner>, warm: usize, bar: fn(usize, usize) -> Candle) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut rs = open();
    let opened = LIVE.load(Ordering::Relaxed);
    let events: usize = (0..warm).map(|t| feed(&mut rs, t, bar)).sum();
    let after = LIVE.load(Ordering::Relaxed);
    eprintln!(
        "{label}: {SESSIONS} opened: {} B each; after {warm} bars: {} B each ({events} events decided)",
        (opened - before) / SESSIONS as isize,
        (after - before) / SESSIONS as isize
    );
    let mut g = c.benchmark_group("sessions");
    g.throughput(Throughput::Elements(SESSIONS as u64));
    let mut t = warm;
    g.bench_function(format!("one_bar_to_1000_{label}_on_10_symbols"), |b| {
        b.iter(|| {
            t += 1;
            feed(&mut rs, t, bar)
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    measure(c, "sessions", runners, 2_000, |t, _| bar(t));
}
/// One logistic model, one PPO-shaped agent and a regime model, fitted on synthetic bars.
fn ai_models() -> AiModels {
    use rand::SeedableRng;
    use tradpal_actors::ml::features::{compute, FeatureGroup};
    let bars = tradpal_actors::rl::synthetic::ar_candles(3_000, 0.1, 0.002, 9);
    let groups = vec![FeatureGroup::Rsi, FeatureGroup::Macd, FeatureGroup::Bb, FeatureGroup::Volume];
    let frame = compute(&bars, &groups);
    let rows = frame.rows() - 1;
    let y: Vec<f64> = (0..rows).map(|r| (bars[frame.bars[r] + 1].close > bars[frame.bars[r]].close) as u8 as f64).collect();
    let linear = Linear::fit(&frame.values[..rows * frame.cols()], &y, frame.cols(), true, 1e-3).unwrap();
    let ml = MlScorer { model: Mutex::new(Loaded::Logistic(linear)), groups, columns: (0..frame.cols()).collect() };
    let regime = fit_regime(&bars[..1_000], Timeframe::M1, 1).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let agent = Agent {
        algorithm: Algorithm::Ppo,
        actions: Actions::default(),
        net: PlainMlp::init(&[OBS_DIM, 64, 64, 3], 1.0, &mut rng),
        value: None,
        regime: Some(regime.clone()),
        experts: Vec::new(),
        expert_values: Vec::new(),
    };
    let pins = AiPins {
        model_id: Some("bench".into()),
        model_version: 1,
        agent_id: Some("rl-1".into()),
        agent_version: 1,
        regime_model_json: Some(serde_json::to_string(&regime).unwrap()),
        ml_weight: 0.4,
        rl_weight: 0.4,
        regime_weight: 0.2,
        left_out: Vec::new(),
    };
    AiModels { pins, ml: Some(Arc::new(ml)), rl: Some(Arc::new(agent)), regime: Some(Arc::new(regime)) }
}

fn ai_runners(models: &AiModels) -> Vec<SessionRunner> {
    open_sessions("ai_ensemble", &[("threshold", 0.05)], Some(models))
}

/// A random walk per symbol (the regime filter needs moving prices).
fn walk_bar(t: usize, k: usize) -> Candle {
    let p = 100.0 * (1.0 + 0.05 * ((t as f64 * 0.013 + k as f64).sin() + 0.3 * (t as f64 * 0.17).cos()));
    Candle { open_time: Timestamp(t as i64 * M), open: p, high: p * 1.001, low: p * 0.999, close: p * 1.0002, volume: 1e6 }
}

fn bench_ai(c: &mut Criterion) {
    let models = ai_models();
    measure(c, "ai_ensemble_sessions", || ai_runners(&models), 500, walk_bar);
}

criterion_group!(benches, bench, bench_ai);
criterion_main!(benches);
