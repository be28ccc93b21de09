//! `regime condition c`: the repetition-concentrated condition.

use regime_conditions::{Layout, RepeatConfig, build_repeat_condition, repeat_output_schema};
use regime_corpus::PartWriter;

use super::Outcome;
use super::corpus::{self, RunClock};
use crate::cli::{ConditionCArgs, GlobalArgs, LayoutArg};
use crate::progress;

pub(crate) fn run(args: &ConditionCArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let layout = match args.layout {
        LayoutArg::Shuffled => Layout::Shuffled,
        LayoutArg::Adjacent => Layout::Adjacent,
        LayoutArg::Spread => Layout::Spread,
    };
    let config = RepeatConfig::new(args.split, args.fraction, args.repeat, layout, args.seed)?;
    let corpus = corpus::open(&args.input, global)?;
    corpus.check_writable()?;
    let rows = corpus.builder.total_rows()?;
    let schema = repeat_output_schema(corpus.builder.schema())?;
    let out = corpus::prepare_out(&args.output.out, args.output.overwrite, &args.input.inputs)?;
    let mut writer =
        PartWriter::try_new(&out, "part", schema, corpus::writer_options(&args.output))?;
    let paths = corpus.paths();
    let bar = progress::bar(global, Some(rows), "condition c", "rows");
    let report = build_repeat_condition(
        corpus.builder.build(),
        rows,
        &config,
        &mut writer,
        &mut |done| bar.set_position(done),
    )?;
    bar.finish_and_clear();
    let outputs = writer.finish()?;
    corpus::write_json(&out, "report.json", &report)?;
    let mut manifest = clock.manifest(
        "condition c",
        serde_json::to_value(config)?,
        Some(config.seed),
        &paths,
        (report.rows_in, report.rows_out),
    )?;
    manifest.outputs = outputs;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    progress::summary(
        global,
        &format!(
            "condition c: {} rows → {} ({} of D1's {} rows × {}, D2 {} rows unchanged) in {}",
            report.rows_in,
            report.rows_out,
            report.chosen_rows,
            report.d1_rows,
            copies_text(report.min_copies, report.max_copies),
            report.d2_rows,
            dir.display()
        ),
    );
    Ok(Outcome::Success)
}

/// The copies each chosen row got, as written: `10 copies`, or a range when
/// the last row was trimmed to fit D1 (`4 copies` of `--repeat 10` on a
/// D1 of 4 rows).
fn copies_text(min: u64, max: u64) -> String {
    if min == max {
        format!("{max} copies")
    } else {
        format!("{min}–{max} copies")
    }
}
