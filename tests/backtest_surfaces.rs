//! `tradpal backtest`'s surfaces end to end, with the real binary over real data files:
//! the HTML report and the equity SVG, the progress bar, `--symbol` from the data
//! directory's store (same result as `--data` on the same CSV), and the
//! `backtest optimize` spelling.

mod common;

use common::{run_cli, test_data};
use serde_json::Value;

fn goog() -> String {
    test_data("goog-1d.csv").to_str().unwrap().to_string()
}

#[test]
fn html_report_and_equity_svg() {
    let dir = tempfile::tempdir().unwrap();
    let (html, svg) = (dir.path().join("r.html"), dir.path().join("e.svg"));
    let args = [
        "backtest",
        "--data",
        &goog(),
        "--timeframe",
        "1d",
        "--strategy",
        "sma_cross",
        "--param",
        "fast=5",
        "--param",
        "slow=15",
        "--json",
        "--report",
        html.to_str().unwrap(),
        "--equity-svg",
        svg.to_str().unwrap(),
    ];
    let (code, out, err) = run_cli(&args, &[]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let trades = r["metrics"]["number_of_trades"].as_u64().unwrap();
    assert!(trades > 0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert_eq!(page.matches("<svg").count(), 3, "equity, drawdown, monthly heat map");
    assert_eq!(page.matches("</svg>").count(), 3);
    assert!(!page.contains("http") && !page.contains("<script"), "self-contained: no URL, no script");
    assert!(page.contains(&format!("data-trades-total=\"{trades}\"")));
    assert_eq!(page.matches("class=\"trade\"").count() as u64, trades.min(200));
    // One heat-map cell per month of the run.
    let months = page.matches("class=\"month\"").count();
    assert!(months >= 12 * 8, "goog-1d spans years: {months} months");
    assert!(page.contains("sharpe_ratio") && page.contains(r["event_stream_hash"].as_str().unwrap()));
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert!(svg.contains("<path d=\"M"));
    let (code, _, err) = run_cli(
        &["backtest", "--data", &goog(), "--timeframe", "1d", "--strategy", "buy_and_hold", "--report", "/nonexistent-dir/r.html"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("cannot write /nonexistent-dir/r.html"), "{err}");
}

#[test]
fn progress_bar_only_when_asked_or_on_a_terminal() {
    let base = ["backtest", "--data", &goog(), "--timeframe", "1d", "--strategy", "buy_and_hold"];
    let (code, _, err) = run_cli(&base, &[]);
    assert_eq!((code, err.as_str()), (0, ""), "not a terminal: nothing on stderr");
    let (code, _, err) = run_cli(&[&base[..], &["--progress"]].concat(), &[]);
    assert_eq!(code, 0);
    assert!(err.contains("backtest [") && err.contains("100.0% (2148/2148 bars)"), "{err}");
    let (code, _, err) = run_cli(&[&base[..], &["--quiet"]].concat(), &[]);
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn backtest_optimize_is_optimize() {
    let tail = [
        "--data",
        &goog(),
        "--timeframe",
        "1d",
        "--strategy",
        "sma_cross",
        "--range",
        "fast=5:15:5",
        "--range",
        "slow=20:40:10",
        "--json",
        "--progress",
    ];
    let (code, a, err) = run_cli(&[&["backtest", "optimize"][..], &tail].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("100.0% (11/11 runs)"), "9 grid points and the best point's two runs: {err}");
    let (code, b, err) = run_cli(&[&["optimize"][..], &tail].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let strip = |s: &str| {
        let mut v: Value = serde_json::from_str(s).unwrap();
        v.as_object_mut().unwrap().remove("elapsed_seconds");
        v
    };
    let (a, b) = (strip(&a), strip(&b));
    assert_eq!(a, b);
    assert_eq!(a["trials"], 9);
}

#[test]
fn symbol_from_the_store_equals_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let (code, out, err) = run_cli(&["data", "import", "--data-dir", d, "--symbol", "GOOG/USDT", "--timeframe", "1d", &goog()], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let strat = ["--timeframe", "1d", "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30", "--json"];
    let (code, from_csv, err) = run_cli(&[&["backtest", "--data", &goog(), "--symbol", "GOOG/USDT"][..], &strat].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let (code, from_store, err) = run_cli(&[&["backtest", "--symbol", "GOOG/USDT", "--data-dir", d][..], &strat].concat(), &[]);
    assert_eq!(code, 0, "{err}");
    let (a, b): (Value, Value) = (serde_json::from_str(&from_csv).unwrap(), serde_json::from_str(&from_store).unwrap());
    assert_eq!(a["metrics"]["bars"], 2148);
    assert_eq!(a["event_stream_hash"], b["event_stream_hash"]);
    assert_eq!(a["metrics"], b["metrics"]);

    // A date range of the store.
    let (code, out, err) = run_cli(
        &[&["backtest", "--symbol", "GOOG/USDT", "--data-dir", d, "--start", "2010-01-01", "--end", "2011-01-01"][..], &strat].concat(),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let bars = r["metrics"]["bars"].as_u64().unwrap();
    assert!((240..=260).contains(&bars), "one year of trading days: {bars}");
    assert!(
        r["metrics"]["start"].as_str().unwrap() >= "2010-01-01" && r["metrics"]["end"].as_str().unwrap() <= "2011-01-01T00:00:00Z",
        "{}",
        r["metrics"]
    );

    // Clear errors: an unknown symbol, a bad date, neither --data nor --symbol.
    let (code, _, err) = run_cli(&[&["backtest", "--symbol", "DOGE/USDT", "--data-dir", d][..], &strat].concat(), &[]);
    assert_eq!(code, 1);
    assert!(err.contains("DOGE/USDT"), "{err}");
    let (code, _, err) = run_cli(&[&["backtest", "--symbol", "GOOG/USDT", "--data-dir", d, "--start", "soon"][..], &strat].concat(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--start"), "{err}");
    let (code, _, err) = run_cli(&[&["backtest"][..], &strat].concat(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--data FILE.csv, or --symbol"), "{err}");
}
