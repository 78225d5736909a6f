//! What every actor is handed at spawn: the shared services and request metadata.

use std::sync::{Arc, Mutex};
use tradpal_journal::Journal;
use tradpal_messages::{Clock, CorrelationId, Envelope, EnvelopeDraft, ErrorCode, ErrorReply, Event, IdGenerator};

/// Where journaled events go next (the bus). Called only after the append is durable.
pub trait EventSink: Send + Sync + std::fmt::Debug {
    fn publish(&self, envelope: Arc<Envelope>);
}

/// Who asked: flows from the HTTP request (or bus message) into every journal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub correlation_id: CorrelationId,
}

impl RequestMeta {
    /// The span of one actor message: a child of the caller's span (ractor carries it
    /// with the message), naming the actor, the message and the request's ids, so a
    /// trace (and a log line) ties the HTTP request to what the actor did and journaled.
    pub fn span(&self, actor: &'static str, message: &'static str) -> tracing::Span {
        tracing::info_span!(
            "actor.message",
            otel.name = format!("{actor} {message}"),
            actor,
            message,
            correlation_id = %self.correlation_id,
            request_id = self.request_id.as_deref().unwrap_or("-"),
        )
    }
}

/// Errors an actor hands back to its caller.
#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    /// The request was refused; nothing was journaled. Safe to show to the user.
    #[error(transparent)]
    Refused(#[from] ErrorReply),
    /// The journal failed. Fatal ones (I/O, corruption) stop the service.
    #[error("journal: {0}")]
    Journal(#[from] tradpal_journal::JournalError),
}

impl ActorError {
    /// The reply to give the caller.
    pub fn to_reply(&self) -> ErrorReply {
        use tradpal_journal::JournalError as J;
        match self {
            ActorError::Refused(r) => r.clone(),
            ActorError::Journal(e @ (J::Invalid(_) | J::TooLarge { .. })) => ErrorReply::new(ErrorCode::BadRequest, e.to_string()),
            ActorError::Journal(J::Closed) => ErrorReply::new(ErrorCode::Unavailable, "the service is shutting down"),
            ActorError::Journal(J::Replication(why)) => ErrorReply::new(
                ErrorCode::Unavailable,
                format!("this node is no longer the leader ({why}); nothing was recorded here: retry, the new leader answers"),
            ),
            ActorError::Journal(e) => ErrorReply::new(ErrorCode::Internal, format!("journal append failed: {e}")),
        }
    }
}

/// Raised once when the journal fails fatally (I/O error, corruption): the binary
/// watches it and stops the process, naming the problem. Nothing may act on state
/// that could not be recorded.
#[derive(Debug, Clone)]
pub struct FatalSignal(Arc<tokio::sync::watch::Sender<Option<String>>>);

impl Default for FatalSignal {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::channel(None).0))
    }
}

impl FatalSignal {
    pub fn raise(&self, why: String) {
        tracing::error!(%why, "fatal: stopping the service");
        self.0.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(why);
                true
            } else {
                false
            }
        });
    }

    /// Resolves with the reason once raised.
    pub async fn raised(&self) -> String {
        let mut rx = self.0.subscribe();
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

/// Shared services. Cheap to clone (all handles).
/// Why [`Services::fold`]'s `apply` refused an event: each actor's own error type (every
/// actor folds different events), boxed; only its text is used, in the rebuild's
/// `journal sequence N: ...` answer.
pub type FoldError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone)]
pub struct Services {
    pub journal: Journal,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<Mutex<IdGenerator>>,
    pub sink: Arc<dyn EventSink>,
    pub fatal: FatalSignal,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("last_sequence", &self.journal.last_sequence()).field("clock", &self.clock).finish()
    }
}

impl Services {
    /// A draft for `event` stamped with the clock and the request's ids.
    pub fn draft(&self, meta: &RequestMeta, event: Event) -> EnvelopeDraft {
        let event_id = self.ids.lock().expect("id generator lock poisoned").event_id();
        EnvelopeDraft::new(event_id, self.clock.now(), meta.correlation_id, event).with_request_id(meta.request_id.clone())
    }

    /// A draft stamped with `at` instead of the clock's now: for actors whose core
    /// already used `at` (the journaled time and the applied time must agree).
    pub fn draft_at(&self, meta: &RequestMeta, event: Event, at: tradpal_messages::Timestamp) -> EnvelopeDraft {
        let event_id = self.ids.lock().expect("id generator lock poisoned").event_id();
        EnvelopeDraft::new(event_id, at, meta.correlation_id, event).with_request_id(meta.request_id.clone())
    }

    /// Journals the draft (durably) and then publishes it. Only after this returns may
    /// the caller apply the event to its state or reply.
    pub async fn record(&self, draft: EnvelopeDraft) -> Result<Envelope, ActorError> {
        let envelope = self.journal.append_async(draft).await.inspect_err(|e| {
            if e.is_fatal() {
                self.fatal.raise(e.to_string());
            }
        })?;
        self.sink.publish(Arc::new(envelope.clone()));
        Ok(envelope)
    }

    /// Journals the drafts as one all-or-nothing batch (one write, one fsync), then
    /// publishes each. Only after this returns may the caller apply them.
    pub async fn record_batch(&self, drafts: Vec<EnvelopeDraft>) -> Result<Vec<Envelope>, ActorError> {
        let envelopes = self.journal.append_batch_async(drafts).await.inspect_err(|e| {
            if e.is_fatal() {
                self.fatal.raise(e.to_string());
            }
        })?;
        for e in &envelopes {
            self.sink.publish(Arc::new(e.clone()));
        }
        Ok(envelopes)
    }

    /// Checks and *queues* the drafts as one batch, in call order, and returns a future
    /// that resolves (and publishes them) once they are durable. For single writers that
    /// pipeline (the execution actor): many decisions share one fsync. The caller must
    /// not answer anyone about these events before the future resolves.
    pub async fn enqueue_batch(
        &self,
        drafts: Vec<EnvelopeDraft>,
    ) -> Result<impl std::future::Future<Output = Result<Vec<Envelope>, ActorError>> + Send + 'static, ActorError> {
        for d in &drafts {
            d.check_invariants()
                .map_err(|e| ErrorReply::new(ErrorCode::Internal, format!("refusing to journal an invalid record: {e}")))?;
        }
        let raise = |e: &tradpal_journal::JournalError, fatal: &FatalSignal| {
            if e.is_fatal() {
                fatal.raise(e.to_string());
            }
        };
        let pending = self.journal.enqueue_batch(drafts).await.inspect_err(|e| raise(e, &self.fatal))?;
        let (sink, fatal) = (self.sink.clone(), self.fatal.clone());
        Ok(async move {
            let envelopes = pending.await.inspect_err(|e| raise(e, &fatal))?;
            for e in &envelopes {
                sink.publish(Arc::new(e.clone()));
            }
            Ok(envelopes)
        })
    }

    /// Folds every journaled event of the given kinds, in sequence order, into `state`:
    /// how an actor rebuilds itself on (re)start. Runs on a blocking thread (it reads the
    /// journal from disk). `apply` may refuse an event with its own error ([`FoldError`]);
    /// that stops the fold with the event's sequence named.
    pub async fn fold<S: Send + 'static>(
        &self,
        kinds: &'static [tradpal_messages::EventKind],
        mut state: S,
        apply: impl Fn(&mut S, &Envelope) -> Result<(), FoldError> + Send + 'static,
    ) -> Result<S, ActorError> {
        let journal = self.journal.clone();
        let task = tokio::task::spawn_blocking(move || -> Result<S, ActorError> {
            let last = journal.last_sequence();
            if last == 0 {
                return Ok(state);
            }
            for env in journal.read_range(1, last) {
                let env = env?;
                if kinds.contains(&env.kind) {
                    apply(&mut state, &env)
                        .map_err(|why| ErrorReply::new(ErrorCode::Internal, format!("journal sequence {}: {why}", env.sequence)))?;
                }
            }
            Ok(state)
        });
        task.await.map_err(|e| ActorError::Refused(ErrorReply::new(ErrorCode::Internal, format!("rebuild task failed: {e}"))))?
    }

    pub fn next_session_id(&self) -> tradpal_messages::SessionId {
        self.ids.lock().expect("id generator lock poisoned").session_id()
    }
}

/// Calls the actor registered as `name` and waits up to `timeout_ms` for its answer: the
/// one way an actor asks another (a restarting or silent actor is a 503 naming it).
pub async fn ask<M: ractor::Message, T: Send + 'static>(
    name: &str,
    timeout_ms: u64,
    msg: impl FnOnce(ractor::RpcReplyPort<T>) -> M,
) -> Result<T, ErrorReply> {
    let actor = ractor::ActorRef::<M>::where_is(name)
        .ok_or_else(|| ErrorReply::new(ErrorCode::Unavailable, format!("the {name} actor is restarting; retry")))?;
    crate::calls::call(&actor, name, timeout_ms, msg).await
}
