//! Replay of a recorded paper account: the journal's inputs through a fresh
//! [`ExecutionCore`], every decided event compared with the recorded one.
//!
//! Pure: records in, a [`ReplayReport`] out (the CLI `tradpal replay` reads the journal).
//!
//! What is an input and what an output. The journal holds the actor's decisions, in the
//! order the actor made them (one actor, batches journaled in order). The replay walks
//! them; while events it decided are pending, each recorded execution event is compared
//! with the next pending one. When none is pending, the recorded event starts a new
//! decision, and the replay makes that decision itself:
//!
//! - `OrderSubmitted` of a main order: the client's request, rebuilt (`inputs.rs`) and
//!   submitted at its recorded `submitted_at`, with the recorded order ids handed out
//!   ([`inputs::RecordedIds`]: ids come from the service's shared generator, which other
//!   actors draw from too, so they cannot be regenerated; they are reused instead, and
//!   the rest of each event must then match exactly). Legs are outputs of their parent.
//! - `OrderCancelRequested`: a cancel request; `flatten-` orders or `flatten: ` reasons:
//!   a flatten; `halt: ` reasons: the halt's `cancel_working`; `OrderExpired` without a cause: the clock (`on_timer` at that record's
//!   time); `TradingStateChanged`: an administrator's move of the kill switch;
//!   `CashAdjusted`: cash, applied as recorded.
//! - `CandlesIngested` and `RiskLimitBreached` records are inputs the actor pulls from the
//!   journal after the fact; when it did is visible only through their effects. A candle
//!   record whose matches are in the journal is matched right before the first of them
//!   (the actor may have served requests in between); one without is matched at once. A
//!   breach is applied and answered in that same queue, after the candles before it.
//!
//! Wall-clock decisions (cancels, the clock) are replayed at their record's timestamp,
//! a few microseconds after the actor's own `now`: the `released_at` of children they
//! release is therefore not compared. Order timeouts that the recording never reached
//! are not looked for (the clock is replayed only where it decided something).
//!
//! The replay stops at the first difference anywhere in the account (with a session
//! scope too: the session's orders share the account, and its risk checks depend on it);
//! counts are of the events in scope.
//!
//! # Layout
//!
//! - `mod.rs`: the driver (inputs, the pending queue, counts, the report).
//! - `inputs.rs`: requests rebuilt from `OrderSubmitted`, recorded ids, batch lookahead.
//! - `compare.rs`: the first differing field of two events; cause and order of an event.
//! - `tests.rs`: hand-built streams, a recording of the core itself, doctored records.

pub mod compare;
pub mod inputs;
#[cfg(test)]
mod tests;

use super::core::{ExecutionConfig, ExecutionCore};
use super::decide::HALT_CANCEL_PREFIX;
use compare::{cause_of, event_difference, order_of, to_json};
use inputs::{flatten_ids, is_flatten_order, is_root, legs_of, request_of, RecordedIds};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use tradpal_messages::{Event, EventKind, OrderId, SessionId, Timestamp};

/// One journal record, as far as the replay needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub sequence: u64,
    pub timestamp: Timestamp,
    pub event: Event,
}

/// The kinds of record that make the execution state: what the actor folds on rebuild and
/// what a replay reads (execution events, their market data, risk breaches). One list, so
/// the two cannot disagree about what the state is made of.
pub const REPLAY_KINDS: &[EventKind] = &[
    EventKind::CandlesIngested,
    EventKind::RiskLimitBreached,
    EventKind::OrderSubmitted,
    EventKind::OrderAccepted,
    EventKind::OrderRejected,
    EventKind::OrderFilled,
    EventKind::OrderTriggered,
    EventKind::OrderCancelRequested,
    EventKind::OrderCanceled,
    EventKind::OrderExpired,
    EventKind::OrderReleased,
    EventKind::TradingStateChanged,
    EventKind::CashAdjusted,
];

/// Tells the records of trading sessions' own accounts (`session::runner`: orders whose
/// envelope names a session and whose client id has the session prefix, and every later
/// event of those orders) from the paper account's. The execution actor's rebuild and a
/// replay of the paper account skip them: a session's orders trade its own capital.
#[derive(Debug, Clone, Default)]
pub struct SessionOwned {
    orders: std::collections::BTreeSet<tradpal_messages::OrderId>,
}

impl SessionOwned {
    /// Whether the record belongs to a session's own account (remembered for its order).
    pub fn owns(&mut self, env: &tradpal_messages::Envelope) -> bool {
        let order = match &env.event {
            Event::OrderSubmitted(s) => {
                let owned = env.session_id.is_some() && s.spec.client_order_id.starts_with(crate::session::runner::SESSION_ORDER_PREFIX);
                if owned {
                    self.orders.insert(s.order_id);
                }
                return owned;
            }
            Event::OrderAccepted(e) => e.order_id,
            Event::OrderRejected(e) => e.order_id,
            Event::OrderFilled(e) => e.order_id,
            Event::OrderTriggered(e) => e.order_id,
            Event::OrderCancelRequested(e) => e.order_id,
            Event::OrderCanceled(e) => e.order_id,
            Event::OrderExpired(e) => e.order_id,
            Event::OrderReleased(e) => e.order_id,
            _ => return false,
        };
        env.session_id.is_some() && self.orders.contains(&order)
    }
}

/// Which events are compared and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every execution event of the account.
    Account,
    /// The events of the orders submitted with this session id.
    Session(SessionId),
}

/// Where the replay first decided differently from the recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// The recorded record; `None`: the replay decided events after the journal's end.
    pub sequence: Option<u64>,
    /// The recorded event's kind (the replayed one's when nothing was recorded).
    pub kind: String,
    pub order_id: Option<String>,
    /// The JSON field that differs (`type` for different kinds of event; `decision` when
    /// the replay refused an input the recording accepted; `event` when one side has none).
    pub field: String,
    pub recorded: Value,
    pub replayed: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ReplayReport {
    pub identical: bool,
    /// Journal records read (of [`REPLAY_KINDS`]).
    pub records: u64,
    /// Inputs replayed, by kind (`submit`, `cancel`, `candles`, ...).
    pub inputs: BTreeMap<String, u64>,
    /// Events in scope compared equal, by kind.
    pub compared: BTreeMap<String, u64>,
    /// Accept / reject decisions in scope compared equal (`OrderSubmitted` carries the
    /// risk check's resize and is counted under `compared`).
    pub decisions: u64,
    /// Fills in scope compared equal (price, quantity, fee, liquidity, ...).
    pub fills: u64,
    /// Orders in scope.
    pub orders: u64,
    pub difference: Option<Difference>,
}

/// A replay step: the first difference ends the run (boxed: it is the rare path).
type Step<T> = Result<T, Box<Difference>>;

/// An event the replay decided, waiting for its recorded twin.
struct Pending {
    event: Event,
    /// Decided at a wall-clock time the journal does not hold exactly (see module doc).
    wall_clock: bool,
}

struct Replayer<'a> {
    core: ExecutionCore,
    records: &'a [Recorded],
    /// Settings changes (journal sequence, settings), in order: a service restarted with
    /// other settings decided with them from then on.
    configs: &'a [(u64, ExecutionConfig)],
    next_config: usize,
    scope: Scope,
    /// Sequences of candle records that recorded matches name as their cause.
    pinned: BTreeSet<u64>,
    /// Cancel requests the engine made on a bar (an IOC's rest, a FOK, a reduce-only order
    /// with nothing to reduce): index -> the bar's sequence. Decisions, not inputs.
    engine_cancels: BTreeMap<usize, u64>,
    /// Candle and breach records not yet taken in (indexes into `records`).
    queued: VecDeque<usize>,
    pending: VecDeque<Pending>,
    in_scope: BTreeSet<OrderId>,
    report: ReplayReport,
}

/// Replays `records` (journal order, [`REPLAY_KINDS`]) on a core with `config`.
pub fn replay(config: ExecutionConfig, records: &[Recorded], scope: Scope) -> ReplayReport {
    replay_configured(config, &[], records, scope)
}

/// [`replay`] with the settings the service journaled (`ExecutionConfigured`, with their
/// journal sequences): each takes effect for the records after it, as it did live.
/// `config` applies before the first.
pub fn replay_configured(config: ExecutionConfig, configs: &[(u64, ExecutionConfig)], records: &[Recorded], scope: Scope) -> ReplayReport {
    let pinned = records.iter().map(|r| cause_of(&r.event)).filter(|c| *c > 0).collect();
    let engine_cancels = engine_cancels(records);
    let mut r = Replayer {
        core: ExecutionCore::new(config),
        records,
        configs,
        next_config: 0,
        scope,
        pinned,
        engine_cancels,
        queued: VecDeque::new(),
        pending: VecDeque::new(),
        in_scope: BTreeSet::new(),
        report: ReplayReport { records: records.len() as u64, ..ReplayReport::default() },
    };
    let outcome = r.run();
    r.report.identical = outcome.is_ok();
    r.report.difference = outcome.err().map(|d| *d);
    r.report.orders = r.in_scope.len() as u64;
    r.report
}

/// The cancel requests a bar decided: an `OrderCancelRequested` whose order's next
/// record is its `OrderCanceled` with the same reason and a bar as its cause (the request
/// itself names no cause: it is journaled as the first half of the engine's cancel).
fn engine_cancels(records: &[Recorded]) -> BTreeMap<usize, u64> {
    let mut out = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        let Event::OrderCancelRequested(req) = &rec.event else { continue };
        let next = records[i + 1..].iter().find(|r| order_of(&r.event) == Some(req.order_id));
        if let Some(Event::OrderCanceled(c)) = next.map(|r| &r.event) {
            if c.cause_sequence > 0 && c.reason == req.reason {
                out.insert(i, c.cause_sequence);
            }
        }
    }
    out
}

impl Replayer<'_> {
    fn run(&mut self) -> Step<()> {
        for i in 0..self.records.len() {
            while let Some((_, config)) = self.configs.get(self.next_config).filter(|(at, _)| *at < self.records[i].sequence) {
                self.core.config = config.clone();
                self.next_config += 1;
            }
            match &self.records[i].event {
                Event::CandlesIngested(_) | Event::RiskLimitBreached(_) => {
                    self.queued.push_back(i);
                    self.take_unpinned()?;
                }
                _ => self.on_recorded(i)?,
            }
        }
        while let Some(i) = self.queued.pop_front() {
            self.take_in(i)?;
        }
        match self.pending.pop_front() {
            None => Ok(()),
            Some(p) => Err(self.difference(None, None, Some(&p.event), "event".into(), Value::Null, to_json(&p.event))),
        }
    }

    /// Takes in queued records up to the first candle record whose matches are recorded later.
    fn take_unpinned(&mut self) -> Step<()> {
        while let Some(&i) = self.queued.front() {
            if self.pinned.contains(&self.records[i].sequence) {
                return Ok(());
            }
            self.queued.pop_front();
            self.take_in(i)?;
        }
        Ok(())
    }

    /// Takes in every queued record up to (and including) sequence `cause`.
    fn take_through(&mut self, cause: u64) -> Step<()> {
        while let Some(&i) = self.queued.front() {
            if self.records[i].sequence > cause {
                break;
            }
            self.queued.pop_front();
            self.take_in(i)?;
        }
        self.take_unpinned()
    }

    /// Matches a candle record, or applies and answers a risk breach.
    fn take_in(&mut self, i: usize) -> Step<()> {
        let records = self.records;
        let rec = &records[i];
        let decided = match &rec.event {
            Event::CandlesIngested(c) => {
                self.count_input("candles");
                self.core.on_bars(&c.symbol, c.timeframe, &c.candles, rec.sequence).map_err(|e| e.to_string())
            }
            Event::RiskLimitBreached(_) => {
                self.count_input("risk_breach");
                self.core
                    .apply(&rec.event, rec.timestamp)
                    .map_err(|e| e.to_string())
                    .and_then(|()| self.core.answer_breach(rec.timestamp).map_err(|e| e.to_string()))
                    .map(|e| e.into_iter().collect())
            }
            _ => Ok(vec![]),
        };
        let events = decided.map_err(|why| self.refused(i, why))?;
        self.pending.extend(events.into_iter().map(|event| Pending { event, wall_clock: false }));
        Ok(())
    }

    fn on_recorded(&mut self, i: usize) -> Step<()> {
        let records = self.records;
        let rec = &records[i];
        let cause = self.engine_cancels.get(&i).copied().unwrap_or_else(|| cause_of(&rec.event));
        if cause > 0 {
            self.take_through(cause)?;
        }
        if let (Event::OrderSubmitted(s), Scope::Session(id)) = (&rec.event, self.scope) {
            if s.spec.session_id == Some(id) {
                self.in_scope.insert(s.order_id);
            }
        }
        if let (Event::OrderSubmitted(s), Scope::Account) = (&rec.event, self.scope) {
            self.in_scope.insert(s.order_id);
        }
        if self.pending.is_empty() && self.decide(i)? {
            return Ok(()); // applied as recorded (cash)
        }
        let Some(p) = self.pending.pop_front() else {
            let note = Value::String("the replay decided nothing here".into());
            return Err(self.difference(Some(rec), Some(&rec.event), None, "event".into(), to_json(&rec.event), note));
        };
        let mut replayed = p.event;
        if let (true, Event::OrderReleased(r), Event::OrderReleased(got)) = (p.wall_clock, &rec.event, &mut replayed) {
            got.released_at = r.released_at;
        }
        if let Some((field, a, b)) = event_difference(&rec.event, &replayed) {
            return Err(self.difference(Some(rec), Some(&rec.event), Some(&replayed), field, a, b));
        }
        self.count_equal(&rec.event);
        Ok(())
    }

    /// Makes the decision the recorded event `i` starts; true when it was applied as
    /// recorded and nothing is to be compared.
    fn decide(&mut self, i: usize) -> Step<bool> {
        let records = self.records;
        let rec = &records[i];
        let at = rec.timestamp;
        let (events, wall_clock) = match &rec.event {
            Event::CashAdjusted(_) => {
                self.count_input("cash");
                self.core.apply(&rec.event, at).map_err(|why| self.refused(i, why.to_string()))?;
                return Ok(true);
            }
            Event::OrderSubmitted(s) if is_flatten_order(s) => (self.flatten(i, "")?, true),
            Event::OrderCancelRequested(c) if c.reason.starts_with("flatten: ") => (self.flatten(i, &c.reason["flatten: ".len()..])?, true),
            Event::OrderCanceled(c) if c.reason.starts_with("flatten: ") && c.cause_sequence == 0 => {
                (self.flatten(i, &c.reason["flatten: ".len()..])?, true)
            }
            Event::OrderCancelRequested(c) if c.reason.starts_with(HALT_CANCEL_PREFIX) => {
                (self.cancel_working(i, &c.reason[HALT_CANCEL_PREFIX.len()..])?, true)
            }
            Event::OrderCanceled(c) if c.reason.starts_with(HALT_CANCEL_PREFIX) && c.cause_sequence == 0 => {
                (self.cancel_working(i, &c.reason[HALT_CANCEL_PREFIX.len()..])?, true)
            }
            Event::OrderSubmitted(s) if is_root(s) => {
                self.count_input("submit");
                let legs = legs_of(records, i);
                let req = request_of(s, &legs);
                let mut ids = RecordedIds::new(std::iter::once(s.order_id).chain(legs.iter().map(|l| l.order_id)));
                let submitted = self.core.submit(&req, s.submitted_at, &mut ids).map_err(|e| self.refused(i, e.to_string()))?;
                (submitted.events, false)
            }
            // The first half of a cancel a bar decided: it comes out of that bar's matching.
            Event::OrderCancelRequested(_) if self.engine_cancels.contains_key(&i) => (vec![], false),
            Event::OrderCancelRequested(c) => {
                self.count_input("cancel");
                (self.core.cancel(c.order_id, &c.reason, at).map_err(|e| self.refused(i, e.to_string()))?, true)
            }
            Event::OrderExpired(e) if e.cause_sequence == 0 => {
                self.count_input("timer");
                (self.core.on_timer(at).map_err(|e| self.refused(i, e.to_string()))?, true)
            }
            Event::TradingStateChanged(t) => {
                self.count_input("trading_state");
                let moved = self.core.set_trading_state(t.to, &t.reason, at).map_err(|e| self.refused(i, e.to_string()))?;
                (moved.into_iter().collect(), true)
            }
            _ => (vec![], false), // an output nobody decided: reported by the caller
        };
        self.pending.extend(events.into_iter().map(|event| Pending { event, wall_clock }));
        Ok(false)
    }

    fn flatten(&mut self, i: usize, reason: &str) -> Step<Vec<Event>> {
        self.count_input("flatten");
        let mut ids = RecordedIds::new(flatten_ids(self.records, i));
        self.core.flatten(reason, self.records[i].timestamp, &mut ids).map_err(|e| self.refused(i, e.to_string()))
    }

    fn cancel_working(&mut self, i: usize, reason: &str) -> Step<Vec<Event>> {
        self.count_input("cancel_working");
        self.core.cancel_working(reason, self.records[i].timestamp).map_err(|e| self.refused(i, e.to_string()))
    }

    fn count_input(&mut self, kind: &str) {
        *self.report.inputs.entry(kind.to_string()).or_default() += 1;
    }

    fn in_scope(&self, event: &Event) -> bool {
        match (self.scope, order_of(event)) {
            (Scope::Account, _) => true,
            (Scope::Session(_), Some(id)) => self.in_scope.contains(&id),
            (Scope::Session(_), None) => false,
        }
    }

    fn count_equal(&mut self, event: &Event) {
        if !self.in_scope(event) {
            return;
        }
        *self.report.compared.entry(event.kind().as_str().to_string()).or_default() += 1;
        match event {
            Event::OrderAccepted(_) | Event::OrderRejected(_) => self.report.decisions += 1,
            Event::OrderFilled(_) => self.report.fills += 1,
            _ => {}
        }
    }

    /// The replay refused (or could not apply) the input the recording acted on.
    fn refused(&self, i: usize, why: String) -> Box<Difference> {
        let records = self.records;
        let rec = &records[i];
        self.difference(Some(rec), Some(&rec.event), None, "decision".into(), to_json(&rec.event), Value::String(format!("refused: {why}")))
    }

    fn difference(
        &self,
        rec: Option<&Recorded>,
        recorded: Option<&Event>,
        replayed: Option<&Event>,
        field: String,
        a: Value,
        b: Value,
    ) -> Box<Difference> {
        let event = recorded.or(replayed);
        Box::new(Difference {
            sequence: rec.map(|r| r.sequence),
            kind: event.map_or("none", |e| e.kind().as_str()).to_string(),
            order_id: event.and_then(order_of).map(|id| id.to_string()),
            field,
            recorded: a,
            replayed: b,
        })
    }
}
