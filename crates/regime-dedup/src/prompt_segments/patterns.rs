//! The canonical segments of one sample and the search for their copies.
//!
//! Every canonical segment is a pattern; a field is searched for every
//! occurrence of every pattern registered before it (overlapping ones
//! included, as Aho–Corasick's standard semantics report them). A sample
//! holds a handful of canonical segments, and building an automaton per
//! sample costs more than it saves on ~100-byte fields, so up to
//! [`AUTOMATON_MIN_PATTERNS`] patterns are searched one by one; past that
//! (long OCR text, many-turn conversations) they are searched with
//! Aho–Corasick automata. A conversation adds patterns turn by turn, and
//! rebuilding one automaton over all of them at every turn cost time
//! quadratic in its length; instead each batch of new patterns gets an
//! automaton of its own, merged with the newest ones while those are no
//! larger (as a binary counter carries), so a pattern is built into
//! O(log patterns) automata and a search runs O(log patterns) of them.
//! Both searches report the same occurrences (unit tests pin this).
//!
//! The one-by-one search looks a pattern that starts with an ASCII word
//! character up only where an ASCII word starts, by a key of its first
//! 16 bytes: canonical segments of one sample often share their first
//! words, and a shorter key would send every such start to a compare.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::span_text::SpanText;

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

/// Bytes of a pattern's prefix checked at every candidate position of the
/// patterns that do not start with an ASCII word character.
const PREFIX_BYTES: usize = 4;

/// Most bytes of a pattern's start that file it in
/// `Patterns::word_starts`: canonical segments are at least `min_chars`
/// (16 by default) bytes long, and 16 bytes tell apart questions that
/// share their first words ("is there a red …", "is there a teal …").
const PROBE_BYTES_MAX: usize = 16;

/// The key under which a pattern starting with `bytes` (exactly the probe
/// length, 4 to 16 bytes) is filed: its first and last 8 (or 4) bytes,
/// mixed. Equal starts give equal keys; a collision only costs a compare.
fn probe_key(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let (lo, hi) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(&lo), Some(&hi)) => (u64::from_le_bytes(lo), u64::from_le_bytes(hi)),
        _ => match (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
            (Some(&lo), Some(&hi)) => (
                u64::from(u32::from_le_bytes(lo)),
                u64::from(u32::from_le_bytes(hi)),
            ),
            _ => (0, 0),
        },
    };
    // `n` tells apart a 12-byte probe from a 16-byte one sharing its ends.
    let h = (lo ^ hi.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The map takes its bucket from the low bits: fold the high ones in.
    h ^ (h >> 29)
}

/// A place where an ASCII word starts in a span's normalised text, with
/// the [`probe_key`] of its next [`PROBE_BYTES_MAX`] bytes: what the
/// search looks up there whenever the probe length is that maximum (every
/// pattern at least that long, as canonical segments are by default).
/// Computed once per text and cached with its index, so a recurring field
/// is searched without being scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Probe {
    key: u64,
    /// Byte offset in the span's normalised text.
    at: u32,
    /// Index of the span in the field's index.
    span: u32,
}

/// Appends to `out` the [`Probe`]s of a field's normalised `spans`, in span
/// and text order: every ASCII word start with at least [`PROBE_BYTES_MAX`]
/// bytes from it to the end of its span. Returns `false` when a span's
/// index or length does not fit a `u32` (the field is then searched
/// without probes).
pub(super) fn word_start_probes(spans: &[SpanText], out: &mut Vec<Probe>) -> bool {
    for (span, text) in spans.iter().enumerate() {
        let bytes = text.text().as_bytes();
        let (Ok(span), Ok(_)) = (u32::try_from(span), u32::try_from(bytes.len())) else {
            return false;
        };
        let Some(last) = bytes.len().checked_sub(PROBE_BYTES_MAX) else {
            continue;
        };
        for_each_word_start(&bytes[..=last], |i| {
            out.push(Probe {
                key: probe_key(&bytes[i..i + PROBE_BYTES_MAX]),
                // Below the span's length, which fits (checked above).
                at: u32::try_from(i).unwrap_or(u32::MAX),
                span,
            });
        });
    }
    true
}

/// Bits of each prefix filter (`Patterns::filters`).
const FILTER_BITS: usize = 1024;

/// A 1024-bit set of hashed prefixes.
type Filter = [u64; FILTER_BITS / 64];

/// The first [`PREFIX_BYTES`] bytes of `bytes` as a number (0 when
/// shorter).
fn prefix_of(bytes: &[u8]) -> u32 {
    bytes
        .first_chunk::<PREFIX_BYTES>()
        .map_or(0, |&p| u32::from_le_bytes(p))
}

/// The filter bit of a prefix.
fn filter_bit(prefix: u32) -> usize {
    (prefix.wrapping_mul(0x9E37_79B1) >> 22) as usize
}

/// The filter bit of a [`probe_key`].
fn key_bit(key: u64) -> usize {
    // The top bits (the map's bucket comes from the low ones); the shift
    // leaves a value below FILTER_BITS.
    usize::try_from(key >> (64 - FILTER_BITS.trailing_zeros())).unwrap_or(0)
}

fn filter_has(filter: &Filter, bit: usize) -> bool {
    filter[bit / 64] & (1 << (bit % 64)) != 0
}

/// Sets `bit` in `filter`.
fn filter_set(filter: &mut Filter, bit: usize) {
    filter[bit / 64] |= 1 << (bit % 64);
}

/// Calls `at(i)` for every `i` where an ASCII word starts in `bytes`: an
/// ASCII word byte not preceded by one. Eight bytes are classified at a
/// time with SWAR arithmetic (one branch-free step per word instead of a
/// table lookup and a branch per byte); a unit test pins it to the
/// per-byte definition.
fn for_each_word_start(bytes: &[u8], mut at: impl FnMut(usize)) {
    let mut chunks = bytes.chunks_exact(8);
    // Bit 7 of each byte lane where that byte is a word byte; the last
    // lane of the chunk before carries over as the byte before lane 0.
    let mut before = 0u64;
    let mut base = 0;
    for chunk in &mut chunks {
        let mut lanes = [0u8; 8];
        lanes.copy_from_slice(chunk);
        let word = word_lanes(u64::from_le_bytes(lanes));
        let mut starts = word & !((word << 8) | before);
        before = word >> 56;
        while starts != 0 {
            at(base + (starts.trailing_zeros() / 8) as usize);
            starts &= starts - 1;
        }
        base += 8;
    }
    let mut after_word = before != 0;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        let word = is_ascii_word(b);
        if word && !after_word {
            at(base + i);
        }
        after_word = word;
    }
}

/// Bit 7 of each byte lane of `x` set where that byte is an ASCII word
/// byte (`0-9`, `A-Z`, `a-z`, `_`), every other bit clear.
fn word_lanes(x: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const fn splat(b: u8) -> u64 {
        0x0101_0101_0101_0101 * b as u64
    }
    let ascii = !x & HIGH;
    let low = x & LOW7;
    // Each lane is at most 0x7F and each addend at most 0x80, so no lane
    // carries into the next: bit 7 of a lane says `lane >= lo` (or
    // `lane > hi`).
    let at_least = |v: u64, lo: u8| (v + splat(0x80 - lo)) & HIGH;
    let above = |v: u64, hi: u8| (v + splat(0x7F - hi)) & HIGH;
    let digit = at_least(low, b'0') & !above(low, b'9');
    let folded = low | splat(0x20);
    let letter = at_least(folded, b'a') & !above(folded, b'z');
    let underscore = !(((low ^ splat(b'_')) + LOW7) & HIGH) & HIGH;
    (digit | letter | underscore) & ascii
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
#[derive(Debug)]
pub(super) struct Patterns {
    keys: String,
    list: Vec<Pattern>,
    ids: HashMapU64,
    /// Automata over consecutive runs of `list`, oldest and largest first;
    /// each with the index of its first pattern.
    automata: Vec<(usize, AhoCorasick)>,
    /// Patterns the automata were built over (from the first).
    built: usize,
    /// An automaton could not be built: every search is one by one.
    no_automaton: bool,
    /// The patterns that start with an ASCII word character, with the
    /// [`probe_key`] of their first `probe_len` bytes. Such a pattern can
    /// only occur where an ASCII word starts in the searched text (anywhere
    /// else its copy would cut a word, see `is_token_boundary`), so those
    /// are the only places looked up. A list, not a map: it is only read where
    /// `word_filter` lets a probe through (a few word starts per sample),
    /// and holds at most [`AUTOMATON_MIN_PATTERNS`] patterns whenever it is
    /// read (past that the automaton searches; only an automaton that
    /// cannot be built, which no realistic pattern set causes, leaves a
    /// longer list to read), while filing each pattern in a map cost more
    /// than all the look-ups.
    word_starts: Vec<(u64, u32)>,
    /// The probe keys of `word_starts` as a bit set, checked before the
    /// list (most word starts are no pattern's).
    word_filter: Filter,
    /// The [`PREFIX_BYTES`]-byte prefixes of `word_starts`: a scan checks
    /// them at each word start before making its probe key.
    word_prefix_filter: Filter,
    /// Bytes of a pattern's start filed in `word_starts`: the shortest
    /// pattern's length, at most [`PROBE_BYTES_MAX`].
    probe_len: usize,
    /// The other patterns (starting with punctuation or a non-ASCII
    /// character), searched at every position.
    others: Vec<u32>,
    /// The [`PREFIX_BYTES`]-byte prefixes of `others`.
    others_filter: Filter,
    /// Whether a pattern is shorter than [`PREFIX_BYTES`] (then every
    /// pattern is searched one by one).
    any_short: bool,
    /// Byte length of the shortest pattern.
    min_len: usize,
}

impl Default for Patterns {
    fn default() -> Self {
        Self {
            keys: String::new(),
            list: Vec::new(),
            ids: HashMapU64::default(),
            automata: Vec::new(),
            built: 0,
            no_automaton: false,
            word_starts: Vec::new(),
            word_filter: [0; FILTER_BITS / 64],
            word_prefix_filter: [0; FILTER_BITS / 64],
            probe_len: PROBE_BYTES_MAX,
            others: Vec::new(),
            others_filter: [0; FILTER_BITS / 64],
            any_short: false,
            min_len: usize::MAX,
        }
    }
}

impl Patterns {
    pub(super) fn clear(&mut self) {
        self.keys.clear();
        self.list.clear();
        self.ids.clear();
        self.automata.clear();
        self.built = 0;
        self.no_automaton = false;
        self.word_starts.clear();
        self.word_filter = [0; FILTER_BITS / 64];
        self.word_prefix_filter = [0; FILTER_BITS / 64];
        self.probe_len = PROBE_BYTES_MAX;
        self.others.clear();
        self.others_filter = [0; FILTER_BITS / 64];
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
        self.list.push(Pattern {
            hash,
            start,
            end: self.keys.len(),
        });
        let bytes = key.as_bytes();
        self.min_len = self.min_len.min(bytes.len());
        if bytes.len() < PREFIX_BYTES {
            // Searched one by one from now on: nothing to file.
            self.any_short = true;
            return;
        }
        let Ok(id) = u32::try_from(next) else {
            // Past 4 billion patterns the automaton (or the one-by-one
            // search) is used anyway.
            self.any_short = true;
            return;
        };
        if bytes.first().is_some_and(|&b| is_ascii_word(b)) {
            if bytes.len() < self.probe_len {
                // A shorter probe for every pattern: file them again.
                self.probe_len = bytes.len();
                self.refile_word_starts();
            } else {
                self.file_word_start(id);
            }
        } else {
            let bit = filter_bit(prefix_of(bytes));
            filter_set(&mut self.others_filter, bit);
            self.others.push(id);
        }
    }

    /// Files pattern `id` (which starts with an ASCII word character and
    /// has at least `probe_len` bytes) in `word_starts`.
    fn file_word_start(&mut self, id: u32) {
        let p = self.list[id as usize];
        let start = &self.keys.as_bytes()[p.start..p.start + self.probe_len];
        let probe = probe_key(start);
        let bit = key_bit(probe);
        filter_set(&mut self.word_filter, bit);
        let bit = filter_bit(prefix_of(start));
        filter_set(&mut self.word_prefix_filter, bit);
        self.word_starts.push((probe, id));
    }

    /// Calls `found(len)` for each word-start pattern filed under `probe`
    /// that starts `bytes`, `len` being the pattern's length.
    fn probe_at(&self, probe: u64, bytes: &[u8], found: &mut impl FnMut(usize)) {
        for &(filed, id) in &self.word_starts {
            if filed != probe {
                continue;
            }
            let p = self.list[id as usize];
            let key = &self.keys[p.start..p.end];
            if bytes.starts_with(key.as_bytes()) {
                found(key.len());
            }
        }
    }

    /// Files every word-start pattern again, after `probe_len` shrank.
    fn refile_word_starts(&mut self) {
        self.word_starts.clear();
        self.word_filter = [0; FILTER_BITS / 64];
        self.word_prefix_filter = [0; FILTER_BITS / 64];
        // Ids past u32 were never filed (see `insert`).
        let filed = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        for id in 0..filed {
            let p = self.list[id as usize];
            let key = &self.keys.as_bytes()[p.start..p.end];
            if key.len() >= PREFIX_BYTES && key.first().is_some_and(|&b| is_ascii_word(b)) {
                self.file_word_start(id);
            }
        }
    }

    /// The patterns with their hashes, in registration order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, &str)> {
        self.list
            .iter()
            .map(|p| (p.hash, &self.keys[p.start..p.end]))
    }

    /// Whether a search for the patterns registered so far looks up
    /// [`Probe`]s (see [`Self::for_each_match_in`]): there are patterns,
    /// too few for an automaton, all at least [`PROBE_BYTES_MAX`] bytes.
    pub(super) fn takes_probes(&self) -> bool {
        !self.list.is_empty()
            && self.list.len() <= AUTOMATON_MIN_PATTERNS
            && self.probe_len == PROBE_BYTES_MAX
            && !self.any_short
    }

    /// Makes [`Self::for_each_match`] ready for the patterns registered so
    /// far: the new ones get an automaton, merged with the newest automata
    /// no larger than it.
    pub(super) fn prepare(&mut self) {
        let len = self.list.len();
        if len <= AUTOMATON_MIN_PATTERNS || self.built == len || self.no_automaton {
            return;
        }
        let mut first = self.built;
        while let Some(&(start, _)) = self.automata.last() {
            if first - start > len - first {
                break;
            }
            first = start;
            self.automata.pop();
        }
        let built = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(
                self.list[first..]
                    .iter()
                    .map(|p| &self.keys[p.start..p.end]),
            );
        if let Ok(ac) = built {
            self.automata.push((first, ac));
        } else {
            // Too large for its state ids, the only failure to build.
            self.no_automaton = true;
            self.automata.clear();
        }
        self.built = len;
    }

    /// Calls `found(start, end)` for every occurrence of every pattern in
    /// `hay` (overlapping ones included), after [`Self::prepare`].
    pub(super) fn for_each_match(&self, hay: &str, mut found: impl FnMut(usize, usize)) {
        if !self.automata.is_empty() && self.built == self.list.len() {
            for (_, ac) in &self.automata {
                for m in ac.find_overlapping_iter(hay) {
                    found(m.start(), m.end());
                }
            }
            return;
        }
        if !self.any_short {
            self.word_start_search(hay, &mut found);
            self.others_search(hay, &mut found);
            return;
        }
        // Without automata (too few patterns, or too many to build one) the
        // one-by-one search below finds the same occurrences.
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
                found(start, start + key.len());
                from = start + step;
            }
        }
    }
}

impl Patterns {
    /// Calls `found(span, start, end)` for every occurrence of every
    /// pattern in the normalised text of every span of `spans` (what
    /// [`Self::for_each_match`] finds in each), after [`Self::prepare`].
    /// `probes`, when given, are the spans' [`Probe`]s: when
    /// [`Self::takes_probes`], the word-start patterns are looked up at
    /// those instead of scanning the spans for word starts.
    pub(super) fn for_each_match_in(
        &self,
        spans: &[SpanText],
        probes: Option<&[Probe]>,
        mut found: impl FnMut(usize, usize, usize),
    ) {
        let usable = probes.filter(|_| self.takes_probes());
        let Some(probes) = usable else {
            for (i, span) in spans.iter().enumerate() {
                self.for_each_match(span.text(), |s, e| found(i, s, e));
            }
            return;
        };
        if !self.word_starts.is_empty() {
            for p in probes {
                if !filter_has(&self.word_filter, key_bit(p.key)) {
                    continue;
                }
                let (span, at) = (p.span as usize, p.at as usize);
                let Some(bytes) = spans.get(span).map(|s| s.text().as_bytes()) else {
                    continue;
                };
                self.probe_at(p.key, &bytes[at..], &mut |len| found(span, at, at + len));
            }
        }
        for (i, span) in spans.iter().enumerate() {
            self.others_search(span.text(), &mut |s, e| found(i, s, e));
        }
    }

    /// The search of [`Self::for_each_match`] for the patterns that start
    /// with an ASCII word character (when every pattern has at least
    /// [`PREFIX_BYTES`] bytes): at each position where an ASCII word
    /// starts, the next `probe_len` bytes are looked up in `word_starts`,
    /// and only the patterns filed there are compared whole. Positions
    /// right after an ASCII word character are skipped: an occurrence there
    /// cuts a word, so it would be dropped (`is_token_boundary`); nothing
    /// else is.
    fn word_start_search(&self, hay: &str, found: &mut impl FnMut(usize, usize)) {
        if self.word_starts.is_empty() {
            return;
        }
        let bytes = hay.as_bytes();
        let Some(last) = bytes.len().checked_sub(self.probe_len) else {
            return;
        };
        for_each_word_start(&bytes[..=last], |i| {
            // A few instructions rule out most word starts before the key
            // (and keep this closure small enough to be inlined).
            if filter_has(&self.word_prefix_filter, filter_bit(prefix_of(&bytes[i..]))) {
                self.word_start_at(bytes, i, found);
            }
        });
    }

    /// The word-start patterns at `bytes[i..]`, which has at least
    /// `probe_len` bytes.
    #[inline(never)]
    fn word_start_at(&self, bytes: &[u8], i: usize, found: &mut impl FnMut(usize, usize)) {
        let probe = probe_key(&bytes[i..i + self.probe_len]);
        if filter_has(&self.word_filter, key_bit(probe)) {
            self.probe_at(probe, &bytes[i..], &mut |len| found(i, i + len));
        }
    }

    /// The search of [`Self::for_each_match`] for the other patterns (when
    /// every pattern has at least [`PREFIX_BYTES`] bytes): one pass over
    /// `hay`, looking at each position's next 4 bytes in a bit set of their
    /// prefixes, and comparing them whole only there.
    fn others_search(&self, hay: &str, found: &mut impl FnMut(usize, usize)) {
        if self.others.is_empty() {
            return;
        }
        let bytes = hay.as_bytes();
        for (i, w) in bytes.windows(PREFIX_BYTES).enumerate() {
            if !filter_has(&self.others_filter, filter_bit(prefix_of(w))) {
                continue;
            }
            for &id in &self.others {
                let p = self.list[id as usize];
                let key = &self.keys[p.start..p.end];
                if bytes[i..].starts_with(key.as_bytes()) {
                    found(i, i + key.len());
                }
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
        p.for_each_match(hay, |s, e| out.push((s, e)));
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
        assert!(small.automata.is_empty());
        let mut big = Patterns::default();
        for k in ["aa", "shape?", "the shape?", "é s"] {
            big.insert(xxh3_64(k.as_bytes()), k);
        }
        for i in 0..AUTOMATON_MIN_PATTERNS {
            let k = format!("filler {i}");
            big.insert(xxh3_64(k.as_bytes()), &k);
        }
        big.prepare();
        assert_eq!(big.automata.len(), 1);
        let want = all_matches(&small, hay);
        // "aa" overlaps itself: 3 in "aaaa", 2 in "aaa".
        assert_eq!(want.iter().filter(|(s, e)| &hay[*s..*e] == "aa").count(), 5);
        assert_eq!(want.len(), 5 + 3 + 2 + 1);
        assert_eq!(all_matches(&big, hay), want);
    }

    #[test]
    fn one_by_one_search_finds_every_occurrence_that_cuts_no_word_at_its_start() {
        // The first two share their first 16 bytes (one probe key); the third
        // shortens the probe, which files every pattern again.
        let keys = [
            "is there a red shape in it?",
            "is there a red shape",
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
            "is there a red shape in it? xis there a red shape, is there a red shapes",
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
    fn probes_find_what_a_scan_of_each_span_finds() {
        let hays = [
            "is there a red shape in it? xis there a red shape, is there a red shapes",
            "what color is the shape? \"what color is the shape?\" ok",
            "short",
            "",
            "a picture: what color is the shape?what color is the shape?",
        ];
        let mut spans = Vec::new();
        for hay in hays {
            let mut span = SpanText::default();
            span.fill(hay, 0, false);
            spans.push(span);
        }
        let mut probes = Vec::new();
        assert!(word_start_probes(&spans, &mut probes));
        // Probe-length keys only, then one that shortens the probe, one
        // that is searched at every position and enough for an automaton.
        let mut keys: Vec<String> = [
            "is there a red shape in it?",
            "is there a red shape",
            "what color is the shape?",
            "what color is the shape?\" ok",
            "\"what color is the shape",
            "red shape, is",
        ]
        .map(str::to_owned)
        .to_vec();
        keys.extend((0..AUTOMATON_MIN_PATTERNS).map(|i| format!("filler pattern number {i}")));
        for n in 1..=keys.len() {
            let mut p = Patterns::default();
            for k in &keys[..n] {
                p.insert(xxh3_64(k.as_bytes()), k);
            }
            p.prepare();
            let mut scanned = Vec::new();
            p.for_each_match_in(&spans, None, |i, s, e| scanned.push((i, s, e)));
            let mut looked_up = Vec::new();
            p.for_each_match_in(&spans, Some(&probes), |i, s, e| {
                looked_up.push((i, s, e));
            });
            scanned.sort_unstable();
            looked_up.sort_unstable();
            assert_eq!(looked_up, scanned, "{n} keys");
            assert!(!scanned.is_empty());
        }
    }

    #[test]
    fn word_starts_are_found_eight_bytes_at_a_time_as_byte_by_byte() {
        let naive = |bytes: &[u8]| -> Vec<usize> {
            (0..bytes.len())
                .filter(|&i| is_ascii_word(bytes[i]) && (i == 0 || !is_ascii_word(bytes[i - 1])))
                .collect()
        };
        // Every byte value next to every other, at every lane and across
        // chunk edges.
        let mut texts: Vec<Vec<u8>> = (0..=255u8)
            .map(|b| (0..=255u8).flat_map(|c| [b, c, b' ', c]).collect())
            .collect();
        texts.push(b"is there a blue_shape? 2 x\xC3\xA9t\xE4\xB8\xADok".to_vec());
        texts.push("a\u{e9}b \u{4e2d}c_9 ".repeat(9).into_bytes());
        for text in &texts {
            for skip in 0..9.min(text.len()) {
                let bytes = &text[skip..];
                let mut got = Vec::new();
                for_each_word_start(bytes, |i| got.push(i));
                assert_eq!(got, naive(bytes), "{bytes:?}");
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
        // Stale automata: the one-by-one search is used until prepare.
        assert_eq!(all_matches(&p, "a late pattern"), [(2, 14)]);
        p.prepare();
        assert_eq!(p.built, AUTOMATON_MIN_PATTERNS + 2);
        assert_eq!(all_matches(&p, "a late pattern"), [(2, 14)]);
    }

    #[test]
    fn automata_merge_like_a_binary_counter_and_find_every_pattern() {
        let mut p = Patterns::default();
        let key = |i: usize| format!("pattern number {i} here");
        for i in 0..=AUTOMATON_MIN_PATTERNS {
            p.insert(xxh3_64(key(i).as_bytes()), &key(i));
        }
        p.prepare();
        // Patterns added a few at a time, as turns of a conversation add them.
        let mut next = AUTOMATON_MIN_PATTERNS + 1;
        for batch in [1, 1, 2, 5, 3, 30, 1] {
            for _ in 0..batch {
                p.insert(xxh3_64(key(next).as_bytes()), &key(next));
                next += 1;
            }
            p.prepare();
            // Sizes strictly decrease from the oldest, and cover every pattern.
            let sizes: Vec<usize> = p
                .automata
                .iter()
                .enumerate()
                .map(|(j, &(first, _))| p.automata.get(j + 1).map_or(p.list.len(), |a| a.0) - first)
                .collect();
            assert!(sizes.windows(2).all(|w| w[0] > w[1]), "{sizes:?}");
            assert_eq!(p.automata[0].0, 0);
            assert_eq!(sizes.iter().sum::<usize>(), p.list.len());
            let hay = (0..next).map(key).collect::<Vec<_>>().join(" ");
            assert_eq!(all_matches(&p, &hay).len(), next);
        }
        // 25 + 43 patterns in at most log2(68) + 1 automata.
        assert!(p.automata.len() <= 7);
    }
}
