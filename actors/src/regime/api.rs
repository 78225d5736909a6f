//! Request and response shapes for the regime actor and the HTTP adapter, and
//! [`classify`], the whole pipeline on one batch of candles (`POST /api/regime/classify`).
//!
//! `classify` fits a model on the candles it is given, then runs a fresh tracker over the
//! same candles. So the model's *parameters* are in-sample (learned from this very window),
//! while every bar's *regime* is still causal (filtered from bars up to it). A caller who
//! wants out-of-sample regimes fits on history ([`fit`](super::fit())) and tracks new bars
//! with the kept model ([`RegimeTracker`](super::RegimeTracker)), as the actor does live.

use super::emission::AXIS_STATES;
use super::error::RegimeError;
use super::fit::{fit, FitParams};
use super::hmm::STATES;
use super::hysteresis::HysteresisParams;
use super::model::{FitReport, RegimeModel};
use super::tracker::{track, BarRegime, Transition};
use serde::{Deserialize, Serialize};
use tradpal_messages::regime::{Trend, Vol};
use tradpal_messages::{Candle, Timeframe};

/// `POST /api/regime/classify` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyRequest {
    pub timeframe: Timeframe,
    /// Oldest first, at least `FIT_BARS_MIN`.
    pub candles: Vec<Candle>,
    #[serde(default)]
    pub fit: FitParams,
    #[serde(default)]
    pub hysteresis: HysteresisParams,
    /// Return every bar's regime too (large: one object per candle).
    #[serde(default)]
    pub include_bars: bool,
}

/// A fitted trend state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrendState {
    pub regime: Trend,
    /// Mean log return per bar in units of the bar's sigma.
    pub drift_sigmas: f64,
}

/// A fitted volatility state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VolatilityState {
    pub regime: Vol,
    /// Standard deviation of the log return per bar.
    pub sigma: f64,
}

/// What a fitted model says, for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub timeframe: Timeframe,
    pub trend_states: Vec<TrendState>,
    pub volatility_states: Vec<VolatilityState>,
    /// Expected bars between state changes (mean over states of `1 / leave probability`,
    /// weighted by occupancy).
    pub mean_regime_bars: f64,
    pub fit: FitReport,
}

impl ModelSummary {
    pub fn of(model: &RegimeModel) -> Self {
        let mean_regime_bars =
            (0..STATES).map(|k| model.chain.initial[k] / (1.0 - model.chain.transition[k][k]).max(f64::MIN_POSITIVE)).sum();
        Self {
            timeframe: model.timeframe,
            trend_states: (0..AXIS_STATES)
                .map(|i| TrendState { regime: model.trend_of_state[i], drift_sigmas: model.emission.drift_sigmas[i] })
                .collect(),
            volatility_states: (0..AXIS_STATES)
                .map(|j| VolatilityState { regime: model.volatility_of_state[j], sigma: model.emission.sigma[j] })
                .collect(),
            mean_regime_bars,
            fit: model.fit,
        }
    }
}

/// `POST /api/regime/classify` reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyResponse {
    pub timeframe: Timeframe,
    pub bars: usize,
    /// The regime after the last candle.
    pub current: BarRegime,
    /// Every change of the stable regime, the first bar's included.
    pub transitions: Vec<Transition>,
    pub model: ModelSummary,
    /// Every bar's regime, when asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub per_bar: Option<Vec<BarRegime>>,
}

/// Fits on the request's candles and classifies each of them (see the module doc).
pub fn classify(req: &ClassifyRequest) -> Result<ClassifyResponse, RegimeError> {
    req.hysteresis.check()?;
    let model = fit(&req.candles, req.timeframe, &req.fit)?;
    let tracked = track(&model, &req.candles, &req.hysteresis)?;
    let current = *tracked.bars.last().ok_or(RegimeError::Empty { what: "classify" })?;
    Ok(ClassifyResponse {
        timeframe: req.timeframe,
        bars: tracked.bars.len(),
        current,
        transitions: tracked.transitions,
        model: ModelSummary::of(&model),
        per_bar: req.include_bars.then_some(tracked.bars),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::synth::{generate, SynthParams};

    #[test]
    fn classify_from_json_to_json() {
        let s = generate(&SynthParams { bars: 2_000, seed: 4, timeframe: Timeframe::H1, mean_regime_bars: 300, ..SynthParams::default() })
            .unwrap();
        let body = serde_json::json!({ "timeframe": "1h", "candles": s.candles, "fit": { "iterations_max": 30 } });
        let req: ClassifyRequest = serde_json::from_value(body).unwrap();
        assert_eq!((req.fit.seed, req.fit.iterations_max, req.include_bars), (0, 30, false));
        assert_eq!(req.hysteresis, HysteresisParams::default());
        let resp = classify(&req).unwrap();
        assert_eq!((resp.bars, resp.current.bar, resp.current.open_time), (2_000, 1_999, s.candles[1_999].open_time));
        assert!(resp.transitions.len() >= 2 && resp.transitions[0].from.is_none());
        assert!(resp.per_bar.is_none());
        assert_eq!(resp.model.trend_states.len(), 3);
        assert!(resp.model.mean_regime_bars > 10.0, "{:?}", resp.model);
        let json = serde_json::to_value(&resp).unwrap();
        assert!(json["current"]["probs"]["trend"]["sideways"].is_number());
        assert!(json["current"]["trend"].is_string() && json.get("per_bar").is_none());
        let back: ClassifyResponse = serde_json::from_value(json).unwrap();
        assert_eq!(back.transitions, resp.transitions);

        let with_bars = classify(&ClassifyRequest { include_bars: true, ..req.clone() }).unwrap();
        assert_eq!(with_bars.per_bar.as_ref().map(Vec::len), Some(2_000));
        let short = ClassifyRequest { candles: s.candles[..37].to_vec(), ..req };
        assert_eq!(classify(&short).unwrap_err().to_string(), "need at least 120 bars of 1h data, got 37");
    }
}
