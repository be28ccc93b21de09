//! `regime spectral`: audit one model (optionally against a base) and write
//! layers.csv, layers.parquet, summary.json and report.html atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use regime_corpus::{AtomicFile, OutputDir, write_atomic};
use regime_spectral::{
    Audit, AuditBuilder, AuditConfig, EsdMethod, MatrixReport, Model, ModelAudit, ModelSummary,
    PrefixMap, Progress, SummaryFile, Warning,
};

use super::Outcome;
use super::corpus::RunClock;
use crate::cli::{EsdArg, GlobalArgs, SpectralArgs, SpectralSelectArgs};
use crate::progress;

/// Builds the audit from the shared selection options.
pub(super) fn build_audit(
    select: &SpectralSelectArgs,
    prefix_map: Option<PrefixMap>,
) -> anyhow::Result<Audit> {
    let esd = match select.esd {
        EsdArg::Auto => EsdMethod::Auto,
        EsdArg::Svd => EsdMethod::Svd,
        EsdArg::Gram => EsdMethod::Gram,
    };
    let mut builder = AuditBuilder::new()
        .with_include(select.include.clone())
        .with_exclude(select.exclude.clone())
        .with_min_evals(select.min_evals)
        .with_max_evals(select.max_evals)
        .with_max_n(select.max_n)
        .with_fix_fingers(select.fix_fingers)
        .with_esd_method(esd);
    if let Some(map) = prefix_map {
        builder = builder.with_prefix_map(map);
    }
    builder.build().map_err(|err| match &err {
        // The library's message names the pattern; the flag is ours to name.
        regime_spectral::Error::Regex { option, .. } => {
            let flag = format!("--{option}");
            anyhow::Error::new(err).context(flag)
        }
        _ => err.into(),
    })
}

/// Audits one model with a progress bar.
pub(super) fn audit_model(
    audit: &Audit,
    model: &Model,
    base: Option<&Model>,
    global: &GlobalArgs,
) -> anyhow::Result<ModelAudit> {
    let bar = progress::bar(
        global,
        Some(0),
        &format!("spectral {}", model.path().display()),
        "matrices",
    );
    let report = |p: Progress| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
    };
    // On the `-j` pool `commands::run` set up.
    let result = match base {
        None => audit.run(model, &report),
        Some(b) => audit.run_with_base(model, b, &report),
    };
    bar.finish_and_clear();
    let result = result?;
    let zero: Vec<&str> = result
        .matrices
        .iter()
        .filter(|m| m.metrics.warning == Some(Warning::ZeroMatrix))
        .map(|m| m.name.as_str())
        .collect();
    if let Some(first) = zero.first() {
        tracing::warn!(
            "{}: {} all-zero matri{} ({first}{}): no fit; log norms, stable rank, entropy and erank left empty",
            model.path().display(),
            zero.len(),
            if zero.len() == 1 { "x" } else { "ces" },
            if zero.len() > 1 { ", …" } else { "" },
        );
    }
    Ok(result)
}

pub(crate) fn run(args: &SpectralArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let inputs: Vec<PathBuf> = std::iter::once(&args.model)
        .chain(&args.base)
        .chain(&args.prefix_map)
        .cloned()
        .collect();
    // Before any weights are read: never into (or around) the model.
    let out = OutputDir::prepare(&args.out, args.overwrite, &inputs)?;
    let prefix_map = args
        .prefix_map
        .as_deref()
        .map(read_prefix_map)
        .transpose()?;
    let audit = build_audit(&args.select, prefix_map)?;
    let model = Model::open(&args.model)?;
    let base = args.base.as_ref().map(Model::open).transpose()?;
    let result = audit_model(&audit, &model, base.as_ref(), global)?;
    let summary = ModelSummary::from_audit(&result);
    write_tables(&out, &result, args.select.fix_fingers)?;
    let json = summary_file(&model, &result, &summary, args);
    regime_corpus::write_json(&out.staged("summary.json"), &json)?;
    write_report(
        &out.staged("report.html"),
        &regime_report::spectral::spectral_page(&result, &summary),
    )?;
    let files: Vec<PathBuf> = model
        .files()
        .chain(base.iter().flat_map(Model::files))
        .map(Path::to_path_buf)
        .collect();
    let config = serde_json::json!({ "base": args.base, "prefix_map": args.prefix_map });
    out.commit(clock.manifest("spectral", config, None, &files, (0, 0))?)?;
    progress::summary(global, &summary_line(&result, &summary, &args.out));
    Ok(Outcome::Success)
}

pub(super) fn summary_line(audit: &ModelAudit, summary: &ModelSummary, out: &Path) -> String {
    let share = summary
        .share_alpha_2_6
        .map_or_else(|| "n/a".to_owned(), |s| format!("{:.2}%", s * 100.0));
    let median = summary
        .median_alpha
        .map_or_else(|| "n/a".to_owned(), |m| format!("{m:.3}"));
    let mut line = format!(
        "{}: {} matrices ({} skipped); alpha in [2,6]: {share}; median alpha {median}",
        audit.path.display(),
        summary.matrices,
        audit.skipped.len()
    );
    if let Some(base) = &audit.base {
        let _ = write!(
            line,
            "; {} matched with base ({} unmatched, {} shape mismatches)",
            base.matched,
            base.missing_in_base.len() + base.missing_in_model.len(),
            base.shape_mismatches.len()
        );
    }
    let _ = write!(line, " -> {}", out.display());
    line
}

pub(super) fn write_report(path: &Path, page: &regime_report::HtmlPage) -> anyhow::Result<()> {
    let mut file = AtomicFile::create(path)?;
    page.render(&mut file)
        .with_context(|| format!("writing {}", path.display()))?;
    file.commit()?;
    Ok(())
}

fn read_prefix_map(path: &Path) -> anyhow::Result<PrefixMap> {
    // A FIFO would block the read until something writes to it.
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{}: not a regular file", path.display());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))?;
    let object = value.as_object().with_context(|| {
        format!(
            "{}: expected a JSON object of prefix rewrites",
            path.display()
        )
    })?;
    let mut rules = Vec::with_capacity(object.len());
    for (from, to) in object {
        let to = to
            .as_str()
            .with_context(|| format!("{}: value of {from:?} is not a string", path.display()))?;
        rules.push((from.clone(), to.to_owned()));
    }
    // Longest prefixes first so specific rules win.
    rules.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    Ok(PrefixMap::with_rules(rules))
}

/// `summary.json`.
fn summary_file(
    model: &Model,
    audit: &ModelAudit,
    summary: &ModelSummary,
    args: &SpectralArgs,
) -> SummaryFile {
    let s = &args.select;
    SummaryFile {
        tool: "regime".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        model: model.path().display().to_string(),
        files: model.files().map(|p| p.display().to_string()).collect(),
        base: args.base.as_ref().map(|p| p.display().to_string()),
        tensors: audit.tensors,
        config: AuditConfig {
            include: s.include.clone(),
            exclude: s.exclude.clone(),
            min_evals: s.min_evals,
            max_evals: s.max_evals,
            max_n: s.max_n,
            fix_fingers: s.fix_fingers,
            esd: format!("{:?}", s.esd).to_lowercase(),
        },
        summary: summary.clone(),
        skipped: audit.skipped.clone(),
        alignment: audit.base.clone(),
    }
}

/// A column of the per-matrix table.
enum Col {
    Str(Vec<Option<String>>),
    U32(Vec<Option<u32>>),
    U64(Vec<Option<u64>>),
    F64(Vec<Option<f64>>),
}

impl Col {
    fn cell(&self, row: usize) -> String {
        match self {
            Self::Str(v) => v[row].as_deref().map(csv_escape).unwrap_or_default(),
            Self::U32(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Self::U64(v) => v[row].map(|x| x.to_string()).unwrap_or_default(),
            Self::F64(v) => v[row]
                .filter(|x| x.is_finite())
                .map(|x| x.to_string())
                .unwrap_or_default(),
        }
    }

    fn field(&self, name: &str) -> Field {
        let t = match self {
            Self::Str(_) => DataType::Utf8,
            Self::U32(_) => DataType::UInt32,
            Self::U64(_) => DataType::UInt64,
            Self::F64(_) => DataType::Float64,
        };
        Field::new(name, t, true)
    }

    fn array(&self) -> ArrayRef {
        match self {
            Self::Str(v) => Arc::new(StringArray::from(v.clone())),
            Self::U32(v) => Arc::new(UInt32Array::from(v.clone())),
            Self::U64(v) => Arc::new(UInt64Array::from(v.clone())),
            Self::F64(v) => Arc::new(Float64Array::from(
                v.iter()
                    .map(|x| x.filter(|f| f.is_finite()))
                    .collect::<Vec<_>>(),
            )),
        }
    }
}

/// One CSV field: quoted (with `"` doubled) when it holds a comma, quote or
/// line break, as RFC 4180 reads it. Shared by every spectral CSV.
pub(super) fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn columns(audit: &ModelAudit, fix_fingers: bool) -> Vec<(&'static str, Col)> {
    let ms = &audit.matrices;
    let s = |f: fn(&MatrixReport) -> Option<String>| Col::Str(ms.iter().map(f).collect());
    let u = |f: fn(&MatrixReport) -> Option<u64>| Col::U64(ms.iter().map(f).collect());
    let x = |f: fn(&MatrixReport) -> Option<f64>| Col::F64(ms.iter().map(f).collect());
    let mut cols = vec![
        ("name", s(|m| Some(m.name.clone()))),
        ("module", s(|m| Some(m.module.clone()))),
        ("layer", Col::U32(ms.iter().map(|m| m.layer).collect())),
        ("N", u(|m| Some(m.metrics.n as u64))),
        ("M", u(|m| Some(m.metrics.m as u64))),
        ("alpha", x(|m| m.metrics.fit.map(|f| f.alpha))),
        ("xmin", x(|m| m.metrics.fit.map(|f| f.xmin))),
        ("xmax", x(|m| m.metrics.fit.map(|f| f.xmax))),
        ("D", x(|m| m.metrics.fit.map(|f| f.d))),
        ("sigma", x(|m| m.metrics.fit.map(|f| f.sigma))),
        ("num_pl_spikes", u(|m| Some(m.metrics.num_pl_spikes as u64))),
        ("lambda_max", x(|m| Some(m.metrics.lambda_max))),
        ("norm", x(|m| Some(m.metrics.norm))),
        ("log_norm", x(|m| m.metrics.log_norm)),
        ("log_spectral_norm", x(|m| m.metrics.log_spectral_norm)),
        ("alpha_weighted", x(|m| m.metrics.alpha_weighted)),
        ("log_alpha_norm", x(|m| m.metrics.log_alpha_norm)),
        ("stable_rank", x(|m| m.metrics.stable_rank)),
        ("matrix_rank", u(|m| Some(m.metrics.matrix_rank as u64))),
        ("entropy", x(|m| m.metrics.entropy)),
        ("erank", x(|m| m.metrics.erank)),
        (
            "warning",
            s(|m| Some(m.metrics.warning.map_or("", |w| w.as_str()).to_owned())),
        ),
        ("tensor", s(|m| Some(m.tensor.clone()))),
    ];
    if fix_fingers {
        cols.push(("raw_alpha", x(|m| m.metrics.raw_alpha)));
        cols.push((
            "num_fingers",
            u(|m| m.metrics.num_fingers.map(|k| k as u64)),
        ));
    }
    if audit.base.is_some() {
        cols.extend([
            (
                "base_name",
                s(|m| m.delta.as_ref().map(|d| d.base_name.clone())),
            ),
            (
                "mean_change",
                x(|m| m.delta.as_ref().map(|d| d.mean_change)),
            ),
            (
                "change_variance",
                x(|m| m.delta.as_ref().map(|d| d.change_variance)),
            ),
            ("relative_change", x(|m| m.delta.as_ref()?.relative_change)),
            ("correlation", x(|m| m.delta.as_ref()?.correlation)),
            ("base_erank", x(|m| m.delta.as_ref()?.base_erank)),
            ("delta_erank", x(|m| m.delta.as_ref()?.delta_erank)),
            ("base_alpha", x(|m| m.delta.as_ref()?.base_alpha)),
            ("delta_alpha", x(|m| m.delta.as_ref()?.delta_alpha)),
            ("update_alpha", x(|m| m.delta.as_ref()?.update_alpha)),
        ]);
    }
    cols
}

/// Writes `layers.csv` and `layers.parquet` (same columns, same order).
pub(super) fn write_tables(
    out: &OutputDir,
    audit: &ModelAudit,
    fix_fingers: bool,
) -> anyhow::Result<()> {
    let cols = columns(audit, fix_fingers);
    let mut csv = cols.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",");
    csv.push('\n');
    for row in 0..audit.matrices.len() {
        let cells: Vec<String> = cols.iter().map(|(_, c)| c.cell(row)).collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    write_atomic(&out.staged("layers.csv"), csv.as_bytes())?;
    let schema = Arc::new(Schema::new(
        cols.iter().map(|(n, c)| c.field(n)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        cols.iter().map(|(_, c)| c.array()).collect(),
    )
    .context("building the layers table")?;
    let path: PathBuf = out.staged("layers.parquet");
    let mut file = AtomicFile::create(&path)?;
    {
        let mut writer = ArrowWriter::try_new(&mut file, schema, None)
            .with_context(|| format!("writing {}", path.display()))?;
        writer
            .write(&batch)
            .with_context(|| format!("writing {}", path.display()))?;
        writer
            .close()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    file.commit()?;
    Ok(())
}
