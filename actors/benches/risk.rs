//! Risk core latency: fixed-fractional sizing per call (spec target: position size in
//! < 25 ms; parsed and from JSON), Monte Carlo VaR with 10,000 paths on a 10-asset
//! portfolio (target < 50 ms), risk parity on 10 and 50 assets, and max-Sharpe
//! mean-variance on 50 assets.
//!
//! Inputs are synthetic and seeded: returns from a one-factor model (market beta plus
//! idiosyncratic noise, daily crypto-like magnitudes), so covariances are realistic and
//! positive definite. Kept short (10 samples):
//! `cargo bench -p tradpal-actors --bench risk`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::hint::black_box;
use std::time::Duration;
use tradpal_actors::risk::{calculate_position_size, max_sharpe, monte_carlo_portfolio_var, risk_parity, stats, PositionSizeRequest};

/// `t` observations of `n` asset returns: `r = beta_i m + e`, m ~ N(0, 3 %), e ~ N(0, 2-6 %).
fn returns(t: usize, n: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let betas: Vec<f64> = (0..n).map(|i| 0.6 + 0.8 * i as f64 / n as f64).collect();
    let idio: Vec<f64> = (0..n).map(|i| 0.02 + 0.04 * ((i * 7) % n) as f64 / n as f64).collect();
    let mut m = Array2::<f64>::zeros((t, n));
    for mut row in m.rows_mut() {
        let market: f64 = 0.03 * rng.sample::<f64, _>(StandardNormal);
        for (j, v) in row.iter_mut().enumerate() {
            *v = 0.0005 + betas[j] * market + idio[j] * rng.sample::<f64, _>(StandardNormal);
        }
    }
    m
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("S{i}/USDT")).collect()
}

fn short<'a>(c: &'a mut Criterion, name: &str) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    g
}

fn sizing(c: &mut Criterion) {
    let json = r#"{"portfolio_value": 10000, "risk_per_trade": 0.02, "stop_loss": 0.02, "current_price": 50000}"#;
    let req: PositionSizeRequest = serde_json::from_str(json).expect("spec request");
    let mut g = short(c, "sizing");
    g.bench_function("fixed_fractional", |b| b.iter(|| calculate_position_size(black_box(&req)).unwrap()));
    g.bench_function("fixed_fractional_from_json", |b| {
        b.iter(|| {
            let req: PositionSizeRequest = serde_json::from_str(black_box(json)).unwrap();
            serde_json::to_vec(&calculate_position_size(&req).unwrap()).unwrap()
        })
    });
    g.finish();
}

fn monte_carlo_var(c: &mut Criterion) {
    let m = returns(1000, 10, 1);
    let w = vec![0.1; 10];
    let mut g = short(c, "var");
    g.bench_function("monte_carlo_10000_paths_10_assets", |b| {
        b.iter(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(42);
            monte_carlo_portfolio_var(black_box(&w), black_box(&m), 0.99, 10_000, &mut rng).unwrap()
        })
    });
    g.finish();
}

fn optimisers(c: &mut Criterion) {
    let mut g = short(c, "optimise");
    for n in [10, 50] {
        let cov = stats::covariance(&returns(1000, n, n as u64));
        let symbols = names(n);
        g.bench_with_input(BenchmarkId::new("risk_parity", n), &n, |b, _| b.iter(|| risk_parity(black_box(&cov), &symbols, 1000).unwrap()));
        if n == 50 {
            let mu: Vec<f64> = (0..n).map(|i| 0.0002 + 0.00004 * (i % 13) as f64).collect();
            g.bench_with_input(BenchmarkId::new("max_sharpe", n), &n, |b, _| {
                b.iter(|| max_sharpe(black_box(&cov), &mu, &symbols, 1000).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, sizing, monte_carlo_var, optimisers);
criterion_main!(benches);
