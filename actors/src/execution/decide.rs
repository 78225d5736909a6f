//! Decisions on requests: submit (idempotent, kill switch, pre-trade risk check), cancel,
//! the kill switch, flatten. Each returns the events it decided, already applied.

use super::core::{ExecutionCore, WORKING_ORDERS_MAX};
use super::error::ExecutionError;
use super::request::{plan, OrderRequest, Plan, PlannedOrder};
use crate::risk::exposure::Position as RiskPosition;
use crate::risk::pretrade::{pre_trade_check, PortfolioSnapshot, PreTradeDecision, ProposedOrder, Side as RiskSide};
use tradpal_messages::{
    Contingency, Event, Fixed, IdGenerator, OrderAccepted, OrderCancelRequested, OrderCanceled, OrderId, OrderLink, OrderRejected,
    OrderReleased, OrderSpec, OrderStatus, OrderSubmitted, OrderType, RejectSource, Rounding, SharedStr, Side, TimeInForce, Timestamp,
    TradingState, TradingStateChanged,
};

/// Reason prefix of the cancels made by [`ExecutionCore::cancel_working`] (the halt's
/// `cancel_working`), as `flatten: ` marks a flatten's.
pub const HALT_CANCEL_PREFIX: &str = "halt: ";

/// Where a decision gets new order ids (and the nonce of a generated client order id).
/// The service and the backtest draw them from their seeded [`IdGenerator`]; a replay
/// (`replay/`) hands out the ids the journal recorded, so the replayed events carry the
/// same ids as the recorded ones and compare field by field.
pub trait OrderIds {
    fn order_id(&mut self) -> OrderId;
    /// 128 bits for a generated client order id (`tp-<hex>`).
    fn client_nonce(&mut self) -> u128;
}

impl OrderIds for IdGenerator {
    fn order_id(&mut self) -> OrderId {
        IdGenerator::order_id(self)
    }
    fn client_nonce(&mut self) -> u128 {
        self.next_u128()
    }
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub order_id: OrderId,
    /// False when the client order id was already known with the same request: the
    /// original order is the answer and nothing new was recorded.
    pub created: bool,
    pub events: Vec<Event>,
}

/// `tp-` and the nonce as 32 lower-case hex digits: the core's own client order ids.
fn generated_client_id(nonce: u128) -> SharedStr {
    with_client_id("tp-", nonce, |id| SharedStr::from(id))
}

/// `prefix` and the nonce as 32 lower-case hex digits: a live session's client order ids.
pub fn prefixed_client_id(prefix: &str, nonce: u128) -> String {
    with_client_id(prefix, nonce, |id| id.to_string())
}

/// Prefixes written with their id on the stack (a longer one goes through a `String`).
const CLIENT_PREFIX_BYTES_MAX: usize = 32;

/// `make(format!("{prefix}{nonce:032x}"))`, without the formatting machinery (one per
/// backtest order): the text is laid out on the stack, so `make` does the one copy.
fn with_client_id<R>(prefix: &str, nonce: u128, make: impl FnOnce(&str) -> R) -> R {
    let hex = tradpal_messages::ids::hex_digits(nonce);
    if prefix.len() > CLIENT_PREFIX_BYTES_MAX {
        return make(&format!("{prefix}{}", std::str::from_utf8(&hex).expect("hex digits are ASCII")));
    }
    let mut id = [0u8; CLIENT_PREFIX_BYTES_MAX + 32];
    let n = prefix.len() + hex.len();
    id[..prefix.len()].copy_from_slice(prefix.as_bytes());
    id[prefix.len()..n].copy_from_slice(&hex);
    make(std::str::from_utf8(&id[..n]).expect("a prefix and hex digits"))
}

impl ExecutionCore {
    pub(crate) fn emit(&mut self, out: &mut Vec<Event>, event: Event, at: Timestamp) -> Result<(), ExecutionError> {
        self.apply(&event, at)?;
        out.push(event);
        Ok(())
    }

    /// Submits an order request at `now` (paper venue: accepted at once; live: left
    /// `submitted` until the venue answers, see `live.rs`).
    pub fn submit(&mut self, req: &OrderRequest, now: Timestamp, ids: &mut impl OrderIds) -> Result<Submitted, ExecutionError> {
        let inst = self.config.instruments.get(&req.symbol).map_err(|e| ExecutionError::Invalid(format!("symbol: {e}")))?;
        // The instrument is the one named by exactly this text, so the request's shared
        // symbol finds the price by identity (`symbol_map.rs`).
        debug_assert_eq!(inst.symbol, *req.symbol, "an instrument is found under its own symbol");
        let mark = self.last_price.get(&req.symbol).map(|(p, _)| *p);
        let generated = req.client_order_id.is_none();
        let cid = match &req.client_order_id {
            Some(c) => SharedStr::from(c.as_str()),
            None => generated_client_id(ids.client_nonce()),
        };
        let plan =
            plan(req, cid, &inst, now, mark, std::mem::take(&mut self.plan_spare)).map_err(|e| ExecutionError::Invalid(e.to_string()))?;
        if let Some(existing) = self.by_client.get(&plan.orders[0].spec.client_order_id).copied() {
            return self.resubmitted(existing, &plan, generated);
        }
        for p in &plan.orders[1..] {
            if self.by_client.contains_key(&p.spec.client_order_id) {
                return Err(ExecutionError::Conflict(format!(
                    "client_order_id {:?} (a leg of this order) is already used",
                    p.spec.client_order_id
                )));
            }
        }
        if self.open_orders() + plan.orders.len() > WORKING_ORDERS_MAX {
            return Err(ExecutionError::Busy(format!("{WORKING_ORDERS_MAX} orders are working; cancel some first")));
        }
        if self.is_live() && plan.orders.len() > 1 {
            return Err(ExecutionError::Invalid(
                "contingent orders (bracket, OCO, OTO) are not routed to a live venue yet; send the legs as separate orders".into(),
            ));
        }
        let mut out = std::mem::take(&mut self.events_spare);
        let main_id = ids.order_id();
        // The plan is consumed from here: each spec moves into its event, none is copied
        // (its emptied list is kept for the next submission).
        let orders_planned = plan.orders.len();
        let mut orders = plan.orders;
        let mut planned = orders.drain(..);
        let PlannedOrder { spec: mut main, contingency, parent, sibling } = planned.next().expect("a plan starts with its main order");
        let requested = main.quantity;
        // Kill switch, then risk.
        let refusal = self.kill_switch_refusal(&main).map(|r| (RejectSource::KillSwitch, r));
        let (refusal, mut note) = match refusal {
            Some(r) => (Some(r), String::new()),
            None => match self.risk_decision(&main, mark) {
                Ok(None) => (None, String::new()),
                Ok(Some((q, why))) => {
                    main.quantity = q;
                    (None, why)
                }
                Err(why) => (Some((RejectSource::Risk, why)), String::new()),
            },
        };
        let link = |c: Option<Contingency>, list: OrderId, parent: Option<OrderId>, sibling: Option<OrderId>| {
            c.map(|contingency| OrderLink { contingency, list_id: list, parent, sibling })
        };
        if let Some((source, reason)) = refusal {
            let submitted = OrderSubmitted {
                order_id: main_id,
                spec: main,
                requested_quantity: requested,
                risk_note: note,
                status: OrderStatus::Submitted,
                link: None,
                submitted_at: now,
            };
            self.emit(&mut out, Event::OrderSubmitted(submitted), now)?;
            self.emit(&mut out, Event::OrderRejected(OrderRejected { order_id: main_id, source, reason }), now)?;
            return Ok(Submitted { order_id: main_id, created: true, events: out });
        }
        // The legs' ids after the main order's (none to collect, so nothing allocated,
        // for a plain order).
        let leg_ids: Vec<OrderId> = (1..orders_planned).map(|_| ids.order_id()).collect();
        let leg_id = |i: usize| if i == 0 { main_id } else { leg_ids[i - 1] };
        let main_quantity = main.quantity;
        let first = PlannedOrder { spec: main, contingency, parent, sibling };
        for (i, p) in std::iter::once(first).chain(planned).enumerate() {
            let mut spec = p.spec;
            if i > 0 && p.contingency == Some(Contingency::Oco) {
                spec.quantity = main_quantity; // an OCO leg follows a resized main order
            }
            let held = p.parent.is_some();
            let status = if held { OrderStatus::Held } else { OrderStatus::Submitted };
            let event = OrderSubmitted {
                order_id: leg_id(i),
                requested_quantity: if i == 0 { requested } else { spec.quantity },
                risk_note: if i == 0 { std::mem::take(&mut note) } else { String::new() },
                spec,
                status,
                link: link(p.contingency, main_id, p.parent.map(&leg_id), p.sibling.map(&leg_id)),
                submitted_at: now,
            };
            self.emit(&mut out, Event::OrderSubmitted(event), now)?;
            if !held && !self.is_live() {
                let venue_order_id = leg_id(i).to_shared_id();
                self.emit(&mut out, Event::OrderAccepted(OrderAccepted { order_id: leg_id(i), venue_order_id }), now)?;
            }
        }
        self.plan_spare = orders;
        Ok(Submitted { order_id: main_id, created: true, events: out })
    }

    /// A client order id seen before: the same request gets the original order back; a
    /// different one is a conflict.
    fn resubmitted(&self, existing: OrderId, plan: &Plan, generated: bool) -> Result<Submitted, ExecutionError> {
        let order = &self.orders[&existing];
        let mut asked = plan.orders[0].spec.clone();
        let mut stored = order.spec.clone();
        stored.quantity = order.requested_quantity;
        asked.expire_at = asked.expire_at.or(stored.expire_at); // relative to "now" only at first
        let same_legs = plan.orders[1..].iter().all(|p| {
            self.by_client.get(&p.spec.client_order_id).is_some_and(|id| {
                let s = &self.orders[id].spec;
                s.order_type == p.spec.order_type && s.price == p.spec.price && s.stop_price == p.spec.stop_price && s.side == p.spec.side
            })
        });
        if asked == stored && same_legs && !generated {
            return Ok(Submitted { order_id: existing, created: false, events: vec![] });
        }
        Err(ExecutionError::Conflict(format!(
            "client_order_id {:?} is already used by order {existing} with a different request",
            order.spec.client_order_id
        )))
    }

    /// Why the kill switch refuses this order, if it does.
    fn kill_switch_refusal(&self, spec: &OrderSpec) -> Option<String> {
        match self.trading_state {
            TradingState::Active => None,
            TradingState::Halted => Some("trading is halted (kill switch); only cancels are accepted".into()),
            TradingState::Reducing => {
                let pos = self.portfolio.position(&spec.symbol);
                let reduces = match spec.side {
                    Side::Sell => pos.is_positive() && spec.quantity <= pos,
                    Side::Buy => pos.is_negative() && spec.quantity <= pos.abs(),
                };
                (!reduces && !spec.reduce_only).then(|| {
                    format!("trading is reducing (kill switch): only orders that shrink a position are accepted; {} is {pos}", spec.symbol)
                })
            }
        }
    }

    /// The pre-trade risk check: `Ok(None)` approved, `Ok(Some((quantity, why)))` resized,
    /// `Err(why)` refused. Reduce-only orders only ever shrink risk and are approved.
    fn risk_decision(&mut self, spec: &OrderSpec, mark: Option<Fixed>) -> Result<Option<(Fixed, String)>, String> {
        if spec.reduce_only {
            return Ok(None);
        }
        let Some(price) = spec.price.or(spec.stop_price).or(mark) else {
            return Err(format!("no market price for {} yet (no candles): the order cannot be valued", spec.symbol));
        };
        // The check's inputs are built in buffers the core keeps (each position's symbol
        // rewritten in place): no allocation per order once they have grown.
        let mut positions = std::mem::take(&mut self.risk_positions);
        let mut n = 0;
        for p in self.portfolio.open_positions() {
            let (quantity, price) = (p.quantity.to_f64(), p.mark_price.unwrap_or(p.average_price).to_f64());
            match positions.get_mut(n) {
                Some(r) => {
                    r.symbol.clone_from(&p.symbol);
                    (r.quantity, r.price) = (quantity, price);
                }
                None => positions.push(RiskPosition { symbol: p.symbol.clone(), quantity, price }),
            }
            n += 1;
        }
        positions.truncate(n);
        let snapshot = PortfolioSnapshot {
            equity: self.portfolio.equity().to_f64(),
            positions,
            equity_peak: Some(self.equity_peak.to_f64()).filter(|p| *p > 0.0),
            day_start_equity: self.day_start.map(|(_, e)| e.to_f64()),
        };
        let side = if spec.side == Side::Buy { RiskSide::Buy } else { RiskSide::Sell };
        let mut symbol = std::mem::take(&mut self.risk_symbol);
        symbol.clear();
        symbol.push_str(&spec.symbol);
        let proposed = ProposedOrder { symbol, side, quantity: spec.quantity.to_f64(), price: price.to_f64() };
        let decision = pre_trade_check(&proposed, &snapshot, &self.config.limits);
        (self.risk_positions, self.risk_symbol) = (snapshot.positions, proposed.symbol);
        match decision {
            PreTradeDecision::Approve => Ok(None),
            PreTradeDecision::Refuse { reason } => Err(reason),
            PreTradeDecision::Resize { quantity, reason } => {
                let inst = self.config.instruments.get(&spec.symbol).map_err(|e| e.to_string())?;
                let q = Fixed::from_f64_rounded(quantity, Rounding::Down)
                    .ok()
                    .and_then(|q| q.round_to_step(inst.lot_size, Rounding::Down))
                    .unwrap_or(Fixed::ZERO);
                if q < inst.min_quantity || q.is_zero() {
                    return Err(format!("{reason}; the largest allowed quantity {quantity} is below the minimum {}", inst.min_quantity));
                }
                Ok(Some((q, format!("resized from {} to {q}: {reason}", spec.quantity))))
            }
        }
    }

    /// Cancels an order (and the rest of its contingency list) at `now`.
    pub fn cancel(&mut self, id: OrderId, reason: &str, now: Timestamp) -> Result<Vec<Event>, ExecutionError> {
        let order = self.orders.get(&id).ok_or_else(|| ExecutionError::NotFound(format!("no order {id}")))?;
        if order.status.is_terminal() {
            return Err(ExecutionError::Conflict(format!("order {id} is already {}", order.status.as_str())));
        }
        let sibling = order.link.as_ref().and_then(|l| l.sibling);
        let mut out = Vec::new();
        self.cancel_one(&mut out, id, reason, now, 0)?;
        if let Some(s) = sibling {
            if self.orders.get(&s).is_some_and(|o| !o.status.is_terminal()) {
                self.cancel_one(&mut out, s, &format!("OCO: order {id} was canceled"), now, 0)?;
            }
        }
        Ok(out)
    }

    /// Paper cancel: request and confirmation at once; then the order's children.
    /// Live: only the request (the venue's answer confirms it), except for a held order,
    /// which never reached the venue.
    pub(crate) fn cancel_one(
        &mut self,
        out: &mut Vec<Event>,
        id: OrderId,
        reason: &str,
        now: Timestamp,
        cause: u64,
    ) -> Result<(), ExecutionError> {
        let status = self.orders[&id].status;
        if self.is_live() && status != OrderStatus::Held {
            if status != OrderStatus::PendingCancel {
                self.emit(out, Event::OrderCancelRequested(OrderCancelRequested { order_id: id, reason: reason.to_string() }), now)?;
            }
            return Ok(());
        }
        if status != OrderStatus::Held && status != OrderStatus::PendingCancel {
            self.emit(out, Event::OrderCancelRequested(OrderCancelRequested { order_id: id, reason: reason.to_string() }), now)?;
        }
        self.emit(out, Event::OrderCanceled(OrderCanceled { order_id: id, reason: reason.to_string(), cause_sequence: cause }), now)?;
        self.after_terminal(out, id, now, cause)
    }

    /// After an order ended: release its held children for what it filled (or cancel
    /// them when it filled nothing).
    pub(crate) fn after_terminal(&mut self, out: &mut Vec<Event>, id: OrderId, now: Timestamp, cause: u64) -> Result<(), ExecutionError> {
        let filled = self.orders[&id].filled;
        for child in self.children.get(&id).cloned().unwrap_or_default() {
            if self.orders[&child].status != OrderStatus::Held {
                continue;
            }
            if filled.is_zero() {
                let why = format!("parent order {id} ended without a fill");
                self.emit(out, Event::OrderCanceled(OrderCanceled { order_id: child, reason: why, cause_sequence: cause }), now)?;
            } else {
                let quantity = if self.orders[&child].link.as_ref().is_some_and(|l| l.contingency == Contingency::Bracket) {
                    filled
                } else {
                    self.orders[&child].spec.quantity
                };
                self.emit(out, Event::OrderReleased(OrderReleased { order_id: child, quantity, released_at: now }), now)?;
                self.emit(out, Event::OrderAccepted(OrderAccepted { order_id: child, venue_order_id: child.to_shared_id() }), now)?;
            }
        }
        Ok(())
    }

    /// Moves the kill switch; `None` when it is already there.
    pub fn set_trading_state(&mut self, to: TradingState, reason: &str, now: Timestamp) -> Result<Option<Event>, ExecutionError> {
        if to == self.trading_state {
            return Ok(None);
        }
        let e = Event::TradingStateChanged(TradingStateChanged { from: self.trading_state, to, reason: reason.to_string() });
        let mut out = vec![];
        self.emit(&mut out, e, now)?;
        Ok(out.pop())
    }

    /// Cancels every working order (the kill switch's `cancel_working`, journaled in the
    /// same batch as the move to `halted`, so no fill can slip in between). Each cancel's
    /// reason starts with [`HALT_CANCEL_PREFIX`]: that is how a replay tells them from a
    /// client's cancel and makes the same decision.
    pub fn cancel_working(&mut self, reason: &str, now: Timestamp) -> Result<Vec<Event>, ExecutionError> {
        let mut out = Vec::new();
        let open: Vec<OrderId> = self.open_ids().collect();
        let why = format!("{HALT_CANCEL_PREFIX}{reason}");
        for id in open {
            if self.orders.get(&id).is_some_and(|o| !o.status.is_terminal()) {
                self.cancel_one(&mut out, id, &why, now, 0)?;
            }
        }
        Ok(out)
    }

    /// Cancels every working order and sends a reduce-only market order closing each
    /// open position (allowed in every trading state: it only removes risk).
    pub fn flatten(&mut self, reason: &str, now: Timestamp, ids: &mut impl OrderIds) -> Result<Vec<Event>, ExecutionError> {
        let mut out = Vec::new();
        let open: Vec<OrderId> = self.open_ids().collect();
        for id in open {
            if self.orders.get(&id).is_some_and(|o| !o.status.is_terminal()) {
                self.cancel_one(&mut out, id, &format!("flatten: {reason}"), now, 0)?;
            }
        }
        let positions: Vec<(String, Fixed)> = self.portfolio.open_positions().map(|p| (p.symbol.clone(), p.quantity)).collect();
        for (symbol, qty) in positions {
            let order_id = ids.order_id();
            let spec = OrderSpec {
                client_order_id: format!("flatten-{order_id}").into(),
                symbol: symbol.into(),
                side: if qty.is_positive() { Side::Sell } else { Side::Buy },
                order_type: OrderType::Market,
                quantity: qty.abs(),
                price: None,
                stop_price: None,
                trailing_bps: None,
                time_in_force: TimeInForce::Gtc,
                expire_at: None,
                reduce_only: true,
                session_id: None,
            };
            let risk_note = String::new();
            let submitted = OrderSubmitted {
                order_id,
                requested_quantity: spec.quantity,
                spec,
                risk_note,
                status: OrderStatus::Submitted,
                link: None,
                submitted_at: now,
            };
            self.emit(&mut out, Event::OrderSubmitted(submitted), now)?;
            if !self.is_live() {
                self.emit(&mut out, Event::OrderAccepted(OrderAccepted { order_id, venue_order_id: order_id.to_shared_id() }), now)?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_client_ids_are_the_formatted_nonce() {
        for n in [0u128, 1, 0xabc, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            assert_eq!(super::generated_client_id(n), format!("tp-{n:032x}"));
            assert_eq!(super::prefixed_client_id("s1-", n), format!("s1-{n:032x}"));
            for len in [super::CLIENT_PREFIX_BYTES_MAX, super::CLIENT_PREFIX_BYTES_MAX + 1] {
                let prefix = "p".repeat(len); // the longest on the stack, the shortest not
                assert_eq!(super::prefixed_client_id(&prefix, n), format!("{prefix}{n:032x}"));
            }
        }
    }
}
