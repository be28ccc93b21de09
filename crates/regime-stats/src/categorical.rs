//! Coverage of categorical columns.
//!
//! A null cell is its own category, apart from every string (the string
//! `"null"` or `"<null>"` is a value like any other). For counts `n_v` over
//! the categories `v` (the values and, when any cell is null, null),
//! `N = Σ n_v`, `p_v = n_v / N`: `entropy_bits H = −Σ p_v log₂ p_v` and the
//! effective number of categories `exp(H_nats) = 2^H`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Mergeable value counts of one column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCounts {
    /// Count per non-null value.
    counts: BTreeMap<String, u64>,
    /// Null cells: kept apart from `counts`, whose keys are any string.
    nulls: u64,
}

/// The coverage figures of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryReport {
    /// Samples counted, null cells included.
    pub samples: u64,
    /// Number of categories: distinct values, plus one when any cell is null.
    pub values: u64,
    /// Shannon entropy of the category distribution (null one of them), bits.
    pub entropy_bits: f64,
    /// Effective number of categories, `exp(H)`.
    pub effective: f64,
    /// Count per non-null value, sorted by value.
    pub counts: BTreeMap<String, u64>,
    /// Samples whose cell is null (a category of its own, not in `counts`).
    pub nulls: u64,
}

impl CategoryCounts {
    /// Counts of `values` (`None` = null).
    #[must_use]
    pub fn new(values: &[Option<&str>]) -> Self {
        let mut c = Self::default();
        for v in values {
            c.insert(*v);
        }
        c
    }

    /// Counts one value (`None` = null).
    pub fn insert(&mut self, value: Option<&str>) {
        let Some(v) = value else {
            self.nulls += 1;
            return;
        };
        if let Some(c) = self.counts.get_mut(v) {
            *c += 1;
        } else {
            self.counts.insert(v.to_owned(), 1);
        }
    }

    /// Merges `other`.
    pub fn combine(&mut self, other: &Self) {
        for (k, &c) in &other.counts {
            *self.counts.entry(k.clone()).or_insert(0) += c;
        }
        self.nulls += other.nulls;
    }

    /// The figures.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "counts below 2^52")]
    pub fn finalize(&self) -> CategoryReport {
        let nulls = (self.nulls > 0).then_some(self.nulls);
        let mut ps: Vec<u64> = self.counts.values().copied().chain(nulls).collect();
        let n: u64 = ps.iter().sum();
        ps.sort_unstable();
        let h = if n == 0 {
            0.0
        } else {
            ps.iter()
                .map(|&c| {
                    let p = c as f64 / n as f64;
                    -p * p.log2()
                })
                .sum::<f64>()
                // A lone category's term is −1·log₂1 = −0.0, which the report
                // would print as `-0`; adding +0.0 makes it 0 and changes
                // nothing else.
                + 0.0
        };
        CategoryReport {
            samples: n,
            values: ps.len() as u64,
            entropy_bits: h,
            effective: h.exp2(),
            counts: self.counts.clone(),
            nulls: self.nulls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_effective_number() {
        // a, a, b, null: p = ½, ¼, ¼ → H = 1.5 bits, exp(H) = 2^1.5 = 2.828...
        let r = CategoryCounts::new(&[Some("a"), Some("a"), Some("b"), None]).finalize();
        assert!((r.entropy_bits - 1.5).abs() < 1e-12);
        assert!((r.effective - 2f64.powf(1.5)).abs() < 1e-12);
        assert_eq!(r.nulls, 1);
        assert_eq!((r.samples, r.values), (4, 3));
    }

    #[test]
    fn null_is_apart_from_every_string() {
        // "<null>", "null", "" and a null cell are four categories:
        // p = ¼ each → H = 2 bits.
        let mut c = CategoryCounts::new(&[Some("<null>"), Some("null"), Some("")]);
        c.combine(&CategoryCounts::new(&[None]));
        let r = c.finalize();
        assert_eq!((r.samples, r.values, r.nulls), (4, 4, 1));
        assert_eq!(r.counts.len(), 3);
        assert_eq!(r.counts["<null>"], 1);
        assert!((r.entropy_bits - 2.0).abs() < 1e-12);
        // The state keeps it through serialisation (a `--shard` partial).
        let json = serde_json::to_string(&c).expect("serialise");
        let back: CategoryCounts = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, c);
        assert_eq!(back.finalize(), r);
    }

    #[test]
    fn only_nulls_is_one_category() {
        let r = CategoryCounts::new(&[None, None]).finalize();
        assert_eq!((r.samples, r.values, r.nulls), (2, 1, 2));
        assert!(r.counts.is_empty());
        assert!(r.entropy_bits == 0.0 && r.entropy_bits.is_sign_positive());
    }

    #[test]
    fn one_category_has_zero_entropy_not_minus_zero() {
        // p = 1: H = −1·log₂1 = 0, which must print as 0, not -0.
        let r = CategoryCounts::new(&[Some("x"), Some("x")]).finalize();
        assert!(r.entropy_bits.is_sign_positive() && r.entropy_bits == 0.0);
        assert!((r.effective - 1.0).abs() < 1e-15);
    }

    #[test]
    fn uniform_k_values_have_k_effective() {
        let r = CategoryCounts::new(&[Some("x"), Some("y"), Some("z")]).finalize();
        assert!((r.effective - 3.0).abs() < 1e-9);
        let mut a = CategoryCounts::new(&[Some("x")]);
        a.combine(&CategoryCounts::new(&[Some("y"), Some("z")]));
        assert_eq!(a.finalize(), r);
    }
}
