//! `regime schema`.

use clap::{Args, ValueEnum};

/// Print the JSON Schema of a file regime writes or reads.
///
/// The schemas are generated from the types this binary serialises, so
/// they describe exactly the version you run (`schemas/NAME.schema.json` in
/// the repository holds the same text). Without NAME, list the names and
/// the files they describe.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which schema.
    #[arg(value_name = "NAME")]
    pub(crate) name: Option<SchemaName>,
}

/// The files with a JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemaName {
    /// `regime run` recipes (TOML).
    Recipe,
    /// `OUT/run.json` of `regime run`.
    RunRecord,
    /// `manifest.json` of every output directory.
    Manifest,
    /// `report.json` of `regime profile`.
    ProfileReport,
    /// `report.json` of `regime profile --compare`.
    ProfileCompare,
    /// `report.json` of `regime dedup exact|near`.
    DedupReport,
    /// `report.json` of `regime prompt-dedup`.
    PromptDedupReport,
    /// `regime audit-prompts --format json`.
    AuditPromptsReport,
    /// `report.json` of `regime condition c`.
    ConditionCReport,
    /// `report.json` of `regime condition d`.
    ConditionDReport,
    /// `summary.json` of `regime spectral`.
    SpectralSummary,
    /// `compare.json` of `regime spectral-compare`.
    SpectralCompare,
}
