//! Honesty tests: a planted rule is learned (out-of-sample AUC clearly above 0.5, and no
//! better than a model that knows the rule), a random walk is not (0.5 ± 0.02), and a
//! feature that peeks one bar ahead fails the causality check.

use super::causality;
use super::dataset::{Target, TargetKind};
use super::features::{self, FeatureFrame, FeatureGroup};
use super::gbm::GbmParams;
use super::metrics::{auc, Scores};
use super::mlp::MlpParams;
use super::model::ModelKind;
use super::train::{train, TrainSpec};
use super::tune::Params;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use tradpal_messages::{Candle, Timestamp};

const MINUTE_NS: i64 = 60_000_000_000;

/// 1-minute candles whose log returns follow `r[t+1] = phi * r[t] + noise`: with
/// `phi != 0` the next bar's direction is learnable from the last return; `phi = 0` is a
/// random walk.
pub fn candles(n: usize, phi: f64, seed: u64) -> Vec<Candle> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut close, mut r) = (50_000.0f64, 0.0f64);
    (0..n)
        .map(|i| {
            let noise: f64 = StandardNormal.sample(&mut rng);
            r = phi * r + 0.001 * noise;
            let open = close;
            close = open * r.exp();
            let wick = 1.0 + 0.0005 * rng.random::<f64>();
            Candle {
                open_time: Timestamp(1_700_000_000_000_000_000 + i as i64 * MINUTE_NS),
                open,
                high: open.max(close) * wick,
                low: open.min(close) / wick,
                close,
                volume: 100.0 + 50.0 * rng.random::<f64>(),
            }
        })
        .collect()
}

fn quick(kind: ModelKind) -> TrainSpec {
    let params = Params {
        gbm: GbmParams { num_iterations: 50, num_threads: 1, ..GbmParams::default() },
        mlp: MlpParams { epochs: 3, ..MlpParams::default() },
        ..Params::default()
    };
    TrainSpec { kind, cv_folds: 2, params, ..TrainSpec::default() }
}

fn oos_auc(s: &Scores) -> f64 {
    match s {
        Scores::Class { model, baseline, .. } => {
            assert_eq!(baseline.auc, 0.5);
            model.auc
        }
        Scores::Reg { .. } => panic!("a classifier was expected"),
    }
}

#[test]
fn a_planted_rule_is_learned_out_of_sample_but_not_beaten() {
    let bars = candles(6_000, -0.3, 7);
    for kind in [ModelKind::Gbm, ModelKind::Logistic] {
        let t = train(&bars, &quick(kind), &mut |_| {}).unwrap();
        let got = oos_auc(&t.report.out_of_sample);
        // The rule's own score on the same test rows: -r[t] ranks the next direction.
        let frame = features::compute(&bars, &FeatureGroup::ALL);
        let col = frame.names.iter().position(|n| n == "log_return_1").unwrap();
        let (mut y, mut s) = (Vec::new(), Vec::new());
        for r in 0..frame.rows() {
            let i = frame.bars[r];
            if i + 1 < bars.len() && bars[i].open_time >= t.report.test_window.start && bars[i].open_time <= t.report.test_window.end {
                y.push(f64::from(u8::from(bars[i + 1].close > bars[i].close)));
                s.push(-frame.row(r)[col]);
            }
        }
        let oracle = auc(&y, &s);
        assert!(got > 0.56, "{kind:?}: out-of-sample AUC {got}, expected clearly above 0.5");
        assert!(got <= oracle + 0.01, "{kind:?}: AUC {got} beats the rule itself ({oracle}): a leak");
    }
}

#[test]
fn a_random_walk_scores_one_half() {
    let bars = candles(24_000, 0.0, 11);
    let t = train(&bars, &quick(ModelKind::Logistic), &mut |_| {}).unwrap();
    let got = oos_auc(&t.report.out_of_sample);
    assert!((got - 0.5).abs() < 0.02, "random walk: AUC {got}");
    let g = train(&bars, &quick(ModelKind::Gbm), &mut |_| {}).unwrap();
    let got = oos_auc(&g.report.out_of_sample);
    assert!((got - 0.5).abs() < 0.02, "random walk, GBM: AUC {got}");
}

/// A "feature" that reads the next bar's close: exactly the bug the check exists for.
fn peeking(c: &[Candle]) -> FeatureFrame {
    let f = features::compute(c, &[FeatureGroup::Rsi]);
    let mut names = f.names.clone();
    names.push("next_return".into());
    let mut values = Vec::new();
    let mut bars = Vec::new();
    for r in 0..f.rows() {
        let i = f.bars[r];
        if let Some(next) = c.get(i + 1) {
            values.extend_from_slice(f.row(r));
            values.push((next.close / c[i].close).ln());
            bars.push(i);
        }
    }
    FeatureFrame { names, bars, values }
}

#[test]
fn the_causality_check_catches_a_peeking_feature() {
    let bars = candles(1_000, 0.0, 3);
    let honest = features::compute(&bars, &FeatureGroup::ALL);
    assert!(causality::check(&bars, &honest, |c| features::compute(c, &FeatureGroup::ALL)).unwrap() > 1_000);
    let mut groups = FeatureGroup::ALL.to_vec();
    groups.push(FeatureGroup::parse("regime").unwrap());
    let with_regime = features::compute(&bars, &groups);
    assert_eq!(with_regime.bars[0], features::WARM_UP_BARS, "the regime group's warm-up is the longest");
    assert!(causality::check(&bars, &with_regime, |c| features::compute(c, &groups)).is_ok());
    let e = causality::check(&bars, &peeking(&bars), peeking).unwrap_err();
    assert!(e.to_string().contains("reads bars after its own"), "{e}");
}

#[test]
fn too_few_bars_names_the_minimum_and_models_are_deterministic() {
    let e = train(&candles(100, 0.0, 1), &TrainSpec::default(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("at least 300"), "{e}");
    let bars = candles(1_500, -0.3, 5);
    let spec = TrainSpec { target: Target { kind: TargetKind::PriceDirection, horizon: 3 }, embargo: 2, ..quick(ModelKind::Mlp) };
    let a = train(&bars, &spec, &mut |_| {}).unwrap();
    let b = train(&bars, &spec, &mut |_| {}).unwrap();
    assert_eq!(a.report.out_of_sample, b.report.out_of_sample);
    assert_eq!(a.report.purged_rows, 5);
}

#[test]
fn regression_hpo_and_ensemble_run() {
    let bars = candles(2_000, -0.3, 9);
    let mut spec = quick(ModelKind::Ensemble);
    spec.target = Target { kind: TargetKind::ForwardReturn, horizon: 1 };
    let t = train(&bars, &spec, &mut |_| {}).unwrap();
    let Scores::Reg { model, .. } = t.report.out_of_sample else { panic!("regression expected") };
    assert!(model.ic.unwrap() > 0.1, "{model:?}");
    let mut spec = quick(ModelKind::Gbm);
    spec.hpo = true;
    spec.hpo_trials = 4;
    let t = train(&bars, &spec, &mut |_| {}).unwrap();
    assert_eq!(t.report.hpo.as_ref().unwrap().trials, 4);
    assert!(t.report.importance.iter().all(|i| i.gain.is_some()));
    let saved = t.model.weights();
    let again = super::model::Loaded::load(&saved).unwrap();
    let x = &[50.0, 0.0, 0.5, 1.0, 0.001, 0.0, 0.001, 0.001];
    assert_eq!(t.model.predict(x).unwrap(), again.predict(x).unwrap());
}

#[test]
fn feature_selection_runs_on_training_folds_and_keeps_the_signal() {
    let bars = candles(4_000, -0.3, 13);
    let spec = TrainSpec { feature_selection: true, ..quick(ModelKind::Logistic) };
    let t = train(&bars, &spec, &mut |_| {}).unwrap();
    let sel = t.report.feature_selection.as_ref().unwrap();
    assert!(sel.kept.contains(&"log_return_1".to_string()), "{sel:?}");
    assert_eq!(sel.kept.len() + sel.dropped.len(), 8);
    assert_eq!(t.report.features, sel.kept);
    let all = features::names(&FeatureGroup::ALL);
    let picked: Vec<String> = t.report.feature_columns.iter().map(|&j| all[j].clone()).collect();
    assert_eq!(picked, t.report.features);
    assert_eq!(t.model.predict(&vec![0.0; t.report.features.len()]).unwrap().len(), 1);
}

#[test]
fn the_flat_tree_evaluator_matches_lightgbm_bit_for_bit() {
    use super::gbm::Gbm;
    let bars = candles(3_000, -0.3, 17);
    let frame = features::compute(&bars, &FeatureGroup::ALL);
    for kind in [TargetKind::PriceDirection, TargetKind::ForwardReturn] {
        let data = super::dataset::label(&bars, &frame, Target { kind, horizon: 1 });
        let p = GbmParams { num_iterations: 40, num_threads: 1, ..GbmParams::default() };
        let g = Gbm::fit(&data.x, &data.y, data.cols(), kind.is_classification(), &p, 3).unwrap();
        assert!(g.has_flat_evaluator());
        let mut x = data.x.clone();
        x[5] = f64::NAN; // LightGBM's NaN rule, too
        x[13] = 0.0;
        let x = x.repeat(4); // > 8,192 rows: two threads, several blocks each
        let (ours, theirs) = (g.predict(&x).unwrap(), g.predict_lightgbm(&x).unwrap());
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a.to_bits(), b.to_bits(), "{kind:?}: {a} vs {b}");
        }
    }
}
