//! `regime run RECIPE.toml`: a pipeline of subcommands from a TOML recipe,
//! resumable stage by stage, with one page (run.html) linking every report.

mod exec;
mod plan;
mod recipe;
mod schema;
mod stages;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use regime_report::run::RunStage;

use super::Outcome;
use crate::cli::{GlobalArgs, RunArgs, SchemaName};
use exec::{Decision, Selection};
pub(crate) use exec::{RunRecord, claim, stdout};
pub(crate) use plan::Context;
use plan::Plan;
pub(crate) use recipe::Source;
pub(crate) use schema::recipe_schema;

/// The run page in the output directory.
pub(crate) const PAGE: &str = "run.html";

pub(crate) fn run(args: &RunArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    if args.print_schema {
        super::schema::print(&mut std::io::stdout().lock(), SchemaName::Recipe)?;
        return Ok(Outcome::Success);
    }
    let path = args.recipe.as_deref().context("a RECIPE is required")?;
    let source = Source::read(path)?;
    let cx = Context {
        base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        out: args.out.clone(),
        input: None,
        stem: path
            .file_stem()
            .map_or_else(|| "run".to_owned(), |s| s.to_string_lossy().into_owned()),
    };
    let selection = match (&args.from, &args.only) {
        (Some(from), _) => Selection::From(from),
        (None, Some(only)) => Selection::Only(only),
        (None, None) => Selection::All,
    };
    run_source(&source, &cx, selection, args.dry_run, false, global)
}

/// Checks, plans and runs (or, with `dry_run`, prints) a recipe. `adopt`
/// lets the run take over a non-empty directory that is not a run's.
pub(crate) fn run_source(
    source: &Source,
    cx: &Context,
    selection: Selection<'_>,
    dry_run: bool,
    adopt: bool,
    global: &GlobalArgs,
) -> anyhow::Result<Outcome> {
    let plan = plan::plan(source, cx)?;
    let decisions = exec::decide(&plan, selection)?;
    if dry_run {
        print_plan(&plan, &decisions)?;
        return Ok(Outcome::Success);
    }
    exec::claim(&plan.out, adopt)?;
    let (record, failed) = exec::execute(&plan, &decisions, global)?;
    write_page(&plan, &decisions, &record)?;
    if global.quiet == 0 {
        print_outputs(&plan)?;
    }
    Ok(if failed {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

/// The plan on stdout: each stage, what it reads, where it writes, and
/// whether it would run.
fn print_plan(plan: &Plan, decisions: &[Decision]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "recipe {} → {}", plan.file, plan.out.display())?;
    for (i, (stage, decision)) in plan.stages.iter().zip(decisions).enumerate() {
        let what = match decision {
            Decision::Skip => "skip (up to date)".to_owned(),
            Decision::Run(why) => format!("run ({why})"),
            Decision::Leave => "not selected".to_owned(),
        };
        writeln!(
            out,
            "{:>2}. {} [{}]: {what}",
            i + 1,
            stage.name,
            stage.kind.run
        )?;
        writeln!(out, "    {}", shell_words(&stage.shown))?;
    }
    Ok(())
}

/// A command line as a shell would read it back.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@%+".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes OUT/run.html.
fn write_page(plan: &Plan, decisions: &[Decision], record: &RunRecord) -> anyhow::Result<()> {
    let stages: Vec<RunStage> = plan
        .stages
        .iter()
        .zip(decisions)
        .map(|(stage, decision)| page_stage(stage, decision, record))
        .collect();
    let title = format!("regime run {}", plan.file);
    let page = regime_report::run::run_page(&title, plan.description.as_deref(), &stages);
    let path = plan.out.join(PAGE);
    let mut file = regime_corpus::AtomicFile::create(&path)?;
    page.render(&mut file)
        .with_context(|| path.display().to_string())?;
    file.commit()?;
    Ok(())
}

fn page_stage(stage: &plan::PlannedStage, decision: &Decision, record: &RunRecord) -> RunStage {
    let done = record.stages.iter().find(|s| s.name == stage.name);
    let mut status = match (decision, done) {
        (Decision::Run(_), Some(_)) => "ran".to_owned(),
        (Decision::Skip, Some(_)) => "up to date".to_owned(),
        (Decision::Leave, Some(_)) => "not selected (earlier run)".to_owned(),
        (_, None) => "not run".to_owned(),
    };
    if let Some(done) = done {
        if done.check_failed() {
            status.push_str(" · CHECK FAILED");
        }
        let _ = write!(status, " · {:.1} s", done.elapsed_seconds);
    }
    let mut links = Vec::new();
    let mut figures = Vec::new();
    if done.is_some() {
        let names = [stage.kind.html, stage.kind.json, Some("manifest.json")];
        for name in names.into_iter().flatten() {
            if stage.dir.join(name).exists() {
                links.push((name.to_owned(), format!("{}/{name}", stage.name)));
            }
        }
        if let Some(json) = stage.kind.json {
            figures = read_figures(&stage.dir.join(json), stage.kind.figures);
        }
    }
    RunStage {
        name: stage.name.clone(),
        run: stage.kind.run.to_owned(),
        status,
        command: shell_words(&stage.shown),
        links,
        figures,
    }
}

/// The key figures of a stage's JSON: the listed pointers it has, else its
/// top-level scalars. Empty when the file is not JSON (a text report).
fn read_figures(path: &Path, pointers: &[(&str, &str)]) -> Vec<(String, String)> {
    let Some(value) = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return Vec::new();
    };
    let listed: Vec<(String, String)> = pointers
        .iter()
        .filter_map(|(label, pointer)| {
            value
                .pointer(pointer)
                .and_then(format_value)
                .map(|v| ((*label).to_owned(), v))
        })
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| format_value(v).map(|v| (k.clone(), v)))
                .take(10)
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON scalar for the page: integers as they are, other numbers with
/// four significant digits.
fn format_value(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        serde_json::Value::Number(n) => n.as_f64().map(significant),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `x` with four significant digits (no exponent for 1e-4 ≤ |x| < 1e6).
fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "magnitude is in [-4, 6), so 3 - magnitude is in (-3, 7]"
    )]
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    format!("{x:.decimals$}")
}

/// The stage directories and the page, on stdout: the run's result.
fn print_outputs(plan: &Plan) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "run outputs in {}:", plan.out.display())?;
    for stage in &plan.stages {
        writeln!(out, "  {:<16} {}", stage.name, stage.dir.display())?;
        for (name, dir) in &stage.writes_also {
            writeln!(out, "  {:<16} {}", name, dir.display())?;
        }
    }
    writeln!(
        out,
        "  {:<16} {}",
        "run.html",
        plan.out.join(PAGE).display()
    )?;
    Ok(())
}

/// The bundled quickstart recipe (`pipelines/quickstart.toml`).
pub(crate) const QUICKSTART: &str = include_str!("../../pipelines/quickstart.toml");

/// Runs an embedded recipe on the given corpus, into `out`.
pub(crate) fn run_embedded(
    text: &str,
    name: &str,
    corpus: PathBuf,
    out: PathBuf,
    adopt: bool,
    global: &GlobalArgs,
) -> anyhow::Result<Outcome> {
    let source = Source::parse(&format!("pipelines/{name}.toml"), text.to_owned())?;
    let cx = Context {
        base: PathBuf::new(),
        out: Some(out),
        input: Some(vec![corpus]),
        stem: name.to_owned(),
    };
    run_source(&source, &cx, Selection::All, false, adopt, global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.123_456), "0.1235");
        assert_eq!(significant(4.381_415), "4.381");
        assert_eq!(significant(5000.0), "5000");
        assert_eq!(significant(0.0), "0");
        assert_eq!(significant(1.5e-7), "1.500e-7");
    }

    #[test]
    fn shell_words_quote_only_when_needed() {
        let argv = ["regime", "audit-prompts", "a b", "it's"].map(String::from);
        assert_eq!(shell_words(&argv), r"regime audit-prompts 'a b' 'it'\''s'");
    }

    #[test]
    fn every_shipped_recipe_plans() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let source = Source::read(&path).unwrap();
            let cx = Context {
                base: dir.clone(),
                out: Some(PathBuf::from("out/test")),
                input: None,
                stem: "t".into(),
            };
            // Recipes that read the environment are checked with it set.
            if let Err(e) = plan::plan(&source, &cx) {
                assert!(
                    e.message.contains("environment variable"),
                    "{}: {e}",
                    path.display()
                );
            }
            seen += 1;
        }
        assert!(seen >= 6, "only {seen} recipes");
    }
}
