//! Property tests: no input makes the regime core panic. Arbitrary candles (NaN, zero,
//! negative, infinite prices, times out of order), arbitrary labels, probabilities,
//! weights and label files either work or come back as a [`RegimeError`].

use super::*;
use crate::regime::calibration::calibration_table;
use crate::regime::timeframes::TimeframeProbs;
use proptest::prelude::*;
use tradpal_messages::{Candle, Timeframe, Timestamp};

fn price() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 1e-3f64..1e3,
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(1e300),
        1 => Just(1e-300),
    ]
}

fn candles(max: usize) -> impl Strategy<Value = Vec<Candle>> {
    prop::collection::vec((price(), price(), price(), price(), 0i64..3), 0..max).prop_map(|rows| {
        let mut t = 0;
        rows.into_iter()
            .map(|(o, h, l, c, step)| {
                t += step * 60_000_000_000; // step 0: a repeated time
                Candle { open_time: Timestamp(t), open: o, high: h, low: l, close: c, volume: 1.0 }
            })
            .collect()
    })
}

/// Mostly-valid candles (a random walk with sane OHLC) so the fit path runs.
fn walk(max: usize) -> impl Strategy<Value = Vec<Candle>> {
    prop::collection::vec(-0.05f64..0.05, 0..max).prop_map(|steps| {
        let mut close = 100.0;
        steps
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let open = close;
                close = open * r.exp();
                let (hi, lo) = (open.max(close), open.min(close));
                Candle { open_time: Timestamp(i as i64 * 3_600_000_000_000), open, high: hi, low: lo, close, volume: 1.0 }
            })
            .collect()
    })
}

fn probs3() -> impl Strategy<Value = [f64; 3]> {
    prop::array::uniform3(prop_oneof![4 => 0.0f64..1.0, 1 => Just(f64::NAN), 1 => Just(-0.5), 1 => Just(2.0)])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn fit_and_track_never_panic(c in walk(400), bad in candles(30), seed in any::<u64>()) {
        let params = FitParams { seed, iterations_max: 15, ..FitParams::default() };
        match fit(&c, Timeframe::H1, &params) {
            Ok(model) => {
                prop_assert!(model.check().is_ok(), "{:?}", model.check());
                let tracked = track(&model, &c, &HysteresisParams::default()).unwrap();
                for b in &tracked.bars {
                    prop_assert!(b.probs.trend.is_distribution() && b.probs.volatility.is_distribution());
                    prop_assert!((0.0..=1.0).contains(&b.confidence));
                }
                // Arbitrary candles after a valid history: refused or classified, never a panic.
                let mut tracker = RegimeTracker::new(model, &HysteresisParams::default()).unwrap();
                for x in c.iter().chain(&bad) {
                    let _ = tracker.update(x);
                }
            }
            Err(e) => prop_assert!(c.len() < fit::FIT_BARS_MIN, "{e}"),
        }
    }
}

proptest! {
    #[test]
    fn features_and_fit_refuse_bad_candles(c in candles(150)) {
        let _ = features(&c);
        let _ = fit(&c, Timeframe::M1, &FitParams { iterations_max: 3, ..FitParams::default() });
        let _ = classify(&ClassifyRequest {
            timeframe: Timeframe::M1,
            candles: c,
            fit: FitParams { iterations_max: 2, ..FitParams::default() },
            hysteresis: HysteresisParams::default(),
            include_bars: false,
        });
    }

    #[test]
    fn evaluate_never_panics(
        p in prop::collection::vec(0usize..3, 0..300),
        t in prop::collection::vec(0usize..3, 0..300),
        tol in 0usize..200,
    ) {
        let p: Vec<Trend> = p.into_iter().map(|i| Trend::ALL[i]).collect();
        let t: Vec<Trend> = t.into_iter().map(|i| Trend::ALL[i]).collect();
        match evaluate_with(&p, &t, &EvalParams { tolerance_bars: tol }) {
            Ok(e) => {
                prop_assert!((0.0..=1.0).contains(&e.accuracy));
                prop_assert!(e.false_switches <= e.predicted_switches);
                let d = &e.detection_delay;
                prop_assert_eq!(d.detected + d.missed + d.censored, e.true_switches);
                prop_assert_eq!(e.confusion_matrix.iter().flatten().sum::<usize>(), e.bars);
            }
            Err(_) => prop_assert!(p.len() != t.len() || p.is_empty()),
        }
    }

    #[test]
    fn calibration_and_combine_never_panic(
        p in prop::collection::vec(prop_oneof![0.0f64..=1.0, Just(f64::NAN), Just(1.5)], 0..100),
        tf in prop::collection::vec((0usize..6, probs3(), probs3()), 0..8),
        w in prop::array::uniform6(prop_oneof![0.0f64..10.0, Just(f64::NAN), Just(-1.0), Just(f64::INFINITY)]),
    ) {
        let happened: Vec<bool> = p.iter().map(|x| *x > 0.5).collect();
        if let Ok(bins) = calibration_table(&p, &happened) {
            prop_assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), p.len());
            let ece = expected_calibration_error(&bins);
            prop_assert!((0.0..=1.0).contains(&ece));
        }
        let inputs: Vec<TimeframeProbs> = tf
            .into_iter()
            .map(|(i, t, v)| TimeframeProbs {
                timeframe: Timeframe::ALL[i],
                trend: AxisProbs::new(t),
                volatility: AxisProbs::new(v),
            })
            .collect();
        let weights = TimeframeWeights { m1: w[0], m5: w[1], m15: w[2], h1: w[3], h4: w[4], d1: w[5] };
        if let Ok(c) = combine(&inputs, &weights) {
            prop_assert!(c.trend_probs.is_distribution() && c.volatility_probs.is_distribution());
        }
    }

    #[test]
    fn label_files_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        rows in prop::collection::vec((0i64..5, 0usize..4, 0usize..4), 0..20),
    ) {
        let _ = parse_labels_csv(&bytes[..]);
        let mut text = String::from("timestamp,trend,volatility\n");
        let mut t = 0;
        for (step, a, b) in rows {
            t += step;
            let trend = ["bull", "bear", "sideways", "up"][a];
            let vol = ["low", "normal", "high", ""][b];
            text.push_str(&format!("{},{trend},{vol}\n", Timestamp(t * 60_000_000_000)));
        }
        let _ = parse_labels_csv(text.as_bytes());
    }
}
