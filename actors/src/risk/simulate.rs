//! Seeded draws from a multivariate normal fitted to a returns matrix: the one random
//! ingredient of Monte Carlo VaR and Monte Carlo stress tests.
//!
//! Why here and why seeded: determinism is a design rule (a replay must reproduce every
//! decision), so the core owns no RNG; callers pass `&mut impl Rng`, and the request-level
//! functions build a ChaCha8 generator from the request's `seed` (portable: the same seed
//! gives the same draws on every platform). The standard normals come from `rand_distr`'s
//! ziggurat sampler.

use super::error::RiskError;
use super::linalg::{cholesky, Definiteness};
use super::stats;
use ndarray::Array2;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The generator request-level functions use for a journaled `seed`.
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `N(mean, S)` with `S = L L^T`, fitted to the rows of an observations x assets matrix.
#[derive(Debug, Clone)]
pub struct MvNormal {
    mean: Vec<f64>,
    chol: Array2<f64>,
}

impl MvNormal {
    /// Fits the column means and the sample covariance (n - 1) and factors the latter with
    /// a semidefinite-tolerant Cholesky, so fewer observations than assets, or an asset that
    /// is an exact combination of others, still simulate (along the directions the data
    /// span). `field` names the data in errors.
    pub fn fit(field: &str, data: &Array2<f64>) -> Result<Self, RiskError> {
        let cov = stats::covariance(data);
        let chol = cholesky(&cov, Definiteness::SemiDefinite).map_err(|f| {
            RiskError::covariance(
                format!("the covariance fitted to {field}"),
                format!("Cholesky pivot {} at row {} is negative beyond rounding", f.pivot, f.row),
            )
        })?;
        Ok(MvNormal { mean: stats::column_means(data), chol })
    }

    /// Number of assets.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Writes one draw `mean + L z` into `out`, using `z` (same length) as scratch for the
    /// standard normals. Consumes exactly `dim()` normals from `rng`, in asset order.
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, z: &mut [f64], out: &mut [f64]) {
        for v in z.iter_mut() {
            *v = rng.sample(StandardNormal);
        }
        for (i, o) in out.iter_mut().enumerate() {
            let row = self.chol.row(i);
            let s: f64 = row.iter().take(i + 1).zip(z.iter()).map(|(l, zk)| l * zk).sum();
            *o = self.mean[i] + s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_reproduce_the_fitted_moments() {
        let mut rng = seeded_rng(7);
        let mut data = Array2::<f64>::zeros((400, 2));
        for t in 0..400 {
            let a: f64 = rng.sample(StandardNormal);
            let b: f64 = rng.sample(StandardNormal);
            data[[t, 0]] = 0.01 + 0.02 * a;
            data[[t, 1]] = -0.005 + 0.03 * (0.6 * a + 0.8 * b);
        }
        let mv = MvNormal::fit("data", &data).unwrap();
        let mut sim = Array2::<f64>::zeros((100_000, 2));
        let (mut z, mut out) = (vec![0.0; 2], vec![0.0; 2]);
        for mut row in sim.rows_mut() {
            mv.sample_into(&mut rng, &mut z, &mut out);
            row.assign(&ndarray::ArrayView1::from(&out[..]));
        }
        let (c_fit, c_sim) = (stats::covariance(&data), stats::covariance(&sim));
        for (a, b) in c_fit.iter().zip(c_sim.iter()) {
            assert!((a - b).abs() < 0.03 * c_fit[[1, 1]], "{a} vs {b}");
        }
    }

    #[test]
    fn same_seed_same_draws() {
        let data = ndarray::array![[0.01, 0.02], [-0.01, 0.0], [0.02, 0.01]];
        let mv = MvNormal::fit("data", &data).unwrap();
        let draw = |seed| {
            let mut rng = seeded_rng(seed);
            let (mut z, mut out) = (vec![0.0; 2], vec![0.0; 2]);
            mv.sample_into(&mut rng, &mut z, &mut out);
            out
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }
}
