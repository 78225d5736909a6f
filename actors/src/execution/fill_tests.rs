//! The documented fill rules (`fill.rs`), one order type at a time, at exact prices.

use super::fill::{match_bar, BarFill, FillModel, Slippage};
use super::instrument::Instruments;
use super::order::Order;
use tradpal_messages::{Candle, Fixed, Liquidity, OrderId, OrderSpec, OrderStatus, OrderType, Side, TimeInForce, Timestamp};

fn f(s: &str) -> Fixed {
    Fixed::parse(s).unwrap()
}

fn model() -> FillModel {
    FillModel { taker_fee: f("0.001"), maker_fee: f("0.0005"), slippage: Slippage::FixedBps(10), participation: 1.0 }
}

fn bar(open: f64, high: f64, low: f64, close: f64, volume: f64) -> Candle {
    Candle { open_time: Timestamp(3_600_000_000_000), open, high, low, close, volume }
}

fn order(side: Side, t: OrderType, qty: &str, price: Option<&str>, stop: Option<&str>) -> Order {
    let spec = OrderSpec {
        client_order_id: "c".into(),
        symbol: "BTC/USDT".into(),
        side,
        order_type: t,
        quantity: f(qty),
        price: price.map(f),
        stop_price: stop.map(f),
        trailing_bps: None,
        time_in_force: TimeInForce::Gtc,
        expire_at: None,
        reduce_only: false,
        session_id: None,
    };
    let mut o = Order::new(OrderId(1), spec, f(qty), String::new(), None, OrderStatus::Submitted, Timestamp(0));
    o.status = OrderStatus::Accepted;
    o
}

fn fill_of(o: &Order, b: &Candle) -> Option<BarFill> {
    let inst = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned();
    match_bar(o, b, &inst, &model(), Fixed::ZERO).fill
}

fn price_liq(o: &Order, b: &Candle) -> Option<(Fixed, Liquidity)> {
    fill_of(o, b).map(|x| (x.price, x.liquidity))
}

const B: fn() -> Candle = || bar(100.0, 110.0, 90.0, 105.0, 10.0);

#[test]
fn market_fills_at_the_open_plus_slippage_on_the_tick() {
    let x = fill_of(&order(Side::Buy, OrderType::Market, "1", None, None), &B()).unwrap();
    // 100 * (1 + 0.001) = 100.1; taker fee 100.1 * 1 * 0.001.
    assert_eq!((x.price, x.quantity, x.fee, x.liquidity), (f("100.1"), f("1"), f("0.1001"), Liquidity::Taker));
    // 100.37 * 1.001 = 100.47037 -> up to 100.48 (buy); 100.37 * 0.999 = 100.26963 -> down to 100.26 (sell).
    let b = bar(100.37, 110.0, 90.0, 105.0, 10.0);
    assert_eq!(price_liq(&order(Side::Buy, OrderType::Market, "1", None, None), &b).unwrap().0, f("100.48"));
    assert_eq!(price_liq(&order(Side::Sell, OrderType::Market, "1", None, None), &b).unwrap().0, f("100.26"));
}

#[test]
fn limit_fills_at_its_price_as_maker_or_at_the_open_as_taker() {
    assert_eq!(price_liq(&order(Side::Buy, OrderType::Limit, "1", Some("95"), None), &B()), Some((f("95"), Liquidity::Maker)));
    assert_eq!(price_liq(&order(Side::Buy, OrderType::Limit, "1", Some("101"), None), &B()), Some((f("100"), Liquidity::Taker)));
    assert_eq!(price_liq(&order(Side::Buy, OrderType::Limit, "1", Some("89.99"), None), &B()), None);
    assert_eq!(
        price_liq(&order(Side::Buy, OrderType::Limit, "1", Some("90"), None), &B()),
        Some((f("90"), Liquidity::Maker)),
        "touching the low fills"
    );
    assert_eq!(price_liq(&order(Side::Sell, OrderType::Limit, "1", Some("108"), None), &B()), Some((f("108"), Liquidity::Maker)));
    assert_eq!(price_liq(&order(Side::Sell, OrderType::Limit, "1", Some("99"), None), &B()), Some((f("100"), Liquidity::Taker)));
    assert_eq!(price_liq(&order(Side::Sell, OrderType::Limit, "1", Some("110.01"), None), &B()), None);
    // Maker fee: 95 * 1 * 0.0005.
    assert_eq!(fill_of(&order(Side::Buy, OrderType::Limit, "1", Some("95"), None), &B()).unwrap().fee, f("0.0475"));
}

#[test]
fn stops_trigger_on_the_range_and_fill_at_the_worse_of_stop_and_open() {
    let inst = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned();
    let buy = order(Side::Buy, OrderType::StopMarket, "1", None, Some("105"));
    let out = match_bar(&buy, &B(), &inst, &model(), Fixed::ZERO);
    // trigger max(105, 100) = 105; 105 * 1.001 = 105.105 -> up to 105.11.
    assert_eq!(out.triggered, Some(f("105")));
    assert_eq!(out.fill.unwrap().price, f("105.11"));
    // Sell stop 95: min(95, 100) = 95; 95 * 0.999 = 94.905 -> down to 94.9.
    assert_eq!(price_liq(&order(Side::Sell, OrderType::StopMarket, "1", None, Some("95")), &B()).unwrap().0, f("94.9"));
    // A gap through the stop fills at the open: stop 102, open 100 -> 99.9.
    assert_eq!(price_liq(&order(Side::Sell, OrderType::StopMarket, "1", None, Some("102")), &B()).unwrap().0, f("99.9"));
    assert_eq!(price_liq(&order(Side::Sell, OrderType::StopMarket, "1", None, Some("89")), &B()), None);
    // Take-profit sell 108: max(108, 100) = 108; 108 * 0.999 = 107.892 -> 107.89.
    assert_eq!(price_liq(&order(Side::Sell, OrderType::TakeProfit, "1", None, Some("108")), &B()).unwrap().0, f("107.89"));
    assert_eq!(price_liq(&order(Side::Buy, OrderType::TakeProfit, "1", None, Some("92")), &B()).unwrap().0, f("92.1"));
}

#[test]
fn stop_limit_fills_on_the_trigger_bar_only_within_its_limit() {
    let inst = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned();
    assert_eq!(price_liq(&order(Side::Buy, OrderType::StopLimit, "1", Some("106"), Some("105")), &B()), Some((f("105"), Liquidity::Taker)));
    let mut o = order(Side::Buy, OrderType::StopLimit, "1", Some("104"), Some("105"));
    let out = match_bar(&o, &B(), &inst, &model(), Fixed::ZERO);
    assert_eq!((out.triggered, out.fill), (Some(f("105")), None), "trigger 105 is above the limit 104: rests");
    o.trigger_price = out.triggered;
    // Next bar: a resting limit buy at 104.
    assert_eq!(price_liq(&o, &bar(106.0, 107.0, 103.0, 104.0, 10.0)), Some((f("104"), Liquidity::Maker)));
}

#[test]
fn trailing_stop_follows_the_best_price() {
    let inst = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned();
    let mut o = order(Side::Sell, OrderType::TrailingStop, "1", None, None);
    o.spec.trailing_bps = Some(500);
    // Bar 1: anchor = open 100, stop 95; low 96 does not reach it; anchor -> high 110.
    let out = match_bar(&o, &bar(100.0, 110.0, 96.0, 108.0, 10.0), &inst, &model(), Fixed::ZERO);
    assert_eq!((out.triggered, out.fill.is_none(), out.trail_anchor), (None, true, Some(f("110"))));
    o.trail_anchor = out.trail_anchor;
    // Bar 2: stop 110 * 0.95 = 104.5; low 104 reaches it; fills at 104.5 * 0.999 = 104.3955 -> 104.39.
    let out = match_bar(&o, &bar(108.0, 109.0, 104.0, 105.0, 10.0), &inst, &model(), Fixed::ZERO);
    assert_eq!(out.triggered, Some(f("104.5")));
    assert_eq!(out.fill.unwrap().price, f("104.39"));
}

#[test]
fn volume_cap_ioc_fok_and_reduce_only() {
    let inst = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned();
    let m = FillModel { participation: 0.1, ..model() };
    let b = bar(100.0, 110.0, 90.0, 105.0, 10.0); // cap 1.0 per bar
    let gtc = order(Side::Buy, OrderType::Market, "3", None, None);
    let out = match_bar(&gtc, &b, &inst, &m, Fixed::ZERO);
    assert_eq!((out.fill.unwrap().quantity, out.cancel), (f("1"), None));
    let mut ioc = gtc.clone();
    ioc.spec.time_in_force = TimeInForce::Ioc;
    let out = match_bar(&ioc, &b, &inst, &m, Fixed::ZERO);
    assert_eq!(out.fill.unwrap().quantity, f("1"));
    assert!(out.cancel.unwrap().contains("IOC"));
    let mut fok = gtc.clone();
    fok.spec.time_in_force = TimeInForce::Fok;
    let out = match_bar(&fok, &b, &inst, &m, Fixed::ZERO);
    assert!(out.fill.is_none() && out.cancel.unwrap().contains("FOK"));
    assert!(match_bar(&gtc, &bar(100.0, 100.0, 100.0, 100.0, 0.0), &inst, &m, Fixed::ZERO).fill.is_none(), "no volume, no fill");
    let mut ro = order(Side::Sell, OrderType::Market, "1", None, None);
    ro.spec.reduce_only = true;
    assert!(match_bar(&ro, &b, &inst, &model(), Fixed::ZERO).cancel.is_some(), "nothing to reduce");
    assert_eq!(match_bar(&ro, &b, &inst, &model(), f("0.5")).fill.unwrap().quantity, f("0.5"));
    assert!(match_bar(&ro, &b, &inst, &model(), f("-0.5")).cancel.is_some(), "a sell never reduces a short");
}

#[test]
fn volatility_scaled_slippage_grows_with_the_bar_range() {
    let inst = Instruments::binance_usdt().get("BTC/USDT").unwrap().into_owned();
    let m = FillModel { slippage: Slippage::VolatilityScaled { k: 0.1 }, ..model() };
    let o = order(Side::Buy, OrderType::Market, "1", None, None);
    // range fraction (110 - 90) / 100 = 0.2; slippage 0.02; 100 * 1.02 = 102.
    assert_eq!(match_bar(&o, &B(), &inst, &m, Fixed::ZERO).fill.unwrap().price, f("102"));
    assert_eq!(match_bar(&o, &bar(100.0, 101.0, 99.0, 100.0, 10.0), &inst, &m, Fixed::ZERO).fill.unwrap().price, f("100.2"));
}
