//! One training run, start to finish (pure: bars in, model and report out):
//!
//! 1. features over the bars, and the causality check on them;
//! 2. labels (`horizon` bars ahead), the chronological holdout (latest `test_fraction`),
//!    purged and embargoed;
//! 3. purged walk-forward CV on the training rows; with `hyperparameter_optimization`,
//!    the TPE search on those folds picks the parameters;
//! 4. the final fit on all training rows, scored once on the test rows, with the
//!    baseline beside it, and feature importance on the same test rows.

use super::causality;
use super::dataset::{label, Target};
use super::error::MlError;
use super::features::{self, FeatureGroup};
use super::importance::{importance, FeatureImportance};
use super::metrics::{score, Scores};
use super::model::{Loaded, ModelKind};
use super::select::{select, SelectionReport};
use super::split::{holdout, walk_forward};
use super::tune::{cross_validate, fit, tune, HpoReport, Params, HPO_TRIALS_DEFAULT};
use serde::{Deserialize, Serialize};
use tradpal_messages::{Candle, Timestamp};

/// Fewest bars a training run accepts.
pub const TRAIN_BARS_MIN: usize = 300;
/// Most bars a training run reads.
pub const TRAIN_BARS_MAX: usize = 2_000_000;
/// Most CV folds.
pub const CV_FOLDS_MAX: usize = 10;

/// A validated training request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSpec {
    pub groups: Vec<FeatureGroup>,
    pub target: Target,
    pub kind: ModelKind,
    pub test_fraction: f64,
    /// Extra bars dropped between training labels and the next evaluated block.
    pub embargo: usize,
    pub cv_folds: usize,
    pub hpo: bool,
    pub hpo_trials: usize,
    /// Drop features that do not help on the training folds (see `select.rs`).
    pub feature_selection: bool,
    pub seed: u64,
    pub params: Params,
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            groups: FeatureGroup::ALL.to_vec(),
            target: Target { kind: super::dataset::TargetKind::PriceDirection, horizon: 1 },
            kind: ModelKind::Gbm,
            test_fraction: 0.25,
            embargo: 0,
            cv_folds: 3,
            hpo: false,
            hpo_trials: HPO_TRIALS_DEFAULT,
            feature_selection: false,
            seed: 0,
            params: Params::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub method: String,
    pub metric: String,
    pub folds: Vec<f64>,
    pub mean: Option<f64>,
}

/// Everything a training run reports (stored with the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The model's features, in the order `predict` takes them.
    pub features: Vec<String>,
    /// Their positions among the columns of the request's feature groups.
    pub feature_columns: Vec<usize>,
    pub feature_selection: Option<SelectionReport>,
    pub implementation: String,
    pub params: Params,
    pub train_window: Window,
    pub test_window: Window,
    pub purged_rows: usize,
    pub data_hash: String,
    pub bars: usize,
    pub out_of_sample: Scores,
    pub cross_validation: CvReport,
    pub hpo: Option<HpoReport>,
    pub causality_rows_checked: usize,
    pub importance: Vec<FeatureImportance>,
}

#[derive(Debug)]
pub struct Trained {
    pub model: Loaded,
    pub report: TrainReport,
}

/// blake3 of the bars (times and prices, bit for bit): which data a model saw.
pub fn data_hash(candles: &[Candle]) -> String {
    let mut h = blake3::Hasher::new();
    for c in candles {
        h.update(&c.open_time.0.to_le_bytes());
        for v in [c.open, c.high, c.low, c.close, c.volume] {
            h.update(&v.to_bits().to_le_bytes());
        }
    }
    h.finalize().to_hex().to_string()
}

/// Trains `spec` on `candles`; `progress` gets the fraction done (0..=1).
pub fn train(candles: &[Candle], spec: &TrainSpec, progress: &mut dyn FnMut(f64)) -> Result<Trained, MlError> {
    if candles.len() < TRAIN_BARS_MIN {
        let why =
            format!("TRAIN_BARS_MIN = {TRAIN_BARS_MIN}: {} bars of indicator warm-up, then train and test rows", features::WARM_UP_BARS);
        return Err(MlError::TooFewBars { bars: candles.len(), min_bars: TRAIN_BARS_MIN, why });
    }
    let frame = features::compute(candles, &spec.groups);
    let checked = causality::check(candles, &frame, |c| features::compute(c, &spec.groups))?;
    progress(0.05);
    let data = label(candles, &frame, spec.target);
    let classifier = spec.target.kind.is_classification();
    if classifier && !data.y.is_empty() && data.y.iter().all(|y| *y == data.y[0]) {
        return Err(MlError::OneClass { class: data.y[0] });
    }
    let (h, e) = (spec.target.horizon, spec.embargo);
    let split = holdout(&data.bars, spec.test_fraction, h, e)?;
    let (mut train, mut test) = (data.subset(&split.train), data.subset(&split.test));
    let folds = walk_forward(&train.bars, spec.cv_folds, h, e);
    let (columns, selection) = if spec.feature_selection {
        let (cols, report) = select(spec.kind, &spec.params, &train, &folds, classifier, spec.seed)?;
        (train, test) = (train.columns(&cols), test.columns(&cols));
        (cols, Some(report))
    } else {
        ((0..data.cols()).collect(), None)
    };
    let (params, hpo, cv_scores) = if spec.hpo {
        let (p, report) =
            tune(spec.kind, &spec.params, &train, &folds, classifier, spec.hpo_trials, spec.seed, &mut |f| progress(0.05 + 0.6 * f))?;
        let scores = cross_validate(spec.kind, &p, &train, &folds, classifier, spec.seed)?;
        (p, Some(report), scores)
    } else {
        let scores = cross_validate(spec.kind, &spec.params, &train, &folds, classifier, spec.seed)?;
        progress(0.4);
        (spec.params, None, scores)
    };
    let base = if spec.hpo { 0.65 } else { 0.4 };
    let model = fit(spec.kind, &params, &train, classifier, spec.seed, &mut |f| progress(base + (0.9 - base) * f))?;
    let predicted = model.predict(&test.x)?;
    let out_of_sample = score(classifier, &train.y, &test.y, &predicted);
    let importance = importance(&model, &test, classifier, spec.seed)?;
    progress(1.0);
    let window = |d: &super::dataset::Dataset| Window {
        start: candles[d.bars[0]].open_time,
        end: candles[*d.bars.last().expect("split sets are non-empty")].open_time,
        rows: d.rows(),
    };
    let mean = (!cv_scores.is_empty()).then(|| cv_scores.iter().sum::<f64>() / cv_scores.len() as f64);
    let report = TrainReport {
        features: train.names.clone(),
        feature_columns: columns,
        feature_selection: selection,
        implementation: spec.kind.implementation(),
        params,
        train_window: window(&train),
        test_window: window(&test),
        purged_rows: split.purged,
        data_hash: data_hash(candles),
        bars: candles.len(),
        out_of_sample,
        cross_validation: CvReport {
            method: format!("purged walk-forward, {} folds, purge {h} bars + embargo {e}", folds.len()),
            metric: if classifier { "auc" } else { "r2" }.into(),
            folds: cv_scores,
            mean,
        },
        hpo,
        causality_rows_checked: checked,
        importance,
    };
    Ok(Trained { model, report })
}
