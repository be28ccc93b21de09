//! `regime schema`: the JSON Schema of each file regime writes or reads,
//! generated from the types it serialises.

use std::io::Write as _;

use clap::ValueEnum as _;
use schemars::Schema;

use super::Outcome;
use crate::cli::{GlobalArgs, SchemaArgs, SchemaName};

/// Prints the schema named, or the list of names and what they describe.
pub(crate) fn run(args: &SchemaArgs, _global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let mut stdout = std::io::stdout().lock();
    match args.name {
        Some(name) => print(&mut stdout, name)?,
        None => {
            for name in SchemaName::value_variants() {
                if let Some(value) = name.to_possible_value() {
                    let what = value
                        .get_help()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    writeln!(stdout, "{:<22} {what}", value.get_name())?;
                }
            }
        }
    }
    Ok(Outcome::Success)
}

/// Writes the schema `name` as pretty JSON and a newline (the text of
/// `schemas/NAME.schema.json`).
pub(crate) fn print(out: &mut impl std::io::Write, name: SchemaName) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &schema(name))?;
    writeln!(out)?;
    Ok(())
}

/// The schema `name`; written through [`Schema`]'s own serialiser, which
/// puts `$schema`, `title` and `description` first and `$defs` last.
fn schema(name: SchemaName) -> Schema {
    use schemars::schema_for;
    match name {
        SchemaName::Recipe => super::run::recipe_schema(),
        SchemaName::RunRecord => schema_for!(super::run::RunRecord),
        SchemaName::Manifest => schema_for!(regime_corpus::Manifest),
        SchemaName::ProfileReport => schema_for!(regime_stats::ProfileReport),
        SchemaName::ProfileCompare => schema_for!(regime_stats::ProfileComparison),
        SchemaName::DedupReport => schema_for!(regime_dedup::DedupReport),
        SchemaName::PromptDedupReport => schema_for!(regime_dedup::PromptDedupReport),
        SchemaName::AuditPromptsReport => schema_for!(regime_dedup::AuditReport),
        SchemaName::ConditionCReport => schema_for!(regime_conditions::RepeatReport),
        SchemaName::ConditionDReport => schema_for!(super::condition_d::Report<'static>),
        SchemaName::SpectralSummary => schema_for!(regime_spectral::SummaryFile),
        SchemaName::SpectralCompare => schema_for!(regime_spectral::CompareFile),
    }
}
