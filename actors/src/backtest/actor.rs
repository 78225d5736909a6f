//! The backtest actor: runs backtests requested over HTTP on stored candles (thin: the
//! engine is pure, the request checks live in `request.rs`, the documents in
//! `report.rs`, the files in `files.rs`).
//!
//! `Run` validates, fetches the bars from the market-data actor, journals
//! `BacktestJobStarted` (with the kind; journals of older builds hold `BacktestStarted`,
//! without it), answers `running` at once and runs the engine on a blocking thread
//! (progress through a shared counter). When it ends, the report is written as a file
//! (atomically) and `BacktestCompleted` (a pointer to the file) or `BacktestFailed` is
//! journaled. On (re)start the actor folds those events: a run that started but never
//! ended was cut by a restart and reports `failed`.

pub use super::bars::BACKTEST_BARS_MAX;
use super::bars::{fetch_series, timeframe_or_default};
use super::engine::{run_spec, SymbolBars};
use super::files;
use super::job_kind::JobKind;
use super::jobs::{finish, reply_err, request_error, JobError};
// The actor's struct and messages live in `jobs.rs` (shared with the job files); this is
// their public path.
pub use super::jobs::{BacktestActor, BacktestMsg, Entry, RunAccepted};
use super::optimize_job;
use super::report::{add_sections, performance, summary, unfinished};
use super::request::{RunPlan, RunRequest};
use super::retention::Index;
use super::robustness::{analyse, RunInputs};
use super::walk_forward_job;
use crate::context::{RequestMeta, Services};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tradpal_messages::{BacktestCompleted, BacktestId, Candle, ErrorCode, ErrorReply, Event, EventKind, Timeframe};

/// Backtests that may run at once (each holds a blocking thread and its bars in memory).
pub const BACKTESTS_RUNNING_MAX: usize = 2;
/// The reason a run cut by a restart reports.
pub const INTERRUPTED: &str = "interrupted by a restart before it finished";

/// Folds the journaled backtest events: every run that ended, those cut by a restart,
/// and the results removed by retention.
pub fn fold_event(index: &mut Index, event: &Event) {
    let state = &mut index.entries;
    match event {
        Event::BacktestStarted(e) => {
            state.insert(e.backtest_id, Entry::Failed { reason: INTERRUPTED.into(), kind: None });
        }
        Event::BacktestJobStarted(e) => {
            state.insert(e.backtest_id, Entry::Failed { reason: INTERRUPTED.into(), kind: JobKind::from_name(&e.kind) });
        }
        Event::BacktestCompleted(e) => index.completed(e.backtest_id, e.result_file.clone()),
        Event::BacktestResultRemoved(e) => {
            state.insert(e.backtest_id, Entry::Removed { reason: e.reason.clone() });
        }
        Event::BacktestFailed(e) => {
            let kind = state.get(&e.backtest_id).and_then(Entry::kind);
            state.insert(e.backtest_id, Entry::Failed { reason: e.reason.clone(), kind });
        }
        _ => {}
    }
}

impl Actor for BacktestActor {
    type Msg = BacktestMsg;
    type State = Index;
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<BacktestMsg>, _args: ()) -> Result<Self::State, ActorProcessingErr> {
        let mut state = self
            .services
            .fold(EventKind::BACKTEST, Index::default(), |s, env| {
                fold_event(s, &env.event);
                Ok(())
            })
            .await?;
        state.prune();
        tracing::info!(backtests = state.entries.len(), "backtest index rebuilt from journal");
        Ok(state)
    }

    async fn handle(&self, _myself: ActorRef<BacktestMsg>, msg: BacktestMsg, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        match msg {
            BacktestMsg::Run { req, meta, reply } => {
                let _ = reply.send(self.start(*req, meta, state).await);
            }
            BacktestMsg::Optimize { req, meta, reply } => {
                let _ = reply.send(self.start_optimize(*req, meta, state).await);
            }
            BacktestMsg::WalkForward { req, meta, reply } => {
                let _ = reply.send(self.start_walk_forward(*req, meta, state).await);
            }
            BacktestMsg::Results { id, reply } => {
                let _ = reply.send(self.results(id, state, false).await);
            }
            BacktestMsg::Report { id, reply } => {
                let _ = reply.send(self.html(id, state).await);
            }
            BacktestMsg::Performance { id, reply } => {
                let _ = reply.send(self.results(id, state, true).await);
            }
            BacktestMsg::Finished { id, outcome, meta } => match outcome {
                Ok(file) => {
                    state.completed(id, file);
                    self.apply_retention(state, &meta).await;
                }
                Err(e) => {
                    let kind = state.entries.get(&id).and_then(Entry::kind);
                    state.entries.insert(id, Entry::Failed { reason: e.to_string(), kind });
                }
            },
        }
        Ok(())
    }
}

impl BacktestActor {
    async fn start(&self, req: RunRequest, meta: RequestMeta, state: &mut Index) -> Result<RunAccepted, ErrorReply> {
        let req = req.with_defaults(&self.defaults);
        let mut plan = req.plan().map_err(request_error)?;
        let running = state.entries.values().filter(|e| matches!(e, Entry::Running { kind: JobKind::Run, .. })).count();
        if running >= BACKTESTS_RUNNING_MAX {
            return Err(reply_err(
                ErrorCode::Unavailable,
                format!("{running} backtests are running, the most at once (BACKTESTS_RUNNING_MAX = {BACKTESTS_RUNNING_MAX}); retry when one completes"),
            ));
        }
        // ai_ensemble: the finest stored, where its models were trained (they are per timeframe).
        let default = if plan.spec.name == "ai_ensemble" { None } else { self.defaults.timeframe };
        let timeframe = timeframe_or_default(plan.timeframe, default, &plan.symbols[0]).await?;
        if plan.spec.name == "ai_ensemble" {
            plan.spec.ai = Some(self.resolve_ai(&req, &plan, timeframe).await?);
        } else if req.model_id.is_some() || req.agent_id.is_some() {
            return Err(reply_err(ErrorCode::BadRequest, "model_id / agent_id: only strategy \"ai_ensemble\" takes them"));
        }
        let series = fetch_series(&plan, timeframe).await?;
        let total: usize = series.iter().map(Vec::len).sum();
        // Journal events hold one valid symbol: a portfolio's first (its result file lists all).
        let id = self.journal_start(&meta, JobKind::Run, &plan.symbols[0], &plan.spec.name, total).await?;
        let done = state.running(id, JobKind::Run, total);
        let accepted = RunAccepted {
            backtest_id: id,
            kind: JobKind::Run,
            status: "running",
            symbol: plan.symbol.clone(),
            timeframe,
            strategy: plan.spec.name.clone(),
            bars: total,
        };
        let request = serde_json::to_value(&req).unwrap_or(Value::Null);
        tracing::info!(%id, symbol = %plan.symbol, %timeframe, bars = total, strategy = %plan.spec.describe(), "backtest started");
        tokio::spawn(run_in_background(self.services.clone(), self.data_dir.clone(), meta, id, plan, timeframe, series, request, done));
        Ok(accepted)
    }

    /// An `ai_ensemble` run's models (one symbol: models are per symbol).
    async fn resolve_ai(&self, req: &RunRequest, plan: &RunPlan, timeframe: Timeframe) -> Result<crate::strategy::AiModels, ErrorReply> {
        if plan.symbols.len() > 1 {
            return Err(reply_err(
                ErrorCode::BadRequest,
                "symbols: an ai_ensemble backtest runs one symbol (its ML model and RL agent are per symbol)",
            ));
        }
        let ai = crate::ensemble::resolve::AiRequest {
            symbol: &plan.symbols[0],
            timeframe,
            model_id: req.model_id.as_deref(),
            agent_id: req.agent_id.as_deref(),
        };
        crate::ensemble::resolve::resolve(ai, &self.ai).await
    }

    async fn results(&self, id: BacktestId, state: &Index, full: bool) -> Result<Value, ErrorReply> {
        let entry = state.entries.get(&id).ok_or_else(|| reply_err(ErrorCode::NotFound, format!("no backtest {id}")))?;
        let file = match entry {
            Entry::Running { done, total, kind } => {
                let progress = done.load(Ordering::Relaxed) as f64 / (*total).max(1) as f64;
                if full {
                    return Err(reply_err(
                        ErrorCode::Conflict,
                        format!(
                            "backtest {id} is still running ({:.0}% done): its performance report exists once it completes",
                            progress * 100.0
                        ),
                    ));
                }
                return Ok(with_kind(unfinished(id, "running", progress.min(1.0), None), *kind));
            }
            Entry::Failed { reason, .. } if full => {
                return Err(reply_err(ErrorCode::Conflict, format!("backtest {id} failed, so it has no performance report: {reason}")))
            }
            Entry::Failed { reason, kind } => {
                let doc = unfinished(id, "failed", 0.0, Some(reason));
                return Ok(match kind {
                    Some(k) => with_kind(doc, *k),
                    None => doc,
                });
            }
            Entry::Removed { reason } => return Err(removed(id, reason)),
            Entry::Completed { file } => file.clone(),
        };
        let doc = self.read(id, file).await?;
        Ok(if full {
            doc
        } else if optimize_job::is_optimize(&doc) {
            optimize_job::summary(&doc)
        } else if walk_forward_job::is_walk_forward(&doc) {
            walk_forward_job::summary(&doc)
        } else {
            with_kind(summary(&doc), JobKind::Run)
        })
    }

    /// The result file of a completed job, read on a blocking thread.
    async fn read(&self, id: BacktestId, file: String) -> Result<Value, ErrorReply> {
        let dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || files::read(&dir, &file))
            .await
            .map_err(|e| reply_err(ErrorCode::Internal, format!("reading the result of backtest {id}: {e}")))?
            .map_err(|e| reply_err(ErrorCode::Internal, format!("backtest {id} completed but its report cannot be read: {e}")))
    }

    /// The self-contained HTML report of a completed run (409 otherwise).
    async fn html(&self, id: BacktestId, state: &Index) -> Result<String, ErrorReply> {
        let file = match state.entries.get(&id) {
            None => return Err(reply_err(ErrorCode::NotFound, format!("no backtest {id}"))),
            Some(Entry::Completed { file }) => file.clone(),
            Some(Entry::Running { .. }) => {
                return Err(reply_err(ErrorCode::Conflict, format!("backtest {id} is still running: its report exists once it completes")))
            }
            Some(Entry::Failed { reason, .. }) => {
                return Err(reply_err(ErrorCode::Conflict, format!("backtest {id} failed, so it has no report: {reason}")))
            }
            Some(Entry::Removed { reason }) => return Err(removed(id, reason)),
        };
        let doc = self.read(id, file).await?;
        if optimize_job::is_optimize(&doc) || walk_forward_job::is_walk_forward(&doc) {
            let what = if optimize_job::is_optimize(&doc) { "an optimisation" } else { "a walk-forward" };
            return Err(reply_err(
                ErrorCode::Conflict,
                format!("backtest {id} is {what}: its report is the JSON of /api/backtest/performance/{id}"),
            ));
        }
        Ok(tradpal_report::render(&doc))
    }
}

/// Runs the engine on a blocking thread, writes the report, journals the end, tells the actor.
#[allow(clippy::too_many_arguments)]
async fn run_in_background(
    services: Services,
    data_dir: PathBuf,
    meta: RequestMeta,
    id: BacktestId,
    plan: RunPlan,
    timeframe: Timeframe,
    series: Vec<Vec<Candle>>,
    request: Value,
    done: Arc<AtomicUsize>,
) {
    let (symbol, strategy) = (plan.symbols[0].clone(), plan.spec.name.clone());
    let task = tokio::task::spawn_blocking(move || -> Result<(String, u64, f64, String), JobError> {
        // One symbol or several: the same engine (one symbol replays as it always did).
        let named: Vec<SymbolBars> = plan.symbols.iter().zip(&series).map(|(symbol, bars)| SymbolBars { symbol, bars }).collect();
        let result = run_spec(&plan.config, &named, timeframe, &plan.spec, &mut |n| done.store(n, Ordering::Relaxed))?;
        let bars = &series[0];
        let mut doc = performance(id, &plan.spec, &request, &result);
        if let (Some(ai), Some(o)) = (&plan.spec.ai, doc.as_object_mut()) {
            o.insert("ai_ensemble".into(), super::ai_report::section(ai, &result));
        }
        // Monte Carlo / look-ahead when asked; progress stays at 1 while they run.
        let inputs = RunInputs { config: &plan.config, bars, timeframe, symbol: &plan.symbols[0], spec: &plan.spec };
        add_sections(&mut doc, analyse(&plan.robustness, &inputs, &result));
        let file = files::write(&data_dir, id, &doc)?;
        Ok((file, result.counts.bars as u64, result.metrics.total_return, result.event_stream_hash))
    });
    let outcome = match task.await {
        Ok(r) => r,
        Err(e) => Err(JobError::Thread { what: "backtest".into(), why: e.to_string() }),
    };
    let completed = outcome.map(|(file, bars, total_return, hash)| BacktestCompleted {
        backtest_id: id,
        symbol,
        strategy,
        bars,
        total_return,
        event_stream_hash: hash,
        result_file: file,
    });
    finish(&services, &meta, id, completed).await;
}

/// 410 for a result deleted by retention, with the reason (which names the limit).
fn removed(id: BacktestId, reason: &str) -> ErrorReply {
    reply_err(ErrorCode::Gone, format!("backtest {id} finished but its result was {reason}"))
}

/// `doc` with `"kind": kind` added (the results of runs and optimisations share one
/// endpoint).
fn with_kind(mut doc: Value, kind: JobKind) -> Value {
    if let Some(o) = doc.as_object_mut() {
        o.insert("kind".into(), kind.as_str().into());
    }
    doc
}
