//! Near-duplicate clusters from LSH band keys, verified by exact Jaccard.
//!
//! Input: for every document (dense index `0..n` in input order) its band
//! keys, `b` per document. Two documents that share a key in the same band
//! are *candidates* (with probability `1 − (1 − Jʳ)ᵇ` for Jaccard `J`).
//!
//! 1. **Candidates.** Per band, `(key, doc)` entries are sorted; every run of
//!    equal keys links each of its documents to the run's first (lowest)
//!    document. The links of all bands form the candidate graph.
//! 2. **Components.** Union–find over the links; a component's documents in
//!    ascending order.
//! 3. **Verification** (optional). Inside each component, documents are taken
//!    in ascending order; each joins the first earlier *representative* of its
//!    component whose exact Jaccard with it is at least the threshold, or
//!    becomes a representative itself ([`Representatives`]). Unverified, a
//!    whole component is one cluster represented by its lowest document.
//!
//! Every step depends only on the keys and the documents' order, never on
//! thread count or hash-map iteration order, so clusters are deterministic.
//! Memory: 12 bytes per (band, document) entry while sorting, 4 per document
//! for the union–find.

use rayon::prelude::*;
use regime_text::jaccard;

/// Union–find over dense document indices; the root of a set is always its
/// lowest member, so the root is the deterministic representative.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    #[must_use]
    pub fn new(n: u32) -> Self {
        Self {
            parent: (0..n).collect(),
        }
    }

    /// The lowest member of `x`'s set.
    pub fn find(&mut self, x: u32) -> u32 {
        let mut root = x;
        while self.parent[root as usize] != root {
            root = self.parent[root as usize];
        }
        // Path compression.
        let mut node = x;
        while self.parent[node as usize] != root {
            let next = self.parent[node as usize];
            self.parent[node as usize] = root;
            node = next;
        }
        root
    }

    /// Merges the sets of `a` and `b`; the lower root wins.
    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[high as usize] = low;
        }
    }
}

/// Candidate links from one band: `entries` are `(key, doc)`; returns
/// `(first, doc)` for every doc after the first of each run of equal keys.
#[must_use]
pub fn band_links(mut entries: Vec<(u64, u32)>) -> Vec<(u32, u32)> {
    entries.sort_unstable();
    let mut links = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let (key, first) = entries[i];
        let mut j = i + 1;
        while j < entries.len() && entries[j].0 == key {
            if entries[j].1 != first {
                links.push((first, entries[j].1));
            }
            j += 1;
        }
        i = j;
    }
    links
}

/// Connected components of the candidate graph with more than one document,
/// each sorted ascending, ordered by their lowest document.
#[must_use]
pub fn components(n: u32, links: impl IntoIterator<Item = (u32, u32)>) -> Vec<Vec<u32>> {
    let mut uf = UnionFind::new(n);
    for (a, b) in links {
        uf.union(a, b);
    }
    let mut by_root: Vec<(u32, u32)> = (0..n)
        .filter_map(|d| {
            let r = uf.find(d);
            (r != d).then_some((r, d))
        })
        .collect();
    by_root.sort_unstable();
    let mut out: Vec<Vec<u32>> = Vec::new();
    for (root, doc) in by_root {
        match out.last_mut() {
            Some(c) if c[0] == root => c.push(doc),
            _ => out.push(vec![root, doc]),
        }
    }
    out
}

/// Buckets of a [`Representatives`] profile: shingles counted by the top
/// bits of their hash.
const PROFILE_BUCKETS: usize = 128;

/// Representatives at or past which a search runs on the thread pool.
const PARALLEL_SEARCH: usize = 4096;

/// A shingle set's counts per hash bucket: `Σ min(a[k], b[k])` over the
/// buckets bounds `|A ∩ B|` from above, for 128 bytes read instead of a
/// merge of both sets.
#[derive(Debug, Clone)]
struct Profile {
    counts: [u8; PROFILE_BUCKETS],
    /// Whether no bucket holds more than `u8::MAX` shingles (a set of more
    /// than ≈ 32k shingles may not be): only then is the bound exact.
    bounded: bool,
}

impl Profile {
    fn of(set: &[u64]) -> Self {
        let mut counts = [0u8; PROFILE_BUCKETS];
        let mut bounded = true;
        for &shingle in set {
            // Shingles are xxh3 hashes: their top bits are uniform.
            #[expect(clippy::cast_possible_truncation, reason = "the top 7 bits")]
            let bucket = (shingle >> (64 - PROFILE_BUCKETS.trailing_zeros())) as usize;
            match counts[bucket].checked_add(1) {
                Some(c) => counts[bucket] = c,
                None => bounded = false,
            }
        }
        Self { counts, bounded }
    }

    /// An upper bound on the shared shingles of the two sets, when both
    /// profiles are exact.
    fn overlap_bound(&self, other: &Self) -> Option<usize> {
        (self.bounded && other.bounded).then(|| {
            // 16 lanes of u16 (128 × 255 fits): the loop vectorises into
            // byte minima and 16-bit adds.
            let mut lanes = [0u16; 16];
            for (a, b) in self
                .counts
                .chunks_exact(16)
                .zip(other.counts.chunks_exact(16))
            {
                for ((lane, &a), &b) in lanes.iter_mut().zip(a).zip(b) {
                    *lane += u16::from(a.min(b));
                }
            }
            lanes.iter().map(|&l| usize::from(l)).sum()
        })
    }
}

/// Whether two sets of sizes `a` and `b` sharing at most `shared` shingles
/// can reach Jaccard `threshold`, as [`regime_text::jaccard`] computes it:
/// J grows with the overlap and division rounds monotonically, so the
/// bound computed the same way is never below the computed J.
#[expect(clippy::cast_precision_loss, reason = "set sizes below 2^52")]
fn may_reach(a: usize, b: usize, shared: usize, threshold: f64) -> bool {
    let union = a + b - shared;
    union == 0 || shared as f64 / union as f64 >= threshold
}

/// The representatives of one candidate component, in the order they were
/// chosen: each document joins the first whose exact Jaccard with it
/// reaches the threshold ([`Representatives::first_match`]), or becomes one.
///
/// On templated corpora a component can hold tens of thousands of
/// representatives that every later member is compared with. Exact Jaccard
/// is a merge of two sorted sets; most comparisons are ruled out first by
/// the sizes and then by a 128-byte bucket profile, both exact upper
/// bounds, and a search over 4,096 or more representatives runs on the
/// thread pool. The first match in representative order is found whatever
/// the thread count. Memory: the sets (8 bytes per shingle) plus 136 bytes
/// per representative.
#[derive(Debug, Clone, Default)]
pub struct Representatives {
    sets: Vec<Vec<u64>>,
    profiles: Vec<Profile>,
}

impl Representatives {
    /// No representatives.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many representatives there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Adds a representative with shingle set `set` (sorted, without
    /// repeats) after the others.
    pub fn push(&mut self, set: Vec<u64>) {
        self.profiles.push(Profile::of(&set));
        self.sets.push(set);
    }

    /// The first representative (its position) whose exact Jaccard with
    /// `set` (sorted, without repeats) is at least `threshold`, and that
    /// Jaccard.
    #[must_use]
    pub fn first_match(&self, set: &[u64], threshold: f64) -> Option<(usize, f64)> {
        let profile = Profile::of(set);
        let check = |i: usize| {
            let rep = &self.sets[i];
            let (small, large) = (set.len().min(rep.len()), set.len().max(rep.len()));
            if !may_reach(small, large, small, threshold) {
                return None;
            }
            if let Some(shared) = profile.overlap_bound(&self.profiles[i])
                && !may_reach(set.len(), rep.len(), shared, threshold)
            {
                return None;
            }
            let j = jaccard(set, rep);
            (j >= threshold).then_some((i, j))
        };
        if self.sets.len() >= PARALLEL_SEARCH {
            (0..self.sets.len())
                .into_par_iter()
                .with_min_len(PARALLEL_SEARCH / 8)
                .find_map_first(check)
        } else {
            (0..self.sets.len()).find_map(check)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_roots_are_lowest_members() {
        let mut uf = UnionFind::new(6);
        uf.union(4, 2);
        uf.union(5, 4);
        uf.union(3, 1);
        assert_eq!(uf.find(5), 2);
        assert_eq!(uf.find(3), 1);
        assert_eq!(uf.find(0), 0);
        uf.union(5, 1);
        assert_eq!(uf.find(2), 1);
    }

    #[test]
    fn bands_link_equal_keys_to_their_first_document() {
        let links = band_links(vec![(9, 4), (7, 0), (9, 1), (7, 3), (8, 2), (9, 6)]);
        assert_eq!(links, [(0, 3), (1, 4), (1, 6)]);
    }

    #[test]
    fn components_merge_across_bands() {
        let links = vec![(0, 3), (1, 4), (3, 4), (5, 6)];
        assert_eq!(components(8, links), [vec![0, 1, 3, 4], vec![5, 6]]);
    }

    /// A sorted set of the given shingle hashes.
    fn set(items: impl IntoIterator<Item = u64>) -> Vec<u64> {
        let mut v: Vec<u64> = items.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn documents_join_the_first_representative_within_the_threshold() {
        let spread = |k: u64| k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let a = set((0..10).map(spread));
        let b = set((100..110).map(spread));
        let mut reps = Representatives::new();
        reps.push(a.clone());
        reps.push(b.clone());
        reps.push(a.clone());
        // 9 of a's 10 and one more: J = 9 / 11.
        let near_a = set((0..9).chain([50]).map(spread));
        assert_eq!(reps.first_match(&near_a, 0.8), Some((0, 9.0 / 11.0)));
        assert_eq!(reps.first_match(&near_a, 0.85), None);
        assert_eq!(reps.first_match(&b, 1.0), Some((1, 1.0)));
        assert_eq!(reps.first_match(&set([spread(7)]), 0.2), None);
    }

    #[test]
    fn the_bounds_never_rule_out_a_match() {
        // Sets built from few distinct hashes crowd the same buckets, where
        // the profile bound is loosest; every decision must equal the plain
        // scan's, at every threshold.
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let pool: Vec<u64> = (0..40).map(|_| next()).collect();
        let sets: Vec<Vec<u64>> = (0..300)
            .map(|_| {
                let len = 1 + next() % 30;
                set((0..len).map(|_| pool[(next() % 40) as usize]))
            })
            .collect();
        for threshold in [0.0, 0.3, 0.5, 0.72, 0.9, 1.0] {
            let mut reps = Representatives::new();
            let mut plain: Vec<&Vec<u64>> = Vec::new();
            for s in &sets {
                let want = plain.iter().enumerate().find_map(|(i, r)| {
                    let j = jaccard(s, r);
                    (j >= threshold).then_some((i, j))
                });
                let got = reps.first_match(s, threshold);
                assert_eq!(got, want, "threshold {threshold}");
                if got.is_none() {
                    reps.push(s.clone());
                    plain.push(s);
                }
            }
        }
    }

    #[test]
    fn a_large_search_finds_the_first_match_on_the_pool() {
        // Past the parallel cut-off: many representatives match, the
        // lowest must win.
        let spread = |k: u64| k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut reps = Representatives::new();
        for r in 0..(PARALLEL_SEARCH as u64 + 500) {
            let shared = if r % 1000 == 999 {
                0..20
            } else {
                1000 * (r + 1)..1000 * (r + 1) + 20
            };
            reps.push(set(shared.map(spread)));
        }
        let doc = set((0..20).map(spread));
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let found = pool.install(|| reps.first_match(&doc, 0.9));
            assert_eq!(found, Some((999, 1.0)), "{threads} threads");
        }
    }

    #[test]
    fn overfull_buckets_fall_back_to_the_exact_merge() {
        // 300 shingles in one bucket: the profile cannot bound them.
        let one_bucket = |k: u64| k; // top bits 0: bucket 0
        let big = set((0..300).map(one_bucket));
        let profile = Profile::of(&big);
        assert!(!profile.bounded);
        let mut reps = Representatives::new();
        reps.push(big.clone());
        assert_eq!(reps.first_match(&big, 1.0), Some((0, 1.0)));
    }

    #[test]
    fn the_reach_test_rounds_as_jaccard_does() {
        // 2 shared of 3 ∪: exactly at a threshold of 2/3.
        assert!(may_reach(2, 3, 2, 2.0 / 3.0));
        assert!(!may_reach(2, 3, 1, 0.5));
        assert!(may_reach(0, 0, 0, 1.0));
    }
}
