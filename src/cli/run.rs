//! `regime run`.

use std::path::PathBuf;

use clap::Args;

/// Run a pipeline recipe (TOML): an input and an ordered list of stages,
/// each written as the subcommand it runs, with the same option names.
///
/// Every stage writes its own directory under --out with a manifest; the
/// next stage reads it. A rerun skips each stage whose manifest records the
/// same options, input content hashes and tool version, and runs the rest;
/// once one stage runs, every stage after it runs too. The whole recipe
/// (keys, values, inputs) is checked before any stage runs. OUT/run.html
/// links every stage's report with its key figures.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The recipe (see pipelines/ and schemas/recipe.schema.json).
    #[arg(value_name = "RECIPE", required_unless_present = "print_schema")]
    pub(crate) recipe: Option<PathBuf>,
    /// Output directory [default: the recipe's `out`, else out/NAME with
    /// NAME the recipe's file stem].
    #[arg(long, short, value_name = "DIR", help_heading = "Output options")]
    pub(crate) out: Option<PathBuf>,
    /// Print the plan (stages, inputs, outputs, what would be skipped) and
    /// run nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Run this stage and every stage after it, even if up to date.
    #[arg(long, value_name = "STAGE", conflicts_with = "only")]
    pub(crate) from: Option<String>,
    /// Run only this stage, even if up to date.
    #[arg(long, value_name = "STAGE")]
    pub(crate) only: Option<String>,
    /// Print the JSON Schema of recipes and exit.
    #[arg(long, conflicts_with_all = ["recipe", "dry_run", "from", "only"])]
    pub(crate) print_schema: bool,
}
