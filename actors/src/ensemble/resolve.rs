//! Which models an `ai_ensemble` run decides with: resolved once when it starts (the
//! symbol's latest ready ML direction model and trained RL agent unless the request names
//! them, the regime model), pinned (`AiPins`, journaled with a session), and loaded again
//! from the pins on a rebuild, so a restart decides with the same models.
//!
//! A part that cannot speak for the whole run is left out with the reason pinned: its
//! feature flag is off, nothing is trained for the symbol, or the latest model was
//! trained on another timeframe (named explicitly, it is used anyway). With neither an ML
//! model nor an RL agent the run is refused (409, saying how to train one).

use super::actor::EnsembleSettings;
use crate::context::ask;
use crate::ml::actor::{MlMsg, MlResolved};
use crate::names;
use crate::regime::actor::RegimeMsg;
use crate::regime::model::RegimeModel;
use crate::rl::actor::{RlMsg, RlResolved};
use crate::strategy::AiModels;
use std::sync::Arc;
use tradpal_messages::{AiPins, ErrorCode, ErrorReply, ModelId, Timeframe};

/// Longest a call to the ML, RL or regime actor may take while resolving (a regime fit
/// may run).
pub const RESOLVE_CALL_MS: u64 = 30_000;

/// What a run asks for.
#[derive(Debug, Clone, Copy)]
pub struct AiRequest<'a> {
    pub symbol: &'a str,
    pub timeframe: Timeframe,
    pub model_id: Option<&'a str>,
    pub agent_id: Option<&'a str>,
}

fn bad(m: impl Into<String>) -> ErrorReply {
    ErrorReply::new(ErrorCode::BadRequest, m)
}

fn parse_model_id(id: &str) -> Result<ModelId, ErrorReply> {
    id.parse().map_err(|_| bad(format!("model_id: {id:?} is not a model id (GET /api/ml/models lists them)")))
}

async fn ml(symbol: &str, model_id: Option<ModelId>) -> Result<MlResolved, ErrorReply> {
    let symbol = symbol.to_string();
    ask(names::ML, RESOLVE_CALL_MS, |reply| MlMsg::Resolve { symbol, model_id, reply }).await?
}

async fn rl(symbol: &str, agent_id: Option<String>) -> Result<RlResolved, ErrorReply> {
    let symbol = symbol.to_string();
    ask(names::RL, RESOLVE_CALL_MS, |reply| RlMsg::Resolve { symbol, agent_id, reply }).await?
}

/// Resolves and pins the models of a run starting now (see the module doc).
pub async fn resolve(req: AiRequest<'_>, settings: &EnsembleSettings) -> Result<AiModels, ErrorReply> {
    let mut left_out = Vec::new();
    let (mut ml_part, mut rl_part) = (None, None);
    if !settings.ml_enabled {
        left_out.push("ml: ENABLE_ML_TRAINING is false".to_string());
    } else {
        let named = req.model_id.map(parse_model_id).transpose()?;
        match ml(req.symbol, named).await {
            Ok(m) if named.is_none() && m.timeframe != req.timeframe => left_out.push(format!(
                "ml: the latest model {} was trained on {} bars, this run is on {} (name it with model_id to use it anyway)",
                m.model_id, m.timeframe, req.timeframe
            )),
            Ok(m) => ml_part = Some(m),
            Err(e) if named.is_none() && e.code == ErrorCode::NotFound => left_out.push(format!("ml: {}", e.message)),
            Err(e) => return Err(e),
        }
    }
    if !settings.rl_enabled {
        left_out.push("rl: ENABLE_REINFORCEMENT_LEARNING is false".to_string());
    } else {
        let named = req.agent_id.map(str::to_string);
        match rl(req.symbol, named.clone()).await {
            Ok(a) if named.is_none() && a.timeframe != req.timeframe => left_out.push(format!(
                "rl: the latest agent {} was trained on {} bars, this run is on {} (name it with agent_id to use it anyway)",
                a.agent_id, a.timeframe, req.timeframe
            )),
            Ok(a) => rl_part = Some(a),
            Err(e) if named.is_none() && e.code == ErrorCode::NotFound => left_out.push(format!("rl: {}", e.message)),
            Err(e) => return Err(e),
        }
    }
    if ml_part.is_none() && rl_part.is_none() {
        let why = left_out.join("; ");
        return Err(ErrorReply::new(
            ErrorCode::Conflict,
            format!("ai_ensemble has no model or agent to decide with for {} at {}: {why}", req.symbol, req.timeframe),
        ));
    }
    let regime = regime_model(req, settings, rl_part.as_ref(), &mut left_out).await;
    let regime_model_json = match &regime {
        Some(m) => Some(serde_json::to_string(m.as_ref()).map_err(|e| ErrorReply::new(ErrorCode::Internal, e.to_string()))?),
        None => None,
    };
    // Decide with the model as a rebuild will read it back from the pins.
    let regime = pinned_regime(regime_model_json.as_deref()).map_err(|e| ErrorReply::new(ErrorCode::Internal, e))?;
    let pins = AiPins {
        model_id: ml_part.as_ref().map(|m| m.model_id.to_string()),
        model_version: ml_part.as_ref().map_or(0, |m| m.version),
        agent_id: rl_part.as_ref().map(|a| a.agent_id.clone()),
        agent_version: rl_part.as_ref().map_or(0, |a| a.version),
        regime_model_json,
        ml_weight: settings.weights.ml,
        rl_weight: settings.weights.rl,
        regime_weight: settings.weights.regime,
        left_out,
    };
    pins.check().map_err(bad)?;
    Ok(AiModels { pins, ml: ml_part.map(|m| m.scorer), rl: rl_part.map(|a| a.agent), regime })
}

/// The run's regime model: the agent's own (fitted on its training bars, what its
/// observations were made with) when it has one, else the regime service's fit of the
/// symbol's latest bars at the run's timeframe.
async fn regime_model(
    req: AiRequest<'_>,
    settings: &EnsembleSettings,
    agent: Option<&RlResolved>,
    left_out: &mut Vec<String>,
) -> Option<Arc<RegimeModel>> {
    if !settings.regime_enabled {
        left_out.push("regime: ENABLE_MARKET_REGIME is false".into());
        return None;
    }
    if let Some(m) = agent.and_then(|a| a.agent.regime.clone()) {
        return Some(Arc::new(m));
    }
    let (symbol, timeframe) = (req.symbol.to_string(), req.timeframe);
    match ask(names::REGIME, RESOLVE_CALL_MS, |reply| RegimeMsg::Model { symbol, timeframe, reply }).await.and_then(|r| r) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => {
            left_out.push(format!("regime: {}", e.message));
            None
        }
    }
}

/// The regime model as pinned (the one parse of `AiPins::regime_model_json`).
fn pinned_regime(json: Option<&str>) -> Result<Option<Arc<RegimeModel>>, String> {
    json.map(|j| serde_json::from_str::<RegimeModel>(j).map(Arc::new).map_err(|e| format!("the pinned regime model does not parse: {e}")))
        .transpose()
}

/// Loads a run's pinned models again (a session's rebuild): the same ids, checked to be
/// the same versions, and the pinned regime model itself.
pub async fn load(pins: &AiPins, symbol: &str) -> Result<AiModels, ErrorReply> {
    let gone = |what: String| ErrorReply::new(ErrorCode::Conflict, format!("a pinned model is gone: {what}"));
    let ml_part = match &pins.model_id {
        Some(id) => {
            let m = ml(symbol, Some(parse_model_id(id)?)).await.map_err(|e| gone(format!("ML model {id}: {}", e.message)))?;
            if m.version != pins.model_version {
                return Err(gone(format!("ML model {id} is version {}, the run pinned {}", m.version, pins.model_version)));
            }
            Some(m.scorer)
        }
        None => None,
    };
    let rl_part = match &pins.agent_id {
        Some(id) => {
            let a = rl(symbol, Some(id.clone())).await.map_err(|e| gone(format!("RL agent {id}: {}", e.message)))?;
            if a.version != pins.agent_version {
                return Err(gone(format!("RL agent {id} is version {}, the run pinned {}", a.version, pins.agent_version)));
            }
            Some(a.agent)
        }
        None => None,
    };
    let regime = pinned_regime(pins.regime_model_json.as_deref()).map_err(gone)?;
    Ok(AiModels { pins: pins.clone(), ml: ml_part, rl: rl_part, regime })
}

/// Where trained models' files are, from the journal (`MlModelTrained`, `RlAgentTrained`):
/// what loading a session's pins needs offline (`tradpal replay --session`).
#[derive(Debug, Default)]
pub struct TrainedFiles {
    /// Model id (as pinned) -> (file, hash).
    pub models: std::collections::BTreeMap<String, (String, String)>,
    /// Agent id -> file.
    pub agents: std::collections::BTreeMap<String, String>,
}

impl TrainedFiles {
    pub fn fold(&mut self, event: &tradpal_messages::Event) {
        match event {
            tradpal_messages::Event::MlModelTrained(m) => {
                self.models.insert(m.model_id.to_string(), (m.model_file.clone(), m.file_hash.clone()));
            }
            tradpal_messages::Event::RlAgentTrained(a) => {
                self.agents.insert(a.agent_id.clone(), a.agent_file.clone());
            }
            _ => {}
        }
    }
}

/// Why [`load_files`] could not load a pinned part; the text names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("ML model {0}: not trained in this journal")]
    MlNotTrained(String),
    /// Its file is missing, altered or not a model of this build.
    #[error("ML model {id}: {why}")]
    Ml { id: String, why: String },
    #[error("RL agent {0}: not trained in this journal")]
    RlNotTrained(String),
    #[error("RL agent {id}: {why}")]
    Rl { id: String, why: String },
    /// The pinned regime model's JSON (names its parse error).
    #[error("{0}")]
    Regime(String),
}

/// Loads pinned models from their files without the actors (the service stopped).
pub fn load_files(data_dir: &std::path::Path, pins: &AiPins, files: &TrainedFiles) -> Result<AiModels, LoadError> {
    let ml_part = match &pins.model_id {
        Some(id) => {
            let ml = |why: String| LoadError::Ml { id: id.to_string(), why };
            let (file, hash) = files.models.get(id).ok_or_else(|| LoadError::MlNotTrained(id.to_string()))?;
            let doc = crate::ml::files::read(data_dir, file, hash).map_err(|e| ml(e.to_string()))?;
            let ready = crate::ml::registry::Ready::from_doc(doc).map_err(|e| ml(e.to_string()))?;
            Some(Arc::new(crate::strategy::MlScorer {
                model: std::sync::Mutex::new(ready.model),
                groups: ready.groups,
                columns: ready.columns,
            }))
        }
        None => None,
    };
    let rl_part = match &pins.agent_id {
        Some(id) => {
            let rl = |why: String| LoadError::Rl { id: id.to_string(), why };
            let file = files.agents.get(id).ok_or_else(|| LoadError::RlNotTrained(id.to_string()))?;
            let doc = crate::rl::files::read(data_dir, file).map_err(|e| rl(e.to_string()))?;
            let agent: crate::rl::agent::Agent =
                serde_json::from_value(doc.get("agent").cloned().unwrap_or_default()).map_err(|e| rl(e.to_string()))?;
            Some(Arc::new(agent))
        }
        None => None,
    };
    let regime = pinned_regime(pins.regime_model_json.as_deref()).map_err(LoadError::Regime)?;
    Ok(AiModels { pins: pins.clone(), ml: ml_part, rl: rl_part, regime })
}
