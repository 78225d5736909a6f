//! Numbers a quant can trust (issue 17), on the real binary and the repository's files:
//! calendar-time CAGR and observed annualisation, a timeframe that must match the bars,
//! settings that reach backtests, and one vocabulary across CLI and HTTP.

mod common;

use common::{run_cli, test_data};
use serde_json::Value;

fn backtest_json(file: &str, extra: &[&str], env: &[(&str, &str)]) -> Value {
    let path = test_data(file);
    let mut args = vec!["backtest", "--data", path.to_str().unwrap(), "--json", "--quiet"];
    args.extend_from_slice(extra);
    let (code, out, err) = run_cli(&args, env);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn cagr_comes_from_calendar_time_and_sharpe_from_observed_bars() {
    // GOOG daily: trading days only, 8.5 calendar years.
    let r = backtest_json("goog-1d.csv", &["--strategy", "buy_and_hold", "--symbol", "GOOG/USDT"], &[]);
    let m = &r["metrics"];
    let a = &m["annualisation"];
    let years = num(&a["years"]);
    assert!((8.4..8.6).contains(&years), "{a}");
    let expected = (1.0 + num(&m["total_return"])).powf(1.0 / years) - 1.0;
    assert!((num(&m["cagr"]) - expected).abs() < 1e-12, "CAGR {} vs calendar {expected}", m["cagr"]);
    // About 252 trading days a year, observed, not 365.
    let ppy = num(&a["periods_per_year"]);
    assert!((245.0..260.0).contains(&ppy), "{a}");
    assert_eq!(a["calendar"], "observed");
    // A declared calendar is used as declared and stated.
    let eq = backtest_json("goog-1d.csv", &["--strategy", "buy_and_hold", "--symbol", "GOOG/USDT", "--calendar", "equities_252"], &[]);
    assert_eq!((num(&eq["metrics"]["annualisation"]["periods_per_year"]), &eq["metrics"]["cagr"]), (252.0, &m["cagr"]));
    // EUR/USD 1h: 24/5, about 6,200 bars a year (not 8,760).
    let fx = backtest_json("eurusd-1h.csv", &["--strategy", "buy_and_hold", "--participation", "none"], &[]);
    let ppy = num(&fx["metrics"]["annualisation"]["periods_per_year"]);
    assert!((5_800.0..6_500.0).contains(&ppy), "{}", fx["metrics"]["annualisation"]);
}

#[test]
fn a_timeframe_finer_than_the_data_is_refused_and_a_missing_one_inferred() {
    let goog = test_data("goog-1d.csv");
    let (code, _, err) = run_cli(&["backtest", "--data", goog.to_str().unwrap(), "--timeframe", "1h", "--strategy", "buy_and_hold"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bars are 1d apart") && err.contains("--timeframe 1d"), "{err}");
    let (code, _, err) = run_cli(&["indicators", goog.to_str().unwrap(), "--timeframe", "1m"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bars are 1d apart"), "{err}");
    let (code, _, err) = run_cli(&["regime", "evaluate", "--data", goog.to_str().unwrap(), "--timeframe", "1h"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bars are 1d apart"), "{err}");
    let r = backtest_json("goog-1d.csv", &["--strategy", "buy_and_hold"], &[]);
    assert_eq!(r["timeframe"], "1d");
    let (code, out, err) = run_cli(&["indicators", goog.to_str().unwrap(), "--names", "sma_20"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2149, "header + every bar");
}

#[test]
fn settings_reach_backtests_and_flags_win() {
    let args = ["--strategy", "sma_cross", "--symbol", "GOOG/USDT"];
    let base = backtest_json("goog-1d.csv", &args, &[]);
    // TRANSACTION_COSTS and RISK_FREE_RATE act when no flag is given...
    let env = [("TRANSACTION_COSTS", "0.0"), ("RISK_FREE_RATE", "0.1")];
    let set = backtest_json("goog-1d.csv", &args, &env);
    assert_eq!(num(&set["fees_paid"]), 0.0, "TRANSACTION_COSTS=0: no fees");
    assert!(num(&base["fees_paid"]) > 0.0);
    assert!(num(&set["metrics"]["sharpe_ratio"]) < num(&base["metrics"]["sharpe_ratio"]) - 0.1, "a 10% risk-free rate lowers Sharpe");
    // ... and the flag wins over the setting.
    let flag = backtest_json("goog-1d.csv", &[&args[..], &["--commission", "0.001", "--risk-free-rate", "0.02"]].concat(), &env);
    assert_eq!(flag["event_stream_hash"], base["event_stream_hash"]);
    assert_eq!(flag["metrics"]["sharpe_ratio"], base["metrics"]["sharpe_ratio"]);
}

#[test]
fn one_vocabulary_old_names_are_aliases() {
    let a = backtest_json("goog-1d.csv", &["--strategy", "sma_cross", "--initial-capital", "5000", "--monte-carlo-runs", "20"], &[]);
    let b = backtest_json("goog-1d.csv", &["--strategy", "sma_cross", "--cash", "5000", "--monte-carlo", "20"], &[]);
    assert_eq!(a["event_stream_hash"], b["event_stream_hash"]);
    assert_eq!(a["monte_carlo"], b["monte_carlo"]);
    assert_eq!(num(&a["starting_cash"]), 5000.0);
    // A fixed quantity, no volume cap, and entry on the first cross.
    let q = backtest_json(
        "eurusd-1h.csv",
        &["--strategy", "sma_cross", "--quantity", "1000", "--participation", "none", "--param", "entry=cross", "--trades"],
        &[],
    );
    let trades = q["trades"].as_array().unwrap();
    assert!(trades.len() > 100 && trades.iter().all(|t| num(&t["quantity"]) == 1000.0), "{} trades", trades.len());
    // With the default participation (1 of the bar's tick volume) the same orders split.
    let capped = backtest_json("eurusd-1h.csv", &["--strategy", "sma_cross", "--quantity", "1000000"], &[]);
    let none = backtest_json("eurusd-1h.csv", &["--strategy", "sma_cross", "--quantity", "1000000", "--participation", "none"], &[]);
    assert!(num(&capped["counts"]["fills"]) > num(&none["counts"]["fills"]), "{} vs {}", capped["counts"], none["counts"]);
}

fn journal_records(dir: &std::path::Path) -> usize {
    // TRADPAL_DATA_DIR is honoured by the journal commands as by every other.
    let (code, out, err) = run_cli(&["journal", "dump"], &[("TRADPAL_DATA_DIR", dir.to_str().unwrap())]);
    assert_eq!(code, 0, "{err}");
    out.lines().count()
}

#[test]
fn whatever_imports_backtests_and_reads_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("TRADPAL_DATA_DIR", dir.path().to_str().unwrap())];
    let goog = test_data("goog-1d.csv");
    let (code, _, err) = run_cli(&["data", "import", "--symbol", "GOOG/USD", "--timeframe", "1d", goog.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{err}");
    let before = journal_records(dir.path());
    // A stock quoted in USD runs on an account in USD.
    let (code, out, err) =
        run_cli(&["backtest", "--symbol", "GOOG/USD", "--timeframe", "1d", "--strategy", "buy_and_hold", "--json", "--quiet"], &env);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["metrics"]["bars"], 2148);
    // A failed read too.
    let (code, _, err) = run_cli(&["backtest", "--symbol", "MSFT/USD", "--timeframe", "1d", "--strategy", "buy_and_hold"], &env);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("MSFT/USD"), "{err}");
    assert_eq!(journal_records(dir.path()), before, "a read appended to the journal");
    // Importing daily bars as hourly ones is refused up front.
    let (code, _, err) = run_cli(&["data", "import", "--symbol", "GOOG/USD", "--timeframe", "1h", goog.to_str().unwrap()], &env);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bars are 1d apart"), "{err}");
}

/// `tradpal indicators f.csv | head`: the reader going away is not an error (exit 0,
/// nothing on stderr; it was a panic, exit 101).
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let goog = test_data("goog-1d.csv");
    let mut child = Command::new(common::bin())
        .args(["indicators", goog.to_str().unwrap()])
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// `data import` while the service holds the journal says what to do, once.
#[test]
fn data_import_while_the_service_runs_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(dir.path(), &[]);
    let goog = test_data("goog-1d.csv");
    let env = [("TRADPAL_DATA_DIR", dir.path().to_str().unwrap())];
    let (code, _, err) = run_cli(&["data", "import", "--symbol", "GOOG/USD", "--timeframe", "1d", goog.to_str().unwrap()], &env);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("open in another process") && err.contains("POST /api/data/candles"), "{err}");
    assert_eq!(err.matches("error:").count(), 1, "said once: {err}");
    drop(server);
}

/// BACKTEST_START_DATE / END_DATE, when configured, are the range a stored backtest
/// without dates runs over; unconfigured, the whole stored range.
#[test]
fn configured_backtest_dates_act() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let goog = test_data("goog-1d.csv");
    let (code, _, err) = run_cli(
        &["data", "import", "--symbol", "GOOG/USD", "--timeframe", "1d", goog.to_str().unwrap()],
        &[("TRADPAL_DATA_DIR", data_dir)],
    );
    assert_eq!(code, 0, "{err}");
    let run = |env: &[(&str, &str)]| {
        let mut e = vec![("TRADPAL_DATA_DIR", data_dir)];
        e.extend_from_slice(env);
        let (code, out, err) =
            run_cli(&["backtest", "--symbol", "GOOG/USD", "--timeframe", "1d", "--strategy", "buy_and_hold", "--json", "--quiet"], &e);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    assert_eq!(run(&[])["metrics"]["bars"], 2148, "unconfigured: every stored bar");
    let cut = run(&[("BACKTEST_START_DATE", "2010-01-01"), ("BACKTEST_END_DATE", "2011-01-01")]);
    let bars = cut["metrics"]["bars"].as_u64().unwrap();
    assert!((240..=260).contains(&bars), "one year of trading days: {bars}");
    assert!(cut["metrics"]["start"].as_str().unwrap().starts_with("2010-01"), "{}", cut["metrics"]);
}
