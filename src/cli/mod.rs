//! Command-line definitions (clap derive only). Each subcommand's arguments
//! live in their own module; `commands/` turns them into library configs.
//!
//! Doc comments here are `--help` texts, written for a terminal: `<image>`
//! or `[2,6]` in them are text, not HTML or links.
#![allow(
    rustdoc::invalid_html_tags,
    rustdoc::broken_intra_doc_links,
    reason = "doc comments here are --help texts: `<image>` and `[2,6]` are text"
)]

mod audit;
mod condition;
mod dedup;
mod input;
mod inspect;
mod number;
mod profile;
mod prompt_dedup;
mod quickstart;
mod run;
mod schema;
mod spectral;
mod synth;

use clap::{Args, Parser, Subcommand};

pub(crate) use audit::{AuditFormat, AuditPromptsArgs};
pub(crate) use condition::{
    ConditionArgs, ConditionCArgs, ConditionCommand, ConditionDArgs, LangArg, LayoutArg,
    OnFailureArg, TeacherCacheArgs,
};
pub(crate) use dedup::{DedupArgs, DedupCommand, DedupNearArgs, PresetArg, RoleArg};
pub(crate) use input::{InputArgs, OutputArgs, ProfileArg};
pub(crate) use inspect::InspectArgs;
pub(crate) use profile::{MergeArgs, ProfileArgs, parse_shard};
pub(crate) use prompt_dedup::{DedupOptions, PromptDedupArgs};
pub(crate) use quickstart::QuickstartArgs;
pub(crate) use run::RunArgs;
pub(crate) use schema::{SchemaArgs, SchemaName};
pub(crate) use spectral::{EsdArg, SpectralArgs, SpectralCompareArgs, SpectralSelectArgs};
pub(crate) use synth::{SynthArgs, SynthCommand, SynthLayoutArg, SynthPromptDupArgs};

/// Data-regime curation: measure corpora, build controlled variants, audit
/// trained weights.
#[derive(Debug, Parser)]
#[command(name = "regime", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// Options shared by every subcommand.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// The subcommand to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options accepted by every subcommand.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug); progress as a log
    /// line every 10 s instead of bars.
    #[arg(global = true, short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Less output: no progress bars, no summaries, errors only.
    #[arg(global = true, short, long, action = clap::ArgAction::Count)]
    pub(crate) quiet: u8,
    /// Worker threads [default: available cores]. Outputs are the same at
    /// any count.
    #[arg(global = true, long, short = 'j', value_name = "N", env = "REGIME_THREADS",
          allow_negative_numbers = true, value_parser = number::at_least(1_usize))]
    pub(crate) threads: Option<usize>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show files, rows, schema, detected profile and field roles of a corpus.
    Inspect(InspectArgs),
    /// Coverage, diversity and n-gram frequency statistics of a corpus (or `--compare A B`).
    Profile(ProfileArgs),
    /// Finalise `regime profile --shard I/N` partial states into one report.
    Merge(MergeArgs),
    /// Build a controlled training-data condition (C: repetition-concentrated).
    Condition(ConditionArgs),
    /// Run every stage on the bundled sample corpus and print where the outputs are.
    Quickstart(QuickstartArgs),
    /// Run a pipeline recipe (TOML), skipping stages that are up to date.
    Run(RunArgs),
    /// Per-layer spectral diagnostics (α, erank, …) of a safetensors model, optionally against a base.
    Spectral(SpectralArgs),
    /// Compare spectral audits of several models or checkpoints (trajectories, trend labels).
    SpectralCompare(SpectralCompareArgs),
    /// Remove duplicate rows: exact, or near duplicates by verified MinHash LSH.
    Dedup(DedupArgs),
    /// Remove prompt segments duplicated across the fields of each sample.
    PromptDedup(PromptDedupArgs),
    /// Check prompt duplication against limits (CI gate: exit 1 over a limit).
    AuditPrompts(AuditPromptsArgs),
    /// Generate corpora with known properties (planted prompt duplication).
    Synth(SynthArgs),
    /// Export a condition d teacher cache (requests, answers, usage) to parquet.
    TeacherCache(TeacherCacheArgs),
    /// Print the JSON Schema of a report, manifest, run record or recipe.
    Schema(SchemaArgs),
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use clap::error::ErrorKind;
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// Every option taking a number hands `-1` to its parser, which names
    /// the option and what it allows, instead of clap reading `-1` as an
    /// unknown flag ("unexpected argument '-1' found").
    #[test]
    fn numeric_options_answer_a_negative_value_with_their_range() {
        fn walk(cmd: &clap::Command, path: &[&str], checked: &mut usize) {
            let whole = [
                TypeId::of::<u8>(),
                TypeId::of::<u16>(),
                TypeId::of::<u32>(),
                TypeId::of::<u64>(),
                TypeId::of::<usize>(),
                TypeId::of::<i32>(),
                TypeId::of::<i64>(),
                TypeId::of::<(u64, u64)>(),
            ];
            for arg in cmd.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if !arg.get_action().takes_values() {
                    continue;
                }
                let id = arg.get_value_parser().type_id();
                let is_whole = whole.iter().any(|t| id == *t);
                if !is_whole && id != TypeId::of::<f64>() {
                    continue;
                }
                let flag = format!("--{long}");
                let mut argv = path.to_vec();
                argv.extend([flag.as_str(), "-1"]);
                let err = Cli::try_parse_from(&argv).expect_err(&flag);
                assert_ne!(err.kind(), ErrorKind::UnknownArgument, "{argv:?}: {err}");
                if is_whole {
                    assert_eq!(err.kind(), ErrorKind::ValueValidation, "{argv:?}: {err}");
                    let text = err.to_string();
                    assert!(text.contains(&flag), "{argv:?}: {text}");
                    assert!(!text.contains("invalid digit"), "{argv:?}: {text}");
                }
                *checked += 1;
            }
            for sub in cmd.get_subcommands() {
                let mut path = path.to_vec();
                path.push(sub.get_name());
                walk(sub, &path, checked);
            }
        }
        let mut checked = 0;
        walk(&Cli::command(), &["regime"], &mut checked);
        assert!(checked >= 40, "only {checked} numeric options found");
    }
}
