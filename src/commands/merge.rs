//! `regime merge`: combines `regime profile --shard I/N` partial states and
//! writes the report a single run would have written.

use std::path::PathBuf;

use anyhow::Context;
use regime_corpus::OutputDir;

use super::Outcome;
use super::corpus::RunClock;
use super::profile::{AnyTokenizer, PARTIAL_FILE, Partial, summary_line};
use super::profile_output;
use crate::cli::{GlobalArgs, MergeArgs};
use crate::progress;

pub(crate) fn run(args: &MergeArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let mut merged: Option<Partial> = None;
    let mut files = Vec::new();
    for p in &args.partials {
        let path: PathBuf = if p.is_dir() {
            p.join(PARTIAL_FILE)
        } else {
            p.clone()
        };
        let file =
            std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        let partial: Partial = serde_json::from_reader(std::io::BufReader::new(file))
            .with_context(|| {
                format!("reading {} (not a regime profile partial?)", path.display())
            })?;
        files.push(path);
        match &mut merged {
            None => merged = Some(partial),
            Some(m) => {
                m.samples += partial.samples;
                m.state
                    .combine(partial.state)
                    .with_context(|| format!("merging {}", p.display()))?;
            }
        }
    }
    let merged = merged.context("no partial states given")?;
    let tokenizer = AnyTokenizer::load(args.tokenizer.as_deref().or(merged.tokenizer.as_deref()))?;
    let report = tokenizer.finalize(&merged.state);
    let out = OutputDir::prepare(&args.out, args.overwrite, &args.partials)?;
    profile_output::write_report(&out, &report)?;
    let manifest = clock.manifest(
        "profile (merge)",
        serde_json::to_value(merged.state.config())?,
        None,
        &files,
        (merged.samples, 0),
    )?;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    progress::summary(global, &summary_line(&report, &dir));
    Ok(Outcome::Success)
}
