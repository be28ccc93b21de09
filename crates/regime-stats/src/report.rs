//! The finalised figures: the `report.json` layout of CORPUS.md ("Report
//! layout"). Every type is `serde`-serialisable and derives
//! [`schemars::JsonSchema`], so `schemas/profile-report.schema.json` is
//! generated from these types. Optional figures are `null` when undefined
//! (for example `entropy_norm` with fewer than two types).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::categorical::CategoryReport;
use crate::gopher::GopherReport;
use crate::vocab::TokenSpace;

/// `DIR/report.json` of `regime profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileReport {
    /// The settings the figures were computed with.
    pub settings: ProfileSettings,
    /// Figures over every field of every sample.
    pub overall: ScopeReport,
    /// Figures per role (`system`, `user`, `assistant`, `caption`, `ocr`,
    /// `metadata`, `other`), sorted by role.
    pub roles: BTreeMap<String, ScopeReport>,
    /// Coverage per categorical column (`--by`), sorted by column.
    pub categories: BTreeMap<String, CategoryReport>,
}

impl ProfileReport {
    /// Every top-k entry of every scope: overall first, then the roles.
    pub fn top_entries_mut(&mut self) -> impl Iterator<Item = &mut NgramCount> {
        std::iter::once(&mut self.overall)
            .chain(self.roles.values_mut())
            .flat_map(|scope| scope.ngrams.values_mut())
            .flat_map(|figures| figures.top.iter_mut())
    }
}

/// Settings recorded in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileSettings {
    /// What tokens are: built-in words or model token ids.
    pub token_space: TokenSpace,
    /// Largest n of the n-gram figures.
    pub max_n: usize,
    /// Entries in each top-k list.
    pub top_k: usize,
    /// Memory budget of the exact tables, bytes.
    pub memory_budget: u64,
    /// Counters of each space-saving sketch.
    pub sketch_capacity: usize,
    /// `HyperLogLog` precision p (2^p registers).
    pub hll_precision: u8,
}

/// Figures of one scope (overall or one role).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScopeReport {
    /// Samples with at least one field in the scope.
    pub samples: u64,
    /// Text fields (conversation turns or columns) in the scope.
    pub fields: u64,
    /// Characters (Unicode scalar values) of those fields.
    pub chars: u64,
    /// Tokens of those fields.
    pub tokens: u64,
    /// Length distributions: per field for a role, per sample overall.
    pub lengths: Lengths,
    /// Type/token figures.
    pub unigram: UnigramFigures,
    /// n-gram figures keyed by n (`"1"` … `"4"`).
    pub ngrams: BTreeMap<String, NgramFigures>,
    /// Rank–frequency curve of the unigrams at about 64 log-spaced ranks
    /// (rank 1 and V included), for plots.
    pub rank_frequency: Vec<RankCount>,
    /// Duplication figures. Overall: every figure, of whole samples. A
    /// role: its exact duplicates only, keyed by that role's fields of each
    /// sample (`regime dedup exact --on ROLE`); the near-duplicate and
    /// prompt figures are `null` and `templates` is empty there, since
    /// they are the whole sample's. `null` for a role only when the
    /// caller gave no content keys for it (`regime profile` always does).
    pub duplication: Option<DuplicationReport>,
    /// Gopher repetition metrics per sample: overall of the whole sample,
    /// for a role of that role's fields in each sample. `null` when no
    /// sample came with its words.
    pub gopher: Option<GopherReport>,
}

/// Length distributions of a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lengths {
    /// In characters; `null` when empty.
    pub chars: Option<Distribution>,
    /// In tokens; `null` when empty.
    pub tokens: Option<Distribution>,
}

/// One point of a rank–frequency curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RankCount {
    /// Rank (1 = most frequent type).
    pub rank: u64,
    /// Occurrences of the type at that rank.
    pub count: u64,
}

/// One bin of a length histogram: lengths in `[lo, hi)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistogramBin {
    /// Inclusive lower edge.
    pub lo: u64,
    /// Exclusive upper edge.
    pub hi: u64,
    /// Values in the bin.
    pub count: u64,
}

/// Summary of a distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Distribution {
    /// Number of values.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Whether the percentiles are exact.
    pub exact: bool,
    /// Relative error bound of the percentiles (0 when exact).
    pub relative_error: f64,
    /// Histogram over power-of-two bins `[0,1), [1,2), [2,4), …`
    /// (empty bins at the ends dropped).
    pub histogram: Vec<HistogramBin>,
}

/// Type/token figures (see [`crate::unigram_figures`] for the formulae).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnigramFigures {
    /// Tokens T.
    pub tokens: u64,
    /// Types V.
    pub types: u64,
    /// Type-token ratio V / T.
    pub ttr: f64,
    /// Types seen once / V.
    pub hapax_share: f64,
    /// Shannon entropy H of the unigram distribution, bits.
    pub entropy_bits: f64,
    /// H / log₂ V; `null` when V < 2.
    pub entropy_norm: Option<f64>,
    /// Share of tokens from the top 1% (⌈V/100⌉) of types.
    pub head_mass: f64,
    /// Share of tokens from types seen ≤ 10 times.
    pub tail_mass: f64,
    /// Zipf exponent over ranks 10…min(V, 10⁴); `null` when V < 11.
    pub zipf_exponent: Option<f64>,
}

/// n-gram figures for one n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NgramFigures {
    /// Occurrences: Σ over fields of max(0, tokens − n + 1).
    pub total: u64,
    /// Distinct n-grams (a `HyperLogLog` estimate when not `exact`).
    pub distinct: u64,
    /// distinct / total.
    pub distinct_ratio: f64,
    /// Share of occurrences held by the top 1% (⌈distinct/100⌉) of n-grams.
    pub concentration: f64,
    /// Most frequent n-grams, count descending then n-gram ascending.
    pub top: Vec<NgramCount>,
    /// Whether these figures are exact (false: sketch mode).
    pub exact: bool,
    /// ± bound on `distinct` (3σ of the `HyperLogLog`; 0 when exact).
    pub distinct_error: f64,
    /// Each top count is a lower bound: true ≤ count + `count_error`.
    pub count_error: u64,
    /// Upper bound on how much `concentration` may be low (0 when exact).
    pub concentration_error: f64,
}

/// One entry of a top-k list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NgramCount {
    /// The n-gram: tokens joined by one space (model tokens as their
    /// vocabulary strings).
    pub ngram: String,
    /// Occurrences (a lower bound in sketch mode).
    pub count: u64,
    /// Token ids (model tokenizers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<u32>>,
    /// The ids decoded back to text by the tokenizer (model tokenizers
    /// only): what a reader recognises, where `ngram` holds vocabulary
    /// strings such as `Ġthe` or byte-level pieces of a CJK character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Duplication figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DuplicationReport {
    /// Samples counted, `empty` ones included.
    pub samples: u64,
    /// Samples whose normalised content is empty (every text field empty
    /// after normalisation): never counted as duplicates, as `regime dedup
    /// exact` keeps them.
    pub empty: u64,
    /// Samples whose content equals an earlier sample's, with the key of
    /// `regime dedup exact` (default fields): xxh3-128 of the text fields'
    /// normalised text in sample order, empty fields left out, joined by
    /// newlines. The duplicates that command removes.
    pub exact_duplicates: u64,
    /// `exact_duplicates / samples`.
    pub exact_duplicate_share: f64,
    /// Near-duplicate share (`MinHash`), when computed.
    pub near_duplicate_share: Option<f64>,
    /// Prompt-segment duplication within samples, when computed.
    pub prompt: Option<PromptDupReport>,
    /// Most common normalised prompt segments.
    pub templates: Vec<TemplateCount>,
    /// Whether template counts are exact (else lower bounds).
    pub templates_exact: bool,
    /// Template counts are low by at most this.
    pub templates_error: u64,
}

/// A frequent prompt segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateCount {
    /// The normalised segment.
    pub segment: String,
    /// Samples it appears in.
    pub samples: u64,
    /// samples / all samples.
    pub share: f64,
}

/// Prompt-segment duplication figures (CORPUS.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromptDupReport {
    /// Samples measured.
    pub samples: u64,
    /// Samples with ≥ 1 duplicate copy / samples.
    pub sample_dup_rate: f64,
    /// Duplicate copies / prompt-segment occurrences. A segment holding
    /// several copies (a metadata line with the instruction under two keys)
    /// counts each, so the rate can exceed 1.
    pub segment_dup_rate: f64,
    /// Chars in duplicate copies / chars in non-protected fields.
    pub char_dup_rate: f64,
    /// Later user turns that repeat an earlier one whole.
    pub repeated_turns: u64,
}

/// `DIR/report.json` of `regime profile --compare A B`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileComparison {
    /// What A is: its input as given on the command line (for condition
    /// D's `d1_compare`, "D1 as read"), so a report read on its own says
    /// what it compares.
    pub a_input: String,
    /// What B is, as [`Self::a_input`].
    pub b_input: String,
    /// The profile of A.
    pub a: ProfileReport,
    /// The profile of B.
    pub b: ProfileReport,
    /// B relative to A.
    pub compare: CompareReport,
}

/// `regime profile --compare A B`: B relative to A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CompareReport {
    /// Jensen–Shannon divergence of the unigram distributions, bits (0…1);
    /// `None` (null) when either corpus has no tokens, whose distribution
    /// is undefined.
    pub js_divergence_bits: Option<f64>,
    /// `V_B − V_A`.
    pub delta_types: i64,
    /// `H_B − H_A`, bits.
    pub delta_entropy_bits: f64,
    /// `head_mass_B − head_mass_A`.
    pub delta_head_mass: f64,
    /// `tail_mass_B − tail_mass_A`.
    pub delta_tail_mass: f64,
    /// Per n: distinct and distinct-ratio deltas.
    pub delta_ngrams: BTreeMap<String, NgramDelta>,
    /// A's types seen ≤ 10 times.
    pub rare_types_a: u64,
    /// Share of those that occur in B (1 when A has none: nothing was lost).
    pub rare_type_survival: f64,
    /// A's overall unigram figures.
    pub a: UnigramFigures,
    /// B's overall unigram figures.
    pub b: UnigramFigures,
}

/// Change of the n-gram figures for one n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NgramDelta {
    /// `distinct_B − distinct_A`.
    pub delta_distinct: i64,
    /// `distinct_ratio_B − distinct_ratio_A` (Δ distinct-n).
    pub delta_distinct_ratio: f64,
    /// Whether both sides were exact.
    pub exact: bool,
}
