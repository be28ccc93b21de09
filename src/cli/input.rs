//! Input and output options shared by the corpus subcommands.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::number::{CountOrAll, at_least, between, count_or_all};

/// Which corpus files to read and how to find their text.
#[derive(Debug, Args)]
#[command(next_help_heading = "Input options")]
pub(crate) struct InputArgs {
    /// Parquet, JSON Lines or JSON array (.jsonl, .ndjson, .json; plain,
    /// .gz or .zst) or Arrow IPC (.arrow, .arrows, .feather, .ipc) files,
    /// directories (read recursively) or glob patterns; read in the order
    /// given, each directory or glob in sorted path order.
    #[arg(required = true, value_name = "INPUT")]
    pub(crate) inputs: Vec<PathBuf>,
    /// Field layout; detected from the schema when not given (and printed).
    #[arg(long, value_enum, env = "REGIME_PROFILE")]
    pub(crate) profile: Option<ProfileArg>,
    /// TOML file mapping columns to roles (`column = "user"`), for
    /// `--profile columns`.
    #[arg(long, value_name = "FILE", required_if_eq("profile", "columns"))]
    pub(crate) fields: Option<PathBuf>,
    /// Read this JSON field as its JSON text (a string column of compact
    /// JSON: a string value keeps its quotes), whatever shape its records
    /// give it: e.g. `tools` of function-calling data, whose JSON Schemas
    /// fit no one column type. Keys joined by `.` (`messages.tool_calls`);
    /// repeatable, or comma-separated. Parquet and Arrow inputs must hold
    /// the field as text already.
    #[arg(long, value_name = "FIELD", value_delimiter = ',')]
    pub(crate) json_text: Vec<String>,
    /// Records of each JSON input the columns are inferred from, or `all`
    /// (each JSON input is then read twice). A record holding a field none
    /// of those held stops the run, naming it, rather than losing it.
    #[arg(
        long,
        value_name = "N|all",
        default_value = "10000",
        value_parser = count_or_all,
        allow_negative_numbers = true
    )]
    pub(crate) infer_records: CountOrAll,
}

/// The field layouts regime knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProfileArg {
    /// `conversations: [{from, value}]` (LLaVA).
    Llava,
    /// `conversations: [{from, value}]` (ShareGPT).
    Sharegpt,
    /// `messages: [{role, content}]`.
    Messages,
    /// Flat string columns named in the `--fields` TOML file.
    Columns,
}

/// Where and how to write outputs.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output options")]
pub(crate) struct OutputArgs {
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Replace the contents of a non-empty output directory.
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// Maximum rows per parquet row group (at least 1).
    #[arg(long, default_value_t = regime_corpus::DEFAULT_ROW_GROUP_ROWS, value_name = "N",
          allow_negative_numbers = true, value_parser = at_least(1_usize))]
    pub(crate) row_group_rows: usize,
    /// zstd compression level of the parquet outputs (1–22).
    #[arg(long, default_value_t = regime_corpus::DEFAULT_ZSTD_LEVEL, value_name = "LEVEL",
          allow_negative_numbers = true, value_parser = between(1_i32, 22))]
    pub(crate) zstd_level: i32,
}
