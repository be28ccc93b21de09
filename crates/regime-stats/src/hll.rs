//! HyperLogLog distinct counts.
//!
//! Algorithm from: Flajolet, Fusy, Gandouet & Meunier (2007), "HyperLogLog:
//! the analysis of a near-optimal cardinality estimation algorithm", with the
//! small-range correction of Heule, Nunkesser & Hall (2013, HLL++ §4, linear
//! counting below 2.5·m; no bias tables).
//!
//! With `m = 2^p` registers and a 64-bit hash `h`: register `j` = the top `p`
//! bits of `h`, `ρ` = 1 + leading zeros of the remaining `64 − p` bits;
//! `M[j] = max ρ`. Estimate `E = α_m · m² / Σ 2^(−M[j])` with
//! `α_m = 0.7213 / (1 + 1.079 / m)`; if `E ≤ 2.5·m` and some registers are
//! zero (`V` of them), `E = m · ln(m / V)`. Relative standard error
//! `1.04 / √m` ([`HyperLogLog::relative_std_error`]); the bound printed beside a
//! figure is three of those ([`HyperLogLog::error_bound`], ≈ 99.7%). Merging
//! takes the register-wise maximum, which is exact: the merge of two halves
//! equals the sketch of the whole.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Default precision `p` (2^14 = 16,384 registers, 16 KiB; σ ≈ 0.81%).
pub const DEFAULT_HLL_PRECISION: u8 = 14;

/// A HyperLogLog sketch over 64-bit hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HyperLogLog {
    precision: u8,
    registers: Vec<u8>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        Self {
            precision: DEFAULT_HLL_PRECISION,
            registers: vec![0; 1 << DEFAULT_HLL_PRECISION],
        }
    }
}

impl HyperLogLog {
    /// An empty sketch with `2^precision` registers.
    ///
    /// # Errors
    /// [`Error::Config`] unless `4 ≤ precision ≤ 18`.
    pub fn with_precision(precision: u8) -> Result<Self, Error> {
        if !(4..=18).contains(&precision) {
            return Err(Error::Config {
                what: "hyperloglog precision",
                reason: format!("{precision} is not in 4..=18"),
            });
        }
        Ok(Self {
            precision,
            registers: vec![0; 1 << precision],
        })
    }

    /// The sketch of a set of hashes, default precision.
    #[must_use]
    pub fn new(hashes: &[u64]) -> Self {
        let mut h = Self::default();
        for &x in hashes {
            h.insert(x);
        }
        h
    }

    /// Adds one (well-mixed, e.g. xxh3) 64-bit hash.
    pub fn insert(&mut self, hash: u64) {
        let p = u32::from(self.precision);
        let j = usize::try_from(hash >> (64 - p)).unwrap_or(0);
        let rest = (hash << p) | (1 << (p - 1));
        let rho = u8::try_from(rest.leading_zeros() + 1).unwrap_or(u8::MAX);
        if let Some(r) = self.registers.get_mut(j)
            && rho > *r
        {
            *r = rho;
        }
    }

    /// Merges `other` (register-wise maximum).
    ///
    /// # Errors
    /// [`Error::Incompatible`] when the precisions differ.
    pub fn combine(&mut self, other: &Self) -> Result<(), Error> {
        if self.precision != other.precision {
            return Err(Error::Incompatible {
                what: "hyperloglog precision",
                left: self.precision.to_string(),
                right: other.precision.to_string(),
            });
        }
        for (a, &b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(b);
        }
        Ok(())
    }

    /// The cardinality estimate.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "register counts are small")]
    pub fn finalize(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self
            .registers
            .iter()
            .fold(0usize, |z, &r| z + usize::from(r == 0));
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    /// `1.04 / √m`.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "register counts are small")]
    pub fn relative_std_error(&self) -> f64 {
        1.04 / (self.registers.len() as f64).sqrt()
    }

    /// The ± bound printed beside an estimate: `3 · 1.04/√m · estimate`.
    #[must_use]
    pub fn error_bound(&self) -> f64 {
        3.0 * self.relative_std_error() * self.finalize()
    }

    /// Memory held by the registers, in bytes.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.registers.len()
    }

    /// [`Self::bytes`] of a new sketch of `precision`, or of the default
    /// one where `precision` is out of range (as callers that fall back on
    /// [`Self::default`] get).
    pub(crate) fn bytes_at(precision: u8) -> usize {
        let p = if (4..=18).contains(&precision) {
            precision
        } else {
            DEFAULT_HLL_PRECISION
        };
        1 << p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use xxhash_rust::xxh3::xxh3_64;

    fn hashes(range: std::ops::Range<u64>) -> Vec<u64> {
        range.map(|i| xxh3_64(&i.to_le_bytes())).collect()
    }

    #[test]
    fn empty_is_zero_and_small_sets_use_linear_counting() {
        assert!(HyperLogLog::default().finalize().abs() < 1e-9);
        // 100 distinct in 16384 registers: linear counting, nearly exact.
        let est = HyperLogLog::new(&hashes(0..100)).finalize();
        assert!((est - 100.0).abs() < 2.0, "{est}");
    }

    #[test]
    fn large_set_within_three_sigma() {
        let h = HyperLogLog::new(&hashes(0..200_000));
        // |E − 200000| ≤ 3 · 1.04/128 · E ≈ 2.4%.
        assert!(
            (h.finalize() - 200_000.0).abs() <= h.error_bound(),
            "{}",
            h.finalize()
        );
        assert!((h.relative_std_error() - 1.04 / 128.0).abs() < 1e-12);
    }

    #[test]
    fn precision_is_validated() {
        assert!(HyperLogLog::with_precision(3).is_err());
        let mut a = HyperLogLog::with_precision(10).unwrap();
        assert!(a.combine(&HyperLogLog::default()).is_err());
    }

    proptest! {
        #[test]
        fn merge_of_halves_equals_whole(n in 0u64..5000, cut in 0u64..5000) {
            let cut = cut.min(n);
            let all = hashes(0..n);
            let whole = HyperLogLog::new(&all);
            let mut a = HyperLogLog::new(&all[..usize::try_from(cut).unwrap()]);
            a.combine(&HyperLogLog::new(&all[usize::try_from(cut).unwrap()..])).unwrap();
            prop_assert_eq!(a, whole);
        }
    }
}
