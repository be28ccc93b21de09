//! `regime quickstart`: every corpus stage that exists, on the bundled
//! sample corpus (or `--corpus`), with outputs under one directory.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Outcome;
use crate::cli::{GlobalArgs, QuickstartArgs};
use crate::progress;

/// The sample corpus, embedded so the quickstart runs from anywhere:
/// 5,000 LLaVA-style rows from easy-vqa (MIT), see `data/README.md`.
const SAMPLE: &[u8] = include_bytes!("../../data/easy_vqa_llava.parquet");
const SAMPLE_NAME: &str = "easy_vqa_llava.parquet";

/// Marks a directory as a quickstart's, so rerunning the quickstart replaces
/// its own outputs but never a directory it did not make.
const MARKER: &str = ".regime-quickstart";

/// A stage: its name, the subcommand words, its output directory (if any)
/// and extra flags.
type Stage = (
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static [&'static str],
);

/// The stages, run in this order.
const STAGES: &[Stage] = &[
    ("inspect", &["inspect"], None, &[]),
    ("profile", &["profile"], Some("profile"), &[]),
    (
        "prompt-dedup",
        &["prompt-dedup"],
        Some("prompt-dedup"),
        &["--provenance"],
    ),
    ("dedup near", &["dedup", "near"], Some("dedup-near"), &[]),
    (
        "condition c",
        &["condition", "c"],
        Some("condition-c"),
        &["--seed", "7"],
    ),
];

pub(crate) fn run(args: &QuickstartArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let ours = args.out.join(MARKER).exists();
    if args.out.exists()
        && !ours
        && !args.overwrite
        && std::fs::read_dir(&args.out)?.next().is_some()
    {
        anyhow::bail!(
            "{}: output directory is not empty (pass --overwrite to replace its contents)",
            args.out.display()
        );
    }
    std::fs::create_dir_all(&args.out).with_context(|| args.out.display().to_string())?;
    std::fs::write(args.out.join(MARKER), b"").with_context(|| args.out.display().to_string())?;
    let corpus = if let Some(path) = &args.corpus {
        path.clone()
    } else {
        let path = args.out.join(SAMPLE_NAME);
        regime_corpus::write_atomic(&path, SAMPLE)?;
        path
    };
    let mut outputs: Vec<(&str, PathBuf)> = vec![("sample corpus", corpus.clone())];
    for (name, words, out, extra) in STAGES {
        progress::summary(global, &format!("── {name}"));
        let mut stage: Vec<&OsStr> = words.iter().map(OsStr::new).collect();
        stage.push(corpus.as_os_str());
        let dir = out.map(|d| args.out.join(d));
        if let Some(dir) = &dir {
            stage.extend([
                OsStr::new("--out"),
                dir.as_os_str(),
                OsStr::new("--overwrite"),
            ]);
        }
        stage.extend(extra.iter().map(OsStr::new));
        run_stage(global, &stage).with_context(|| format!("quickstart stage {name}"))?;
        if let Some(dir) = dir {
            outputs.push((name, dir));
        }
    }
    print_outputs(&args.out, &outputs)?;
    Ok(Outcome::Success)
}

/// Runs one stage from its command line, exactly as a user would type it
/// (so the quickstart exercises the real argument parsing).
fn run_stage(global: &GlobalArgs, stage: &[&OsStr]) -> anyhow::Result<()> {
    let mut command_line: Vec<&OsStr> = vec![OsStr::new("regime")];
    if global.quiet > 0 {
        command_line.push(OsStr::new("-q"));
    }
    if global.verbose > 0 {
        command_line.push(OsStr::new("-v"));
    }
    command_line.extend_from_slice(stage);
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(command_line)?;
    super::run(&cli)?;
    Ok(())
}

/// The paths go to stdout: they are the command's result.
fn print_outputs(root: &Path, outputs: &[(&str, PathBuf)]) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "quickstart outputs in {}:", root.display())?;
    for (what, path) in outputs {
        writeln!(stdout, "  {what:<16} {}", path.display())?;
    }
    Ok(())
}
