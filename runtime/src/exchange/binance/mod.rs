//! The Binance spot REST adapter: [`BinanceVenue`] implements [`LiveVenue`] over
//! `/api/v3` (order placement, cancel, query, trades, open orders, account balances).
//!
//! Construct it with a [`BinanceConfig`] and the clock that stamps requests:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use tradpal_runtime::clock::WallClock;
//! # use tradpal_runtime::exchange::{BinanceConfig, BinanceVenue};
//! let config = BinanceConfig::testnet("key", "secret");
//! let venue = BinanceVenue::new(config, Arc::new(WallClock)).expect("valid configuration");
//! ```
//!
//! Not here: the user-data WebSocket stream (fills are learned by query), `exchangeInfo`
//! filters (orders arrive already on the tick and lot grid), order lists (OCO/OTO are
//! managed on our side), server-time sync (the clock must be NTP-synced within
//! `recvWindow`).

mod client;
mod config;
mod map;
mod sign;

pub use client::{backoff_ms, BAN_RETRY_AFTER_MS_DEFAULT};
pub use config::{
    BinanceConfig, ConfigError, BACKOFF_BASE_MS_DEFAULT, BACKOFF_MAX_MS_DEFAULT, BASE_URL_LIVE, BASE_URL_TESTNET, RECV_WINDOW_MS_DEFAULT,
    RECV_WINDOW_MS_MAX, REQUEST_TIMEOUT_MS_DEFAULT, RETRIES_MAX_DEFAULT,
};
pub use map::{from_venue_symbol, status_from_venue, to_venue_symbol, LOCAL_REFUSAL_CODE, QUOTE_ASSETS};
pub use sign::{Signer, API_KEY_HEADER};

use client::RestClient;
use map::{AccountJson, OrderJson, TradeJson};
use reqwest::Method;
use std::sync::Arc;
use tradpal_actors::execution::venue::{LiveVenue, VenueBalance, VenueError, VenueFill, VenueFuture, VenueOrder, VenueOrderState};
use tradpal_messages::Clock;

/// Place, cancel and query one order.
pub const ORDER_PATH: &str = "/api/v3/order";
pub const OPEN_ORDERS_PATH: &str = "/api/v3/openOrders";
pub const MY_TRADES_PATH: &str = "/api/v3/myTrades";
pub const ACCOUNT_PATH: &str = "/api/v3/account";
/// Trades asked for per order (Binance's maximum page; an order with more fills than
/// this is reported incompletely).
pub const MY_TRADES_LIMIT: u32 = 1_000;

/// A Binance spot account reached over REST.
#[derive(Debug)]
pub struct BinanceVenue {
    client: RestClient,
}

impl BinanceVenue {
    /// Validates `config` and builds the HTTP client. `clock` stamps every request's
    /// `timestamp`: the wall clock live, a simulated one in tests.
    pub fn new(config: BinanceConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        Ok(Self { client: RestClient::new(&config, clock)? })
    }

    async fn place_order(&self, order: VenueOrder) -> Result<VenueOrderState, VenueError> {
        let params = map::order_params(&order)?;
        let body = self.client.signed(Method::POST, ORDER_PATH, &params).await?;
        map::order_state(map::parse::<OrderJson>("POST /api/v3/order", &body)?, Some(&order.symbol))
    }

    async fn cancel_order(&self, symbol: String, client_order_id: String) -> Result<VenueOrderState, VenueError> {
        map::check_client_order_id(&client_order_id)?;
        let params = vec![("symbol", map::to_venue_symbol(&symbol)?), ("origClientOrderId", client_order_id)];
        let body = self.client.signed(Method::DELETE, ORDER_PATH, &params).await?;
        map::order_state(map::parse::<OrderJson>("DELETE /api/v3/order", &body)?, Some(&symbol))
    }

    async fn query_order(&self, symbol: String, client_order_id: String) -> Result<VenueOrderState, VenueError> {
        map::check_client_order_id(&client_order_id)?;
        let params = vec![("symbol", map::to_venue_symbol(&symbol)?), ("origClientOrderId", client_order_id)];
        let body = self.client.signed(Method::GET, ORDER_PATH, &params).await?;
        map::order_state(map::parse::<OrderJson>("GET /api/v3/order", &body)?, Some(&symbol))
    }

    async fn order_fills(&self, symbol: String, venue_order_id: String) -> Result<Vec<VenueFill>, VenueError> {
        let order_id: u64 =
            venue_order_id.parse().map_err(|_| map::local_refusal(format!("Binance order ids are numbers, not {venue_order_id:?}")))?;
        let params =
            vec![("symbol", map::to_venue_symbol(&symbol)?), ("orderId", order_id.to_string()), ("limit", MY_TRADES_LIMIT.to_string())];
        let body = self.client.signed(Method::GET, MY_TRADES_PATH, &params).await?;
        let trades: Vec<TradeJson> = map::parse("GET /api/v3/myTrades", &body)?;
        Ok(trades.into_iter().map(map::trade_fill).collect())
    }

    async fn list_open_orders(&self, symbol: Option<String>) -> Result<Vec<VenueOrderState>, VenueError> {
        let params = match &symbol {
            Some(s) => vec![("symbol", map::to_venue_symbol(s)?)],
            None => vec![],
        };
        let body = self.client.signed(Method::GET, OPEN_ORDERS_PATH, &params).await?;
        let orders: Vec<OrderJson> = map::parse("GET /api/v3/openOrders", &body)?;
        orders.into_iter().map(|o| map::order_state(o, symbol.as_deref())).collect()
    }

    async fn account_balances(&self) -> Result<Vec<VenueBalance>, VenueError> {
        let params = vec![("omitZeroBalances", "true".to_string())];
        let body = self.client.signed(Method::GET, ACCOUNT_PATH, &params).await?;
        Ok(map::balances(map::parse::<AccountJson>("GET /api/v3/account", &body)?))
    }
}

impl LiveVenue for BinanceVenue {
    fn name(&self) -> &str {
        "binance"
    }
    fn place(&self, order: VenueOrder) -> VenueFuture<'_, VenueOrderState> {
        Box::pin(self.place_order(order))
    }
    fn cancel(&self, symbol: String, client_order_id: String) -> VenueFuture<'_, VenueOrderState> {
        Box::pin(self.cancel_order(symbol, client_order_id))
    }
    fn query(&self, symbol: String, client_order_id: String) -> VenueFuture<'_, VenueOrderState> {
        Box::pin(self.query_order(symbol, client_order_id))
    }
    fn fills(&self, symbol: String, venue_order_id: String) -> VenueFuture<'_, Vec<VenueFill>> {
        Box::pin(self.order_fills(symbol, venue_order_id))
    }
    fn open_orders(&self, symbol: Option<String>) -> VenueFuture<'_, Vec<VenueOrderState>> {
        Box::pin(self.list_open_orders(symbol))
    }
    fn balances(&self) -> VenueFuture<'_, Vec<VenueBalance>> {
        Box::pin(self.account_balances())
    }
}
