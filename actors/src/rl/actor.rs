//! The RL actor (thin): training jobs in the background, the agent registry, evaluation
//! and inference on stored candles. The learning is the pure core (`train.rs`,
//! `evaluate.rs`, `agent.rs`).
//!
//! `Train` checks the request, fetches the bars from the market-data actor, journals
//! `RlTrainingStarted`, answers `202` with the agent id, and trains on a blocking thread
//! (progress and the training curve through shared state). The agent, its curve and its
//! held-out evaluation (before and after, for a fine-tuned agent) are written as one
//! file (atomically), then `RlAgentTrained` (a pointer to it) or `RlTrainingFailed` is
//! journaled. On (re)start the actor folds those events: a job that started but never
//! ended was cut by a restart and reports `failed`; trained agents survive restarts.
//!
//! Ids: `rl-<n>` with `n` one more than the agents journaled so far. Versions: 1 for a
//! new agent, the base's version + 1 for a fine-tuned one.

use super::agent::{infer, Agent};
use super::evaluate::{evaluate, Evaluation};
use super::files;
use super::obs::{Features, OBS_DIM};
use super::request::{EvaluateRequest, InferRequest, TrainRequest};
use super::train::{split, train, CurvePoint, TrainParams};
use super::RlError;
use crate::backtest::bars::{fetch_range, timeframe_or_finest};
use crate::context::{RequestMeta, Services};
use crate::market_data::actor::MarketDataMsg;
use crate::names;
use crate::session::actor::Answer;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tradpal_messages::{Candle, ErrorCode, ErrorReply, Event, EventKind, RlAgentTrained, RlTrainingFailed, RlTrainingStarted, Timeframe};

/// Training jobs that may run at once (each holds a blocking thread and its bars).
pub const RL_JOBS_RUNNING_MAX: usize = 2;
/// Bars an inference reads back from the latest (indicator and regime warm-up).
pub const INFER_BARS: usize = 500;
pub const INTERRUPTED: &str = "interrupted by a restart before it finished";

/// Why an accepted training job failed; its text is the journaled `RlTrainingFailed`
/// reason (truncated), shown by the agent's status.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// Training, the held-out evaluation or the split refused.
    #[error(transparent)]
    Rl(#[from] RlError),
    #[error(transparent)]
    AgentFile(#[from] files::AgentFileError),
    /// The blocking thread panicked or was cancelled.
    #[error("the training thread failed: {0}")]
    Thread(String),
    /// The agent file was written but `RlAgentTrained` could not be journaled.
    #[error("the agent was written but its journal record failed: {0}")]
    NotJournaled(String),
}

#[derive(Debug)]
pub enum RlMsg {
    Train {
        req: Box<TrainRequest>,
        meta: RequestMeta,
        reply: Answer<Value>,
    },
    List {
        reply: Answer<Value>,
    },
    Get {
        agent_id: String,
        reply: Answer<Value>,
    },
    Evaluate {
        req: Box<EvaluateRequest>,
        reply: Answer<Value>,
    },
    Infer {
        req: Box<InferRequest>,
        reply: Answer<Value>,
    },
    /// The agent an `ai_ensemble` run or a smart-trade uses: `agent_id`, or else
    /// `symbol`'s latest trained agent. `Err` 404 when none (409 while training).
    Resolve {
        symbol: String,
        agent_id: Option<String>,
        reply: Answer<RlResolved>,
    },
    /// Internal: a job ended (its file written and its end journaled, or not).
    Finished {
        agent_id: String,
        outcome: Result<String, TrainingError>,
    },
}

/// An agent resolved for the AI ensemble.
#[derive(Debug, Clone)]
pub struct RlResolved {
    pub agent_id: String,
    pub version: u32,
    pub timeframe: Timeframe,
    pub agent: Arc<Agent>,
}

#[derive(Debug, Clone)]
pub enum Status {
    Running { done: Arc<AtomicUsize>, curve: Arc<Mutex<Vec<CurvePoint>>> },
    Trained { file: String },
    Failed { reason: String },
}

/// One agent of the registry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub version: u32,
    pub symbol: String,
    pub timeframe: Timeframe,
    pub algorithm: String,
    pub episodes: u64,
    pub base_agent_id: Option<String>,
    pub train_fraction: f64,
    pub status: Status,
}

/// The registry, in id order.
#[derive(Debug, Default)]
pub struct Registry {
    pub agents: BTreeMap<String, Entry>,
    /// Agents loaded from their files (inference reads them often).
    loaded: BTreeMap<String, Arc<Agent>>,
    pub journaled: usize,
    /// The last observation made per (agent, symbol, timeframe), with the latest bar and
    /// the symbol's stored bar count it was made from: asked again before anything was
    /// stored, `infer` answers from it instead of reading and filtering 500 bars again.
    observed: BTreeMap<(String, String, Timeframe), Observed>,
}

#[derive(Debug, Clone)]
struct Observed {
    last: Candle,
    stored: usize,
    obs: [f32; OBS_DIM],
}

#[derive(Debug, Clone)]
pub struct RlActor {
    pub services: Services,
    pub data_dir: PathBuf,
    /// `ENABLE_REINFORCEMENT_LEARNING`: when off, training and inference answer 503
    /// (listing and reading agents still work).
    pub enabled: bool,
}

const DISABLED: &str = "reinforcement learning is disabled (ENABLE_REINFORCEMENT_LEARNING=false)";

fn err(code: ErrorCode, message: impl Into<String>) -> ErrorReply {
    ErrorReply::new(code, message)
}

/// A core error as a reply: the caller's input is a 400 naming the field.
pub fn rl_error(e: RlError) -> ErrorReply {
    let code = if e.field().is_some() { ErrorCode::BadRequest } else { ErrorCode::Internal };
    err(code, e.to_string())
}

/// Folds the journaled RL events into the registry.
pub fn fold_event(reg: &mut Registry, event: &Event) {
    match event {
        Event::RlTrainingStarted(e) => {
            reg.journaled += 1;
            let request: Value = serde_json::from_str(&e.request).unwrap_or(Value::Null);
            reg.agents.insert(
                e.agent_id.clone(),
                Entry {
                    version: e.version,
                    symbol: e.symbol.clone(),
                    timeframe: e.timeframe,
                    algorithm: e.algorithm.clone(),
                    episodes: e.episodes,
                    base_agent_id: (!e.base_agent_id.is_empty()).then(|| e.base_agent_id.clone()),
                    train_fraction: request.get("train_fraction").and_then(Value::as_f64).unwrap_or(0.7),
                    status: Status::Failed { reason: INTERRUPTED.into() },
                },
            );
        }
        Event::RlAgentTrained(e) => {
            if let Some(a) = reg.agents.get_mut(&e.agent_id) {
                a.status = Status::Trained { file: e.agent_file.clone() };
            }
        }
        Event::RlTrainingFailed(e) => {
            if let Some(a) = reg.agents.get_mut(&e.agent_id) {
                a.status = Status::Failed { reason: e.reason.clone() };
            }
        }
        _ => {}
    }
}

impl Actor for RlActor {
    type Msg = RlMsg;
    type State = Registry;
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<RlMsg>, _args: ()) -> Result<Registry, ActorProcessingErr> {
        let reg = self
            .services
            .fold(EventKind::RL, Registry::default(), |s, env| {
                fold_event(s, &env.event);
                Ok(())
            })
            .await?;
        tracing::info!(agents = reg.agents.len(), "rl registry rebuilt from journal");
        Ok(reg)
    }

    async fn handle(&self, _myself: ActorRef<RlMsg>, msg: RlMsg, reg: &mut Registry) -> Result<(), ActorProcessingErr> {
        match msg {
            RlMsg::Train { req, meta, reply } => {
                let _ = reply.send(self.start(*req, meta, reg).await);
            }
            RlMsg::List { reply } => {
                let list: Vec<Value> = reg.agents.iter().map(|(id, e)| headline(id, e)).collect();
                let _ = reply.send(Ok(json!({ "agents": list })));
            }
            RlMsg::Get { agent_id, reply } => {
                let _ = reply.send(self.get(&agent_id, reg).await);
            }
            RlMsg::Evaluate { req, reply } => match self.prepare_eval(&req, reg).await {
                Ok(job) => {
                    tokio::spawn(async move { reply.send(job.run().await) });
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            RlMsg::Resolve { symbol, agent_id, reply } => {
                let _ = reply.send(self.resolve(&symbol, agent_id, reg).await);
            }
            RlMsg::Infer { req, reply } => {
                let _ = reply.send(self.infer(&req, reg).await);
            }
            RlMsg::Finished { agent_id, outcome } => {
                if let Some(a) = reg.agents.get_mut(&agent_id) {
                    a.status = match outcome {
                        Ok(file) => Status::Trained { file },
                        Err(e) => Status::Failed { reason: e.to_string() },
                    };
                }
            }
        }
        Ok(())
    }
}

fn headline(id: &str, e: &Entry) -> Value {
    let (status, progress) = match &e.status {
        Status::Running { done, .. } => ("running", done.load(Ordering::Relaxed) as f64 / e.episodes.max(1) as f64),
        Status::Trained { .. } => ("trained", 1.0),
        Status::Failed { .. } => ("failed", 0.0),
    };
    json!({
        "agent_id": id, "version": e.version, "status": status, "progress": progress,
        "symbol": e.symbol, "timeframe": e.timeframe, "algorithm": e.algorithm, "episodes": e.episodes,
        "base_agent_id": e.base_agent_id,
    })
}

impl RlActor {
    async fn start(&self, req: TrainRequest, meta: RequestMeta, reg: &mut Registry) -> Result<Value, ErrorReply> {
        if !self.enabled {
            return Err(err(ErrorCode::Unavailable, DISABLED));
        }
        let params = req.params().map_err(rl_error)?;
        let running = reg.agents.values().filter(|e| matches!(e.status, Status::Running { .. })).count();
        if running >= RL_JOBS_RUNNING_MAX {
            return Err(err(ErrorCode::Unavailable, format!("{running} RL jobs are running, the most at once (RL_JOBS_RUNNING_MAX = {RL_JOBS_RUNNING_MAX}); retry when one completes")));
        }
        let base = match &req.base_agent_id {
            Some(id) => Some((id.clone(), self.load("base_agent_id", id, reg).await?)),
            None => None,
        };
        let timeframe = timeframe_or_finest(req.timeframe, &req.symbol).await?;
        let bars = fetch_range(&req.symbol, timeframe, None, None).await?;
        split(bars.len(), params.train_fraction).map_err(rl_error)?;
        let agent_id = format!("rl-{}", reg.journaled + 1);
        let version = base.as_ref().map_or(1, |(id, _)| reg.agents.get(id).map_or(1, |e| e.version + 1));
        let started = RlTrainingStarted {
            agent_id: agent_id.clone(),
            version,
            symbol: req.symbol.clone(),
            timeframe,
            algorithm: req.algorithm.clone(),
            episodes: params.episodes as u64,
            bars: bars.len() as u64,
            base_agent_id: req.base_agent_id.clone().unwrap_or_default(),
            request: serde_json::to_string(&req).unwrap_or_default(),
        };
        self.services.record(self.services.draft(&meta, Event::RlTrainingStarted(started.clone()))).await.map_err(|e| e.to_reply())?;
        fold_event(reg, &Event::RlTrainingStarted(started));
        let (done, curve) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
        if let Some(e) = reg.agents.get_mut(&agent_id) {
            e.status = Status::Running { done: done.clone(), curve: curve.clone() };
        }
        tracing::info!(%agent_id, symbol = %req.symbol, %timeframe, bars = bars.len(), algorithm = %req.algorithm, "rl training started");
        let job = Job {
            services: self.services.clone(),
            data_dir: self.data_dir.clone(),
            meta,
            agent_id: agent_id.clone(),
            version,
            req,
            params,
            timeframe,
            bars,
            base,
            done,
            curve,
        };
        tokio::spawn(job.run());
        Ok(json!({ "agent_id": agent_id, "version": version, "status": "running" }))
    }

    /// A trained agent (from memory, or its file once).
    async fn load(&self, field: &'static str, id: &str, reg: &mut Registry) -> Result<Arc<Agent>, ErrorReply> {
        if let Some(a) = reg.loaded.get(id) {
            return Ok(a.clone());
        }
        let entry = reg.agents.get(id).ok_or_else(|| err(ErrorCode::NotFound, format!("{field}: no agent {id:?}")))?;
        let file = match &entry.status {
            Status::Trained { file } => file.clone(),
            Status::Running { .. } => return Err(err(ErrorCode::Conflict, format!("{field}: agent {id} is still training"))),
            Status::Failed { reason } => return Err(err(ErrorCode::Conflict, format!("{field}: agent {id} failed to train: {reason}"))),
        };
        let doc = self.read(file).await?;
        let agent: Agent = serde_json::from_value(doc.get("agent").cloned().unwrap_or(Value::Null))
            .map_err(|e| err(ErrorCode::Internal, format!("agent {id}: its file holds no readable agent: {e}")))?;
        let agent = Arc::new(agent);
        reg.loaded.insert(id.to_string(), agent.clone());
        Ok(agent)
    }

    /// See [`RlMsg::Resolve`].
    async fn resolve(&self, symbol: &str, agent_id: Option<String>, reg: &mut Registry) -> Result<RlResolved, ErrorReply> {
        if !self.enabled {
            return Err(err(ErrorCode::Unavailable, DISABLED));
        }
        let id = match agent_id {
            Some(id) => {
                super::request::check_agent_id("agent_id", &id).map_err(rl_error)?;
                id
            }
            None => reg
                .agents
                .iter()
                .filter(|(_, e)| e.symbol == symbol && matches!(e.status, Status::Trained { .. }))
                .max_by_key(|(id, _)| id.strip_prefix("rl-").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0))
                .map(|(id, _)| id.clone())
                .ok_or_else(|| {
                    err(
                        ErrorCode::NotFound,
                        format!("no trained RL agent for {symbol}: train one with POST /api/rl/train {{\"symbol\": \"{symbol}\", \"algorithm\": \"ppo\"}}"),
                    )
                })?,
        };
        let agent = self.load("agent_id", &id, reg).await?;
        let entry = reg.agents.get(&id).ok_or_else(|| err(ErrorCode::NotFound, format!("agent_id: no agent {id:?}")))?;
        Ok(RlResolved { agent_id: id, version: entry.version, timeframe: entry.timeframe, agent })
    }

    async fn read(&self, file: String) -> Result<Value, ErrorReply> {
        let dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || files::read(&dir, &file))
            .await
            .map_err(|e| err(ErrorCode::Internal, format!("reading an agent file: {e}")))?
            .map_err(|e| err(ErrorCode::Internal, e.to_string()))
    }

    async fn get(&self, id: &str, reg: &Registry) -> Result<Value, ErrorReply> {
        let entry = reg.agents.get(id).ok_or_else(|| err(ErrorCode::NotFound, format!("agent_id: no agent {id:?}")))?;
        let mut doc = headline(id, entry);
        match &entry.status {
            Status::Running { curve, .. } => doc["training_curve"] = json!(*curve.lock().expect("curve lock")),
            Status::Failed { reason } => doc["reason"] = json!(reason),
            Status::Trained { file } => {
                let file_doc = self.read(file.clone()).await?;
                for key in ["training_curve", "evaluation", "base_evaluation", "request", "train_bars", "held_out_bars"] {
                    doc[key] = file_doc.get(key).cloned().unwrap_or(Value::Null);
                }
            }
        }
        Ok(doc)
    }

    async fn prepare_eval(&self, req: &EvaluateRequest, reg: &mut Registry) -> Result<EvalJob, ErrorReply> {
        let (env, eval) = req.params().map_err(rl_error)?;
        let agent = self.load("agent_id", &req.agent_id, reg).await?;
        let entry =
            reg.agents.get(&req.agent_id).ok_or_else(|| err(ErrorCode::NotFound, format!("agent_id: no agent {:?}", req.agent_id)))?;
        let symbol = req.symbol.clone().unwrap_or_else(|| entry.symbol.clone());
        let timeframe = req.timeframe.unwrap_or(entry.timeframe);
        let train_fraction = req.train_fraction.unwrap_or(entry.train_fraction);
        Ok(EvalJob { agent, symbol, timeframe, train_fraction, env, eval, agent_id: req.agent_id.clone() })
    }

    async fn infer(&self, req: &InferRequest, reg: &mut Registry) -> Result<Value, ErrorReply> {
        if !self.enabled {
            return Err(err(ErrorCode::Unavailable, DISABLED));
        }
        super::request::check_agent_id("agent_id", &req.agent_id).map_err(rl_error)?;
        let agent = self.load("agent_id", &req.agent_id, reg).await?;
        let entry =
            reg.agents.get(&req.agent_id).ok_or_else(|| err(ErrorCode::NotFound, format!("agent_id: no agent {:?}", req.agent_id)))?;
        let (version, timeframe) = (entry.version, req.timeframe.unwrap_or(entry.timeframe));
        let key = (req.agent_id.clone(), req.symbol.clone(), timeframe);
        let stored = stored_bars(&req.symbol).await?;
        let latest = recent(&req.symbol, timeframe, 1).await?;
        let Some(&last) = latest.last() else {
            return Err(err(ErrorCode::NotFound, format!("symbol: no complete {timeframe} bars of {} stored", req.symbol)));
        };
        let obs = match reg.observed.get(&key).filter(|o| o.last == last && o.stored == stored) {
            Some(o) => o.obs,
            None => {
                let tail = recent(&req.symbol, timeframe, INFER_BARS).await?;
                let features = Features::build(&tail, agent.regime.as_ref()).map_err(rl_error)?;
                let mut obs = [0.0; OBS_DIM];
                // No position of its own: the agent is asked what it would hold from flat.
                features.observe(tail.len() - 1, 0.0, 0.0, &mut obs);
                let last = tail[tail.len() - 1];
                reg.observed.insert(key, Observed { last, stored, obs });
                obs
            }
        };
        let out = infer(&agent, &obs);
        Ok(json!({
            "agent_id": req.agent_id, "version": version, "symbol": req.symbol, "timeframe": timeframe,
            "bar_open_time": last.open_time, "action": out.direction, "fraction": out.fraction,
            "probabilities": { "short": out.probabilities[0], "flat": out.probabilities[1], "long": out.probabilities[2] },
            "q_values": out.q_values, "algorithm": agent.algorithm,
        }))
    }
}

/// The latest [`INFER_BARS`] complete bars (the regime filter and the indicators start
/// fresh on them: their warm-up is far shorter).
async fn recent(symbol: &str, tf: Timeframe, bars_max: usize) -> Result<Vec<Candle>, ErrorReply> {
    let msg = |reply| MarketDataMsg::Recent { symbol: symbol.to_string(), timeframe: tf, bars_max, reply };
    crate::context::ask(names::MARKET_DATA, 10_000, msg).await?.map_err(|e| err(e.code, format!("symbol: {}", e.message)))
}

/// Bars stored for `symbol`, every timeframe together (a back-fill changes it too).
async fn stored_bars(symbol: &str) -> Result<usize, ErrorReply> {
    let summary = crate::context::ask(names::MARKET_DATA, 10_000, |reply| MarketDataMsg::Summary { reply }).await?;
    Ok(summary.iter().filter(|(s, _, _)| s == symbol).map(|(_, _, n)| n).sum())
}

/// An evaluation, run off the actor.
struct EvalJob {
    agent: Arc<Agent>,
    agent_id: String,
    symbol: String,
    timeframe: Timeframe,
    train_fraction: f64,
    env: super::env::EnvParams,
    eval: super::evaluate::EvalParams,
}

impl EvalJob {
    async fn run(self) -> Result<Value, ErrorReply> {
        let bars = fetch_range(&self.symbol, self.timeframe, None, None).await?;
        let EvalJob { agent, agent_id, symbol, timeframe, train_fraction, env, eval } = self;
        let ev = tokio::task::spawn_blocking(move || evaluate(&agent, &bars, timeframe, &symbol, &env, train_fraction, &eval))
            .await
            .map_err(|e| err(ErrorCode::Internal, format!("the evaluation thread failed: {e}")))?
            .map_err(rl_error)?;
        Ok(json!({ "agent_id": agent_id, "evaluation": ev }))
    }
}

/// A training job, run off the actor.
struct Job {
    services: Services,
    data_dir: PathBuf,
    meta: RequestMeta,
    agent_id: String,
    version: u32,
    req: TrainRequest,
    params: TrainParams,
    timeframe: Timeframe,
    bars: Vec<Candle>,
    base: Option<(String, Arc<Agent>)>,
    done: Arc<AtomicUsize>,
    curve: Arc<Mutex<Vec<CurvePoint>>>,
}

impl Job {
    async fn run(self) {
        let (services, meta, agent_id) = (self.services.clone(), self.meta.clone(), self.agent_id.clone());
        let outcome = match tokio::task::spawn_blocking(move || self.train_and_write()).await {
            Ok(r) => r,
            Err(e) => Err(TrainingError::Thread(e.to_string())),
        };
        let event = match &outcome {
            Ok((file, ev)) => Event::RlAgentTrained(RlAgentTrained {
                agent_id: agent_id.clone(),
                agent_file: file.clone(),
                excess_return: ev.excess_return,
                p_value: ev.p_value,
            }),
            Err(e) => Event::RlTrainingFailed(RlTrainingFailed {
                agent_id: agent_id.clone(),
                reason: crate::reason::journal_reason(&e.to_string()),
            }),
        };
        let recorded = services.record(services.draft(&meta, event)).await;
        let outcome = match (outcome, recorded) {
            (Ok((file, _)), Ok(_)) => Ok(file),
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(TrainingError::NotJournaled(e.to_reply().message)),
        };
        match &outcome {
            Ok(file) => tracing::info!(%agent_id, file, "rl agent trained"),
            Err(e) => tracing::warn!(%agent_id, reason = %e, "rl training failed"),
        }
        if let Some(actor) = ActorRef::<RlMsg>::where_is(names::RL) {
            let _ = actor.cast(RlMsg::Finished { agent_id, outcome });
        }
    }

    fn train_and_write(self) -> Result<(String, Evaluation), TrainingError> {
        let (p, tf, symbol) = (&self.params, self.timeframe, self.req.symbol.as_str());
        let base = self.base.as_ref().map(|(_, a)| a.as_ref());
        let (done, curve) = (self.done.clone(), self.curve.clone());
        let trained = train(&self.bars, tf, symbol, p, base, &mut |n, point| {
            done.store(n, Ordering::Relaxed);
            curve.lock().expect("curve lock").push(*point);
        })?;
        let eval_params = super::evaluate::EvalParams { seed: p.seed, ..Default::default() };
        let after = evaluate(&trained.agent, &self.bars, tf, symbol, &p.env, p.train_fraction, &eval_params)?;
        let before = match base {
            Some(b) => Some(evaluate(b, &self.bars, tf, symbol, &p.env, p.train_fraction, &eval_params)?),
            None => None,
        };
        let train_bars = split(self.bars.len(), p.train_fraction)?;
        let doc = json!({
            "agent_id": self.agent_id, "version": self.version, "request": self.req,
            "train_bars": train_bars, "held_out_bars": self.bars.len() - train_bars,
            "training_curve": trained.curve, "evaluation": after, "base_evaluation": before,
            "updates": trained.updates, "env_steps": trained.env_steps, "agent": trained.agent,
        });
        let file = files::write(&self.data_dir, &self.agent_id, &doc)?;
        Ok((file, after))
    }
}
