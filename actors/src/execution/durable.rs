//! The execution actor's durability watermark: it queues journal batches without
//! waiting for their fsync (so many decisions share one), and answers nobody until
//! everything it had queued when the answer was ready is durable.
//!
//! Why every answer waits, reads too: the core's state runs ahead of the disk by the
//! queued batches. A reader (or a duplicate submission answered "already exists") must
//! not see a fact that a crash could still erase. Batches become durable in queue order
//! (one journal writer), so one number — the highest durable ticket — says it all.

use crate::context::ActorError;
use crate::session::actor::Answer;
use std::future::Future;
use tokio::sync::watch;
use tradpal_messages::{ErrorCode, ErrorReply};

/// Why [`Pipeline::durable`] did not resolve to durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotDurable {
    #[error("the execution actor stopped")]
    Stopped,
    /// The journal refused a queued batch (its error's text); the actor restarts.
    #[error("{0}")]
    JournalFailed(String),
}

/// Highest durable ticket, or the failure that stopped the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Watermark {
    Durable(u64),
    Failed(String),
}

#[derive(Debug)]
pub struct Pipeline {
    /// Tickets handed out (one per queued batch).
    queued: u64,
    tx: watch::Sender<Watermark>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline { queued: 0, tx: watch::channel(Watermark::Durable(0)).0 }
    }
}

impl Pipeline {
    /// Watches a queued batch: moves the watermark when it is durable, or marks the
    /// pipeline failed (and calls `on_error`, which stops the actor) when it is not.
    pub fn track(
        &mut self,
        durable: impl Future<Output = Result<(), ActorError>> + Send + 'static,
        on_error: impl FnOnce(String) + Send + 'static,
    ) {
        self.queued += 1;
        let (ticket, tx) = (self.queued, self.tx.clone());
        tokio::spawn(async move {
            match durable.await {
                Ok(()) => {
                    tx.send_modify(|w| {
                        if let Watermark::Durable(d) = w {
                            *d = (*d).max(ticket);
                        }
                    });
                }
                Err(e) => {
                    let why = e.to_string();
                    tx.send_replace(Watermark::Failed(why.clone()));
                    on_error(why);
                }
            }
        });
    }

    /// Resolves once every batch queued so far is durable (`Err` if the pipeline
    /// failed or the actor stopped): live orders reach the venue only after their
    /// `OrderSubmitted` is on disk.
    pub fn durable(&self) -> impl Future<Output = Result<(), NotDurable>> + Send + 'static {
        let want = self.queued;
        let mut rx = self.tx.subscribe();
        async move {
            let w = rx
                .wait_for(|w| match w {
                    Watermark::Durable(d) => *d >= want,
                    Watermark::Failed(_) => true,
                })
                .await
                .map_err(|_| NotDurable::Stopped)?
                .clone();
            match w {
                Watermark::Durable(_) => Ok(()),
                Watermark::Failed(why) => Err(NotDurable::JournalFailed(why)),
            }
        }
    }

    /// Sends `answer` once every batch queued so far is durable (at once if it is).
    pub fn reply<T: Send + 'static>(&self, reply: Answer<T>, answer: Result<T, ErrorReply>) {
        let want = self.queued;
        let mut rx = self.tx.subscribe();
        if matches!(&*rx.borrow(), Watermark::Durable(d) if *d >= want) {
            let _ = reply.send(answer);
            return;
        }
        tokio::spawn(async move {
            let outcome = rx
                .wait_for(|w| match w {
                    Watermark::Durable(d) => *d >= want,
                    Watermark::Failed(_) => true,
                })
                .await
                .map(|w| w.clone());
            let answer = match outcome {
                Ok(Watermark::Durable(_)) => answer,
                Ok(Watermark::Failed(why)) => Err(ErrorReply::new(
                    ErrorCode::Unavailable,
                    format!("the journal refused a write ({why}); the execution actor restarts; retry"),
                )),
                Err(_) => Err(ErrorReply::new(ErrorCode::Unavailable, "the execution actor stopped; retry")),
            };
            let _ = reply.send(answer);
        });
    }
}
