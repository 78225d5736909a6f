//! Fitting a model kind with its parameters, purged walk-forward CV, and the seeded TPE
//! search (the backtester's [`tpe::search_by`]) over the training folds only: the test
//! set is never seen while choosing parameters.

use super::dataset::Dataset;
use super::error::MlError;
use super::gbm::{Gbm, GbmParams};
use super::linear::{Linear, L2_DEFAULT};
use super::metrics::{auc, regression};
use super::mlp::{Mlp, MlpParams};
use super::model::{Loaded, ModelKind};
use super::split::Split;
use crate::backtest::optimize::eval::Scored;
use crate::backtest::optimize::space::ParamRange;
use crate::backtest::optimize::tpe;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Trials of the search when the request does not say.
pub const HPO_TRIALS_DEFAULT: usize = 16;
/// Most trials a request may ask for.
pub const HPO_TRIALS_MAX: usize = 200;
/// Uniform trials before the TPE model is used.
const HPO_STARTUP: usize = 6;

/// Every parameter of every model kind (each kind reads its own).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub gbm: GbmParams,
    pub mlp: MlpParams,
    /// L2 penalty of the logistic / ridge baseline.
    pub l2: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self { gbm: GbmParams::default(), mlp: MlpParams::default(), l2: L2_DEFAULT }
    }
}

/// Fits `kind` on `data`; `progress` gets the fraction done (MLP epochs).
pub fn fit(
    kind: ModelKind,
    p: &Params,
    data: &Dataset,
    classifier: bool,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<Loaded, MlError> {
    let cols = data.cols();
    let epochs = p.mlp.epochs.max(1) as f64;
    Ok(match kind {
        ModelKind::Gbm => Loaded::Gbm(Gbm::fit(&data.x, &data.y, cols, classifier, &p.gbm, seed)?),
        ModelKind::Logistic => Loaded::Logistic(Linear::fit(&data.x, &data.y, cols, classifier, p.l2)?),
        ModelKind::Mlp => Loaded::Mlp(Mlp::fit(&data.x, &data.y, cols, classifier, &p.mlp, seed, &mut |e| progress(e as f64 / epochs))?),
        ModelKind::Ensemble => {
            let gbm = Gbm::fit(&data.x, &data.y, cols, classifier, &p.gbm, seed)?;
            progress(0.3);
            let lin = Linear::fit(&data.x, &data.y, cols, classifier, p.l2)?;
            let mlp = Mlp::fit(&data.x, &data.y, cols, classifier, &p.mlp, seed, &mut |e| progress(0.3 + 0.7 * e as f64 / epochs))?;
            Loaded::Ensemble(vec![Loaded::Gbm(gbm), Loaded::Logistic(lin), Loaded::Mlp(mlp)])
        }
    })
}

/// AUC (classifier) or R² of `p` on `y`.
pub fn headline(classifier: bool, y: &[f64], p: &[f64]) -> f64 {
    if classifier {
        auc(y, p)
    } else {
        regression(y, p).r2
    }
}

/// The headline metric of each fold, fitting on its training rows.
pub fn cross_validate(
    kind: ModelKind,
    p: &Params,
    train: &Dataset,
    folds: &[Split],
    classifier: bool,
    seed: u64,
) -> Result<Vec<f64>, MlError> {
    folds
        .iter()
        .map(|f| {
            let model = fit(kind, p, &train.subset(&f.train), classifier, seed, &mut |_| {})?;
            let val = train.subset(&f.test);
            Ok(headline(classifier, &val.y, &model.predict(&val.x)?))
        })
        .collect()
}

/// The ranges the search explores for `kind`.
pub fn ranges(kind: ModelKind) -> Vec<ParamRange> {
    let log = |name: &str, min: f64, max: f64| ParamRange { log: true, ..ParamRange::new(name, min, max, None) };
    let gbm = || {
        vec![
            ParamRange::new("num_leaves", 7.0, 127.0, Some(1.0)),
            log("learning_rate", 0.02, 0.3),
            ParamRange::new("min_data_in_leaf", 5.0, 200.0, Some(1.0)),
        ]
    };
    match kind {
        ModelKind::Gbm => gbm(),
        ModelKind::Logistic => vec![log("l2", 1e-3, 1e3)],
        ModelKind::Mlp => vec![log("mlp_learning_rate", 1e-4, 1e-2)],
        ModelKind::Ensemble => {
            let mut r = gbm();
            r.push(log("l2", 1e-3, 1e3));
            r.push(log("mlp_learning_rate", 1e-4, 1e-2));
            r
        }
    }
}

/// `base` with the point's values set.
pub fn apply(base: &Params, ranges: &[ParamRange], point: &[f64]) -> Params {
    let mut p = *base;
    for (r, v) in ranges.iter().zip(point) {
        match r.name.as_str() {
            "num_leaves" => p.gbm.num_leaves = *v as usize,
            "learning_rate" => p.gbm.learning_rate = *v,
            "min_data_in_leaf" => p.gbm.min_data_in_leaf = *v as usize,
            "l2" => p.l2 = *v,
            "mlp_learning_rate" => p.mlp.learning_rate = *v,
            _ => {}
        }
    }
    p
}

/// What the search did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HpoReport {
    pub method: String,
    pub trials: usize,
    /// Mean purged-CV metric of the best point.
    pub best_cv_score: f64,
    pub best: BTreeMap<String, f64>,
}

/// Searches `trials` points, each scored by the mean purged-CV metric on `train`.
#[allow(clippy::too_many_arguments)]
pub fn tune(
    kind: ModelKind,
    base: &Params,
    train: &Dataset,
    folds: &[Split],
    classifier: bool,
    trials: usize,
    seed: u64,
    progress: &mut dyn FnMut(f64),
) -> Result<(Params, HpoReport), MlError> {
    if folds.is_empty() {
        return Err(MlError::Field {
            field: "hyperparameter_optimization",
            why: "the training set is too short for purged CV folds".into(),
        });
    }
    let space = ranges(kind);
    let mut done = 0usize;
    let mut first_error: Option<MlError> = None;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scored = tpe::search_by(&space, trials, HPO_STARTUP, seed, |batch| {
        // The batch's points in parallel, each fit on one thread (the same model as on
        // several: LightGBM runs `deterministic`).
        let results = score_batch(kind, base, &space, batch, train, folds, classifier, seed, threads);
        done += batch.len();
        progress(done as f64 / trials.max(1) as f64);
        batch
            .iter()
            .zip(results)
            .map(|(point, result)| match result {
                Ok(s) => Scored { point: point.clone(), score: s.iter().sum::<f64>() / s.len() as f64, error: None },
                Err(e) => {
                    let error = Some(e.to_string());
                    first_error.get_or_insert(e);
                    Scored { point: point.clone(), score: f64::NEG_INFINITY, error }
                }
            })
            .collect()
    });
    let best = scored.iter().filter(|s| s.score.is_finite()).min_by(|a, b| crate::backtest::optimize::eval::rank_order(a, b)).ok_or_else(
        || first_error.unwrap_or(MlError::Field { field: "hyperparameter_optimization", why: "no trial could be scored".into() }),
    )?;
    let report = HpoReport {
        method: format!("seeded TPE over purged walk-forward CV ({} folds), training rows only", folds.len()),
        trials: scored.len(),
        best_cv_score: best.score,
        best: space.iter().zip(&best.point).map(|(r, v)| (r.name.clone(), *v)).collect(),
    };
    Ok((apply(base, &space, &best.point), report))
}

/// The CV scores of every point of `batch`, computed on up to `threads` scoped threads.
#[allow(clippy::too_many_arguments)]
fn score_batch(
    kind: ModelKind,
    base: &Params,
    space: &[ParamRange],
    batch: &[Vec<f64>],
    train: &Dataset,
    folds: &[Split],
    classifier: bool,
    seed: u64,
    threads: usize,
) -> Vec<Result<Vec<f64>, MlError>> {
    let one = |point: &Vec<f64>| {
        let mut p = apply(base, space, point);
        p.gbm.num_threads = 1;
        cross_validate(kind, &p, train, folds, classifier, seed)
    };
    let mut out: Vec<Result<Vec<f64>, MlError>> = Vec::with_capacity(batch.len());
    for group in batch.chunks(threads.max(1)) {
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = group.iter().map(|point| s.spawn(move || one(point))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(MlError::Gbm("a trial's thread panicked".into())))).collect()
        });
        out.extend(results);
    }
    out
}
