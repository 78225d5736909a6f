//! The session actor: the book of sessions and every trading session's loop.
//!
//! Inputs are journaled first, decisions after, in journal order:
//! - A start is decided at once (refusals are 4xx, nothing journaled) and journaled as
//!   `SessionOpened`; a stop is journaled as the input `SessionStopRequested`.
//! - The actor then *pulls* the journal after its cursor (a `Wake` doorbell rung when
//!   candles are journaled, a tick, or its own command) and feeds each record, in
//!   sequence order, to the sessions it concerns (`runner.rs`): candles, the kill
//!   switch, stop requests, session starts. The decisions one record called for (orders,
//!   fills, cancels, a `SessionStopped`) are journaled as one batch together with
//!   `SessionInputDecided { input_sequence }`, each carrying its session's id and, as the
//!   causation id, the input record's event id.
//! - Rebuild: the last `SessionInputDecided` names the last input acted on. Records up to
//!   it are fed again with their decisions discarded (the same code on the same inputs
//!   reaches the same state); records after it are acted on. So after a crash no bar is
//!   acted on twice and none is skipped, and no order is placed twice.
//!
//! One actor runs every session: one pass over a candle record serves all sessions of its
//! symbol, and their decisions share one journal write. A session that fails (bust, a
//! bad signal) is stopped with the reason; it does not stop the others.

use super::core::{SessionBook, SessionLimits, StartContext};
use super::runner::{SessionPerformance, SessionPnl, SessionRunner};
use crate::context::{ActorError, RequestMeta, Services};
use crate::ensemble::resolve::{load, resolve, AiRequest};
use crate::execution::actor::ExecutionMsg;
use crate::execution::durable::Pipeline;
use crate::fault::Fault;
use crate::market_data::actor::MarketDataMsg;
use crate::names;
use crate::strategy::AiModels;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::BTreeMap;
use tradpal_messages::reply::{SessionStartedReply, SessionStoppedReply};
use tradpal_messages::{
    CausationId, Envelope, ErrorCode, ErrorReply, Event, EventKind, SessionId, SessionInfo, SessionInputDecided, StartSession, StopSession,
    Timeframe, TradingState,
};

pub type Answer<T> = RpcReplyPort<Result<T, ErrorReply>>;

/// How often the actor looks at the journal without a doorbell.
pub const TICK_MS: u64 = 1_000;
/// Most journal records one read takes before it yields to requests.
pub const READ_RECORDS_MAX: u64 = 10_000;
/// How long a call to another actor (execution, market data) may take at a start.
pub const PEER_CALL_MS: u64 = 5_000;

#[derive(Debug)]
pub enum SessionMsg {
    /// `idempotency_key`: the client's `Idempotency-Key`; a retry with the same key and
    /// body returns the original session, with another body a conflict.
    Start {
        cmd: StartSession,
        idempotency_key: Option<String>,
        meta: RequestMeta,
        reply: Answer<SessionStartedReply>,
    },
    /// `reason`: `requested` for a stop, `emergency_stop` for the emergency stop.
    Stop {
        cmd: StopSession,
        reason: String,
        meta: RequestMeta,
        reply: Answer<SessionStoppedReply>,
    },
    /// Every session, ordered by id, with its P&L when it trades.
    List {
        reply: RpcReplyPort<Vec<SessionRow>>,
    },
    /// One session's performance (`None`: not a trading session).
    Performance {
        session_id: SessionId,
        reply: Answer<SessionPerformance>,
    },
    /// Candles were journaled (or might have been): read the journal after the cursor.
    Wake,
    /// A queued journal batch failed: stop, so the supervisor rebuilds from the journal.
    JournalFailed(String),
    Fault(Fault),
}

/// A session in a listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionRow {
    #[serde(flatten)]
    pub info: SessionInfo,
    pub timeframe: Option<Timeframe>,
    pub params: BTreeMap<String, f64>,
    pub pnl: Option<SessionPnl>,
    /// Why it stopped (when it did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// An `ai_ensemble` session's pinned models (ids, versions, weights, what was left
    /// out; the regime model itself is in the journal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<PinnedModels>,
}

/// What a listing shows of an `ai_ensemble` session's pins.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PinnedModels {
    pub model_id: Option<String>,
    pub model_version: u32,
    pub agent_id: Option<String>,
    pub agent_version: u32,
    pub weights: crate::ensemble::core::Weights,
    pub left_out: Vec<String>,
}

impl PinnedModels {
    fn of(p: &tradpal_messages::AiPins) -> Self {
        PinnedModels {
            model_id: p.model_id.clone(),
            model_version: p.model_version,
            agent_id: p.agent_id.clone(),
            agent_version: p.agent_version,
            weights: crate::ensemble::core::Weights { ml: p.ml_weight, rl: p.rl_weight, regime: p.regime_weight },
            left_out: p.left_out.clone(),
        }
    }
}

/// Defaults a start takes from the service's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDefaults {
    /// The config's first timeframe.
    pub timeframe: Timeframe,
    /// `TRANSACTION_COSTS`.
    pub commission: f64,
    /// `trading_config.symbols`: what sessions may trade (empty: any).
    pub symbols: Vec<String>,
}

impl Default for SessionDefaults {
    fn default() -> Self {
        SessionDefaults { timeframe: Timeframe::H1, commission: 0.001, symbols: Vec::new() }
    }
}

#[derive(Debug, Clone)]
pub struct SessionActor {
    pub services: Services,
    pub limits: SessionLimits,
    pub defaults: SessionDefaults,
    /// The AI ensemble's weights and switches (`ai_ensemble` sessions pin them).
    pub ai: crate::ensemble::actor::EnsembleSettings,
}

pub struct SessionState {
    book: SessionBook,
    runners: BTreeMap<SessionId, SessionRunner>,
    /// Journal records up to here have been fed to the sessions.
    cursor: u64,
    /// Records up to here were acted on before this incarnation: fed, decisions discarded.
    replay_through: u64,
    /// The service's kill switch as of the cursor.
    trading_state: TradingState,
    stop_reasons: BTreeMap<SessionId, String>,
    /// Queued decision batches; every answer waits until they are durable.
    pipeline: Pipeline,
    myself: Option<ActorRef<SessionMsg>>,
    /// Models resolved for `ai_ensemble` sessions being started, until their
    /// `SessionOpened` is fed (a rebuild loads them from the pins instead).
    resolved: BTreeMap<SessionId, AiModels>,
}

/// Prefix of the journal idempotency keys of session starts.
pub const IDEMPOTENCY_PREFIX: &str = "start-session:";

/// The answer to a repeated start: the original session if the body matches.
fn replay_start(book: &SessionBook, cmd: &StartSession, env: &Envelope) -> Result<SessionStartedReply, ActorError> {
    let (session_id, c) = match &env.event {
        Event::SessionStarted(s) => (s.session_id, &s.config),
        Event::SessionOpened(s) => (s.session_id, &s.config),
        _ => return Err(ErrorReply::new(ErrorCode::Internal, "idempotency key names a record that is not a session start").into()),
    };
    let same = c.symbol == cmd.symbol
        && c.capital == cmd.capital
        && c.strategy == cmd.strategy
        && c.risk_per_trade == cmd.risk_per_trade
        && c.mode == cmd.mode;
    if !same {
        return Err(ErrorReply::new(ErrorCode::Conflict, "this Idempotency-Key was already used with a different request body").into());
    }
    let session = book
        .get(session_id)
        .cloned()
        .ok_or_else(|| ActorError::Refused(ErrorReply::new(ErrorCode::Internal, "idempotent session start not found in the book")))?;
    Ok(SessionStartedReply { session_id, status: session.status, session, replayed: true })
}

/// The last input record the sessions acted on (0 when none).
async fn last_decided(services: &Services) -> Result<u64, ActorError> {
    services
        .fold(&[EventKind::SessionInputDecided], 0u64, |last, env| {
            if let Event::SessionInputDecided(d) = &env.event {
                *last = (*last).max(d.input_sequence);
            }
            Ok(())
        })
        .await
}

/// [`crate::context::ask`] with this actor's timeout.
async fn ask<M: ractor::Message, T: Send + 'static>(name: &str, msg: impl FnOnce(RpcReplyPort<T>) -> M) -> Result<T, ErrorReply> {
    crate::context::ask(name, PEER_CALL_MS, msg).await
}

impl Actor for SessionActor {
    type Msg = SessionMsg;
    type State = SessionState;
    type Arguments = ();

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, _args: ()) -> Result<SessionState, ActorProcessingErr> {
        let replay_through = last_decided(&self.services).await?;
        let mut state = SessionState {
            book: SessionBook::default(),
            runners: BTreeMap::new(),
            cursor: 0,
            replay_through,
            trading_state: TradingState::Active,
            stop_reasons: BTreeMap::new(),
            pipeline: Pipeline::default(),
            myself: Some(myself.clone()),
            resolved: BTreeMap::new(),
        };
        self.catch_up(&mut state).await?;
        tracing::info!(
            sessions = state.book.list().count(),
            active = state.book.active_count(),
            trading = state.runners.values().filter(|r| !r.is_stopped()).count(),
            replayed_through = replay_through,
            "session actor rebuilt from journal"
        );
        let me = myself.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(TICK_MS));
            loop {
                tick.tick().await;
                if me.cast(SessionMsg::Wake).is_err() {
                    return;
                }
            }
        });
        Ok(state)
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, msg: SessionMsg, state: &mut SessionState) -> Result<(), ActorProcessingErr> {
        match msg {
            SessionMsg::Start { cmd, idempotency_key, meta, reply } => {
                let span = meta.span(crate::names::SESSION, "start");
                let result = tracing::Instrument::instrument(self.start_once(state, &cmd, idempotency_key, &meta), span).await;
                state.pipeline.reply(reply, result.map_err(|e| e.to_reply()));
            }
            SessionMsg::Stop { cmd, reason, meta, reply } => {
                let span = meta.span(crate::names::SESSION, "stop");
                let result = tracing::Instrument::instrument(self.stop(state, &cmd, &reason, &meta), span).await;
                state.pipeline.reply(reply, result.map_err(|e| e.to_reply()));
            }
            SessionMsg::List { reply } => {
                let rows = rows(state);
                let durable = state.pipeline.durable();
                tokio::spawn(async move {
                    if durable.await.is_ok() {
                        let _ = reply.send(rows);
                    }
                });
            }
            SessionMsg::Performance { session_id, reply } => {
                let r = match (state.book.get(session_id), state.runners.get(&session_id)) {
                    (_, Some(runner)) => Ok(runner.performance()),
                    (Some(_), None) => Err(ErrorReply::new(
                        ErrorCode::NotFound,
                        format!("session {session_id} was started before sessions traded: it has no performance"),
                    )),
                    (None, None) => Err(ErrorReply::new(ErrorCode::NotFound, format!("no session {session_id}"))),
                };
                state.pipeline.reply(reply, r);
            }
            SessionMsg::Wake => self.catch_up(state).await?,
            SessionMsg::JournalFailed(why) => {
                return Err(ErrorReply::new(ErrorCode::Internal, format!("a session decision batch was not journaled: {why}")).into());
            }
            SessionMsg::Fault(f) => return Err(f.trigger("session")),
        }
        Ok(())
    }
}

fn rows(state: &SessionState) -> Vec<SessionRow> {
    state
        .book
        .list()
        .map(|info| {
            let runner = state.runners.get(&info.session_id);
            SessionRow {
                info: info.clone(),
                timeframe: runner.map(|r| r.timeframe()),
                params: runner.map(|r| r.opened.params.iter().map(|p| (p.name.clone(), p.value)).collect()).unwrap_or_default(),
                pnl: runner.map(|r| r.pnl()),
                stop_reason: state.stop_reasons.get(&info.session_id).cloned(),
                models: runner.and_then(|r| r.opened.ai.as_ref()).map(PinnedModels::of),
            }
        })
        .collect()
}

impl SessionActor {
    /// Starts a session unless one was already started under this idempotency key.
    /// The journal's key index is the memory, so this holds across restarts.
    async fn start_once(
        &self,
        state: &mut SessionState,
        cmd: &StartSession,
        key: Option<String>,
        meta: &RequestMeta,
    ) -> Result<SessionStartedReply, ActorError> {
        let journal_key = key.map(|k| format!("{IDEMPOTENCY_PREFIX}{k}"));
        if let Some(k) = &journal_key {
            if let Some(env) = self.services.journal.find_by_key(k)? {
                return replay_start(&state.book, cmd, &env);
            }
        }
        let ctx = self.start_context(state.book.reserved_capital(), &cmd.symbol).await?;
        let id = self.services.next_session_id();
        let mut ctx = StartContext { seed: id.0 as u64 ^ (id.0 >> 64) as u64, ..ctx };
        let mut event = state.book.decide_start(cmd, id, &self.limits, &ctx)?;
        if cmd.strategy == "ai_ensemble" {
            // Checked first (cheap), then the models resolved and pinned in the start.
            let timeframe = cmd.timeframe.unwrap_or(ctx.default_timeframe);
            let req = AiRequest { symbol: &cmd.symbol, timeframe, model_id: cmd.model_id.as_deref(), agent_id: cmd.agent_id.as_deref() };
            let models = resolve(req, &self.ai).await?;
            ctx.ai = Some(models.pins.clone());
            event = state.book.decide_start(cmd, id, &self.limits, &ctx)?;
            state.resolved.insert(id, models);
        } else if cmd.model_id.is_some() || cmd.agent_id.is_some() {
            return Err(ErrorReply::new(ErrorCode::BadRequest, "model_id / agent_id: only strategy \"ai_ensemble\" takes them").into());
        }
        let mut draft = self.services.draft(meta, event);
        draft.idempotency_key = journal_key;
        let event_id = draft.event_id;
        let recorded = self.services.record(draft).await;
        let env = match recorded {
            Ok(env) => env,
            Err(e) => {
                state.resolved.remove(&id);
                return Err(e);
            }
        };
        self.catch_up(state).await?;
        state.resolved.remove(&id);
        if env.event_id != event_id {
            // Another writer journaled this key first; answer with its session.
            return replay_start(&state.book, cmd, &env);
        }
        tracing::info!(session_id = %id, symbol = %cmd.symbol, sequence = env.sequence, "session started");
        let session = state.book.get(id).cloned().expect("a journaled start is in the book after catching up");
        Ok(SessionStartedReply { session_id: id, status: session.status, session, replayed: false })
    }

    /// The paper account's free cash and the stored timeframe of `symbol`.
    async fn start_context(&self, reserved_capital: f64, symbol: &str) -> Result<StartContext, ErrorReply> {
        let portfolio = ask(names::EXECUTION, |reply| ExecutionMsg::Portfolio { reply }).await??;
        let series = ask(names::MARKET_DATA, |reply| MarketDataMsg::Summary { reply }).await?;
        let stored_timeframe = series.iter().filter(|(s, _, _)| s == symbol).map(|(_, tf, _)| *tf).min_by_key(|tf| tf.nanos());
        Ok(StartContext {
            default_timeframe: self.defaults.timeframe,
            default_commission: self.defaults.commission,
            default_slippage_bps: 1,
            free_cash: portfolio.cash.to_f64() - reserved_capital,
            stored_timeframe,
            seed: 0,
            ai: None,
            symbols: self.defaults.symbols.clone(),
        })
    }

    async fn stop(
        &self,
        state: &mut SessionState,
        cmd: &StopSession,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<SessionStoppedReply, ActorError> {
        let event = state.book.decide_stop(cmd, reason)?;
        let env = self.services.record(self.services.draft(meta, event)).await?;
        self.catch_up(state).await?;
        tracing::info!(session_id = %cmd.session_id, sequence = env.sequence, "session stop requested");
        let session = state.book.get(cmd.session_id).cloned().expect("a stopped session is in the book");
        Ok(SessionStoppedReply { session_id: cmd.session_id, status: session.status, session })
    }

    /// Feeds every record after the cursor to the sessions, journaling what they decide.
    async fn catch_up(&self, state: &mut SessionState) -> Result<(), ActorError> {
        loop {
            let last = self.services.journal.last_sequence();
            if state.cursor >= last {
                return Ok(());
            }
            let (from, to) = (state.cursor + 1, last.min(state.cursor + READ_RECORDS_MAX));
            let journal = self.services.journal.clone();
            let records = tokio::task::spawn_blocking(move || journal.read_range(from, to).collect::<Result<Vec<_>, _>>())
                .await
                .map_err(|e| ErrorReply::new(ErrorCode::Internal, format!("journal read task failed: {e}")))??;
            for env in records {
                state.cursor = env.sequence;
                self.feed(state, &env).await?;
            }
        }
    }

    /// One record to the book and the sessions it concerns.
    async fn feed(&self, state: &mut SessionState, env: &Envelope) -> Result<(), ActorError> {
        state.book.apply(env);
        let mut decided: Vec<(SessionId, Event)> = Vec::new();
        let mut acted = 0u32;
        match &env.event {
            Event::SessionOpened(o) if !state.runners.contains_key(&o.session_id) => {
                let ai = match (&o.ai, state.resolved.remove(&o.session_id)) {
                    (None, _) => Ok(None),
                    (Some(_), Some(models)) => Ok(Some(models)),
                    (Some(pins), None) => load(pins, &o.config.symbol).await.map(Some).map_err(|e| e.message),
                };
                match ai.and_then(|ai| SessionRunner::open(o, env.sequence, env.timestamp, ai).map_err(|e| e.to_string())) {
                    Ok(mut r) => {
                        r.on_trading_state(&tradpal_messages::TradingStateChanged {
                            from: TradingState::Active,
                            to: state.trading_state,
                            reason: "the service's kill switch".into(),
                        });
                        state.runners.insert(o.session_id, r);
                    }
                    Err(why) => tracing::error!(session_id = %o.session_id, %why, "journaled session cannot be opened"),
                }
            }
            Event::SessionStopped(s) => {
                state.stop_reasons.insert(s.session_id, s.reason.clone());
            }
            Event::TradingStateChanged(t) => {
                state.trading_state = t.to;
                state.runners.values_mut().for_each(|r| r.on_trading_state(t));
            }
            Event::SessionStopRequested(req) => {
                if let Some(r) = state.runners.get_mut(&req.session_id) {
                    let out = r.on_stop(req);
                    acted += out.acted as u32;
                    decided.extend(out.events.into_iter().map(|e| (req.session_id, e)));
                }
            }
            Event::CandlesIngested(c) => {
                for r in state.runners.values_mut().filter(|r| r.symbol() == c.symbol && !r.is_stopped()) {
                    let out = r.on_candles(c, env.sequence);
                    acted += out.acted as u32;
                    decided.extend(out.events.into_iter().map(|e| (r.id, e)));
                }
            }
            _ => {}
        }
        if acted == 0 || env.sequence <= state.replay_through {
            return Ok(());
        }
        self.record_decisions(state, env, decided, acted).await
    }

    /// Journals one input's decisions with its marker, in one batch, then applies the
    /// ones the book folds.
    async fn record_decisions(
        &self,
        state: &mut SessionState,
        input: &Envelope,
        decided: Vec<(SessionId, Event)>,
        acted: u32,
    ) -> Result<(), ActorError> {
        let meta = RequestMeta { request_id: input.request_id.clone(), correlation_id: input.correlation_id };
        let now = self.services.clock.now();
        let mut drafts: Vec<_> = decided
            .into_iter()
            .map(|(id, e)| {
                let mut d = self.services.draft_at(&meta, e, now);
                d.session_id = Some(id);
                d.causation_id = Some(CausationId(input.event_id.0));
                d
            })
            .collect();
        let marker = Event::SessionInputDecided(SessionInputDecided { input_sequence: input.sequence, sessions: acted });
        drafts.push(self.services.draft_at(&meta, marker, now).with_causation(CausationId(input.event_id.0)));
        // Stops are in the book at once (replies wait for durability through the pipeline);
        // reading the records back later changes nothing.
        for d in &drafts {
            match &d.event {
                Event::SessionStopped(s) => {
                    state.book.mark_stopped(s.session_id, d.timestamp);
                    state.stop_reasons.insert(s.session_id, s.reason.clone());
                }
                // The alert: a session's own limit was breached; it flattens and stops.
                Event::RiskLimitBreached(b) => tracing::warn!(
                    session_id = ?b.session_id, limit = %b.limit, value = b.value, threshold = b.threshold,
                    "session risk limit breached: flattening and stopping the session"
                ),
                _ => {}
            }
        }
        // Queued, not awaited: the next input is decided while this batch is written,
        // and many inputs' decisions share one fsync. Batches are durable in queue order.
        let pending = self.services.enqueue_batch(drafts).await?;
        let me = state.myself.clone();
        state.pipeline.track(async move { pending.await.map(|_| ()) }, move |why| {
            if let Some(me) = me {
                let _ = me.cast(SessionMsg::JournalFailed(why));
            }
        });
        Ok(())
    }
}
