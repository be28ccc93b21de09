//! Gopher repetition metrics per sample.
//!
//! Definitions follow Rae et al. (2021), "Scaling Language Models: Methods,
//! Analysis & Insights from Training Gopher", §A.1.1 and Table A1 (the
//! thresholds in [`THRESHOLDS`]); a sample fails a metric when its value is
//! strictly greater than the threshold.
//!
//! - Lines are the `\n`-separated pieces of the text, trimmed, empty ones
//!   dropped. `dup_line_frac` = lines equal to an *earlier* line / lines;
//!   `dup_line_char_frac` = characters of those lines / characters of all
//!   lines. Lines `[a, a, a, b]` give 2/4 = 0.5: the first `a` is the
//!   original, the two later ones are the duplicates.
//! - Words are the tokens given by the caller (the built-in word tokenizer);
//!   characters are Unicode scalar values of the words (whitespace excluded).
//! - `top_{2,3,4}gram_char_frac`: among n-grams occurring at least twice,
//!   the most frequent (ties: most characters covered, then earliest); the
//!   characters of the words covered by its occurrences (each word once,
//!   overlaps not double counted) / characters of all words; 0 when no
//!   n-gram repeats.
//! - `dup_{5..10}gram_char_frac`: characters of the words covered by an
//!   occurrence of an n-gram that already occurred at an earlier position
//!   (each word once) / characters of all words.
//!
//! How other tools differ: datatrove (`GopherRepetitionFilter`) and `NeMo`
//! count duplicate lines the same way (`[a,a,a,b]` → 0.5) but datatrove splits
//! lines on `\n+` without trimming, takes the top n-gram even when it occurs
//! once, multiplies its length (words joined by spaces) by its count without
//! removing overlaps, divides by `len(text)` including whitespace, and for
//! duplicate n-grams skips ahead `n` words after a match; dolma counts every
//! line of a repeated group, the first included (`[a,a,a,b]` → 0.75).

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::quantile::Quantiles;
use crate::{part_range, ratio};

/// Metric names, in report order.
pub const METRICS: [&str; 11] = [
    "dup_line_frac",
    "dup_line_char_frac",
    "top_2gram_char_frac",
    "top_3gram_char_frac",
    "top_4gram_char_frac",
    "dup_5gram_char_frac",
    "dup_6gram_char_frac",
    "dup_7gram_char_frac",
    "dup_8gram_char_frac",
    "dup_9gram_char_frac",
    "dup_10gram_char_frac",
];

/// Gopher thresholds for [`METRICS`], in the same order (Table A1).
pub const THRESHOLDS: [f64; 11] = [
    0.30, 0.20, 0.20, 0.18, 0.16, 0.15, 0.14, 0.13, 0.12, 0.11, 0.10,
];

/// The metrics of one sample, in [`METRICS`] order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GopherMetrics(pub [f64; 11]);

#[expect(clippy::cast_precision_loss, reason = "character counts below 2^52")]
fn frac(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Polynomial rolling hash base (odd).
const BASE: u64 = 0x9E37_79B9_7F4A_7C15;

/// Characters (Unicode scalar values) of `s`.
fn chars_of(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Measures one sample's text; `words` are its tokens.
#[must_use]
pub fn measure(text: &str, words: &[&str]) -> GopherMetrics {
    let mut parts = GopherParts::default();
    parts.push(text, words);
    parts.measure(|_| true)
}

/// One line of a [`GopherParts`]: its text, hash and characters.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    hash: u64,
    chars: usize,
}

/// A sample's texts (its fields) read once for the metrics: each line and
/// each word hashed and its characters counted. [`GopherParts::measure`]
/// then measures any subset of the parts (the whole sample, or one role's
/// fields) as if its texts were joined by `\n`, without reading the text
/// again.
#[derive(Debug, Clone, Default)]
pub struct GopherParts<'a> {
    lines: Vec<Line<'a>>,
    /// End of each part's lines in `lines`.
    line_ends: Vec<usize>,
    word_hashes: Vec<u64>,
    word_chars: Vec<usize>,
    /// End of each part's words in `word_hashes`.
    word_ends: Vec<usize>,
}

impl<'a> GopherParts<'a> {
    /// Adds a part: its text and its tokens.
    pub fn push(&mut self, text: &'a str, words: &[&str]) {
        let hashes: Vec<u64> = words.iter().map(|w| xxh3_64(w.as_bytes())).collect();
        self.push_hashed(text, words, &hashes);
    }

    /// Adds a part whose tokens' `xxh3_64` hashes the caller already made.
    pub(crate) fn push_hashed(&mut self, text: &'a str, words: &[&str], hashes: &[u64]) {
        debug_assert_eq!(words.len(), hashes.len());
        self.lines.extend(
            text.split('\n')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Line {
                    text: l,
                    hash: xxh3_64(l.as_bytes()),
                    chars: chars_of(l),
                }),
        );
        self.line_ends.push(self.lines.len());
        self.word_hashes.extend_from_slice(hashes);
        self.word_chars.extend(words.iter().map(|w| chars_of(w)));
        self.word_ends.push(self.word_hashes.len());
    }

    /// Parts added.
    #[must_use]
    pub fn len(&self) -> usize {
        self.line_ends.len()
    }

    /// Whether no part was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.line_ends.is_empty()
    }

    /// The metrics of the parts `pick` selects (by index), in order.
    #[must_use]
    pub fn measure(&self, pick: impl Fn(usize) -> bool) -> GopherMetrics {
        let mut out = [0.0; 11];
        let picked: Vec<usize> = (0..self.len()).filter(|&i| pick(i)).collect();
        // `picked` holds indexes of parts only.
        let range = |ends: &[usize], i: usize| part_range(ends, i).unwrap_or_default();
        let lines = picked
            .iter()
            .flat_map(|&i| &self.lines[range(&self.line_ends, i)]);
        line_metrics(lines, &mut out);
        if picked.len() == self.len() {
            ngram_metrics(&self.word_hashes, &self.word_chars, &mut out);
        } else {
            let mut hashes = Vec::new();
            let mut chars = Vec::new();
            for &i in &picked {
                let r = range(&self.word_ends, i);
                hashes.extend_from_slice(&self.word_hashes[r.clone()]);
                chars.extend_from_slice(&self.word_chars[r]);
            }
            ngram_metrics(&hashes, &chars, &mut out);
        }
        GopherMetrics(out)
    }
}

/// The line metrics (`out[0..2]`).
fn line_metrics<'l, 'a: 'l>(lines: impl Iterator<Item = &'l Line<'a>>, out: &mut [f64; 11]) {
    // Lines seen, by their hash; equal hashes compare the text.
    let mut seen: HashTable<(u64, &str)> = HashTable::new();
    let (mut count, mut dup_lines, mut chars, mut dup_chars) = (0, 0, 0, 0);
    for line in lines {
        count += 1;
        chars += line.chars;
        match seen.entry(line.hash, |s| s.1 == line.text, |s| s.0) {
            Entry::Occupied(_) => {
                dup_lines += 1;
                dup_chars += line.chars;
            }
            Entry::Vacant(v) => {
                v.insert((line.hash, line.text));
            }
        }
    }
    out[0] = frac(dup_lines, count);
    out[1] = frac(dup_chars, chars);
}

/// The n-gram metrics (`out[2..=10]`) from the words' hashes and lengths.
///
/// An n-gram's hash is `Σ h_{i+j} · BASE^(n−1−j)` (mod 2⁶⁴), so the
/// (n+1)-gram at `i` is `BASE · g_n(i) + h_{i+n}`. An (n+1)-gram can only
/// repeat where its n-gram prefix repeats, so level n+1 looks only at the
/// positions whose n-gram occurs at least twice: one full pass for bigrams,
/// then ever fewer positions (natural text has few repeated 5-grams).
fn ngram_metrics(hashes: &[u64], lens: &[usize], out: &mut [f64; 11]) {
    let total: usize = lens.iter().sum();
    // prefix[i] = chars of words[..i].
    let prefix: Vec<usize> = std::iter::once(0)
        .chain(lens.iter().scan(0, |acc, &l| {
            *acc += l;
            Some(*acc)
        }))
        .collect();
    let words = hashes.len();
    // (position, n-gram hash) of the candidates at the current level.
    let mut cands: Vec<(usize, u64)> = hashes
        .iter()
        .enumerate()
        .take(words.saturating_sub(1))
        .map(|(i, &h)| (i, h))
        .collect();
    // The level's distinct n-grams: (hash, class id), found by the n-gram
    // hash itself (already uniform); per class (occurrences, first
    // position); per candidate its class id.
    let mut ids: HashTable<(u64, u32)> = HashTable::with_capacity(cands.len());
    let mut classes: Vec<(u32, usize)> = Vec::with_capacity(cands.len());
    let mut class_of: Vec<u32> = Vec::with_capacity(cands.len());
    for n in 2..=10usize {
        // Extend each candidate to an n-gram; drop those running off the end
        // (the last ones: candidates stay in position order).
        cands.truncate(cands.partition_point(|&(i, _)| i + n <= words));
        for (i, g) in &mut cands {
            *g = g.wrapping_mul(BASE).wrapping_add(hashes[*i + n - 1]);
        }
        if cands.is_empty() {
            break;
        }
        ids.clear();
        classes.clear();
        class_of.clear();
        for &(i, g) in &cands {
            #[expect(clippy::cast_possible_truncation, reason = "classes ≤ words < 2^32")]
            let id = match ids.entry(g, |e| e.0 == g, |e| e.0) {
                Entry::Occupied(e) => e.get().1,
                Entry::Vacant(e) => {
                    let id = classes.len() as u32;
                    classes.push((0, i));
                    e.insert((g, id));
                    id
                }
            };
            classes[id as usize].0 += 1;
            class_of.push(id);
        }
        if n <= 4 {
            out[n] = top_ngram_chars(&cands, &class_of, &classes, &prefix, n, total);
        } else {
            // Candidates are in position order, so the covered words are a
            // union of intervals swept left to right.
            let (mut end, mut cov) = (0, 0);
            for (&(i, _), &id) in cands.iter().zip(&class_of) {
                if classes[id as usize].1 < i {
                    cov += prefix[i + n] - prefix[i.max(end)];
                    end = i + n;
                }
            }
            out[n] = frac(cov, total);
        }
        // Keep the candidates whose n-gram repeats, in position order.
        let mut kept = 0;
        for j in 0..cands.len() {
            if classes[class_of[j] as usize].0 >= 2 {
                cands[kept] = cands[j];
                kept += 1;
            }
        }
        cands.truncate(kept);
    }
}

/// Characters covered by the most frequent n-gram occurring at least twice
/// (ties: most characters covered, then earliest) / `total`; 0 when none.
/// `class_of[j]` is candidate `j`'s index in `classes`, whose entries are
/// (occurrences, first position).
fn top_ngram_chars(
    cands: &[(usize, u64)],
    class_of: &[u32],
    classes: &[(u32, usize)],
    prefix: &[usize],
    n: usize,
    total: usize,
) -> f64 {
    let max = classes.iter().map(|c| c.0).max().unwrap_or(0);
    if max < 2 {
        return 0.0;
    }
    // For each class: (end of the last covered word, covered chars); only
    // the tied ones are filled.
    let mut cov = vec![(0usize, 0usize); classes.len()];
    for (&(i, _), &id) in cands.iter().zip(class_of) {
        if classes[id as usize].0 == max {
            let (end, chars) = &mut cov[id as usize];
            let from = i.max(*end);
            *chars += prefix[i + n] - prefix[from];
            *end = i + n;
        }
    }
    let best = cov
        .iter()
        .zip(classes)
        .filter(|(_, c)| c.0 == max)
        .map(|(&(_, chars), c)| (chars, std::cmp::Reverse(c.1)))
        .max();
    best.map_or(0.0, |b| frac(b.0, total))
}

/// Mergeable aggregate of per-sample metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GopherState {
    /// Σ values in fixed point (value · 2⁶⁴, rounded): exact and
    /// order-independent, so shard merges reproduce a single run bit for bit.
    sums: Vec<u128>,
    quantiles: Vec<Quantiles>,
    over: Vec<u64>,
    any_over: u64,
    samples: u64,
}

impl Default for GopherState {
    fn default() -> Self {
        Self {
            sums: vec![0; 11],
            quantiles: vec![Quantiles::default(); 11],
            over: vec![0; 11],
            any_over: 0,
            samples: 0,
        }
    }
}

/// One metric's distribution over samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GopherMetricReport {
    /// Gopher threshold; a sample fails when its value is greater.
    pub threshold: f64,
    /// Mean over samples.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Share of samples over the threshold.
    pub share_over: f64,
}

/// The Gopher section of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GopherReport {
    /// Samples measured.
    pub samples: u64,
    /// Share of samples over at least one threshold.
    pub share_over_any: f64,
    /// Per metric, keyed by the names in [`METRICS`].
    pub metrics: std::collections::BTreeMap<String, GopherMetricReport>,
}

impl GopherState {
    /// Adds one sample's metrics.
    pub fn insert(&mut self, m: &GopherMetrics) {
        self.samples += 1;
        let mut any = false;
        for (i, &v) in m.0.iter().enumerate() {
            self.sums[i] += to_fixed(v);
            self.quantiles[i].insert(v);
            if v > THRESHOLDS[i] {
                self.over[i] += 1;
                any = true;
            }
        }
        self.any_over += u64::from(any);
    }

    /// Merges `other`.
    pub fn combine(&mut self, other: &Self) {
        self.samples += other.samples;
        self.any_over += other.any_over;
        for i in 0..11 {
            self.sums[i] += other.sums[i];
            self.quantiles[i].combine(&other.quantiles[i]);
            self.over[i] += other.over[i];
        }
    }

    /// The report, `None` when no sample was measured.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "sample counts below 2^52")]
    pub fn finalize(&self) -> Option<GopherReport> {
        if self.samples == 0 {
            return None;
        }
        let metrics = METRICS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let q = self.quantiles[i]
                    .finalize(&[0.5, 0.9, 0.99])
                    .unwrap_or_default();
                let get = |j: usize| q.get(j).copied().unwrap_or(0.0);
                let report = GopherMetricReport {
                    threshold: THRESHOLDS[i],
                    mean: from_fixed(self.sums[i]) / self.samples as f64,
                    p50: get(0),
                    p90: get(1),
                    p99: get(2),
                    share_over: ratio(self.over[i], self.samples),
                };
                ((*name).to_owned(), report)
            })
            .collect();
        Some(GopherReport {
            samples: self.samples,
            share_over_any: ratio(self.any_over, self.samples),
            metrics,
        })
    }
}

/// 2⁶⁴ as f64.
const FIXED_ONE: f64 = 18_446_744_073_709_551_616.0;

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "metrics are in [0, 1], so v · 2^64 fits in u128"
)]
fn to_fixed(v: f64) -> u128 {
    (v.clamp(0.0, 1.0) * FIXED_ONE).round() as u128
}

#[expect(clippy::cast_precision_loss, reason = "rounding to f64 at the end")]
fn from_fixed(v: u128) -> f64 {
    v as f64 / FIXED_ONE
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    fn ws(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn duplicate_lines_aaab_is_one_half() {
        // Lines [a, a, a, b]: 2 of 4 lines repeat an earlier one → 0.5 (Gopher);
        // dolma would say 3/4.
        let text = "a\na\na\nb";
        let m = measure(text, &ws(text));
        assert!((m.0[0] - 0.5).abs() < EPS);
        // chars: each line 1 char → 2/4.
        assert!((m.0[1] - 0.5).abs() < EPS);
    }

    #[test]
    fn duplicate_line_chars_weight_by_length() {
        // Lines "hello", "hi", "hello", "": empty dropped; dup chars 5 / (5+2+5).
        let text = "hello\n  hi \nhello\n\n";
        let m = measure(text, &ws(text));
        assert!((m.0[0] - 1.0 / 3.0).abs() < EPS);
        assert!((m.0[1] - 5.0 / 12.0).abs() < EPS);
    }

    #[test]
    fn top_bigram_char_fraction() {
        // words: ab cd ab cd ef (chars 2 each, total 10). Bigram "ab cd" ×2,
        // covering words 0,1,2,3 → 8/10. Trigrams: all distinct → 0.
        let w = ["ab", "cd", "ab", "cd", "ef"];
        let m = measure("", &w);
        assert!((m.0[2] - 0.8).abs() < EPS);
        assert!(m.0[3].abs() < EPS);
    }

    #[test]
    fn top_ngram_overlaps_not_double_counted() {
        // "a a a a": bigram "a a" ×3 at 0,1,2 covers all 4 words → 4/4, not 6/4.
        let m = measure("", &["a", "a", "a", "a"]);
        assert!((m.0[2] - 1.0).abs() < EPS);
    }

    #[test]
    fn duplicate_5gram_char_fraction() {
        // 1 2 3 4 5 x 1 2 3 4 5: the second "1 2 3 4 5" (words 6..=10) repeats the first:
        // covered chars 5 of 11.
        let w = ["1", "2", "3", "4", "5", "x", "1", "2", "3", "4", "5"];
        let m = measure("", &w);
        assert!((m.0[5] - 5.0 / 11.0).abs() < EPS);
        // No 6-gram repeats.
        assert!(m.0[6].abs() < EPS);
    }

    #[test]
    fn overlapping_duplicate_ngrams_cover_each_word_once() {
        // 1..6 twice: the 5-grams at 6 and 7 repeat those at 0 and 1 and
        // overlap in words 7..=10, so words 6..=11 are covered once: 6/12.
        let w = ["1", "2", "3", "4", "5", "6", "1", "2", "3", "4", "5", "6"];
        let m = measure("", &w);
        assert!((m.0[5] - 0.5).abs() < EPS);
        assert!((m.0[6] - 0.5).abs() < EPS);
        assert!(m.0[7].abs() < EPS);
        // The same words as two parts of one sample, and each part alone.
        let mut parts = GopherParts::default();
        parts.push("1 2 3 4 5 6", &w[..6]);
        parts.push("1 2 3 4 5 6", &w[6..]);
        let whole = parts.measure(|_| true);
        assert!((whole.0[5] - 0.5).abs() < EPS);
        // The second line repeats the first.
        assert!((whole.0[0] - 0.5).abs() < EPS);
        assert_eq!(parts.measure(|i| i == 1), measure("1 2 3 4 5 6", &w[6..]));
    }

    #[test]
    fn aggregate_shares_over_threshold() {
        let mut s = GopherState::default();
        s.insert(&measure("a\na\na\nb", &[]));
        s.insert(&measure("x\ny", &[]));
        let r = s.finalize().unwrap();
        let dl = &r.metrics["dup_line_frac"];
        // values 0.5 and 0: mean 0.25, one of two over 0.30.
        assert!((dl.mean - 0.25).abs() < EPS);
        assert!((dl.share_over - 0.5).abs() < EPS);
        assert!((r.share_over_any - 0.5).abs() < EPS);
        let mut t = GopherState::default();
        t.combine(&s);
        assert_eq!(t.finalize(), Some(r));
    }
}
