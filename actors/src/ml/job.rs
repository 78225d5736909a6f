//! A training job in the background: train on a blocking thread (progress through a
//! shared counter), write the model file atomically, journal `MlModelTrained` (with the
//! file's hash) or `MlTrainingFailed`, and hand the loaded model to the actor.

use super::actor::MlMsg;
use super::files;
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

/// Longest failure reason journaled, in bytes.
const REASON_BYTES_MAX: usize = 1_000;

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

fn truncate(s: &str) -> String {
    if s.len() <= REASON_BYTES_MAX {
        return s.to_string();
    }
    let mut end = REASON_BYTES_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
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
    let task = tokio::task::spawn_blocking(move || -> Result<(Ready, String, String, f64), String> {
        let trained = train(&bars, &plan.spec, &mut |f| progress.store(f.to_bits(), Ordering::Relaxed)).map_err(|e| e.to_string())?;
        let mut doc = document(&info, &plan, &trained);
        doc["weights"] = serde_json::to_value(trained.model.weights()).map_err(|e| e.to_string())?;
        let (file, hash) = files::write(&data_dir, id, &doc).map_err(|e| e.to_string())?;
        if let Some(o) = doc.as_object_mut() {
            o.remove("weights");
        }
        let ready = Ready {
            features: trained.report.features.clone(),
            groups: plan.spec.groups.clone(),
            classifier: plan.spec.target.kind.is_classification(),
            model: trained.model,
            doc,
        };
        Ok((ready, file, hash, trained.report.out_of_sample.headline()))
    });
    let outcome = match task.await {
        Ok(r) => r,
        Err(e) => Err(format!("the training thread failed: {e}")),
    };
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
        Err(reason) => Event::MlTrainingFailed(MlTrainingFailed { model_id: id, reason: truncate(reason) }),
    };
    let recorded = services.record(services.draft(&meta, event.clone())).await;
    let outcome = match (outcome, recorded) {
        (Ok((ready, ..)), Ok(_)) => Ok(Box::new(ready)),
        (Err(reason), _) => Err(reason),
        (Ok(_), Err(e)) => Err(format!("the model was written but its journal record failed: {}", e.to_reply().message)),
    };
    match &outcome {
        Ok(_) => tracing::info!(%id, "model trained"),
        Err(reason) => tracing::warn!(%id, reason, "model training failed"),
    }
    if let Some(actor) = ActorRef::<MlMsg>::where_is(names::ML) {
        let _ = actor.cast(MlMsg::Finished { id, event: Box::new(event), outcome });
    }
}
