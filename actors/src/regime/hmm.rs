//! The hidden Markov chain: scaled forward filtering (one bar at a time, for
//! classification) and scaled forward-backward (for Baum-Welch).
//!
//! The model has [`STATES`] = 3 trend states x 3 volatility states; state `k` is trend
//! state `k / 3`, volatility state `k % 3` (see `emission.rs`). Fixed-size arrays keep a
//! filter step at 81 multiply-adds and allocation-free.
//!
//! Underflow: a likelihood of a 1m return can be 1e-300 under a wrong state, and a
//! product over 100k bars underflows any float. So emission log-likelihoods are shifted by
//! their per-bar maximum before `exp` (the best state gets 1, none gets NaN), and the
//! forward vector is renormalised every bar (Rabiner's scaling): `alpha_t` is
//! `P(state_t | data_0..=t)`, `c_t` the normaliser, and `ln P(data) = sum(ln c_t + max_t)`.
//! The backward pass reuses the same `c_t`, so `alpha_t * beta_t` is the smoothed
//! posterior without renormalisation (we renormalise anyway, against rounding).

use serde::{Deserialize, Serialize};

/// Hidden states: trend states x volatility states.
pub const STATES: usize = 9;

/// A probability vector over the hidden states.
pub type StateVec = [f64; STATES];

/// Initial distribution and transition matrix (`transition[from][to]`, rows sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    pub initial: StateVec,
    pub transition: [StateVec; STATES],
}

/// Per-bar emission likelihoods, shifted: `scaled[k] = exp(ll[k] - max)`, `shift = max`.
#[derive(Debug, Clone, Copy)]
pub struct Likelihood {
    pub scaled: StateVec,
    pub shift: f64,
}

impl Likelihood {
    /// From log-likelihoods; non-finite entries count as impossible (0), and if no state
    /// is finite every state is equally (un)likely, so the bar carries no evidence.
    pub fn from_log(ll: &StateVec) -> Self {
        let max = ll.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
        if max == f64::NEG_INFINITY {
            return Self { scaled: [1.0; STATES], shift: 0.0 };
        }
        let mut scaled = [0.0; STATES];
        for (s, l) in scaled.iter_mut().zip(ll) {
            *s = if l.is_finite() { (l - max).exp() } else { 0.0 };
        }
        Self { scaled, shift: max }
    }
}

/// Normalises `v` in place; returns the sum, or `None` (leaving `v` untouched) when the
/// sum is not a positive finite number.
fn normalise(v: &mut StateVec) -> Option<f64> {
    let sum: f64 = v.iter().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= sum);
    Some(sum)
}

impl Chain {
    /// A sticky chain: stay with `1 - leave`, leave to each other state equally.
    pub fn sticky(leave: f64) -> Self {
        let mut transition = [[leave / (STATES - 1) as f64; STATES]; STATES];
        for (k, row) in transition.iter_mut().enumerate() {
            row[k] = 1.0 - leave;
        }
        Self { initial: [1.0 / STATES as f64; STATES], transition }
    }

    /// The prior for the next bar: `prev * transition`.
    pub fn predict(&self, prev: &StateVec) -> StateVec {
        let mut out = [0.0; STATES];
        for (p, row) in prev.iter().zip(&self.transition) {
            for (o, a) in out.iter_mut().zip(row) {
                *o += p * a;
            }
        }
        out
    }

    /// One filtering step: the posterior of this bar from the previous bar's posterior
    /// (`None` at the first bar: the initial distribution) and this bar's likelihood;
    /// returns it with `ln c_t` (this bar's log evidence, less the shift). Where the
    /// evidence is impossible under the prior (a corrupt model), restarts from the
    /// likelihood alone rather than produce NaN.
    pub fn filter_step(&self, prev: Option<&StateVec>, lik: &Likelihood) -> (StateVec, f64) {
        let prior = match prev {
            Some(p) => self.predict(p),
            None => self.initial,
        };
        let mut post = [0.0; STATES];
        for ((o, p), l) in post.iter_mut().zip(&prior).zip(&lik.scaled) {
            *o = p * l;
        }
        if let Some(c) = normalise(&mut post) {
            return (post, c.ln());
        }
        let mut post = lik.scaled;
        match normalise(&mut post) {
            Some(_) => (post, f64::MIN_POSITIVE.ln()),
            None => ([1.0 / STATES as f64; STATES], f64::MIN_POSITIVE.ln()),
        }
    }

    /// Forward-backward over a whole series. Returns the log-likelihood and the expected
    /// transition counts `xi[from][to]`; on return `posteriors[t]` holds the smoothed
    /// `P(state_t | all data)` (the buffer is reused across calls to save allocations).
    pub fn forward_backward(&self, lik: &[Likelihood], posteriors: &mut Vec<StateVec>) -> (f64, [StateVec; STATES]) {
        posteriors.clear();
        let mut scale = Vec::with_capacity(lik.len());
        let mut log_likelihood = 0.0;
        for (t, l) in lik.iter().enumerate() {
            let (alpha, ln_c) = self.filter_step(if t == 0 { None } else { posteriors.last() }, l);
            posteriors.push(alpha);
            scale.push(ln_c.exp());
            log_likelihood += ln_c + l.shift;
        }
        let mut xi = [[0.0; STATES]; STATES];
        let mut beta = [1.0; STATES];
        for t in (0..lik.len().saturating_sub(1)).rev() {
            let mut w = [0.0; STATES];
            for k in 0..STATES {
                w[k] = lik[t + 1].scaled[k] * beta[k] / scale[t + 1];
            }
            let alpha = posteriors[t];
            let mut next_beta = [0.0; STATES];
            for l in 0..STATES {
                let row = &self.transition[l];
                let mut b = 0.0;
                for k in 0..STATES {
                    let term = row[k] * w[k];
                    xi[l][k] += alpha[l] * term;
                    b += term;
                }
                next_beta[l] = b;
            }
            smooth(&mut posteriors[t + 1], &beta);
            beta = next_beta;
        }
        if let Some(first) = posteriors.first_mut() {
            smooth(first, &beta);
        }
        (log_likelihood, xi)
    }
}

/// `alpha * beta`, renormalised (left as `alpha` if that fails).
fn smooth(alpha: &mut StateVec, beta: &StateVec) {
    let mut g = [0.0; STATES];
    for k in 0..STATES {
        g[k] = alpha[k] * beta[k];
    }
    if normalise(&mut g).is_some() {
        *alpha = g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lik(ll: StateVec) -> Likelihood {
        Likelihood::from_log(&ll)
    }

    /// Brute force: sum over all paths of a short series.
    fn brute_force(chain: &Chain, ll: &[StateVec]) -> (f64, Vec<StateVec>) {
        let n = ll.len();
        let mut total = 0.0;
        let mut marg = vec![[0.0; STATES]; n];
        let paths = STATES.pow(n as u32);
        for code in 0..paths {
            let path: Vec<usize> = (0..n).map(|t| code / STATES.pow(t as u32) % STATES).collect();
            let mut p = chain.initial[path[0]] * ll[0][path[0]].exp();
            for t in 1..n {
                p *= chain.transition[path[t - 1]][path[t]] * ll[t][path[t]].exp();
            }
            total += p;
            for t in 0..n {
                marg[t][path[t]] += p;
            }
        }
        for m in &mut marg {
            m.iter_mut().for_each(|x| *x /= total);
        }
        (total.ln(), marg)
    }

    #[test]
    fn forward_backward_matches_brute_force() {
        let mut chain = Chain::sticky(0.3);
        chain.transition[2][5] += 0.1;
        chain.transition[2][2] -= 0.1;
        let ll: Vec<StateVec> = (0..3).map(|t| std::array::from_fn(|k| -((k as f64 - 2.0 * t as f64).powi(2)) * 0.3 - 1.0)).collect();
        let (want_ll, want) = brute_force(&chain, &ll);
        let liks: Vec<Likelihood> = ll.iter().map(|l| lik(*l)).collect();
        let mut post = Vec::new();
        let (got_ll, xi) = chain.forward_backward(&liks, &mut post);
        assert!((got_ll - want_ll).abs() < 1e-9, "{got_ll} vs {want_ll}");
        for (g, w) in post.iter().zip(&want) {
            for k in 0..STATES {
                assert!((g[k] - w[k]).abs() < 1e-9);
            }
        }
        // Expected transitions: n - 1 of them in all.
        let total: f64 = xi.iter().flatten().sum();
        assert!((total - 2.0).abs() < 1e-9);
    }

    #[test]
    fn no_underflow_on_long_series_of_extreme_likelihoods() {
        let chain = Chain::sticky(0.01);
        let liks: Vec<Likelihood> =
            (0..20_000).map(|t| lik(std::array::from_fn(|k| if k == (t / 1000) % STATES { -700.0 } else { -900.0 }))).collect();
        let mut post = Vec::new();
        let (ll, _) = chain.forward_backward(&liks, &mut post);
        assert!(ll.is_finite());
        assert!(post.iter().all(|p| p.iter().all(|x| x.is_finite()) && (p.iter().sum::<f64>() - 1.0).abs() < 1e-9));
        assert!(post[500][0] > 0.99 && post[1500][1] > 0.99);
    }

    #[test]
    fn impossible_evidence_never_gives_nan() {
        let mut chain = Chain::sticky(0.0);
        chain.initial = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let only0 = lik(std::array::from_fn(|k| if k == 0 { 0.0 } else { f64::NEG_INFINITY }));
        let (post, _) = chain.filter_step(None, &only0);
        assert_eq!(post[0], 1.0);
        let nothing = lik([f64::NAN; STATES]);
        let (post, _) = chain.filter_step(Some(&post), &nothing);
        assert_eq!(post[0], 1.0);
    }
}
