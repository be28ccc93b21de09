//! The condition builders' error type.

/// Everything that can go wrong building a condition.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("{option}: {reason}")]
    Config {
        /// The option, as the CLI spells it (e.g. `--split`).
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The input already has a column this stage adds.
    #[error("input already has a column named `{column}` (it is added by this stage)")]
    ReservedColumn {
        /// The column name.
        column: String,
    },
    /// Reading or writing the corpus failed.
    #[error(transparent)]
    Corpus(#[from] regime_corpus::Error),
    /// An Arrow kernel failed while assembling output rows.
    #[error("assembling output rows: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The teacher stopped the run (server unreachable, key or model
    /// refused, cache failure).
    #[error(transparent)]
    Teacher(#[from] regime_teacher::Error),
    /// A field could not be rewritten and `--on-failure fail` was asked.
    #[error("row {row} ({field}): rewrite failed: {cause}")]
    RewriteFailed {
        /// The row id.
        row: String,
        /// The field.
        field: String,
        /// Why.
        cause: String,
    },
    /// Writing a batch file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `--export-batch` names an input file, or a file inside an input
    /// directory: writing it would destroy or change the corpus.
    #[error("--export-batch {}: is the input {} or inside it", path.display(), input.display())]
    ExportIsInput {
        /// The batch file asked for.
        path: std::path::PathBuf,
        /// The input it would overwrite or land in.
        input: std::path::PathBuf,
    },
    /// `--export-batch` names an existing file and `--overwrite` was not
    /// given.
    #[error("--export-batch {}: file exists (pass --overwrite to replace it)", path.display())]
    ExportExists {
        /// The batch file asked for.
        path: std::path::PathBuf,
    },
    /// `--export-batch` names a directory (no `--overwrite` replaces one).
    #[error("--export-batch {}: is a directory (name a file to write the requests to)", path.display())]
    ExportIsDirectory {
        /// The path asked for.
        path: std::path::PathBuf,
    },
    /// The teacher is gone: this many fields in a row ran out of retries on
    /// connection failures, timeouts or rate limits. Answers received so
    /// far are cached, so a rerun resumes where this one stopped.
    #[error(
        "teacher unreachable: {fields} fields in a row failed after every retry (last: {cause}); stopped without writing the condition, answers so far are cached and a rerun resumes"
    )]
    TeacherGone {
        /// Fields that failed in a row.
        fields: u32,
        /// The last field's cause.
        cause: String,
    },
    /// The input ended before the number of rows counted up front.
    #[error(
        "input ended after {read} rows, {expected} were expected (did a file change during the run?)"
    )]
    ShortInput {
        /// Rows actually read.
        read: u64,
        /// Rows counted before the run.
        expected: u64,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
