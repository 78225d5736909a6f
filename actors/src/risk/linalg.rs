//! The little dense linear algebra the risk core needs: covariance validation, Cholesky
//! factorisation (strict for solvers, semidefinite-tolerant for simulation), triangular
//! solves, matrix-vector products and quadratic forms.
//!
//! Why hand-written: matrices here are at most `ASSETS_MAX` square and the crate has no
//! LAPACK; a 60-line Cholesky is simpler to audit than a dependency, and the failure it
//! reports (which row's pivot, how small) becomes a precise error message.

use super::bounds::RETURN_ABS_MAX;
use super::check::Interval;
use super::error::{Num, RiskError};
use ndarray::Array2;

/// A pivot of the Cholesky factorisation counts as zero when it is at most this fraction
/// of its diagonal entry: the matrix is then singular to working precision (condition
/// number beyond ~1e10), and a solver using it would return noise.
pub const PIVOT_REL: f64 = 1e-10;

/// How much definiteness a factorisation demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Definiteness {
    /// Every pivot clearly positive: the matrix is invertible (risk parity, mean-variance).
    Positive,
    /// Zero pivots allowed (their column of L is zero), negative ones are not: enough to
    /// draw correlated normals `L z` from a singular sample covariance (T <= N, or an
    /// asset that is an exact combination of others).
    SemiDefinite,
}

/// Where a Cholesky factorisation stopped: row `row` had pivot `pivot`
/// (`a[row][row] - sum_k L[row][k]^2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CholeskyFailure {
    pub row: usize,
    pub pivot: f64,
}

/// Lower-triangular `L` with `L L^T = A` (Cholesky-Banachiewicz, row by row):
/// `L[j][j] = sqrt(A[j][j] - sum_{k<j} L[j][k]^2)`,
/// `L[i][j] = (A[i][j] - sum_{k<j} L[i][k] L[j][k]) / L[j][j]` for i > j.
/// A pivot `d` of row j counts as zero when `|d| <= PIVOT_REL * A[j][j]`; `Positive`
/// refuses zero or negative pivots, `SemiDefinite` refuses negative ones and zeroes the
/// column of a zero pivot (after checking the column's off-diagonal residuals vanish too,
/// as they must in a semidefinite matrix).
pub fn cholesky(a: &Array2<f64>, mode: Definiteness) -> Result<Array2<f64>, CholeskyFailure> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let d = a[[j, j]] - (0..j).map(|k| l[[j, k]] * l[[j, k]]).sum::<f64>();
        let tol = PIVOT_REL * a[[j, j]].abs();
        let fail = CholeskyFailure { row: j, pivot: d };
        if !d.is_finite() || d < -tol || (mode == Definiteness::Positive && d <= tol) {
            return Err(fail);
        }
        let zero = d <= tol;
        let ljj = if zero { 0.0 } else { d.sqrt() };
        l[[j, j]] = ljj;
        for i in j + 1..n {
            let r = a[[i, j]] - (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum::<f64>();
            if zero {
                // Semidefinite: |r| <= sqrt(d_j d_i) ~ 0, up to rounding.
                let bound = 1e-5 * (a[[i, i]].abs() * a[[j, j]].abs()).sqrt() + f64::MIN_POSITIVE;
                if r.abs() > bound {
                    return Err(fail);
                }
            } else {
                l[[i, j]] = r / ljj;
            }
        }
    }
    Ok(l)
}

/// Solves `L L^T x = b` by forward then backward substitution.
pub fn cholesky_solve(l: &Array2<f64>, b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[[i, k]] * y[k]).sum();
        y[i] = (b[i] - s) / l[[i, i]];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[[k, i]] * x[k]).sum();
        x[i] = (y[i] - s) / l[[i, i]];
    }
    x
}

/// `A x`.
pub fn mat_vec(a: &Array2<f64>, x: &[f64]) -> Vec<f64> {
    a.rows().into_iter().map(|row| row.iter().zip(x).map(|(r, v)| r * v).sum()).collect()
}

/// `x . y`.
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// `x^T A x`.
pub fn quad_form(a: &Array2<f64>, x: &[f64]) -> f64 {
    dot(x, &mat_vec(a, x))
}

/// Turns a JSON covariance (`n` rows of `n` numbers) into a matrix and validates it with
/// [`validate_covariance`].
pub fn covariance_from_rows(field: &str, rows: &[Vec<f64>], n: usize) -> Result<Array2<f64>, RiskError> {
    if rows.len() != n {
        return Err(RiskError::covariance(field, format!("it has {} rows for {n} symbols", rows.len())));
    }
    let mut c = Array2::<f64>::zeros((n, n));
    for (i, row) in rows.iter().enumerate() {
        if row.len() != n {
            return Err(RiskError::covariance(field, format!("row {i} has {} entries for {n} symbols", row.len())));
        }
        for (j, &v) in row.iter().enumerate() {
            c[[i, j]] = v;
        }
    }
    validate_covariance(field, c)
}

/// Refuses a non-square matrix, a non-finite or out-of-range entry
/// (|c| <= RETURN_ABS_MAX^2), a negative variance, or an asymmetry beyond 1e-9 relative;
/// returns the matrix with each off-diagonal pair replaced by its mean (values rounded
/// when printed to JSON still pass, and later code may rely on exact symmetry).
pub fn validate_covariance(field: &str, mut c: Array2<f64>) -> Result<Array2<f64>, RiskError> {
    let n = c.nrows();
    if c.ncols() != n {
        return Err(RiskError::covariance(field, format!("it is {n} x {}, not square", c.ncols())));
    }
    let range = Interval::closed(-RETURN_ABS_MAX * RETURN_ABS_MAX, RETURN_ABS_MAX * RETURN_ABS_MAX);
    for ((i, j), &v) in c.indexed_iter() {
        range.check(&format!("{field}[{i}][{j}]"), v)?;
    }
    for i in 0..n {
        if c[[i, i]] < 0.0 {
            let reason = format!("the variance on the diagonal at [{i}][{i}] is negative ({})", Num(c[[i, i]]));
            return Err(RiskError::covariance(field, reason));
        }
        for j in 0..i {
            let (a, b) = (c[[i, j]], c[[j, i]]);
            let scale = a.abs().max(b.abs()).max((c[[i, i]] * c[[j, j]]).sqrt());
            if (a - b).abs() > 1e-9 * scale {
                let reason = format!("it is not symmetric: [{i}][{j}] = {} but [{j}][{i}] = {}", Num(a), Num(b));
                return Err(RiskError::covariance(field, reason));
            }
            c[[i, j]] = 0.5 * (a + b);
            c[[j, i]] = c[[i, j]];
        }
    }
    Ok(c)
}

/// The Cholesky factor of a covariance the caller must be able to invert, or an error that
/// says which symbol's row made it singular or indefinite.
pub fn require_positive_definite(field: &str, cov: &Array2<f64>, symbols: &[String]) -> Result<Array2<f64>, RiskError> {
    cholesky(cov, Definiteness::Positive).map_err(|f| {
        let name = symbols.get(f.row).map(String::as_str).unwrap_or("?");
        let var = cov.get((f.row, f.row)).copied().unwrap_or(f64::NAN);
        RiskError::covariance(
            field,
            format!(
                "it is singular or not positive definite: the Cholesky pivot at row {} ({name}) is {} with variance {} \
                 (a pivot must exceed {PIVOT_REL:e} x the variance); a variance is zero, or one asset's returns are a \
                 linear combination of the others'",
                f.row,
                Num(f.pivot),
                Num(var)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_reconstructs_and_solves() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 5.0, 1.0], [0.4, 1.0, 3.0]];
        let l = cholesky(&a, Definiteness::Positive).unwrap();
        let back = l.dot(&l.t());
        for (x, y) in back.iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-12);
        }
        let x = cholesky_solve(&l, &[1.0, 2.0, 3.0]);
        let ax = mat_vec(&a, &x);
        for (got, want) in ax.iter().zip([1.0, 2.0, 3.0]) {
            assert!((got - want).abs() < 1e-12);
        }
    }

    #[test]
    fn singular_is_refused_strictly_and_tolerated_semidefinitely() {
        let a = array![[1.0, 1.0], [1.0, 1.0]];
        assert_eq!(cholesky(&a, Definiteness::Positive).unwrap_err().row, 1);
        let l = cholesky(&a, Definiteness::SemiDefinite).unwrap();
        assert_eq!(l[[1, 1]], 0.0);
        let indefinite = array![[1.0, 2.0], [2.0, 1.0]];
        assert!(cholesky(&indefinite, Definiteness::SemiDefinite).is_err());
        let hidden = array![[0.0, 1.0], [1.0, 1.0]];
        assert!(cholesky(&hidden, Definiteness::SemiDefinite).is_err());
    }

    #[test]
    fn covariance_rows_are_validated() {
        let ok = covariance_from_rows("covariance", &[vec![0.04, 0.01], vec![0.01, 0.09]], 2).unwrap();
        assert_eq!(ok[[0, 1]], 0.01);
        let e = covariance_from_rows("covariance", &[vec![0.04, 0.01], vec![0.02, 0.09]], 2).unwrap_err();
        assert!(e.to_string().contains("not symmetric"), "{e}");
        let e = covariance_from_rows("covariance", &[vec![0.04, f64::NAN], vec![0.01, 0.09]], 2).unwrap_err();
        assert_eq!(e.to_string(), "covariance[0][1] must be in [-10000, 10000], got NaN");
        assert!(validate_covariance("c", Array2::zeros((2, 3))).is_err());
        assert!(covariance_from_rows("covariance", &[vec![0.04]], 2).is_err());
        let sym = vec!["A".to_string(), "B".to_string()];
        let e = require_positive_definite("covariance", &array![[1.0, 1.0], [1.0, 1.0]], &sym).unwrap_err();
        assert!(e.to_string().contains("row 1 (B)"), "{e}");
    }
}
