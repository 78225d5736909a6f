//! Scoring predicted regimes against true ones: accuracy, per-regime precision and
//! recall, the confusion matrix, how late switches are detected, and how often the
//! prediction switches for no reason. Works for either axis ([`Axis`]).
//!
//! Definitions (bars are indices into the two equally long series):
//!
//! - **True switch** at bar `s`: `truth[s] != truth[s - 1]`. Its segment runs to the next
//!   true switch (or the end).
//! - **Detection delay** of a true switch: `t - s` for the first `t` in its segment with
//!   `predicted[t] == truth[t]`. A switch whose segment passes without a match is
//!   *missed*, unless the segment is cut by the end of the series (then it is *censored*
//!   and left out: it might have been caught later). The median counts missed switches
//!   as later than any detected one (so it is `None` when half or more were missed); the
//!   mean is over detected switches only.
//! - **Predicted switch** at bar `t`: `predicted[t] != predicted[t - 1]`. It is *false*
//!   unless some true switch `s` has `s <= t <= s + tolerance_bars`: a causal detector
//!   can only react after the fact, so a switch just before a true one is a lucky guess,
//!   not a detection. Reported per 1,000 bars.

use super::axis::{Axis, AXIS_REGIMES};
use super::error::{check_range, RegimeError};
use serde::{Deserialize, Serialize};

/// Default window after a true switch in which a predicted switch counts as a reaction:
/// a few times a good detector's median delay (~20 bars on the default synth data) and a
/// fifth of a typical regime, so a late but real detection is not called false while a
/// flicker in the middle of a regime is.
pub const SWITCH_TOLERANCE_BARS: usize = 100;
/// Largest tolerance accepted.
pub const SWITCH_TOLERANCE_BARS_MAX: usize = 100_000;

/// Evaluation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalParams {
    /// See the module doc, `0..=SWITCH_TOLERANCE_BARS_MAX`.
    pub tolerance_bars: usize,
}

impl Default for EvalParams {
    fn default() -> Self {
        Self { tolerance_bars: SWITCH_TOLERANCE_BARS }
    }
}

/// Precision and recall of one regime (`None` where the denominator is 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeScore {
    pub regime: String,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// Bars truly in this regime.
    pub support: usize,
    /// Bars predicted in this regime.
    pub predicted: usize,
}

/// Detection delays of true switches, in bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelayStats {
    pub detected: usize,
    pub missed: usize,
    /// Switches too close to the end of the series to judge.
    pub censored: usize,
    pub median: Option<f64>,
    pub mean: Option<f64>,
    /// 90th percentile, missed switches counted as later than any detected one.
    pub p90: Option<f64>,
}

/// The full score of a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub axis: String,
    pub bars: usize,
    pub accuracy: f64,
    /// Regime names in the order of `per_regime` and of the matrix rows and columns.
    pub regimes: Vec<String>,
    pub per_regime: Vec<RegimeScore>,
    /// `confusion_matrix[truth][predicted]` bar counts.
    pub confusion_matrix: Vec<Vec<usize>>,
    pub true_switches: usize,
    pub predicted_switches: usize,
    pub detection_delay: DelayStats,
    pub false_switches: usize,
    pub false_switches_per_1000_bars: f64,
    pub tolerance_bars: usize,
}

/// [`evaluate_with`] at the default tolerance.
pub fn evaluate<A: Axis>(predicted: &[A], truth: &[A]) -> Result<Evaluation, RegimeError> {
    evaluate_with(predicted, truth, &EvalParams::default())
}

/// Scores `predicted` against `truth`, bar for bar (see the module doc).
pub fn evaluate_with<A: Axis>(predicted: &[A], truth: &[A], params: &EvalParams) -> Result<Evaluation, RegimeError> {
    check_range("tolerance_bars", params.tolerance_bars, 0..=SWITCH_TOLERANCE_BARS_MAX, "0..=100000")?;
    if predicted.len() != truth.len() {
        return Err(RegimeError::LengthMismatch { what: "evaluate", predicted: predicted.len(), truth: truth.len() });
    }
    if truth.is_empty() {
        return Err(RegimeError::Empty { what: "evaluate" });
    }
    let n = truth.len();
    let mut matrix = vec![vec![0usize; AXIS_REGIMES]; AXIS_REGIMES];
    for (p, t) in predicted.iter().zip(truth) {
        matrix[t.index()][p.index()] += 1;
    }
    let hits: usize = (0..AXIS_REGIMES).map(|i| matrix[i][i]).sum();
    let per_regime = A::ALL
        .iter()
        .map(|a| {
            let i = a.index();
            let support: usize = matrix[i].iter().sum();
            let predicted: usize = matrix.iter().map(|row| row[i]).sum();
            let ratio = |den: usize| (den > 0).then(|| matrix[i][i] as f64 / den as f64);
            RegimeScore { regime: a.name().to_string(), precision: ratio(predicted), recall: ratio(support), support, predicted }
        })
        .collect();
    let true_switches: Vec<usize> = (1..n).filter(|&s| truth[s] != truth[s - 1]).collect();
    let predicted_switches: Vec<usize> = (1..n).filter(|&t| predicted[t] != predicted[t - 1]).collect();
    let false_switches = count_false(&predicted_switches, &true_switches, params.tolerance_bars);
    Ok(Evaluation {
        axis: A::NAME.to_string(),
        bars: n,
        accuracy: hits as f64 / n as f64,
        regimes: A::ALL.iter().map(|a| a.name().to_string()).collect(),
        per_regime,
        confusion_matrix: matrix,
        true_switches: true_switches.len(),
        predicted_switches: predicted_switches.len(),
        detection_delay: delays(predicted, truth, &true_switches),
        false_switches,
        false_switches_per_1000_bars: false_switches as f64 * 1000.0 / n as f64,
        tolerance_bars: params.tolerance_bars,
    })
}

/// Predicted switches not within `[s, s + tolerance]` of any true switch `s`
/// (both lists ascending; one merge pass).
fn count_false(predicted: &[usize], truth: &[usize], tolerance: usize) -> usize {
    let mut j = 0; // truth[..j] are all <= t; truth[j - 1] is the latest true switch <= t.
    predicted
        .iter()
        .filter(|&&t| {
            while j < truth.len() && truth[j] <= t {
                j += 1;
            }
            !(j > 0 && t - truth[j - 1] <= tolerance)
        })
        .count()
}

fn delays<A: Axis>(predicted: &[A], truth: &[A], switches: &[usize]) -> DelayStats {
    let n = truth.len();
    let (mut detected, mut missed, mut censored) = (Vec::new(), 0, 0);
    for (i, &s) in switches.iter().enumerate() {
        let end = switches.get(i + 1).copied().unwrap_or(n);
        match (s..end).find(|&t| predicted[t] == truth[t]) {
            Some(t) => detected.push((t - s) as f64),
            None if end == n => censored += 1,
            None => missed += 1,
        }
    }
    detected.sort_by(f64::total_cmp);
    let total = detected.len() + missed;
    // Quantile q over detected + missed, missed ranked last (nearest-rank on the sorted list).
    let quantile = |q: f64| -> Option<f64> {
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as usize).clamp(1, total) - 1;
        detected.get(rank).copied()
    };
    let median = if total > 0 && total % 2 == 0 {
        // The mean of the middle two; undefined if the upper one is a missed switch.
        (total / 2 < detected.len()).then(|| (detected[total / 2 - 1] + detected[total / 2]) / 2.0)
    } else {
        quantile(0.5)
    };
    DelayStats {
        detected: detected.len(),
        missed,
        censored,
        median,
        mean: (!detected.is_empty()).then(|| detected.iter().sum::<f64>() / detected.len() as f64),
        p90: quantile(0.9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::regime::Trend::{self, Bear as D, Bull as U, Sideways as S};

    #[test]
    fn hand_checked_scores() {
        //            0  1  2  3  4  5  6  7  8  9
        let truth = [U, U, U, D, D, D, D, S, S, S];
        let pred = [U, U, U, U, U, D, D, D, S, S];
        let e = evaluate_with(&pred, &truth, &EvalParams { tolerance_bars: 2 }).unwrap();
        assert_eq!(e.bars, 10);
        assert!((e.accuracy - 0.7).abs() < 1e-12);
        assert_eq!(e.confusion_matrix, vec![vec![3, 0, 0], vec![2, 2, 0], vec![0, 1, 2]]);
        assert_eq!(e.per_regime[0].precision, Some(0.6));
        assert_eq!(e.per_regime[0].recall, Some(1.0));
        assert_eq!(e.per_regime[1].recall, Some(0.5));
        assert_eq!((e.true_switches, e.predicted_switches, e.false_switches), (2, 2, 0));
        // Switch at 3 detected at 5 (delay 2), at 7 detected at 8 (delay 1).
        let d = &e.detection_delay;
        assert_eq!((d.detected, d.missed, d.censored), (2, 0, 0));
        assert_eq!((d.median, d.mean), (Some(1.5), Some(1.5)));
        // With tolerance 1 the switch at 5 (2 after the true one at 3) is false.
        let e = evaluate_with(&pred, &truth, &EvalParams { tolerance_bars: 1 }).unwrap();
        assert_eq!(e.false_switches, 1);
        assert!((e.false_switches_per_1000_bars - 100.0).abs() < 1e-9);
    }

    #[test]
    fn missed_and_censored_switches() {
        let truth = [U, U, D, D, U, U, U, S];
        let pred = [U; 8];
        let d = evaluate(&pred, &truth).unwrap().detection_delay;
        // U->D at 2 missed; D->U at 4 detected at once; U->S at 7 censored (end of data).
        assert_eq!((d.detected, d.missed, d.censored), (1, 1, 1));
        assert_eq!(d.mean, Some(0.0));
        assert_eq!(d.median, None, "half missed: no median");
        let flicker = [U, D, U, D, U, D, U, D];
        let e = evaluate(&flicker, &[U; 8]).unwrap();
        assert_eq!((e.true_switches, e.predicted_switches, e.false_switches), (0, 7, 7));
        assert_eq!(e.detection_delay.median, None);
    }

    #[test]
    fn refuses_mismatched_or_empty_input_and_serialises() {
        let err = evaluate(&[U, U], &[U]).unwrap_err();
        assert_eq!(err.to_string(), "evaluate: 2 predicted labels but 1 true labels; they must pair up bar for bar");
        assert!(matches!(evaluate::<Trend>(&[], &[]), Err(RegimeError::Empty { .. })));
        let e = evaluate(&[U, D, S], &[U, D, D]).unwrap();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["regimes"], serde_json::json!(["bull", "bear", "sideways"]));
        assert_eq!(json["per_regime"][2]["precision"], serde_json::json!(0.0));
        let back: Evaluation = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
