//! The corpus profile: one mergeable state for every figure of
//! `regime profile` (CORPUS.md), and its finalisation into a
//! [`ProfileReport`].
//!
//! Callers feed one [`SampleInput`] per sample (its text fields with role and
//! tokens, plus optional content hash, prompt segments, prompt-dedup counts
//! and category values). Threads measure samples into [`PreparedSample`]s
//! and one state adds them in input order ([`ProfileState::add_all`]), so
//! the report does not depend on the thread count in sketch mode either
//! (its n-gram tables are filled in parallel, one task per table, each in
//! input order); shards each fill a [`ProfileState`] and
//! [`ProfileState::combine`] them (exact tables merge to the single run's
//! counts, sketches within their bounds). The state serialises with
//! `serde`, so `--shard I/N` partials can be written and merged later.
//! Exact n-gram tables are kept while they fit
//! [`ProfileConfig::with_memory_budget`]; past it the largest tables move
//! to sketches one at a time (see [`crate::ngram`]).
//! Unigram (type) counts are always exact: the vocabulary is charged to the
//! budget but never sketched.

use std::collections::{BTreeMap, btree_map};

use hashbrown::HashSet;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::categorical::CategoryCounts;
use crate::error::Error;
use crate::gopher::GopherState;
use crate::hll::DEFAULT_HLL_PRECISION;
use crate::ngram::{
    CountHistogram, Key, MAX_N, NgramCounter, SketchSettings, exact_figures, key_of,
};
use crate::quantile::Quantiles;
use crate::ratio;
use crate::report::{
    CompareReport, Distribution, DuplicationReport, HistogramBin, Lengths, NgramDelta,
    NgramFigures, ProfileReport, ProfileSettings, PromptDupReport, RankCount, ScopeReport,
    TemplateCount,
};
use crate::topk::{DEFAULT_SKETCH_CAPACITY, SpaceSaving};
use crate::unigram::{TAIL_MAX_COUNT, unigram_figures};
use crate::vocab::{TokenSeq, TokenSpace, Vocab, id_hash};

mod prepared;

pub use prepared::PreparedSample;
use prepared::PreparedTokens;

/// Display names of model token ids (shared by the threads that finalise).
pub type Names<'a> = &'a (dyn Fn(u32) -> Option<String> + Sync);

/// Default largest n.
pub const DEFAULT_MAX_N: usize = 4;
/// Default entries per top-k list.
pub const DEFAULT_TOP_K: usize = 20;
/// Default memory budget for exact tables: 4 GiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 4 << 30;
/// Templates reported.
pub const TEMPLATES_REPORTED: usize = 20;

/// Profile settings; build with the `with_*` setters, check with
/// [`ProfileConfig::build`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileConfig {
    token_space: TokenSpace,
    max_n: usize,
    top_k: usize,
    memory_budget: u64,
    sketch_capacity: usize,
    hll_precision: u8,
    /// Protected tokens added to the caller's defaults, sorted and
    /// deduplicated. The state never reads them: they are recorded because
    /// they change what a token and a prompt segment are, so states made
    /// with different lists must not be combined.
    protected: Vec<String>,
}

impl ProfileConfig {
    /// Defaults for the given token space.
    #[must_use]
    pub fn new(token_space: TokenSpace) -> Self {
        Self {
            token_space,
            max_n: DEFAULT_MAX_N,
            top_k: DEFAULT_TOP_K,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            sketch_capacity: DEFAULT_SKETCH_CAPACITY,
            hll_precision: DEFAULT_HLL_PRECISION,
            protected: Vec::new(),
        }
    }

    /// Largest n of the n-gram figures (1…[`MAX_N`]). Default: [`DEFAULT_MAX_N`].
    #[must_use]
    pub fn with_max_n(mut self, n: usize) -> Self {
        self.max_n = n;
        self
    }

    /// Entries per top-k list. Default: [`DEFAULT_TOP_K`].
    #[must_use]
    pub fn with_top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }

    /// Bytes the exact tables may use. Default: [`DEFAULT_MEMORY_BUDGET`].
    #[must_use]
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// Counters per space-saving sketch. Default:
    /// [`DEFAULT_SKETCH_CAPACITY`].
    #[must_use]
    pub fn with_sketch_capacity(mut self, k: usize) -> Self {
        self.sketch_capacity = k;
        self
    }

    /// `HyperLogLog` precision (4…18). Default: [`DEFAULT_HLL_PRECISION`].
    #[must_use]
    pub fn with_hll_precision(mut self, p: u8) -> Self {
        self.hll_precision = p;
        self
    }

    /// Protected tokens the caller's tokenizer and segmenter added to their
    /// defaults (`--protect`), recorded so that states made with other
    /// lists are not combined. Kept sorted and deduplicated, so the order
    /// they were given in does not matter; empty tokens are dropped.
    /// Default: none.
    #[must_use]
    pub fn with_protected<T: Into<String>>(mut self, tokens: impl IntoIterator<Item = T>) -> Self {
        self.protected = tokens
            .into_iter()
            .map(Into::into)
            .filter(|t: &String| !t.is_empty())
            .collect();
        self.protected.sort();
        self.protected.dedup();
        self
    }

    /// The added protected tokens (see [`Self::with_protected`]).
    #[must_use]
    pub fn protected(&self) -> &[String] {
        &self.protected
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Config`] when `max_n` is not in 1…[`MAX_N`], the sketch
    /// capacity is 0 or the `HyperLogLog` precision is not in 4…18.
    pub fn build(self) -> Result<Self, Error> {
        if !(1..=MAX_N).contains(&self.max_n) {
            return Err(Error::Config {
                what: "max n",
                reason: format!("{} is not in 1..={MAX_N}", self.max_n),
            });
        }
        if self.sketch_capacity == 0 {
            return Err(Error::Config {
                what: "sketch capacity",
                reason: "must be at least 1".into(),
            });
        }
        crate::hll::HyperLogLog::with_precision(self.hll_precision)?;
        Ok(self)
    }

    fn sketch(&self) -> SketchSettings {
        SketchSettings {
            capacity: self.sketch_capacity,
            precision: self.hll_precision,
        }
    }
}

/// One text field of a sample.
#[derive(Debug, Clone, Copy)]
pub struct FieldInput<'a> {
    /// The field's role (`user`, `assistant`, …).
    pub role: &'a str,
    /// The field's text.
    pub text: &'a str,
    /// Its tokens (from the profile's tokenizer).
    pub tokens: TokenSeq<'a>,
    /// Its built-in word tokens, for the Gopher metrics (`None`: not
    /// measured; a sample is measured when every field has them).
    pub words: Option<&'a [&'a str]>,
}

/// Per-sample prompt-segment duplication counts (from the prompt-dedup
/// algorithm of CORPUS.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptDupCounts {
    /// Duplicate copies found in the sample.
    pub duplicate_copies: u64,
    /// Prompt-segment occurrences in the sample.
    pub segment_occurrences: u64,
    /// Characters in duplicate copies.
    pub duplicate_chars: u64,
    /// Characters in non-protected fields.
    pub chars: u64,
    /// Later user turns that repeat an earlier one whole.
    pub repeated_turns: u64,
}

impl PromptDupCounts {
    /// Adds `other`'s counts (a sample's, or another state's totals).
    fn add(&mut self, other: &Self) {
        self.duplicate_copies += other.duplicate_copies;
        self.segment_occurrences += other.segment_occurrences;
        self.duplicate_chars += other.duplicate_chars;
        self.chars += other.chars;
        self.repeated_turns += other.repeated_turns;
    }
}

/// Everything the profile takes from one sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct SampleInput<'a> {
    /// Text fields in sample order.
    pub fields: &'a [FieldInput<'a>],
    /// The sample's exact-duplicate key: a hash of its normalised content
    /// (as `regime dedup exact` keys rows: the text fields' normalised text,
    /// empty ones left out, joined by newlines). `None` when that content
    /// is empty: the sample is counted as `empty`, never as a duplicate.
    pub content_hash: Option<u128>,
    /// The sample's distinct normalised prompt segments (template counts).
    pub segments: &'a [&'a str],
    /// Prompt-segment duplication counts, when computed.
    pub prompt_dup: Option<PromptDupCounts>,
    /// `(role, key)` for each role in the sample: its exact-duplicate key
    /// over that role's fields alone (as `content_hash`, `None` when
    /// empty), for the per-role exact duplicates.
    pub role_hashes: &'a [(&'a str, Option<u128>)],
    /// `(column, value)` for each `--by` column.
    pub categories: &'a [(&'a str, Option<&'a str>)],
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LengthState {
    /// n, Σx, Σx², min, max as integers: exact and order-independent, so
    /// shard merges reproduce a single run bit for bit.
    n: u64,
    sum: u128,
    sum_sq: u128,
    min: u64,
    max: u64,
    quantiles: Quantiles,
    /// Counts per bin: 0 → bin 0, v ≥ 1 → bin 1 + ⌊log₂ v⌋.
    bins: Vec<u64>,
}

fn bin_of(v: u64) -> usize {
    if v == 0 { 0 } else { 1 + v.ilog2() as usize }
}

fn bin_edges(bin: usize) -> (u64, u64) {
    match bin {
        0 => (0, 1),
        b => (
            1 << (b - 1),
            1u64.checked_shl(u32::try_from(b).unwrap_or(64))
                .unwrap_or(u64::MAX),
        ),
    }
}

impl LengthState {
    #[expect(clippy::cast_precision_loss, reason = "lengths below 2^52")]
    fn insert(&mut self, v: u64) {
        self.min = if self.n == 0 { v } else { self.min.min(v) };
        self.max = self.max.max(v);
        self.n += 1;
        self.sum += u128::from(v);
        self.sum_sq += u128::from(v) * u128::from(v);
        self.quantiles.insert(v as f64);
        let b = bin_of(v);
        if self.bins.len() <= b {
            self.bins.resize(b + 1, 0);
        }
        self.bins[b] += 1;
    }

    fn combine(&mut self, o: &Self) {
        if o.n > 0 {
            self.min = if self.n == 0 {
                o.min
            } else {
                self.min.min(o.min)
            };
            self.max = self.max.max(o.max);
        }
        self.n += o.n;
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
        self.quantiles.combine(&o.quantiles);
        if self.bins.len() < o.bins.len() {
            self.bins.resize(o.bins.len(), 0);
        }
        for (a, &b) in self.bins.iter_mut().zip(&o.bins) {
            *a += b;
        }
    }

    /// Population std from exact sums: `√((nΣx² − (Σx)²) / n²)`.
    #[expect(clippy::cast_precision_loss, reason = "rounding to f64 at the end")]
    fn finalize(&self) -> Option<Distribution> {
        let q = self.quantiles.finalize(&[0.5, 0.9, 0.99])?;
        let n = u128::from(self.n);
        let nf = self.n as f64;
        let var_num = (n * self.sum_sq).saturating_sub(self.sum * self.sum);
        Some(Distribution {
            count: self.n,
            mean: self.sum as f64 / nf,
            std: (var_num as f64).sqrt() / nf,
            min: self.min as f64,
            max: self.max as f64,
            p50: q[0],
            p90: q[1],
            p99: q[2],
            exact: self.quantiles.is_exact(),
            relative_error: self.quantiles.relative_error(),
            histogram: {
                let first = self.bins.iter().position(|&c| c > 0).unwrap_or(0);
                self.bins
                    .iter()
                    .enumerate()
                    .skip(first)
                    .map(|(b, &count)| {
                        let (lo, hi) = bin_edges(b);
                        HistogramBin { lo, hi, count }
                    })
                    .collect()
            },
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScopeState {
    samples: u64,
    fields: u64,
    chars: u64,
    tokens: u64,
    char_lengths: LengthState,
    token_lengths: LengthState,
    unigrams: Vec<u64>,
    ngrams: Vec<NgramCounter>,
    /// Gopher metrics of the scope's text per sample (CORPUS.md: per role
    /// and overall).
    #[serde(default)]
    gopher: GopherState,
    /// Hashes of the scope's normalised content per sample (exact
    /// duplicates; the overall ones live in [`DuplicationState`]).
    #[serde(default)]
    content: ContentHashes,
    /// Keys added since the last [`ProfileState::flush_ngrams`], per n
    /// (index `n - 2`); always empty between two calls of
    /// [`ProfileState::add_all`].
    #[serde(skip)]
    pending: Vec<Vec<Key>>,
}

impl ScopeState {
    fn new(max_n: usize) -> Self {
        Self {
            samples: 0,
            fields: 0,
            chars: 0,
            tokens: 0,
            char_lengths: LengthState::default(),
            token_lengths: LengthState::default(),
            unigrams: Vec::new(),
            ngrams: (2..=max_n).map(NgramCounter::new).collect(),
            gopher: GopherState::default(),
            content: ContentHashes::default(),
            pending: Vec::new(),
        }
    }

    fn bytes(&self) -> usize {
        self.unigrams.capacity() * 8
            + self.ngrams.iter().map(NgramCounter::bytes).sum::<usize>()
            + self.content.bytes()
            + self
                .pending
                .iter()
                .map(|keys| keys.capacity() * std::mem::size_of::<Key>())
                .sum::<usize>()
    }
}

mod u128_set {
    use hashbrown::HashSet;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[expect(
        clippy::cast_possible_truncation,
        reason = "splitting a u128 into halves"
    )]
    pub(super) fn serialize<S: Serializer>(set: &HashSet<u128>, s: S) -> Result<S::Ok, S::Error> {
        let mut v: Vec<[u64; 2]> = set.iter().map(|&h| [(h >> 64) as u64, h as u64]).collect();
        v.sort_unstable();
        v.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<HashSet<u128>, D::Error> {
        Ok(Vec::<[u64; 2]>::deserialize(d)?
            .into_iter()
            .map(|[hi, lo]| (u128::from(hi) << 64) | u128::from(lo))
            .collect())
    }
}

/// The text of each counted template, by hash, with the bytes it holds
/// kept current (the memory budget asks for them every few samples).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "BTreeMap<u64, String>")]
struct TemplateTexts {
    texts: BTreeMap<u64, String>,
    bytes: usize,
}

/// Serialised as the map alone; the byte count is rebuilt on reading.
impl Serialize for TemplateTexts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.texts.serialize(s)
    }
}

/// Bytes a stored text costs beyond its characters (node share, `String`).
const TEMPLATE_TEXT_OVERHEAD: usize = 48;

impl From<BTreeMap<u64, String>> for TemplateTexts {
    fn from(texts: BTreeMap<u64, String>) -> Self {
        let bytes = texts
            .values()
            .map(|t| t.len() + TEMPLATE_TEXT_OVERHEAD)
            .sum();
        Self { texts, bytes }
    }
}

impl TemplateTexts {
    /// Stores `text` for `key` unless it has one.
    fn insert(&mut self, key: u64, text: &str) {
        if let btree_map::Entry::Vacant(e) = self.texts.entry(key) {
            self.bytes += text.len() + TEMPLATE_TEXT_OVERHEAD;
            e.insert(text.to_owned());
        }
    }

    /// Keeps the texts of the templates `top` still counts.
    fn keep_counted(&mut self, top: &SpaceSaving<u64>) {
        let bytes = &mut self.bytes;
        self.texts.retain(|k, t| {
            let keep = top.count(k) > 0;
            if !keep {
                *bytes -= t.len() + TEMPLATE_TEXT_OVERHEAD;
            }
            keep
        });
    }

    /// [`Self::bytes`] once `top` is cut to `capacity` counters and
    /// [`Self::keep_counted`] has run: the texts of the templates whose
    /// count is above the cut (as `SpaceSaving::set_capacity` prunes).
    fn bytes_kept_at(&self, top: &SpaceSaving<u64>, capacity: usize) -> usize {
        let Some(cut) = top.cut_at(capacity) else {
            return self.bytes;
        };
        self.texts
            .iter()
            .filter(|(k, _)| top.count(k) > cut)
            .map(|(_, t)| t.len() + TEMPLATE_TEXT_OVERHEAD)
            .sum()
    }

    /// Adds the texts of `other` that `self` lacks.
    fn absorb(&mut self, other: Self) {
        for (k, t) in other.texts {
            self.insert(k, &t);
        }
    }

    fn get(&self, key: u64) -> Option<&String> {
        self.texts.get(&key)
    }

    fn len(&self) -> usize {
        self.texts.len()
    }

    fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Content hashes of the samples seen: exact duplicates are the samples
/// whose hash was seen before; samples with empty content have none.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ContentHashes {
    /// Samples with a hash.
    hashed: u64,
    /// Samples whose content is empty.
    empty: u64,
    #[serde(with = "u128_set")]
    hashes: HashSet<u128>,
}

impl ContentHashes {
    /// Counts one sample's key (`None`: empty content).
    fn insert(&mut self, hash: Option<u128>) {
        match hash {
            Some(h) => {
                self.hashed += 1;
                self.hashes.insert(h);
            }
            None => self.empty += 1,
        }
    }

    fn combine(&mut self, other: Self) {
        self.hashed += other.hashed;
        self.empty += other.empty;
        self.hashes.extend(other.hashes);
    }

    /// Samples counted, empty ones included.
    fn samples(&self) -> u64 {
        self.hashed + self.empty
    }

    fn duplicates(&self) -> u64 {
        self.hashed - self.hashes.len() as u64
    }

    fn bytes(&self) -> usize {
        self.hashes.capacity() * 17
    }

    /// A role's duplication figures: exact duplicates only (near, prompt
    /// and template figures are the whole sample's).
    fn report(&self) -> Option<DuplicationReport> {
        (self.samples() > 0).then(|| DuplicationReport {
            samples: self.samples(),
            empty: self.empty,
            exact_duplicates: self.duplicates(),
            exact_duplicate_share: ratio(self.duplicates(), self.samples()),
            near_duplicate_share: None,
            prompt: None,
            templates: Vec::new(),
            templates_exact: true,
            templates_error: 0,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DuplicationState {
    #[serde(flatten)]
    content: ContentHashes,
    segment_samples: u64,
    templates: SpaceSaving<u64>,
    template_text: TemplateTexts,
    prompt_samples: u64,
    prompt_dup_samples: u64,
    prompt: PromptDupCounts,
}

impl DuplicationState {
    fn new() -> Self {
        Self {
            content: ContentHashes::default(),
            segment_samples: 0,
            templates: SpaceSaving::new(TEMPLATES_EXACT_CAPACITY),
            template_text: TemplateTexts::default(),
            prompt_samples: 0,
            prompt_dup_samples: 0,
            prompt: PromptDupCounts::default(),
        }
    }

    fn tidy_text(&mut self) {
        if self.template_text.len() > 4 * self.templates.len().max(16) {
            self.template_text.keep_counted(&self.templates);
        }
    }
}

/// The mergeable profile state; see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileState {
    config: ProfileConfig,
    vocab: Vocab,
    roles: BTreeMap<String, ScopeState>,
    overall: ScopeState,
    duplication: DuplicationState,
    categories: BTreeMap<String, CategoryCounts>,
    #[serde(skip)]
    scratch: Vec<u32>,
    #[serde(skip)]
    since_check: u32,
    /// Keys in the scopes' `pending` lists.
    #[serde(skip)]
    pending_keys: usize,
}

/// What [`ProfileState::enforce_budget`] moves to sketch mode.
enum Sketchable {
    /// The template counts, with their texts.
    Templates,
    /// The n-gram table of index `n − 2` of a role.
    Table(String, usize),
}

/// Template counts are exact (never pruned) until the memory budget moves
/// them to a sketch of `sketch_capacity` counters.
const TEMPLATES_EXACT_CAPACITY: usize = usize::MAX / 4;

/// Samples between two memory-budget checks.
const BUDGET_CHECK_EVERY: u32 = 64;

/// n-gram keys held before they are counted (16 bytes each: 1 MiB, so the
/// lists stay in the CPU cache between being written and being counted);
/// a flush may find up to one more slice of a field's keys.
const PENDING_KEYS: usize = 1 << 16;

/// Held n-gram keys below which the tables are filled one after another.
const PARALLEL_MIN_KEYS: usize = 4096;

/// Bytes of memory budget per n-gram key held: room for the held keys is
/// made before they are counted, as if each were new, so a small budget
/// holds fewer of them (that room is then a few percent of the budget,
/// not a table's worth).
const BUDGET_BYTES_PER_PENDING_KEY: u64 = 1024;

impl ProfileState {
    /// An empty state.
    ///
    /// # Errors
    /// [`Error::Config`] when `config` is invalid (see [`ProfileConfig::build`]).
    pub fn new(config: ProfileConfig) -> Result<Self, Error> {
        let config = config.build()?;
        Ok(Self {
            vocab: Vocab::default(),
            roles: BTreeMap::new(),
            overall: ScopeState::new(config.max_n),
            duplication: DuplicationState::new(),
            categories: BTreeMap::new(),
            scratch: Vec::new(),
            since_check: 0,
            pending_keys: 0,
            config,
        })
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    /// Adds one sample ([`Self::add`] of the sample measured).
    pub fn insert(&mut self, sample: &SampleInput<'_>) {
        self.add(&PreparedSample::new(sample));
    }

    /// Adds one measured sample ([`Self::add_all`] of one).
    pub fn add(&mut self, sample: &PreparedSample) {
        self.add_all(std::slice::from_ref(sample));
    }

    /// Adds measured samples, in order. A state fed the same samples in
    /// the same order and the same groups is the same however they were
    /// measured, so threads may prepare samples as long as one state adds
    /// them in input order.
    ///
    /// The samples' n-gram keys are held in one list per table (up to
    /// 65,536 keys in all, fewer under a small memory budget; a longer
    /// field is cut into parts) and then counted one list per task on the
    /// thread pool, so the tables fill in parallel, each in input order.
    /// The lists' capacity is charged to the budget. Exact counts do not
    /// depend on the grouping; where a table moves to a sketch does (the
    /// budget is checked when the lists are counted), so sketched figures
    /// depend on it, within their bounds.
    pub fn add_all(&mut self, samples: &[PreparedSample]) {
        for sample in samples {
            // Counts the held keys whenever there are enough of them
            // (`insert_field`).
            self.add_one(sample);
        }
        self.flush_ngrams();
    }

    /// [`Self::add`] but for counting the n-gram keys it leaves pending.
    fn add_one(&mut self, sample: &PreparedSample) {
        let mut sample_chars = 0;
        let mut sample_tokens = 0;
        let mut first_seen = vec![false; sample.roles.len()];
        for (i, field) in sample.fields.iter().enumerate() {
            let tokens = sample.token_count(i);
            sample_chars += field.chars;
            sample_tokens += tokens;
            let first_of_role = !std::mem::replace(&mut first_seen[field.role], true);
            let mut ids = std::mem::take(&mut self.scratch);
            ids.clear();
            match sample.tokens(i) {
                PreparedTokens::Words(words, range) => {
                    ids.extend(range.map(|w| {
                        let (word, hash) = words.word(w);
                        self.vocab.intern_hashed(word, hash)
                    }));
                }
                PreparedTokens::Ids(field_ids) => ids.extend_from_slice(field_ids),
            }
            let role = &sample.roles[field.role];
            self.insert_field(role, &ids, field.chars, tokens, first_of_role);
            self.scratch = ids;
        }
        let o = &mut self.overall;
        o.samples += 1;
        o.fields += sample.fields.len() as u64;
        o.chars += sample_chars;
        o.tokens += sample_tokens;
        o.char_lengths.insert(sample_chars);
        o.token_lengths.insert(sample_tokens);
        if let Some((whole, per_role)) = &sample.gopher {
            self.overall.gopher.insert(whole);
            for (role, m) in sample.roles.iter().zip(per_role) {
                if let Some(scope) = self.roles.get_mut(role) {
                    scope.gopher.insert(m);
                }
            }
        }
        let d = &mut self.duplication;
        d.content.insert(sample.content_hash);
        for (role, h) in &sample.role_hashes {
            if let Some(scope) = self.roles.get_mut(role) {
                scope.content.insert(*h);
            }
        }
        let mut segments = sample.segments().peekable();
        if segments.peek().is_some() {
            d.segment_samples += 1;
            for (k, s) in segments {
                d.templates.insert(k, 1);
                if d.templates.count(&k) > 0 {
                    d.template_text.insert(k, s);
                }
            }
            d.tidy_text();
        }
        if let Some(p) = sample.prompt_dup {
            d.prompt_samples += 1;
            d.prompt_dup_samples += u64::from(p.duplicate_copies > 0);
            d.prompt.add(&p);
        }
        for (col, value) in &sample.categories {
            let value = value.as_deref();
            if let Some(c) = self.categories.get_mut(col) {
                c.insert(value);
            } else {
                let mut c = CategoryCounts::default();
                c.insert(value);
                self.categories.insert(col.clone(), c);
            }
        }
        self.since_check += 1;
        if self.since_check >= BUDGET_CHECK_EVERY {
            self.since_check = 0;
            self.enforce_budget(false);
        }
    }

    /// Counts one field's tokens (`ids`, interned) in its role's scope and
    /// holds its n-gram keys for [`Self::flush_ngrams`], counting them part
    /// by part when the field has more than the keys held at most.
    fn insert_field(
        &mut self,
        role: &str,
        ids: &[u32],
        chars: u64,
        tokens: u64,
        first_of_role: bool,
    ) {
        if !self.roles.contains_key(role) {
            self.roles
                .insert(role.to_owned(), ScopeState::new(self.config.max_n));
        }
        let max_n = self.config.max_n;
        let pending_max = self.pending_max();
        let Some(scope) = self.roles.get_mut(role) else {
            return;
        };
        scope.samples += u64::from(first_of_role);
        scope.fields += 1;
        scope.chars += chars;
        scope.tokens += tokens;
        scope.char_lengths.insert(chars);
        scope.token_lengths.insert(tokens);
        if let Some(&max) = ids.iter().max() {
            let need = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
            if scope.unigrams.len() < need {
                scope.unigrams.resize(need, 0);
            }
        }
        for &id in ids {
            if let Some(c) = usize::try_from(id)
                .ok()
                .and_then(|i| scope.unigrams.get_mut(i))
            {
                *c += 1;
            }
        }
        scope.pending.resize_with(scope.ngrams.len(), Vec::new);
        // The keys of the windows starting in `from..to`, a slice of start
        // positions at a time, so one long field cannot hold more keys.
        let step = pending_max.div_ceil(scope.ngrams.len().max(1));
        let mut from = 0;
        while from < ids.len() {
            let to = from.saturating_add(step).min(ids.len());
            let Some(scope) = self.roles.get_mut(role) else {
                return;
            };
            for (pending, n) in scope.pending.iter_mut().zip(2..=max_n) {
                let end = to.saturating_add(n - 1).min(ids.len());
                let before = pending.len();
                pending.extend(ids[from..end].windows(n).map(|w| key_of(w, n)));
                self.pending_keys += pending.len() - before;
            }
            from = to;
            if self.pending_keys >= pending_max {
                self.flush_ngrams();
            }
        }
    }

    /// Keys held before they are counted, for this memory budget.
    fn pending_max(&self) -> usize {
        let by_budget = self.config.memory_budget / BUDGET_BYTES_PER_PENDING_KEY;
        usize::try_from(by_budget).map_or(PENDING_KEYS, |n| n.clamp(1, PENDING_KEYS))
    }

    /// Counts the pending n-gram keys: one task per table on the thread
    /// pool, each adding its table's keys in input order.
    fn flush_ngrams(&mut self) {
        let held = std::mem::take(&mut self.pending_keys);
        if held == 0 {
            return;
        }
        // A table that doubles holds its old and new cells at once: make
        // room within the budget before that happens, not after.
        if self.growth_bytes() > 0 {
            self.enforce_budget(true);
        }
        let space = self.config.token_space;
        let vocab = &self.vocab;
        let hash = |key: &Key, n: usize| key_hash(space, |id| vocab.hash(id), key, n);
        let mut tables: Vec<(&mut NgramCounter, &mut Vec<Key>)> = self
            .roles
            .values_mut()
            .flat_map(|scope| scope.ngrams.iter_mut().zip(scope.pending.iter_mut()))
            .filter(|(_, keys)| !keys.is_empty())
            .collect();
        let count = |(counter, keys): &mut (&mut NgramCounter, &mut Vec<Key>)| {
            let n = counter.n;
            counter.insert_batch(keys, |k| hash(k, n));
            keys.clear();
        };
        if held < PARALLEL_MIN_KEYS {
            // A few keys (a sample at a time, a small budget): not worth a
            // round trip through the thread pool.
            tables.iter_mut().for_each(count);
        } else {
            tables.par_iter_mut().for_each(count);
        }
    }

    /// Approximate bytes held by the counting tables.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.vocab.bytes()
            + self.roles.values().map(ScopeState::bytes).sum::<usize>()
            + self.overall.bytes()
            + self.duplication.content.bytes()
            + self.duplication.templates.bytes()
            + self.duplication.template_text.bytes()
    }

    /// Whether every n-gram table is still exact.
    #[must_use]
    pub fn is_exact(&self) -> bool {
        self.roles
            .values()
            .chain(std::iter::once(&self.overall))
            .all(|s| s.ngrams.iter().all(NgramCounter::is_exact))
    }

    /// Bytes the exact n-gram tables would allocate to count their pending
    /// keys.
    fn growth_bytes(&self) -> usize {
        self.roles
            .values()
            .flat_map(|scope| scope.ngrams.iter().zip(&scope.pending))
            .map(|(c, keys)| c.growth_bytes(keys.len()))
            .sum()
    }

    /// Moves to sketch mode, one at a time, what frees the most memory,
    /// until what is held (plus, with `growth`, [`Self::growth_bytes`])
    /// fits the budget or nothing left would free any.
    fn enforce_budget(&mut self, growth: bool) {
        let budget = usize::try_from(self.config.memory_budget).unwrap_or(usize::MAX);
        loop {
            let pending = if growth { self.growth_bytes() } else { 0 };
            if self.bytes().saturating_add(pending) <= budget {
                break;
            }
            let settings = self.config.sketch();
            match self.most_freeing(growth) {
                None => break,
                Some(Sketchable::Templates) => {
                    let d = &mut self.duplication;
                    d.templates.set_capacity(settings.capacity);
                    d.template_text.keep_counted(&d.templates);
                }
                Some(Sketchable::Table(role, i)) => {
                    let n = i + 2;
                    let hasher = self.clone_hasher();
                    if let Some(c) = self.roles.get_mut(&role).and_then(|s| s.ngrams.get_mut(i)) {
                        c.make_sketch(&|k| hasher.hash(k, n), settings);
                    }
                }
            }
        }
    }

    /// What sketch mode would free the most bytes of now, if anything.
    ///
    /// The candidates are every exact n-gram table and the template counts
    /// (while they are exact). Each frees what it holds (a table, with
    /// `growth`, also what it would allocate for its pending keys) less
    /// what its sketch holds. A sketch has a fixed size (`HyperLogLog`
    /// registers, space-saving counters), so a small table can be smaller
    /// than its sketch, and template counts that fit the sketch's capacity
    /// keep every text: such candidates free nothing and are never chosen.
    /// Every figure follows from the counts alone, not from a hash map's
    /// capacity, so the choice is the same at every thread count; ties go
    /// to the last candidate in the order templates, then each role's
    /// tables by n.
    fn most_freeing(&self, growth: bool) -> Option<Sketchable> {
        let settings = self.config.sketch();
        let d = &self.duplication;
        let templates = (d.templates.capacity() > settings.capacity).then(|| {
            let held = d.templates.bytes() + d.template_text.bytes();
            let cut = d.templates.bytes_at_capacity(settings.capacity)
                + d.template_text
                    .bytes_kept_at(&d.templates, settings.capacity);
            (held.saturating_sub(cut), None)
        });
        let tables = self.roles.iter().flat_map(|(role, scope)| {
            scope
                .ngrams
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_exact())
                .map(move |(i, c)| {
                    let keys = scope.pending.get(i).map_or(0, Vec::len);
                    let held = c.bytes() + if growth { c.growth_bytes(keys) } else { 0 };
                    (
                        held.saturating_sub(c.sketch_bytes(settings)),
                        Some((role, i)),
                    )
                })
        });
        let (freed, pick) = templates.into_iter().chain(tables).max_by_key(|c| c.0)?;
        (freed > 0).then(|| match pick {
            None => Sketchable::Templates,
            Some((role, i)) => Sketchable::Table(role.clone(), i),
        })
    }

    /// Merges `other` into `self`.
    ///
    /// # Errors
    /// [`Error::Incompatible`] when the token space, max n, `HyperLogLog`
    /// precision or protected tokens differ.
    pub fn combine(&mut self, other: Self) -> Result<(), Error> {
        let (a, b) = (&self.config, &other.config);
        if a.protected != b.protected {
            return Err(Error::Incompatible {
                what: "protected tokens",
                left: format!("{:?}", a.protected),
                right: format!("{:?}", b.protected),
            });
        }
        if a.token_space != b.token_space {
            return Err(Error::Incompatible {
                what: "token space",
                left: format!("{:?}", a.token_space),
                right: format!("{:?}", b.token_space),
            });
        }
        if a.max_n != b.max_n || a.hll_precision != b.hll_precision {
            return Err(Error::Incompatible {
                what: "max n / hyperloglog precision",
                left: format!("{} / {}", a.max_n, a.hll_precision),
                right: format!("{} / {}", b.max_n, b.hll_precision),
            });
        }
        let remap: Option<Vec<u32>> = match self.config.token_space {
            TokenSpace::Words => Some(self.vocab.absorb(&other.vocab)),
            TokenSpace::Ids => None,
        };
        let settings = self.config.sketch();
        for (role, scope) in other.roles {
            if !self.roles.contains_key(&role) {
                self.roles
                    .insert(role.clone(), ScopeState::new(self.config.max_n));
            }
            let scope = remap_scope(scope, remap.as_deref());
            let this = self.clone_hasher();
            if let Some(mine) = self.roles.get_mut(&role) {
                combine_scope(mine, scope, &this, settings);
            }
        }
        let overall = remap_scope(other.overall, remap.as_deref());
        let this = self.clone_hasher();
        combine_scope(&mut self.overall, overall, &this, settings);
        let d = &mut self.duplication;
        let od = other.duplication;
        d.content.combine(od.content);
        d.segment_samples += od.segment_samples;
        d.templates.combine(&od.templates);
        d.template_text.absorb(od.template_text);
        d.tidy_text();
        d.prompt_samples += od.prompt_samples;
        d.prompt_dup_samples += od.prompt_dup_samples;
        d.prompt.add(&od.prompt);
        for (col, c) in other.categories {
            self.categories.entry(col).or_default().combine(&c);
        }
        self.enforce_budget(false);
        Ok(())
    }

    /// A snapshot of what the n-gram hash needs (vocabulary hashes).
    fn clone_hasher(&self) -> Hasher {
        Hasher {
            space: self.config.token_space,
            hashes: match self.config.token_space {
                TokenSpace::Words => (0..self.vocab.len())
                    .map(|i| self.vocab.hash(u32::try_from(i).unwrap_or(u32::MAX)))
                    .collect(),
                TokenSpace::Ids => Vec::new(),
            },
        }
    }

    /// Display name of a type id.
    fn type_name(&self, id: u32, names: Option<Names<'_>>) -> String {
        match self.config.token_space {
            TokenSpace::Words => self.vocab.name(id).unwrap_or_default().to_owned(),
            TokenSpace::Ids => names
                .and_then(|f| f(id))
                .unwrap_or_else(|| format!("#{id}")),
        }
    }

    fn scope_report(
        &self,
        scope: &ScopeState,
        names: Option<Names<'_>>,
        overall: bool,
    ) -> ScopeReport {
        let name_of = |k: &Key, n: usize| -> String {
            k.iter()
                .take(n)
                .map(|&id| self.type_name(id, names))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let ids_space = self.config.token_space == TokenSpace::Ids;
        let mut ngrams = BTreeMap::new();
        let uni_total: u64 = scope.unigrams.iter().sum();
        let uni_name = |k: &Key| name_of(k, 1);
        let uni_ids = |k: &Key| vec![k[0]];
        let unigram_entries = |min: u64| {
            scope
                .unigrams
                .iter()
                .enumerate()
                .filter(move |&(_, &c)| c >= min)
                .map(|(i, &c)| (key_of(&[u32::try_from(i).unwrap_or(u32::MAX)], 1), c))
        };
        let uni = exact_figures(
            uni_total,
            &CountHistogram::new(scope.unigrams.iter().copied()),
            unigram_entries,
            self.config.top_k,
            &uni_name,
            ids_space.then_some(&uni_ids as &dyn Fn(&Key) -> Vec<u32>),
        );
        ngrams.insert("1".to_owned(), uni);
        let longer: Vec<(String, NgramFigures)> = scope
            .ngrams
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                let n = c.n;
                let nm = |k: &Key| name_of(k, n);
                let ids = |k: &Key| k[..n].to_vec();
                let ids = ids_space.then_some(&ids as &dyn Fn(&Key) -> Vec<u32>);
                let top_k = self.config.top_k;
                let union = || NgramCounter::union_figures(&self.role_parts(i), top_k, &nm, ids);
                let figures = overall
                    .then(union)
                    .flatten()
                    .unwrap_or_else(|| c.figures(top_k, &nm, ids));
                (n.to_string(), figures)
            })
            .collect();
        ngrams.extend(longer);
        ScopeReport {
            samples: scope.samples,
            fields: scope.fields,
            chars: scope.chars,
            tokens: scope.tokens,
            lengths: Lengths {
                chars: scope.char_lengths.finalize(),
                tokens: scope.token_lengths.finalize(),
            },
            unigram: unigram_figures(&scope.unigrams),
            rank_frequency: rank_frequency(&scope.unigrams),
            ngrams,
            duplication: if overall {
                Some(self.duplication_report())
            } else {
                scope.content.report()
            },
            gopher: scope.gopher.finalize(),
        }
    }

    fn duplication_report(&self) -> DuplicationReport {
        let d = &self.duplication;
        let dups = d.content.duplicates();
        let mut templates: Vec<TemplateCount> = d
            .templates
            .iter()
            .filter(|h| h.count >= 2)
            .filter_map(|h| {
                Some(TemplateCount {
                    segment: d.template_text.get(h.key)?.clone(),
                    samples: h.count,
                    share: ratio(h.count, self.overall.samples),
                })
            })
            .collect();
        templates.sort_by(|a, b| {
            b.samples
                .cmp(&a.samples)
                .then_with(|| a.segment.cmp(&b.segment))
        });
        templates.truncate(TEMPLATES_REPORTED);
        DuplicationReport {
            samples: d.content.samples(),
            empty: d.content.empty,
            exact_duplicates: dups,
            exact_duplicate_share: ratio(dups, d.content.samples()),
            near_duplicate_share: None,
            prompt: (d.prompt_samples > 0).then(|| PromptDupReport {
                samples: d.prompt_samples,
                sample_dup_rate: ratio(d.prompt_dup_samples, d.prompt_samples),
                segment_dup_rate: ratio(d.prompt.duplicate_copies, d.prompt.segment_occurrences),
                char_dup_rate: ratio(d.prompt.duplicate_chars, d.prompt.chars),
                repeated_turns: d.prompt.repeated_turns,
            }),
            templates,
            templates_exact: d.templates.error() == 0,
            templates_error: d.templates.error(),
        }
    }

    /// The overall type counts (roles summed), indexed by type id.
    fn overall_unigrams(&self) -> Vec<u64> {
        let len = self
            .roles
            .values()
            .map(|s| s.unigrams.len())
            .max()
            .unwrap_or(0);
        let mut out = vec![0u64; len];
        for s in self.roles.values() {
            for (o, &c) in out.iter_mut().zip(&s.unigrams) {
                *o += c;
            }
        }
        out
    }

    /// The roles' counters for n-gram order index `i` (n = i + 2).
    fn role_parts(&self, i: usize) -> Vec<&NgramCounter> {
        self.roles
            .values()
            .filter_map(|s| s.ngrams.get(i))
            .collect()
    }

    /// The overall scope with its type counts (roles summed). Its n-gram
    /// figures come from the roles' counters: exact ones by looking keys
    /// up across the roles' tables ([`NgramCounter::union_figures`]), so an
    /// exact union holds no memory of its own. Where a role's counter is a
    /// sketch, the overall counter is a sketch built from the roles'.
    fn overall_scope(&self) -> ScopeState {
        let mut scope = self.overall.clone();
        scope.unigrams = self.overall_unigrams();
        let hasher = self.clone_hasher();
        let settings = self.config.sketch();
        for (i, counter) in scope.ngrams.iter_mut().enumerate() {
            let parts = self.role_parts(i);
            if !parts.iter().all(|p| p.is_exact()) {
                let n = counter.n;
                *counter = NgramCounter::union_sketch(n, &parts, &|k| hasher.hash(k, n), settings);
            }
        }
        scope
    }

    /// The report. `names` renders model token ids (ignored for words).
    #[must_use]
    pub fn finalize(&self, names: Option<Names<'_>>) -> ProfileReport {
        let overall = self.overall_scope();
        let (overall, roles) = rayon::join(
            || self.scope_report(&overall, names, true),
            || {
                self.roles
                    .par_iter()
                    .map(|(r, s)| (r.clone(), self.scope_report(s, names, false)))
                    .collect()
            },
        );
        ProfileReport {
            settings: ProfileSettings {
                token_space: self.config.token_space,
                max_n: self.config.max_n,
                top_k: self.config.top_k,
                memory_budget: self.config.memory_budget,
                sketch_capacity: self.config.sketch_capacity,
                hll_precision: self.config.hll_precision,
            },
            overall,
            roles,
            categories: self
                .categories
                .iter()
                .map(|(k, c)| (k.clone(), c.finalize()))
                .collect(),
        }
    }

    /// `--compare`: the figures of `other` (B) relative to `self` (A).
    ///
    /// `a` and `b` are the two finalised reports (from [`Self::finalize`]).
    ///
    /// # Errors
    /// [`Error::Incompatible`] when the token spaces differ.
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_wrap,
        clippy::many_single_char_names,
        reason = "counts below 2^52; names follow the formulae"
    )]
    pub fn compare(
        &self,
        other: &Self,
        a: &ProfileReport,
        b: &ProfileReport,
    ) -> Result<CompareReport, Error> {
        if self.config.token_space != other.config.token_space {
            return Err(Error::Incompatible {
                what: "token space",
                left: format!("{:?}", self.config.token_space),
                right: format!("{:?}", other.config.token_space),
            });
        }
        let pa = self.overall_unigrams();
        let pb_raw = other.overall_unigrams();
        // Align B's ids to A's.
        let mut pb = vec![0u64; pa.len()];
        let mut b_only: Vec<u64> = Vec::new();
        match self.config.token_space {
            TokenSpace::Ids => {
                pb.resize(pa.len().max(pb_raw.len()), 0);
                for (o, &c) in pb.iter_mut().zip(&pb_raw) {
                    *o = c;
                }
            }
            TokenSpace::Words => {
                let mut vocab = self.vocab.clone();
                let remap = vocab.absorb(&other.vocab);
                for (i, &c) in pb_raw.iter().enumerate() {
                    let j = remap
                        .get(i)
                        .copied()
                        .map_or(usize::MAX, |j| usize::try_from(j).unwrap_or(usize::MAX));
                    if let Some(slot) = pb.get_mut(j) {
                        *slot += c;
                    } else if c > 0 {
                        b_only.push(c);
                    }
                }
            }
        }
        let ta: u64 = pa.iter().sum();
        let tb: u64 = pb.iter().sum::<u64>() + b_only.iter().sum::<u64>();
        let mut js = 0.0;
        let term = |p: f64, m: f64| if p > 0.0 { p * (p / m).log2() } else { 0.0 };
        let len = pa.len().max(pb.len());
        for i in 0..len {
            let p = if ta == 0 {
                0.0
            } else {
                pa.get(i).copied().unwrap_or(0) as f64 / ta as f64
            };
            let q = if tb == 0 {
                0.0
            } else {
                pb.get(i).copied().unwrap_or(0) as f64 / tb as f64
            };
            let m = 0.5 * (p + q);
            js += 0.5 * term(p, m) + 0.5 * term(q, m);
        }
        for &c in &b_only {
            // Types only in B: p = 0, m = q/2 → ½ q log₂ 2 = q/2.
            js += 0.5 * (c as f64 / tb as f64);
        }
        let rare: Vec<usize> = pa
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0 && c <= TAIL_MAX_COUNT)
            .map(|(i, _)| i)
            .collect();
        let survived = rare
            .iter()
            .filter(|&&i| pb.get(i).copied().unwrap_or(0) > 0)
            .count();
        let delta_ngrams = a
            .overall
            .ngrams
            .iter()
            .filter_map(|(n, fa)| {
                let fb = b.overall.ngrams.get(n)?;
                Some((
                    n.clone(),
                    NgramDelta {
                        delta_distinct: fb.distinct as i64 - fa.distinct as i64,
                        delta_distinct_ratio: fb.distinct_ratio - fa.distinct_ratio,
                        exact: fa.exact && fb.exact,
                    },
                ))
            })
            .collect();
        let (ua, ub) = (&a.overall.unigram, &b.overall.unigram);
        Ok(CompareReport {
            // A side without tokens has no distribution to diverge from
            // (the sum above would give ½ or 0, figures of nothing).
            js_divergence_bits: (ta > 0 && tb > 0).then(|| js.clamp(0.0, 1.0)),
            delta_types: ub.types as i64 - ua.types as i64,
            delta_entropy_bits: ub.entropy_bits - ua.entropy_bits,
            delta_head_mass: ub.head_mass - ua.head_mass,
            delta_tail_mass: ub.tail_mass - ua.tail_mass,
            delta_ngrams,
            rare_types_a: rare.len() as u64,
            rare_type_survival: if rare.is_empty() {
                1.0
            } else {
                survived as f64 / rare.len() as f64
            },
            a: ua.clone(),
            b: ub.clone(),
        })
    }
}

/// Points of the rank–frequency curve at about 64 log-spaced ranks.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "ranks are positive and far below 2^52"
)]
fn rank_frequency(counts: &[u64]) -> Vec<RankCount> {
    let mut sorted: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let v = sorted.len();
    if v == 0 {
        return Vec::new();
    }
    let mut ranks: Vec<usize> = (0..64)
        .map(|i| ((v as f64).powf(f64::from(i) / 63.0).round() as usize).clamp(1, v))
        .collect();
    ranks.dedup();
    ranks
        .into_iter()
        .map(|r| RankCount {
            rank: r as u64,
            count: sorted[r - 1],
        })
        .collect()
}

/// Type hashes, detached from the state so counters can be mutated.
struct Hasher {
    space: TokenSpace,
    hashes: Vec<u64>,
}

impl Hasher {
    fn hash(&self, key: &Key, n: usize) -> u64 {
        let word = |id: u32| {
            usize::try_from(id)
                .ok()
                .and_then(|i| self.hashes.get(i))
                .copied()
                .unwrap_or(0)
        };
        key_hash(self.space, word, key, n)
    }
}

/// The hash the sketches take of an n-gram key: `xxh3_64` of its first
/// `n` token hashes (`word(id)` for words, [`id_hash`] for model ids).
fn key_hash(space: TokenSpace, word: impl Fn(u32) -> u64, key: &Key, n: usize) -> u64 {
    let mut buf = [0u8; 8 * MAX_N];
    for (chunk, &id) in buf.chunks_exact_mut(8).zip(key).take(n) {
        let h = match space {
            TokenSpace::Words => word(id),
            TokenSpace::Ids => id_hash(id),
        };
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(&buf[..8 * n])
}

fn remap_scope(mut scope: ScopeState, remap: Option<&[u32]>) -> ScopeState {
    let Some(remap) = remap else { return scope };
    // Absorbing into an empty (or same-prefix) vocabulary keeps every id:
    // the usual case for the first partial `regime merge` reads, whose tables
    // would otherwise be rebuilt for nothing.
    if remap
        .iter()
        .enumerate()
        .all(|(i, &j)| usize::try_from(j).is_ok_and(|j| j == i))
    {
        return scope;
    }
    let len = remap
        .iter()
        .max()
        .map_or(0, |&m| usize::try_from(m).unwrap_or(0) + 1);
    let mut unigrams = vec![0u64; len.max(scope.unigrams.len().min(len))];
    for (i, &c) in scope.unigrams.iter().enumerate() {
        if let Some(slot) = remap
            .get(i)
            .and_then(|&j| usize::try_from(j).ok())
            .and_then(|j| unigrams.get_mut(j))
        {
            *slot += c;
        }
    }
    scope.unigrams = unigrams;
    scope.ngrams = scope.ngrams.into_iter().map(|c| c.remap(remap)).collect();
    scope
}

fn combine_scope(
    mine: &mut ScopeState,
    other: ScopeState,
    hasher: &Hasher,
    settings: SketchSettings,
) {
    mine.samples += other.samples;
    mine.fields += other.fields;
    mine.chars += other.chars;
    mine.tokens += other.tokens;
    mine.char_lengths.combine(&other.char_lengths);
    mine.token_lengths.combine(&other.token_lengths);
    mine.gopher.combine(&other.gopher);
    mine.content.combine(other.content);
    if mine.unigrams.len() < other.unigrams.len() {
        mine.unigrams.resize(other.unigrams.len(), 0);
    }
    for (m, &c) in mine.unigrams.iter_mut().zip(&other.unigrams) {
        *m += c;
    }
    for (m, o) in mine.ngrams.iter_mut().zip(other.ngrams) {
        let n = m.n;
        m.combine(o, &|k| hasher.hash(k, n), settings);
    }
}

#[cfg(test)]
mod tests;
