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
    /// Its first (up to) [`HEAD_BYTES`] bytes, little-endian, zero-padded.
    head: u64,
    /// The bits of `head` that hold pattern bytes.
    head_mask: u64,
    /// Whether it starts with an ASCII word character (letter, digit,
    /// `_`): such a pattern cannot start a copy right after another one.
    word_start: bool,
}

/// Bytes of a pattern's prefix checked at every candidate position.
const PREFIX_BYTES: usize = 4;

/// Bytes of a pattern compared inline, before `memcmp`, where its prefix
/// filter hits: most hits share only a common first word with it.
const HEAD_BYTES: usize = 8;

/// `bytes`' first (up to) [`HEAD_BYTES`] bytes as a little-endian word,
/// zero-padded.
fn head(bytes: &[u8]) -> u64 {
    if let Some(&h) = bytes.first_chunk::<HEAD_BYTES>() {
        return u64::from_le_bytes(h);
    }
    let mut h = [0; HEAD_BYTES];
    for (d, &b) in h.iter_mut().zip(bytes) {
        *d = b;
    }
    u64::from_le_bytes(h)
}

/// Bits of each prefix filter (`Patterns::filters`).
const FILTER_BITS: usize = 1024;

/// A 1024-bit set of hashed prefixes.
type Filter = [u64; FILTER_BITS / 64];

/// The filter bit of a prefix.
fn filter_bit(prefix: u32) -> usize {
    (prefix.wrapping_mul(0x9E37_79B1) >> 22) as usize
}

fn filter_has(filter: &Filter, bit: usize) -> bool {
    filter[bit / 64] & (1 << (bit % 64)) != 0
}

/// Whether `b` is an ASCII word byte (letter, digit, `_`).
fn is_ascii_word(b: u8) -> bool {
    ASCII_WORD[usize::from(b)]
}

static ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        // `0-9`, `A-Z`, `_`, `a-z`.
        t[b] = matches!(b, 0x30..=0x39 | 0x41..=0x5A | 0x5F | 0x61..=0x7A);
        b += 1;
    }
    t
};

/// The canonical segments registered so far in one sample.
#[derive(Debug, Default)]
pub(super) struct Patterns {
    keys: String,
    list: Vec<Pattern>,
    ids: HashMapU64,
    automaton: Option<AhoCorasick>,
    /// Patterns the automaton was built over.
    built: usize,
    /// `[0]`: prefixes of every pattern; `[1]`: of the patterns that do
    /// not start with an ASCII word character (the ones looked for right
    /// after a word character).
    filters: [Filter; 2],
    /// Whether a pattern is shorter than [`PREFIX_BYTES`] (then the
    /// filters are not used).
    any_short: bool,
    /// Byte length of the shortest pattern.
    min_len: usize,
}

impl Patterns {
    pub(super) fn clear(&mut self) {
        self.keys.clear();
        self.list.clear();
        self.ids.clear();
        self.automaton = None;
        self.built = 0;
        self.filters = Default::default();
        self.any_short = false;
        self.min_len = usize::MAX;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Registers `key` (with its xxh3 hash) unless it is already a pattern.
    pub(super) fn insert(&mut self, hash: u64, key: &str) {
        // One probe: the map keeps the first pattern of a hash; a different
        // text with the same hash is registered too.
        let next = self.list.len();
        let first = *self.ids.entry(hash).or_insert(next);
        if first != next {
            let p = self.list[first];
            if &self.keys[p.start..p.end] == key {
                return;
            }
        }
        let start = self.keys.len();
        self.keys.push_str(key);
        let bytes = key.as_bytes();
        let prefix = if let Some(&p) = bytes.first_chunk::<PREFIX_BYTES>() {
            u32::from_le_bytes(p)
        } else {
            self.any_short = true;
            0
        };
        let word_start = bytes.first().is_some_and(|&b| is_ascii_word(b));
        let bit = filter_bit(prefix);
        self.filters[0][bit / 64] |= 1 << (bit % 64);
        if !word_start {
            self.filters[1][bit / 64] |= 1 << (bit % 64);
        }
        self.min_len = self.min_len.min(bytes.len());
        let head_mask = match bytes.len() {
            n if n >= HEAD_BYTES => u64::MAX,
            n => (1u64 << (8 * n)) - 1,
        };
        self.list.push(Pattern {
            hash,
            start,
            end: self.keys.len(),
            head: head(bytes),
            head_mask,
            word_start,
        });
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
        if !self.any_short {
            self.prefix_search(hay, &mut found);
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

impl Patterns {
    /// The search of [`Self::for_each_match`] when every pattern has at
    /// least [`PREFIX_BYTES`] bytes: one pass over `hay`, looking at each
    /// position's next 4 bytes in a bit set of the patterns' prefixes, and
    /// comparing whole patterns only where their first 8 bytes are equal.
    /// After an ASCII word character only patterns that do not start with
    /// one are looked for: an occurrence there cuts a word, so it would be
    /// dropped (`is_cut_ok`); nothing else is skipped.
    fn prefix_search(&self, hay: &str, found: &mut impl FnMut(usize, usize, &str)) {
        let bytes = hay.as_bytes();
        let Some(last) = bytes.len().checked_sub(self.min_len) else {
            return;
        };
        let mut from = 0;
        while let Some(i) = self.next_prefix_hit(bytes, from, last) {
            let after_word = i > 0 && is_ascii_word(bytes[i - 1]);
            let at = head(&bytes[i..]);
            for p in &self.list {
                // Every pattern here has at least `PREFIX_BYTES` bytes, so
                // the masked head covers the filter's prefix.
                if (at ^ p.head) & p.head_mask != 0 || (after_word && p.word_start) {
                    continue;
                }
                let key = &self.keys[p.start..p.end];
                if bytes[i..].starts_with(key.as_bytes()) {
                    found(i, i + key.len(), key);
                }
            }
            from = i + 1;
        }
    }

    /// The first position in `from..=last` whose next [`PREFIX_BYTES`]
    /// bytes are in the prefix filter that applies there (`filters[1]`
    /// right after an ASCII word byte). Kept apart from the comparison of
    /// whole patterns so that this per-byte loop stays in registers.
    fn next_prefix_hit(&self, bytes: &[u8], from: usize, last: usize) -> Option<usize> {
        let end = last.saturating_add(PREFIX_BYTES).min(bytes.len());
        let window = bytes.get(from..end)?;
        let mut after_word = from > 0 && is_ascii_word(bytes[from - 1]);
        for (i, w) in window.windows(PREFIX_BYTES).enumerate() {
            let prefix = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            if filter_has(&self.filters[usize::from(after_word)], filter_bit(prefix)) {
                return Some(from + i);
            }
            after_word = is_ascii_word(w[0]);
        }
        None
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
    fn prefix_search_finds_every_occurrence_that_cuts_no_word_at_its_start() {
        let keys = [
            "shape? the",
            "the shape?",
            "aaaa",
            "é shape",
            " the",
            "\"the sha",
            "e? t",
            "中文 shape",
        ];
        let hays = [
            "aaaaaa é shape? the shape? the shape? aaa",
            "xthe shape? \"the shape?\" 中文 shape",
            "the shapes? the shape?the shape? e? the",
            "",
            "aaa",
        ];
        for n in 1..=keys.len() {
            let mut p = Patterns::default();
            p.clear();
            for k in &keys[..n] {
                p.insert(xxh3_64(k.as_bytes()), k);
            }
            for hay in hays {
                let mut want = Vec::new();
                for k in &keys[..n] {
                    for (at, _) in hay.match_indices(k).chain(
                        // `match_indices` skips overlapping occurrences.
                        (1..hay.len())
                            .filter(|&i| hay.is_char_boundary(i) && hay[i..].starts_with(k))
                            .map(|i| (i, *k)),
                    ) {
                        let glued = at > 0
                            && is_ascii_word(hay.as_bytes()[at - 1])
                            && is_ascii_word(k.as_bytes()[0]);
                        if !glued {
                            want.push((at, at + k.len()));
                        }
                    }
                }
                want.sort_unstable();
                want.dedup();
                assert_eq!(all_matches(&p, hay), want, "{hay:?} with {n} keys");
            }
        }
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
