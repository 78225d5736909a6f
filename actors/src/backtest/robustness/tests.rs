//! The look-ahead check on real data: built-ins pass, cheats are caught, and every
//! reported mismatch is one the cheat really made.

use super::lookahead::{check_lookahead, LookaheadError, StrategyFactory, LOOKAHEAD_CHECKS_MAX};
use crate::backtest::strategy::{build, BarContext, Signal, Strategy, StrategySpec, STRATEGIES};
use crate::backtest::BacktestConfig;
use crate::market_data::testdata;
use tradpal_messages::{Candle, Timeframe};

fn goog() -> Vec<Candle> {
    testdata::candles("goog-1d.csv", Timeframe::D1)
}

fn spec_factory(spec: StrategySpec) -> impl Fn(&[Candle]) -> Result<Box<dyn Strategy>, String> {
    move |_bars: &[Candle]| build(&spec).map_err(|e| e.to_string())
}

fn check(bars: &[Candle], make: &StrategyFactory, checks: usize, seed: u64) -> super::LookaheadReport {
    check_lookahead(&BacktestConfig::default(), bars, Timeframe::D1, "GOOG/USDT", make, checks, seed).unwrap()
}

#[test]
fn every_built_in_strategy_passes_on_real_data() {
    let goog = goog();
    let eurusd = testdata::candles("eurusd-1h.csv", Timeframe::H1);
    for (bars, tf, symbol) in [(&goog, Timeframe::D1, "GOOG/USDT"), (&eurusd, Timeframe::H1, "EUR/USDT")] {
        for info in STRATEGIES.iter().filter(|s| !s.needs_models()) {
            let make = spec_factory(StrategySpec::new(info.name));
            let r = check_lookahead(&BacktestConfig::default(), bars, tf, symbol, &make, 25, 3).unwrap();
            assert!(r.passed && r.mismatches.is_empty(), "{} on {symbol}: {r:?}", info.name);
            assert_eq!((r.checks_run, r.checked.len(), r.bars), (25, 25, bars.len()));
            assert!(r.checked.windows(2).all(|w| w[0] < w[1]) && r.checked.iter().all(|k| *k + 1 < bars.len()));
        }
    }
}

/// Built from the data set it is given, it reads the next bar: long when the next close
/// is higher. Cut at `k`, the bar after `k` is not there and it holds.
struct PeeksNextBar {
    all: Vec<Candle>,
}

impl Strategy for PeeksNextBar {
    fn name(&self) -> &str {
        "peeks_next_bar"
    }
    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        match self.all.get(ctx.index() + 1) {
            Some(next) => Signal::Target(if next.close > ctx.bar().close { 1.0 } else { 0.0 }),
            None => Signal::Hold,
        }
    }
}

/// Normalises by the maximum close of the whole data set, computed once when built (the
/// classic pandas bug): long above 60% of the all-time high.
struct GlobalMax {
    max: f64,
}

impl Strategy for GlobalMax {
    fn name(&self) -> &str {
        "global_max"
    }
    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        Signal::Target(if ctx.bar().close > 0.6 * self.max { 1.0 } else { 0.0 })
    }
}

#[test]
fn a_strategy_reading_the_next_bar_is_caught_at_every_checked_bar() {
    let bars = goog();
    let make = |b: &[Candle]| -> Result<Box<dyn Strategy>, String> { Ok(Box::new(PeeksNextBar { all: b.to_vec() })) };
    let r = check(&bars, &make, 40, 11);
    assert!(!r.passed);
    // Every checked bar is before the last, so the full run always saw a next bar.
    assert_eq!(r.mismatches_total, r.checks_run);
    for m in &r.mismatches {
        let up = bars[m.index + 1].close > bars[m.index].close;
        assert_eq!((m.full, m.truncated), (Some(if up { 1.0 } else { 0.0 }), None), "{m:?}");
        assert_eq!(m.time, bars[m.index].open_time);
    }
}

#[test]
fn a_strategy_normalised_by_the_whole_series_is_caught_where_it_matters() {
    let bars = goog();
    let make = |b: &[Candle]| -> Result<Box<dyn Strategy>, String> {
        Ok(Box::new(GlobalMax { max: b.iter().map(|c| c.close).fold(f64::MIN, f64::max) }))
    };
    let r = check(&bars, &make, 60, 5);
    let full_max = bars.iter().map(|c| c.close).fold(f64::MIN, f64::max);
    // Independently: at k the cheat compares with the max of bars[..=k] when cut.
    let expected: Vec<usize> = r
        .checked
        .iter()
        .copied()
        .filter(|&k| {
            let prefix_max = bars[..=k].iter().map(|c| c.close).fold(f64::MIN, f64::max);
            (bars[k].close > 0.6 * full_max) != (bars[k].close > 0.6 * prefix_max)
        })
        .collect();
    assert!(!expected.is_empty(), "the sample should hit bars where the prefix max matters");
    assert_eq!(r.mismatches.iter().map(|m| m.index).collect::<Vec<_>>(), expected);
    assert!(!r.passed);
}

#[test]
fn seeded_sampling_and_bounds() {
    let bars = &goog()[..300];
    let make = spec_factory(StrategySpec::new("sma_cross"));
    let a = check(bars, &make, 10, 1);
    assert_eq!(a, check(bars, &make, 10, 1));
    assert_ne!(a.checked, check(bars, &make, 10, 2).checked);
    // Asking for more points than bars checks each bar but the last once.
    let all = check(&bars[..50], &make, 100, 1);
    assert_eq!(all.checked, (0..49).collect::<Vec<_>>());
    let cfg = BacktestConfig::default();
    for k in [0, LOOKAHEAD_CHECKS_MAX + 1] {
        let e = check_lookahead(&cfg, bars, Timeframe::D1, "GOOG/USDT", &make, k, 0).unwrap_err();
        assert!(matches!(e, LookaheadError::Checks { .. }) && e.to_string().contains("LOOKAHEAD_CHECKS_MAX"), "{e}");
    }
    let e = check_lookahead(&cfg, &bars[..1], Timeframe::D1, "GOOG/USDT", &make, 3, 0).unwrap_err();
    assert!(matches!(e, LookaheadError::TooFewBars { bars: 1 }), "{e}");
    let broken = |_: &[Candle]| -> Result<Box<dyn Strategy>, String> { Err("no model".into()) };
    let e = check_lookahead(&cfg, bars, Timeframe::D1, "GOOG/USDT", &broken, 3, 0).unwrap_err();
    assert!(e.to_string().contains("no model"), "{e}");
}
