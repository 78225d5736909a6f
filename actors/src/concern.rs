//! The actor for a concern whose capability has not been built yet.
//!
//! It exists so that the supervision tree has its final shape from day one: it is
//! spawned, supervised, restarted, and reported in `/api/trading/status`. It answers
//! health pings and fault injection and does nothing else; the HTTP routes of its
//! concern answer `501 not_implemented` and say so.

use crate::fault::Fault;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

#[derive(Debug)]
pub enum ConcernMsg {
    /// Replies with the actor's name once its mailbox reaches this message.
    Ping(RpcReplyPort<String>),
    Fault(Fault),
}

/// A not-yet-built concern, identified by its registered name.
#[derive(Debug, Clone)]
pub struct ConcernActor {
    pub name: &'static str,
}

impl Actor for ConcernActor {
    type Msg = ConcernMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, msg: ConcernMsg, _state: &mut ()) -> Result<(), ActorProcessingErr> {
        match msg {
            ConcernMsg::Ping(reply) => {
                let _ = reply.send(self.name.to_string());
                Ok(())
            }
            ConcernMsg::Fault(f) => Err(f.trigger(self.name)),
        }
    }
}
