//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `regime-text`.
///
/// Only loading and running a Hugging Face tokenizer and building a
/// configuration from user values can fail; the built-in tokenizer,
/// normalisation, segmentation and hashing are total functions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `tokenizer.json` could not be read or parsed.
    #[error("cannot load tokenizer {}", path.display())]
    TokenizerLoad {
        /// The file that was given.
        path: PathBuf,
        /// What the `tokenizers` crate reported.
        #[source]
        source: tokenizers::Error,
    },
    /// The Hugging Face tokenizer failed on one text.
    #[error("tokenizer failed on a text of {len} bytes")]
    Encode {
        /// Length of the text in bytes.
        len: usize,
        /// What the `tokenizers` crate reported.
        #[source]
        source: tokenizers::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid {what}: {reason}")]
    Config {
        /// The setting, e.g. `"minhash bands"`.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
}
