//! Change between two checkpoints of one matrix.
//!
//! With D = W₁ − W₀ over all n entries (f64, two passes, pairwise sums):
//!
//! ```text
//! mean_change     = mean(D)
//! change_variance = mean((D − mean D)²)            (population variance, numpy's var)
//! relative_change = ‖D‖_F / ‖W₀‖_F
//! correlation     = Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² Σ(y−ȳ)²)   (Pearson r of W₀, W₁)
//! ```
//!
//! The spectral deltas (`delta_erank`, `delta_alpha`, the α of D itself) are
//! filled in by the audit, which has the three spectra.
#![expect(
    clippy::cast_precision_loss,
    reason = "counts and matrix dimensions are far below 2^52"
)]

use faer::{Mat, MatRef};
use serde::Serialize;

use crate::metrics::pairwise_sum;

/// Change of one matrix between a base checkpoint and the audited one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixDelta {
    /// Name of the matched tensor in the base model.
    pub base_name: String,
    /// mean(W₁ − W₀).
    pub mean_change: f64,
    /// var(W₁ − W₀) (population).
    pub change_variance: f64,
    /// ‖W₁ − W₀‖_F / ‖W₀‖_F (`None` when W₀ = 0).
    pub relative_change: Option<f64>,
    /// Pearson correlation of the flattened W₀ and W₁ (`None` when either is constant).
    pub correlation: Option<f64>,
    /// Effective rank of W₀ (`None` when W₀ = 0).
    pub base_erank: Option<f64>,
    /// erank(W₁) − erank(W₀) (`None` when either is zero).
    pub delta_erank: Option<f64>,
    /// α of W₀ (`None` when its fit failed).
    pub base_alpha: Option<f64>,
    /// α(W₁) − α(W₀) (`None` when either fit failed).
    pub delta_alpha: Option<f64>,
    /// α of the update W₁ − W₀ itself (`None` when its fit failed, e.g. no change).
    pub update_alpha: Option<f64>,
}

/// Element-wise statistics of a pair of equally shaped matrices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangeStats {
    /// mean(W₁ − W₀).
    pub mean_change: f64,
    /// var(W₁ − W₀), population.
    pub change_variance: f64,
    /// ‖W₁ − W₀‖_F / ‖W₀‖_F.
    pub relative_change: Option<f64>,
    /// Pearson r of W₀ and W₁.
    pub correlation: Option<f64>,
}

/// Computes [`ChangeStats`] of `w1` against `w0` (same shape).
#[must_use]
pub fn change_stats(w0: MatRef<'_, f64>, w1: MatRef<'_, f64>) -> ChangeStats {
    debug_assert_eq!(w0.shape(), w1.shape());
    let n = (w0.nrows() * w0.ncols()) as f64;
    let mean_change = sum_pairs(w0, w1, |a, b| b - a) / n;
    let change_variance = sum_pairs(w0, w1, |a, b| {
        let c = b - a - mean_change;
        c * c
    }) / n;
    let base_norm = sum_pairs(w0, w1, |a, _| a * a).sqrt();
    let change_norm = sum_pairs(w0, w1, |a, b| (b - a) * (b - a)).sqrt();
    let relative_change = (base_norm > 0.0).then(|| change_norm / base_norm);
    let mx = sum_pairs(w0, w1, |a, _| a) / n;
    let my = sum_pairs(w0, w1, |_, b| b) / n;
    let sxx = sum_pairs(w0, w1, |a, _| (a - mx) * (a - mx));
    let syy = sum_pairs(w0, w1, |_, b| (b - my) * (b - my));
    let sxy = sum_pairs(w0, w1, |a, b| (a - mx) * (b - my));
    // √(Sxx·Sxx) is exactly Sxx in IEEE arithmetic, so identical inputs give r = 1.
    let correlation = (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0));
    ChangeStats {
        mean_change,
        change_variance,
        relative_change,
        correlation,
    }
}

/// W₁ − W₀ as a matrix.
#[must_use]
pub(crate) fn difference(w0: MatRef<'_, f64>, w1: MatRef<'_, f64>) -> Mat<f64> {
    Mat::from_fn(w0.nrows(), w0.ncols(), |i, j| w1[(i, j)] - w0[(i, j)])
}

/// Σ f(a, b) over paired entries: a plain sum per column, then a pairwise
/// sum of the column sums (no n-sized temporaries).
fn sum_pairs(w0: MatRef<'_, f64>, w1: MatRef<'_, f64>, f: impl Fn(f64, f64) -> f64) -> f64 {
    let cols: Vec<f64> = (0..w0.ncols())
        .map(|j| {
            let (c0, c1) = (w0.col(j), w1.col(j));
            let mut s = 0.0;
            for i in 0..w0.nrows() {
                s += f(c0[i], c1[i]);
            }
            s
        })
        .collect();
    pairwise_sum(&cols)
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    reason = "exact zeros and ones are the contract under test"
)]
mod tests {
    use super::*;

    #[test]
    fn identical_matrices_have_no_change() {
        let w = Mat::<f64>::from_fn(7, 5, |i, j| ((i * 31 + j * 17) % 13) as f64 * 0.37 - 2.0);
        let s = change_stats(w.as_ref(), w.as_ref());
        assert_eq!(s.mean_change, 0.0);
        assert_eq!(s.change_variance, 0.0);
        assert_eq!(s.relative_change, Some(0.0));
        assert_eq!(s.correlation, Some(1.0));
    }

    #[test]
    fn hand_computed_change() {
        // W₀ = [1, 2; 3, 4], W₁ = [2, 2; 3, 6]: D = [1, 0, 0, 2]
        let w0 = Mat::<f64>::from_fn(2, 2, |i, j| [[1.0, 2.0], [3.0, 4.0]][i][j]);
        let w1 = Mat::<f64>::from_fn(2, 2, |i, j| [[2.0, 2.0], [3.0, 6.0]][i][j]);
        let s = change_stats(w0.as_ref(), w1.as_ref());
        assert!((s.mean_change - 0.75).abs() < 1e-15); // (1+0+0+2)/4
        // var = mean((1, 0, 0, 2) − 0.75)² = (0.0625 + 0.5625·2 + 1.5625)/4
        assert!((s.change_variance - 0.6875).abs() < 1e-15);
        assert!((s.relative_change.expect("rc") - (5f64 / 30.0).sqrt()).abs() < 1e-15);
        // r of (1,3,2,4) and (2,3,2,6) (column-major order does not matter)
        let (x, y) = ([1.0, 3.0, 2.0, 4.0], [2.0, 3.0, 2.0, 6.0]);
        let (mx, my) = (2.5, 3.25);
        let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
        let syy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
        assert!((s.correlation.expect("r") - sxy / (sxx * syy).sqrt()).abs() < 1e-15);
    }
}
