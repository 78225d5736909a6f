//! The ML actor (thin: the core is pure, the jobs live in `job.rs`, the registry in
//! `registry.rs`, the files in `files.rs`).
//!
//! `Train` validates, fetches the bars from the market-data actor, journals
//! `MlTrainingStarted`, answers `training` at once and trains in the background. On
//! (re)start the actor folds the ML events: a training that never ended was cut by a
//! restart and reports `failed`; ready models are loaded from their files (hash checked)
//! on first use.

use super::error::MlError;
use super::features;
use super::files;
use super::job::{self, JobInfo};
use super::model::Loaded;
pub use super::msg::{MlMsg, MlResolved};
use super::registry::{Ready, Registry, Status};
use super::request::{feature_vector, PredictRequest, TrainRequest};
use super::train::TRAIN_BARS_MIN;
use crate::backtest::bars::{fetch_range, timeframe_or_finest};
use crate::context::{RequestMeta, Services};
use crate::market_data::actor::MarketDataMsg;
use crate::names;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tradpal_messages::{ErrorCode, ErrorReply, Event, EventKind, MlModelDeleted, MlTrainingStarted, ModelId};

/// Trainings that may run at once (each holds a blocking thread, its bars and matrices).
pub const TRAININGS_RUNNING_MAX: usize = 1;
/// Bars `predict` by symbol reads to compute the latest features (warm-up included).
pub const FEATURE_HISTORY_BARS: usize = 2_000;
/// How long a call to the market-data actor may take.
const MARKET_DATA_CALL_MS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct MlActor {
    pub services: Services,
    /// Where model files go (`<data_dir>/models/`).
    pub data_dir: PathBuf,
}

fn reply_err(code: ErrorCode, message: impl Into<String>) -> ErrorReply {
    ErrorReply::new(code, message)
}

/// The reply for a core error: the caller's mistake (400) unless a library failed.
pub fn ml_error(e: MlError) -> ErrorReply {
    let code = match e {
        MlError::Gbm(_) | MlError::Mlp(_) => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    reply_err(code, e.to_string())
}

impl Actor for MlActor {
    type Msg = MlMsg;
    type State = Registry;
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<MlMsg>, _args: ()) -> Result<Registry, ActorProcessingErr> {
        let state = self
            .services
            .fold(EventKind::ML, Registry::default(), |s, env| {
                s.fold(&env.event);
                Ok(())
            })
            .await?;
        tracing::info!(models = state.entries.len(), "ml registry rebuilt from journal");
        Ok(state)
    }

    async fn handle(&self, _myself: ActorRef<MlMsg>, msg: MlMsg, state: &mut Registry) -> Result<(), ActorProcessingErr> {
        match msg {
            MlMsg::Train { req, meta, reply } => {
                let _ = reply.send(self.start(*req, meta, state).await);
            }
            MlMsg::Models { reply } => {
                let _ = reply.send(Ok(list(state)));
            }
            MlMsg::Model { id, reply } => {
                let _ = reply.send(self.model(id, state));
            }
            MlMsg::Delete { id, meta, reply } => {
                let _ = reply.send(self.delete(id, meta, state).await);
            }
            MlMsg::Predict { req, reply } => {
                let _ = reply.send(self.predict(*req, state).await);
            }
            MlMsg::Score { symbol, model_id, candles, reply } => {
                let _ = reply.send(self.score(&symbol, model_id, candles, state).await);
            }
            MlMsg::Resolve { symbol, model_id, reply } => {
                let _ = reply.send(self.resolve(&symbol, model_id, state));
            }
            MlMsg::Importance { id, reply } => {
                let _ = reply.send(self.importance(id, state));
            }
            MlMsg::Finished { id, event, ready } => {
                state.fold(&event);
                if let Some(ready) = ready {
                    state.loaded.insert(id, ready);
                }
            }
            MlMsg::Fault(f) => return Err(f.trigger(names::ML)),
        }
        Ok(())
    }
}

/// Every model not deleted, newest version last per name.
fn list(state: &Registry) -> Value {
    let models: Vec<Value> = state
        .entries
        .iter()
        .filter(|(_, e)| !matches!(e.status, Status::Deleted { .. }))
        .map(|(id, e)| {
            let score = match &e.status {
                Status::Ready { score, .. } => Some(*score),
                _ => None,
            };
            json!({
                "model_id": id, "name": e.name, "version": e.version, "model_type": e.model_type,
                "symbol": e.symbol, "timeframe": e.timeframe, "status": e.status.name(), "progress": e.status.progress(),
                "out_of_sample_score": score,
            })
        })
        .collect();
    json!({ "count": models.len(), "models": models })
}

impl MlActor {
    async fn start(&self, req: TrainRequest, meta: RequestMeta, state: &mut Registry) -> Result<Value, ErrorReply> {
        let plan = req.plan().map_err(ml_error)?;
        let running = state.running();
        if running >= TRAININGS_RUNNING_MAX {
            return Err(reply_err(
                ErrorCode::Unavailable,
                format!("{running} training is running, the most at once (TRAININGS_RUNNING_MAX = {TRAININGS_RUNNING_MAX}); retry when it completes"),
            ));
        }
        let timeframe = timeframe_or_finest(plan.timeframe, &plan.symbol).await?;
        let bars = fetch_range(&plan.symbol, timeframe, plan.start, plan.end).await?;
        if bars.len() < TRAIN_BARS_MIN {
            let why = format!("TRAIN_BARS_MIN = {TRAIN_BARS_MIN}; import more data or widen start_date / end_date");
            return Err(ml_error(MlError::TooFewBars { bars: bars.len(), min_bars: TRAIN_BARS_MIN, why }));
        }
        let version = state.next_version(&plan.name);
        let id = self.services.ids.lock().expect("id generator lock poisoned").model_id();
        let request = serde_json::to_value(&req).unwrap_or(Value::Null);
        let started = MlTrainingStarted {
            model_id: id,
            name: plan.name.clone(),
            version,
            model_type: plan.model_type.clone(),
            symbol: plan.symbol.clone(),
            timeframe,
            bars: bars.len() as u64,
            request_json: request.to_string(),
        };
        self.services.record(self.services.draft(&meta, Event::MlTrainingStarted(started.clone()))).await.map_err(|e| e.to_reply())?;
        state.fold(&Event::MlTrainingStarted(started));
        let progress = Arc::new(AtomicU64::new(0));
        state.set(id, Status::Training { progress: progress.clone() });
        let answer = json!({
            "model_id": id, "name": plan.name, "version": version, "status": "training", "model_type": plan.model_type,
            "implementation": plan.spec.kind.implementation(), "symbol": plan.symbol, "timeframe": timeframe, "bars": bars.len(),
            "features": features::names(&plan.spec.groups), "target": plan.spec.target,
        });
        tracing::info!(%id, symbol = %plan.symbol, %timeframe, bars = bars.len(), model_type = %plan.model_type, "training started");
        let info = JobInfo { id, version, timeframe, request };
        tokio::spawn(job::run(self.services.clone(), self.data_dir.clone(), meta, info, plan, bars, progress));
        Ok(answer)
    }

    fn model(&self, id: ModelId, state: &mut Registry) -> Result<Value, ErrorReply> {
        let entry = state.entries.get(&id).ok_or_else(|| not_found(id))?;
        let mut doc = match &entry.status {
            Status::Ready { .. } => self.ensure_loaded(id, state)?.doc.clone(),
            Status::Deleted { reason } => return Err(reply_err(ErrorCode::Gone, format!("model {id} was deleted ({reason})"))),
            Status::Training { .. } | Status::Failed { .. } => json!({
                "model_id": id, "name": entry.name, "version": entry.version, "model_type": entry.model_type,
                "symbol": entry.symbol, "timeframe": entry.timeframe, "bars": entry.bars, "request": entry.request,
            }),
        };
        let entry = &state.entries[&id];
        doc["status"] = entry.status.name().into();
        doc["progress"] = entry.status.progress().into();
        if let Status::Failed { reason } = &entry.status {
            doc["error"] = reason.clone().into();
        }
        Ok(doc)
    }

    /// The loaded model of a ready entry: from the cache, else its file (hash checked).
    fn ensure_loaded<'a>(&self, id: ModelId, state: &'a mut Registry) -> Result<&'a Ready, ErrorReply> {
        if !state.loaded.contains_key(&id) {
            let Some(Status::Ready { file, hash, .. }) = state.entries.get(&id).map(|e| &e.status) else {
                return Err(not_ready(id, state));
            };
            let broken = |why: String| reply_err(ErrorCode::Internal, format!("model {id} cannot be loaded: {why}"));
            let doc = files::read(&self.data_dir, file, hash).map_err(|e| broken(e.to_string()))?;
            state.loaded.insert(id, Box::new(Ready::from_doc(doc).map_err(|e| broken(e.to_string()))?));
        }
        Ok(&state.loaded[&id])
    }

    async fn delete(&self, id: ModelId, meta: RequestMeta, state: &mut Registry) -> Result<Value, ErrorReply> {
        let entry = state.entries.get(&id).ok_or_else(|| not_found(id))?;
        let file = match &entry.status {
            Status::Training { .. } => {
                return Err(reply_err(ErrorCode::Conflict, format!("model {id} is training; delete it once it ends")))
            }
            Status::Deleted { .. } => return Err(reply_err(ErrorCode::Gone, format!("model {id} was already deleted"))),
            Status::Ready { file, .. } => Some(file.clone()),
            Status::Failed { .. } => None,
        };
        let event = Event::MlModelDeleted(MlModelDeleted { model_id: id, reason: "deleted on request".into() });
        self.services.record(self.services.draft(&meta, event.clone())).await.map_err(|e| e.to_reply())?;
        state.fold(&event);
        if let Some(file) = file {
            if let Err(e) = files::remove(&self.data_dir, &file) {
                tracing::warn!(%id, error = %e, "model deleted but its file could not be removed");
            }
        }
        Ok(json!({ "model_id": id, "status": "deleted" }))
    }

    async fn predict(&self, req: PredictRequest, state: &mut Registry) -> Result<Value, ErrorReply> {
        let id = req.model_id;
        let entry = state.entries.get(&id).ok_or_else(|| not_found(id))?;
        let (symbol_tf, version, name) = (entry.timeframe, entry.version, entry.name.clone());
        let ready = self.ensure_loaded(id, state)?;
        let (groups, columns) = (ready.groups.clone(), ready.columns.clone());
        let (x, bar_time) = match (&req.features, &req.symbol) {
            (Some(values), None) => (feature_vector(values, &state.loaded[&id].features).map_err(ml_error)?, None),
            (None, Some(symbol)) => {
                let bars = recent(symbol, symbol_tf).await?;
                let x = features::latest(&bars, &groups).ok_or_else(|| {
                    let why = format!("the features need {} bars of warm-up before the latest one", features::WARM_UP_BARS);
                    ml_error(MlError::TooFewBars { bars: bars.len(), min_bars: features::WARM_UP_BARS + 1, why })
                })?;
                (columns.iter().map(|&j| x[j]).collect(), bars.last().map(|c| c.open_time))
            }
            _ => {
                return Err(reply_err(
                    ErrorCode::BadRequest,
                    "give exactly one of features (a vector in the model's feature order) or symbol",
                ))
            }
        };
        let ready = &state.loaded[&id];
        let p = ready.model.predict(&x).map_err(ml_error)?[0];
        let named: serde_json::Map<String, Value> = ready.features.iter().cloned().zip(x.iter().map(|v| json!(v))).collect();
        let mut out = json!({ "model_id": id, "name": name, "version": version, "features": named, "bar_time": bar_time });
        if ready.classifier {
            out["probability"] = p.into();
            out["class"] = u8::from(p > 0.5).into();
            out["prediction"] = if p > 0.5 { "up" } else { "down" }.into();
        } else {
            out["score"] = p.into();
            out["prediction"] = p.into();
        }
        Ok(out)
    }

    /// See [`MlMsg::Score`].
    async fn score(
        &self,
        symbol: &str,
        model_id: Option<ModelId>,
        candles: Option<Vec<tradpal_messages::Candle>>,
        state: &mut Registry,
    ) -> Result<Value, ErrorReply> {
        let id = pick(symbol, model_id, state)?;
        let entry = state.entries.get(&id).ok_or_else(|| not_found(id))?;
        let (tf, version, name) = (entry.timeframe, entry.version, entry.name.clone());
        let ready = self.ensure_loaded(id, state)?;
        if !ready.classifier {
            return Err(reply_err(
                ErrorCode::BadRequest,
                format!("model {id} predicts a return, not a direction: the ensemble needs a price_direction model"),
            ));
        }
        let (groups, columns) = (ready.groups.clone(), ready.columns.clone());
        let bars = match candles {
            Some(c) => c,
            None => recent(symbol, tf).await?,
        };
        let x = features::latest(&bars, &groups).ok_or_else(|| {
            let why = format!("the features need {} bars of warm-up before the latest one", features::WARM_UP_BARS);
            ml_error(MlError::TooFewBars { bars: bars.len(), min_bars: features::WARM_UP_BARS + 1, why })
        })?;
        let x: Vec<f64> = columns.iter().map(|&j| x[j]).collect();
        let p = state.loaded[&id].model.predict(&x).map_err(ml_error)?[0];
        Ok(json!({ "model_id": id, "name": name, "version": version, "probability": p, "bar_time": bars.last().map(|c| c.open_time) }))
    }

    /// See [`MlMsg::Resolve`].
    fn resolve(&self, symbol: &str, model_id: Option<ModelId>, state: &mut Registry) -> Result<MlResolved, ErrorReply> {
        let id = pick(symbol, model_id, state)?;
        let (version, timeframe) = state.entries.get(&id).map(|e| (e.version, e.timeframe)).ok_or_else(|| not_found(id))?;
        if let Some(scorer) = state.scorers.get(&id) {
            return Ok(MlResolved { model_id: id, version, timeframe, scorer: scorer.clone() });
        }
        let ready = self.ensure_loaded(id, state)?;
        if !ready.classifier {
            return Err(reply_err(
                ErrorCode::BadRequest,
                format!("model_id: model {id} predicts a return, not a direction: the ensemble needs a price_direction model"),
            ));
        }
        // One scorer per model, shared by every run on it (a copy of its own: the actor's
        // loaded model keeps serving `predict`).
        let model = Loaded::load(&ready.model.weights()).map_err(ml_error)?;
        let scorer = Arc::new(crate::strategy::MlScorer {
            model: std::sync::Mutex::new(model),
            groups: ready.groups.clone(),
            columns: ready.columns.clone(),
        });
        state.scorers.insert(id, scorer.clone());
        Ok(MlResolved { model_id: id, version, timeframe, scorer })
    }

    fn importance(&self, id: ModelId, state: &mut Registry) -> Result<Value, ErrorReply> {
        state.entries.get(&id).ok_or_else(|| not_found(id))?;
        let ready = self.ensure_loaded(id, state)?;
        let mut rows: Vec<Value> = ready.doc["importance"].as_array().cloned().unwrap_or_default();
        rows.sort_by(|a, b| b["permutation"].as_f64().unwrap_or(0.0).total_cmp(&a["permutation"].as_f64().unwrap_or(0.0)));
        Ok(json!({
            "model_id": id,
            "version": ready.doc["version"],
            "method": {
                "permutation": format!("mean drop of the out-of-sample {} over {} seeded shuffles per feature, on the test window",
                    if ready.classifier { "AUC" } else { "R²" }, super::importance::PERMUTATION_REPEATS),
                "gain": "total split gain of the GBM (null for models without trees)",
            },
            "test_window": ready.doc["test_window"],
            "features": rows,
        }))
    }
}

/// `model_id`, or else `symbol`'s latest ready direction model (highest version, then id).
fn pick(symbol: &str, model_id: Option<ModelId>, state: &Registry) -> Result<ModelId, ErrorReply> {
    if let Some(id) = model_id {
        return Ok(id);
    }
    state
        .entries
        .iter()
        // The ensemble needs a direction: a `forward_return` model is never its default.
        .filter(|(_, e)| e.symbol == symbol && matches!(e.status, Status::Ready { .. }) && e.request["target"] != "forward_return")
        .max_by_key(|(id, e)| (e.version, **id))
        .map(|(id, _)| *id)
        .ok_or_else(|| {
            reply_err(
                ErrorCode::NotFound,
                format!("no ready ML direction model for {symbol}: train one with POST /api/ml/train {{\"symbol\": \"{symbol}\", \"target\": \"price_direction\"}}"),
            )
        })
}

fn not_found(id: ModelId) -> ErrorReply {
    reply_err(ErrorCode::NotFound, format!("model_id: no model {id} (GET /api/ml/models lists them)"))
}

fn not_ready(id: ModelId, state: &Registry) -> ErrorReply {
    match state.entries.get(&id).map(|e| &e.status) {
        Some(Status::Training { .. }) => {
            reply_err(ErrorCode::Conflict, format!("model {id} is still training; retry when its status is ready"))
        }
        Some(Status::Failed { reason }) => reply_err(ErrorCode::Conflict, format!("model {id} failed to train: {reason}")),
        Some(Status::Deleted { reason }) => reply_err(ErrorCode::Gone, format!("model {id} was deleted ({reason})")),
        _ => not_found(id),
    }
}

/// The latest complete bars of `symbol` from the market-data actor.
async fn recent(symbol: &str, timeframe: tradpal_messages::Timeframe) -> Result<Vec<tradpal_messages::Candle>, ErrorReply> {
    let symbol = symbol.to_string();
    let msg = |reply| MarketDataMsg::Recent { symbol, timeframe, bars_max: FEATURE_HISTORY_BARS, reply };
    crate::context::ask(names::MARKET_DATA, MARKET_DATA_CALL_MS, msg)
        .await?
        .map_err(|e| reply_err(e.code, format!("symbol: {}", e.message)))
}
