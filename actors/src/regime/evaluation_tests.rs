//! Scoring the detector on synthetic regime-switching data with known labels
//! (`market_data::synth`: 1m bars, regimes of 500 bars on average, trend drift 0.2 sigma a
//! bar; its module doc explains why 80% trend accuracy is reachable but not trivial).
//!
//! Protocol, never in-sample: the model is fitted on the first half of a series and the
//! tracker runs over the whole series (the filter is causal, so the first half only warms
//! it up), scoring the second half only; and, across series, a model fitted on one seed
//! scores whole other seeds. Seeds 1-6 were used for tuning (the transition prior, the
//! hysteresis defaults, the switch-rate trade-off); the reported figures come from seeds 101-105 and 201-204,
//! which were not looked at before the final run.
//!
//! Trade-off on the tuning seeds 1-6 (mean of 6 held-out halves; `sweep_hysteresis`):
//!
//! | switch rate | margin | bars | accuracy | median delay | false / 1000 |
//! |---|---|---|---|---|---|
//! | x1 | 0    | 1 | 0.875 | 12.2 | 8.89 |
//! | x1 | 0.05 | 2 | 0.874 | 19.3 | 3.51 (default) |
//! | x1 | 0.10 | 2 | 0.874 | 22.4 | 2.64 |
//! | x1 | 0.15 | 3 | 0.873 | 33.1 | 1.85 |
//! | x2 | 0.05 | 2 | 0.870 | 18.5 | 4.55 |
//! | x3 | 0.05 | 2 | 0.863 | 18.2 | 5.41 |
//!
//! Held-out (seeds 101-105 within series, 201 -> 202-204 across, 1h seed 105), defaults:
//! trend accuracy 0.808-0.870 (mean 0.848), median delay 17-30.5 bars per run (median of
//! runs 21.5), false switches 2.5-4.6 per 1,000 bars (mean 3.95), ECE <= 0.033. The filter
//! with the generator's *true* parameters scores the same (median delay 16-23.5): the
//! delay is what 0.2-sigma drifts allow, not a fitting loss.
//!
//! - `held_out_floor` (default run, debug-fast): one small held-out split, floors well below
//!   the targets, so a broken model fails CI.
//! - `held_out_evaluation` (`#[ignore]`, run in release): the full figures.
//!   `cargo test --release -p tradpal-actors --lib regime::evaluation_tests -- --ignored --nocapture`
//! - `sweep_hysteresis` (`#[ignore]`): the tuning grid on seeds 1-6.

use super::calibration::calibrate;
use super::*;
use crate::market_data::synth::{generate, Synth, SynthParams};
use tradpal_messages::Timeframe;

fn synth(bars: usize, seed: u64, timeframe: Timeframe) -> Synth {
    generate(&SynthParams { bars, seed, timeframe, ..SynthParams::default() }).expect("synth params")
}

/// Held-out scores of one run: trend evaluation, volatility evaluation, trend calibration.
struct Scores {
    trend: Evaluation,
    vol: Evaluation,
    calibration: Calibration,
}

/// Tracks all of `s` with `model` and scores bars `from..`.
fn score(model: &RegimeModel, s: &Synth, from: usize, hysteresis: &HysteresisParams) -> Scores {
    let tracked = track(model, &s.candles, hysteresis).expect("valid candles");
    let bars = &tracked.bars[from..];
    let labels = &s.labels[from..];
    let trend_truth: Vec<Trend> = labels.iter().map(|l| l.trend).collect();
    let vol_truth: Vec<Vol> = labels.iter().map(|l| l.volatility).collect();
    let trend_pred: Vec<Trend> = bars.iter().map(|b| b.trend).collect();
    let vol_pred: Vec<Vol> = bars.iter().map(|b| b.volatility).collect();
    let probs: Vec<TrendProbs> = bars.iter().map(|b| b.probs.trend).collect();
    Scores {
        trend: evaluate(&trend_pred, &trend_truth).unwrap(),
        vol: evaluate(&vol_pred, &vol_truth).unwrap(),
        calibration: calibrate(&probs, &trend_truth).unwrap(),
    }
}

/// The generator's own model (default synth parameters, 1m): drifts +-0.2 sigma and 0,
/// sigmas 0.1/0.3/0.8%, regimes of 500 bars ending in a uniform jump to one of the 8
/// other states.
fn oracle() -> RegimeModel {
    use super::emission::Emission;
    use super::hmm::{Chain, STATES};
    let report = FitReport { bars: 0, iterations: 0, converged: true, log_likelihood: 0.0, seed: 0, restarts: 0 };
    let mut chain = Chain::sticky(1.0 / 500.0);
    chain.initial = [1.0 / STATES as f64; STATES];
    let emission = Emission { drift_sigmas: [0.2, -0.2, 0.0], sigma: [0.001, 0.003, 0.008] };
    RegimeModel::canonical(Timeframe::M1, &chain, &emission, report)
}

fn line(name: &str, s: &Scores) -> String {
    let d = &s.trend.detection_delay;
    format!(
        "{name:<28} trend acc {:.3}  delay median {:>5}  mean {:>5.1}  missed {:>2}/{:<3}  false/1000 {:.2}  | vol acc {:.3} false/1000 {:.2} | ECE {:.3}",
        s.trend.accuracy,
        d.median.map_or("none".into(), |m| format!("{m:.1}")),
        d.mean.unwrap_or(f64::NAN),
        d.missed,
        d.detected + d.missed,
        s.trend.false_switches_per_1000_bars,
        s.vol.accuracy,
        s.vol.false_switches_per_1000_bars,
        s.calibration.expected_calibration_error,
    )
}

#[test]
fn held_out_floor() {
    let s = synth(16_000, 7, Timeframe::M1);
    let model = fit(&s.candles[..8_000], Timeframe::M1, &FitParams::default()).unwrap();
    // The fit finds the generator's parameters (drift +-0.2 sigma, sigmas 0.1/0.3/0.8%).
    assert_eq!(model.trend_of_state, [Trend::Bull, Trend::Bear, Trend::Sideways], "{model:?}");
    let e = model.emission;
    assert!(e.drift_sigmas[0] > 0.1 && e.drift_sigmas[1] < -0.1 && e.drift_sigmas[2].abs() < 0.08, "{e:?}");
    for (got, want) in e.sigma.iter().zip([0.001, 0.003, 0.008]) {
        assert!((got / want - 1.0).abs() < 0.1, "{e:?}");
    }
    let s = score(&model, &s, 8_000, &HysteresisParams::default());
    eprintln!("{}", line("seed 7, held-out 8k", &s));
    assert!(s.trend.accuracy > 0.72, "trend accuracy {}", s.trend.accuracy);
    assert!(s.vol.accuracy > 0.95, "volatility accuracy {}", s.vol.accuracy);
    assert!(s.trend.false_switches_per_1000_bars < 8.0);
    assert!(s.calibration.expected_calibration_error < 0.1);
}

#[test]
#[ignore]
fn held_out_evaluation() {
    let hysteresis = HysteresisParams::default();
    let mut pooled: Vec<Scores> = Vec::new();
    eprintln!("== 1m, 100k bars per seed: fit on bars 0..50k, score bars 50k..100k ==");
    eprintln!("   (oracle: the generator's true parameters, same filter and hysteresis: the data's limit;");
    eprintln!("    fast: the fitted model with switch rate x2, same hysteresis: on tuning seeds 18.5 bars, 4.55 false/1000)");
    for seed in 101..=105 {
        let s = synth(100_000, seed, Timeframe::M1);
        let model = fit(&s.candles[..50_000], Timeframe::M1, &FitParams::default()).unwrap();
        let r = score(&model, &s, 50_000, &hysteresis);
        eprintln!("{}", line(&format!("seed {seed}"), &r));
        let fast = score(&model.with_switch_rate(2.0).unwrap(), &s, 50_000, &hysteresis);
        eprintln!("{}", line(&format!("  fast, seed {seed}"), &fast));
        eprintln!("{}", line(&format!("  oracle, seed {seed}"), &score(&oracle(), &s, 50_000, &hysteresis)));
        pooled.push(r);
    }
    eprintln!("== across series: fit on seed 201 (1m, 100k bars), score whole seeds 202-204 ==");
    let train = synth(100_000, 201, Timeframe::M1);
    let model = fit(&train.candles, Timeframe::M1, &FitParams::default()).unwrap();
    for seed in 202..=204 {
        let r = score(&model, &synth(100_000, seed, Timeframe::M1), 0, &hysteresis);
        eprintln!("{}", line(&format!("seed 201 -> {seed}"), &r));
        pooled.push(r);
    }
    eprintln!("== 1h, 40k bars: fit on 0..20k, score 20k..40k ==");
    let s = synth(40_000, 105, Timeframe::H1);
    let model = fit(&s.candles[..20_000], Timeframe::H1, &FitParams::default()).unwrap();
    let r = score(&model, &s, 20_000, &hysteresis);
    eprintln!("{}", line("1h seed 105", &r));
    pooled.push(r);

    let n = pooled.len() as f64;
    let mean = |f: &dyn Fn(&Scores) -> f64| pooled.iter().map(f).sum::<f64>() / n;
    let acc = mean(&|s| s.trend.accuracy);
    let false_rate = mean(&|s| s.trend.false_switches_per_1000_bars);
    let mut medians: Vec<f64> = pooled.iter().map(|s| s.trend.detection_delay.median.unwrap_or(f64::INFINITY)).collect();
    medians.sort_by(f64::total_cmp);
    let worst_ece = pooled.iter().map(|s| s.calibration.expected_calibration_error).fold(0.0, f64::max);
    eprintln!(
        "== mean over {} runs: trend acc {acc:.3}, median delay (median of runs) {:.1}, false/1000 {false_rate:.2}, worst ECE {worst_ece:.3}",
        pooled.len(),
        medians[medians.len() / 2]
    );
    eprintln!("== calibration of the filtered trend probabilities (top label), seed 101 held-out ==");
    for b in &pooled[0].calibration.bins {
        eprintln!(
            "  [{:.1}, {:.1})  n {:>6}  predicted {:>6}  observed {:>6}",
            b.lo,
            b.hi,
            b.count,
            b.mean_predicted.map_or("-".into(), |v| format!("{v:.3}")),
            b.observed_frequency.map_or("-".into(), |v| format!("{v:.3}"))
        );
    }
    assert!(acc >= 0.80, "trend accuracy {acc}");
    assert!(false_rate < 5.0, "false switches {false_rate}");
    assert!(worst_ece < 0.1, "ECE {worst_ece}");
}

#[test]
#[ignore]
fn sweep_hysteresis() {
    let data: Vec<(Synth, RegimeModel)> = (1..=6)
        .map(|seed| {
            let s = synth(100_000, seed, Timeframe::M1);
            let m = fit(&s.candles[..50_000], Timeframe::M1, &FitParams::default()).unwrap();
            (s, m)
        })
        .collect();
    for factor in [1.0, 2.0, 3.0] {
        for margin in [0.0, 0.05, 0.1, 0.15] {
            for bars in [1, 2, 3, 5] {
                let h = HysteresisParams { trend_margin: margin, trend_bars: bars, ..HysteresisParams::default() };
                let runs: Vec<Scores> = data.iter().map(|(s, m)| score(&m.with_switch_rate(factor).unwrap(), s, 50_000, &h)).collect();
                let mean = |f: &dyn Fn(&Scores) -> f64| runs.iter().map(f).sum::<f64>() / runs.len() as f64;
                eprintln!(
                    "switch rate x{factor} margin {margin:.2} bars {bars}: acc {:.3}  median delay {:.1}  false/1000 {:.2}",
                    mean(&|s| s.trend.accuracy),
                    mean(&|s| s.trend.detection_delay.median.unwrap_or(999.0)),
                    mean(&|s| s.trend.false_switches_per_1000_bars),
                );
            }
        }
    }
}

/// The window detector (`window.rs`) forced on held-out synthetic series (its softmax
/// parameters were fitted on other synthetic draws): its probabilities are calibrated,
/// and it finds the trend on most bars, less often than the switching model does (the
/// data are made for the HMM: per-bar drifts of 0.2 sigma).
#[test]
fn window_detector_calibrated_on_held_out_synthetic_data() {
    let s = synth(12_000, 8, Timeframe::M1);
    let mut model = fit(&s.candles[..6_000], Timeframe::M1, &FitParams::default()).unwrap();
    assert_eq!(model.detector, Detector::Switching, "synthetic trends show bar by bar");
    let switching = score(&model, &s, 2_000, &HysteresisParams::default());
    model.detector = Detector::Window;
    let window = score(&model, &s, 2_000, &HysteresisParams::default());
    eprintln!("{}", line("seed 8, switching", &switching));
    eprintln!("{}", line("seed 8, window", &window));
    let tracked = track(&model, &s.candles, &HysteresisParams::default()).unwrap();
    let vol_probs: Vec<VolProbs> = tracked.bars[2_000..].iter().map(|b| b.probs.volatility).collect();
    let vol_truth: Vec<Vol> = s.labels[2_000..].iter().map(|l| l.volatility).collect();
    let vol_cal = calibrate(&vol_probs, &vol_truth).unwrap();
    eprintln!(
        "window ECE: trend {:.3}, volatility {:.3}",
        window.calibration.expected_calibration_error, vol_cal.expected_calibration_error
    );
    assert!(window.calibration.expected_calibration_error < 0.1, "trend ECE {}", window.calibration.expected_calibration_error);
    assert!(vol_cal.expected_calibration_error < 0.1, "volatility ECE {}", vol_cal.expected_calibration_error);
    assert!(window.trend.accuracy > 0.6, "window trend accuracy {}", window.trend.accuracy);
    assert!(switching.trend.accuracy > window.trend.accuracy);
}

/// Re-derives the window detector's softmax parameters (`window.rs`): maximum likelihood
/// on labelled synthetic 1m series (seeds 1-3, 30k bars, the first 1,000 of each left out
/// as warm-up) by a grid over slope and threshold. Prints the best pair per axis.
/// `cargo test -p tradpal-actors --lib regime::evaluation_tests::fit_window_softmax -- --ignored --nocapture`
#[test]
#[ignore]
fn fit_window_softmax() {
    let mut trend: Vec<(f64, usize)> = Vec::new();
    let mut vol: Vec<(f64, usize)> = Vec::new();
    for seed in 1..=3 {
        let s = synth(30_000, seed, Timeframe::M1);
        let f = features(&s.candles).unwrap();
        for (b, l) in f.iter().zip(&s.labels).skip(1_000) {
            trend.push((b.trend_score, l.trend.index()));
            // Window order [up, down, middle] = [high, low, normal].
            vol.push((b.vol_score, [1, 2, 0][l.volatility.index()]));
        }
    }
    let nll = |data: &[(f64, usize)], a: f64, c: f64| -> f64 {
        data.iter()
            .map(|(z, y)| {
                let l = [a * (z - c), a * (-z - c), 0.0];
                let top = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = l.iter().map(|x| (x - top).exp()).sum();
                -(l[*y] - top - total.ln())
            })
            .sum::<f64>()
            / data.len() as f64
    };
    use super::window::{TREND_SLOPE, TREND_THRESHOLD, VOL_SLOPE, VOL_THRESHOLD};
    for (name, data, used) in [("trend", &trend, (TREND_SLOPE, TREND_THRESHOLD)), ("volatility", &vol, (VOL_SLOPE, VOL_THRESHOLD))] {
        eprintln!("{name}: at the constants in use ({}, {}), mean NLL {:.4}", used.0, used.1, nll(data, used.0, used.1));
        let mut best = (f64::INFINITY, 0.0, 0.0);
        for i in 5..=60 {
            for j in 4..=50 {
                let (a, c) = (i as f64 * 0.1, j as f64 * 0.05);
                let v = nll(data, a, c);
                if v < best.0 {
                    best = (v, a, c);
                }
            }
        }
        eprintln!("{name}: slope {:.1}, threshold {:.2} (mean NLL {:.4})", best.1, best.2, best.0);
    }
}
