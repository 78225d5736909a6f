//! Calibration: does "70% bull" come true 70% of the time?
//!
//! [`calibration_table`] sorts predictions into [`CALIBRATION_BINS`] equal-width bins of
//! predicted probability and compares each bin's mean prediction with how often the event
//! happened. [`expected_calibration_error`] (ECE) is the count-weighted mean gap,
//! `sum_b n_b / N * |mean_predicted_b - observed_b|`: 0 for perfect calibration.
//!
//! For a 3-way regime the usual reading is *top-label* calibration ([`top_label`]): the
//! predicted probability is that of the most probable regime, the event "that regime was
//! the true one". A forward filter of a well-specified HMM is calibrated in this sense by
//! construction; the table checks that the fitted one still is on data it never saw.

use super::axis::{Axis, AxisProbs};
use super::error::RegimeError;
use serde::{Deserialize, Serialize};

/// Number of equal-width probability bins.
pub const CALIBRATION_BINS: usize = 10;

/// One probability bin `[lo, hi)` (the last bin includes 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    /// Mean predicted probability in the bin (`None` when empty).
    pub mean_predicted: Option<f64>,
    /// Share of the bin's predictions whose event happened (`None` when empty).
    pub observed_frequency: Option<f64>,
    pub count: usize,
}

/// The table and its ECE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub bins: Vec<Bin>,
    pub expected_calibration_error: f64,
    pub samples: usize,
}

/// Bins `predicted` probabilities (each in `[0, 1]`) against whether the event happened.
pub fn calibration_table(predicted: &[f64], happened: &[bool]) -> Result<Vec<Bin>, RegimeError> {
    if predicted.len() != happened.len() {
        return Err(RegimeError::LengthMismatch { what: "calibration", predicted: predicted.len(), truth: happened.len() });
    }
    if let Some(p) = predicted.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return Err(RegimeError::InvalidParam { name: "predicted probability", value: p.to_string(), expected: "[0, 1]" });
    }
    let mut sums = [(0.0, 0usize, 0usize); CALIBRATION_BINS];
    for (p, h) in predicted.iter().zip(happened) {
        let b = ((p * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        sums[b].0 += p;
        sums[b].1 += usize::from(*h);
        sums[b].2 += 1;
    }
    Ok(sums
        .iter()
        .enumerate()
        .map(|(b, &(sum, hits, count))| Bin {
            lo: b as f64 / CALIBRATION_BINS as f64,
            hi: (b + 1) as f64 / CALIBRATION_BINS as f64,
            mean_predicted: (count > 0).then(|| sum / count as f64),
            observed_frequency: (count > 0).then(|| hits as f64 / count as f64),
            count,
        })
        .collect())
}

/// Count-weighted mean |mean predicted - observed| over the bins (0 for no samples).
pub fn expected_calibration_error(bins: &[Bin]) -> f64 {
    let total: usize = bins.iter().map(|b| b.count).sum();
    if total == 0 {
        return 0.0;
    }
    bins.iter().filter_map(|b| Some(b.count as f64 * (b.mean_predicted? - b.observed_frequency?).abs())).sum::<f64>() / total as f64
}

/// Top-label pairs: the probability of each bar's most probable regime, and whether it
/// was the true one.
pub fn top_label<A: Axis>(probs: &[AxisProbs<A>], truth: &[A]) -> Result<(Vec<f64>, Vec<bool>), RegimeError> {
    if probs.len() != truth.len() {
        return Err(RegimeError::LengthMismatch { what: "calibration", predicted: probs.len(), truth: truth.len() });
    }
    Ok(probs
        .iter()
        .zip(truth)
        .map(|(p, t)| {
            let (best, pb) = p.argmax();
            (pb.clamp(0.0, 1.0), best == *t)
        })
        .unzip())
}

/// Top-label calibration of `probs` against `truth`, table and ECE.
pub fn calibrate<A: Axis>(probs: &[AxisProbs<A>], truth: &[A]) -> Result<Calibration, RegimeError> {
    let (p, h) = top_label(probs, truth)?;
    let bins = calibration_table(&p, &h)?;
    Ok(Calibration { expected_calibration_error: expected_calibration_error(&bins), samples: p.len(), bins })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradpal_messages::regime::Trend;

    #[test]
    fn hand_checked_table_and_ece() {
        // Bin 2: 0.25 x4, one happened (observed 0.25: calibrated). Bin 9: 0.95 x2 and 1.0,
        // all happened (mean 0.9667, observed 1). Bin 0: 0.0, did not happen.
        let p = [0.25, 0.25, 0.25, 0.25, 0.95, 0.95, 1.0, 0.0];
        let h = [true, false, false, false, true, true, true, false];
        let bins = calibration_table(&p, &h).unwrap();
        assert_eq!(bins.len(), 10);
        assert_eq!((bins[2].count, bins[2].observed_frequency), (4, Some(0.25)));
        assert_eq!(bins[9].count, 3);
        assert!((bins[9].mean_predicted.unwrap() - 2.9 / 3.0).abs() < 1e-12);
        assert_eq!((bins[0].count, bins[0].mean_predicted), (1, Some(0.0)));
        assert_eq!(bins[5].mean_predicted, None);
        assert!((bins[3].lo - 0.3).abs() < 1e-12 && (bins[3].hi - 0.4).abs() < 1e-12);
        let ece = expected_calibration_error(&bins);
        assert!((ece - 3.0 * (1.0 - 2.9 / 3.0) / 8.0).abs() < 1e-12, "{ece}");
    }

    #[test]
    fn refuses_bad_input_and_handles_empty() {
        assert!(calibration_table(&[0.5], &[]).is_err());
        let err = calibration_table(&[1.5], &[true]).unwrap_err().to_string();
        assert_eq!(err, "predicted probability: 1.5 is outside [0, 1]");
        assert!(calibration_table(&[f64::NAN], &[true]).is_err());
        assert_eq!(expected_calibration_error(&calibration_table(&[], &[]).unwrap()), 0.0);
        let c = calibrate(&[AxisProbs::new([0.6, 0.3, 0.1])], &[Trend::Bull]).unwrap();
        assert_eq!((c.samples, c.bins[6].count, c.bins[6].observed_frequency), (1, 1, Some(1.0)));
    }
}
