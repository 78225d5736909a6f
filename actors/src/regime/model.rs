//! [`RegimeModel`]: a fitted HMM with its states named, and [`RegimeProbs`], what it says
//! about one bar.
//!
//! # From states to names
//!
//! After fitting, the states are put in a canonical order and named from their fitted
//! parameters alone (never from labels):
//!
//! - **Volatility**: the three volatility states sorted by their return sigma: smallest
//!   `low`, middle `normal`, largest `high`. Volatility is relative to the window the model
//!   was fitted on (a calm month's "high" can be a wild month's "low").
//! - **Trend**: the three trend states sorted by their drift (mean return per bar, in
//!   units of the state's sigma). The highest is `bull` and the lowest `bear`, each only
//!   if its drift clears [`TREND_DRIFT_MIN_SIGMAS`] in its direction; the middle one, and
//!   an extreme one that does not clear it, are `sideways`. So a window with no falling
//!   market does not invent a bear state: its lowest state maps to sideways.
//!
//! A regime's probability is the sum of the posteriors of the states named so: the trend
//! probabilities sum over volatility states, and the other way round. Several states may
//! share a name; the probabilities still sum to 1.
//!
//! # Which detector classifies
//!
//! The fitted switching model classifies only when its trend states are real: a `bull`
//! and a `bear` state were named, and each one's drift, accumulated over the chain's
//! mean trend run (`drift * sqrt(run)`, a t-statistic of one regime), reaches
//! [`TREND_REGIME_T_MIN`]. Then trends show bar by bar and the HMM filter is the best
//! detector there is (the synthetic data: 0.2 sigma over ~670-bar runs, t ~ 5). Otherwise
//! ([`Detector::Window`]; every real file in `testdata/`, whose fits name no bear state
//! and flip every 5-15 bars) the window detector (`window.rs`) classifies both axes.

use super::axis::{Axis, TrendProbs, VolProbs, AXIS_REGIMES};
use super::emission::{Emission, AXIS_STATES};
use super::error::RegimeError;
use super::hmm::{Chain, StateVec, STATES};
use serde::{Deserialize, Serialize};
use tradpal_messages::regime::{RegimeLabel, Trend, Vol};
use tradpal_messages::Timeframe;

/// Least drift (in sigmas per bar) for the top (bottom) trend state to be called bull
/// (bear). 0.02 sigma a bar is a t-statistic of 0.45 over a 500-bar regime: not a trend
/// anyone could trade.
pub const TREND_DRIFT_MIN_SIGMAS: f64 = 0.02;
/// Least t-statistic of a fitted trend regime (`|drift| * sqrt(mean trend run)`) for the
/// switching model to classify (module doc).
pub const TREND_REGIME_T_MIN: f64 = 3.0;
/// Largest factor [`RegimeModel::with_switch_rate`] accepts.
pub const SWITCH_RATE_FACTOR_MAX: f64 = 100.0;

/// How a fit went (reported with the model; not used to classify).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Bars the model was fitted on.
    pub bars: usize,
    /// Baum-Welch iterations run (of the best restart).
    pub iterations: usize,
    /// Whether the log-likelihood gain fell below the tolerance before the iteration cap.
    pub converged: bool,
    /// Log-likelihood of the training bars at the final E-step.
    pub log_likelihood: f64,
    pub seed: u64,
    pub restarts: usize,
}

/// Which detector turns a bar into regime probabilities (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// The fitted HMM's forward filter. The default: models journaled or pinned before
    /// the window detector existed were all of this kind, and replay them unchanged.
    #[default]
    Switching,
    /// The window measures (`window.rs`).
    Window,
}

/// A fitted regime model: chain, emission, and the name of every state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeModel {
    pub timeframe: Timeframe,
    pub chain: Chain,
    pub emission: Emission,
    /// Name of each trend state `i` (hidden state `k` has trend state `k / 3`).
    pub trend_of_state: [Trend; AXIS_STATES],
    /// Name of each volatility state `j` (hidden state `k` has volatility state `k % 3`).
    pub volatility_of_state: [Vol; AXIS_STATES],
    pub fit: FitReport,
    /// Which detector classifies (absent in models saved before it existed: switching).
    #[serde(default)]
    pub detector: Detector,
}

/// The regime probabilities of one bar (filtered: from data up to that bar).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct RegimeProbs {
    pub trend: TrendProbs,
    pub volatility: VolProbs,
    /// Joint probability of each (trend, volatility) label, in [`RegimeLabel::ALL`] order
    /// (trend-major); not serialised (the two marginals are what callers read).
    #[serde(skip)]
    pub joint: [f64; 9],
}

impl RegimeProbs {
    /// Probability of `label` (both axes at once).
    pub fn of(&self, label: RegimeLabel) -> f64 {
        self.joint[label.trend.index() * AXIS_REGIMES + label.volatility.index()]
    }
}

impl RegimeModel {
    /// Puts the states in canonical order (trend: highest, lowest, middle drift, matching
    /// bull, bear, sideways; volatility: ascending sigma) and names them (module doc).
    pub(crate) fn canonical(timeframe: Timeframe, chain: &Chain, emission: &Emission, fit: FitReport) -> Self {
        let mut by_drift = [0, 1, 2];
        by_drift.sort_by(|a, b| emission.drift_sigmas[*b].total_cmp(&emission.drift_sigmas[*a]));
        let trend_perm = [by_drift[0], by_drift[2], by_drift[1]];
        let mut vol_perm = [0, 1, 2];
        vol_perm.sort_by(|a, b| emission.sigma[*a].total_cmp(&emission.sigma[*b]));
        let old = |k: usize| trend_perm[k / AXIS_STATES] * AXIS_STATES + vol_perm[k % AXIS_STATES];

        let mut out = Chain { initial: [0.0; STATES], transition: [[0.0; STATES]; STATES] };
        for k in 0..STATES {
            out.initial[k] = chain.initial[old(k)];
            for l in 0..STATES {
                out.transition[k][l] = chain.transition[old(k)][old(l)];
            }
        }
        let emission = Emission { drift_sigmas: trend_perm.map(|i| emission.drift_sigmas[i]), sigma: vol_perm.map(|j| emission.sigma[j]) };
        let d = emission.drift_sigmas;
        let trend_of_state = [
            if d[0] > TREND_DRIFT_MIN_SIGMAS { Trend::Bull } else { Trend::Sideways },
            if d[1] < -TREND_DRIFT_MIN_SIGMAS { Trend::Bear } else { Trend::Sideways },
            Trend::Sideways,
        ];
        let mut model =
            Self { timeframe, chain: out, emission, trend_of_state, volatility_of_state: Vol::ALL, fit, detector: Detector::Switching };
        model.detector = model.identified_detector();
        model
    }

    /// Expected bars between changes of the trend state (`1 / P(trend changes)` under
    /// the chain's mean occupancy), `inf` for a chain that never changes trend.
    pub fn mean_trend_run_bars(&self) -> f64 {
        let change: f64 = (0..STATES)
            .map(|k| {
                let leave: f64 = (0..STATES).filter(|l| l / AXIS_STATES != k / AXIS_STATES).map(|l| self.chain.transition[k][l]).sum();
                self.chain.initial[k] * leave
            })
            .sum();
        if change > 0.0 {
            1.0 / change
        } else {
            f64::INFINITY
        }
    }

    /// [`Detector::Switching`] when the fitted trend states are real (module doc).
    fn identified_detector(&self) -> Detector {
        let run = self.mean_trend_run_bars().min(1e12);
        let t = |i: usize| self.emission.drift_sigmas[i].abs() * run.sqrt();
        let named = self.trend_of_state[0] == Trend::Bull && self.trend_of_state[1] == Trend::Bear;
        if named && t(0) >= TREND_REGIME_T_MIN && t(1) >= TREND_REGIME_T_MIN {
            Detector::Switching
        } else {
            Detector::Window
        }
    }

    /// Regime probabilities from a posterior over the hidden states.
    pub fn probs(&self, posterior: &StateVec) -> RegimeProbs {
        let (mut trend, mut vol, mut joint) = ([0.0; AXIS_REGIMES], [0.0; AXIS_REGIMES], [0.0; 9]);
        for (k, p) in posterior.iter().enumerate() {
            let t = self.trend_of_state[k / AXIS_STATES].index();
            let v = self.volatility_of_state[k % AXIS_STATES].index();
            trend[t] += p;
            vol[v] += p;
            joint[t * AXIS_REGIMES + v] += p;
        }
        // A sum of normalised terms can land one ulp above 1 (0.365.. + 0.578.. + 0.056..
        // = 1.0000000000000002); a probability is reported inside [0, 1].
        let unit = |x: f64| x.clamp(0.0, 1.0);
        RegimeProbs { trend: TrendProbs::new(trend.map(unit)), volatility: VolProbs::new(vol.map(unit)), joint: joint.map(unit) }
    }

    /// The same model with every state's leave probability multiplied by `factor`
    /// (`1..=SWITCH_RATE_FACTOR_MAX`, capped so no state is left with certainty): a filter
    /// that expects switches more often reacts faster to one, and is wrong more often in
    /// between. The fitted rate (`factor` 1) is the most accurate; see the module doc of
    /// `evaluation_tests.rs` for the measured trade-off.
    pub fn with_switch_rate(&self, factor: f64) -> Result<RegimeModel, RegimeError> {
        if !(1.0..=SWITCH_RATE_FACTOR_MAX).contains(&factor) {
            return Err(RegimeError::InvalidParam { name: "switch_rate_factor", value: factor.to_string(), expected: "[1, 100]" });
        }
        let mut m = self.clone();
        for (k, row) in m.chain.transition.iter_mut().enumerate() {
            let leave = 1.0 - row[k];
            if leave <= 0.0 {
                continue;
            }
            let scaled = (leave * factor).min(1.0);
            for (l, a) in row.iter_mut().enumerate() {
                *a = if l == k { 1.0 - scaled } else { *a * scaled / leave };
            }
        }
        Ok(m)
    }

    /// Checks a model that came from outside (a journal, a request): every probability
    /// finite and non-negative, rows summing to 1, every sigma positive and finite.
    pub fn check(&self) -> Result<(), ModelCheckError> {
        let dist = |v: &StateVec| v.iter().all(|x| x.is_finite() && *x >= 0.0) && (v.iter().sum::<f64>() - 1.0).abs() < 1e-6;
        if !dist(&self.chain.initial) {
            return Err(ModelCheckError::Initial(self.chain.initial));
        }
        if let Some(k) = (0..STATES).find(|k| !dist(&self.chain.transition[*k])) {
            return Err(ModelCheckError::TransitionRow { row: k, probabilities: self.chain.transition[k] });
        }
        if !self.emission.sigma.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err(ModelCheckError::Sigmas(self.emission.sigma.to_vec()));
        }
        if !self.emission.drift_sigmas.iter().all(|d| d.is_finite()) {
            return Err(ModelCheckError::Drifts(self.emission.drift_sigmas.to_vec()));
        }
        Ok(())
    }
}

/// What is wrong with a model that came from outside ([`RegimeModel::check`]); wrapped
/// as `RegimeError::BadModel` (its text after `model: `).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelCheckError {
    #[error("initial distribution {0:?} is not a probability vector")]
    Initial(StateVec),
    #[error("transition row {row} {probabilities:?} is not a probability vector")]
    TransitionRow { row: usize, probabilities: StateVec },
    #[error("sigmas {0:?} must be finite and > 0")]
    Sigmas(Vec<f64>),
    #[error("drifts {0:?} must be finite")]
    Drifts(Vec<f64>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> FitReport {
        FitReport { bars: 0, iterations: 0, converged: true, log_likelihood: 0.0, seed: 0, restarts: 1 }
    }

    #[test]
    fn states_are_named_by_sorted_drift_and_sigma() {
        // Fitted order scrambled: trend states (0.01, 0.3, -0.25), sigmas (3, 1, 2).
        let mut chain = Chain::sticky(0.01);
        chain.initial = std::array::from_fn(|k| k as f64 / 36.0);
        let e = Emission { drift_sigmas: [0.01, 0.3, -0.25], sigma: [3.0, 1.0, 2.0] };
        let m = RegimeModel::canonical(Timeframe::H1, &chain, &e, report());
        assert_eq!(m.emission.drift_sigmas, [0.3, -0.25, 0.01]);
        assert_eq!(m.emission.sigma, [1.0, 2.0, 3.0]);
        assert_eq!(m.trend_of_state, [Trend::Bull, Trend::Bear, Trend::Sideways]);
        // New state 0 = (old trend 1, old vol 1) = old state 4.
        assert_eq!(m.chain.initial[0], 4.0 / 36.0);
        m.check().unwrap();
        // No falling state: the lowest maps to sideways; probabilities still sum to 1.
        let e = Emission { drift_sigmas: [0.0, 0.3, 0.01], sigma: [1.0, 2.0, 3.0] };
        let m = RegimeModel::canonical(Timeframe::H1, &chain, &e, report());
        assert_eq!(m.trend_of_state, [Trend::Bull, Trend::Sideways, Trend::Sideways]);
        let p = m.probs(&[1.0 / 9.0; STATES]);
        assert!((p.trend.get(Trend::Bull) - 1.0 / 3.0).abs() < 1e-12 && p.trend.get(Trend::Bear) == 0.0);
        assert!((p.joint.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((p.of(RegimeLabel { trend: Trend::Sideways, volatility: Vol::High }) - 2.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn summed_probabilities_never_exceed_one() {
        // Found by CI's proptest run: three normalised posteriors mapped to one label
        // summed to 1.0000000000000002, and a confidence outside [0, 1] was reported.
        let e = Emission { drift_sigmas: [0.0, 0.3, 0.01], sigma: [1.0, 2.0, 3.0] };
        let m = RegimeModel::canonical(Timeframe::H1, &Chain::sticky(0.01), &e, report());
        let raw = [0.5014295859466933, 0.794983493746024, 0.0771069862639161];
        let sum: f64 = raw.iter().sum();
        let mut post = [0.0; STATES];
        for (v, r) in raw.iter().enumerate() {
            post[AXIS_STATES + v] = r / sum; // one sideways trend state, three vol states
        }
        assert!(post.iter().sum::<f64>() > 1.0, "the input must reproduce the rounding");
        let p = m.probs(&post);
        for x in p.trend.p.iter().chain(&p.volatility.p).chain(&p.joint) {
            assert!((0.0..=1.0).contains(x), "{x}");
        }
        assert_eq!(p.trend.get(Trend::Sideways), 1.0);
    }

    #[test]
    fn detector_is_chosen_from_the_fit_and_old_models_load_as_switching() {
        // Synthetic-like: +-0.2 sigma drifts over ~670-bar trend runs (t ~ 5): switching.
        let strong = Emission { drift_sigmas: [0.2, -0.2, 0.0], sigma: [1.0, 2.0, 3.0] };
        let m = RegimeModel::canonical(Timeframe::M1, &Chain::sticky(1.0 / 500.0), &strong, report());
        assert!(m.mean_trend_run_bars() > 600.0 && m.mean_trend_run_bars() < 700.0, "{}", m.mean_trend_run_bars());
        assert_eq!(m.detector, Detector::Switching);
        // The same drifts in a chain that flips every 10 bars (t ~ 0.7): window.
        let fast = RegimeModel::canonical(Timeframe::M1, &Chain::sticky(0.1), &strong, report());
        assert_eq!(fast.detector, Detector::Window);
        // No bear state named (as on btcperp-1m: 0.022, -0.006, 0.013 sigma): window.
        let real = Emission { drift_sigmas: [0.022, -0.006, 0.013], sigma: [1.0, 2.0, 3.0] };
        assert_eq!(RegimeModel::canonical(Timeframe::M1, &Chain::sticky(1e-4), &real, report()).detector, Detector::Window);
        // A model saved before `detector` existed (an ensemble pin) loads as the switching
        // model it was, and the field round-trips.
        let mut json = serde_json::to_value(&fast).unwrap();
        assert_eq!(json["detector"], "window");
        json.as_object_mut().unwrap().remove("detector");
        let old: RegimeModel = serde_json::from_value(json).unwrap();
        assert_eq!(old.detector, Detector::Switching);
        assert_eq!(serde_json::from_str::<RegimeModel>(&serde_json::to_string(&fast).unwrap()).unwrap(), fast);
    }

    #[test]
    fn switch_rate_scales_leaving_and_keeps_rows_stochastic() {
        let m = RegimeModel::canonical(
            Timeframe::M1,
            &Chain::sticky(0.01),
            &Emission { drift_sigmas: [0.2, -0.2, 0.0], sigma: [1.0, 2.0, 3.0] },
            report(),
        );
        let f = m.with_switch_rate(3.0).unwrap();
        for k in 0..STATES {
            assert!((1.0 - f.chain.transition[k][k] - 0.03).abs() < 1e-12);
            assert!((f.chain.transition[k].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        assert_eq!(m.with_switch_rate(1.0).unwrap(), m);
        let huge = m.with_switch_rate(100.0).unwrap();
        huge.check().unwrap();
        for bad in [0.5, f64::NAN, 101.0] {
            assert!(m.with_switch_rate(bad).is_err());
        }
    }
}
