//! One trading session's strategy loop: pure (no tokio, no I/O, no clock).
//!
//! A session is an account of its own (its capital, cash, position, P&L, fees) driven by
//! the backtest's own per-bar code, [`crate::backtest::account::Account`]: the bar runs
//! through the execution core (fills of earlier decisions at this bar's open), equity is
//! marked at the close, the strategy runtime decides, the target is sized and the market
//! order is stamped at the close, filling at the next bar's open. So a session fed a
//! file's bars makes the fills `tradpal backtest` makes on that file with the same
//! settings (the parity test, `tests/session_parity.rs`).
//!
//! Inputs, in journal order (the session actor feeds them; a rebuild feeds the same
//! records again and gets the same state):
//! - [`SessionRunner::on_candles`]: a `CandlesIngested` record. Bars of the session's
//!   symbol at its timeframe are taken as they are; bars of a lower timeframe that
//!   divides it are resampled, and a higher bar is acted on once complete. A bar opening
//!   at or before the last one acted on (a back-fill, a repeat) is ignored: every bar is
//!   acted on once, in time order.
//! - [`SessionRunner::on_trading_state`]: the service's kill switch, which applies on top
//!   of the session's own limits (halted: no orders; reducing: only orders that shrink).
//! - [`SessionRunner::on_stop`]: a stop request: working orders are canceled; with
//!   `close_positions` a closing market order is sent and the session is `stopping` until
//!   it is flat, then `stopped`.
//!
//! A session's own limits (`max_drawdown` of its peak equity, `max_daily_loss` of its
//! equity at the UTC day's first bar) are checked at every close: a breach is journaled
//! (`RiskLimitBreached` under `session_max_drawdown` / `session_max_daily_loss`, with
//! the session id), and the session cancels, closes at the next bar and stops.
//!
//! The session's clock is bar time: orders and stops are stamped with the close of the
//! last bar acted on, never the wall clock, so a rebuild decides identically.

use crate::backtest::account::Account;
use crate::backtest::metrics::{compute, EquityPoint, Metrics, MetricsInput, TradeRecord};
use crate::backtest::{BacktestConfig, BacktestError};
use crate::execution::ExecutionCore;
use crate::market_data::resample::Resampler;
use crate::strategy::{build, AiModels, Strategy, StrategyError, StrategySpec};
use tradpal_messages::{
    Candle, CandlesIngested, Event, Fixed, RiskLimitBreached, Rounding, SessionId, SessionOpened, SessionStopRequested, SessionStopped,
    Timeframe, Timestamp, TradingStateChanged,
};

/// Bars a session keeps for its strategy's context (strategies read the current bar;
/// risk sizing reads a lookback): a bound on memory per session.
pub const HISTORY_BARS_MAX: usize = 256;
/// Points of the equity curve a session keeps; past it every other point is dropped and
/// the curve's spacing doubles.
pub const EQUITY_POINTS_MAX: usize = 1_024;
/// Prefix of the client order id of every order a session's own account places; with
/// the envelope's session id it tells these orders from the paper account's.
pub const SESSION_ORDER_PREFIX: &str = "ss-";

/// The limit names a session's own breaches are journaled under (not the paper account's
/// `max_drawdown` / `max_daily_loss`, which move the service's kill switch).
pub const SESSION_MAX_DRAWDOWN: &str = "session_max_drawdown";
pub const SESSION_MAX_DAILY_LOSS: &str = "session_max_daily_loss";

/// Where a session is.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerStatus {
    Trading,
    /// Closing its position before it stops (the reason it stops with).
    Stopping(String),
    Stopped(String),
}

/// What one input made a session do.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Events to journal, in order.
    pub events: Vec<Event>,
    /// Whether the session acted on a bar (the input then needs its decision marker).
    pub acted: bool,
}

/// A session's strategy loop and account.
pub struct SessionRunner {
    pub id: SessionId,
    pub opened: SessionOpened,
    /// Journal sequence of its `SessionOpened`: only later inputs are its inputs.
    pub opened_sequence: u64,
    account: Account,
    strategy: Box<dyn Strategy>,
    history: Vec<Candle>,
    /// Bars acted on so far (the next bar's index).
    bars: usize,
    last_open: Option<Timestamp>,
    resampler: Option<Resampler>,
    status: RunnerStatus,
    /// Bars per point of the kept equity curve, and bars since the last kept point.
    stride: usize,
    since_point: usize,
    /// The session's clock: the close of the last bar acted on (its opening time before).
    clock: Timestamp,
    /// `SessionStopped`, decided and not yet handed out.
    stopped_event: Option<Event>,
    /// Events of the bar being acted on, in order, not yet handed out.
    decided: Vec<Event>,
    /// Peak equity, and the UTC day with its first bar's equity (the session's limits).
    peak: f64,
    day: Option<(i64, f64)>,
}

/// Why a journaled `SessionOpened` cannot become a runner (logged; a replay reports it).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The capital or commission is not a representable amount; `field` names it.
    #[error("{field}: {why}")]
    Money { field: &'static str, why: String },
    /// `BacktestConfig::validate`'s message (it names the setting).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error(transparent)]
    Account(#[from] BacktestError),
}

/// The backtest settings a session trades under: the backtest's defaults (fill model,
/// limits, sizing) with the session's capital, costs and seed. The one mapping, so a
/// session and `tradpal backtest --cash C --commission F --slippage-bps B` agree.
pub fn session_config(opened: &SessionOpened) -> Result<BacktestConfig, OpenError> {
    let money = |field: &'static str, x: f64| {
        Fixed::from_f64_rounded(x, Rounding::Nearest).map_err(|e| OpenError::Money { field, why: e.to_string() })
    };
    let cash = money("capital", opened.config.capital)?;
    let rate = money("commission", opened.commission)?;
    let config = BacktestConfig { starting_cash: cash, seed: opened.seed, keep_events: true, ..BacktestConfig::default() }
        .with_commission(rate)
        .with_slippage_bps(opened.slippage_bps);
    config.validate().map_err(|e| OpenError::Config(e.to_string()))?;
    Ok(config)
}

/// The strategy spec a session journaled.
pub fn session_spec(opened: &SessionOpened) -> StrategySpec {
    StrategySpec {
        name: opened.config.strategy.clone(),
        params: opened.params.iter().map(|p| (p.name.clone(), p.value)).collect(),
        ai: None,
    }
}

impl SessionRunner {
    /// The runner of a journaled `SessionOpened` at `sequence`, funded at `at`.
    /// `ai`: an `ai_ensemble` session's models, loaded from its pins.
    pub fn open(opened: &SessionOpened, sequence: u64, at: Timestamp, ai: Option<AiModels>) -> Result<SessionRunner, OpenError> {
        let config = session_config(opened)?;
        let strategy = build(&StrategySpec { ai, ..session_spec(opened) })?;
        let symbol = opened.config.symbol.as_str();
        let mut account = Account::open(&config, &[symbol], opened.timeframe, &opened.config.strategy, at)?;
        account.session_id = Some(opened.session_id);
        account.retarget_reason = "session: the target changed";
        account.client_prefix = Some(SESSION_ORDER_PREFIX);
        // The funding is implied by the journaled capital: not an event of the account.
        // The journal is a session's record: its log only hands events over, unhashed.
        account.log = crate::backtest::events::EventLog::kept_only();
        Ok(SessionRunner {
            id: opened.session_id,
            opened: opened.clone(),
            opened_sequence: sequence,
            account,
            strategy,
            history: Vec::with_capacity(64),
            bars: 0,
            last_open: None,
            resampler: None,
            status: RunnerStatus::Trading,
            stride: 1,
            since_point: 0,
            clock: at,
            stopped_event: None,
            decided: Vec::new(),
            peak: opened.config.capital,
            day: None,
        })
    }

    pub fn symbol(&self) -> &str {
        &self.opened.config.symbol
    }

    pub fn timeframe(&self) -> Timeframe {
        self.opened.timeframe
    }

    pub fn status(&self) -> &RunnerStatus {
        &self.status
    }

    pub fn is_stopped(&self) -> bool {
        matches!(self.status, RunnerStatus::Stopped(_))
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    pub fn bars(&self) -> usize {
        self.bars
    }

    /// The complete bars of the session's timeframe in a candle record.
    fn complete_bars(&mut self, rec: &CandlesIngested) -> Vec<Candle> {
        let tf = self.opened.timeframe;
        if rec.timeframe == tf {
            return rec.candles.clone();
        }
        if rec.timeframe.nanos() >= tf.nanos() || tf.nanos() % rec.timeframe.nanos() != 0 {
            return Vec::new();
        }
        if self.resampler.as_ref().is_none_or(|r| r.base() != rec.timeframe) {
            match Resampler::new(rec.timeframe, tf) {
                Ok(r) => self.resampler = Some(r),
                Err(_) => return Vec::new(),
            }
        }
        let Some(resampler) = self.resampler.as_mut() else { return Vec::new() };
        let mut out = Vec::new();
        for c in &rec.candles {
            // A base bar the resampler refuses (back-fill, misaligned) is not a new bar.
            if let Ok(emitted) = resampler.push(*c) {
                out.extend(emitted.into_iter().filter(|b| b.complete).map(|b| b.candle));
            }
        }
        out
    }

    /// A candle record at journal `sequence` (see the module doc).
    pub fn on_candles(&mut self, rec: &CandlesIngested, sequence: u64) -> Outcome {
        let mut out = Outcome::default();
        if self.is_stopped() || sequence <= self.opened_sequence || rec.symbol != self.opened.config.symbol {
            return out;
        }
        for bar in self.complete_bars(rec) {
            if self.last_open.is_some_and(|t| bar.open_time <= t) {
                continue;
            }
            out.acted = true;
            if let Err(e) = self.step(&bar, sequence) {
                self.stop_now(format!("error: {e}"));
            }
            out.events.append(&mut self.decided);
            out.events.extend(self.account.log.drain());
            out.events.extend(self.stopped_event.take());
            if self.is_stopped() {
                break;
            }
        }
        out
    }

    /// The service's kill switch moved: it binds the session's account too.
    pub fn on_trading_state(&mut self, change: &TradingStateChanged) {
        self.account.core.follow_trading_state(change.to);
    }

    /// A stop request (see the module doc).
    pub fn on_stop(&mut self, req: &SessionStopRequested) -> Outcome {
        let mut out = Outcome::default();
        if self.is_stopped() {
            return out;
        }
        out.acted = true;
        let (at, i) = (self.clock, self.bars.saturating_sub(1));
        let closing = self.account.cancel_working(0, at, i, "session stopping").and_then(|()| {
            if !req.close_positions || self.position().is_zero() {
                return Ok(false);
            }
            let price = self.history.last().and_then(ExecutionCore::close_of).unwrap_or(Fixed::ZERO);
            self.account.order_to(0, Fixed::ZERO, price, at, i)?;
            Ok(true)
        });
        match closing {
            Ok(true) => self.status = RunnerStatus::Stopping(req.reason.clone()),
            Ok(false) => self.stop_now(req.reason.clone()),
            Err(e) => self.stop_now(format!("{}; closing failed: {e}", req.reason)),
        }
        out.events.extend(self.account.log.drain());
        out.events.extend(self.stopped_event.take());
        out
    }

    fn stop_now(&mut self, reason: String) {
        self.stopped_event = Some(Event::SessionStopped(SessionStopped { session_id: self.id, reason: reason.clone() }));
        self.status = RunnerStatus::Stopped(reason);
    }

    /// One bar, in the backtest engine's order.
    fn step(&mut self, bar: &Candle, cause: u64) -> Result<(), BacktestError> {
        let i = self.bars;
        self.bars += 1;
        self.last_open = Some(bar.open_time);
        self.history.push(*bar);
        if self.history.len() >= 2 * HISTORY_BARS_MAX {
            self.history.drain(..self.history.len() - HISTORY_BARS_MAX);
        }
        let close_time = Timestamp(bar.open_time.0.saturating_add(self.opened.timeframe.nanos()));
        self.clock = close_time;
        self.account.play(0, bar, i, cause)?;
        let equity = self.account.mark_equity(close_time, i)?;
        self.thin_equity();
        let breach = self.breach(equity.to_f64(), close_time);
        if let (RunnerStatus::Trading, Some(breach)) = (&self.status, breach) {
            return self.on_breach(breach, close_time, i);
        }
        match &self.status {
            RunnerStatus::Trading => self.account.decide(0, &self.history, i, equity, close_time, self.strategy.as_mut()),
            RunnerStatus::Stopping(reason) => {
                let reason = reason.clone();
                self.keep_closing(reason, close_time, i)
            }
            RunnerStatus::Stopped(_) => Ok(()),
        }
    }

    /// The session's own limit this bar's equity breaches, if any (peak and day updated).
    fn breach(&mut self, equity: f64, close_time: Timestamp) -> Option<RiskLimitBreached> {
        self.peak = self.peak.max(equity);
        let day = close_time.0.div_euclid(86_400 * 1_000_000_000);
        if self.day.is_none_or(|(d, _)| d != day) {
            self.day = Some((day, equity));
        }
        let breached = |limit: &str, value: f64, threshold: Option<f64>| {
            threshold.filter(|t| value >= *t).map(|t| RiskLimitBreached {
                session_id: Some(self.id),
                limit: limit.to_string(),
                value,
                threshold: t,
                excess: value - t,
            })
        };
        let drawdown = if self.peak > 0.0 { 1.0 - equity / self.peak } else { 0.0 };
        let day_loss = self.day.map_or(0.0, |(_, start)| if start > 0.0 { 1.0 - equity / start } else { 0.0 });
        breached(SESSION_MAX_DRAWDOWN, drawdown, self.opened.max_drawdown)
            .or_else(|| breached(SESSION_MAX_DAILY_LOSS, day_loss, self.opened.max_daily_loss))
    }

    /// A breach of the session's own limit: journaled, then the session flattens (cancel,
    /// close at the next bar) and stops, as on an emergency stop.
    fn on_breach(&mut self, breach: RiskLimitBreached, close_time: Timestamp, i: usize) -> Result<(), BacktestError> {
        let reason = format!("{} breached: {:.4} >= {:.4}", breach.limit, breach.value, breach.threshold);
        self.decided.extend(self.account.log.drain());
        self.decided.push(Event::RiskLimitBreached(breach));
        self.account.cancel_working(0, close_time, i, "session limit breached")?;
        self.status = RunnerStatus::Stopping(reason.clone());
        self.keep_closing(reason, close_time, i)
    }

    /// Keeps one point of the equity curve per `stride` bars, at most
    /// [`EQUITY_POINTS_MAX`] points (the spacing doubles when full).
    fn thin_equity(&mut self) {
        self.since_point += 1;
        if self.since_point < self.stride {
            self.account.equity.pop();
            return;
        }
        self.since_point = 0;
        if self.account.equity.len() > EQUITY_POINTS_MAX {
            let kept: Vec<EquityPoint> = self.account.equity.iter().skip(1).step_by(2).copied().collect();
            self.account.equity = kept;
            self.stride *= 2;
        }
    }

    fn position(&self) -> Fixed {
        self.account.core.position(self.symbol())
    }

    fn working_orders(&self) -> usize {
        self.account.core.open_ids_of(self.symbol()).count()
    }

    /// Stopping: flat with nothing working ends the session; a closing order that did
    /// not go through (refused, canceled) is sent again at this close.
    fn keep_closing(&mut self, reason: String, close_time: Timestamp, i: usize) -> Result<(), BacktestError> {
        if self.position().is_zero() && self.working_orders() == 0 {
            self.stop_now(reason);
            return Ok(());
        }
        if self.working_orders() == 0 {
            let price = self.history.last().and_then(ExecutionCore::close_of).unwrap_or(Fixed::ZERO);
            self.account.order_to(0, Fixed::ZERO, price, close_time, i)?;
        }
        Ok(())
    }
}

/// A session's account in numbers (status and performance answers).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionPnl {
    pub capital: f64,
    pub equity: Fixed,
    pub cash: Fixed,
    /// Signed units of the session's symbol.
    pub position: Fixed,
    pub realized_pnl: Fixed,
    pub unrealized_pnl: Fixed,
    pub fees: Fixed,
    /// `equity / capital - 1`.
    pub total_return: f64,
    pub bars: usize,
    pub trades: usize,
    pub last_bar_close: Option<Timestamp>,
}

/// A session's performance: the backtest's metric names, trades and equity curve.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionPerformance {
    pub pnl: SessionPnl,
    /// `None` until there are enough bars (`metrics_unavailable` says why).
    pub metrics: Option<Metrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_unavailable: Option<String>,
    pub counts: crate::backtest::RunCounts,
    pub trades: Vec<TradeRecord>,
    pub open_trade: Option<TradeRecord>,
    /// One point per `equity_stride_bars` bars, at most [`EQUITY_POINTS_MAX`].
    pub equity: Vec<EquityPoint>,
    pub equity_stride_bars: usize,
}

impl SessionRunner {
    pub fn pnl(&self) -> SessionPnl {
        let p = self.account.core.portfolio();
        let capital = self.opened.config.capital;
        SessionPnl {
            capital,
            equity: p.equity(),
            cash: p.cash,
            position: self.position(),
            realized_pnl: p.realized_pnl(),
            unrealized_pnl: p.unrealized_pnl(),
            fees: p.fees(),
            total_return: p.equity().to_f64() / capital - 1.0,
            bars: self.bars,
            trades: self.account.legs[0].ledger.closed.len(),
            last_bar_close: self.last_open.map(|_| self.clock),
        }
    }

    pub fn performance(&self) -> SessionPerformance {
        let ledger = &self.account.legs[0].ledger;
        let input = MetricsInput {
            equity: &self.account.equity,
            trades: &ledger.closed,
            benchmark: None,
            bar_interval_ns: self.opened.timeframe.nanos().saturating_mul(self.stride as i64),
            risk_free_rate: self.account.config.risk_free_rate,
            calendar: self.account.config.calendar,
            exposure_bars: self.account.exposure_bars / self.stride,
        };
        let (metrics, metrics_unavailable) = match compute(&input) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let open_trade = self.history.last().and_then(|last| {
            let mark = ExecutionCore::close_of(last)?;
            ledger.open_trade(self.clock, self.bars, mark)
        });
        SessionPerformance {
            pnl: self.pnl(),
            metrics,
            metrics_unavailable,
            counts: self.account.counts,
            trades: ledger.closed.clone(),
            open_trade,
            equity: self.account.equity.clone(),
            equity_stride_bars: self.stride,
        }
    }
}
