//! The events of orders and the account (`actors::execution`): split from `event.rs` only
//! to keep that file short; the same change rules apply (they are variants of
//! [`crate::Event`], and their layouts are journaled forever).

use crate::ids::OrderId;
use crate::money::Fixed;
use crate::order::{Liquidity, OrderLink, OrderSpec, OrderStatus, RejectSource, TradingState};
use crate::shared_str::SharedStr;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A new order was accepted for processing (validated, idempotency key claimed). The
/// first record of every order; `status` is `submitted`, or `held` for a contingent child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderSubmitted {
    pub order_id: OrderId,
    /// The order as it goes to the venue (quantity possibly cut by the risk check).
    pub spec: OrderSpec,
    /// The quantity the client asked for (equal to `spec.quantity` unless resized):
    /// with `spec`, what an idempotent resubmission is compared against.
    pub requested_quantity: Fixed,
    /// Why the risk check resized the order; empty when it did not.
    pub risk_note: String,
    pub status: OrderStatus,
    pub link: Option<OrderLink>,
    pub submitted_at: Timestamp,
}

/// The venue acknowledged the order; it is working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderAccepted {
    pub order_id: OrderId,
    /// The venue's id for the order (the paper exchange uses the order id).
    pub venue_order_id: SharedStr,
}

/// The order was refused (by risk, the kill switch or the venue). Terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderRejected {
    pub order_id: OrderId,
    pub source: RejectSource,
    pub reason: String,
}

/// A (partial) fill. The portfolio is a fold over these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderFilled {
    pub order_id: OrderId,
    /// 1, 2, ... per order: with `order_id`, a fill's identity (a repeated fill is refused).
    pub fill_seq: u32,
    pub symbol: SharedStr,
    pub side: crate::order::Side,
    pub quantity: Fixed,
    pub price: Fixed,
    /// In the quote currency.
    pub fee: Fixed,
    pub liquidity: Liquidity,
    /// Open time of the bar that filled it (paper) or the venue's trade time (live).
    pub market_time: Timestamp,
    /// Paper: the close of that bar. The order is not matched against bars opening
    /// before it again (so re-matching a bar after a crash cannot fill twice).
    pub matched_through: Timestamp,
    /// Journal sequence of the market data that caused it (0 for a live venue's report).
    pub cause_sequence: u64,
}

/// A stop, take-profit or trailing stop reached its trigger; a stop-limit now works as
/// a limit order, the others as market orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderTriggered {
    pub order_id: OrderId,
    pub trigger_price: Fixed,
    pub market_time: Timestamp,
    /// The close of the bar that triggered it (see [`OrderFilled::matched_through`]).
    pub matched_through: Timestamp,
    pub cause_sequence: u64,
}

/// A cancel was requested (and sent to the venue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderCancelRequested {
    pub order_id: OrderId,
    pub reason: String,
}

/// The order is canceled (by request, by its OCO sibling, IOC/FOK remainder). Terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderCanceled {
    pub order_id: OrderId,
    pub reason: String,
    pub cause_sequence: u64,
}

/// The order's time ran out (GTD, or not acknowledged within `ORDER_TIMEOUT`). Terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderExpired {
    pub order_id: OrderId,
    pub reason: String,
    pub cause_sequence: u64,
}

/// A held contingent order was released (its parent filled), for `quantity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderReleased {
    pub order_id: OrderId,
    pub quantity: Fixed,
    pub released_at: Timestamp,
}

/// The kill switch moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct TradingStateChanged {
    pub from: TradingState,
    pub to: TradingState,
    pub reason: String,
}

/// Cash was put into (or taken out of) the account: the paper account's starting cash,
/// journaled once so that a later change of configuration cannot rewrite history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct CashAdjusted {
    /// The quote currency, e.g. `USDT`.
    pub asset: String,
    /// Signed amount.
    pub amount: Fixed,
    pub reason: String,
}
