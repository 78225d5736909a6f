//! The baseline: logistic regression (classification) or ridge regression (regression)
//! on standardised features, fitted exactly: Newton's method (IRLS) for the logistic
//! loss, the normal equations for ridge. L2 penalty [`L2_DEFAULT`], intercept not
//! penalised. Deterministic: no randomness at all.

use super::error::MlError;
use serde::{Deserialize, Serialize};

/// L2 penalty on the standardised coefficients.
pub const L2_DEFAULT: f64 = 1.0;
/// Newton steps at most.
const NEWTON_STEPS_MAX: usize = 50;

/// Per-column mean and standard deviation of the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Scaler {
    pub fn fit(x: &[f64], cols: usize) -> Scaler {
        let n = (x.len() / cols.max(1)).max(1) as f64;
        let mut mean = vec![0.0; cols];
        let mut var = vec![0.0; cols];
        for row in x.chunks_exact(cols) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / n;
            }
        }
        for row in x.chunks_exact(cols) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        let std = var.into_iter().map(|v| if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 }).collect();
        Scaler { mean, std }
    }

    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        let cols = self.mean.len();
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(cols) {
            out.extend(row.iter().zip(&self.mean).zip(&self.std).map(|((v, m), s)| (v - m) / s));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    pub scaler: Scaler,
    /// Coefficients on the standardised features.
    pub coef: Vec<f64>,
    pub intercept: f64,
    pub logistic: bool,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Solves `a x = b` (`a` is `n x n`, row-major) by Gaussian elimination with partial pivoting.
pub fn solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs()))?;
        if a[p * n + c].abs() < 1e-300 {
            return None;
        }
        if p != c {
            for k in 0..n {
                a.swap(p * n + k, c * n + k);
            }
            b.swap(p, c);
        }
        for r in c + 1..n {
            let f = a[r * n + c] / a[c * n + c];
            for k in c..n {
                a[r * n + k] -= f * a[c * n + k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r * n + k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r * n + r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// `Z^T W Z + l2 I` (intercept last, unpenalised) and `Z^T r`, with `z` rows plus a 1.
fn normal_equations(z: &[f64], cols: usize, w: &[f64], r: &[f64], l2: f64) -> (Vec<f64>, Vec<f64>) {
    let n = cols + 1;
    let mut h = vec![0.0; n * n];
    let mut g = vec![0.0; n];
    for ((row, wi), ri) in z.chunks_exact(cols).zip(w).zip(r) {
        for i in 0..n {
            let zi = if i < cols { row[i] } else { 1.0 };
            g[i] += zi * ri;
            for j in i..n {
                let zj = if j < cols { row[j] } else { 1.0 };
                h[i * n + j] += wi * zi * zj;
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            h[i * n + j] = h[j * n + i];
        }
        if i < cols {
            h[i * n + i] += l2;
        }
    }
    (h, g)
}

impl Linear {
    pub fn fit(x: &[f64], y: &[f64], cols: usize, logistic: bool, l2: f64) -> Result<Linear, MlError> {
        let scaler = Scaler::fit(x, cols);
        let z = scaler.apply(x);
        let mut beta = vec![0.0; cols + 1];
        let singular = || MlError::Field { field: "features", why: "the features are degenerate (a singular system)".into() };
        if !logistic {
            let (h, g) = normal_equations(&z, cols, &vec![1.0; y.len()], y, l2);
            beta = solve(h, g).ok_or_else(singular)?;
        } else {
            for _ in 0..NEWTON_STEPS_MAX {
                let m = Linear { scaler: scaler.clone(), coef: beta[..cols].to_vec(), intercept: beta[cols], logistic };
                let p: Vec<f64> = z.chunks_exact(cols).map(|row| sigmoid(m.margin(row))).collect();
                let w: Vec<f64> = p.iter().map(|p| (p * (1.0 - p)).max(1e-10)).collect();
                let resid: Vec<f64> = y.iter().zip(&p).map(|(y, p)| y - p).collect();
                let (h, mut g) = normal_equations(&z, cols, &w, &resid, l2);
                for (gi, bi) in g.iter_mut().zip(&beta).take(cols) {
                    *gi -= l2 * bi;
                }
                let step = solve(h, g).ok_or_else(singular)?;
                beta.iter_mut().zip(&step).for_each(|(b, s)| *b += s);
                if step.iter().all(|s| s.abs() < 1e-9) {
                    break;
                }
            }
        }
        Ok(Linear { scaler, coef: beta[..cols].to_vec(), intercept: beta[cols], logistic })
    }

    fn margin(&self, z: &[f64]) -> f64 {
        self.intercept + z.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>()
    }

    /// Probabilities (logistic) or values (ridge) for the rows of `x`.
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        let cols = self.coef.len();
        let z = self.scaler.apply(x);
        z.chunks_exact(cols).map(|row| if self.logistic { sigmoid(self.margin(row)) } else { self.margin(row) }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_line_and_logistic_separates() {
        let x: Vec<f64> = (0..200).map(|i| i as f64 / 10.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 * v + 1.0).collect();
        let m = Linear::fit(&x, &y, 1, false, 1e-9).unwrap();
        assert!((m.predict(&[2.0])[0] - 7.0).abs() < 1e-6);
        let yc: Vec<f64> = x.iter().map(|v| f64::from(u8::from(*v > 10.0))).collect();
        let c = Linear::fit(&x, &yc, 1, true, L2_DEFAULT).unwrap();
        let p = c.predict(&[1.0, 19.0]);
        assert!(p[0] < 0.1 && p[1] > 0.9, "{p:?}");
    }
}
