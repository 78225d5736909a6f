//! The paper exchange's fill rules: how one working order meets one bar. The backtest
//! uses exactly these rules (one code), so a backtest and a paper session fill alike.
//!
//! A bar is `open, high, low, close, volume` over `[open_time, open_time + timeframe)`.
//! Inside a bar we do not know the path, so the rules are conservative and fixed:
//!
//! - **Eligible bars**: only bars that open at or after the order's `matched_until`
//!   (its submission time at first): an order never fills on a bar that was already
//!   running when it arrived. This is the "next bar" rule (no look-ahead).
//! - **Market** (and a triggered stop-market, take-profit or trailing stop): fills at
//!   the bar's open, plus slippage against the order (buy up, sell down). Taker.
//! - **Limit** buy at `P`: if `open <= P` it fills at the open (it was marketable:
//!   taker); else if `low <= P` it fills at `P` (the price came to it: maker). Sell
//!   mirrors (`open >= P` / `high >= P`). No slippage on a limit price.
//! - **Stop-market** buy at `S`: triggers when `high >= S`; fills at `max(S, open)` plus
//!   slippage (a gap through the stop fills at the open). Sell: `low <= S`, `min(S, open)`.
//! - **Take-profit** sell at `T`: triggers when `high >= T`, fills at `max(T, open)`
//!   minus slippage; buy: `low <= T`, `min(T, open)` plus slippage.
//! - **Stop-limit** `(S, L)`: triggers as a stop; on the trigger bar it fills only if the
//!   trigger price is within the limit (buy: `<= L`), at the trigger price; otherwise it
//!   rests as a limit order from the next bar.
//! - **Trailing stop** with `b` basis points: the anchor is the best price since it
//!   started (sell: highest high; buy: lowest low), first the open of its first bar; the
//!   stop is `anchor * (1 - b/10000)` (sell) or `* (1 + b/10000)` (buy). A bar first
//!   checks the stop from the anchor *before* it (the bar's extreme may come after its
//!   trough), then moves the anchor.
//! - **Quantity**: at most `volume * participation` per bar (rounded down to the lot);
//!   a bar with zero volume fills nothing. The rest waits for later bars (partial fill).
//!   IOC fills what the first eligible bar allows and cancels the rest; FOK fills all on
//!   the first eligible bar or cancels all. Reduce-only fills at most the position.
//! - **Fees**: `price * quantity * rate`, rounded up to 8 decimals, maker or taker rate.
//! - **Slippage**: fixed basis points, or volatility-scaled: `k * (high - low) / open`
//!   of the bar (a wide bar costs more), capped at 10%.
//! - **Prices** land on the symbol's tick: buys round up, sells round down (against the
//!   order, never in its favour).

use super::instrument::Instrument;
use super::order::Order;
use tradpal_messages::{Candle, Fixed, Liquidity, OrderType, Rounding, Side, TimeInForce};

/// Largest slippage the volatility model may charge, as a fraction of price.
pub const SLIPPAGE_FRACTION_MAX: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slippage {
    /// A fixed cost in basis points of the price.
    FixedBps(u32),
    /// `k * (high - low) / open` of the bar.
    VolatilityScaled { k: f64 },
}

/// Costs and liquidity of the paper exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct FillModel {
    /// Fee rate when the order takes liquidity (`TRANSACTION_COSTS`).
    pub taker_fee: Fixed,
    /// Fee rate when the order rests and is hit.
    pub maker_fee: Fixed,
    pub slippage: Slippage,
    /// Largest fraction of a bar's volume one order may fill, in (0, 1]; `f64::INFINITY`
    /// for no cap (`participation none`: the bar's volume is not consulted, as vectorized
    /// backtesters assume, and FX files whose volumes are tick counts need).
    pub participation: f64,
}

impl Default for FillModel {
    /// Binance's base spot fees (0.1% both ways), 1 bp slippage, 10% of bar volume.
    fn default() -> Self {
        let rate = Fixed::parse("0.001").expect("constant");
        FillModel { taker_fee: rate, maker_fee: rate, slippage: Slippage::FixedBps(1), participation: 0.1 }
    }
}

/// What one bar does to one order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarOutcome {
    /// The order's trigger was reached on this bar, at this price.
    pub triggered: Option<Fixed>,
    pub fill: Option<BarFill>,
    /// IOC / FOK remainder, or a reduce-only order with nothing to reduce: cancel.
    pub cancel: Option<String>,
    /// The new trailing anchor after this bar.
    pub trail_anchor: Option<Fixed>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarFill {
    pub quantity: Fixed,
    pub price: Fixed,
    pub fee: Fixed,
    pub liquidity: Liquidity,
}

/// The bar's prices on the fixed grid (nearest 1e-8).
struct Bar {
    open: Fixed,
    high: Fixed,
    low: Fixed,
    range_fraction: f64,
    volume: f64,
}

fn bar_of(c: &Candle) -> Option<Bar> {
    let p = |x: f64| Fixed::from_f64_rounded(x, Rounding::Nearest).ok().filter(|v| v.is_positive());
    Some(Bar {
        open: p(c.open)?,
        high: p(c.high)?,
        low: p(c.low)?,
        range_fraction: ((c.high - c.low) / c.open).clamp(0.0, 1.0),
        volume: c.volume,
    })
}

/// Where an order's trigger (if any) stands on this bar: `Some(price)` once reached.
fn trigger(order: &Order, bar: &Bar) -> (Option<Fixed>, Option<Fixed>) {
    let side = order.spec.side;
    let stop = order.spec.stop_price;
    match order.spec.order_type {
        OrderType::StopMarket | OrderType::StopLimit => {
            let s = stop.expect("validated: stop orders have a stop price");
            let hit = match side {
                Side::Buy => (bar.high >= s).then(|| s.max(bar.open)),
                Side::Sell => (bar.low <= s).then(|| s.min(bar.open)),
            };
            (hit, None)
        }
        OrderType::TakeProfit => {
            let t = stop.expect("validated: take-profit has a stop price");
            let hit = match side {
                Side::Sell => (bar.high >= t).then(|| t.max(bar.open)),
                Side::Buy => (bar.low <= t).then(|| t.min(bar.open)),
            };
            (hit, None)
        }
        OrderType::TrailingStop => {
            let bps = order.spec.trailing_bps.expect("validated: trailing stop has trailing_bps") as i128;
            let anchor = order.trail_anchor.unwrap_or(bar.open);
            let (hit, next) = match side {
                Side::Sell => {
                    let level = Fixed::from_raw(anchor.raw() * (10_000 - bps) / 10_000);
                    ((bar.low <= level).then(|| level.min(bar.open)), anchor.max(bar.high))
                }
                Side::Buy => {
                    let level = Fixed::from_raw(anchor.raw() * (10_000 + bps) / 10_000);
                    ((bar.high >= level).then(|| level.max(bar.open)), anchor.min(bar.low))
                }
            };
            (hit, Some(next))
        }
        OrderType::Market | OrderType::Limit => (None, None),
    }
}

/// Matches one working order against one eligible bar. `position` is the signed
/// position in the order's symbol (for reduce-only).
pub fn match_bar(order: &Order, candle: &Candle, inst: &Instrument, model: &FillModel, position: Fixed) -> BarOutcome {
    let mut out = BarOutcome::default();
    let Some(bar) = bar_of(candle) else { return out };
    let side = order.spec.side;
    // 1. Trigger, for orders that have one and have not triggered yet.
    let mut trigger_price = order.trigger_price;
    if trigger_price.is_none() {
        let (hit, anchor) = trigger(order, &bar);
        out.trail_anchor = anchor;
        if hit.is_some() {
            out.triggered = hit;
            trigger_price = hit;
        }
    }
    // 2. The price this bar offers, if it offers one.
    let offer = offer(order, &bar, out.triggered, trigger_price, inst, model);
    // 3. How much.
    let first_bar = order.fill_count == 0;
    let mut quantity = order.remaining();
    if order.spec.reduce_only {
        let reducible = match side {
            Side::Buy if position.is_negative() => position.abs(),
            Side::Sell if position.is_positive() => position,
            _ => Fixed::ZERO,
        };
        if reducible.is_zero() {
            out.cancel = Some("reduce-only order has no position to reduce".into());
            return out;
        }
        quantity = quantity.min(reducible);
    }
    let cap = volume_cap(bar.volume, model.participation, inst.lot_size);
    let quantity = quantity.min(cap);
    let tif = order.spec.time_in_force;
    match offer {
        Some((price, liquidity)) if quantity.is_positive() => {
            if tif == TimeInForce::Fok && quantity < order.remaining() {
                out.cancel = Some(format!("FOK: only {quantity} of {} could fill on the first bar", order.remaining()));
                return out;
            }
            let rate = match liquidity {
                Liquidity::Maker => model.maker_fee,
                Liquidity::Taker => model.taker_fee,
            };
            let fee = price.checked_mul(quantity, Rounding::Up).and_then(|n| n.checked_mul(rate, Rounding::Up)).unwrap_or(Fixed::ZERO);
            out.fill = Some(BarFill { quantity, price, fee, liquidity });
            if tif == TimeInForce::Ioc && quantity < order.remaining() {
                out.cancel =
                    Some(format!("IOC: {} not filled on the first bar", Fixed::from_raw(order.remaining().raw() - quantity.raw())));
            }
        }
        _ if first_bar && matches!(tif, TimeInForce::Ioc | TimeInForce::Fok) => {
            out.cancel = Some(format!("{}: nothing could fill on the first bar", tif.as_str().to_uppercase()));
        }
        _ => {}
    }
    out
}

/// The price (and liquidity) this bar offers the order, if any. `triggered` is set when
/// the trigger was reached on this very bar; `trigger_price` when reached at any time.
fn offer(
    order: &Order,
    bar: &Bar,
    triggered: Option<Fixed>,
    trigger_price: Option<Fixed>,
    inst: &Instrument,
    model: &FillModel,
) -> Option<(Fixed, Liquidity)> {
    let side = order.spec.side;
    let slipped = |p: Fixed| slip(p, side, bar, model, inst);
    match order.spec.order_type {
        OrderType::Market => Some((slipped(bar.open), Liquidity::Taker)),
        OrderType::Limit => limit_offer(order.spec.price.expect("validated"), side, bar),
        OrderType::StopMarket | OrderType::TakeProfit | OrderType::TrailingStop => {
            // Triggered on an earlier bar: a market order now, at this bar's open.
            match (triggered, trigger_price) {
                (Some(t), _) => Some((slipped(t), Liquidity::Taker)),
                (None, Some(_)) => Some((slipped(bar.open), Liquidity::Taker)),
                (None, None) => None,
            }
        }
        OrderType::StopLimit => {
            let limit = order.spec.price.expect("validated");
            match (triggered, trigger_price) {
                (Some(t), _) => {
                    let ok = match side {
                        Side::Buy => t <= limit,
                        Side::Sell => t >= limit,
                    };
                    ok.then_some((t, Liquidity::Taker))
                }
                (None, Some(_)) => limit_offer(limit, side, bar),
                (None, None) => None,
            }
        }
    }
}

fn limit_offer(limit: Fixed, side: Side, bar: &Bar) -> Option<(Fixed, Liquidity)> {
    match side {
        Side::Buy if bar.open <= limit => Some((bar.open, Liquidity::Taker)),
        Side::Buy if bar.low <= limit => Some((limit, Liquidity::Maker)),
        Side::Sell if bar.open >= limit => Some((bar.open, Liquidity::Taker)),
        Side::Sell if bar.high >= limit => Some((limit, Liquidity::Maker)),
        _ => None,
    }
}

/// `price` moved against the order by the slippage model, then onto the tick grid.
fn slip(price: Fixed, side: Side, bar: &Bar, model: &FillModel, inst: &Instrument) -> Fixed {
    let fraction = match model.slippage {
        Slippage::FixedBps(bps) => bps as f64 / 10_000.0,
        Slippage::VolatilityScaled { k } => (k * bar.range_fraction).clamp(0.0, SLIPPAGE_FRACTION_MAX),
    };
    // fraction in 1e-8 units: exact for bps, rounded for the volatility model.
    let f = Fixed::from_f64_rounded(fraction, Rounding::Nearest).unwrap_or(Fixed::ZERO);
    let delta = price.checked_mul(f, Rounding::Up).unwrap_or(Fixed::ZERO);
    let (p, r) = match side {
        Side::Buy => (price.checked_add(delta).unwrap_or(price), Rounding::Up),
        Side::Sell => (price.checked_sub(delta).unwrap_or(price), Rounding::Down),
    };
    let on_tick = p.round_to_step(inst.tick_size, r).unwrap_or(p);
    if on_tick.is_positive() {
        on_tick
    } else {
        inst.tick_size
    }
}

/// `volume * participation`, rounded down to the lot; no cap for an infinite participation.
fn volume_cap(volume: f64, participation: f64, lot: Fixed) -> Fixed {
    if participation == f64::INFINITY {
        return Fixed::from_raw(tradpal_messages::money::FIXED_ABS_MAX);
    }
    let cap = Fixed::from_f64_rounded((volume * participation).min(1e17), Rounding::Down).unwrap_or(Fixed::ZERO);
    cap.round_to_step(lot, Rounding::Down).unwrap_or(Fixed::ZERO).max(Fixed::ZERO)
}
