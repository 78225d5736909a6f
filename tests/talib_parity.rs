//! `tradpal indicators` against TA-Lib (PyPI `TA-Lib`, installed by the test command:
//! its wheels bundle the C library) on the repository's real files, row for row: SMA 20,
//! EMA 20, RSI 14, MACD 12/26/9, Bollinger 20/2 and ATR 14, the six the README compares
//! for speed and the issue says "equal TA-Lib's values".
//!
//! Equal means: every row where TA-Lib has a value, ours has one within
//! [`RELATIVE_MAX`] of the row's scale, and every warm-up row is a warm-up row on both
//! sides. One difference is by design and asserted as such: our MACD line exists from
//! row `slow - 1` (25), TA-Lib reports all three MACD outputs only once the signal does
//! (row 33); the line's values there are the ones TA-Lib's signal is seeded from.
//!
//! Why a real peer and not stored numbers: a kernel rewritten for speed (the indicator
//! rounds of issue 22) or a definition changed (MACD's fast EMA start) must still match
//! what traders check us against, and this test is where it would show.

mod common;

use common::{run_cli, test_data};
use serde_json::Value;
use std::process::Command;

/// The columns both sides compute, by tradpal's names.
const COLUMNS: [&str; 10] =
    ["sma_20", "ema_20", "rsi_14", "macd_line", "macd_signal", "macd_hist", "bb_upper", "bb_middle", "bb_lower", "atr_14"];

/// Largest difference allowed, relative to the value plus the row's close: the kernels
/// round differently (fused multiply-adds, a running sum) but compute the same
/// definitions; those differ by 1e-16 to 1e-11 of the price here, while a definition
/// change (a seed one bar off) moves values by 1e-5 of it and more.
const RELATIVE_MAX: f64 = 1e-12;

/// MACD's line: rows where ours has a value and TA-Lib's is still warming up.
const MACD_LINE_EARLY: std::ops::Range<usize> = 25..33;

fn talib(file: &str) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/talib_indicators.py");
    let out = Command::new("python3").arg(&script).arg(test_data(file)).output().expect("python3");
    assert!(
        out.status.success(),
        "TA-Lib run failed (the test command installs it: pip install TA-Lib): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ours(file: &str) -> Value {
    let path = test_data(file);
    let (code, out, err) = run_cli(&["indicators", path.to_str().unwrap(), "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn closes(file: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(test_data(file)).unwrap();
    text.lines().skip(1).map(|l| l.split(',').nth(4).unwrap().parse().unwrap()).collect()
}

/// Row-by-row comparison of one column; returns the largest relative difference.
fn compare(file: &str, name: &str, ours: &[Value], theirs: &[Value], closes: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len(), "{file} {name}: row count");
    let mut worst = 0.0f64;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        match (a.as_f64(), b.as_f64()) {
            (None, None) => {}
            (Some(_), None) if name == "macd_line" && MACD_LINE_EARLY.contains(&i) => {}
            (Some(a), Some(b)) => {
                let relative = (a - b).abs() / (b.abs() + closes[i].abs());
                assert!(relative <= RELATIVE_MAX, "{file} {name} row {i}: ours {a}, TA-Lib {b} ({relative:.1e} of the scale)");
                worst = worst.max(relative);
            }
            (a, b) => panic!("{file} {name} row {i}: ours {a:?}, TA-Lib {b:?} (a warm-up row on one side only)"),
        }
    }
    worst
}

#[test]
fn six_indicators_equal_talib_on_every_row_of_four_real_markets() {
    // A minute future at ~40,000, a daily stock with a split-unadjusted history, an hourly
    // FX pair near 1.1, and an altcoin at ~0.002 with 538 missing minutes.
    for file in ["btcperp-1m.csv", "goog-1d.csv", "eurusd-1h.csv", "altbtc-1m-gaps.csv"] {
        let (o, t, closes) = (ours(file), talib(file), closes(file));
        assert_eq!(t["rows"].as_u64(), Some(closes.len() as u64), "{file}: TA-Lib read every row");
        let mut report = Vec::new();
        for name in COLUMNS {
            let (a, b) = (o["columns"][name].as_array(), t["columns"][name].as_array());
            let (a, b) = (a.unwrap_or_else(|| panic!("{file}: ours lacks {name}")), b.unwrap());
            // A column of nothing but warm-up would compare nothing.
            assert!(b.iter().filter(|v| v.is_number()).count() + 40 > closes.len(), "{file} {name}: TA-Lib gave values");
            report.push(format!("{name} {:.0e}", compare(file, name, a, b, &closes)));
        }
        let early: Vec<bool> = MACD_LINE_EARLY.map(|i| o["columns"]["macd_line"][i].is_number()).collect();
        assert!(early.iter().all(|x| *x), "{file}: our MACD line starts at row 25");
        println!("{file} (TA-Lib {}): {}", t["talib"], report.join(", "));
    }
}
