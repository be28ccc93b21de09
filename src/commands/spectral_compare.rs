//! `regime spectral-compare`: audit several models or checkpoints and write
//! one table (compare.csv, compare.json), a combined layers.csv and one report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use regime_corpus::{OutputDir, write_atomic, write_json};
use regime_report::spectral::{ComparedModel, compare_page};
use regime_spectral::trajectory::{Trajectory, TrendThresholds, reference_condition, share_points};
use regime_spectral::{CompareEntry, CompareFile, Model, ModelAudit, ModelSummary};

use super::Outcome;
use super::corpus::RunClock;
use super::spectral::{audit_model, build_audit, csv_escape, write_report};
use crate::cli::{GlobalArgs, SpectralCompareArgs};
use crate::progress;

fn default_label(path: &Path) -> String {
    let stem = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    stem.map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

fn fmt(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| x.to_string())
        .unwrap_or_default()
}

#[expect(
    clippy::too_many_lines,
    reason = "one linear pass: audit, then write four outputs"
)]
pub(crate) fn run(args: &SpectralCompareArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let labels: Vec<String> = if args.labels.is_empty() {
        args.models.iter().map(|p| default_label(p)).collect()
    } else if args.labels.len() == args.models.len() {
        args.labels.clone()
    } else {
        bail!(
            "--labels: {} labels for {} models",
            args.labels.len(),
            args.models.len()
        );
    };
    if let Some((i, label)) = labels
        .iter()
        .enumerate()
        .find(|(i, l)| labels[..*i].contains(l))
    {
        bail!(
            "--labels: `{label}` names both {} and {}",
            args.models[labels.iter().position(|l| l == label).unwrap_or(0)].display(),
            args.models[i].display()
        );
    }
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    // A usage error: before any output directory or weights are touched.
    if let Some(reference) = &args.reference {
        reference_condition(&label_refs, reference).context("--reference")?;
    }
    // Before any weights are read: never into (or around) a model.
    let out = OutputDir::prepare(&args.out, args.overwrite, &args.models)?;
    let audit = build_audit(&args.select, None)?;
    let mut audits: Vec<ModelAudit> = Vec::with_capacity(args.models.len());
    let mut files: Vec<PathBuf> = Vec::new();
    for path in &args.models {
        let model = Model::open(path)?;
        files.extend(model.files().map(Path::to_path_buf));
        audits.push(audit_model(&audit, &model, None, global)?);
    }
    let summaries: Vec<ModelSummary> = audits.iter().map(ModelSummary::from_audit).collect();
    let shares: Vec<Option<f64>> = summaries
        .iter()
        .map(|s| s.share_alpha_2_6.map(share_points))
        .collect();
    let trajectory = Trajectory::from_labels(
        &label_refs,
        &shares,
        args.reference.as_deref(),
        &TrendThresholds::default(),
    )?;
    if let Some(t) = &trajectory
        && !t.ordered_by_step
        && t.checkpoints.len() > 1
    {
        // The plateau is the last checkpoints as given: say which those are.
        tracing::warn!(
            "checkpoints taken in the order given ({}): not every name reads as a step like 2k or step-500",
            t.checkpoints.join(", ")
        );
    }

    let mut csv = String::from(
        "label,model,matrices,fitted,share_alpha_2_6,median_alpha,share_below_2,share_6_10,share_above_10,trend\n",
    );
    for ((label, audit), s) in labels.iter().zip(&audits).zip(&summaries) {
        let trend = trajectory
            .as_ref()
            .and_then(|t| {
                let condition = label.split_once('@').map_or(label.as_str(), |x| x.0);
                t.rows.iter().find(|r| r.condition == condition)?.trend
            })
            .map_or("", regime_spectral::Trend::as_str);
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{trend}",
            csv_escape(label),
            csv_escape(&audit.path.display().to_string()),
            s.matrices,
            s.fitted,
            fmt(s.share_alpha_2_6),
            fmt(s.median_alpha),
            fmt(s.share_below_2),
            fmt(s.share_6_10),
            fmt(s.share_above_10),
        );
    }
    write_atomic(&out.staged("compare.csv"), csv.as_bytes())?;

    let mut layers =
        String::from("label,name,module,layer,N,M,alpha,xmin,D,num_pl_spikes,stable_rank,erank\n");
    for (label, audit) in labels.iter().zip(&audits) {
        for m in &audit.matrices {
            let fit = m.metrics.fit;
            let _ = writeln!(
                layers,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_escape(label),
                csv_escape(&m.name),
                csv_escape(&m.module),
                m.layer.map(|l| l.to_string()).unwrap_or_default(),
                m.metrics.n,
                m.metrics.m,
                fmt(fit.map(|f| f.alpha)),
                fmt(fit.map(|f| f.xmin)),
                fmt(fit.map(|f| f.d)),
                m.metrics.num_pl_spikes,
                fmt(m.metrics.stable_rank),
                fmt(m.metrics.erank),
            );
        }
    }
    write_atomic(&out.staged("layers.csv"), layers.as_bytes())?;

    let file = CompareFile {
        tool: "regime".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        models: labels
            .iter()
            .zip(&audits)
            .zip(&summaries)
            .map(|((label, a), s)| CompareEntry {
                label: label.clone(),
                model: a.path.display().to_string(),
                summary: s.clone(),
            })
            .collect(),
        trajectory: trajectory.clone(),
    };
    write_json(&out.staged("compare.json"), &file)?;

    let compared: Vec<ComparedModel<'_>> = labels
        .iter()
        .zip(&audits)
        .zip(&summaries)
        .map(|((label, audit), summary)| ComparedModel {
            label,
            audit,
            summary,
        })
        .collect();
    write_report(
        &out.staged("report.html"),
        &compare_page(&compared, trajectory.as_ref()),
    )?;
    let config = serde_json::json!({ "labels": labels, "reference": args.reference });
    out.commit(clock.manifest("spectral-compare", config, None, &files, (0, 0))?)?;
    for row in trajectory.iter().flat_map(|t| &t.rows) {
        let shares: Vec<String> = row
            .shares
            .iter()
            .map(|s| s.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}")))
            .collect();
        progress::summary(
            global,
            &format!(
                "{}: {} {}",
                row.condition,
                shares.join(" "),
                row.trend.map_or("", regime_spectral::Trend::as_str)
            ),
        );
    }
    progress::summary(
        global,
        &format!("{} models compared -> {}", audits.len(), args.out.display()),
    );
    Ok(Outcome::Success)
}
