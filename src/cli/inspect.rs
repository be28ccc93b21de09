//! `regime inspect`.

use clap::Args;

use super::InputArgs;

/// Show files, rows, row groups, schema, detected profile, field roles with
/// counts and one sample rendered by role.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The corpus.
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}
