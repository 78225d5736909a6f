//! `tradpal optimize` and `tradpal walk-forward` end to end: the real binary over a real
//! data file.

mod common;

use common::{run_cli, test_data};
use serde_json::Value;

fn cli(command: &str, extra: &[&str]) -> (i32, String, String) {
    let goog = test_data("goog-1d.csv");
    let mut args = vec![command, "--data", goog.to_str().unwrap(), "--timeframe", "1d", "--strategy", "sma_cross"];
    args.extend_from_slice(extra);
    run_cli(&args, &[])
}

#[test]
fn optimize_json_is_deterministic_across_threads() {
    let args = ["--range", "fast=5:15:5", "--range", "slow=20:40:10", "--json"];
    let (code, out, err) = cli("optimize", &[&args[..], &["--threads", "1"]].concat());
    assert_eq!(code, 0, "{err}");
    let a: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(a["trials"], 9);
    assert_eq!(a["in_sample"]["bars"], 1503);
    assert_eq!(a["out_of_sample"]["first_bar"], 1503);
    assert!(a["out_of_sample_metrics"]["sharpe_ratio"].is_number());
    let (_, again, _) = cli("optimize", &[&args[..], &["--threads", "2"]].concat());
    let b: Value = serde_json::from_str(&again).unwrap();
    for k in ["best_params", "in_sample_score", "out_of_sample_score", "top"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    // Periods are whole numbers of bars, and the report writes them so.
    assert!(a["best_params"]["fast"].is_u64() && a["best_params"]["slow"].is_u64(), "{}", a["best_params"]);
}

#[test]
fn walk_forward_summary_and_bad_input() {
    let (code, out, err) =
        cli("walk-forward", &["--range", "fast=5:15:5", "--range", "slow=20:40:20", "--train-bars", "500", "--test-bars", "300"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("5 rolling windows") && out.contains("stitched out-of-sample"), "{out}");
    let (code, _, err) = cli("optimize", &["--range", "fast=5:30:0"]);
    assert_eq!(code, 2);
    assert!(err.contains("step must be"), "{err}");
    let (code, _, err) = cli("optimize", &["--range", "fast=5:30:5", "--objective", "sharp"]);
    assert_eq!(code, 2);
    assert!(err.contains("choices: sharpe_ratio"), "{err}");
}
