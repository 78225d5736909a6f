//! The execution actor's live half: order routing through a [`LiveVenue`] and start-up
//! reconciliation. The core decides (`live.rs`); this file only talks to the venue.
//!
//! - Routing: every journaled `OrderSubmitted` (status `submitted`) becomes a
//!   `venue.place`, every `OrderCancelRequested` a `venue.cancel`, each in a spawned task
//!   that first waits until the batch is durable (an order never reaches the venue
//!   before it is on disk) and sends the answer back as [`ExecutionMsg::VenueReport`].
//!   The actor applies it through the core and journals what it decided.
//! - Answers: a report -> `on_venue_report`; a refused (or unauthenticated) placement ->
//!   rejected; `UnknownOrder` from a query -> `on_venue_unknown` (expired only when never
//!   acknowledged and older than `ORDER_TIMEOUT`); an unknown outcome, 429 or 418 -> the
//!   order stays as it is and the next tick's query resolves it, never a guess.
//! - Tick: at most [`VENUE_QUERIES_PER_TICK_MAX`] working orders are queried per tick,
//!   round robin, skipping orders with a request in flight; a query that shows new fills
//!   also fetches the order's trades (fees). A `pending_cancel` order the venue still has
//!   open gets its cancel sent again.
//! - Start-up ([`ExecutionActor::reconcile`]): every order the journal has in flight or
//!   working is queried and the answer applied; the balances are fetched, logged and
//!   shown in the portfolio view (the first live start journals the quote asset's
//!   balance as the account's cash). If the venue cannot be reached after
//!   [`RECONCILE_ATTEMPTS_MAX`] attempts, the kill switch is journaled `halted` with the
//!   reason: the service serves reads and cancels but does not trade on unknown state;
//!   an administrator sets it `active` again once the venue is reachable.

use super::actor::{ExecutionActor, ExecutionMsg, ExecutionState};
use super::error::refused;
use super::venue::{VenueError, VenueOrderState};
// The calls are planned in `venue_call.rs` (pure, also used by `actor.rs`); re-exported
// here, their earlier path.
use super::venue_call::query_of;
pub use super::venue_call::{VenueCall, VenueCallKind};
use crate::context::{ActorError, RequestMeta};
use std::time::Duration;
use tradpal_messages::{CashAdjusted, CorrelationId, ErrorCode, ErrorReply, Event, Fixed, OrderId, OrderStatus, TradingState};

/// Most working orders queried at the venue per tick (Binance weighs a query 4 of 6,000
/// per minute: 10 per second stays far below).
pub const VENUE_QUERIES_PER_TICK_MAX: usize = 10;
/// Start-up reconciliation: passes over the unresolved orders before trading is halted.
pub const RECONCILE_ATTEMPTS_MAX: u32 = 5;
/// First wait between reconciliation passes; doubled each time (250, 500, 1000, 2000 ms).
pub const RECONCILE_BACKOFF_MS: u64 = 250;

fn system_meta() -> RequestMeta {
    RequestMeta { request_id: None, correlation_id: CorrelationId(0) }
}

impl ExecutionActor {
    /// Sends `call` from a task once everything queued is durable; the answer comes back
    /// as a message. Without a venue (or before the actor has its own address) nothing
    /// is sent: the tick's query picks the order up.
    pub(super) fn spawn_call(&self, state: &mut ExecutionState, order_id: OrderId, call: VenueCall) {
        let (Some(venue), Some(me)) = (self.venue.clone(), state.myself.clone()) else { return };
        if !state.in_flight.insert(order_id) {
            return; // one request per order at a time
        }
        let durable = state.pipeline.durable();
        let kind = call.kind();
        tokio::spawn(async move {
            if durable.await.is_err() {
                return; // the actor stops and rebuilds; the restart reconciles
            }
            let result = call.run(&*venue).await;
            let _ = me.cast(ExecutionMsg::VenueReport { order_id, kind, result });
        });
    }

    /// Applies a venue answer (module doc). Returns whether the order's state is now
    /// known (false: the venue could not say; ask again later).
    pub(super) async fn on_venue_answer(
        &self,
        state: &mut ExecutionState,
        order_id: OrderId,
        kind: VenueCallKind,
        result: Result<VenueOrderState, VenueError>,
    ) -> Result<bool, ActorError> {
        state.in_flight.remove(&order_id);
        let now = self.services.clock.now();
        let (decided, known, reopen) = match &result {
            Ok(report) => {
                let open = matches!(report.status, OrderStatus::Accepted | OrderStatus::PartiallyFilled);
                (state.core.on_venue_report(order_id, report, now), true, open && kind != VenueCallKind::Cancel)
            }
            Err(e @ (VenueError::Refused { .. } | VenueError::Auth(_))) if kind == VenueCallKind::Place => {
                (state.core.on_venue_refused(order_id, &e.to_string(), now), true, false)
            }
            Err(VenueError::UnknownOrder(_)) if kind == VenueCallKind::Query => (state.core.on_venue_unknown(order_id, now), true, false),
            Err(e) => {
                tracing::warn!(order = %order_id, ?kind, error = %e, "venue answer not conclusive; the next query resolves it");
                (Ok(vec![]), false, false)
            }
        };
        match decided {
            Ok(events) => self.record(state, &system_meta(), events).await?,
            Err(e) => {
                tracing::error!(order = %order_id, ?kind, error = %e, "venue report not applied");
                return Ok(false);
            }
        }
        let order = &state.core.orders[&order_id];
        if reopen && order.status == OrderStatus::PendingCancel {
            let call = VenueCall::Cancel {
                symbol: order.spec.symbol.to_string(),
                client_order_id: order.spec.client_order_id.to_string(),
                filled: order.filled,
            };
            self.spawn_call(state, order_id, call);
        }
        Ok(known)
    }

    /// The tick's queries: the next working orders after the last one asked about.
    pub(super) fn poll_venue(&self, state: &mut ExecutionState) {
        if self.venue.is_none() {
            return;
        }
        let candidates: Vec<(OrderId, VenueCall)> =
            state.core.venue_working().filter(|o| !state.in_flight.contains(&o.id)).map(|o| (o.id, query_of(o))).collect();
        let start = candidates.iter().position(|(id, _)| state.poll_after.is_none_or(|a| *id > a)).unwrap_or(0);
        let picked: Vec<_> =
            candidates.iter().cycle().skip(start).take(candidates.len().min(VENUE_QUERIES_PER_TICK_MAX)).cloned().collect();
        for (id, call) in picked {
            state.poll_after = Some(id);
            self.spawn_call(state, id, call);
        }
    }

    /// Start-up reconciliation (module doc). Runs before the actor serves.
    pub(super) async fn reconcile(&self, state: &mut ExecutionState) -> Result<(), ActorError> {
        let Some(venue) = self.venue.clone() else { return Ok(()) };
        let mut pending: Vec<OrderId> = state.core.venue_working().map(|o| o.id).collect();
        let mut balances = None;
        let mut last_error = String::new();
        for attempt in 0..RECONCILE_ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(RECONCILE_BACKOFF_MS << (attempt - 1))).await;
            }
            let mut left = Vec::new();
            for id in pending {
                let call = query_of(&state.core.orders[&id]);
                let result = call.run(&*venue).await;
                if let Err(e) = &result {
                    last_error = e.to_string();
                }
                if !self.on_venue_answer(state, id, VenueCallKind::Query, result).await? {
                    left.push(id);
                }
            }
            pending = left;
            if balances.is_none() {
                balances = venue.balances().await.map_err(|e| last_error = e.to_string()).ok();
            }
            if pending.is_empty() && balances.is_some() {
                break;
            }
        }
        match balances {
            Some(b) if pending.is_empty() => self.reconciled(state, b).await,
            _ => {
                let reason = format!(
                    "start-up reconciliation with {} failed after {RECONCILE_ATTEMPTS_MAX} attempts ({} orders unresolved, last error: {last_error}); trading halted until an administrator sets it active",
                    venue.name(),
                    pending.len()
                );
                tracing::error!("{reason}");
                let event = state.core.set_trading_state(TradingState::Halted, &reason, self.services.clock.now()).map_err(refused)?;
                self.record(state, &system_meta(), event.into_iter().collect()).await
            }
        }
    }

    /// Logs the balances, keeps them for the portfolio view, and on the first live start
    /// journals the quote asset's balance as the account's cash.
    async fn reconciled(&self, state: &mut ExecutionState, balances: Vec<super::venue::VenueBalance>) -> Result<(), ActorError> {
        for b in &balances {
            tracing::info!(asset = %b.asset, free = %b.free, locked = %b.locked, "venue balance");
        }
        let quote = state.core.portfolio.currency.clone();
        let cash = balances.iter().find(|b| b.asset == quote).and_then(|b| b.free.checked_add(b.locked)).unwrap_or(Fixed::ZERO);
        state.balances = Some(balances);
        if state.core.funded || !cash.is_positive() {
            tracing::info!(journaled_cash = %state.core.portfolio.cash, venue = %cash, "reconciled with the venue");
            return Ok(());
        }
        let fund = Event::CashAdjusted(CashAdjusted {
            asset: quote,
            amount: cash,
            reason: "live account: the venue's balance at the first live start".into(),
        });
        state.core.apply(&fund, self.services.clock.now()).map_err(|e| ErrorReply::new(ErrorCode::Internal, e.to_string()))?;
        self.record(state, &system_meta(), vec![fund]).await
    }
}
