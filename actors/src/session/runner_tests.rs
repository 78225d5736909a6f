//! The session loop against the backtest engine on real data: the same fills, bar by
//! bar or in records of several bars; stops; the kill switch.

use super::runner::{session_config, RunnerStatus, SessionRunner};
use crate::backtest::{run, BacktestConfig};
use crate::market_data::testdata;
use crate::strategy::build;
use tradpal_messages::{
    CandlesIngested, DataSource, Event, OrderFilled, SessionConfig, SessionId, SessionOpened, SessionStopRequested, StrategyParam,
    Timeframe, Timestamp, TradingMode, TradingState, TradingStateChanged,
};

fn opened(symbol: &str, timeframe: Timeframe, strategy: &str) -> SessionOpened {
    SessionOpened {
        session_id: SessionId(7),
        config: SessionConfig {
            symbol: symbol.into(),
            capital: 10_000.0,
            strategy: strategy.into(),
            risk_per_trade: 0.02,
            mode: TradingMode::Paper,
        },
        timeframe,
        params: vec![StrategyParam { name: "fast".into(), value: 5.0 }, StrategyParam { name: "slow".into(), value: 20.0 }],
        commission: 0.001,
        slippage_bps: 1,
        seed: 99,
        max_drawdown: None,
        max_daily_loss: None,
        ai: None,
    }
}

fn record(symbol: &str, timeframe: Timeframe, candles: &[tradpal_messages::Candle]) -> CandlesIngested {
    CandlesIngested { symbol: symbol.into(), timeframe, source: DataSource::Http, candles: candles.to_vec() }
}

/// (time, side, quantity, price, fee) of every fill.
fn fills(events: &[Event]) -> Vec<(Timestamp, String, String, String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::OrderFilled(OrderFilled { market_time, side, quantity, price, fee, .. }) => {
                Some((*market_time, side.as_str().to_string(), quantity.to_string(), price.to_string(), fee.to_string()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_session_fills_as_the_backtest_does_on_real_data() {
    let bars = testdata::candles("goog-1d.csv", Timeframe::D1);
    let open = opened("GOOG/USDT", Timeframe::D1, "sma_cross");
    let config = BacktestConfig { keep_events: true, ..session_config(&open).unwrap() };
    let mut strategy = build(&super::runner::session_spec(&open)).unwrap();
    let expected = run(&config, &bars, Timeframe::D1, "GOOG/USDT", strategy.as_mut()).unwrap();
    let want = fills(&expected.events);
    assert!(want.len() > 50, "the strategy trades: {} fills", want.len());
    for chunk in [1usize, 7, 500] {
        let mut runner = SessionRunner::open(&open, 1, Timestamp(0), None).unwrap();
        let mut got = Vec::new();
        for (k, part) in bars.chunks(chunk).enumerate() {
            let out = runner.on_candles(&record("GOOG/USDT", Timeframe::D1, part), 2 + k as u64);
            assert!(out.acted);
            got.extend(out.events);
        }
        assert_eq!(fills(&got), want, "records of {chunk} bars");
        assert_eq!(runner.pnl().equity, expected.final_equity, "records of {chunk} bars");
        assert_eq!(runner.performance().trades.len(), expected.trades.len());
        // Every order is the session's.
        for e in &got {
            if let Event::OrderSubmitted(s) = e {
                assert_eq!(s.spec.session_id, Some(SessionId(7)));
                assert!(s.spec.client_order_id.starts_with(super::runner::SESSION_ORDER_PREFIX));
            }
        }
    }
}

#[test]
fn repeats_back_fills_and_other_symbols_are_not_acted_on() {
    let bars = testdata::candles("goog-1d.csv", Timeframe::D1);
    let mut runner = SessionRunner::open(&opened("GOOG/USDT", Timeframe::D1, "sma_cross"), 5, Timestamp(0), None).unwrap();
    assert!(!runner.on_candles(&record("GOOG/USDT", Timeframe::D1, &bars[..10]), 4).acted, "before the session opened");
    assert!(runner.on_candles(&record("GOOG/USDT", Timeframe::D1, &bars[..10]), 6).acted);
    assert!(!runner.on_candles(&record("GOOG/USDT", Timeframe::D1, &bars[3..10]), 7).acted, "a repeat");
    assert!(!runner.on_candles(&record("ETH/USDT", Timeframe::D1, &bars[10..20]), 8).acted, "another symbol");
    assert_eq!(runner.bars(), 10);
}

#[test]
fn lower_timeframe_records_are_resampled_and_acted_on_when_complete() {
    let m1 = testdata::candles("btcperp-1m.csv", Timeframe::M1);
    let m5 = crate::market_data::resample::resample(&m1[..3000], Timeframe::M1, Timeframe::M5).unwrap();
    let complete: Vec<_> = m5.iter().filter(|b| b.complete).map(|b| b.candle).collect();
    let open = opened("BTC/USDT", Timeframe::M5, "sma_cross");
    let mut a = SessionRunner::open(&open, 1, Timestamp(0), None).unwrap();
    let mut b = SessionRunner::open(&open, 1, Timestamp(0), None).unwrap();
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    for (k, part) in m1[..3000].chunks(13).enumerate() {
        ea.extend(a.on_candles(&record("BTC/USDT", Timeframe::M1, part), 2 + k as u64).events);
    }
    eb.extend(b.on_candles(&record("BTC/USDT", Timeframe::M5, &complete), 2).events);
    assert_eq!(a.bars(), complete.len());
    assert_eq!(fills(&ea), fills(&eb));
    assert!(!fills(&ea).is_empty());
}

#[test]
fn stop_closes_the_position_at_the_next_bar_then_stops() {
    let bars = testdata::candles("goog-1d.csv", Timeframe::D1);
    let mut open = opened("GOOG/USDT", Timeframe::D1, "buy_and_hold");
    open.params.clear();
    let mut runner = SessionRunner::open(&open, 1, Timestamp(0), None).unwrap();
    runner.on_candles(&record("GOOG/USDT", Timeframe::D1, &bars[..5]), 2);
    assert!(runner.pnl().position.is_positive());
    let stop = SessionStopRequested { session_id: SessionId(7), close_positions: true, reason: "requested".into() };
    let out = runner.on_stop(&stop);
    assert!(out.events.iter().any(|e| matches!(e, Event::OrderSubmitted(_))), "a closing order");
    assert_eq!(runner.status(), &RunnerStatus::Stopping("requested".into()));
    let out = runner.on_candles(&record("GOOG/USDT", Timeframe::D1, &bars[5..8]), 3);
    assert!(runner.pnl().position.is_zero());
    assert!(matches!(out.events.last(), Some(Event::SessionStopped(_))), "{:?}", out.events.last());
    assert_eq!(fills(&out.events).len(), 1, "closed at the next bar's open, then nothing more");
    assert!(runner.is_stopped());
    assert!(!runner.on_candles(&record("GOOG/USDT", Timeframe::D1, &bars[8..20]), 4).acted);
}

#[test]
fn a_halted_kill_switch_refuses_the_sessions_orders() {
    let bars = testdata::candles("goog-1d.csv", Timeframe::D1);
    let mut open = opened("GOOG/USDT", Timeframe::D1, "buy_and_hold");
    open.params.clear();
    let mut runner = SessionRunner::open(&open, 1, Timestamp(0), None).unwrap();
    runner.on_trading_state(&TradingStateChanged { from: TradingState::Active, to: TradingState::Halted, reason: "test".into() });
    let out = runner.on_candles(&record("GOOG/USDT", Timeframe::D1, &bars[..5]), 2);
    assert!(out.events.iter().any(|e| matches!(e, Event::OrderRejected(_))));
    assert!(runner.pnl().position.is_zero());
}

#[test]
fn a_breach_of_the_sessions_drawdown_limit_is_journaled_then_flattens_and_stops() {
    let bars = testdata::candles("goog-1d.csv", Timeframe::D1);
    let mut open = opened("GOOG/USDT", Timeframe::D1, "buy_and_hold");
    open.params.clear();
    open.max_drawdown = Some(0.05);
    let mut runner = SessionRunner::open(&open, 1, Timestamp(0), None).unwrap();
    let mut events = Vec::new();
    for (k, part) in bars.chunks(5).enumerate() {
        events.extend(runner.on_candles(&record("GOOG/USDT", Timeframe::D1, part), 2 + k as u64).events);
        if runner.is_stopped() {
            break;
        }
    }
    let breach = events
        .iter()
        .position(|e| matches!(e, Event::RiskLimitBreached(b) if b.limit == "session_max_drawdown" && b.session_id == Some(SessionId(7))));
    let breach = breach.expect("GOOG fell more than 5% from a peak");
    let Event::RiskLimitBreached(b) = &events[breach] else { unreachable!() };
    assert!(b.value >= 0.05 && b.threshold == 0.05, "{b:?}");
    // After the breach: a closing sell fills at the next bar, then the session stops.
    let after = &events[breach..];
    assert!(after.iter().any(|e| matches!(e, Event::OrderFilled(f) if f.side == tradpal_messages::Side::Sell)));
    assert!(
        matches!(events.last(), Some(Event::SessionStopped(s)) if s.reason.starts_with("session_max_drawdown breached")),
        "{:?}",
        events.last()
    );
    assert!(runner.pnl().position.is_zero());
}

/// A journal as the session actor writes it: the start, candle records, and after each
/// record the decisions it caused under the session's id.
fn journal_of(open: &SessionOpened, bars: &[tradpal_messages::Candle]) -> Vec<tradpal_messages::Envelope> {
    use tradpal_messages::{CorrelationId, EnvelopeDraft, EventId};
    let mut seq = 0u64;
    let mut seal = |event: Event, session: bool| {
        seq += 1;
        let mut d = EnvelopeDraft::new(EventId(seq as u128), Timestamp(seq as i64), CorrelationId(1), event);
        d.session_id = session.then_some(open.session_id);
        d.seal(seq)
    };
    let mut out = vec![seal(Event::SessionOpened(open.clone()), true)];
    let mut runner = SessionRunner::open(open, 1, Timestamp(1), None).unwrap();
    for part in bars.chunks(5) {
        let rec = record("GOOG/USDT", Timeframe::D1, part);
        let env = seal(Event::CandlesIngested(rec.clone()), false);
        let decided = runner.on_candles(&rec, env.sequence).events;
        out.push(env);
        out.extend(decided.into_iter().map(|e| seal(e, true)));
    }
    out
}

#[test]
fn a_journaled_session_replays_identically_and_a_tampered_fill_is_found() {
    use super::replay::SessionReplayer;
    let bars = testdata::candles("goog-1d.csv", Timeframe::D1);
    let open = opened("GOOG/USDT", Timeframe::D1, "sma_cross");
    let journal = journal_of(&open, &bars);
    let replay = |records: &[tradpal_messages::Envelope]| {
        let mut r = SessionReplayer::new(open.session_id, None);
        records.iter().for_each(|e| r.feed(e));
        r.finish().unwrap()
    };
    let r = replay(&journal);
    assert!(r.identical && r.recorded > 100 && r.recorded == r.replayed, "{r:?}");
    // One fill's price changed on disk: the replay names that decision.
    let mut tampered = journal.clone();
    let at = tampered.iter().position(|e| matches!(e.event, Event::OrderFilled(_))).unwrap();
    if let Event::OrderFilled(f) = &mut tampered[at].event {
        f.price = f.price.checked_add(tradpal_messages::Fixed::ONE).unwrap();
    }
    let r = replay(&tampered);
    assert!(!r.identical, "{r:?}");
    assert_eq!(r.difference.unwrap().sequence, Some(tampered[at].sequence));
    // A journal without the session's start is refused, not reported identical.
    let mut r = SessionReplayer::new(SessionId(99), None);
    journal.iter().for_each(|e| r.feed(e));
    assert!(r.finish().is_err());
}
