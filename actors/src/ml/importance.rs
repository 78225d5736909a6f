//! Feature importance on the out-of-sample rows: permutation importance (the drop in
//! AUC, or R², when one feature's column is shuffled; seeded, averaged over
//! [`PERMUTATION_REPEATS`]) for every model, and the GBM's total split gain where a GBM
//! is part of the model.

use super::dataset::Dataset;
use super::error::MlError;
use super::metrics::{auc, regression};
use super::model::Loaded;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Shuffles per feature.
pub const PERMUTATION_REPEATS: usize = 3;
/// Most (latest) test rows the permutation importance reads.
pub const PERMUTATION_ROWS_MAX: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    pub name: String,
    /// Total split gain (GBM), `null` for models without one.
    pub gain: Option<f64>,
    /// Share of the total gain.
    pub gain_share: Option<f64>,
    /// Mean drop of the out-of-sample metric when this feature is shuffled.
    pub permutation: f64,
}

fn metric(classifier: bool, y: &[f64], p: &[f64]) -> f64 {
    if classifier {
        auc(y, p)
    } else {
        regression(y, p).r2
    }
}

/// Importance of every feature of `test` for `model`, in feature order.
pub fn importance(model: &Loaded, test: &Dataset, classifier: bool, seed: u64) -> Result<Vec<FeatureImportance>, MlError> {
    let from = test.rows().saturating_sub(PERMUTATION_ROWS_MAX);
    let data = test.slice(from..test.rows());
    let cols = data.cols();
    let base = metric(classifier, &data.y, &model.predict(&data.x)?);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut perm = vec![0.0; cols];
    for (j, slot) in perm.iter_mut().enumerate() {
        let mut x = data.x.clone();
        let mut column: Vec<f64> = (0..data.rows()).map(|r| data.x[r * cols + j]).collect();
        for _ in 0..PERMUTATION_REPEATS {
            column.shuffle(&mut rng);
            for (r, v) in column.iter().enumerate() {
                x[r * cols + j] = *v;
            }
            *slot += (base - metric(classifier, &data.y, &model.predict(&x)?)) / PERMUTATION_REPEATS as f64;
        }
    }
    let gain = model.gain()?;
    let total: f64 = gain.as_ref().map_or(0.0, |g| g.iter().sum());
    Ok(data
        .names
        .iter()
        .enumerate()
        .map(|(j, name)| FeatureImportance {
            name: name.clone(),
            gain: gain.as_ref().map(|g| g[j]),
            gain_share: gain.as_ref().map(|g| if total > 0.0 { g[j] / total } else { 0.0 }),
            permutation: perm[j],
        })
        .collect())
}
