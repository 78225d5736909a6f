//! Orders: the data of an order as journaled (its spec, its status, its fills). The
//! state machine that moves between statuses lives in `actors::execution::order`; this
//! file only names things, so that events can carry them.

use crate::ids::{OrderId, SessionId};
use crate::money::Fixed;
use crate::shared_str::SharedStr;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }
    };
}

wire_enum!(Side { Buy => "buy", Sell => "sell" });

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// +1 for buy, -1 for sell.
    pub fn sign(self) -> i128 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

wire_enum!(
    /// What the order does when the market reaches it (fill rules: `actors::execution::fill`).
    OrderType {
        /// Fills at the next bar's open plus slippage.
        Market => "market",
        /// Fills at `price` or better.
        Limit => "limit",
        /// Becomes a market order when the price reaches `stop_price` (a stop-loss).
        StopMarket => "stop_market",
        /// Becomes a limit order at `price` when the price reaches `stop_price`.
        StopLimit => "stop_limit",
        /// Becomes a market order when the price reaches `stop_price` in the profitable
        /// direction (sell above, buy below).
        TakeProfit => "take_profit",
        /// A stop that follows the best price by `trailing_bps`.
        TrailingStop => "trailing_stop",
    }
);

wire_enum!(TimeInForce {
    /// Good till canceled.
    Gtc => "gtc",
    /// Immediate or cancel: fill what the first eligible bar allows, cancel the rest.
    Ioc => "ioc",
    /// Fill or kill: all on the first eligible bar, or nothing.
    Fok => "fok",
    /// Good till `expire_at`.
    Gtd => "gtd",
});

wire_enum!(Liquidity { Maker => "maker", Taker => "taker" });

wire_enum!(
    /// Where an order is in its life. Terminal: filled, canceled, rejected, expired.
    OrderStatus {
        /// A contingent child waiting for its parent to fill (not at the venue yet).
        Held => "held",
        /// Sent to the venue, not acknowledged yet (in flight).
        Submitted => "submitted",
        Accepted => "accepted",
        PartiallyFilled => "partially_filled",
        Filled => "filled",
        /// A cancel was sent, not acknowledged yet (in flight); fills may still arrive.
        PendingCancel => "pending_cancel",
        Canceled => "canceled",
        Rejected => "rejected",
        Expired => "expired",
    }
);

impl OrderStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Filled | Self::Canceled | Self::Rejected | Self::Expired)
    }
    /// Working at the venue: can fill.
    pub fn is_working(self) -> bool {
        matches!(self, Self::Accepted | Self::PartiallyFilled | Self::PendingCancel)
    }
}

wire_enum!(
    /// Orders linked by a contingency.
    Contingency {
        /// One cancels the other: when one leg fills (even partly) the other is canceled.
        Oco => "oco",
        /// One triggers the other: the child is held until the parent fills.
        Oto => "oto",
        /// Entry + stop-loss + take-profit: the two exits are held until the entry fills,
        /// then work as an OCO pair sized to the filled quantity.
        Bracket => "bracket",
    }
);

wire_enum!(
    /// Who refused an order.
    RejectSource {
        /// The pre-trade risk check.
        Risk => "risk",
        /// The kill switch (trading state halted or reducing).
        KillSwitch => "kill_switch",
        /// The venue (exchange or paper exchange).
        Venue => "venue",
    }
);

wire_enum!(
    /// The kill switch. Reducing: only orders that shrink positions; halted: no new
    /// orders or modifications, cancels still allowed.
    TradingState { Active => "active", Reducing => "reducing", Halted => "halted" }
);

/// An order as requested and validated: the part that never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderSpec {
    /// Shared, not copied, by the order and its events (see `shared_str.rs`).
    pub client_order_id: SharedStr,
    pub symbol: SharedStr,
    pub side: Side,
    pub order_type: OrderType,
    pub quantity: Fixed,
    /// Limit price (limit and stop-limit).
    pub price: Option<Fixed>,
    /// Trigger price (stop-market, stop-limit, take-profit; a trailing stop's first stop).
    pub stop_price: Option<Fixed>,
    /// Trailing distance in basis points of the best price (trailing stop).
    pub trailing_bps: Option<u32>,
    pub time_in_force: TimeInForce,
    /// End of life for GTD orders.
    pub expire_at: Option<Timestamp>,
    pub reduce_only: bool,
    pub session_id: Option<SessionId>,
}

/// How an order is tied to others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct OrderLink {
    pub contingency: Contingency,
    /// The first order of the list (the entry for OTO and bracket).
    pub list_id: OrderId,
    /// The order whose fill releases this one (OTO child, bracket exits).
    pub parent: Option<OrderId>,
    /// The order canceled when this one fills (OCO legs, bracket exits).
    pub sibling: Option<OrderId>,
}
