//! `regime spectral` and `regime spectral-compare`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::number::at_least;

/// How eigenvalues are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EsdArg {
    /// Gram-matrix eigenvalues when well conditioned, SVD otherwise.
    Auto,
    /// Singular values (WeightWatcher's route).
    Svd,
    /// Gram-matrix eigenvalues always (fastest, less accurate for tiny λ).
    Gram,
}

/// Tensor selection and fit options shared by both spectral commands.
#[derive(Debug, Args)]
pub(crate) struct SpectralSelectArgs {
    /// Audit only tensors whose name matches this regex.
    #[arg(
        long,
        value_name = "RE",
        env = "REGIME_SPECTRAL_INCLUDE",
        help_heading = "Input options"
    )]
    pub(crate) include: Option<String>,
    /// Skip tensors whose name matches this regex.
    #[arg(
        long,
        value_name = "RE",
        env = "REGIME_SPECTRAL_EXCLUDE",
        help_heading = "Input options"
    )]
    pub(crate) exclude: Option<String>,
    /// Skip matrices with fewer eigenvalues (smaller side) than this [default: 8].
    #[arg(
        long,
        default_value_t = 8,
        allow_negative_numbers = true,
        value_parser = at_least(2_usize),
        value_name = "M",
        env = "REGIME_SPECTRAL_MIN_EVALS",
        help_heading = "Input options"
    )]
    pub(crate) min_evals: usize,
    /// Skip matrices with more eigenvalues (smaller side) than this [default: 15000].
    #[arg(
        long,
        default_value_t = 15_000,
        allow_negative_numbers = true,
        value_parser = at_least(0_usize),
        value_name = "M",
        env = "REGIME_SPECTRAL_MAX_EVALS",
        help_heading = "Input options"
    )]
    pub(crate) max_evals: usize,
    /// Skip matrices whose larger side exceeds this (large embeddings, `lm_head`) [default: 50000].
    #[arg(
        long,
        default_value_t = 50_000,
        allow_negative_numbers = true,
        value_parser = at_least(0_usize),
        value_name = "N",
        env = "REGIME_SPECTRAL_MAX_N",
        help_heading = "Input options"
    )]
    pub(crate) max_n: usize,
    /// Refit with the top 2…9 eigenvalues clipped when they distort the fit (WeightWatcher's `clip_xmax`).
    #[arg(
        long,
        env = "REGIME_SPECTRAL_FIX_FINGERS",
        help_heading = "Input options"
    )]
    pub(crate) fix_fingers: bool,
    /// Eigenvalue route [default: auto].
    #[arg(long, value_enum, default_value_t = EsdArg::Auto, env = "REGIME_SPECTRAL_ESD", help_heading = "Input options")]
    pub(crate) esd: EsdArg,
}

/// Per-layer spectral diagnostics of a safetensors model (WeightWatcher-compatible).
///
/// MODEL is a .safetensors file or a directory with model.safetensors or
/// sharded files plus model.safetensors.index.json (the index file stands
/// for its directory); f32, f16, bf16 or f64.
/// Writes DIR/layers.csv, DIR/layers.parquet (one row per matrix),
/// DIR/summary.json and DIR/report.html. With --base, adds the change of
/// every matrix since the base checkpoint.
#[derive(Debug, Args)]
pub(crate) struct SpectralArgs {
    /// The model: a safetensors file or a model directory.
    #[arg(value_name = "MODEL")]
    pub(crate) model: PathBuf,
    /// Output directory (created if missing).
    #[arg(long, short, value_name = "DIR", help_heading = "Output options")]
    pub(crate) out: PathBuf,
    /// Replace the contents of a non-empty output directory.
    #[arg(long, help_heading = "Output options")]
    pub(crate) overwrite: bool,
    /// A base checkpoint of the same architecture: adds relative change, correlation, change variance, Δerank, Δα.
    #[arg(long, value_name = "MODEL", help_heading = "Input options")]
    pub(crate) base: Option<PathBuf>,
    /// JSON object of extra name-prefix rewrites used to align --base names, e.g. {"mm.llm.": "model."}.
    #[arg(long, value_name = "FILE", help_heading = "Input options")]
    pub(crate) prefix_map: Option<PathBuf>,
    /// Selection and fit options.
    #[command(flatten)]
    pub(crate) select: SpectralSelectArgs,
}

/// Compare the spectral audits of several models or checkpoints in one table and report.
///
/// Labels of the form CONDITION@CHECKPOINT (e.g. A@2k A@20k B@2k B@20k)
/// make a trajectory: the α∈[2,6] share per checkpoint and a trend label per
/// condition (Stable, Stuck, Recover, Gap) judged against --reference.
/// Checkpoints are put in training order by the step their names give (2k
/// before 20k; also 2000, step-500, 1.5M), whatever the order of the models;
/// when some name gives no step (final), they stay in the order first given
/// and a warning says so.
#[derive(Debug, Args)]
pub(crate) struct SpectralCompareArgs {
    /// The models (files or directories).
    #[arg(value_name = "MODEL", required = true, num_args = 1..)]
    pub(crate) models: Vec<PathBuf>,
    /// Output directory (created if missing): compare.csv, compare.json, report.html.
    #[arg(long, short, value_name = "DIR", help_heading = "Output options")]
    pub(crate) out: PathBuf,
    /// Replace the contents of a non-empty output directory.
    #[arg(long, help_heading = "Output options")]
    pub(crate) overwrite: bool,
    /// One label per model (default: the file or directory name).
    #[arg(long, value_name = "LABEL", num_args = 1.., help_heading = "Input options")]
    pub(crate) labels: Vec<String>,
    /// The reference condition (or label) for trend labels [default: the first condition].
    #[arg(long, value_name = "LABEL", help_heading = "Input options")]
    pub(crate) reference: Option<String>,
    /// Selection and fit options.
    #[command(flatten)]
    pub(crate) select: SpectralSelectArgs,
}
