//! The backtest engine: a strategy over stored bars of one or many symbols through the
//! paper exchange, on one account.
//!
//! No fill logic lives here: the engine drives the same [`ExecutionCore`] a paper
//! session runs (fills, fees, slippage, risk check, portfolio), under a simulated clock
//! made of bar times, with ids from `IdGenerator::from_seed(config.seed)`.
//!
//! # Many symbols, one account
//!
//! [`run_portfolio`] takes several symbols' bars (same timeframe) and runs them on one
//! core: one cash balance, one portfolio, the pre-trade risk check seeing every
//! position. Each symbol has its own strategy instance (the same spec, its own state),
//! deciding on its own symbol's bars only. The bars are merged by open time; bars opening
//! at the same time form a *group*, taken in symbol-name order (the legs are sorted by
//! name, so the order never depends on how the caller listed them). [`run`] is the same
//! engine with one symbol: a group is then one bar, and the event stream is the one the
//! single-symbol engine always produced (its hash is pinned by a test).
//!
//! Allocation: each symbol gets an equal *sleeve* of the account, `1 / n` of equity for
//! `n` symbols, so a strategy's target `fraction` becomes `fraction / n` of total
//! equity. Why: with the default `fraction` 1 the gross exposure of all symbols together
//! stays at 100% of equity, inside the backtest's position limit, so the risk check never
//! has to resize or refuse an order merely because several symbols are long at once; and
//! each symbol's result is comparable to its own single-symbol run at `fraction / n`.
//!
//! # Per group of bars opening at `t` (closing at `close = t + timeframe`), in this order
//!
//! 1. For each symbol of the group, `core.on_bars(symbol, timeframe, [bar], cause)`
//!    (`cause` counts bars from 1 over the merged stream): that symbol's orders
//!    submitted at an earlier close fill here, a market order at this bar's open plus
//!    slippage (the paper exchange's rules, `execution/fill.rs`); then the core marks
//!    the position at this bar's close. Events go to the hash, fills to that symbol's
//!    trade ledger.
//! 2. Equity (cash plus every position at its latest close) is recorded for `close`; a
//!    group ending with any non-zero position counts as exposed. Equity <= 0 stops the
//!    run (bust: returns after it are undefined).
//! 3. For each symbol of the group: `strategy.on_bar(ctx)`, with `ctx` holding that
//!    symbol's bars up to this one only, its position and the account's equity: a
//!    strategy cannot see a later bar.
//! 4. A [`Signal::Target`] that differs from that symbol's previous target: an order
//!    still working (partly filled) on the symbol is canceled, the target is sized at the
//!    close (`sizing.rs` on the sleeve, or `risk_sizing.rs` when the config asks), and
//!    the difference to the position is submitted as a market order stamped `close`, so
//!    it fills at that symbol's next bar's open (never on the deciding bar).
//!
//! Finished orders without contingency links are dropped from the core as they end
//! (unless `keep_orders`): see [`forget_finished`].
//!
//! Funding: one `CashAdjusted` event of `starting_cash` at the first bar's open. After
//! the last bar: each open trade is valued at its symbol's last close, and the metrics
//! are computed against a buy-and-hold benchmark: the closes for one symbol, an equal
//! weight basket (`mean over symbols of close / first close`, each at its latest close)
//! for several.

use super::config::BacktestConfig;
use super::error::BacktestError;
use super::events::EventLog;
use super::ledger::{Ledger, LedgerFill};
use super::metrics::{compute, EquityPoint, MetricsInput, TradeRecord, NANOS_PER_YEAR};
use super::result::{BacktestResult, RunCounts, SymbolResult};
use super::sizing::{order_for, target_units, Sizing};
use super::strategy::{build, BarContext, Signal, Strategy, StrategySpec, FRACTION_MAX};
use crate::execution::instrument::Instrument;
use crate::execution::{ExecutionCore, ExecutionError, OrderRequest};
use tradpal_messages::{Candle, CashAdjusted, Event, Fixed, IdGenerator, OrderId, Side, Timeframe, Timestamp};

/// Most symbols one run takes (each adds a strategy, a ledger and a cursor, and a
/// per-group scan over all of them).
pub const SYMBOLS_PER_RUN_MAX: usize = 50;

/// One symbol's bars in a [`run_portfolio`] (oldest first, one timeframe apart or more).
#[derive(Debug, Clone, Copy)]
pub struct SymbolBars<'a> {
    pub symbol: &'a str,
    pub bars: &'a [Candle],
}

/// Runs `strategy` over `bars` (oldest first, one `timeframe` apart or more) of
/// `symbol`. Deterministic: the same inputs give the same result and event hash.
pub fn run(
    config: &BacktestConfig,
    bars: &[Candle],
    timeframe: Timeframe,
    symbol: &str,
    strategy: &mut dyn Strategy,
) -> Result<BacktestResult, BacktestError> {
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
    run_portfolio_observed(config, &[SymbolBars { symbol, bars }], timeframe, &mut [strategy], progress)
}

/// [`run_portfolio_observed`] with one strategy built from `spec` per symbol.
pub fn run_spec(
    config: &BacktestConfig,
    series: &[SymbolBars],
    timeframe: Timeframe,
    spec: &StrategySpec,
    progress: &mut dyn FnMut(usize),
) -> Result<BacktestResult, BacktestError> {
    check_symbol_count(series.len())?;
    let mut built: Vec<Box<dyn Strategy>> = series.iter().map(|_| build(spec)).collect::<Result<_, _>>()?;
    let mut strategies: Vec<&mut dyn Strategy> = built.iter_mut().map(|s| s.as_mut() as &mut dyn Strategy).collect();
    run_portfolio_observed(config, series, timeframe, &mut strategies, progress)
}

/// Many symbols on one account (see the module doc): `strategies[k]` decides on
/// `series[k]`. Deterministic, whatever the order of `series`.
pub fn run_portfolio(
    config: &BacktestConfig,
    series: &[SymbolBars],
    timeframe: Timeframe,
    strategies: &mut [&mut dyn Strategy],
) -> Result<BacktestResult, BacktestError> {
    run_portfolio_observed(config, series, timeframe, strategies, &mut |_| {})
}

/// [`run_portfolio`] with a progress callback (bars done over all symbols).
pub fn run_portfolio_observed(
    config: &BacktestConfig,
    series: &[SymbolBars],
    timeframe: Timeframe,
    strategies: &mut [&mut dyn Strategy],
    progress: &mut dyn FnMut(usize),
) -> Result<BacktestResult, BacktestError> {
    config.validate().map_err(BacktestError::Config)?;
    check_series(series, strategies.len())?;
    let multi = series.len() > 1;
    let in_symbol = |symbol: &str, e: BacktestError| {
        if multi {
            BacktestError::InSymbol { symbol: symbol.to_string(), source: Box::new(e) }
        } else {
            e
        }
    };
    for s in series {
        check_bars(s.bars, timeframe).map_err(|e| in_symbol(s.symbol, e))?;
    }
    let mut sim = Sim::start(config, series, timeframe, strategies[0].name())?;
    let mut done = 0usize;
    while sim.next_group() {
        sim.step(strategies).map_err(|(k, e)| in_symbol(&sim.legs[k].inst.symbol.clone(), e))?;
        let before = done;
        done += sim.group.len();
        if done / PROGRESS_EVERY_BARS != before / PROGRESS_EVERY_BARS {
            progress(done - done % PROGRESS_EVERY_BARS);
        }
    }
    progress(done);
    sim.finish(config, strategies[0].name())
}

fn check_symbol_count(n: usize) -> Result<(), BacktestError> {
    if n == 0 || n > SYMBOLS_PER_RUN_MAX {
        return Err(BacktestError::Symbol(format!("a run takes 1..={SYMBOLS_PER_RUN_MAX} symbols (SYMBOLS_PER_RUN_MAX), got {n}")));
    }
    Ok(())
}

/// 1..=[`SYMBOLS_PER_RUN_MAX`] distinct symbols, one strategy each.
fn check_series(series: &[SymbolBars], strategies: usize) -> Result<(), BacktestError> {
    check_symbol_count(series.len())?;
    if strategies != series.len() {
        return Err(BacktestError::Symbol(format!("{} symbols need as many strategies, got {strategies}", series.len())));
    }
    let mut names: Vec<&str> = series.iter().map(|s| s.symbol).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(BacktestError::Symbol(format!("{} is listed twice", w[0])));
    }
    Ok(())
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

/// One symbol's state in a run.
struct Leg<'a> {
    inst: Instrument,
    bars: &'a [Candle],
    /// The next bar to play (== bars.len() when done).
    next: usize,
    ledger: Ledger,
    last_target: Option<f64>,
    /// Its strategy's index in the caller's slice.
    strategy: usize,
}

/// An error of one leg (its index), wrapped with the symbol's name for a portfolio.
type LegError = (usize, BacktestError);

/// The run's state between groups of bars.
struct Sim<'a> {
    core: ExecutionCore,
    ids: IdGenerator,
    log: EventLog,
    legs: Vec<Leg<'a>>,
    /// Legs whose next bar opens at the current group's time, in name order.
    group: Vec<usize>,
    equity: Vec<EquityPoint>,
    /// The equal-weight basket's value per group (portfolios only), and each leg's
    /// latest close over its first.
    basket: Vec<f64>,
    relative: Vec<f64>,
    exposure_bars: usize,
    counts: RunCounts,
    /// Bars played over all symbols (the core's `cause` counter).
    played: u64,
    timeframe: Timeframe,
    sleeves: f64,
    periods_per_year: f64,
    config: &'a BacktestConfig,
}

impl<'a> Sim<'a> {
    fn start(config: &'a BacktestConfig, series: &[SymbolBars<'a>], timeframe: Timeframe, source: &str) -> Result<Sim<'a>, BacktestError> {
        let mut legs = Vec::with_capacity(series.len());
        for (k, s) in series.iter().enumerate() {
            let inst = config.instruments.get(s.symbol).map_err(BacktestError::Symbol)?;
            legs.push(Leg { ledger: Ledger::new(&inst.symbol, source), inst, bars: s.bars, next: 0, last_target: None, strategy: k });
        }
        legs.sort_by(|a, b| a.inst.symbol.cmp(&b.inst.symbol));
        let first_open = legs.iter().map(|l| l.bars[0].open_time).min().unwrap_or(Timestamp(0));
        let mut core = ExecutionCore::new(config.execution_config());
        let mut log = EventLog::new(config.keep_events);
        let asset = config.instruments.quote().to_string();
        let fund = Event::CashAdjusted(CashAdjusted { asset, amount: config.starting_cash, reason: "backtest starting cash".into() });
        core.apply(&fund, first_open).map_err(|e| BacktestError::Execution { index: 0, source: ExecutionError::Internal(e) })?;
        log.record(&fund);
        let total: usize = legs.iter().map(|l| l.bars.len()).sum();
        let longest = legs.iter().map(|l| l.bars.len()).max().unwrap_or(0);
        Ok(Sim {
            core,
            ids: IdGenerator::from_seed(config.seed),
            log,
            group: Vec::with_capacity(legs.len()),
            sleeves: legs.len() as f64,
            legs,
            equity: Vec::with_capacity(longest),
            basket: Vec::new(),
            relative: vec![1.0; series.len()],
            exposure_bars: 0,
            counts: RunCounts { bars: total, ..RunCounts::default() },
            played: 0,
            timeframe,
            periods_per_year: NANOS_PER_YEAR as f64 / timeframe.nanos() as f64,
            config,
        })
    }

    /// Collects the legs whose next bar opens earliest; false when every leg is done.
    fn next_group(&mut self) -> bool {
        self.group.clear();
        let mut earliest = i64::MAX;
        for (k, leg) in self.legs.iter().enumerate() {
            let Some(bar) = leg.bars.get(leg.next) else { continue };
            if bar.open_time.0 < earliest {
                earliest = bar.open_time.0;
                self.group.clear();
            }
            if bar.open_time.0 == earliest {
                self.group.push(k);
            }
        }
        !self.group.is_empty()
    }

    /// One group, in the order the module doc gives.
    fn step(&mut self, strategies: &mut [&mut dyn Strategy]) -> Result<(), LegError> {
        let open = self.legs[self.group[0]].bars[self.legs[self.group[0]].next].open_time;
        let close_time = Timestamp(open.0.saturating_add(self.timeframe.nanos()));
        for g in 0..self.group.len() {
            let k = self.group[g];
            self.play(k).map_err(|e| (k, e))?;
        }
        let equity = self.core.portfolio.equity();
        let equity_f = equity.to_f64();
        if equity_f <= 0.0 {
            let k = self.group[0];
            return Err((k, BacktestError::Bust { index: self.legs[k].next, time: close_time, equity: equity_f }));
        }
        self.equity.push(EquityPoint { time: close_time, equity: equity_f });
        if self.legs.len() > 1 {
            self.basket.push(self.relative.iter().sum::<f64>() / self.sleeves);
        }
        if self.legs.iter().any(|l| !self.core.portfolio.position(&l.inst.symbol).is_zero()) {
            self.exposure_bars += 1;
        }
        for g in 0..self.group.len() {
            let k = self.group[g];
            self.decide(k, equity, close_time, strategies).map_err(|e| (k, e))?;
            self.legs[k].next += 1;
        }
        Ok(())
    }

    /// Step 1 for leg `k`: its bar through the core.
    fn play(&mut self, k: usize) -> Result<(), BacktestError> {
        let leg = &self.legs[k];
        let i = leg.next;
        self.played += 1;
        let events = self
            .core
            .on_bars(&leg.inst.symbol, self.timeframe, std::slice::from_ref(&leg.bars[i]), self.played)
            .map_err(|source| BacktestError::Execution { index: i, source })?;
        self.absorb(&events, k, i);
        let leg = &self.legs[k];
        if self.legs.len() > 1 {
            self.relative[k] = leg.bars[i].close / leg.bars[0].close;
        }
        Ok(())
    }

    /// Steps 3 and 4 for leg `k` at its current bar.
    fn decide(
        &mut self,
        k: usize,
        equity: Fixed,
        close_time: Timestamp,
        strategies: &mut [&mut dyn Strategy],
    ) -> Result<(), BacktestError> {
        let leg = &self.legs[k];
        let (i, bars) = (leg.next, leg.bars);
        let position = self.core.portfolio.position(&leg.inst.symbol);
        let ctx = BarContext::at(bars, i, self.timeframe, position, equity, self.core.portfolio.cash);
        let strategy = &mut strategies[leg.strategy];
        let Signal::Target(fraction) = strategy.on_bar(&ctx) else { return Ok(()) };
        if !(fraction.is_finite() && fraction.abs() <= FRACTION_MAX) {
            return Err(BacktestError::BadSignal { strategy: strategy.name().to_string(), index: i, value: fraction, max: FRACTION_MAX });
        }
        if leg.last_target == Some(fraction) {
            return Ok(());
        }
        self.legs[k].last_target = Some(fraction);
        self.counts.target_changes += 1;
        let price = ExecutionCore::close_of(&bars[i]).unwrap_or(Fixed::ZERO);
        self.retarget(k, fraction, equity, price, close_time, i)
    }

    /// Hashes events, feeds fills to leg `k`'s ledger, drops orders that ended.
    fn absorb(&mut self, events: &[Event], k: usize, i: usize) {
        for e in events {
            self.log.record(e);
            let ended = match e {
                Event::OrderFilled(f) => {
                    self.counts.fills += 1;
                    let fill = LedgerFill { side: f.side, quantity: f.quantity, price: f.price, fee: f.fee, time: f.market_time, bar: i };
                    self.legs[k].ledger.fill(fill);
                    Some(f.order_id)
                }
                Event::OrderCanceled(c) => Some(c.order_id),
                Event::OrderRejected(r) => Some(r.order_id),
                Event::OrderExpired(x) => Some(x.order_id),
                _ => None,
            };
            if let (Some(id), false) = (ended, self.config.keep_orders) {
                forget_finished(&mut self.core, id);
            }
        }
    }

    /// Cancels what is still working on leg `k`, sizes the target at `price` and sends
    /// the order.
    fn retarget(&mut self, k: usize, fraction: f64, equity: Fixed, price: Fixed, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        self.cancel_working(k, at, i)?;
        let leg = &self.legs[k];
        let target = match &self.config.sizing {
            None => Some(target_units(fraction / self.sleeves, equity, price, &leg.inst, self.config.whole_units)),
            Some(risk) => {
                let sleeve =
                    equity.checked_div(Fixed::from_int(self.legs.len() as i64), tradpal_messages::Rounding::Down).unwrap_or(Fixed::ZERO);
                let max = self.config.limits.max_position_size;
                risk.units(fraction, sleeve, &leg.bars[..=i], self.periods_per_year, max, &leg.inst, self.config.whole_units)
            }
        };
        let Some(target) = target else {
            self.counts.orders_skipped += 1;
            return Ok(());
        };
        let position = self.core.portfolio.position(&leg.inst.symbol);
        match order_for(target, position, price, &leg.inst) {
            Sizing::AtTarget => Ok(()),
            Sizing::BelowMinimum { .. } => {
                self.counts.orders_skipped += 1;
                Ok(())
            }
            Sizing::Order { side, quantity } => self.send(k, side, quantity, at, i),
        }
    }

    fn cancel_working(&mut self, k: usize, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        let Some(open) = self.core.open_by_symbol.get(&self.legs[k].inst.symbol).filter(|s| !s.is_empty()) else { return Ok(()) };
        let ids: Vec<OrderId> = open.iter().map(|(_, id)| *id).collect();
        for id in ids {
            let events =
                self.core.cancel(id, "backtest: the target changed", at).map_err(|source| BacktestError::Execution { index: i, source })?;
            self.counts.orders_canceled += 1;
            self.absorb(&events, k, i);
        }
        Ok(())
    }

    fn send(&mut self, k: usize, side: Side, quantity: Fixed, at: Timestamp, i: usize) -> Result<(), BacktestError> {
        let req = OrderRequest::market(&self.legs[k].inst.symbol, side, quantity);
        let submitted = self.core.submit(&req, at, &mut self.ids).map_err(|source| BacktestError::Execution { index: i, source })?;
        self.counts.orders_submitted += 1;
        for e in &submitted.events {
            match e {
                Event::OrderRejected(_) => self.counts.orders_rejected += 1,
                Event::OrderSubmitted(s) if !s.risk_note.is_empty() => self.counts.orders_resized += 1,
                _ => {}
            }
        }
        self.absorb(&submitted.events, k, i);
        Ok(())
    }

    fn finish(self, config: &BacktestConfig, strategy: &str) -> Result<BacktestResult, BacktestError> {
        let p = &self.core.portfolio;
        let single = self.legs.len() == 1;
        let symbol = self.legs.iter().map(|l| l.inst.symbol.as_str()).collect::<Vec<_>>().join(",");
        let final_position = if single { p.position(&symbol) } else { Fixed::ZERO };
        let closes: Vec<f64> = if single { self.legs[0].bars.iter().map(|b| b.close).collect() } else { self.basket };
        let mut per_symbol = Vec::with_capacity(self.legs.len());
        let mut trades: Vec<TradeRecord> = Vec::new();
        let mut open_trade = None;
        for leg in self.legs {
            let last = &leg.bars[leg.bars.len() - 1];
            let end = Timestamp(last.open_time.0.saturating_add(self.timeframe.nanos()));
            let mark = ExecutionCore::close_of(last).unwrap_or(Fixed::ZERO);
            let open = leg.ledger.open_trade(end, leg.bars.len(), mark);
            let closed = leg.ledger.closed;
            if single {
                open_trade = open;
                trades = closed;
                break;
            }
            per_symbol.push(SymbolResult {
                bars: leg.bars.len(),
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
            benchmark: Some(&closes),
            bar_interval_ns: self.timeframe.nanos(),
            risk_free_rate: config.risk_free_rate,
            exposure_bars: self.exposure_bars,
        };
        let metrics = compute(&input)?;
        let (hash, event_count, events) = self.log.finish();
        Ok(BacktestResult {
            strategy: strategy.to_string(),
            symbol,
            timeframe: self.timeframe,
            metrics,
            counts: self.counts,
            starting_cash: config.starting_cash,
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
