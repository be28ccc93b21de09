//! `regime synth prompt-dup`: a corpus with planted prompt duplication.

use anyhow::Context;
use arrow::compute::concat_batches;
use regime_corpus::{CorpusReaderBuilder, PartWriter, resolve_inputs};
use regime_dedup::{COLUMNS_FIELDS_TOML, SynthConfig, SynthLayout, synth_prompt_dup};

use super::Outcome;
use super::corpus::{self, RunClock};
use crate::cli::{GlobalArgs, SynthLayoutArg, SynthPromptDupArgs};
use crate::progress;

pub(crate) fn run(args: &SynthPromptDupArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let layout = match args.layout {
        SynthLayoutArg::Llava => SynthLayout::Llava,
        SynthLayoutArg::Messages => SynthLayout::Messages,
        SynthLayoutArg::Parts => SynthLayout::Parts,
        SynthLayoutArg::Columns => SynthLayout::Columns,
    };
    let mut config = SynthConfig::new(args.share, args.seed, layout)?;
    config.rows = args.rows;
    let files = resolve_inputs(&args.source)?;
    // Before the source is read: a refused --out costs nothing.
    let out = corpus::prepare_out(&args.output.out, args.output.overwrite, &args.source)?;
    let builder = CorpusReaderBuilder::try_new(files)?;
    let paths: Vec<_> = builder.files().iter().map(|f| f.path.clone()).collect();
    let schema = builder.schema().clone();
    let mut batches = Vec::new();
    for batch in builder.build() {
        batches.push(batch?.batch);
    }
    let source = concat_batches(&schema, &batches).context("reading the source corpus")?;
    drop(batches);
    let total = args.rows.unwrap_or(source.num_rows() as u64);
    let bar = progress::bar(global, Some(total), "synth prompt-dup", "samples");
    let mut writer: Option<PartWriter<'_>> = None;
    let options = corpus::writer_options(&args.output);
    let summary = synth_prompt_dup(&source, &config, &mut |batch| {
        if writer.is_none() {
            writer = Some(PartWriter::try_new(&out, "part", batch.schema(), options)?);
        }
        if let Some(w) = writer.as_mut() {
            w.write(&batch)?;
        }
        bar.inc(batch.num_rows() as u64);
        Ok(())
    })
    .map_err(|err| match err {
        // Name the source files the complaint is about.
        regime_dedup::Error::Source(_) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            anyhow::Error::from(err).context(names.join(", "))
        }
        other => other.into(),
    })?;
    bar.finish_and_clear();
    let outputs = match writer {
        Some(w) => w.finish()?,
        None => Vec::new(),
    };
    if layout == SynthLayout::Columns {
        let path = out.staged("fields.toml");
        std::fs::write(&path, COLUMNS_FIELDS_TOML).with_context(|| path.display().to_string())?;
    }
    let report = serde_json::json!({ "config": config, "truth": summary });
    corpus::write_json(&out, "report.json", &report)?;
    let mut manifest = clock.manifest(
        "synth prompt-dup",
        serde_json::to_value(config)?,
        Some(args.seed),
        &paths,
        (source.num_rows() as u64, summary.rows),
    )?;
    manifest.outputs = outputs;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    progress::summary(
        global,
        &format!(
            "synth prompt-dup: {} samples, {} with planted duplication ({} copies) in {}",
            summary.rows,
            summary.planted,
            summary.copies,
            dir.display()
        ),
    );
    Ok(Outcome::Success)
}
