//! Mergeable corpus statistics for `regime profile`: exact n-gram counts
//! under a memory budget with `HyperLogLog` / space-saving fallback,
//! Welford moments, quantiles, unigram and n-gram figures, Gopher
//! repetition metrics, categorical coverage and the `--compare` figures.
//!
//! This crate is a leaf: it knows nothing of Arrow, Parquet, files,
//! tokenizers or the command line. Callers tokenise (with `regime-text`) and
//! hand tokens in as [`TokenSeq`]; every state follows the same shape
//! (STYLE.md §13): `new`, `insert`, `combine`, `finalize`, so shards and
//! `regime merge` share one code path. Threads measure samples into
//! [`PreparedSample`]s and one state adds them in input order
//! ([`ProfileState::add_all`]): sketches depend on that order, and a report
//! must not depend on the thread count. The crate uses `rayon` to fill the
//! n-gram tables (one task per table, each in input order) and to finalise
//! (each scope and n), on the caller's pool. Every definition follows
//! CORPUS.md and is written out in the module docs of the kernel that
//! computes it; every report type derives `serde` and
//! [`schemars::JsonSchema`].
//!
//! # Overview
//! - [`ProfileState`] (configured by [`ProfileConfig`], fed [`SampleInput`]s
//!   or [`PreparedSample`]s)
//!   → [`ProfileReport`], the `report.json` layout; [`ProfileState::compare`]
//!   → [`CompareReport`].
//! - Kernels: [`Moments`] (Schubert & Gertz), [`Quantiles`] (exact, then
//!   `DDSketch`), [`HyperLogLog`], [`SpaceSaving`], [`unigram_figures`],
//!   [`gopher::measure`] / [`GopherParts`] / [`GopherState`], [`CategoryCounts`].
//!
//! # Example
//! ```
//! use regime_stats::{FieldInput, ProfileConfig, ProfileState, SampleInput, TokenSeq, TokenSpace};
//! # fn main() -> Result<(), regime_stats::Error> {
//! let mut state = ProfileState::new(ProfileConfig::new(TokenSpace::Words).with_max_n(2))?;
//! let words = ["the", "cat", "the", "cat"];
//! let fields = [FieldInput {
//!     role: "user",
//!     text: "the cat the cat",
//!     tokens: TokenSeq::Words(&words),
//!     words: Some(&words),
//! }];
//! state.insert(&SampleInput { fields: &fields, ..SampleInput::default() });
//! let report = state.finalize(None);
//! assert_eq!(report.overall.unigram.types, 2);
//! assert_eq!(report.overall.ngrams["2"].top[0].ngram, "the cat");
//! assert_eq!(report.overall.ngrams["2"].top[0].count, 2);
//! # Ok(())
//! # }
//! ```

/// `a / b`, 0 when `b` is 0 (a share of counts).
#[expect(clippy::cast_precision_loss, reason = "counts below 2^52")]
pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The range of part `i` of items laid back to back, given each part's
/// end (`None` past the last part).
pub(crate) fn part_range(ends: &[usize], i: usize) -> Option<std::ops::Range<usize>> {
    let end = *ends.get(i)?;
    Some(if i == 0 { 0 } else { ends[i - 1] }..end)
}

mod categorical;
mod cells;
mod error;
pub mod gopher;
mod hll;
mod moments;
mod ngram;
mod profile;
mod quantile;
mod report;
mod table;
mod topk;
mod unigram;
mod vocab;

pub use categorical::{CategoryCounts, CategoryReport};
pub use error::Error;
pub use gopher::{GopherMetricReport, GopherMetrics, GopherParts, GopherReport, GopherState};
pub use hll::{DEFAULT_HLL_PRECISION, HyperLogLog};
pub use moments::{Moments, MomentsSummary};
pub use ngram::MAX_N;
pub use profile::{
    DEFAULT_MAX_N, DEFAULT_MEMORY_BUDGET, DEFAULT_TOP_K, FieldInput, Names, PreparedSample,
    ProfileConfig, ProfileState, PromptDupCounts, SampleInput, TEMPLATES_REPORTED,
};
pub use quantile::{DEFAULT_EXACT_LIMIT, DEFAULT_RELATIVE_ERROR, Quantiles};
pub use report::{
    CompareReport, Distribution, DuplicationReport, HistogramBin, Lengths, NgramCount, NgramDelta,
    NgramFigures, ProfileComparison, ProfileReport, ProfileSettings, PromptDupReport, RankCount,
    ScopeReport, TemplateCount, UnigramFigures,
};
pub use topk::{DEFAULT_SKETCH_CAPACITY, HeavyHitter, SpaceSaving};
pub use unigram::{TAIL_MAX_COUNT, ZIPF_FIRST_RANK, ZIPF_LAST_RANK, unigram_figures};
pub use vocab::{TokenSeq, TokenSpace};
