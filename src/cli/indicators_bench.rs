//! `tradpal indicators FILE --bench RUNS`: the indicator kernels timed the way
//! `scripts/peers/bench_talib.py` times TA-Lib, for the "as fast as TA-Lib" comparison
//! of `scripts/compare-peers.sh` (`TALIB=1`).
//!
//! Same method on both sides, so the two lines compare: the file's closes (and highs and
//! lows) gathered into plain `f64` arrays before timing, one untimed call first (page
//! faults, lazy set-up), then `RUNS` timed calls of each indicator at TA-Lib's default
//! parameters; the best is reported in milliseconds (the machine is shared: the minimum
//! is the least disturbed). Each call allocates and writes its output columns, as a
//! TA-Lib call allocates its numpy arrays. Our Bollinger writes five columns (%B and
//! width besides TA-Lib's three); ATR is timed over the three series (TA-Lib's input)
//! and over the candles (`atr_14_candles`, what `compute_all` reads), and `compute_all`
//! (every column of the indicator table) last.
// A benchmark: timing is what it measures.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;
use tradpal_actors::market_data::compute_all;
use tradpal_actors::market_data::indicators::{
    atr_column, atr_column_hlc, bollinger_columns, ema_column, macd_columns, rsi_column, sma_column,
};
use tradpal_messages::Candle;

/// Most timed calls per indicator (`--bench`): a bound on how long one run can take.
pub const BENCH_RUNS_MAX: usize = 1_000;

/// The best of `runs` timed calls of `f` after one untimed call, in milliseconds
/// (rounded to microseconds).
fn best_ms<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    black_box(f());
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best * 1e6).round() / 1e3
}

/// Times every kernel over `bars` (see the module doc); the JSON object printed after
/// `TRADPAL_INDICATORS `.
pub fn run(bars: &[Candle], runs: usize) -> serde_json::Value {
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let high: Vec<f64> = bars.iter().map(|b| b.high).collect();
    let low: Vec<f64> = bars.iter().map(|b| b.low).collect();
    let c = &close;
    // TA-Lib's six first (bench_talib.py's names), then ours alone.
    let cases: [(&str, f64); 8] = [
        ("sma_20", best_ms(runs, || sma_column(c, 20))),
        ("ema_20", best_ms(runs, || ema_column(c, 20))),
        ("rsi_14", best_ms(runs, || rsi_column(c, 14))),
        ("macd_12_26_9", best_ms(runs, || macd_columns(c, 12, 26, 9))),
        ("bbands_20_2", best_ms(runs, || bollinger_columns(c, 20, 2.0))),
        ("atr_14", best_ms(runs, || atr_column_hlc(&high, &low, c, 14))),
        ("atr_14_candles", best_ms(runs, || atr_column(bars, 14))),
        ("compute_all", best_ms(runs, || compute_all(bars))),
    ];
    let mut out = serde_json::Map::new();
    out.insert("bars".into(), bars.len().into());
    out.insert("runs".into(), runs.into());
    let all_six: f64 = cases[..6].iter().map(|(_, ms)| ms).sum();
    for (name, ms) in cases {
        out.insert(name.into(), ms.into());
    }
    out.insert("all_six".into(), ((all_six * 1e3).round() / 1e3).into());
    serde_json::Value::Object(out)
}
