//! The standard normal CDF: the hand-written Hart 5666 (`backtest::metrics::normal_cdf`)
//! against statrs's `Normal::cdf`, the evidence for keeping ours (issue 23: a hand-written
//! version stays only where a benchmark shows it wins; it also wins on accuracy, see the
//! function's doc). The quantile is statrs's (`risk::stats::normal_quantile`), timed
//! here too for the record.
//! `cargo bench -p tradpal-actors --bench normal`.

use criterion::{criterion_group, criterion_main, Criterion};
use statrs::distribution::{ContinuousCDF, Normal};
use std::hint::black_box;
use tradpal_actors::backtest::metrics::normal_cdf;
use tradpal_actors::risk::stats::normal_quantile;

/// 1,000 points on [-6, 6] and 999 probabilities on (0, 1): one iteration is a sweep.
fn normal(c: &mut Criterion) {
    let xs: Vec<f64> = (0..1000).map(|i| -6.0 + 12.0 * i as f64 / 1000.0).collect();
    let ps: Vec<f64> = (1..1000).map(|i| i as f64 / 1000.0).collect();
    let n = Normal::standard();
    let mut g = c.benchmark_group("normal");
    g.bench_function("cdf_ours_x1000", |b| b.iter(|| xs.iter().map(|&x| normal_cdf(black_box(x))).sum::<f64>()));
    g.bench_function("cdf_statrs_x1000", |b| b.iter(|| xs.iter().map(|&x| n.cdf(black_box(x))).sum::<f64>()));
    g.bench_function("quantile_statrs_x999", |b| b.iter(|| ps.iter().map(|&p| normal_quantile(black_box(p))).sum::<f64>()));
    g.finish();
}

criterion_group!(benches, normal);
criterion_main!(benches);
