//! Automated feature selection, on the training folds only: each purged walk-forward
//! fold fits the model on its training rows and measures permutation importance on its
//! validation block; a feature is kept when its mean importance over the folds is above
//! zero (the best one is kept if none is). The test rows are never read.

use super::dataset::Dataset;
use super::error::MlError;
use super::importance::importance;
use super::model::ModelKind;
use super::split::Split;
use super::tune::{fit, Params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionReport {
    pub method: String,
    pub kept: Vec<String>,
    pub dropped: Vec<String>,
    /// Mean permutation importance over the folds, per feature.
    pub cv_importance: BTreeMap<String, f64>,
}

/// The columns of `train` to keep, and why.
pub fn select(
    kind: ModelKind,
    p: &Params,
    train: &Dataset,
    folds: &[Split],
    classifier: bool,
    seed: u64,
) -> Result<(Vec<usize>, SelectionReport), MlError> {
    if folds.is_empty() {
        return Err(MlError::Field { field: "feature_selection", why: "the training set is too short for purged CV folds".into() });
    }
    let mut mean = vec![0.0; train.cols()];
    for f in folds {
        let model = fit(kind, p, &train.subset(&f.train), classifier, seed, &mut |_| {})?;
        for (m, imp) in mean.iter_mut().zip(importance(&model, &train.subset(&f.test), classifier, seed)?) {
            *m += imp.permutation / folds.len() as f64;
        }
    }
    let mut kept: Vec<usize> = (0..mean.len()).filter(|&j| mean[j] > 0.0).collect();
    if kept.is_empty() {
        let best = (0..mean.len()).max_by(|&a, &b| mean[a].total_cmp(&mean[b]).then(b.cmp(&a))).unwrap_or(0);
        kept.push(best);
    }
    let name = |j: &usize| train.names[*j].clone();
    let report = SelectionReport {
        method: format!(
            "permutation importance on the validation blocks of {} purged walk-forward folds (training rows only); kept if > 0",
            folds.len()
        ),
        kept: kept.iter().map(name).collect(),
        dropped: (0..mean.len()).filter(|j| !kept.contains(j)).map(|j| name(&j)).collect(),
        cv_importance: train.names.iter().cloned().zip(mean.iter().copied()).collect(),
    };
    Ok((kept, report))
}
