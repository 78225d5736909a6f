//! The multi-timeframe view: one regime from the probability vectors of several
//! timeframes (each from its own model and tracker, e.g. 1m, 1h and 1d of one symbol).
//!
//! The combination is a weighted *linear* opinion pool, per axis:
//! `p(regime) = sum_tf w_tf p_tf(regime) / sum_tf w_tf`. Linear, not a product of
//! probabilities, so one over-confident timeframe cannot veto the others, and the result
//! is a distribution whenever the inputs are.
//!
//! Default weights ([`TimeframeWeights::default`]) grow with the timeframe: 1m 1, 5m 1.5,
//! 15m 2, 1h 3, 4h 4, 1d 5. A higher timeframe's bar summarises more trading, and its
//! regime is the one a position lives through; a lower one reacts first but flickers. The
//! growth is roughly logarithmic in bar length (a 1d bar is 1440 1m bars, not 1440 times
//! as informative about the regime), so fast timeframes still move the view.

use super::axis::{Axis, AxisProbs, TrendProbs, VolProbs, AXIS_REGIMES};
use super::error::RegimeError;
use serde::{Deserialize, Serialize};
use tradpal_messages::regime::{Trend, Vol};
use tradpal_messages::Timeframe;

/// Largest weight accepted for one timeframe.
pub const TIMEFRAME_WEIGHT_MAX: f64 = 1e6;

/// One timeframe's current regime probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeframeProbs {
    pub timeframe: Timeframe,
    pub trend: TrendProbs,
    pub volatility: VolProbs,
}

/// Weight of each timeframe in the pool (finite, `0..=TIMEFRAME_WEIGHT_MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeframeWeights {
    #[serde(rename = "1m")]
    pub m1: f64,
    #[serde(rename = "5m")]
    pub m5: f64,
    #[serde(rename = "15m")]
    pub m15: f64,
    #[serde(rename = "1h")]
    pub h1: f64,
    #[serde(rename = "4h")]
    pub h4: f64,
    #[serde(rename = "1d")]
    pub d1: f64,
}

impl Default for TimeframeWeights {
    fn default() -> Self {
        Self { m1: 1.0, m5: 1.5, m15: 2.0, h1: 3.0, h4: 4.0, d1: 5.0 }
    }
}

impl TimeframeWeights {
    pub fn get(&self, tf: Timeframe) -> f64 {
        match tf {
            Timeframe::M1 => self.m1,
            Timeframe::M5 => self.m5,
            Timeframe::M15 => self.m15,
            Timeframe::H1 => self.h1,
            Timeframe::H4 => self.h4,
            Timeframe::D1 => self.d1,
        }
    }
}

/// The weight one timeframe got.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeframeWeight {
    pub timeframe: Timeframe,
    pub weight: f64,
}

/// The combined regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CombinedRegime {
    pub trend: Trend,
    pub volatility: Vol,
    pub trend_probs: TrendProbs,
    pub volatility_probs: VolProbs,
    /// Pooled probability of the chosen trend / volatility.
    pub trend_confidence: f64,
    pub volatility_confidence: f64,
    /// Share of the total weight whose own most probable trend is the combined one.
    pub trend_agreement: f64,
    /// The inputs' weights, in input order.
    pub weights: Vec<TimeframeWeight>,
}

fn check_probs<A: Axis>(tf: Timeframe, p: &AxisProbs<A>) -> Result<(), RegimeError> {
    if p.is_distribution() {
        Ok(())
    } else {
        Err(RegimeError::BadProbabilities { what: format!("{tf} {}", A::NAME), got: p.p.to_vec() })
    }
}

fn pool<A: Axis>(inputs: &[(f64, AxisProbs<A>)], total: f64) -> AxisProbs<A> {
    let mut out = [0.0; AXIS_REGIMES];
    for (w, p) in inputs {
        for (o, v) in out.iter_mut().zip(&p.p) {
            *o += w * v / total;
        }
    }
    AxisProbs::new(out)
}

/// Pools per-timeframe probabilities (each timeframe at most once) with `weights`.
pub fn combine(inputs: &[TimeframeProbs], weights: &TimeframeWeights) -> Result<CombinedRegime, RegimeError> {
    if inputs.is_empty() {
        return Err(RegimeError::Empty { what: "multi-timeframe combine" });
    }
    for tf in Timeframe::ALL {
        let w = weights.get(tf);
        if !(0.0..=TIMEFRAME_WEIGHT_MAX).contains(&w) {
            return Err(RegimeError::InvalidParam { name: "timeframe weight", value: format!("{w} for {tf}"), expected: "[0, 1e6]" });
        }
    }
    for (i, x) in inputs.iter().enumerate() {
        if inputs[..i].iter().any(|y| y.timeframe == x.timeframe) {
            return Err(RegimeError::DuplicateTimeframe { timeframe: x.timeframe });
        }
        check_probs(x.timeframe, &x.trend)?;
        check_probs(x.timeframe, &x.volatility)?;
    }
    let total: f64 = inputs.iter().map(|x| weights.get(x.timeframe)).sum();
    if total <= 0.0 {
        return Err(RegimeError::InvalidParam {
            name: "timeframe weights",
            value: "0 in total for the given timeframes".into(),
            expected: "a positive weight for at least one given timeframe",
        });
    }
    let trend_probs = pool(&inputs.iter().map(|x| (weights.get(x.timeframe), x.trend)).collect::<Vec<_>>(), total);
    let volatility_probs = pool(&inputs.iter().map(|x| (weights.get(x.timeframe), x.volatility)).collect::<Vec<_>>(), total);
    let (trend, trend_confidence) = trend_probs.argmax();
    let (volatility, volatility_confidence) = volatility_probs.argmax();
    let agreeing: f64 = inputs.iter().filter(|x| x.trend.argmax().0 == trend).map(|x| weights.get(x.timeframe)).sum();
    Ok(CombinedRegime {
        trend,
        volatility,
        trend_probs,
        volatility_probs,
        trend_confidence,
        volatility_confidence,
        trend_agreement: agreeing / total,
        weights: inputs.iter().map(|x| TimeframeWeight { timeframe: x.timeframe, weight: weights.get(x.timeframe) }).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(timeframe: Timeframe, trend: [f64; 3]) -> TimeframeProbs {
        TimeframeProbs { timeframe, trend: AxisProbs::new(trend), volatility: AxisProbs::new([0.2, 0.5, 0.3]) }
    }

    #[test]
    fn higher_timeframes_weigh_more() {
        // 1m says bull, 1d says bear, equally sure: the daily view wins (5 vs 1).
        let c = combine(&[tp(Timeframe::M1, [0.8, 0.1, 0.1]), tp(Timeframe::D1, [0.1, 0.8, 0.1])], &TimeframeWeights::default()).unwrap();
        assert_eq!(c.trend, Trend::Bear);
        assert!((c.trend_probs.get(Trend::Bear) - (0.1 + 5.0 * 0.8) / 6.0).abs() < 1e-12);
        assert!((c.trend_agreement - 5.0 / 6.0).abs() < 1e-12);
        assert!(c.trend_probs.is_distribution() && c.volatility_probs.is_distribution());
        assert_eq!(c.volatility, Vol::Normal);
        // Equal weights: the mean.
        let flat = TimeframeWeights { m1: 1.0, m5: 1.0, m15: 1.0, h1: 1.0, h4: 1.0, d1: 1.0 };
        let c = combine(&[tp(Timeframe::M1, [0.8, 0.1, 0.1]), tp(Timeframe::D1, [0.1, 0.7, 0.2])], &flat).unwrap();
        assert_eq!(c.trend, Trend::Bull);
        assert!((c.trend_confidence - 0.45).abs() < 1e-12);
        let json = serde_json::to_value(TimeframeWeights::default()).unwrap();
        assert_eq!(json["1h"], serde_json::json!(3.0));
    }

    #[test]
    fn refuses_bad_inputs_with_clear_messages() {
        let w = TimeframeWeights::default();
        assert!(matches!(combine(&[], &w), Err(RegimeError::Empty { .. })));
        let err = combine(&[tp(Timeframe::H1, [0.5, 0.5, 0.5])], &w).unwrap_err().to_string();
        assert!(err.starts_with("1h trend: probabilities must be finite"), "{err}");
        let dup = [tp(Timeframe::H1, [1.0, 0.0, 0.0]), tp(Timeframe::H1, [1.0, 0.0, 0.0])];
        assert_eq!(combine(&dup, &w).unwrap_err(), RegimeError::DuplicateTimeframe { timeframe: Timeframe::H1 });
        let zero = TimeframeWeights { h1: 0.0, ..w };
        assert!(combine(&[tp(Timeframe::H1, [1.0, 0.0, 0.0])], &zero).is_err());
        let nan = TimeframeWeights { d1: f64::NAN, ..w };
        assert!(combine(&[tp(Timeframe::H1, [1.0, 0.0, 0.0])], &nan).is_err());
    }
}
