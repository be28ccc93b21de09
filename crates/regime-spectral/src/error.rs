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
    /// The model path is neither a regular file nor a directory (a FIFO,
    /// socket or device), refused before it is opened.
    #[error("{}: not a regular file or directory", path.display())]
    NotRegularFile {
        /// The path given.
        path: PathBuf,
    },
    /// Two `*.safetensors` files of a directory without an index hold a
    /// tensor of the same name, so which one is the model's is unknown.
    #[error(
        "tensor {name} is in both {} and {} (a model directory without {} holds each tensor once)",
        first.display(),
        second.display(),
        crate::model::INDEX_FILE
    )]
    DuplicateTensor {
        /// The tensor name.
        name: String,
        /// The file read first (in name order).
        first: PathBuf,
        /// The other file holding it.
        second: PathBuf,
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
    #[error("{}: tensor {name} holds NaN/Inf values ({count} of {total}); exclude it to audit the rest", path.display())]
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
    ///
    /// The message is one line: the pattern and the regex crate's reason
    /// (the last line of its report); `error` keeps the full, multi-line
    /// report with the caret. A caller naming its own option for the
    /// pattern (`--include`) puts that in front.
    #[error(
        "pattern {pattern:?} is not a valid regular expression: {}",
        regex_reason(error)
    )]
    Regex {
        /// Which pattern: `include` or `exclude`.
        option: &'static str,
        /// The pattern.
        pattern: String,
        /// The regex error (not chained as a source: its text spans lines).
        error: regex::Error,
    },
    /// A trend reference that is not one of the conditions of the labels.
    #[error(
        "{reference:?} is not one of the conditions ({})",
        if conditions.is_empty() {
            "none: labels of the form CONDITION@CHECKPOINT make conditions".to_owned()
        } else {
            conditions.join(", ")
        }
    )]
    UnknownReference {
        /// The reference given.
        reference: String,
        /// The conditions of the labels, in first-seen order (empty when the
        /// labels make no trajectory).
        conditions: Vec<String>,
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

/// The one-line reason of a regex error: a syntax error's `error: …` line
/// (the text above it repeats the pattern and points a caret at it), or the
/// whole message of any other.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(
            || text.split_whitespace().collect::<Vec<_>>().join(" "),
            str::to_owned,
        )
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
