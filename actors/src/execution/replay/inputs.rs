//! The recorded inputs of a paper account, read back out of its own output events.
//!
//! The journal records decisions, not requests: a submission is visible as the
//! `OrderSubmitted` of its main order followed (same batch) by those of its legs. This
//! file turns them back into the [`OrderRequest`] the client sent, and supplies the
//! order ids the recording drew ([`RecordedIds`]), so the core decides with the same ids.

use super::super::decide::OrderIds;
use super::super::request::OrderRequest;
use super::Recorded;
use std::collections::VecDeque;
use tradpal_messages::{Contingency, Event, IdGenerator, OrderId, OrderSpec, OrderSubmitted, OrderType, TimeWire};

/// How far past an input the replay looks for the rest of its batch (the legs of a
/// submission, the closing orders of a flatten). A batch holds at most
/// `actor::RECORD_BATCH_MAX` events; non-execution records never sit inside one.
pub const LOOKAHEAD_RECORDS_MAX: usize = 4_096;

/// Ids handed to the core in the recorded order; past the end (the replay decided
/// more orders than the recording had: a difference the comparison reports), ids from a
/// fixed seed, so even a diverging replay is deterministic.
#[derive(Debug)]
pub struct RecordedIds {
    ids: VecDeque<OrderId>,
    fallback: IdGenerator,
}

impl RecordedIds {
    pub fn new(ids: impl IntoIterator<Item = OrderId>) -> Self {
        RecordedIds { ids: ids.into_iter().collect(), fallback: IdGenerator::from_seed(0) }
    }
}

impl OrderIds for RecordedIds {
    fn order_id(&mut self) -> OrderId {
        self.ids.pop_front().unwrap_or_else(|| self.fallback.order_id())
    }
    fn client_nonce(&mut self) -> u128 {
        // Never reached: reconstructed requests always carry their recorded client id.
        self.fallback.next_u128()
    }
}

/// A main order (or a plain one): not a leg of another order's contingency list.
pub fn is_root(s: &OrderSubmitted) -> bool {
    s.link.as_ref().is_none_or(|l| l.list_id == s.order_id)
}

/// A closing order of a flatten (`decide.rs` names it `flatten-<order id>`).
pub fn is_flatten_order(s: &OrderSubmitted) -> bool {
    s.spec.reduce_only && s.spec.session_id.is_none() && s.spec.client_order_id == format!("flatten-{}", s.order_id)
}

/// The legs recorded right after the main order `main_at` (its batch): submissions of the
/// same contingency list, in order.
pub fn legs_of(records: &[Recorded], main_at: usize) -> Vec<&OrderSubmitted> {
    let Event::OrderSubmitted(main) = &records[main_at].event else { return vec![] };
    let mut legs = Vec::new();
    for r in records.iter().skip(main_at + 1).take(LOOKAHEAD_RECORDS_MAX) {
        match &r.event {
            Event::OrderAccepted(_) => {}
            Event::OrderSubmitted(s) if s.link.as_ref().is_some_and(|l| l.list_id == main.order_id) && s.order_id != main.order_id => {
                legs.push(s)
            }
            _ => break,
        }
    }
    legs
}

/// The ids of a flatten's closing orders, recorded in the batch that starts at `at`.
pub fn flatten_ids(records: &[Recorded], at: usize) -> Vec<OrderId> {
    let mut ids = Vec::new();
    for r in records.iter().skip(at).take(LOOKAHEAD_RECORDS_MAX) {
        match &r.event {
            Event::OrderSubmitted(s) if is_flatten_order(s) => ids.push(s.order_id),
            Event::OrderCancelRequested(_) | Event::OrderCanceled(_) | Event::OrderReleased(_) | Event::OrderAccepted(_) => {}
            _ => break,
        }
    }
    ids
}

/// The request of one order's own fields (quantity as the client asked: before a resize).
fn request_of_spec(spec: &OrderSpec, requested: tradpal_messages::Fixed) -> OrderRequest {
    OrderRequest {
        client_order_id: Some(spec.client_order_id.to_string()),
        symbol: spec.symbol.clone(),
        side: spec.side,
        order_type: spec.order_type,
        quantity: requested,
        price: spec.price,
        stop_price: spec.stop_price,
        trailing_bps: spec.trailing_bps,
        time_in_force: Some(spec.time_in_force),
        expire_at: spec.expire_at.map(|t| TimeWire::Text(t.to_rfc3339())),
        reduce_only: spec.reduce_only,
        session_id: spec.session_id,
        ..OrderRequest::market(&spec.symbol, spec.side, requested)
    }
}

/// The client's request, rebuilt from the main order's `OrderSubmitted` and its legs'.
/// A refused order has no recorded legs (they are decided only on acceptance): it comes
/// back as a plain order, which the replay refuses the same way (or reports otherwise).
pub fn request_of(main: &OrderSubmitted, legs: &[&OrderSubmitted]) -> OrderRequest {
    let mut req = request_of_spec(&main.spec, main.requested_quantity);
    let contingency = main.link.as_ref().map(|l| l.contingency);
    for leg in legs {
        match contingency {
            Some(Contingency::Bracket) if leg.spec.order_type == OrderType::StopMarket => req.stop_loss = leg.spec.stop_price,
            Some(Contingency::Bracket) => req.take_profit = leg.spec.price,
            Some(Contingency::Oco) => {
                req.oco_stop_price = leg.spec.stop_price;
                req.oco_stop_limit_price = (leg.spec.order_type == OrderType::StopLimit).then_some(leg.spec.price).flatten();
            }
            Some(Contingency::Oto) => req.then = Some(Box::new(request_of_spec(&leg.spec, leg.requested_quantity))),
            None => {}
        }
    }
    req
}
