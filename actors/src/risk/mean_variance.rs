//! Long-only mean-variance portfolios: minimum variance and maximum Sharpe ratio, both
//! fully invested (weights >= 0, summing to 1).
//!
//! Why an active-set method: both problems reduce to one convex quadratic programme,
//! `minimise x'Sx/2 subject to a'x = 1, x >= 0` (a = 1 for minimum variance; a = excess
//! returns for maximum Sharpe, then w = x / sum x, Cornuejols and Tutuncu 2007, 8.2). The
//! primal active-set method (Nocedal and Wright 2006, 16.3) solves it exactly in finitely
//! many steps, each an equality-constrained solve on the free assets, with no step size
//! or tolerance to tune; projected gradient would need both and converges slowly when the
//! covariance is ill-conditioned.

use super::bounds::ITERATIONS_MAX;
use super::check::{self, Interval};
use super::error::{Num, RiskError};
use super::linalg::{cholesky, cholesky_solve, mat_vec, require_positive_definite, validate_covariance, Definiteness};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Which long-only mean-variance portfolio to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Lowest variance `w'Sw`; needs no return forecast.
    MinVariance,
    /// Highest `(w'mu - r_f) / sqrt(w'Sw)`.
    MaxSharpe,
}

/// Optimal weights and the work it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanVarianceSolution {
    /// Long-only weights summing to 1, in the covariance's order.
    pub weights: Vec<f64>,
    /// Active-set iterations (equality-constrained solves).
    pub iterations: usize,
}

/// Minimum-variance long-only weights: `min w'Sw` s.t. `sum w = 1`, `w >= 0`
/// (the quadratic programme above with `a = 1`, started from equal weights).
pub fn min_variance(cov: &Array2<f64>, symbols: &[String], iterations_max: usize) -> Result<MeanVarianceSolution, RiskError> {
    let cov = prepare(cov, symbols, iterations_max)?;
    let n = cov.nrows();
    let start = vec![1.0 / n as f64; n];
    let (x, iterations) = active_set(&cov, &vec![1.0; n], start, vec![true; n], iterations_max)?;
    Ok(MeanVarianceSolution { weights: normalise(&x), iterations })
}

/// Maximum-Sharpe long-only weights for per-period `excess` returns (`mu_i - r_f`, same
/// period as `cov`): `max (w'e) / sqrt(w'Sw)` s.t. `sum w = 1`, `w >= 0`.
///
/// The ratio is scale-invariant, so it equals `min y'Sy` s.t. `e'y = 1`, `y >= 0`, with
/// `w = y / sum y` (the quadratic programme with `a = e`, started from the single asset of
/// largest excess return). Errors when no asset's excess return is positive: then every
/// long-only portfolio has a non-positive Sharpe ratio and "maximum" picks no portfolio.
pub fn max_sharpe(cov: &Array2<f64>, excess: &[f64], symbols: &[String], iterations_max: usize) -> Result<MeanVarianceSolution, RiskError> {
    let cov = prepare(cov, symbols, iterations_max)?;
    let n = cov.nrows();
    check::same_len("expected_returns", excess.len(), "symbols", n)?;
    Interval::closed(-1e4, 1e4).check_all("expected_returns", excess)?;
    let (best, &top) = excess.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((0, &0.0));
    if top.is_nan() || top <= 0.0 {
        return Err(RiskError::undefined(
            "the maximum-Sharpe portfolio",
            format!("no symbol's expected return exceeds the risk-free rate (largest excess {})", Num(top)),
        ));
    }
    let mut start = vec![0.0; n];
    start[best] = 1.0 / top;
    let mut free = vec![false; n];
    free[best] = true;
    let (y, iterations) = active_set(&cov, excess, start, free, iterations_max)?;
    Ok(MeanVarianceSolution { weights: normalise(&y), iterations })
}

/// Validates the covariance (finite, symmetric, positive definite) and the iteration bound.
fn prepare(cov: &Array2<f64>, symbols: &[String], iterations_max: usize) -> Result<Array2<f64>, RiskError> {
    Interval::closed(1.0, ITERATIONS_MAX as f64).check("iterations_max", iterations_max as f64)?;
    let cov = validate_covariance("covariance", cov.clone())?;
    if cov.nrows() == 0 {
        return Err(RiskError::TooFew { field: "covariance".into(), min: 1, got: 0 });
    }
    require_positive_definite("covariance", &cov, symbols)?;
    Ok(cov)
}

/// `x / sum x`, with exact zeros kept (and tiny negatives from rounding cleared).
fn normalise(x: &[f64]) -> Vec<f64> {
    let clean: Vec<f64> = x.iter().map(|v| v.max(0.0)).collect();
    let sum: f64 = clean.iter().sum();
    clean.iter().map(|v| v / sum).collect()
}

/// Primal active-set method for `min x'Qx/2` s.t. `a'x = 1`, `x >= 0`, from a feasible
/// `x` whose zero entries outside `free` form the working set.
///
/// Each iteration solves the equality-constrained problem on the free set F:
/// `z = Q_FF^-1 a_F`, `x*_F = z / (a_F' z)`, multiplier `lambda = -1 / (a_F' z)`. It moves
/// from `x` toward `x*` as far as feasibility allows, `alpha = min(1, min_{p_i < 0} -x_i/p_i)`
/// with `p = x* - x`; a blocking asset joins the working set (its weight becomes 0). At
/// `x*` it checks the bound multipliers `nu_i = (Qx)_i + lambda a_i` of the assets held at
/// 0: all `nu_i >= 0` means the KKT conditions hold (optimal, since the problem is
/// convex); otherwise the most negative one leaves the working set.
fn active_set(
    q: &Array2<f64>,
    a: &[f64],
    mut x: Vec<f64>,
    mut free: Vec<bool>,
    iterations_max: usize,
) -> Result<(Vec<f64>, usize), RiskError> {
    for iteration in 1..=iterations_max {
        let f: Vec<usize> = (0..x.len()).filter(|&i| free[i]).collect();
        let Some((target, lambda)) = free_set_optimum(q, a, &f) else {
            return Err(not_converged(iteration, "an equality-constrained step had no solution"));
        };
        let (alpha, blocking) = step_length(&x, &f, &target);
        for (k, &i) in f.iter().enumerate() {
            x[i] += alpha * (target[k] - x[i]);
        }
        if let Some(i) = blocking {
            x[i] = 0.0;
            free[i] = false;
            continue;
        }
        match most_negative_multiplier(q, a, &x, &free, lambda) {
            None => return Ok((x, iteration)),
            Some(i) => free[i] = true,
        }
    }
    Err(not_converged(iterations_max, "the working set was still changing"))
}

fn not_converged(iterations: usize, detail: &str) -> RiskError {
    RiskError::NotConverged { solver: "mean-variance (active set)", iterations, detail: detail.to_string() }
}

/// The optimum `x*_F` of the equality-constrained problem on free set `f`, and `lambda`.
fn free_set_optimum(q: &Array2<f64>, a: &[f64], f: &[usize]) -> Option<(Vec<f64>, f64)> {
    let m = f.len();
    let mut qf = Array2::<f64>::zeros((m, m));
    for (r, &i) in f.iter().enumerate() {
        for (c, &j) in f.iter().enumerate() {
            qf[[r, c]] = q[[i, j]];
        }
    }
    let af: Vec<f64> = f.iter().map(|&i| a[i]).collect();
    let l = cholesky(&qf, Definiteness::Positive).ok()?;
    let z = cholesky_solve(&l, &af);
    let s: f64 = af.iter().zip(&z).map(|(p, q)| p * q).sum();
    if s.is_nan() || s <= 0.0 || !s.is_finite() {
        return None;
    }
    Some((z.iter().map(|v| v / s).collect(), -1.0 / s))
}

/// Longest step in [0, 1] toward `target` keeping free weights >= 0, and the asset that
/// blocks a shorter step.
fn step_length(x: &[f64], f: &[usize], target: &[f64]) -> (f64, Option<usize>) {
    let mut alpha = 1.0;
    let mut blocking = None;
    for (k, &i) in f.iter().enumerate() {
        let p = target[k] - x[i];
        if p < 0.0 {
            let ratio = (x[i] / -p).max(0.0);
            if ratio < alpha {
                alpha = ratio;
                blocking = Some(i);
            }
        }
    }
    (alpha, blocking)
}

/// The asset at its bound whose multiplier `nu_i = (Qx)_i + lambda a_i` is most negative
/// (beyond a rounding tolerance scaled to the terms), if any.
fn most_negative_multiplier(q: &Array2<f64>, a: &[f64], x: &[f64], free: &[bool], lambda: f64) -> Option<usize> {
    let g = mat_vec(q, x);
    let scale = g.iter().map(|v| v.abs()).fold(0.0, f64::max) + lambda.abs() * a.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let tol = 1e-12 * scale;
    (0..x.len())
        .filter(|&i| !free[i])
        .map(|i| (i, g[i] + lambda * a[i]))
        .filter(|&(_, nu)| nu < -tol)
        .min_by(|p, r| p.1.total_cmp(&r.1))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::linalg::quad_form;
    use ndarray::array;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("S{i}")).collect()
    }

    #[test]
    fn two_asset_min_variance_matches_closed_form() {
        // w1 = (s2^2 - c) / (s1^2 + s2^2 - 2c)
        let cov = array![[0.04, 0.006], [0.006, 0.09]];
        let s = min_variance(&cov, &names(2), 100).unwrap();
        let w1 = (0.09 - 0.006) / (0.04 + 0.09 - 0.012);
        assert!((s.weights[0] - w1).abs() < 1e-12);
    }

    #[test]
    fn long_only_drops_a_dominated_asset() {
        // Asset 1 is asset 0 plus noise, highly correlated: unconstrained min variance shorts it.
        let cov = array![[0.04, 0.05], [0.05, 0.09]];
        let s = min_variance(&cov, &names(2), 100).unwrap();
        assert_eq!(s.weights, vec![1.0, 0.0]);
    }

    #[test]
    fn max_sharpe_matches_tangency_when_unconstrained_is_long() {
        // Unconstrained tangency w ~ S^-1 e; with a diagonal S that is e_i / s_i^2.
        let cov = array![[0.04, 0.0], [0.0, 0.01]];
        let s = max_sharpe(&cov, &[0.02, 0.01], &names(2), 100).unwrap();
        let (a, b) = (0.02 / 0.04, 0.01 / 0.01);
        assert!((s.weights[0] - a / (a + b)).abs() < 1e-12);
        let e = max_sharpe(&cov, &[-0.01, 0.0], &names(2), 100).unwrap_err();
        assert!(e.to_string().contains("no symbol's expected return exceeds the risk-free rate"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The answer is feasible and no random feasible portfolio beats it.
        #[test]
        fn optimal_against_random_feasible_points(
            n in 2usize..10,
            entries in prop::collection::vec(-1.0f64..1.0, 100),
            mu in prop::collection::vec(-0.02f64..0.05, 10),
            probes in prop::collection::vec(prop::collection::vec(0.0f64..1.0, 10), 20),
        ) {
            let mut cov = Array2::<f64>::zeros((n, n));
            for i in 0..n {
                for j in 0..n {
                    cov[[i, j]] = (0..n).map(|k| entries[i * 10 + k] * entries[j * 10 + k]).sum::<f64>() * 0.01;
                }
                cov[[i, i]] += 0.0005;
            }
            let mv = min_variance(&cov, &names(n), 1000).unwrap();
            prop_assert!(mv.weights.iter().all(|w| *w >= 0.0));
            prop_assert!((mv.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            let best_var = quad_form(&cov, &mv.weights);
            let e = &mu[..n];
            let ms = max_sharpe(&cov, e, &names(n), 1000);
            let sharpe = |w: &[f64]| w.iter().zip(e).map(|(a, b)| a * b).sum::<f64>() / quad_form(&cov, w).sqrt();
            for p in &probes {
                let sum: f64 = p[..n].iter().sum();
                if sum <= 0.0 { continue; }
                let w: Vec<f64> = p[..n].iter().map(|v| v / sum).collect();
                prop_assert!(quad_form(&cov, &w) >= best_var * (1.0 - 1e-9));
                if let Ok(ms) = &ms {
                    prop_assert!(sharpe(&w) <= sharpe(&ms.weights) + 1e-9);
                }
            }
        }
    }
}
