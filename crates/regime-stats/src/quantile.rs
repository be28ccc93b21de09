//! Mergeable quantiles: exact while small, a relative-error sketch past that.
//!
//! Definition (both modes): the q-quantile is the nearest-rank value, the
//! `⌈q·n⌉`-th smallest (1-based; q = 0 gives the minimum).
//!
//! While at most [`DEFAULT_EXACT_LIMIT`] values have been seen, every value
//! is kept and quantiles are exact. Past it the values move into a
//! logarithmic-bucket sketch (`DDSketch`: Masson, Rim & Lee 2019, "`DDSketch`: a
//! fast and fully-mergeable quantile sketch with relative-error
//! guarantees", VLDB 12(12)): value `x > 0` goes to bucket
//! `i = ⌈log_γ x⌉` with `γ = (1 + α) / (1 − α)`, negative values mirror
//! that, zero has its own bucket, and a bucket reports `2γⁱ / (γ + 1)`, which
//! is within relative error `α` ([`DEFAULT_RELATIVE_ERROR`] = 1%) of every
//! value in it. Buckets are counts, so merging adds them: shards merge
//! exactly and the result does not depend on insertion order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Values kept exactly before switching to the sketch.
pub const DEFAULT_EXACT_LIMIT: usize = 65_536;
/// Relative accuracy α of the sketch.
pub const DEFAULT_RELATIVE_ERROR: f64 = 0.01;

/// Mergeable quantile state; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    limit: usize,
    alpha: f64,
    exact: Option<Vec<f64>>,
    pos: BTreeMap<i32, u64>,
    neg: BTreeMap<i32, u64>,
    zeros: u64,
    n: u64,
}

impl Default for Quantiles {
    fn default() -> Self {
        Self::with_limit(DEFAULT_EXACT_LIMIT)
    }
}

impl Quantiles {
    /// The quantile state of `values` with the default limit.
    #[must_use]
    pub fn new(values: &[f64]) -> Self {
        let mut q = Self::default();
        for &v in values {
            q.insert(v);
        }
        q
    }

    /// An empty state that stays exact up to `limit` values. Default limit:
    /// [`DEFAULT_EXACT_LIMIT`].
    #[must_use]
    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            alpha: DEFAULT_RELATIVE_ERROR,
            exact: Some(Vec::new()),
            pos: BTreeMap::new(),
            neg: BTreeMap::new(),
            zeros: 0,
            n: 0,
        }
    }

    fn gamma(&self) -> f64 {
        (1.0 + self.alpha) / (1.0 - self.alpha)
    }

    #[expect(clippy::cast_possible_truncation, reason = "log of an f64 fits in i32")]
    fn bucket(&self, x: f64) -> i32 {
        (x.ln() / self.gamma().ln()).ceil() as i32
    }

    fn sketch_insert(&mut self, x: f64, count: u64) {
        if x == 0.0 || x.is_nan() {
            self.zeros += count;
        } else if x > 0.0 {
            *self.pos.entry(self.bucket(x)).or_insert(0) += count;
        } else {
            *self.neg.entry(self.bucket(-x)).or_insert(0) += count;
        }
    }

    fn spill(&mut self) {
        if let Some(values) = self.exact.take() {
            for v in values {
                self.sketch_insert(v, 1);
            }
        }
    }

    /// Adds one value (NaN counts as zero).
    pub fn insert(&mut self, x: f64) {
        self.n += 1;
        match &mut self.exact {
            Some(values) if values.len() < self.limit => values.push(x),
            Some(_) => {
                self.spill();
                self.sketch_insert(x, 1);
            }
            None => self.sketch_insert(x, 1),
        }
    }

    /// Merges `other` into `self`; the result is exact only while the
    /// combined count stays within the limit.
    pub fn combine(&mut self, other: &Self) {
        self.n += other.n;
        if let (Some(mine), Some(theirs)) = (&mut self.exact, &other.exact)
            && mine.len() + theirs.len() <= self.limit
        {
            mine.extend_from_slice(theirs);
            return;
        }
        self.spill();
        if let Some(values) = &other.exact {
            for &v in values {
                self.sketch_insert(v, 1);
            }
        } else {
            {
                for (&i, &c) in &other.pos {
                    *self.pos.entry(i).or_insert(0) += c;
                }
                for (&i, &c) in &other.neg {
                    *self.neg.entry(i).or_insert(0) += c;
                }
                self.zeros += other.zeros;
            }
        }
    }

    /// Number of values.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Whether quantiles are exact (no spill to the sketch yet).
    #[must_use]
    pub fn is_exact(&self) -> bool {
        self.exact.is_some()
    }

    /// Relative error bound of the quantiles: 0 when exact, else α.
    #[must_use]
    pub fn relative_error(&self) -> f64 {
        if self.is_exact() { 0.0 } else { self.alpha }
    }

    /// The nearest-rank quantiles for each `q` in `qs` (each clamped to
    /// [0, 1]); `None` when empty.
    #[must_use]
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "ranks are at most n, far below 2^52"
    )]
    pub fn finalize(&self, qs: &[f64]) -> Option<Vec<f64>> {
        if self.n == 0 {
            return None;
        }
        let rank = |q: f64| ((q.clamp(0.0, 1.0) * self.n as f64).ceil() as u64).max(1);
        if let Some(values) = &self.exact {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            return Some(
                qs.iter()
                    .map(|&q| {
                        sorted[usize::try_from(rank(q) - 1)
                            .unwrap_or(0)
                            .min(sorted.len() - 1)]
                    })
                    .collect(),
            );
        }
        let gamma = self.gamma();
        let value = |i: i32| 2.0 * gamma.powi(i) / (gamma + 1.0);
        // Ascending order: most negative first (largest |x| bucket), zero, positives.
        let ordered: Vec<(f64, u64)> = self
            .neg
            .iter()
            .rev()
            .map(|(&i, &c)| (-value(i), c))
            .chain(std::iter::once((0.0, self.zeros)))
            .chain(self.pos.iter().map(|(&i, &c)| (value(i), c)))
            .filter(|&(_, c)| c > 0)
            .collect();
        Some(
            qs.iter()
                .map(|&q| {
                    let target = rank(q);
                    let mut seen = 0;
                    for &(v, c) in &ordered {
                        seen += c;
                        if seen >= target {
                            return v;
                        }
                    }
                    ordered.last().map_or(0.0, |&(v, _)| v)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nearest_rank_closed_form() {
        // 1..=10: p50 = ⌈5⌉-th = 5, p90 = 9th = 9, p99 = ⌈9.9⌉ = 10th = 10, p0 = min.
        let q = Quantiles::new(&(1..=10).map(f64::from).collect::<Vec<_>>());
        assert_eq!(
            q.finalize(&[0.5, 0.9, 0.99, 0.0]).unwrap(),
            [5.0, 9.0, 10.0, 1.0]
        );
        assert!(q.is_exact());
        assert!(Quantiles::default().finalize(&[0.5]).is_none());
    }

    #[test]
    fn sketch_is_within_relative_error() {
        let mut q = Quantiles::with_limit(10);
        for v in 1..=1000 {
            q.insert(f64::from(v));
        }
        assert!(!q.is_exact());
        let got = q.finalize(&[0.5, 0.99]).unwrap();
        // Exact: 500 and 990; bound α = 1%.
        assert!((got[0] - 500.0).abs() <= 0.01 * 500.0 + 1e-9, "{got:?}");
        assert!((got[1] - 990.0).abs() <= 0.01 * 990.0 + 1e-9, "{got:?}");
    }

    #[test]
    fn zeros_and_negatives_in_sketch() {
        let mut q = Quantiles::with_limit(0);
        for v in [-4.0, 0.0, 0.0, 8.0] {
            q.insert(v);
        }
        let got = q.finalize(&[0.25, 0.5, 1.0]).unwrap();
        assert!((got[0] + 4.0).abs() <= 0.04 + 1e-9);
        assert!(got[1].abs() < 1e-12);
        assert!((got[2] - 8.0).abs() <= 0.08 + 1e-9);
    }

    #[test]
    fn exact_values_survive_a_json_round_trip_bit_for_bit() {
        // `regime profile --shard` writes this state as JSON and `regime
        // merge` reads it back: a decimal parser that is only within one
        // ulp (serde_json without `float_roundtrip`) moves values such as
        // 40/433 = 0.09237875288683603 by one ulp, and a merged p50 with them.
        let values: Vec<f64> = (1..=2000).map(|i| f64::from(i) / 433.0).collect();
        let q = Quantiles::new(&values);
        let json = serde_json::to_string(&q).unwrap();
        let back: Quantiles = serde_json::from_str(&json).unwrap();
        assert_eq!(back, q);
    }

    proptest! {
        #[test]
        fn merge_of_halves_equals_whole(xs in prop::collection::vec(0u32..10_000, 0..300), cut in 0usize..300, limit in 0usize..400) {
            let xs: Vec<f64> = xs.into_iter().map(f64::from).collect();
            let cut = cut.min(xs.len());
            let fill = |v: &[f64]| { let mut q = Quantiles::with_limit(limit); for &x in v { q.insert(x); } q };
            let whole = fill(&xs);
            let mut a = fill(&xs[..cut]);
            a.combine(&fill(&xs[cut..]));
            prop_assert_eq!(a.is_exact(), whole.is_exact());
            prop_assert_eq!(a.finalize(&[0.5, 0.9, 0.99]), whole.finalize(&[0.5, 0.9, 0.99]));
        }
    }
}
