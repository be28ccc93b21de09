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

use hashbrown::HashMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::quantile::Quantiles;
use crate::ratio;

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

/// Measures one sample's text; `words` are its tokens.
#[must_use]
pub fn measure(text: &str, words: &[&str]) -> GopherMetrics {
    measure_parts(std::slice::from_ref(&text), words)
}

/// Measures a sample made of several texts (its fields), as if they were
/// joined by `\n`; `words` are the tokens of all of them, in order.
#[must_use]
pub fn measure_parts(texts: &[&str], words: &[&str]) -> GopherMetrics {
    let mut out = [0.0; 11];
    // Lines.
    let mut seen: HashMap<&str, ()> = HashMap::new();
    let (mut lines, mut dup_lines, mut chars, mut dup_chars) = (0, 0, 0, 0);
    for line in texts
        .iter()
        .flat_map(|t| t.split('\n'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let c = line.chars().count();
        lines += 1;
        chars += c;
        if seen.insert(line, ()).is_some() {
            dup_lines += 1;
            dup_chars += c;
        }
    }
    out[0] = frac(dup_lines, lines);
    out[1] = frac(dup_chars, chars);

    let lens: Vec<usize> = words.iter().map(|w| w.chars().count()).collect();
    let hashes: Vec<u64> = words.iter().map(|w| xxh3_64(w.as_bytes())).collect();
    ngram_metrics(&hashes, &lens, &mut out);
    GopherMetrics(out)
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
    let mut covered = vec![false; words];
    // hash → (occurrences, first position)
    let mut classes: HashMap<u64, (u32, usize)> = HashMap::with_capacity(cands.len());
    for n in 2..=10usize {
        // Extend each candidate to an n-gram; drop those running off the end.
        cands.retain(|&(i, _)| i + n <= words);
        for (i, g) in &mut cands {
            *g = g.wrapping_mul(BASE).wrapping_add(hashes[*i + n - 1]);
        }
        if cands.is_empty() {
            break;
        }
        classes.clear();
        for &(i, g) in &cands {
            classes.entry(g).or_insert((0, i)).0 += 1;
        }
        if n <= 4 {
            out[n] = top_ngram_chars(&cands, &classes, &prefix, n, total);
        } else {
            covered.fill(false);
            for &(i, g) in &cands {
                if classes.get(&g).is_some_and(|&(_, first)| first < i) {
                    covered[i..i + n].iter_mut().for_each(|m| *m = true);
                }
            }
            let cov: usize = covered
                .iter()
                .zip(lens)
                .filter(|(m, _)| **m)
                .map(|(_, l)| l)
                .sum();
            out[n] = frac(cov, total);
        }
        cands.retain(|(_, g)| classes.get(g).is_some_and(|&(c, _)| c >= 2));
    }
}

/// Characters covered by the most frequent n-gram occurring at least twice
/// (ties: most characters covered, then earliest) / `total`; 0 when none.
fn top_ngram_chars(
    cands: &[(usize, u64)],
    classes: &HashMap<u64, (u32, usize)>,
    prefix: &[usize],
    n: usize,
    total: usize,
) -> f64 {
    let max = classes.values().map(|v| v.0).max().unwrap_or(0);
    if max < 2 {
        return 0.0;
    }
    // For each tied n-gram: (end of the last covered word, covered chars).
    let mut cov: HashMap<u64, (usize, usize)> = classes
        .iter()
        .filter(|(_, v)| v.0 == max)
        .map(|(&g, _)| (g, (0, 0)))
        .collect();
    for &(i, g) in cands {
        if let Some((end, chars)) = cov.get_mut(&g) {
            let from = i.max(*end);
            *chars += prefix[i + n] - prefix[from];
            *end = i + n;
        }
    }
    let best = cov
        .iter()
        .filter_map(|(g, &(_, chars))| Some((chars, std::cmp::Reverse(classes.get(g)?.1))))
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
