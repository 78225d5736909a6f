//! The emission model: a Gaussian on each bar's log return whose parameters are tied
//! across the 3 x 3 grid of hidden states. State `k = 3 i + j` (trend state `i`,
//! volatility state `j`) emits
//!
//! ```text
//! r ~ N(drift_i * sigma_j, sigma_j^2)
//! ```
//!
//! so a volatility state owns a scale `sigma_j` and a trend state owns a drift in units
//! of that scale (a per-bar Sharpe ratio, `drift_i`). Why this shape:
//!
//! - **Why tie.** Nine free means and variances would let the fit spend states on
//!   whatever splits the data best (say two high-vol states of slightly different drift)
//!   and leave no clean answer to "which states are bull?". Tying fixes the meaning of
//!   each axis: volatility states differ only in scale, trend states only in drift, and
//!   the mapping to names is a sort (see `model.rs`).
//! - **Why drift in sigma units.** A bull market of +2 bps a bar is a strong trend when
//!   bars move 10 bps and noise when they move 80. Measured against the bar's own scale
//!   the trend means the same in calm and wild regimes, at any timeframe.
//! - **Why the raw return, not the rolling features.** An HMM assumes the bars are
//!   independent given the state. Returns nearly are; rolling windows are not (bar `t`'s
//!   100-bar trend score shares 99 returns with bar `t-1`'s), so feeding them to the HMM
//!   counts each return up to 100 times: posteriors become overconfident (badly
//!   calibrated) and the hysteresis has to undo it. The rolling features seed the fit
//!   instead (`init.rs`).
//!
//! The M-step has a closed form per axis given the other (coordinate ascent, two rounds
//! per EM iteration; each round cannot lower the expected log-likelihood):
//! `drift_i = sum_j sum_t g_tij r_t / sigma_j / sum_j sum_t g_tij`, and `sigma_j` is the
//! positive root of `A s^2 + B s - C = 0` with `A = sum g`, `B = sum g drift_i r`,
//! `C = sum g r^2` (sums over `t` and `i`).

use super::hmm::{StateVec, STATES};
use serde::{Deserialize, Serialize};

/// Trend states (and volatility states) in the hidden grid.
pub const AXIS_STATES: usize = 3;
/// Smallest scale a volatility state may take, relative to the series' own return RMS:
/// keeps a state from collapsing onto a run of identical prices (zero variance, infinite
/// likelihood).
pub const SIGMA_FLOOR_RATIO: f64 = 1e-3;
/// Absolute floor of a state's scale (log return per bar), for a series that never moves.
pub const SIGMA_FLOOR_ABS: f64 = 1e-12;

/// Tied Gaussian emission parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Emission {
    /// Per trend state: mean log return in units of the volatility state's sigma.
    pub drift_sigmas: [f64; AXIS_STATES],
    /// Per volatility state: standard deviation of the log return per bar.
    pub sigma: [f64; AXIS_STATES],
}

/// Sufficient statistics of the log returns, weighted by state posteriors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub weight: StateVec,
    pub sum: StateVec,
    pub sum_sq: StateVec,
}

impl Stats {
    pub fn add(&mut self, posterior: &StateVec, r: f64) {
        for (k, g) in posterior.iter().enumerate() {
            self.weight[k] += g;
            self.sum[k] += g * r;
            self.sum_sq[k] += g * r * r;
        }
    }
}

const LN_SQRT_TAU: f64 = 0.918_938_533_204_672_8;

impl Emission {
    /// Log-likelihood of return `r` under every state.
    pub fn log_likelihood(&self, r: f64) -> StateVec {
        let mut out = [0.0; STATES];
        for j in 0..AXIS_STATES {
            let s = self.sigma[j];
            let z0 = r / s;
            let norm = -s.ln() - LN_SQRT_TAU;
            for i in 0..AXIS_STATES {
                let z = z0 - self.drift_sigmas[i];
                out[i * AXIS_STATES + j] = norm - 0.5 * z * z;
            }
        }
        out
    }

    /// The M-step: parameters maximising the expected log-likelihood given `stats`,
    /// starting the coordinate ascent from `self`. `floor` is the smallest sigma allowed.
    /// A state with no weight keeps its old parameters.
    pub fn m_step(&self, stats: &Stats, floor: f64) -> Emission {
        let mut e = *self;
        for _ in 0..2 {
            for i in 0..AXIS_STATES {
                let (mut num, mut den) = (0.0, 0.0);
                for j in 0..AXIS_STATES {
                    let k = i * AXIS_STATES + j;
                    num += stats.sum[k] / e.sigma[j];
                    den += stats.weight[k];
                }
                if den > 0.0 && num.is_finite() {
                    e.drift_sigmas[i] = num / den;
                }
            }
            for j in 0..AXIS_STATES {
                let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
                for i in 0..AXIS_STATES {
                    let k = i * AXIS_STATES + j;
                    a += stats.weight[k];
                    b += e.drift_sigmas[i] * stats.sum[k];
                    c += stats.sum_sq[k];
                }
                let s = (-b + (b * b + 4.0 * a * c).sqrt()) / (2.0 * a);
                if a > 0.0 && s.is_finite() {
                    e.sigma[j] = s.max(floor);
                }
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m_step_recovers_known_parameters_from_labelled_data() {
        // Hard (one-hot) posteriors on data drawn from known states: the M-step is then
        // the maximum-likelihood estimate, which must sit near the truth.
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let truth = Emission { drift_sigmas: [0.3, -0.3, 0.0], sigma: [0.001, 0.003, 0.008] };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let z = Normal::new(0.0, 1.0).unwrap();
        let mut stats = Stats::default();
        for n in 0..90_000 {
            let k = n % STATES;
            let (i, j) = (k / AXIS_STATES, k % AXIS_STATES);
            let r = truth.sigma[j] * (truth.drift_sigmas[i] + z.sample(&mut rng));
            let mut g = [0.0; STATES];
            g[k] = 1.0;
            stats.add(&g, r);
        }
        let start = Emission { drift_sigmas: [0.1, -0.1, 0.05], sigma: [0.002, 0.002, 0.002] };
        let mut e = start;
        for _ in 0..20 {
            e = e.m_step(&stats, 1e-12);
        }
        for i in 0..3 {
            assert!((e.drift_sigmas[i] - truth.drift_sigmas[i]).abs() < 0.03, "{e:?}");
            assert!((e.sigma[i] / truth.sigma[i] - 1.0).abs() < 0.02, "{e:?}");
        }
        let ll = e.log_likelihood(0.0005);
        assert!(ll.iter().all(|v| v.is_finite()));
        // At +0.5 sigma_low, the bull-low state is the likeliest.
        let best = (0..STATES).fold(0, |b, k| if ll[k] > ll[b] { k } else { b });
        assert_eq!(best, 0);
    }

    #[test]
    fn empty_states_and_flat_data_stay_finite() {
        let e = Emission { drift_sigmas: [0.1, -0.1, 0.0], sigma: [1e-3, 2e-3, 3e-3] };
        assert_eq!(e.m_step(&Stats::default(), 1e-12), e);
        let mut flat = Stats::default();
        for _ in 0..100 {
            flat.add(&[1.0 / 9.0; STATES], 0.0);
        }
        let f = e.m_step(&flat, 1e-9);
        assert!(f.sigma.iter().all(|s| *s == 1e-9), "{f:?}");
        assert!(f.log_likelihood(0.0).iter().all(|v| v.is_finite()));
    }
}
