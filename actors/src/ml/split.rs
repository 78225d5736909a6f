//! Chronological splits that cannot leak: the test set is the latest stretch, and
//! training rows whose label window reaches into it are purged, plus an embargo gap.
//!
//! A row at bar `i` with horizon `h` has a label made of bars `i+1..=i+h`. A training row
//! is kept only when `i + h + embargo < first bar of the block after it`, so no training
//! label overlaps (or sits right next to) anything it is evaluated on. Purged walk-forward
//! CV does the same per fold: fold `k` trains on blocks `0..=k` and validates on block
//! `k+1`; training always precedes validation.

use super::error::MlError;
use serde::Serialize;

/// Fewest rows a training set or a validation block may have.
pub const SPLIT_ROWS_MIN: usize = 30;

/// Row indices of a train / test split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
    /// Training rows dropped by purge and embargo.
    pub purged: usize,
}

/// Rows of `candidates` (in bar order) whose label ends, with the embargo, before `first_bar`.
fn purge(bars: &[usize], candidates: std::ops::Range<usize>, first_bar: usize, horizon: usize, embargo: usize) -> (Vec<usize>, usize) {
    let kept: Vec<usize> = candidates.clone().filter(|&r| bars[r] + horizon + embargo < first_bar).collect();
    let purged = candidates.len() - kept.len();
    (kept, purged)
}

/// The last `test_fraction` of the rows is the test set; the rest, purged, trains.
pub fn holdout(bars: &[usize], test_fraction: f64, horizon: usize, embargo: usize) -> Result<Split, MlError> {
    let n = bars.len();
    let test_rows = ((n as f64) * test_fraction).round() as usize;
    let start = n - test_rows.min(n);
    if test_rows < SPLIT_ROWS_MIN {
        return Err(MlError::TooFewBars {
            bars: n,
            min_bars: (SPLIT_ROWS_MIN as f64 / test_fraction).ceil() as usize,
            why: format!("the test set would hold {test_rows} labelled rows, fewer than SPLIT_ROWS_MIN = {SPLIT_ROWS_MIN}"),
        });
    }
    let (train, purged) = purge(bars, 0..start, bars[start], horizon, embargo);
    if train.len() < SPLIT_ROWS_MIN {
        return Err(MlError::TooFewBars {
            bars: n,
            min_bars: 2 * SPLIT_ROWS_MIN + horizon + embargo,
            why: format!("the training set would hold {} rows after purge and embargo", train.len()),
        });
    }
    Ok(Split { train, test: (start..n).collect(), purged })
}

/// Purged walk-forward folds over the rows `0..bars.len()` (the training set): `folds`
/// validation blocks, each preceded by all earlier rows, purged. Blocks too small for
/// [`SPLIT_ROWS_MIN`] are skipped.
pub fn walk_forward(bars: &[usize], folds: usize, horizon: usize, embargo: usize) -> Vec<Split> {
    let n = bars.len();
    let block = n / (folds + 1);
    if block < SPLIT_ROWS_MIN {
        return Vec::new();
    }
    (1..=folds)
        .filter_map(|k| {
            let start = k * block;
            let end = if k == folds { n } else { start + block };
            let (train, purged) = purge(bars, 0..start, bars[start], horizon, embargo);
            (train.len() >= SPLIT_ROWS_MIN).then(|| Split { train, test: (start..end).collect(), purged })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_and_embargo_keep_labels_out_of_the_test_set() {
        let bars: Vec<usize> = (100..1100).collect();
        let s = holdout(&bars, 0.2, 5, 3).unwrap();
        let first_test_bar = bars[s.test[0]];
        assert!(s.train.iter().all(|&r| bars[r] + 5 + 3 < first_test_bar));
        assert_eq!(s.purged, 8);
        assert_eq!(s.test.len(), 200);
        for f in walk_forward(&bars[..800], 3, 5, 3) {
            let first = bars[f.test[0]];
            assert!(f.train.iter().all(|&r| bars[r] + 8 < first) && f.purged == 8);
        }
    }

    #[test]
    fn too_few_rows_names_the_minimum() {
        let bars: Vec<usize> = (0..50).collect();
        let e = holdout(&bars, 0.25, 1, 0).unwrap_err();
        assert!(e.to_string().contains("at least"), "{e}");
    }
}
