//! `regime dedup exact|near`: corpus de-duplication (condition A).

use regime_corpus::{OutputDir, PartWriter, Role};
use regime_dedup::{
    DedupConfig, NearConfig, clusters_batch, deduplicate, has_id_column, near_candidates,
};
use regime_text::{Normalizer, bands_for_threshold};

use super::Outcome;
use super::corpus::{self, RunClock};
use crate::cli::{DedupCommand, DedupNearArgs, GlobalArgs, PresetArg, RoleArg};
use crate::progress;

pub(crate) fn run(command: &DedupCommand, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let (common, near, stage) = match command {
        DedupCommand::Exact(args) => (&args.common, None, "dedup exact"),
        DedupCommand::Near(args) => (&args.common, Some(near_config(args)?), "dedup near"),
    };
    let config = DedupConfig {
        roles: (!common.roles.is_empty()).then(|| common.roles.iter().map(|r| role(*r)).collect()),
        normalizer: Normalizer::new().with_case_fold(common.case_fold),
        near,
        max_cluster: common.max_cluster,
    };
    let opened = corpus::open(&common.input, global)?;
    let rows = opened.builder.total_rows()?;
    let paths = opened.paths();
    let schema = opened.builder.schema().clone();
    let map = opened.map;
    let candidates = match &config.near {
        Some(near) => {
            let text_only = opened
                .builder
                .clone()
                .with_columns(map.text_columns())?
                .build();
            let bar = progress::bar(global, Some(rows), "signatures", "rows");
            let found = near_candidates(text_only, &map, &config, near, &mut |n| {
                bar.set_position(n);
            })?;
            bar.finish_and_clear();
            Some(found)
        }
        None => None,
    };
    let out = OutputDir::prepare(&common.output.out, common.output.overwrite)?;
    let options = corpus::writer_options(&common.output);
    let mut writer = PartWriter::try_new(&out, "part", schema.clone(), options)?;
    let bar = progress::bar(global, Some(rows), stage, "rows");
    let (report, members) = deduplicate(
        opened.builder.build(),
        &map,
        &config,
        candidates.as_ref(),
        &mut writer,
        &mut |n| bar.set_position(n),
    )?;
    bar.finish_and_clear();
    let mut outputs = writer.finish()?;
    let clusters = clusters_batch(&members, has_id_column(&schema))?;
    let mut clusters_writer =
        PartWriter::try_new_single(&out, "clusters.parquet", clusters.schema(), options)?;
    clusters_writer.write(&clusters)?;
    outputs.extend(clusters_writer.finish()?);
    corpus::write_json(&out, "report.json", &report)?;
    let mut manifest = clock.manifest(
        stage,
        serde_json::json!({ "near": config.near, "roles": common.roles.iter().map(|r| role(*r).as_str()).collect::<Vec<_>>(), "case_fold": common.case_fold, "max_cluster": common.max_cluster }),
        config.near.map(|n| n.seed),
        &paths,
        (report.rows, report.kept),
    )?;
    manifest.outputs = outputs;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    for (cluster, size) in &report.oversized {
        tracing::warn!(
            "cluster {cluster} holds {size} rows (more than --max-cluster {}): check for boilerplate or a too-low threshold",
            common.max_cluster
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
    Ok(Outcome::Success)
}

/// The near-duplicate settings the flags ask for.
fn near_config(args: &DedupNearArgs) -> anyhow::Result<NearConfig> {
    let mut near = match args.preset {
        PresetArg::Datatrove => NearConfig::datatrove(),
        PresetArg::Nemo => NearConfig::nemo(),
    };
    if let Some(j) = args.threshold {
        anyhow::ensure!(
            j > 0.0 && j < 1.0,
            "--threshold: must be in (0, 1), got {j}"
        );
        let (bands, rows) = bands_for_threshold(j, near.bands * near.rows);
        near.bands = bands;
        near.rows = rows;
        near.verify = Some(j);
    }
    if args.no_verify {
        near.verify = None;
    }
    near.seed = args.seed;
    Ok(near)
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
