//! The pre-trade check execution runs on every order: approve it, shrink it to fit the
//! limits, or refuse it, with a reason a person can act on.
//!
//! Why a total function returning a decision (not a `Result`): execution must get an
//! answer for every order, and an order it cannot assess (bad numbers in the order, the
//! snapshot or the limits) must not trade, so invalid input is a `Refuse` quoting the
//! problem. The decision is plain data, so the actor can journal it before acting.
//!
//! Rules, in order:
//! 1. An order that only shrinks an existing position (same side, not past flat) is
//!    always approved: refusing it would keep exactly the risk the limits want gone.
//! 2. Halts: when drawdown from `equity_peak` exceeds `max_drawdown`, or the loss since
//!    `day_start_equity` exceeds `max_daily_loss`, no new risk is taken; an order that
//!    flips a position is cut to the part that closes it (Resize), others are refused.
//! 3. Opening a new symbol when `max_open_positions` are already open is refused (or cut
//!    to the closing part, as above).
//! 4. The post-trade position, marked at the order's price, may be at most
//!    `max_position_size` of equity: a larger order is resized to the largest quantity
//!    that fits, or refused when nothing fits.
//!
//! Quantities are not rounded to lot sizes here; execution rounds a resize down.

use super::bounds::{FRACTION_MAX, MAX_DRAWDOWN_DEFAULT, MAX_POSITION_SIZE_DEFAULT, QUANTITY_MAX};
use super::check::{self, Interval};
use super::error::{Num, RiskError};
use super::exposure::{check_positions, Position};
use super::inputs::{PORTFOLIO_VALUE, PRICE};
use super::limits::{within, LOSS_FRACTION};
use serde::{Deserialize, Serialize};

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

/// An order execution wants to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposedOrder {
    pub symbol: String,
    pub side: Side,
    /// Units, in (0, QUANTITY_MAX].
    pub quantity: f64,
    /// Limit price, or the current price for a market order.
    pub price: f64,
}

/// The portfolio as execution sees it when the order arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSnapshot {
    /// Current equity, > 0.
    pub equity: f64,
    #[serde(default)]
    pub positions: Vec<Position>,
    /// Highest equity reached, for the drawdown halt.
    #[serde(default)]
    pub equity_peak: Option<f64>,
    /// Equity at the start of the trading day, for the daily-loss halt.
    #[serde(default)]
    pub day_start_equity: Option<f64>,
}

/// The limits an order must respect; `None` disables that limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest |position| as a fraction of equity (MAX_POSITION_SIZE, default 0.05).
    pub max_position_size: f64,
    /// Drawdown halt threshold (MAX_DRAWDOWN, default 0.1).
    #[serde(default)]
    pub max_drawdown: Option<f64>,
    #[serde(default)]
    pub max_daily_loss: Option<f64>,
    #[serde(default)]
    pub max_open_positions: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_position_size: MAX_POSITION_SIZE_DEFAULT,
            max_drawdown: Some(MAX_DRAWDOWN_DEFAULT),
            max_daily_loss: None,
            max_open_positions: None,
        }
    }
}

/// What execution may do with the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum PreTradeDecision {
    Approve,
    /// Send `quantity` (less than asked) instead.
    Resize {
        quantity: f64,
        reason: String,
    },
    Refuse {
        reason: String,
    },
}

/// Decides an order against the portfolio and limits (rules in the module docs).
pub fn pre_trade_check(order: &ProposedOrder, portfolio: &PortfolioSnapshot, limits: &Limits) -> PreTradeDecision {
    match decide(order, portfolio, limits) {
        Ok(d) => d,
        Err(e) => PreTradeDecision::Refuse { reason: format!("cannot assess the order: {e}") },
    }
}

fn decide(order: &ProposedOrder, pf: &PortfolioSnapshot, limits: &Limits) -> Result<PreTradeDecision, RiskError> {
    check::symbols("order.symbol", [order.symbol.as_str()])?;
    Interval::left_open(0.0, QUANTITY_MAX).check("order.quantity", order.quantity)?;
    PRICE.check("order.price", order.price)?;
    check_positions("portfolio.positions", &pf.positions)?;
    let q0 = pf.positions.iter().find(|p| p.symbol == order.symbol).map_or(0.0, |p| p.quantity);
    let dir = match order.side {
        Side::Buy => 1.0,
        Side::Sell => -1.0,
    };
    let q1 = q0 + dir * order.quantity;
    if q0 != 0.0 && q1 * q0 >= 0.0 && q1.abs() <= q0.abs() {
        return Ok(PreTradeDecision::Approve);
    }
    let equity = PORTFOLIO_VALUE.check("portfolio.equity", pf.equity)?;
    if let Some(reason) = halt(equity, pf, limits)? {
        return Ok(closing_part_or_refuse(q0, dir, reason));
    }
    if let (0.0, Some(max)) = (q0, limits.max_open_positions) {
        let open = pf.positions.iter().filter(|p| p.quantity != 0.0).count();
        if open >= max {
            let reason = format!("opening {} would make {} open positions, above max_open_positions {max}", order.symbol, open + 1);
            return Ok(PreTradeDecision::Refuse { reason });
        }
    }
    let max = Interval::left_open(0.0, FRACTION_MAX).check("limits.max_position_size", limits.max_position_size)?;
    Ok(size_limit(order, q0, dir, equity, max))
}

/// The reason new risk is halted, if drawdown or today's loss is past its limit:
/// drawdown `1 - equity / equity_peak`, daily loss `(day_start - equity) / day_start`.
fn halt(equity: f64, pf: &PortfolioSnapshot, limits: &Limits) -> Result<Option<String>, RiskError> {
    if let (Some(peak), Some(max)) = (pf.equity_peak, limits.max_drawdown) {
        let peak = PORTFOLIO_VALUE.check("portfolio.equity_peak", peak)?;
        let max = LOSS_FRACTION.check("limits.max_drawdown", max)?;
        let dd = (1.0 - equity / peak).max(0.0);
        if !within(dd, max) {
            return Ok(Some(format!("drawdown {} exceeds max_drawdown {}", Num(dd), Num(max))));
        }
    }
    if let (Some(start), Some(max)) = (pf.day_start_equity, limits.max_daily_loss) {
        let start = PORTFOLIO_VALUE.check("portfolio.day_start_equity", start)?;
        let max = LOSS_FRACTION.check("limits.max_daily_loss", max)?;
        let loss = ((start - equity) / start).max(0.0);
        if !within(loss, max) {
            return Ok(Some(format!("today's loss {} exceeds max_daily_loss {}", Num(loss), Num(max))));
        }
    }
    Ok(None)
}

/// Under a halt, an order against an existing position may still close it.
fn closing_part_or_refuse(q0: f64, dir: f64, halt: String) -> PreTradeDecision {
    if q0 * dir < 0.0 {
        let reason = format!("{halt}: only the part that closes the position is allowed");
        PreTradeDecision::Resize { quantity: q0.abs(), reason }
    } else {
        PreTradeDecision::Refuse { reason: format!("{halt}: only orders that reduce a position are accepted") }
    }
}

/// Position-size rule: with `allowed = max * equity / price` units, the post-trade
/// position must satisfy `|q0 + dir x| <= allowed`, i.e. `x <= allowed - dir q0`.
fn size_limit(order: &ProposedOrder, q0: f64, dir: f64, equity: f64, max: f64) -> PreTradeDecision {
    let allowed = max * equity / order.price;
    let q1 = q0 + dir * order.quantity;
    if within(q1.abs(), allowed) {
        return PreTradeDecision::Approve;
    }
    let fits = allowed - dir * q0;
    let reason = format!(
        "a {} position of {} units ({} of equity) would exceed max_position_size {}",
        order.symbol,
        Num(q1.abs()),
        Num(q1.abs() * order.price / equity),
        Num(max)
    );
    if fits <= order.quantity * 1e-9 {
        return PreTradeDecision::Refuse { reason: format!("{reason}; the position is already at the limit") };
    }
    PreTradeDecision::Resize { quantity: fits.min(order.quantity), reason: format!("{reason}; resized to {}", Num(fits)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn order(side: Side, quantity: f64) -> ProposedOrder {
        ProposedOrder { symbol: "BTC/USDT".into(), side, quantity, price: 50000.0 }
    }

    fn book(q: f64) -> PortfolioSnapshot {
        let positions = vec![Position { symbol: "BTC/USDT".into(), quantity: q, price: 50000.0 }];
        PortfolioSnapshot { equity: 100_000.0, positions, equity_peak: Some(100_000.0), day_start_equity: None }
    }

    #[test]
    fn approves_within_and_resizes_beyond_the_size_limit() {
        let l = Limits::default(); // 5 % of 100k = 5000 = 0.1 BTC
        assert_eq!(pre_trade_check(&order(Side::Buy, 0.1), &book(0.0), &l), PreTradeDecision::Approve);
        match pre_trade_check(&order(Side::Buy, 0.2), &book(0.05), &l) {
            PreTradeDecision::Resize { quantity, reason } => {
                assert!((quantity - 0.05).abs() < 1e-12);
                assert!(reason.contains("max_position_size 0.05"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(pre_trade_check(&order(Side::Buy, 0.1), &book(0.1), &l), PreTradeDecision::Refuse { .. }));
        // Flipping from +0.05 through flat to short: up to 0.05 + 0.1 units may be sold.
        match pre_trade_check(&order(Side::Sell, 1.0), &book(0.05), &l) {
            PreTradeDecision::Resize { quantity, .. } => assert!((quantity - 0.15).abs() < 1e-12),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reducing_orders_pass_even_when_halted() {
        let mut pf = book(0.5);
        pf.equity = 80_000.0; // 20 % drawdown > 10 %
        let l = Limits::default();
        assert_eq!(pre_trade_check(&order(Side::Sell, 0.2), &pf, &l), PreTradeDecision::Approve);
        match pre_trade_check(&order(Side::Buy, 0.01), &pf, &l) {
            PreTradeDecision::Refuse { reason } => assert!(reason.starts_with("drawdown 0.19999"), "{reason}"),
            other => panic!("{other:?}"),
        }
        match pre_trade_check(&order(Side::Sell, 0.8), &pf, &l) {
            PreTradeDecision::Resize { quantity, .. } => assert_eq!(quantity, 0.5),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn open_positions_and_daily_loss_and_bad_input() {
        let l = Limits { max_open_positions: Some(1), max_daily_loss: Some(0.05), ..Limits::default() };
        let eth = ProposedOrder { symbol: "ETH/USDT".into(), side: Side::Buy, quantity: 0.1, price: 2500.0 };
        let d = pre_trade_check(&eth, &book(0.01), &l);
        assert!(matches!(&d, PreTradeDecision::Refuse { reason } if reason.contains("max_open_positions 1")), "{d:?}");
        let mut pf = book(0.0);
        pf.day_start_equity = Some(110_000.0);
        let d = pre_trade_check(&order(Side::Buy, 0.01), &pf, &l);
        assert!(matches!(&d, PreTradeDecision::Refuse { reason } if reason.contains("max_daily_loss")), "{d:?}");
        let d = pre_trade_check(&order(Side::Buy, f64::NAN), &book(0.0), &l);
        assert_eq!(d, PreTradeDecision::Refuse { reason: "cannot assess the order: order.quantity must be in (0, 1e12], got NaN".into() });
        let json = serde_json::to_value(PreTradeDecision::Resize { quantity: 1.0, reason: "r".into() }).unwrap();
        assert_eq!(json, serde_json::json!({"decision": "resize", "quantity": 1.0, "reason": "r"}));
    }

    proptest! {
        /// Never panics; an approved or resized order never leaves a position above the
        /// limit unless it shrinks one.
        #[test]
        fn decisions_respect_the_size_limit(q0 in -1.0f64..1.0, qty in 0.0f64..2.0, buy in any::<bool>(),
                                            equity in prop_oneof![Just(f64::NAN), 1.0f64..1e6], max in 0.001f64..1.0) {
            let side = if buy { Side::Buy } else { Side::Sell };
            let o = ProposedOrder { symbol: "X".into(), side, quantity: qty, price: 1000.0 };
            let held = Position { symbol: "X".into(), quantity: q0, price: 1000.0 };
            let pf = PortfolioSnapshot { equity, positions: vec![held],
                                         equity_peak: None, day_start_equity: None };
            let l = Limits { max_position_size: max, ..Limits::default() };
            let dir = if buy { 1.0 } else { -1.0 };
            let allowed = max * equity / 1000.0;
            let sent = match pre_trade_check(&o, &pf, &l) {
                PreTradeDecision::Approve => qty,
                PreTradeDecision::Resize { quantity, .. } => {
                    prop_assert!(quantity > 0.0 && quantity < qty);
                    quantity
                }
                PreTradeDecision::Refuse { .. } => 0.0,
            };
            let q1 = q0 + dir * sent;
            let fits = q1.abs() <= allowed * (1.0 + 1e-9);
            prop_assert!(fits || q1.abs() <= q0.abs(), "q0 {q0} q1 {q1} allowed {allowed}");
        }
    }
}
