//! Optimisations requested over HTTP (`POST /api/backtest/optimize`): the backtest
//! actor's side of [`super::optimize::optimize`].
//!
//! They share the run's id space, journal events and result files: `BacktestJobStarted`
//! (kind `optimize`) when accepted, the report written to `<data_dir>/backtests/<id>.json` (with
//! `"kind": "optimize"`), then `BacktestCompleted` (its `total_return` is the best
//! point's out-of-sample return, its `event_stream_hash` empty: an optimisation is many
//! runs, not one event stream) or `BacktestFailed`. So a finished optimisation survives
//! a restart exactly as a run does. At most [`OPTIMIZATIONS_RUNNING_MAX`] run at once,
//! each on one blocking thread that fans its trials out over every core; more answer
//! 503 (the slot is shared with walk-forwards: [`super::jobs::search_slot_free`]). Progress counts engine runs up to [`super::optimize::OptimizeSpec::runs_planned`].

use super::bars::{fetch_bars, timeframe_or_default};
use super::files;
use super::job_kind::JobKind;
use super::jobs::{reply_err, request_error, search_slot_free, BacktestActor, JobError, RunAccepted};
use super::optimize::{optimize_observed, OptimizeReport, SEGMENT_BARS_MIN};
use super::optimize_request::{OptimizePlan, OptimizeRequest};
use super::retention::Index;
use crate::context::{RequestMeta, Services};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use tradpal_messages::{BacktestId, Candle, ErrorCode, ErrorReply, Timeframe};

/// Optimisations that may run at once (the single search slot's size, kept in `jobs.rs`).
pub use super::jobs::OPTIMIZATIONS_RUNNING_MAX;

/// Whether a result document is an optimisation's.
pub fn is_optimize(doc: &Value) -> bool {
    doc["kind"] == JobKind::Optimize.as_str()
}

/// The result file of an optimisation: the report, with the id, status, data and the
/// request as sent.
pub fn document(id: BacktestId, symbol: &str, timeframe: Timeframe, threads: usize, request: &Value, report: &OptimizeReport) -> Value {
    let mut doc = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
    if let Some(o) = doc.as_object_mut() {
        o.insert("kind".into(), JobKind::Optimize.as_str().into());
        o.insert("backtest_id".into(), json!(id));
        o.insert("status".into(), "completed".into());
        o.insert("symbol".into(), symbol.into());
        o.insert("timeframe".into(), timeframe.as_str().into());
        o.insert("threads".into(), threads.into());
        o.insert("request".into(), request.clone());
    }
    doc
}

/// What `results/{id}` shows of a finished optimisation: everything but the two metric
/// blocks (those are in `performance/{id}`).
pub fn summary(doc: &Value) -> Value {
    let mut out = json!({ "progress": 1.0 });
    let keys = [
        "kind",
        "backtest_id",
        "status",
        "symbol",
        "timeframe",
        "strategy",
        "method",
        "objective",
        "train_fraction",
        "in_sample",
        "out_of_sample",
        "trials",
        "failed_trials",
        "best_params",
        "in_sample_score",
        "out_of_sample_score",
        "gap",
        "top",
    ];
    for k in keys {
        out[k] = doc[k].clone();
    }
    out["in_sample_total_return"] = doc["in_sample_metrics"]["total_return"].clone();
    out["out_of_sample_total_return"] = doc["out_of_sample_metrics"]["total_return"].clone();
    out
}

impl BacktestActor {
    /// Checks, fetches the bars, journals `BacktestStarted` and starts the search.
    pub(super) async fn start_optimize(
        &self,
        req: OptimizeRequest,
        meta: RequestMeta,
        state: &mut Index,
    ) -> Result<RunAccepted, ErrorReply> {
        let req = req.with_defaults(&self.defaults);
        let plan = req.plan().map_err(request_error)?;
        search_slot_free(&state.entries)?;
        let timeframe = timeframe_or_default(plan.run.timeframe, self.defaults.timeframe, &plan.run.symbol).await?;
        let bars = fetch_bars(&plan.run, timeframe).await?;
        let split = (bars.len() as f64 * plan.spec.train_fraction).floor() as usize;
        if split < SEGMENT_BARS_MIN || bars.len() - split < SEGMENT_BARS_MIN {
            return Err(reply_err(
                ErrorCode::BadRequest,
                format!("train_fraction: {} bars split at {} leave {split} in-sample and {} out-of-sample bars, need at least {SEGMENT_BARS_MIN} each: widen start_date / end_date", bars.len(), plan.spec.train_fraction, bars.len() - split),
            ));
        }
        let id = self.journal_start(&meta, JobKind::Optimize, &plan.run.symbol, &plan.spec.strategy.name, bars.len()).await?;
        let done = state.running(id, JobKind::Optimize, plan.spec.runs_planned());
        let accepted = RunAccepted {
            backtest_id: id,
            kind: JobKind::Optimize,
            status: "running",
            symbol: plan.run.symbol.clone(),
            timeframe,
            strategy: plan.spec.strategy.name.clone(),
            bars: bars.len(),
        };
        let request = serde_json::to_value(&req).unwrap_or(Value::Null);
        tracing::info!(%id, symbol = %plan.run.symbol, %timeframe, bars = bars.len(), runs = plan.spec.runs_planned(), "optimisation started");
        let job = Job { services: self.services.clone(), data_dir: self.data_dir.clone(), meta, id, timeframe };
        tokio::spawn(job.run(plan, bars, request, done));
        Ok(accepted)
    }
}

/// One accepted optimisation.
struct Job {
    services: Services,
    data_dir: PathBuf,
    meta: RequestMeta,
    id: BacktestId,
    timeframe: Timeframe,
}

impl Job {
    /// Searches on a blocking thread, writes the report, journals the end.
    async fn run(self, plan: OptimizePlan, bars: Vec<Candle>, request: Value, done: Arc<AtomicUsize>) {
        let (id, timeframe, data_dir) = (self.id, self.timeframe, self.data_dir.clone());
        let (symbol, strategy, n) = (plan.run.symbol.clone(), plan.spec.strategy.name.clone(), bars.len() as u64);
        let task = tokio::task::spawn_blocking(move || -> Result<(String, f64), JobError> {
            let report = optimize_observed(&plan.run.config, &bars, timeframe, &plan.run.symbol, &plan.spec, Some(&done))?;
            let doc = document(id, &plan.run.symbol, timeframe, plan.spec.threads_used(), &request, &report);
            let file = files::write(&data_dir, id, &doc)?;
            Ok((file, report.out_of_sample_metrics.total_return))
        });
        super::jobs::complete(&self.services, &self.meta, id, "optimisation", (symbol, strategy, n), task).await;
    }
}
