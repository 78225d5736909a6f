//! The factory's refusals and the built-in strategies' rules on small series.

use super::*;
use tradpal_messages::{Fixed, Timestamp};

fn candles(closes: &[f64]) -> Vec<Candle> {
    closes
        .iter()
        .enumerate()
        .map(|(i, &c)| Candle { open_time: Timestamp(i as i64 * 60_000_000_000), open: c, high: c, low: c, close: c, volume: 1.0 })
        .collect()
}

/// The signal of every bar, each call seeing bars `..=i`.
fn signals(spec: &StrategySpec, closes: &[f64]) -> Vec<Signal> {
    let bars = candles(closes);
    let mut s = build(spec).unwrap();
    (0..bars.len()).map(|i| s.on_bar(&BarContext::at(&bars, i, Timeframe::M1, Fixed::ZERO, Fixed::ONE, Fixed::ONE))).collect()
}

#[test]
fn unknown_names_params_and_bad_values_are_refused() {
    let e = build(&StrategySpec::new("moon")).err().unwrap();
    assert!(e.to_string().contains("unknown strategy \"moon\"") && e.to_string().contains("sma_cross"), "{e}");
    let e = build(&StrategySpec::new("sma_cross").with("fats", 5.0)).err().unwrap();
    assert_eq!(e.to_string(), "strategy sma_cross has no parameter \"fats\"; its parameters: fast, slow, fraction, entry");
    let e = build(&StrategySpec::new("sma_cross").with("fast", 20.0)).err().unwrap();
    assert_eq!(e, StrategyError::FastNotShorter { strategy: "sma_cross".into(), fast: 20, slow: 20 });
    let e = build(&StrategySpec::new("sma_cross_long").with("fast", 30.0).with("slow", 10.0)).err().unwrap();
    assert!(e.to_string().contains("fast (30) must be shorter than slow (10)"), "{e}");
    for (p, v) in [("fast", 2.5), ("fast", 0.0), ("slow", 1e9), ("fraction", 0.0), ("fraction", 11.0), ("fast", f64::NAN)] {
        assert!(matches!(build(&StrategySpec::new("sma_cross").with(p, v)), Err(StrategyError::BadParam { .. })), "{p}={v}");
    }
    assert!(build(&StrategySpec::new("rsi_reversion").with("lower", 80.0)).is_err(), "lower above upper");
    assert!(build(&StrategySpec::new("rsi_reversion").with("upper", 101.0)).is_err());
    assert!(build(&StrategySpec::new("bollinger_breakout").with("k", -1.0)).is_err());
    for info in STRATEGIES {
        match build(&StrategySpec::new(info.name)) {
            Err(StrategyError::ModelsNotResolved) => assert!(info.needs_models(), "{}", info.name),
            built => assert_eq!(built.unwrap().name(), info.name, "defaults build"),
        }
    }
}

#[test]
fn params_parse_and_describe() {
    assert_eq!(StrategySpec::parse_param("fast=5").unwrap(), ("fast".into(), 5.0));
    assert_eq!(StrategySpec::parse_param(" k = 2.5 ").unwrap(), ("k".into(), 2.5));
    for bad in ["fast", "=5", "fast=x", ""] {
        assert!(matches!(StrategySpec::parse_param(bad), Err(StrategyError::ParamSyntax(_))), "{bad}");
    }
    assert_eq!(StrategySpec::new("sma_cross").with("fast", 5.0).describe(), "sma_cross(fast=5, slow=20, fraction=1, entry=state)");
    // Words stand for numbers, named on the way in and out.
    assert_eq!(StrategySpec::parse_param("entry=cross").unwrap(), ("entry".into(), 1.0));
    assert_eq!(StrategySpec::new("sma_cross").with("entry", 1.0).describe(), "sma_cross(fast=10, slow=20, fraction=1, entry=cross)");
    let e = StrategySpec::parse_param("entry=sometimes").unwrap_err().to_string();
    assert!(e.contains("expected state or cross"), "{e}");
    let spec: StrategySpec = serde_json::from_str(r#"{"name":"sma_cross","params":{"entry":"cross","fast":3}}"#).unwrap();
    assert_eq!(spec.params, [("entry".to_string(), 1.0), ("fast".to_string(), 3.0)].into());
    assert!(serde_json::from_str::<StrategySpec>(r#"{"name":"sma_cross","params":{"entry":"never"}}"#).is_err());
    assert!(matches!(build(&StrategySpec::new("sma_cross").with("entry", 2.0)), Err(StrategyError::BadParam { param: "entry", .. })));
}

#[test]
fn sma_cross_with_entry_cross_waits_for_the_first_cross() {
    use Signal::*;
    let spec = StrategySpec::new("sma_cross").with("fast", 1.0).with("slow", 2.0).with("entry", 1.0);
    // Bar 1 is above (11 > 10.5): noted, not traded; bar 2 equal keeps; bar 3 crosses below.
    let s = signals(&spec, &[10.0, 11.0, 11.0, 9.0, 9.0, 12.0]);
    assert_eq!(s, vec![Hold, Hold, Hold, Target(-1.0), Target(-1.0), Target(1.0)]);
    // Rising all along: never a cross, never a trade.
    let s = signals(&spec, &[1.0, 2.0, 3.0, 4.0]);
    assert!(s.iter().all(|x| *x == Hold), "{s:?}");
}

#[test]
fn sma_cross_enters_at_once_then_reverses_on_crosses() {
    // fast 1 (the close) vs slow 2: above when the close rose.
    let spec = StrategySpec::new("sma_cross").with("fast", 1.0).with("slow", 2.0).with("fraction", 0.5);
    let s = signals(&spec, &[10.0, 11.0, 11.0, 9.0, 9.0, 12.0]);
    use Signal::*;
    // Bar 1: 11 > 10.5 long; bar 2: 11 = 11 keeps long; bar 3: 9 < 10 short; bar 4 equal: keep.
    assert_eq!(s, vec![Hold, Target(0.5), Target(0.5), Target(-0.5), Target(-0.5), Target(0.5)]);
    let long_only = spec.clone();
    let s = signals(&StrategySpec { name: "sma_cross_long".into(), ..long_only }, &[10.0, 11.0, 9.0]);
    assert_eq!(s, vec![Hold, Target(0.5), Target(0.0)]);
}

#[test]
fn rsi_and_bollinger_rules() {
    use Signal::*;
    // RSI(2): falling closes -> 0 (< 30): long; rising -> 100 (> 70): flat.
    let s = signals(&StrategySpec::new("rsi_reversion").with("period", 2.0), &[10.0, 9.0, 8.0, 7.0, 8.0, 9.0, 10.0]);
    assert_eq!(s[..3], [Hold, Hold, Target(1.0)]);
    assert_eq!(*s.last().unwrap(), Target(0.0));
    // Bands(3, k=1): a jump above the band goes long, a drop below the middle goes flat.
    let s = signals(&StrategySpec::new("bollinger_breakout").with("period", 3.0).with("k", 1.0), &[10.0, 10.0, 10.0, 13.0, 9.0]);
    assert_eq!(s, vec![Hold, Hold, Hold, Target(1.0), Target(0.0)]);
    let s = signals(&StrategySpec::new("buy_and_hold"), &[1.0, 2.0]);
    assert_eq!(s, vec![Target(1.0), Target(1.0)]);
}

#[test]
fn shared_sma_columns_run_exactly_as_the_incremental_strategy() {
    use crate::backtest::{run, BacktestConfig};
    let bars = crate::market_data::testdata::candles("btcperp-1m.csv", Timeframe::M1);
    let specs = [
        StrategySpec::new("sma_cross"),
        StrategySpec::new("sma_cross").with("fast", 5.0).with("slow", 30.0).with("entry", 1.0),
        StrategySpec::new("sma_cross_long").with("fast", 3.0).with("slow", 8.0).with("fraction", 0.5),
        StrategySpec::new("rsi_reversion"),
    ];
    let shared = SharedColumns::for_specs(&bars, &specs);
    assert_eq!(shared.len(), 6, "periods 3, 5, 8, 10, 20, 30, once each");
    let config = BacktestConfig::default();
    for spec in &specs {
        let alone = run(&config, &bars, Timeframe::M1, "BTC/USDT", build(spec).unwrap().as_mut()).unwrap();
        let with = run(&config, &bars, Timeframe::M1, "BTC/USDT", build_shared(spec, &shared).unwrap().as_mut()).unwrap();
        assert!(alone.counts.fills > 10, "{}: the run trades", spec.describe());
        assert_eq!(with.counts, alone.counts, "{}", spec.describe());
        assert_eq!((with.final_equity, with.event_count), (alone.final_equity, alone.event_count), "{}", spec.describe());
        assert_eq!(with.event_stream_hash, alone.event_stream_hash, "{}", spec.describe());
        // run_spec's path: the closes gathered once for the columns and the benchmark.
        let series = [crate::backtest::SymbolBars { symbol: "BTC/USDT", bars: &bars }];
        let spec_run = crate::backtest::run_spec(&config, &series, Timeframe::M1, spec, &mut |_| {}).unwrap();
        assert_eq!((&spec_run.metrics, &spec_run.benchmark, &spec_run.equity), (&alone.metrics, &alone.benchmark, &alone.equity));
        assert_eq!(spec_run.event_stream_hash, alone.event_stream_hash, "{}", spec.describe());
    }
    // Columns of other bars are not these bars' averages: the run reads them, and differs.
    let other = SharedColumns::for_specs(&bars[1000..], &specs[..1]);
    let alone = run(&config, &bars, Timeframe::M1, "BTC/USDT", build(&specs[0]).unwrap().as_mut()).unwrap();
    let wrong = run(&config, &bars, Timeframe::M1, "BTC/USDT", build_shared(&specs[0], &other).unwrap().as_mut()).unwrap();
    assert_ne!(wrong.event_stream_hash, alone.event_stream_hash);
}

#[test]
fn shared_columns_keep_the_most_used_periods_within_their_budget() {
    let closes: Vec<f64> = (0..120).map(|i| 100.0 + (i as f64 * 0.37).sin() * 5.0 + i as f64 * 0.01).collect();
    let bars = candles(&closes);
    let specs: Vec<StrategySpec> = [(3.0, 8.0), (3.0, 10.0), (5.0, 10.0), (5.0, 20.0)]
        .iter()
        .map(|&(f, s)| StrategySpec::new("sma_cross").with("fast", f).with("slow", s))
        .collect();
    let column = bars.len() * std::mem::size_of::<f64>();
    // Uses: 3, 5 and 10 twice each, 8 and 20 once.
    let shared = SharedColumns::within(&bars, &specs, 3 * column + column / 2);
    assert_eq!(shared.periods().collect::<Vec<_>>(), vec![3, 5, 10]);
    assert!(SharedColumns::within(&bars, &specs, column - 1).is_empty());
    assert_eq!(SharedColumns::for_specs(&bars, &specs).len(), 5);
    // Points with both periods shared read them, the others compute their own: the same signals.
    let mut targets = 0;
    for spec in &specs {
        let (mut alone, mut with) = (build(spec).unwrap(), build_shared(spec, &shared).unwrap());
        for i in 0..bars.len() {
            let ctx = BarContext::at(&bars, i, Timeframe::M1, Fixed::ZERO, Fixed::ONE, Fixed::ONE);
            let signal = alone.on_bar(&ctx);
            assert_eq!(with.on_bar(&ctx), signal, "{} at bar {i}", spec.describe());
            targets += usize::from(signal != Signal::Hold);
        }
    }
    assert!(targets >= 8, "the series crosses: {targets} targets");
}
