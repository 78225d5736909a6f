//! Walk-forwards requested over HTTP (`POST /api/backtest/walk-forward`): the backtest
//! actor's side of [`super::walk_forward::walk_forward`].
//!
//! They work as optimisations do (see `optimize_job.rs`): same id space, journal events
//! and result files (`"kind": "walk_forward"`), and the same single search slot
//! ([`super::jobs::search_slot_free`]): a walk-forward is many optimisations,
//! each using every core, so one optimisation or walk-forward runs at a time and more
//! answer 503. `BacktestCompleted.total_return` is the stitched out-of-sample return.
//! Progress counts engine runs up to [`super::walk_forward::runs_planned`].

use super::bars::{fetch_bars, timeframe_or_default};
use super::files;
use super::job_kind::JobKind;
use super::jobs::{request_error, search_slot_free, BacktestActor, JobError, RunAccepted};
use super::report::{downsample, EQUITY_POINTS_MAX};
use super::retention::Index;
use super::walk_forward::{walk_forward_observed, WalkForwardReport, Windows};
use super::walk_forward_request::{check_runs, WalkForwardPlan, WalkForwardRequest};
use crate::context::{RequestMeta, Services};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use tradpal_messages::{BacktestId, Candle, ErrorReply, Timeframe};

/// Whether a result document is a walk-forward's.
pub fn is_walk_forward(doc: &Value) -> bool {
    doc["kind"] == JobKind::WalkForward.as_str()
}

/// The result file of a walk-forward: the report, the stitched out-of-sample equity
/// curve (downsampled to [`EQUITY_POINTS_MAX`] points), the id, status, data and the
/// request as sent.
pub fn document(id: BacktestId, symbol: &str, timeframe: Timeframe, threads: usize, request: &Value, report: &WalkForwardReport) -> Value {
    let mut doc = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
    if let Some(o) = doc.as_object_mut() {
        o.insert("kind".into(), JobKind::WalkForward.as_str().into());
        o.insert("backtest_id".into(), json!(id));
        o.insert("status".into(), "completed".into());
        o.insert("symbol".into(), symbol.into());
        o.insert("timeframe".into(), timeframe.as_str().into());
        o.insert("threads".into(), threads.into());
        o.insert("mode".into(), if report.windows.anchored { "anchored" } else { "rolling" }.into());
        o.insert("equity_curve".into(), json!(downsample(&report.equity, EQUITY_POINTS_MAX)));
        o.insert("request".into(), request.clone());
    }
    doc
}

/// What `results/{id}` shows of a finished walk-forward: the windows with their best
/// parameters and scores, the stitched out-of-sample headline; not the full metric block
/// nor the curve (those are in `performance/{id}`).
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
        "mode",
        "windows",
        "per_window",
        "untested_bars",
        "mean_in_sample_score",
        "out_of_sample_score",
    ];
    for k in keys {
        out[k] = doc[k].clone();
    }
    let m = &doc["out_of_sample_metrics"];
    for k in ["total_return", "sharpe_ratio", "max_drawdown", "win_rate", "number_of_trades", "bars", "start", "end"] {
        out["out_of_sample"][k] = m[k].clone();
    }
    out
}

impl BacktestActor {
    /// Checks, fetches the bars, resolves the windows, journals the start and starts
    /// the walk-forward.
    pub(super) async fn start_walk_forward(
        &self,
        req: WalkForwardRequest,
        meta: RequestMeta,
        state: &mut Index,
    ) -> Result<RunAccepted, ErrorReply> {
        let req = req.with_defaults(&self.defaults);
        let plan = req.plan().map_err(request_error)?;
        search_slot_free(&state.entries)?;
        let run = &plan.optimize.run;
        let timeframe = timeframe_or_default(run.timeframe, self.defaults.timeframe, &run.symbol).await?;
        let bars = fetch_bars(run, timeframe).await?;
        let (windows, count) = plan.windows.resolve(bars.len()).map_err(request_error)?;
        let runs = check_runs(&plan.optimize, count).map_err(request_error)?;
        let (symbol, strategy) = (run.symbol.clone(), plan.optimize.spec.strategy.name.clone());
        let id = self.journal_start(&meta, JobKind::WalkForward, &symbol, &strategy, bars.len()).await?;
        let done = state.running(id, JobKind::WalkForward, runs);
        let accepted = RunAccepted {
            backtest_id: id,
            kind: JobKind::WalkForward,
            status: "running",
            symbol: symbol.clone(),
            timeframe,
            strategy,
            bars: bars.len(),
        };
        let request = serde_json::to_value(&req).unwrap_or(Value::Null);
        tracing::info!(%id, %symbol, %timeframe, bars = bars.len(), windows = count, runs, "walk-forward started");
        let job = Job { services: self.services.clone(), data_dir: self.data_dir.clone(), meta, id, timeframe, windows };
        tokio::spawn(job.run(plan, bars, request, done));
        Ok(accepted)
    }
}

/// One accepted walk-forward.
struct Job {
    services: Services,
    data_dir: PathBuf,
    meta: RequestMeta,
    id: BacktestId,
    timeframe: Timeframe,
    windows: Windows,
}

impl Job {
    /// Runs on a blocking thread, writes the report, journals the end.
    async fn run(self, plan: WalkForwardPlan, bars: Vec<Candle>, request: Value, done: Arc<AtomicUsize>) {
        let (id, timeframe, data_dir, windows) = (self.id, self.timeframe, self.data_dir.clone(), self.windows);
        let spec = plan.optimize.spec;
        let run = plan.optimize.run;
        let (symbol, strategy, n) = (run.symbol.clone(), spec.strategy.name.clone(), bars.len() as u64);
        let task = tokio::task::spawn_blocking(move || -> Result<(String, f64), JobError> {
            let report = walk_forward_observed(&run.config, &bars, timeframe, &run.symbol, &spec, &windows, Some(&done))?;
            let doc = document(id, &run.symbol, timeframe, spec.threads_used(), &request, &report);
            let file = files::write(&data_dir, id, &doc)?;
            Ok((file, report.out_of_sample_metrics.total_return))
        });
        super::jobs::complete(&self.services, &self.meta, id, "walk-forward", (symbol, strategy, n), task).await;
    }
}
