//! Real exchanges: adapters that implement [`tradpal_actors::execution::venue::LiveVenue`]
//! over the network. The trait (and its request/response types) lives in `actors`; the
//! I/O lives here, so that actors and cores stay free of HTTP.
//!
//! # Layout
//!
//! - `binance/`: the Binance spot REST adapter ([`binance::BinanceVenue`]), one file per
//!   concern:
//!   - `mod.rs`: [`binance::BinanceVenue`], the `LiveVenue` impl (one method per endpoint).
//!   - `config.rs`: [`binance::BinanceConfig`] (base URL, keys, recvWindow, timeout,
//!     retry and back-off limits; `Debug` masks the key and secret).
//!   - `sign.rs`: query building (percent-encoding), `timestamp` + `recvWindow`,
//!     hex HMAC-SHA256 `signature`, the `X-MBX-APIKEY` header name.
//!   - `client.rs`: one signed HTTP request with a timeout, 429 back-off and retry, and
//!     the mapping of HTTP statuses and Binance error codes onto `VenueError`.
//!   - `map.rs`: our types <-> Binance JSON (symbols, order parameters, statuses,
//!     order/fill/balance responses).

pub mod binance;

pub use binance::{BinanceConfig, BinanceVenue};
