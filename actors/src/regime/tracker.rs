//! [`RegimeTracker`]: the live classifier. Per new candle: features (O(window)), one
//! forward-filter step (O(states^2)), one hysteresis step per axis (O(regimes)); it
//! returns a [`Transition`] when the stable regime changes. [`track`] runs the very same
//! struct over a series, so a backtest and a live run give identical regimes, to the bit.

use super::error::RegimeError;
use super::features::{BarFeatures, FeatureExtractor};
use super::filter::RegimeFilter;
use super::hysteresis::{Hysteresis, HysteresisParams};
use super::model::{RegimeModel, RegimeProbs};
use serde::{Deserialize, Serialize};
use tradpal_messages::regime::{RegimeLabel, Trend, Vol};
use tradpal_messages::{Candle, Timestamp};

/// The regime after one bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BarRegime {
    /// 0-based index of the bar in the tracker's input.
    pub bar: usize,
    pub open_time: Timestamp,
    /// The stable (hysteresis) regime.
    pub trend: Trend,
    pub volatility: Vol,
    /// Filtered probability of the stable trend / volatility / both at once.
    pub trend_confidence: f64,
    pub volatility_confidence: f64,
    pub confidence: f64,
    /// Filtered probabilities of every regime (before hysteresis).
    pub probs: RegimeProbs,
}

impl BarRegime {
    pub fn label(&self) -> RegimeLabel {
        RegimeLabel { trend: self.trend, volatility: self.volatility }
    }
}

/// A change of the stable regime (the first bar is one too, `from: None`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub bar: usize,
    pub open_time: Timestamp,
    pub from: Option<RegimeLabel>,
    pub to: RegimeLabel,
    /// Filtered joint probability of `to` at this bar.
    pub confidence: f64,
}

/// Features + filter + hysteresis, one candle at a time.
#[derive(Debug, Clone)]
pub struct RegimeTracker {
    features: FeatureExtractor,
    filter: RegimeFilter,
    trend: Hysteresis<Trend>,
    volatility: Hysteresis<Vol>,
    last: Option<(BarRegime, BarFeatures)>,
}

impl RegimeTracker {
    /// A tracker over a fitted model (checked: a model from outside may be corrupt).
    pub fn new(model: RegimeModel, params: &HysteresisParams) -> Result<Self, RegimeError> {
        params.check()?;
        model.check().map_err(|e| RegimeError::BadModel(e.to_string()))?;
        Ok(Self {
            features: FeatureExtractor::new(),
            filter: RegimeFilter::new(model),
            trend: Hysteresis::new(params.trend_margin, params.trend_bars),
            volatility: Hysteresis::new(params.volatility_margin, params.volatility_bars),
            last: None,
        })
    }

    pub fn model(&self) -> &RegimeModel {
        self.filter.model()
    }

    /// The regime after the last bar (`None` before the first).
    pub fn current(&self) -> Option<&BarRegime> {
        self.last.as_ref().map(|(r, _)| r)
    }

    /// The features of the last bar.
    pub fn last_features(&self) -> Option<&BarFeatures> {
        self.last.as_ref().map(|(_, f)| f)
    }

    /// Feeds the next candle. A bad candle (non-finite or non-positive price, high below
    /// low, time not after the previous bar) is refused and leaves the tracker unchanged.
    pub fn update(&mut self, candle: &Candle) -> Result<Option<Transition>, RegimeError> {
        let bar = self.features.bars();
        let f = self.features.update(candle)?;
        let probs = self.filter.step(&f);
        let trend_change = self.trend.update(&probs.trend);
        let vol_change = self.volatility.update(&probs.volatility);
        // Both axes have a regime after their first update.
        let (trend, volatility) = (self.trend.current().unwrap_or(Trend::Sideways), self.volatility.current().unwrap_or(Vol::Normal));
        let to = RegimeLabel { trend, volatility };
        let regime = BarRegime {
            bar,
            open_time: candle.open_time,
            trend,
            volatility,
            trend_confidence: probs.trend.get(trend),
            volatility_confidence: probs.volatility.get(volatility),
            confidence: probs.of(to),
            probs,
        };
        let from = self.last.as_ref().map(|(r, _)| r.label());
        self.last = Some((regime, f));
        if trend_change.is_none() && vol_change.is_none() {
            return Ok(None);
        }
        Ok(Some(Transition { bar, open_time: candle.open_time, from, to, confidence: regime.confidence }))
    }
}

/// The regime of every bar and the transitions, from a fresh [`RegimeTracker`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracked {
    pub bars: Vec<BarRegime>,
    pub transitions: Vec<Transition>,
}

/// Runs a fresh [`RegimeTracker`] over `candles` (identical to feeding them one by one).
pub fn track(model: &RegimeModel, candles: &[Candle], params: &HysteresisParams) -> Result<Tracked, RegimeError> {
    let mut tracker = RegimeTracker::new(model.clone(), params)?;
    let mut out = Tracked { bars: Vec::with_capacity(candles.len()), transitions: Vec::new() };
    for c in candles {
        if let Some(t) = tracker.update(c)? {
            out.transitions.push(t);
        }
        out.bars.extend(tracker.current().copied());
    }
    Ok(out)
}

/// The trend of every bar of a tracked series (for [`evaluate`](super::evaluate())).
pub fn trends(tracked: &Tracked) -> Vec<Trend> {
    tracked.bars.iter().map(|b| b.trend).collect()
}

/// The volatility of every bar of a tracked series.
pub fn volatilities(tracked: &Tracked) -> Vec<Vol> {
    tracked.bars.iter().map(|b| b.volatility).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::synth::{generate, SynthParams};
    use crate::regime::axis::Axis;
    use crate::regime::fit::{fit, FitParams};
    use tradpal_messages::Timeframe;

    fn setup() -> (RegimeModel, Vec<Candle>) {
        let s = generate(&SynthParams { bars: 3_000, seed: 11, mean_regime_bars: 300, ..SynthParams::default() }).unwrap();
        let model = fit(&s.candles[..1_500], Timeframe::M1, &FitParams { iterations_max: 30, ..FitParams::default() }).unwrap();
        (model, s.candles)
    }

    /// Every float of a bar as bits, so equality means bit-for-bit.
    fn bits(b: &BarRegime) -> Vec<u64> {
        let mut v = vec![b.bar as u64, b.open_time.0 as u64, b.trend.index() as u64, b.volatility.index() as u64];
        v.extend([b.trend_confidence, b.volatility_confidence, b.confidence].map(f64::to_bits));
        v.extend(b.probs.trend.p.iter().chain(&b.probs.volatility.p).chain(&b.probs.joint).map(|x| x.to_bits()));
        v
    }

    #[test]
    fn incremental_equals_batch_bit_for_bit() {
        let (model, candles) = setup();
        let batch = track(&model, &candles, &HysteresisParams::default()).unwrap();
        // One candle at a time, with the tracker cloned mid-way (as an actor restoring a
        // snapshot would) and carried on from the clone.
        let mut tracker = RegimeTracker::new(model.clone(), &HysteresisParams::default()).unwrap();
        let (mut bars, mut transitions) = (Vec::new(), Vec::new());
        for (i, c) in candles.iter().enumerate() {
            if i == 1_234 {
                tracker = tracker.clone();
            }
            transitions.extend(tracker.update(c).unwrap());
            bars.push(*tracker.current().unwrap());
        }
        assert_eq!(bars.len(), batch.bars.len());
        for (a, b) in bars.iter().zip(&batch.bars) {
            assert_eq!(bits(a), bits(b), "bar {}", a.bar);
        }
        assert_eq!(transitions, batch.transitions);
        // Transitions are exactly the changes of the per-bar regime, the first bar included.
        assert_eq!(batch.transitions[0].from, None);
        let changes: Vec<usize> = (0..bars.len()).filter(|&i| i == 0 || bars[i].label() != bars[i - 1].label()).collect();
        assert_eq!(changes, batch.transitions.iter().map(|t| t.bar).collect::<Vec<_>>());
        for t in &batch.transitions {
            assert_eq!(t.to, batch.bars[t.bar].label());
            assert_eq!(t.confidence.to_bits(), batch.bars[t.bar].confidence.to_bits());
        }
        assert!(batch.transitions.len() > 3, "a 3,000-bar series with 300-bar regimes switches");
    }

    #[test]
    fn causal_a_prefix_classifies_the_same() {
        let (model, candles) = setup();
        let whole = track(&model, &candles, &HysteresisParams::default()).unwrap();
        for cut in [1, 2, 700, 2_999] {
            let part = track(&model, &candles[..cut], &HysteresisParams::default()).unwrap();
            assert!(part.bars.iter().zip(&whole.bars).all(|(a, b)| bits(a) == bits(b)), "cut {cut}");
        }
    }

    #[test]
    fn bad_candles_are_refused_and_change_nothing() {
        let (model, candles) = setup();
        let mut clean = RegimeTracker::new(model.clone(), &HysteresisParams::default()).unwrap();
        let mut noisy = RegimeTracker::new(model, &HysteresisParams::default()).unwrap();
        for (i, c) in candles[..500].iter().enumerate() {
            let a = clean.update(c).unwrap();
            if i % 50 == 7 {
                let mut bad = *c;
                bad.low = f64::NAN;
                assert!(matches!(noisy.update(&bad), Err(RegimeError::BadCandle { field: "low", .. })));
                if i > 0 {
                    assert!(matches!(noisy.update(&candles[i - 1]), Err(RegimeError::NotIncreasing { .. })));
                }
            }
            assert_eq!(noisy.update(c).unwrap(), a);
            assert_eq!(bits(noisy.current().unwrap()), bits(clean.current().unwrap()));
        }
        assert_eq!(noisy.last_features(), clean.last_features());
    }

    #[test]
    fn refuses_a_corrupt_model_or_bad_params() {
        let (model, _) = setup();
        let mut corrupt = model.clone();
        corrupt.chain.transition[3][3] = f64::NAN;
        let err = RegimeTracker::new(corrupt, &HysteresisParams::default()).unwrap_err().to_string();
        assert!(err.starts_with("model: transition row 3"), "{err}");
        let bad = HysteresisParams { trend_bars: 0, ..HysteresisParams::default() };
        assert_eq!(RegimeTracker::new(model, &bad).unwrap_err().to_string(), "trend_bars: 0 is outside 1..=1440");
    }
}
