//! `regime prompt-dedup` and the de-duplication options it shares with
//! `regime audit-prompts`.

use clap::Args;

use super::number::at_least;
use super::{InputArgs, OutputArgs};

/// Remove prompt segments duplicated across the fields of each sample.
///
/// Every prompt field (user turns, system, caption, OCR text, metadata) is
/// cut into segments at line breaks and sentence ends. The first occurrence
/// of a segment of at least --min-chars normalised characters, in --priority
/// order (user turns first), is canonical; every later copy, as a whole
/// segment or as a substring at word boundaries inside a later field, is
/// removed. Assistant turns, images, protected tokens (<image>, <|…|>) and
/// every non-text column are never changed; a user turn that only repeats an
/// earlier one is kept and counted as a repeated turn. Same schema, same
/// rows, same order; DIR/report.json holds the figures before and after.
#[derive(Debug, Args)]
pub(crate) struct PromptDedupArgs {
    /// The corpus.
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Where to write.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    /// What counts as a duplicate.
    #[command(flatten)]
    pub(crate) dedup: DedupOptions,
    /// Write a field emptied entirely as null instead of "" (when nullable).
    #[arg(long, help_heading = "Output options")]
    pub(crate) empty_as_null: bool,
    /// Add a `regime_removed: list<string>` column with each row's removed
    /// copies.
    #[arg(long, help_heading = "Output options")]
    pub(crate) provenance: bool,
    /// Re-encode every column (zstd at --zstd-level, row groups of at most
    /// --row-group-rows) instead of keeping parquet input's row groups and
    /// copying the column chunks prompt-dedup does not rewrite (every column
    /// but the text ones) byte for byte.
    #[arg(long, help_heading = "Output options")]
    pub(crate) reencode: bool,
}

/// Options shared by prompt-dedup and audit-prompts.
#[derive(Debug, Args)]
#[command(next_help_heading = "De-duplication options")]
pub(crate) struct DedupOptions {
    /// Roles whose fields hold canonical instances, first to last
    /// (comma-separated: user, system, caption, ocr, metadata, other).
    /// Fields of roles not listed are never read or changed.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "user,system,caption,ocr,metadata",
        env = "REGIME_PRIORITY",
        value_name = "ROLES"
    )]
    pub(crate) priority: Vec<String>,
    /// Minimum normalised characters of a canonical segment.
    #[arg(long, default_value_t = regime_dedup::DEFAULT_MIN_CHARS, value_name = "N", allow_negative_numbers = true, value_parser = at_least(1_usize))]
    pub(crate) min_chars: usize,
    /// Match case-insensitively.
    #[arg(long)]
    pub(crate) case_fold: bool,
    /// One more protected token, never split or removed (repeatable);
    /// <image>, <video> and <|…|> specials always are.
    #[arg(long = "protect", value_name = "TOKEN", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub(crate) protect: Vec<String>,
    /// Templates listed in the report.
    #[arg(long, default_value_t = regime_dedup::DEFAULT_TOP_TEMPLATES, value_name = "N", allow_negative_numbers = true, value_parser = at_least(0_usize))]
    pub(crate) top: usize,
    /// Worst samples listed in the report.
    #[arg(long, default_value_t = regime_dedup::DEFAULT_WORST, value_name = "N", allow_negative_numbers = true, value_parser = at_least(0_usize))]
    pub(crate) worst: usize,
}
