//! Live mode of the core (`ExecutionConfig::live_venue` set): the venue decides
//! acceptance, fills, cancels and expiries; the core turns what the venue *says* into
//! events. Still pure: the actor does the I/O and hands the answers in.
//!
//! - `submit` leaves orders `submitted` (no `OrderAccepted`); `cancel` emits only
//!   `OrderCancelRequested`; bars only mark the portfolio (see `decide.rs`, `matching.rs`).
//! - [`ExecutionCore::on_venue_report`]: one report of the venue about one order ->
//!   acceptance, the fills not applied yet, cancel / expiry / rejection. Idempotent: the
//!   fills applied so far are the order's `filled`, so the same report twice emits
//!   nothing the second time.
//! - [`ExecutionCore::on_venue_unknown`]: a query said the venue does not know the order:
//!   an order that was only `submitted` expires once `ORDER_TIMEOUT` has passed (never
//!   guessed as filled).

use super::core::ExecutionCore;
use super::error::ExecutionError;
use super::order::Order;
pub use super::venue::{VenueFill, VenueOrderState};
use tradpal_messages::{
    Event, Fixed, Liquidity, OrderAccepted, OrderCanceled, OrderExpired, OrderFilled, OrderId, OrderRejected, OrderStatus, RejectSource,
    Rounding, Timestamp,
};

/// The part of a report's fills not yet applied to an order, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFills {
    pub quantity: Fixed,
    pub price: Fixed,
    /// In the quote currency (see [`new_fills`]).
    pub fee: Fixed,
    pub liquidity: Liquidity,
}

/// The fills of `report` beyond the `applied` quantity, as one fill: quantity = the
/// report's cumulative executed quantity minus `applied`; price = the average of the
/// new fills (or, when the report carries no fills for them, the cumulative quote
/// quantity's growth divided by the quantity); fee = the new fills' commissions, in the
/// quote currency: a commission in the quote asset as is, one in the base asset valued
/// at its fill's price, any other asset (BNB) is not counted.
pub fn new_fills(report: &VenueOrderState, applied: Fixed, applied_notional: Fixed, base: &str, quote: &str) -> Option<NewFills> {
    let quantity = report.executed_quantity.checked_sub(applied).filter(|q| q.is_positive())?;
    let mut fills: Vec<&VenueFill> = report.fills.iter().collect();
    fills.sort_by_key(|f| f.trade_id);
    let (mut seen, mut qty, mut notional, mut fee, mut maker) = (Fixed::ZERO, Fixed::ZERO, Fixed::ZERO, Fixed::ZERO, true);
    for f in fills {
        seen = seen.checked_add(f.quantity)?;
        if seen <= applied {
            continue; // applied by an earlier report
        }
        qty = qty.checked_add(f.quantity)?;
        notional = notional.checked_add(f.quantity.checked_mul(f.price, Rounding::Nearest)?)?;
        maker &= f.maker;
        let commission = if f.commission_asset == quote {
            f.commission
        } else if f.commission_asset == base {
            f.commission.checked_mul(f.price, Rounding::Nearest)?
        } else {
            Fixed::ZERO
        };
        fee = fee.checked_add(commission)?;
    }
    let price = if qty == quantity && qty.is_positive() {
        notional.checked_div(qty, Rounding::Nearest)?
    } else {
        maker = false;
        report.cumulative_quote.checked_sub(applied_notional)?.checked_div(quantity, Rounding::Nearest)?
    };
    let liquidity = if maker { Liquidity::Maker } else { Liquidity::Taker };
    price.is_positive().then_some(NewFills { quantity, price, fee, liquidity })
}

impl ExecutionCore {
    /// True when orders go to a real venue (paper trading off).
    pub fn is_live(&self) -> bool {
        self.config.live_venue.is_some()
    }

    /// Turns what the venue says about order `id` into events (applied). See the module
    /// doc; an order we hold as ended but the venue reports with more fills is a
    /// conflict for an operator, not something to guess about.
    pub fn on_venue_report(&mut self, id: OrderId, report: &VenueOrderState, now: Timestamp) -> Result<Vec<Event>, ExecutionError> {
        let order = self.orders.get(&id).ok_or_else(|| ExecutionError::NotFound(format!("no order {id}")))?;
        if report.executed_quantity < order.filled {
            return Err(ExecutionError::Conflict(format!(
                "order {id}: the venue reports {} executed but {} is journaled",
                report.executed_quantity, order.filled
            )));
        }
        if order.status.is_terminal() {
            if report.executed_quantity > order.filled {
                return Err(ExecutionError::Conflict(format!(
                    "order {id} is {} here but the venue reports {} executed ({} journaled): needs an operator",
                    order.status.as_str(),
                    report.executed_quantity,
                    order.filled
                )));
            }
            return Ok(vec![]);
        }
        let inst = self.config.instruments.get(&order.spec.symbol).map_err(|e| ExecutionError::Internal(e.to_string()))?;
        // Everything is checked before the first event: an error applies nothing.
        let fills = new_fills(report, order.filled, order.filled_notional, inst.base(), inst.quote());
        let new_quantity = fills.as_ref().map_or(Fixed::ZERO, |f| f.quantity);
        if fills.is_none() && report.executed_quantity > order.filled {
            return Err(ExecutionError::Internal(format!("order {id}: the venue's fills cannot be valued: {report:?}")));
        }
        if new_quantity > order.remaining() {
            return Err(ExecutionError::Conflict(format!(
                "order {id}: the venue reports {} executed, more than the order's {}",
                report.executed_quantity, order.quantity
            )));
        }
        let mut out = Vec::new();
        let at = if report.update_time_ms > 0 { Timestamp::from_millis(report.update_time_ms) } else { now };
        let acknowledged = !matches!(report.status, OrderStatus::Rejected | OrderStatus::Held | OrderStatus::Submitted);
        if order.status == OrderStatus::Submitted && acknowledged {
            let e = OrderAccepted { order_id: id, venue_order_id: report.venue_order_id.as_str().into() };
            self.emit(&mut out, Event::OrderAccepted(e), now)?;
        }
        if let Some(f) = fills {
            self.report_fill(&mut out, id, f, at, now)?;
        }
        self.report_end(&mut out, id, report, now)?;
        Ok(out)
    }

    fn report_fill(&mut self, out: &mut Vec<Event>, id: OrderId, f: NewFills, at: Timestamp, now: Timestamp) -> Result<(), ExecutionError> {
        let o: &Order = &self.orders[&id];
        let e = OrderFilled {
            order_id: id,
            fill_seq: o.fill_count + 1,
            symbol: o.spec.symbol.clone(),
            side: o.spec.side,
            quantity: f.quantity,
            price: f.price,
            fee: f.fee,
            liquidity: f.liquidity,
            market_time: at,
            matched_through: at,
            cause_sequence: 0,
        };
        self.emit(out, Event::OrderFilled(e), now)
    }

    /// The venue ended the order (after its fills were applied).
    fn report_end(&mut self, out: &mut Vec<Event>, id: OrderId, report: &VenueOrderState, now: Timestamp) -> Result<(), ExecutionError> {
        let status = self.orders[&id].status;
        if status.is_terminal() {
            return Ok(());
        }
        let event = match report.status {
            OrderStatus::Canceled => {
                Event::OrderCanceled(OrderCanceled { order_id: id, reason: "canceled at the venue".into(), cause_sequence: 0 })
            }
            OrderStatus::Expired => {
                Event::OrderExpired(OrderExpired { order_id: id, reason: "expired at the venue (time in force)".into(), cause_sequence: 0 })
            }
            OrderStatus::Rejected if status == OrderStatus::Submitted => {
                Event::OrderRejected(OrderRejected { order_id: id, source: RejectSource::Venue, reason: "rejected by the venue".into() })
            }
            OrderStatus::Rejected => Event::OrderExpired(OrderExpired {
                order_id: id,
                reason: "rejected by the venue after acceptance".into(),
                cause_sequence: 0,
            }),
            // Filled: the fills above ended it; anything else is still working.
            _ => return Ok(()),
        };
        self.emit(out, event, now)?;
        self.after_terminal(out, id, now, 0)
    }

    /// The venue refused the placement: the order is rejected (it never worked).
    pub fn on_venue_refused(&mut self, id: OrderId, reason: &str, now: Timestamp) -> Result<Vec<Event>, ExecutionError> {
        let mut out = Vec::new();
        if self.orders.get(&id).is_some_and(|o| o.status == OrderStatus::Submitted) {
            let e = OrderRejected { order_id: id, source: RejectSource::Venue, reason: reason.to_string() };
            self.emit(&mut out, Event::OrderRejected(e), now)?;
        }
        Ok(out)
    }

    /// A query said the venue does not know order `id`. An order it never acknowledged
    /// (`submitted`, or `pending_cancel` without a venue id) expires once `ORDER_TIMEOUT`
    /// has passed since its submission (a placement still in flight could land before
    /// that); an acknowledged order the venue forgot is a conflict for an operator.
    pub fn on_venue_unknown(&mut self, id: OrderId, now: Timestamp) -> Result<Vec<Event>, ExecutionError> {
        let o = self.orders.get(&id).ok_or_else(|| ExecutionError::NotFound(format!("no order {id}")))?;
        let never_acknowledged = o.venue_order_id.is_none() && o.filled.is_zero();
        if o.status.is_terminal() || o.status == OrderStatus::Held {
            return Ok(vec![]);
        }
        if !never_acknowledged {
            return Err(ExecutionError::Conflict(format!(
                "order {id} was acknowledged by the venue, which now does not know it: needs an operator"
            )));
        }
        let timeout = self.config.order_timeout_ns;
        if now.0.saturating_sub(o.submitted_at.0) < timeout {
            return Ok(vec![]);
        }
        let reason = format!(
            "the venue does not know this order (query: unknown order) and did not acknowledge it within {} s (ORDER_TIMEOUT)",
            timeout / 1_000_000_000
        );
        let mut out = Vec::new();
        self.emit(&mut out, Event::OrderExpired(OrderExpired { order_id: id, reason, cause_sequence: 0 }), now)?;
        self.after_terminal(&mut out, id, now, 0)?;
        Ok(out)
    }

    /// Live part of `on_timer`: GTD orders whose time has come are canceled at the venue.
    pub(crate) fn live_timer(&mut self, out: &mut Vec<Event>, now: Timestamp) -> Result<(), ExecutionError> {
        let due: Vec<(OrderId, Timestamp)> = self
            .open_ids()
            .filter_map(|id| {
                let o = &self.orders[&id];
                let working = !o.status.is_terminal() && o.status != OrderStatus::PendingCancel;
                o.spec.expire_at.filter(|at| working && now >= *at).map(|at| (id, at))
            })
            .collect();
        for (id, at) in due {
            self.cancel_one(out, id, &format!("good till {at}"), now, 0)?;
        }
        Ok(())
    }

    /// Orders the venue may know and we still wait on (to query), in submission order.
    pub fn venue_working(&self) -> impl Iterator<Item = &Order> + '_ {
        let mut ids: Vec<(u64, OrderId)> = self.open_by_symbol.values().flat_map(|s| s.iter().copied()).collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| &self.orders[&id]).filter(|o| !o.status.is_terminal() && o.status != OrderStatus::Held)
    }
}
