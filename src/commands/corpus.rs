//! Shared steps of the corpus commands: opening the inputs with their field
//! map, writer options and run manifests.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use regime_corpus::{
    CorpusReaderBuilder, FieldMap, InputRecord, Manifest, OutputDir, Profile, ReadOptions,
    WriterOptions, hash_inputs, resolve_inputs,
};

use crate::cli::{GlobalArgs, InputArgs, OutputArgs, ProfileArg};
use crate::progress;

/// An opened corpus: its files and schema, and the roles of its text.
pub(crate) struct Corpus {
    pub(crate) builder: CorpusReaderBuilder,
    pub(crate) map: FieldMap,
}

impl Corpus {
    /// The corpus's rows; an error naming its files when it has none, for
    /// a command with nothing to report of an empty corpus (`what`: "audit",
    /// "profile").
    pub(crate) fn rows_to(&self, what: &str) -> anyhow::Result<u64> {
        let rows = self.builder.total_rows()?;
        if rows == 0 {
            let names: Vec<String> = self
                .paths()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            anyhow::bail!("{}: no rows to {what}", names.join(", "));
        }
        Ok(rows)
    }

    /// Refuses, before any work, a corpus with a column parquet cannot
    /// hold (a union), for a command that writes one; the error names the
    /// first input (all share the column).
    pub(crate) fn check_writable(&self) -> anyhow::Result<()> {
        match regime_corpus::unwritable_column(self.builder.schema()) {
            None => Ok(()),
            Some((column, reason)) => {
                let first = self.paths().first().cloned().unwrap_or_default();
                anyhow::bail!(
                    "{}: column `{column}` cannot be written as parquet: {reason}",
                    first.display()
                )
            }
        }
    }

    /// The input files, in shard order.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.builder
            .files()
            .iter()
            .map(|f| f.path.clone())
            .collect()
    }
}

/// Prepares the output directory `out` of a run reading `inputs` (as
/// given on the command line, other directories it reads included),
/// before any input is read: refuses an output
/// that is, holds or lies inside an input (the files a glob or directory
/// resolves to included), since `--overwrite` would delete it or a rerun
/// would read the output back; then the usual emptiness check.
pub(crate) fn prepare_out(
    out: &Path,
    overwrite: bool,
    inputs: &[PathBuf],
) -> anyhow::Result<OutputDir> {
    let mut paths = inputs.to_vec();
    // An input that does not resolve (or is a directory of another kind,
    // such as a near-dedup index) is checked as given; a corpus input
    // that fails to resolve fails with its own error when read.
    for input in inputs {
        if let Ok(files) = resolve_inputs(std::slice::from_ref(input)) {
            paths.extend(files.into_iter().map(|f| f.path));
        }
    }
    Ok(OutputDir::prepare(out, overwrite, &paths)?)
}

/// Warns about each `--json-text` field that is one of the text fields
/// the layout reads: its strings keep their JSON quotes there, which every
/// figure and edit would then see.
fn warn_json_text_in_text_fields(json_text: &[String], map: &FieldMap) {
    let mut text_fields: Vec<String> = map.columns.iter().map(|(c, _)| c.clone()).collect();
    if let Some(conv) = &map.conversation {
        text_fields.push(format!("{}.{}", conv.column, conv.text_key));
        if let Some(part) = &conv.part_text_key {
            text_fields.push(format!("{}.{}.{part}", conv.column, conv.text_key));
        }
    }
    for field in json_text {
        let plain = field.replace("[]", "");
        if text_fields.contains(&plain) {
            tracing::warn!(
                "--json-text {field}: a text field of this layout; its strings are read with their JSON quotes"
            );
        }
    }
}

/// A detected layout without a conversation reads only the columns named
/// like a role (`system`, `caption`, …): names the other string columns,
/// or a gate would pass on a `prompt` column it never read.
fn warn_unread_text_columns(schema: &arrow::datatypes::Schema, map: &FieldMap) {
    if !map.detected || map.conversation.is_some() {
        return;
    }
    let unread: Vec<&str> = schema
        .fields()
        .iter()
        .filter(|f| regime_corpus::is_string(f.data_type()))
        .filter(|f| !map.columns.iter().any(|(c, _)| c == f.name()))
        .map(|f| f.name().as_str())
        .collect();
    if !unread.is_empty() {
        tracing::warn!(
            "string columns the detected layout does not read: {} (to read them, name every text column and its role with --fields FILE)",
            unread.join(", ")
        );
    }
}

/// Resolves the inputs, opens every file and builds the field map,
/// printing it when it was detected.
pub(crate) fn open(input: &InputArgs, global: &GlobalArgs) -> anyhow::Result<Corpus> {
    let files = resolve_inputs(&input.inputs)?;
    let options = ReadOptions::default()
        .with_json_text(input.json_text.clone())
        .with_infer_records(input.infer_records.0);
    let builder = CorpusReaderBuilder::try_new_with(files, &options)?;
    let first = builder
        .files()
        .first()
        .map(|f| f.path.clone())
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let in_file = || first.display().to_string();
    let map = match (input.profile, &input.fields) {
        (None, None) => match FieldMap::detect(&schema, &first) {
            // This one names the file itself.
            Err(err @ regime_corpus::Error::NoTextColumns { .. }) => return Err(err.into()),
            other => other.with_context(in_file)?,
        },
        // `--fields` alone means the columns layout.
        (None | Some(ProfileArg::Columns), Some(fields)) => {
            match FieldMap::from_toml(fields, &schema) {
                // These name the TOML file, not the corpus.
                Err(
                    err @ (regime_corpus::Error::FieldMapFile { .. }
                    | regime_corpus::Error::Io { .. }),
                ) => return Err(err.into()),
                other => other.with_context(in_file)?,
            }
        }
        (Some(ProfileArg::Columns), None) => {
            anyhow::bail!("--profile columns needs --fields FILE naming the text columns")
        }
        (Some(profile), Some(_)) => anyhow::bail!(
            "--fields maps the columns of --profile columns; it does not apply to --profile {}",
            clap::ValueEnum::to_possible_value(&profile)
                .map_or_else(String::new, |v| v.get_name().to_owned())
        ),
        (Some(profile), None) => {
            let profile = match profile {
                ProfileArg::Sharegpt => Profile::Sharegpt,
                ProfileArg::Messages => Profile::Messages,
                _ => Profile::Llava,
            };
            FieldMap::for_profile(profile, &schema).with_context(in_file)?
        }
    };
    warn_json_text_in_text_fields(&input.json_text, &map);
    // A role-named column left out for its type is said even when the
    // layout was named: else a gate would pass on text it never read.
    if map.detected || !map.unmapped.is_empty() {
        progress::summary(global, &format!("profile: {}", map.describe()));
    }
    warn_unread_text_columns(&schema, &map);
    Ok(Corpus { builder, map })
}

/// Stages `value` as pretty JSON (with a final newline) under `name` in `out`.
pub(crate) fn write_json(
    out: &regime_corpus::OutputDir,
    name: &str,
    value: &impl serde::Serialize,
) -> anyhow::Result<()> {
    Ok(regime_corpus::write_json(&out.staged(name), value)?)
}

/// The parquet writer settings the output flags ask for.
pub(crate) fn writer_options(output: &OutputArgs) -> WriterOptions {
    WriterOptions {
        row_group_rows: output.row_group_rows.max(1),
        zstd_level: output.zstd_level,
        ..WriterOptions::default()
    }
}

/// Times a run and fills in its manifest.
pub(crate) struct RunClock {
    started: Instant,
    started_unix: u64,
}

impl RunClock {
    pub(crate) fn start() -> Self {
        Self {
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// A manifest of this run; `outputs` are filled in by the commit.
    pub(crate) fn manifest(
        &self,
        stage: &str,
        config: serde_json::Value,
        seed: Option<u64>,
        inputs: &[PathBuf],
        rows: (u64, u64),
    ) -> anyhow::Result<Manifest> {
        Ok(self.manifest_hashed(stage, config, seed, hash_inputs(inputs)?, rows))
    }

    /// [`Self::manifest`] with the inputs already hashed, for a stage that
    /// needs the hashes itself and should not read every file twice.
    pub(crate) fn manifest_hashed(
        &self,
        stage: &str,
        config: serde_json::Value,
        seed: Option<u64>,
        inputs: Vec<InputRecord>,
        rows: (u64, u64),
    ) -> Manifest {
        Manifest {
            tool: "regime".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            stage: stage.into(),
            command: std::env::args().collect(),
            config,
            seed,
            inputs,
            rows_in: rows.0,
            rows_out: rows.1,
            outputs: Vec::new(),
            started_unix: self.started_unix,
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
        }
    }
}
