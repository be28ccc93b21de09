//! The Arrow side of prompt-segment de-duplication: runs [`PromptDedup`] on
//! every row of a [`CorpusBatch`] and rebuilds only the text arrays that
//! changed. Every other column — ids, images, categorical columns — is the
//! same `Arc`'d array, so it is written byte for byte; a conversation column
//! keeps its list offsets, validity and every struct child except the text
//! one (`from` / `role` included), and the text child changes only at the
//! edited turns.
//!
//! Rows are processed in fixed chunks of [`CHUNK_ROWS`] with rayon and
//! merged in order, so outputs and figures are identical at any thread
//! count.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use regime_corpus::{
    BatchText, CorpusBatch, EditTarget, FieldMap, TextEdit, TextField, apply_text_edits,
};

use crate::audit::PromptAudit;
use crate::error::{Error, Result};
use crate::prompt_segments::{PromptDedup, PromptField, SampleDedup};

/// Name of the provenance column: `list<string>` of the removed copies.
pub const PROVENANCE_COLUMN: &str = "regime_removed";

/// Rows per unit of parallel work (fixed, so results never depend on the
/// thread count).
pub const CHUNK_ROWS: usize = 512;

/// How a rewritten batch is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RewriteOptions {
    /// Append [`PROVENANCE_COLUMN`].
    pub provenance: bool,
    /// Write an emptied field as null instead of `""` (when its column or
    /// struct field is nullable).
    pub empty_as_null: bool,
}

/// The output schema: the input's, plus [`PROVENANCE_COLUMN`] when asked.
///
/// # Errors
/// [`Error::Config`] when the input already has a `regime_removed` column.
pub fn output_schema(input: &Schema, provenance: bool) -> Result<SchemaRef> {
    if !provenance {
        return Ok(Arc::new(input.clone()));
    }
    if input.field_with_name(PROVENANCE_COLUMN).is_ok() {
        return Err(Error::Config {
            what: "provenance",
            reason: format!("the input already has a `{PROVENANCE_COLUMN}` column"),
        });
    }
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(provenance_field());
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        input.metadata().clone(),
    )))
}

fn provenance_field() -> Field {
    Field::new(
        PROVENANCE_COLUMN,
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        false,
    )
}

/// The figures [`dedup_batch`] adds each batch's rows to.
#[derive(Debug, Clone)]
pub struct DedupFigures {
    /// Figures of the input rows.
    pub before: PromptAudit,
    /// Figures of the output rows.
    pub after: PromptAudit,
    /// Text fields changed.
    pub fields_changed: u64,
}

impl DedupFigures {
    /// No rows yet; both audits with `audit`'s settings.
    #[must_use]
    pub fn new(audit: &PromptAudit) -> Self {
        Self {
            before: audit.empty_like(),
            after: audit.empty_like(),
            fields_changed: 0,
        }
    }
}

/// One edit: `(row, where, new text or null)`.
type Edit = (usize, EditTarget, Option<String>);

struct ChunkOut {
    before: PromptAudit,
    after: PromptAudit,
    edits: Vec<Edit>,
    removed: Vec<Vec<String>>,
}

/// The column whose values name samples in the report's worst samples.
const ID_COLUMN: &str = "id";

/// The columns [`dedup_batch`] and [`audit_batch`] read from a corpus of
/// `schema`: `map`'s text columns, and `id` when there is one.
#[must_use]
pub fn read_columns(map: &FieldMap, schema: &Schema) -> Vec<String> {
    let mut columns = map.text_columns();
    if schema.field_with_name(ID_COLUMN).is_ok() {
        columns.push(ID_COLUMN.to_owned());
    }
    columns
}

/// The values of the batch's `id` column as text, if it has one.
fn ids(batch: &RecordBatch) -> Option<ArrayRef> {
    let column = batch.column_by_name(ID_COLUMN)?;
    arrow::compute::cast(column, &DataType::Utf8).ok()
}

fn id_at(ids: Option<&ArrayRef>, row: usize) -> Option<&str> {
    let ids = ids?.as_string_opt::<i32>()?;
    ids.is_valid(row).then(|| ids.value(row))
}

fn to_prompt<'a>(fields: &[TextField<'a>], out: &mut Vec<PromptField<'a>>) {
    out.clear();
    out.extend(fields.iter().map(PromptField::from));
}

/// De-duplicates every row of `batch` and rebuilds its text columns
/// (every other column is passed through); adds the rows' chunks to
/// `figures` in row order, as [`audit_batch`] does. Returns the rewritten
/// batch, in the output schema.
///
/// # Errors
/// [`Error::Corpus`] when a mapped column is missing or mistyped;
/// [`Error::Arrow`] naming a column that could not be rebuilt.
pub fn dedup_batch(
    dedup: &PromptDedup,
    map: &FieldMap,
    batch: &CorpusBatch,
    options: RewriteOptions,
    figures: &mut DedupFigures,
) -> Result<RecordBatch> {
    let text = BatchText::try_new(map, &batch.batch)?;
    let ids = ids(&batch.batch);
    let rows = batch.num_rows();
    let settings = &figures.before;
    let chunks: Vec<ChunkOut> = (0..rows.div_ceil(CHUNK_ROWS))
        .into_par_iter()
        .map(|chunk| {
            let mut out = ChunkOut {
                before: settings.empty_like(),
                after: settings.empty_like(),
                edits: Vec::new(),
                removed: Vec::new(),
            };
            let mut fields = Vec::new();
            let mut prompt = Vec::new();
            let mut sample = SampleDedup::default();
            for row in chunk * CHUNK_ROWS..rows.min((chunk + 1) * CHUNK_ROWS) {
                text.fields_into(row, &mut fields);
                to_prompt(&fields, &mut prompt);
                dedup.run(&prompt, &mut sample);
                let row_id = batch.row_id(row).as_u64();
                let id = id_at(ids.as_ref(), row);
                out.before.add(row_id, id, &sample);
                // The algorithm is idempotent, so the output's figures come
                // from this run (a second run would find the same).
                out.after.add_output(&sample);
                for e in &mut sample.edits {
                    let target = EditTarget::of(map, fields[e.field].source)
                        .unwrap_or(EditTarget::Column(0));
                    let value = if options.empty_as_null && e.text.is_empty() {
                        None
                    } else {
                        Some(std::mem::take(&mut e.text))
                    };
                    out.edits.push((row, target, value));
                }
                if options.provenance {
                    out.removed.push(std::mem::take(&mut sample.removed));
                }
            }
            out
        })
        .collect();
    let mut edits = Vec::new();
    let mut removed = Vec::with_capacity(if options.provenance { rows } else { 0 });
    let mut before = Vec::with_capacity(chunks.len());
    let mut after = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        before.push(chunk.before);
        after.push(chunk.after);
        edits.extend(chunk.edits);
        removed.extend(chunk.removed);
    }
    figures.before.merge_all(before);
    figures.after.merge_all(after);
    figures.fields_changed += edits.len() as u64;
    rebuild(map, &batch.batch, &edits, options, &removed)
}

/// Runs the audit over `batch`'s rows (all of them, or only `rows`,
/// ascending), reading only the mapped text columns and `id`, and adds
/// them to `total`: each chunk's audit, in row order, with
/// [`PromptAudit::merge_all`] (each template reaches the run's table from
/// its chunk's, with no table per batch between, on one task per template
/// table).
///
/// # Errors
/// [`Error::Corpus`] when a mapped column is missing or mistyped.
pub fn audit_batch(
    dedup: &PromptDedup,
    map: &FieldMap,
    batch: &CorpusBatch,
    rows: Option<&[usize]>,
    total: &mut PromptAudit,
) -> Result<()> {
    let text = BatchText::try_new(map, &batch.batch)?;
    let ids = ids(&batch.batch);
    let all: Vec<usize>;
    let rows = if let Some(rows) = rows {
        rows
    } else {
        all = (0..batch.num_rows()).collect();
        &all
    };
    let settings = &*total;
    let parts: Vec<PromptAudit> = rows
        .par_chunks(CHUNK_ROWS)
        .map(|chunk| {
            let mut part = settings.empty_like();
            let mut fields = Vec::new();
            let mut prompt = Vec::new();
            let mut sample = SampleDedup::default();
            for &row in chunk {
                text.fields_into(row, &mut fields);
                to_prompt(&fields, &mut prompt);
                dedup.run(&prompt, &mut sample);
                part.add(
                    batch.row_id(row).as_u64(),
                    id_at(ids.as_ref(), row),
                    &sample,
                );
            }
            part
        })
        .collect();
    total.merge_all(parts);
    Ok(())
}

fn rebuild(
    map: &FieldMap,
    batch: &RecordBatch,
    edits: &[Edit],
    options: RewriteOptions,
    removed: &[Vec<String>],
) -> Result<RecordBatch> {
    let schema = output_schema(&batch.schema(), options.provenance)?;
    let edits: Vec<TextEdit<'_>> = edits
        .iter()
        .map(|(row, target, text)| TextEdit {
            row: *row,
            target: *target,
            text: text.as_deref(),
        })
        .collect();
    let mut columns = apply_text_edits(map, batch, &edits)?;
    if options.provenance {
        let mut builder = ListBuilder::new(StringBuilder::new());
        for row in 0..batch.num_rows() {
            for copy in removed.get(row).into_iter().flatten() {
                builder.values().append_value(copy);
            }
            builder.append(true);
        }
        columns.push(Arc::new(builder.finish()));
    }
    RecordBatch::try_new(schema, columns).map_err(|source| Error::Arrow {
        column: "(batch)".into(),
        source,
    })
}
