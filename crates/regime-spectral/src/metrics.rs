//! Per-matrix metrics computed from an empirical spectral density.
//!
//! With λ the M eigenvalues of `WᵀW` (λ = σ², σ the singular values of the
//! N×M matrix W, N ≥ M), following WeightWatcher's definitions:
//!
//! ```text
//! norm              = Σλ = ‖W‖_F²          log_norm = log10 Σλ
//! lambda_max        = max λ                log_spectral_norm = log10 λ_max
//! alpha_weighted    = α·log10 λ_max        log_alpha_norm = log10 Σ λᵢ^α
//! stable_rank       = Σλ / λ_max
//! matrix_rank       = #{σ > σ_max·N·ε_f64}
//! entropy           = −Σ pᵢ ln pᵢ / ln(matrix_rank),  pᵢ = λᵢ/Σλ + 1e-10
//! erank             = exp(−Σ q_k ln q_k),  q_k = σ_k/Σσ  (0·ln 0 = 0)
//! ```
//!
//! `erank` is the effective rank of Roy & Vetterli (2007), "The effective
//! rank: a measure of effective dimensionality", EUSIPCO. The power-law
//! fit (α, xmin, D, σ) runs on nz = sorted(λ[λ > 1e-5]) (see [`crate::fit`]).
//!
//! An all-zero matrix (Σλ = 0) has no logarithm of its norms, no stable
//! rank (0/0), no entropy and no effective rank (both normalise by Σ): they
//! are `None` and its warning is [`Warning::ZeroMatrix`]. WeightWatcher
//! 0.7.7 reports −∞, NaN and NaN there (and a failed fit, α = −1); a table
//! of numbers is better served by an empty cell and a warning that says why.
#![expect(
    clippy::cast_precision_loss,
    reason = "counts and matrix dimensions are far below 2^52"
)]

use serde::Serialize;

use crate::fit::{PowerLawFit, fit_power_law};

/// Eigenvalues at or below this are left out of the power-law fit.
pub const EVALS_THRESHOLD: f64 = 1e-5;
/// `fix_fingers`: fewest top eigenvalues clipped.
pub const MIN_FINGERS: usize = 2;
/// `fix_fingers`: most top eigenvalues clipped.
pub const MAX_FINGERS: usize = 9;
/// `fix_fingers`: a refit more than this below the raw α is accepted.
pub const FINGER_THRESHOLD: f64 = 1.0;
/// α below this is "over-trained".
pub const ALPHA_LOW: f64 = 2.0;
/// α above this is "under-trained".
pub const ALPHA_HIGH: f64 = 6.0;

/// WeightWatcher's warning for a fitted α.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Warning {
    /// α < 2.
    OverTrained,
    /// α > 6.
    UnderTrained,
    /// The power-law fit failed (too few or degenerate eigenvalues).
    FitFailed,
    /// Every entry is zero: no fit, and the norms' logarithms, stable rank,
    /// entropy and effective rank are undefined.
    ZeroMatrix,
}

impl Warning {
    /// The label used in tables (`over-trained`, `under-trained`,
    /// `fit-failed`, `zero-matrix`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OverTrained => "over-trained",
            Self::UnderTrained => "under-trained",
            Self::FitFailed => "fit-failed",
            Self::ZeroMatrix => "zero-matrix",
        }
    }
}

/// Everything computed from one matrix's spectrum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectralMetrics {
    /// Larger dimension.
    pub n: usize,
    /// Smaller dimension (number of eigenvalues).
    pub m: usize,
    /// The power-law fit, `None` when it failed.
    pub fit: Option<PowerLawFit>,
    /// #{λ ≥ xmin}: the effective feature number (0 when the fit failed).
    pub num_pl_spikes: usize,
    /// Largest eigenvalue `λ_max` = `σ_max²`.
    pub lambda_max: f64,
    /// Σλ = ‖W‖_F².
    pub norm: f64,
    /// log10 Σλ (`None` for an all-zero matrix).
    pub log_norm: Option<f64>,
    /// log10 `λ_max` (`None` for an all-zero matrix).
    pub log_spectral_norm: Option<f64>,
    /// α·log10 `λ_max`.
    pub alpha_weighted: Option<f64>,
    /// log10 Σ λᵢ^α.
    pub log_alpha_norm: Option<f64>,
    /// Σλ / `λ_max` (`None` for an all-zero matrix).
    pub stable_rank: Option<f64>,
    /// Numerical rank.
    pub matrix_rank: usize,
    /// Normalised spectral entropy (`None` when the rank is below 2).
    pub entropy: Option<f64>,
    /// Roy–Vetterli effective rank (`None` for an all-zero matrix).
    pub erank: Option<f64>,
    /// Over/under-trained, failed-fit or zero-matrix warning.
    pub warning: Option<Warning>,
    /// With `fix_fingers`: α of the first fit, before clipping.
    pub raw_alpha: Option<f64>,
    /// With `fix_fingers`: WeightWatcher's `num_fingers`, one less than the
    /// number of top eigenvalues clipped (0 = the first fit was kept).
    pub num_fingers: Option<usize>,
}

impl SpectralMetrics {
    /// Computes every metric from the eigenvalues `evals` (ascending, ≥ 0)
    /// of the Gram matrix of an `n`×`evals.len()` matrix.
    #[must_use]
    pub fn from_eigenvalues(evals: &[f64], n: usize) -> Self {
        Self::compute(evals, n, false)
    }

    /// As [`SpectralMetrics::from_eigenvalues`]; with `fix_fingers`, refits
    /// with the top eigenvalues clipped as WeightWatcher's
    /// `fix_fingers='clip_xmax'` does ([`clip_fingers`]).
    #[must_use]
    pub fn compute(evals: &[f64], n: usize, fix_fingers: bool) -> Self {
        let m = evals.len();
        let svals: Vec<f64> = evals.iter().map(|&l| l.max(0.0).sqrt()).collect();
        let lambda_max = evals.last().copied().unwrap_or(0.0);
        let sigma_max = svals.last().copied().unwrap_or(0.0);
        let norm = pairwise_sum(evals);
        let nz: Vec<f64> = evals
            .iter()
            .copied()
            .filter(|&l| l > EVALS_THRESHOLD)
            .collect();
        let raw_fit = fit_power_law(&nz);
        let (fit, raw_alpha, num_fingers) = match raw_fit {
            // A clipped fit that fails fails the layer, as in WW, whose
            // raw_alpha is then unset (-1) too.
            Some(raw) if fix_fingers => match clip_fingers(&nz, raw) {
                Some((f, k)) => (Some(f), Some(raw.alpha), Some(k)),
                None => (None, None, None),
            },
            other => (other, None, None),
        };
        let num_pl_spikes = fit.map_or(0, |f| evals.iter().filter(|&&l| l >= f.xmin).count());
        let tol = sigma_max * n as f64 * f64::EPSILON;
        let matrix_rank = svals.iter().filter(|&&s| s > tol).count();
        let entropy = (matrix_rank >= 2 && norm > 0.0).then(|| {
            let terms: Vec<f64> = evals
                .iter()
                .map(|&l| {
                    let p = l / norm + 1e-10;
                    -p * p.ln()
                })
                .collect();
            pairwise_sum(&terms) / (matrix_rank as f64).ln()
        });
        let erank = effective_rank(&svals);
        let alpha = fit.map(|f| f.alpha);
        let log_alpha_norm = alpha.map(|a| {
            let powered: Vec<f64> = evals.iter().map(|&l| l.max(0.0).powf(a)).collect();
            pairwise_sum(&powered).log10()
        });
        // Σλ > 0 unless every σ is 0: the matrix is zero (its fit failed too).
        let nonzero = norm > 0.0;
        let warning = match alpha {
            None if !nonzero => Some(Warning::ZeroMatrix),
            None => Some(Warning::FitFailed),
            Some(a) if a < ALPHA_LOW => Some(Warning::OverTrained),
            Some(a) if a > ALPHA_HIGH => Some(Warning::UnderTrained),
            Some(_) => None,
        };
        Self {
            n,
            m,
            fit,
            num_pl_spikes,
            lambda_max,
            norm,
            log_norm: nonzero.then(|| norm.log10()),
            log_spectral_norm: nonzero.then(|| lambda_max.log10()),
            alpha_weighted: alpha.map(|a| a * lambda_max.log10()),
            log_alpha_norm,
            stable_rank: nonzero.then(|| norm / lambda_max),
            matrix_rank,
            entropy,
            erank,
            warning,
            raw_alpha,
            num_fingers,
        }
    }

    /// The fitted α, `None` when the fit failed.
    #[must_use]
    pub fn alpha(&self) -> Option<f64> {
        self.fit.map(|f| f.alpha)
    }
}

/// WeightWatcher 0.7.7's `fix_fingers='clip_xmax'` (`RMT_Util.fit_clipped_powerlaw`
/// with its defaults `max_fingers` = 10, `min_alpha` = 2, `finger_thresh` = 1,
/// as `WeightWatcher.fit_powerlaw` calls it) on the fit input `nz`
/// (ascending) whose plain fit is `first`. For k = [`MIN_FINGERS`]..=[`MAX_FINGERS`]
/// (WW's `range(2, max_fingers)`) it refits `nz` without its top k values
/// (`evals[:-idx]`), then:
/// - αₖ + 1 < α₁ (strict; α₁ the first fit's): keep that fit, with
///   `num_fingers` = k − 1 (WW's `idx − 1`), and stop;
/// - else αₖ ≤ 2: stop and keep the **first** fit (`num_fingers` 0);
/// - else go on; after k = 9, the first fit.
///
/// The kept fit's `xmax` is the largest value it was fitted on (for a clipped
/// fit, the (k+1)-th largest λ), as WW reports `fit.xmax`.
///
/// WW then refits without the top k+1, k+2 and k+3 values (k where the loop
/// stopped), stopping early once such a check α differs from αₖ by more than
/// 1; the checks only log, but one that has fewer than 2 values left
/// raises, and WW reports the whole layer as a failed fit. So does this
/// function: it returns `None` (a failed fit) wherever WW's fit raises,
/// which is when a refit, in the loop or in the checks, has fewer than 2
/// values (`argmin` of no candidates). That is every `nz` of 11 to 13 values
/// that runs through all nine clips, for instance.
///
/// One deliberate difference: a clipped sample that is flat ([`fit_power_law`]
/// gives `None`; WW a meaningless α of 0 on the small-n path, which it would
/// accept as a finger fit, or ∞) stops the loop and keeps the first fit.
#[must_use]
pub fn clip_fingers(nz: &[f64], first: PowerLawFit) -> Option<(PowerLawFit, usize)> {
    let mut kept = (first, 0);
    // The loop's last k and its fit, which WW's checks compare against.
    let mut last = (MIN_FINGERS, None);
    for k in MIN_FINGERS..=MAX_FINGERS {
        let fit = fit_power_law(clipped(nz, k)?);
        last = (k, fit);
        let Some(fit) = fit else { break };
        if fit.alpha + FINGER_THRESHOLD < first.alpha {
            kept = (fit, k - 1);
            break;
        }
        if fit.alpha <= ALPHA_LOW {
            break;
        }
    }
    let (stopped_at, last_fit) = last;
    for k in stopped_at + 1..=stopped_at + 3 {
        let check = fit_power_law(clipped(nz, k)?);
        if let (Some(check), Some(last_fit)) = (check, last_fit)
            && (check.alpha - last_fit.alpha).abs() > FINGER_THRESHOLD
        {
            break;
        }
    }
    Some(kept)
}

/// `nz` (ascending) without its top `k` values; `None` where WeightWatcher's
/// fit of it raises (fewer than 2 values left).
fn clipped(nz: &[f64], k: usize) -> Option<&[f64]> {
    let left = nz.len().checked_sub(k).filter(|&left| left >= 2)?;
    nz.get(..left)
}

/// Roy–Vetterli effective rank exp(−Σ q ln q), q = σ/Σσ, of singular values
/// `svals` (any order); 0·ln 0 counts as 0. `None` for an all-zero (or
/// empty) input, where q is 0/0: the effective rank is scale-invariant, so
/// no limit of nearly-zero matrices gives it a value.
#[must_use]
pub fn effective_rank(svals: &[f64]) -> Option<f64> {
    let total = pairwise_sum(svals);
    if total <= 0.0 {
        return None;
    }
    let terms: Vec<f64> = svals
        .iter()
        .map(|&s| {
            let q = s / total;
            if q > 0.0 { -q * q.ln() } else { 0.0 }
        })
        .collect();
    Some(pairwise_sum(&terms).exp())
}

/// Pairwise (cascade) summation: error O(ε log n) instead of O(ε n), as numpy's `sum`.
#[must_use]
pub fn pairwise_sum(x: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    if x.len() <= BLOCK {
        let mut s = 0.0;
        for v in x {
            s += v;
        }
        s
    } else {
        let mid = x.len() / 2;
        pairwise_sum(&x[..mid]) + pairwise_sum(&x[mid..])
    }
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "exact values of exact inputs")]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn hand_computed_metrics_of_a_diagonal_matrix() {
        // W = diag(1, 2, 3) in a 4×3 matrix: σ = 1, 2, 3; λ = 1, 4, 9.
        let m = SpectralMetrics::from_eigenvalues(&[1.0, 4.0, 9.0], 4);
        assert_eq!((m.n, m.m), (4, 3));
        assert!(close(m.lambda_max, 9.0));
        assert!(close(m.norm, 14.0)); // 1 + 4 + 9
        assert!(close(m.log_norm.expect("log_norm"), 14f64.log10()));
        assert!(close(m.log_spectral_norm.expect("lsn"), 9f64.log10()));
        assert!(close(m.stable_rank.expect("stable rank"), 14.0 / 9.0));
        assert_eq!(m.matrix_rank, 3);
        // entropy: p = (1, 4, 9)/14 + 1e-10, −Σ p ln p / ln 3
        let h: f64 = [1.0, 4.0, 9.0]
            .iter()
            .map(|l| {
                let p = l / 14.0 + 1e-10;
                -p * f64::ln(p)
            })
            .sum();
        assert!(close(m.entropy.expect("entropy"), h / 3f64.ln()));
        // erank: q = (1, 2, 3)/6, exp(−Σ q ln q)
        let e: f64 = [1.0, 2.0, 3.0]
            .iter()
            .map(|s: &f64| -(s / 6.0) * (s / 6.0).ln())
            .sum();
        assert!(close(m.erank.expect("erank"), e.exp()));
        // fit (small-n fallback): α = 1 + 2/(ln 9 − ln 1 + ln 4 − ln 1) = 1 + 2/ln 36
        let alpha = 1.0 + 2.0 / 36f64.ln();
        let fit = m.fit.expect("fit");
        assert!(close(fit.alpha, alpha));
        assert_eq!(m.num_pl_spikes, 3);
        assert!(close(m.alpha_weighted.expect("aw"), alpha * 9f64.log10()));
        let lan = (1f64 + 4f64.powf(alpha) + 9f64.powf(alpha)).log10();
        assert!(close(m.log_alpha_norm.expect("lan"), lan));
        assert_eq!(m.warning, Some(Warning::OverTrained));
    }

    #[test]
    fn rank_deficient_matrix() {
        // λ = 0, 0, 4: rank 1, entropy undefined, erank 1, fit fails (one value).
        let m = SpectralMetrics::from_eigenvalues(&[0.0, 0.0, 4.0], 3);
        assert_eq!(m.matrix_rank, 1);
        assert!(m.entropy.is_none());
        assert!(close(m.erank.expect("erank"), 1.0));
        assert!(m.fit.is_none());
        assert_eq!(m.num_pl_spikes, 0);
        assert_eq!(m.warning, Some(Warning::FitFailed));
    }

    #[test]
    fn flat_spectrum_is_a_failed_fit_not_under_trained() {
        // 2·I (λ = 4 ×32) and a spectrum equal up to rounding (2·Q, Q orthonormal).
        let mut near: Vec<f64> = (0..32)
            .map(|k| 4.0 * (1.0 + f64::from(k % 3) * f64::EPSILON))
            .collect();
        near.sort_by(f64::total_cmp);
        for evals in [vec![4.0; 32], near] {
            let m = SpectralMetrics::from_eigenvalues(&evals, 64);
            assert!(m.fit.is_none());
            assert_eq!(m.warning, Some(Warning::FitFailed));
            assert_eq!(m.num_pl_spikes, 0);
            assert!(m.alpha_weighted.is_none() && m.log_alpha_norm.is_none());
        }
    }

    #[test]
    #[expect(
        clippy::approx_constant,
        reason = "3.14 is a sample value of the WW run, not π"
    )]
    fn clip_fingers_is_weightwatchers_clip_xmax() {
        // Expected values from WeightWatcher 0.7.7: the loop of
        // `RMT_Util.fit_clipped_powerlaw` (range(2, 10), strict
        // `fit.alpha + 1 < first.alpha`, stop at `fit.alpha <= 2`,
        // num_fingers = idx − 1) around the installed `WW_powerlaw.WWFit`,
        // run in /tmp/rv/spectral/venv on these literal samples (repr()).
        let drop = [
            1.01, 1.04, 1.05, 1.06, 1.1, 1.11, 1.12, 1.17, 1.2, 1.23, 1.25, 1.29, 1.3, 1.72, 1.81,
            1.87, 1.91, 1.99, 2.03, 2.06, 2.13, 2.66, 2.71, 2.86,
        ];
        // WW: first α 5.692391578043548; idx 2 → α 10.3985 (no); idx 3 →
        // α 4.074466764336926, xmin 1.01, D 0.18634400069321044: kept, num_fingers 2.
        let first = fit_power_law(&drop).expect("fit");
        assert!((first.alpha - 5.692_391_578_043_548).abs() < 1e-10);
        let (fit, fingers) = clip_fingers(&drop, first).expect("clipped");
        assert!((fit.alpha - 4.074_466_764_336_926).abs() < 1e-10);
        assert_eq!(fit.xmin, 1.01);
        assert!((fit.d - 0.186_344_000_693_210_44).abs() < 1e-10);
        assert_eq!(fingers, 2);

        let stop = [
            1.02, 1.18, 1.24, 1.31, 1.34, 1.41, 1.43, 1.44, 1.46, 1.56, 1.84, 2.43, 3.14, 3.2,
            3.46, 4.19, 4.33, 4.51, 10.02, 24.56, 31.78, 40.36, 103.87, 1002.62,
        ];
        // WW: first α 1.562688921895512; idx 2 → α 1.8968704953470994 ≤ 2:
        // stop and keep the first fit, num_fingers 0.
        let first = fit_power_law(&stop).expect("fit");
        assert!((first.alpha - 1.562_688_921_895_512).abs() < 1e-10);
        let (fit, fingers) = clip_fingers(&stop, first).expect("first fit");
        assert_eq!((fit, fingers), (first, 0));

        // Through `compute`: raw α and num_fingers as WW reports them.
        let m = SpectralMetrics::compute(&drop, 30, true);
        assert_eq!(m.num_fingers, Some(2));
        assert!((m.raw_alpha.expect("raw α") - 5.692_391_578_043_548).abs() < 1e-10);
        assert!((m.alpha().expect("α") - 4.074_466_764_336_926).abs() < 1e-10);
    }

    #[test]
    fn clip_fingers_fails_where_weightwatchers_checks_raise() {
        // WW 0.7.7 (`RMT_Util.fit_clipped_powerlaw`, venv built from the
        // weightwatcher 0.7.7 wheel) on these 11 values: α₁ 4.5008 and the
        // clipped α rise (6.04 … 28.0) through all nine clips, so the first
        // fit is kept; its check refits without the top 10 values, one value
        // is left and WWFit raises "attempt to get argmin of an empty
        // sequence": WW reports the layer as failed (this crate kept α₁).
        let x = [
            1.06, 1.1, 1.13, 1.17, 1.3, 1.32, 1.38, 1.48, 1.53, 1.85, 2.16,
        ];
        let first = fit_power_law(&x).expect("fit");
        assert!((first.alpha - 4.500_756_224_590_193_5).abs() < 1e-10);
        assert!(clip_fingers(&x, first).is_none());
        let m = SpectralMetrics::compute(&x, 16, true);
        assert!(m.fit.is_none() && m.raw_alpha.is_none() && m.num_fingers.is_none());
        assert_eq!(m.warning, Some(Warning::FitFailed));

        // 13 values through all nine clips (α 3.345 … 10.645 against α₁
        // 2.9974): the first check, without the top 10, differs from the
        // k = 9 fit by more than 1, which ends the checks before one raises.
        // WW: the first fit, num_fingers 0.
        let y = [
            1.0, 1.06, 1.11, 1.16, 1.31, 1.47, 1.54, 1.8, 1.81, 2.09, 2.58, 3.67, 4.97,
        ];
        let first = fit_power_law(&y).expect("fit");
        assert!((first.alpha - 2.997_361_150_274_709_7).abs() < 1e-10);
        assert_eq!(clip_fingers(&y, first), Some((first, 0)));
    }

    #[test]
    fn clip_fingers_fails_where_weightwatcher_raises() {
        // Eight values rising steeply and never dropping α by 1 nor reaching
        // α ≤ 2 would be clipped to a single value; WW's fit raises there.
        let x: Vec<f64> = (0..8).map(|k| 1.0 + 0.01 * f64::from(k)).collect();
        let first = fit_power_law(&x).expect("fit");
        assert!(first.alpha > 3.0, "{first:?}");
        assert!(clip_fingers(&x, first).is_none());
    }

    #[test]
    fn erank_of_identity_is_its_dimension() {
        assert!(close(effective_rank(&[1.0; 7]).expect("erank"), 7.0));
        assert_eq!(effective_rank(&[0.0; 3]), None);
        assert_eq!(effective_rank(&[]), None);
    }

    #[test]
    fn all_zero_matrix_has_no_undefined_numbers() {
        // W = 0 (16×8): λ = 0 ×8. Σλ = λ_max = 0, rank 0; every ratio or
        // logarithm of them is undefined and absent, never NaN or −∞.
        let m = SpectralMetrics::from_eigenvalues(&[0.0; 8], 16);
        assert_eq!((m.norm, m.lambda_max, m.matrix_rank), (0.0, 0.0, 0));
        assert_eq!(m.log_norm, None);
        assert_eq!(m.log_spectral_norm, None);
        assert_eq!(m.stable_rank, None);
        assert_eq!(m.entropy, None);
        assert_eq!(m.erank, None);
        assert!(m.fit.is_none() && m.alpha_weighted.is_none() && m.log_alpha_norm.is_none());
        assert_eq!(m.num_pl_spikes, 0);
        assert_eq!(m.warning, Some(Warning::ZeroMatrix));
        // With fix_fingers too.
        assert_eq!(SpectralMetrics::compute(&[0.0; 8], 16, true), m);
    }

    #[test]
    fn pairwise_sum_matches_naive_on_small_inputs() {
        let x: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&x), 499_500.0);
    }
}
