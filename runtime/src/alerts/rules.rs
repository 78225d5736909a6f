//! Which journaled events are alerts (pure: no I/O, no clock; tested alone).
//!
//! An event-derived alert's id is `{kind}-{journal sequence}`: one record, one alert, and
//! the same id wherever it is seen again (a webhook retry, a second subscriber).

use super::{Alert, AlertKind, Severity};
use tradpal_messages::{Envelope, Event, RejectSource, TradingState};

/// The state the rules keep between events.
#[derive(Debug, Default)]
pub struct AlertRules {
    /// The kill switch's last known state: a change to the state it is already in is
    /// not a change (no alert), whoever journaled it.
    kill_switch: Option<TradingState>,
}

impl AlertRules {
    /// The alert this event raises, if any.
    pub fn on_event(&mut self, env: &Envelope) -> Option<Alert> {
        let seq = env.sequence;
        let at_ms = env.timestamp.0 / 1_000_000;
        let session = env.session_id.map(|s| s.to_string());
        let alert = |kind: AlertKind, severity: Severity, message: String, details: serde_json::Value| Alert {
            id: format!("{}-{seq}", kind.as_str()),
            kind,
            severity,
            message,
            at_unix_ms: at_ms,
            sequence: Some(seq),
            session_id: session.clone(),
            details,
        };
        match &env.event {
            Event::RiskLimitBreached(b) => Some(alert(
                AlertKind::LimitBreach,
                Severity::Critical,
                format!("risk limit {} breached: {} >= {} (excess {})", b.limit, b.value, b.threshold, b.excess),
                serde_json::json!({ "limit": b.limit, "value": b.value, "threshold": b.threshold, "excess": b.excess }),
            )),
            Event::OrderRejected(r) if r.source == RejectSource::Risk => Some(alert(
                AlertKind::LimitBreach,
                Severity::Warning,
                format!("order {} refused by a risk limit: {}", r.order_id, r.reason),
                serde_json::json!({ "order_id": r.order_id.to_string(), "reason": r.reason }),
            )),
            Event::TradingStateChanged(c) => {
                let before = self.kill_switch.unwrap_or(c.from);
                self.kill_switch = Some(c.to);
                (before != c.to).then(|| {
                    let severity = if c.to == TradingState::Active { Severity::Info } else { Severity::Critical };
                    alert(
                        AlertKind::KillSwitch,
                        severity,
                        format!("kill switch {} -> {}: {}", before.as_str(), c.to.as_str(), c.reason),
                        serde_json::json!({ "from": before.as_str(), "to": c.to.as_str(), "reason": c.reason }),
                    )
                })
            }
            Event::ActorRestarted(a) => {
                let (severity, what) = if a.restarted { (Severity::Warning, "restarted") } else { (Severity::Critical, "failed for good") };
                Some(alert(
                    AlertKind::ActorRestart,
                    severity,
                    format!("actor {} {what} (restart {}): {}", a.actor, a.restart_count, a.reason),
                    serde_json::json!({ "actor": a.actor, "restart_count": a.restart_count, "restarted": a.restarted, "reason": a.reason }),
                ))
            }
            // The session runner's own limits stop it with "<limit> breached: ...".
            Event::SessionStopped(s) if s.reason.contains(" breached") => Some(alert(
                AlertKind::SessionRiskStop,
                Severity::Critical,
                format!("session {} stopped by its risk controls: {}", s.session_id, s.reason),
                serde_json::json!({ "reason": s.reason }),
            )),
            _ => None,
        }
    }
}

/// Group commits whose write + fsync took longer than [`super::JOURNAL_STALL_US`], from
/// the journal's log2 histogram: bucket `i` holds times in `(2^(i-1), 2^i]` µs, so the
/// buckets above the threshold's own are the ones surely slower than it.
pub fn slow_commits(fsync_micros_log2: &[u64]) -> u64 {
    let first = (super::JOURNAL_STALL_US.trailing_zeros() + 1) as usize;
    fsync_micros_log2.iter().skip(first).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::{CorrelationId, EventId, Timestamp, TradingStateChanged};

    fn env(sequence: u64, event: Event) -> Envelope {
        Envelope {
            sequence,
            event_id: EventId(u128::from(sequence)),
            timestamp: Timestamp(1_700_000_000_000_000_000),
            session_id: None,
            correlation_id: CorrelationId(0),
            causation_id: None,
            request_id: None,
            idempotency_key: None,
            kind: event.kind(),
            event,
        }
    }

    fn switch(from: TradingState, to: TradingState) -> Event {
        Event::TradingStateChanged(TradingStateChanged { from, to, reason: "test".into() })
    }

    #[test]
    fn a_kill_switch_state_repeated_does_not_alert_again() {
        let mut rules = AlertRules::default();
        let first = rules.on_event(&env(7, switch(TradingState::Active, TradingState::Halted))).unwrap();
        assert_eq!((first.id.as_str(), first.kind), ("kill_switch-7", AlertKind::KillSwitch));
        assert!(first.message.contains("active -> halted"), "{}", first.message);
        assert!(rules.on_event(&env(8, switch(TradingState::Halted, TradingState::Halted))).is_none());
        assert!(rules.on_event(&env(9, switch(TradingState::Active, TradingState::Halted))).is_none());
        let back = rules.on_event(&env(10, switch(TradingState::Halted, TradingState::Active))).unwrap();
        assert_eq!(back.severity, Severity::Info);
    }

    #[test]
    fn slow_commits_count_only_buckets_past_the_threshold() {
        let mut buckets = [0u64; 24];
        buckets[19] = 5; // (2^18, 2^19] µs: at most the threshold
        assert_eq!(slow_commits(&buckets), 0);
        buckets[20] = 2;
        buckets[23] = 1;
        assert_eq!(slow_commits(&buckets), 3);
    }
}
