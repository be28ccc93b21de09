//! Building condition C: one pass over the corpus that keeps the chosen D1
//! rows, emits the D1 phase from them as the [`RepeatPlan`] lays it out,
//! then streams D2 through unchanged.
//!
//! Memory: the chosen rows (≈ `fraction` of D1's bytes) plus the plan
//! (8 bytes per phase row); D2 is streamed batch by batch.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, UInt16Array, UInt64Array};
use arrow::compute::{interleave_record_batch, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use regime_corpus::{CorpusReader, PartWriter, RowId};

use crate::error::{Error, Result};
use crate::repeat_plan::{RepeatConfig, RepeatPlan};

/// Provenance column: the packed [`RowId`] of the source row.
pub const SOURCE_ROW_COLUMN: &str = "regime_source_row";
/// Provenance column: the copy number (0 for D2 rows and first copies).
pub const COPY_COLUMN: &str = "regime_copy";

/// Rows per batch handed to the writer for the D1 phase.
const PHASE_BATCH_ROWS: usize = 4096;

/// What a condition C run did, as written to `report.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct RepeatReport {
    /// The configuration used.
    pub config: RepeatConfig,
    /// Rows read.
    pub rows_in: u64,
    /// Rows written (always equal to `rows_in`).
    pub rows_out: u64,
    /// Rows in D1, and in the phase that replaces it.
    pub d1_rows: u64,
    /// Rows in D2, passed through unchanged.
    pub d2_rows: u64,
    /// Distinct D1 rows chosen (k = ⌈|D1| / repeat⌉).
    pub chosen_rows: u64,
    /// D1 rows discarded (|D1| − k).
    pub discarded_rows: u64,
    /// Fewest copies of any chosen row (below `repeat` only after trimming).
    pub min_copies: u64,
    /// Most copies of any chosen row.
    pub max_copies: u64,
    /// Share of phase rows that repeat an earlier copy: 1 − k / |D1|.
    pub phase_duplicate_share: f64,
    /// Share of all output rows that repeat an earlier copy.
    pub corpus_duplicate_share: f64,
}

/// The output schema: the input's columns, then the two provenance columns.
///
/// # Errors
/// [`Error::ReservedColumn`] when the input already has one of them.
pub fn repeat_output_schema(input: &Schema) -> Result<SchemaRef> {
    for name in [SOURCE_ROW_COLUMN, COPY_COLUMN] {
        if input.field_with_name(name).is_ok() {
            return Err(Error::ReservedColumn {
                column: name.to_owned(),
            });
        }
    }
    let mut fields: Vec<Arc<Field>> = input.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        SOURCE_ROW_COLUMN,
        DataType::UInt64,
        false,
    )));
    fields.push(Arc::new(Field::new(COPY_COLUMN, DataType::UInt16, false)));
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        input.metadata().clone(),
    )))
}

/// Builds condition C from `reader` (which must yield all `rows` rows in
/// input order) into `writer`, calling `progress` with the rows read so far.
///
/// # Errors
/// Corpus read/write errors, and [`Error::ShortInput`] when the input holds
/// fewer rows than planned.
pub fn build_repeat_condition(
    reader: CorpusReader,
    rows: u64,
    config: &RepeatConfig,
    writer: &mut PartWriter<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<RepeatReport> {
    let plan = RepeatPlan::new(rows, config)?;
    let schema = repeat_output_schema(reader.schema())?;
    let mut pool: Vec<RecordBatch> = Vec::new();
    // For chosen row j: (batch in pool, row in batch, its row id).
    let mut located: Vec<(usize, usize, RowId)> = Vec::with_capacity(plan.k());
    let mut next_chosen = 0usize;
    let mut global = 0u64;
    let mut phase_done = plan.d1_rows == 0;
    if phase_done {
        emit_phase(&plan, &pool, &located, &schema, writer)?;
    }
    for batch in reader {
        let batch = batch?;
        let len = batch.num_rows() as u64;
        let d1_end = plan.d1_rows.saturating_sub(global).min(len);
        if d1_end > 0 {
            let mut take = Vec::new();
            while let Some(&row) = plan.chosen.get(next_chosen) {
                if row >= global + d1_end {
                    break;
                }
                let local = usize::try_from(row - global).unwrap_or(usize::MAX);
                located.push((pool.len(), take.len(), batch.row_id(local)));
                take.push(u32::try_from(local).unwrap_or(u32::MAX));
                next_chosen += 1;
            }
            if !take.is_empty() {
                let indices = arrow::array::UInt32Array::from(take);
                pool.push(take_record_batch(&batch.batch, &indices)?);
            }
        }
        if !phase_done && global + len >= plan.d1_rows {
            emit_phase(&plan, &pool, &located, &schema, writer)?;
            pool.clear();
            phase_done = true;
        }
        if d1_end < len {
            let start = usize::try_from(d1_end).unwrap_or(usize::MAX);
            let d2 = batch.batch.slice(start, batch.num_rows() - start);
            let ids: Vec<u64> = (start..batch.num_rows())
                .map(|i| batch.row_id(i).as_u64())
                .collect();
            let copies = vec![0u16; ids.len()];
            writer.write(&with_provenance(&schema, &d2, ids, copies)?)?;
        }
        global += len;
        progress(global);
    }
    if global != rows || !phase_done {
        return Err(Error::ShortInput {
            read: global,
            expected: rows,
        });
    }
    Ok(report(&plan, config))
}

fn emit_phase(
    plan: &RepeatPlan,
    pool: &[RecordBatch],
    located: &[(usize, usize, RowId)],
    schema: &SchemaRef,
    writer: &mut PartWriter<'_>,
) -> Result<()> {
    let sources: Vec<&RecordBatch> = pool.iter().collect();
    for chunk in plan.phase.chunks(PHASE_BATCH_ROWS) {
        let mut indices = Vec::with_capacity(chunk.len());
        let mut ids = Vec::with_capacity(chunk.len());
        let mut copies = Vec::with_capacity(chunk.len());
        for &(j, copy) in chunk {
            let (b, r, id) = located[j as usize];
            indices.push((b, r));
            ids.push(id.as_u64());
            copies.push(copy);
        }
        let rows = interleave_record_batch(&sources, &indices)?;
        writer.write(&with_provenance(schema, &rows, ids, copies)?)?;
    }
    Ok(())
}

fn with_provenance(
    schema: &SchemaRef,
    rows: &RecordBatch,
    ids: Vec<u64>,
    copies: Vec<u16>,
) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from(ids)));
    columns.push(Arc::new(UInt16Array::from(copies)));
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[expect(
    clippy::cast_precision_loss,
    reason = "shares of row counts; exact below 2^53 rows"
)]
fn report(plan: &RepeatPlan, config: &RepeatConfig) -> RepeatReport {
    let mut counts = vec![0u64; plan.k()];
    for &(j, _) in &plan.phase {
        counts[j as usize] += 1;
    }
    let k = plan.k() as u64;
    let share = |num: u64, den: u64| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    let repeats = plan.d1_rows - k;
    RepeatReport {
        config: *config,
        rows_in: plan.rows,
        rows_out: plan.rows,
        d1_rows: plan.d1_rows,
        d2_rows: plan.rows - plan.d1_rows,
        chosen_rows: k,
        discarded_rows: plan.d1_rows - k,
        min_copies: counts.iter().copied().min().unwrap_or(0),
        max_copies: counts.iter().copied().max().unwrap_or(0),
        phase_duplicate_share: share(repeats, plan.d1_rows),
        corpus_duplicate_share: share(repeats, plan.rows),
    }
}
