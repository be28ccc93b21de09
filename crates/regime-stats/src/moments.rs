//! Streaming moments: count, mean, variance, min and max.
//!
//! Algorithm from: Schubert, E., & Gertz, M. (2018). Numerically stable
//! parallel computation of (co-)variance. SSDBM '18.
//!
//! Key equations (weights all 1):
//! ```text
//! insert x:        n' = n + 1,  δ = x − μ,  μ' = μ + δ / n',  M₂' = M₂ + δ (x − μ')
//!                  (Welford 1962; the paper's eq. 17 and 23 with unit weights)
//! combine A and B: n = n_A + n_B,  δ = μ_B − μ_A,  μ = μ_A + δ · n_B / n,
//!                  M₂ = M₂A + M₂B + δ² · n_A · n_B / n   (Table 1, "merge")
//! variance:        M₂ / (n − ddof), defined only when n > ddof
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Mergeable count / mean / M₂ / min / max.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Self {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

/// Finalised moments of a non-empty sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MomentsSummary {
    /// Number of values.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation (ddof = 0).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Moments {
    /// The moments of `values`.
    #[must_use]
    pub fn new(values: &[f64]) -> Self {
        let mut m = Self::default();
        for &v in values {
            m.insert(v);
        }
        m
    }

    /// Adds one value.
    #[expect(clippy::cast_precision_loss, reason = "counts below 2^52")]
    pub fn insert(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Merges `other` into `self`.
    #[expect(clippy::cast_precision_loss, reason = "counts below 2^52")]
    pub fn combine(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let (na, nb, nf) = (self.n as f64, other.n as f64, n as f64);
        self.mean += delta * nb / nf;
        self.m2 += other.m2 + delta * delta * na * nb / nf;
        self.n = n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of values.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean, `None` when empty.
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }

    /// `M₂ / (n − ddof)`, `None` unless `n > ddof`.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "counts below 2^52")]
    pub fn variance(&self, ddof: u64) -> Option<f64> {
        (self.n > ddof).then(|| (self.m2 / (self.n - ddof) as f64).max(0.0))
    }

    /// The finalised summary (population std), `None` when empty.
    #[must_use]
    pub fn finalize(&self) -> Option<MomentsSummary> {
        Some(MomentsSummary {
            count: self.n,
            mean: self.mean()?,
            std: self.variance(0)?.sqrt(),
            min: self.min,
            max: self.max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn closed_form_moments() {
        // x = 2,4,4,4,5,5,7,9: mean 40/8 = 5, Σ(x−5)² = 32, pop var 4, std 2.
        let m = Moments::new(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        let s = m.finalize().unwrap();
        assert!((s.mean - 5.0).abs() < 1e-12);
        assert!((s.std - 2.0).abs() < 1e-12);
        // sample variance 32 / 7.
        assert!((m.variance(1).unwrap() - 32.0 / 7.0).abs() < 1e-12);
        assert!((s.min - 2.0).abs() < 1e-12 && (s.max - 9.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs_return_none() {
        assert!(Moments::default().finalize().is_none());
        assert!(Moments::new(&[1.0]).variance(1).is_none());
    }

    proptest! {
        #[test]
        fn merge_of_halves_equals_whole(xs in prop::collection::vec(-1e6f64..1e6, 0..200), cut in 0usize..200) {
            let cut = cut.min(xs.len());
            let whole = Moments::new(&xs);
            let mut a = Moments::new(&xs[..cut]);
            a.combine(&Moments::new(&xs[cut..]));
            prop_assert_eq!(a.count(), whole.count());
            if let (Some(x), Some(y)) = (a.finalize(), whole.finalize()) {
                prop_assert!((x.mean - y.mean).abs() <= 1e-9 * (1.0 + y.mean.abs()));
                prop_assert!((x.std - y.std).abs() <= 1e-6 * (1.0 + y.std));
                prop_assert!((x.min - y.min).abs() < 1e-12 && (x.max - y.max).abs() < 1e-12);
            }
        }
    }
}
