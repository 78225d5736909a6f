//! The observation: market features per bar (causal), regime probabilities, and the
//! agent's own state (position, unrealised P&L).
//!
//! [`market_features`] is the ML issue's feature code (`ml::features`, every default
//! group) scaled for a network; everything else reads [`MARKET_FEATURES`] columns from it.
//!
//! Market features of bar `t` (all from bars `<= t`, clipped to `[-CLIP, CLIP]`, zero
//! until every group has a value): `(rsi_14 - 50) / 50`, `macd_hist_rel * 100`,
//! `bb_percent_b - 0.5`, `ln(volume_ratio_20)`, `log_return_1 * 100`,
//! `log_return_5 * 100`, `atr_rel * 100`, `volatility_20 * 100`.

use crate::ml::features::{compute, FeatureGroup};
use crate::regime::fit::{fit, FitParams};
use crate::regime::hysteresis::HysteresisParams;
use crate::regime::model::RegimeModel;
use crate::regime::tracker::track;
use tradpal_messages::{Candle, Timeframe};

/// Columns of [`market_features`] (the ML feature groups' eight columns).
pub const MARKET_FEATURES: usize = 8;
/// Regime probabilities: trend (bull, bear, sideways) then volatility (low, normal, high).
pub const REGIME_FEATURES: usize = 6;
/// Position (signed fraction of equity) and unrealised P&L (fraction of equity, * 100).
pub const AGENT_FEATURES: usize = 2;
/// Length of one observation.
pub const OBS_DIM: usize = MARKET_FEATURES + REGIME_FEATURES + AGENT_FEATURES;
/// Bound on each market feature (keeps an outlier bar from saturating the network).
pub const CLIP: f32 = 5.0;
/// Bars before the first observation the agent acts on (indicator warm-up).
pub const WARMUP_BARS: usize = 35;

/// Per-bar market features, row `t` from bars `..=t` only.
pub fn market_features(candles: &[Candle]) -> Vec<[f32; MARKET_FEATURES]> {
    let frame = compute(candles, &FeatureGroup::ALL);
    let mut out = vec![[0.0; MARKET_FEATURES]; candles.len()];
    if frame.cols() != MARKET_FEATURES {
        return out;
    }
    for (r, bar) in frame.bars.iter().enumerate() {
        out[*bar] = scale_market_row(frame.row(r));
    }
    out
}

/// One row of `ml::features` over [`FeatureGroup::ALL`] scaled for the network (the
/// one scaling: [`market_features`] and the `ai_ensemble` strategy's incremental
/// features both call it). Column order: rsi_14, macd_hist_rel, bb_percent_b,
/// volume_ratio_20, log_return_1, log_return_5, atr_rel, volatility_20
/// (`ml::features::FeatureGroup::columns`).
pub fn scale_market_row(v: &[f64]) -> [f32; MARKET_FEATURES] {
    let clip = |x: f64| if x.is_finite() { (x as f32).clamp(-CLIP, CLIP) } else { 0.0 };
    [
        clip((v[0] - 50.0) / 50.0),
        clip(v[1] * 100.0),
        clip(v[2] - 0.5),
        clip(if v[3] > 0.0 { v[3].ln() } else { 0.0 }),
        clip(v[4] * 100.0),
        clip(v[5] * 100.0),
        clip(v[6] * 100.0),
        clip(v[7] * 100.0),
    ]
}

/// The regime inputs of an observation from one bar's regime (trend then volatility).
pub fn regime_row(b: &crate::regime::tracker::BarRegime) -> [f32; REGIME_FEATURES] {
    let (t, v) = (b.probs.trend.p, b.probs.volatility.p);
    [t[0] as f32, t[1] as f32, t[2] as f32, v[0] as f32, v[1] as f32, v[2] as f32]
}

#[cfg(test)]
#[test]
fn the_ml_feature_columns_are_the_ones_scaled_here() {
    let names = crate::ml::features::names(&FeatureGroup::ALL);
    let want = ["rsi_14", "macd_hist_rel", "bb_percent_b", "volume_ratio_20", "log_return_1", "log_return_5", "atr_rel", "volatility_20"];
    assert_eq!(names, want);
}

/// The regime model of an agent: fitted on its training bars only (`candles` must be
/// exactly those), seeded.
pub fn fit_regime(candles: &[Candle], timeframe: Timeframe, seed: u64) -> Result<RegimeModel, super::RlError> {
    let params = FitParams { seed, iterations_max: REGIME_FIT_ITERATIONS, ..FitParams::default() };
    Ok(fit(candles, timeframe, &params)?)
}

/// EM iterations of an agent's regime fit (fewer than the regime service's 200: the
/// probabilities are one input among many, and training jobs fit once per agent).
pub const REGIME_FIT_ITERATIONS: usize = 50;

/// Per-bar regime probabilities, filtered forward over every bar (causal). Zeros when
/// `model` is `None` (regimes off) and before the tracker's first complete feature.
pub fn regime_features(candles: &[Candle], model: Option<&RegimeModel>) -> Result<Vec<[f32; REGIME_FEATURES]>, super::RlError> {
    let mut out = vec![[0.0; REGIME_FEATURES]; candles.len()];
    let Some(model) = model else { return Ok(out) };
    let tracked = track(model, candles, &HysteresisParams::default())?;
    // The tracker emits a regime from its first complete feature on; align from the end.
    let offset = candles.len() - tracked.bars.len();
    for (j, b) in tracked.bars.iter().enumerate() {
        out[offset + j] = regime_row(b);
    }
    Ok(out)
}

/// Market and regime features of every bar, side by side.
pub struct Features {
    pub rows: Vec<[f32; MARKET_FEATURES + REGIME_FEATURES]>,
}

impl Features {
    pub fn build(candles: &[Candle], regime: Option<&RegimeModel>) -> Result<Self, super::RlError> {
        let m = market_features(candles);
        let r = regime_features(candles, regime)?;
        let rows = m
            .iter()
            .zip(&r)
            .map(|(a, b)| {
                let mut row = [0.0; MARKET_FEATURES + REGIME_FEATURES];
                row[..MARKET_FEATURES].copy_from_slice(a);
                row[MARKET_FEATURES..].copy_from_slice(b);
                row
            })
            .collect();
        Ok(Features { rows })
    }

    /// The full observation of bar `t` given the agent's state.
    pub fn observe(&self, t: usize, position: f32, unrealised: f32, out: &mut [f32; OBS_DIM]) {
        out[..MARKET_FEATURES + REGIME_FEATURES].copy_from_slice(&self.rows[t]);
        out[OBS_DIM - 2] = position;
        out[OBS_DIM - 1] = unrealised.clamp(-CLIP, CLIP);
    }
}
