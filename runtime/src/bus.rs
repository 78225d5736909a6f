//! The in-process bus: journaled events fan out to every subscriber.
//!
//! Events are published only after the journal made them durable, so a subscriber
//! that falls behind (more than `bus_events_max` events) loses nothing that matters:
//! it is told how many it missed and can read them back from the journal by sequence.

use std::sync::Arc;
use tokio::sync::broadcast;
use tradpal_actors::EventSink;
use tradpal_messages::Envelope;

/// Events buffered per subscriber before the slowest one starts to lag.
pub const BUS_EVENTS_MAX: usize = 4096;

#[derive(Debug, Clone)]
pub struct InProcessBus {
    tx: broadcast::Sender<Arc<Envelope>>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(BUS_EVENTS_MAX)
    }
}

impl InProcessBus {
    pub fn new(bus_events_max: usize) -> Self {
        let (tx, _) = broadcast::channel(bus_events_max);
        Self { tx }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.tx.subscribe()
    }
}

impl EventSink for InProcessBus {
    fn publish(&self, envelope: Arc<Envelope>) {
        // No subscribers is fine: the journal is the record, the bus only notifies.
        let _ = self.tx.send(envelope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::*;

    #[tokio::test]
    async fn subscribers_see_events_in_order_and_lag_is_reported() {
        let bus = InProcessBus::new(4);
        let mut rx = bus.subscribe();
        for seq in 1..=6u64 {
            let ev = Event::SessionStopped(SessionStopped { session_id: SessionId(1), reason: "r".into() });
            bus.publish(Arc::new(EnvelopeDraft::new(EventId(seq as u128), Timestamp(0), CorrelationId(0), ev).seal(seq)));
        }
        match rx.recv().await {
            Err(broadcast::error::RecvError::Lagged(n)) => assert_eq!(n, 2),
            other => panic!("expected lag, got {other:?}"),
        }
        assert_eq!(rx.recv().await.unwrap().sequence, 3);
    }
}
