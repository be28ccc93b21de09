//! `regime dedup exact|near`.

use clap::{Args, Subcommand, ValueEnum};

use super::number::{at_least, open_unit};
use super::{InputArgs, OutputArgs};

/// Remove duplicate rows from a corpus (condition A's de-duplication).
#[derive(Debug, Args)]
pub(crate) struct DedupArgs {
    /// Exact or near duplicates.
    #[command(subcommand)]
    pub(crate) command: DedupCommand,
}

/// The two de-duplication methods.
#[derive(Debug, Subcommand)]
pub(crate) enum DedupCommand {
    /// Exact duplicates: rows whose chosen fields, normalised (NFC,
    /// whitespace runs to one space, trimmed), have the same xxh3-128.
    Exact(DedupExactArgs),
    /// Near duplicates: MinHash LSH over shingles of the normalised chosen
    /// fields, candidates verified by exact Jaccard against the cluster
    /// representative.
    Near(DedupNearArgs),
}

/// Options of both methods.
#[derive(Debug, Args)]
pub(crate) struct DedupCommon {
    /// The corpus.
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Where to write.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    /// Roles whose fields form a row's content, comma-separated (e.g.
    /// `user` to de-duplicate on prompts only) [default: every text field].
    #[arg(
        long = "on",
        value_delimiter = ',',
        value_name = "ROLE,…",
        help_heading = "Dedup options"
    )]
    pub(crate) roles: Vec<RoleArg>,
    /// Fold case before hashing.
    #[arg(long, help_heading = "Dedup options")]
    pub(crate) case_fold: bool,
    /// Report clusters larger than this loudly.
    #[arg(
        long,
        default_value_t = 1000,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = at_least(0_usize),
        help_heading = "Dedup options"
    )]
    pub(crate) max_cluster: usize,
    /// Keep, in each cluster, the row with the highest value of this numeric
    /// column (null and NaN lowest; ties to the lowest row id) instead of
    /// the first row. Costs one more pass over the corpus.
    #[arg(long, value_name = "COL", help_heading = "Dedup options")]
    pub(crate) priority: Option<String>,
}

/// Options of `regime dedup exact`.
#[derive(Debug, Args)]
pub(crate) struct DedupExactArgs {
    /// Input, output and field options.
    #[command(flatten)]
    pub(crate) common: DedupCommon,
}

/// Options of `regime dedup near`.
#[derive(Debug, Args)]
pub(crate) struct DedupNearArgs {
    /// Input, output and field options.
    #[command(flatten)]
    pub(crate) common: DedupCommon,
    /// Shingles, bands and rows: `datatrove` (word 5-grams, 14 × 8,
    /// threshold ≈ 0.72) or `nemo` (char 24-grams, 20 × 13).
    #[arg(long, value_enum, default_value_t = PresetArg::Datatrove, help_heading = "Dedup options")]
    pub(crate) preset: PresetArg,
    /// Target Jaccard threshold: chooses bands × rows (112 hashes) whose
    /// S-curve midpoint is nearest, and verifies at this threshold.
    #[arg(
        long,
        value_name = "J",
        allow_negative_numbers = true,
        value_parser = open_unit,
        help_heading = "Dedup options"
    )]
    pub(crate) threshold: Option<f64>,
    /// Skip verification: every candidate component is a cluster.
    #[arg(long, help_heading = "Dedup options")]
    pub(crate) no_verify: bool,
    /// Seed of the MinHash functions.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = at_least(0_u64), help_heading = "Dedup options")]
    pub(crate) seed: u64,
    /// Signature phase only, for the I-th of N contiguous blocks of rows:
    /// writes the block's sorted band runs to `--out` for a later
    /// `--merge` (0-based I).
    #[arg(long, value_name = "I/N", value_parser = super::profile::parse_shard, allow_hyphen_values = true, conflicts_with_all = ["merge", "save_index", "against"], help_heading = "Scale options")]
    pub(crate) shard: Option<(u64, u64)>,
    /// Merge phase: take the band runs from these `--shard` outputs (every
    /// shard of one split, same corpus and settings) instead of computing
    /// signatures.
    #[arg(long, value_name = "DIR", num_args = 1.., help_heading = "Scale options")]
    pub(crate) merge: Vec<std::path::PathBuf>,
    /// Also write the kept rows as a near-duplicate index to DIR (band
    /// runs, shingle sets, row ids and ids), for `--against`.
    #[arg(long, value_name = "DIR", help_heading = "Scale options")]
    pub(crate) save_index: Option<std::path::PathBuf>,
    /// De-duplicate against an index saved by `--save-index`: rows that
    /// duplicate an index row are removed too (same settings required).
    #[arg(long, value_name = "DIR", help_heading = "Scale options")]
    pub(crate) against: Option<std::path::PathBuf>,
    /// Rows whose band keys are held in memory before a sorted run is
    /// written to disk (12 bytes × bands each; at least 1).
    #[arg(long, default_value_t = regime_dedup::DEFAULT_RUN_DOCS, value_name = "N", allow_negative_numbers = true, value_parser = at_least(1_usize), help_heading = "Scale options")]
    pub(crate) run_rows: usize,
}

/// Near-duplicate presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PresetArg {
    /// datatrove: word 5-grams, 14 bands × 8 rows.
    Datatrove,
    /// `NeMo` Curator: character 24-grams, 20 bands × 13 rows.
    Nemo,
}

/// Field roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// System prompts.
    System,
    /// User turns.
    User,
    /// Assistant turns.
    Assistant,
    /// Captions.
    Caption,
    /// OCR text.
    Ocr,
    /// Metadata.
    Metadata,
    /// Unknown roles.
    Other,
}
