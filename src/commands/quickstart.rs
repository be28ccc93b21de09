//! `regime quickstart`: the bundled quickstart recipe
//! (`pipelines/quickstart.toml`) on the bundled sample corpus, or on
//! `--corpus`, exactly as `regime run` runs it.

use super::Outcome;
use crate::cli::{GlobalArgs, QuickstartArgs};

/// The sample corpus, embedded so the quickstart runs from anywhere:
/// 5,000 LLaVA-style rows from easy-vqa (MIT), see `data/README.md`.
const SAMPLE: &[u8] = include_bytes!("../../data/easy_vqa_llava.parquet");
const SAMPLE_NAME: &str = "easy_vqa_llava.parquet";

pub(crate) fn run(args: &QuickstartArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    // Claimed before the sample is written into it, so the run recognises
    // the directory as its own.
    super::run::claim(&args.out, args.overwrite)?;
    let corpus = if let Some(path) = &args.corpus {
        path.clone()
    } else {
        // Written only when it differs, so a rerun finds its inputs
        // unchanged and skips every stage.
        let path = args.out.join(SAMPLE_NAME);
        if std::fs::read(&path).ok().as_deref() != Some(SAMPLE) {
            regime_corpus::write_atomic(&path, SAMPLE)?;
        }
        path
    };
    super::run::run_embedded(
        super::run::QUICKSTART,
        "quickstart",
        corpus,
        args.out.clone(),
        args.overwrite,
        global,
    )
}
