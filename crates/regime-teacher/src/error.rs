//! Errors that stop a teacher run (a single field's failure is not one of
//! these: it is an outcome recorded with the row).

use std::path::PathBuf;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a teacher run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A template is unusable.
    #[error("template `{name}`: {reason}")]
    Template {
        /// Which template (`en`, `zh` or a file path).
        name: String,
        /// Why.
        reason: String,
    },
    /// `--extra-body` is not an object of known request fields.
    #[error("--extra-body: {0}")]
    ExtraBody(String),
    /// A configuration value is out of range.
    #[error("{what}: {reason}")]
    Config {
        /// The option.
        what: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The teacher URL cannot be used.
    #[error("teacher URL `{url}`: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The teacher server could not be reached or answered the preflight
    /// wrongly.
    #[error("teacher at {url}: {reason}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server does not serve the requested model.
    #[error("teacher at {url} does not serve model `{model}` (it serves: {served})")]
    UnknownModel {
        /// The base URL.
        url: String,
        /// The model asked for.
        model: String,
        /// The models it lists.
        served: String,
    },
    /// The server refused in a way no other request can get past (bad key,
    /// unknown model, wrong endpoint): the run stops.
    #[error("teacher refused the request (HTTP {status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The response cache failed.
    #[error("response cache {path}: {source}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file where a response cache should be is not one.
    #[error("{}: not a regime teacher cache ({reason})", path.display())]
    NotACache {
        /// The file.
        path: PathBuf,
        /// What it lacks.
        reason: String,
    },
    /// A batch file line is malformed.
    #[error("{path}:{line}: {reason}")]
    Batch {
        /// The batch file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}
