//! Continuous power-law fit of an eigenvalue tail, as WeightWatcher's `WWFit`.
//!
//! Algorithm: Clauset, Shalizi & Newman (2009), "Power-law distributions in
//! empirical data", SIAM Review 51(4), with the candidate scan of
//! WeightWatcher 0.7.7 (`WW_powerlaw.WWFit`). On sorted data x₀ ≤ … ≤ x_{n−1},
//! for every candidate i = 0..n−2 with tail size nᵢ = n − i:
//!
//! ```text
//! αᵢ = 1 + nᵢ / Σ_{j≥i} ln(x_j / x_i)
//! Dᵢ = max_{k<nᵢ} | 1 − (x_{i+k}/x_i)^{1−αᵢ} − k/nᵢ |     (Dᵢ = 1 when αᵢ ≤ 1)
//! σᵢ = (αᵢ − 1) / √nᵢ
//! ```
//!
//! and the fit is the first argmin of Dᵢ. Like WWFit, tails with fewer than
//! [`SMALL_N_CUTOFF`] values use its small-n variant: the bias-corrected
//! α = 1 + (nᵢ − 1)/Σ `ln(x_j/x_i)`, only candidates with nᵢ ≥ 8, and again
//! the first argmin of Dᵢ (falling back to the whole sample when no
//! candidate qualifies). WW 0.7.7's `fit_powerlaw_smallN` also ranks the
//! candidates by J = D − 0.868/√nᵢ, but `WWFit.__init__` overwrites that
//! choice with `argmin(Ds)`, and the argmin is what `analyze()` reports.
//!
//! `Σ_{j≥i} ln x_j` comes from a suffix sum, so every αᵢ is O(1), and the KS
//! scan of a candidate stops as soon as it exceeds the best D so far (that
//! candidate can no longer be the first argmin), which keeps the total well
//! under the O(n²) worst case.
#![expect(
    clippy::cast_precision_loss,
    reason = "counts and matrix dimensions are far below 2^52"
)]

use serde::Serialize;

/// Below this many values WeightWatcher (and this crate) switch to the small-n fit.
pub const SMALL_N_CUTOFF: usize = 20;
/// Smallest tail the small-n fit considers.
const SMALL_N_K_MIN: usize = 8;
/// A candidate tail is flat, and its α undefined, when the mean of
/// `ln(x_j/x_i)` over it is at most this: its values agree with its smallest
/// to about nine significant digits. An f64 SVD of a matrix with up to 15000
/// columns resolves eigenvalues to about M·ε ≈ 3e-12 of `λ_max`, so a tail
/// this flat is equal values plus rounding (2·I gives Σ = 0 and α = ∞; 2·Q
/// with Q orthonormal gives α ≈ 1e15), not a power law. In α terms the
/// rule rejects α − 1 ≥ 1e9 (standard fit) or ≥ (nᵢ − 1)/nᵢ·1e9 (small-n).
pub const FLAT_TAIL_TOLERANCE: f64 = 1e-9;

/// The chosen power-law fit of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerLawFit {
    /// Fitted exponent α.
    pub alpha: f64,
    /// Lower cut-off of the fitted tail (the chosen candidate value).
    pub xmin: f64,
    /// Largest value of the sample.
    pub xmax: f64,
    /// Kolmogorov–Smirnov distance of the fit.
    pub d: f64,
    /// Standard error of α, (α − 1)/√`n_tail`.
    pub sigma: f64,
    /// Number of values in the fitted tail (values ≥ `xmin` in the sample).
    pub n_tail: usize,
}

/// Fits a continuous power law to `sorted` (ascending, all values > 0).
///
/// Returns `None` when the fit is undefined: fewer than two values, or every
/// candidate tail flat ([`is_flat_tail`]: all values equal up to rounding),
/// where WeightWatcher would report α = ∞, α ≈ 1e15 or α = 0. Flat
/// candidates are never chosen; on any other data this skips nothing, so the
/// result is WeightWatcher's.
#[must_use]
pub fn fit_power_law(sorted: &[f64]) -> Option<PowerLawFit> {
    let n = sorted.len();
    if n < 2 {
        return None;
    }
    debug_assert!(
        sorted.windows(2).all(|w| w[0] <= w[1]),
        "input must be sorted"
    );
    let logs: Vec<f64> = sorted.iter().map(|x| x.ln()).collect();
    // suffix[i] = Σ_{j≥i} ln x_j, accumulated from the top as numpy's sum is
    // exact enough here; the subtraction below is WWFit's own formula.
    let mut suffix = vec![0.0; n + 1];
    for i in (0..n).rev() {
        suffix[i] = suffix[i + 1] + logs[i];
    }
    let xmax = sorted[n - 1];
    if n < SMALL_N_CUTOFF {
        return fit_small_n(sorted, &logs, &suffix, xmax);
    }
    let mut best: Option<(usize, f64, f64)> = None; // (i, alpha, D)
    for i in 0..n - 1 {
        let tail = n - i;
        let nf = tail as f64;
        let s = suffix[i] - nf * logs[i];
        if is_flat_tail(s, tail) {
            continue;
        }
        let alpha = 1.0 + nf / s;
        let bound = best.map_or(f64::INFINITY, |(_, _, d)| d);
        let d = if alpha > 1.0 {
            ks_distance(&sorted[i..], alpha, bound)
        } else {
            1.0
        };
        if d < bound {
            best = Some((i, alpha, d));
        }
    }
    let (i, alpha, d) = best?;
    // Finite for finite input (s > 0 past the flat rule); an ∞ or NaN in
    // the data must still not become a "successful" fit.
    if !alpha.is_finite() {
        return None;
    }
    let tail = n - i;
    Some(PowerLawFit {
        alpha,
        xmin: sorted[i],
        xmax,
        d,
        sigma: (alpha - 1.0) / (tail as f64).sqrt(),
        n_tail: tail,
    })
}

/// WWFit's small-n fit as WeightWatcher 0.7.7 reports it: the bias-corrected
/// α = 1 + (nᵢ − 1)/Σ `ln(x_j/x_i)` for every candidate with a tail of at
/// least [`SMALL_N_K_MIN`] values, and the **first argmin of D** among them.
///
/// WW's `fit_powerlaw_smallN` first picks a candidate by
/// J = D − 0.868/√nᵢ, but `WWFit.__init__` then runs `np.argmin(self.Ds)`
/// over the same arrays and overwrites xmin, α, σ and D with that argmin;
/// the J choice never reaches `analyze()`. Candidates WW skips (tail below
/// `k_min`, Σ ≤ 1e-12) keep its initial D = 1, which no computed D
/// (a distance between two CDFs with values in [0, 1)) reaches, so the
/// argmin is the first smallest D among the qualifying candidates. With no
/// qualifying candidate the whole sample is the tail, as in WW.
fn fit_small_n(sorted: &[f64], logs: &[f64], suffix: &[f64], xmax: f64) -> Option<PowerLawFit> {
    let n = sorted.len();
    let mut best: Option<(usize, f64, f64)> = None; // (i, alpha, D)
    for i in 0..n - 1 {
        let tail = n - i;
        if tail < SMALL_N_K_MIN {
            // Tails only shrink from here on.
            break;
        }
        let Some(alpha) = small_n_alpha(suffix[i] - tail as f64 * logs[i], tail) else {
            continue;
        };
        let bound = best.map_or(f64::INFINITY, |(_, _, d)| d);
        let d = ks_distance(&sorted[i..], alpha, bound);
        if d < bound {
            best = Some((i, alpha, d));
        }
    }
    let (i, alpha, d) = if let Some(found) = best {
        found
    } else {
        // No candidate qualified: the whole sample is the tail.
        let alpha = small_n_alpha(suffix[0] - n as f64 * logs[0], n)?;
        (0, alpha, ks_distance(sorted, alpha, f64::INFINITY))
    };
    let tail = n - i;
    Some(PowerLawFit {
        alpha,
        xmin: sorted[i],
        xmax,
        d,
        sigma: (alpha - 1.0) / (tail as f64).sqrt(),
        n_tail: tail,
    })
}

/// WW's bias-corrected small-n α = 1 + (n − 1)/s for a tail of `tail` values
/// with `s` = Σ `ln(x_j/x_i)`; `None` where WW skips the candidate
/// (s ≤ 1e-12, or α ≤ 1, which only a one-value tail can give) and for a
/// flat tail ([`is_flat_tail`], which covers WW's s ≤ 1e-12).
fn small_n_alpha(s: f64, tail: usize) -> Option<f64> {
    if is_flat_tail(s, tail) {
        return None;
    }
    let alpha = 1.0 + (tail as f64 - 1.0) / s;
    (alpha > 1.0).then_some(alpha)
}

/// Whether a candidate tail of `tail` values with `s` = Σ `ln(x_j/x_i)` is
/// flat: mean log-ratio ≤ [`FLAT_TAIL_TOLERANCE`] (see there for why).
#[must_use]
pub fn is_flat_tail(s: f64, tail: usize) -> bool {
    s <= tail as f64 * FLAT_TAIL_TOLERANCE
}

/// KS distance between the empirical CDF of `tail` (k/n at the k-th value)
/// and the power-law CDF 1 − (x/x₀)^{1−α}. Returns early with a value
/// `>= bound` once the running maximum reaches `bound`.
fn ks_distance(tail: &[f64], alpha: f64, bound: f64) -> f64 {
    let x0 = tail[0];
    let nf = tail.len() as f64;
    let e = 1.0 - alpha;
    let mut d: f64 = 0.0;
    for (k, &x) in tail.iter().enumerate() {
        let v = (1.0 - (x / x0).powf(e) - k as f64 / nf).abs();
        if v > d {
            d = v;
            if d >= bound {
                return d;
            }
        }
    }
    d
}

#[cfg(test)]
#[expect(
    clippy::float_cmp,
    clippy::many_single_char_names,
    reason = "exact sample values; formula names"
)]
mod tests {
    use super::*;

    /// Inverse-CDF Pareto samples x = xmin·(1−u)^{−1/(α−1)} on a fixed
    /// low-discrepancy grid of u (deterministic, no RNG needed).
    fn pareto(alpha: f64, xmin: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut v: Vec<f64> = (0..n)
            .map(|_| {
                // splitmix64
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                let u = (z >> 11) as f64 / (1u64 << 53) as f64;
                xmin * (1.0 - u).powf(-1.0 / (alpha - 1.0))
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn recovers_alpha_of_pareto_samples_within_sigma() {
        for (alpha, seed) in [(2.0, 1), (2.5, 2), (3.5, 3), (5.0, 4)] {
            let x = pareto(alpha, 1.0, 4000, seed);
            let fit = fit_power_law(&x).expect("fit");
            eprintln!("seed {seed}: true α {alpha}, fit {fit:?}");
            assert!(
                (fit.alpha - alpha).abs() <= 3.0 * fit.sigma,
                "α {alpha}: got {} ± {}",
                fit.alpha,
                fit.sigma
            );
            assert!(fit.d < 0.1);
        }
    }

    #[test]
    fn hand_computed_three_point_fit() {
        // x = [1, 2, 4]: candidate 0: α = 1 + 3/(ln1+ln2+ln4 − 3·0) = 1 + 3/(3 ln 2)
        // candidate 1: α = 1 + 2/ln 2.  Small-n path (n < 20) needs tails ≥ 8,
        // so it falls back to the whole sample: α = 1 + 2/(3 ln 2).
        let fit = fit_power_law(&[1.0, 2.0, 4.0]).expect("fit");
        let expected = 1.0 + 2.0 / (3.0 * std::f64::consts::LN_2);
        assert!((fit.alpha - expected).abs() < 1e-12);
        assert_eq!(fit.xmin, 1.0);
        assert_eq!(fit.xmax, 4.0);
        assert_eq!(fit.n_tail, 3);
    }

    #[test]
    fn small_n_fit_is_weightwatchers_argmin_of_d() {
        // n = 15 < 20: the small-n path. Expected values are WeightWatcher
        // 0.7.7's own `WW_powerlaw.WWFit(np.array(x))` (float64, run from the
        // reviewer's venv /tmp/rv/spectral/venv), printed with repr():
        // alpha 2.1005144762473753, xmin 2.9, D 0.09299885086350601,
        // sigma 0.3668381587491251; WW's analyze() counts 9 values ≥ xmin.
        let x = [
            0.5, 0.9, 1.3, 1.6, 2.0, 2.2, 2.9, 3.1, 4.0, 4.4, 5.0, 7.5, 9.0, 13.0, 30.0,
        ];
        let fit = fit_power_law(&x).expect("fit");
        assert_eq!(fit.xmin, 2.9);
        assert_eq!(fit.n_tail, 9);
        assert!((fit.alpha - 2.100_514_476_247_375_3).abs() < 1e-12);
        assert!((fit.d - 0.092_998_850_863_506_01).abs() < 1e-12);
        assert!((fit.sigma - 0.366_838_158_749_125_1).abs() < 1e-12);
        // By hand: the bias-corrected α of the 9-value tail from 2.9.
        let s: f64 = x[6..].iter().map(|v| (v / 2.9).ln()).sum();
        assert!((fit.alpha - (1.0 + 8.0 / s)).abs() < 1e-12);
        // The J = D − 0.868/√n choice that WW computes and then discards
        // would be the 8-value tail from 3.1 (α 2.0392238147360180).
        assert_ne!(fit.xmin, 3.1);
    }

    #[test]
    fn standard_path_matches_closed_form_for_geometric_sample() {
        // Geometric data x_k = 2^k, k = 0..24 (n = 25 ≥ 20: standard path).
        let x: Vec<f64> = (0..25).map(|k| f64::from(2_i32.pow(k))).collect();
        let fit = fit_power_law(&x).expect("fit");
        // For candidate i the tail is 2^i..2^24, Σ ln(x_j/x_i) = ln2·m(m−1)/2, m = 25 − i.
        let m = (25 - x.iter().position(|&v| v == fit.xmin).expect("xmin in data")) as f64;
        let expected = 1.0 + m / (std::f64::consts::LN_2 * m * (m - 1.0) / 2.0);
        assert!((fit.alpha - expected).abs() < 1e-12 * expected);
        assert!((fit.sigma - (fit.alpha - 1.0) / m.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn degenerate_samples_are_failed_fits() {
        assert!(fit_power_law(&[]).is_none());
        assert!(fit_power_law(&[3.0]).is_none());
        assert!(fit_power_law(&[2.0; 5]).is_none());
        // 2·I: every λ = 4, small-n (16) and standard (32) paths; Σ ln = 0.
        assert!(fit_power_law(&[4.0; 16]).is_none());
        assert!(fit_power_law(&[4.0; 32]).is_none());
        // 2·Q, Q orthonormal: λ = 4 up to rounding (a few ulps apart), which
        // gave α ≈ 6e14 before.
        let mut ulps: Vec<f64> = (0..32)
            .map(|k| 4.0 + f64::from(k % 4) * 4.0 * f64::EPSILON)
            .collect();
        ulps.sort_by(f64::total_cmp);
        assert!(fit_power_law(&ulps).is_none());
    }

    #[test]
    fn flat_tail_rule_on_hand_computed_sums() {
        // Mean log-ratio exactly at the tolerance is flat, just above is not.
        assert!(is_flat_tail(0.0, 5));
        assert!(is_flat_tail(10.0 * FLAT_TAIL_TOLERANCE, 10));
        assert!(!is_flat_tail(10.0 * FLAT_TAIL_TOLERANCE * 1.5, 10));
        // ln 2 over two values is a real spread.
        assert!(!is_flat_tail(std::f64::consts::LN_2, 2));
    }

    #[test]
    fn flat_top_candidates_are_skipped_but_the_fit_stands() {
        // 24 ones and one 10: candidate 0 has Σ ln = ln 10 and is a fit;
        // the later candidates (ones … 10) are not flat either. A flat top
        // (the last candidates [10, 10]) is skipped, never chosen.
        let mut x = vec![1.0; 24];
        x.push(10.0);
        let fit = fit_power_law(&x).expect("fit");
        assert!(fit.alpha.is_finite());
        let mut y: Vec<f64> = (1..=23).map(f64::from).collect();
        y.extend([50.0, 50.0]);
        let fit = fit_power_law(&y).expect("fit");
        assert!(fit.alpha.is_finite() && fit.xmin < 50.0);
    }

    #[test]
    fn early_exit_does_not_change_the_argmin() {
        let x = pareto(3.0, 0.5, 600, 9);
        let fit = fit_power_law(&x).expect("fit");
        // Brute force: every D in full, first argmin.
        let n = x.len();
        let mut best = (f64::INFINITY, 0);
        for i in 0..n - 1 {
            let nf = (n - i) as f64;
            let s: f64 = x[i..].iter().map(|v| (v / x[i]).ln()).sum();
            let a = 1.0 + nf / s;
            let d = ks_distance(&x[i..], a, f64::INFINITY);
            if d < best.0 {
                best = (d, i);
            }
        }
        assert_eq!(fit.xmin, x[best.1]);
        assert!((fit.d - best.0).abs() < 1e-9);
    }
}
