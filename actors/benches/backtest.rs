//! Backtest engine speed: `sma_cross` (fast 10, slow 20) over 1,051,200 synthetic 1m
//! bars (two years) through the execution core, with the round trips, the event hash
//! and the metrics. `cargo bench -p tradpal-actors --bench backtest`. Target: > 2M
//! bars/s on one core.
//!
//! The scenario keeps every order a whole fill, as on a liquid market, so the bench
//! measures the per-bar loop and ~55k orders, not the partial-fill path:
//!
//! - synthetic bars with `trend_strength` 0.1 (seed 1) and their volume scaled by 10^6;
//! - `fraction` 0.1 of equity per position, default costs (0.1% fee, 1 bp).
//!
//! Why not the defaults: the synthetic minutes are volatile (0.1-0.8% a bar) and, at
//! the default trend strength 0.2, so predictable for an SMA cross that an all-in
//! account compounds far past any bar's volume (and then goes bust when a reversal
//! cannot fill), while without a trend it decays to dust. The probe line printed first
//! gives the run's counts.
//!
//! The second benchmark, `peer_workload`, is the peers' shared workload (issue 22,
//! `scripts/compare-peers.sh`): 1,051,200 one-minute GBM bars written by
//! `scripts/peers/gen.py` (numpy seed 42), SMA 10/20 `entry=cross`, a fixed 0.125 units,
//! cash 1,000,000, 0.1% fee, no slippage, no volume cap. It reads
//! `$SPEED_DIR/synth-1m.csv` (default `tradpal-speed` in the system temp directory, `$TMPDIR` or /tmp; the comparison script writes
//! it) and is skipped, with a line saying so, when the file is not there. It runs twice:
//! `run` with the strategy built bar by bar, and `run_spec`, the path of `tradpal
//! backtest` and the API (the SMA columns computed once by the batch kernel, timed too).

// A bench: timing is what it measures.
#![allow(clippy::disallowed_methods)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::{Duration, Instant};
use tradpal_actors::backtest::request::{Participation, RunRequest};
use tradpal_actors::backtest::{build, run, run_spec, BacktestConfig, StrategySpec, SymbolBars};
use tradpal_actors::market_data::synth::{generate, SynthParams};
use tradpal_actors::market_data::{import_csv, CsvLimits};
use tradpal_messages::Timeframe;

const BARS: usize = 1_051_200;

fn bench(c: &mut Criterion) {
    let params = SynthParams { bars: BARS, seed: 1, trend_strength: 0.1, ..SynthParams::default() };
    let mut bars = generate(&params).expect("synth").candles;
    for b in &mut bars {
        b.volume *= 1e6;
    }
    let config = BacktestConfig::default();
    let spec = StrategySpec::new("sma_cross").with("fraction", 0.1);
    let started = Instant::now();
    let probe = run(&config, &bars, Timeframe::M1, "SYN/USDT", build(&spec).unwrap().as_mut()).expect("backtest");
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} over {BARS} 1m bars: {seconds:.3} s ({:.0} bars/s); {} orders, {} fills, {} skipped, {} trades, {} events, total return {:.4}",
        spec.describe(),
        BARS as f64 / seconds,
        probe.counts.orders_submitted,
        probe.counts.fills,
        probe.counts.orders_skipped,
        probe.trades.len(),
        probe.event_count,
        probe.metrics.total_return
    );
    let mut g = c.benchmark_group("backtest");
    g.throughput(Throughput::Elements(BARS as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("sma_cross_1m_bars_1051200", |b| {
        b.iter(|| {
            let mut strategy = build(&spec).unwrap();
            run(&config, &bars, Timeframe::M1, "SYN/USDT", strategy.as_mut()).unwrap()
        })
    });
    g.finish();
}

/// The peers' workload (see the module doc), when its file exists.
fn peer_workload(c: &mut Criterion) {
    let dir = std::env::var_os("SPEED_DIR").map_or_else(|| std::env::temp_dir().join("tradpal-speed"), std::path::PathBuf::from);
    let path = dir.join("synth-1m.csv");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("peer_workload: skipped, no {} (scripts/compare-peers.sh writes it)", path.display());
        return;
    };
    let started = Instant::now();
    let report = import_csv(std::io::BufReader::new(file), Timeframe::M1, None, CsvLimits::default()).expect("csv");
    let bars = report.accepted;
    eprintln!("peer_workload: {} bars loaded in {:.3} s", bars.len(), started.elapsed().as_secs_f64());
    let req = RunRequest {
        initial_capital: Some(1_000_000.0),
        commission: Some(0.001),
        slippage_bps: Some(0),
        participation: Some(Participation::None),
        quantity: Some(0.125),
        ..RunRequest::default()
    };
    let config = req.config().expect("config");
    let spec = StrategySpec::new("sma_cross").with("fast", 10.0).with("slow", 20.0).with("entry", 1.0);
    let probe = run(&config, &bars, Timeframe::M1, "BTC/USDT", build(&spec).unwrap().as_mut()).expect("backtest");
    eprintln!(
        "peer_workload: {} fills, final equity {} (the peers: 57,901 fills, 512,622-512,624)",
        probe.counts.fills, probe.final_equity
    );
    let mut g = c.benchmark_group("backtest");
    g.throughput(Throughput::Elements(bars.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("peer_workload_sma_cross_10_20", |b| {
        b.iter(|| run(&config, &bars, Timeframe::M1, "BTC/USDT", build(&spec).unwrap().as_mut()).unwrap())
    });
    // The path `tradpal backtest` and the API take: `run_spec`, which also computes the
    // strategy's indicator columns (here inside the timed run).
    let series = [SymbolBars { symbol: "BTC/USDT", bars: &bars }];
    g.bench_function("peer_workload_run_spec_sma_cross_10_20", |b| {
        b.iter(|| run_spec(&config, &series, Timeframe::M1, &spec, &mut |_| {}).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench, peer_workload);
criterion_main!(benches);
