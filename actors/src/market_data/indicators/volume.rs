//! Volume features: the volume's simple moving average and the ratio of the bar's volume
//! to it (above 1: busier than usual).
//!
//! Definition: sma = SMA(n) of volume (`sma.rs`), including the current bar;
//! ratio = volume / sma. When the average is 0 (no volume in the whole window, so the
//! current volume is 0 too) the ratio is 1: the bar is exactly as busy as usual.
//! Warm-up: n - 1 bars.

use super::sma::Sma;
use super::{check_period, series, Column, Indicator, IndicatorError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VolumeOutput {
    pub sma: f64,
    pub ratio: f64,
}

#[derive(Debug, Clone, Default)]
pub struct VolumeFeatures {
    sma: Sma,
}

impl VolumeFeatures {
    /// The table's default window (20 bars, [`Sma`]'s default).
    pub const DEFAULT_PERIOD: usize = Sma::DEFAULT_PERIOD;

    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self { sma: Sma::new(check_period("volume", period, 1)?)? })
    }
}

impl Indicator for VolumeFeatures {
    type Input = f64;
    type Output = VolumeOutput;

    fn update(&mut self, volume: f64) -> Option<VolumeOutput> {
        let sma = self.sma.update(volume)?;
        Some(features(sma, volume))
    }
}

/// Volume features over `period` bars of every volume (see the module doc).
pub fn volume_features(volumes: &[f64], period: usize) -> Result<Vec<Option<VolumeOutput>>, IndicatorError> {
    VolumeFeatures::new(period)?;
    let mut out = Vec::with_capacity(volumes.len());
    out.extend(std::iter::repeat_n(None, (period - 1).min(volumes.len())));
    each_chunk(volumes, period, |smas, volumes| out.extend(smas.iter().zip(volumes).map(|(&sma, &volume)| Some(features(sma, volume)))));
    Ok(out)
}

/// [`volume_features`] as two [`Column`]s (8 bytes a row each: the faster form), each
/// with a warm-up of `period - 1` rows.
pub fn volume_columns(volumes: &[f64], period: usize) -> Result<VolumeColumns, IndicatorError> {
    VolumeFeatures::new(period)?;
    let [mut sma, mut ratio] = [(); 2].map(|_| Column::rows(volumes.len(), period - 1));
    each_chunk(volumes, period, |smas, volumes| {
        sma.extend_from_slice(smas);
        ratio.extend(smas.iter().zip(volumes).map(|(&sma, &volume)| features(sma, volume).ratio));
    });
    Ok(VolumeColumns { sma: Column::new(period - 1, sma), ratio: Column::new(period - 1, ratio) })
}

/// [`volume_features`]' two outputs as [`Column`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeColumns {
    pub sma: Column,
    pub ratio: Column,
}

/// The batch loop of [`volume_features`]: `emit(smas, volumes)` for every index from
/// `period - 1` on, in order, a chunk at a time: the averages and the bars' volumes.
/// `period >= 1`.
fn each_chunk(volumes: &[f64], period: usize, mut emit: impl FnMut(&[f64], &[f64])) {
    let n = period as f64;
    let mut at = period - 1;
    let mut smas = [0.0; series::LANES_AVX512];
    series::rolling_sums(volumes, period, |sums| {
        for (sma, sum) in smas.iter_mut().zip(sums) {
            *sma = sum / n;
        }
        emit(&smas[..sums.len()], &volumes[at..at + sums.len()]);
        at += sums.len();
    });
}

/// The ratio of `volume` to its average `sma` (1 when the average is 0).
#[inline]
fn features(sma: f64, volume: f64) -> VolumeOutput {
    VolumeOutput { sma, ratio: if sma == 0.0 { 1.0 } else { volume / sma } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::indicators::testing::btcperp;

    #[test]
    fn reference_values() {
        // n = 2: averages (1+2)/2, (2+3)/2, (3+0)/2; ratios 2/1.5, 3/2.5, 0/1.5; then 0 volume
        // over the whole window gives ratio 1.
        let got = volume_features(&[1.0, 2.0, 3.0, 0.0, 0.0], 2).unwrap();
        let want = [None, Some((1.5, 2.0 / 1.5)), Some((2.5, 3.0 / 2.5)), Some((1.5, 0.0)), Some((0.0, 1.0))];
        assert_eq!(got.iter().map(|o| o.map(|o| (o.sma, o.ratio))).collect::<Vec<_>>(), want);
        assert!(VolumeFeatures::new(0).is_err());
    }

    #[test]
    fn incremental_equals_batch_on_btcperp() {
        let volumes: Vec<f64> = btcperp().iter().map(|c| c.volume).collect();
        let batch = volume_features(&volumes, 20).unwrap();
        let mut v = VolumeFeatures::default();
        let incremental: Vec<_> = volumes.iter().map(|&x| v.update(x)).collect();
        assert_eq!(incremental, batch);
        assert!(batch.iter().flatten().all(|o| o.ratio >= 0.0 && o.ratio <= 20.0));
    }
}
