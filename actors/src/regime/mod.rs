//! Market regimes, the pure core: which trend (bull, bear, sideways) and which volatility
//! (low, normal, high) a market is in, with a probability for each, a stable regime that
//! does not flicker, a combined view over timeframes, and the tools to check all of it
//! against known labels.
//!
//! Deterministic and synchronous: no tokio, no clock, no I/O; the only randomness is the
//! fit's k-means++ start, drawn from a ChaCha8 stream of a caller-given seed. Bad input
//! never panics; it becomes a [`RegimeError`] that says what is wrong.
//!
//! # How it works
//!
//! candles -> per-bar features (causal) -> a 9-state Gaussian HMM (3 trend x 3 volatility
//! states, emission tied so trend = drift in sigmas and volatility = sigma) fitted by
//! Baum-Welch on a training window -> one forward-filter step per bar (probabilities from
//! bars up to that one) -> hysteresis per axis -> a stable regime and its transitions.
//! When the fit finds no real per-bar trend states (every real market in `testdata/`),
//! the model's [`Detector`] is `Window` and the probabilities come from two scale-free
//! window measures instead (`window.rs`): trend = the 100-bar drift t-statistic,
//! volatility = realised vol against its own last 1,000 bars.
//! Several timeframes combine by a weighted pool. The actor should journal the fitted
//! [`RegimeModel`] (it is serde) rather than refit on replay: a fit on other history is
//! another model, and replays must reproduce decisions exactly.
//!
//! # Layout
//!
//! - `actor.rs`: the thin actor: fits per symbol and timeframe on stored bars, caches,
//!   combines, journals `RegimeChanged` on a change of either axis; history (both labels,
//!   per timeframe, counted back from the last stored bar) from the journaled changes.
//! - `error.rs`: [`RegimeError`].
//! - `axis.rs`: [`Axis`] (trend and volatility as one notion) and [`AxisProbs`], a
//!   probability per regime that serialises as `{"bull": .., "bear": .., "sideways": ..}`.
//! - `features.rs`: per-bar features, causal ([`FeatureExtractor`], [`features()`]),
//!   including the window detector's two scores (`trend_score`, `vol_score`).
//! - `window.rs`: the window detector: calibrated softmax probabilities of the two scores.
//! - `hmm.rs`: the 9-state Markov chain; scaled forward filtering and forward-backward.
//! - `emission.rs`: the tied Gaussian emission (trend = drift in sigmas, volatility = sigma).
//! - `init.rs`: seeded k-means++ start of the fit.
//! - `fit.rs`: Baum-Welch ([`fit()`], [`FitParams`]).
//! - `model.rs`: [`RegimeModel`], how fitted states get their names and which
//!   [`Detector`] classifies; [`RegimeProbs`].
//! - `filter.rs`: [`RegimeFilter`], forward filtering or the window detector per bar
//!   (classification uses data up to `t`).
//! - `hysteresis.rs`: [`Hysteresis`], [`HysteresisParams`]: switch only on a clear lead held.
//! - `tracker.rs`: [`RegimeTracker`] (one candle at a time -> [`Transition`]) and [`track`]
//!   (the same over a series).
//! - `timeframes.rs`: [`combine`], the weighted multi-timeframe view.
//! - `calibration.rs`: [`calibration_table`] and [`expected_calibration_error`].
//! - `evaluate.rs`: [`evaluate()`]: accuracy, precision/recall, confusion, delay, false switches.
//! - `labels.rs`: the `timestamp,trend,volatility` label CSV ([`parse_labels_csv`]).
//! - `sanity.rs`: the unlabelled check for real data (`sanity::sanity`): shares, trailing
//!   and forward returns per trend, realised vol per volatility, switches, verdict.
//! - `api.rs`: serde request/response shapes and [`classify`] for the actor and HTTP.
//! - `evaluation_tests.rs` (tests only): accuracy, delay, false switches and calibration
//!   on held-out synthetic data; the full sweep is `#[ignore]`d (run it in release).
//! - `robustness_tests.rs` (tests only): property tests that no input panics and that bad
//!   candles are refused by bar and problem.

pub mod actor;
pub mod api;
pub mod axis;
pub mod calibration;
pub mod emission;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod filter;
pub mod fit;
pub mod hmm;
pub mod hysteresis;
pub mod init;
pub mod labels;
pub mod model;
pub mod sanity;
pub mod timeframes;
pub mod tracker;
pub mod window;

#[cfg(test)]
mod evaluation_tests;
#[cfg(test)]
mod robustness_tests;

pub use api::{classify, ClassifyRequest, ClassifyResponse, ModelSummary};
pub use axis::{Axis, AxisProbs, TrendProbs, VolProbs};
pub use calibration::{calibrate, calibration_table, expected_calibration_error, top_label, Bin, Calibration};
pub use error::RegimeError;
pub use evaluate::{evaluate, evaluate_with, DelayStats, EvalParams, Evaluation, RegimeScore};
pub use features::{features, BarFeatures, FeatureExtractor};
pub use filter::RegimeFilter;
pub use fit::{fit, fit_features, FitParams};
pub use hysteresis::{Hysteresis, HysteresisParams};
pub use labels::{labels_for, parse_labels_csv, LabeledBar};
pub use model::{Detector, FitReport, RegimeModel, RegimeProbs};
pub use timeframes::{combine, CombinedRegime, TimeframeProbs, TimeframeWeights};
pub use tracker::{track, BarRegime, RegimeTracker, Tracked, Transition};
pub use tradpal_messages::regime::{RegimeLabel, Trend, Vol};
