//! Regimes on the repository's real data (`testdata/`, see its README): daily stock
//! (goog-1d), hourly FX (eurusd-1h) and minute crypto (btcperp-1m, also resampled to 1h
//! as the service does for its 1h view).
//!
//! Each series is classified the way the service does it: a model fitted on (up to) the
//! first 5,000 bars, then a fresh tracker over every bar (each label causal). Checked:
//!
//! - stretches a person would call bull or bear (picked from the price path, each with
//!   its return over the stretch asserted, so the comment cannot lie) get that label on
//!   most of their bars. A stretch is at the scale of the trend window (100 bars of the
//!   series' timeframe): 100 days of GOOG, 4 days of EUR/USD hours, 100 minutes of BTC;
//! - no trend or volatility label covers nearly all bars (at most 80%);
//! - the sanity verdict holds: bull bars have a positive mean trailing return, bear bars a
//!   negative one, and realised volatility rises from low to normal to high.

use std::io::BufReader;
use tradpal_actors::market_data::{import_csv, resample, CsvLimits};
use tradpal_actors::regime::sanity::{sanity, SanityReport};
use tradpal_actors::regime::{fit, track, Detector, FitParams, HysteresisParams, Trend, Vol};
use tradpal_messages::{Candle, Timeframe, Timestamp};

fn load(name: &str, timeframe: Timeframe) -> Vec<Candle> {
    let path = format!("{}/../testdata/{name}.csv", env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let report = import_csv(BufReader::new(file), timeframe, None, CsvLimits::default()).unwrap();
    assert_eq!(report.rejected_total, 0, "{path}");
    report.accepted
}

/// Fit on the first 5,000 bars at most, classify all; returns the trends, the volatilities
/// and the sanity report.
fn classify(candles: &[Candle], timeframe: Timeframe) -> (Vec<Trend>, Vec<Vol>, SanityReport) {
    let model = fit(&candles[..candles.len().min(5_000)], timeframe, &FitParams::default()).unwrap();
    // The fitted switching model does not find per-bar trends in these markets (see
    // `regime/window.rs`), so the window detector classifies.
    assert_eq!(model.detector, Detector::Window, "{:?}", model.emission);
    let tracked = track(&model, candles, &HysteresisParams::default()).unwrap();
    let report = sanity(candles, &tracked.bars).unwrap();
    eprintln!("{}", report.table());
    (tracked.bars.iter().map(|b| b.trend).collect(), tracked.bars.iter().map(|b| b.volatility).collect(), report)
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Asserts the stretch `[from, to)` returned at least `min_move` in the direction of
/// `want` and that more than half its bars are labelled `want`; returns that share.
fn stretch(candles: &[Candle], trends: &[Trend], from: &str, to: &str, want: Trend, min_move: f64) -> f64 {
    let (a, b) = (ts(from), ts(to));
    let idx: Vec<usize> = (0..candles.len()).filter(|&i| candles[i].open_time >= a && candles[i].open_time < b).collect();
    assert!(idx.len() >= 20, "{from}..{to}: {} bars", idx.len());
    let (first, last) = (idx[0], idx[idx.len() - 1]);
    let ret = candles[last].close / candles[first].open - 1.0;
    let signed = if want == Trend::Bull { ret } else { -ret };
    assert!(signed >= min_move, "{from}..{to} returned {ret:+.4}: not a {want} stretch");
    let share = idx.iter().filter(|&&i| trends[i] == want).count() as f64 / idx.len() as f64;
    eprintln!("{from}..{to}: return {ret:+.4}, {:.0}% of {} bars {want}", share * 100.0, idx.len());
    assert!(share > 0.5, "{from}..{to} (return {ret:+.4}): only {:.0}% of bars {want}", share * 100.0);
    share
}

fn check_spread_and_verdict(trends: &[Trend], vols: &[Vol], report: &SanityReport) {
    let n = trends.len() as f64;
    for t in Trend::ALL {
        let share = trends.iter().filter(|x| **x == t).count() as f64 / n;
        assert!(share <= 0.8, "{t} covers {:.0}% of bars", share * 100.0);
    }
    for v in Vol::ALL {
        let share = vols.iter().filter(|x| **x == v).count() as f64 / n;
        assert!(share <= 0.8, "{v} covers {:.0}% of bars", share * 100.0);
    }
    assert!(report.verdict.pass, "{}", report.table());
}

#[test]
fn goog_daily_crash_and_rallies() {
    let c = load("goog-1d", Timeframe::D1);
    let (trends, vols, report) = classify(&c, Timeframe::D1);
    check_spread_and_verdict(&trends, &vols, &report);
    // The 2008 crash after Lehman: -32% from 22 Sep to 16 Dec 2008 (60 trading days).
    stretch(&c, &trends, "2008-09-22T00:00:00Z", "2008-12-16T00:00:00Z", Trend::Bear, 0.25);
    // The autumn 2005 rally: +36% from 28 Sep to 22 Dec 2005.
    stretch(&c, &trends, "2005-09-28T00:00:00Z", "2005-12-22T00:00:00Z", Trend::Bull, 0.3);
    // Spring 2005: +50% from 8 Apr to 5 Jul 2005.
    stretch(&c, &trends, "2005-04-08T00:00:00Z", "2005-07-05T00:00:00Z", Trend::Bull, 0.4);
    // The 2009 recovery: +34% from 16 Mar to 10 Jun 2009.
    stretch(&c, &trends, "2009-03-16T00:00:00Z", "2009-06-10T00:00:00Z", Trend::Bull, 0.25);
}

#[test]
fn eurusd_hourly_swings() {
    let c = load("eurusd-1h", Timeframe::H1);
    let (trends, vols, report) = classify(&c, Timeframe::H1);
    check_spread_and_verdict(&trends, &vols, &report);
    // Mid-July 2017 rally: +2.4% in 11 days (a large move for EUR/USD).
    stretch(&c, &trends, "2017-07-16T21:00:00Z", "2017-07-27T05:00:00Z", Trend::Bull, 0.02);
    // Mid-May 2017 rally: +3.0% in 12 days.
    stretch(&c, &trends, "2017-05-12T01:00:00Z", "2017-05-24T09:00:00Z", Trend::Bull, 0.02);
    // Late-September 2017 slide: -1.2% in 10 days.
    stretch(&c, &trends, "2017-09-24T21:00:00Z", "2017-10-05T05:00:00Z", Trend::Bear, 0.01);
}

#[test]
fn btc_minutes_and_hours() {
    let c = load("btcperp-1m", Timeframe::M1);
    let (trends, vols, report) = classify(&c, Timeframe::M1);
    check_spread_and_verdict(&trends, &vols, &report);
    // 5 Jan 2022, evening: -6% in 5 hours (the slide below 43k).
    stretch(&c, &trends, "2022-01-05T17:11:00Z", "2022-01-05T22:11:00Z", Trend::Bear, 0.05);
    // 24 Jan 2022, evening: the rebound from 33k, +8.3% in 5 hours.
    stretch(&c, &trends, "2022-01-24T16:11:00Z", "2022-01-24T21:11:00Z", Trend::Bull, 0.07);

    // The service's 1h view of the same minutes: the 21-23 Jan fall is bear throughout.
    let hours: Vec<Candle> = resample(&c, Timeframe::M1, Timeframe::H1).unwrap().into_iter().map(|b| b.candle).collect();
    let (trends, vols, report) = classify(&hours, Timeframe::H1);
    check_spread_and_verdict(&trends, &vols, &report);
    // 21 Jan 10:00 to 23 Jan 22:00: -9.3% (the fall from 40k to 35k).
    stretch(&hours, &trends, "2022-01-21T10:00:00Z", "2022-01-23T22:00:00Z", Trend::Bear, 0.08);
    // 5-7 Jan 2022: -10.9% (46.8k to 41.7k).
    stretch(&hours, &trends, "2022-01-05T04:00:00Z", "2022-01-07T16:00:00Z", Trend::Bear, 0.08);
}
