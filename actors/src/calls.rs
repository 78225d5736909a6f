//! The one way anything calls an actor and waits for its answer: [`call`]. Actors asking
//! each other (`context::ask`), the HTTP adapter and the NATS commands all come here, so
//! the error wording is one and the calls waiting on each actor are counted in one place
//! ([`in_flight`]: queued in its mailbox or being handled, read by `/metrics`).
//!
//! Why count here: ractor does not expose a mailbox's length. Calls waiting for an answer
//! are the backlog callers feel; casts (fire-and-forget) are not counted.

use ractor::rpc::CallResult;
use ractor::{ActorRef, RpcReplyPort};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tradpal_messages::{ErrorCode, ErrorReply};

/// Calls waiting per actor name (a gauge; names are the registered ones, a handful).
static IN_FLIGHT: LazyLock<Mutex<BTreeMap<String, Arc<AtomicI64>>>> = LazyLock::new(Default::default);

fn gauge(name: &str) -> Arc<AtomicI64> {
    let mut map = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(name.to_string()).or_default().clone()
}

/// Decrements on drop, so a cancelled caller (an HTTP client that went away) is counted
/// out too.
struct Counted(Arc<AtomicI64>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Calls waiting for an answer, per actor name, in name order.
pub fn in_flight() -> Vec<(String, i64)> {
    let map = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
    map.iter().map(|(name, n)| (name.clone(), n.load(Ordering::Relaxed).max(0))).collect()
}

/// Sends `msg` to `actor` (registered as `name`) and waits up to `timeout_ms` for the
/// answer. A timeout, a failure while handling it or a dead actor is a 503 naming the
/// actor: the caller may retry.
pub async fn call<M: ractor::Message, T: Send + 'static>(
    actor: &ActorRef<M>,
    name: &str,
    timeout_ms: u64,
    msg: impl FnOnce(RpcReplyPort<T>) -> M,
) -> Result<T, ErrorReply> {
    let counter = gauge(name);
    counter.fetch_add(1, Ordering::Relaxed);
    let _counted = Counted(counter);
    let unavailable = |m: String| ErrorReply::new(ErrorCode::Unavailable, m);
    match actor.call(msg, Some(Duration::from_millis(timeout_ms))).await {
        Ok(CallResult::Success(v)) => Ok(v),
        Ok(CallResult::Timeout) => Err(unavailable(format!("the {name} actor did not answer in {timeout_ms} ms"))),
        Ok(CallResult::SenderError) => Err(unavailable(format!("the {name} actor failed while handling the request; retry"))),
        Err(e) => Err(unavailable(format!("the {name} actor is unavailable: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ractor::{Actor, ActorProcessingErr};

    struct Slow;
    impl Actor for Slow {
        type Msg = RpcReplyPort<u32>;
        type State = ();
        type Arguments = ();
        async fn pre_start(&self, _: ActorRef<Self::Msg>, _: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }
        async fn handle(&self, _: ActorRef<Self::Msg>, reply: Self::Msg, _: &mut ()) -> Result<(), ActorProcessingErr> {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = reply.send(7);
            Ok(())
        }
    }

    #[tokio::test]
    async fn calls_waiting_on_an_actor_are_counted_until_answered_or_abandoned() {
        let (actor, handle) = Actor::spawn(None, Slow, ()).await.unwrap();
        let name = "calls-test-slow";
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let a = actor.clone();
                tokio::spawn(async move { call(&a, name, 5_000, |r| r).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = |n: &str| in_flight().into_iter().find(|(k, _)| k == n).map_or(0, |(_, v)| v);
        assert_eq!(waiting(name), 3, "one being handled, two queued");
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap(), 7);
        }
        assert_eq!(waiting(name), 0);
        // A caller that gives up is counted out; a timeout names the actor.
        let err = call(&actor, name, 10, |r| r).await.unwrap_err();
        assert!(err.message.contains("calls-test-slow actor did not answer in 10 ms"), "{err:?}");
        assert_eq!(waiting(name), 0);
        actor.stop(None);
        handle.await.unwrap();
    }
}
