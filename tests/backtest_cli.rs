//! `tradpal backtest` end to end: the real binary over a real data file.

mod common;

use common::{run_cli, shared_data};
use serde_json::Value;

fn backtest(extra: &[&str]) -> (i32, String, String) {
    let goog = shared_data("goog-1d.csv");
    let mut args = vec!["backtest", "--data", goog.to_str().unwrap(), "--timeframe", "1d"];
    args.extend_from_slice(extra);
    run_cli(&args, &[])
}

#[test]
fn json_report_is_deterministic_and_complete() {
    let args = ["--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30", "--json", "--trades"];
    let (code, out, err) = backtest(&args);
    assert_eq!(code, 0, "{err}");
    let a: Value = serde_json::from_str(&out).unwrap();
    for field in ["total_return", "cagr", "sharpe_ratio", "max_drawdown", "number_of_trades", "win_rate"] {
        assert!(a["metrics"].get(field).is_some(), "metrics.{field} in {out}");
    }
    assert_eq!(a["metrics"]["bars"], 2148);
    assert_eq!(a["strategy_spec"]["params"]["slow"], 30.0);
    assert_eq!(a["trades"].as_array().unwrap().len() as u64, a["metrics"]["number_of_trades"].as_u64().unwrap());
    assert!(a["bars_per_second"].as_f64().unwrap() > 0.0);
    let (_, again, _) = backtest(&args);
    let b: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(a["event_stream_hash"], b["event_stream_hash"]);
    assert_eq!(a["metrics"], b["metrics"]);
    let (_, seeded, _) = backtest(&[&args[..], &["--seed", "9"]].concat());
    let c: Value = serde_json::from_str(&seeded).unwrap();
    assert_ne!(a["event_stream_hash"], c["event_stream_hash"]);
    assert_eq!(a["metrics"], c["metrics"], "the seed only names the orders");
}

#[test]
fn summary_and_costs() {
    let (code, out, err) = backtest(&["--strategy", "buy_and_hold", "--commission", "0", "--slippage-bps", "0"]);
    assert_eq!(code, 0, "{err}");
    for line in ["total return", "CAGR", "Sharpe", "max drawdown", "trades", "win rate", "bars/s"] {
        assert!(out.contains(line), "{line} in {out}");
    }
    assert!(out.contains("fees 0)"), "no commission: {out}");
}

#[test]
fn bad_arguments_exit_2_with_the_reason() {
    let (code, _, err) = backtest(&["--strategy", "moon"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown strategy \"moon\"") && err.contains("sma_cross (fast=10, slow=20"), "{err}");
    let (code, _, err) = backtest(&["--strategy", "sma_cross", "--param", "fast=20"]);
    assert_eq!(code, 2);
    assert!(err.contains("fast (20) must be shorter than slow (20)"), "{err}");
    let (code, _, err) = backtest(&["--strategy", "sma_cross", "--param", "speed=3"]);
    assert_eq!(code, 2);
    assert!(err.contains("no parameter \"speed\""), "{err}");
    let (code, _, err) = backtest(&["--strategy", "sma_cross", "--cash=0"]);
    assert_eq!(code, 2);
    assert!(err.contains("starting_cash"), "{err}");
}
