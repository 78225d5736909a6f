//! One order and its state machine.
//!
//! Every change of an order comes from one journaled event, applied by [`Order::apply`].
//! The allowed moves are one exhaustive `match (status, step)` table ([`next_status`]):
//! a step that is not in the table is an [`IllegalTransition`], returned, never applied.
//! Over-fills are refused the same way, so `filled <= quantity` always holds.
//!
//! ```text
//!   held ──release──> submitted ──accept──> accepted ──fill──> partially_filled ──fill──> filled
//!     │                 │  │                   │  │                 │
//!     │                 │  └─fill (venue ack   │  └──cancel_request─┴──> pending_cancel ──cancel──> canceled
//!     │                 │     with fills)      │                               └──fill──> filled
//!     └─cancel/expire   └─reject/expire        └─cancel/expire (IOC rest, OCO sibling, GTD, timeout)
//! ```

use tradpal_messages::{Fixed, OrderId, OrderLink, OrderSpec, OrderStatus, Rounding, SharedStr, Timestamp};

/// An order refuses a fill; nothing was changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FillError {
    #[error("order {order_id}: fill {fill_seq} out of sequence (expected {expected})")]
    OutOfSequence { order_id: OrderId, fill_seq: u32, expected: u32 },
    /// Not positive, or more than the order has left.
    #[error("order {order_id}: fill of {quantity} with {remaining} remaining")]
    Quantity { order_id: OrderId, quantity: Fixed, remaining: Fixed },
    #[error("order {0}: fill overflows")]
    Overflow(OrderId),
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
}

/// What happened to an order, stripped of payload: the input of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Release,
    Accept,
    Reject,
    Trigger,
    /// A fill; `complete` when it fills the rest of the order.
    Fill {
        complete: bool,
    },
    CancelRequest,
    Cancel,
    Expire,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order {order_id}: {step:?} is not allowed when {}", status.as_str())]
pub struct IllegalTransition {
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub step: Step,
}

/// The transition table. `None`: illegal.
pub fn next_status(status: OrderStatus, step: Step) -> Option<OrderStatus> {
    use OrderStatus as S;
    use Step as E;
    match (status, step) {
        (S::Held, E::Release) => Some(S::Submitted),
        (S::Held, E::Cancel) => Some(S::Canceled),
        (S::Held, E::Expire) => Some(S::Expired),
        (S::Held, E::Reject) => Some(S::Rejected),
        (S::Held, E::Accept | E::Trigger | E::Fill { .. } | E::CancelRequest) => None,

        (S::Submitted, E::Accept) => Some(S::Accepted),
        (S::Submitted, E::Reject) => Some(S::Rejected),
        (S::Submitted, E::Expire) => Some(S::Expired),
        (S::Submitted, E::CancelRequest) => Some(S::PendingCancel),
        (S::Submitted, E::Cancel) => Some(S::Canceled),
        // A venue may answer the submission with fills (Binance FULL response).
        (S::Submitted, E::Fill { complete: false }) => Some(S::PartiallyFilled),
        (S::Submitted, E::Fill { complete: true }) => Some(S::Filled),
        (S::Submitted, E::Release | E::Trigger) => None,

        (S::Accepted, E::Trigger) => Some(S::Accepted),
        (S::Accepted | S::PartiallyFilled, E::Fill { complete: false }) => Some(S::PartiallyFilled),
        (S::Accepted | S::PartiallyFilled, E::Fill { complete: true }) => Some(S::Filled),
        (S::Accepted | S::PartiallyFilled, E::CancelRequest) => Some(S::PendingCancel),
        (S::Accepted | S::PartiallyFilled, E::Cancel) => Some(S::Canceled),
        (S::Accepted | S::PartiallyFilled, E::Expire) => Some(S::Expired),
        (S::Accepted, E::Release | E::Accept | E::Reject) => None,
        (S::PartiallyFilled, E::Release | E::Accept | E::Reject | E::Trigger) => None,

        // Fills may still arrive while the cancel is in flight.
        (S::PendingCancel, E::Fill { complete: false }) => Some(S::PendingCancel),
        (S::PendingCancel, E::Fill { complete: true }) => Some(S::Filled),
        (S::PendingCancel, E::Cancel) => Some(S::Canceled),
        (S::PendingCancel, E::Expire) => Some(S::Expired),
        (S::PendingCancel, E::Release | E::Accept | E::Reject | E::Trigger | E::CancelRequest) => None,

        (S::Filled | S::Canceled | S::Rejected | S::Expired, _) => None,
    }
}

/// An order: its spec and everything its events taught us.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub spec: OrderSpec,
    pub requested_quantity: Fixed,
    pub risk_note: String,
    pub link: Option<OrderLink>,
    pub status: OrderStatus,
    /// The quantity to fill: the spec's, or for a released bracket exit the parent's
    /// filled quantity.
    pub quantity: Fixed,
    pub filled: Fixed,
    /// Sum of price * quantity over the fills (for the average price).
    pub filled_notional: Fixed,
    pub fees: Fixed,
    pub fill_count: u32,
    /// Set when a stop / take-profit / trailing stop reached its trigger.
    pub trigger_price: Option<Fixed>,
    pub venue_order_id: Option<SharedStr>,
    pub submitted_at: Timestamp,
    pub updated_at: Timestamp,
    /// Why it was rejected, canceled or expired.
    pub reason: Option<String>,
    /// Paper matching: bars opening before this time are not matched against the order
    /// (it did not exist yet, or the bar's time was already matched on another timeframe).
    pub matched_until: Timestamp,
    /// Paper matching: the best price since the trailing stop started (high for a sell,
    /// low for a buy).
    pub trail_anchor: Option<Fixed>,
    /// Its place in submission order in the core that holds it (listing and matching
    /// order); 0 until the core numbers it.
    pub number: u64,
}

impl Order {
    pub fn new(
        id: OrderId,
        spec: OrderSpec,
        requested_quantity: Fixed,
        risk_note: String,
        link: Option<OrderLink>,
        status: OrderStatus,
        at: Timestamp,
    ) -> Self {
        Order {
            id,
            quantity: spec.quantity,
            spec,
            requested_quantity,
            risk_note,
            link,
            status,
            filled: Fixed::ZERO,
            filled_notional: Fixed::ZERO,
            fees: Fixed::ZERO,
            fill_count: 0,
            trigger_price: None,
            venue_order_id: None,
            submitted_at: at,
            updated_at: at,
            reason: None,
            matched_until: at,
            trail_anchor: None,
            number: 0,
        }
    }

    pub fn remaining(&self) -> Fixed {
        Fixed::from_raw(self.quantity.raw() - self.filled.raw())
    }

    /// Average fill price, rounded to nearest; `None` before the first fill.
    pub fn average_price(&self) -> Option<Fixed> {
        if self.filled.is_zero() {
            return None;
        }
        self.filled_notional.checked_div(self.filled, Rounding::Nearest)
    }

    /// Moves the status by one step, or says why not (nothing changes then).
    pub fn step(&mut self, step: Step, at: Timestamp) -> Result<(), IllegalTransition> {
        match next_status(self.status, step) {
            Some(next) => {
                self.status = next;
                self.updated_at = at;
                Ok(())
            }
            None => Err(IllegalTransition { order_id: self.id, status: self.status, step }),
        }
    }

    /// Applies a fill: refuses a non-positive quantity, an over-fill, a fill out of
    /// sequence or an illegal status, changing nothing.
    pub fn fill(&mut self, fill_seq: u32, quantity: Fixed, price: Fixed, fee: Fixed, at: Timestamp) -> Result<(), FillError> {
        if fill_seq != self.fill_count + 1 {
            return Err(FillError::OutOfSequence { order_id: self.id, fill_seq, expected: self.fill_count + 1 });
        }
        if !quantity.is_positive() || quantity > self.remaining() {
            return Err(FillError::Quantity { order_id: self.id, quantity, remaining: self.remaining() });
        }
        let complete = quantity == self.remaining();
        let notional = quantity.checked_mul(price, Rounding::Nearest).and_then(|n| self.filled_notional.checked_add(n));
        let (Some(notional), Some(fees), Some(filled)) = (notional, self.fees.checked_add(fee), self.filled.checked_add(quantity)) else {
            return Err(FillError::Overflow(self.id));
        };
        self.step(Step::Fill { complete }, at)?;
        self.filled = filled;
        self.filled_notional = notional;
        self.fees = fees;
        self.fill_count = fill_seq;
        debug_assert!(self.filled <= self.quantity);
        Ok(())
    }
}

/// A submitted limit buy of `qty` BTC/USDT at 100 with id `id` and client id `c<id>`
/// (tests of the order and of the maps that hold orders).
#[cfg(test)]
pub(crate) fn order_with(id: u128, qty: i64) -> Order {
    use tradpal_messages::{OrderType, Side, TimeInForce};
    let spec = OrderSpec {
        client_order_id: format!("c{id}").into(),
        symbol: "BTC/USDT".into(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        quantity: Fixed::from_int(qty),
        price: Some(Fixed::from_int(100)),
        stop_price: None,
        trailing_bps: None,
        time_in_force: TimeInForce::Gtc,
        expire_at: None,
        reduce_only: false,
        session_id: None,
    };
    Order::new(OrderId(id), spec, Fixed::from_int(qty), String::new(), None, OrderStatus::Submitted, Timestamp(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A limit buy of `qty` with id 1 (`order_with(1, qty)`).
    fn order(qty: i64) -> Order {
        order_with(1, qty)
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for s in OrderStatus::ALL.iter().filter(|s| s.is_terminal()) {
            for step in [
                Step::Release,
                Step::Accept,
                Step::Reject,
                Step::Trigger,
                Step::Fill { complete: true },
                Step::CancelRequest,
                Step::Cancel,
                Step::Expire,
            ] {
                assert_eq!(next_status(*s, step), None, "{s:?} {step:?}");
            }
        }
    }

    #[test]
    fn fills_accumulate_and_overfill_is_refused() {
        let mut o = order(3);
        o.step(Step::Accept, Timestamp(1)).unwrap();
        o.fill(1, Fixed::from_int(1), Fixed::from_int(100), Fixed::ZERO, Timestamp(2)).unwrap();
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        let before = o.clone();
        assert!(o.fill(2, Fixed::from_int(3), Fixed::from_int(100), Fixed::ZERO, Timestamp(3)).is_err());
        assert!(o.fill(3, Fixed::from_int(1), Fixed::from_int(100), Fixed::ZERO, Timestamp(3)).is_err(), "out of sequence");
        assert_eq!(o, before, "a refused fill changes nothing");
        o.fill(2, Fixed::from_int(2), Fixed::from_int(103), Fixed::ZERO, Timestamp(3)).unwrap();
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.average_price().unwrap(), Fixed::parse("102").unwrap());
        assert!(o.step(Step::Cancel, Timestamp(4)).is_err());
    }

    fn step_strategy() -> impl Strategy<Value = (u8, i64)> {
        (0u8..8, 1i64..4)
    }

    proptest! {
        /// Random event sequences: the status always follows the table, terminal states
        /// stay terminal, and `filled <= quantity` always.
        #[test]
        fn random_sequences_keep_the_invariants(steps in prop::collection::vec(step_strategy(), 0..40)) {
            let mut o = order(5);
            let mut seq = 0;
            for (kind, qty) in steps {
                let before = o.status;
                let result = match kind {
                    0 => o.step(Step::Release, Timestamp(1)).map_err(|e| e.to_string()),
                    1 => o.step(Step::Accept, Timestamp(1)).map_err(|e| e.to_string()),
                    2 => o.step(Step::Reject, Timestamp(1)).map_err(|e| e.to_string()),
                    3 => o.step(Step::Trigger, Timestamp(1)).map_err(|e| e.to_string()),
                    4 => o.step(Step::CancelRequest, Timestamp(1)).map_err(|e| e.to_string()),
                    5 => o.step(Step::Cancel, Timestamp(1)).map_err(|e| e.to_string()),
                    6 => o.step(Step::Expire, Timestamp(1)).map_err(|e| e.to_string()),
                    _ => o.fill(seq + 1, Fixed::from_int(qty), Fixed::from_int(100), Fixed::ZERO, Timestamp(1)).map_err(|e| e.to_string()),
                };
                if result.is_ok() && kind == 7 {
                    seq += 1;
                }
                prop_assert!(o.filled <= o.quantity);
                prop_assert!(!o.filled.is_negative());
                if before.is_terminal() {
                    prop_assert!(result.is_err() && o.status == before);
                }
                if result.is_err() {
                    prop_assert_eq!(o.status, before);
                }
                prop_assert_eq!(o.status == OrderStatus::Filled, o.filled == o.quantity);
            }
        }
    }
}
