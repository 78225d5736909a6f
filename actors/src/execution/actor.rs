//! The execution actor: a thin shell around [`ExecutionCore`].
//!
//! - Requests (submit, cancel, kill switch, flatten) go to the core, which decides and
//!   applies; the actor *queues* the decided events as one journal batch and moves on
//!   to the next message; every answer (reads too) waits until all it had queued is
//!   durable (`durable.rs`), so concurrent requests share fsyncs and nobody is told a
//!   fact a crash could erase. If the journal refuses a batch, the actor stops and the
//!   supervisor rebuilds it from the journal.
//! - Market data is *pulled from the journal*, not pushed: a `Wake` (rung by the
//!   runtime whenever candles are journaled, and by a timer) makes the actor read every
//!   record after its cursor and match the candle records. A lost or late doorbell costs
//!   latency, never a fill.
//! - Start-up (and restart) folds the journal twice: first to find the last market
//!   record any execution event names as its cause; then applying every execution
//!   event and observing candles before that record. That record and the candles after
//!   it were (maybe) not wholly matched (a large bar is journaled in several batches, see
//!   [`RECORD_BATCH_MAX`]): the cursor is put before it and they are matched again.
//!   Matching a bar twice is harmless: an order never sees a bar opening before its
//!   `matched_until`, which every fill and trigger moves to the close of its bar.
//! - A journaled `RiskLimitBreached` of a blocking limit (daily loss, drawdown) moves an
//!   active kill switch to `reducing` (journaled, with the limit named): new entries are
//!   refused until an administrator sets it `active` again.
//! - Live (paper trading off, a venue given): journaled submissions and cancels go to the
//!   venue, its answers come back as [`ExecutionMsg::VenueReport`], each tick queries
//!   working orders, and start-up reconciles with the venue before serving: see
//!   `actor_live.rs`.

use super::core::{ExecutionConfig, ExecutionCore};
use super::durable::Pipeline;
use super::error::{refused, ExecutionError};
use super::request::OrderRequest;
use super::venue::{LiveVenue, VenueBalance, VenueError, VenueOrderState};
use super::venue_call::{calls_of, VenueCallKind};
use super::view::{FlattenReply, OrderView, OrdersPage, OrdersQuery, PortfolioView, SubmitReply, TradingStateView};
use crate::context::{ActorError, RequestMeta, Services};
use crate::fault::Fault;
use crate::session::actor::Answer;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tradpal_messages::{CashAdjusted, ErrorCode, ErrorReply, Event, EventKind, OrderId, TradingState};

/// How often the actor checks the clock (expiries) and the journal (missed doorbells).
pub const TICK_MS: u64 = 1_000;
/// Most journal records one wake reads before yielding to requests.
pub const WAKE_RECORDS_MAX: u64 = 10_000;
/// Most events journaled in one batch (the journal refuses batches over its
/// `group_commit_records_max`, 1,024 by default). Larger decisions are cut into batches:
/// a bar's matches only between orders (`on_bars_grouped`).
pub const RECORD_BATCH_MAX: usize = 1_000;

/// Which order a cancel means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    Id(OrderId),
    Client(String),
}

#[derive(Debug)]
pub enum ExecutionMsg {
    Submit {
        req: Box<OrderRequest>,
        meta: RequestMeta,
        reply: Answer<SubmitReply>,
    },
    Cancel {
        order: OrderRef,
        reason: String,
        meta: RequestMeta,
        reply: Answer<OrderView>,
    },
    Get {
        order: OrderRef,
        reply: Answer<OrderView>,
    },
    Orders {
        query: OrdersQuery,
        reply: Answer<OrdersPage>,
    },
    Portfolio {
        reply: Answer<PortfolioView>,
    },
    SetTradingState {
        to: TradingState,
        reason: String,
        /// With `halted`: cancel every working order in the same journal batch.
        cancel_working: bool,
        meta: RequestMeta,
        reply: Answer<TradingStateView>,
    },
    Flatten {
        reason: String,
        meta: RequestMeta,
        reply: Answer<FlattenReply>,
    },
    /// Candles were journaled (or might have been): read the journal after the cursor.
    Wake,
    Tick,
    /// A queued journal batch failed: stop, so the supervisor rebuilds from the journal.
    JournalFailed(String),
    /// The live venue's answer to a place / cancel / query of one order (`actor_live.rs`).
    VenueReport {
        order_id: OrderId,
        kind: VenueCallKind,
        result: Result<VenueOrderState, VenueError>,
    },
    Fault(Fault),
}

#[derive(Debug, Clone)]
pub struct ExecutionActor {
    pub services: Services,
    pub config: ExecutionConfig,
    /// The real exchange when paper trading is off (`config.live_venue` set); `None`
    /// with `live_venue` set refuses submissions (501).
    pub venue: Option<Arc<dyn LiveVenue>>,
}

pub struct ExecutionState {
    pub(super) core: ExecutionCore,
    /// Journal records up to here have been seen by the matcher.
    cursor: u64,
    /// The journal's last sequence when the rebuild fold ran.
    folded_through: u64,
    /// Queued journal batches and the durability watermark every answer waits for.
    pub(super) pipeline: Pipeline,
    pub(super) myself: Option<ActorRef<ExecutionMsg>>,
    /// Live: orders with a venue request in flight (one at a time per order).
    pub(super) in_flight: BTreeSet<OrderId>,
    /// Live: the last order the tick queried (round robin).
    pub(super) poll_after: Option<OrderId>,
    /// Live: the venue's balances as of the start-up reconciliation.
    pub(super) balances: Option<Vec<VenueBalance>>,
}

impl ExecutionActor {
    /// Queues decided events for the journal (batches of at most [`RECORD_BATCH_MAX`]);
    /// answers wait for them through the pipeline. An error stops the actor (its state
    /// ran ahead of the journal); the supervisor rebuilds it.
    pub(super) async fn record(&self, state: &mut ExecutionState, meta: &RequestMeta, events: Vec<Event>) -> Result<(), ActorError> {
        let mut events = events;
        while events.len() > RECORD_BATCH_MAX {
            let rest = events.split_off(RECORD_BATCH_MAX);
            self.record_batch(state, meta, events).await?;
            events = rest;
        }
        self.record_batch(state, meta, events).await
    }

    /// Queues groups of events, cutting batches only between groups.
    async fn record_groups(&self, state: &mut ExecutionState, meta: &RequestMeta, groups: Vec<Vec<Event>>) -> Result<(), ActorError> {
        let mut batch: Vec<Event> = Vec::new();
        for group in groups {
            if !batch.is_empty() && batch.len() + group.len() > RECORD_BATCH_MAX {
                self.record_batch(state, meta, std::mem::take(&mut batch)).await?;
            }
            batch.extend(group);
        }
        self.record(state, meta, batch).await
    }

    async fn record_batch(&self, state: &mut ExecutionState, meta: &RequestMeta, events: Vec<Event>) -> Result<(), ActorError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = self.services.clock.now();
        let calls = calls_of(&state.core, &events);
        let drafts = events
            .into_iter()
            .map(|e| {
                let key = match &e {
                    Event::OrderSubmitted(s) => Some(format!("order:{}", s.spec.client_order_id)),
                    _ => None,
                };
                let mut d = self.services.draft_at(meta, e, now);
                // Every record of an order submitted under a session names the session
                // (`journal dump --session` shows its fills and cancels too).
                if d.session_id.is_none() {
                    let order = super::replay::compare::order_of(&d.event).and_then(|id| state.core.orders.get(&id));
                    d.session_id = order.and_then(|o| o.spec.session_id);
                }
                match key {
                    Some(k) => d.with_idempotency_key(k),
                    None => d,
                }
            })
            .collect();
        let pending = self.services.enqueue_batch(drafts).await?;
        let me = state.myself.clone();
        state.pipeline.track(async move { pending.await.map(|_| ()) }, move |why| {
            if let Some(me) = me {
                let _ = me.cast(ExecutionMsg::JournalFailed(why));
            }
        });
        for (order_id, call) in calls {
            self.spawn_call(state, order_id, call);
        }
        Ok(())
    }

    /// Rebuilds the core from the journal (module doc) and returns it with the cursor.
    async fn rebuild(&self) -> Result<ExecutionState, ActorError> {
        let kinds: &'static [EventKind] = EventKind::EXECUTION;
        let (last_cause, _) = self
            .services
            .fold(kinds, (0u64, super::replay::SessionOwned::default()), |(max, sessions), env| {
                if sessions.owns(env) {
                    return Ok(());
                }
                let cause = match &env.event {
                    Event::OrderFilled(e) => e.cause_sequence,
                    Event::OrderTriggered(e) => e.cause_sequence,
                    Event::OrderCanceled(e) => e.cause_sequence,
                    Event::OrderExpired(e) => e.cause_sequence,
                    _ => 0,
                };
                *max = (*max).max(cause);
                Ok(())
            })
            .await?;
        let folded_through = self.services.journal.last_sequence();
        let start = (ExecutionCore::new(self.config.clone()), super::replay::SessionOwned::default());
        let (core, _) = self
            .services
            .fold(super::replay::REPLAY_KINDS, start, move |(core, sessions), env| match &env.event {
                // Sessions' own accounts are not the paper account.
                _ if sessions.owns(env) => Ok(()),
                // The bar of the last cause itself is matched again: it may have been
                // journaled in several batches and a crash may have cut between them.
                Event::CandlesIngested(c) if env.sequence < last_cause => {
                    core.observe_bars(&c.symbol, c.timeframe, &c.candles);
                    Ok(())
                }
                Event::CandlesIngested(_) => Ok(()),
                other => Ok(core.apply(other, env.timestamp)?),
            })
            .await?;
        Ok(ExecutionState {
            core,
            cursor: last_cause.saturating_sub(1),
            folded_through,
            pipeline: Pipeline::default(),
            myself: None,
            in_flight: BTreeSet::new(),
            poll_after: None,
            balances: None,
        })
    }

    /// Reads journal records after the cursor and matches the candle records.
    async fn catch_up(&self, state: &mut ExecutionState) -> Result<(), ActorError> {
        loop {
            let last = self.services.journal.last_sequence();
            if state.cursor >= last {
                return Ok(());
            }
            let to = last.min(state.cursor + WAKE_RECORDS_MAX);
            let journal = self.services.journal.clone();
            let from = state.cursor + 1;
            let records = tokio::task::spawn_blocking(move || journal.read_range(from, to).collect::<Result<Vec<_>, _>>())
                .await
                .map_err(|e| ErrorReply::new(ErrorCode::Internal, format!("journal read task failed: {e}")))??;
            for env in records {
                state.cursor = env.sequence;
                let meta = RequestMeta { request_id: None, correlation_id: env.correlation_id };
                match &env.event {
                    Event::CandlesIngested(c) => {
                        let groups = state.core.on_bars_grouped(&c.symbol, c.timeframe, &c.candles, env.sequence).map_err(refused)?;
                        self.record_groups(state, &meta, groups).await?;
                    }
                    // Breaches up to the fold were folded (and answered below, in pre_start).
                    Event::RiskLimitBreached(_) if env.sequence > state.folded_through => {
                        state.core.apply(&env.event, env.timestamp).map_err(|e| ErrorReply::new(ErrorCode::Internal, e.to_string()))?;
                        let answer = state.core.answer_breach(self.services.clock.now()).map_err(refused)?;
                        self.record(state, &meta, answer.into_iter().collect()).await?;
                    }
                    _ => {}
                }
            }
        }
    }

    async fn submit(&self, state: &mut ExecutionState, req: &OrderRequest, meta: &RequestMeta) -> Result<SubmitReply, ActorError> {
        if let (Some(venue), None) = (&state.core.config.live_venue, &self.venue) {
            return Err(ErrorReply::new(
                ErrorCode::NotImplemented,
                format!("ENABLE_PAPER_TRADING is false: orders would go to {venue}, and no adapter for it is configured; set ENABLE_PAPER_TRADING=true"),
            )
            .into());
        }
        if let Some(cid) = req.client_order_id.as_deref().filter(|c| c.starts_with(crate::session::runner::SESSION_ORDER_PREFIX)) {
            return Err(ErrorReply::new(
                ErrorCode::BadRequest,
                format!(
                    "client_order_id {cid:?}: the prefix {:?} is reserved for the orders sessions place themselves",
                    crate::session::runner::SESSION_ORDER_PREFIX
                ),
            )
            .into());
        }
        let now = self.services.clock.now();
        let decided = {
            let mut ids = self.services.ids.lock().expect("id generator lock poisoned");
            state.core.submit(req, now, &mut *ids)
        };
        let s = decided.map_err(refused)?;
        self.record(state, meta, s.events).await?;
        let order = OrderView::of(state.core.order(s.order_id).expect("just submitted"));
        Ok(SubmitReply { created: s.created, order, linked: state.core.linked(s.order_id) })
    }

    fn resolve(core: &ExecutionCore, order: &OrderRef) -> Result<OrderId, ErrorReply> {
        match order {
            OrderRef::Id(id) if core.orders.contains_key(id) => Ok(*id),
            OrderRef::Client(c) if core.by_client.contains_key(c.as_str()) => Ok(core.by_client[c.as_str()]),
            OrderRef::Id(id) => Err(ErrorReply::new(ErrorCode::NotFound, format!("no order {id}"))),
            OrderRef::Client(c) => Err(ErrorReply::new(ErrorCode::NotFound, format!("no order with client_order_id {c:?}"))),
        }
    }

    async fn handle_request(&self, state: &mut ExecutionState, msg: ExecutionMsg) -> Result<(), ActorError> {
        let span = match &msg {
            ExecutionMsg::Submit { meta, .. } => meta.span(crate::names::EXECUTION, "submit"),
            ExecutionMsg::Cancel { meta, .. } => meta.span(crate::names::EXECUTION, "cancel"),
            ExecutionMsg::SetTradingState { meta, .. } => meta.span(crate::names::EXECUTION, "set_trading_state"),
            ExecutionMsg::Flatten { meta, .. } => meta.span(crate::names::EXECUTION, "flatten"),
            _ => tracing::Span::none(),
        };
        tracing::Instrument::instrument(self.handle_request_in_span(state, msg), span).await
    }

    async fn handle_request_in_span(&self, state: &mut ExecutionState, msg: ExecutionMsg) -> Result<(), ActorError> {
        let now = self.services.clock.now();
        match msg {
            ExecutionMsg::Submit { req, meta, reply } => {
                let r = self.submit(state, &req, &meta).await;
                respond(&state.pipeline, reply, r)
            }
            ExecutionMsg::Cancel { order, reason, meta, reply } => {
                let r = async {
                    let id = Self::resolve(&state.core, &order)?;
                    let events = state.core.cancel(id, &reason, now).map_err(refused)?;
                    self.record(state, &meta, events).await?;
                    Ok(OrderView::of(&state.core.orders[&id]))
                }
                .await;
                respond(&state.pipeline, reply, r)
            }
            ExecutionMsg::SetTradingState { to, reason, cancel_working, meta, reply } => {
                let r = async {
                    if cancel_working && to != TradingState::Halted {
                        return Err(refused(ExecutionError::Invalid("cancel_working: only with state \"halted\"".into())).into());
                    }
                    let moved = state.core.set_trading_state(to, &reason, now).map_err(refused)?;
                    let changed = moved.is_some();
                    let mut events: Vec<Event> = moved.into_iter().collect();
                    if cancel_working {
                        events.extend(state.core.cancel_working(&reason, now).map_err(refused)?);
                    }
                    let canceled_orders =
                        events.iter().filter_map(|e| if let Event::OrderCanceled(c) = e { Some(c.order_id) } else { None }).collect();
                    // One batch: the halt and its cancels are journaled together or not at all.
                    self.record(state, &meta, events).await?;
                    Ok(TradingStateView { trading_state: state.core.trading_state, changed, canceled_orders })
                }
                .await;
                respond(&state.pipeline, reply, r)
            }
            ExecutionMsg::Flatten { reason, meta, reply } => {
                let r = async {
                    let events = {
                        let mut ids = self.services.ids.lock().expect("id generator lock poisoned");
                        state.core.flatten(&reason, now, &mut *ids).map_err(refused)?
                    };
                    let canceled_orders =
                        events.iter().filter_map(|e| if let Event::OrderCanceled(c) = e { Some(c.order_id) } else { None }).collect();
                    let closing: Vec<OrderId> =
                        events.iter().filter_map(|e| if let Event::OrderSubmitted(s) = e { Some(s.order_id) } else { None }).collect();
                    self.record(state, &meta, events).await?;
                    let closing_orders = closing.iter().map(|id| OrderView::of(&state.core.orders[id])).collect();
                    Ok(FlattenReply { canceled_orders, closing_orders })
                }
                .await;
                respond(&state.pipeline, reply, r)
            }
            _ => Ok(()),
        }
    }
}

/// Answers once everything queued so far is durable; a journal failure is also
/// returned so the actor stops.
fn respond<T: Send + 'static>(pipeline: &Pipeline, reply: Answer<T>, r: Result<T, ActorError>) -> Result<(), ActorError> {
    match r {
        Ok(v) => {
            pipeline.reply(reply, Ok(v));
            Ok(())
        }
        Err(ActorError::Refused(e)) => {
            pipeline.reply(reply, Err(e));
            Ok(())
        }
        Err(e) => {
            let _ = reply.send(Err(e.to_reply()));
            Err(e)
        }
    }
}

impl Actor for ExecutionActor {
    type Msg = ExecutionMsg;
    type State = ExecutionState;
    type Arguments = ();

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, _args: ()) -> Result<ExecutionState, ActorProcessingErr> {
        let mut state = self.rebuild().await?;
        state.myself = Some(myself.clone());
        if !state.core.funded && !state.core.is_live() && state.core.config.starting_cash.is_positive() {
            let fund = Event::CashAdjusted(CashAdjusted {
                asset: state.core.portfolio.currency.clone(),
                amount: state.core.config.starting_cash,
                reason: "paper account starting cash".into(),
            });
            let now = self.services.clock.now();
            state.core.apply(&fund, now).map_err(|e| ErrorReply::new(ErrorCode::Internal, e.to_string()))?;
            let meta = RequestMeta { request_id: None, correlation_id: tradpal_messages::CorrelationId(0) };
            self.record(&mut state, &meta, vec![fund]).await?;
        }
        // A breach journaled before a crash, not answered yet.
        let now = self.services.clock.now();
        let answer = state.core.answer_breach(now).map_err(refused)?;
        let meta = RequestMeta { request_id: None, correlation_id: tradpal_messages::CorrelationId(0) };
        self.record(&mut state, &meta, answer.into_iter().collect()).await?;
        self.reconcile(&mut state).await?;
        self.catch_up(&mut state).await?;
        myself.send_interval(Duration::from_millis(TICK_MS), || ExecutionMsg::Tick);
        tracing::info!(orders = state.core.orders.len(), open = state.core.open_orders(), cursor = state.cursor, "execution rebuilt");
        Ok(state)
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, msg: ExecutionMsg, state: &mut ExecutionState) -> Result<(), ActorProcessingErr> {
        match msg {
            ExecutionMsg::Get { order, reply } => {
                let r = Self::resolve(&state.core, &order).map(|id| OrderView::of(&state.core.orders[&id]));
                state.pipeline.reply(reply, r);
            }
            ExecutionMsg::Orders { query, reply } => {
                state.pipeline.reply(reply, state.core.list(&query).map_err(|m| ErrorReply::new(ErrorCode::BadRequest, m.to_string())));
            }
            ExecutionMsg::Portfolio { reply } => {
                let mut view = PortfolioView::of(&state.core, state.cursor.max(self.services.journal.last_sequence()));
                view.venue_balances = state.balances.as_ref().map(|b| b.iter().map(Into::into).collect());
                state.pipeline.reply(reply, Ok(view));
            }
            ExecutionMsg::JournalFailed(why) => return Err(format!("journal write failed: {why}").into()),
            ExecutionMsg::Wake => self.catch_up(state).await?,
            ExecutionMsg::Tick => {
                self.catch_up(state).await?;
                let events = state.core.on_timer(self.services.clock.now()).map_err(refused).map_err(ActorError::from)?;
                let meta = RequestMeta { request_id: None, correlation_id: tradpal_messages::CorrelationId(0) };
                self.record(state, &meta, events).await?;
                self.poll_venue(state);
            }
            ExecutionMsg::VenueReport { order_id, kind, result } => {
                self.on_venue_answer(state, order_id, kind, result).await?;
            }
            ExecutionMsg::Fault(f) => return Err(f.trigger(crate::names::EXECUTION)),
            other => self.handle_request(state, other).await?,
        }
        Ok(())
    }
}
