//! Property tests: no input makes the regime core panic. Arbitrary candles (NaN, zero,
//! negative, infinite prices, times out of order), arbitrary labels, probabilities,
//! weights and label files either work or come back as a [`RegimeError`]; a bad candle
//! comes back as the refusal that names its bar and what is wrong with it.

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

/// A candle refusal expected at `bar`: its code and a phrase its message must contain.
#[derive(Debug, Clone)]
struct Refusal {
    bar: usize,
    code: &'static str,
    names: String,
}

/// The first bad candle of `c`, found independently of the core (prices finite and
/// > 0 in the order open, high, low, close; high >= low; open times increasing).
fn first_refusal(c: &[Candle]) -> Option<Refusal> {
    for (bar, x) in c.iter().enumerate() {
        for (field, v) in [("open", x.open), ("high", x.high), ("low", x.low), ("close", x.close)] {
            if !(v.is_finite() && v > 0.0) {
                return Some(Refusal { bar, code: "bad_candle", names: format!("{field} must be finite and > 0, got {v}") });
            }
        }
        if x.high < x.low {
            return Some(Refusal { bar, code: "bad_candle", names: format!("high {} is below low {}", x.high, x.low) });
        }
        if bar > 0 && x.open_time <= c[bar - 1].open_time {
            let names = format!("open time {} is not after the previous bar's {}", x.open_time, c[bar - 1].open_time);
            return Some(Refusal { bar, code: "not_increasing", names });
        }
    }
    None
}

/// `e` is the candle refusal `want`: the variant, the bar, the code and the message.
fn assert_refused(e: &RegimeError, want: &Refusal) -> Result<(), TestCaseError> {
    let bar = match e {
        RegimeError::BadCandle { bar, .. } | RegimeError::HighBelowLow { bar, .. } | RegimeError::NotIncreasing { bar, .. } => *bar,
        other => return Err(TestCaseError::fail(format!("expected a candle refusal at bar {}, got {other:?}", want.bar))),
    };
    prop_assert_eq!(bar, want.bar, "{}", e);
    prop_assert_eq!(e.code(), want.code, "{}", e);
    let message = e.to_string();
    prop_assert!(message.starts_with(&format!("bar {}", want.bar)), "{message}");
    prop_assert!(message.contains(&want.names), "{message:?} does not name {:?}", want.names);
    Ok(())
}

/// What `fit` (and so `classify`) must answer for `c`: too few bars first, then the
/// first bad candle; `None` when it may fit.
fn assert_fit_refused(r: Result<(), RegimeError>, c: &[Candle]) -> Result<(), TestCaseError> {
    match (r, first_refusal(c)) {
        (Err(e), _) if c.len() < fit::FIT_BARS_MIN => {
            prop_assert_eq!(&e, &RegimeError::TooFewBars { need: fit::FIT_BARS_MIN, timeframe: Timeframe::M1, got: c.len() });
            prop_assert!(e.to_string().contains(&format!("got {}", c.len())), "{e}");
        }
        (Ok(()), _) if c.len() < fit::FIT_BARS_MIN => prop_assert!(false, "{} bars fitted", c.len()),
        (Err(e), Some(want)) => assert_refused(&e, &want)?,
        (Ok(()), Some(want)) => prop_assert!(false, "bad candle at bar {} accepted: {:?}", want.bar, c[want.bar]),
        // Valid candles: a fit, or extreme prices whose log return is not finite.
        (Err(e), None) => prop_assert!(matches!(e, RegimeError::InvalidParam { name: "features", .. }), "{e}"),
        (Ok(()), None) => {}
    }
    Ok(())
}

/// A defect to put into a valid series.
#[derive(Debug, Clone, Copy)]
enum Defect {
    /// `field` (0 open, 1 high, 2 low, 3 close) set to a value that is not finite and > 0.
    Price(usize, f64),
    /// high set below low.
    HighBelowLow,
    /// open time equal to (0) or before (1) the previous bar's.
    Time(i64),
}

fn defect() -> impl Strategy<Value = Defect> {
    prop_oneof![
        (0usize..4, prop_oneof![Just(0.0), Just(-1.0), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)])
            .prop_map(|(f, v)| Defect::Price(f, v)),
        Just(Defect::HighBelowLow),
        (0i64..2).prop_map(Defect::Time),
    ]
}

/// Puts `defect` into bar `at` of the valid series `c`; returns the refusal it must cause.
fn spoil(c: &mut [Candle], at: usize, defect: Defect) -> Refusal {
    let at = if matches!(defect, Defect::Time(_)) { at.max(1) } else { at };
    let x = &mut c[at];
    let names = match defect {
        Defect::Price(field, v) => {
            let (name, slot) = match field {
                0 => ("open", &mut x.open),
                1 => ("high", &mut x.high),
                2 => ("low", &mut x.low),
                _ => ("close", &mut x.close),
            };
            *slot = v;
            format!("{name} must be finite and > 0, got {v}")
        }
        Defect::HighBelowLow => {
            x.high = x.low * 0.5;
            format!("high {} is below low {}", x.high, x.low)
        }
        Defect::Time(back) => {
            let previous = c[at - 1].open_time;
            c[at].open_time = Timestamp(previous.0 - back * 60_000_000_000);
            format!("open time {} is not after the previous bar's {previous}", c[at].open_time)
        }
    };
    let code = if matches!(defect, Defect::Time(_)) { "not_increasing" } else { "bad_candle" };
    Refusal { bar: at, code, names }
}

fn classify_m1(c: &[Candle]) -> Result<(), RegimeError> {
    classify(&ClassifyRequest {
        timeframe: Timeframe::M1,
        candles: c.to_vec(),
        fit: FitParams { iterations_max: 2, ..FitParams::default() },
        hysteresis: HysteresisParams::default(),
        include_bars: false,
    })
    .map(|r| assert_eq!(r.bars, c.len()))
}

proptest! {
    /// Arbitrary candles: `features`, `fit` and `classify` refuse the first bad one,
    /// naming its bar and what is wrong with it (or too few bars, for a fit).
    #[test]
    fn features_and_fit_refuse_bad_candles(c in candles(150)) {
        match (features(&c), first_refusal(&c)) {
            (Ok(f), None) => {
                prop_assert_eq!(f.len(), c.len());
                prop_assert!(f.iter().zip(&c).all(|(f, c)| f.open_time == c.open_time));
            }
            (Ok(_), Some(want)) => prop_assert!(false, "bad candle at bar {} accepted: {:?}", want.bar, c[want.bar]),
            (Err(e), Some(want)) => assert_refused(&e, &want)?,
            (Err(e), None) => prop_assert!(false, "valid candles refused: {e}"),
        }
        let params = FitParams { iterations_max: 3, ..FitParams::default() };
        assert_fit_refused(fit(&c, Timeframe::M1, &params).map(|_| ()), &c)?;
        assert_fit_refused(classify_m1(&c), &c)?;
    }

    /// A valid series with one defect at bar `at`: refused at exactly that bar, by
    /// `features` always and by `fit` and `classify` once there are enough bars.
    #[test]
    fn one_bad_candle_in_a_valid_series_is_refused_where_it_is(
        mut c in walk(260),
        at in any::<prop::sample::Index>(),
        defect in defect(),
    ) {
        prop_assume!(c.len() >= 2);
        prop_assert!(first_refusal(&c).is_none(), "the walk is valid");
        let at = at.index(c.len());
        let want = spoil(&mut c, at, defect);
        prop_assert_eq!(first_refusal(&c).map(|r| r.bar), Some(want.bar), "the oracle agrees");
        assert_refused(&features(&c).unwrap_err(), &want)?;
        let params = FitParams { iterations_max: 3, ..FitParams::default() };
        assert_fit_refused(fit(&c, Timeframe::M1, &params).map(|_| ()), &c)?;
        assert_fit_refused(classify_m1(&c), &c)?;
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
