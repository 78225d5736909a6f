//! Tests of [`compute`] as a whole: hand-computed reports, every refusal, the JSON shape.

use super::*;
use tradpal_messages::time::NANOS_PER_SEC;

const DAY: i64 = 86_400 * NANOS_PER_SEC;

fn curve(values: &[f64]) -> Vec<EquityPoint> {
    values.iter().enumerate().map(|(i, &equity)| EquityPoint { time: Timestamp(i as i64 * DAY), equity }).collect()
}

fn input<'a>(equity: &'a [EquityPoint], trades: &'a [TradeRecord]) -> MetricsInput<'a> {
    MetricsInput {
        equity,
        trades,
        benchmark: None,
        bar_interval_ns: DAY,
        risk_free_rate: 0.0,
        calendar: Calendar::Observed,
        exposure_bars: 0,
    }
}

fn trade(pnl: f64) -> TradeRecord {
    TradeRecord {
        symbol: "ETH/USDT".into(),
        side: Side::Sell,
        entry_time: Timestamp(0),
        exit_time: Timestamp(DAY),
        entry_price: 2000.0,
        exit_price: 2000.0 - pnl,
        quantity: 1.0,
        pnl,
        fees: 0.0,
        return_pct: pnl / 2000.0,
        bars_held: 1,
        source: "ml".into(),
    }
}

#[test]
fn report_of_100_120_90_130_by_hand() {
    let c = curve(&[100.0, 120.0, 90.0, 130.0]);
    let trades: Vec<_> = [10.0, -5.0, 20.0, -5.0].map(trade).into();
    let m = compute(&MetricsInput { exposure_bars: 3, ..input(&c, &trades) }).unwrap();
    assert_eq!((m.bars, m.start, m.end), (4, Timestamp(0), Timestamp(3 * DAY)));
    assert_eq!(m.annualisation.periods_per_year, 365.0);
    assert_eq!(m.annualisation.bar_interval, "1d");
    // Total return 130 / 100 - 1 = 0.3 over m = 3 daily bars.
    assert!((m.total_return - 0.3).abs() < 1e-15);
    // CAGR over calendar time: 3 days are 3 / 365 years.
    let cagr = 1.3f64.powf(365.0 / 3.0) - 1.0;
    assert!((m.cagr.unwrap() / cagr - 1.0).abs() < 1e-12);
    // Max drawdown 1 - 90 / 120 = 0.25, from the peak at bar 1 to recovery at bar 3.
    assert!((m.max_drawdown - 0.25).abs() < 1e-15);
    assert_eq!(m.max_drawdown_duration_bars, 2);
    assert_eq!((m.max_drawdown_duration_start, m.max_drawdown_duration_end), (Some(Timestamp(DAY)), Some(Timestamp(3 * DAY))));
    assert!((m.calmar_ratio.unwrap() / (cagr / 0.25) - 1.0).abs() < 1e-12);
    // r = 0.2, -0.25, 4/9: Sharpe = mean / sample std * sqrt(365).
    let r = [0.2, -0.25, 130.0 / 90.0 - 1.0];
    let mean = r.iter().sum::<f64>() / 3.0;
    let sd = (r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 2.0).sqrt();
    assert!((m.sharpe_ratio.unwrap() - mean / sd * 365f64.sqrt()).abs() < 1e-12);
    // Sortino: only -0.25 is below 0; DD = sqrt(0.0625 / 3).
    assert!((m.sortino_ratio.unwrap() - mean / (0.0625f64 / 3.0).sqrt() * 365f64.sqrt()).abs() < 1e-12);
    assert_eq!(
        (m.trade_stats.number_of_trades, m.trade_stats.win_rate, m.trade_stats.profit_factor, m.trade_stats.expectancy),
        (4, Some(0.5), Some(3.0), Some(5.0))
    );
    assert_eq!(m.exposure_time, 0.75);
    assert_eq!((m.buy_and_hold_return, m.alpha, m.beta), (None, None, None));
}

#[test]
fn constant_growth_has_no_sharpe_sortino_calmar_or_psr() {
    // 1000 * 1.0001^k: constant growth up to f64 rounding noise in the returns.
    let v: Vec<f64> = (0..=1000).map(|k| 1000.0 * 1.0001f64.powi(k)).collect();
    let c = curve(&v);
    let m = compute(&input(&c, &[])).unwrap();
    assert_eq!((m.sharpe_ratio, m.sortino_ratio, m.probabilistic_sharpe_ratio), (None, None, None));
    assert_eq!((m.max_drawdown, m.calmar_ratio, m.max_drawdown_duration_start), (0.0, None, None));
    assert!(m.annual_volatility.unwrap() < 1e-9);
    // CAGR = 1.0001^(365 * 1000 / 1000) - 1: a daily 0.01% compounds over 365 days.
    assert!((m.cagr.unwrap() - (1.0001f64.powf(365.0) - 1.0)).abs() < 1e-9);
    assert_eq!((m.trade_stats.number_of_trades, m.trade_stats.win_rate, m.trade_stats.sqn), (0, None, None));
}

#[test]
fn beta_two_against_the_benchmark() {
    // The strategy's returns are twice the benchmark's, bar by bar: beta = 2, alpha = 0.
    let prices = [100.0, 101.0, 99.5, 102.0, 101.2, 104.0, 103.1, 105.5];
    let mut eq = vec![10_000.0];
    for w in prices.windows(2) {
        eq.push(eq[eq.len() - 1] * (1.0 + 2.0 * (w[1] / w[0] - 1.0)));
    }
    let c = curve(&eq);
    let m = compute(&MetricsInput { benchmark: Some(&prices), ..input(&c, &[]) }).unwrap();
    assert!((m.beta.unwrap() - 2.0).abs() < 1e-9, "{:?}", m.beta);
    assert!(m.alpha.unwrap().abs() < 1e-9);
    assert!((m.buy_and_hold_return.unwrap() - 0.055).abs() < 1e-12);
}

#[test]
fn every_bad_input_is_named() {
    let good = curve(&[100.0, 101.0, 102.0]);
    let e = |m: MetricsInput| compute(&m).unwrap_err();
    assert_eq!(e(input(&[], &[])), MetricsError::EmptyEquity);
    for (bad, value) in [(f64::NAN, 1), (-1.0, 1), (0.0, 1), (f64::INFINITY, 1)] {
        let c = curve(&[100.0, bad, 102.0]);
        assert!(matches!(e(input(&c, &[])), MetricsError::Equity { index, .. } if index == value), "{bad}");
    }
    let spread = curve(&[1e-300, 1e300]);
    assert!(matches!(e(input(&spread, &[])), MetricsError::Range { field: "equity", .. }));
    let mut unordered = good.clone();
    unordered[2].time = unordered[1].time;
    assert!(matches!(e(input(&unordered, &[])), MetricsError::TimeOrder { index: 2, .. }));
    assert_eq!(e(MetricsInput { bar_interval_ns: 0, ..input(&good, &[]) }), MetricsError::BarInterval(0));
    assert_eq!(
        e(MetricsInput { benchmark: Some(&[1.0, 2.0]), ..input(&good, &[]) }),
        MetricsError::BenchmarkLength { got: 2, expected: 3 }
    );
    assert_eq!(
        e(MetricsInput { benchmark: Some(&[1.0, -2.0, 3.0]), ..input(&good, &[]) }),
        MetricsError::Benchmark { index: 1, value: -2.0 }
    );
    assert_eq!(
        e(MetricsInput { risk_free_rate: f64::NAN, ..input(&good, &[]) }).to_string(),
        "risk_free_rate must be a finite number > -1 (annual, e.g. 0.02), got NaN"
    );
    assert_eq!(e(MetricsInput { exposure_bars: 4, ..input(&good, &[]) }), MetricsError::ExposureBars { got: 4, bars: 3 });
    let mut t = trade(1.0);
    t.fees = f64::NAN;
    let err = e(input(&good, std::slice::from_ref(&t)));
    assert!(matches!(err, MetricsError::Trade { index: 0, field: "fees", .. }));
    assert_eq!(err.to_string(), "trades[0].fees must be a finite number, got NaN");
}

#[test]
fn json_names_and_nulls() {
    let c = curve(&[100.0]);
    let m = compute(&input(&c, &[])).unwrap();
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["total_return"], 0.0);
    assert!(v["sharpe_ratio"].is_null() && v["cagr"].is_null() && v["profit_factor"].is_null());
    assert_eq!(v["annualisation"]["periods_per_year"], 365.0);
    assert_eq!(v["annualisation"]["calendar"], "observed");
    assert!(v["annualisation"]["method"].as_str().unwrap().contains("no time elapsed"));
    assert_eq!(v["start"], "1970-01-01T00:00:00Z");
    let back: Metrics = serde_json::from_value(v).unwrap();
    assert_eq!(back, m);
}

#[test]
fn cagr_counts_calendar_years_and_sharpe_the_observed_bars() {
    // Weekdays only for two 365-day years (about 521 bars), doubling: CAGR is
    // sqrt(2) - 1 a year, not 2^(365 / 521) - 1; the observed rate is ~260.5 bars a year.
    let mut c = Vec::new();
    for d in 0..=730i64 {
        if d % 7 < 5 || d == 730 {
            c.push(d);
        }
    }
    let n = c.len();
    let points: Vec<EquityPoint> = c
        .iter()
        .enumerate()
        .map(|(i, &d)| EquityPoint { time: Timestamp(d * DAY), equity: 100.0 * 2f64.powf(i as f64 / (n - 1) as f64) })
        .collect();
    let m = compute(&input(&points, &[])).unwrap();
    assert!((m.cagr.unwrap() - (2f64.sqrt() - 1.0)).abs() < 1e-12, "{:?}", m.cagr);
    assert!((m.annualisation.years - 2.0).abs() < 1e-12);
    assert!((m.annualisation.periods_per_year - (n - 1) as f64 / 2.0).abs() < 1e-9);
    // The declared equities calendar scales by 252; CAGR stays calendar-based.
    let eq = compute(&MetricsInput { calendar: Calendar::Equities252, ..input(&points, &[]) }).unwrap();
    assert_eq!((eq.annualisation.periods_per_year, eq.cagr), (252.0, m.cagr));
}

#[test]
fn long_curves_take_the_parallel_path_with_the_same_results_and_refusals() {
    // Long enough for the return statistics to run on their own thread.
    let n = METRICS_PARALLEL_POINTS_MIN + 7;
    let values: Vec<f64> = (0..n).map(|i| 100.0 + (i as f64 * 0.37).sin() * 5.0 + i as f64 * 1e-4).collect();
    let points = curve(&values);
    let bench: Vec<f64> = (0..n).map(|i| 50.0 + (i as f64 * 0.11).cos()).collect();
    let trades = [trade(5.0), trade(-2.0)];
    let long = MetricsInput { benchmark: Some(&bench), risk_free_rate: 0.03, exposure_bars: n / 2, ..input(&points, &trades) };
    let parallel = compute(&long).unwrap();
    assert_eq!(compute_recorded(&long).unwrap(), parallel);
    // The same numbers as each metric's own function (the sequential definitions).
    let returns: Vec<f64> = values.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let ppy = parallel.annualisation.periods_per_year;
    assert_eq!(parallel.sharpe_ratio, sharpe_ratio(&returns, 0.03 / ppy, ppy));
    assert_eq!(parallel.max_drawdown, drawdown::summary(&points).max_drawdown);
    assert_eq!(parallel.trade_stats, trade_stats(&trades));
    // A bad benchmark is refused on the parallel path too, whatever the thread computed.
    let mut bad = bench.clone();
    bad[n / 3] = 0.0;
    let refused = MetricsInput { benchmark: Some(&bad), ..long };
    assert!(matches!(compute_recorded(&refused), Err(MetricsError::Benchmark { .. })), "{:?}", compute_recorded(&refused));
    let bad_trade = [TradeRecord { pnl: f64::NAN, ..trade(1.0) }];
    assert!(compute_recorded(&MetricsInput { trades: &bad_trade, ..long }).is_err());
}
