//! The exact n-gram count table: open addressing with linear probing over
//! one flat array of `u32` cells.
//!
//! Why not a `HashMap`: with millions of distinct n-grams every insert is a
//! cache miss, and a general map gives no way to overlap them. Here a batch
//! of keys is hashed first and its slots are touched in a tight loop, so
//! the misses of a whole batch are in flight at once (memory-level
//! parallelism) before the probing loop runs over cached lines. A slot is
//! the `n` token ids of the key and a `u32` count (`4(n + 1)` bytes: 12 for
//! bigrams, 20 for 4-grams); count 0 marks an empty slot. A count that
//! would pass `u32::MAX` keeps 1 in the slot and moves the rest to a small
//! overflow map, so counts stay exact at any corpus size. The load factor
//! stays at or below 3/4 (the table doubles past it). Iteration order
//! depends only on the keys inserted, never on a random seed.

use hashbrown::HashMap;
use serde::{Serialize, Serializer};

use crate::cells::Cells;
use crate::ngram::{Key, MAX_N, key_of, write_key};

/// Keys hashed and touched ahead of probing.
const BATCH: usize = 32;

/// Slots of the first allocation.
const MIN_SLOTS: usize = 64;

/// Exact counts of n-gram keys (the first `n` ids of a [`Key`]).
#[derive(Debug, Clone)]
pub(crate) struct CountTable {
    n: usize,
    /// `slots × (n + 1)` cells: the ids, then the count.
    cells: Cells,
    len: usize,
    /// Count beyond the slot's, for keys whose count passed `u32::MAX`.
    overflow: HashMap<Key, u64>,
}

/// `fmix64` of `MurmurHash3` (Appleby): a bijective mix whose low bits
/// depend on every input bit, as a power-of-two mask needs.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn hash(k: &Key) -> u64 {
    let a = u64::from(k[0]) | (u64::from(k[1]) << 32);
    let b = u64::from(k[2]) | (u64::from(k[3]) << 32);
    fmix64(a ^ fmix64(b ^ 0x9e37_79b9_7f4a_7c15))
}

/// Finds `key`'s slot by linear probing from `h`: the index of the slot's
/// count cell, and whether it holds `key` (else it is the empty slot where
/// `key` would go). The table must have an empty slot.
#[inline]
fn find(cells: &[u32], n: usize, key: &Key, h: u64) -> (usize, bool) {
    let stride = n + 1;
    let mask = cells.len() / stride - 1;
    #[expect(clippy::cast_possible_truncation, reason = "masked to the table size")]
    let mut i = (h as usize) & mask;
    loop {
        let cell = &cells[i * stride..(i + 1) * stride];
        if cell[n] == 0 {
            return (i * stride + n, false);
        }
        // Element-wise: a slice `==` of runtime length calls `memcmp`.
        if cell[..n].iter().zip(key).all(|(a, b)| a == b) {
            return (i * stride + n, true);
        }
        i = (i + 1) & mask;
    }
}

/// [`find`], claiming the empty slot for `key` when absent. Returns the
/// index of the slot's count cell and whether the slot was claimed.
#[inline]
fn probe(cells: &mut [u32], n: usize, key: &Key, h: u64) -> (usize, bool) {
    let (at, held) = find(cells, n, key, h);
    if !held {
        write_key(&mut cells[at - n..at], key, n);
    }
    (at, !held)
}

impl CountTable {
    /// An empty table for keys of `n` ids (clamped to 1…[`MAX_N`]).
    pub(crate) fn new(n: usize) -> Self {
        Self {
            n: n.clamp(1, MAX_N),
            cells: Cells::default(),
            len: 0,
            overflow: HashMap::new(),
        }
    }

    /// Distinct keys held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn stride(&self) -> usize {
        self.n + 1
    }

    fn slots(&self) -> usize {
        self.cells.len() / self.stride()
    }

    /// Bytes of the cell array.
    pub(crate) fn bytes(&self) -> usize {
        self.cells.len() * 4 + self.overflow.len() * 48
    }

    /// Slots the table needs to hold `extra` more keys at or below 3/4
    /// load: its current slots, or the doubling it would grow to.
    fn slots_for(&self, extra: usize) -> usize {
        let need = self.len.saturating_add(extra);
        let slots = self.slots();
        if need.saturating_mul(4) <= slots.saturating_mul(3) {
            return slots;
        }
        let mut grown = slots.max(MIN_SLOTS);
        while need.saturating_mul(4) > grown.saturating_mul(3) {
            grown = grown.saturating_mul(2);
        }
        grown
    }

    /// Bytes the table adds to [`Self::bytes`] at its peak while growing to
    /// hold `extra` more keys (0 when they fit). Each doubling holds the old
    /// cells until its keys are moved, and keys are inserted a batch at a
    /// time, so the peak is the last doubling: the final cells plus the
    /// half-size ones, which exceed the current cells when the table
    /// doubles more than once.
    pub(crate) fn growth_bytes(&self, extra: usize) -> usize {
        let grown = self.slots_for(extra);
        if grown == self.slots() {
            return 0;
        }
        let bytes = |slots: usize| slots.saturating_mul(self.stride()).saturating_mul(4);
        bytes(grown).saturating_add(bytes(grown / 2).saturating_sub(self.cells.len() * 4))
    }

    /// Makes room for `extra` more keys without passing 3/4 load.
    fn reserve(&mut self, extra: usize) {
        let grown = self.slots_for(extra);
        if grown == self.slots() {
            return;
        }
        let (n, stride) = (self.n, self.stride());
        let old = std::mem::replace(&mut self.cells, Cells::zeroed(grown * stride));
        let mask = grown - 1;
        let cells = self.cells.as_mut_slice();
        // The old keys are distinct: each goes to the first empty slot from
        // its home, no key compared. Its cell moves whole (a count past
        // u32::MAX keeps its slot's 1 and its overflow entry).
        for cell in old.as_slice().chunks_exact(stride) {
            if cell[n] == 0 {
                continue;
            }
            #[expect(clippy::cast_possible_truncation, reason = "masked to the table size")]
            let mut i = (hash(&key_of(cell, n)) as usize) & mask;
            while cells[i * stride + n] != 0 {
                i = (i + 1) & mask;
            }
            let slot = &mut cells[i * stride..(i + 1) * stride];
            write_key(slot, cell, n);
            slot[n] = cell[n];
        }
    }

    /// Adds `count` to `key` given its hash; room must be reserved.
    #[inline]
    fn add_hashed(&mut self, key: &Key, h: u64, count: u64) {
        let n = self.n;
        let cells = self.cells.as_mut_slice();
        let (at, fresh) = probe(cells, n, key, h);
        self.len += usize::from(fresh);
        let now = u64::from(cells[at]) + count;
        if let Ok(c) = u32::try_from(now) {
            cells[at] = c;
        } else {
            // Past `u32::MAX`: the slot keeps 1 (non-zero marks it used).
            *self.overflow.entry(*key).or_insert(0) += now - 1;
            cells[at] = 1;
        }
    }

    /// Hashes `keys` (at most [`BATCH`]) into `hashes` and touches each
    /// one's home slot, so that the cache misses of the batch overlap
    /// before it is probed.
    #[inline]
    fn hash_and_touch<'k>(&self, keys: impl Iterator<Item = &'k Key>, hashes: &mut [u64; BATCH]) {
        let (n, stride) = (self.n, self.stride());
        let mask = self.slots().wrapping_sub(1);
        let cells = self.cells.as_slice();
        let mut len = 0;
        for (h, k) in hashes.iter_mut().zip(keys) {
            *h = hash(k);
            len += 1;
        }
        let mut acc = 0u32;
        for &h in &hashes[..len] {
            #[expect(clippy::cast_possible_truncation, reason = "masked to the table size")]
            let i = (h as usize) & mask;
            acc ^= cells[i * stride + n];
        }
        std::hint::black_box(acc);
    }

    /// Counts one occurrence of each key.
    pub(crate) fn insert_batch(&mut self, keys: &[Key]) {
        let mut hashes = [0u64; BATCH];
        for chunk in keys.chunks(BATCH) {
            // Room batch by batch, not for every key at once: a table grows
            // only as far as its distinct keys need.
            self.reserve(chunk.len());
            self.hash_and_touch(chunk.iter(), &mut hashes);
            for (&h, k) in hashes.iter().zip(chunk) {
                self.add_hashed(k, h, 1);
            }
        }
    }

    /// Adds `(key, count)` pairs; room must be reserved.
    fn add_batch(&mut self, entries: &[(Key, u64)]) {
        let mut hashes = [0u64; BATCH];
        for chunk in entries.chunks(BATCH) {
            self.hash_and_touch(chunk.iter().map(|(k, _)| k), &mut hashes);
            for (&h, (k, c)) in hashes.iter().zip(chunk) {
                self.add_hashed(k, h, *c);
            }
        }
    }

    /// Adds every count of `other` (keys of the same `n`).
    pub(crate) fn merge(&mut self, other: &Self) {
        self.reserve(other.len);
        let mut batch = Vec::with_capacity(BATCH);
        for e in other.iter() {
            batch.push(e);
            if batch.len() == BATCH {
                self.add_batch(&batch);
                batch.clear();
            }
        }
        self.add_batch(&batch);
    }

    /// `(key, count)` of every key held, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, u64)> + Clone + '_ {
        self.iter_at_least(1)
    }

    /// `(key, count)` of every key counted at least `min` times, in slot
    /// order. The slot's count is checked before the key is built.
    pub(crate) fn iter_at_least(&self, min: u64) -> impl Iterator<Item = (Key, u64)> + Clone + '_ {
        // A slot holds a key's whole count unless that count spilled.
        let spilled = !self.overflow.is_empty();
        self.used_slots()
            .filter(move |c| spilled || u64::from(c[self.n]) >= min)
            .map(|c| self.entry(c))
            .filter(move |e| e.1 >= min)
    }

    /// The count of every key held, in slot order.
    pub(crate) fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        let spilled = !self.overflow.is_empty();
        self.used_slots().map(move |c| {
            if spilled {
                self.entry(c).1
            } else {
                u64::from(c[self.n])
            }
        })
    }

    /// The cells of each used slot.
    fn used_slots(&self) -> impl Iterator<Item = &[u32]> + Clone + '_ {
        let n = self.n;
        self.cells
            .as_slice()
            .chunks_exact(self.stride())
            .filter(move |c| c[n] != 0)
    }

    /// The key and whole count of a used slot.
    fn entry(&self, cell: &[u32]) -> (Key, u64) {
        let key = key_of(cell, self.n);
        let extra = if self.overflow.is_empty() {
            0
        } else {
            self.overflow.get(&key).copied().unwrap_or(0)
        };
        (key, u64::from(cell[self.n]) + extra)
    }

    /// A table of keys of `n` ids holding `entries` (ids past `n` ignored).
    pub(crate) fn from_entries(n: usize, entries: impl IntoIterator<Item = (Key, u64)>) -> Self {
        let mut t = Self::new(n);
        let entries: Vec<(Key, u64)> = entries
            .into_iter()
            .filter(|&(_, c)| c > 0)
            .map(|(k, c)| (key_of(&k, t.n), c))
            .collect();
        t.reserve(entries.len());
        t.add_batch(&entries);
        t
    }

    /// The count of `key` (0 when absent).
    #[cfg(test)]
    pub(crate) fn get(&self, key: &Key) -> u64 {
        let mut out = [0];
        self.counts_of(std::slice::from_ref(key), &mut out);
        out[0]
    }

    /// The count of each of `keys` (0 when absent) into `out`, the keys'
    /// slots touched first so their cache misses overlap.
    fn counts_of(&self, keys: &[Key], out: &mut [u64]) {
        if self.len == 0 {
            out.fill(0);
            return;
        }
        let n = self.n;
        let cells = self.cells.as_slice();
        let mut hashes = [0u64; BATCH];
        for (chunk, out) in keys.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            self.hash_and_touch(chunk.iter(), &mut hashes);
            for ((&h, key), out) in hashes.iter().zip(chunk).zip(out) {
                *out = match find(cells, n, key, h) {
                    (at, true) => self.entry(&cells[at - n..=at]).1,
                    (_, false) => 0,
                };
            }
        }
    }
}

/// Calls `f(key, count, in_base)` once for each key that some table of
/// `tables` counts at least `min` times, with its count summed over them
/// and `base`, and its count in `base` alone, without building their
/// union: a key is visited from the first table counting it `min` times
/// and looked up in the others and in `base` (in batches, so the lookups'
/// cache misses overlap). Keys only `base` holds are not visited: a caller
/// reads `base` itself, which costs no lookup.
pub(crate) fn for_each_union_entry(
    tables: &[&CountTable],
    base: Option<&CountTable>,
    min: u64,
    mut f: impl FnMut(&Key, u64, u64),
) {
    let mut keys: Vec<Key> = Vec::with_capacity(BATCH);
    let mut sums: Vec<u64> = Vec::with_capacity(BATCH);
    let mut seen = [false; BATCH];
    let mut found = [0u64; BATCH];
    let mut in_base = [0u64; BATCH];
    let mut flush = |r: usize, keys: &mut Vec<Key>, sums: &mut Vec<u64>| {
        seen.fill(false);
        for (q, other) in tables.iter().enumerate().filter(|&(q, _)| q != r) {
            other.counts_of(keys, &mut found[..keys.len()]);
            for j in 0..keys.len() {
                sums[j] += found[j];
                // Visited already from an earlier table.
                seen[j] |= q < r && found[j] >= min;
            }
        }
        match base {
            Some(b) => b.counts_of(keys, &mut in_base[..keys.len()]),
            None => in_base.fill(0),
        }
        for j in 0..keys.len() {
            if !seen[j] {
                f(&keys[j], sums[j] + in_base[j], in_base[j]);
            }
        }
        keys.clear();
        sums.clear();
    };
    for (r, table) in tables.iter().enumerate() {
        for (key, count) in table.iter_at_least(min) {
            keys.push(key);
            sums.push(count);
            if keys.len() == BATCH {
                flush(r, &mut keys, &mut sums);
            }
        }
        flush(r, &mut keys, &mut sums);
    }
}

impl PartialEq for CountTable {
    /// Same keys with the same counts (slot layout aside).
    fn eq(&self, other: &Self) -> bool {
        let mut a: Vec<(Key, u64)> = self.iter().collect();
        let mut b: Vec<(Key, u64)> = other.iter().collect();
        a.sort_unstable();
        b.sort_unstable();
        self.n == other.n && a == b
    }
}

/// Serialised as `(key, count)` pairs sorted by key (ids past `n` are 0),
/// so a partial state's bytes depend on its counts only; the counter that
/// owns the table rebuilds it with [`CountTable::from_entries`].
impl Serialize for CountTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v: Vec<(Key, u64)> = self.iter().collect();
        v.sort_unstable();
        v.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_growth_and_merge() {
        let keys: Vec<Key> = (0..1000u32).map(|i| [i % 97, i % 13, 0, 0]).collect();
        let mut t = CountTable::new(2);
        t.insert_batch(&keys);
        // i ↦ (i mod 97, i mod 13) is injective below lcm = 1261, so 1000 keys.
        assert_eq!(t.len(), 1000);
        t.insert_batch(&keys[..10]);
        assert_eq!(t.get(&[5, 5, 0, 0]), 2);
        assert_eq!(t.get(&[500 % 97, 500 % 13, 0, 0]), 1);
        assert_eq!(t.get(&[96, 12, 0, 0]), 0);
        let mut u = CountTable::from_entries(2, [([5, 5, 0, 0], 3), ([1, 2, 0, 0], 1)]);
        u.merge(&t);
        assert_eq!(u.get(&[5, 5, 0, 0]), 5);
        assert_eq!(u.len(), 1001);
        assert_eq!(u.iter().map(|e| e.1).sum::<u64>(), 1010 + 4);
        // 12 bytes a slot for bigrams, at most 3/4 full.
        assert!(t.bytes() >= t.len() * 12 * 4 / 3);
    }

    #[test]
    fn counts_past_u32_spill_exactly() {
        let big = u64::from(u32::MAX) + 10;
        let mut t = CountTable::from_entries(3, [([1, 2, 3, 0], big)]);
        t.insert_batch(&[[1, 2, 3, 0]]);
        assert_eq!(t.get(&[1, 2, 3, 0]), big + 1);
        let u = CountTable::from_entries(3, [([1, 2, 3, 0], 5)]);
        t.merge(&u);
        assert_eq!(t.iter().collect::<Vec<_>>(), [([1, 2, 3, 0], big + 6)]);
    }

    #[test]
    fn union_entries_are_visited_once_with_summed_counts() {
        // one: x×3, y×1; two: y×2, z×1; three: x×1, w×5.
        let (x, y, z, w) = ([1, 2, 0, 0], [2, 3, 0, 0], [3, 4, 0, 0], [4, 5, 0, 0]);
        let one = CountTable::from_entries(2, [(x, 3), (y, 1)]);
        let two = CountTable::from_entries(2, [(y, 2), (z, 1)]);
        let three = CountTable::from_entries(2, [(x, 1), (w, 5)]);
        let empty = CountTable::new(2);
        let visit = |min: u64| {
            let mut got = Vec::new();
            let tables = [&one, &empty, &two, &three];
            for_each_union_entry(&tables, None, min, |k, c, b| got.push((*k, c, b)));
            got.sort_unstable();
            got
        };
        assert_eq!(visit(1), [(x, 4, 0), (y, 3, 0), (z, 1, 0), (w, 5, 0)]);
        // At least 2 in some table: y is visited from `two` (`one` has it once).
        assert_eq!(visit(2), [(x, 4, 0), (y, 3, 0), (w, 5, 0)]);
        assert_eq!(visit(4), [(w, 5, 0)]);
        // `three` as the base: its keys count, but only the others' are visited.
        let mut got = Vec::new();
        for_each_union_entry(&[&one, &two], Some(&three), 1, |k, c, b| {
            got.push((*k, c, b));
        });
        got.sort_unstable();
        assert_eq!(got, [(x, 4, 1), (y, 3, 0), (z, 1, 0)]);
        assert_eq!(empty.get(&x), 0);
    }

    #[test]
    fn equality_ignores_layout_and_serialises_sorted() {
        let a = CountTable::from_entries(1, [([1, 0, 0, 0], 2), ([2, 0, 0, 0], 1)]);
        let mut b = CountTable::new(1);
        b.insert_batch(&[[2, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]);
        assert_eq!(a, b);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "[[[1,0,0,0],2],[[2,0,0,0],1]]");
    }
}
