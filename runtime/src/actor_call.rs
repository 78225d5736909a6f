//! Calling an actor from the edges (HTTP, NATS commands and ingest, the metrics sampler):
//! find its current incarnation, waiting briefly while it restarts, then
//! `tradpal_actors::calls::call` (the one call path, counted per actor). Actors asking
//! each other use `tradpal_actors::context::ask`, which does not wait for a restart.

use ractor::{ActorRef, RpcReplyPort};
use std::time::Duration;
use tradpal_messages::{ErrorCode, ErrorReply};

/// How long a request waits for a restarting actor to come back.
pub const ACTOR_WAIT_MS: u64 = 2_000;
/// How long a request waits for an actor's answer.
pub const CALL_TIMEOUT_MS: u64 = 10_000;

/// The current incarnation of the actor registered as `name`, waiting briefly if it is
/// restarting.
// A real-time wait for a restarting actor (the edge).
#[allow(clippy::disallowed_methods)]
pub async fn find_actor<M: ractor::Message>(name: &str) -> Result<ActorRef<M>, ErrorReply> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ACTOR_WAIT_MS);
    loop {
        if let Some(actor) = ActorRef::<M>::where_is(name) {
            return Ok(actor);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ErrorReply::new(ErrorCode::Unavailable, format!("the {name} actor is restarting; retry shortly")));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Sends one request to the actor registered as `name` and waits for its answer (503
/// naming the actor when it is restarting, silent or failed).
pub async fn call_actor<M: ractor::Message, T: Send + 'static>(
    name: &str,
    msg: impl FnOnce(RpcReplyPort<T>) -> M,
) -> Result<T, ErrorReply> {
    let actor = find_actor::<M>(name).await?;
    tradpal_actors::calls::call(&actor, name, CALL_TIMEOUT_MS, msg).await
}
