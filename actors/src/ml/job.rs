//! A training job in the background: train on a blocking thread (progress through a
//! shared counter), write the model file atomically, journal `MlModelTrained` (with the
//! file's hash) or `MlTrainingFailed`, and hand the loaded model to the actor.

use super::files;
use super::msg::MlMsg;
use super::registry::Ready;
use super::request::TrainPlan;
use super::train::{train, Trained};
use crate::context::{RequestMeta, Services};
use crate::names;
use ractor::ActorRef;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tradpal_messages::{Candle, Event, MlModelTrained, MlTrainingFailed, ModelId, Timeframe};

/// Why a job failed (its text is journaled in `MlTrainingFailed`).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Train(#[from] super::error::MlError),
    #[error(transparent)]
    File(#[from] files::ModelFileError),
    #[error("the model could not be serialised: {0}")]
    Serialise(#[from] serde_json::Error),
    #[error("the training thread failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
}

/// What identifies a job besides its plan.
pub struct JobInfo {
    pub id: ModelId,
    pub version: u32,
    pub timeframe: Timeframe,
    pub request: Value,
}

/// The model file's document: metadata and metrics, and the weights under `weights`.
pub fn document(info: &JobInfo, plan: &TrainPlan, t: &Trained) -> Value {
    let r = &t.report;
    json!({
        "model_id": info.id,
        "name": plan.name,
        "version": info.version,
        "model_type": plan.model_type,
        "kind": plan.spec.kind,
        "implementation": r.implementation,
        "symbol": plan.symbol,
        "timeframe": info.timeframe,
        "target": plan.spec.target,
        "feature_groups": plan.spec.groups,
        "features": r.features,
        "feature_columns": r.feature_columns,
        "feature_selection": r.feature_selection,
        "parameters": r.params,
        "seed": plan.spec.seed,
        "code_version": env!("CARGO_PKG_VERSION"),
        "data_hash": r.data_hash,
        "bars": r.bars,
        "training_window": r.train_window,
        "test_window": r.test_window,
        "purged_rows": r.purged_rows,
        "causality_check": { "passed": true, "rows_compared": r.causality_rows_checked },
        "metrics": {
            "out_of_sample": r.out_of_sample,
            "cross_validation": r.cross_validation,
            "hyperparameter_optimization": r.hpo,
        },
        "importance": r.importance,
        "request": info.request,
    })
}

/// Runs the job to its end and tells the actor.
pub async fn run(
    services: Services,
    data_dir: PathBuf,
    meta: RequestMeta,
    info: JobInfo,
    plan: TrainPlan,
    bars: Vec<Candle>,
    progress: Arc<AtomicU64>,
) {
    let id = info.id;
    let task = tokio::task::spawn_blocking(move || -> Result<(Ready, String, String, f64), JobError> {
        let trained = train(&bars, &plan.spec, &mut |f| progress.store(f.to_bits(), Ordering::Relaxed))?;
        let mut doc = document(&info, &plan, &trained);
        doc["weights"] = serde_json::to_value(trained.model.weights())?;
        let (file, hash) = files::write(&data_dir, id, &doc)?;
        if let Some(o) = doc.as_object_mut() {
            o.remove("weights");
        }
        let ready = Ready {
            features: trained.report.features.clone(),
            groups: plan.spec.groups.clone(),
            columns: trained.report.feature_columns.clone(),
            classifier: plan.spec.target.kind.is_classification(),
            model: trained.model,
            doc,
        };
        Ok((ready, file, hash, trained.report.out_of_sample.headline()))
    });
    let outcome = task.await.unwrap_or_else(|e| Err(JobError::Thread(e)));
    let event = match &outcome {
        Ok((_, file, hash, score)) => {
            let score = if score.is_finite() { *score } else { 0.0 };
            Event::MlModelTrained(MlModelTrained {
                model_id: id,
                model_file: file.clone(),
                file_hash: hash.clone(),
                out_of_sample_score: score,
            })
        }
        Err(reason) => {
            Event::MlTrainingFailed(MlTrainingFailed { model_id: id, reason: crate::reason::journal_reason(&reason.to_string()) })
        }
    };
    // A failed journal write leaves the job as started: after a restart it reads
    // "interrupted"; until then the actor is told it failed.
    let (event, ready) = match (services.record(services.draft(&meta, event.clone())).await, outcome) {
        (Ok(_), Ok((ready, ..))) => (event, Some(Box::new(ready))),
        (Ok(_), Err(reason)) => {
            tracing::warn!(%id, %reason, "model training failed");
            (event, None)
        }
        (Err(e), _) => {
            let reason = format!("the end of the job could not be journaled: {}", e.to_reply().message);
            tracing::error!(%id, %reason, "model training failed");
            (Event::MlTrainingFailed(MlTrainingFailed { model_id: id, reason }), None)
        }
    };
    if ready.is_some() {
        tracing::info!(%id, "model trained");
    }
    if let Some(actor) = ActorRef::<MlMsg>::where_is(names::ML) {
        let _ = actor.cast(MlMsg::Finished { id, event: Box::new(event), ready });
    }
}
