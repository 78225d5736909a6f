//! What the backtest actor and its job kinds share, so the dependency runs one way:
//! `actor.rs` -> `optimize_job.rs` / `walk_forward_job.rs` / `retention.rs` -> here.
//! The job files add their start methods to [`BacktestActor`] and finish through
//! [`finish`] / [`complete`]; before this file they reached back into `actor.rs` for
//! these items while `actor.rs` called them (a circle).
//!
//! Here: the actor's struct and messages (re-exported by `actor.rs`, their public path),
//! a job's index [`Entry`], the answer [`RunAccepted`], the error replies of a refused
//! request, the single search slot ([`search_slot_free`]), and the start and end of
//! every job in the journal ([`BacktestActor::journal_start`], [`finish`]).

use super::error::BacktestError;
use super::files::ResultFileError;
use super::job_kind::JobKind;
use super::optimize::OptimizeError;
use super::optimize_request::OptimizeRequest;
use super::request::{RequestError, RunRequest};
use super::walk_forward_request::WalkForwardRequest;
use crate::context::{RequestMeta, Services};
use crate::names;
use crate::reason::journal_reason;
pub use crate::reason::REASON_BYTES_MAX;
use crate::session::actor::Answer;
use ractor::ActorRef;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use tradpal_messages::{BacktestCompleted, BacktestFailed, BacktestId, BacktestJobStarted, ErrorCode, ErrorReply, Event, Timeframe};

/// Why a job failed after it was accepted; its text is the `BacktestFailed` reason
/// (journaled, shown by `results/{id}`), truncated to [`REASON_BYTES_MAX`].
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The engine, the search or the walk-forward refused (bad data, a bust account ...).
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    #[error(transparent)]
    Search(#[from] OptimizeError),
    #[error(transparent)]
    ResultFile(#[from] ResultFileError),
    /// The blocking thread panicked or was cancelled; `what` names the job.
    #[error("the {what} thread failed: {why}")]
    Thread { what: String, why: String },
    /// The result file was written but `BacktestCompleted` could not be journaled.
    #[error("the result was written but its journal record failed: {0}")]
    NotJournaled(String),
}

/// Optimisations that may run at once: each already uses every core.
pub const OPTIMIZATIONS_RUNNING_MAX: usize = 1;

#[derive(Debug)]
pub enum BacktestMsg {
    Run {
        req: Box<RunRequest>,
        meta: RequestMeta,
        reply: Answer<RunAccepted>,
    },
    /// The headline of a run (`results/{id}`).
    Results {
        id: BacktestId,
        reply: Answer<Value>,
    },
    /// The full report of a finished run (`performance/{id}`).
    Performance {
        id: BacktestId,
        reply: Answer<Value>,
    },
    /// An optimisation (`POST /api/backtest/optimize`; see `optimize_job.rs`).
    Optimize {
        req: Box<OptimizeRequest>,
        meta: RequestMeta,
        reply: Answer<RunAccepted>,
    },
    /// A walk-forward (`POST /api/backtest/walk-forward`; see `walk_forward_job.rs`).
    WalkForward {
        req: Box<WalkForwardRequest>,
        meta: RequestMeta,
        reply: Answer<RunAccepted>,
    },
    /// The HTML report of a finished run (`report/{id}`).
    Report {
        id: BacktestId,
        reply: Answer<String>,
    },
    /// Internal: a run ended (its file written and its end journaled, or not).
    /// `meta` is the job's request's: a retention removal it triggers is journaled under it.
    Finished {
        id: BacktestId,
        outcome: Result<String, JobError>,
        meta: RequestMeta,
    },
}

/// The answer to `Run`.
#[derive(Debug, Clone, Serialize)]
pub struct RunAccepted {
    pub backtest_id: BacktestId,
    /// `run`, `optimize` or `walk_forward`.
    pub kind: JobKind,
    pub status: &'static str,
    pub symbol: String,
    pub timeframe: Timeframe,
    pub strategy: String,
    pub bars: usize,
}

#[derive(Debug, Clone)]
pub enum Entry {
    /// `done` counts bars (a run) or engine runs (an optimisation) up to `total`.
    Running {
        done: Arc<AtomicUsize>,
        total: usize,
        kind: JobKind,
    },
    Completed {
        file: String,
    },
    /// `kind` is `None` for a job journaled by an older build (`BacktestStarted` had no
    /// kind) and for an unknown kind.
    Failed {
        reason: String,
        kind: Option<JobKind>,
    },
    /// Its result file was deleted by retention (see `retention.rs`).
    Removed {
        reason: String,
    },
}

impl Entry {
    /// The job's kind, when known.
    pub(super) fn kind(&self) -> Option<JobKind> {
        match self {
            Entry::Running { kind, .. } => Some(*kind),
            Entry::Failed { kind, .. } => *kind,
            Entry::Completed { .. } | Entry::Removed { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BacktestActor {
    pub services: Services,
    /// Where result files go (`<data_dir>/backtests/`).
    pub data_dir: PathBuf,
    /// Most finished result files kept (`BACKTEST_RESULTS_MAX`; see `retention.rs`).
    pub results_max: usize,
    /// The AI ensemble's weights and switches (`ai_ensemble` runs pin them).
    pub ai: crate::ensemble::actor::EnsembleSettings,
    /// The settings a request's missing cost fields take (`TRANSACTION_COSTS`,
    /// `RISK_FREE_RATE`, `trading_config.capital`).
    pub defaults: super::request::RunDefaults,
}

pub(super) fn reply_err(code: ErrorCode, message: impl Into<String>) -> ErrorReply {
    ErrorReply::new(code, message)
}

pub(super) fn request_error(e: RequestError) -> ErrorReply {
    let code = match e {
        RequestError::Field { .. } => ErrorCode::BadRequest,
        RequestError::NotBuilt { .. } => ErrorCode::NotImplemented,
    };
    reply_err(code, e.to_string())
}

impl BacktestActor {
    /// A new id, and the journaled start of a job of `kind` under it.
    pub(super) async fn journal_start(
        &self,
        meta: &RequestMeta,
        kind: JobKind,
        symbol: &str,
        strategy: &str,
        bars: usize,
    ) -> Result<BacktestId, ErrorReply> {
        let id = self.services.ids.lock().expect("id generator lock poisoned").backtest_id();
        let started = BacktestJobStarted {
            backtest_id: id,
            kind: kind.as_str().to_string(),
            symbol: symbol.to_string(),
            strategy: strategy.to_string(),
            bars: bars as u64,
        };
        self.services.record(self.services.draft(meta, Event::BacktestJobStarted(started))).await.map_err(|e| e.to_reply())?;
        Ok(id)
    }
}

/// The single search slot, shared by optimisations and walk-forwards (each uses every
/// core): 503 naming [`OPTIMIZATIONS_RUNNING_MAX`] when it is taken.
pub(super) fn search_slot_free(state: &BTreeMap<BacktestId, Entry>) -> Result<(), ErrorReply> {
    let running: Vec<&str> = state
        .values()
        .filter_map(|e| match e {
            Entry::Running { kind, .. } if kind.is_search() => Some(kind.as_str()),
            _ => None,
        })
        .collect();
    if running.len() >= OPTIMIZATIONS_RUNNING_MAX {
        return Err(reply_err(
            ErrorCode::Unavailable,
            format!(
                "{} optimisation / walk-forward ({}) is running, the most at once (OPTIMIZATIONS_RUNNING_MAX = {OPTIMIZATIONS_RUNNING_MAX}): it uses every core; retry when it completes",
                running.len(),
                running.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Journals the end of a job (`BacktestCompleted`, pointing at its written file, or
/// `BacktestFailed`) and tells the actor; a failed journal write fails the job.
pub(super) async fn finish(services: &Services, meta: &RequestMeta, id: BacktestId, outcome: Result<BacktestCompleted, JobError>) {
    let event = match &outcome {
        Ok(c) => Event::BacktestCompleted(c.clone()),
        Err(e) => Event::BacktestFailed(BacktestFailed { backtest_id: id, reason: journal_reason(&e.to_string()) }),
    };
    let recorded = services.record(services.draft(meta, event)).await;
    let outcome = match (outcome, recorded) {
        (Ok(c), Ok(_)) => Ok(c.result_file),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(JobError::NotJournaled(e.to_reply().message)),
    };
    match &outcome {
        Ok(file) => tracing::info!(%id, file, "backtest completed"),
        Err(e) => tracing::warn!(%id, reason = %e, "backtest failed"),
    }
    if let Some(actor) = ActorRef::<BacktestMsg>::where_is(names::BACKTEST) {
        let _ = actor.cast(BacktestMsg::Finished { id, outcome, meta: meta.clone() });
    }
}

/// Awaits a search job's blocking thread (it returns the result file and the headline
/// return) and journals the job's completion or failure. Shared by optimisations and
/// walk-forwards; `what` names the job in a failure.
pub(super) async fn complete(
    services: &Services,
    meta: &RequestMeta,
    id: BacktestId,
    what: &str,
    (symbol, strategy, bars): (String, String, u64),
    task: tokio::task::JoinHandle<Result<(String, f64), JobError>>,
) {
    let outcome = match task.await {
        Ok(r) => r,
        Err(e) => Err(JobError::Thread { what: what.to_string(), why: e.to_string() }),
    };
    let completed = outcome.map(|(file, total_return)| BacktestCompleted {
        backtest_id: id,
        symbol,
        strategy,
        bars,
        total_return,
        event_stream_hash: String::new(),
        result_file: file,
    });
    finish(services, meta, id, completed).await;
}
