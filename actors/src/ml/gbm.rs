//! Gradient-boosted trees: LightGBM through the `lightgbm3` bindings (see ARCHITECTURE.md
//! for why this crate and not `perpetual`). The model is kept as LightGBM's own text
//! format, which reloads exactly and which Python LightGBM reads with identical
//! predictions. Training is deterministic for a seed (`deterministic = true`).

use super::error::MlError;
use lightgbm3::{Booster, Dataset as LgbDataset, ImportanceType};
use serde::{Deserialize, Serialize};

/// What the API reports as the implementation that ran.
pub const IMPLEMENTATION: &str = "lightgbm3 1.0.11 (LightGBM C++ library, histogram GBDT)";
/// Training rows from which LightGBM uses every core (with `num_threads` 0); below it,
/// one thread: on small data OpenMP's threads cost more than they save, and on a busy
/// machine a lot more (measured: an HPO run of 48 small fits took 46 s on 2 threads
/// with other builds running, 3.8 s on one). `deterministic` makes the model the same
/// either way.
pub const PARALLEL_ROWS_MIN: usize = 20_000;
/// Most trees a request may ask for.
pub const TREES_MAX: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GbmParams {
    /// Trees (LightGBM's `num_iterations`; `n_estimators` would be silently ignored).
    pub num_iterations: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    pub min_data_in_leaf: usize,
    /// 0: LightGBM's default (every core).
    pub num_threads: usize,
}

impl Default for GbmParams {
    /// LightGBM's own defaults, with 200 trees.
    fn default() -> Self {
        Self { num_iterations: 200, learning_rate: 0.1, num_leaves: 31, min_data_in_leaf: 20, num_threads: 0 }
    }
}

/// A trained booster and its text form.
pub struct Gbm {
    booster: Booster,
    /// The same trees as flat arrays, for batch scoring (`None`: LightGBM scores).
    forest: Option<super::trees::Forest>,
    pub text: String,
    cols: usize,
}

// SAFETY: a LightGBM booster handle is not tied to the thread that made it; the C API
// locks internally for predictions. `Gbm` is moved between threads (training thread ->
// actor), never used from two threads at once (it is not `Sync`).
unsafe impl Send for Gbm {}

impl std::fmt::Debug for Gbm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gbm").field("cols", &self.cols).field("text_bytes", &self.text.len()).finish()
    }
}

impl Gbm {
    pub fn fit(x: &[f64], y: &[f64], cols: usize, classifier: bool, p: &GbmParams, seed: u64) -> Result<Gbm, MlError> {
        let labels: Vec<f32> = y.iter().map(|v| *v as f32).collect();
        let data = LgbDataset::from_slice(x, &labels, cols as i32, true)?;
        let threads = match p.num_threads {
            0 if y.len() < PARALLEL_ROWS_MIN => 1,
            n => n,
        };
        let params = serde_json::json!({
            "objective": if classifier { "binary" } else { "regression" },
            "num_iterations": p.num_iterations,
            "learning_rate": p.learning_rate,
            "num_leaves": p.num_leaves,
            "min_data_in_leaf": p.min_data_in_leaf,
            "num_threads": threads,
            "seed": seed % (i32::MAX as u64),
            "deterministic": true,
            "force_row_wise": true,
            "verbose": -1,
        });
        let booster = Booster::train(data, &params)?;
        let text = booster.save_string()?;
        Self::from_text(&text, cols)
    }

    /// Loads a model saved by [`Gbm::fit`].
    pub fn from_text(text: &str, cols: usize) -> Result<Gbm, MlError> {
        let mut booster = Booster::from_string(text)?;
        if booster.num_features() as usize != cols {
            return Err(MlError::Gbm(format!("the model has {} features, its metadata {cols}", booster.num_features())));
        }
        booster.single_row_fast_init::<f64>(Some(&serde_json::json!({ "num_threads": 1 })))?;
        let forest = super::trees::Forest::parse(text, cols);
        Ok(Gbm { booster, forest, text: text.to_string(), cols })
    }

    /// Probabilities (binary) or values (regression) for the rows of `x`: one row through
    /// LightGBM's fast single-row path, batches through the flat evaluator when it read
    /// the model (bit-identical, see `trees.rs`), else through LightGBM.
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>, MlError> {
        if x.len() == self.cols {
            return Ok(self.booster.predict_single_row_fast(x)?);
        }
        if let Some(forest) = &self.forest {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            return Ok(forest.predict(x, threads));
        }
        Ok(self.booster.predict(x, self.cols as i32, true)?)
    }

    /// LightGBM's own batch scores (what the flat evaluator is tested against).
    pub fn predict_lightgbm(&self, x: &[f64]) -> Result<Vec<f64>, MlError> {
        Ok(self.booster.predict(x, self.cols as i32, true)?)
    }

    pub fn has_flat_evaluator(&self) -> bool {
        self.forest.is_some()
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Total split gain per feature.
    pub fn gain(&self) -> Result<Vec<f64>, MlError> {
        Ok(self.booster.feature_importance(ImportanceType::Gain)?)
    }
}
