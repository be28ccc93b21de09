//! `regime inspect`: what a corpus holds and how regime reads it.

use std::collections::BTreeMap;
use std::io::Write;

use regime_corpus::{BatchText, FileFormat, MixedRead, Role, RoleCount, role_census};
use serde::Serialize;

use super::Outcome;
use super::corpus;
use crate::cli::{GlobalArgs, InspectArgs};
use crate::progress;

#[derive(Serialize)]
struct Inspection {
    files: Vec<FileEntry>,
    rows: u64,
    row_groups: usize,
    schema: Vec<ColumnEntry>,
    profile: ProfileEntry,
    roles: BTreeMap<Role, RoleCount>,
    sample: Option<SampleEntry>,
}

#[derive(Serialize)]
struct FileEntry {
    path: String,
    format: FileFormat,
    bytes: u64,
    rows: Option<u64>,
    row_groups: usize,
    /// JSON fields whose records disagree on their type, and how each is
    /// read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mixed_fields: Vec<MixedEntry>,
}

#[derive(Serialize)]
struct MixedEntry {
    path: String,
    #[serde(rename = "read_as")]
    read: MixedRead,
}

#[derive(Serialize)]
struct ColumnEntry {
    name: String,
    r#type: String,
    nullable: bool,
}

#[derive(Serialize)]
struct ProfileEntry {
    name: &'static str,
    detected: bool,
    mapping: String,
}

#[derive(Serialize)]
struct SampleEntry {
    row_id: u64,
    fields: Vec<SampleField>,
}

#[derive(Serialize)]
struct SampleField {
    role: Role,
    source: String,
    text: String,
}

pub(crate) fn run(args: &InspectArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    // The text report starts with the layout line: not said twice.
    let opening = GlobalArgs {
        quiet: if args.json { global.quiet } else { 1 },
        ..*global
    };
    let corpus = corpus::open(&args.input, &opening)?;
    let files: Vec<FileEntry> = corpus
        .builder
        .files()
        .iter()
        .map(|f| FileEntry {
            path: f.path.display().to_string(),
            format: f.format,
            bytes: f.bytes,
            rows: f.rows,
            row_groups: f.row_groups.len(),
            mixed_fields: f
                .mixed_fields()
                .into_iter()
                .map(|m| MixedEntry {
                    read: m.read,
                    path: m.path,
                })
                .collect(),
        })
        .collect();
    let rows = corpus.builder.total_rows()?;
    let schema = corpus.builder.schema().clone();
    let map = corpus.map;
    let reader = corpus.builder.with_columns(map.text_columns())?;
    let mut reader = reader.build();
    // The first batch gives the sample; the census reads everything.
    let first = reader.next().transpose()?;
    let sample = match &first {
        Some(batch) if batch.num_rows() > 0 => {
            let text = BatchText::try_new(&map, &batch.batch)?;
            Some(SampleEntry {
                row_id: batch.row_id(0).as_u64(),
                fields: text
                    .fields(0)
                    .into_iter()
                    .map(|f| SampleField {
                        role: f.role,
                        source: f.source.to_string(),
                        text: f.text.to_owned(),
                    })
                    .collect(),
            })
        }
        _ => None,
    };
    let bar = progress::bar(global, Some(rows), "inspect", "rows");
    let roles = role_census(
        first.clone().map(Ok).into_iter().chain(reader),
        &map,
        &mut |done| bar.set_position(done),
    )?;
    bar.finish_and_clear();
    let inspection = Inspection {
        row_groups: files.iter().map(|f| f.row_groups).sum(),
        files,
        rows,
        schema: schema
            .fields()
            .iter()
            .map(|f| ColumnEntry {
                name: f.name().clone(),
                r#type: f.data_type().to_string(),
                nullable: f.is_nullable(),
            })
            .collect(),
        profile: ProfileEntry {
            name: map.profile.as_str(),
            detected: map.detected,
            mapping: map.describe(),
        },
        roles,
        sample,
    };
    let mut stdout = super::run::stdout();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &inspection)?;
        writeln!(stdout)?;
    } else {
        render(&mut stdout, &inspection)?;
    }
    Ok(Outcome::Success)
}

fn render(out: &mut impl Write, i: &Inspection) -> std::io::Result<()> {
    writeln!(out, "files: {}", i.files.len())?;
    for f in &i.files {
        match f.rows {
            Some(rows) => writeln!(
                out,
                "  {}  {rows} rows, {} row groups, {} bytes",
                f.path, f.row_groups, f.bytes
            )?,
            // JSON and Arrow IPC files know their rows only once read (in
            // the total below).
            None => writeln!(out, "  {}  {} bytes, read as a stream", f.path, f.bytes)?,
        }
        for m in &f.mixed_fields {
            if m.read == MixedRead::JsonText {
                writeln!(out, "    JSON text: {}", m.path)?;
            } else {
                writeln!(out, "    mixed types: {} ({})", m.path, m.read)?;
            }
        }
    }
    writeln!(out, "rows: {}  row groups: {}", i.rows, i.row_groups)?;
    writeln!(out, "schema:")?;
    for c in &i.schema {
        let null = if c.nullable { "" } else { " not null" };
        writeln!(out, "  {}: {}{null}", c.name, c.r#type)?;
    }
    writeln!(out, "profile: {}", i.profile.mapping)?;
    writeln!(out, "roles:")?;
    for (role, c) in &i.roles {
        writeln!(
            out,
            "  {:<10} {:>10} fields {:>10} samples {:>14} chars",
            role.as_str(),
            c.fields,
            c.samples,
            c.chars
        )?;
    }
    if let Some(sample) = &i.sample {
        writeln!(out, "sample (row id {}):", sample.row_id)?;
        for f in &sample.fields {
            writeln!(
                out,
                "  [{}] {}: {}",
                f.role,
                f.source,
                shorten(&f.text, 160)
            )?;
        }
    }
    Ok(())
}

/// One line, at most `max` characters, for the terminal.
fn shorten(text: &str, max: usize) -> String {
    let flat = text.replace('\n', "\\n");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max).collect();
        cut.push('…');
        cut
    }
}
