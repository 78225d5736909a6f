//! The core's live mode with hand-made venue reports: submission stays `submitted`,
//! reports are idempotent, partial fills across reports, a cancel while fills arrive,
//! rejection, unknown orders, and the replay property.

use super::core::{ExecutionConfig, ExecutionCore};
use super::error::ExecutionError;
use super::request::OrderRequest;
use super::venue::{VenueFill, VenueOrderState};
use tradpal_messages::{Candle, CashAdjusted, Event, Fixed, IdGenerator, Liquidity, OrderId, OrderStatus, Side, Timeframe, Timestamp};

const S: i64 = 1_000_000_000;

fn f(s: &str) -> Fixed {
    Fixed::parse(s).unwrap()
}

struct Rig {
    core: ExecutionCore,
    ids: IdGenerator,
    log: Vec<(Event, Timestamp)>,
}

impl Rig {
    fn new() -> Self {
        let mut c = ExecutionConfig { live_venue: Some("binance".into()), ..ExecutionConfig::default() };
        c.limits.max_position_size = 1.0;
        let mut core = ExecutionCore::new(c);
        let fund =
            Event::CashAdjusted(CashAdjusted { asset: "USDT".into(), amount: Fixed::from_int(100_000), reason: "venue balance".into() });
        core.apply(&fund, Timestamp(0)).unwrap();
        Rig { core, ids: IdGenerator::from_seed(3), log: vec![(fund, Timestamp(0))] }
    }

    fn submit(&mut self, json: &str) -> OrderId {
        let req: OrderRequest = serde_json::from_str(json).unwrap();
        let s = self.core.submit(&req, Timestamp(S), &mut self.ids).unwrap();
        self.log.extend(s.events.iter().map(|e| (e.clone(), Timestamp(S))));
        assert!(s.events.iter().all(|e| !matches!(e, Event::OrderAccepted(_))), "live: the venue accepts, not us");
        s.order_id
    }

    fn report(&mut self, id: OrderId, r: &VenueOrderState, at: i64) -> Vec<Event> {
        let events = self.core.on_venue_report(id, r, Timestamp(at * S)).unwrap();
        self.log.extend(events.iter().map(|e| (e.clone(), Timestamp(at * S))));
        events
    }

    fn limit(&mut self) -> OrderId {
        self.submit(r#"{"client_order_id":"l1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.003","price":"30000"}"#)
    }

    /// Folding the log into a fresh core gives the same orders and portfolio.
    fn check_replay(&self) {
        let mut fresh = ExecutionCore::new(self.core.config.clone());
        for (e, at) in &self.log {
            fresh.apply(e, *at).unwrap();
        }
        assert_eq!(fresh.orders, self.core.orders);
        assert_eq!(fresh.portfolio.equity(), self.core.portfolio.equity());
    }
}

fn fill(trade_id: u64, qty: &str, price: &str, commission: &str, asset: &str) -> VenueFill {
    VenueFill { trade_id, price: f(price), quantity: f(qty), commission: f(commission), commission_asset: asset.into(), maker: true }
}

fn report(status: OrderStatus, executed: &str, quote: &str, fills: Vec<VenueFill>) -> VenueOrderState {
    VenueOrderState {
        symbol: "BTC/USDT".into(),
        client_order_id: "l1".into(),
        venue_order_id: "77".into(),
        status,
        executed_quantity: f(executed),
        cumulative_quote: f(quote),
        fills,
        update_time_ms: 5_000,
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind().as_str()).collect()
}

#[test]
fn submit_stays_submitted_and_bars_do_not_fill() {
    let mut rig = Rig::new();
    let id = rig.limit();
    assert_eq!(rig.core.orders[&id].status, OrderStatus::Submitted);
    let bar = Candle { open_time: Timestamp(0), open: 29_000.0, high: 29_500.0, low: 28_000.0, close: 29_100.0, volume: 10.0 };
    let events = rig.core.on_bars("BTC/USDT", Timeframe::H1, &[bar], 1).unwrap();
    assert!(events.is_empty(), "the venue matches, not the paper exchange");
    assert_eq!(rig.core.last_price["BTC/USDT"].0, f("29100"), "bars still mark");
    // ORDER_TIMEOUT does not expire a live order on the clock alone.
    assert!(rig.core.on_timer(Timestamp(3_600 * S)).unwrap().is_empty());
}

#[test]
fn the_same_report_twice_emits_nothing_the_second_time() {
    let mut rig = Rig::new();
    let id = rig.limit();
    let r = report(OrderStatus::PartiallyFilled, "0.001", "30", vec![fill(1, "0.001", "30000", "0.03", "USDT")]);
    assert_eq!(kinds(&rig.report(id, &r, 2)), ["order_accepted", "order_filled"]);
    assert!(rig.report(id, &r, 3).is_empty());
    let o = &rig.core.orders[&id];
    assert_eq!(
        (o.status, o.filled, o.fees, o.venue_order_id.as_deref()),
        (OrderStatus::PartiallyFilled, f("0.001"), f("0.03"), Some("77"))
    );
    rig.check_replay();
}

#[test]
fn partial_fills_across_reports_apply_only_the_new_part() {
    let mut rig = Rig::new();
    let id = rig.limit();
    let first = vec![fill(1, "0.001", "30000", "0.000001", "BTC")];
    rig.report(id, &report(OrderStatus::PartiallyFilled, "0.001", "30", first.clone()), 2);
    // The second report carries all fills so far (as `myTrades` does).
    let all = [first, vec![fill(2, "0.001", "29990", "0.03", "USDT"), fill(3, "0.001", "29980", "0.03", "USDT")]].concat();
    let events = rig.report(id, &report(OrderStatus::Filled, "0.003", "89.97", all), 3);
    assert_eq!(kinds(&events), ["order_filled"]);
    let Event::OrderFilled(e) = &events[0] else { unreachable!() };
    assert_eq!(
        (e.quantity, e.price, e.fee, e.fill_seq, e.liquidity, e.cause_sequence),
        (f("0.002"), f("29985"), f("0.06"), 2, Liquidity::Maker, 0)
    );
    let o = &rig.core.orders[&id];
    assert_eq!((o.status, o.filled), (OrderStatus::Filled, f("0.003")));
    // The base-asset commission was valued at its fill's price: 0.000001 BTC at 30000.
    assert_eq!(o.fees, f("0.09"));
    assert_eq!(rig.core.portfolio.position("BTC/USDT"), f("0.003"));
    rig.check_replay();
}

#[test]
fn a_query_without_fills_is_priced_from_the_cumulative_quote() {
    let mut rig = Rig::new();
    let id = rig.limit();
    let events = rig.report(id, &report(OrderStatus::PartiallyFilled, "0.002", "59.99", vec![]), 2);
    let Event::OrderFilled(e) = &events[1] else { panic!("{events:?}") };
    assert_eq!((e.quantity, e.price, e.fee, e.liquidity), (f("0.002"), f("29995"), Fixed::ZERO, Liquidity::Taker));
}

#[test]
fn cancel_while_fills_arrive() {
    let mut rig = Rig::new();
    let id = rig.limit();
    rig.report(id, &report(OrderStatus::Accepted, "0", "0", vec![]), 2);
    let events = rig.core.cancel(id, "user", Timestamp(3 * S)).unwrap();
    rig.log.extend(events.iter().map(|e| (e.clone(), Timestamp(3 * S))));
    assert_eq!(kinds(&events), ["order_cancel_requested"], "the venue confirms the cancel");
    assert_eq!(rig.core.orders[&id].status, OrderStatus::PendingCancel);
    // A fill happened before the cancel reached the venue; then the cancel lands.
    let r = report(OrderStatus::Canceled, "0.001", "30", vec![fill(1, "0.001", "30000", "0.03", "USDT")]);
    assert_eq!(kinds(&rig.report(id, &r, 4)), ["order_filled", "order_canceled"]);
    let o = &rig.core.orders[&id];
    assert_eq!((o.status, o.filled), (OrderStatus::Canceled, f("0.001")));
    assert!(rig.report(id, &r, 5).is_empty());
    rig.check_replay();
}

#[test]
fn a_venue_rejection_and_a_refusal_reject_the_order() {
    let mut rig = Rig::new();
    let id = rig.limit();
    assert_eq!(kinds(&rig.report(id, &report(OrderStatus::Rejected, "0", "0", vec![]), 2)), ["order_rejected"]);
    assert_eq!(rig.core.orders[&id].status, OrderStatus::Rejected);
    let id2 = rig.submit(r#"{"client_order_id":"l2","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"30000"}"#);
    let events = rig.core.on_venue_refused(id2, "venue refused (-2010): insufficient balance", Timestamp(2 * S)).unwrap();
    assert_eq!(kinds(&events), ["order_rejected"]);
    assert!(rig.core.orders[&id2].reason.as_deref().unwrap().contains("insufficient balance"));
}

#[test]
fn an_unknown_order_expires_only_after_the_timeout_and_only_if_never_acknowledged() {
    let mut rig = Rig::new();
    let id = rig.limit();
    assert!(rig.core.on_venue_unknown(id, Timestamp(2 * S)).unwrap().is_empty(), "a placement may still be in flight");
    let events = rig.core.on_venue_unknown(id, Timestamp(S + 30 * S)).unwrap();
    assert_eq!(kinds(&events), ["order_expired"]);
    assert!(rig.core.orders[&id].reason.as_deref().unwrap().contains("does not know"));
    let id2 = rig.submit(r#"{"client_order_id":"l2","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"30000"}"#);
    rig.report(id2, &report(OrderStatus::Accepted, "0", "0", vec![]), 2);
    assert!(matches!(rig.core.on_venue_unknown(id2, Timestamp(100 * S)), Err(ExecutionError::Conflict(_))));
}

#[test]
fn inconsistent_reports_are_refused_and_change_nothing() {
    let mut rig = Rig::new();
    let id = rig.limit();
    let before = rig.core.orders[&id].clone();
    let over = report(OrderStatus::Filled, "0.004", "120", vec![]);
    assert!(matches!(rig.core.on_venue_report(id, &over, Timestamp(2 * S)), Err(ExecutionError::Conflict(_))));
    assert_eq!(rig.core.orders[&id], before);
    rig.report(id, &report(OrderStatus::Expired, "0", "0", vec![]), 2);
    let late = report(OrderStatus::Filled, "0.003", "90", vec![]);
    assert!(matches!(rig.core.on_venue_report(id, &late, Timestamp(3 * S)), Err(ExecutionError::Conflict(_))), "never silently ignored");
}

#[test]
fn live_cancel_and_flatten_ask_the_venue() {
    let mut rig = Rig::new();
    let bar = Candle { open_time: Timestamp(0), open: 30_000.0, high: 30_000.0, low: 30_000.0, close: 30_000.0, volume: 10.0 };
    rig.core.on_bars("BTC/USDT", Timeframe::H1, &[bar], 1).unwrap();
    let id = rig.submit(r#"{"client_order_id":"m1","symbol":"BTC/USDT","side":"buy","type":"market","quantity":"0.002","price":null}"#);
    let r = VenueOrderState { client_order_id: "m1".into(), ..report(OrderStatus::Filled, "0.002", "60", vec![]) };
    rig.report(id, &r, 2);
    assert_eq!(rig.core.portfolio.position("BTC/USDT"), f("0.002"));
    let open = rig.limit();
    let events = rig.core.flatten("test", Timestamp(3 * S), &mut rig.ids).unwrap();
    assert_eq!(kinds(&events), ["order_cancel_requested", "order_submitted"]);
    let Event::OrderSubmitted(s) = &events[1] else { unreachable!() };
    assert_eq!((s.spec.side, s.spec.quantity, s.spec.reduce_only), (Side::Sell, f("0.002"), true));
    assert_eq!(rig.core.orders[&open].status, OrderStatus::PendingCancel);
    let bracket = r#"{"symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"30000","stop_loss":"29000"}"#;
    let req: OrderRequest = serde_json::from_str(bracket).unwrap();
    assert!(matches!(rig.core.submit(&req, Timestamp(4 * S), &mut rig.ids), Err(ExecutionError::Invalid(_))), "no contingencies live yet");
}

#[test]
fn only_orders_still_submitted_or_pending_cancel_go_to_the_venue() {
    use super::venue_call::{calls_of, VenueCall};
    let mut rig = Rig::new();
    let id = rig.limit();
    let placed: Vec<Event> = rig.log.iter().map(|(e, _)| e.clone()).collect();
    assert!(matches!(calls_of(&rig.core, &placed)[..], [(o, VenueCall::Place(_))] if o == id));
    rig.core.set_trading_state(tradpal_messages::TradingState::Halted, "test", Timestamp(S)).unwrap();
    let req: OrderRequest = serde_json::from_str(
        r#"{"client_order_id":"h1","symbol":"BTC/USDT","side":"buy","type":"limit","quantity":"0.001","price":"30000"}"#,
    )
    .unwrap();
    let refused = rig.core.submit(&req, Timestamp(2 * S), &mut rig.ids).unwrap();
    assert_eq!(kinds(&refused.events), ["order_submitted", "order_rejected"]);
    assert!(calls_of(&rig.core, &refused.events).is_empty(), "a rejected order never reaches the venue");
    let cancel = rig.core.cancel(id, "user", Timestamp(3 * S)).unwrap();
    assert!(matches!(calls_of(&rig.core, &cancel)[..], [(o, VenueCall::Cancel { .. })] if o == id));
    let paper = ExecutionCore::new(ExecutionConfig::default());
    assert!(calls_of(&paper, &placed).is_empty(), "paper mode calls no venue");
}
