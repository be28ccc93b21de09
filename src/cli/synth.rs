//! `regime synth …`: generated corpora for testing pipelines.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::OutputArgs;
use super::number::at_least;

/// Generate corpora with known properties, for testing pipelines.
#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// What to generate.
    #[command(subcommand)]
    pub(crate) command: SynthCommand,
}

/// The generators.
#[derive(Debug, Subcommand)]
pub(crate) enum SynthCommand {
    /// Multimodal samples with planted prompt duplication and a ground-truth
    /// column (`regime_truth`).
    ///
    /// From a LLaVA corpus, every row gets `system`, `caption`, `ocr_text`
    /// and `metadata` (JSON) fields; exactly round(share · rows) rows, drawn
    /// with the seed, copy their first user question into 1–4 of them
    /// verbatim, as template fragments and as substrings of longer text.
    /// The columns layout also writes DIR/fields.toml for --fields.
    PromptDup(SynthPromptDupArgs),
}

/// Options of `regime synth prompt-dup`.
#[derive(Debug, Args)]
pub(crate) struct SynthPromptDupArgs {
    /// A LLaVA corpus (`conversations: [{from, value}]`, `id`, `image`):
    /// files, directories or globs.
    #[arg(required = true, value_name = "SOURCE")]
    pub(crate) source: Vec<PathBuf>,
    /// Where to write.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    /// Share of samples with planted duplication, in [0, 1].
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub(crate) share: f64,
    /// RNG seed.
    #[arg(long, default_value_t = 0, env = "REGIME_SEED", allow_negative_numbers = true, value_parser = at_least(0_u64))]
    pub(crate) seed: u64,
    /// Output layout.
    #[arg(long, value_enum, default_value_t = SynthLayoutArg::Llava)]
    pub(crate) layout: SynthLayoutArg,
    /// Rows to generate (at least 1), cycling the source [default: the
    /// source's rows].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least(1_u64))]
    pub(crate) rows: Option<u64>,
}

/// Generated layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SynthLayoutArg {
    /// `conversations: [{from, value}]` plus flat `system`, `caption`,
    /// `ocr_text`, `metadata`.
    Llava,
    /// `messages: [{role, content}]` (system first) plus flat `caption`,
    /// `ocr_text`, `metadata`.
    Messages,
    /// As `messages`, each content a list of parts `[{type, text}]` (the
    /// Hugging Face chat-template layout), the image a part of its own.
    Parts,
    /// Flat `prompt`, `response`, `system`, `caption`, `ocr_text`, `metadata`.
    Columns,
}
