//! Property tests: any positive curve gives a report of finite numbers with a drawdown in
//! [0, 1]; any input at all gives a report or an error, never a panic; and a curve of two
//! years of 1m bars is handled in linear time.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Every number in the report. The JSON key count check below fails when a field is added
/// to [`Metrics`] without being listed here or in `OTHER_FIELDS`.
fn numbers(m: &Metrics) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("periods_per_year", Some(m.annualisation.periods_per_year)),
        ("total_return", Some(m.total_return)),
        ("cagr", m.cagr),
        ("annual_volatility", m.annual_volatility),
        ("sharpe_ratio", m.sharpe_ratio),
        ("sortino_ratio", m.sortino_ratio),
        ("calmar_ratio", m.calmar_ratio),
        ("max_drawdown", Some(m.max_drawdown)),
        ("win_rate", m.trade_stats.win_rate),
        ("profit_factor", m.trade_stats.profit_factor),
        ("expectancy", m.trade_stats.expectancy),
        ("avg_trade_return", m.trade_stats.avg_trade_return),
        ("avg_trade_pnl", m.trade_stats.avg_trade_pnl),
        ("best_trade_return", m.trade_stats.best_trade_return),
        ("best_trade_pnl", m.trade_stats.best_trade_pnl),
        ("worst_trade_return", m.trade_stats.worst_trade_return),
        ("worst_trade_pnl", m.trade_stats.worst_trade_pnl),
        ("sqn", m.trade_stats.sqn),
        ("exposure_time", Some(m.exposure_time)),
        ("buy_and_hold_return", m.buy_and_hold_return),
        ("alpha", m.alpha),
        ("beta", m.beta),
        ("probabilistic_sharpe_ratio", m.probabilistic_sharpe_ratio),
    ]
}

/// The other fields (`annualisation` holds `periods_per_year`, listed above).
const OTHER_FIELDS: [&str; 8] = [
    "annualisation",
    "bars",
    "start",
    "end",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_start",
    "max_drawdown_duration_end",
    "number_of_trades",
];

fn assert_sane(m: &Metrics) -> Result<(), TestCaseError> {
    for (name, v) in numbers(m) {
        prop_assert!(v.is_none_or(f64::is_finite), "{name} = {v:?}");
    }
    prop_assert!((0.0..=1.0).contains(&m.max_drawdown), "max_drawdown {}", m.max_drawdown);
    prop_assert!((0.0..=1.0).contains(&m.exposure_time));
    prop_assert!(m.probabilistic_sharpe_ratio.is_none_or(|p| (0.0..=1.0).contains(&p)));
    prop_assert!(m.trade_stats.win_rate.is_none_or(|p| (0.0..=1.0).contains(&p)));
    prop_assert!(m.max_drawdown_duration_bars < m.bars);
    let json = serde_json::to_value(m).unwrap();
    let keys: BTreeSet<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let listed = numbers(m).into_iter().map(|(name, _)| name).filter(|&n| n != "periods_per_year");
    prop_assert_eq!(keys, listed.chain(OTHER_FIELDS).collect::<BTreeSet<_>>());
    Ok(())
}

const SEC: i64 = 1_000_000_000;

fn point(time: i64, equity: f64) -> EquityPoint {
    EquityPoint { time: Timestamp(time), equity }
}

fn curve_from(start: f64, returns: &[f64]) -> Vec<EquityPoint> {
    let mut out = vec![point(1_700_000_000 * SEC, start)];
    for r in returns {
        let last = out[out.len() - 1];
        out.push(point(last.time.0 + 60 * SEC, last.equity * (1.0 + r)));
    }
    out
}

fn trade_from(pnl: f64, ret: f64) -> TradeRecord {
    TradeRecord {
        symbol: "BTC/USDT".into(),
        side: if pnl > 0.0 { Side::Buy } else { Side::Sell },
        entry_time: Timestamp(0),
        exit_time: Timestamp(1),
        entry_price: 1.0,
        exit_price: 1.0,
        quantity: 1.0,
        pnl,
        fees: 0.0,
        return_pct: ret,
        bars_held: 1,
        source: "rl".into(),
    }
}

/// Running-peak drawdown, computed independently of `drawdown.rs`.
fn brute_max_drawdown(c: &[EquityPoint]) -> f64 {
    let mut peak = c[0].equity;
    let mut worst = 0.0f64;
    for p in c {
        peak = peak.max(p.equity);
        worst = worst.max(1.0 - p.equity / peak);
    }
    worst
}

proptest! {
    #[test]
    fn positive_curves_give_finite_reports(
        start in 1e-3f64..1e9,
        returns in prop::collection::vec(prop_oneof![-0.9f64..2.0, -0.01f64..0.01, Just(0.0)], 0..300),
        bench in prop::collection::vec(-0.5f64..0.5, 300),
        trades in prop::collection::vec((-1e6f64..1e6, -1.0f64..5.0), 0..20),
        interval in prop::sample::select(vec![1i64, 60 * SEC, 3_600 * SEC, 86_400 * SEC, 7 * 86_400 * SEC]),
        rf in -0.5f64..1.0,
        with_bench: bool,
        exposure in 0usize..400,
    ) {
        let c = curve_from(start, &returns);
        let b: Vec<f64> = curve_from(50.0, &bench[..returns.len()]).iter().map(|p| p.equity).collect();
        let t: Vec<_> = trades.iter().map(|&(p, r)| trade_from(p, r)).collect();
        let input = MetricsInput {
            equity: &c,
            trades: &t,
            benchmark: with_bench.then_some(&b[..]),
            bar_interval_ns: interval,
            risk_free_rate: rf,
            calendar: Calendar::Observed,
            exposure_bars: exposure.min(c.len()),
        };
        let m = compute(&input).unwrap();
        assert_sane(&m)?;
        prop_assert!((m.max_drawdown - brute_max_drawdown(&c)).abs() < 1e-12);
        let periods = drawdown_periods(&c).unwrap();
        prop_assert!(periods.iter().all(|p| p.depth > 0.0 && p.depth <= 1.0 && p.bars >= 1));
        prop_assert!(periods.iter().map(|p| p.bars).sum::<usize>() < c.len());
        // Monthly returns compound to the total return.
        let growth: f64 = monthly_returns(&c).unwrap().iter().map(|(_, _, r)| 1.0 + r).product();
        prop_assert!((growth / (1.0 + m.total_return) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn any_input_gives_a_report_or_an_error(
        values in prop_oneof![
            prop::collection::vec(any::<f64>(), 0..40),
            prop::collection::vec(prop_oneof![1e-300f64..1e300, Just(0.0), Just(f64::MIN_POSITIVE)], 0..40),
            prop::collection::vec(1e-3f64..1e3, 0..40),
        ],
        bench in prop::option::of(prop_oneof![
            prop::collection::vec(any::<f64>(), 0..40),
            prop::collection::vec(1e-300f64..1e300, 0..40),
        ]),
        trades in prop::collection::vec((any::<f64>(), prop_oneof![any::<f64>(), -1.0f64..1.0]), 0..5),
        interval in prop_oneof![any::<i64>(), 1i64..1_000_000_000_000_000],
        rf in prop_oneof![any::<f64>(), -0.1f64..0.1],
        exposure in prop_oneof![any::<usize>(), 0usize..40],
        shuffle_time: bool,
    ) {
        let mut c: Vec<_> = values.iter().enumerate().map(|(i, &equity)| point(i as i64, equity)).collect();
        if shuffle_time && c.len() > 1 {
            c.swap(0, 1);
        }
        let t: Vec<_> = trades.iter().map(|&(p, r)| trade_from(p, r)).collect();
        let input = MetricsInput {
            equity: &c,
            trades: &t,
            benchmark: bench.as_deref(),
            bar_interval_ns: interval,
            risk_free_rate: rf,
            calendar: Calendar::Observed,
            exposure_bars: exposure,
        };
        if let Ok(m) = compute(&input) {
            assert_sane(&m)?;
        }
        let _ = drawdown_periods(&c);
        let _ = monthly_returns(&c);
    }
}

/// Two years of 1m bars (2 * 525,600 = 1,051,200 points) through every entry point. No
/// timing assertion: a quadratic step would take hours here, a linear one a second.
#[test]
fn two_years_of_minute_bars_in_linear_time() {
    const N: usize = 1_051_200;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let returns: Vec<f64> = (1..N)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 * 0.004 - 0.001995
        })
        .collect();
    let c = curve_from(10_000.0, &returns);
    let b: Vec<f64> = c.iter().map(|p| p.equity.sqrt()).collect();
    let input = MetricsInput {
        equity: &c,
        trades: &[],
        benchmark: Some(&b),
        bar_interval_ns: 60_000_000_000,
        risk_free_rate: 0.02,
        calendar: Calendar::Observed,
        exposure_bars: N / 2,
    };
    let m = compute(&input).unwrap();
    assert_eq!(m.bars, N);
    assert!((m.annualisation.periods_per_year - 525_600.0).abs() < 1e-6, "{}", m.annualisation.periods_per_year);
    assert!((m.beta.unwrap() - 2.0).abs() < 0.05, "equity = b^2 moves ~2x b: {:?}", m.beta);
    assert!(m.sharpe_ratio.is_some() && m.probabilistic_sharpe_ratio.is_some());
    assert!(!drawdown_periods(&c).unwrap().is_empty());
    assert_eq!(monthly_returns(&c).unwrap().len(), 25, "Nov 2023 .. Nov 2025 spans 25 calendar months");
}
