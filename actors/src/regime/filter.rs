//! [`RegimeFilter`]: the causal half of classification. One forward step of the HMM per
//! bar, so the probabilities at bar `t` come from bars `0..=t` only (filtering, never
//! smoothing: a smoothed posterior would use later bars and look better than anything a
//! live system can have). O(states^2) = 81 multiply-adds a bar, no allocation. A model
//! whose detector is [`Detector::Window`] reads the bar's window scores instead.

use super::features::BarFeatures;
use super::hmm::{Likelihood, StateVec};
use super::model::{Detector, RegimeModel, RegimeProbs};
use super::window::window_probs;

/// Forward filter over a fitted model.
#[derive(Debug, Clone)]
pub struct RegimeFilter {
    model: RegimeModel,
    posterior: Option<StateVec>,
}

impl RegimeFilter {
    /// Starts at the model's initial distribution (its mean state occupancy).
    pub fn new(model: RegimeModel) -> Self {
        Self { model, posterior: None }
    }

    pub fn model(&self) -> &RegimeModel {
        &self.model
    }

    /// The hidden-state posterior after the last bar (`None` before the first).
    pub fn posterior(&self) -> Option<&StateVec> {
        self.posterior.as_ref()
    }

    /// Feeds one bar's features; returns the regime probabilities given bars so far
    /// (from the HMM or the window measures, as the model's [`Detector`] says).
    pub fn step(&mut self, f: &BarFeatures) -> RegimeProbs {
        if self.model.detector == Detector::Window {
            return window_probs(f);
        }
        let lik = Likelihood::from_log(&self.model.emission.log_likelihood(f.log_return));
        let (post, _) = self.model.chain.filter_step(self.posterior.as_ref(), &lik);
        self.posterior = Some(post);
        self.model.probs(&post)
    }
}
