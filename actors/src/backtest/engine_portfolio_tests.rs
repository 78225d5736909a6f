//! Many symbols on one account, on real data: ETH/BTC and LTC/BTC 5m (`testdata/`,
//! the same timestamps), run under the generic-rule symbols `ETHBTC/USDT` and
//! `LTCBTC/USDT` (tick and lot 1e-8, so the ~0.09 / ~0.017 prices are not rounded away).
//! Also: the single-symbol path against hashes recorded on `main` before the engine took
//! several symbols, and risk-based sizing against the risk core's formula.

use super::engine::{run_portfolio, run_spec, SymbolBars, SYMBOLS_PER_RUN_MAX};
use super::engine_tests::crossings;
use super::risk_sizing::{RiskSizing, VolatilityLookback};
use super::strategy::{build, BarContext, Signal, Strategy, StrategySpec};
use super::{run, BacktestConfig, BacktestError};
use crate::market_data::testdata;
use crate::risk::sizing::{FixedFractional, Kelly};
use tradpal_messages::{Candle, Event, Rounding, Side, Timeframe};

fn pair() -> (Vec<Candle>, Vec<Candle>) {
    (testdata::candles("ethbtc-5m.csv", Timeframe::M5), testdata::candles("ltcbtc-5m.csv", Timeframe::M5))
}

/// Volume scaled by 1e6: every order is one whole fill (sizes do not meet the bar's volume).
fn deep(bars: &[Candle]) -> Vec<Candle> {
    bars.iter().map(|b| Candle { volume: b.volume * 1e6, ..*b }).collect()
}

fn keep() -> BacktestConfig {
    BacktestConfig { keep_events: true, ..BacktestConfig::default() }
}

fn sma(fast: f64, slow: f64) -> StrategySpec {
    StrategySpec::new("sma_cross").with("fast", fast).with("slow", slow)
}

#[test]
fn single_symbol_hashes_are_those_recorded_on_main() {
    // Recorded with `tradpal backtest --json` built from main (986fb21), before the
    // engine took several symbols: the one-symbol path must replay byte for byte.
    let (eth, _) = pair();
    let r = run(&BacktestConfig::default(), &eth, Timeframe::M5, "ETHBTC/USDT", build(&sma(5.0, 15.0)).unwrap().as_mut()).unwrap();
    assert_eq!((r.event_stream_hash.as_str(), r.event_count), ("9ac4d275a906f2f84716a7c3c15931ace2dac47dd904dcd91705b1c3fe31c0f6", 7928));
    let goog = testdata::candles("goog-1d.csv", Timeframe::D1);
    let r = run(&BacktestConfig::default(), &goog, Timeframe::D1, "GOOG/USDT", build(&StrategySpec::new("sma_cross")).unwrap().as_mut())
        .unwrap();
    assert_eq!((r.event_stream_hash.as_str(), r.event_count), ("c02881a65534e9b726a5e519fd5f7e6a3c7193891896e31826f1205fb029bc2b", 286));
    assert!(r.per_symbol.is_empty(), "single-symbol results keep their shape");
}

#[test]
fn two_symbols_are_deterministic_whatever_the_listing_order() {
    let (eth, ltc) = pair();
    let go = |series: &[SymbolBars]| run_spec(&BacktestConfig::default(), series, Timeframe::M5, &sma(5.0, 15.0), &mut |_| {}).unwrap();
    let a = go(&[SymbolBars { symbol: "ETHBTC/USDT", bars: &eth }, SymbolBars { symbol: "LTCBTC/USDT", bars: &ltc }]);
    let b = go(&[SymbolBars { symbol: "ETHBTC/USDT", bars: &eth }, SymbolBars { symbol: "LTCBTC/USDT", bars: &ltc }]);
    let swapped = go(&[SymbolBars { symbol: "LTCBTC/USDT", bars: &ltc }, SymbolBars { symbol: "ETHBTC/USDT", bars: &eth }]);
    assert_eq!(a.event_stream_hash, b.event_stream_hash);
    assert_eq!(a.event_stream_hash, swapped.event_stream_hash, "ties are taken in symbol-name order");
    assert_eq!(a.metrics, swapped.metrics);
    assert_eq!(a.symbol, "ETHBTC/USDT,LTCBTC/USDT");
    assert_eq!(a.counts.bars, eth.len() + ltc.len());
    assert_eq!(a.equity.len(), eth.len(), "one equity point per open time (the files share them)");
    let single = run(&BacktestConfig::default(), &eth, Timeframe::M5, "ETHBTC/USDT", build(&sma(5.0, 15.0)).unwrap().as_mut()).unwrap();
    assert_ne!(a.event_stream_hash, single.event_stream_hash);
    assert!(a.trades.iter().any(|t| t.symbol == "ETHBTC/USDT") && a.trades.iter().any(|t| t.symbol == "LTCBTC/USDT"));
    assert!(a.trades.windows(2).all(|w| w[0].exit_time <= w[1].exit_time), "trades oldest exit first");
}

#[test]
fn the_combined_account_adds_up() {
    let (eth, ltc) = pair();
    let series = [SymbolBars { symbol: "ETHBTC/USDT", bars: &eth }, SymbolBars { symbol: "LTCBTC/USDT", bars: &ltc }];
    let r = run_spec(&keep(), &series, Timeframe::M5, &sma(5.0, 15.0), &mut |_| {}).unwrap();
    assert_eq!(r.per_symbol.len(), 2);
    // Cash + every position at its last close = equity, in exact money.
    let mut equity = r.final_cash;
    for s in &r.per_symbol {
        equity = equity.checked_add(s.final_position.checked_mul(s.last_close, Rounding::Nearest).unwrap()).unwrap();
    }
    assert!((equity.to_f64() - r.final_equity.to_f64()).abs() < 1e-6, "{equity} vs {}", r.final_equity);
    // The fills' cash flows from the starting cash give the final cash.
    let mut cash = r.starting_cash.to_f64();
    let mut units = std::collections::BTreeMap::<String, f64>::new();
    for e in &r.events {
        if let Event::OrderFilled(f) = e {
            let (q, p, fee) = (f.quantity.to_f64(), f.price.to_f64(), f.fee.to_f64());
            let signed = if f.side == Side::Buy { q } else { -q };
            cash -= signed * p + fee;
            *units.entry(f.symbol.to_string()).or_default() += signed;
        }
    }
    assert!((cash - r.final_cash.to_f64()).abs() < 1e-6, "{cash} vs {}", r.final_cash);
    for s in &r.per_symbol {
        assert!((units[&s.symbol] - s.final_position.to_f64()).abs() < 1e-9, "{}", s.symbol);
    }
    // Trade P&L (closed and open, all symbols) is the equity change, up to the ledger's
    // per-fill rounding (these raw volumes make thousands of partial fills; a one-symbol
    // run of the same file drifts as much: ~1e-2 over ~5,700 fills).
    let pnl: f64 = r.trades.iter().map(|t| t.pnl).chain(r.per_symbol.iter().filter_map(|s| s.open_trade.as_ref()).map(|t| t.pnl)).sum();
    let drift = (pnl - (r.final_equity.to_f64() - r.starting_cash.to_f64())).abs();
    assert!(drift < 5e-6 * r.counts.fills as f64, "{pnl} vs {} over {} fills", r.final_equity, r.counts.fills);
    for s in &r.per_symbol {
        let own: Vec<_> = r.trades.iter().filter(|t| t.symbol == s.symbol).collect();
        assert_eq!(own.len(), s.trades);
        assert!((own.iter().map(|t| t.pnl).sum::<f64>() - s.trades_pnl).abs() < 1e-9);
    }
}

#[test]
fn each_symbol_fills_at_its_own_next_bar_after_its_own_crossings() {
    let (eth, ltc) = pair();
    let (eth, ltc) = (deep(&eth), deep(&ltc));
    let series = [SymbolBars { symbol: "ETHBTC/USDT", bars: &eth }, SymbolBars { symbol: "LTCBTC/USDT", bars: &ltc }];
    let r = run_spec(&keep(), &series, Timeframe::M5, &sma(5.0, 15.0), &mut |_| {}).unwrap();
    assert_eq!((r.counts.orders_rejected, r.counts.orders_resized, r.counts.orders_canceled), (0, 0, 0), "sizing does not interact");
    for (symbol, bars) in [("ETHBTC/USDT", &eth), ("LTCBTC/USDT", &ltc)] {
        let want: Vec<_> = crossings(bars, 5, 15).into_iter().filter(|(i, _)| i + 1 < bars.len()).collect();
        assert!(want.len() > 100, "{symbol}: {} crossings", want.len());
        let fills: Vec<_> = r
            .events
            .iter()
            .filter_map(|e| if let Event::OrderFilled(f) = e { Some(f) } else { None })
            .filter(|f| f.symbol == symbol)
            .collect();
        assert_eq!(fills.len(), want.len(), "{symbol}: one whole fill per crossing");
        for ((i, sign), f) in want.iter().zip(&fills) {
            let side = if *sign > 0 { Side::Buy } else { Side::Sell };
            assert_eq!((f.market_time, f.side), (bars[i + 1].open_time, side), "{symbol}: crossing at bar {i}");
        }
        let trades = r.trades.iter().filter(|t| t.symbol == symbol).count();
        assert_eq!(trades, want.len() - 1, "{symbol}: each later crossing closes one trade");
    }
}

/// Targets +1 from the first bar on and records the equity it was shown.
struct Allin;

impl Strategy for Allin {
    fn name(&self) -> &str {
        "allin"
    }
    fn on_bar(&mut self, _: &BarContext) -> Signal {
        Signal::Target(1.0)
    }
}

#[test]
fn each_symbol_gets_an_equal_sleeve() {
    let (eth, ltc) = pair();
    let (eth, ltc) = (deep(&eth), deep(&ltc));
    let series = [SymbolBars { symbol: "ETHBTC/USDT", bars: &eth[..50] }, SymbolBars { symbol: "LTCBTC/USDT", bars: &ltc[..50] }];
    let (mut a, mut b) = (Allin, Allin);
    let r = run_portfolio(&keep(), &series, Timeframe::M5, &mut [&mut a, &mut b]).unwrap();
    let fills: Vec<_> = r.events.iter().filter_map(|e| if let Event::OrderFilled(f) = e { Some(f) } else { None }).collect();
    assert_eq!(fills.len(), 2);
    // Sized at bar 0's close on half the 10,000 each: 5,000 / close, on the 1e-8 lot.
    for (f, bars) in fills.iter().zip([&eth, &ltc]) {
        let want = (5_000.0 / bars[0].close * 1e8).floor() / 1e8;
        assert!((f.quantity.to_f64() - want).abs() < 2e-8, "{}: {} vs {want}", f.symbol, f.quantity);
        assert_eq!(f.market_time, bars[1].open_time);
    }
}

#[test]
fn bad_portfolios_are_refused_naming_the_symbol() {
    let (eth, ltc) = pair();
    let spec = sma(5.0, 15.0);
    let go = |series: &[SymbolBars]| run_spec(&BacktestConfig::default(), series, Timeframe::M5, &spec, &mut |_| {}).unwrap_err();
    let twice = go(&[SymbolBars { symbol: "ETHBTC/USDT", bars: &eth }, SymbolBars { symbol: "ETHBTC/USDT", bars: &ltc }]);
    assert!(twice.to_string().contains("ETHBTC/USDT is listed twice"), "{twice}");
    let mut broken = ltc[..20].to_vec();
    broken.swap(3, 4);
    let e = go(&[SymbolBars { symbol: "ETHBTC/USDT", bars: &eth }, SymbolBars { symbol: "LTCBTC/USDT", bars: &broken }]);
    assert!(matches!(&e, BacktestError::InSymbol { symbol, .. } if symbol == "LTCBTC/USDT"), "{e}");
    assert!(e.to_string().starts_with("LTCBTC/USDT: bars[4]"), "{e}");
    let names: Vec<String> = (0..=SYMBOLS_PER_RUN_MAX).map(|k| format!("S{k}/USDT")).collect();
    let many: Vec<SymbolBars> = names.iter().map(|s| SymbolBars { symbol: s, bars: &eth[..5] }).collect();
    assert!(go(&many).to_string().contains("SYMBOLS_PER_RUN_MAX"));
    assert!(go(&[]).to_string().contains("got 0"));
}

/// The risk core's formula, written out: fixed fractional on the sleeve at the
/// decision close, capped at max_position_size of the sleeve, onto the 1e-8 lot.
#[test]
fn risk_sizing_buys_what_the_risk_core_computes_on_the_decision_bar() {
    let (eth, _) = pair();
    let eth = deep(&eth);
    let ff = RiskSizing::FixedFractional(FixedFractional { risk_per_trade: 0.01, stop_loss: 0.05 });
    let config = BacktestConfig { sizing: Some(ff), ..keep() };
    let r = run(&config, &eth[..40], Timeframe::M5, "ETHBTC/USDT", &mut Allin).unwrap();
    let fill = r.events.iter().find_map(|e| if let Event::OrderFilled(f) = e { Some(f) } else { None }).unwrap();
    // risk 1% of 10,000 = 100 over a 5% stop: 2,000 of notional (20%, under the cap).
    let want = (10_000.0 * 0.01 / (eth[0].close * 0.05) * 1e8).floor() / 1e8;
    assert!((fill.quantity.to_f64() - want).abs() < 2e-8, "{} vs {want}", fill.quantity);
    assert_eq!(fill.market_time, eth[1].open_time, "decided on bar 0, filled at bar 1");

    // Volatility targeting reads only the closes up to the decision bar: a strategy
    // entering at bar 30 is sized on closes 10..=30 (lookback 20).
    struct Late;
    impl Strategy for Late {
        fn name(&self) -> &str {
            "late"
        }
        fn on_bar(&mut self, ctx: &BarContext) -> Signal {
            if ctx.index() >= 30 {
                Signal::Target(-1.0)
            } else {
                Signal::Hold
            }
        }
    }
    let vt = RiskSizing::VolatilityTarget(VolatilityLookback { target_volatility: 0.3, lookback_bars: 20 });
    let config = BacktestConfig { sizing: Some(vt), ..keep() };
    let r = run(&config, &eth[..60], Timeframe::M5, "ETHBTC/USDT", &mut Late).unwrap();
    let fill = r.events.iter().find_map(|e| if let Event::OrderFilled(f) = e { Some(f) } else { None }).unwrap();
    let logs: Vec<f64> = eth[10..=30].windows(2).map(|w| (w[1].close / w[0].close).ln()).collect();
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (logs.len() - 1) as f64).sqrt();
    let realised = sd * (365.0 * 288.0f64).sqrt();
    let fraction = (0.3 / realised).min(1.0); // capped at max_position_size 1.0
    let equity = r.equity[30].equity;
    let want = (fraction * equity / eth[30].close * 1e8).floor() / 1e8;
    assert_eq!(fill.side, Side::Sell);
    assert!((fill.quantity.to_f64() - want).abs() < 2e-8 * want.max(1.0), "{} vs {want} (fraction {fraction})", fill.quantity);
    assert_eq!(fill.market_time, eth[31].open_time);

    // Bad method parameters are refused before the run, naming the field.
    let bad = RiskSizing::Kelly(Kelly { win_probability: 0.4, win_loss_ratio: 1.0, kelly_fraction: None, stop_loss: None });
    let e = run(&BacktestConfig { sizing: Some(bad), ..keep() }, &eth[..10], Timeframe::M5, "ETHBTC/USDT", &mut Allin).unwrap_err();
    assert!(e.to_string().contains("sizing"), "{e}");
    let short = RiskSizing::VolatilityTarget(VolatilityLookback { target_volatility: 0.3, lookback_bars: 1 });
    let e = run(&BacktestConfig { sizing: Some(short), ..keep() }, &eth[..10], Timeframe::M5, "ETHBTC/USDT", &mut Allin).unwrap_err();
    assert!(e.to_string().contains("lookback_bars"), "{e}");
}
