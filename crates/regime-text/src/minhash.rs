//! `MinHash` signatures and LSH banding for near-duplicate detection.
//!
//! Shingles are hashed word n-grams of normalised text (default
//! [`DEFAULT_SHINGLE_WORDS`] = 5, CORPUS.md "Corpus de-duplication") or
//! character n-grams ([`char_shingles`], the `nemo` preset). Hash function
//! `i` of a signature is the universal hash
//! `h_i(x) = (a_i · x + b_i) mod p` with `p = 2⁶¹ − 1` (Carter & Wegman
//! 1979), the parameters drawn from a `SplitMix64` stream of the seed; the
//! signature holds `min_x h_i(x)` over the shingle set (Broder 1997), so
//! `P[sig_a[i] = sig_b[i]] ≈ J(a, b)`. Banding with `b` bands of `r` rows makes
//! a pair a candidate with probability `1 − (1 − Jʳ)ᵇ`, whose midpoint is
//! about `(1/b)^(1/r)` ([`MinHasher::threshold`]; 14 × 8 → ≈ 0.72).

use crate::error::Error;
use crate::hash::{ngram_hash, token_hash};

/// Default words per shingle.
pub const DEFAULT_SHINGLE_WORDS: usize = 5;
/// Default number of LSH bands.
pub const DEFAULT_BANDS: usize = 14;
/// Default rows per band (hashes per band).
pub const DEFAULT_ROWS: usize = 8;
/// Largest `bands × rows` accepted.
pub const MAX_HASHES: usize = 4096;
/// The Mersenne prime 2⁶¹ − 1, modulus of the universal hashes.
pub const MERSENNE_61: u64 = (1 << 61) - 1;

/// The set of word n-gram shingles of `words`, as sorted, de-duplicated
/// hashes. A text with fewer than `n` (but at least one) words is one
/// shingle of all its words; no words gives no shingles.
#[must_use]
pub fn word_shingles(words: &[&str], n: usize) -> Vec<u64> {
    let hashes: Vec<u64> = words.iter().map(|w| token_hash(w)).collect();
    let n = n.max(1);
    let mut out: Vec<u64> = if hashes.len() < n {
        if hashes.is_empty() {
            Vec::new()
        } else {
            vec![ngram_hash(&hashes)]
        }
    } else {
        hashes.windows(n).map(ngram_hash).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// The set of character n-gram shingles of `text` (n Unicode scalar values),
/// as sorted, de-duplicated hashes; a shorter non-empty text is one shingle.
#[must_use]
pub fn char_shingles(text: &str, n: usize) -> Vec<u64> {
    let n = n.max(1);
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = bounds.len() - 1;
    let mut out: Vec<u64> = if chars < n {
        if chars == 0 {
            Vec::new()
        } else {
            vec![token_hash(text)]
        }
    } else {
        (0..=chars - n)
            .map(|i| token_hash(&text[bounds[i]..bounds[i + n]]))
            .collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Exact Jaccard similarity `|A ∩ B| / |A ∪ B|` of two sorted, de-duplicated
/// sets (1 when both are empty).
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "set sizes far below 2^52")]
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Share of equal positions of two signatures: the `MinHash` estimate of J.
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "signature lengths are small")]
pub fn estimate_jaccard(a: &[u64], b: &[u64]) -> f64 {
    let len = a.len().min(b.len());
    if len == 0 {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / len as f64
}

/// Computes `MinHash` signatures and LSH band keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinHasher {
    bands: usize,
    rows: usize,
    params: Vec<(u64, u64)>,
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `(a · x + b) mod (2⁶¹ − 1)` for `a, b, x < 2⁶¹ − 1`.
#[inline]
fn universal(mul: u64, add: u64, value: u64) -> u64 {
    // a·x < 2^122 = hi·2^61 + lo with hi, lo < 2^61, and 2^61 ≡ 1 (mod p):
    // hi + lo + b < 3·2^61 folds once more below 2^61 + 2, in u64.
    let prod = u128::from(mul) * u128::from(value);
    #[expect(clippy::cast_possible_truncation, reason = "the low 61 bits")]
    let lo = prod as u64 & MERSENNE_61;
    #[expect(clippy::cast_possible_truncation, reason = "below 2^61")]
    let hi = (prod >> 61) as u64;
    let folded = lo + hi + add;
    let folded = (folded & MERSENNE_61) + (folded >> 61);
    if folded >= MERSENNE_61 {
        folded - MERSENNE_61
    } else {
        folded
    }
}

impl MinHasher {
    /// A hasher with `bands × rows` hash functions drawn from `seed`.
    ///
    /// # Errors
    /// [`Error::Config`] when `bands` or `rows` is zero or the product
    /// exceeds [`MAX_HASHES`].
    pub fn new(bands: usize, rows: usize, seed: u64) -> Result<Self, Error> {
        let total = bands
            .checked_mul(rows)
            .filter(|&t| t > 0 && t <= MAX_HASHES);
        let Some(total) = total else {
            return Err(Error::Config {
                what: "minhash bands × rows",
                reason: format!("{bands} × {rows} must be between 1 and {MAX_HASHES}"),
            });
        };
        let mut state = seed;
        let params = (0..total)
            .map(|_| {
                let a = splitmix64(&mut state) % (MERSENNE_61 - 1) + 1;
                let b = splitmix64(&mut state) % MERSENNE_61;
                (a, b)
            })
            .collect();
        Ok(Self {
            bands,
            rows,
            params,
        })
    }

    /// Number of bands.
    #[must_use]
    pub fn bands(&self) -> usize {
        self.bands
    }

    /// Rows (hashes) per band.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Signature length, `bands × rows`.
    #[must_use]
    pub fn num_hashes(&self) -> usize {
        self.params.len()
    }

    /// The signature of a shingle set (all `u64::MAX` when empty).
    #[must_use]
    pub fn signature(&self, shingles: &[u64]) -> Vec<u64> {
        let mut sig = vec![u64::MAX; self.params.len()];
        for &s in shingles {
            let x = s % MERSENNE_61;
            for (slot, &(a, b)) in sig.iter_mut().zip(&self.params) {
                let h = universal(a, b, x);
                if h < *slot {
                    *slot = h;
                }
            }
        }
        sig
    }

    /// One key per band: `xxh3` of the band index and its rows. Two
    /// signatures are LSH candidates when any band key is equal.
    #[must_use]
    pub fn band_keys(&self, signature: &[u64]) -> Vec<u64> {
        signature
            .chunks(self.rows)
            .take(self.bands)
            .enumerate()
            .map(|(band, rows)| {
                let mut buf = Vec::with_capacity(rows.len() + 1);
                buf.push(band as u64);
                buf.extend_from_slice(rows);
                ngram_hash(&buf)
            })
            .collect()
    }

    /// `P(candidate | J) = 1 − (1 − Jʳ)ᵇ`, the banding S-curve.
    #[must_use]
    pub fn candidate_probability(&self, jaccard: f64) -> f64 {
        let r = i32::try_from(self.rows).unwrap_or(i32::MAX);
        let b = i32::try_from(self.bands).unwrap_or(i32::MAX);
        1.0 - (1.0 - jaccard.powi(r)).powi(b)
    }

    /// The approximate threshold `(1/b)^(1/r)` of the S-curve.
    #[must_use]
    #[expect(
        clippy::cast_precision_loss,
        reason = "bands and rows are at most 4096"
    )]
    pub fn threshold(&self) -> f64 {
        (1.0 / self.bands as f64).powf(1.0 / self.rows as f64)
    }
}

/// The `(bands, rows)` with `bands × rows ≤ num_hashes` whose threshold
/// `(1/b)^(1/r)` is closest to `threshold` (ties: more hashes, then fewer
/// rows).
#[must_use]
#[expect(clippy::cast_precision_loss, reason = "bands and rows are small")]
pub fn bands_for_threshold(threshold: f64, num_hashes: usize) -> (usize, usize) {
    let mut best = (1, 1);
    let mut best_err = f64::INFINITY;
    for rows in 1..=num_hashes.max(1) {
        let bands = num_hashes.max(1) / rows;
        if bands == 0 {
            break;
        }
        let t = (1.0 / bands as f64).powf(1.0 / rows as f64);
        let err = (t - threshold).abs();
        if err < best_err - 1e-12 {
            best = (bands, rows);
            best_err = err;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shingles_of_short_and_long_texts() {
        // 6 words, n = 5: 6 - 5 + 1 = 2 shingles.
        assert_eq!(word_shingles(&["a", "b", "c", "d", "e", "f"], 5).len(), 2);
        assert_eq!(word_shingles(&["a", "b"], 5).len(), 1);
        assert!(word_shingles(&[], 5).is_empty());
        // "abcd", n = 3: "abc", "bcd".
        assert_eq!(char_shingles("abcd", 3).len(), 2);
        assert_eq!(char_shingles("ab", 3).len(), 1);
    }

    #[test]
    fn exact_jaccard_closed_form() {
        // A = {1,2,3}, B = {2,3,4}: |A∩B| = 2, |A∪B| = 4 → 0.5.
        assert!((jaccard(&[1, 2, 3], &[2, 3, 4]) - 0.5).abs() < 1e-12);
        assert!((jaccard(&[], &[]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn identical_sets_have_identical_signatures_and_bands() {
        let m = MinHasher::new(DEFAULT_BANDS, DEFAULT_ROWS, 42).unwrap();
        let s = word_shingles(&["the", "cat", "sat", "on", "the", "mat", "today"], 5);
        let a = m.signature(&s);
        assert_eq!(a.len(), 112);
        assert_eq!(a, m.signature(&s));
        assert!((estimate_jaccard(&a, &a) - 1.0).abs() < 1e-12);
        assert_eq!(m.band_keys(&a).len(), 14);
    }

    #[test]
    fn estimate_tracks_true_jaccard() {
        let m = MinHasher::new(64, 4, 7).unwrap();
        let a: Vec<u64> = (0..1000).collect();
        let b: Vec<u64> = (500..1500).collect();
        // J = 500 / 1500 = 1/3; std of the estimate ≈ sqrt(J(1-J)/256) ≈ 0.03.
        let est = estimate_jaccard(&m.signature(&a), &m.signature(&b));
        assert!((est - 1.0 / 3.0).abs() < 0.1, "{est}");
    }

    #[test]
    fn threshold_of_default_banding() {
        let m = MinHasher::new(14, 8, 0).unwrap();
        // (1/14)^(1/8) = 0.7190...
        assert!((m.threshold() - 0.719_0).abs() < 1e-3);
        assert!(m.candidate_probability(0.9) > 0.99);
        assert!(m.candidate_probability(0.3) < 0.01);
        assert!(MinHasher::new(0, 8, 0).is_err());
        assert_eq!(bands_for_threshold(0.719, 112), (14, 8));
    }

    #[test]
    fn universal_hash_reduces_mod_p() {
        // (1·(p−1) + 1) mod p = 0.
        assert_eq!(universal(1, 1, MERSENNE_61 - 1), 0);
        assert_eq!(universal(2, 3, 5), 13);
        // Against the definition, at the extremes and on a stream.
        let p = u128::from(MERSENNE_61);
        let definition =
            |a: u64, b: u64, x: u64| (u128::from(a) * u128::from(x) + u128::from(b)) % p;
        let edges = [0, 1, 2, MERSENNE_61 - 2, MERSENNE_61 - 1, 1 << 60];
        for &a in &edges {
            for &b in &edges {
                for &x in &edges {
                    assert_eq!(u128::from(universal(a, b, x)), definition(a, b, x));
                }
            }
        }
        let mut state = 7;
        for _ in 0..100_000 {
            let a = splitmix64(&mut state) % MERSENNE_61;
            let b = splitmix64(&mut state) % MERSENNE_61;
            let x = splitmix64(&mut state) % MERSENNE_61;
            assert_eq!(u128::from(universal(a, b, x)), definition(a, b, x));
        }
    }
}
