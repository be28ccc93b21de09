//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or auditing it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, mapped or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The path is neither a safetensors file nor a directory holding one.
    #[error("{}: no model.safetensors, model.safetensors.index.json or *.safetensors found", path.display())]
    NoModel {
        /// The path given.
        path: PathBuf,
    },
    /// The file is not a valid safetensors file (bad header, truncated data, bad offsets).
    #[error("{}: not a valid safetensors file: {reason}", path.display())]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What the parser reported.
        reason: String,
    },
    /// `model.safetensors.index.json` is malformed or names a missing shard.
    #[error("{}: bad safetensors index ({reason})", path.display())]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A selected tensor has a dtype this crate cannot convert to f64.
    #[error("{}: tensor {name} has unsupported dtype {dtype} (supported: F64, F32, F16, BF16)", path.display())]
    UnsupportedDtype {
        /// The file holding the tensor.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The dtype as safetensors names it.
        dtype: String,
    },
    /// A selected tensor holds NaN or infinite values (checked before decomposing).
    #[error("{}: tensor {name} holds NaN/Inf values ({count} of {total})", path.display())]
    NonFinite {
        /// The file holding the tensor.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// How many values are NaN or ±∞.
        count: usize,
        /// Values read (the tensor, or the fused third being audited).
        total: usize,
    },
    /// Nothing was left to audit after selection.
    #[error("{}: no 2-D weight matrix to audit ({total} tensors, {skipped} skipped by shape or filters)", path.display())]
    NoMatrices {
        /// The model path.
        path: PathBuf,
        /// Tensors in the model.
        total: usize,
        /// Tensors skipped.
        skipped: usize,
    },
    /// The `--base` model does not have the same architecture.
    #[error(
        "{}: base model is not the same architecture ({matched} of {total} matrices match by name and shape)",
        path.display()
    )]
    BaseMismatch {
        /// The base model path.
        path: PathBuf,
        /// Matrices matched by aligned name and shape.
        matched: usize,
        /// Matrices audited in the model.
        total: usize,
    },
    /// An include/exclude pattern is not a valid regular expression.
    #[error("invalid regular expression {pattern:?}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The eigen or singular value decomposition did not converge.
    #[error("tensor {name}: eigen/singular value decomposition did not converge")]
    NoConvergence {
        /// The tensor name.
        name: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
