//! The prompt-duplication figures (CORPUS.md): `sample_dup_rate`,
//! `segment_dup_rate`, `char_dup_rate`, `repeated_turns`, cross-sample
//! template frequency and the worst samples, accumulated sample by sample
//! and merged in a fixed order so results never depend on thread count.
//!
//! - `sample_dup_rate` = samples with ≥ 1 duplicate copy / samples
//! - `segment_dup_rate` = duplicate copies / prompt-segment occurrences
//!   (can exceed 1: one segment may hold several copies)
//! - `char_dup_rate` = characters in duplicate copies / characters in
//!   prompt fields
//! - templates: distinct normalised segments of canonical length, each
//!   counted once per sample it appears in; `share` = samples / samples.
//!   Counts are exact while at most [`DEFAULT_TEMPLATE_CAPACITY`] distinct
//!   segments are held; past it the rarest are pruned (lossy counting), the
//!   kept counts become lower bounds and `templates_exact` turns false with
//!   the bound in `templates_max_undercount`.

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::prompt_segments::{HashMapU64, SampleCounts, SampleDedup};

/// Default number of templates reported.
pub const DEFAULT_TOP_TEMPLATES: usize = 10;
/// Default number of worst samples reported.
pub const DEFAULT_WORST: usize = 10;
/// Default number of distinct template segments counted exactly.
pub const DEFAULT_TEMPLATE_CAPACITY: usize = 1 << 20;

/// One frequent normalised prompt segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Template {
    /// The normalised segment.
    pub segment: String,
    /// Samples it appears in.
    pub samples: u64,
    /// `samples` / all samples.
    pub share: f64,
}

/// A sample with duplicate copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorstSample {
    /// The packed `(shard, row)` row id.
    pub row_id: u64,
    /// The value of the corpus's `id` column, when it has one.
    pub id: Option<String>,
    /// The duplicate copies, as stored.
    pub duplicates: Vec<String>,
}

/// The raw counts behind the rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// Samples with at least one duplicate copy.
    pub dup_samples: u64,
    /// Prompt-segment occurrences.
    pub segments: u64,
    /// Duplicate copies.
    pub copies: u64,
    /// Characters in prompt fields.
    pub chars: u64,
    /// Characters in duplicate copies.
    pub dup_chars: u64,
}

/// The prompt-duplication figures of a corpus (the `report.json` of
/// `prompt-dedup` and the JSON of `audit-prompts`, CORPUS.md "Report
/// layout").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromptReport {
    /// Samples read.
    pub samples: u64,
    /// Samples with ≥ 1 duplicate copy / samples.
    pub sample_dup_rate: f64,
    /// Duplicate copies / prompt-segment occurrences. A segment holding
    /// several copies (a metadata line with the instruction under two keys)
    /// counts each, so the rate can exceed 1.
    pub segment_dup_rate: f64,
    /// Characters in duplicate copies / characters in prompt fields.
    pub char_dup_rate: f64,
    /// User turns that are nothing but a copy of an earlier turn (kept).
    pub repeated_turns: u64,
    /// The most frequent normalised prompt segments.
    pub templates: Vec<Template>,
    /// The largest share of samples any one segment appears in.
    pub max_template_share: f64,
    /// The samples with the most duplicate copies.
    pub worst: Vec<WorstSample>,
    /// The counts behind the rates.
    pub counts: Counts,
    /// Whether the template counts are exact.
    pub templates_exact: bool,
    /// Upper bound on how far a template count may be low (0 when exact).
    pub templates_max_undercount: u64,
}

/// A template's count and where its text sits in its table's arena (one
/// arena instead of one allocation per distinct segment).
#[derive(Debug, Clone, Copy)]
struct TemplateCount {
    samples: u64,
    text: TextRef,
}

/// Where a text sits in a [`TextArena`].
#[derive(Debug, Clone, Copy)]
struct TextRef {
    block: u32,
    len: u32,
    start: usize,
}

/// Texts appended into blocks that never move: a growing `String` would
/// copy (and fault in again) every text held each time it doubled, which
/// with ~1M distinct templates was most of the audit's memory traffic.
/// Blocks double from [`TextArena::FIRST_BLOCK`] up to
/// [`TextArena::MAX_BLOCK`] bytes, so a chunk's small audit stays small.
#[derive(Debug, Clone, Default)]
struct TextArena {
    blocks: Vec<String>,
}

impl TextArena {
    const FIRST_BLOCK: usize = 4 << 10;
    const MAX_BLOCK: usize = 1 << 20;

    fn push(&mut self, text: &str) -> TextRef {
        let room = self
            .blocks
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= text.len());
        if !room {
            let next = self.blocks.last().map_or(Self::FIRST_BLOCK, |b| {
                (2 * b.capacity()).min(Self::MAX_BLOCK)
            });
            self.blocks
                .push(String::with_capacity(next.max(text.len())));
        }
        let block = self.blocks.len() - 1;
        let b = &mut self.blocks[block];
        let start = b.len();
        b.push_str(text);
        TextRef {
            // Segments are far below 4 GiB, and so is the block count.
            block: u32::try_from(block).unwrap_or(u32::MAX),
            len: u32::try_from(text.len()).unwrap_or(u32::MAX),
            start,
        }
    }

    fn get(&self, at: TextRef) -> &str {
        &self.blocks[at.block as usize][at.start..at.start + at.len as usize]
    }
}

/// Template tables an audit's templates are split into by hash, so that
/// merging audits runs one task per table.
const TEMPLATE_SHARDS: usize = 16;

/// The table of a template's hash: bits 52–55, clear of the bits the
/// map takes its bucket (lowest) and its tag (highest 7) from, so each
/// table's keys stay spread over its buckets.
fn shard_of(hash: u64) -> usize {
    usize::try_from((hash >> 52) % TEMPLATE_SHARDS as u64).unwrap_or(0)
}

/// Counts of the templates of one shard, with their texts.
#[derive(Debug, Clone, Default)]
struct TemplateTable {
    counts: HashMapU64<TemplateCount>,
    /// The templates' texts (compacted when pruning).
    texts: TextArena,
}

impl TemplateTable {
    /// Adds `samples` to the template `text` (hash `hash`).
    fn add(&mut self, hash: u64, text: &str, samples: u64) {
        let texts = &mut self.texts;
        self.counts
            .entry(hash)
            .and_modify(|t| t.samples += samples)
            .or_insert_with(|| TemplateCount {
                samples,
                text: texts.push(text),
            });
    }

    /// Adds every count of `other`.
    fn absorb(&mut self, other: &Self) {
        for (&hash, t) in &other.counts {
            self.add(hash, other.texts.get(t.text), t.samples);
        }
    }

    /// Drops the templates counted `threshold` times or fewer.
    fn retain_above(&mut self, threshold: u64) {
        self.counts.retain(|_, t| t.samples > threshold);
        let mut texts = TextArena::default();
        for t in self.counts.values_mut() {
            t.text = texts.push(self.texts.get(t.text));
        }
        self.texts = texts;
    }
}

/// Accumulates samples into a [`PromptReport`].
#[derive(Debug, Clone)]
pub struct PromptAudit {
    samples: u64,
    counts: Counts,
    moments: Moments,
    repeated_turns: u64,
    /// The template counts, [`TEMPLATE_SHARDS`] tables by hash.
    templates: Vec<TemplateTable>,
    capacity: usize,
    undercount: u64,
    top: usize,
    worst_n: usize,
    worst: Vec<(u64, u64, WorstSample)>,
}

impl Default for PromptAudit {
    fn default() -> Self {
        Self::new()
    }
}

impl PromptAudit {
    /// An empty audit with the default sizes.
    #[must_use]
    pub fn new() -> Self {
        Self {
            samples: 0,
            counts: Counts::default(),
            moments: Moments::default(),
            repeated_turns: 0,
            templates: vec![TemplateTable::default(); TEMPLATE_SHARDS],
            capacity: DEFAULT_TEMPLATE_CAPACITY,
            undercount: 0,
            top: DEFAULT_TOP_TEMPLATES,
            worst_n: DEFAULT_WORST,
            worst: Vec::new(),
        }
    }

    /// Templates reported. Default: [`DEFAULT_TOP_TEMPLATES`].
    #[must_use]
    pub fn with_top_templates(mut self, n: usize) -> Self {
        self.top = n;
        self
    }

    /// Worst samples reported. Default: [`DEFAULT_WORST`].
    #[must_use]
    pub fn with_worst(mut self, n: usize) -> Self {
        self.worst_n = n;
        self
    }

    /// Distinct template segments held before pruning. Default:
    /// [`DEFAULT_TEMPLATE_CAPACITY`].
    #[must_use]
    pub fn with_template_capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// An empty audit with the same settings.
    #[must_use]
    pub fn empty_like(&self) -> Self {
        Self {
            samples: 0,
            counts: Counts::default(),
            moments: Moments::default(),
            repeated_turns: 0,
            templates: vec![TemplateTable::default(); TEMPLATE_SHARDS],
            capacity: self.capacity,
            undercount: 0,
            top: self.top,
            worst_n: self.worst_n,
            worst: Vec::new(),
        }
    }

    /// Samples added so far.
    #[must_use]
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Adds one sample's result.
    pub fn add(&mut self, row_id: u64, id: Option<&str>, sample: &SampleDedup) {
        self.add_counts(&sample.counts);
        let c = &sample.counts;
        if c.copies > 0 {
            self.counts.dup_samples += 1;
            self.offer_worst(c.copies, c.copy_chars, row_id, id, &sample.removed);
        }
        self.add_templates(sample.templates());
    }

    /// Adds one sample as `sample`'s edits leave it: the figures a second
    /// run over the de-duplicated output would add, without running it.
    pub fn add_output(&mut self, sample: &SampleDedup) {
        self.add_counts(&sample.output);
        self.add_templates(sample.output_templates());
    }

    fn add_counts(&mut self, c: &SampleCounts) {
        self.samples += 1;
        self.moments.add(c);
        self.counts.segments += c.segments;
        self.counts.chars += c.chars;
        self.counts.copies += c.copies;
        self.counts.dup_chars += c.copy_chars;
        self.repeated_turns += c.repeated_turns;
    }

    fn add_templates<'a>(&mut self, templates: impl Iterator<Item = (u64, &'a str)>) {
        for (hash, text) in templates {
            self.templates[shard_of(hash)].add(hash, text, 1);
        }
        self.prune();
    }

    /// Distinct templates held.
    fn templates_held(&self) -> usize {
        self.templates.iter().map(|t| t.counts.len()).sum()
    }

    /// Every template held, with its text.
    fn template_counts(&self) -> impl Iterator<Item = (&TemplateCount, &str)> {
        self.templates
            .iter()
            .flat_map(|t| t.counts.values().map(|c| (c, t.texts.get(c.text))))
    }

    /// Adds another audit's samples (call in input order for
    /// order-independent results).
    pub fn merge(&mut self, other: Self) {
        self.merge_all(vec![other]);
    }

    /// Adds other audits' samples, in order: [`Self::merge`] of each, but
    /// the template tables are merged on the thread pool, one task per
    /// table, and pruned once at the end. Results depend only on the
    /// audits given and their order (pruning, past the template capacity,
    /// also on how they are grouped into calls).
    pub fn merge_all(&mut self, others: Vec<Self>) {
        for other in &others {
            self.merge_figures(other);
        }
        self.templates
            .par_iter_mut()
            .enumerate()
            .for_each(|(shard, table)| {
                for other in &others {
                    table.absorb(&other.templates[shard]);
                }
            });
        for other in others {
            for (copies, chars, w) in other.worst {
                self.insert_worst(copies, chars, w.row_id, || w);
            }
        }
        self.prune();
    }

    /// Adds the figures of `other` other than its templates and worst
    /// samples.
    fn merge_figures(&mut self, other: &Self) {
        self.samples += other.samples;
        self.moments.merge(&other.moments);
        self.counts.dup_samples += other.counts.dup_samples;
        self.counts.segments += other.counts.segments;
        self.counts.chars += other.counts.chars;
        self.counts.copies += other.counts.copies;
        self.counts.dup_chars += other.counts.dup_chars;
        self.repeated_turns += other.repeated_turns;
        self.undercount += other.undercount;
    }

    fn offer_worst(
        &mut self,
        copies: u64,
        chars: u64,
        row_id: u64,
        id: Option<&str>,
        duplicates: &[String],
    ) {
        self.insert_worst(copies, chars, row_id, || WorstSample {
            row_id,
            id: id.map(str::to_owned),
            duplicates: duplicates.to_vec(),
        });
    }

    /// Inserts a worst sample if it ranks among the kept ones; `sample`
    /// is built only then, so the common case allocates nothing.
    fn insert_worst(
        &mut self,
        copies: u64,
        chars: u64,
        row_id: u64,
        sample: impl FnOnce() -> WorstSample,
    ) {
        if self.worst_n == 0 {
            return;
        }
        let key = |c: u64, ch: u64, row: u64| (std::cmp::Reverse(c), std::cmp::Reverse(ch), row);
        let k = key(copies, chars, row_id);
        if self.worst.len() == self.worst_n
            && self
                .worst
                .last()
                .is_some_and(|(c, ch, w)| key(*c, *ch, w.row_id) <= k)
        {
            return;
        }
        let at = self
            .worst
            .partition_point(|(c, ch, w)| key(*c, *ch, w.row_id) < k);
        self.worst.insert(at, (copies, chars, sample()));
        self.worst.truncate(self.worst_n);
    }

    /// Lossy counting: past capacity, drops every template at or below the
    /// count that brings the table back to half its capacity.
    fn prune(&mut self) {
        if self.templates_held() <= self.capacity {
            return;
        }
        let mut counts: Vec<u64> = self.template_counts().map(|(t, _)| t.samples).collect();
        let keep = self.capacity / 2;
        let cut = counts.len().saturating_sub(keep).saturating_sub(1);
        let (_, threshold, _) = counts.select_nth_unstable(cut);
        let threshold = *threshold;
        for table in &mut self.templates {
            table.retain_above(threshold);
        }
        self.undercount += threshold;
    }

    /// 95% intervals of the three rates when these samples are a uniform
    /// random sample (without replacement) of `population` samples:
    /// Wilson for `sample_dup_rate`; for the two ratios, the normal interval
    /// of the ratio estimator with samples as clusters,
    /// `r ± z·√((1 − n/N)·Σ(yᵢ − r·xᵢ)² / (n(n−1)·x̄²))` (Cochran 1977, §6.4),
    /// cut at 0 below, and at 1 above for `char_dup_rate` only:
    /// `segment_dup_rate` counts copies per distinct segment and can pass 1.
    #[must_use]
    pub fn intervals(&self, population: u64) -> Option<Intervals> {
        let n = self.samples;
        let sample = wilson_interval(self.counts.dup_samples, n)?;
        let fpc = 1.0 - ratio(n, population.max(n));
        let m = &self.moments;
        let ratio_ci = |y: u64, x: u64, yy: f64, xx: f64, xy: f64, most: f64| {
            if x == 0 || n < 2 {
                return (0.0, 0.0);
            }
            let r = ratio(y, x);
            let nf = ratio(n, 1);
            let xbar = ratio(x, n);
            let ss = (yy - 2.0 * r * xy + r * r * xx).max(0.0);
            let var = fpc * ss / (nf * (nf - 1.0) * xbar * xbar);
            let half = Z95 * var.sqrt();
            ((r - half).max(0.0), (r + half).min(most))
        };
        Some(Intervals {
            sample_dup_rate: sample,
            segment_dup_rate: ratio_ci(
                self.counts.copies,
                self.counts.segments,
                m.copies_sq,
                m.segments_sq,
                m.copies_segments,
                f64::INFINITY,
            ),
            char_dup_rate: ratio_ci(
                self.counts.dup_chars,
                self.counts.chars,
                m.dup_chars_sq,
                m.chars_sq,
                m.dup_chars_chars,
                1.0,
            ),
        })
    }

    /// The first `self.top` templates in report order (samples down, then
    /// text; total, since texts are distinct), in that order. One pass
    /// keeps the best so far sorted: a template ranked below the last kept
    /// one costs one comparison, which for ~1M distinct templates, most
    /// seen once, is a count comparison rather than a text one.
    fn top_templates(&self) -> Vec<(&TemplateCount, &str)> {
        let order = |(a, a_text): &(&TemplateCount, &str), (b, b_text): &(&TemplateCount, &str)| {
            b.samples.cmp(&a.samples).then_with(|| a_text.cmp(b_text))
        };
        let n = self.top.min(self.templates_held());
        let mut top: Vec<(&TemplateCount, &str)> = Vec::with_capacity(n + 1);
        if n == 0 {
            return top;
        }
        for t in self.template_counts() {
            if top.len() == n && top.last().is_some_and(|last| order(last, &t).is_lt()) {
                continue;
            }
            let at = top.partition_point(|kept| order(kept, &t).is_lt());
            top.insert(at, t);
            top.truncate(n);
        }
        top
    }

    /// The figures so far.
    #[must_use]
    pub fn report(&self) -> PromptReport {
        let rate = |num: u64, den: u64| {
            if den == 0 { 0.0 } else { ratio(num, den) }
        };
        let templates = self.top_templates();
        let max_samples = self.template_counts().map(|(t, _)| t.samples).max();
        PromptReport {
            samples: self.samples,
            sample_dup_rate: rate(self.counts.dup_samples, self.samples),
            segment_dup_rate: rate(self.counts.copies, self.counts.segments),
            char_dup_rate: rate(self.counts.dup_chars, self.counts.chars),
            repeated_turns: self.repeated_turns,
            max_template_share: max_samples.map_or(0.0, |m| rate(m, self.samples)),
            templates: templates
                .into_iter()
                .map(|(t, text)| Template {
                    segment: text.to_owned(),
                    samples: t.samples,
                    share: rate(t.samples, self.samples),
                })
                .collect(),
            worst: self.worst.iter().map(|(_, _, w)| w.clone()).collect(),
            counts: self.counts,
            templates_exact: self.undercount == 0,
            templates_max_undercount: self.undercount,
        }
    }
}

/// Per-sample sums of squares and products behind [`PromptAudit::intervals`].
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    copies_sq: f64,
    segments_sq: f64,
    copies_segments: f64,
    dup_chars_sq: f64,
    chars_sq: f64,
    dup_chars_chars: f64,
}

impl Moments {
    fn add(&mut self, c: &SampleCounts) {
        let (y, x) = (ratio(c.copies, 1), ratio(c.segments, 1));
        self.copies_sq += y * y;
        self.segments_sq += x * x;
        self.copies_segments += x * y;
        let (y, x) = (ratio(c.copy_chars, 1), ratio(c.chars, 1));
        self.dup_chars_sq += y * y;
        self.chars_sq += x * x;
        self.dup_chars_chars += x * y;
    }

    fn merge(&mut self, o: &Self) {
        self.copies_sq += o.copies_sq;
        self.segments_sq += o.segments_sq;
        self.copies_segments += o.copies_segments;
        self.dup_chars_sq += o.dup_chars_sq;
        self.chars_sq += o.chars_sq;
        self.dup_chars_chars += o.dup_chars_chars;
    }
}

/// 95% intervals of the three rates of a sampled audit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Intervals {
    /// Wilson score interval of `sample_dup_rate`.
    pub sample_dup_rate: (f64, f64),
    /// Ratio-estimator interval of `segment_dup_rate`.
    pub segment_dup_rate: (f64, f64),
    /// Ratio-estimator interval of `char_dup_rate`.
    pub char_dup_rate: (f64, f64),
}

/// `num / den` as `f64` (counts stay far below 2⁵³ in practice).
#[expect(
    clippy::cast_precision_loss,
    reason = "counts of samples, segments and characters are far below 2^53"
)]
fn ratio(num: u64, den: u64) -> f64 {
    num as f64 / den as f64
}

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval (95%) of a proportion `successes / trials`:
/// centre `(p + z²/2n) / (1 + z²/n)`, half-width
/// `z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)` (Wilson 1927). `None` for 0 trials.
#[must_use]
pub fn wilson_interval(successes: u64, trials: u64) -> Option<(f64, f64)> {
    if trials == 0 {
        return None;
    }
    let n = ratio(trials, 1);
    let p = ratio(successes, trials);
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // At p = 0 (or 1) the bound is 0 (or 1) exactly; rounding leaves 5.6e-17.
    let lo = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if successes == trials {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use regime_corpus::Role;

    use super::*;
    use crate::{PromptDedup, PromptField};

    fn sample(dedup: &PromptDedup, user: &str, caption: &str) -> SampleDedup {
        let mut out = SampleDedup::default();
        dedup.run(
            &[
                PromptField::new(Role::User, user),
                PromptField::new(Role::Caption, caption),
            ],
            &mut out,
        );
        out
    }

    #[test]
    fn rates_on_a_hand_computed_fixture() {
        let dedup = PromptDedup::builder().build().unwrap();
        let mut audit = PromptAudit::new();
        // Sample 0: user "what is the blue shape?" (23 chars, 1 segment),
        // caption "A square. what is the blue shape?" (33 chars, 2 segments):
        // one copy of 23 chars.
        audit.add(
            0,
            Some("a"),
            &sample(
                &dedup,
                "what is the blue shape?",
                "A square. what is the blue shape?",
            ),
        );
        // Sample 1: no copy; 1 + 1 segments, 20 + 9 chars.
        audit.add(
            1,
            Some("b"),
            &sample(&dedup, "is there a red shape", "A circle."),
        );
        let r = audit.report();
        assert_eq!(r.samples, 2);
        assert!((r.sample_dup_rate - 0.5).abs() < 1e-15);
        // 1 copy / 5 segments.
        assert!((r.segment_dup_rate - 0.2).abs() < 1e-15);
        // 23 / (23 + 33 + 20 + 9) = 23 / 85.
        assert!((r.char_dup_rate - 23.0 / 85.0).abs() < 1e-15);
        assert_eq!(r.worst.len(), 1);
        assert_eq!(r.worst[0].id.as_deref(), Some("a"));
        assert_eq!(r.worst[0].duplicates, ["what is the blue shape?"]);
        // Two templates of one sample each, in text order.
        assert_eq!(r.templates.len(), 2);
        assert_eq!(r.templates[1].segment, "what is the blue shape?");
        assert_eq!(r.templates[1].samples, 1);
        assert!((r.templates[1].share - 0.5).abs() < 1e-15);
    }

    #[test]
    fn max_template_share_does_not_depend_on_templates_listed() {
        let dedup = PromptDedup::builder().build().unwrap();
        let mut audit = PromptAudit::new().with_top_templates(0);
        audit.add(
            0,
            None,
            &sample(&dedup, "what is the blue shape?", "A caption here."),
        );
        let r = audit.report();
        assert!(r.templates.is_empty());
        assert!((r.max_template_share - 1.0).abs() < 1e-15);
    }

    #[test]
    fn merge_in_order_equals_one_pass() {
        let dedup = PromptDedup::builder().build().unwrap();
        let samples: Vec<SampleDedup> = (0..20)
            .map(|i| {
                let user = format!("question number {} about the image?", i % 3);
                let caption = if i % 2 == 0 {
                    user.clone()
                } else {
                    "A caption here.".into()
                };
                sample(&dedup, &user, &caption)
            })
            .collect();
        let mut whole = PromptAudit::new().with_worst(3);
        for (i, s) in samples.iter().enumerate() {
            whole.add(i as u64, None, s);
        }
        let mut left = PromptAudit::new().with_worst(3);
        let mut right = left.empty_like();
        for (i, s) in samples.iter().enumerate() {
            if i < 7 {
                left.add(i as u64, None, s);
            } else {
                right.add(i as u64, None, s);
            }
        }
        left.merge(right);
        assert_eq!(left.report(), whole.report());
    }

    #[test]
    fn merging_many_at_once_equals_merging_one_by_one() {
        let dedup = PromptDedup::builder().build().unwrap();
        let audit = PromptAudit::new().with_worst(4).with_top_templates(50);
        // Five parts of 12 samples, 30 distinct templates spread over the
        // template tables.
        let parts: Vec<PromptAudit> = (0..5u64)
            .map(|p| {
                let mut part = audit.empty_like();
                for i in p * 12..(p + 1) * 12 {
                    let user = format!("question number {} about the shape?", i % 17);
                    let caption = if i % 3 == 0 {
                        format!("A caption. {user}")
                    } else {
                        format!("caption number {} of the image.", i % 13)
                    };
                    part.add(i, None, &sample(&dedup, &user, &caption));
                }
                part
            })
            .collect();
        let mut one_by_one = audit.empty_like();
        for part in parts.clone() {
            one_by_one.merge(part);
        }
        let mut at_once = audit.empty_like();
        at_once.merge_all(parts);
        assert_eq!(at_once.report(), one_by_one.report());
        assert_eq!(at_once.report().templates.len(), 30);
        let used = at_once
            .templates
            .iter()
            .filter(|t| !t.counts.is_empty())
            .count();
        assert!(used > 1, "templates in {used} table(s)");
    }

    #[test]
    fn pruned_merges_are_the_same_at_any_thread_count_and_bounded() {
        let dedup = PromptDedup::builder().build().unwrap();
        // Ten parts of ten samples: one frequent question, 100 one-off
        // captions, past a capacity of 8 templates.
        let audit = PromptAudit::new().with_template_capacity(8);
        let parts: Vec<PromptAudit> = (0..10u64)
            .map(|p| {
                let mut part = audit.empty_like();
                for i in p * 10..(p + 1) * 10 {
                    let caption = format!("unique caption number {i} here.");
                    let user = if i % 4 == 0 {
                        "a rarer question about it?"
                    } else {
                        "the frequent question here?"
                    };
                    part.add(i, None, &sample(&dedup, user, &caption));
                }
                part
            })
            .collect();
        let merged = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut total = audit.empty_like();
            pool.install(|| total.merge_all(parts.clone()));
            total.report()
        };
        let one = merged(1);
        assert_eq!(merged(4), one);
        assert!(!one.templates_exact);
        for (segment, truth) in [
            ("the frequent question here?", 75),
            ("a rarer question about it?", 25),
        ] {
            let t = one.templates.iter().find(|t| t.segment == segment);
            let counted = t.map_or(0, |t| t.samples);
            assert!(
                counted <= truth && truth <= counted + one.templates_max_undercount,
                "{segment}: {counted} + {} against {truth}",
                one.templates_max_undercount
            );
        }
    }

    #[test]
    fn top_templates_are_the_first_of_a_full_sort() {
        let dedup = PromptDedup::builder().build().unwrap();
        let mut audit = PromptAudit::new();
        // Counts 1..=4 with ties, so the text order decides within a count.
        for i in 0..40u64 {
            let user = format!("question number {} about the shape?", i % 13);
            let caption = format!("caption number {} of the image.", i % 4);
            audit.add(i, None, &sample(&dedup, &user, &caption));
        }
        let mut all: Vec<(&str, u64)> = audit
            .template_counts()
            .map(|(t, text)| (text, t.samples))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for top in [0, 1, 3, 5, 16, 17, 100] {
            let audit = audit.clone().with_top_templates(top);
            let got: Vec<(&str, u64)> = audit
                .top_templates()
                .into_iter()
                .map(|(t, text)| (text, t.samples))
                .collect();
            let want: Vec<(&str, u64)> = all.iter().take(top).copied().collect();
            assert_eq!(got, want, "top {top}");
        }
    }

    #[test]
    fn pruning_keeps_frequent_templates_and_says_so() {
        let dedup = PromptDedup::builder().build().unwrap();
        let mut audit = PromptAudit::new().with_template_capacity(8);
        for i in 0..100 {
            let caption = format!("unique caption number {i} here.");
            audit.add(
                i,
                None,
                &sample(&dedup, "the frequent question here?", &caption),
            );
        }
        let r = audit.report();
        assert_eq!(r.templates[0].segment, "the frequent question here?");
        assert!(!r.templates_exact);
        assert!(r.templates[0].samples + r.templates_max_undercount >= 100);
    }

    #[test]
    fn arena_texts_stay_where_they_were_put() {
        let mut arena = TextArena::default();
        let long = "x".repeat(TextArena::MAX_BLOCK + 10);
        let texts: Vec<String> = (0..20_000)
            .map(|i| format!("template {i}"))
            .chain([long, String::new()])
            .collect();
        let mut refs = Vec::new();
        let mut first: Option<*const u8> = None;
        for text in &texts {
            refs.push(arena.push(text));
            // The first block is never reallocated.
            let start = arena.blocks[0].as_ptr();
            assert_eq!(*first.get_or_insert(start), start);
        }
        for (text, at) in texts.iter().zip(refs) {
            assert_eq!(arena.get(at), text);
        }
        assert!(
            arena
                .blocks
                .iter()
                .all(|b| b.capacity() <= TextArena::MAX_BLOCK + 10)
        );
    }

    #[test]
    fn wilson_matches_a_closed_form() {
        // n = 100, p = 0.5: centre 0.5, half = 1.96·√(0.0025 + 0.000096)/1.0384
        let (lo, hi) = wilson_interval(50, 100).unwrap();
        assert!((lo - 0.403_832).abs() < 1e-5, "{lo}");
        assert!((hi - 0.596_168).abs() < 1e-5, "{hi}");
        assert_eq!(wilson_interval(0, 0), None);
        // Exactly 0 and 1 at the extremes (rounding gave 5.55e-17).
        let (lo, hi) = wilson_interval(0, 10).unwrap();
        assert!(lo.to_bits() == 0, "{lo}");
        assert!((hi - 0.277_533).abs() < 1e-5, "{hi}");
        let (lo, hi) = wilson_interval(10, 10).unwrap();
        assert!(hi.to_bits() == 1.0_f64.to_bits(), "{hi}");
        assert!((lo - 0.722_467).abs() < 1e-5, "{lo}");
    }
}
