//! The session core: validates session commands into events and folds events into
//! the book of sessions. Pure: ids and timestamps come in as arguments.

use std::collections::BTreeMap;
use tradpal_messages::{
    Envelope, ErrorCode, ErrorReply, Event, SessionConfig, SessionId, SessionInfo, SessionStarted, SessionStatus, SessionStopped,
    StartSession, StopSession, TradingMode,
};

/// Strategies a session may name (the backtesting issue documents each).
pub const KNOWN_STRATEGIES: &[&str] =
    &["ai_ensemble", "sma_cross", "sma_cross_long", "buy_and_hold", "rsi_reversion", "bollinger_breakout"];

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

/// Every session ever started on this journal, by id (ordered: replays iterate alike).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionBook {
    sessions: BTreeMap<SessionId, SessionInfo>,
    active: usize,
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

impl SessionBook {
    /// Decides whether `cmd` may start a session with id `id`; the event to journal if so.
    pub fn decide_start(&self, cmd: &StartSession, id: SessionId, limits: &SessionLimits) -> Result<Event, ErrorReply> {
        validate_symbol(&cmd.symbol)?;
        if !(cmd.capital.is_finite() && cmd.capital > 0.0 && cmd.capital <= limits.capital_max) {
            return Err(bad(format!("invalid capital {}: expected a finite number in (0, {}]", cmd.capital, limits.capital_max)));
        }
        if !(cmd.risk_per_trade.is_finite() && cmd.risk_per_trade > 0.0 && cmd.risk_per_trade <= 1.0) {
            return Err(bad(format!("invalid risk_per_trade {}: expected a fraction in (0, 1]", cmd.risk_per_trade)));
        }
        if !KNOWN_STRATEGIES.contains(&cmd.strategy.as_str()) {
            return Err(bad(format!("unknown strategy {:?}: expected one of {}", cmd.strategy, KNOWN_STRATEGIES.join(", "))));
        }
        if cmd.mode == TradingMode::Live && !limits.live_trading_enabled {
            return Err(ErrorReply::new(
                ErrorCode::NotImplemented,
                "live trading is not available: no exchange adapter is built yet; use mode \"paper\"",
            ));
        }
        if self.active >= limits.sessions_active_max {
            return Err(ErrorReply::new(
                ErrorCode::Conflict,
                format!("too many active sessions ({}): stop one first", limits.sessions_active_max),
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
        Ok(Event::SessionStarted(SessionStarted { session_id: id, config }))
    }

    /// Decides whether `cmd` may stop its session.
    pub fn decide_stop(&self, cmd: &StopSession) -> Result<Event, ErrorReply> {
        match self.sessions.get(&cmd.session_id) {
            None => Err(ErrorReply::new(ErrorCode::NotFound, format!("no session {}", cmd.session_id))),
            Some(s) if s.status == SessionStatus::Stopped => {
                Err(ErrorReply::new(ErrorCode::Conflict, format!("session {} is already stopped", cmd.session_id)))
            }
            Some(_) => Ok(Event::SessionStopped(SessionStopped { session_id: cmd.session_id, reason: "requested".into() })),
        }
    }

    /// Folds one journaled event into the book. Events of other concerns are ignored.
    pub fn apply(&mut self, env: &Envelope) {
        match &env.event {
            Event::SessionStarted(e) => {
                let info = SessionInfo {
                    session_id: e.session_id,
                    status: SessionStatus::Active,
                    config: e.config.clone(),
                    started_at: env.timestamp,
                    stopped_at: None,
                    started_sequence: env.sequence,
                };
                if self.sessions.insert(e.session_id, info).is_none() {
                    self.active += 1;
                }
            }
            Event::SessionStopped(e) => {
                if let Some(s) = self.sessions.get_mut(&e.session_id) {
                    if s.status == SessionStatus::Active {
                        s.status = SessionStatus::Stopped;
                        s.stopped_at = Some(env.timestamp);
                        self.active -= 1;
                    }
                }
            }
            _ => {}
        }
    }

    pub fn get(&self, id: SessionId) -> Option<&SessionInfo> {
        self.sessions.get(&id)
    }

    /// All sessions, ordered by id.
    pub fn list(&self) -> impl Iterator<Item = &SessionInfo> {
        self.sessions.values()
    }

    pub fn active_count(&self) -> usize {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::{CorrelationId, EnvelopeDraft, EventId, Timestamp};

    fn start(symbol: &str) -> StartSession {
        StartSession {
            symbol: symbol.into(),
            capital: 10_000.0,
            strategy: "ai_ensemble".into(),
            risk_per_trade: 0.02,
            mode: TradingMode::Paper,
        }
    }

    fn seal(seq: u64, ev: Event) -> Envelope {
        EnvelopeDraft::new(EventId(seq as u128), Timestamp(seq as i64), CorrelationId(1), ev).seal(seq)
    }

    #[test]
    fn start_then_stop_folds() {
        let mut book = SessionBook::default();
        let limits = SessionLimits::default();
        let ev = book.decide_start(&start("BTC/USDT"), SessionId(7), &limits).unwrap();
        book.apply(&seal(1, ev));
        assert_eq!(book.active_count(), 1);
        let stop = StopSession { session_id: SessionId(7) };
        let ev = book.decide_stop(&stop).unwrap();
        book.apply(&seal(2, ev));
        assert_eq!(book.active_count(), 0);
        assert_eq!(book.get(SessionId(7)).unwrap().stopped_at, Some(Timestamp(2)));
        assert_eq!(book.decide_stop(&stop).unwrap_err().code, ErrorCode::Conflict);
        assert_eq!(book.decide_stop(&StopSession { session_id: SessionId(8) }).unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn refusals_name_the_field() {
        let book = SessionBook::default();
        let l = SessionLimits::default();
        let cases: Vec<(StartSession, &str)> = vec![
            (start("btc/usdt"), "symbol"),
            (start("BTCUSDT"), "symbol"),
            (StartSession { capital: f64::NAN, ..start("BTC/USDT") }, "capital"),
            (StartSession { capital: -1.0, ..start("BTC/USDT") }, "capital"),
            (StartSession { risk_per_trade: 1.5, ..start("BTC/USDT") }, "risk_per_trade"),
            (StartSession { strategy: "yolo".into(), ..start("BTC/USDT") }, "strategy"),
            (StartSession { mode: TradingMode::Live, ..start("BTC/USDT") }, "live trading"),
        ];
        for (cmd, needle) in cases {
            let err = book.decide_start(&cmd, SessionId(1), &l).unwrap_err();
            assert!(err.message.contains(needle), "{needle}: {}", err.message);
        }
    }

    #[test]
    fn active_limit_is_enforced() {
        let mut book = SessionBook::default();
        let l = SessionLimits { sessions_active_max: 2, ..Default::default() };
        for i in 1..=2u64 {
            let ev = book.decide_start(&start("ETH/USDT"), SessionId(i as u128), &l).unwrap();
            book.apply(&seal(i, ev));
        }
        assert_eq!(book.decide_start(&start("ETH/USDT"), SessionId(9), &l).unwrap_err().code, ErrorCode::Conflict);
    }
}
