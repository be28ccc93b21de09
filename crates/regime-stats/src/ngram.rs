//! Exact n-gram counts with automatic fallback to sketches.
//!
//! An n-gram is the array of its token ids (`[u32; MAX_N]`, unused slots 0),
//! counted within one field (n-grams never cross fields). While the exact
//! tables of a profile fit its memory budget every counter is an exact hash
//! map; past it the profile moves its largest counters, one at a time, to a
//! [`HyperLogLog`] of shard-independent n-gram hashes (distinct count) plus
//! a [`SpaceSaving`] summary (top-k). Each figure records which mode made it
//! (`exact`) and its error bounds.
//!
//! Figures (CORPUS.md): `total` = Σ occurrences = Σ over fields of
//! `max(0, tokens − n + 1)`; `distinct` = number of different n-grams;
//! `distinct_ratio` = distinct / total; `concentration` = share of the
//! occurrences held by the top `⌈distinct / 100⌉` n-grams; `top` = the `k`
//! most frequent, ties broken by the n-gram string ascending.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::hll::HyperLogLog;
use crate::ratio;
use crate::report::{NgramCount, NgramFigures};
use crate::table::{CountTable, for_each_union_entry};
use crate::topk::SpaceSaving;

/// Largest n supported.
pub const MAX_N: usize = 4;

/// An n-gram as token ids; slots past `n` are 0.
pub(crate) type Key = [u32; MAX_N];

/// The key of the first `n` ids of `ids` (`n` clamped to 1…[`MAX_N`]).
/// Each `n` copies a fixed length: the hot loops make millions of keys, and
/// a copy of runtime length is a call to `memcpy`.
#[inline]
pub(crate) fn key_of(ids: &[u32], n: usize) -> Key {
    let mut k = [0u32; MAX_N];
    write_key(&mut k, ids, n);
    k
}

/// Writes the first `n` ids of `key` to the start of `dst` (`n` clamped
/// to 1…[`MAX_N`]), a fixed-length copy per `n` as in [`key_of`].
#[inline]
pub(crate) fn write_key(dst: &mut [u32], key: &[u32], n: usize) {
    match n {
        0 | 1 => dst[0] = key[0],
        2 => dst[..2].copy_from_slice(&key[..2]),
        3 => dst[..3].copy_from_slice(&key[..3]),
        _ => dst[..MAX_N].copy_from_slice(&key[..MAX_N]),
    }
}

/// Renders a key as its token ids (model tokenizers).
pub(crate) type IdsFn<'a> = &'a dyn Fn(&Key) -> Vec<u32>;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Counts {
    Exact(CountTable),
    Sketch {
        hll: HyperLogLog,
        top: SpaceSaving<Key>,
    },
}

/// The serialised form of [`Counts`]: an exact table is its sorted
/// `(key, count)` list, rebuilt for the counter's `n` on reading.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum CountsRepr {
    Exact(Vec<(Key, u64)>),
    Sketch {
        hll: HyperLogLog,
        top: SpaceSaving<Key>,
    },
}

#[derive(Deserialize)]
struct CounterRepr {
    n: usize,
    total: u64,
    counts: CountsRepr,
}

impl From<CounterRepr> for NgramCounter {
    fn from(r: CounterRepr) -> Self {
        Self {
            n: r.n,
            total: r.total,
            counts: match r.counts {
                CountsRepr::Exact(entries) => Counts::Exact(CountTable::from_entries(r.n, entries)),
                CountsRepr::Sketch { hll, top } => Counts::Sketch { hll, top },
            },
        }
    }
}

/// The counter for one `n` in one scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "CounterRepr")]
pub(crate) struct NgramCounter {
    pub(crate) n: usize,
    pub(crate) total: u64,
    pub(crate) counts: Counts,
}

/// Settings the sketches are built with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SketchSettings {
    pub(crate) capacity: usize,
    pub(crate) precision: u8,
}

impl NgramCounter {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            n,
            total: 0,
            counts: Counts::Exact(CountTable::new(n)),
        }
    }

    pub(crate) fn is_exact(&self) -> bool {
        matches!(self.counts, Counts::Exact(_))
    }

    pub(crate) fn bytes(&self) -> usize {
        match &self.counts {
            Counts::Exact(m) => m.bytes(),
            Counts::Sketch { hll, top } => hll.bytes() + top.bytes(),
        }
    }

    /// [`Self::bytes`] once in sketch mode: the `HyperLogLog` registers plus
    /// the space-saving counters [`sketch_of`] keeps (every entry while they
    /// fit `settings.capacity`, else a pruned summary). A fixed cost, so a
    /// small exact table can be the smaller of the two.
    pub(crate) fn sketch_bytes(&self, settings: SketchSettings) -> usize {
        match &self.counts {
            Counts::Exact(m) => {
                let cap = settings.capacity.max(1);
                HyperLogLog::bytes_at(settings.precision)
                    + SpaceSaving::<Key>::bytes_for(m.len().min(cap), m.len() > cap, cap)
            }
            Counts::Sketch { .. } => self.bytes(),
        }
    }

    /// Bytes an exact table would allocate to take `extra` more keys (0
    /// when they fit, and for a sketch).
    pub(crate) fn growth_bytes(&self, extra: usize) -> usize {
        match &self.counts {
            Counts::Exact(m) => m.growth_bytes(extra),
            Counts::Sketch { .. } => 0,
        }
    }

    /// Counts one occurrence of each key; `hash` is called only in sketch
    /// mode.
    pub(crate) fn insert_batch(&mut self, keys: &[Key], hash: impl Fn(&Key) -> u64) {
        self.total += keys.len() as u64;
        match &mut self.counts {
            Counts::Exact(m) => m.insert_batch(keys),
            Counts::Sketch { hll, top } => {
                for k in keys {
                    hll.insert(hash(k));
                    top.insert(*k, 1);
                }
            }
        }
    }

    /// Moves an exact counter to sketch mode (no-op for a sketch).
    pub(crate) fn make_sketch(&mut self, hash: &dyn Fn(&Key) -> u64, settings: SketchSettings) {
        if let Counts::Exact(m) = &self.counts {
            self.counts = sketch_of(m, hash, settings);
        }
    }

    /// The sketch of the union of `parts` (counters of this `n`), leaving
    /// them as they are: built from each part in turn, so no exact table is
    /// ever copied. When every part is exact, [`Self::union_figures`] gives
    /// the exact figures instead.
    pub(crate) fn union_sketch(
        n: usize,
        parts: &[&Self],
        hash: &dyn Fn(&Key) -> u64,
        settings: SketchSettings,
    ) -> Self {
        let mut union = Self {
            n,
            total: 0,
            counts: Counts::Sketch {
                hll: HyperLogLog::with_precision(settings.precision).unwrap_or_default(),
                top: SpaceSaving::new(settings.capacity),
            },
        };
        for p in parts {
            let part = Self {
                n,
                total: p.total,
                counts: match &p.counts {
                    Counts::Exact(m) => sketch_of(m, hash, settings),
                    sketch @ Counts::Sketch { .. } => sketch.clone(),
                },
            };
            union.combine(part, hash, settings);
        }
        union
    }

    /// The exact figures of the union of `parts` (`None` unless every part
    /// is exact), without building it: each key's count is summed by
    /// looking it up in the other parts, so the union holds no memory.
    pub(crate) fn union_figures(
        parts: &[&Self],
        top_k: usize,
        name: &dyn Fn(&Key) -> String,
        ids: Option<IdsFn<'_>>,
    ) -> Option<NgramFigures> {
        let tables = parts
            .iter()
            .map(|p| match &p.counts {
                Counts::Exact(m) => Some(m),
                Counts::Sketch { .. } => None,
            })
            .collect::<Option<Vec<&CountTable>>>()?;
        // The largest table is read straight, and only the others' keys are
        // looked up: a key it shares with them first counted by its own
        // count, then moved to the union's.
        let largest = (0..tables.len()).max_by_key(|&i| (tables[i].len(), Reverse(i)));
        let base = largest.map(|i| tables[i]);
        let others: Vec<&CountTable> = (0..tables.len())
            .filter(|&i| Some(i) != largest)
            .map(|i| tables[i])
            .collect();
        let mut hist = CountHistogram::default();
        for c in base.iter().flat_map(|b| b.counts()) {
            hist.add(c);
        }
        for_each_union_entry(&others, base, 1, |_, c, in_base| {
            hist.remove(in_base);
            hist.add(c);
        });
        let top = |kth: u64| {
            // A key counted `kth` times over all parts is counted at least
            // kth / parts times in one of them.
            let min = kth.div_ceil(tables.len().max(1) as u64);
            let mut cands = Vec::new();
            for_each_union_entry(&tables, None, min, |k, c, _| {
                if c >= kth {
                    cands.push((*k, c));
                }
            });
            cands.into_iter()
        };
        let total = parts.iter().map(|p| p.total).sum();
        Some(exact_figures(total, &hist.finish(), top, top_k, name, ids))
    }

    /// Re-keys through `remap` (other-id → self-id).
    pub(crate) fn remap(self, remap: &[u32]) -> Self {
        let n = self.n;
        let map_key = |k: Key| {
            let mut out = [0u32; MAX_N];
            for (o, &id) in out.iter_mut().zip(&k).take(n) {
                *o = usize::try_from(id)
                    .ok()
                    .and_then(|i| remap.get(i))
                    .copied()
                    .unwrap_or(id);
            }
            out
        };
        let counts = match self.counts {
            Counts::Exact(m) => Counts::Exact(CountTable::from_entries(
                n,
                m.iter().map(|(k, c)| (map_key(k), c)),
            )),
            Counts::Sketch { hll, top } => {
                let (counts, dec, total, cap) = top.into_parts();
                let counts = counts.into_iter().map(|(k, c)| (map_key(k), c)).collect();
                Counts::Sketch {
                    hll,
                    top: SpaceSaving::from_parts(counts, dec, total, cap),
                }
            }
        };
        Self { counts, ..self }
    }

    /// Merges `other` (already re-keyed into `self`'s ids).
    pub(crate) fn combine(
        &mut self,
        mut other: Self,
        hash: &dyn Fn(&Key) -> u64,
        settings: SketchSettings,
    ) {
        self.total += other.total;
        if let (Counts::Exact(a), Counts::Exact(b)) = (&mut self.counts, &mut other.counts) {
            if a.len() < b.len() {
                std::mem::swap(a, b);
            }
            a.merge(b);
            return;
        }
        self.make_sketch(hash, settings);
        other.make_sketch(hash, settings);
        if let (Counts::Sketch { hll, top }, Counts::Sketch { hll: h2, top: t2 }) =
            (&mut self.counts, &other.counts)
        {
            if hll.combine(h2).is_err() {
                // Different precisions: rebuild is impossible; keep ours (documented invariant:
                // one profile uses one precision).
            }
            top.combine(t2);
        }
    }

    /// The report figures; `name` renders a key, `ids` gives its ids (model tokens).
    pub(crate) fn figures(
        &self,
        top_k: usize,
        name: &dyn Fn(&Key) -> String,
        ids: Option<IdsFn<'_>>,
    ) -> NgramFigures {
        match &self.counts {
            Counts::Exact(m) => exact_figures(
                self.total,
                &CountHistogram::new(m.counts()),
                |min| m.iter_at_least(min),
                top_k,
                name,
                ids,
            ),
            Counts::Sketch { hll, top } => sketch_figures(self.total, hll, top, top_k, name, ids),
        }
    }
}

/// The sketch of an exact table: its keys' hashes in a [`HyperLogLog`] and
/// the space-saving prune of its counts, done here so the table is never
/// copied whole: d = the (capacity + 1)-th largest count; keep c − d > 0.
fn sketch_of(table: &CountTable, hash: &dyn Fn(&Key) -> u64, settings: SketchSettings) -> Counts {
    let mut hll = HyperLogLog::with_precision(settings.precision).unwrap_or_default();
    for (k, _) in table.iter() {
        hll.insert(hash(&k));
    }
    let total = table.counts().sum();
    let hist = CountHistogram::new(table.counts());
    let cap = settings.capacity.max(1) as u64;
    let d = if hist.distinct > cap {
        hist.kth(cap + 1)
    } else {
        0
    };
    let map = table
        .iter()
        .filter(|e| e.1 > d)
        .map(|(k, c)| (k, c - d))
        .collect();
    let top = SpaceSaving::from_parts(map, d, total, settings.capacity);
    Counts::Sketch { hll, top }
}

/// The `k` best candidates by count desc, then name asc (then key), in
/// that order. One pass keeps the best so far, worst on top of a heap, so
/// memory holds `k` names however many keys tie at the `k`-th count (a
/// table of millions of n-grams seen once, with fewer than `k` repeated).
fn top_entries(
    cands: impl Iterator<Item = (Key, u64)>,
    k: usize,
    name: &dyn Fn(&Key) -> String,
    ids: Option<IdsFn<'_>>,
) -> Vec<NgramCount> {
    if k == 0 {
        return Vec::new();
    }
    let mut best: BinaryHeap<(Reverse<u64>, String, Key)> = BinaryHeap::with_capacity(k + 1);
    for (key, count) in cands {
        // A lower count than the worst kept cannot enter: no name needed.
        if best.len() == k && best.peek().is_some_and(|w| count < w.0.0) {
            continue;
        }
        let entry = (Reverse(count), name(&key), key);
        if best.len() < k {
            best.push(entry);
        } else if best.peek().is_some_and(|w| entry < *w) {
            best.pop();
            best.push(entry);
        }
    }
    best.into_sorted_vec()
        .into_iter()
        .map(|(Reverse(count), ngram, key)| NgramCount {
            ngram,
            count,
            ids: ids.map(|f| f(&key)),
            text: None,
        })
        .collect()
}

/// Sum of the `m` largest values.
fn top_sum(mut counts: Vec<u64>, m: usize) -> u64 {
    if m == 0 || counts.is_empty() {
        return 0;
    }
    if counts.len() > m {
        counts.select_nth_unstable_by(m - 1, |a, b| b.cmp(a));
        counts.truncate(m);
    }
    counts.iter().sum()
}

/// Counts below this are tallied in a dense histogram by
/// [`CountHistogram`]; larger ones (rare) are kept as a list.
const DENSE_COUNTS: usize = 4096;

/// How many keys have each count: enough for the distinct count, the
/// concentration (sum of the `m` largest counts) and the k-th largest
/// count, in one pass and without copying the table.
#[derive(Debug)]
pub(crate) struct CountHistogram {
    dense: Vec<u64>,
    large: Vec<u64>,
    /// Large counts removed since the last [`CountHistogram::finish`].
    removed: Vec<u64>,
    distinct: u64,
}

impl Default for CountHistogram {
    fn default() -> Self {
        Self {
            dense: vec![0; DENSE_COUNTS],
            large: Vec::new(),
            removed: Vec::new(),
            distinct: 0,
        }
    }
}

impl CountHistogram {
    /// The histogram of `counts` (zeros skipped).
    pub(crate) fn new(counts: impl Iterator<Item = u64>) -> Self {
        let mut h = Self::default();
        for c in counts {
            h.add(c);
        }
        h.finish()
    }

    /// Adds one key's count (0 is skipped); call [`Self::finish`] after
    /// the last.
    fn add(&mut self, c: u64) {
        if c == 0 {
            return;
        }
        self.distinct += 1;
        match usize::try_from(c).ok().and_then(|i| self.dense.get_mut(i)) {
            Some(slot) => *slot += 1,
            None => self.large.push(c),
        }
    }

    /// Takes back one key's count added before (0 is skipped).
    fn remove(&mut self, c: u64) {
        if c == 0 {
            return;
        }
        self.distinct -= 1;
        match usize::try_from(c).ok().and_then(|i| self.dense.get_mut(i)) {
            Some(slot) => *slot -= 1,
            None => self.removed.push(c),
        }
    }

    /// Orders the large counts, without the removed ones.
    fn finish(mut self) -> Self {
        self.large.sort_unstable_by(|a, b| b.cmp(a));
        if !self.removed.is_empty() {
            self.removed.sort_unstable_by(|a, b| b.cmp(a));
            // Both descending, and every removed count was added.
            let mut removed = self.removed.drain(..).peekable();
            self.large.retain(|&c| {
                let drop = removed.peek() == Some(&c);
                if drop {
                    removed.next();
                }
                !drop
            });
        }
        self
    }

    /// Counts in descending order, as `(count, how many keys)` runs.
    fn descending(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.large.iter().map(|&c| (c, 1)).chain(
            self.dense
                .iter()
                .enumerate()
                .rev()
                .filter(|&(_, &n)| n > 0)
                .map(|(c, &n)| (c as u64, n)),
        )
    }

    /// Sum of the `m` largest counts.
    fn top_sum(&self, m: u64) -> u64 {
        let mut left = m;
        let mut sum = 0u64;
        for (c, n) in self.descending() {
            if left == 0 {
                break;
            }
            let take = n.min(left);
            sum += c * take;
            left -= take;
        }
        sum
    }

    /// The `k`-th largest count (the smallest when fewer than `k` keys).
    fn kth(&self, k: u64) -> u64 {
        let mut seen = 0u64;
        let mut last = 0;
        for (c, n) in self.descending() {
            seen += n;
            last = c;
            if seen >= k {
                break;
            }
        }
        last
    }
}

/// Figures from exact counts (also used for unigrams): `hist`, the
/// histogram of every key's count, then the keys counted at least the k-th
/// largest count (`entries_at_least(kth)`), so a table of millions of keys
/// is never copied or sorted.
pub(crate) fn exact_figures<E: Iterator<Item = (Key, u64)>>(
    total: u64,
    hist: &CountHistogram,
    entries_at_least: impl FnOnce(u64) -> E,
    top_k: usize,
    name: &dyn Fn(&Key) -> String,
    ids: Option<IdsFn<'_>>,
) -> NgramFigures {
    let distinct = hist.distinct;
    let concentration = ratio(hist.top_sum(distinct.div_ceil(100)), total);
    let kth = hist.kth(top_k as u64).max(1);
    NgramFigures {
        total,
        distinct,
        distinct_ratio: ratio(distinct, total),
        concentration,
        top: top_entries(entries_at_least(kth), top_k, name, ids),
        exact: true,
        distinct_error: 0.0,
        count_error: 0,
        concentration_error: 0.0,
    }
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "estimates are non-negative and far below 2^52"
)]
fn sketch_figures(
    total: u64,
    hll: &HyperLogLog,
    top: &SpaceSaving<Key>,
    top_k: usize,
    name: &dyn Fn(&Key) -> String,
    ids: Option<IdsFn<'_>>,
) -> NgramFigures {
    let distinct = (hll.finalize().round() as u64).min(total);
    let head = usize::try_from(distinct.div_ceil(100)).unwrap_or(usize::MAX);
    let head_sum = top_sum(top.iter().map(|h| h.count).collect(), head);
    let err = top.error();
    let concentration = ratio(head_sum, total);
    // Each of the `head` counts may be low by at most Δ.
    let concentration_error =
        ratio((head as u64).saturating_mul(err), total).min(1.0 - concentration);
    NgramFigures {
        total,
        distinct,
        distinct_ratio: ratio(distinct, total),
        concentration,
        top: top_entries(top.iter().map(|h| (h.key, h.count)), top_k, name, ids),
        exact: false,
        distinct_error: hll.error_bound(),
        count_error: err,
        concentration_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: u32, b: u32) -> Key {
        [a, b, 0, 0]
    }

    fn name(k: &Key) -> String {
        format!("{}-{}", k[0], k[1])
    }

    /// Ties at the k-th count go to the smallest names, whatever order the
    /// candidates come in.
    #[test]
    fn top_entries_break_ties_by_name_in_any_order() {
        let mut cands: Vec<(Key, u64)> = (0..1000).map(|i| (key(i, 0), 1)).collect();
        cands.extend([(key(7, 7), 5), (key(3, 3), 5), (key(9, 9), 4)]);
        for reversed in [false, true] {
            if reversed {
                cands.reverse();
            }
            let top = top_entries(cands.iter().copied(), 5, &name, None);
            let got: Vec<(&str, u64)> = top.iter().map(|t| (t.ngram.as_str(), t.count)).collect();
            assert_eq!(
                got,
                [("3-3", 5), ("7-7", 5), ("9-9", 4), ("0-0", 1), ("1-0", 1)]
            );
        }
        assert!(top_entries(cands.into_iter(), 0, &name, None).is_empty());
    }

    fn fill(pairs: &[(u32, u32)]) -> NgramCounter {
        let mut c = NgramCounter::new(2);
        let keys: Vec<Key> = pairs.iter().map(|&(a, b)| key(a, b)).collect();
        c.insert_batch(&keys, |k| u64::from(k[0]) << 32 | u64::from(k[1]));
        c
    }

    #[test]
    fn union_figures_are_exact_and_union_sketch_prunes() {
        let a = fill(&[(0, 1), (0, 1), (1, 2)]);
        let b = fill(&[(0, 1), (2, 3)]);
        let settings = SketchSettings {
            capacity: 2,
            precision: 10,
        };
        let hash = |k: &Key| u64::from(k[0]) << 32 | u64::from(k[1]);
        let mut merged = a.clone();
        merged.combine(b.clone(), &hash, settings);
        // Every k, so that the candidates' threshold (kth / parts) varies.
        for k in 1..=4 {
            let union = NgramCounter::union_figures(&[&a, &b], k, &name, None);
            assert_eq!(union, Some(merged.figures(k, &name, None)));
        }
        // Three parts, the largest in the middle, sharing keys; one count
        // past the histogram's dense range, which the union must take back.
        let mid: Vec<(u32, u32)> = [(0, 1), (5, 6), (7, 8), (2, 3), (9, 9)]
            .into_iter()
            .chain(std::iter::repeat_n((4, 4), DENSE_COUNTS + 7))
            .collect();
        let largest = fill(&mid);
        let last = fill(&[(4, 4), (9, 9), (0, 1), (6, 6)]);
        let mut all = merged.clone();
        all.combine(largest.clone(), &hash, settings);
        all.combine(last.clone(), &hash, settings);
        for k in 1..=8 {
            let union = NgramCounter::union_figures(&[&a, &largest, &b, &last], k, &name, None);
            assert_eq!(union, Some(all.figures(k, &name, None)), "k = {k}");
        }
        let f = NgramCounter::union_figures(&[&a, &b], 3, &name, None).unwrap();
        assert_eq!((f.total, f.distinct, f.top[0].count), (5, 3, 3));
        let sketch = NgramCounter::union_sketch(2, &[&a, &b], &hash, settings);
        assert!(!sketch.is_exact());
        assert_eq!(
            NgramCounter::union_figures(&[&a, &sketch], 3, &name, None),
            None
        );
        let f = sketch.figures(3, &name, None);
        assert_eq!((f.total, f.top[0].ngram.as_str()), (5, "0-1"));
        // Capacity 2 over 3 keys: the merge prunes by the third count (1).
        assert_eq!((f.top[0].count, f.count_error), (2, 1));
        // The parts are untouched.
        assert!(a.is_exact() && b.is_exact());
    }

    #[test]
    fn exact_figures_closed_form() {
        // bigrams: (1,2)×3, (2,3)×1, (3,4)×1 → total 5, distinct 3, ratio 0.6;
        // head = ⌈3/100⌉ = 1 → concentration 3/5 = 0.6.
        let c = fill(&[(1, 2), (2, 3), (1, 2), (3, 4), (1, 2)]);
        let f = c.figures(2, &name, None);
        assert_eq!((f.total, f.distinct), (5, 3));
        assert!((f.distinct_ratio - 0.6).abs() < 1e-12);
        assert!((f.concentration - 0.6).abs() < 1e-12);
        assert_eq!(f.top[0].ngram, "1-2");
        assert_eq!(f.top[0].count, 3);
        // tie at count 1 broken by name: "2-3" < "3-4".
        assert_eq!(f.top[1].ngram, "2-3");
        assert!(f.exact);
    }

    #[test]
    fn histogram_top_sum_and_kth() {
        // counts 5000 (large list), 3, 3, 1 → top-2 sum 5003, top-3 5006; 3rd largest = 3.
        let h = CountHistogram::new([5000, 3, 0, 3, 1].into_iter());
        assert_eq!(h.distinct, 4);
        assert_eq!(h.top_sum(2), 5003);
        assert_eq!(h.top_sum(3), 5006);
        assert_eq!(h.top_sum(9), 5007);
        assert_eq!(h.kth(3), 3);
        assert_eq!(h.kth(1), 5000);
        assert_eq!(h.kth(9), 1);
    }

    #[test]
    fn make_sketch_prunes_like_space_saving() {
        // Counts 1..=40 of pair (i, i+1), i repeated i times; capacity 8.
        let pairs: Vec<(u32, u32)> = (1..=40u32)
            .flat_map(|i| std::iter::repeat_n((i, i + 1), i as usize))
            .collect();
        let c = fill(&pairs);
        let Counts::Exact(table) = &c.counts else {
            panic!("exact")
        };
        let want = SpaceSaving::from_parts(table.iter().collect(), 0, c.total, 8);
        let mut s = c.clone();
        s.make_sketch(
            &|_| 0,
            SketchSettings {
                capacity: 8,
                precision: 10,
            },
        );
        let Counts::Sketch { top, .. } = &s.counts else {
            panic!("sketch")
        };
        assert_eq!(top, &want);
        // d = 9th largest = 32: counts 33..=40 kept as 1..=8, Δ = 32.
        assert_eq!(top.error(), 32);
        assert_eq!(top.count(&key(40, 41)), 8);
    }

    #[test]
    fn sketch_mode_keeps_bounds() {
        let pairs: Vec<(u32, u32)> = (0..2000u32).map(|i| (i % 37, i % 101)).collect();
        let exact = fill(&pairs).figures(5, &name, None);
        let mut c = fill(&pairs);
        let hash = |k: &Key| {
            xxhash_rust::xxh3::xxh3_64(&[k[0].to_le_bytes(), k[1].to_le_bytes()].concat())
        };
        c.make_sketch(
            &hash,
            SketchSettings {
                capacity: 64,
                precision: 14,
            },
        );
        let s = c.figures(5, &name, None);
        assert!(!s.exact);
        assert_eq!(s.total, exact.total);
        assert!(
            f64::from(u32::try_from(s.distinct.abs_diff(exact.distinct)).unwrap())
                <= s.distinct_error.max(1.0)
        );
        for t in &exact.top {
            let got = s
                .top
                .iter()
                .find(|x| x.ngram == t.ngram)
                .map_or(0, |x| x.count);
            assert!(got <= t.count && t.count <= got + s.count_error);
        }
    }

    #[test]
    fn combine_exact_and_remap() {
        let mut a = fill(&[(0, 1)]);
        let b = fill(&[(0, 1), (1, 0)]).remap(&[1, 0]);
        a.combine(
            b,
            &|_| 0,
            SketchSettings {
                capacity: 8,
                precision: 14,
            },
        );
        let f = a.figures(3, &name, None);
        // b's (0,1) → (1,0) and (1,0) → (0,1): counts (0,1)=2, (1,0)=1.
        assert_eq!(f.top[0].ngram, "0-1");
        assert_eq!(f.top[0].count, 2);
        assert_eq!(f.total, 3);
    }
}
