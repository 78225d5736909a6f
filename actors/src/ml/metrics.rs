//! Out-of-sample metrics, each with the naive baseline beside it.
//!
//! Classification: AUC (Mann-Whitney, ties counted half), log loss (probabilities
//! clipped to `[1e-15, 1 - 1e-15]`), Brier score, accuracy at 0.5. The baseline predicts
//! the training set's positive rate for every row: AUC 0.5, its log loss and Brier score,
//! and the accuracy of always answering the training majority class.
//! Regression: R² (against the test mean), MAE, and the information coefficient (IC,
//! Spearman's rank correlation). The baseline predicts the training mean (IC undefined:
//! `null`).

use serde::{Deserialize, Serialize};

const P_CLIP: f64 = 1e-15;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub auc: f64,
    pub log_loss: f64,
    pub brier: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegMetrics {
    pub r2: f64,
    pub mae: f64,
    /// `None` (JSON null) when undefined (a constant prediction).
    pub ic: Option<f64>,
}

/// A model's metrics and the baseline's, on the same rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scores {
    Class { rows: usize, positive_rate: f64, model: ClassMetrics, baseline: ClassMetrics },
    Reg { rows: usize, model: RegMetrics, baseline: RegMetrics },
}

impl Scores {
    /// The headline: AUC or R².
    pub fn headline(&self) -> f64 {
        match self {
            Scores::Class { model, .. } => model.auc,
            Scores::Reg { model, .. } => model.r2,
        }
    }
}

/// Average ranks (1-based), ties sharing their mean rank.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut out = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            out[k] = r;
        }
        i = j + 1;
    }
    out
}

/// Area under the ROC curve of scores `p` for labels `y` (0 / 1); 0.5 with one class.
pub fn auc(y: &[f64], p: &[f64]) -> f64 {
    let pos = y.iter().filter(|&&v| v > 0.5).count();
    let neg = y.len() - pos;
    if pos == 0 || neg == 0 {
        return 0.5;
    }
    let r = ranks(p);
    let sum: f64 = y.iter().zip(&r).filter(|(y, _)| **y > 0.5).map(|(_, r)| r).sum();
    (sum - (pos * (pos + 1)) as f64 / 2.0) / (pos as f64 * neg as f64)
}

pub fn classification(y: &[f64], p: &[f64]) -> ClassMetrics {
    let n = y.len().max(1) as f64;
    let mut log_loss = 0.0;
    let mut brier = 0.0;
    let mut correct = 0usize;
    for (&y, &p) in y.iter().zip(p) {
        let q = p.clamp(P_CLIP, 1.0 - P_CLIP);
        log_loss -= y * q.ln() + (1.0 - y) * (1.0 - q).ln();
        brier += (p - y) * (p - y);
        correct += usize::from((p > 0.5) == (y > 0.5));
    }
    ClassMetrics { auc: auc(y, p), log_loss: log_loss / n, brier: brier / n, accuracy: correct as f64 / n }
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    let r = sab / (saa * sbb).sqrt();
    r.is_finite().then_some(r)
}

pub fn regression(y: &[f64], p: &[f64]) -> RegMetrics {
    let n = y.len().max(1) as f64;
    let mean = y.iter().sum::<f64>() / n;
    let sst: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sse: f64 = y.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum();
    let mae = y.iter().zip(p).map(|(a, b)| (a - b).abs()).sum::<f64>() / n;
    let ic = if y.len() < 2 { None } else { pearson(&ranks(y), &ranks(p)) };
    RegMetrics { r2: if sst > 0.0 { 1.0 - sse / sst } else { 0.0 }, mae, ic }
}

/// Scores `p` on `y`, with the baseline built from the training labels `train_y`.
pub fn score(classifier: bool, train_y: &[f64], y: &[f64], p: &[f64]) -> Scores {
    let base = train_y.iter().sum::<f64>() / train_y.len().max(1) as f64;
    if classifier {
        let mut baseline = classification(y, &vec![base; y.len()]);
        let majority = if base > 0.5 { 1.0 } else { 0.0 };
        baseline.accuracy = y.iter().filter(|&&v| (v > 0.5) == (majority > 0.5)).count() as f64 / y.len().max(1) as f64;
        let positive_rate = y.iter().sum::<f64>() / y.len().max(1) as f64;
        Scores::Class { rows: y.len(), positive_rate, model: classification(y, p), baseline }
    } else {
        Scores::Reg { rows: y.len(), model: regression(y, p), baseline: regression(y, &vec![base; y.len()]) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_values() {
        assert_eq!(auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.2, 0.8, 0.9]), 1.0);
        assert_eq!(auc(&[0.0, 0.0, 1.0, 1.0], &[0.9, 0.8, 0.2, 0.1]), 0.0);
        assert_eq!(auc(&[0.0, 1.0], &[0.5, 0.5]), 0.5);
        // one positive ranked above one of two negatives
        assert!((auc(&[0.0, 1.0, 0.0], &[0.1, 0.5, 0.9]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn baseline_is_beside_the_model() {
        let y = [1.0, 0.0, 1.0, 1.0];
        let s = score(true, &[1.0, 1.0, 0.0], &y, &[0.9, 0.1, 0.8, 0.7]);
        let Scores::Class { model, baseline, .. } = s else { panic!() };
        assert_eq!(model.auc, 1.0);
        assert_eq!(baseline.auc, 0.5);
        assert_eq!(baseline.accuracy, 0.75);
        let r = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!((r.r2, r.mae, r.ic), (1.0, 0.0, Some(1.0)));
    }
}
