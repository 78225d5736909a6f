//! The boundary to a real exchange: [`LiveVenue`], implemented by the Binance spot
//! adapter in `runtime::exchange` (I/O lives there, not here). The paper exchange does
//! not implement it: it is a pure matcher driven by candles (`paper.rs`), because a
//! backtest must run it in one thread without a runtime.
//!
//! Every method is a request/response; the execution actor journals what comes back
//! before acting on it. Errors say whether retrying can help ([`VenueError::retryable`]).

use std::future::Future;
use std::pin::Pin;
use tradpal_messages::{Fixed, OrderStatus, OrderType, Side, TimeInForce};

pub type VenueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, VenueError>> + Send + 'a>>;

/// An order as sent to a venue. Prices and quantities are already on the symbol's
/// tick and lot grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueOrder {
    /// `BASE/QUOTE` (the adapter maps it to the venue's spelling, e.g. `BTCUSDT`).
    pub symbol: String,
    /// Our idempotency key at the venue: resubmitting the same id never makes a second
    /// order (Binance refuses a duplicate `newClientOrderId` of an open order).
    pub client_order_id: String,
    pub side: Side,
    pub order_type: OrderType,
    pub quantity: Fixed,
    pub price: Option<Fixed>,
    pub stop_price: Option<Fixed>,
    pub trailing_bps: Option<u32>,
    pub time_in_force: TimeInForce,
}

/// One execution (trade) of an order at the venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueFill {
    pub trade_id: u64,
    pub price: Fixed,
    pub quantity: Fixed,
    pub commission: Fixed,
    pub commission_asset: String,
    pub maker: bool,
}

/// What the venue says about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueOrderState {
    pub symbol: String,
    pub client_order_id: String,
    pub venue_order_id: String,
    /// Mapped onto our statuses (Binance `NEW` -> accepted, `PARTIALLY_FILLED`,
    /// `FILLED`, `CANCELED`, `PENDING_CANCEL`, `REJECTED`, `EXPIRED`/`EXPIRED_IN_MATCH`
    /// -> expired).
    pub status: OrderStatus,
    pub executed_quantity: Fixed,
    /// Sum of price * quantity over the fills, in the quote currency.
    pub cumulative_quote: Fixed,
    /// Fills known from this response (Binance returns them with `newOrderRespType=FULL`;
    /// a query returns none: use [`LiveVenue::fills`]).
    pub fills: Vec<VenueFill>,
    /// Venue time of the last update, ms since the epoch.
    pub update_time_ms: i64,
}

/// A free/locked balance of one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueBalance {
    pub asset: String,
    pub free: Fixed,
    pub locked: Fixed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueError {
    /// The venue refused the request for a reason of its own (bad precision, not enough
    /// balance, unknown symbol...). Not retryable; `code` is the venue's error code.
    #[error("venue refused ({code}): {message}")]
    Refused { code: i64, message: String },
    /// The order is unknown to the venue (Binance -2011 / -2013).
    #[error("order unknown to the venue: {0}")]
    UnknownOrder(String),
    /// Too many requests (HTTP 429): back off at least this long.
    #[error("rate limited; retry after {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    /// The IP is banned for a while (HTTP 418) after ignoring 429s.
    #[error("banned by the venue for {retry_after_ms} ms")]
    Banned { retry_after_ms: u64 },
    /// Bad API key or signature (HTTP 401, Binance -1022 / -2014 / -2015). Fatal for
    /// trading until the configuration is fixed.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The request may or may not have reached the venue (timeout, connection reset,
    /// HTTP 5xx): the order's fate is unknown and must be resolved by a query, never by
    /// guessing.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl VenueError {
    /// True when the same request may be sent again (after the back-off it names).
    pub fn retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Banned { .. } | Self::Unknown(_))
    }
}

/// A real exchange. Implementations retry 429/418 with back-off up to a named limit and
/// then return the error; they never retry a request whose outcome is unknown without
/// first querying.
pub trait LiveVenue: Send + Sync + std::fmt::Debug + 'static {
    /// The venue's name, e.g. `binance`.
    fn name(&self) -> &str;
    fn place(&self, order: VenueOrder) -> VenueFuture<'_, VenueOrderState>;
    fn cancel(&self, symbol: String, client_order_id: String) -> VenueFuture<'_, VenueOrderState>;
    fn query(&self, symbol: String, client_order_id: String) -> VenueFuture<'_, VenueOrderState>;
    /// The fills of one order (Binance `GET /api/v3/myTrades?orderId=`).
    fn fills(&self, symbol: String, venue_order_id: String) -> VenueFuture<'_, Vec<VenueFill>>;
    /// Open orders, of one symbol or all.
    fn open_orders(&self, symbol: Option<String>) -> VenueFuture<'_, Vec<VenueOrderState>>;
    fn balances(&self) -> VenueFuture<'_, Vec<VenueBalance>>;
}
