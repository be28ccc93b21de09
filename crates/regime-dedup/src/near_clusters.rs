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
//!    becomes a representative itself. Unverified, a whole component is one
//!    cluster represented by its lowest document.
//!
//! Every step depends only on the keys and the documents' order, never on
//! thread count or hash-map iteration order, so clusters are deterministic.
//! Memory: 12 bytes per (band, document) entry while sorting, 4 per document
//! for the union–find.

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

/// One document's place in the clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Membership {
    /// The document.
    pub doc: u32,
    /// Its representative (itself for a representative).
    pub representative: u32,
    /// Exact Jaccard with the representative (1 for a representative; NaN
    /// when unverified).
    pub jaccard: f64,
}

/// Splits one component into verified clusters: each document, in ascending
/// order, joins the first earlier representative with
/// `jaccard(doc, rep) >= threshold`, else becomes a representative.
/// `jaccard` computes the exact Jaccard of two documents' shingle sets.
pub fn verify_component(
    component: &[u32],
    threshold: f64,
    mut jaccard: impl FnMut(u32, u32) -> f64,
) -> Vec<Membership> {
    let mut reps: Vec<u32> = Vec::new();
    let mut out = Vec::with_capacity(component.len());
    for &doc in component {
        let found = reps.iter().find_map(|&rep| {
            let j = jaccard(doc, rep);
            (j >= threshold).then_some((rep, j))
        });
        let (representative, jaccard) = found.unwrap_or((doc, 1.0));
        if representative == doc {
            reps.push(doc);
        }
        out.push(Membership {
            doc,
            representative,
            jaccard,
        });
    }
    out
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

    #[test]
    fn verification_splits_unrelated_candidates() {
        // 0 ~ 2 (J = 0.9), 1 unrelated to both, 3 ~ 1 (J = 0.8).
        let j = |a: u32, b: u32| match (a.min(b), a.max(b)) {
            (0, 2) => 0.9,
            (1, 3) => 0.8,
            _ => 0.1,
        };
        let got = verify_component(&[0, 1, 2, 3], 0.75, j);
        let reps: Vec<u32> = got.iter().map(|m| m.representative).collect();
        assert_eq!(reps, [0, 1, 0, 1]);
        assert!((got[2].jaccard - 0.9).abs() < 1e-12);
    }
}
