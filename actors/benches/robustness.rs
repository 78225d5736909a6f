//! Robustness analyses' speed, at their limits. `cargo bench -p tradpal-actors --bench
//! robustness` (under a minute).
//!
//! - `monte_carlo_bootstrap_10000x5000`: 10,000 bootstrap runs of 5,000 trades, the
//!   `MONTE_CARLO_STEPS_MAX` (50M steps) a report may ask for.
//! - `lookahead_200_checks_20000_bars`: the look-ahead check of `sma_cross` at
//!   `LOOKAHEAD_CHECKS_MAX` (200) points of 20,000 synthetic 1m bars: one full run and
//!   200 prefix runs, about 2M bar steps through the engine.
//!
//! Measured (release, 2 shared cores): Monte Carlo 0.50 s (about 100M steps/s); the
//! look-ahead check 1.38 s (about 1.5M engine bar steps/s), so a check at
//! `LOOKAHEAD_BAR_STEPS_MAX` (about 10M steps) takes some 7 s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use tradpal_actors::backtest::metrics::TradeRecord;
use tradpal_actors::backtest::robustness::{check_lookahead, monte_carlo, MonteCarloSpec, Resampling};
use tradpal_actors::backtest::strategy::Strategy;
use tradpal_actors::backtest::{build, BacktestConfig, StrategySpec};
use tradpal_actors::market_data::synth::{generate, SynthParams};
use tradpal_messages::{Candle, Side, Timeframe, Timestamp};

fn trades(n: usize) -> Vec<TradeRecord> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..n)
        .map(|i| TradeRecord {
            symbol: "SYN/USDT".into(),
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            entry_time: Timestamp(i as i64),
            exit_time: Timestamp(i as i64 + 1),
            entry_price: 100.0,
            exit_price: 100.0,
            quantity: 1.0,
            pnl: rng.random_range(-10.0..11.0),
            fees: 0.1,
            return_pct: 0.0,
            bars_held: 1,
            source: "bench".into(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("robustness");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));

    let t = trades(5_000);
    let spec = MonteCarloSpec { runs: 10_000, seed: 7, method: Resampling::Bootstrap };
    g.throughput(Throughput::Elements(50_000_000));
    g.bench_function("monte_carlo_bootstrap_10000x5000", |b| b.iter(|| monte_carlo(&t, 100_000.0, &spec).unwrap()));

    let bars = generate(&SynthParams { bars: 20_000, seed: 1, trend_strength: 0.1, ..SynthParams::default() }).expect("synth").candles;
    let strategy = StrategySpec::new("sma_cross").with("fraction", 0.1);
    let make = |_: &[Candle]| -> Result<Box<dyn Strategy>, String> { build(&strategy).map_err(|e| e.to_string()) };
    let config = BacktestConfig::default();
    // Elements are checks (each a prefix run of, on average, 10,000 bars).
    g.throughput(Throughput::Elements(200));
    g.bench_function("lookahead_200_checks_20000_bars", |b| {
        b.iter(|| {
            let r = check_lookahead(&config, &bars, Timeframe::M1, "SYN/USDT", &make, 200, 3).unwrap();
            assert!(r.passed);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
