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
//! Finished orders leave the core when the next order is submitted (unless
//! `keep_orders`): the config asks the core to keep none (`finished_orders_kept` 0).
//!
//! Funding: one `CashAdjusted` event of `starting_cash` at the first bar's open. After
//! the last bar: each open trade is valued at its symbol's last close, and the metrics
//! are computed against a buy-and-hold benchmark: the closes for one symbol, an equal
//! weight basket (`mean over symbols of close / first close`, each at its latest close)
//! for several.

use super::account::Account;
use super::config::BacktestConfig;
use super::error::BacktestError;
use super::metrics::EquityPoint;
use super::result::BacktestResult;
use super::strategy::{build_shared, SharedColumns, Strategy, StrategySpec};
use tradpal_messages::{Candle, Fixed, Timeframe, Timestamp};

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
///
/// Each symbol's strategy reads its indicator columns computed once over that symbol's
/// bars ([`SharedColumns`], a batch over all bars: several values at once instead of a
/// window summed per bar) where the strategy has them; bit-identical to computing them
/// bar by bar, so the run is the same, only faster.
pub fn run_spec(
    config: &BacktestConfig,
    series: &[SymbolBars],
    timeframe: Timeframe,
    spec: &StrategySpec,
    progress: &mut dyn FnMut(usize),
) -> Result<BacktestResult, BacktestError> {
    check_symbol_count(series.len())?;
    let longest = series.iter().map(|s| s.bars.len()).max().unwrap_or(0);
    std::thread::scope(|scope| {
        // The equity curve's memory is faulted in on another core while this one
        // computes the columns (see [`curve_on_a_thread`]).
        let curve = curve_on_a_thread(scope, longest);
        // One symbol: its closes serve the SMA columns and then the buy-and-hold
        // benchmark (gathered once: a million bars are 48 MB to read and 8 MB to write).
        let closes: Option<Vec<f64>> = (series.len() == 1).then(|| series[0].bars.iter().map(|b| b.close).collect());
        let columns = |s: &SymbolBars| match &closes {
            Some(c) => SharedColumns::for_closes(c, [spec]),
            None => SharedColumns::for_specs(s.bars, [spec]),
        };
        let built: Result<Vec<Box<dyn Strategy>>, _> = series.iter().map(|s| build_shared(spec, &columns(s))).collect();
        // Joined before anything can return: a scoped thread's panic is raised here.
        let curve = curve.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).unwrap_or_default();
        let mut built = built?;
        let mut strategies: Vec<&mut dyn Strategy> = built.iter_mut().map(|s| s.as_mut() as &mut dyn Strategy).collect();
        run_with_closes(config, series, timeframe, &mut strategies, progress, closes, curve)
    })
}

/// Bars from which [`run_spec`] readies the equity curve on a thread (256 Ki bars: a
/// 4 MiB curve, about a thousand page faults; shorter runs start no thread).
pub const CURVE_ON_A_THREAD_BARS_MIN: usize = 1 << 18;

/// An empty equity curve with room for `bars` points, every page of it already written
/// once, made on a scoped thread; `None` under [`CURVE_ON_A_THREAD_BARS_MIN`] bars or
/// when no thread can be started (the run then grows its own).
///
/// Why: the run appends one 16-byte point a bar, and the first write to each 4 KiB
/// page is a page fault, about 2 us on this VM: 4,100 faults for a million bars, 8-14 ms
/// of the peers' 230 ms engine run in its profile. Written once on another core while
/// this one computes the indicator columns, they are off the run's path. The points are
/// the same; only where the memory was first touched differs.
fn curve_on_a_thread<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    bars: usize,
) -> Option<std::thread::ScopedJoinHandle<'scope, Vec<EquityPoint>>> {
    if bars < CURVE_ON_A_THREAD_BARS_MIN {
        return None;
    }
    let ready = move || {
        let mut curve = Vec::with_capacity(bars);
        curve.resize(bars, EquityPoint { time: Timestamp(0), equity: 0.0 });
        curve.clear();
        curve
    };
    std::thread::Builder::new().name("equity-curve".into()).spawn_scoped(scope, ready).ok()
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
    run_with_closes(config, series, timeframe, strategies, progress, None, Vec::new())
}

/// [`run_portfolio_observed`], given the single symbol's closes when the caller has
/// them (`closes[i]` is bar `i`'s close: the buy-and-hold benchmark) and an empty
/// vector to record the equity curve in (its capacity used, nothing else).
fn run_with_closes(
    config: &BacktestConfig,
    series: &[SymbolBars],
    timeframe: Timeframe,
    strategies: &mut [&mut dyn Strategy],
    progress: &mut dyn FnMut(usize),
    closes: Option<Vec<f64>>,
    curve: Vec<EquityPoint>,
) -> Result<BacktestResult, BacktestError> {
    config.validate().map_err(|e| BacktestError::Config(e.to_string()))?;
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
        check_bars(s.bars).map_err(|e| in_symbol(s.symbol, e))?;
    }
    let mut sim = Sim::start(config, series, timeframe, strategies[0].name(), curve)?;
    if !multi {
        sim.run_one_leg(&mut *strategies[0], progress)?;
        return sim.finish(strategies[0].name(), closes);
    }
    let mut done = 0usize;
    while sim.next_group() {
        sim.step(strategies).map_err(|(k, e)| in_symbol(sim.symbol(k), e))?;
        let before = done;
        done += sim.group.len();
        if done / PROGRESS_EVERY_BARS != before / PROGRESS_EVERY_BARS {
            progress(done - done % PROGRESS_EVERY_BARS);
        }
    }
    progress(done);
    sim.finish(strategies[0].name(), closes)
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

/// A leg needs at least one bar; each bar is checked when the run reaches it
/// ([`check_bar`]).
fn check_bars(bars: &[Candle]) -> Result<(), BacktestError> {
    if bars.is_empty() {
        return Err(BacktestError::NoBars);
    }
    Ok(())
}

/// Bar `i` of a leg, checked just before it is played: finite positive prices, finite
/// volume >= 0, opening at least one timeframe after the previous bar (no overlap: an
/// order stamped at a close must meet the next bar).
///
/// Why not a pass over all bars before the run: a million bars are 48 MB, read cold from
/// memory; checking each bar as the run loads it anyway saved that whole pass (about a
/// tenth of the engine's time on the peers' workload). The run stops at the first bad
/// bar with the same error, having decided nothing on it; what it did before is
/// discarded like any failed run's.
#[inline]
fn check_bar(bars: &[Candle], i: usize, timeframe: Timeframe) -> Result<(), BacktestError> {
    let b = &bars[i];
    let ok = |p: f64| p.is_finite() && p > 0.0;
    let prices_ok = ok(b.open) & ok(b.high) & ok(b.low) & ok(b.close) & b.volume.is_finite() & (b.volume >= 0.0);
    let spaced = i == 0 || b.open_time.0 >= bars[i - 1].open_time.0.saturating_add(timeframe.nanos());
    if prices_ok && spaced {
        return Ok(());
    }
    let why = if !prices_ok {
        format!("prices must be finite and > 0, volume finite and >= 0: {b:?}")
    } else {
        format!("opens less than one {timeframe} bar after bars[{}] ({})", i - 1, bars[i - 1].open_time)
    };
    Err(BacktestError::BadBar { index: i, time: b.open_time, why })
}

/// Bars checked together before they are played ([`first_bad_bar`]): 1,024 bars are
/// 48 kB, still in the core's cache when they are played.
pub const CHECKED_BLOCK_BARS: usize = 1024;

/// The first bar of `range` that [`check_bar`] refuses, if any.
///
/// Why a block at a time: the checks of one bar, branch-free, over a block are a short
/// loop the CPU runs many bars at a time, where checking each bar inside the run's loop
/// cost about 6 % of the engine on the peers' workload (10 ns a bar); the block is then
/// played from the cache it was just read into.
fn first_bad_bar(bars: &[Candle], range: std::ops::Range<usize>, timeframe: Timeframe) -> Option<usize> {
    // `0 < p < inf` is false for NaN: the same test as `is_finite() && p > 0.0`, in two
    // float comparisons the CPU runs side by side.
    let price = |p: f64| (p > 0.0) & (p < f64::INFINITY);
    // Not `(0.0..INF).contains(&v)`: its `&&` compiled to a branch and cost 2 % of the run.
    #[allow(clippy::manual_range_contains)]
    let volume = |v: f64| (v >= 0.0) & (v < f64::INFINITY);
    let step = timeframe.nanos();
    // Bar 0 has no bar before it to be spaced from; every later bar is checked against
    // the one before it.
    let mut all_ok = range.start > 0 || check_bar(bars, 0, timeframe).is_ok();
    let from = range.start.max(1);
    if from < range.end {
        for pair in bars[from - 1..range.end].windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let spaced = b.open_time.0 >= a.open_time.0.saturating_add(step);
            all_ok &= price(b.open) & price(b.high) & price(b.low) & price(b.close) & volume(b.volume) & spaced;
        }
    }
    if all_ok {
        return None;
    }
    range.into_iter().find(|&i| check_bar(bars, i, timeframe).is_err())
}

/// Bars from which a run folds its trades on a thread of its own (`ledger_worker.rs`;
/// a shorter run is over before a thread would pay for its start).
pub const LEDGERS_ON_A_THREAD_BARS_MIN: usize = 1 << 16;

/// One symbol's bars in a run (parallel to the account's legs, in name order).
struct Leg<'a> {
    bars: &'a [Candle],
    /// The next bar to play (== bars.len() when done).
    next: usize,
    /// Its strategy's index in the caller's slice.
    strategy: usize,
    /// Bars before this one are checked ([`first_bad_bar`]).
    checked: usize,
}

/// An error of one leg (its index), wrapped with the symbol's name for a portfolio.
type LegError = (usize, BacktestError);

/// The run's state between groups of bars: the account and where each leg is.
struct Sim<'a> {
    account: Account,
    legs: Vec<Leg<'a>>,
    /// Legs whose next bar opens at the current group's time, in name order.
    group: Vec<usize>,
    /// The equal-weight basket's value per group (portfolios only), and each leg's
    /// latest close over its first.
    basket: Vec<f64>,
    relative: Vec<f64>,
    /// Bars played over all symbols (the core's `cause` counter).
    played: u64,
}

impl<'a> Sim<'a> {
    fn start(
        config: &BacktestConfig,
        series: &[SymbolBars<'a>],
        timeframe: Timeframe,
        source: &str,
        mut curve: Vec<EquityPoint>,
    ) -> Result<Sim<'a>, BacktestError> {
        let mut order: Vec<usize> = (0..series.len()).collect();
        order.sort_by(|a, b| series[*a].symbol.cmp(series[*b].symbol));
        let symbols: Vec<&str> = order.iter().map(|k| series[*k].symbol).collect();
        let first_open = series.iter().map(|s| s.bars[0].open_time).min().unwrap_or(Timestamp(0));
        let mut account = Account::open(config, &symbols, timeframe, source, first_open)?;
        let total: usize = series.iter().map(|s| s.bars.len()).sum();
        let longest = series.iter().map(|s| s.bars.len()).max().unwrap_or(0);
        account.counts.bars = total;
        if config.helper_threads && total >= LEDGERS_ON_A_THREAD_BARS_MIN {
            account.ledgers_on_a_thread();
        }
        curve.clear();
        curve.reserve(longest);
        account.equity = curve;
        let legs: Vec<Leg<'a>> = order.iter().map(|k| Leg { bars: series[*k].bars, next: 0, strategy: *k, checked: 0 }).collect();
        Ok(Sim { account, group: Vec::with_capacity(legs.len()), relative: vec![1.0; series.len()], legs, basket: Vec::new(), played: 0 })
    }

    fn symbol(&self, k: usize) -> &str {
        &self.account.legs[k].inst.symbol
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

    /// Every bar of a one-symbol run: [`Sim::step`] with a group of one bar each time,
    /// without the merge (the same calls in the same order, so the same events).
    fn run_one_leg(&mut self, strategy: &mut dyn Strategy, progress: &mut dyn FnMut(usize)) -> Result<(), BacktestError> {
        let bars = self.legs[0].bars.len();
        for i in 0..bars {
            self.play_bar(0, i)?;
            let close_time = self.close_time(0, i);
            let equity = self.account.mark_equity(close_time, i)?;
            self.decide_bar(0, i, equity, close_time, strategy)?;
            if (i + 1) % PROGRESS_EVERY_BARS == 0 {
                progress(i + 1);
            }
        }
        self.legs[0].next = bars;
        progress(bars);
        Ok(())
    }

    /// One group, in the order the module doc gives.
    fn step(&mut self, strategies: &mut [&mut dyn Strategy]) -> Result<(), LegError> {
        let first = self.group[0];
        let close_time = self.close_time(first, self.legs[first].next);
        for g in 0..self.group.len() {
            let k = self.group[g];
            let i = self.legs[k].next;
            self.play_bar(k, i).map_err(|e| (k, e))?;
            if self.legs.len() > 1 {
                let bars = self.legs[k].bars;
                self.relative[k] = bars[i].close / bars[0].close;
            }
        }
        let equity = self.account.mark_equity(close_time, self.legs[first].next).map_err(|e| (first, e))?;
        if self.legs.len() > 1 {
            self.basket.push(self.relative.iter().sum::<f64>() / self.account.sleeves);
        }
        for g in 0..self.group.len() {
            let k = self.group[g];
            let (i, s) = (self.legs[k].next, self.legs[k].strategy);
            self.decide_bar(k, i, equity, close_time, &mut *strategies[s]).map_err(|e| (k, e))?;
            self.legs[k].next += 1;
        }
        Ok(())
    }

    /// Leg `k`'s bar `i` checked and played (step 1).
    ///
    /// The leg's bars are checked a block at a time ([`CHECKED_BLOCK_BARS`]) as the first
    /// of the block is played, with the result of checking each just before it plays:
    /// the run stops at the first bad bar with its error, having decided nothing on it.
    #[inline(always)]
    fn play_bar(&mut self, k: usize, i: usize) -> Result<(), BacktestError> {
        let (leg, timeframe) = (&mut self.legs[k], self.account.timeframe);
        let bars = leg.bars;
        if i >= leg.checked {
            let end = bars.len().min(i + CHECKED_BLOCK_BARS);
            leg.checked = first_bad_bar(bars, i..end, timeframe).unwrap_or(end);
            if leg.checked == i {
                // `first_bad_bar` names only a bar `check_bar` refuses: this is its error.
                return check_bar(bars, i, timeframe);
            }
        }
        self.played += 1;
        self.account.play(k, &bars[i], i, self.played)
    }

    /// Steps 3 and 4 for leg `k` at its bar `i`, seeing its bars up to `i` only.
    #[inline(always)]
    fn decide_bar(
        &mut self,
        k: usize,
        i: usize,
        equity: Fixed,
        close_time: Timestamp,
        strategy: &mut dyn Strategy,
    ) -> Result<(), BacktestError> {
        let bars = self.legs[k].bars;
        self.account.decide(k, &bars[..=i], i, equity, close_time, strategy)
    }

    /// When leg `k`'s bar `i` closes.
    fn close_time(&self, k: usize, i: usize) -> Timestamp {
        Timestamp(self.legs[k].bars[i].open_time.0.saturating_add(self.account.timeframe.nanos()))
    }

    /// The report; `closes`: the single symbol's closes when the caller gathered them.
    fn finish(self, strategy: &str, closes: Option<Vec<f64>>) -> Result<BacktestResult, BacktestError> {
        let Sim { account, legs, basket, .. } = self;
        let closes: Vec<f64> = match closes {
            _ if legs.len() > 1 => basket,
            Some(closes) if closes.len() == legs[0].bars.len() => closes,
            _ => legs[0].bars.iter().map(|b| b.close).collect(),
        };
        let lasts: Vec<(&Candle, usize)> = legs.iter().map(|l| (&l.bars[l.bars.len() - 1], l.bars.len())).collect();
        account.report(strategy, &lasts, closes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minute bars, each one minute after the last, all valid.
    fn minutes(n: usize) -> Vec<Candle> {
        (0..n)
            .map(|i| {
                let p = 100.0 + (i % 7) as f64;
                Candle { open_time: Timestamp(i as i64 * 60_000_000_000), open: p, high: p + 1.0, low: p - 1.0, close: p, volume: 1.0 }
            })
            .collect()
    }

    /// The first bar [`check_bar`] refuses, one bar at a time (the definition).
    fn first_refused(bars: &[Candle]) -> Option<usize> {
        (0..bars.len()).find(|&i| check_bar(bars, i, Timeframe::M1).is_err())
    }

    /// The first bar refused as the run checks them, block by block.
    fn first_refused_by_blocks(bars: &[Candle]) -> Option<usize> {
        (0..bars.len())
            .step_by(CHECKED_BLOCK_BARS)
            .find_map(|start| first_bad_bar(bars, start..bars.len().min(start + CHECKED_BLOCK_BARS), Timeframe::M1))
    }

    #[test]
    fn checking_a_block_at_a_time_refuses_the_bar_checking_each_one_does() {
        let n = 3 * CHECKED_BLOCK_BARS + 5;
        type Spoil = (&'static str, fn(&mut Candle));
        let spoils: [Spoil; 9] = [
            ("NaN close", |b| b.close = f64::NAN),
            ("zero open", |b| b.open = 0.0),
            ("negative low", |b| b.low = -1.0),
            ("infinite high", |b| b.high = f64::INFINITY),
            ("NaN volume", |b| b.volume = f64::NAN),
            ("negative volume", |b| b.volume = -0.5),
            ("infinite volume", |b| b.volume = f64::INFINITY),
            ("overlapping the previous bar", |b| b.open_time.0 -= 30_000_000_000),
            ("opening before it", |b| b.open_time.0 -= 600_000_000_000),
        ];
        assert_eq!(first_refused_by_blocks(&minutes(n)), None);
        let k = CHECKED_BLOCK_BARS;
        for at in [0, 1, k - 1, k, k + 1, 2 * k + 17, n - 1] {
            for (what, spoil) in &spoils {
                let mut bars = minutes(n);
                spoil(&mut bars[at]);
                let want = first_refused(&bars);
                // Bar 0 has no bar before it to overlap.
                assert_eq!(want.is_some(), at > 0 || !what.starts_with("o"), "{what} at {at}");
                assert_eq!(first_refused_by_blocks(&bars), want, "{what} at bar {at}");
            }
        }
        // Zero volume is allowed; a later good bar after a bad one does not hide it.
        let mut bars = minutes(n);
        bars[5].volume = 0.0;
        assert_eq!(first_refused_by_blocks(&bars), None);
        bars[9].close = f64::NAN;
        bars[k + 3].low = f64::NAN;
        assert_eq!(first_refused_by_blocks(&bars), Some(9));
    }

    #[test]
    fn a_run_stops_at_a_bad_bar_past_the_first_block_having_decided_nothing_on_it() {
        /// Holds, counting the bars it was asked about.
        struct Counting(usize);
        impl Strategy for Counting {
            fn name(&self) -> &str {
                "counting"
            }
            fn on_bar(&mut self, _: &crate::strategy::BarContext) -> crate::strategy::Signal {
                self.0 += 1;
                crate::strategy::Signal::Hold
            }
        }
        let mut bars = minutes(2 * CHECKED_BLOCK_BARS);
        let bad = CHECKED_BLOCK_BARS + 10;
        bars[bad].high = f64::NAN;
        let mut strategy = Counting(0);
        let e = run(&BacktestConfig::default(), &bars, Timeframe::M1, "BTC/USDT", &mut strategy).unwrap_err();
        assert!(matches!(&e, BacktestError::BadBar { index, .. } if *index == bad), "{e}");
        assert!(e.to_string().contains("prices must be finite and > 0"), "{e}");
        assert_eq!(strategy.0, bad, "decided on every bar before the bad one, and on no other");
    }

    #[test]
    fn a_long_run_gets_an_empty_curve_with_its_room_ready_and_a_short_one_none() {
        std::thread::scope(|scope| {
            let bars = CURVE_ON_A_THREAD_BARS_MIN;
            let curve = curve_on_a_thread(scope, bars).expect("a thread for a long run").join().unwrap();
            assert!(curve.is_empty() && curve.capacity() >= bars, "{} points, room for {}", curve.len(), curve.capacity());
            assert!(curve_on_a_thread(scope, bars - 1).is_none());
        });
    }
}
