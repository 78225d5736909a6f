//! The session actor: owns the [`SessionBook`], journals every start and stop before
//! applying it, and rebuilds the book from the journal whenever it (re)starts.

use super::core::{SessionBook, SessionLimits};
use crate::context::{ActorError, RequestMeta, Services};
use crate::fault::Fault;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tradpal_messages::reply::{SessionStartedReply, SessionStoppedReply};
use tradpal_messages::{ErrorCode, ErrorReply, Event, EventKind, SessionInfo, StartSession, StopSession};

pub type Answer<T> = RpcReplyPort<Result<T, ErrorReply>>;

#[derive(Debug)]
pub enum SessionMsg {
    /// `idempotency_key`: the client's `Idempotency-Key`; a retry with the same key and
    /// body returns the original session, with another body a conflict.
    Start {
        cmd: StartSession,
        idempotency_key: Option<String>,
        meta: RequestMeta,
        reply: Answer<SessionStartedReply>,
    },
    Stop {
        cmd: StopSession,
        meta: RequestMeta,
        reply: Answer<SessionStoppedReply>,
    },
    /// Every session, ordered by id.
    List {
        reply: RpcReplyPort<Vec<SessionInfo>>,
    },
    Fault(Fault),
}

#[derive(Debug, Clone)]
pub struct SessionActor {
    pub services: Services,
    pub limits: SessionLimits,
}

/// Folds every session event of the journal into a fresh book.
pub async fn rebuild(services: &Services) -> Result<SessionBook, ActorError> {
    const KINDS: &[EventKind] = &[EventKind::SessionStarted, EventKind::SessionStopped];
    services
        .fold(KINDS, SessionBook::default(), |book, env| {
            book.apply(env);
            Ok(())
        })
        .await
}

impl Actor for SessionActor {
    type Msg = SessionMsg;
    type State = SessionBook;
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<SessionBook, ActorProcessingErr> {
        let book = rebuild(&self.services).await?;
        tracing::info!(sessions = book.list().count(), active = book.active_count(), "session actor rebuilt from journal");
        Ok(book)
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, msg: SessionMsg, book: &mut SessionBook) -> Result<(), ActorProcessingErr> {
        match msg {
            SessionMsg::Start { cmd, idempotency_key, meta, reply } => {
                let result = match idempotency_key {
                    Some(key) => self.start_once(book, &cmd, &key, &meta).await,
                    None => self.start(book, &cmd, None, &meta).await,
                };
                let _ = reply.send(result.map_err(|e| e.to_reply()));
            }
            SessionMsg::Stop { cmd, meta, reply } => {
                let result = self.stop(book, &cmd, &meta).await;
                let _ = reply.send(result.map_err(|e| e.to_reply()));
            }
            SessionMsg::List { reply } => {
                let _ = reply.send(book.list().cloned().collect());
            }
            SessionMsg::Fault(f) => return Err(f.trigger("session")),
        }
        Ok(())
    }
}

/// Prefix of the journal idempotency keys of session starts.
pub const IDEMPOTENCY_PREFIX: &str = "start-session:";

/// The answer to a repeated start: the original session if the body matches.
fn replay_start(book: &SessionBook, cmd: &StartSession, env: &tradpal_messages::Envelope) -> Result<SessionStartedReply, ActorError> {
    let Event::SessionStarted(started) = &env.event else {
        return Err(ErrorReply::new(ErrorCode::Internal, "idempotency key names a record that is not a session start").into());
    };
    let c = &started.config;
    let same = c.symbol == cmd.symbol
        && c.capital == cmd.capital
        && c.strategy == cmd.strategy
        && c.risk_per_trade == cmd.risk_per_trade
        && c.mode == cmd.mode;
    if !same {
        return Err(ErrorReply::new(ErrorCode::Conflict, "this Idempotency-Key was already used with a different request body").into());
    }
    let session = book
        .get(started.session_id)
        .cloned()
        .ok_or_else(|| ActorError::Refused(ErrorReply::new(ErrorCode::Internal, "idempotent session start not found in the book")))?;
    Ok(SessionStartedReply { session_id: started.session_id, status: session.status, session, replayed: true })
}

impl SessionActor {
    /// Starts a session unless one was already started under this idempotency key.
    /// The journal's key index is the memory, so this holds across restarts.
    async fn start_once(
        &self,
        book: &mut SessionBook,
        cmd: &StartSession,
        key: &str,
        meta: &RequestMeta,
    ) -> Result<SessionStartedReply, ActorError> {
        let journal_key = format!("{IDEMPOTENCY_PREFIX}{key}");
        if let Some(env) = self.services.journal.find_by_key(&journal_key)? {
            return replay_start(book, cmd, &env);
        }
        self.start(book, cmd, Some(journal_key), meta).await
    }

    async fn start(
        &self,
        book: &mut SessionBook,
        cmd: &StartSession,
        journal_key: Option<String>,
        meta: &RequestMeta,
    ) -> Result<SessionStartedReply, ActorError> {
        let id = self.services.next_session_id();
        let event = book.decide_start(cmd, id, &self.limits)?;
        let mut draft = self.services.draft(meta, event);
        draft.idempotency_key = journal_key;
        let event_id = draft.event_id;
        let env = self.services.record(draft).await?;
        if env.event_id != event_id {
            // Another writer journaled this key first; answer with its session.
            return replay_start(book, cmd, &env);
        }
        book.apply(&env);
        tracing::info!(session_id = %id, symbol = %cmd.symbol, sequence = env.sequence, "session started");
        let session = book.get(id).cloned().expect("a just-applied start is in the book");
        Ok(SessionStartedReply { session_id: id, status: session.status, session, replayed: false })
    }

    async fn stop(&self, book: &mut SessionBook, cmd: &StopSession, meta: &RequestMeta) -> Result<SessionStoppedReply, ActorError> {
        let event = book.decide_stop(cmd)?;
        debug_assert!(matches!(event, Event::SessionStopped(_)));
        let env = self.services.record(self.services.draft(meta, event)).await?;
        book.apply(&env);
        tracing::info!(session_id = %cmd.session_id, sequence = env.sequence, "session stopped");
        let session = book.get(cmd.session_id).cloned().expect("a stopped session is in the book");
        Ok(SessionStoppedReply { session_id: cmd.session_id, status: session.status, session })
    }
}
