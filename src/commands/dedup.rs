//! `regime dedup exact|near`: corpus de-duplication (condition A).
//!
//! Near runs in three phases: signatures (band keys into sorted runs on
//! disk; alone with `--shard I/N`), merge (the runs of every shard, and of
//! an `--against` index, into candidate components) and the in-order pass
//! that verifies candidates and writes the kept rows.

use std::path::{Path, PathBuf};

use anyhow::Context;
use regime_corpus::{OutputDir, PartWriter, Role};
use regime_dedup::{
    Candidates, DedupConfig, DedupReport, IndexWriter, NearConfig, NearIndex, NearPlan, RunFile,
    RunWriter, Segment, Settings, candidates_from_runs, clusters_batch, deduplicate, has_id_column,
    near_signatures, priority_decisions, shard_rows,
};
use regime_text::bands_for_threshold;

use super::Outcome;
use super::corpus::{self, Corpus, RunClock};
use super::split::{self, InputFingerprint, SplitCheck};
use crate::cli::{DedupCommand, DedupNearArgs, GlobalArgs, PresetArg, RoleArg};
use crate::progress;

/// What `--shard` writes next to its band runs and `--merge` reads.
const SIGNATURES_FILE: &str = "signatures.json";
/// The band runs of a `--shard` output.
const BANDS_FILE: &str = "bands.bin";

/// `signatures.json`: one shard's block of rows and where its runs are.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ShardSignatures {
    settings: Settings,
    /// The field layout the text was read with (`FieldMap::layout`).
    fields: String,
    /// `[i, n]`.
    shard: (u64, u64),
    /// The whole corpus's rows, and its files' sizes and content hashes in
    /// shard order.
    inputs: InputFingerprint,
    segments: Vec<Segment>,
}

#[expect(
    clippy::too_many_lines,
    reason = "the three phases and their outputs, in order"
)]
pub(crate) fn run(command: &DedupCommand, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let (common, near_args, stage) = match command {
        DedupCommand::Exact(args) => (&args.common, None, "dedup exact"),
        DedupCommand::Near(args) => (&args.common, Some(args), "dedup near"),
    };
    let config = DedupConfig {
        roles: (!common.roles.is_empty()).then(|| common.roles.iter().map(|r| role(*r)).collect()),
        case_fold: common.case_fold,
        near: near_args.map(near_config),
        max_cluster: common.max_cluster,
    };
    if let Some(index) = near_args.and_then(|a| a.save_index.as_deref()) {
        // Both directories are staged and published on their own: one
        // would publish into the other's staging area.
        anyhow::ensure!(
            regime_corpus::real_path(index) != regime_corpus::real_path(&common.output.out),
            "{}: --save-index needs a directory of its own, not --out's",
            index.display()
        );
    }
    let opened = corpus::open(&common.input, global)?;
    opened.check_writable()?;
    if let Some(column) = &common.priority {
        // Before the passes: a near run reads every row before it ranks.
        let schema = opened.builder.schema();
        regime_dedup::check_priority_column(schema, column).with_context(|| {
            format!(
                "--priority {column} ({}; columns: {})",
                opened.paths()[0].display(),
                regime_corpus::column_list(schema)
            )
        })?;
    }
    let rows = opened.builder.total_rows()?;
    let paths = opened.paths();
    // What the run reads besides the corpus: `--overwrite` of an output
    // that is, holds or lies inside one would delete it.
    let mut read = common.input.inputs.clone();
    if let Some(args) = near_args {
        read.extend(args.merge.iter().cloned());
        read.extend(args.against.iter().cloned());
    }
    let out = corpus::prepare_out(&common.output.out, common.output.overwrite, &read)?;
    // Hashed once, for the manifests and for the shards' fingerprints.
    let records = regime_corpus::hash_inputs(&paths)?;
    if let (Some(args), Some(near)) = (near_args, config.near)
        && let Some(shard) = args.shard
    {
        let sig = ShardSignatures {
            settings: config.settings(near),
            fields: opened.map.layout(),
            shard,
            inputs: InputFingerprint::new(rows, &records),
            segments: Vec::new(),
        };
        let n = signatures_shard(&opened, &config, sig, &out, args.run_rows, global)?;
        let manifest = clock.manifest_hashed(
            "dedup near --shard",
            serde_json::json!({ "near": config.near, "shard": [shard.0, shard.1] }),
            Some(near.seed),
            records,
            (n, 0),
        );
        let dir = out.path().to_path_buf();
        out.commit(manifest)?;
        progress::summary(
            global,
            &format!(
                "dedup near: shard {}/{}, {n} rows' band runs in {} (merge with --merge)",
                shard.0,
                shard.1,
                dir.display()
            ),
        );
        return Ok(Outcome::Success);
    }
    let against = match near_args.and_then(|a| a.against.as_deref()) {
        Some(dir) => Some(open_index(dir, &config)?),
        None => None,
    };
    // Prepared before the passes, so a --save-index that cannot be written
    // fails at once.
    let mut index = match (near_args.and_then(|a| a.save_index.as_deref()), config.near) {
        (Some(dir), Some(near)) => {
            let dir_out = corpus::prepare_out(dir, common.output.overwrite, &read)?;
            let run_rows = near_args.map_or(regime_dedup::DEFAULT_RUN_DOCS, |a| a.run_rows);
            let writer =
                IndexWriter::create(|n| dir_out.staged(n), config.settings(near), run_rows)?;
            Some((dir_out, writer))
        }
        _ => None,
    };
    let candidates = match (near_args, config.near) {
        (Some(args), Some(near)) => Some(near_candidates(
            &opened,
            &config,
            near,
            (!args.merge.is_empty()).then(|| Merge {
                shards: &args.merge,
                inputs: InputFingerprint::new(rows, &records),
                fields: opened.map.layout(),
            }),
            args.run_rows,
            against.as_ref(),
            &out,
            rows,
            global,
        )?),
        _ => None,
    };
    let plan = candidates.as_ref().map(|candidates| NearPlan {
        candidates,
        against: against.as_ref(),
    });
    let decided = match &common.priority {
        Some(column) => {
            let bar = progress::bar(global, Some(rows), "priority", "rows");
            let decided = priority_decisions(
                opened.builder.clone().build(),
                &opened.map,
                &config,
                plan,
                column,
                &mut |n| bar.set_position(n),
            )?;
            bar.finish_and_clear();
            Some(decided)
        }
        None => None,
    };
    let schema = opened.builder.schema().clone();
    let options = corpus::writer_options(&common.output);
    let mut writer = PartWriter::try_new(&out, "part", schema.clone(), options)?;
    let bar = progress::bar(global, Some(rows), stage, "rows");
    let (report, members) = deduplicate(
        opened.builder.build(),
        &opened.map,
        &config,
        plan,
        decided,
        index.as_mut().map(|(_, w)| w),
        Some(&mut writer),
        &mut |n| bar.set_position(n),
    )?;
    bar.finish_and_clear();
    let mut outputs = writer.finish()?;
    let clusters = clusters_batch(&members, has_id_column(&schema), against.is_some())?;
    let mut clusters_writer =
        PartWriter::try_new_single(&out, "clusters.parquet", clusters.schema(), options)?;
    clusters_writer.write(&clusters)?;
    outputs.extend(clusters_writer.finish()?);
    corpus::write_json(&out, "report.json", &report)?;
    let mut html = Vec::new();
    regime_report::dedup::dedup_page(&report).render(&mut html)?;
    let html_path = out.staged("report.html");
    std::fs::write(&html_path, html).with_context(|| html_path.display().to_string())?;
    let settings = serde_json::json!({ "near": config.near, "roles": common.roles.iter().map(|r| role(*r).as_str()).collect::<Vec<_>>(), "case_fold": common.case_fold, "max_cluster": common.max_cluster, "priority": common.priority, "against": near_args.and_then(|a| a.against.as_ref()), "merge": near_args.map(|a| &a.merge) });
    // The index is complete only with the corpus it indexes: its commit
    // settles after the corpus's.
    let mut pending = None;
    if let Some((index_out, index_writer)) = index {
        let docs = index_writer.finish()?;
        let manifest = clock.manifest_hashed(
            "dedup near --save-index",
            settings.clone(),
            config.near.map(|n| n.seed),
            records.clone(),
            (report.rows, u64::from(docs)),
        );
        pending = Some(index_out.commit_pending(manifest)?.1);
    }
    let mut manifest = clock.manifest_hashed(
        stage,
        settings,
        config.near.map(|n| n.seed),
        records,
        (report.rows, report.kept),
    );
    manifest.outputs = outputs;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    if let Some(pending) = pending {
        pending.settle()?;
    }
    let compared = if common.roles.is_empty() {
        "in any text field".to_owned()
    } else {
        let roles: Vec<&str> = common.roles.iter().map(|r| role(*r).as_str()).collect();
        format!("in the fields --on {} chose", roles.join(","))
    };
    summarize(&report, common.max_cluster, &compared, stage, &dir, global);
    Ok(Outcome::Success)
}

/// The report `regime dedup near` with its default settings (the datatrove
/// preset, every text field) would give on the opened corpus, without
/// writing the kept rows: the signature pass (band runs as scratch files
/// in `out`'s staging directory) and the verification pass. What `regime
/// profile --near` takes its near-duplicate share from.
pub(crate) fn near_report(
    opened: &Corpus,
    out: &OutputDir,
    global: &GlobalArgs,
) -> anyhow::Result<DedupReport> {
    let near = NearConfig::datatrove();
    let config = DedupConfig {
        roles: None,
        case_fold: false,
        near: Some(near),
        // Only the share is used: no cluster is "oversized".
        max_cluster: usize::MAX,
    };
    let rows = opened.builder.total_rows()?;
    let candidates = near_candidates(
        opened,
        &config,
        near,
        None,
        regime_dedup::DEFAULT_RUN_DOCS,
        None,
        out,
        rows,
        global,
    )?;
    let plan = NearPlan {
        candidates: &candidates,
        against: None,
    };
    let bar = progress::bar(global, Some(rows), "near duplicates", "rows");
    let (report, _) = deduplicate(
        opened.builder.clone().build(),
        &opened.map,
        &config,
        Some(plan),
        None,
        None,
        None,
        &mut |n| bar.set_position(n),
    )?;
    bar.finish_and_clear();
    Ok(report)
}

/// Prints the run's warnings and summary line; `compared` says where
/// rows without text had none ("in any text field").
fn summarize(
    report: &DedupReport,
    max: usize,
    compared: &str,
    stage: &str,
    dir: &Path,
    global: &GlobalArgs,
) {
    if report.empty > 0 {
        // Silent, this looks like a corpus without duplicates: `--on
        // system` on a corpus without system prompts keeps every row.
        tracing::warn!(
            "{} of {} rows have no text {compared}: they are never compared and always kept",
            report.empty,
            report.rows
        );
    }
    for (cluster, size) in &report.oversized {
        tracing::warn!(
            "cluster {cluster} holds {size} rows (more than --max-cluster {max}): check for boilerplate or a too-low threshold"
        );
    }
    progress::summary(
        global,
        &format!(
            "{stage}: {} rows → {} kept ({} duplicates in {} clusters, largest {}) in {}",
            report.rows,
            report.kept,
            report.duplicates,
            report.clusters,
            report.largest_cluster,
            dir.display()
        ),
    );
}

/// A reader of the text columns only (all pass 1 needs).
fn text_reader(opened: &Corpus) -> anyhow::Result<regime_corpus::CorpusReader> {
    Ok(opened
        .builder
        .clone()
        .with_columns(opened.map.text_columns())?
        .build())
}

/// `--shard I/N`: the band runs of block I into `out`; returns its rows.
fn signatures_shard(
    opened: &Corpus,
    config: &DedupConfig,
    mut sig: ShardSignatures,
    out: &OutputDir,
    run_rows: usize,
    global: &GlobalArgs,
) -> anyhow::Result<u64> {
    let (lo, hi) = shard_rows(sig.inputs.rows(), sig.shard.0, sig.shard.1);
    let near = sig.settings.near;
    let mut runs = RunWriter::create(&out.staged(BANDS_FILE), near.bands, run_rows)?;
    let bar = progress::bar(global, Some(sig.inputs.rows()), "signatures", "rows");
    near_signatures(
        text_reader(opened)?,
        &opened.map,
        config,
        &near,
        Some((lo, hi)),
        0,
        &mut runs,
        &mut |n| bar.set_position(n),
    )?;
    bar.finish_and_clear();
    sig.segments = runs.finish()?.segments;
    corpus::write_json(out, SIGNATURES_FILE, &sig)?;
    Ok(hi - lo)
}

fn open_index(dir: &Path, config: &DedupConfig) -> anyhow::Result<NearIndex> {
    regime_corpus::check_published(dir)?;
    let index = NearIndex::open(dir)?;
    let Some(near) = config.near else {
        anyhow::bail!("--against needs near de-duplication");
    };
    let settings = config.settings(near);
    anyhow::ensure!(
        *index.settings() == settings,
        "--against {}: the index was built with other settings than this run's{}; use the same preset, threshold, seed, --on and --case-fold",
        dir.display(),
        split::difference(index.settings(), &settings)
    );
    Ok(index)
}

/// Signatures (or the `--merge`d shards' runs) and the merge phase.
#[expect(
    clippy::too_many_arguments,
    reason = "the phase's inputs, each distinct"
)]
fn near_candidates(
    opened: &Corpus,
    config: &DedupConfig,
    near: NearConfig,
    merge: Option<Merge<'_>>,
    run_rows: usize,
    against: Option<&NearIndex>,
    out: &OutputDir,
    rows: u64,
    global: &GlobalArgs,
) -> anyhow::Result<Candidates> {
    let index_docs = against.map_or(0, NearIndex::docs);
    let docs = u32::try_from(rows).context("more than 2^32 - 1 rows in one run")?;
    let mut runs: Vec<RunFile> = against.map(|i| i.runs().clone()).into_iter().collect();
    if let Some(merge) = merge {
        if index_docs > 0 {
            anyhow::bail!(
                "--merge and --against together are not supported: merge first, then run --against on the merged output"
            );
        }
        runs.extend(merged_runs(merge, config.settings(near))?);
    } else {
        // Scratch runs in the staging directory: never published, removed
        // with it at commit or by the next run after an interruption.
        let scratch = out.staged(BANDS_FILE).with_extension("scratch");
        let mut writer = RunWriter::create(&scratch, near.bands, run_rows)?;
        let bar = progress::bar(global, Some(rows), "signatures", "rows");
        near_signatures(
            text_reader(opened)?,
            &opened.map,
            config,
            &near,
            None,
            index_docs,
            &mut writer,
            &mut |n| bar.set_position(n),
        )?;
        bar.finish_and_clear();
        runs.push(writer.finish()?);
    }
    Ok(candidates_from_runs(&runs, near.bands, index_docs, docs)?)
}

/// The runs of every `--merge` shard, checked to be one complete split of
/// this corpus with these settings.
fn merged_runs(merge: Merge<'_>, settings: Settings) -> anyhow::Result<Vec<RunFile>> {
    let mut split = SplitCheck::against("--merge", settings, merge.inputs);
    let mut runs = Vec::new();
    for dir in merge.shards {
        regime_corpus::check_published(dir)?;
        let path = dir.join(SIGNATURES_FILE);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "--merge {}: not a `dedup near --shard` output",
                dir.display()
            )
        })?;
        let sig: ShardSignatures = serde_json::from_slice(&bytes)
            .with_context(|| format!("--merge: {} is not a shard description", path.display()))?;
        // Inputs first: shards of another corpus read another layout too.
        split.add(dir, sig.shard, sig.settings, sig.inputs)?;
        if sig.fields != merge.fields {
            anyhow::bail!(
                "--merge {}: its text was read as `{}`, this run reads `{}` (give the shards' --profile/--fields)",
                dir.display(),
                sig.fields,
                merge.fields
            );
        }
        runs.push(RunFile {
            path: dir.join(BANDS_FILE),
            segments: sig.segments,
        });
    }
    split.finish()?;
    Ok(runs)
}

/// `--merge`: the shards' directories, and the corpus this run reads and
/// how (`FieldMap::layout`).
struct Merge<'a> {
    shards: &'a [PathBuf],
    inputs: InputFingerprint,
    fields: String,
}

/// The near-duplicate settings the flags ask for.
fn near_config(args: &DedupNearArgs) -> NearConfig {
    let mut near = match args.preset {
        PresetArg::Datatrove => NearConfig::datatrove(),
        PresetArg::Nemo => NearConfig::nemo(),
    };
    if let Some(j) = args.threshold {
        let (bands, rows) = bands_for_threshold(j, near.bands * near.rows);
        near.bands = bands;
        near.rows = rows;
        near.verify = Some(j);
    }
    if args.no_verify {
        near.verify = None;
    }
    near.seed = args.seed;
    near
}

fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::System => Role::System,
        RoleArg::User => Role::User,
        RoleArg::Assistant => Role::Assistant,
        RoleArg::Caption => Role::Caption,
        RoleArg::Ocr => Role::Ocr,
        RoleArg::Metadata => Role::Metadata,
        RoleArg::Other => Role::Other,
    }
}
