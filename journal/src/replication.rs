//! The replication gate: in a replicated deployment (several service processes, one
//! leader), a record is *committed* when it is durable locally **and** stored by the
//! replication log (a JetStream stream the standbys follow). With the gate on, every
//! append's acknowledgement waits for both, so nothing a caller heard of (an HTTP answer,
//! a NATS ack) can be lost by the leader's machine dying: a standby that takes over has it.
//!
//! The journal knows nothing of NATS: whoever replicates reads durable records (waking on
//! [`crate::Journal::durable_changes`]), ships them, and calls [`ReplicationGate::advance`].
//! When replication can no longer be trusted (leadership lost, the log diverged), the
//! replicator calls [`crate::Journal::fail_replication`]: waiters get `Replication`, new
//! appends are refused, and the process must stop, because its next record might
//! contradict the new leader's.
//!
//! Off by default: a single process pays nothing (one `OnceLock` load per append).

use crate::error::JournalError;
use std::sync::{Condvar, Mutex};
use tokio::sync::watch;

#[derive(Debug, Clone, Default, PartialEq)]
struct GateState {
    /// Highest sequence the replication log holds.
    through: u64,
    /// Set once when replication failed for good.
    failed: Option<String>,
}

/// See the module docs. Shared by the journal (waiters) and the replicator (advances).
#[derive(Debug)]
pub struct ReplicationGate {
    state: Mutex<GateState>,
    changed: Condvar,
    watch: watch::Sender<GateState>,
}

impl ReplicationGate {
    pub(crate) fn new(through: u64) -> ReplicationGate {
        let state = GateState { through, failed: None };
        ReplicationGate { state: Mutex::new(state.clone()), changed: Condvar::new(), watch: watch::Sender::new(state) }
    }

    /// The highest replicated sequence.
    pub fn through(&self) -> u64 {
        self.state.lock().expect("gate lock").through
    }

    /// Records that the replication log holds every record up to `sequence`. Never moves
    /// backwards (a stale call is ignored).
    pub fn advance(&self, sequence: u64) {
        let mut s = self.state.lock().expect("gate lock");
        if sequence <= s.through {
            return;
        }
        s.through = sequence;
        let copy = s.clone();
        drop(s);
        self.changed.notify_all();
        self.watch.send_replace(copy);
    }

    /// Why replication failed, once it has.
    pub fn failure(&self) -> Option<String> {
        self.state.lock().expect("gate lock").failed.clone()
    }

    pub(crate) fn fail(&self, reason: String) {
        let mut s = self.state.lock().expect("gate lock");
        if s.failed.is_none() {
            s.failed = Some(reason);
        }
        let copy = s.clone();
        drop(s);
        self.changed.notify_all();
        self.watch.send_replace(copy);
    }

    fn verdict(s: &GateState, sequence: u64) -> Option<Result<(), JournalError>> {
        if s.through >= sequence {
            return Some(Ok(()));
        }
        s.failed.as_ref().map(|why| Err(JournalError::Replication(why.clone())))
    }

    /// Blocks the thread until `sequence` is replicated (or replication failed).
    pub(crate) fn wait_blocking(&self, sequence: u64) -> Result<(), JournalError> {
        let mut s = self.state.lock().expect("gate lock");
        loop {
            if let Some(v) = Self::verdict(&s, sequence) {
                return v;
            }
            s = self.changed.wait(s).expect("gate lock");
        }
    }

    /// Waits (async) until `sequence` is replicated (or replication failed).
    pub(crate) async fn wait(&self, sequence: u64) -> Result<(), JournalError> {
        let mut rx = self.watch.subscribe();
        let state = rx
            .wait_for(|s| Self::verdict(s, sequence).is_some())
            .await
            .map_err(|_| JournalError::Poisoned("the replication gate was dropped".into()))?;
        Self::verdict(&state, sequence).expect("wait_for returned a decided state")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waiters_wake_on_advance_and_on_failure() {
        let gate = Arc::new(ReplicationGate::new(3));
        assert!(gate.wait_blocking(3).is_ok(), "already replicated");
        let g = gate.clone();
        let waiter = std::thread::spawn(move || g.wait_blocking(5));
        gate.advance(4);
        gate.advance(2); // stale: ignored
        assert_eq!(gate.through(), 4);
        gate.advance(5);
        assert!(waiter.join().unwrap().is_ok());

        let g = gate.clone();
        let waiter = std::thread::spawn(move || g.wait_blocking(9));
        gate.fail("leadership lost".into());
        let err = waiter.join().unwrap().unwrap_err();
        assert!(err.to_string().contains("leadership lost"), "{err}");
        // Already replicated records still pass after a failure: they are safe.
        assert!(gate.wait_blocking(5).is_ok());
    }

    #[tokio::test]
    async fn async_waiters_too() {
        let gate = Arc::new(ReplicationGate::new(0));
        let g = gate.clone();
        let waiter = tokio::spawn(async move { g.wait(2).await });
        tokio::task::yield_now().await;
        gate.advance(2);
        assert!(waiter.await.unwrap().is_ok());
    }
}
