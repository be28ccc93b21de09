//! `regime prompt-dedup`: within-sample prompt-segment de-duplication.

use anyhow::Context;
use arrow::array::RecordBatch;
use regime_corpus::{
    CorpusReaderBuilder, FieldMap, OutputDir, OutputRecord, PartSplicer, PartWriter,
    RewrittenColumn, Role,
};
use regime_dedup::{
    DedupFigures, PROVENANCE_COLUMN, PromptAudit, PromptDedup, PromptDedupReport, ProtectedTokens,
    RewriteOptions, dedup_batch, output_schema, read_columns,
};

use super::Outcome;
use super::corpus::{self, RunClock};
use crate::cli::{DedupOptions, GlobalArgs, PromptDedupArgs};
use crate::progress;

/// The de-duplication the options ask for.
pub(crate) fn build(options: &DedupOptions) -> anyhow::Result<PromptDedup> {
    let mut priority = Vec::with_capacity(options.priority.len());
    for name in &options.priority {
        let role = Role::parse(name.trim()).with_context(|| {
            format!(
                "--priority: unknown role `{name}` (expected user, system, caption, ocr, metadata or other)"
            )
        })?;
        priority.push(role);
    }
    let protected = ProtectedTokens::default().with_tokens(options.protect.iter().cloned());
    Ok(PromptDedup::builder()
        .with_priority(priority)
        .with_min_chars(options.min_chars)
        .with_case_fold(options.case_fold)
        .with_protected(protected)
        .build()?)
}

/// The audit settings the options ask for.
pub(crate) fn audit(options: &DedupOptions) -> PromptAudit {
    PromptAudit::new()
        .with_top_templates(options.top)
        .with_worst(options.worst)
}

/// The run's configuration, for the manifest.
fn config(args: &PromptDedupArgs) -> serde_json::Value {
    serde_json::json!({
        "priority": args.dedup.priority,
        "min_chars": args.dedup.min_chars,
        "case_fold": args.dedup.case_fold,
        "protect": args.dedup.protect,
        "empty_as_null": args.empty_as_null,
        "provenance": args.provenance,
        "reencode": args.reencode,
    })
}

/// Where the rewritten rows go: parts that copy the untouched column chunks
/// of the input, or parts with every column encoded.
#[expect(
    clippy::large_enum_variant,
    reason = "one per run, never moved in a loop"
)]
enum Parts<'a> {
    Spliced(PartSplicer<'a>),
    Encoded(PartWriter<'a>),
}

impl Parts<'_> {
    /// Writes `output`, the rewritten rows `first_row..` of input `shard`
    /// (read as `read`: the columns it left as read are copied where no
    /// batch of their row group changed them).
    fn write(
        &mut self,
        shard: u32,
        first_row: u64,
        output: &RecordBatch,
        read: &RecordBatch,
    ) -> regime_corpus::Result<()> {
        match self {
            Self::Spliced(parts) => parts.write_edited(shard, first_row, output, read),
            Self::Encoded(parts) => parts.write(output),
        }
    }

    fn finish(self) -> regime_corpus::Result<Vec<OutputRecord>> {
        match self {
            Self::Spliced(parts) => parts.finish(),
            Self::Encoded(parts) => parts.finish(),
        }
    }
}

/// The writer of the output parts, and the reader of what it needs: only
/// the text columns and ids, as string views, when the input's other column
/// chunks can be copied; every column, with its stored type, otherwise.
fn open_parts<'a>(
    builder: CorpusReaderBuilder,
    map: &FieldMap,
    out: &'a OutputDir,
    args: &PromptDedupArgs,
    global: &GlobalArgs,
) -> anyhow::Result<(CorpusReaderBuilder, Parts<'a>)> {
    let schema = output_schema(builder.schema(), args.provenance)?;
    let writer_options = corpus::writer_options(&args.output);
    let mut rewritten = map.text_leaves();
    if args.provenance {
        rewritten.push(RewrittenColumn::whole(PROVENANCE_COLUMN));
    }
    let splicer = if args.reencode {
        None
    } else {
        let splicer = PartSplicer::try_new(
            out,
            "part",
            builder.files(),
            schema.clone(),
            &rewritten,
            writer_options,
        )?;
        if let Err(reason) = &splicer {
            progress::summary(
                global,
                &format!("prompt-dedup: re-encoding every column, as {reason}"),
            );
        }
        splicer.ok()
    };
    if let Some(parts) = splicer {
        // Text as views: not copied out of the parquet dictionaries, and
        // written back with the stored types by the splicer.
        let columns = read_columns(map, builder.schema());
        let builder = builder.with_columns(columns)?.with_string_views()?;
        return Ok((builder, Parts::Spliced(parts)));
    }
    let parts = PartWriter::try_new(out, "part", schema, writer_options)?;
    Ok((builder, Parts::Encoded(parts)))
}

pub(crate) fn run(args: &PromptDedupArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let dedup = build(&args.dedup)?;
    let corpus = corpus::open(&args.input, global)?;
    corpus.check_writable()?;
    let rows = corpus.builder.total_rows()?;
    let out = corpus::prepare_out(&args.output.out, args.output.overwrite, &args.input.inputs)?;
    let paths = corpus.paths();
    let (builder, mut writer) = open_parts(corpus.builder, &corpus.map, &out, args, global)?;
    let options = RewriteOptions {
        provenance: args.provenance,
        empty_as_null: args.empty_as_null,
    };
    let mut figures = DedupFigures::new(&audit(&args.dedup));
    let bar = progress::bar(global, Some(rows), "prompt-dedup", "samples");
    // A spliced batch (its text columns only) is written while the next
    // one is de-duplicated, so the serial encoding overlaps the parallel
    // search; a batch with every column (images) is written at once, so
    // that only one is held.
    let overlap = matches!(writer, Parts::Spliced(_));
    let mut unwritten: Option<(u32, u64, RecordBatch, RecordBatch)> = None;
    for batch in builder.build() {
        let batch = batch?;
        let (result, written) = rayon::join(
            || dedup_batch(&dedup, &corpus.map, &batch, options, &mut figures),
            || match unwritten.take() {
                Some((shard, first_row, output, read)) => {
                    writer.write(shard, first_row, &output, &read)
                }
                None => Ok(()),
            },
        );
        written?;
        let output = result?;
        if overlap {
            unwritten = Some((batch.shard, batch.first_row, output, batch.batch));
        } else {
            writer.write(batch.shard, batch.first_row, &output, &batch.batch)?;
        }
        bar.set_position(figures.before.samples());
    }
    if let Some((shard, first_row, output, read)) = unwritten {
        writer.write(shard, first_row, &output, &read)?;
    }
    bar.finish_and_clear();
    let outputs = writer.finish()?;
    let report = PromptDedupReport {
        before: figures.before.report(),
        after: figures.after.report(),
        rows_in: figures.before.samples(),
        rows_out: figures.after.samples(),
        fields_changed: figures.fields_changed,
    };
    super::corpus::write_json(&out, "report.json", &report)?;
    let mut manifest = clock.manifest(
        "prompt-dedup",
        config(args),
        None,
        &paths,
        (report.rows_in, report.rows_out),
    )?;
    manifest.outputs = outputs;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    progress::summary(
        global,
        &format!(
            "prompt-dedup: {} samples, {} with duplicates ({:.2}%): removed {} copies ({:.2}% of segments, {:.2}% of characters) from {} fields; {} repeated turns kept; wrote {}",
            report.rows_in,
            report.before.counts.dup_samples,
            100.0 * report.before.sample_dup_rate,
            report.before.counts.copies,
            100.0 * report.before.segment_dup_rate,
            100.0 * report.before.char_dup_rate,
            report.fields_changed,
            report.before.repeated_turns,
            dir.display()
        ),
    );
    Ok(Outcome::Success)
}
