//! Running a plan: deciding which stages are up to date, running the rest
//! in-process through the real argument parser, and keeping `run.json`
//! (what each stage ran with) current after every stage.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use regime_corpus::{InputRecord, MANIFEST_FILE, Manifest, OutputDir, hash_file, hash_inputs};
use serde::{Deserialize, Serialize};

use super::plan::{Plan, PlannedStage};
use super::stages::Writes;
use crate::cli::GlobalArgs;
use crate::commands::Outcome;

/// The run's record in its output directory.
pub(crate) const RUN_FILE: &str = "run.json";

/// Marks a directory as a run's, so a rerun may replace its contents.
const MARKER: &str = ".regime-run";

/// The marker of directories written by `regime quickstart` before it ran
/// recipes; still accepted as ours.
const OLD_MARKER: &str = ".regime-quickstart";

thread_local! {
    /// stdout of the stage running on this thread, when captured.
    static CAPTURE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// stdout for commands: the process's, or the running stage's capture.
pub(crate) struct StageStdout;

/// Where a command writes the data it prints (so `regime run` can keep a
/// stage's output in its directory).
pub(crate) fn stdout() -> StageStdout {
    StageStdout
}

impl Write for StageStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with_borrow_mut(|capture| match capture {
            Some(bytes) => {
                bytes.extend_from_slice(buf);
                Ok(buf.len())
            }
            None => std::io::stdout().lock().write(buf),
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        CAPTURE.with_borrow(|capture| match capture {
            Some(_) => Ok(()),
            None => std::io::stdout().lock().flush(),
        })
    }
}

/// `run.json`: what every completed stage ran with.
#[derive(Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct RunRecord {
    /// The tool version of the last run.
    pub(crate) version: String,
    /// The recipe file.
    pub(crate) recipe: String,
    /// Completed stages.
    pub(crate) stages: Vec<StageRecord>,
}

/// One completed stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct StageRecord {
    /// Stage name.
    pub(crate) name: String,
    /// The subcommand.
    pub(crate) run: String,
    /// The command line it ran.
    pub(crate) command: Vec<String>,
    /// Tool version.
    pub(crate) version: String,
    /// Every file it read, with content hashes.
    pub(crate) inputs: Vec<InputRecord>,
    /// xxh3-128 of the stage's manifest.json when it finished.
    pub(crate) manifest_xxh3: String,
    /// `ok`, or `check-failed` for a gate over its limits.
    pub(crate) outcome: String,
    /// Wall time in seconds.
    pub(crate) elapsed_seconds: f64,
}

impl StageRecord {
    /// Whether the stage is a gate whose check failed.
    pub(crate) fn check_failed(&self) -> bool {
        self.outcome == CHECK_FAILED
    }
}

/// [`StageRecord::outcome`] of a gate over its limits.
const CHECK_FAILED: &str = "check-failed";

/// Which stages this invocation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection<'a> {
    /// Every stage that is not up to date, and every stage after one.
    All,
    /// This stage and every stage after it.
    From(&'a str),
    /// Only this stage.
    Only(&'a str),
}

/// What happens to a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Up to date: not run.
    Skip,
    /// Run, and why.
    Run(String),
    /// Not selected (`--only` / `--from`).
    Leave,
}

/// Decides every stage's fate without running anything.
///
/// # Errors
/// An unknown stage in `--from` / `--only`, or a selected stage whose input
/// stage has not completed.
pub(crate) fn decide(plan: &Plan, selection: Selection<'_>) -> anyhow::Result<Vec<Decision>> {
    let record = read_record(&plan.out);
    let position = |name: &str| {
        plan.stages
            .iter()
            .position(|s| s.name == name)
            .with_context(|| {
                let names: Vec<&str> = plan.stages.iter().map(|s| s.name.as_str()).collect();
                format!(
                    "{}: no stage named `{name}` (stages: {})",
                    plan.file,
                    names.join(", ")
                )
            })
    };
    let mut decisions = Vec::with_capacity(plan.stages.len());
    match selection {
        Selection::All => {
            let mut first_run: Option<&str> = None;
            for stage in &plan.stages {
                let decision = match first_run {
                    None => match stale(stage, record.as_ref()) {
                        None => Decision::Skip,
                        Some(why) => {
                            first_run = Some(&stage.name);
                            Decision::Run(why)
                        }
                    },
                    // Every stage after one that runs runs too, so its
                    // inputs are not hashed. The reason is the nearest one:
                    // its own record, else a stage it reads, else the rule.
                    Some(first) => Decision::Run(
                        stale_record(stage, record.as_ref())
                            .unwrap_or_else(|| cascade_reason(plan, stage, &decisions, first)),
                    ),
                };
                decisions.push(decision);
            }
        }
        Selection::From(name) | Selection::Only(name) => {
            let at = position(name)?;
            for (i, _) in plan.stages.iter().enumerate() {
                let chosen = i == at || (i > at && matches!(selection, Selection::From(_)));
                decisions.push(if chosen {
                    Decision::Run(format!(
                        "selected by --{}",
                        if i == at && matches!(selection, Selection::Only(_)) {
                            "only"
                        } else {
                            "from"
                        }
                    ))
                } else {
                    Decision::Leave
                });
            }
            for (i, stage) in plan.stages.iter().enumerate() {
                if decisions[i] == Decision::Leave {
                    continue;
                }
                for &dep in &stage.after {
                    let upstream = &plan.stages[dep];
                    if decisions[dep] != Decision::Leave {
                        continue;
                    }
                    // Its index directories too: a stage may read only those.
                    if let Some(what) = damaged_stage(upstream) {
                        anyhow::bail!(
                            "{}: stage `{}` reads the output of `{}`, which has not run yet or is incomplete ({what} missing or changed; run without --from/--only first)",
                            plan.file,
                            stage.name,
                            upstream.name
                        );
                    }
                }
            }
        }
    }
    Ok(decisions)
}

/// Why a stage whose own record is current runs once `first` runs: the
/// latest stage it reads that runs, else the rule that every stage after a
/// stage that runs runs too.
fn cascade_reason(
    plan: &Plan,
    stage: &PlannedStage,
    decisions: &[Decision],
    first: &str,
) -> String {
    let upstream = stage
        .after
        .iter()
        .copied()
        .filter(|&d| matches!(decisions.get(d), Some(Decision::Run(_))))
        .max();
    match upstream.and_then(|d| plan.stages.get(d)) {
        Some(upstream) => format!("reads `{}`, which runs", upstream.name),
        None => format!("after `{first}`, which runs"),
    }
}

/// Why `stage` must run, or `None` when its record, manifest and inputs
/// match.
fn stale(stage: &PlannedStage, record: Option<&RunRecord>) -> Option<String> {
    if let Some(why) = stale_record(stage, record) {
        return Some(why);
    }
    let recorded = record
        .and_then(|r| r.stages.iter().find(|s| s.name == stage.name))
        .map(|s| &s.inputs);
    match fingerprint(stage) {
        Ok(inputs) if Some(&inputs) == recorded => None,
        Ok(_) => Some("inputs changed".into()),
        Err(_) => Some("inputs missing".into()),
    }
}

/// Why `stage` must run by its record and manifest alone (without hashing
/// its inputs), or `None` when they match.
fn stale_record(stage: &PlannedStage, record: Option<&RunRecord>) -> Option<String> {
    let Some(done) = record.and_then(|r| r.stages.iter().find(|s| s.name == stage.name)) else {
        return Some("not run yet".into());
    };
    if done.version != env!("CARGO_PKG_VERSION") {
        return Some(format!(
            "tool version {} → {}",
            done.version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    if without_threads(&done.command) != without_threads(&stage.shown) {
        return Some("options changed".into());
    }
    match hash_file(&stage.dir.join(MANIFEST_FILE)) {
        Ok((_, hash)) if format!("{hash:032x}") == done.manifest_xxh3 => {
            damaged_stage(stage).map(|name| format!("output {name} changed or missing"))
        }
        _ => Some("outputs changed or missing".into()),
    }
}

/// The first output of `stage`, in its directory or in one it also writes
/// (an index: `NAME/FILE`), that is missing or not as written.
fn damaged_stage(stage: &PlannedStage) -> Option<String> {
    damaged_output(&stage.dir).or_else(|| {
        stage
            .writes_also
            .iter()
            .find_map(|(extra, dir)| damaged_output(dir).map(|name| format!("{extra}/{name}")))
    })
}

/// The first output the manifest in `dir` lists that is missing or not of
/// the size it was written with (a file deleted or cut short since).
fn damaged_output(dir: &Path) -> Option<String> {
    let Ok(Some(manifest)) = Manifest::read(dir) else {
        return Some(MANIFEST_FILE.into());
    };
    manifest
        .outputs
        .iter()
        .find(|output| {
            std::fs::metadata(dir.join(&output.path)).map_or(true, |m| m.len() != output.bytes)
        })
        .map(|output| output.path.clone())
}

/// A stage's command line without `--threads N`: outputs are the same at
/// any thread count, so a change of it alone is no reason to run again.
fn without_threads(argv: &[String]) -> Vec<&str> {
    let mut kept = Vec::with_capacity(argv.len());
    let mut words = argv.iter().map(String::as_str);
    while let Some(word) = words.next() {
        if word == "--threads" {
            words.next();
        } else if !word.starts_with("--threads=") {
            kept.push(word);
        }
    }
    kept
}

/// Every file a stage reads, with its content hash.
fn fingerprint(stage: &PlannedStage) -> anyhow::Result<Vec<InputRecord>> {
    let mut paths: Vec<PathBuf> = if stage.corpus.is_empty() {
        Vec::new()
    } else {
        regime_corpus::resolve_inputs(&stage.corpus)?
            .into_iter()
            .map(|f| f.path)
            .collect()
    };
    for path in &stage.files {
        walk(path, &mut paths)?;
    }
    Ok(hash_inputs(&paths)?)
}

/// A file, or every non-hidden file under a directory, in sorted order.
fn walk(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| path.display().to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .collect();
        entries.sort();
        for entry in entries {
            walk(&entry, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn read_record(out: &Path) -> Option<RunRecord> {
    let bytes = std::fs::read(out.join(RUN_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_record(out: &Path, record: &RunRecord) -> anyhow::Result<()> {
    regime_corpus::write_json(&out.join(RUN_FILE), record)?;
    Ok(())
}

/// Claims the output directory: refuses one holding anything but a
/// previous run, unless `adopt`.
pub(crate) fn claim(out: &Path, adopt: bool) -> anyhow::Result<()> {
    let ours = out.join(MARKER).exists() || out.join(OLD_MARKER).exists();
    if out.exists()
        && !ours
        && !adopt
        && std::fs::read_dir(out)
            .with_context(|| out.display().to_string())?
            .next()
            .is_some()
    {
        anyhow::bail!(
            "{}: output directory is not empty and not a regime run's (give the run another with `regime run RECIPE --out DIR`, or set `out` in the recipe)",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    std::fs::write(out.join(MARKER), b"").with_context(|| out.display().to_string())?;
    Ok(())
}

/// Runs the plan's stages as decided; returns the run record and whether
/// a gate failed.
///
/// # Errors
/// The first stage that fails, named.
pub(crate) fn execute(
    plan: &Plan,
    decisions: &[Decision],
    global: &GlobalArgs,
) -> anyhow::Result<(RunRecord, bool)> {
    let mut record = read_record(&plan.out).unwrap_or_default();
    record.version = env!("CARGO_PKG_VERSION").into();
    record.recipe.clone_from(&plan.file);
    record
        .stages
        .retain(|s| plan.stages.iter().any(|p| p.name == s.name));
    let total = plan.stages.len();
    for (i, (stage, decision)) in plan.stages.iter().zip(decisions).enumerate() {
        let label = format!("── {}/{total} {} ({})", i + 1, stage.name, stage.kind.run);
        match decision {
            Decision::Leave | Decision::Skip => {
                let skipped = matches!(decision, Decision::Skip);
                let how = if skipped {
                    "up to date, skipped"
                } else {
                    "not selected"
                };
                // A gate that failed still fails the run: say which, and
                // show its report again, as the run that failed did.
                if record
                    .stages
                    .iter()
                    .any(|s| s.name == stage.name && s.check_failed())
                {
                    crate::progress::summary(
                        global,
                        &format!("{label}: {how}; its check failed in an earlier run"),
                    );
                    // Best effort: a report removed since must not fail a
                    // run that does not select the stage.
                    if let Err(e) = echo_failed_report(stage) {
                        tracing::warn!(
                            "stage `{}`: its report cannot be shown again: {e:#}",
                            stage.name
                        );
                    }
                } else if skipped {
                    crate::progress::summary(global, &format!("{label}: {how}"));
                }
                continue;
            }
            Decision::Run(why) => crate::progress::summary(global, &format!("{label}: {why}")),
        }
        // Forget the stage before it starts: a run killed from here on
        // leaves no record, so the next run redoes it.
        record.stages.retain(|s| s.name != stage.name);
        write_record(&plan.out, &record)?;
        let inputs = fingerprint(stage).with_context(|| format!("stage `{}`", stage.name))?;
        let started = Instant::now();
        let outcome = run_stage(stage, global)
            .with_context(|| format!("stage `{}` ({})", stage.name, stage.kind.run))?;
        let (_, hash) = hash_file(&stage.dir.join(MANIFEST_FILE))?;
        let done = StageRecord {
            name: stage.name.clone(),
            run: stage.kind.run.into(),
            command: stage.shown.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            inputs,
            manifest_xxh3: format!("{hash:032x}"),
            outcome: if outcome == Outcome::CheckFailed {
                CHECK_FAILED.into()
            } else {
                "ok".into()
            },
            elapsed_seconds: started.elapsed().as_secs_f64(),
        };
        // Keep plan order in the record.
        record.stages.push(done);
        record.stages.sort_by_key(|s| {
            plan.stages
                .iter()
                .position(|p| p.name == s.name)
                .unwrap_or(usize::MAX)
        });
        write_record(&plan.out, &record)?;
    }
    let failed = record.stages.iter().any(StageRecord::check_failed);
    Ok((record, failed))
}

/// Prints again the report a gate stage captured when its check failed.
fn echo_failed_report(stage: &PlannedStage) -> anyhow::Result<()> {
    if let Writes::Stdout { file, echo: true } = stage.kind.writes {
        let path = stage.dir.join(file);
        let report = std::fs::read(&path).with_context(|| path.display().to_string())?;
        std::io::stdout().lock().write_all(&report)?;
    }
    Ok(())
}

/// Runs one stage in this process, from its command line.
fn run_stage(stage: &PlannedStage, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let started = Instant::now();
    match stage.kind.writes {
        Writes::Corpus | Writes::Report => run_argv(global, &stage.argv),
        Writes::Stdout { file, echo } => {
            let out = OutputDir::prepare(&stage.dir, true, &[] as &[PathBuf])?;
            CAPTURE.with_borrow_mut(|c| *c = Some(Vec::new()));
            let result = run_argv(global, &stage.argv);
            let captured = CAPTURE.with_borrow_mut(Option::take).unwrap_or_default();
            let outcome = result?;
            std::fs::write(out.staged(file), &captured)
                .with_context(|| stage.dir.join(file).display().to_string())?;
            out.commit(stage_manifest(stage, started_unix, started)?)?;
            // A failed gate's report is what a CI log must show.
            if echo && outcome == Outcome::CheckFailed {
                std::io::stdout().lock().write_all(&captured)?;
            }
            Ok(outcome)
        }
    }
}

/// The manifest the runner writes for a stage that writes none itself.
fn stage_manifest(
    stage: &PlannedStage,
    started_unix: u64,
    started: Instant,
) -> anyhow::Result<Manifest> {
    Ok(Manifest {
        tool: "regime".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        stage: stage.kind.run.into(),
        command: stage.shown.clone(),
        config: stage.config.clone(),
        seed: None,
        inputs: fingerprint(stage)?,
        rows_in: 0,
        rows_out: 0,
        outputs: Vec::new(),
        started_unix,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Parses `argv` (which starts with `regime`) with the real parser, adds
/// the run's `-q` / `-v`, and runs it.
pub(crate) fn run_argv(global: &GlobalArgs, argv: &[String]) -> anyhow::Result<Outcome> {
    let mut command_line: Vec<&str> = Vec::with_capacity(argv.len() + 2);
    command_line.extend(argv.first().map(String::as_str));
    if global.quiet > 0 {
        command_line.push("-q");
    }
    if global.verbose > 0 {
        command_line.push("-v");
    }
    command_line.extend(argv.iter().skip(1).map(String::as_str));
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(command_line)?;
    crate::commands::run(&cli)
}
