//! ML training (issue 14): honest models, versioned, explainable.
//!
//! The users distrust any number that could have seen the future, so every step is built
//! not to leak: features read bars up to their own only (checked on every run by
//! recomputing them on truncated data), labels look `horizon` bars ahead and are purged
//! (plus an embargo) from any training set they overlap, parameters are chosen on purged
//! walk-forward folds of the training rows, and every reported metric is out-of-sample,
//! with the majority-class (or mean) baseline beside it.
//!
//! The core is pure (no tokio, no I/O, no clock; every random draw from a seeded
//! ChaCha8, LightGBM run `deterministic`); `actor.rs` journals, writes files and serves.
//!
//! # Layout
//!
//! - `error.rs`: [`MlError`], each variant naming the problem.
//! - `features.rs`: feature groups by the spec's names over the market-data indicators.
//! - `dataset.rs`: targets (`price_direction`, `forward_return`) and the labelled matrix.
//! - `split.rs`: chronological holdout and purged walk-forward folds (purge + embargo).
//! - `metrics.rs`: AUC, log loss, Brier, accuracy; R², MAE, IC; baselines beside them.
//! - `causality.rs`: the truncation check that catches a feature reading later bars.
//! - `linear.rs`: logistic / ridge regression, the baseline model.
//! - `gbm.rs`: gradient-boosted trees (LightGBM via `lightgbm3`).
//! - `trees.rs`: a flat, parallel evaluator of LightGBM's text model for batch scoring.
//! - `mlp.rs`: the MLP in candle.
//! - `model.rs`: `model_type` names, stored weights, a loaded model (and the ensemble).
//! - `tune.rs`: fitting by kind, purged CV, the seeded TPE search.
//! - `select.rs`: automated feature selection on the training folds only.
//! - `importance.rs`: permutation importance (out-of-sample) and GBM gain.
//! - `train.rs`: one training run, start to finish.
//! - `request.rs`: the HTTP / CLI request bodies and their validation.
//! - `files.rs`: model files under `<data_dir>/models/` (atomic, hashed).
//! - `registry.rs`: the models the journal knows, folded from the ML events.
//! - `job.rs`: a training job in the background (train, write, journal).
//! - `msg.rs`: the actor's messages ([`actor::MlMsg`]), which the jobs send back.
//! - `actor.rs`: the ML actor: train, list, get, delete, predict, importance.

pub mod actor;
pub mod causality;
pub mod dataset;
pub mod error;
pub mod features;
pub mod files;
pub mod gbm;
pub mod importance;
pub mod job;
pub mod linear;
pub mod metrics;
pub mod mlp;
pub mod model;
pub mod msg;
pub mod registry;
pub mod request;
pub mod select;
pub mod split;
pub mod train;
pub mod trees;
pub mod tune;

#[cfg(test)]
mod tests;

pub use error::MlError;
