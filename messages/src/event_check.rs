//! The invariants every event must satisfy before it is written and after it is read back
//! (`Event::check_invariants`): finite numbers, bounded text, sane orders. Split from
//! `event.rs` for length; the journal calls it on both sides of the disk. The error and
//! the limits the event modules share are in `invariant.rs`.

use crate::event::Event;
use crate::invariant::{check_text, InvariantError, CLIENT_ORDER_ID_BYTES_MAX};
use crate::market::is_valid_symbol;
use crate::order::OrderSpec;

impl Event {
    /// Checks the invariants a record must satisfy before it may be written (and after
    /// it is read back): finite numbers, bounded text. Returns what is wrong.
    pub fn check_invariants(&self) -> Result<(), InvariantError> {
        match self {
            Event::SessionStarted(e) => {
                let c = &e.config;
                if !(c.capital.is_finite() && c.capital > 0.0) {
                    return Err(InvariantError::Broken(format!("session capital must be finite and > 0, got {}", c.capital)));
                }
                if !(c.risk_per_trade.is_finite() && c.risk_per_trade > 0.0 && c.risk_per_trade <= 1.0) {
                    return Err(InvariantError::Broken(format!("risk_per_trade must be in (0, 1], got {}", c.risk_per_trade)));
                }
                check_text("symbol", &c.symbol)?;
                check_text("strategy", &c.strategy)
            }
            Event::SessionStopped(e) => check_text("reason", &e.reason),
            Event::ActorRestarted(e) => check_text("actor", &e.actor),
            Event::ServiceStarted(e) => check_text("version", &e.version),
            Event::CandlesIngested(e) => e.check(),
            Event::RiskLimitBreached(e) => {
                if ![e.value, e.threshold, e.excess].iter().all(|v| v.is_finite()) {
                    return Err(InvariantError::Broken(format!("risk breach of {} has a non-finite number", e.limit)));
                }
                check_text("limit", &e.limit)
            }
            Event::RegimeChanged(e) => {
                if !is_valid_symbol(&e.symbol) {
                    return Err(InvariantError::Symbol(e.symbol.clone()));
                }
                if !(0.0..=1.0).contains(&e.confidence) {
                    return Err(InvariantError::Broken(format!("regime confidence {} outside [0, 1]", e.confidence)));
                }
                check_text("from", &e.from)?;
                check_text("to", &e.to)
            }
            Event::OrderSubmitted(e) => {
                check_text("risk_note", &e.risk_note)?;
                if !e.requested_quantity.is_positive() {
                    return Err(InvariantError::Broken("requested quantity must be > 0".into()));
                }
                check_order_spec(&e.spec)
            }
            Event::OrderFilled(e) => {
                if !e.quantity.is_positive() || !e.price.is_positive() || e.fee.is_negative() || e.fill_seq == 0 {
                    return Err(InvariantError::Broken(format!(
                        "fill {} of order {}: quantity and price must be > 0, fee >= 0",
                        e.fill_seq, e.order_id
                    )));
                }
                if !is_valid_symbol(&e.symbol) {
                    return Err(InvariantError::Symbol(e.symbol.to_string()));
                }
                Ok(())
            }
            Event::OrderTriggered(e) if !e.trigger_price.is_positive() => Err(InvariantError::Broken("trigger price must be > 0".into())),
            Event::OrderReleased(e) if !e.quantity.is_positive() => Err(InvariantError::Broken("released quantity must be > 0".into())),
            Event::OrderRejected(e) => check_text("reason", &e.reason),
            Event::OrderCancelRequested(e) => check_text("reason", &e.reason),
            Event::OrderCanceled(e) => check_text("reason", &e.reason),
            Event::OrderExpired(e) => check_text("reason", &e.reason),
            Event::TradingStateChanged(e) => check_text("reason", &e.reason),
            Event::OrderAccepted(e) => check_text("venue_order_id", &e.venue_order_id),
            Event::OrderTriggered(_) | Event::OrderReleased(_) => Ok(()),
            Event::CashAdjusted(e) => {
                check_text("asset", &e.asset)?;
                check_text("reason", &e.reason)
            }
            Event::BacktestStarted(e) => {
                if !is_valid_symbol(&e.symbol) {
                    return Err(InvariantError::Symbol(e.symbol.clone()));
                }
                check_text("strategy", &e.strategy)
            }
            Event::BacktestCompleted(e) => {
                if !is_valid_symbol(&e.symbol) {
                    return Err(InvariantError::Symbol(e.symbol.clone()));
                }
                if !e.total_return.is_finite() {
                    return Err(InvariantError::Broken(format!("backtest total_return must be finite, got {}", e.total_return)));
                }
                check_text("strategy", &e.strategy)?;
                check_text("event_stream_hash", &e.event_stream_hash)?;
                check_text("result_file", &e.result_file)
            }
            Event::BacktestFailed(e) => check_text("reason", &e.reason),
            Event::BacktestJobStarted(e) => {
                if !is_valid_symbol(&e.symbol) {
                    return Err(InvariantError::Symbol(e.symbol.clone()));
                }
                check_text("kind", &e.kind)?;
                check_text("strategy", &e.strategy)
            }
            Event::BacktestResultRemoved(e) => check_text("reason", &e.reason),
            Event::SessionOpened(e) => e.check(),
            Event::SessionStopRequested(e) => check_text("reason", &e.reason),
            Event::SessionInputDecided(_) => Ok(()),
            Event::RlTrainingStarted(e) => e.check(),
            Event::RlAgentTrained(e) => e.check(),
            Event::RlTrainingFailed(e) => check_text("reason", &e.reason),
            Event::ExecutionLimitsConfigured(e) if e.max_open_positions == 0 => {
                Err(InvariantError::Broken("max_open_positions must be >= 1".into()))
            }
            Event::ExecutionLimitsConfigured(_) => Ok(()),
            Event::JournalLossAccepted(e) if e.first_missing == 0 || e.first_missing > e.acknowledged_through => Err(
                InvariantError::Broken(format!("journal loss {}..={} is empty or starts at 0", e.first_missing, e.acknowledged_through)),
            ),
            Event::JournalLossAccepted(_) => Ok(()),
            Event::ExecutionConfigured(e) => {
                for (name, v) in [
                    ("transaction_costs", e.transaction_costs),
                    ("max_position_size", e.max_position_size),
                    ("max_drawdown", e.max_drawdown),
                ] {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(InvariantError::Broken(format!("{name} must be finite and >= 0, got {v}")));
                    }
                }
                if e.order_timeout_ns <= 0 {
                    return Err(InvariantError::Broken(format!("order_timeout_ns must be > 0, got {}", e.order_timeout_ns)));
                }
                e.live_venue.as_deref().map_or(Ok(()), |v| check_text("live_venue", v))
            }
            Event::MlTrainingStarted(e) => {
                if !is_valid_symbol(&e.symbol) {
                    return Err(InvariantError::Symbol(e.symbol.clone()));
                }
                check_text("name", &e.name)?;
                check_text("model_type", &e.model_type)?;
                check_text("request_json", &e.request_json)
            }
            Event::MlModelTrained(e) => {
                if !e.out_of_sample_score.is_finite() {
                    return Err(InvariantError::Broken(format!("out_of_sample_score must be finite, got {}", e.out_of_sample_score)));
                }
                check_text("model_file", &e.model_file)?;
                check_text("file_hash", &e.file_hash)
            }
            Event::MlTrainingFailed(e) => check_text("reason", &e.reason),
            Event::MlModelDeleted(e) => check_text("reason", &e.reason),
            Event::AiDecision(e) => e.check(),
        }
    }
}

/// The order invariants every journaled order satisfies (the execution core checks the
/// request in detail, with per-symbol precision, before it gets here).
fn check_order_spec(s: &OrderSpec) -> Result<(), InvariantError> {
    if !is_valid_symbol(&s.symbol) {
        return Err(InvariantError::Symbol(s.symbol.to_string()));
    }
    if !s.quantity.is_positive() {
        return Err(InvariantError::Broken(format!("order quantity must be > 0, got {}", s.quantity)));
    }
    if s.price.is_some_and(|p| !p.is_positive()) || s.stop_price.is_some_and(|p| !p.is_positive()) {
        return Err(InvariantError::Broken("order prices must be > 0".into()));
    }
    if s.client_order_id.is_empty() || s.client_order_id.len() > CLIENT_ORDER_ID_BYTES_MAX {
        return Err(InvariantError::Broken(format!("client_order_id must be 1..={CLIENT_ORDER_ID_BYTES_MAX} bytes")));
    }
    Ok(())
}
