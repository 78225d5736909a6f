//! Market data end to end: CSV import through the real binary (idempotent, rejections
//! named by line), then the stored candles over real HTTP (pages, resampling,
//! indicators, posting candles), surviving a restart.

mod common;

use common::*;
use serde_json::{json, Value};

fn import(dir: &std::path::Path, symbol: &str, tf: &str, file: &std::path::Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["data", "import", "--json", "--data-dir", dir.to_str().unwrap(), "--symbol", symbol, "--timeframe", tf];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    let (code, out, err) = run_cli(&args, &[]);
    let report = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, report, err)
}

#[test]
fn import_is_idempotent_and_reports_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let (code, r, err) = import(dir.path(), "BTC/USDT", "1m", &test_data("btcperp-1m.csv"), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!((r["stored"].as_bool(), r["accepted"].as_u64()), (Some(true), Some(45_031)), "{r}");
    assert_eq!(r["gaps_total"], 0);
    let (code, again, _) = import(dir.path(), "BTC/USDT", "1m", &test_data("btcperp-1m.csv"), &[]);
    assert_eq!(code, 0);
    assert_eq!((again["accepted"].as_u64(), again["duplicates_dropped"].as_u64()), (Some(0), Some(45_031)), "{again}");
    assert_eq!(again["sequences"], json!([]));

    let (code, alt, _) = import(dir.path(), "ALT/BTC", "1m", &test_data("altbtc-1m-gaps.csv"), &[]);
    assert_eq!(code, 0);
    assert_eq!((alt["accepted"].as_u64(), alt["gaps_total"].as_u64()), (Some(13_681), Some(538)), "{alt}");

    let (code, out, _) = run_cli(&["journal", "verify", "--data-dir", dir.path().to_str().unwrap(), "--json"], &[]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kinds"]["candles_ingested"], 5 + 2, "45,031 bars in 10k records + 13,681 in 2: {v}");
}

#[test]
fn a_corrupt_row_is_named_and_nothing_is_stored_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(test_data("ethbtc-5m.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 11 of the file (row 9): high below low.
    let fields: Vec<&str> = lines[10].split(',').collect();
    lines[10] = format!("{},{},{},{},{},{}", fields[0], fields[1], "0.0001", fields[3], fields[4], fields[5]);
    lines[20] = lines[20].replace(',', ";");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let data = dir.path().join("data");
    let (code, r, _) = import(&data, "ETH/BTC", "5m", &bad, &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!((r["stored"].as_bool(), r["rejected_total"].as_u64()), (Some(false), Some(2)), "{r}");
    assert_eq!(r["rejected"][0]["line"], 11, "{r}");
    assert_eq!(r["rejected"][1]["line"], 21, "{r}");
    let (code, r, _) = import(&data, "ETH/BTC", "5m", &bad, &["--keep-good"]);
    assert_eq!(code, 0);
    assert_eq!((r["stored"].as_bool(), r["accepted"].as_u64()), (Some(true), Some(5_758)), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_candles_over_http_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = import(dir.path(), "BTC/USDT", "1m", &test_data("btcperp-1m.csv"), &[]);
    assert_eq!(code, 0, "{err}");
    let server = Server::start(dir.path(), &[]);
    let c = client();
    let get = |path: &str| c.get(server.url(path)).bearer_auth(VIEWER_KEY);

    let (s, page) = send(get("/api/data/candles/BTC/USDT?timeframe=1m&limit=10&start=2022-01-01T00:00:00Z")).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["bars"].as_array().unwrap().len(), 10);
    assert_eq!(page["bars"][0]["candle"]["open_time"], "2022-01-01T00:00:00Z");
    assert_eq!(page["next_start"], "2022-01-01T00:10:00Z");

    // 4h bars resampled from 1m, checked against an independent computation.
    let (s, h4) = send(get("/api/data/candles/BTC/USDT?timeframe=4h&start=2022-01-01T00:00:00Z&end=2022-01-01T08:00:00Z")).await;
    assert_eq!(s, 200, "{h4}");
    assert_eq!(h4["source_timeframe"], "1m");
    let bars = h4["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 2);
    let text = std::fs::read_to_string(test_data("btcperp-1m.csv")).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("2022-01-01T0") && l[11..13].parse::<u32>().unwrap() < 4)
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 240);
    let high = rows.iter().map(|r| r[1]).fold(f64::MIN, f64::max);
    let low = rows.iter().map(|r| r[2]).fold(f64::MAX, f64::min);
    let volume: f64 = rows.iter().map(|r| r[4]).sum();
    let b = &bars[0]["candle"];
    assert_eq!((b["open"].as_f64().unwrap(), b["close"].as_f64().unwrap()), (rows[0][0], rows[239][3]));
    assert_eq!((b["high"].as_f64().unwrap(), b["low"].as_f64().unwrap()), (high, low));
    assert!((b["volume"].as_f64().unwrap() - volume).abs() < 1e-6 * volume);
    assert_eq!(bars[0]["base_bars"], 240);

    let (s, ind) = send(get("/api/data/indicators/BTC/USDT?timeframe=1h&names=sma_20,rsi_14")).await;
    assert_eq!(s, 200, "{ind}");
    let sma = ind["columns"]["sma_20"].as_array().unwrap();
    assert!(sma[0].is_null() && sma[19].is_number(), "null during warm-up");
    assert_eq!(ind["columns"].as_object().unwrap().len(), 2);

    for (path, status, needle) in [
        ("/api/data/candles/DOGE/USDT?timeframe=1m", 404, "DOGE/USDT"),
        ("/api/data/candles/BTC/USDT", 400, "timeframe"),
        ("/api/data/candles/BTC/USDT?timeframe=2h", 400, "2h"),
        ("/api/data/candles/BTC/USDT?timeframe=1m&limit=0", 400, "limit"),
        ("/api/data/candles/BTC/USDT?timeframe=1m&start=yesterday", 400, "start"),
        ("/api/data/candles/btc?timeframe=1m", 400, "symbol"),
        ("/api/data/indicators/BTC/USDT?timeframe=1h&names=magic", 400, "magic"),
    ] {
        let (s, body) = send(get(path)).await;
        assert_eq!(s, status, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(needle), "{path}: {body}");
    }

    // Posting: a bad row names itself and nothing is stored; good rows continue the series.
    let post = |body: Value| c.post(server.url("/api/data/candles")).bearer_auth(TRADER_KEY).json(&body);
    let candle = |t: &str, p: f64| json!({"timestamp": t, "open": p, "high": p + 5.0, "low": p - 5.0, "close": p, "volume": 1.0});
    let mut bad = candle("2022-02-01T05:33:00Z", 100.0);
    bad["high"] = json!(1.0);
    let (s, body) =
        send(post(json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": [candle("2022-02-01T05:32:00Z", 100.0), bad]}))).await;
    assert_eq!(s, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("row 1, field high"), "{body}");
    let (s, body) =
        send(post(json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": [candle("2022-02-01T05:32:00Z", 100.0), 1643693580000i64]})))
            .await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = send(post(json!({"symbol": "BTC/USDT", "timeframe": "1m", "candles": [candle("2022-02-01T05:32:00Z", 100.0), candle("2022-02-01T05:33:00Z", 101.0)]}))).await;
    assert_eq!((s, body["accepted"].as_u64()), (200, Some(2)), "{body}");
    server.kill_hard();

    let server = Server::start(dir.path(), &[]);
    let (s, series) = send(c.get(server.url("/api/data/series")).bearer_auth(VIEWER_KEY)).await;
    assert_eq!(s, 200);
    assert_eq!(series["series"][0]["bars"], 45_033, "{series}");
}

#[test]
fn indicators_command_prints_json_with_nulls() {
    let (code, out, err) = run_cli(&["indicators", "--timeframe", "1d", "--json", test_data("goog-1d.csv").to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["open_time"].as_array().unwrap().len(), 2_148);
    let rsi = v["columns"]["rsi_14"].as_array().unwrap();
    assert!(rsi[13].is_null() && rsi[14].is_number());
    assert!(v["columns"].as_object().unwrap().len() >= 17);
}

#[test]
fn indicators_bench_times_each_kernel_and_refuses_bad_counts() {
    let file = test_data("btcperp-1m.csv");
    let (code, out, err) = run_cli(&["indicators", "--bench", "2", "--bars", "10000", file.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    let json = out.trim().strip_prefix("TRADPAL_INDICATORS ").unwrap_or_else(|| panic!("one prefixed line: {out}"));
    let v: Value = serde_json::from_str(json).unwrap();
    assert_eq!((v["bars"].as_u64(), v["runs"].as_u64()), (Some(10_000), Some(2)), "{v}");
    // TA-Lib's six (the names bench_talib.py prints), the ATR over candles and the table.
    let six = ["sma_20", "ema_20", "rsi_14", "macd_12_26_9", "bbands_20_2", "atr_14"];
    for name in six.iter().chain(&["atr_14_candles", "compute_all"]) {
        assert!(v[*name].as_f64().is_some_and(|ms| ms > 0.0 && ms < 10_000.0), "{name}: {v}");
    }
    let sum: f64 = six.iter().map(|n| v[*n].as_f64().unwrap()).sum();
    assert!((v["all_six"].as_f64().unwrap() - sum).abs() < 1e-6, "{v}");
    for bad in [&["--bench", "0"][..], &["--bench", "1001"], &["--bars", "10"]] {
        let args: Vec<&str> = ["indicators"].iter().chain(bad).copied().chain([file.to_str().unwrap()]).collect();
        let (code, out, err) = run_cli(&args, &[]);
        assert_eq!(code, 2, "{bad:?}: {out} {err}");
        assert!(err.contains("--bench") || err.contains("--bars"), "{bad:?}: {err}");
    }
}

#[test]
fn synth_is_seeded_and_imports_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    for (out, labels, seed) in [("a.csv", "al.csv", "7"), ("b.csv", "bl.csv", "7"), ("c.csv", "cl.csv", "8")] {
        let (code, _, err) = run_cli(
            &["data", "synth", "--bars", "3000", "--timeframe", "5m", "--seed", seed, "--out", &p(out), "--labels", &p(labels)],
            &[],
        );
        assert_eq!(code, 0, "{err}");
    }
    let read = |n: &str| std::fs::read_to_string(p(n)).unwrap();
    assert_eq!(read("a.csv"), read("b.csv"), "same seed, same bytes");
    assert_ne!(read("a.csv"), read("c.csv"));
    assert_eq!(read("al.csv").lines().count(), 3001);
    assert!(read("al.csv").starts_with("timestamp,trend,volatility\n"));
    let (code, r, err) = import(&dir.path().join("data"), "SYN/USD", "5m", &dir.path().join("a.csv"), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!((r["accepted"].as_u64(), r["rejected_total"].as_u64(), r["gaps_total"].as_u64()), (Some(3000), Some(0), Some(0)));
    let (code, _, err) = run_cli(&["data", "synth", "--bars", "10", "--start-price=-1", "--out", &p("x.csv")], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("start_price"), "{err}");
}
