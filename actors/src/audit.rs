//! The audit chain of an order, read from the journal: what triggered it, what decided
//! it, the risk check, the order and every fill, each with its journal sequence.
//! `GET /api/audit/orders/{order_id}` and `tradpal audit order ID` serve it.
//!
//! How the links are made (no guessing):
//! - a session's order: its records carry the session id and, as causation id, the
//!   event id of the candle record it was decided on (`session::actor`); the session's
//!   `SessionOpened` gives the strategy and its parameters;
//! - an `ai_ensemble` session's order: the `AiDecision` its session journaled before it
//!   on the same input (same session id, same causation id);
//! - a smart-trade order: its client id is `ai-<sequence>` of the `AiDecision` record
//!   journaled before it, which holds the ML prediction (model id, version,
//!   probability), the RL part, the regime, the weights and the decision;
//! - the risk check: `OrderSubmitted.risk_note` (resized) or `OrderRejected` (refused).
//!
//! One pass over the journal (bounded by [`AUDIT_RECORDS_MAX`]), then direct reads.

use crate::execution::replay::compare::order_of;
use serde_json::{json, Value};
use tradpal_journal::{Journal, JournalError};
use tradpal_messages::{Envelope, Event, EventId, OrderId, SessionId};

/// Most journal records one audit scans (a bound on the work of one request).
pub const AUDIT_RECORDS_MAX: u64 = 50_000_000;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("no order {0} in the journal")]
    NotFound(OrderId),
    #[error("the journal has {0} records, more than an audit scans ({AUDIT_RECORDS_MAX})")]
    TooLarge(u64),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

fn record(env: &Envelope) -> Value {
    json!({ "sequence": env.sequence, "kind": env.kind.as_str(), "timestamp": env.timestamp, "session_id": env.session_id,
            "event": serde_json::to_value(&env.event).unwrap_or(Value::Null) })
}

/// What one pass over the journal finds.
#[derive(Default)]
struct Found {
    order: Vec<Envelope>,
    trigger: Option<u64>,
    opened: Option<u64>,
    /// The session's `AiDecision` on the order's input, if it has one.
    ai: Option<u64>,
}

fn scan(journal: &Journal, id: OrderId) -> Result<Found, AuditError> {
    let last = journal.last_sequence();
    if last > AUDIT_RECORDS_MAX {
        return Err(AuditError::TooLarge(last));
    }
    let mut found = Found::default();
    let mut cause: Option<EventId> = None;
    let mut session: Option<SessionId> = None;
    let mut by_event: Vec<(EventId, u64)> = Vec::new();
    let mut opened: Vec<(SessionId, u64)> = Vec::new();
    for env in journal.read_range(1, last) {
        let env = env?;
        match &env.event {
            Event::CandlesIngested(_) => by_event.push((env.event_id, env.sequence)),
            // A session's decision before its order on the same input (the latest wins).
            Event::AiDecision(_) if found.order.is_empty() && env.session_id.is_some() => {
                found.ai = Some(env.sequence);
                session = env.session_id;
                cause = env.causation_id.map(|c| EventId(c.0));
            }
            Event::SessionOpened(o) => opened.push((o.session_id, env.sequence)),
            e if order_of(e) == Some(id) => {
                if let Event::OrderSubmitted(_) = e {
                    let order_cause = env.causation_id.map(|c| EventId(c.0));
                    // The AiDecision seen last belongs to this order only if it was
                    // decided by the same session on the same input.
                    if found.ai.is_some() && (session != env.session_id || cause != order_cause) {
                        found.ai = None;
                    }
                    cause = order_cause;
                    session = env.session_id;
                }
                found.order.push(env);
            }
            _ => {}
        }
    }
    if found.order.is_empty() {
        return Err(AuditError::NotFound(id));
    }
    found.trigger = cause.and_then(|c| by_event.iter().find(|(e, _)| *e == c).map(|(_, s)| *s));
    found.opened = session.and_then(|s| opened.iter().find(|(o, _)| *o == s).map(|(_, seq)| *seq));
    Ok(found)
}

/// The audit chain of order `id`.
pub fn order_chain(journal: &Journal, id: OrderId) -> Result<Value, AuditError> {
    let found = scan(journal, id)?;
    let submitted = found.order.iter().find_map(|e| if let Event::OrderSubmitted(s) = &e.event { Some((e, s)) } else { None });
    let read = |seq: u64| -> Result<Option<Envelope>, AuditError> { Ok(journal.get(seq)?) };
    let trigger = match found.trigger.map(read).transpose()?.flatten() {
        Some(env) => match &env.event {
            Event::CandlesIngested(c) => json!({ "sequence": env.sequence, "symbol": c.symbol, "timeframe": c.timeframe,
                                                  "bar": c.candles.last(), "candles": c.candles.len() }),
            _ => Value::Null,
        },
        None => Value::Null,
    };
    let mut decision = Value::Null;
    if let Some(env) = found.opened.map(read).transpose()?.flatten() {
        if let Event::SessionOpened(o) = &env.event {
            decision = json!({ "kind": "session_strategy", "sequence": env.sequence, "session_id": o.session_id,
                               "strategy": o.config.strategy, "params": o.params, "timeframe": o.timeframe });
        }
    }
    let ai_seq = submitted.and_then(|(_, s)| s.spec.client_order_id.strip_prefix("ai-")).and_then(|s| s.parse::<u64>().ok());
    if let Some(env) = ai_seq.or(found.ai).map(read).transpose()?.flatten() {
        if let Event::AiDecision(d) = &env.event {
            let parsed: Value = serde_json::from_str(&d.decision_json).unwrap_or(Value::Null);
            let session = std::mem::take(&mut decision);
            decision = json!({ "kind": "ai_ensemble", "sequence": env.sequence, "symbol": d.symbol, "bar": d.bar, "session": session,
                               "action": d.action, "score": d.score, "confidence": d.confidence, "quantity": d.quantity,
                               "ml": parsed["inputs"]["ml"], "rl": parsed["inputs"]["rl"], "regime": parsed["inputs"]["regime"],
                               "weights": { "ml": parsed["ml"]["weight"], "rl": parsed["rl"]["weight"], "regime": parsed["regime"]["weight"] },
                               "decision": parsed });
        }
    }
    let rejected = found.order.iter().find_map(|e| match &e.event {
        Event::OrderRejected(r) => Some(json!({ "sequence": e.sequence, "source": r.source, "reason": r.reason })),
        _ => None,
    });
    let risk_check = match (submitted, rejected) {
        (_, Some(r)) => json!({ "result": "refused", "refusal": r }),
        (Some((e, s)), None) if !s.risk_note.is_empty() => {
            json!({ "result": "resized", "sequence": e.sequence, "note": s.risk_note, "requested": s.requested_quantity, "accepted": s.spec.quantity })
        }
        (Some((e, _)), None) => json!({ "result": "passed", "sequence": e.sequence }),
        (None, None) => Value::Null,
    };
    let fills: Vec<Value> = found.order.iter().filter(|e| matches!(e.event, Event::OrderFilled(_))).map(record).collect();
    Ok(json!({
        "order_id": id,
        "client_order_id": submitted.map(|(_, s)| s.spec.client_order_id.clone()),
        "session_id": submitted.and_then(|(e, _)| e.session_id),
        "trigger": trigger,
        "decision": decision,
        "risk_check": risk_check,
        "order": submitted.map(|(e, _)| record(e)),
        "fills": fills,
        "records": found.order.iter().map(record).collect::<Vec<_>>(),
    }))
}
