//! The model registry: every model the journal knows, folded from the ML events, with
//! live progress for the ones training and loaded models cached for `predict`.

use super::model::Loaded;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tradpal_messages::{Event, ModelId, Timeframe};

/// The reason a training cut by a restart reports.
pub const INTERRUPTED: &str = "interrupted by a restart before it finished";

#[derive(Debug)]
pub enum Status {
    /// `progress` holds an `f64` fraction's bits.
    Training {
        progress: Arc<AtomicU64>,
    },
    Ready {
        file: String,
        hash: String,
        score: f64,
    },
    Failed {
        reason: String,
    },
    Deleted {
        reason: String,
    },
}

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Status::Training { .. } => "training",
            Status::Ready { .. } => "ready",
            Status::Failed { .. } => "failed",
            Status::Deleted { .. } => "deleted",
        }
    }

    pub fn progress(&self) -> f64 {
        match self {
            Status::Training { progress } => f64::from_bits(progress.load(Ordering::Relaxed)).clamp(0.0, 1.0),
            Status::Ready { .. } => 1.0,
            Status::Failed { .. } | Status::Deleted { .. } => 0.0,
        }
    }
}

/// A loaded model and what predicting with it needs from its file.
#[derive(Debug)]
pub struct Ready {
    pub model: Loaded,
    pub features: Vec<String>,
    pub groups: Vec<super::features::FeatureGroup>,
    /// Which of the groups' columns the model takes, in order.
    pub columns: Vec<usize>,
    pub classifier: bool,
    /// The model file's document without its weights (what `GET` shows).
    pub doc: serde_json::Value,
}

/// Why a model file's document (already read and hash-checked) cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelDocError {
    /// A field (weights, features, groups, columns) does not have its shape.
    #[error(transparent)]
    Field(#[from] serde_json::Error),
    /// The weights do not make a model.
    #[error(transparent)]
    Load(#[from] super::MlError),
}

impl Ready {
    /// A model file's document, read and checked (`files::read`), loaded.
    pub fn from_doc(mut doc: serde_json::Value) -> Result<Ready, ModelDocError> {
        let weights: super::model::Weights = serde_json::from_value(doc["weights"].take())?;
        let features: Vec<String> = serde_json::from_value(doc["features"].clone())?;
        let groups: Vec<super::features::FeatureGroup> = serde_json::from_value(doc["feature_groups"].clone())?;
        if let Some(o) = doc.as_object_mut() {
            o.remove("weights");
        }
        let columns: Vec<usize> = serde_json::from_value(doc["feature_columns"].clone())?;
        let classifier = doc["target"]["kind"] == "price_direction";
        let model = Loaded::load(&weights)?;
        Ok(Ready { model, features, groups, columns, classifier, doc })
    }
}

#[derive(Debug)]
pub struct Entry {
    pub name: String,
    pub version: u32,
    pub model_type: String,
    pub symbol: String,
    pub timeframe: Timeframe,
    pub bars: u64,
    pub request: serde_json::Value,
    pub status: Status,
}

#[derive(Debug, Default)]
pub struct Registry {
    pub entries: BTreeMap<ModelId, Entry>,
    /// The latest version given to each name (deleted models keep their number).
    pub versions: BTreeMap<String, u32>,
    pub loaded: BTreeMap<ModelId, Box<Ready>>,
    /// Scorers handed to `ai_ensemble` runs: one per model, shared by every run on it.
    pub scorers: BTreeMap<ModelId, Arc<crate::strategy::MlScorer>>,
}

impl Registry {
    /// Folds one journaled event.
    pub fn fold(&mut self, event: &Event) {
        match event {
            Event::MlTrainingStarted(e) => {
                let v = self.versions.entry(e.name.clone()).or_default();
                *v = (*v).max(e.version);
                self.entries.insert(
                    e.model_id,
                    Entry {
                        name: e.name.clone(),
                        version: e.version,
                        model_type: e.model_type.clone(),
                        symbol: e.symbol.clone(),
                        timeframe: e.timeframe,
                        bars: e.bars,
                        request: serde_json::from_str(&e.request_json).unwrap_or(serde_json::Value::Null),
                        status: Status::Failed { reason: INTERRUPTED.into() },
                    },
                );
            }
            Event::MlModelTrained(e) => {
                self.set(e.model_id, Status::Ready { file: e.model_file.clone(), hash: e.file_hash.clone(), score: e.out_of_sample_score })
            }
            Event::MlTrainingFailed(e) => self.set(e.model_id, Status::Failed { reason: e.reason.clone() }),
            Event::MlModelDeleted(e) => {
                self.loaded.remove(&e.model_id);
                self.scorers.remove(&e.model_id);
                self.set(e.model_id, Status::Deleted { reason: e.reason.clone() });
            }
            _ => {}
        }
    }

    pub fn set(&mut self, id: ModelId, status: Status) {
        if let Some(e) = self.entries.get_mut(&id) {
            e.status = status;
        }
    }

    pub fn running(&self) -> usize {
        self.entries.values().filter(|e| matches!(e.status, Status::Training { .. })).count()
    }

    /// The next version for `name`.
    pub fn next_version(&self, name: &str) -> u32 {
        self.versions.get(name).copied().unwrap_or(0) + 1
    }
}
