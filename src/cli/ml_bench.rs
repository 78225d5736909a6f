//! `tradpal ml train --bench-dir DIR`: the benchmark half of `scripts/bench_ml.sh`.
//!
//! After the normal training run it writes `DIR/matrix.csv` (every labelled row with its
//! features, label and `set` = train | test: exactly the rows and features the model
//! saw, for the Python LightGBM side to fit) and `DIR/rust.json` with timings measured
//! here, outside the pure core: the final fit alone on the training rows (best of 3),
//! one-row predict latency (p50 / p99 over [`PREDICT_CALLS`]), and batch scoring
//! throughput over the test rows.
// A benchmark: timing is what it measures.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::path::Path;
use std::time::Instant;
use tradpal_actors::ml::dataset::{label, Dataset};
use tradpal_actors::ml::features;
use tradpal_actors::ml::split::holdout;
use tradpal_actors::ml::train::{TrainReport, TrainSpec};
use tradpal_actors::ml::tune::{fit, headline};
use tradpal_messages::Candle;

/// One-row predictions timed.
pub const PREDICT_CALLS: usize = 20_000;
/// Rows scored per batch-throughput pass (the test rows repeated).
pub const BATCH_ROWS: usize = 1_000_000;
/// Fits timed (the best is reported).
const FIT_RUNS: usize = 3;

fn write_matrix(path: &Path, data: &Dataset, test_from: usize) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{},label,set", data.names.join(","))?;
    for r in 0..data.rows() {
        let row: Vec<String> = data.row(r).iter().map(|v| format!("{v:?}")).collect();
        let set = if r >= test_from { "test" } else { "train" };
        writeln!(out, "{},{},{set}", row.join(","), data.y[r])?;
    }
    Ok(())
}

/// Writes the matrix and measures fit, predict and batch scoring; returns the timings.
pub fn run(dir: &Path, bars: &[Candle], spec: &TrainSpec, report: &TrainReport) -> anyhow::Result<serde_json::Value> {
    std::fs::create_dir_all(dir)?;
    let frame = features::compute(bars, &spec.groups);
    let data = label(bars, &frame, spec.target).columns(&report.feature_columns);
    let split = holdout(&data.bars, spec.test_fraction, spec.target.horizon, spec.embargo)?;
    let (train, test) = (data.subset(&split.train), data.subset(&split.test));
    // Purged rows are left out of the file: training rows, then test rows.
    let mut both = train.clone();
    both.x.extend_from_slice(&test.x);
    both.y.extend_from_slice(&test.y);
    both.bars.extend_from_slice(&test.bars);
    write_matrix(&dir.join("matrix.csv"), &both, train.rows())?;
    let classifier = spec.target.kind.is_classification();
    let mut fit_seconds = f64::INFINITY;
    let mut model = None;
    for _ in 0..FIT_RUNS {
        let t = Instant::now();
        let m = fit(spec.kind, &report.params, &train, classifier, spec.seed, &mut |_| {})?;
        fit_seconds = fit_seconds.min(t.elapsed().as_secs_f64());
        model = Some(m);
    }
    let model = model.expect("FIT_RUNS > 0");
    let p = model.predict(&test.x)?;
    let auc = headline(classifier, &test.y, &p);
    let mut lat: Vec<f64> = Vec::with_capacity(PREDICT_CALLS);
    for k in 0..PREDICT_CALLS {
        let row = test.row(k % test.rows());
        let t = Instant::now();
        std::hint::black_box(model.predict(row)?);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(f64::total_cmp);
    let q = |f: f64| lat[((lat.len() - 1) as f64 * f) as usize];
    let reps = BATCH_ROWS.div_ceil(test.rows());
    let mut big = Vec::with_capacity(reps * test.x.len());
    for _ in 0..reps {
        big.extend_from_slice(&test.x);
    }
    let t = Instant::now();
    let scored = model.predict(&big)?.len();
    let batch_seconds = t.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "implementation": report.implementation,
        "train_rows": train.rows(), "test_rows": test.rows(), "features": data.names,
        "fit_seconds_best_of_3": fit_seconds, "test_auc": auc,
        "predict_one_row_us": { "p50": q(0.5), "p99": q(0.99), "calls": PREDICT_CALLS },
        "batch": { "rows": scored, "seconds": batch_seconds, "rows_per_second": scored as f64 / batch_seconds },
    });
    std::fs::write(dir.join("rust.json"), serde_json::to_vec_pretty(&out)?)?;
    Ok(out)
}
