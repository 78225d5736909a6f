//! The ML actor's messages, in a module of their own so the background jobs
//! (`job.rs`) can address the actor without depending on its code (and the actor on
//! theirs: one way, actor -> job -> msg). `actor.rs` re-exports them.

use super::registry::Ready;
use super::request::{PredictRequest, TrainRequest};
use crate::context::RequestMeta;
use crate::fault::Fault;
use crate::session::actor::Answer;
use serde_json::Value;
use tradpal_messages::{Event, ModelId};

#[derive(Debug)]
pub enum MlMsg {
    Train {
        req: Box<TrainRequest>,
        meta: RequestMeta,
        reply: Answer<Value>,
    },
    Models {
        reply: Answer<Value>,
    },
    Model {
        id: ModelId,
        reply: Answer<Value>,
    },
    Delete {
        id: ModelId,
        meta: RequestMeta,
        reply: Answer<Value>,
    },
    Predict {
        req: Box<PredictRequest>,
        reply: Answer<Value>,
    },
    Importance {
        id: ModelId,
        reply: Answer<Value>,
    },
    /// The probability that `symbol` rises, from `model_id` or else its symbol's latest
    /// ready classifier, on `candles` (or its latest stored bars): what the AI ensemble
    /// asks. `Err` 404 when no model is ready.
    Score {
        symbol: String,
        model_id: Option<ModelId>,
        candles: Option<Vec<tradpal_messages::Candle>>,
        reply: Answer<Value>,
    },
    /// The model an `ai_ensemble` run pins: `model_id`, or else `symbol`'s latest ready
    /// direction model, loaded for scoring (a copy of its own). `Err` 404 when none.
    Resolve {
        symbol: String,
        model_id: Option<ModelId>,
        reply: Answer<MlResolved>,
    },
    /// Internal: a job ended; `event` is its journaled end, `ready` the model if it trained.
    Finished {
        id: ModelId,
        event: Box<Event>,
        ready: Option<Box<Ready>>,
    },
    Fault(Fault),
}

/// A model resolved for an `ai_ensemble` run.
#[derive(Debug, Clone)]
pub struct MlResolved {
    pub model_id: ModelId,
    pub version: u32,
    pub timeframe: tradpal_messages::Timeframe,
    pub scorer: std::sync::Arc<crate::strategy::MlScorer>,
}
