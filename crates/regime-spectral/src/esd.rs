//! Empirical spectral density: the eigenvalues λ = σ² of `WᵀW` in f64.
//!
//! Two routes, both single-threaded per matrix (parallelism is across
//! matrices):
//! - **SVD**: the singular values of W (faer's bidiagonal SVD), squared.
//!   This is WeightWatcher's route.
//! - **Gram**: the eigenvalues of the M×M Gram matrix `WᵀW` (M = the smaller
//!   dimension), computed with a self-adjoint eigensolver. About half the
//!   flops; each λ carries an absolute error of order ε·`λ_max`, so small
//!   eigenvalues lose relative accuracy.
//!
//! [`EsdMethod::Auto`] (the default) takes the Gram route and falls back to
//! the SVD when the Gram spectrum has a λ below [`AUTO_GRAM_MIN_RATIO`]·`λ_max`,
//! where that error could reach the rank, entropy or erank.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::matmul::matmul;
use faer::linalg::{evd, svd};
use faer::{Accum, Mat, MatRef, Par};

/// In [`EsdMethod::Auto`], the Gram spectrum is kept only when every
/// eigenvalue is at least this fraction of `λ_max`.
pub const AUTO_GRAM_MIN_RATIO: f64 = 1e-6;

/// How eigenvalues are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EsdMethod {
    /// Gram route when well conditioned, SVD otherwise.
    #[default]
    Auto,
    /// Always the singular values (exact route).
    Svd,
    /// Always the Gram eigenvalues (fastest).
    Gram,
}

/// Eigenvalues λ = σ² (ascending, clamped at 0) of `w`ᵀ`w` for a matrix of
/// any orientation; returns `None` when the decomposition did not converge.
#[must_use]
pub fn eigenvalues(w: MatRef<'_, f64>, method: EsdMethod) -> Option<Vec<f64>> {
    match method {
        EsdMethod::Svd => svd_eigenvalues(w),
        EsdMethod::Gram => gram_eigenvalues(w),
        EsdMethod::Auto => {
            let ev = gram_eigenvalues(w)?;
            let max = ev.last().copied().unwrap_or(0.0);
            let min = ev.first().copied().unwrap_or(0.0);
            if max > 0.0 && min >= AUTO_GRAM_MIN_RATIO * max {
                Some(ev)
            } else {
                svd_eigenvalues(w)
            }
        }
    }
}

/// Squared singular values, ascending.
fn svd_eigenvalues(w: MatRef<'_, f64>) -> Option<Vec<f64>> {
    let k = w.nrows().min(w.ncols());
    let mut s = Diag::<f64>::zeros(k);
    let par = Par::Seq;
    let mut mem = MemBuffer::new(svd::svd_scratch::<f64>(
        w.nrows(),
        w.ncols(),
        svd::ComputeSvdVectors::No,
        svd::ComputeSvdVectors::No,
        par,
        faer::Spec::default(),
    ));
    svd::svd(
        w,
        s.as_mut(),
        None,
        None,
        par,
        MemStack::new(&mut mem),
        faer::Spec::default(),
    )
    .ok()?;
    let mut ev: Vec<f64> = s.column_vector().iter().map(|x| x * x).collect();
    ev.sort_by(f64::total_cmp);
    Some(ev)
}

/// Eigenvalues of the smaller Gram matrix, ascending, clamped at 0.
fn gram_eigenvalues(w: MatRef<'_, f64>) -> Option<Vec<f64>> {
    let par = Par::Seq;
    let g = if w.nrows() >= w.ncols() {
        let mut g = Mat::<f64>::zeros(w.ncols(), w.ncols());
        matmul(g.as_mut(), Accum::Replace, w.transpose(), w, 1.0, par);
        g
    } else {
        let mut g = Mat::<f64>::zeros(w.nrows(), w.nrows());
        matmul(g.as_mut(), Accum::Replace, w, w.transpose(), 1.0, par);
        g
    };
    let k = g.nrows();
    let mut s = Diag::<f64>::zeros(k);
    let mut mem = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        k,
        evd::ComputeEigenvectors::No,
        par,
        faer::Spec::default(),
    ));
    evd::self_adjoint_evd(
        g.as_ref(),
        s.as_mut(),
        None,
        par,
        MemStack::new(&mut mem),
        faer::Spec::default(),
    )
    .ok()?;
    let mut ev: Vec<f64> = s.column_vector().iter().map(|&x| x.max(0.0)).collect();
    ev.sort_by(f64::total_cmp);
    Some(ev)
}

#[cfg(test)]
#[expect(clippy::cast_precision_loss, reason = "small test dimensions")]
mod tests {
    use super::*;

    #[test]
    fn svd_and_gram_agree_on_a_well_conditioned_matrix() {
        // A 6×4 matrix with known singular values 1, 2, 3, 4 (scaled permutation rows).
        let w = Mat::<f64>::from_fn(6, 4, |i, j| if i == j { (j + 1) as f64 } else { 0.0 });
        for method in [EsdMethod::Svd, EsdMethod::Gram, EsdMethod::Auto] {
            let ev = eigenvalues(w.as_ref(), method).expect("converged");
            let expected = [1.0, 4.0, 9.0, 16.0];
            for (a, b) in ev.iter().zip(expected) {
                assert!((a - b).abs() < 1e-12, "{method:?}: {ev:?}");
            }
        }
    }

    #[test]
    fn orientation_does_not_matter() {
        let w = Mat::<f64>::from_fn(5, 9, |i, j| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let a = eigenvalues(w.as_ref(), EsdMethod::Svd).expect("converged");
        let b = eigenvalues(w.transpose(), EsdMethod::Svd).expect("converged");
        let c = eigenvalues(w.as_ref(), EsdMethod::Gram).expect("converged");
        assert_eq!(a.len(), 5);
        for ((x, y), z) in a.iter().zip(&b).zip(&c) {
            assert!((x - y).abs() < 1e-9 * a[4]);
            assert!((x - z).abs() < 1e-9 * a[4]);
        }
    }

    #[test]
    fn sum_of_eigenvalues_is_frobenius_norm_squared() {
        let w = Mat::<f64>::from_fn(12, 8, |i, j| ((i * 13 + j * 5) % 17) as f64 / 17.0 - 0.4);
        let ev = eigenvalues(w.as_ref(), EsdMethod::Svd).expect("converged");
        let fro: f64 = (0..12)
            .flat_map(|i| (0..8).map(move |j| (i, j)))
            .map(|(i, j)| w[(i, j)].powi(2))
            .sum();
        assert!((ev.iter().sum::<f64>() - fro).abs() < 1e-10 * fro);
    }
}
