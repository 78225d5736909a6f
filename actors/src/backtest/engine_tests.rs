//! The engine on real data (`testdata/`), checked against what is computed here
//! independently: crossings from plain loops, buy-and-hold from the prices.

use super::strategy::{build, BarContext, Signal, Strategy, StrategySpec};
use super::{run, BacktestConfig, BacktestError};
use crate::market_data::{resample, testdata};
use tradpal_messages::{Candle, Event, Fixed, Rounding, Side, Timeframe};

/// btcperp-1m resampled to 1h (the complete hours): ~750 bars of January 2022.
fn btc_1h() -> Vec<Candle> {
    let m1 = testdata::candles("btcperp-1m.csv", Timeframe::M1);
    resample(&m1, Timeframe::M1, Timeframe::H1).unwrap().into_iter().filter(|b| b.complete).map(|b| b.candle).collect()
}

fn goog() -> Vec<Candle> {
    testdata::candles("goog-1d.csv", Timeframe::D1)
}

fn keep() -> BacktestConfig {
    BacktestConfig { keep_events: true, ..BacktestConfig::default() }
}

fn fx(x: f64) -> Fixed {
    Fixed::from_f64_rounded(x, Rounding::Nearest).unwrap()
}

/// The paper exchange's market fill price: open moved 1 bp against the order, on the tick.
fn slipped(open: f64, side: Side, tick: &str) -> f64 {
    let o = fx(open);
    let d = o.checked_mul(Fixed::parse("0.0001").unwrap(), Rounding::Up).unwrap();
    let tick = Fixed::parse(tick).unwrap();
    match side {
        Side::Buy => o.checked_add(d).unwrap().round_to_step(tick, Rounding::Up).unwrap().to_f64(),
        Side::Sell => o.checked_sub(d).unwrap().round_to_step(tick, Rounding::Down).unwrap().to_f64(),
    }
}

/// Bars where the sign of SMA(fast) - SMA(slow) (plain loops) changes: (bar, new sign).
/// The first defined non-zero sign counts as a change (the entry).
pub(super) fn crossings(bars: &[Candle], fast: usize, slow: usize) -> Vec<(usize, i8)> {
    let sma = |i: usize, n: usize| bars[i + 1 - n..=i].iter().map(|b| b.close).sum::<f64>() / n as f64;
    let mut state = 0i8;
    let mut out = vec![];
    for i in slow - 1..bars.len() {
        let (f, s) = (sma(i, fast), sma(i, slow));
        let sign = if f > s {
            1
        } else if f < s {
            -1
        } else {
            state
        };
        if sign != state {
            out.push((i, sign));
            state = sign;
        }
    }
    out
}

#[test]
fn sma_cross_fills_at_the_open_after_each_crossing() {
    let bars = btc_1h();
    let spec = StrategySpec::new("sma_cross").with("fast", 5.0).with("slow", 15.0);
    let r = run(&keep(), &bars, Timeframe::H1, "BTC/USDT", build(&spec).unwrap().as_mut()).unwrap();
    let want = crossings(&bars, 5, 15);
    assert!(want.len() > 20, "{} crossings", want.len());
    let fills: Vec<_> = r.events.iter().filter_map(|e| if let Event::OrderFilled(f) = e { Some(f) } else { None }).collect();
    // A crossing on the last bar has no next bar to fill on.
    let acted: Vec<_> = want.iter().filter(|(i, _)| i + 1 < bars.len()).collect();
    assert_eq!(fills.len(), acted.len(), "one full fill per crossing");
    for ((i, sign), f) in acted.iter().zip(&fills) {
        let next = &bars[i + 1];
        let side = if *sign > 0 { Side::Buy } else { Side::Sell };
        assert_eq!((f.market_time, f.side), (next.open_time, side), "crossing at bar {i}");
        assert_eq!(f.price.to_f64(), slipped(next.open, side, "0.01"), "crossing at bar {i}");
    }
    // Trades: entry at the first crossing's next open, each later crossing closes one.
    assert_eq!(r.trades.len(), acted.len() - 1);
    for (t, w) in r.trades.iter().zip(acted.windows(2)) {
        assert_eq!((t.entry_time, t.exit_time), (bars[w[0].0 + 1].open_time, bars[w[1].0 + 1].open_time));
        assert_eq!(t.side, if w[0].1 > 0 { Side::Buy } else { Side::Sell });
        assert_eq!(t.bars_held as usize, w[1].0 - w[0].0);
    }
    assert!(r.open_trade.is_some(), "always in the market");
    assert_eq!(r.metrics.trade_stats.number_of_trades, r.trades.len());
    assert_eq!(r.counts.orders_submitted, acted.len() + usize::from(acted.len() < want.len()));
    assert_eq!((r.counts.orders_rejected, r.counts.orders_resized, r.counts.orders_skipped), (0, 0, 0));
    // Trade P&L (closed + open) adds up to the equity change.
    let pnl: f64 = r.trades.iter().chain(&r.open_trade).map(|t| t.pnl).sum();
    let change = (r.final_equity.to_f64()) - 10_000.0;
    assert!((pnl - change).abs() < 1e-4, "trades {pnl} vs equity change {change}");
    assert_eq!(r.equity.len(), bars.len());
    assert_eq!(r.equity.last().unwrap().equity, r.final_equity.to_f64());
}

#[test]
fn buy_and_hold_is_the_price_return_minus_costs() {
    let bars = goog();
    for whole_units in [false, true] {
        let config = BacktestConfig { whole_units, ..BacktestConfig::default() };
        let r = run(&config, &bars, Timeframe::D1, "GOOG/USDT", build(&StrategySpec::new("buy_and_hold")).unwrap().as_mut()).unwrap();
        // Sized at the first close, bought at the second open + 1 bp, 0.1% fee, held.
        let (c0, last) = (bars[0].close, bars[bars.len() - 1].close);
        let units = if whole_units { (10_000.0 / c0).floor() } else { ((10_000.0 / c0) * 1e8).floor() / 1e8 };
        let price = slipped(bars[1].open, Side::Buy, "0.00000001");
        let cost = units * price;
        let fee = cost * 0.001;
        let want = 10_000.0 - cost - fee + units * last;
        assert!((r.final_equity.to_f64() - want).abs() < 1e-5, "{} vs {want}", r.final_equity);
        assert_eq!(r.final_position.to_f64(), units);
        assert!((r.fees_paid.to_f64() - fee).abs() < 1e-7);
        let total = want / 10_000.0 - 1.0;
        assert!((r.metrics.total_return - total).abs() < 1e-9);
        // Against the benchmark (close to close): the price return on the part invested
        // (units * c0 of the cash), minus the entry cost (bought at the next open with
        // slippage and a fee, instead of at c0).
        let bh = r.metrics.buy_and_hold_return.unwrap();
        assert!((bh - (last / c0 - 1.0)).abs() < 1e-12);
        let invested = units * c0 / 10_000.0;
        let entry_cost = units * (price * 1.001 - c0) / 10_000.0;
        assert!((total - (bh * invested - entry_cost)).abs() < 1e-9, "{total} vs {bh}");
        assert!(invested > 0.99 && invested <= 1.0, "{invested}");
        assert_eq!((r.trades.len(), r.counts.orders_submitted, r.counts.fills), (0, 1, 1));
        assert_eq!(r.metrics.exposure_time, (bars.len() - 1) as f64 / bars.len() as f64);
    }
}

#[test]
fn same_inputs_same_hash_and_any_change_changes_it() {
    let bars = btc_1h();
    let go = |config: &BacktestConfig, fast: f64| {
        let spec = StrategySpec::new("sma_cross").with("fast", fast);
        run(config, &bars, Timeframe::H1, "BTC/USDT", build(&spec).unwrap().as_mut()).unwrap()
    };
    let base = BacktestConfig::default();
    let (a, b) = (go(&base, 10.0), go(&base, 10.0));
    assert_eq!(a.event_stream_hash, b.event_stream_hash);
    assert_eq!(a.metrics, b.metrics);
    assert_eq!(a.event_count, b.event_count);
    assert_eq!(a.event_stream_hash.len(), 64);
    let seeded = BacktestConfig { seed: 7, ..BacktestConfig::default() };
    assert_ne!(go(&seeded, 10.0).event_stream_hash, a.event_stream_hash, "order ids come from the seed");
    assert_ne!(go(&base, 5.0).event_stream_hash, a.event_stream_hash, "another parameter");
    let costly = BacktestConfig::default().with_slippage_bps(5);
    assert_ne!(go(&costly, 10.0).event_stream_hash, a.event_stream_hash, "another slippage");
    // Keeping finished orders in the core (as live does) changes nothing reported.
    let kept = go(&BacktestConfig { keep_orders: true, ..BacktestConfig::default() }, 10.0);
    assert_eq!((kept.event_stream_hash, kept.metrics), (a.event_stream_hash, a.metrics));
}

/// Records what it was shown; trades on the first bar.
struct Peeker {
    seen: Vec<(usize, usize, i64)>,
}

impl Strategy for Peeker {
    fn name(&self) -> &str {
        "peeker"
    }
    fn on_bar(&mut self, ctx: &BarContext) -> Signal {
        self.seen.push((ctx.index(), ctx.bars().len(), ctx.bar().open_time.0));
        Signal::Target(1.0)
    }
}

#[test]
fn a_strategy_sees_no_bar_after_the_current_one() {
    let bars = goog();
    let bars = &bars[..300];
    let mut p = Peeker { seen: vec![] };
    let r = run(&keep(), bars, Timeframe::D1, "GOOG/USDT", &mut p).unwrap();
    assert_eq!(p.seen.len(), bars.len());
    for (i, (index, len, t)) in p.seen.iter().enumerate() {
        assert_eq!((*index, *len, *t), (i, i + 1, bars[i].open_time.0), "bar {i}");
    }
    // Decided on bar 0's close, filled at bar 1's open: never on the bar that decided.
    let fill = r.events.iter().find_map(|e| if let Event::OrderFilled(f) = e { Some(f) } else { None }).unwrap();
    assert_eq!(fill.market_time, bars[1].open_time);
    assert_eq!(r.equity[0].equity, 10_000.0, "nothing held during bar 0");
}

#[test]
fn bad_input_gives_clear_errors() {
    let bars = goog();
    let mut s = build(&StrategySpec::new("buy_and_hold")).unwrap();
    let config = BacktestConfig::default();
    assert_eq!(run(&config, &[], Timeframe::D1, "GOOG/USDT", s.as_mut()).unwrap_err(), BacktestError::NoBars);
    // A symbol quoted in another currency runs on an account in that currency.
    let eur = run(&config, &bars, Timeframe::D1, "GOOG/EUR", s.as_mut()).unwrap();
    assert_eq!(
        eur.final_equity,
        run(&config, &bars, Timeframe::D1, "GOOG/USDT", build(&StrategySpec::new("buy_and_hold")).unwrap().as_mut()).unwrap().final_equity
    );
    let mut s = build(&StrategySpec::new("buy_and_hold")).unwrap();
    let mut swapped = bars[..10].to_vec();
    swapped.swap(3, 4);
    let e = run(&config, &swapped, Timeframe::D1, "GOOG/USDT", s.as_mut()).unwrap_err();
    assert!(matches!(e, BacktestError::BadBar { index: 4, .. }), "{e}");
    let e = run(&config, &bars[..10], Timeframe::H4, "GOOG/USDT", s.as_mut());
    assert!(e.is_ok(), "daily bars are more than 4h apart: allowed");
    let e = run(&config, &btc_1h()[..10], Timeframe::D1, "BTC/USDT", s.as_mut()).unwrap_err();
    assert!(e.to_string().contains("opens less than one 1d bar after"), "{e}");
    let broke = BacktestConfig { starting_cash: Fixed::ZERO, ..BacktestConfig::default() };
    assert!(matches!(run(&broke, &bars, Timeframe::D1, "GOOG/USDT", s.as_mut()), Err(BacktestError::Config(_))));
    let slippery = BacktestConfig::default().with_slippage_bps(5_000);
    let e = run(&slippery, &bars, Timeframe::D1, "GOOG/USDT", s.as_mut()).unwrap_err();
    assert_eq!(e.to_string(), "config: slippage must be at most 1000 bps (10%), got 5000");
    let e = build(&StrategySpec::new("sma_cross").with("fast", 30.0).with("slow", 30.0)).err().unwrap();
    assert!(e.to_string().contains("fast (30) must be shorter than slow (30)"), "{e}");
    assert!(build(&StrategySpec::new("nope")).err().unwrap().to_string().starts_with("unknown strategy \"nope\"; known: sma_cross"));
}

/// Returns a target outside the allowed range.
struct Wild;

impl Strategy for Wild {
    fn name(&self) -> &str {
        "wild"
    }
    fn on_bar(&mut self, _: &BarContext) -> Signal {
        Signal::Target(f64::INFINITY)
    }
}

#[test]
fn a_bad_signal_is_an_error_naming_the_bar() {
    let e = run(&BacktestConfig::default(), &goog()[..5], Timeframe::D1, "GOOG/USDT", &mut Wild).unwrap_err();
    assert!(matches!(e, BacktestError::BadSignal { index: 0, .. }), "{e}");
}

#[test]
fn partial_fills_and_every_strategy_on_synthetic_minutes() {
    use crate::market_data::synth::{generate, SynthParams};
    let params = SynthParams { bars: 5_000, seed: 3, ..SynthParams::default() };
    let bars = generate(&params).unwrap().candles;
    // Thin volume: at 1% participation, orders of ~100 units need several bars.
    let mut config = BacktestConfig::default();
    config.fill.participation = 0.01;
    // `ai_ensemble` needs trained models: tests/ai_ensemble.rs runs it.
    for info in super::strategy::STRATEGIES.iter().filter(|s| !s.needs_models()) {
        let r = run(&config, &bars, Timeframe::M1, "SYN/USDT", build(&StrategySpec::new(info.name)).unwrap().as_mut()).unwrap();
        let pnl: f64 = r.trades.iter().chain(&r.open_trade).map(|t| t.pnl).sum();
        assert!((pnl - (r.final_equity.to_f64() - 10_000.0)).abs() < 1e-3, "{}: {pnl} vs {}", info.name, r.final_equity);
        assert!(r.counts.fills >= r.counts.orders_submitted - r.counts.orders_canceled, "{}: {:?}", info.name, r.counts);
        if info.name == "sma_cross" {
            assert!(r.counts.fills > r.counts.orders_submitted, "partial fills: {:?}", r.counts);
        }
    }
}

#[test]
fn a_long_run_folds_its_trades_on_a_thread_exactly_as_the_fills_say_and_as_without_helpers() {
    use super::engine::LEDGERS_ON_A_THREAD_BARS_MIN;
    use super::ledger::{Ledger, LedgerFill};
    use crate::market_data::synth::{generate, SynthParams};
    let params = SynthParams { bars: LEDGERS_ON_A_THREAD_BARS_MIN + 1_000, seed: 5, ..SynthParams::default() };
    let bars = generate(&params).unwrap().candles;
    let spec = StrategySpec::new("sma_cross").with("fast", 5.0).with("slow", 12.0);
    let r = run(&keep(), &bars, Timeframe::M1, "SYN/USDT", build(&spec).unwrap().as_mut()).unwrap();
    // The same fills folded here, on this thread, from the run's own events.
    let mut here = Ledger::new("SYN/USDT", "sma_cross");
    for e in &r.events {
        if let Event::OrderFilled(f) = e {
            let bar = bars.binary_search_by_key(&f.market_time, |b| b.open_time).expect("a fill at a bar's open");
            here.fill(LedgerFill { side: f.side, quantity: f.quantity, price: f.price, fee: f.fee, time: f.market_time, bar });
        }
    }
    assert!(r.trades.len() > 100, "{} trades", r.trades.len());
    assert_eq!(r.trades, here.closed);
    let last = &bars[bars.len() - 1];
    let end = tradpal_messages::Timestamp(last.open_time.0 + Timeframe::M1.nanos());
    assert_eq!(r.open_trade, here.open_trade(end, bars.len(), fx(last.close)));
    // Without helper threads (an optimisation's runs): the same run, hash and trades.
    let solo = BacktestConfig { helper_threads: false, ..keep() };
    let s = run(&solo, &bars, Timeframe::M1, "SYN/USDT", build(&spec).unwrap().as_mut()).unwrap();
    assert_eq!((&s.event_stream_hash, &s.trades, &s.open_trade, &s.equity), (&r.event_stream_hash, &r.trades, &r.open_trade, &r.equity));
}
