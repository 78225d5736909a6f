//! `tradpal backtest` end to end: the real binary over a real data file.

mod common;

use common::{run_cli, test_data};
use serde_json::Value;

fn backtest(extra: &[&str]) -> (i32, String, String) {
    let goog = test_data("goog-1d.csv");
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
    // The old spelling is an alias; the message names the flag by its one name.
    let (code, _, err) = backtest(&["--strategy", "sma_cross", "--cash=0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--initial-capital: must be > 0"), "{err}");
}

fn money(v: &Value) -> f64 {
    v.as_str().map_or_else(|| v.as_f64().unwrap(), |s| s.parse().unwrap())
}

/// Attribution always, Monte Carlo and the look-ahead check when asked: the buckets add
/// up to the trades' P&L (and, with the open trade, to the change in equity), the
/// percentiles are ordered, and the same seed gives the same analysis.
#[test]
fn attribution_monte_carlo_and_lookahead() {
    let args = [
        "--strategy",
        "sma_cross",
        "--param",
        "fast=10",
        "--param",
        "slow=30",
        "--json",
        "--trades",
        "--monte-carlo",
        "500",
        "--check-lookahead",
        "8",
    ];
    let (code, out, err) = backtest(&args);
    assert_eq!(code, 0, "{err}");
    let a: Value = serde_json::from_str(&out).unwrap();
    let trades = a["trades"].as_array().unwrap();
    assert!(trades.len() > 10, "{}", trades.len());
    let pnl: f64 = trades.iter().map(|t| t["pnl"].as_f64().unwrap()).sum();
    let attr = &a["attribution"];
    let total = attr["total"]["net_pnl"].as_f64().unwrap();
    assert!((total - pnl).abs() < 1e-6, "{total} vs {pnl}");
    assert_eq!(attr["total"]["trades"].as_u64().unwrap() as usize, trades.len());
    for key in ["by_symbol", "by_side", "by_source", "by_month"] {
        let buckets = attr[key].as_object().unwrap();
        let sum: f64 = buckets.values().map(|b| b["net_pnl"].as_f64().unwrap()).sum();
        let n: u64 = buckets.values().map(|b| b["trades"].as_u64().unwrap()).sum();
        assert!((sum - total).abs() < 1e-6, "{key}: {sum} vs {total}");
        assert_eq!(n as usize, trades.len(), "{key}");
    }
    assert_eq!(attr["by_source"].as_object().unwrap().keys().collect::<Vec<_>>(), ["sma_cross"]);
    // Each month's count is the trades exiting in it.
    for (month, b) in attr["by_month"].as_object().unwrap() {
        let n = trades.iter().filter(|t| t["exit_time"].as_str().unwrap().starts_with(month.as_str())).count();
        assert_eq!(b["trades"].as_u64().unwrap() as usize, n, "{month}");
    }
    // Closed P&L plus the open trade is what the equity gained.
    let open = a["open_trade"].get("pnl").and_then(Value::as_f64).unwrap_or(0.0);
    let gained = money(&a["final_equity"]) - money(&a["starting_cash"]);
    assert!((total + open - gained).abs() < 0.01, "{total} + {open} vs {gained}");
    assert!(!attr["drawdowns"].as_array().unwrap().is_empty());

    let mc = &a["monte_carlo"];
    assert_eq!(
        (&mc["status"], &mc["runs"], &mc["method"]),
        (&Value::from("completed"), &Value::from(500), &Value::from("bootstrap")),
        "{mc}"
    );
    for key in ["final_return", "max_drawdown"] {
        let d = &mc[key];
        let v: Vec<f64> = ["min", "p5", "p25", "p50", "p75", "p95", "max"].iter().map(|p| d[*p].as_f64().unwrap()).collect();
        assert!(v.windows(2).all(|w| w[0] <= w[1]) && v[0] < v[6], "{key}: {d}");
    }
    let p_loss = mc["probability_of_loss"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p_loss));
    assert!((mc["original"]["final_return"].as_f64().unwrap() - pnl / money(&a["starting_cash"])).abs() < 1e-9);

    let la = &a["lookahead"];
    assert_eq!((&la["status"], &la["passed"], &la["checks_run"]), (&Value::from("completed"), &Value::from(true), &Value::from(8)), "{la}");

    let (_, again, _) = backtest(&args);
    let b: Value = serde_json::from_str(&again).unwrap();
    assert_eq!((&a["monte_carlo"], &a["lookahead"], &a["attribution"]), (&b["monte_carlo"], &b["lookahead"], &b["attribution"]));
    let (_, seeded, _) = backtest(&[&args[..], &["--seed", "9"]].concat());
    let c: Value = serde_json::from_str(&seeded).unwrap();
    assert_ne!(a["monte_carlo"]["final_return"], c["monte_carlo"]["final_return"], "another seed, other draws");
    assert_eq!(a["attribution"], c["attribution"]);

    // The text output, and flags out of range.
    let (code, text, err) =
        backtest(&["--strategy", "sma_cross", "--monte-carlo", "200", "--monte-carlo-method", "permutation", "--check-lookahead"]);
    assert_eq!(code, 0, "{err}");
    for line in ["P&L by side", "long", "short", "monte carlo     200 permutation runs", "p95", "look-ahead      passed: 20 bars checked"] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    let (code, _, err) = backtest(&["--strategy", "sma_cross", "--monte-carlo", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--monte-carlo-runs must be in 1..=10000"), "{err}");
    let (code, _, err) = backtest(&["--strategy", "sma_cross", "--check-lookahead", "999"]);
    assert_eq!(code, 2);
    assert!(err.contains("--lookahead-checks must be in 1..=200"), "{err}");
}

/// `--check-lookahead` as a CI gate: a passing check exits 0 (a failing one exits 1: no
/// built-in strategy peeks, so that side is a unit test in src/cli/backtest_analysis.rs),
/// and `--help` says so.
#[test]
fn lookahead_check_exit_code_is_documented() {
    let (code, out, err) = backtest(&["--strategy", "rsi_reversion", "--json", "--check-lookahead", "5"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["lookahead"]["passed"], true, "{}", doc["lookahead"]);
    let (code, help, err) = run_cli(&["backtest", "--help"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(help.contains("exits 1") && help.contains("CI gate"), "{help}");
}
