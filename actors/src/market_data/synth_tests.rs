//! Tests of the synthetic-data generator (`synth.rs`).

use super::*;
use crate::market_data::{import_csv, validate_batch, CsvLimits};

fn params(bars: usize, timeframe: Timeframe, seed: u64) -> SynthParams {
    SynthParams { bars, timeframe, seed, ..SynthParams::default() }
}

fn gen(p: &SynthParams) -> Synth {
    generate(p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}

#[test]
fn refuses_bad_parameters_naming_the_field() {
    let ok = SynthParams::default();
    let cases: Vec<(SynthParams, &str)> = vec![
        (SynthParams { bars: SYNTH_BARS_MAX + 1, ..ok }, "bars"),
        (SynthParams { bars: 200_000, timeframe: Timeframe::D1, ..ok }, "bars"),
        (SynthParams { start: Timestamp(i64::MAX - i64::MAX % Timeframe::M1.nanos()), bars: 2, ..ok }, "bars"),
        (SynthParams { start: Timestamp(ok.start.0 + 1), ..ok }, "start"),
        (SynthParams { start: Timestamp(ok.start.0 + 60 * 1_000_000_000), timeframe: Timeframe::M5, ..ok }, "start"),
        (SynthParams { start_price: 0.0, ..ok }, "start_price"),
        (SynthParams { start_price: -5.0, ..ok }, "start_price"),
        (SynthParams { start_price: f64::NAN, ..ok }, "start_price"),
        (SynthParams { start_price: f64::INFINITY, ..ok }, "start_price"),
        (SynthParams { start_price: 1e300, ..ok }, "start_price"),
        (SynthParams { mean_regime_bars: 0, ..ok }, "mean_regime_bars"),
        (SynthParams { mean_regime_bars: SYNTH_BARS_MAX + 1, ..ok }, "mean_regime_bars"),
        (SynthParams { trend_strength: -0.1, ..ok }, "trend_strength"),
        (SynthParams { trend_strength: f64::NAN, ..ok }, "trend_strength"),
    ];
    for (p, field) in cases {
        let err = generate(&p).expect_err(field);
        assert_eq!(err.field(), field, "{err}");
        assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
    }
    // The edges are accepted.
    for p in [
        SynthParams { bars: 0, ..ok },
        SynthParams { start_price: START_PRICE_MIN, mean_regime_bars: 1, ..ok },
        SynthParams { start_price: START_PRICE_MAX, trend_strength: 1.0, ..ok },
        SynthParams { trend_strength: 0.0, mean_regime_bars: SYNTH_BARS_MAX, ..ok },
    ] {
        let s = gen(&p);
        assert_eq!((s.candles.len(), s.labels.len()), (p.bars, p.bars));
    }
}

#[test]
fn every_candle_passes_validation_for_every_timeframe() {
    for timeframe in Timeframe::ALL {
        for seed in [0, 1, 7, 42, u64::MAX] {
            for start_price in [100.0, START_PRICE_MIN, START_PRICE_MAX] {
                let p = SynthParams { start_price, mean_regime_bars: 200, ..params(5_000, timeframe, seed) };
                let s = gen(&p);
                let report = validate_batch(timeframe, &s.candles);
                assert!(report.is_clean(), "{timeframe} seed {seed}: {:?}", report.rejected.first());
                assert_eq!(report.accepted, s.candles);
                assert!(report.gaps.is_empty() && report.duplicates_dropped == 0);
                assert_eq!(s.candles[0].open_time, p.start);
                assert_eq!(s.candles[0].open, start_price);
                for pair in s.candles.windows(2) {
                    assert_eq!(pair[1].open, pair[0].close, "open = previous close");
                    assert_eq!(pair[1].open_time.0 - pair[0].open_time.0, timeframe.nanos());
                }
                assert!(s.candles.iter().all(|c| c.volume > 0.0));
            }
        }
    }
}

#[test]
fn same_seed_same_bits_other_seed_other_series() {
    let bits = |s: &Synth| -> Vec<[u64; 6]> {
        s.candles
            .iter()
            .map(|c| [c.open_time.0 as u64, c.open.to_bits(), c.high.to_bits(), c.low.to_bits(), c.close.to_bits(), c.volume.to_bits()])
            .collect()
    };
    for timeframe in [Timeframe::M1, Timeframe::H4] {
        let p = params(20_000, timeframe, 9);
        let (a, b) = (gen(&p), gen(&p));
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(a.labels, b.labels);
        let c = gen(&SynthParams { seed: 10, ..p });
        assert_ne!(bits(&a), bits(&c));
        assert_ne!(a.labels, c.labels);
        assert!(a.candles.iter().zip(&c.candles).skip(1).all(|(x, y)| x.close != y.close));
    }
    // A prefix is the same series: the stream does not depend on `bars`.
    let long = gen(&params(3_000, Timeframe::M1, 5));
    let short = gen(&params(1_000, Timeframe::M1, 5));
    assert_eq!(bits(&short), bits(&long)[..1_000]);
}

#[test]
fn candles_csv_reimports_to_the_same_candles() {
    for (timeframe, start_price) in [(Timeframe::M1, 100.0), (Timeframe::M15, START_PRICE_MIN), (Timeframe::D1, 43_000.5)] {
        let s = gen(&SynthParams { start_price, ..params(20_000, timeframe, 3) });
        let text = candles_csv(&s);
        assert!(text.starts_with("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,"), "{}", &text[..80]);
        let report = import_csv(text.as_bytes(), timeframe, None, CsvLimits::default()).unwrap();
        assert!(report.is_clean(), "{:?}", report.rejected.first());
        assert_eq!(report.accepted.len(), s.candles.len());
        for (got, want) in report.accepted.iter().zip(&s.candles) {
            assert_eq!(got.open_time, want.open_time);
            for (g, w) in
                [(got.open, want.open), (got.high, want.high), (got.low, want.low), (got.close, want.close), (got.volume, want.volume)]
            {
                assert_eq!(g.to_bits(), w.to_bits(), "{got:?} vs {want:?}");
            }
        }
    }
}

#[test]
fn labels_csv_lists_every_bar_with_serde_names() {
    for (trend, name) in Trend::ALL.into_iter().zip(["bull", "bear", "sideways"]) {
        assert_eq!(serde_json::to_string(&trend).unwrap(), format!("\"{name}\""));
        assert_eq!(trend.as_str(), name);
    }
    for (vol, name) in Vol::ALL.into_iter().zip(["low", "normal", "high"]) {
        assert_eq!(serde_json::to_string(&vol).unwrap(), format!("\"{name}\""));
        assert_eq!(vol.as_str(), name);
    }
    let label: RegimeLabel = serde_json::from_str(r#"{"trend":"sideways","volatility":"high"}"#).unwrap();
    assert_eq!(label, RegimeLabel { trend: Trend::Sideways, volatility: Vol::High });

    let s = gen(&params(2_000, Timeframe::H1, 4));
    let text = labels_csv(&s);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "timestamp,trend,volatility");
    assert_eq!(lines.len(), 2_001);
    for ((line, c), l) in lines[1..].iter().zip(&s.candles).zip(&s.labels) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert_eq!(fields[0].parse::<Timestamp>().unwrap(), c.open_time);
        assert_eq!((fields[1], fields[2]), (l.trend.as_str(), l.volatility.as_str()));
    }
    assert_eq!(lines[1].split(',').next(), Some("2024-01-01T00:00:00Z"));
}

#[test]
fn regimes_switch_with_the_given_mean_length_and_always_change() {
    let bars = 400_000;
    for mean in [50, 500] {
        let s = gen(&SynthParams { mean_regime_bars: mean, ..params(bars, Timeframe::M1, 11) });
        // Every switch changes the label, so label changes count the switches.
        let switches = s.labels.windows(2).filter(|w| w[0] != w[1]).count();
        let observed = bars as f64 / (switches + 1) as f64;
        assert!((observed / mean as f64 - 1.0).abs() < 0.15, "mean {mean}: observed {observed:.0}");
        for label in RegimeLabel::ALL {
            let share = s.labels.iter().filter(|l| **l == label).count() as f64 / bars as f64;
            assert!((0.04..0.2).contains(&share), "{label:?}: {share:.3} of bars");
        }
    }
    let every_bar = gen(&SynthParams { mean_regime_bars: 1, ..params(1_000, Timeframe::M1, 1) });
    assert!(every_bar.labels.windows(2).all(|w| w[0] != w[1]));
}

/// Log returns and their mean / standard deviation, grouped by a key of the label.
fn stats_by<K: Ord>(s: &Synth, key: impl Fn(&RegimeLabel) -> K) -> std::collections::BTreeMap<K, (f64, f64, usize)> {
    let mut groups: std::collections::BTreeMap<K, Vec<f64>> = Default::default();
    for (c, l) in s.candles.iter().zip(&s.labels) {
        groups.entry(key(l)).or_default().push((c.close / c.open).ln());
    }
    groups
        .into_iter()
        .map(|(k, r)| {
            let n = r.len() as f64;
            let mean = r.iter().sum::<f64>() / n;
            let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
            (k, (mean, var.sqrt(), r.len()))
        })
        .collect()
}

#[test]
fn per_regime_return_statistics_match_the_model() {
    for (timeframe, seed) in [(Timeframe::M1, 1), (Timeframe::H1, 2)] {
        let s = gen(&params(200_000, timeframe, seed));
        let trend = stats_by(&s, |l| l.trend);
        let (bull, bear, side) = (trend[&Trend::Bull], trend[&Trend::Bear], trend[&Trend::Sideways]);
        assert!(bull.0 > 0.0 && bear.0 < 0.0, "{timeframe}: bull {bull:?} bear {bear:?}");
        // Sideways has no drift: its mean is within noise of 0, far from the trends'.
        let side_se = side.1 / (side.2 as f64).sqrt();
        assert!(side.0.abs() < 4.0 * side_se, "{timeframe}: sideways {side:?}");
        assert!(bull.0 > 10.0 * side_se && -bear.0 > 10.0 * side_se);

        let vol = stats_by(&s, |l| l.volatility);
        let (low, normal, high) = (vol[&Vol::Low].1, vol[&Vol::Normal].1, vol[&Vol::High].1);
        assert!(low < normal && normal < high, "{timeframe}: {low} {normal} {high}");
        for v in Vol::ALL {
            let want = bar_sigma(timeframe, v);
            let got = vol[&v].1;
            // Sigma plus the spread of the three drifts (s^2 * 2/3 of the variance).
            assert!((got / want - 1.0).abs() < 0.03, "{timeframe} {v}: sigma {got} vs {want}");
        }
        // Per regime, the mean return is the model's drift.
        for (label, (mean, sd, n)) in stats_by(&s, |l| *l) {
            let want = bar_drift(timeframe, label, DEFAULT_TREND_STRENGTH);
            assert!((mean - want).abs() < 5.0 * sd / (n as f64).sqrt(), "{label:?}: mean {mean} vs {want}");
        }
        // Volume rises with volatility.
        let mean_volume = |v: Vol| {
            let vols: Vec<f64> = s.candles.iter().zip(&s.labels).filter(|(_, l)| l.volatility == v).map(|(c, _)| c.volume).collect();
            vols.iter().sum::<f64>() / vols.len() as f64
        };
        assert!(mean_volume(Vol::Low) < mean_volume(Vol::Normal) && mean_volume(Vol::Normal) < mean_volume(Vol::High));
    }
}

/// Accuracy of a causal trend detector: the t-statistic of the mean log return over
/// the last `window` bars, bull above `threshold`, bear below `-threshold`.
fn rolling_t_accuracy(s: &Synth, window: usize, threshold: f64) -> f64 {
    let r: Vec<f64> = s.candles.iter().map(|c| (c.close / c.open).ln()).collect();
    let (mut sum, mut sq) = (0.0, 0.0);
    let mut hits = 0usize;
    for i in 0..r.len() {
        sum += r[i];
        sq += r[i] * r[i];
        if i >= window {
            sum -= r[i - window];
            sq -= r[i - window] * r[i - window];
        }
        let n = (i + 1).min(window) as f64;
        let mean = sum / n;
        let var = (sq / n - mean * mean).max(1e-30);
        let t = mean / (var / n).sqrt();
        let guess = if t > threshold {
            Trend::Bull
        } else if t < -threshold {
            Trend::Bear
        } else {
            Trend::Sideways
        };
        hits += usize::from(guess == s.labels[i].trend);
    }
    hits as f64 / r.len() as f64
}

#[test]
fn trends_are_recoverable_but_not_trivially() {
    let p = params(200_000, Timeframe::M1, 21);
    let s = gen(&p);
    // One bar: its sign is right barely more often than chance (Phi(0.2) = 0.579).
    let trending = |l: &&RegimeLabel| l.trend != Trend::Sideways;
    let sign = s.candles.iter().zip(&s.labels).filter(|(c, l)| trending(l) && (c.close > c.open) == (l.trend == Trend::Bull)).count()
        as f64
        / s.labels.iter().filter(trending).count() as f64;
    assert!((0.56..0.60).contains(&sign), "one-bar sign accuracy {sign}");
    assert!(rolling_t_accuracy(&s, 1, 0.5) < 0.45);
    // A plain causal rolling window, even tuned on the labels, stays under 80%...
    let best = [50, 100, 200, 300]
        .into_iter()
        .flat_map(|w| [0.8, 1.2, 1.5].map(|th| (w, th, rolling_t_accuracy(&s, w, th))))
        .fold((0, 0.0, 0.0), |a, b| if b.2 > a.2 { b } else { a });
    assert!((0.7..0.8).contains(&best.2), "{best:?}");
    // ...while the Bayes filter with the true model clears it: 80% is reachable.
    let (trend, vol) = hmm_filter_accuracy(&s, &p);
    assert!(trend > 0.83, "filter trend accuracy {trend}");
    assert!(vol > 0.97, "filter volatility accuracy {vol}");
}

/// Accuracy (trend, volatility) of the Bayes filter with the true model: a 9-state
/// HMM, stay with probability 1 - 1/mean, jump uniformly to the 8 others (the anchor
/// pull ignored), Gaussian emissions; forward pass only (causal); each bar labelled
/// with the axis value of highest posterior probability.
fn hmm_filter_accuracy(s: &Synth, p: &SynthParams) -> (f64, f64) {
    let switch = 1.0 / p.mean_regime_bars as f64;
    let states = RegimeLabel::ALL;
    let mut prob = [1.0 / 9.0; 9];
    let (mut trend_hits, mut vol_hits) = (0usize, 0usize);
    for (c, l) in s.candles.iter().zip(&s.labels) {
        let r = (c.close / c.open).ln();
        let mut next = [0.0; 9];
        for (j, st) in states.iter().enumerate() {
            let prior = prob[j] * (1.0 - switch) + (1.0 - prob[j]) * switch / 8.0;
            let sigma = bar_sigma(p.timeframe, st.volatility);
            let z = (r - bar_drift(p.timeframe, *st, p.trend_strength)) / sigma;
            next[j] = prior * (-0.5 * z * z).exp() / sigma;
        }
        let total: f64 = next.iter().sum();
        prob = next.map(|v| v / total);
        let (mut trend, mut vol) = ([0.0; 3], [0.0; 3]);
        for (j, st) in states.iter().enumerate() {
            trend[j / 3] += prob[j];
            vol[st.volatility.index()] += prob[j];
        }
        let argmax = |a: [f64; 3]| (0..3).fold(0, |b, i| if a[i] > a[b] { i } else { b });
        trend_hits += usize::from(Trend::ALL[argmax(trend)] == l.trend);
        vol_hits += usize::from(Vol::ALL[argmax(vol)] == l.volatility);
    }
    (trend_hits as f64 / s.labels.len() as f64, vol_hits as f64 / s.labels.len() as f64)
}

#[test]
fn prices_stay_within_the_excursion_bounds() {
    // The longest 1d series the time range allows from 1970 (sigma up to 30% a bar), with
    // the strongest trends and with none (a pure random walk, only the wall holds it).
    for trend_strength in [1.0, 0.0] {
        let p = SynthParams { timeframe: Timeframe::D1, start: Timestamp(0), bars: 106_000, trend_strength, ..SynthParams::default() };
        let s = gen(&p);
        let excursion = |v: f64| (v / p.start_price).ln().abs();
        let worst_close = s.candles.iter().map(|c| excursion(c.close)).fold(0.0, f64::max);
        let worst_wick = s.candles.iter().map(|c| excursion(c.low).max(excursion(c.high))).fold(0.0, f64::max);
        assert!(worst_close <= EXCURSION_LOG_WALL + 1e-9, "strength {trend_strength}: {worst_close}");
        assert!(worst_wick <= EXCURSION_LOG_WALL + 15.0 * 0.31, "strength {trend_strength}: {worst_wick}");
        assert!(validate_batch(Timeframe::D1, &s.candles).is_clean());
        eprintln!("strength {trend_strength}: largest excursion {worst_close:.2} (closes), {worst_wick:.2} (wicks)");
    }
}
