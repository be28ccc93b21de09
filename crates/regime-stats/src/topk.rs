//! Space-saving heavy hitters, kept in their Misra–Gries form.
//!
//! Algorithms from: Metwally, Agrawal & El Abbadi (2005), "Efficient
//! computation of frequent and top-k elements in data streams" (space-saving),
//! and Agarwal, Cormode, Huang, Phillips, Wei & Yi (2012), "Mergeable
//! summaries", §2, which shows space-saving and Misra–Gries (MG) are
//! isomorphic (a space-saving counter = the MG counter + the minimum) and
//! gives the merge below.
//!
//! State: at most `2k` counters `c(x)` and the total decrement `Δ`. Insert
//! adds to `c(x)`; when there are more than `2k` counters, let `d` be the
//! `(k+1)`-th largest counter, subtract `d` from every counter, drop those
//! `≤ 0`, and add `d` to `Δ`. Each such step removes at least `(k+1)·d` of
//! the `N` inserted occurrences, so `Δ ≤ N / (k + 1)`, and for every key
//! `c(x) ≤ f(x) ≤ c(x) + Δ` (absent keys have `c = 0`). Combine adds
//! counters and decrements, then prunes the same way (the bound still holds
//! for the union stream). Reported counts are the lower bounds `c(x)`; the
//! error bound printed beside them is `Δ`.

use std::hash::Hash;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

/// Default number of counters `k` kept by a sketch.
pub const DEFAULT_SKETCH_CAPACITY: usize = 16_384;

/// A mergeable heavy-hitter summary; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Eq + Hash + Clone + Ord",
    deserialize = "K: Deserialize<'de> + Eq + Hash + Clone + Ord"
))]
pub struct SpaceSaving<K: Eq + Hash> {
    capacity: usize,
    #[serde(with = "entries")]
    counts: HashMap<K, u64>,
    decrement: u64,
    total: u64,
}

mod entries {
    use std::hash::Hash;

    use hashbrown::HashMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<K, S>(map: &HashMap<K, u64>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord + Clone,
        S: Serializer,
    {
        let mut v: Vec<(&K, &u64)> = map.iter().collect();
        v.sort();
        v.serialize(s)
    }

    pub(super) fn deserialize<'de, K, D>(d: D) -> Result<HashMap<K, u64>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, u64)>::deserialize(d)?.into_iter().collect())
    }
}

/// One heavy hitter: `count ≤ true frequency ≤ count + error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeavyHitter<K> {
    /// The key.
    pub key: K,
    /// Lower bound of its frequency.
    pub count: u64,
    /// The summary's error bound `Δ`.
    pub error: u64,
}

impl<K: Eq + Hash + Clone> SpaceSaving<K> {
    /// An empty summary that keeps `capacity` counters (at least 1).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            counts: HashMap::new(),
            decrement: 0,
            total: 0,
        }
    }

    /// Adds `count` occurrences of `key`.
    pub fn insert(&mut self, key: K, count: u64) {
        self.total += count;
        *self.counts.entry(key).or_insert(0) += count;
        if self.counts.len() > 2 * self.capacity {
            self.prune();
        }
    }

    /// Merges `other` into `self`.
    pub fn combine(&mut self, other: &Self) {
        self.total += other.total;
        self.decrement += other.decrement;
        for (k, &c) in &other.counts {
            *self.counts.entry(k.clone()).or_insert(0) += c;
        }
        self.capacity = self.capacity.min(other.capacity);
        self.prune();
    }

    /// Reduces to at most `capacity` counters (the MG step).
    fn prune(&mut self) {
        if self.counts.len() <= self.capacity {
            return;
        }
        let mut values: Vec<u64> = self.counts.values().copied().collect();
        let (_, &mut d, _) = values.select_nth_unstable_by(self.capacity, |a, b| b.cmp(a));
        self.counts.retain(|_, c| {
            *c -= d.min(*c);
            *c > 0
        });
        self.decrement += d;
    }

    /// Number of counters kept after a prune.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lowers (or raises) the number of counters kept, pruning now.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        self.prune();
        self.counts.shrink_to(2 * self.capacity);
    }

    /// The error bound `Δ` (0 while nothing was ever pruned: counts exact).
    #[must_use]
    pub fn error(&self) -> u64 {
        self.decrement
    }

    /// Total occurrences inserted, `N`.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of counters held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether no counters are held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Lower-bound count of `key` (0 when not monitored).
    #[must_use]
    pub fn count(&self, key: &K) -> u64 {
        self.counts.get(key).copied().unwrap_or(0)
    }

    /// Every monitored key with its bounds, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = HeavyHitter<K>> + '_ {
        self.counts.iter().map(|(k, &c)| HeavyHitter {
            key: k.clone(),
            count: c,
            error: self.decrement,
        })
    }

    /// The counters, `Δ`, `N` and capacity (used to re-key).
    pub(crate) fn into_parts(self) -> (HashMap<K, u64>, u64, u64, usize) {
        (self.counts, self.decrement, self.total, self.capacity)
    }

    /// Rebuilds a summary from parts (after re-keying).
    pub(crate) fn from_parts(
        counts: HashMap<K, u64>,
        decrement: u64,
        total: u64,
        capacity: usize,
    ) -> Self {
        let mut s = Self {
            capacity: capacity.max(1),
            counts,
            decrement,
            total,
        };
        s.prune();
        s.counts.shrink_to(2 * s.capacity);
        s
    }

    /// Bytes held, roughly: the buckets a hash table needs for the
    /// counters held (at most 7/8 full), or, once the summary has pruned,
    /// for the `2k + 1` counters it grows to before each prune. Computed
    /// from counts, not from the map's capacity: where a removal leaves a
    /// tombstone depends on the hasher's random seed, and so does when the
    /// map grows, while memory-budget decisions taken from this figure must
    /// be the same on every run.
    #[must_use]
    pub fn bytes(&self) -> usize {
        Self::bytes_for(self.counts.len(), self.decrement > 0, self.capacity)
    }

    /// [`Self::bytes`] once [`Self::set_capacity`]`(capacity)` has pruned,
    /// without pruning: the memory budget weighs what a sketch would free
    /// before making one.
    pub(crate) fn bytes_at_capacity(&self, capacity: usize) -> usize {
        let capacity = capacity.max(1);
        let (kept, cut) = match self.cut_at(capacity) {
            None => (self.counts.len(), 0),
            Some(d) => (self.counts.values().filter(|&&c| c > d).count(), d),
        };
        Self::bytes_for(kept, self.decrement.saturating_add(cut) > 0, capacity)
    }

    /// What a prune to `capacity` counters takes off every counter (as
    /// `prune` does: the (capacity + 1)-th largest count; the counters it
    /// empties go), or `None` when `capacity` or fewer are held.
    pub(crate) fn cut_at(&self, capacity: usize) -> Option<u64> {
        let capacity = capacity.max(1);
        if self.counts.len() <= capacity {
            return None;
        }
        let mut values: Vec<u64> = self.counts.values().copied().collect();
        let (_, &mut d, _) = values.select_nth_unstable_by(capacity, |a, b| b.cmp(a));
        Some(d)
    }

    /// [`Self::bytes`] of a summary of `capacity` holding `counters`, that
    /// has `pruned` before (or not).
    pub(crate) fn bytes_for(counters: usize, pruned: bool, capacity: usize) -> usize {
        let mut counters = counters;
        if pruned {
            counters = counters.max(capacity.saturating_mul(2).saturating_add(1));
        }
        let buckets = (counters.saturating_mul(8) / 7 + 1).next_power_of_two();
        buckets * (size_of::<K>() + size_of::<u64>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Memory-budget decisions read `bytes`, so it must follow the stream
    /// alone: two summaries fed the same stream (each map with its own
    /// random hasher seed) agree after every insert, prunes included.
    #[test]
    fn bytes_follow_the_stream_not_the_hasher() {
        let (mut a, mut b) = (SpaceSaving::new(64), SpaceSaving::new(64));
        for i in 0..20_000u64 {
            let key = (i * 7919) % 1_009 + (i % 13) * 100_000;
            a.insert(key, 1 + i % 3);
            b.insert(key, 1 + i % 3);
            assert_eq!(a.bytes(), b.bytes(), "after insert {i}");
        }
    }

    #[test]
    fn exact_while_under_capacity() {
        let mut s = SpaceSaving::new(4);
        for k in ["a", "b", "a", "c", "a"] {
            s.insert(k, 1);
        }
        assert_eq!(s.count(&"a"), 3);
        assert_eq!(s.error(), 0);
        assert_eq!(s.total(), 5);
    }

    #[test]
    fn bounds_hold_after_pruning() {
        // Stream: key i repeated (i+1) times for i in 0..50; capacity 5.
        let mut s = SpaceSaving::new(5);
        let mut n = 0;
        for i in 0u64..50 {
            for _ in 0..=i {
                s.insert(i, 1);
                n += 1;
            }
        }
        // Δ ≤ N / (k + 1) = 1275 / 6 = 212.5.
        assert!(s.error() * 6 <= n);
        for i in 0u64..50 {
            let c = s.count(&i);
            assert!(
                c <= i + 1 && i < c + s.error(),
                "key {i}: {c} {}",
                s.error()
            );
        }
        assert!(s.len() <= 10);
    }

    proptest! {
        #[test]
        fn merged_halves_keep_the_bounds(xs in prop::collection::vec(0u8..40, 0..400), cut in 0usize..400, cap in 1usize..8) {
            let cut = cut.min(xs.len());
            let fill = |v: &[u8]| { let mut s = SpaceSaving::new(cap); for &x in v { s.insert(x, 1); } s };
            let mut a = fill(&xs[..cut]);
            a.combine(&fill(&xs[cut..]));
            prop_assert_eq!(a.total(), xs.len() as u64);
            prop_assert!(a.error() * (cap as u64 + 1) <= xs.len() as u64);
            for k in 0u8..40 {
                let f = xs.iter().fold(0u64, |n, &x| n + u64::from(x == k));
                let c = a.count(&k);
                prop_assert!(c <= f && f <= c + a.error());
            }
        }
    }
}
