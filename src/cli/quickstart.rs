//! `regime quickstart`.

use std::path::PathBuf;

use clap::Args;

/// Run every stage on the bundled sample corpus and print where the outputs
/// are.
#[derive(Debug, Args)]
pub(crate) struct QuickstartArgs {
    /// Where to write the outputs.
    #[arg(long, short, default_value = "out/quickstart", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Run on this corpus instead of the bundled sample (5,000 LLaVA rows
    /// from easy-vqa, MIT).
    #[arg(long, value_name = "FILE")]
    pub(crate) corpus: Option<PathBuf>,
    /// Replace the contents of a non-empty output directory.
    #[arg(long)]
    pub(crate) overwrite: bool,
}
