//! The canonical segments of one sample and the search for their copies.
//!
//! Every canonical segment is a pattern; a field is searched for every
//! occurrence of every pattern registered before it (overlapping ones
//! included, as Aho–Corasick's standard semantics report them). A sample
//! holds a handful of canonical segments, and building an automaton per
//! sample costs more than it saves on ~100-byte fields, so up to
//! [`AUTOMATON_MIN_PATTERNS`] patterns are searched one by one; past that
//! (long OCR text, many-turn conversations) one Aho–Corasick automaton over
//! all of them is built, and rebuilt only when patterns were added since.
//! Both report the same occurrences (a unit test pins this).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Patterns searched one by one; more than this many are searched with one
/// Aho–Corasick automaton.
pub(super) const AUTOMATON_MIN_PATTERNS: usize = 24;

/// A hasher for keys that are already xxh3 hashes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HashedKey(u64);

impl Hasher for HashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; this keeps the trait total.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by xxh3 hashes (hashing them again would only cost time).
pub(crate) type HashMapU64<V = usize> = HashMap<u64, V, BuildHasherDefault<HashedKey>>;

/// One canonical segment.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    /// The xxh3-64 hash of its normalised text.
    hash: u64,
    /// Range of its normalised text in `Patterns::keys`.
    start: usize,
    end: usize,
}

/// The canonical segments registered so far in one sample.
#[derive(Debug, Default)]
pub(super) struct Patterns {
    keys: String,
    list: Vec<Pattern>,
    ids: HashMapU64,
    automaton: Option<AhoCorasick>,
    /// Patterns the automaton was built over.
    built: usize,
}

impl Patterns {
    pub(super) fn clear(&mut self) {
        self.keys.clear();
        self.list.clear();
        self.ids.clear();
        self.automaton = None;
        self.built = 0;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Registers `key` (with its xxh3 hash) unless it is already a pattern.
    pub(super) fn insert(&mut self, hash: u64, key: &str) {
        if let Some(&p) = self.ids.get(&hash) {
            let p = self.list[p];
            if &self.keys[p.start..p.end] == key {
                return;
            }
        }
        let start = self.keys.len();
        self.keys.push_str(key);
        self.list.push(Pattern {
            hash,
            start,
            end: self.keys.len(),
        });
        self.ids.entry(hash).or_insert(self.list.len() - 1);
    }

    /// The patterns with their hashes, in registration order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, &str)> {
        self.list
            .iter()
            .map(|p| (p.hash, &self.keys[p.start..p.end]))
    }

    /// Makes [`Self::for_each_match`] ready for the patterns registered so
    /// far.
    pub(super) fn prepare(&mut self) {
        if self.list.len() <= AUTOMATON_MIN_PATTERNS || self.built == self.list.len() {
            return;
        }
        self.automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(self.list.iter().map(|p| &self.keys[p.start..p.end]))
            .ok();
        self.built = self.list.len();
    }

    /// Calls `found(start, end, key)` for every occurrence of every pattern
    /// in `hay` (overlapping ones included), after [`Self::prepare`].
    pub(super) fn for_each_match(&self, hay: &str, mut found: impl FnMut(usize, usize, &str)) {
        if let Some(ac) = self
            .automaton
            .as_ref()
            .filter(|_| self.built == self.list.len())
        {
            for m in ac.find_overlapping_iter(hay) {
                let p = self.list[m.pattern().as_usize()];
                found(m.start(), m.end(), &self.keys[p.start..p.end]);
            }
            return;
        }
        // An automaton too large for its state ids is the only failure to
        // build; the one-by-one search below finds the same occurrences.
        for p in &self.list {
            let key = &self.keys[p.start..p.end];
            if key.len() > hay.len() || !hay.contains(probe(key)) {
                continue;
            }
            let Some(step) = key.chars().next().map(char::len_utf8) else {
                continue;
            };
            let mut from = 0;
            while let Some(at) = hay.get(from..).and_then(|h| h.find(key)) {
                let start = from + at;
                found(start, start + key.len(), key);
                from = start + step;
            }
        }
    }
}

/// Bytes of a key checked with `str::contains` before searching for all of
/// it: most patterns occur in no field, and std answers `contains` for
/// needles of at most 32 bytes with a SIMD scan that needs no set-up, where
/// `find` first builds a two-way searcher.
const PROBE_BYTES: usize = 32;

/// The longest prefix of `key` of at most [`PROBE_BYTES`] bytes.
fn probe(key: &str) -> &str {
    &key[..key.floor_char_boundary(PROBE_BYTES)]
}

#[cfg(test)]
mod tests {
    use xxhash_rust::xxh3::xxh3_64;

    use super::*;

    fn all_matches(p: &Patterns, hay: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        p.for_each_match(hay, |s, e, _| out.push((s, e)));
        out.sort_unstable();
        out
    }

    #[test]
    fn one_by_one_and_automaton_find_the_same_occurrences() {
        let hay = "aaaa é shape? the shape? the shape? aaa";
        let mut small = Patterns::default();
        for k in ["aa", "shape?", "the shape?", "é s"] {
            small.insert(xxh3_64(k.as_bytes()), k);
        }
        small.prepare();
        assert!(small.automaton.is_none());
        let mut big = Patterns::default();
        for k in ["aa", "shape?", "the shape?", "é s"] {
            big.insert(xxh3_64(k.as_bytes()), k);
        }
        for i in 0..AUTOMATON_MIN_PATTERNS {
            let k = format!("filler {i}");
            big.insert(xxh3_64(k.as_bytes()), &k);
        }
        big.prepare();
        assert!(big.automaton.is_some());
        let want = all_matches(&small, hay);
        // "aa" overlaps itself: 3 in "aaaa", 2 in "aaa".
        assert_eq!(want.iter().filter(|(s, e)| &hay[*s..*e] == "aa").count(), 5);
        assert_eq!(want.len(), 5 + 3 + 2 + 1);
        assert_eq!(all_matches(&big, hay), want);
    }

    #[test]
    fn probe_is_a_prefix_on_a_char_boundary() {
        assert_eq!(probe("short"), "short");
        let long = "é".repeat(20);
        assert_eq!(probe(&long), "é".repeat(16));
        assert_eq!(probe(&"a".repeat(40)).len(), PROBE_BYTES);
    }

    #[test]
    fn a_pattern_is_registered_once() {
        let mut p = Patterns::default();
        p.insert(7, "same text");
        p.insert(7, "same text");
        assert_eq!(p.list.len(), 1);
        // A hash collision with another text still registers it.
        p.insert(7, "other text");
        assert_eq!(p.list.len(), 2);
    }

    #[test]
    fn an_automaton_is_rebuilt_only_when_patterns_were_added() {
        let mut p = Patterns::default();
        for i in 0..=AUTOMATON_MIN_PATTERNS {
            let k = format!("pattern {i}");
            p.insert(xxh3_64(k.as_bytes()), &k);
        }
        p.prepare();
        assert_eq!(p.built, AUTOMATON_MIN_PATTERNS + 1);
        p.insert(1, "late pattern");
        // Stale automaton: the one-by-one search is used until prepare.
        assert_eq!(all_matches(&p, "a late pattern"), [(2, 14)]);
        p.prepare();
        assert_eq!(p.built, AUTOMATON_MIN_PATTERNS + 2);
        assert_eq!(all_matches(&p, "a late pattern"), [(2, 14)]);
    }
}
