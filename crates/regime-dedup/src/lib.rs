//! De-duplication for regime: corpus de-duplication (exact, and near
//! duplicates by verified MinHash LSH — condition A), within-sample
//! prompt-segment de-duplication (the paper's prompt-repetition
//! intervention), the prompt-duplication audit behind `regime audit-prompts`,
//! and a generator of multimodal corpora with planted duplication and its
//! ground truth.
//!
//! The algorithm ([`PromptDedup`]) is pure: it takes one sample's
//! role-tagged text fields and returns the edited fields, the removed copies
//! and the sample's figures; it knows nothing of Arrow or files. The
//! [`dedup_batch`] and [`PromptAudit`] layers apply it to
//! `RecordBatch`es from `regime-corpus`, changing only the text columns a
//! [`regime_corpus::FieldMap`] names. The CLI, progress and output
//! directories belong to the binary.
//!
//! # Overview
//! - [`PromptDedup`] (built by [`PromptDedupBuilder`]) runs on
//!   [`PromptField`]s and fills a reusable [`SampleDedup`]: [`FieldEdit`]s,
//!   removed copies and [`SampleCounts`].
//! - [`PromptAudit`] accumulates samples into a [`PromptReport`]: the three
//!   rates, `repeated_turns`, cross-sample templates and the worst samples;
//!   [`wilson_interval`] and [`PromptAudit::intervals`] give 95% intervals
//!   of sampled rates.
//! - [`PromptDedupReport`] and [`AuditReport`] (with [`Limits`] and
//!   [`Check`]s) are the two JSON reports; [`sample_rows`] draws the seeded
//!   row sample.
//! - [`dedup_batch`] rewrites a batch's text columns; [`audit_batch`] runs
//!   the audit over a batch without building anything.
//! - [`synth_prompt_dup`] builds a corpus with planted duplication from a
//!   LLaVA corpus, with a ground-truth column.
//! - Corpus de-duplication: [`near_signatures`] (pass 1: MinHash band keys
//!   into sorted on-disk runs, [`RunWriter`], per `--shard`),
//!   [`candidates_from_runs`] (merge phase: k-way merge of the runs,
//!   [`band_links_from_runs`], union-find [`components`]) and
//!   [`deduplicate`] (pass 2: verification against cluster representatives,
//!   kept rows, [`ClusterMember`]s and a [`DedupReport`] with the S-curve);
//!   [`DedupConfig`] / [`NearConfig`] choose fields, shingles and banding;
//!   [`IndexWriter`] / [`NearIndex`] save the kept rows as an index and
//!   de-duplicate a new corpus against it. [`ExactContent`] is the content
//!   exact de-duplication keys rows by, which `regime profile` counts its
//!   exact duplicates with too.
//!
//! # Example
//! ```
//! use regime_corpus::Role;
//! use regime_dedup::{PromptAudit, PromptDedup, PromptField, SampleDedup};
//!
//! let dedup = PromptDedup::builder().with_min_chars(16).build()?;
//! let mut out = SampleDedup::default();
//! let mut audit = PromptAudit::new();
//! let samples = [
//!     ["<image>\nWhat is the blue shape?", "You answer questions. What is the blue shape?"],
//!     ["<image>\nIs there a red circle?", "You answer questions."],
//! ];
//! for (row, [user, system]) in samples.iter().enumerate() {
//!     let fields = [
//!         PromptField::new(Role::User, user),
//!         PromptField::new(Role::System, system),
//!     ];
//!     dedup.run(&fields, &mut out);
//!     audit.add(row as u64, None, &out);
//! }
//! let report = audit.report();
//! assert_eq!(report.sample_dup_rate, 0.5);
//! assert_eq!(report.templates[0].segment, "You answer questions.");
//! # Ok::<(), regime_dedup::Error>(())
//! ```

mod audit;
mod band_runs;
mod corpus_dedup;
mod dedup_index;
mod error;
mod exact_content;
mod near_clusters;
mod normal;
mod prompt_segments;
mod report;
mod rewrite;
mod synth;
mod tidy;

pub use audit::{
    Counts, DEFAULT_TEMPLATE_CAPACITY, DEFAULT_TOP_TEMPLATES, DEFAULT_WORST, Intervals,
    PromptAudit, PromptReport, Template, WorstSample, Z95, wilson_interval,
};

pub use band_runs::{
    DEFAULT_RUN_DOCS, ENTRY_BYTES, RunFile, RunWriter, Segment, band_links_from_runs,
    links_from_runs, merge_band,
};
pub use corpus_dedup::{
    Candidates, ClusterMember, ClusterSize, DedupConfig, DedupReport, NearConfig, NearPlan,
    PriorityDecisions, SCurvePoint, Settings, Shingles, candidate_probability,
    candidates_from_runs, check_priority_column, clusters_batch, deduplicate, has_id_column,
    near_signatures, priority_decisions, shard_rows, size_histogram, threshold,
};
pub use dedup_index::{INDEX_FILE, IndexWriter, NearIndex};
pub use error::{Error, Result};
pub use exact_content::ExactContent;
pub use near_clusters::{Representatives, UnionFind, band_links, components};
pub use prompt_segments::{
    DEFAULT_CASE_FOLD, DEFAULT_MIN_CHARS, DEFAULT_PRIORITY, FieldEdit, PromptDedup,
    PromptDedupBuilder, PromptField, SampleCounts, SampleDedup,
};
/// Re-exported: the protected-token set [`PromptDedupBuilder::with_protected`] takes.
pub use regime_text::ProtectedTokens;
pub use report::{AuditReport, Check, Limits, PromptDedupReport, SampleInfo, sample_rows};
pub use rewrite::{
    CHUNK_ROWS, DedupFigures, PROVENANCE_COLUMN, RewriteOptions, audit_batch, dedup_batch,
    output_schema, read_columns,
};
pub use synth::{
    COLUMNS_FIELDS_TOML, DEFAULT_SYNTH_BATCH_ROWS, SynthConfig, SynthLayout, SynthSummary,
    TRUTH_COLUMN, synth_prompt_dup,
};
