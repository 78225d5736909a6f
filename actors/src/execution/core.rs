//! The execution core: orders, portfolio and kill switch as one deterministic state
//! machine. No tokio, no I/O, no clock: time comes in as arguments, ids from the
//! caller's seeded generator.
//!
//! Every input (`submit`, `cancel`, `on_bars`, `on_timer`, `set_trading_state`,
//! `flatten`: in `decide.rs` and `matching.rs`) returns the events it decided and has
//! already applied them through [`ExecutionCore::apply`], the same function a replay
//! folds the journal with. Live and replay therefore cannot disagree. The actor journals
//! the returned events before it replies; if the journal refuses them, it drops this
//! core and rebuilds it from the journal (see `actor.rs`).
//!
//! Derived state that is not journaled (marks, trailing anchors, which bars an order has
//! seen) is rebuilt by [`ExecutionCore::observe_bars`] over the journaled candles.
//!
//! The state is private to the `execution` module: other code reads it through methods
//! ([`ExecutionCore::portfolio`], [`ExecutionCore::order`], ...) and changes it only
//! through the inputs above, so nothing outside can put the core in a state a replay of
//! its journal would not reach.
//!
//! # Finished orders
//!
//! An order that reached a final status (filled, canceled, rejected, expired) leaves the
//! open-order index at once; it stays in the order map, for lookups, listings and the
//! idempotency of its client order id, among the newest
//! [`ExecutionConfig::finished_orders_kept`] finished orders. Older ones are dropped
//! (their whole history stays in the journal), so a service that runs for months holds
//! its working orders and a bounded tail, not every order it ever saw. Dropping happens
//! in [`ExecutionCore::apply`] when the next order is submitted: a pure function of the
//! event stream, so a replay drops the same orders at the same points. A backtest keeps
//! none (`0`: its ids are unique and nobody lists its orders), unless asked to keep all.

use super::error::{ApplyError, ExecutionError};
use super::fill::FillModel;
use super::instrument::Instruments;
use super::order::{Order, Step};
use super::order_map::OrderMap;
use super::portfolio::Portfolio;
use super::symbol_map::{SymbolKey, SymbolMap};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use tradpal_messages::{Event, Fixed, OrderId, OrderStatus, Rounding, SharedStr, Timestamp, TradingState};

/// Settings of the execution core (from the service configuration).
#[derive(Debug, Clone)]
pub struct ExecutionConfig {
    pub instruments: Instruments,
    pub fill: FillModel,
    /// Orders not acknowledged by the venue within this many ns expire (`ORDER_TIMEOUT`).
    pub order_timeout_ns: i64,
    /// Paper account's starting cash (journaled once as `CashAdjusted`).
    pub starting_cash: Fixed,
    pub limits: crate::risk::pretrade::Limits,
    /// Set when paper trading is off: orders go to this exchange (live mode, `live.rs`):
    /// the venue accepts, fills and confirms cancels; bars only mark. The actor refuses
    /// submissions (501) when it has no venue adapter for it.
    pub live_venue: Option<String>,
    /// Finished orders kept for lookups, listings and client-id idempotency, newest
    /// first: see the module doc ("Finished orders").
    pub finished_orders_kept: usize,
}

impl ExecutionConfig {
    /// The core's settings from the configuration inputs a service start journals
    /// (`ExecutionConfigured`); everything else keeps its default (code constants). The one
    /// mapping used live and by a replay.
    pub fn from_recorded(r: &tradpal_messages::ExecutionConfigured) -> ExecutionConfig {
        let mut c =
            ExecutionConfig { order_timeout_ns: r.order_timeout_ns, live_venue: r.live_venue.clone(), ..ExecutionConfig::default() };
        if let Ok(rate) = Fixed::from_f64_rounded(r.transaction_costs, tradpal_messages::Rounding::Nearest) {
            c.fill.taker_fee = rate;
            c.fill.maker_fee = rate;
        }
        c.limits.max_position_size = r.max_position_size;
        c.limits.max_drawdown = Some(r.max_drawdown);
        c
    }

    /// Applies the limits a service start journals beside the configuration
    /// (`ExecutionLimitsConfigured`): live and in a replay, the same mapping.
    pub fn with_recorded_limits(mut self, l: &tradpal_messages::ExecutionLimitsConfigured) -> ExecutionConfig {
        self.limits.max_open_positions = Some(l.max_open_positions as usize);
        self
    }
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig {
            instruments: Instruments::binance_usdt(),
            fill: FillModel::default(),
            order_timeout_ns: 30 * 1_000_000_000,
            starting_cash: Fixed::from_int(10_000),
            limits: crate::risk::pretrade::Limits::default(),
            live_venue: None,
            finished_orders_kept: FINISHED_ORDERS_KEPT_MAX,
        }
    }
}

/// A UTC day, the daily-loss limit's period.
const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// Most orders kept working at once (a queue limit, TigerBeetle style).
pub const WORKING_ORDERS_MAX: usize = 10_000;

/// Finished orders a service's core keeps by default (the rest are in the journal): a
/// day of busy trading, and what `GET /api/execution/orders` can list.
pub const FINISHED_ORDERS_KEPT_MAX: usize = 10_000;

#[derive(Debug, Clone)]
pub struct ExecutionCore {
    pub(super) config: ExecutionConfig,
    /// Every order not yet final, and the newest finished ones (see the module doc).
    pub(super) orders: OrderMap,
    /// Client order id -> order id (rebuilt from the journal: the idempotency memory).
    pub(super) by_client: BTreeMap<SharedStr, OrderId>,
    /// Non-terminal orders per symbol, by submission number.
    pub(super) open_by_symbol: SymbolMap<BTreeSet<(u64, OrderId)>>,
    /// How many orders `open_by_symbol` holds in all: a bar with nothing working anywhere
    /// (most bars of a backtest) looks nothing up, and a submission counts nothing.
    open_total: usize,
    /// Children held until a parent fills.
    pub(super) children: BTreeMap<OrderId, Vec<OrderId>>,
    pub(super) portfolio: Portfolio,
    pub(super) trading_state: TradingState,
    /// Latest close per symbol (market orders are valued at it by the risk check).
    pub(super) last_price: SymbolMap<(Fixed, Timestamp)>,
    pub(super) equity_peak: Fixed,
    /// (UTC day number, equity at its first bar) for the daily-loss limit.
    pub(super) day_start: Option<(i64, Fixed)>,
    /// The nanosecond range of `day_start`'s day (empty before the first mark, so the
    /// first mark sets both).
    day_bounds: std::ops::Range<i64>,
    /// Highest journal sequence of market data any execution event names as its cause.
    pub(super) last_cause_sequence: u64,
    pub(super) funded: bool,
    /// The limit of a blocking risk breach not yet answered by a move of the kill
    /// switch: see [`ExecutionCore::answer_breach`].
    pub(super) pending_breach: Option<String>,
    next_number: u64,
    /// Orders in `orders` that are final, oldest first (dropped from the front).
    finished: VecDeque<OrderId>,
    /// The portfolio's equity as [`ExecutionCore::mark`] last computed it; cleared by
    /// every applied event (the only other change to the portfolio). Saves a backtest
    /// computing equity twice a bar (marks, then the equity curve).
    marked_equity: Option<Fixed>,
    /// The orders a bar may match, reused from bar to bar (`matching.rs`); empty between
    /// calls.
    pub(super) eligible_scratch: Vec<OrderId>,
    /// The pre-trade check's positions and order symbol, rewritten for each order
    /// (`decide.rs`): buffers, not state.
    pub(super) risk_positions: Vec<crate::risk::exposure::Position>,
    pub(super) risk_symbol: String,
    /// A submission's plan list and its events' list, empty, kept for the next one: the
    /// plan's always comes back; the events' when the caller hands it back
    /// ([`ExecutionCore::recycle_events`], the backtest does). Buffers, not state.
    pub(super) plan_spare: Vec<super::request::PlannedOrder>,
    pub(super) events_spare: Vec<Event>,
    /// Fills applied so far: a position changes only with one, so a caller that saw this
    /// count can keep the positions it read ([`ExecutionCore::fills_applied`]).
    fills_applied: u64,
}

/// Room of an events list [`ExecutionCore::recycle_events`] keeps (a submission makes
/// two events per order; a larger list, from a flatten, is let go).
pub const EVENTS_SPARE_CAPACITY_MAX: usize = 16;

/// Limits whose breach stops new entries (the kill switch goes to `reducing`).
pub const BLOCKING_LIMITS: &[&str] = &["max_daily_loss", "max_drawdown"];

impl ExecutionCore {
    pub fn new(config: ExecutionConfig) -> Self {
        let currency = config.instruments.quote().to_string();
        ExecutionCore {
            config,
            orders: OrderMap::new(),
            by_client: BTreeMap::new(),
            open_by_symbol: SymbolMap::new(),
            open_total: 0,
            children: BTreeMap::new(),
            portfolio: Portfolio::new(&currency),
            trading_state: TradingState::Active,
            last_price: SymbolMap::new(),
            equity_peak: Fixed::ZERO,
            day_start: None,
            day_bounds: 0..0,
            last_cause_sequence: 0,
            funded: false,
            pending_breach: None,
            next_number: 0,
            finished: VecDeque::new(),
            marked_equity: None,
            eligible_scratch: Vec::new(),
            risk_positions: Vec::new(),
            risk_symbol: String::new(),
            plan_spare: Vec::new(),
            events_spare: Vec::new(),
            fills_applied: 0,
        }
    }

    /// How many fills this core has applied (never decreases): positions read while it
    /// stays the same are still current (the backtest reads a leg's once a fill, not once
    /// a bar).
    pub fn fills_applied(&self) -> u64 {
        self.fills_applied
    }

    /// Takes back the events list of a [`Submitted`](super::Submitted) whose events the
    /// caller is done with, for the next submission's (no list allocated per order).
    pub fn recycle_events(&mut self, mut events: Vec<Event>) {
        events.clear();
        if events.capacity() <= EVENTS_SPARE_CAPACITY_MAX {
            self.events_spare = events;
        }
    }

    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(&id)
    }

    pub fn open_orders(&self) -> usize {
        debug_assert_eq!(self.open_total, self.open_by_symbol.values().map(|s| s.len()).sum::<usize>(), "the open-order count");
        self.open_total
    }

    /// The order a client order id names, while the core holds it.
    pub fn order_by_client(&self, client_order_id: &str) -> Option<&Order> {
        self.by_client.get(client_order_id).and_then(|id| self.orders.get(id))
    }

    /// Every order the core holds (open ones and the finished tail), by id.
    pub fn orders(&self) -> impl Iterator<Item = &Order> + '_ {
        self.orders.values()
    }

    /// Ids of `symbol`'s orders not yet final, in submission order.
    pub fn open_ids_of<'a, K: SymbolKey + ?Sized>(&'a self, symbol: &K) -> impl Iterator<Item = OrderId> + 'a {
        self.open_by_symbol.get(symbol).into_iter().flat_map(|s| s.iter().map(|(_, id)| *id))
    }

    pub fn config(&self) -> &ExecutionConfig {
        &self.config
    }

    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    /// Signed position in `symbol` (zero when none).
    pub fn position<K: SymbolKey + ?Sized>(&self, symbol: &K) -> Fixed {
        self.portfolio.position(symbol)
    }

    pub fn trading_state(&self) -> TradingState {
        self.trading_state
    }

    /// Follows a kill switch journaled elsewhere (a live session's account mirrors the
    /// service's switch: its own journal has the change, this core does not decide it).
    pub fn follow_trading_state(&mut self, to: TradingState) {
        self.trading_state = to;
    }

    /// The latest close per symbol and its time.
    pub fn last_prices(&self) -> impl Iterator<Item = (&str, Fixed, Timestamp)> + '_ {
        self.last_price.iter().map(|(s, (p, t))| (s, *p, *t))
    }

    /// True once starting cash (or any cash adjustment) was applied.
    pub fn is_funded(&self) -> bool {
        self.funded
    }

    /// Applies one journaled event. Refuses (changing nothing) an event that does not
    /// fit the state: an unknown order, an illegal transition, an over-fill.
    pub fn apply(&mut self, event: &Event, at: Timestamp) -> Result<(), ApplyError> {
        self.marked_equity = None;
        match event {
            Event::OrderSubmitted(e) => {
                if self.orders.contains_key(&e.order_id) || self.by_client.contains_key(&e.spec.client_order_id) {
                    return Err(ApplyError::SubmittedTwice { order_id: e.order_id, client_order_id: e.spec.client_order_id.to_string() });
                }
                let mut order = Order::new(
                    e.order_id,
                    e.spec.clone(),
                    e.requested_quantity,
                    e.risk_note.clone(),
                    e.link.clone(),
                    e.status,
                    e.submitted_at,
                );
                if e.status == OrderStatus::Held {
                    order.matched_until = Timestamp(i64::MAX);
                }
                self.drop_finished();
                if let Some(parent) = e.link.as_ref().and_then(|l| l.parent) {
                    self.children.entry(parent).or_default().push(e.order_id);
                }
                let n = self.next_number;
                self.next_number += 1;
                order.number = n;
                self.by_client.insert(e.spec.client_order_id.clone(), e.order_id);
                // The symbol's set exists after its first order: no key allocation then.
                self.open_by_symbol.get_or_insert_with(&e.spec.symbol, BTreeSet::new).insert((n, e.order_id));
                self.open_total += 1; // `n` is new: the set grew
                self.orders.insert(e.order_id, order);
                Ok(())
            }
            Event::OrderAccepted(e) => self.with_order(e.order_id, at, Step::Accept, |o| o.venue_order_id = Some(e.venue_order_id.clone())),
            Event::OrderRejected(e) => {
                self.with_order(e.order_id, at, Step::Reject, |o| o.reason = Some(format!("{}: {}", e.source.as_str(), e.reason)))
            }
            Event::OrderTriggered(e) => {
                self.note_cause(e.cause_sequence);
                self.with_order(e.order_id, at, Step::Trigger, |o| {
                    o.trigger_price = Some(e.trigger_price);
                    o.matched_until = o.matched_until.max(e.matched_through);
                })
            }
            Event::OrderCancelRequested(e) => self.with_order(e.order_id, at, Step::CancelRequest, |_| ()),
            Event::OrderCanceled(e) => {
                self.note_cause(e.cause_sequence);
                self.with_order(e.order_id, at, Step::Cancel, |o| o.reason = Some(e.reason.clone()))
            }
            Event::OrderExpired(e) => {
                self.note_cause(e.cause_sequence);
                self.with_order(e.order_id, at, Step::Expire, |o| o.reason = Some(e.reason.clone()))
            }
            Event::OrderReleased(e) => {
                let o = self.orders.get(&e.order_id).ok_or(ApplyError::UnknownOrder(e.order_id))?;
                if e.quantity > o.spec.quantity {
                    return Err(ApplyError::ReleaseExceeds { released: e.quantity, quantity: o.spec.quantity });
                }
                self.with_order(e.order_id, at, Step::Release, |o| {
                    o.quantity = e.quantity;
                    o.matched_until = e.released_at;
                })
            }
            Event::OrderFilled(e) => self.apply_fill(e, at),
            Event::TradingStateChanged(e) => {
                if e.from != self.trading_state {
                    return Err(ApplyError::TradingStateMismatch { from: e.from, current: self.trading_state });
                }
                self.trading_state = e.to;
                self.pending_breach = None; // the switch moved after the breach: answered
                Ok(())
            }
            Event::CashAdjusted(e) => {
                if e.asset != self.portfolio.currency {
                    return Err(ApplyError::CashCurrency { asset: e.asset.clone(), currency: self.portfolio.currency.clone() });
                }
                self.portfolio.adjust_cash(e.amount)?;
                self.funded = true;
                self.equity_peak = self.equity_peak.max(self.portfolio.equity());
                Ok(())
            }
            Event::RiskLimitBreached(e) => {
                if BLOCKING_LIMITS.contains(&e.limit.as_str()) {
                    self.pending_breach = Some(e.limit.clone());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A blocking breach (daily loss, drawdown) moves an active kill switch to
    /// `reducing`: no new entries until an administrator sets it `active` again. Returns
    /// the event to journal, if the switch moves.
    pub fn answer_breach(&mut self, now: Timestamp) -> Result<Option<Event>, ExecutionError> {
        let Some(limit) = self.pending_breach.take() else { return Ok(None) };
        if self.trading_state != TradingState::Active {
            return Ok(None);
        }
        self.set_trading_state(TradingState::Reducing, &format!("risk limit {limit} breached: new entries blocked"), now)
    }

    fn note_cause(&mut self, cause: u64) {
        self.last_cause_sequence = self.last_cause_sequence.max(cause);
    }

    fn apply_fill(&mut self, e: &tradpal_messages::OrderFilled, at: Timestamp) -> Result<(), ApplyError> {
        let order = self.orders.get(&e.order_id).ok_or(ApplyError::FillOfUnknownOrder(e.order_id))?;
        if order.spec.symbol != e.symbol || order.spec.side != e.side {
            return Err(ApplyError::FillMismatch {
                order_id: e.order_id,
                side: e.side,
                symbol: e.symbol.to_string(),
                order_side: order.spec.side,
                order_symbol: order.spec.symbol.to_string(),
            });
        }
        // All or nothing without copies: the portfolio's new numbers are computed first
        // (refused on overflow), the order's fill refuses before it changes anything, and
        // only then is the portfolio written.
        let next = self.portfolio.fill_outcome(&e.symbol, e.side, e.quantity, e.price, e.fee)?;
        let order = self.orders.get_mut(&e.order_id).expect("looked up above");
        order.fill(e.fill_seq, e.quantity, e.price, e.fee, at)?;
        order.matched_until = order.matched_until.max(e.matched_through);
        let terminal = order.status.is_terminal();
        self.portfolio.commit_fill(&e.symbol, next);
        self.fills_applied += 1;
        if terminal {
            self.finish(e.order_id);
        }
        if let Some((price, t)) = self.last_price.get(&e.symbol) {
            self.portfolio.mark(&e.symbol, *price, *t);
        }
        self.note_cause(e.cause_sequence);
        Ok(())
    }

    /// Moves the order by `step`, then lets `f` set the event's payload on it, in place;
    /// unknown orders and illegal steps are refused before anything changes (`Order::step`
    /// changes nothing when it refuses; `f` cannot fail: an event's own checks come before
    /// this call).
    fn with_order(&mut self, id: OrderId, at: Timestamp, step: Step, f: impl FnOnce(&mut Order)) -> Result<(), ApplyError> {
        let order = self.orders.get_mut(&id).ok_or(ApplyError::UnknownOrder(id))?;
        order.step(step, at)?;
        f(order);
        if order.status.is_terminal() {
            self.finish(id);
        }
        Ok(())
    }

    /// An order reached a final status: out of the open-order index, into the finished
    /// tail (see the module doc).
    fn finish(&mut self, id: OrderId) {
        let Some(order) = self.orders.get(&id) else { return };
        let key = (order.number, id);
        if let Some(set) = self.open_by_symbol.get_mut(&order.spec.symbol) {
            if set.remove(&key) {
                self.open_total -= 1;
            }
        }
        self.finished.push_back(id);
    }

    /// Drops the oldest finished orders beyond [`ExecutionConfig::finished_orders_kept`]
    /// (see the module doc), with their client id, number and children's list.
    fn drop_finished(&mut self) {
        while self.finished.len() > self.config.finished_orders_kept {
            let Some(id) = self.finished.pop_front() else { break };
            let Some(order) = self.orders.get(&id) else { continue };
            // One search: the id is taken out, and put back in the rare case that the
            // client id names a later order.
            if let Some(later) = self.by_client.remove(&order.spec.client_order_id).filter(|&other| other != id) {
                self.by_client.insert(order.spec.client_order_id.clone(), later);
            }
            self.orders.discard(&id);
            if !self.children.is_empty() {
                self.children.remove(&id);
            }
        }
    }

    /// Ids of the orders not yet final (held ones included), by symbol, then in
    /// submission order.
    pub fn open_ids(&self) -> impl Iterator<Item = OrderId> + '_ {
        self.open_by_symbol.values().flat_map(|s| s.iter().map(|(_, id)| *id))
    }

    /// Marks the portfolio at a bar's close and updates the equity peak and the day's
    /// starting equity (inputs of the risk check).
    pub fn mark<K: SymbolKey + ?Sized>(&mut self, symbol: &K, close: Fixed, at: Timestamp) {
        // A known symbol's slot is written over: no key allocation per bar, and no text
        // compared when the caller holds the symbol shared (`symbol_map.rs`).
        self.last_price.insert(symbol, (close, at));
        let equity = self.portfolio.mark_equity(symbol, close, at);
        self.marked_equity = Some(equity);
        self.equity_peak = self.equity_peak.max(equity);
        // A new UTC day starts the daily-loss limit's reference; the day's bounds are
        // kept so that a bar of the same day (all but one a day) divides nothing.
        if !self.day_bounds.contains(&at.0) {
            let day = at.0.div_euclid(NANOS_PER_DAY);
            self.day_bounds = day.saturating_mul(NANOS_PER_DAY)..day.saturating_add(1).saturating_mul(NANOS_PER_DAY);
            if self.day_start.is_none_or(|(d, _)| d != day) {
                self.day_start = Some((day, equity));
            }
        }
    }

    /// Cash plus every position at its mark: [`Portfolio::equity`], without recomputing
    /// it when nothing changed since the last mark.
    pub fn equity(&self) -> Fixed {
        self.marked_equity.unwrap_or_else(|| self.portfolio.equity())
    }

    /// The close of a candle on the fixed grid.
    pub fn close_of(c: &tradpal_messages::Candle) -> Option<Fixed> {
        Fixed::from_f64_rounded(c.close, Rounding::Nearest).ok().filter(|p| p.is_positive())
    }
}
