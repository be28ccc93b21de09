//! Unigram (type/token) figures from exact type counts.
//!
//! With type counts `c_i > 0`, `V` = number of types and `T = Σ c_i`:
//! - `ttr = V / T`; `hapax_share = |{i : c_i = 1}| / V`;
//! - `entropy_bits H = −Σ p_i log₂ p_i` with `p_i = c_i / T`, summed in
//!   ascending order of `c_i` (small terms first) and `entropy_norm = H / log₂ V`
//!   (`null` when `V < 2`);
//! - `head_mass` = share of tokens from the `⌈V / 100⌉` most frequent types;
//! - `tail_mass` = share of tokens from types with `c_i ≤ 10`;
//! - `zipf_exponent s`: ordinary least squares of `ln c_(r)` on `ln r` over
//!   ranks `r = 10 … min(V, 10⁴)` (counts sorted descending), `s = −slope`
//!   (`null` when fewer than 2 ranks are in range, i.e. `V < 11`).

use crate::report::UnigramFigures;

/// Types seen at most this often are the tail.
pub const TAIL_MAX_COUNT: u64 = 10;
/// First rank of the Zipf fit.
pub const ZIPF_FIRST_RANK: usize = 10;
/// Last rank of the Zipf fit (or `V` when smaller).
pub const ZIPF_LAST_RANK: usize = 10_000;

/// The unigram figures of a list of type counts (zeros are ignored).
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "counts and ranks below 2^52")]
pub fn unigram_figures(counts: &[u64]) -> UnigramFigures {
    let mut sorted: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let v = sorted.len();
    let t: u64 = sorted.iter().sum();
    let tf = t as f64;
    let share = |x: u64| if t == 0 { 0.0 } else { x as f64 / tf };
    let hapax = sorted.iter().filter(|&&c| c == 1).count();
    // Ascending order: small terms first keeps the sum accurate.
    let entropy_bits = if t == 0 {
        0.0
    } else {
        sorted
            .iter()
            .rev()
            .map(|&c| {
                let p = c as f64 / tf;
                -p * p.log2()
            })
            .sum::<f64>()
            // A lone type's term is −1·log₂1 = −0.0, which the report would
            // print as `-0`; adding +0.0 makes it 0 and changes nothing else.
            + 0.0
    };
    let head = v.div_ceil(100);
    let head_mass = share(sorted.iter().take(head).sum());
    let tail_mass = share(sorted.iter().filter(|&&c| c <= TAIL_MAX_COUNT).sum());
    UnigramFigures {
        tokens: t,
        types: v as u64,
        ttr: share(v as u64),
        hapax_share: if v == 0 { 0.0 } else { hapax as f64 / v as f64 },
        entropy_bits,
        entropy_norm: (v >= 2).then(|| entropy_bits / (v as f64).log2()),
        head_mass,
        tail_mass,
        zipf_exponent: zipf_exponent(&sorted),
    }
}

/// `−slope` of least squares `ln c_(r)` on `ln r`, `r = 10 … min(V, 10⁴)`.
#[expect(clippy::cast_precision_loss, reason = "ranks below 2^52")]
fn zipf_exponent(sorted_desc: &[u64]) -> Option<f64> {
    let last = sorted_desc.len().min(ZIPF_LAST_RANK);
    if last < ZIPF_FIRST_RANK + 1 {
        return None;
    }
    let points: Vec<(f64, f64)> = (ZIPF_FIRST_RANK..=last)
        .map(|r| ((r as f64).ln(), (sorted_desc[r - 1] as f64).ln()))
        .collect();
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    // Σ(x − x̄)(y − c) is the same for every constant c; c = the first y
    // (not ȳ, whose division rounds) makes every term exactly 0 when the
    // counts in range are all equal, so a flat tail has slope exactly 0.
    let y0 = points[0].1;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - y0)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    // Then sxy = ±0 and −sxy/sxx may be −0.0, which the report would print
    // as `-0`; adding +0.0 makes it 0 and changes nothing else.
    (sxx > 0.0).then(|| -sxy / sxx + 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    #[test]
    fn hand_computed_fixture() {
        // Tokens "a a a b b c": V = 3, T = 6.
        let f = unigram_figures(&[3, 2, 1]);
        assert_eq!((f.types, f.tokens), (3, 6));
        // ttr = 3/6; hapax share = 1/3 (only c).
        assert!((f.ttr - 0.5).abs() < EPS);
        assert!((f.hapax_share - 1.0 / 3.0).abs() < EPS);
        // H = −(½ log₂ ½ + ⅓ log₂ ⅓ + ⅙ log₂ ⅙) = 1.459147917...
        let h = -(0.5f64 * 0.5f64.log2()
            + (1.0 / 3.0) * (1.0f64 / 3.0).log2()
            + (1.0 / 6.0) * (1.0f64 / 6.0).log2());
        assert!((f.entropy_bits - h).abs() < EPS);
        assert!((f.entropy_bits - 1.459_147_917).abs() < 1e-9);
        // H / log₂ 3.
        assert!((f.entropy_norm.unwrap() - h / 3f64.log2()).abs() < EPS);
        // head = ⌈3/100⌉ = 1 type ("a"): 3/6. All counts ≤ 10 → tail 1.
        assert!((f.head_mass - 0.5).abs() < EPS);
        assert!((f.tail_mass - 1.0).abs() < EPS);
        // V = 3 < 11: no Zipf fit.
        assert!(f.zipf_exponent.is_none());
    }

    #[test]
    fn tail_mass_counts_only_rare_types() {
        // counts 20, 10, 1: tail = (10 + 1) / 31.
        let f = unigram_figures(&[20, 10, 1, 0]);
        assert_eq!(f.types, 3);
        assert!((f.tail_mass - 11.0 / 31.0).abs() < EPS);
    }

    #[test]
    fn zipf_exponent_of_exact_power_law() {
        // c_r = round(1e8 / r²) for r = 1..=200: slope over ranks 10..200 ≈ −2 → s ≈ 2.
        let counts: Vec<u64> = (1..=200u32)
            .map(|r| (100_000_000 + u64::from(r * r) / 2) / u64::from(r * r))
            .collect();
        let s = unigram_figures(&counts).zipf_exponent.unwrap();
        assert!((s - 2.0).abs() < 1e-4, "{s}");
    }

    #[test]
    fn zipf_exponent_of_a_flat_tail_is_zero_not_minus_zero() {
        // 11 or 20 types seen 3 times each: ln c is constant over ranks
        // 10..V, so the slope is 0 and s = 0, which must print as 0, not -0
        // (nor as a rounding error such as -1e-30).
        for v in [11, 20, 10_500] {
            let s = unigram_figures(&vec![3; v]).zipf_exponent.unwrap();
            assert!(s == 0.0 && s.is_sign_positive(), "V = {v}: {s}");
        }
        // Flat only past rank 10: still 0.
        let mut counts = vec![1000, 900, 800, 700, 600, 500, 400, 300, 200];
        counts.extend([7; 30]);
        let s = unigram_figures(&counts).zipf_exponent.unwrap();
        assert!(s == 0.0 && s.is_sign_positive(), "{s}");
    }

    #[test]
    fn empty_and_single_type() {
        let f = unigram_figures(&[]);
        assert_eq!((f.types, f.tokens), (0, 0));
        assert!(f.entropy_norm.is_none());
        // One type: H = 0, H/log₂1 undefined.
        let f = unigram_figures(&[5]);
        assert!(f.entropy_bits.abs() < EPS && f.entropy_norm.is_none());
        // 0, not -0: the report prints the sign.
        assert!(f.entropy_bits.is_sign_positive());
        assert!((f.head_mass - 1.0).abs() < EPS);
    }
}
