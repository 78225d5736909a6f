//! The causality check: features recomputed on truncated data must equal, to the bit,
//! the features computed on the whole series at every bar both have. A feature that reads
//! a later bar (even one) changes or disappears at the cut and fails loudly, naming the
//! feature and the bar. Every training run runs it on its own data.

use super::error::MlError;
use super::features::FeatureFrame;
use tradpal_messages::Candle;

/// Where the series is cut, as fractions of its length.
pub const CAUSALITY_CUTS: [f64; 3] = [0.5, 0.75, 0.9];

/// Checks `compute` is causal on `candles`, given `full = compute(candles)`. Returns the
/// number of rows compared.
pub fn check(candles: &[Candle], full: &FeatureFrame, compute: impl Fn(&[Candle]) -> FeatureFrame) -> Result<usize, MlError> {
    let mut compared = 0;
    for f in CAUSALITY_CUTS {
        let cut = (candles.len() as f64 * f) as usize;
        let part = compute(&candles[..cut]);
        let want: Vec<usize> = (0..full.rows()).filter(|&r| full.bars[r] < cut).collect();
        for (k, &r) in want.iter().enumerate() {
            let bar = full.bars[r];
            let Some(&pbar) = part.bars.get(k) else {
                return Err(MlError::Causality(format!(
                    "the row at bar {bar} exists on the whole series but not on the series cut at bar {cut}: a feature reads bars after its own"
                )));
            };
            if pbar != bar {
                return Err(MlError::Causality(format!("rows differ at bar {bar} (cut at {cut}: bar {pbar}): a feature reads later bars")));
            }
            for (j, (a, b)) in full.row(r).iter().zip(part.row(k)).enumerate() {
                if a.to_bits() != b.to_bits() {
                    return Err(MlError::Causality(format!(
                        "feature {} at bar {bar} is {a} on the whole series but {b} on the series cut at bar {cut}: it reads bars after its own",
                        full.names[j]
                    )));
                }
            }
            compared += 1;
        }
        if part.rows() > want.len() {
            return Err(MlError::Causality(format!("the series cut at bar {cut} has rows the whole series lacks")));
        }
    }
    Ok(compared)
}
