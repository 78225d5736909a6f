//! TradPal's `sma_cross` against backtesting.py's `SmaCross` (installed from PyPI by the
//! test command) on the repository's real files: the trades must be the same ones.
//!
//! Both sides: no commission, no slippage, no volume cap (`--participation none`),
//! orders decided on a bar's close fill at the next bar's open, entries wait for the
//! first cross (`entry=cross`, backtesting.py's `crossover`).
//!
//! - With a fixed size (`--quantity`, backtesting.py `size=`), every trade is equal:
//!   side, entry and exit time and price, size and P&L, and the final equity.
//! - With full equity in whole units, the trades are the same round trips (side, times,
//!   prices). Their sizes differ by design, and the test measures by how much:
//!   backtesting.py sizes at the fill (99.99% of equity at the next open), an
//!   event-driven engine at the decision (the whole equity at the close it decided on), so
//!   they differ by the overnight move, a few percent at most.

mod common;

use common::{run_cli, test_data};
use serde_json::Value;
use std::process::Command;

fn peer(file: &str, quantity: Option<u32>) -> Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/backtesting_sma_cross.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script).arg(test_data(file)).args(["10", "20", "100000"]);
    if let Some(q) = quantity {
        cmd.arg(q.to_string());
    }
    let out = cmd.output().expect("python3");
    assert!(
        out.status.success(),
        "backtesting.py run failed (the test command installs it: pip install backtesting): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ours(file: &str, quantity: Option<u32>) -> Value {
    let path = test_data(file);
    let q = quantity.map(|q| q.to_string());
    let mut args = vec!["backtest", "--data", path.to_str().unwrap(), "--symbol", "PEER/USDT", "--strategy", "sma_cross"];
    args.extend(["--param", "fast=10", "--param", "slow=20", "--param", "entry=cross", "--commission", "0", "--slippage-bps", "0"]);
    args.extend(["--participation", "none", "--initial-capital", "100000", "--whole-units", "--json", "--trades", "--quiet"]);
    if let Some(q) = &q {
        args.extend(["--quantity", q.as_str()]);
    }
    let (code, out, err) = run_cli(&args, &[]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// (side, entry time, exit time, entry price, exit price) of every closed trade.
fn round_trips(trades: &Value, qty_field: &str) -> Vec<(String, String, String, f64, f64, f64)> {
    trades
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["side"].as_str().unwrap().to_string(),
                t["entry_time"].as_str().unwrap().to_string(),
                t["exit_time"].as_str().unwrap().to_string(),
                t["entry_price"].as_f64().unwrap(),
                t["exit_price"].as_f64().unwrap(),
                t[qty_field].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn fixed_size_trades_equal_backtesting_py_on_stock_and_fx() {
    for (file, q, trades_min) in [("goog-1d.csv", 10, 50), ("eurusd-1h.csv", 1000, 100)] {
        let (p, o) = (peer(file, Some(q)), ours(file, Some(q)));
        let (pt, ot) = (round_trips(&p["trades"], "size"), round_trips(&o["trades"], "quantity"));
        assert!(pt.len() >= trades_min, "{file}: the peer made {} trades", pt.len());
        assert_eq!(ot, pt, "{file}: every trade equal");
        for (a, b) in p["trades"].as_array().unwrap().iter().zip(o["trades"].as_array().unwrap()) {
            assert!((a["pnl"].as_f64().unwrap() - b["pnl"].as_f64().unwrap()).abs() < 1e-6, "{file}: {a} vs {b}");
        }
        // The final equity includes the open trade at the last close on both sides.
        let num = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap();
        let (pe, oe) = (num(&p["final_equity"]), num(&o["final_equity"]));
        assert!((pe - oe).abs() < 1e-6, "{file}: final equity {pe} vs {oe}");
    }
}

#[test]
fn full_equity_makes_the_same_round_trips_sized_at_the_decision() {
    for file in ["goog-1d.csv", "eurusd-1h.csv"] {
        let (p, o) = (peer(file, None), ours(file, None));
        let (pt, ot) = (round_trips(&p["trades"], "size"), round_trips(&o["trades"], "quantity"));
        assert_eq!(ot.len(), pt.len(), "{file}: trade count");
        let mut worst = 0.0f64;
        for (a, b) in pt.iter().zip(&ot) {
            assert_eq!((&a.0, &a.1, &a.2, a.3, a.4), (&b.0, &b.1, &b.2, b.3, b.4), "{file}: same round trip");
            worst = worst.max((a.5 - b.5).abs() / a.5);
        }
        // Sized at the close before the fill instead of at the fill: the overnight (or
        // next-hour) move, never a different order of magnitude.
        assert!(worst < 0.1, "{file}: sizes differ by up to {:.2}%", worst * 100.0);
        println!("{file}: {} round trips equal; sizes differ by up to {:.2}%", ot.len(), worst * 100.0);
    }
}
