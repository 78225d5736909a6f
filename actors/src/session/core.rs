//! The session book: validates session commands into events and folds session events
//! into the list of sessions. Pure: ids, the free cash and the stored timeframe come in
//! as arguments.
//!
//! A start is decided here (refused with a 4xx naming the field, or journaled as
//! `SessionOpened`); a stop is an input (`SessionStopRequested`) that the session's loop
//! decides on (`runner.rs`). Sessions journaled as `SessionStarted` by builds before
//! sessions traded never trade; a stop ends them at once (`SessionStopped`).

use crate::backtest::config::SLIPPAGE_BPS_MAX;
use crate::strategy::{check, not_built, strategy_list, StrategyError, StrategySpec, STRATEGIES};
use std::collections::BTreeMap;
use tradpal_messages::{
    Envelope, ErrorCode, ErrorReply, Event, SessionConfig, SessionId, SessionInfo, SessionOpened, SessionStatus, SessionStopRequested,
    SessionStopped, StartSession, StopSession, StrategyParam, Timeframe, TradingMode,
};

/// Bounds on what the book accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionLimits {
    /// Active sessions at once (the spec asks for 100+).
    pub sessions_active_max: usize,
    /// Largest starting capital accepted, in quote currency.
    pub capital_max: f64,
    /// Whether live (real-money) sessions may start. False until an exchange adapter exists.
    pub live_trading_enabled: bool,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self { sessions_active_max: 1000, capital_max: 1e12, live_trading_enabled: false }
    }
}

/// What a start is decided against, besides the book.
#[derive(Debug, Clone, PartialEq)]
pub struct StartContext {
    /// The config's first timeframe: a session's timeframe when the request names none.
    pub default_timeframe: Timeframe,
    /// `TRANSACTION_COSTS`: the fee rate when the request names none.
    pub default_commission: f64,
    /// The backtest's default slippage, in basis points.
    pub default_slippage_bps: u32,
    /// The paper account's cash less the capital of every session not stopped.
    pub free_cash: f64,
    /// The finest timeframe stored for the symbol, if any is.
    pub stored_timeframe: Option<Timeframe>,
    /// Seeds the session's order ids.
    pub seed: u64,
    /// An `ai_ensemble` start's resolved models (the actor resolves them first).
    pub ai: Option<tradpal_messages::AiPins>,
    /// `trading_config.symbols`: the symbols sessions may trade (empty: any).
    pub symbols: Vec<String>,
}

/// Every session ever started on this journal, by id (ordered: replays iterate alike).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionBook {
    sessions: BTreeMap<SessionId, SessionInfo>,
    active: usize,
    /// Sessions that trade (journaled as `SessionOpened`).
    trading: std::collections::BTreeSet<SessionId>,
}

fn bad(message: String) -> ErrorReply {
    ErrorReply::new(ErrorCode::BadRequest, message)
}

/// `BASE/QUOTE`, each 1..=20 uppercase ASCII letters or digits.
pub fn validate_symbol(symbol: &str) -> Result<(), ErrorReply> {
    if tradpal_messages::is_valid_symbol(symbol) {
        Ok(())
    } else {
        Err(bad(format!("invalid symbol {symbol:?}: expected BASE/QUOTE in uppercase, e.g. \"BTC/USDT\"")))
    }
}

/// The strategy and its parameters, checked by the one registry; every parameter with
/// its default filled in, in name order.
fn checked_params(cmd: &StartSession) -> Result<Vec<StrategyParam>, ErrorReply> {
    if let Some(issue) = not_built(&cmd.strategy) {
        return Err(ErrorReply::new(
            ErrorCode::NotImplemented,
            format!("strategy {:?} is not built yet ({issue}); built: {}", cmd.strategy, strategy_list()),
        ));
    }
    let spec = StrategySpec { name: cmd.strategy.clone(), params: cmd.params.clone(), ai: None };
    check(&spec).map_err(|e| match e {
        StrategyError::UnknownStrategy { .. } => bad(format!("strategy: {e}; with parameters: {}", strategy_list())),
        other => bad(format!("params: {other}")),
    })?;
    let info = STRATEGIES.iter().find(|s| s.name == cmd.strategy).expect("built, so registered");
    let mut params: Vec<StrategyParam> = info
        .params
        .iter()
        .map(|(name, default, _)| StrategyParam { name: name.to_string(), value: cmd.params.get(*name).copied().unwrap_or(*default) })
        .collect();
    params.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(params)
}

impl SessionBook {
    /// Decides whether `cmd` may start a session with id `id`; the event to journal if so.
    pub fn decide_start(&self, cmd: &StartSession, id: SessionId, limits: &SessionLimits, ctx: &StartContext) -> Result<Event, ErrorReply> {
        validate_symbol(&cmd.symbol)?;
        if !ctx.symbols.is_empty() && !ctx.symbols.contains(&cmd.symbol) {
            return Err(bad(format!(
                "symbol {} is not in trading_config.symbols ({}): sessions trade the configured symbols; add it there to trade it",
                cmd.symbol,
                ctx.symbols.join(", ")
            )));
        }
        if !(cmd.capital.is_finite() && cmd.capital > 0.0 && cmd.capital <= limits.capital_max) {
            return Err(bad(format!("invalid capital {}: expected a finite number in (0, {}]", cmd.capital, limits.capital_max)));
        }
        if !(cmd.risk_per_trade.is_finite() && cmd.risk_per_trade > 0.0 && cmd.risk_per_trade <= 1.0) {
            return Err(bad(format!("invalid risk_per_trade {}: expected a fraction in (0, 1]", cmd.risk_per_trade)));
        }
        let params = checked_params(cmd)?;
        let timeframe = cmd.timeframe.unwrap_or(ctx.default_timeframe);
        if let Some(stored) = ctx.stored_timeframe.filter(|s| timeframe.nanos() < s.nanos() || timeframe.nanos() % s.nanos() != 0) {
            return Err(bad(format!(
                "timeframe {timeframe}: {} is stored at {stored}; a session's timeframe must be {stored} or a multiple of it",
                cmd.symbol
            )));
        }
        let commission = cmd.commission.unwrap_or(ctx.default_commission);
        if !(commission.is_finite() && (0.0..1.0).contains(&commission)) {
            return Err(bad(format!("invalid commission {commission}: expected a fee rate in [0, 1) (0.001 = 0.1%)")));
        }
        let slippage_bps = cmd.slippage_bps.unwrap_or(ctx.default_slippage_bps);
        if slippage_bps > SLIPPAGE_BPS_MAX {
            return Err(bad(format!("invalid slippage_bps {slippage_bps}: at most {SLIPPAGE_BPS_MAX}")));
        }
        for (name, v) in [("max_drawdown", cmd.max_drawdown), ("max_daily_loss", cmd.max_daily_loss)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0 && *v <= 1.0)) {
                return Err(bad(format!("invalid {name} {v}: expected a fraction in (0, 1]")));
            }
        }
        if cmd.mode == TradingMode::Live && !limits.live_trading_enabled {
            return Err(ErrorReply::new(
                ErrorCode::NotImplemented,
                "mode \"live\": sessions trade on the paper account only so far (the live bot issue routes them to the exchange); use mode \"paper\"",
            ));
        }
        if self.active >= limits.sessions_active_max {
            return Err(ErrorReply::new(
                ErrorCode::Conflict,
                format!("too many active sessions ({}): stop one first", limits.sessions_active_max),
            ));
        }
        if cmd.capital > ctx.free_cash {
            return Err(ErrorReply::new(
                ErrorCode::Conflict,
                format!(
                    "capital {} exceeds the paper account's free cash {:.2} (its cash less the capital of every session not stopped)",
                    cmd.capital, ctx.free_cash
                ),
            ));
        }
        if self.sessions.contains_key(&id) {
            return Err(ErrorReply::new(ErrorCode::Internal, format!("session id {id} already used")));
        }
        let config = SessionConfig {
            symbol: cmd.symbol.clone(),
            capital: cmd.capital,
            strategy: cmd.strategy.clone(),
            risk_per_trade: cmd.risk_per_trade,
            mode: cmd.mode,
        };
        Ok(Event::SessionOpened(SessionOpened {
            session_id: id,
            config,
            timeframe,
            params,
            commission,
            slippage_bps,
            seed: ctx.seed,
            max_drawdown: cmd.max_drawdown,
            max_daily_loss: cmd.max_daily_loss,
            ai: ctx.ai.clone(),
        }))
    }

    /// Decides whether `cmd` may stop its session: the stop request to journal (a
    /// trading session's loop then decides), or `SessionStopped` for one that never traded.
    pub fn decide_stop(&self, cmd: &StopSession, reason: &str) -> Result<Event, ErrorReply> {
        match self.sessions.get(&cmd.session_id) {
            None => Err(ErrorReply::new(ErrorCode::NotFound, format!("no session {}", cmd.session_id))),
            Some(s) if s.status == SessionStatus::Stopped => {
                Err(ErrorReply::new(ErrorCode::Conflict, format!("session {} is already stopped", cmd.session_id)))
            }
            Some(_) if self.trading.contains(&cmd.session_id) => Ok(Event::SessionStopRequested(SessionStopRequested {
                session_id: cmd.session_id,
                close_positions: cmd.close_positions,
                reason: reason.into(),
            })),
            Some(_) => Ok(Event::SessionStopped(SessionStopped { session_id: cmd.session_id, reason: reason.into() })),
        }
    }

    fn insert(&mut self, env: &Envelope, session_id: SessionId, config: &SessionConfig) {
        let info = SessionInfo {
            session_id,
            status: SessionStatus::Active,
            config: config.clone(),
            started_at: env.timestamp,
            stopped_at: None,
            started_sequence: env.sequence,
        };
        if self.sessions.insert(session_id, info).is_none() {
            self.active += 1;
        }
    }

    /// Folds one journaled event into the book. Events of other concerns are ignored.
    pub fn apply(&mut self, env: &Envelope) {
        match &env.event {
            Event::SessionStarted(e) => self.insert(env, e.session_id, &e.config),
            Event::SessionOpened(e) => {
                self.insert(env, e.session_id, &e.config);
                self.trading.insert(e.session_id);
            }
            Event::SessionStopRequested(e) if e.close_positions => {
                if let Some(s) = self.sessions.get_mut(&e.session_id).filter(|s| s.status == SessionStatus::Active) {
                    s.status = SessionStatus::Stopping;
                }
            }
            Event::SessionStopped(e) => {
                if let Some(s) = self.sessions.get_mut(&e.session_id) {
                    if s.status != SessionStatus::Stopped {
                        s.status = SessionStatus::Stopped;
                        s.stopped_at = Some(env.timestamp);
                        self.active -= 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// A `SessionStopped` decided and queued for the journal (the same effect as applying
    /// its record, which is idempotent when it is read back).
    pub fn mark_stopped(&mut self, id: SessionId, at: tradpal_messages::Timestamp) {
        if let Some(s) = self.sessions.get_mut(&id) {
            if s.status != SessionStatus::Stopped {
                s.status = SessionStatus::Stopped;
                s.stopped_at = Some(at);
                self.active -= 1;
            }
        }
    }

    pub fn get(&self, id: SessionId) -> Option<&SessionInfo> {
        self.sessions.get(&id)
    }

    /// All sessions, ordered by id.
    pub fn list(&self) -> impl Iterator<Item = &SessionInfo> {
        self.sessions.values()
    }

    /// Sessions not stopped (active or stopping).
    pub fn active_count(&self) -> usize {
        self.active
    }

    /// The capital of every session not stopped (reserved out of the paper account's cash).
    pub fn reserved_capital(&self) -> f64 {
        self.sessions.values().filter(|s| s.status != SessionStatus::Stopped).map(|s| s.config.capital).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::{CorrelationId, EnvelopeDraft, EventId, Timestamp};

    fn start(symbol: &str) -> StartSession {
        StartSession {
            symbol: symbol.into(),
            capital: 1_000.0,
            strategy: "sma_cross".into(),
            risk_per_trade: 0.02,
            mode: TradingMode::Paper,
            timeframe: None,
            params: BTreeMap::new(),
            commission: None,
            slippage_bps: None,
            max_drawdown: None,
            max_daily_loss: None,
            model_id: None,
            agent_id: None,
        }
    }

    fn ctx() -> StartContext {
        StartContext {
            default_timeframe: Timeframe::H1,
            default_commission: 0.001,
            default_slippage_bps: 1,
            free_cash: 10_000.0,
            stored_timeframe: Some(Timeframe::M5),
            seed: 1,
            ai: None,
            symbols: vec!["BTC/USDT".into(), "ETH/USDT".into()],
        }
    }

    #[test]
    fn sessions_trade_the_configured_symbols() {
        let book = SessionBook::default();
        let e = book.decide_start(&start("ADA/USDT"), SessionId(1), &SessionLimits::default(), &ctx()).unwrap_err();
        assert!(e.message.contains("not in trading_config.symbols (BTC/USDT, ETH/USDT)"), "{}", e.message);
        let any = StartContext { symbols: Vec::new(), ..ctx() };
        assert!(book.decide_start(&start("ADA/USDT"), SessionId(1), &SessionLimits::default(), &any).is_ok());
    }

    fn seal(seq: u64, ev: Event) -> Envelope {
        EnvelopeDraft::new(EventId(seq as u128), Timestamp(seq as i64), CorrelationId(1), ev).seal(seq)
    }

    #[test]
    fn start_then_stop_folds() {
        let mut book = SessionBook::default();
        let limits = SessionLimits::default();
        let ev = book.decide_start(&start("BTC/USDT"), SessionId(7), &limits, &ctx()).unwrap();
        let Event::SessionOpened(o) = &ev else { panic!("{ev:?}") };
        assert_eq!(o.timeframe, Timeframe::H1);
        assert_eq!(o.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["entry", "fast", "fraction", "slow"]);
        book.apply(&seal(1, ev));
        assert_eq!(book.active_count(), 1);
        assert_eq!(book.reserved_capital(), 1_000.0);
        let stop = StopSession { session_id: SessionId(7), close_positions: true };
        let ev = book.decide_stop(&stop, "requested").unwrap();
        assert!(matches!(ev, Event::SessionStopRequested(_)));
        book.apply(&seal(2, ev));
        assert_eq!(book.get(SessionId(7)).unwrap().status, SessionStatus::Stopping);
        book.apply(&seal(3, Event::SessionStopped(SessionStopped { session_id: SessionId(7), reason: "requested".into() })));
        assert_eq!(book.active_count(), 0);
        assert_eq!(book.get(SessionId(7)).unwrap().stopped_at, Some(Timestamp(3)));
        assert_eq!(book.decide_stop(&stop, "requested").unwrap_err().code, ErrorCode::Conflict);
        let other = StopSession { session_id: SessionId(8), close_positions: true };
        assert_eq!(book.decide_stop(&other, "requested").unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn refusals_name_the_field() {
        let book = SessionBook::default();
        let l = SessionLimits::default();
        let with = |f: &dyn Fn(&mut StartSession)| {
            let mut s = start("BTC/USDT");
            f(&mut s);
            s
        };
        let cases: Vec<(StartSession, &str, ErrorCode)> = vec![
            (start("btc/usdt"), "symbol", ErrorCode::BadRequest),
            (start("BTCUSDT"), "symbol", ErrorCode::BadRequest),
            (with(&|s| s.capital = f64::NAN), "capital", ErrorCode::BadRequest),
            (with(&|s| s.capital = -1.0), "capital", ErrorCode::BadRequest),
            (with(&|s| s.capital = 0.0), "capital", ErrorCode::BadRequest),
            (with(&|s| s.capital = 20_000.0), "free cash 10000.00", ErrorCode::Conflict),
            (with(&|s| s.risk_per_trade = 1.5), "risk_per_trade", ErrorCode::BadRequest),
            (with(&|s| s.strategy = "yolo".into()), "strategy", ErrorCode::BadRequest),
            (
                with(&|s| {
                    s.strategy = "ai_ensemble".into();
                    s.params.insert("long_only".into(), 0.5);
                }),
                "long_only",
                ErrorCode::BadRequest,
            ),
            (
                with(&|s| {
                    s.params.insert("fats".into(), 3.0);
                }),
                "params",
                ErrorCode::BadRequest,
            ),
            (
                with(&|s| {
                    s.params.insert("fast".into(), 50.0);
                }),
                "params",
                ErrorCode::BadRequest,
            ),
            (with(&|s| s.timeframe = Some(Timeframe::M1)), "timeframe 1m", ErrorCode::BadRequest),
            (with(&|s| s.commission = Some(1.5)), "commission", ErrorCode::BadRequest),
            (with(&|s| s.slippage_bps = Some(5_000)), "slippage_bps", ErrorCode::BadRequest),
            (with(&|s| s.max_drawdown = Some(0.0)), "max_drawdown", ErrorCode::BadRequest),
            (with(&|s| s.max_daily_loss = Some(1.5)), "max_daily_loss", ErrorCode::BadRequest),
            (with(&|s| s.mode = TradingMode::Live), "live", ErrorCode::NotImplemented),
        ];
        for (cmd, needle, code) in cases {
            let err = book.decide_start(&cmd, SessionId(1), &l, &ctx()).unwrap_err();
            assert!(err.message.contains(needle), "{needle}: {}", err.message);
            assert_eq!(err.code, code, "{needle}: {}", err.message);
        }
    }

    #[test]
    fn active_limit_is_enforced() {
        let mut book = SessionBook::default();
        let l = SessionLimits { sessions_active_max: 2, ..Default::default() };
        for i in 1..=2u64 {
            let ev = book.decide_start(&start("ETH/USDT"), SessionId(i as u128), &l, &ctx()).unwrap();
            book.apply(&seal(i, ev));
        }
        assert_eq!(book.decide_start(&start("ETH/USDT"), SessionId(9), &l, &ctx()).unwrap_err().code, ErrorCode::Conflict);
    }
}
