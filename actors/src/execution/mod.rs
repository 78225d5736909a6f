//! Execution: orders, the paper exchange, the portfolio, the kill switch.
//!
//! # Layout
//!
//! - `venue.rs`: [`venue::LiveVenue`], the boundary to a real exchange (implemented in
//!   `runtime::exchange`).

pub mod venue;
