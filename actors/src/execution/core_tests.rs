//! The execution core end to end: submissions, bars, contingencies, the kill switch,
//! idempotency, and the replay property (folding the emitted events into a fresh core
//! gives the same state).

use super::core::{ExecutionConfig, ExecutionCore};
use super::error::ExecutionError;
use super::fill::{FillModel, Slippage};
use super::request::OrderRequest;
use proptest::prelude::*;
use tradpal_messages::{Candle, CashAdjusted, Event, Fixed, IdGenerator, OrderStatus, RejectSource, Timeframe, Timestamp, TradingState};

const H: i64 = 3_600_000_000_000;

fn f(s: &str) -> Fixed {
    Fixed::parse(s).unwrap()
}

fn config() -> ExecutionConfig {
    ExecutionConfig {
        fill: FillModel { taker_fee: f("0.001"), maker_fee: f("0.001"), slippage: Slippage::FixedBps(0), participation: 1.0 },
        limits: crate::risk::pretrade::Limits { max_position_size: 1.0, ..Default::default() },
        ..Default::default()
    }
}

/// A funded core plus the log of everything it emitted.
struct Rig {
    core: ExecutionCore,
    ids: IdGenerator,
    log: Vec<(Event, Timestamp)>,
}

impl Rig {
    fn new() -> Self {
        let mut core = ExecutionCore::new(config());
        let fund = Event::CashAdjusted(CashAdjusted { asset: "USDT".into(), amount: Fixed::from_int(10_000), reason: "start".into() });
        core.apply(&fund, Timestamp(0)).unwrap();
        Rig { core, ids: IdGenerator::from_seed(9), log: vec![(fund, Timestamp(0))] }
    }

    fn submit(&mut self, json: &str, at: i64) -> Result<tradpal_messages::OrderId, ExecutionError> {
        let req: OrderRequest = serde_json::from_str(json).unwrap();
        let s = self.core.submit(&req, Timestamp(at), &mut self.ids)?;
        self.log.extend(s.events.into_iter().map(|e| (e, Timestamp(at))));
        Ok(s.order_id)
    }

    /// Like the journal: the candle record first, then the events it caused.
    fn bar(&mut self, i: i64, o: f64, h: f64, l: f64, c: f64) {
        let candle = Candle { open_time: Timestamp(i * H), open: o, high: h, low: l, close: c, volume: 100.0 };
        let at = Timestamp((i + 1) * H);
        self.log.push((
            Event::CandlesIngested(tradpal_messages::CandlesIngested {
                symbol: "BTC/USDT".into(),
                timeframe: Timeframe::H1,
                source: tradpal_messages::DataSource::Http,
                candles: vec![candle],
            }),
            at,
        ));
        // The backtest's one-bar path, on a twin: the same events and state as `on_bars`.
        let mut twin = self.core.clone();
        let mut appended = vec![Event::CandlesIngested(tradpal_messages::CandlesIngested {
            symbol: "earlier".into(),
            timeframe: Timeframe::H1,
            source: tradpal_messages::DataSource::Http,
            candles: vec![],
        })];
        let one = twin.on_bar_into("BTC/USDT", Timeframe::H1, &candle, i as u64 + 1, &mut appended);
        let events = self.core.on_bars("BTC/USDT", Timeframe::H1, &[candle], i as u64 + 1).unwrap();
        assert!(one.is_ok());
        assert_eq!(appended[1..], events[..], "on_bar_into appends what on_bars returns");
        assert_eq!((&twin.orders, &twin.portfolio), (&self.core.orders, &self.core.portfolio));
        // The equity cached at the mark is the portfolio's, here and after later events.
        assert_eq!(self.core.equity(), self.core.portfolio.equity());
        self.log.extend(events.into_iter().map(|e| (e, at)));
    }

    fn status(&self, id: tradpal_messages::OrderId) -> OrderStatus {
        self.core.order(id).unwrap().status
    }

    /// Folds the log into a fresh core, as the actor does on restart: candles are
    /// observed (derived state only), the other events applied, in log order.
    fn replayed(&self) -> ExecutionCore {
        let mut core = ExecutionCore::new(config());
        for (e, at) in &self.log {
            match e {
                Event::CandlesIngested(c) => core.observe_bars(&c.symbol, c.timeframe, &c.candles),
                other => core.apply(other, *at).unwrap(),
            }
        }
        core
    }
}

#[test]
fn market_order_fills_at_the_next_bar_and_the_portfolio_follows() {
    let mut r = Rig::new();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    let id = r.submit(r#"{"client_order_id":"a","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"10"}"#, H + 1).unwrap();
    assert_eq!(r.status(id), OrderStatus::Accepted);
    r.bar(0, 100.0, 101.0, 99.0, 100.0); // a bar that opened before the order: not eligible
    assert_eq!(r.status(id), OrderStatus::Accepted);
    r.bar(2, 102.0, 103.0, 101.0, 103.0);
    let o = r.core.order(id).unwrap();
    assert_eq!((o.status, o.average_price().unwrap()), (OrderStatus::Filled, f("102")));
    let p = &r.core.portfolio;
    // 10000 - 1020 - fee 1.02
    assert_eq!(p.cash, f("8978.98"));
    assert_eq!(p.equity(), f("10008.98"));
}

#[test]
fn same_client_id_same_body_is_one_order_different_body_conflicts() {
    let mut r = Rig::new();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    let body = r#"{"client_order_id":"dup","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"95"}"#;
    let a = r.submit(body, H).unwrap();
    let n = r.log.len();
    for _ in 0..10 {
        assert_eq!(r.submit(body, H + 5).unwrap(), a);
    }
    assert_eq!(r.log.len(), n, "resubmission records nothing");
    let other = r#"{"client_order_id":"dup","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"96"}"#;
    assert!(matches!(r.submit(other, H + 6), Err(ExecutionError::Conflict(_))));
}

#[test]
fn bracket_exits_wait_for_the_entry_then_one_cancels_the_other() {
    let mut r = Rig::new();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    let entry = r
        .submit(r#"{"client_order_id":"br","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"2","price":"99","stop_loss":"95","take_profit":"110"}"#, H)
        .unwrap();
    let sl = r.core.by_client["br-sl"];
    let tp = r.core.by_client["br-tp"];
    assert_eq!((r.status(sl), r.status(tp)), (OrderStatus::Held, OrderStatus::Held));
    r.bar(1, 100.0, 100.5, 98.0, 99.5); // entry fills at 99 (maker); exits released
    assert_eq!(r.status(entry), OrderStatus::Filled);
    assert_eq!((r.status(sl), r.status(tp)), (OrderStatus::Accepted, OrderStatus::Accepted));
    assert_eq!(r.core.order(sl).unwrap().quantity, f("2"));
    r.bar(2, 100.0, 111.0, 99.0, 110.0); // take-profit hits at 110; stop-loss canceled
    assert_eq!((r.status(tp), r.status(sl)), (OrderStatus::Filled, OrderStatus::Canceled));
    assert_eq!(r.core.portfolio.position("BTC/USDT"), Fixed::ZERO);
    // realised (110 - 99) * 2 = 22
    assert_eq!(r.core.portfolio.realized_pnl(), f("22"));
}

#[test]
fn oco_and_oto() {
    let mut r = Rig::new();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    r.submit(r#"{"client_order_id":"long","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"1"}"#, H).unwrap();
    r.bar(1, 100.0, 101.0, 99.0, 100.0);
    // OCO exit: sell limit 105 or stop 95.
    let tp = r.submit(r#"{"client_order_id":"x","symbol":"BTC/USDT","side":"sell","type":"limit","quantity":"1","price":"105","oco_stop_price":"95"}"#, 2 * H).unwrap();
    let stop = r.core.by_client["x-oco"];
    r.bar(2, 100.0, 101.0, 94.0, 96.0);
    assert_eq!((r.status(stop), r.status(tp)), (OrderStatus::Filled, OrderStatus::Canceled));
    // OTO: a buy that, once filled, releases a take-profit sell.
    let parent = r
        .submit(r#"{"client_order_id":"p","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"1","then":{"symbol":"BTC/USDT","side":"sell","type":"limit","quantity":"1","price":"120"}}"#, 3 * H)
        .unwrap();
    let child = r.core.by_client["p-then"];
    assert_eq!(r.status(child), OrderStatus::Held);
    r.bar(3, 100.0, 101.0, 99.0, 100.0);
    assert_eq!((r.status(parent), r.status(child)), (OrderStatus::Filled, OrderStatus::Accepted));
}

#[test]
fn kill_switch_halts_and_reducing_allows_only_reductions() {
    let mut r = Rig::new();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    r.submit(r#"{"client_order_id":"l","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"3"}"#, H).unwrap();
    r.bar(1, 100.0, 101.0, 99.0, 100.0);
    let e = r.core.set_trading_state(TradingState::Halted, "test", Timestamp(2 * H)).unwrap().unwrap();
    r.log.push((e, Timestamp(2 * H)));
    let refused = r.submit(r#"{"client_order_id":"h","symbol":"BTC/USDT","side":"sell","type":"market","quantity":"1"}"#, 2 * H).unwrap();
    assert_eq!(r.status(refused), OrderStatus::Rejected);
    assert!(r.core.order(refused).unwrap().reason.as_deref().unwrap().starts_with(RejectSource::KillSwitch.as_str()));
    let e = r.core.set_trading_state(TradingState::Reducing, "test", Timestamp(2 * H)).unwrap().unwrap();
    r.log.push((e, Timestamp(2 * H)));
    let grow = r.submit(r#"{"client_order_id":"g","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"1"}"#, 2 * H).unwrap();
    let shrink = r.submit(r#"{"client_order_id":"s","symbol":"BTC/USDT","side":"sell","type":"market","quantity":"1"}"#, 2 * H).unwrap();
    assert_eq!((r.status(grow), r.status(shrink)), (OrderStatus::Rejected, OrderStatus::Accepted));
    // Flatten: cancels working orders, closes the position at the next bar.
    let events = r.core.flatten("test", Timestamp(2 * H), &mut r.ids).unwrap();
    r.log.extend(events.into_iter().map(|e| (e, Timestamp(2 * H))));
    assert_eq!(r.status(shrink), OrderStatus::Canceled);
    r.bar(2, 100.0, 101.0, 99.0, 100.0);
    assert_eq!(r.core.portfolio.position("BTC/USDT"), Fixed::ZERO);
    let again = r.replayed();
    assert_eq!(again.trading_state, TradingState::Reducing);
    assert_eq!(again.portfolio, r.core.portfolio);
}

#[test]
fn risk_check_resizes_and_refuses_and_bad_requests_name_the_field() {
    let mut r = Rig::new();
    r.core.config.limits.max_position_size = 0.05; // 500 USDT at 10k equity
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    let id = r.submit(r#"{"client_order_id":"big","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"20"}"#, H).unwrap();
    let o = r.core.order(id).unwrap();
    assert_eq!((o.quantity, o.requested_quantity), (f("5"), f("20")));
    assert!(o.risk_note.contains("resized"), "{}", o.risk_note);
    let cases = [
        (r#"{"symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1"}"#, "price"),
        (r#"{"symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.000001"}"#, "lot size"),
        (r#"{"symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"100.001"}"#, "tick size"),
        (r#"{"symbol":"ETH/BTC","side":"buy","type":"market","quantity":"1"}"#, "quoted in BTC"),
        (r#"{"symbol":"BTC/USDT","side":"buy","type":"stop_market","quantity":"1"}"#, "stop_price"),
        (r#"{"symbol":"BTC/USDT","side":"buy","type":"market","quantity":"1","time_in_force":"gtd"}"#, "expire_at"),
        (r#"{"symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"99","stop_loss":"120"}"#, "wrong side"),
        (r#"{"symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.01"}"#, "notional"),
    ];
    for (json, needle) in cases {
        match r.submit(json, H) {
            Err(ExecutionError::Invalid(m)) => assert!(m.contains(needle), "{json}: {m}"),
            other => panic!("{json}: {other:?}"),
        }
    }
}

#[test]
fn gtd_expires_and_timer_is_deterministic() {
    let mut r = Rig::new();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    let id = r
        .submit(r#"{"client_order_id":"gtd","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"50","time_in_force":"gtd","expire_at":"1970-01-01T03:00:00Z"}"#, H)
        .unwrap();
    let events = r.core.on_timer(Timestamp(2 * H)).unwrap();
    assert!(events.is_empty());
    let events = r.core.on_timer(Timestamp(3 * H)).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(r.status(id), OrderStatus::Expired);
}

fn op() -> impl Strategy<Value = (u8, u8, u8)> {
    (0u8..8, 0u8..6, 0u8..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random submissions, cancels, bars and kill-switch moves: the emitted events,
    /// folded into a fresh core, give the same orders and portfolio; no order is ever
    /// over-filled; the portfolio's position equals the net of fills.
    #[test]
    fn replay_reproduces_the_state(ops in prop::collection::vec(op(), 1..60)) {
        let mut r = Rig::new();
        let mut price = 100.0f64;
        let mut bar_index = 0i64;
        r.bar(bar_index, price, price + 1.0, price - 1.0, price);
        for (n, (kind, a, b)) in ops.into_iter().enumerate() {
            let now = (bar_index + 1) * H + n as i64;
            let side = if a % 2 == 0 { "buy" } else { "sell" };
            let q = ["1", "2", "0.5"][b as usize % 3];
            let body = match kind {
                0 => format!(r#"{{"client_order_id":"o{n}","symbol":"BTC/USDT","side":"{side}","type":"market","quantity":"{q}"}}"#),
                1 => format!(r#"{{"client_order_id":"o{n}","symbol":"BTC/USDT","side":"{side}","type":"limit","quantity":"{q}","price":"{}"}}"#, 97 + a as i64),
                2 => format!(r#"{{"client_order_id":"o{n}","symbol":"BTC/USDT","side":"{side}","type":"stop_market","quantity":"{q}","stop_price":"{}"}}"#, if side == "buy" { 103 } else { 97 }),
                3 => format!(r#"{{"client_order_id":"o{n}","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"{q}","price":"99","stop_loss":"95","take_profit":"{}"}}"#, 101 + a as i64),
                4 => {
                    let open: Vec<_> = r.core.open_by_symbol.get("BTC/USDT").map(|s| s.iter().map(|(_, id)| *id).collect()).unwrap_or_default();
                    if let Some(id) = open.get(a as usize % open.len().max(1)) {
                        if let Ok(ev) = r.core.cancel(*id, "user", Timestamp(now)) {
                            r.log.extend(ev.into_iter().map(|e| (e, Timestamp(now))));
                        }
                    }
                    continue;
                }
                5 => {
                    let to = TradingState::ALL[a as usize % 3];
                    if let Some(e) = r.core.set_trading_state(to, "prop", Timestamp(now)).unwrap() {
                        r.log.push((e, Timestamp(now)));
                    }
                    continue;
                }
                _ => {
                    bar_index += 1;
                    price = (price + a as f64 - 2.5).max(60.0);
                    r.bar(bar_index, price, price + b as f64 + 0.5, price - b as f64 - 0.5, price + 0.25);
                    continue;
                }
            };
            let _ = r.submit(&body, now);
        }
        for o in r.core.orders.values() {
            prop_assert!(o.filled <= o.quantity);
            prop_assert_eq!(o.status == OrderStatus::Filled, o.filled == o.quantity && !o.quantity.is_zero());
        }
        let net = r.core.orders.values().fold(0i128, |acc, o| acc + o.spec.side.sign() * o.filled.raw());
        prop_assert_eq!(r.core.portfolio.position("BTC/USDT").raw(), net);
        prop_assert_eq!(r.core.equity(), r.core.portfolio.equity(), "the cached equity is never stale");
        let again = r.replayed();
        prop_assert_eq!(&again.orders, &r.core.orders);
        prop_assert_eq!(&again.portfolio, &r.core.portfolio);
        prop_assert_eq!(again.trading_state, r.core.trading_state);
    }
}

#[test]
fn one_bar_fills_thousands_of_resting_orders() {
    let mut r = Rig::new();
    r.core.config.fill.participation = 1.0;
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    for i in 0..3000 {
        r.submit(
            &format!(r#"{{"client_order_id":"x{i}","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.06","price":"99"}}"#),
            H + i,
        )
        .unwrap();
    }
    let candle = Candle { open_time: Timestamp(2 * H), open: 100.0, high: 101.0, low: 98.0, close: 100.0, volume: 1e7 };
    let events = r.core.on_bars("BTC/USDT", Timeframe::H1, &[candle], 9).unwrap();
    assert_eq!(events.len(), 3000);
    assert_eq!(r.core.portfolio.position("BTC/USDT"), f("180"));
}

/// A crash between the batches of one large bar: the journal has only a prefix of the
/// bar's groups. Rebuilding (observe the bars before the last cause, apply the prefix)
/// and matching the last-cause bar again ends in the same state as the uncut run, with
/// no order filled twice.
#[test]
fn rematching_a_partly_journaled_bar_fills_nothing_twice() {
    let mut r = Rig::new();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    for i in 0..40 {
        let json = if i % 4 == 0 {
            format!(
                r#"{{"client_order_id":"x{i}","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"99","oco_stop_price":"102"}}"#
            )
        } else {
            format!(
                r#"{{"client_order_id":"x{i}","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"{}"}}"#,
                95 + i % 5
            )
        };
        r.submit(&json, H + i).unwrap();
    }
    let core_before = r.core.clone();
    let candle = Candle { open_time: Timestamp(2 * H), open: 100.0, high: 103.0, low: 97.0, close: 100.0, volume: 1e6 };
    let groups = r.core.on_bars_grouped("BTC/USDT", Timeframe::H1, &[candle], 99).unwrap();
    assert!(groups.len() > 10);
    let full = r.core.clone();
    for cut in [0, 1, groups.len() / 2, groups.len() - 1, groups.len()] {
        let mut core = core_before.clone();
        for g in &groups[..cut] {
            for e in g {
                core.apply(e, Timestamp(3 * H)).unwrap();
            }
        }
        let again = core.on_bars("BTC/USDT", Timeframe::H1, &[candle], 99).unwrap();
        let expected: usize = groups[cut..].iter().map(|g| g.len()).sum();
        assert_eq!(again.len(), expected, "cut {cut}: only the missing groups are decided again");
        let differing = differing_orders(&core, &full);
        assert!(differing.is_empty(), "cut {cut}: orders differ: {differing:?}");
        assert_eq!(core.portfolio, full.portfolio, "cut {cut}");
    }
}

/// Client ids of orders that differ between two cores; the matching cursor of a final
/// order (`matched_until`, `trail_anchor`) is not compared: nothing reads it.
fn differing_orders(a: &ExecutionCore, b: &ExecutionCore) -> Vec<String> {
    let norm = |o: &super::order::Order| {
        let mut o = o.clone();
        if o.status.is_terminal() {
            o.matched_until = Timestamp(0);
            o.trail_anchor = None;
        }
        o
    };
    let mut out: Vec<String> = a
        .orders
        .iter()
        .filter(|(id, o)| b.orders.get(id).map(norm) != Some(norm(o)))
        .map(|(_, o)| o.spec.client_order_id.to_string())
        .collect();
    out.extend(b.orders.keys().filter(|id| !a.orders.contains_key(id)).map(|id| id.to_string()));
    out
}

/// Finished orders beyond `finished_orders_kept` leave the core, oldest first, when the
/// next order is submitted; working ones stay whatever their age; a replay of the log
/// drops the same ones.
#[test]
fn finished_orders_beyond_the_kept_tail_are_dropped() {
    let kept_one = || ExecutionConfig { finished_orders_kept: 1, ..config() };
    let mut r = Rig::new();
    r.core.config = kept_one();
    r.bar(0, 100.0, 101.0, 99.0, 100.0);
    let market = |cid: &str| format!(r#"{{"client_order_id":"{cid}","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"1"}}"#);
    let resting =
        r.submit(r#"{"client_order_id":"rest","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"1","price":"50"}"#, H).unwrap();
    let a = r.submit(&market("a"), H).unwrap();
    r.bar(1, 100.0, 101.0, 99.0, 100.0);
    let b = r.submit(&market("b"), 2 * H).unwrap();
    assert_eq!(r.status(a), OrderStatus::Filled, "one finished order is kept");
    r.bar(2, 100.0, 101.0, 99.0, 100.0);
    r.submit(&market("c"), 3 * H).unwrap();
    assert!(r.core.order(a).is_none() && r.core.order_by_client("a").is_none(), "the oldest finished order left");
    assert_eq!(r.status(b), OrderStatus::Filled);
    assert_eq!(r.status(resting), OrderStatus::Accepted, "a working order stays");
    assert_eq!(r.core.orders().count(), 3, "rest, b and c");
    assert_eq!(r.core.position("BTC/USDT"), f("2"), "the portfolio keeps what the dropped order did");
    let mut replayed = ExecutionCore::new(kept_one());
    for (e, at) in &r.log {
        match e {
            Event::CandlesIngested(c) => replayed.observe_bars(&c.symbol, c.timeframe, &c.candles),
            other => replayed.apply(other, *at).unwrap(),
        }
    }
    assert_eq!(replayed.orders().collect::<Vec<_>>(), r.core.orders().collect::<Vec<_>>());
}
