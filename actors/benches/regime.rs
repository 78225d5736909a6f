//! Regime core speed, on synthetic 1m bars (`synth`, seed 1, default parameters):
//!
//! - `regime/update`: one `RegimeTracker::update` (features + forward-filter step +
//!   hysteresis) per new candle; target < 100 us. Criterion reports the mean; a separate
//!   timed pass over 200,000 updates prints the p50 / p99 / p99.9 / max latency.
//! - `regime/fit_100k`: a full Baum-Welch fit (seeded start, EM to convergence) on
//!   100,000 bars; target < 2 s.
//! - `regime/track_100k`: the batch classifier over 100,000 bars.
//! - `regime/update_window`: one `RegimeTracker::update` on real minutes
//!   (`testdata/btcperp-1m.csv`, model fitted on its first 5,000 bars: the window
//!   detector, as on every real market), the path a live real symbol takes.
//!
//! Short by design (10 samples, ~2 s a benchmark):
//! `cargo bench -p tradpal-actors --bench regime`.

// A bench: timing is what it measures.
#![allow(clippy::disallowed_methods)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tradpal_actors::market_data::synth::{self, Synth, SynthParams};
use tradpal_actors::market_data::{import_csv, CsvLimits};
use tradpal_actors::regime::{fit, track, Detector, FitParams, HysteresisParams, RegimeModel, RegimeTracker};
use tradpal_messages::{Candle, Timeframe};

const FIT_BARS: usize = 100_000;
const UPDATE_BARS: usize = 400_000;

fn data() -> &'static Synth {
    static DATA: OnceLock<Synth> = OnceLock::new();
    DATA.get_or_init(|| {
        synth::generate(&SynthParams { bars: FIT_BARS + UPDATE_BARS, timeframe: Timeframe::M1, seed: 1, ..SynthParams::default() })
            .expect("synth parameters")
    })
}

fn model() -> &'static RegimeModel {
    static MODEL: OnceLock<RegimeModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let started = Instant::now();
        let m = fit(&data().candles[..FIT_BARS], Timeframe::M1, &FitParams::default()).expect("fit");
        eprintln!(
            "fit on {FIT_BARS} bars: {:.0} ms, {} EM iterations, converged {}",
            started.elapsed().as_secs_f64() * 1e3,
            m.fit.iterations,
            m.fit.converged
        );
        m
    })
}

/// A tracker that has already seen the training bars.
fn warm_tracker() -> RegimeTracker {
    let mut t = RegimeTracker::new(model().clone(), &HysteresisParams::default()).expect("tracker");
    for c in &data().candles[..FIT_BARS] {
        t.update(c).expect("valid candle");
    }
    t
}

fn latency_percentiles() {
    let candles = &data().candles[FIT_BARS..FIT_BARS + 200_000];
    let mut tracker = warm_tracker();
    let mut ns: Vec<u64> = Vec::with_capacity(candles.len());
    for c in candles {
        let started = Instant::now();
        black_box(tracker.update(black_box(c)).expect("valid candle"));
        ns.push(started.elapsed().as_nanos() as u64);
    }
    ns.sort_unstable();
    let q = |p: f64| ns[((ns.len() as f64 * p) as usize).min(ns.len() - 1)];
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64;
    eprintln!(
        "update latency over {} bars (incl. ~20-30 ns timer overhead): mean {mean:.0} ns, p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        ns.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        ns[ns.len() - 1]
    );
}

/// The real BTC minutes and a tracker (window detector) warmed on their first 5,000.
fn real_minutes() -> (Vec<Candle>, RegimeTracker) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/btcperp-1m.csv");
    let file = std::fs::File::open(path).expect("testdata/btcperp-1m.csv");
    let candles = import_csv(std::io::BufReader::new(file), Timeframe::M1, None, CsvLimits::default()).expect("csv").accepted;
    let model = fit(&candles[..5_000], Timeframe::M1, &FitParams::default()).expect("fit");
    assert_eq!(model.detector, Detector::Window);
    let mut t = RegimeTracker::new(model, &HysteresisParams::default()).expect("tracker");
    for c in &candles[..5_000] {
        t.update(c).expect("valid candle");
    }
    (candles, t)
}

fn bench_window(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let (candles, start) = real_minutes();
    let candles = &candles[5_000..];
    let mut tracker = start.clone();
    let mut i = 0;
    g.throughput(Throughput::Elements(1));
    g.bench_function("update_window", |b| {
        b.iter(|| {
            if i == candles.len() {
                tracker = start.clone();
                i = 0;
            }
            let t = tracker.update(black_box(&candles[i])).expect("valid candle");
            i += 1;
            black_box(t)
        })
    });
}

fn benches(c: &mut Criterion) {
    let _ = model();
    latency_percentiles();

    let mut g = c.benchmark_group("regime");
    g.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));

    g.throughput(Throughput::Elements(1));
    let candles = &data().candles[FIT_BARS..];
    let start = warm_tracker();
    let mut tracker = start.clone();
    let mut i = 0;
    g.bench_function("update", |b| {
        b.iter(|| {
            if i == candles.len() {
                // Out of fresh candles: start over from the warmed state (rare).
                tracker = start.clone();
                i = 0;
            }
            let t = tracker.update(black_box(&candles[i])).expect("valid candle");
            i += 1;
            black_box(t)
        })
    });

    bench_window(&mut g);

    g.throughput(Throughput::Elements(FIT_BARS as u64));
    g.bench_function("fit_100k", |b| {
        b.iter(|| fit(black_box(&data().candles[..FIT_BARS]), Timeframe::M1, &FitParams::default()).expect("fit"))
    });
    g.bench_function("track_100k", |b| {
        b.iter(|| track(model(), black_box(&data().candles[FIT_BARS..2 * FIT_BARS]), &HysteresisParams::default()).expect("track"))
    });
    g.finish();
}

criterion_group!(regime, benches);
criterion_main!(regime);
