//! `regime merge`: combines `regime profile --shard I/N` partial states and
//! writes the report a single run would have written.
//!
//! The partials must be one complete split: exactly one for each block
//! `0…N−1`, all computed from the same inputs with the same settings;
//! anything else is refused before any output is written. They are
//! combined in block order, whatever order they are given in.

use std::path::{Path, PathBuf};

use anyhow::Context;
use regime_corpus::OutputDir;
use regime_stats::ProfileState;
use regime_text::ProtectedTokens;

use super::Outcome;
use super::corpus::RunClock;
use super::profile::{
    AnyTokenizer, PARTIAL_FILE, PARTIAL_VERSION, Partial, STATE_FILE, summary_line, tokenizer_hash,
};
use super::profile_output;
use super::split::SplitCheck;
use crate::cli::{GlobalArgs, MergeArgs, parse_shard};
use crate::progress;

pub(crate) fn run(args: &MergeArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let mut merged: Option<(Partial, ProfileState)> = None;
    let mut split = SplitCheck::new("merge");
    let mut files = Vec::new();
    // The tokenizer hash the partials record (the check makes them agree).
    let mut counted_with: Option<String> = None;
    for GivenPartial {
        shard,
        given: p,
        path,
        mut partial,
    } in in_block_order(&args.partials)?
    {
        let (Some(settings), Some(inputs)) = (partial.settings.take(), partial.inputs.take())
        else {
            anyhow::bail!(
                "merge {}: the partial records no settings or inputs",
                p.display()
            );
        };
        if files.is_empty() {
            counted_with.clone_from(&settings.tokenizer);
        }
        split.add(p, shard, settings, inputs)?;
        let (state_path, state) = read_state(p, &path)?;
        files.extend([path, state_path]);
        match &mut merged {
            None => merged = Some((partial, state)),
            Some((m, merged_state)) => {
                m.samples += partial.samples;
                merged_state
                    .combine(state)
                    .with_context(|| format!("merging {}", p.display()))?;
            }
        }
    }
    split.finish()?;
    let (merged, state) = merged.context("no partial states given")?;
    // The tokenizer only names token ids here, so the file read, given or
    // recorded in the partials, must be the one they counted with.
    let tokenizer_path = args.tokenizer.as_deref().or(merged.tokenizer.as_deref());
    if let Some(path) = tokenizer_path {
        let which = if args.tokenizer.is_some() {
            "merge --tokenizer"
        } else {
            "the partials' tokenizer"
        };
        let hash = tokenizer_hash(path).with_context(|| {
            format!(
                "{which} {} (name it with merge --tokenizer FILE)",
                path.display()
            )
        })?;
        anyhow::ensure!(
            counted_with.as_deref() == Some(hash.as_str()),
            "{which} {}: not the tokenizer the partials were computed with (changed since?)",
            path.display()
        );
    }
    // Its protected tokens are the partials' for consistency.
    let protected =
        ProtectedTokens::default().with_tokens(state.config().protected().iter().cloned());
    let tokenizer = AnyTokenizer::load(tokenizer_path, &protected)?;
    let report = tokenizer.finalize(&state);
    let out = OutputDir::prepare(&args.out, args.overwrite, &args.partials)?;
    profile_output::write_report(&out, &report)?;
    let manifest = clock.manifest(
        "profile (merge)",
        serde_json::to_value(state.config())?,
        None,
        &files,
        (merged.samples, 0),
    )?;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    progress::summary(global, &summary_line(&report, &dir));
    Ok(Outcome::Success)
}

/// A partial as given to `regime merge`, its `partial.json` read.
struct GivenPartial<'a> {
    /// `(block, blocks)`.
    shard: (u64, u64),
    /// The path given (a `--shard` output directory or its `partial.json`).
    given: &'a Path,
    /// The `partial.json` read.
    path: PathBuf,
    /// What it holds.
    partial: Partial,
}

/// The partials, in block order: sketches (space-saving counters)
/// merge to different counts in another order, so the result must not
/// depend on the order the partials are given in (a shell glob puts `s10`
/// before `s2`). Only the small `partial.json` files are read here; the
/// states are read one at a time while merging.
fn in_block_order(partials: &[PathBuf]) -> anyhow::Result<Vec<GivenPartial<'_>>> {
    let mut blocks = Vec::with_capacity(partials.len());
    for p in partials {
        let (path, partial) = read_partial(p)?;
        let shard = parse_shard(&partial.shard)
            .map_err(|e| anyhow::anyhow!("merge {}: {e}", p.display()))?;
        blocks.push(GivenPartial {
            shard,
            given: p,
            path,
            partial,
        });
    }
    // Stable: a block given twice stays in the given order for the split
    // check to name.
    blocks.sort_by_key(|b| b.shard.0);
    Ok(blocks)
}

/// Reads `p`'s `partial.json` (or `p` itself), of this build's format.
fn read_partial(p: &Path) -> anyhow::Result<(PathBuf, Partial)> {
    regime_corpus::check_published(p)?;
    let path: PathBuf = if p.is_dir() {
        p.join(PARTIAL_FILE)
    } else {
        p.to_path_buf()
    };
    let file = std::fs::File::open(&path).with_context(|| {
        format!(
            "merge {}: not a `regime profile --shard` output",
            p.display()
        )
    })?;
    let partial: Partial = serde_json::from_reader(std::io::BufReader::new(file))
        .with_context(|| format!("merge {}: not a regime profile partial", p.display()))?;
    check_version(p, partial.version)?;
    Ok((path, partial))
}

/// Reads the state written beside the partial `given` (read from
/// `partial`, its `partial.json`), returning it with its path.
fn read_state(given: &Path, partial: &Path) -> anyhow::Result<(PathBuf, ProfileState)> {
    let path = partial.with_file_name(STATE_FILE);
    let what = || format!("merge {}: reading its {STATE_FILE}", given.display());
    let file = std::fs::File::open(&path).with_context(what)?;
    let decoder = zstd::stream::read::Decoder::new(file).with_context(what)?;
    let state = serde_json::from_reader(std::io::BufReader::new(decoder)).with_context(what)?;
    Ok((path, state))
}

fn check_version(p: &Path, version: u32) -> anyhow::Result<()> {
    anyhow::ensure!(
        version == PARTIAL_VERSION,
        "merge {}: partial state format {version} (this regime reads {PARTIAL_VERSION}); rerun its `regime profile --shard`",
        p.display(),
    );
    Ok(())
}
