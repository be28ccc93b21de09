//! The crate's error type.

/// Everything that can go wrong in `regime-dedup`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or malformed.
    #[error("invalid {what}: {reason}")]
    Config {
        /// The setting, e.g. `"priority"`.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// Reading or writing the corpus failed.
    #[error(transparent)]
    Corpus(#[from] regime_corpus::Error),
    /// Building an output column failed.
    #[error("column `{column}`: {source}")]
    Arrow {
        /// The column being rebuilt.
        column: String,
        /// What Arrow said.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// The generator's source corpus lacks what it needs.
    #[error("{0}")]
    Source(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
