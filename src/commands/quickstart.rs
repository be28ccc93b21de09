//! `regime quickstart`: every stage that exists, on the bundled sample
//! corpus (or `--corpus`), with outputs under one directory.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Outcome;
use crate::cli::{
    ConditionCArgs, DedupOptions, GlobalArgs, InputArgs, InspectArgs, LayoutArg, OutputArgs,
    PromptDedupArgs, QuickstartArgs,
};
use crate::progress;

/// The sample corpus, embedded so the quickstart runs from anywhere:
/// 5,000 LLaVA-style rows from easy-vqa (MIT), see `data/README.md`.
const SAMPLE: &[u8] = include_bytes!("../../data/easy_vqa_llava.parquet");
const SAMPLE_NAME: &str = "easy_vqa_llava.parquet";

/// Marks a directory as a quickstart's, so rerunning the quickstart replaces
/// its own outputs but never a directory it did not make.
const MARKER: &str = ".regime-quickstart";

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
    let input = || InputArgs {
        inputs: vec![corpus.clone()],
        profile: None,
        fields: None,
    };
    let output = |dir: &str| OutputArgs {
        out: args.out.join(dir),
        overwrite: true,
        row_group_rows: regime_corpus::DEFAULT_ROW_GROUP_ROWS,
        zstd_level: regime_corpus::DEFAULT_ZSTD_LEVEL,
    };

    step(global, "inspect");
    super::inspect::run(
        &InspectArgs {
            input: input(),
            json: false,
        },
        global,
    )?;

    step(global, "condition c");
    let condition_c = output("condition-c");
    super::condition_c::run(
        &ConditionCArgs {
            input: input(),
            output: condition_c,
            split: regime_conditions::DEFAULT_SPLIT,
            fraction: None,
            repeat: None,
            layout: LayoutArg::Shuffled,
            seed: 7,
        },
        global,
    )?;

    step(global, "prompt-dedup");
    super::prompt_dedup::run(
        &PromptDedupArgs {
            input: input(),
            output: output("prompt-dedup"),
            dedup: DedupOptions {
                priority: regime_dedup::DEFAULT_PRIORITY
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect(),
                min_chars: regime_dedup::DEFAULT_MIN_CHARS,
                case_fold: false,
                protect: Vec::new(),
                top: regime_dedup::DEFAULT_TOP_TEMPLATES,
                worst: regime_dedup::DEFAULT_WORST,
            },
            empty_as_null: false,
            provenance: true,
        },
        global,
    )?;

    step(global, "profile");
    let profile = args.out.join("profile");
    run_stage(
        global,
        &[
            "profile".as_ref(),
            corpus.as_os_str(),
            "--out".as_ref(),
            profile.as_os_str(),
            "--overwrite".as_ref(),
        ],
    )?;

    step(global, "dedup near");
    let dedup = args.out.join("dedup-near");
    run_stage(
        global,
        &[
            "dedup".as_ref(),
            "near".as_ref(),
            corpus.as_os_str(),
            "--out".as_ref(),
            dedup.as_os_str(),
            "--overwrite".as_ref(),
        ],
    )?;

    let outputs: Vec<(&str, PathBuf)> = vec![
        ("sample corpus", corpus.clone()),
        ("profile", profile.join("report.html")),
        ("dedup (near)", dedup),
        ("condition C", args.out.join("condition-c")),
        ("prompt-dedup", args.out.join("prompt-dedup")),
    ];
    print_outputs(&args.out, &outputs)?;
    Ok(Outcome::Success)
}

/// Runs one stage from its command line, exactly as a user would type it
/// (so the quickstart exercises the real argument parsing).
fn run_stage(global: &GlobalArgs, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let mut argv: Vec<&std::ffi::OsStr> = vec!["regime".as_ref()];
    if global.quiet > 0 {
        argv.push("-q".as_ref());
    }
    if global.verbose > 0 {
        argv.push("-v".as_ref());
    }
    argv.extend_from_slice(args);
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(argv)?;
    super::run(&cli)?;
    Ok(())
}

fn step(global: &GlobalArgs, name: &str) {
    progress::summary(global, &format!("── {name}"));
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
