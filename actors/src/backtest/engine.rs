//! The backtest engine: a strategy over stored bars through the paper exchange.
//!
//! No fill logic lives here: the engine drives the same [`ExecutionCore`] a paper
//! session runs (fills, fees, slippage, risk check, portfolio), under a simulated clock
//! made of bar times, with ids from `IdGenerator::from_seed(config.seed)`.
//!
//! # Per bar `i` (closing at `close_i = open_i + timeframe`), in this order
//!
//! 1. `core.on_bars(symbol, timeframe, [bar_i], cause = i + 1)`: orders submitted at an
//!    earlier close fill here, a market order at this bar's open plus slippage (the
//!    paper exchange's rules, `execution/fill.rs`); then the core marks the portfolio at
//!    this bar's close. The emitted events go to the hash and fills to the trade ledger.
//! 2. Equity (cash plus the position at the close) is recorded for `close_i`; a bar
//!    ending with a non-zero position counts as exposed. Equity <= 0 stops the run
//!    (bust: returns after it are undefined).
//! 3. `strategy.on_bar(ctx)`, with `ctx` holding `bars[..=i]` only, the position and
//!    the equity: the strategy cannot see a later bar.
//! 4. A [`Signal::Target`] that differs from the previous target: an order still
//!    working (partly filled) is canceled, the target is sized at the close
//!    (`sizing.rs`), and the difference to the position is submitted as a market order
//!    stamped `close_i`, so it fills at bar `i + 1`'s open (never on bar `i`).
//!
//! Finished orders without contingency links are dropped from the core as they end
//! (unless `keep_orders`): see [`forget_finished`].
//!
//! Funding: one `CashAdjusted` event of `starting_cash` at the first bar's open. After
//! the last bar: the open trade (if any) is valued at the last close, and the metrics
//! are computed with the closes as the buy-and-hold benchmark.

use super::config::BacktestConfig;
use super::error::BacktestError;
use super::events::EventLog;
use super::ledger::{Ledger, LedgerFill};
use super::metrics::{compute, EquityPoint, MetricsInput};
use super::result::{BacktestResult, RunCounts};
use super::sizing::{order_for, target_units, Sizing};
use super::strategy::{BarContext, Signal, Strategy, FRACTION_MAX};
use crate::execution::instrument::Instrument;
use crate::execution::{ExecutionCore, ExecutionError, OrderRequest};
use tradpal_messages::{CashAdjusted, Candle, Event, Fixed, IdGenerator, OrderId, Side, Timeframe, Timestamp};

/// Runs `strategy` over `bars` (oldest first, one `timeframe` apart or more) of
/// `symbol`. Deterministic: the same inputs give the same result and event hash.
pub fn run(config: &BacktestConfig, bars: &[Candle], timeframe: Timeframe, symbol: &str, strategy: &mut dyn Strategy) -> Result<BacktestResult, BacktestError> {
    run_observed(config, bars, timeframe, symbol, strategy, &mut |_| {})
}

/// Bars between two calls of a [`run_observed`] progress callback.
pub const PROGRESS_EVERY_BARS: usize = 1_000;

/// [`run`], calling `progress(bars_done)` every [`PROGRESS_EVERY_BARS`] bars and once at
/// the end (a cheap hook for a caller that reports progress; it cannot change the run).
pub fn run_observed(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    strategy: &mut dyn Strategy,
    progress: &mut dyn FnMut(usize),
) -> Result<BacktestResult, BacktestError> {
    config.validate().map_err(BacktestError::Config)?;
    check_bars(bars, timeframe)?;
    let inst = config.instruments.get(symbol).map_err(BacktestError::Symbol)?;
    let mut sim = Sim::start(config, inst, timeframe, strategy.name(), bars)?;
    for i in 0..bars.len() {
        sim.step(bars, i, strategy)?;
        if (i + 1) % PROGRESS_EVERY_BARS == 0 {
            progress(i + 1);
        }
    }
    progress(bars.len());
    sim.finish(config, bars, strategy.name())
}

/// Bars the engine can run: at least one, finite positive prices, finite volume >= 0,
/// each opening at least one timeframe after the previous (no overlap: an order stamped
/// at a close must meet the next bar).
fn check_bars(bars: &[Candle], timeframe: Timeframe) -> Result<(), BacktestError> {
    if bars.is_empty() {
        return Err(BacktestError::NoBars);
    }
    let bad = |index: usize, why: String| BacktestError::BadBar { index, time: bars[index].open_time, why };
    for (i, b) in bars.iter().enumerate() {
        let prices = [b.open, b.high, b.low, b.close];
        if prices.iter().any(|p| !(p.is_finite() && *p > 0.0)) || !(b.volume.is_finite() && b.volume >= 0.0) {
            return Err(bad(i, format!("prices must be finite and > 0, volume finite and >= 0: {b:?}")));
        }
        if i > 0 && b.open_time.0 < bars[i - 1].open_time.0.saturating_add(timeframe.nanos()) {
            return Err(bad(i, format!("opens less than one {timeframe} bar after bars[{}] ({})", i - 1, bars[i - 1].open_time)));
        }
    }
    Ok(())
}

/// The run's state between bars.
struct Sim {
    core: ExecutionCore,
    ids: IdGenerator,
    log: EventLog,
    ledger: Ledger,
    equity: Vec<EquityPoint>,
    exposure_bars: usize,
    counts: RunCounts,
    last_target: Option<f64>,
    inst: Instrument,
    timeframe: Timeframe,
    whole_units: bool,
    keep_orders: bool,
}

impl Sim {
    fn start(config: &BacktestConfig, inst: Instrument, timeframe: Timeframe, source: &str, bars: &[Candle]) -> Result<Sim, BacktestError> {
        let mut core = ExecutionCore::new(config.execution_config());
        let mut log = EventLog::new(config.keep_events);
        let asset = config.instruments.quote().to_string();
        let fund = Event::CashAdjusted(CashAdjusted { asset, amount: config.starting_cash, reason: "backtest starting cash".into() });
        core.apply(&fund, bars[0].open_time).map_err(|e| BacktestError::Execution { index: 0, source: ExecutionError::Internal(e) })?;
        log.record(&fund);
        Ok(Sim {
            core,
            ids: IdGenerator::from_seed(config.seed),
            log,
            ledger: Ledger::new(&inst.symbol, source),
            equity: Vec::with_capacity(bars.len()),
            exposure_bars: 0,
            counts: RunCounts { bars: bars.len(), ..RunCounts::default() },
            last_target: None,
            inst,
            timeframe,
            whole_units: config.whole_units,
            keep_orders: config.keep_orders,
        })
    }

    /// One bar, in the order the module doc gives.
    fn step(&mut self, bars: &[Candle], i: usize, strategy: &mut dyn Strategy) -> Result<(), BacktestError> {
        let bar = &bars[i];
        let close_time = Timestamp(bar.open_time.0.saturating_add(self.timeframe.nanos()));
        let exec = |source| BacktestError::Execution { index: i, source };
        let events = self.core.on_bars(&self.inst.symbol, self.timeframe, std::slice::from_ref(bar), i as u64 + 1).map_err(exec)?;
        self.absorb(&events, i);
        let equity = self.core.portfolio.equity();
        let equity_f = equity.to_f64();
        if equity_f <= 0.0 {
            return Err(BacktestError::Bust { index: i, time: close_time, equity: equity_f });
        }
        self.equity.push(EquityPoint { time: close_time, equity: equity_f });
        let position = self.core.portfolio.position(&self.inst.symbol);
        if !position.is_zero() {
            self.exposure_bars += 1;
        }
        let ctx = BarContext::at(bars, i, self.timeframe, position, equity, self.core.portfolio.cash);
        let Signal::Target(fraction) = strategy.on_bar(&ctx) else { return Ok(()) };
        if !(fraction.is_finite() && fraction.abs() <= FRACTION_MAX) {
            return Err(BacktestError::BadSignal { strategy: strategy.name().to_string(), index: i, value: fraction, max: FRACTION_MAX });
        }
        if self.last_target == Some(fraction) {
            return Ok(());
        }
        self.last_target = Some(fraction);
        self.counts.target_changes += 1;
        let price = ExecutionCore::close_of(bar).unwrap_or(Fixed::ZERO);
        self.retarget(fraction, equity, price, close_time, i)
    }

    /// Hashes events, feeds fills to the ledger, drops orders that ended.
    fn absorb(&mut self, events: &[Event], i: usize) {
        for e in events {
            self.log.record(e);
            let ended = match e {
                Event::OrderFilled(f) => {
                    self.counts.fills += 1;
                    let fill = LedgerFill { side: f.side, quantity: f.quantity, price: f.price, fee: f.fee, time: f.market_time, bar: i };
                    self.ledger.fill(fill);
                    Some(f.order_id)
                }
                Event::OrderCanceled(c) => Some(c.order_id),
                Event::OrderRejected(r) => Some(r.order_id),
                Event::OrderExpired(x) => Some(x.order_id),
                _ => None,
            };
            if let (Some(id), false) = (ended, self.keep_orders) {
                forget_finished(&mut self.core, id);
            }
        }
    }

    /// Cancels what is still working, sizes the target at `price` and sends the order.
    fn retarget(&mut self, fraction: f64, equity: Fixed, price: Fixed, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        self.cancel_working(at, i)?;
        let target = target_units(fraction, equity, price, &self.inst, self.whole_units);
        let position = self.core.portfolio.position(&self.inst.symbol);
        match order_for(target, position, price, &self.inst) {
            Sizing::AtTarget => Ok(()),
            Sizing::BelowMinimum { .. } => {
                self.counts.orders_skipped += 1;
                Ok(())
            }
            Sizing::Order { side, quantity } => self.send(side, quantity, at, i),
        }
    }

    fn cancel_working(&mut self, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        let Some(open) = self.core.open_by_symbol.get(&self.inst.symbol).filter(|s| !s.is_empty()) else { return Ok(()) };
        let ids: Vec<OrderId> = open.iter().map(|(_, id)| *id).collect();
        for id in ids {
            let events = self.core.cancel(id, "backtest: the target changed", at).map_err(|source| BacktestError::Execution { index: i, source })?;
            self.counts.orders_canceled += 1;
            self.absorb(&events, i);
        }
        Ok(())
    }

    fn send(&mut self, side: Side, quantity: Fixed, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        let req = market_order(&self.inst.symbol, side, quantity);
        let submitted = self.core.submit(&req, at, &mut self.ids).map_err(|source| BacktestError::Execution { index: i, source })?;
        self.counts.orders_submitted += 1;
        for e in &submitted.events {
            match e {
                Event::OrderRejected(_) => self.counts.orders_rejected += 1,
                Event::OrderSubmitted(s) if !s.risk_note.is_empty() => self.counts.orders_resized += 1,
                _ => {}
            }
        }
        self.absorb(&submitted.events, i);
        Ok(())
    }

    fn finish(self, config: &BacktestConfig, bars: &[Candle], strategy: &str) -> Result<BacktestResult, BacktestError> {
        let last = &bars[bars.len() - 1];
        let end = Timestamp(last.open_time.0.saturating_add(self.timeframe.nanos()));
        let mark = ExecutionCore::close_of(last).unwrap_or(Fixed::ZERO);
        let open_trade = self.ledger.open_trade(end, bars.len(), mark);
        let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
        let input = MetricsInput {
            equity: &self.equity,
            trades: &self.ledger.closed,
            benchmark: Some(&closes),
            bar_interval_ns: self.timeframe.nanos(),
            risk_free_rate: config.risk_free_rate,
            exposure_bars: self.exposure_bars,
        };
        let metrics = compute(&input)?;
        let p = &self.core.portfolio;
        let (hash, event_count, events) = self.log.finish();
        Ok(BacktestResult {
            strategy: strategy.to_string(),
            symbol: self.inst.symbol.clone(),
            timeframe: self.timeframe,
            metrics,
            counts: self.counts,
            starting_cash: config.starting_cash,
            final_equity: p.equity(),
            final_cash: p.cash,
            final_position: p.position(&self.inst.symbol),
            fees_paid: p.fees(),
            realized_pnl: p.realized_pnl(),
            trades: self.ledger.closed,
            open_trade,
            event_count,
            event_stream_hash: hash,
            equity: self.equity,
            events,
        })
    }
}

/// Drops order `id` from the core if it is terminal and has no contingency links (no
/// parent, sibling or children that could still name it): its entries in `orders`,
/// `order_number` and `by_client`. It is already out of `open_by_symbol` (every
/// terminal step removes it), so matching, cancels and listings of working orders never
/// look for it again. What is lost is what a backtest does not use: the idempotency
/// memory of its (generated, unique) client id and its row in order listings.
fn forget_finished(core: &mut ExecutionCore, id: OrderId) {
    let Some(order) = core.orders.get(&id) else { return };
    if !order.status.is_terminal() || order.link.is_some() || core.children.contains_key(&id) {
        return;
    }
    if let Some(order) = core.orders.remove(&id) {
        core.by_client.remove(&order.spec.client_order_id);
        core.order_number.remove(&id);
    }
}

/// A plain GTC market order (client order id generated from the seeded ids).
fn market_order(symbol: &str, side: Side, quantity: Fixed) -> OrderRequest {
    OrderRequest::market(symbol, side, quantity)
}
