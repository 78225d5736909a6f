//! One account stepped bar by bar: the part of the engine a backtest and a live session
//! share. A backtest ([`super::engine`]) walks stored bars through it; a live session
//! (`crate::session::runner`) feeds it each complete bar as it arrives. Same code, so the
//! same bars give the same fills, fees and trades in both (tested: `tests/session_parity.rs`).
//!
//! Per bar of leg `k` (see the engine's module doc for the order within a group):
//! [`Account::play`] runs the bar through the execution core (fills of earlier
//! decisions, marks); [`Account::mark_equity`] records equity at the close;
//! [`Account::decide`] asks the strategy runtime for a new target at the close and, if it
//! changed, sizes it and submits the order that fills at the next bar's open.

use super::config::BacktestConfig;
use super::error::BacktestError;
use super::events::EventLog;
use super::ledger::{Ledger, LedgerFill};
use super::ledger_worker::LedgerWorker;
use super::metrics::{compute_recorded, EquityPoint, MetricsInput, TradeRecord, NANOS_PER_YEAR};
use super::result::{BacktestResult, RunCounts, SymbolResult};
use super::sizing::{fixed_units, order_for, target_units, Sizing};
use crate::execution::decide::prefixed_client_id;
use crate::execution::instrument::Instrument;
use crate::execution::{ExecutionCore, OrderRequest};
use crate::strategy::{BarContext, Strategy, StrategyRuntime};
use tradpal_messages::{Candle, CashAdjusted, Event, Fixed, IdGenerator, OrderId, SessionId, SharedStr, Side, Timeframe, Timestamp};

/// One symbol's trading state in an account.
pub struct LegState {
    pub inst: Instrument,
    /// The instrument's symbol, shared by its orders and fills (one allocation for the
    /// run, not one per order); the core finds the leg's price and position by
    /// this very string, without comparing text (`execution/symbol_map.rs`).
    pub symbol: SharedStr,
    pub ledger: Ledger,
    /// The strategy's last target (acted on once) and the checks on each new one.
    pub runtime: StrategyRuntime,
    /// The leg's position as read when the core had applied `position_at` fills (read
    /// again only after a fill: a bar without one looks nothing up for its context).
    position: Fixed,
    position_at: Option<u64>,
}

impl LegState {
    /// The leg's position in `core` (cached between fills).
    fn position(&mut self, core: &ExecutionCore) -> Fixed {
        let fills = core.fills_applied();
        if self.position_at != Some(fills) {
            (self.position, self.position_at) = (core.position(&self.symbol), Some(fills));
        }
        debug_assert_eq!(self.position, core.position(&self.symbol), "a position changes only with a fill");
        self.position
    }
}

/// The account: the execution core, the id generator, the event stream, the legs.
pub struct Account {
    pub core: ExecutionCore,
    pub ids: IdGenerator,
    pub log: EventLog,
    /// In symbol-name order.
    pub legs: Vec<LegState>,
    pub equity: Vec<EquityPoint>,
    pub exposure_bars: usize,
    pub counts: RunCounts,
    pub timeframe: Timeframe,
    pub sleeves: f64,
    pub periods_per_year: f64,
    pub config: BacktestConfig,
    /// Stamped on every order (live sessions); `None` in a backtest.
    pub session_id: Option<SessionId>,
    /// The reason of the cancel of an order still working when the target changes.
    pub retarget_reason: &'static str,
    /// Client order ids are this prefix and a nonce from `ids` (live sessions: tells their
    /// orders from the paper account's); `None`: the core generates them.
    pub client_prefix: Option<&'static str>,
    /// The events of the bar being played, reused from bar to bar.
    scratch: Vec<Event>,
    /// The order request [`Account::send`] fills in, reused from order to order.
    request: Option<OrderRequest>,
    /// The legs' ledgers while a thread folds them ([`Account::ledgers_on_a_thread`]);
    /// `None`: each leg folds its own as fills come.
    ledger_worker: Option<LedgerWorker>,
}

impl Account {
    /// An account for `symbols` (already in name order), funded with the config's
    /// starting cash at `funded_at`.
    pub fn open(
        config: &BacktestConfig,
        symbols: &[&str],
        timeframe: Timeframe,
        source: &str,
        funded_at: Timestamp,
    ) -> Result<Account, BacktestError> {
        let config = &config.for_symbols(symbols).map_err(|e| BacktestError::Symbol(e.to_string()))?;
        let mut legs = Vec::with_capacity(symbols.len());
        for s in symbols {
            let inst = config.instruments.get(s).map_err(|e| BacktestError::Symbol(e.to_string()))?.into_owned();
            let symbol = SharedStr::from(inst.symbol.as_str());
            // The ledger's own copy of the symbol: a ledger folded on another thread then
            // never touches the run's shared string (`ledger_worker.rs`).
            let ledger = Ledger::new(inst.symbol.as_str(), source);
            legs.push(LegState { ledger, symbol, inst, runtime: StrategyRuntime::default(), position: Fixed::ZERO, position_at: None });
        }
        let mut core = ExecutionCore::new(config.execution_config());
        let mut log = EventLog::new(config.keep_events);
        if !config.helper_threads {
            log = log.hash_here();
        }
        let asset = config.instruments.quote().to_string();
        let fund = Event::CashAdjusted(CashAdjusted { asset, amount: config.starting_cash, reason: "backtest starting cash".into() });
        core.apply(&fund, funded_at).map_err(|e| BacktestError::Execution { index: 0, source: e.into() })?;
        log.record(&fund);
        Ok(Account {
            core,
            ids: IdGenerator::from_seed(config.seed),
            log,
            sleeves: legs.len() as f64,
            legs,
            equity: Vec::new(),
            exposure_bars: 0,
            counts: RunCounts::default(),
            timeframe,
            periods_per_year: NANOS_PER_YEAR as f64 / timeframe.nanos() as f64,
            config: config.clone(),
            session_id: None,
            retarget_reason: "backtest: the target changed",
            client_prefix: None,
            scratch: Vec::new(),
            request: None,
            ledger_worker: None,
        })
    }

    /// Folds the legs' fills into trades on a thread of their own from now on (a
    /// backtest: nothing reads the trades before [`Account::report`]). When no thread
    /// can be started, the legs keep folding their own.
    pub fn ledgers_on_a_thread(&mut self) {
        if self.ledger_worker.is_some() {
            return;
        }
        let ledgers = self.legs.iter_mut().map(|l| std::mem::take(&mut l.ledger)).collect();
        match LedgerWorker::start(ledgers) {
            Ok(worker) => self.ledger_worker = Some(worker),
            Err(ledgers) => self.legs.iter_mut().zip(ledgers).for_each(|(l, ledger)| l.ledger = ledger),
        }
    }

    /// The ledgers back from their thread, every fill folded in (nothing if they never left).
    fn ledgers_home(&mut self) {
        if let Some(worker) = self.ledger_worker.take() {
            self.legs.iter_mut().zip(worker.finish()).for_each(|(l, ledger)| l.ledger = ledger);
        }
    }

    /// Leg `k`'s bar `bar` (its `i`-th) through the core: fills of earlier decisions,
    /// then the mark at its close. `cause` names the bar in fill events (a bar counter in
    /// a backtest, the candle record's journal sequence live).
    pub fn play(&mut self, k: usize, bar: &Candle, i: usize, cause: u64) -> Result<(), BacktestError> {
        let symbol = &self.legs[k].symbol;
        let mut events = std::mem::take(&mut self.scratch);
        events.clear();
        let played = self.core.on_bar_into(symbol, self.timeframe, bar, cause, &mut events);
        if played.is_ok() {
            self.absorb(&events, k, i);
        }
        self.scratch = events;
        played.map_err(|source| BacktestError::Execution { index: i, source })
    }

    /// Records equity at `close_time` (and whether any position is open); equity <= 0 is
    /// a bust (returns after it are undefined), reported at bar `i`.
    pub fn mark_equity(&mut self, close_time: Timestamp, i: usize) -> Result<Fixed, BacktestError> {
        let equity = self.core.equity();
        let equity_f = equity.to_f64();
        if equity_f <= 0.0 {
            return Err(BacktestError::Bust { index: i, time: close_time, equity: equity_f });
        }
        self.equity.push(EquityPoint { time: close_time, equity: equity_f });
        // Only the legs' symbols ever trade on this core, so "a leg holds a position" is
        // "the portfolio has an open position": a count the portfolio keeps.
        if self.core.portfolio().has_open_position() {
            self.exposure_bars += 1;
        }
        Ok(equity)
    }

    /// Steps 3 and 4 for leg `k` at its bar `i`, the last of `window` (its bars so far,
    /// oldest first; a live session keeps a bounded window).
    pub fn decide(
        &mut self,
        k: usize,
        window: &[Candle],
        i: usize,
        equity: Fixed,
        close_time: Timestamp,
        strategy: &mut dyn Strategy,
    ) -> Result<(), BacktestError> {
        let position = self.legs[k].position(&self.core);
        let Some(ctx) = BarContext::windowed(window, i, self.timeframe, position, equity, self.core.portfolio().cash) else {
            return Ok(());
        };
        let Some(fraction) = self.legs[k].runtime.decide(strategy, &ctx)? else { return Ok(()) };
        self.counts.target_changes += 1;
        if let Some(why) = strategy.explain() {
            // The decision is on record before the order it causes (the audit chain), and
            // the trade it opens is attributed to the part that drove it.
            self.log.record(&Event::AiDecision(why.record(&self.legs[k].inst.symbol, ctx.bar().open_time, 0.0)));
            match self.ledger_worker.as_mut() {
                Some(worker) => worker.set_source(k, why.driver()),
                None => self.legs[k].ledger.set_source(why.driver()),
            }
        }
        let price = ExecutionCore::close_of(ctx.bar()).unwrap_or(Fixed::ZERO);
        self.retarget(k, fraction, equity, price, close_time, window, i)
    }

    /// Hashes events and feeds fills to leg `k`'s ledger. (Finished orders leave the
    /// core by themselves: `finished_orders_kept` is 0 unless `keep_orders`.)
    pub fn absorb(&mut self, events: &[Event], k: usize, i: usize) {
        for e in events {
            self.log.record(e);
            if let Event::OrderFilled(f) = e {
                self.counts.fills += 1;
                let fill = LedgerFill { side: f.side, quantity: f.quantity, price: f.price, fee: f.fee, time: f.market_time, bar: i };
                match self.ledger_worker.as_mut() {
                    Some(worker) => worker.fill(k, fill),
                    None => self.legs[k].ledger.fill(fill),
                }
            }
        }
    }

    /// Cancels what is still working on leg `k`, sizes the target at `price` and sends
    /// the order.
    #[allow(clippy::too_many_arguments)] // the decision's whole context; a struct would only rename it
    fn retarget(
        &mut self,
        k: usize,
        fraction: f64,
        equity: Fixed,
        price: Fixed,
        at: Timestamp,
        window: &[Candle],
        i: usize,
    ) -> Result<(), BacktestError> {
        self.cancel_working(k, at, i, self.retarget_reason)?;
        let leg = &self.legs[k];
        let target = match (&self.config.sizing, self.config.quantity) {
            (None, Some(q)) => Some(fixed_units(fraction, q, &leg.inst, self.config.whole_units)),
            (None, None) => Some(target_units(fraction / self.sleeves, equity, price, &leg.inst, self.config.whole_units)),
            (Some(risk), _) => {
                let sleeve =
                    equity.checked_div(Fixed::from_int(self.legs.len() as i64), tradpal_messages::Rounding::Down).unwrap_or(Fixed::ZERO);
                let max = self.config.limits.max_position_size;
                risk.units(fraction, sleeve, window, self.periods_per_year, max, &leg.inst, self.config.whole_units)
            }
        };
        let Some(target) = target else {
            self.counts.orders_skipped += 1;
            return Ok(());
        };
        self.order_to(k, target, price, at, i)
    }

    /// Sends the market order taking leg `k` from its position to `target` units (valued
    /// at `price` for the instrument's minimums), or counts it skipped.
    pub fn order_to(&mut self, k: usize, target: Fixed, price: Fixed, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        let position = self.core.position(&self.legs[k].symbol);
        match order_for(target, position, price, &self.legs[k].inst) {
            Sizing::AtTarget => Ok(()),
            Sizing::BelowMinimum { .. } => {
                self.counts.orders_skipped += 1;
                Ok(())
            }
            Sizing::Order { side, quantity } => self.send(k, side, quantity, at, i),
        }
    }

    /// Cancels every order still working on leg `k`.
    pub fn cancel_working(&mut self, k: usize, at: Timestamp, i: usize, reason: &str) -> Result<(), BacktestError> {
        let ids: Vec<OrderId> = self.core.open_ids_of(&self.legs[k].symbol).collect();
        for id in ids {
            let events = self.core.cancel(id, reason, at).map_err(|source| BacktestError::Execution { index: i, source })?;
            self.counts.orders_canceled += 1;
            self.absorb(&events, k, i);
        }
        Ok(())
    }

    fn send(&mut self, k: usize, side: Side, quantity: Fixed, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        // One request reused from order to order, rewritten where it lies (its symbol in
        // place; a 336-byte request is not moved out and back): a plain market order,
        // only side, quantity, session and client id set here.
        let req = self.request.get_or_insert_with(|| OrderRequest::market("", side, quantity));
        req.symbol.clone_from(&self.legs[k].symbol);
        (req.side, req.quantity, req.session_id) = (side, quantity, self.session_id);
        req.client_order_id =
            self.client_prefix.map(|prefix| prefixed_client_id(prefix, crate::execution::OrderIds::client_nonce(&mut self.ids)));
        let submitted = self.core.submit(req, at, &mut self.ids);
        let submitted = submitted.map_err(|source| BacktestError::Execution { index: i, source })?;
        self.counts.orders_submitted += 1;
        for e in &submitted.events {
            match e {
                Event::OrderRejected(_) => self.counts.orders_rejected += 1,
                Event::OrderSubmitted(s) if !s.risk_note.is_empty() => self.counts.orders_resized += 1,
                _ => {}
            }
        }
        self.absorb(&submitted.events, k, i);
        self.core.recycle_events(submitted.events);
        Ok(())
    }
}

impl Account {
    /// The report of a finished run: `lasts` is each leg's last bar and bar count (name
    /// order), `benchmark` the buy-and-hold closes (one symbol) or basket (several),
    /// moved into the result (a million bars are 8 MB: not copied).
    pub fn report(mut self, strategy: &str, lasts: &[(&Candle, usize)], benchmark: Vec<f64>) -> Result<BacktestResult, BacktestError> {
        self.ledgers_home();
        let p = self.core.portfolio();
        let single = self.legs.len() == 1;
        let symbol = self.legs.iter().map(|l| l.inst.symbol.as_str()).collect::<Vec<_>>().join(",");
        let final_position = if single { p.position(&symbol) } else { Fixed::ZERO };
        let mut per_symbol = Vec::with_capacity(self.legs.len());
        let mut trades: Vec<TradeRecord> = Vec::new();
        let mut open_trade = None;
        for (leg, (last, bars)) in self.legs.into_iter().zip(lasts) {
            let end = Timestamp(last.open_time.0.saturating_add(self.timeframe.nanos()));
            let mark = ExecutionCore::close_of(last).unwrap_or(Fixed::ZERO);
            let open = leg.ledger.open_trade(end, *bars, mark);
            let closed = leg.ledger.closed;
            if single {
                open_trade = open;
                trades = closed;
                break;
            }
            per_symbol.push(SymbolResult {
                bars: *bars,
                final_position: p.position(&leg.inst.symbol),
                last_close: mark,
                trades: closed.len(),
                trades_pnl: closed.iter().map(|t| t.pnl).sum(),
                open_trade: open,
                symbol: leg.inst.symbol,
            });
            trades.extend(closed);
        }
        if !single {
            // Oldest exit first; the stable sort keeps a symbol's own order, and ties
            // across symbols stay in name order (the legs were appended in it).
            trades.sort_by_key(|t| t.exit_time);
        }
        let input = MetricsInput {
            equity: &self.equity,
            trades: &trades,
            benchmark: Some(&benchmark),
            bar_interval_ns: self.timeframe.nanos(),
            risk_free_rate: self.config.risk_free_rate,
            calendar: self.config.calendar,
            exposure_bars: self.exposure_bars,
        };
        let metrics = compute_recorded(&input)?;
        let (hash, event_count, events) = self.log.finish();
        Ok(BacktestResult {
            strategy: strategy.to_string(),
            symbol,
            timeframe: self.timeframe,
            metrics,
            counts: self.counts,
            starting_cash: self.config.starting_cash,
            final_equity: p.equity(),
            final_cash: p.cash,
            final_position,
            fees_paid: p.fees(),
            realized_pnl: p.realized_pnl(),
            trades,
            open_trade,
            per_symbol,
            event_count,
            event_stream_hash: hash,
            notes: Vec::new(),
            benchmark,
            equity: self.equity,
            events,
        })
        .map(|mut r| {
            r.notes = super::result::notes(&r);
            r
        })
    }
}
