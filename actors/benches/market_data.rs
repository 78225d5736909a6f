//! Market-data core throughput on 1,000,000 synthetic 1m bars (`synth`, seed 1):
//! indicators (all of them via `compute_all`, then each alone), resampling to every higher
//! timeframe (batch and streaming), and CSV parse + validate from an in-memory buffer and
//! from a file (with the `csv` crate's reader alongside ours, issue 23).
//!
//! Throughput is in bars (elements) per second. `compute_all` fills 17 columns, so its
//! bar-indicator updates per second (bars * 17 / time) are printed once as well; the
//! target is over 20 million on one core. Kept short (10 samples, a couple of seconds a benchmark, about 2 minutes in all):
//! `cargo bench -p tradpal-actors --bench market_data`.

// A bench: timing is what it measures.
#![allow(clippy::disallowed_methods)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tradpal_actors::market_data::csv::{parse_number, parse_timestamp};
use tradpal_actors::market_data::indicators::{self, table::COLUMNS};
use tradpal_actors::market_data::synth::{self, Synth, SynthParams};
use tradpal_actors::market_data::{compute_all, import_csv, resample, CsvLimits, CsvReader, CsvRecord, Resampler};
use tradpal_messages::{Candle, Timeframe};

const BARS: usize = 1_000_000;

fn data() -> &'static Synth {
    static DATA: OnceLock<Synth> = OnceLock::new();
    DATA.get_or_init(|| {
        let started = Instant::now();
        let s = synth::generate(&SynthParams { bars: BARS, timeframe: Timeframe::M1, seed: 1, ..SynthParams::default() })
            .expect("synth parameters");
        eprintln!("synth: {BARS} 1m bars generated in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
        s
    })
}

fn candles() -> &'static [Candle] {
    &data().candles
}

fn closes() -> &'static [f64] {
    static CLOSES: OnceLock<Vec<f64>> = OnceLock::new();
    CLOSES.get_or_init(|| candles().iter().map(|c| c.close).collect())
}

/// Highs and lows as series, for ATR in TA-Lib's layout (`atr_column_hlc`).
fn highs_lows() -> &'static (Vec<f64>, Vec<f64>) {
    static HL: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    HL.get_or_init(|| (candles().iter().map(|c| c.high).collect(), candles().iter().map(|c| c.low).collect()))
}

fn volumes() -> &'static [f64] {
    static VOLUMES: OnceLock<Vec<f64>> = OnceLock::new();
    VOLUMES.get_or_init(|| candles().iter().map(|c| c.volume).collect())
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    // Flat sampling: 10 equal samples. (Linear sampling runs 1 + 2 + ... + 10 = 55 batches,
    // which for a 0.5 s benchmark is half a minute.)
    g.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(BARS as u64));
    g
}

fn indicator_benches(c: &mut Criterion) {
    let (candles, closes, volumes) = (candles(), closes(), volumes());

    // One timed pass for the headline figure, outside criterion's statistics.
    let runs = 3;
    let started = Instant::now();
    for _ in 0..runs {
        black_box(compute_all(black_box(candles)));
    }
    let per_run = started.elapsed().as_secs_f64() / runs as f64;
    eprintln!(
        "compute_all: {BARS} bars x {} columns in {:.0} ms: {:.2} M bars/s, {:.1} M bar-indicator updates/s",
        COLUMNS.len(),
        per_run * 1e3,
        BARS as f64 / per_run / 1e6,
        (BARS * COLUMNS.len()) as f64 / per_run / 1e6
    );

    // The same nine indicators run alone, without building the table: what is left of
    // compute_all's time is the table's assembly (column projections and copies).
    let started = Instant::now();
    for _ in 0..runs {
        black_box(indicators::sma(closes, 20).unwrap());
        black_box(indicators::ema(closes, 20).unwrap());
        black_box(indicators::rsi(closes, 14).unwrap());
        black_box(indicators::macd(closes, 12, 26, 9).unwrap());
        black_box(indicators::bollinger(closes, 20, 2.0).unwrap());
        black_box(indicators::atr(candles, 14).unwrap());
        black_box(indicators::volatility(closes, 20).unwrap());
        black_box(indicators::returns(closes, 1).unwrap());
        black_box(indicators::volume_features(volumes, 20).unwrap());
    }
    let parts = started.elapsed().as_secs_f64() / runs as f64;
    eprintln!(
        "the nine indicator batch functions alone: {:.0} ms; table assembly: about {:.0} ms of compute_all's {:.0} ms",
        parts * 1e3,
        (per_run - parts).max(0.0) * 1e3,
        per_run * 1e3
    );

    let mut g = group(c, "indicators");
    g.bench_function("compute_all", |b| b.iter(|| compute_all(black_box(candles))));
    g.bench_function("sma_20", |b| b.iter(|| indicators::sma(black_box(closes), 20).unwrap()));
    g.bench_function("ema_20", |b| b.iter(|| indicators::ema(black_box(closes), 20).unwrap()));
    g.bench_function("rsi_14", |b| b.iter(|| indicators::rsi(black_box(closes), 14).unwrap()));
    g.bench_function("macd_12_26_9", |b| b.iter(|| indicators::macd(black_box(closes), 12, 26, 9).unwrap()));
    g.bench_function("bollinger_20_2", |b| b.iter(|| indicators::bollinger(black_box(closes), 20, 2.0).unwrap()));
    g.bench_function("atr_14", |b| b.iter(|| indicators::atr(black_box(candles), 14).unwrap()));
    g.bench_function("volatility_20", |b| b.iter(|| indicators::volatility(black_box(closes), 20).unwrap()));
    g.bench_function("returns_1", |b| b.iter(|| indicators::returns(black_box(closes), 1).unwrap()));
    g.bench_function("volume_20", |b| b.iter(|| indicators::volume_features(black_box(volumes), 20).unwrap()));
    g.finish();

    // The same indicators as `Column`s (plain f64 rows after a warm-up count, what
    // compute_all fills): the form to set next to TA-Lib, whose functions return a
    // float64 array (scripts/peers/bench_talib.py).
    let mut g = group(c, "indicator_columns");
    g.bench_function("sma_20", |b| b.iter(|| indicators::sma_column(black_box(closes), 20).unwrap()));
    g.bench_function("ema_20", |b| b.iter(|| indicators::ema_column(black_box(closes), 20).unwrap()));
    g.bench_function("rsi_14", |b| b.iter(|| indicators::rsi_column(black_box(closes), 14).unwrap()));
    g.bench_function("macd_12_26_9", |b| b.iter(|| indicators::macd_columns(black_box(closes), 12, 26, 9).unwrap()));
    g.bench_function("bollinger_20_2", |b| b.iter(|| indicators::bollinger_columns(black_box(closes), 20, 2.0).unwrap()));
    g.bench_function("atr_14", |b| b.iter(|| indicators::atr_column(black_box(candles), 14).unwrap()));
    // The same ATR over high, low and close series, the input TA-Lib takes (24 bytes a
    // bar to read where a candle is 48).
    let (highs, lows) = highs_lows();
    g.bench_function("atr_14_hlc", |b| b.iter(|| indicators::atr_column_hlc(black_box(highs), lows, closes, 14).unwrap()));
    g.bench_function("volatility_20", |b| b.iter(|| indicators::volatility_column(black_box(closes), 20).unwrap()));
    g.bench_function("volume_20", |b| b.iter(|| indicators::volume_columns(black_box(volumes), 20).unwrap()));
    // Long windows: up to 128 values a window is added oldest first (`period` adds a
    // bar), past that its sum is exact, one add and one subtract a bar
    // (`indicators/exact.rs`): SMA 20,000 costs what SMA 129 does.
    for period in [64, 128, 129, 1_440, 20_000] {
        g.bench_function(format!("sma_{period}"), |b| b.iter(|| indicators::sma_column(black_box(closes), period).unwrap()));
    }
    g.finish();
}

fn resample_benches(c: &mut Criterion) {
    let candles = candles();
    let targets = [Timeframe::M5, Timeframe::M15, Timeframe::H1, Timeframe::H4, Timeframe::D1];
    let mut g = group(c, "resample_batch");
    for target in targets {
        g.bench_with_input(BenchmarkId::from_parameter(target), &target, |b, &target| {
            b.iter(|| resample(black_box(candles), Timeframe::M1, target).unwrap())
        });
    }
    g.finish();
    let mut g = group(c, "resample_streaming");
    for target in targets {
        g.bench_with_input(BenchmarkId::from_parameter(target), &target, |b, &target| {
            b.iter(|| {
                let mut r = Resampler::new(Timeframe::M1, target).unwrap();
                let mut bars = 0usize;
                for c in black_box(candles) {
                    bars += r.push(*c).unwrap().into_iter().count();
                }
                bars
            })
        });
    }
    g.finish();
}

fn csv_benches(c: &mut Criterion) {
    let text = workload_csv(candles());
    eprintln!("csv: {BARS} rows, {:.1} MB", text.len() as f64 / 1e6);
    let mut g = group(c, "csv");
    g.measurement_time(Duration::from_secs(4));
    let rows = |r: &Result<CsvRecord, _>| matches!(r, Ok(CsvRecord::Row(_)));
    g.bench_function("parse", |b| b.iter(|| assert_eq!(CsvReader::new(black_box(text.as_bytes())).unwrap().filter(rows).count(), BARS)));
    // Issue 23: the hand-written parser against the csv crate, with the same timestamp
    // and number parsing after it (the crate splits fields; what a field means is ours).
    g.bench_function("parse_csv_crate", |b| b.iter(|| assert_eq!(csv_crate_rows(black_box(text.as_bytes())), BARS)));
    g.bench_function("parse_validate", |b| {
        b.iter(|| {
            let report = import_csv(black_box(text.as_bytes()), Timeframe::M1, None, CsvLimits::default()).unwrap();
            assert_eq!(report.accepted.len(), BARS);
            report
        })
    });
    // The load as `tradpal backtest --data` does it: a file (in the page cache) through a
    // 1 MiB BufReader, parsed and validated.
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), &text).expect("write the CSV");
    g.bench_function("load_file", |b| {
        b.iter(|| {
            let f = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file.path()).expect("open"));
            let report = import_csv(f, Timeframe::M1, None, CsvLimits::default()).unwrap();
            assert_eq!(report.accepted.len(), BARS);
            report
        })
    });
    g.finish();
    let mut g = group(c, "synth");
    g.bench_function("generate_1m", |b| {
        b.iter(|| synth::generate(&SynthParams { bars: BARS, seed: 1, ..SynthParams::default() }).unwrap())
    });
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("candles_csv", |b| b.iter(|| synth::candles_csv(black_box(data()))));
    g.finish();
}

/// The candles as the peers' workload writes them (scripts/peers/gen.py): prices in cents,
/// volumes to 4 decimals, RFC 3339 times. (Rounding keeps each bar's high and low
/// outside its open and close, so every row stays valid.)
fn workload_csv(candles: &[Candle]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(40 + candles.len() * 70);
    out.push_str("timestamp,open,high,low,close,volume\n");
    for c in candles {
        let _ = writeln!(out, "{},{:.2},{:.2},{:.2},{:.2},{:.4}", c.open_time, c.open, c.high, c.low, c.close, c.volume);
    }
    out
}

/// The candles of `text` through the `csv` crate: its reader splits the records (fields
/// trimmed, as ours are), [`parse_timestamp`] and [`parse_number`] read the fields.
fn csv_crate_rows(text: &[u8]) -> usize {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record).expect("an in-memory CSV") {
        let candle = || {
            let number = |i| record.get(i).and_then(parse_number);
            let open_time = parse_timestamp(record.get(0)?)?;
            Some(Candle { open_time, open: number(1)?, high: number(2)?, low: number(3)?, close: number(4)?, volume: number(5)? })
        };
        rows += usize::from(black_box(candle()).is_some());
    }
    rows
}

criterion_group! {
    name = benches;
    // No HTML charts: they cost seconds per benchmark and nobody reads them here.
    config = Criterion::default().without_plots();
    targets = indicator_benches, resample_benches, csv_benches
}
criterion_main!(benches);
