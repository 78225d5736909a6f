//! The venue requests of the live execution actor, planned from the core's state: which
//! journaled events become a place or a cancel ([`calls_of`]), the query of a working
//! order, and running one request against a [`LiveVenue`]. Pure planning plus one venue
//! round trip; no actor state.
//!
//! Its own module so that `actor.rs` (which plans the calls of every journaled batch)
//! and `actor_live.rs` (which sends them and applies the answers) both use it without
//! naming each other's items: `actor_live.rs` -> `actor.rs` -> here.

use super::core::ExecutionCore;
use super::order::Order;
use super::venue::{LiveVenue, VenueError, VenueOrder, VenueOrderState};
use tradpal_messages::{Event, Fixed, OrderId, OrderStatus};

/// Which request a venue answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueCallKind {
    Place,
    Cancel,
    Query,
}

/// One request to the venue about one order.
#[derive(Debug, Clone)]
pub enum VenueCall {
    Place(VenueOrder),
    Cancel { symbol: String, client_order_id: String, filled: Fixed },
    Query { symbol: String, client_order_id: String, filled: Fixed },
}

impl VenueCall {
    pub fn kind(&self) -> VenueCallKind {
        match self {
            VenueCall::Place(_) => VenueCallKind::Place,
            VenueCall::Cancel { .. } => VenueCallKind::Cancel,
            VenueCall::Query { .. } => VenueCallKind::Query,
        }
    }

    /// Sends the request; when the answer shows more executed than `filled` but carries
    /// no fills, fetches the order's trades too (their commissions are the fees). A
    /// failed trade fetch fails the call: the next query tries again.
    pub async fn run(self, venue: &dyn LiveVenue) -> Result<VenueOrderState, VenueError> {
        let (mut report, filled) = match self {
            VenueCall::Place(o) => (venue.place(o).await?, Fixed::ZERO),
            VenueCall::Cancel { symbol, client_order_id, filled } => (venue.cancel(symbol, client_order_id).await?, filled),
            VenueCall::Query { symbol, client_order_id, filled } => (venue.query(symbol, client_order_id).await?, filled),
        };
        if report.executed_quantity > filled && report.fills.is_empty() {
            report.fills = venue.fills(report.symbol.clone(), report.venue_order_id.clone()).await?;
        }
        Ok(report)
    }
}

pub(super) fn query_of(o: &Order) -> VenueCall {
    VenueCall::Query { symbol: o.spec.symbol.to_string(), client_order_id: o.spec.client_order_id.to_string(), filled: o.filled }
}

/// The venue requests a journaled batch asks for (none in paper mode).
pub(super) fn calls_of(core: &ExecutionCore, events: &[Event]) -> Vec<(OrderId, VenueCall)> {
    if !core.is_live() {
        return vec![];
    }
    let status = |id: OrderId| core.orders.get(&id).map(|o| o.status);
    events
        .iter()
        .filter_map(|e| match e {
            // Still `submitted` after the whole batch: not rejected by the kill switch or risk.
            Event::OrderSubmitted(s) if status(s.order_id) == Some(OrderStatus::Submitted) => {
                let spec = &s.spec;
                let order = VenueOrder {
                    symbol: spec.symbol.to_string(),
                    client_order_id: spec.client_order_id.to_string(),
                    side: spec.side,
                    order_type: spec.order_type,
                    quantity: spec.quantity,
                    price: spec.price,
                    stop_price: spec.stop_price,
                    trailing_bps: spec.trailing_bps,
                    time_in_force: spec.time_in_force,
                };
                Some((s.order_id, VenueCall::Place(order)))
            }
            Event::OrderCancelRequested(c) if status(c.order_id) == Some(OrderStatus::PendingCancel) => {
                core.orders.get(&c.order_id).map(|o| {
                    (
                        c.order_id,
                        VenueCall::Cancel {
                            symbol: o.spec.symbol.to_string(),
                            client_order_id: o.spec.client_order_id.to_string(),
                            filled: o.filled,
                        },
                    )
                })
            }
            _ => None,
        })
        .collect()
}
