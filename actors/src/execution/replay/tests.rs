//! The replayer on streams recorded by the core itself (as the actor journals them):
//! identical when nothing changed, the first difference named when a record or the
//! configuration did.

use super::{replay, replay_configured, Recorded, Scope};
use crate::execution::core::{ExecutionConfig, ExecutionCore};
use crate::execution::fill::{FillModel, Slippage};
use crate::execution::request::OrderRequest;
use tradpal_messages::{
    Candle, CandlesIngested, CashAdjusted, DataSource, Event, Fixed, IdGenerator, OrderId, RiskLimitBreached, SessionId, Timeframe,
    Timestamp, TradingState,
};

const H: i64 = 3_600_000_000_000;
const SESSION: SessionId = SessionId(7);

fn f(s: &str) -> Fixed {
    Fixed::parse(s).unwrap()
}

fn config() -> ExecutionConfig {
    let fill = FillModel { taker_fee: f("0.001"), maker_fee: f("0.001"), slippage: Slippage::FixedBps(2), participation: 1.0 };
    let mut c = ExecutionConfig { fill, ..ExecutionConfig::default() };
    c.limits.max_position_size = 0.5;
    c
}

/// A core that journals what it decides, like the actor: records with dense sequences.
struct Recorder {
    core: ExecutionCore,
    ids: IdGenerator,
    records: Vec<Recorded>,
}

impl Recorder {
    fn new() -> Self {
        let mut r = Recorder { core: ExecutionCore::new(config()), ids: IdGenerator::from_seed(3), records: vec![] };
        let fund = Event::CashAdjusted(CashAdjusted { asset: "USDT".into(), amount: Fixed::from_int(10_000), reason: "start".into() });
        r.core.apply(&fund, Timestamp(0)).unwrap();
        r.push(fund, 0);
        r
    }

    fn push(&mut self, event: Event, at: i64) -> u64 {
        let sequence = self.records.len() as u64 + 1;
        self.records.push(Recorded { sequence, timestamp: Timestamp(at), event });
        sequence
    }

    fn push_all(&mut self, events: Vec<Event>, at: i64) {
        for e in events {
            self.push(e, at);
        }
    }

    fn submit(&mut self, json: &str, at: i64) -> OrderId {
        let req: OrderRequest = serde_json::from_str(json).unwrap();
        let s = self.core.submit(&req, Timestamp(at), &mut self.ids).unwrap();
        self.push_all(s.events, at);
        s.order_id
    }

    /// Journals the candle record of bar `i` (matched later with [`Self::matched`]).
    fn candle_record(&mut self, i: i64, o: f64, h: f64, l: f64, c: f64) -> (u64, Candle) {
        let candle = Candle { open_time: Timestamp(i * H), open: o, high: h, low: l, close: c, volume: 100.0 };
        let e = CandlesIngested { symbol: "BTC/USDT".into(), timeframe: Timeframe::H1, source: DataSource::Http, candles: vec![candle] };
        (self.push(Event::CandlesIngested(e), (i + 1) * H), candle)
    }

    fn matched(&mut self, (seq, candle): (u64, Candle)) {
        let events = self.core.on_bars("BTC/USDT", Timeframe::H1, &[candle], seq).unwrap();
        let at = candle.open_time.0 + H;
        self.push_all(events, at);
    }

    fn bar(&mut self, i: i64, o: f64, h: f64, l: f64, c: f64) {
        let rec = self.candle_record(i, o, h, l, c);
        self.matched(rec);
    }

    fn cancel(&mut self, id: OrderId, at: i64) {
        let events = self.core.cancel(id, "by the client", Timestamp(at)).unwrap();
        self.push_all(events, at);
    }

    fn count(&self, kind: tradpal_messages::EventKind) -> usize {
        self.records.iter().filter(|r| r.event.kind() == kind).count()
    }
}

/// A session with the usual mix: market, limit with a bracket (fills, OCO cancel), a
/// canceled limit, an OCO pair, a GTD order the clock expires, an order refused by the
/// kill switch, a flatten.
fn recorded_session() -> Recorder {
    let mut r = Recorder::new();
    let s = SESSION.0;
    r.bar(0, 30_000.0, 30_100.0, 29_900.0, 30_000.0);
    r.submit(
        &format!(
            r#"{{"client_order_id":"m1","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.05","session_id":"{}"}}"#,
            SessionId(s)
        ),
        H / 2 + 1,
    );
    r.submit(
        &format!(r#"{{"client_order_id":"b1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.05","price":"29500","stop_loss":"29000","take_profit":"31000","session_id":"{}"}}"#, SessionId(s)),
        H / 2 + 2,
    );
    let c1 = r
        .submit(r#"{"client_order_id":"c1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"25000"}"#, H / 2 + 3);
    r.submit(r#"{"client_order_id":"big","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.5"}"#, H / 2 + 4); // resized by risk
    r.bar(1, 30_000.0, 30_050.0, 29_400.0, 29_800.0);
    r.cancel(c1, H + H / 2 + 5);
    r.submit(r#"{"client_order_id":"o1","symbol":"BTC/USDT","side":"sell","type":"limit","quantity":"0.01","price":"32000","oco_stop_price":"28000"}"#, H + H / 2 + 6);
    r.bar(2, 29_800.0, 31_100.0, 29_700.0, 31_000.0);
    r.submit(r#"{"client_order_id":"g1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"20000","time_in_force":"gtd","expire_at":"1970-01-01T03:30:00Z"}"#, 2 * H + H / 2 + 7);
    let expired = r.core.on_timer(Timestamp(3 * H + H / 2)).unwrap();
    assert!(!expired.is_empty());
    r.push_all(expired, 3 * H + H / 2);
    let halt = r.core.set_trading_state(TradingState::Halted, "admin", Timestamp(4 * H)).unwrap().unwrap();
    r.push(halt, 4 * H);
    r.submit(r#"{"client_order_id":"k1","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.01"}"#, 4 * H + 1);
    let flat = r.core.flatten("end of test", Timestamp(4 * H + 2), &mut r.ids).unwrap();
    r.push_all(flat, 4 * H + 2);
    r.bar(5, 31_000.0, 31_000.0, 30_900.0, 30_950.0);
    r
}

#[test]
fn a_recorded_account_replays_identically_with_every_decision_and_fill_compared() {
    let r = recorded_session();
    let report = replay(config(), &r.records, Scope::Account);
    assert!(report.identical, "{:?}", report.difference);
    use tradpal_messages::EventKind as K;
    assert_eq!(report.fills as usize, r.count(K::OrderFilled));
    assert_eq!(report.decisions as usize, r.count(K::OrderAccepted) + r.count(K::OrderRejected));
    let compared: u64 = report.compared.values().sum();
    assert_eq!(compared as usize, r.records.len() - r.count(K::CandlesIngested) - r.count(K::CashAdjusted));
    assert!(report.fills >= 4 && r.count(K::OrderRejected) >= 1 && r.count(K::OrderExpired) >= 1, "{report:?}");
    for input in ["submit", "cancel", "candles", "timer", "trading_state", "flatten", "cash"] {
        assert!(report.inputs.get(input).is_some_and(|n| *n > 0), "no {input} input in {:?}", report.inputs);
    }
}

#[test]
fn a_session_scope_counts_only_the_sessions_orders() {
    let r = recorded_session();
    let report = replay(config(), &r.records, Scope::Session(SESSION));
    assert!(report.identical, "{:?}", report.difference);
    assert_eq!(report.orders, 4, "m1, b1 and its two exits");
    let all = replay(config(), &r.records, Scope::Account);
    assert!(report.fills > 0 && report.fills < all.fills, "{} of {}", report.fills, all.fills);
    assert!(report.decisions > 0 && report.decisions < all.decisions);
}

#[test]
fn an_altered_fill_is_the_first_difference_with_its_field_and_both_values() {
    let mut r = recorded_session();
    let at = r.records.iter().position(|x| matches!(x.event, Event::OrderFilled(_))).unwrap();
    let second = at + 1 + r.records[at + 1..].iter().position(|x| matches!(x.event, Event::OrderFilled(_))).unwrap();
    let Event::OrderFilled(fill) = &mut r.records[second].event else { unreachable!() };
    let recorded_fee = fill.fee;
    fill.price = fill.price.checked_add(f("1")).unwrap();
    let doctored = fill.price;
    let report = replay(config(), &r.records, Scope::Account);
    assert!(!report.identical);
    let d = report.difference.unwrap();
    assert_eq!((d.sequence, d.kind.as_str(), d.field.as_str()), (Some(r.records[second].sequence), "order_filled", "price"));
    assert_eq!(d.recorded, serde_json::json!(doctored.to_string()));
    assert_ne!(d.replayed, d.recorded);
    assert_eq!(report.fills, 1, "the fill before it compared equal");
    // The fee is the next field a reader would look at: it was left as recorded.
    assert!(recorded_fee.is_positive());
}

#[test]
fn another_fee_setting_differs_at_the_first_fill() {
    let r = recorded_session();
    let mut other = config();
    other.fill.taker_fee = f("0.002");
    let report = replay(other, &r.records, Scope::Account);
    let d = report.difference.expect("a different fee must show");
    let first_fill = r.records.iter().find(|x| matches!(x.event, Event::OrderFilled(_))).unwrap().sequence;
    assert_eq!((d.sequence, d.kind.as_str(), d.field.as_str()), (Some(first_fill), "order_filled", "fee"));
}

#[test]
fn journaled_settings_take_effect_where_they_were_journaled() {
    let r = recorded_session();
    let mut other = config();
    other.fill.taker_fee = f("0.002");
    // The recorded settings, journaled before every record: identical, whatever `other` says.
    let report = replay_configured(other.clone(), &[(0, config())], &r.records, Scope::Account);
    assert!(report.identical, "{:?}", report.difference);
    // Settings journaled only after the first fill: that fill is decided with `other`.
    let first_fill = r.records.iter().find(|x| matches!(x.event, Event::OrderFilled(_))).unwrap().sequence;
    let report = replay_configured(config(), &[(first_fill - 1, other)], &r.records, Scope::Account);
    let d = report.difference.expect("the later settings apply from where they were journaled");
    assert_eq!((d.sequence, d.field.as_str()), (Some(first_fill), "fee"));
}

#[test]
fn a_request_served_before_the_actor_matched_an_earlier_candle_record_is_replayed_in_that_order() {
    let mut r = Recorder::new();
    r.bar(0, 30_000.0, 30_100.0, 29_900.0, 30_000.0);
    // The candle record of bar 1 is journaled before the actor takes it in; an order
    // submitted meanwhile is matched against it.
    let rec = r.candle_record(1, 30_000.0, 30_050.0, 29_400.0, 29_800.0);
    r.submit(r#"{"client_order_id":"late","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.01"}"#, H / 2);
    r.matched(rec);
    assert_eq!(r.count(tradpal_messages::EventKind::OrderFilled), 1);
    let report = replay(config(), &r.records, Scope::Account);
    assert!(report.identical, "{:?}", report.difference);
    assert_eq!(report.fills, 1);
}

#[test]
fn a_blocking_breach_is_answered_by_the_kill_switch_in_the_replay_too() {
    let mut r = Recorder::new();
    r.bar(0, 30_000.0, 30_100.0, 29_900.0, 30_000.0);
    let breach = Event::RiskLimitBreached(RiskLimitBreached {
        session_id: None,
        limit: "max_drawdown".into(),
        value: 0.3,
        threshold: 0.2,
        excess: 0.1,
    });
    r.core.apply(&breach, Timestamp(H + 1)).unwrap();
    r.push(breach, H + 1);
    let answer = r.core.answer_breach(Timestamp(H + 1)).unwrap().unwrap();
    r.push(answer, H + 1);
    r.submit(r#"{"client_order_id":"x","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.01"}"#, H + 2);
    let report = replay(config(), &r.records, Scope::Account);
    assert!(report.identical, "{:?}", report.difference);
    assert_eq!(
        (report.inputs.get("risk_breach"), report.compared.get("trading_state_changed"), report.compared.get("order_rejected")),
        (Some(&1), Some(&1), Some(&1))
    );
}

#[test]
fn a_missing_or_an_extra_recorded_event_is_a_difference() {
    let r = recorded_session();
    // Drop the last fill: the replay decides it after the journal's end, or before the
    // next recorded event.
    let last_fill = r.records.iter().rposition(|x| matches!(x.event, Event::OrderFilled(_))).unwrap();
    let mut fewer = r.records.clone();
    fewer.remove(last_fill);
    let d = replay(config(), &fewer, Scope::Account).difference.expect("a lost fill must show");
    assert!(d.kind == "order_filled" || d.field == "type", "{d:?}");
    // A fill nobody decided.
    let mut more = r.records.clone();
    let mut extra = more[last_fill].clone();
    extra.sequence = 99_999;
    more.insert(last_fill + 1, extra);
    let d = replay(config(), &more, Scope::Account).difference.expect("an extra fill must show");
    assert_eq!(d.sequence, Some(99_999));
}

#[test]
fn every_kind_of_request_is_rebuilt_from_its_recorded_events_into_the_same_decision() {
    use super::inputs::{legs_of, request_of, RecordedIds};
    let requests = [
        r#"{"client_order_id":"a","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"29000","stop_loss":"28000","take_profit":"31000"}"#,
        r#"{"client_order_id":"b","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.01","stop_loss":"28000"}"#,
        r#"{"client_order_id":"c","symbol":"BTC/USDT","side":"sell","type":"limit","quantity":"0.01","price":"32000","oco_stop_price":"28000","oco_stop_limit_price":"27900"}"#,
        r#"{"client_order_id":"d","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"29000","then":{"symbol":"BTC/USDT","side":"sell","type":"limit","quantity":"0.01","price":"33000"}}"#,
        r#"{"client_order_id":"e","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"29000","time_in_force":"gtd","expire_at":"1970-01-01T05:00:00.000000123Z"}"#,
        r#"{"client_order_id":"f","symbol":"BTC/USDT","side":"sell","type":"trailing_stop","quantity":"0.01","trailing_bps":150,"reduce_only":true}"#,
        r#"{"symbol":"BTC/USDT","side":"buy","type":"stop_limit","quantity":"0.01","price":"31100","stop_price":"31000","time_in_force":"gtc"}"#,
        r#"{"client_order_id":"h","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"2"}"#,
    ];
    for json in requests {
        let mut r = Recorder::new();
        r.bar(0, 30_000.0, 30_100.0, 29_900.0, 30_000.0);
        let first = r.records.len();
        r.submit(json, H / 2);
        let recorded: Vec<Event> = r.records[first..].iter().map(|x| x.event.clone()).collect();
        let Event::OrderSubmitted(main) = &recorded[0] else { panic!("{json}: {recorded:?}") };
        let legs = legs_of(&r.records, first);
        let rebuilt = request_of(main, &legs);
        let mut again = Recorder::new();
        again.bar(0, 30_000.0, 30_100.0, 29_900.0, 30_000.0);
        let mut ids = RecordedIds::new(std::iter::once(main.order_id).chain(legs.iter().map(|l| l.order_id)));
        let replayed = again.core.submit(&rebuilt, Timestamp(H / 2), &mut ids).unwrap().events;
        assert_eq!(replayed, recorded, "{json}");
    }
}

/// Orders the engine cancels by itself (an IOC's rest, a FOK that cannot fill whole, a
/// reduce-only order with nothing to reduce) are decisions of a bar, not inputs: they
/// replay as identical.
#[test]
fn engine_cancelled_ioc_fok_and_reduce_only_orders_replay_identically() {
    let mut r = Recorder::new();
    r.bar(0, 30_000.0, 30_100.0, 29_900.0, 30_000.0);
    // A FOK limit below the next bar's low: not filled whole on its first bar -> canceled.
    r.submit(r#"{"client_order_id":"fok1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"20000","time_in_force":"fok"}"#, H);
    // An IOC limit that cannot fill.
    r.submit(r#"{"client_order_id":"ioc1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"20000","time_in_force":"ioc"}"#, H);
    // Reduce-only with no position.
    r.submit(r#"{"client_order_id":"ro1","symbol":"BTC/USDT","side":"sell","type":"market","quantity":"0.01","reduce_only":true}"#, H);
    r.bar(1, 30_000.0, 30_100.0, 29_900.0, 30_050.0);
    r.bar(2, 30_050.0, 30_100.0, 29_900.0, 30_000.0);
    let canceled = r.count(tradpal_messages::EventKind::OrderCanceled) + r.count(tradpal_messages::EventKind::OrderRejected);
    assert!(canceled >= 2, "the engine ended orders by itself: {:?}", r.records.iter().map(|x| x.event.kind()).collect::<Vec<_>>());
    let report = replay(config(), &r.records, Scope::Account);
    assert!(report.identical, "{:?}", report.difference);
}

#[test]
fn a_halt_that_cancels_working_orders_replays_identically() {
    let mut r = Recorder::new();
    r.bar(0, 30_000.0, 30_100.0, 29_900.0, 30_000.0);
    // Two resting limits (one with a held bracket child) and a filled market order.
    r.submit(r#"{"client_order_id":"w1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"25000"}"#, H);
    r.submit(r#"{"client_order_id":"w2","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.01","price":"24000","stop_loss":"23000","take_profit":"26000"}"#, H + 1);
    r.submit(r#"{"client_order_id":"m1","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.01"}"#, H + 2);
    r.bar(1, 30_000.0, 30_100.0, 29_900.0, 30_050.0);
    let mut events =
        r.core.set_trading_state(TradingState::Halted, "incident", Timestamp(2 * H + 5)).unwrap().into_iter().collect::<Vec<_>>();
    events.extend(r.core.cancel_working("incident", Timestamp(2 * H + 5)).unwrap());
    let canceled: Vec<_> = events.iter().filter(|e| matches!(e, Event::OrderCanceled(_))).collect();
    assert!(canceled.len() >= 2, "both working orders (and the held legs) are canceled: {events:?}");
    assert_eq!(r.core.open_ids().count(), 0, "nothing works after the halt");
    r.push_all(events, 2 * H + 5);
    r.bar(2, 30_050.0, 30_100.0, 20_000.0, 30_000.0); // would have filled w1 and w2
    let report = replay(config(), &r.records, Scope::Account);
    assert!(report.identical, "{:?}", report.difference);
    assert_eq!(report.inputs.get("cancel_working"), Some(&1), "{:?}", report.inputs);
}
