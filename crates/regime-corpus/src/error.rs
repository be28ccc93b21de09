//! The corpus layer's error type.

use std::path::PathBuf;

/// Everything that can go wrong reading, mapping or writing a corpus.
///
/// Every variant names the file, column or row that caused it, so the binary
/// can print one self-explanatory line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input path, directory or glob matched nothing.
    #[error("{}: no such file or directory", path.display())]
    MissingInput {
        /// The path as given.
        path: PathBuf,
    },
    /// A directory held no file of a supported format.
    #[error("{}: directory holds no .parquet, .jsonl or .arrow files", path.display())]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A glob pattern was malformed or matched nothing.
    #[error("{pattern}: {reason}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// Why it failed.
        reason: String,
    },
    /// A file's extension names no format regime reads.
    #[error("{}: unsupported file type (expected .parquet, .jsonl, .jsonl.gz, .jsonl.zst, .json or .arrow)", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// A field asked to be read as JSON text cannot be.
    #[error("{}: cannot read `{field}` as JSON text: {problem}", path.display())]
    JsonText {
        /// The file.
        path: PathBuf,
        /// The field's path as given.
        field: String,
        /// Why.
        problem: JsonTextProblem,
    },
    /// A file is not a valid parquet file (bad magic, truncated footer, …).
    #[error("{}: not a valid parquet file: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the parquet reader said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Writing a parquet output failed.
    #[error("{}: writing parquet: {source}", path.display())]
    ParquetWrite {
        /// The file being written (or the output directory).
        path: PathBuf,
        /// What the parquet writer said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Rows given to a [`PartSplicer`](crate::PartSplicer) do not continue
    /// where the last ones ended.
    #[error("{}: rows from {found} given where row {expected} was due (batches must follow the input's order)", path.display())]
    RowsOutOfOrder {
        /// The input file the rows were said to come from.
        path: PathBuf,
        /// The row due next.
        expected: u64,
        /// The first row given.
        found: u64,
    },
    /// A [`PartSplicer`](crate::PartSplicer) was finished before every input
    /// row was written.
    #[error("{}: rows are missing from row {row} on", path.display())]
    RowsMissing {
        /// The input file.
        path: PathBuf,
        /// The first row not written.
        row: u64,
    },
    /// An input file changed while it was being read.
    #[error("{}: changed while being read: {detail}", path.display())]
    InputChanged {
        /// The file.
        path: PathBuf,
        /// What no longer matches.
        detail: String,
    },
    /// Decoding Arrow data from a file failed.
    #[error("{}: {source}", path.display())]
    Arrow {
        /// The file.
        path: PathBuf,
        /// What Arrow said.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A parquet row group could not be decoded (a corrupt page, a cut or
    /// overwritten file).
    #[error(
        "{}: row group {row_group} (rows {first_row}–{}){}: cannot decode (corrupt file?): {source}",
        path.display(),
        first_row + rows.saturating_sub(1),
        column.as_ref().map_or_else(String::new, |c| format!(", column `{c}`"))
    )]
    Decode {
        /// The file.
        path: PathBuf,
        /// The row group's index in the file.
        row_group: usize,
        /// The file's row the row group starts at.
        first_row: u64,
        /// The row group's rows.
        rows: u64,
        /// The first column that fails to decode on its own, when one does.
        column: Option<String>,
        /// What Arrow said.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// An Arrow IPC file could not be read: its schema, or a record batch
    /// (cut off, corrupt, compressed with a codec not built in).
    #[error("{}: not a readable Arrow IPC file: {at}: {source}", path.display())]
    Ipc {
        /// The file.
        path: PathBuf,
        /// Where: `schema`, or `record batch at row N`.
        at: String,
        /// What Arrow said.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A JSON Lines file (or JSON array) could not be parsed.
    #[error("{}: {record}: {reason}", path.display())]
    Jsonl {
        /// The file.
        path: PathBuf,
        /// The record where parsing failed.
        record: JsonRecord,
        /// What went wrong.
        reason: String,
    },
    /// A JSON record holds a field that none of the records schema
    /// inference read held: read, it would be dropped.
    #[error(
        "{}: {record}: field `{field}` is not among the columns inferred from {}",
        path.display(),
        inferred_from(*records)
    )]
    UnknownJsonField {
        /// The file.
        path: PathBuf,
        /// The record holding it.
        record: JsonRecord,
        /// Its path from the record (`messages[].name`).
        field: String,
        /// Records of each JSON input inference read (`None`: every one).
        records: Option<usize>,
    },
    /// A JSON record holds a number its column cannot hold exactly: a
    /// fraction in an integer column (inferred from records that held
    /// integers only), or an integer past 2⁵³ a float cannot hold. Read, it
    /// would be changed.
    #[error(
        "{}: {record}: field `{field}` holds {text}, {}",
        path.display(),
        inexact_reason(*integer, *records)
    )]
    JsonNumber {
        /// The file.
        path: PathBuf,
        /// The record holding it.
        record: JsonRecord,
        /// Its path from the record (`turns[].weight`).
        field: String,
        /// The number as the record writes it.
        text: Box<str>,
        /// Whether its column holds integers (else floats).
        integer: bool,
        /// Records of each JSON input inference read (`None`: every one).
        records: Option<usize>,
    },
    /// An I/O error on a named path.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Input files of one corpus disagree on their schema.
    #[error("{}: schema differs from {}: {detail}", path.display(), first.display())]
    SchemaMismatch {
        /// The file whose schema differs.
        path: PathBuf,
        /// The first input file, whose schema is the reference.
        first: PathBuf,
        /// Which column differs and how.
        detail: String,
    },
    /// A column the field map or a stage needs is absent.
    #[error("column `{column}` not found (columns: {available})")]
    MissingColumn {
        /// The column name.
        column: String,
        /// The columns the input does have, comma-separated.
        available: String,
    },
    /// A column parquet cannot hold: of a type it has none for (a union),
    /// or a value its stored type has no exact equal for.
    #[error("column `{column}` cannot be written as parquet: {reason}")]
    Unwritable {
        /// The column's path (`meta.u`, `turns[]`).
        column: String,
        /// Why.
        reason: String,
    },
    /// A column could not be rebuilt with edited text.
    #[error("column `{column}`: {reason}")]
    Rebuild {
        /// The column name.
        column: String,
        /// What went wrong.
        reason: String,
    },
    /// A column exists but has a type regime cannot use in that role.
    #[error("column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        /// The column name.
        column: String,
        /// The Arrow type found.
        found: String,
        /// What regime expected.
        expected: String,
    },
    /// The schema has no text column regime could map to a role.
    #[error("{}: no text column found: expected a `conversations`, `messages` or `conversation` column, or string columns named `system`, `caption`, `ocr` or `metadata` (columns: {available}){}; name other columns' roles with --fields FILE (a TOML `[columns]` table, e.g. text = \"user\")", path.display(), not_mapped(unsupported))]
    NoTextColumns {
        /// The first input file.
        path: PathBuf,
        /// The columns the input has, comma-separated.
        available: String,
        /// Columns named like a role whose type holds no text regime
        /// reads, each with its type, comma-separated (empty if none).
        unsupported: String,
    },
    /// A field-map (`columns` profile) TOML file is invalid.
    #[error("{}: {reason}", path.display())]
    FieldMapFile {
        /// The TOML file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The output directory holds files and `--overwrite` was not given.
    #[error("{}: output directory is not empty (pass --overwrite to replace its contents)", path.display())]
    OutputNotEmpty {
        /// The output directory.
        path: PathBuf,
    },
    /// An input lies in a directory where a regime run was interrupted
    /// while publishing its outputs: they may be partly old, partly new.
    #[error(
        "{}: a regime run was interrupted while publishing its outputs here; rerun it",
        path.display()
    )]
    InterruptedOutput {
        /// The directory.
        path: PathBuf,
    },
    /// Another run (of this or another process) is writing the output
    /// directory.
    #[error("{}: another regime run is writing this output directory", path.display())]
    OutputInUse {
        /// The output directory.
        path: PathBuf,
    },
    /// The output directory is, or holds, one of the run's inputs:
    /// `--overwrite` would delete or replace it.
    #[error(
        "{}: output directory holds the input {}; write the output elsewhere",
        out.display(),
        input.display()
    )]
    OutputHoldsInput {
        /// The output directory.
        out: PathBuf,
        /// The input inside it.
        input: PathBuf,
    },
    /// The output directory lies inside an input directory, so a later run
    /// over that directory would read the output as input.
    #[error(
        "{}: output directory lies inside the input directory {}, which a later run would read it from; write the output elsewhere",
        out.display(),
        input.display()
    )]
    OutputInsideInput {
        /// The output directory.
        out: PathBuf,
        /// The input directory.
        input: PathBuf,
    },
    /// A manifest could not be parsed.
    #[error("{}: {source}", path.display())]
    Manifest {
        /// The manifest path.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be serialised as JSON.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file it was meant for.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// `; not mapped: …` naming the role-named columns of unsupported types,
/// or nothing.
fn not_mapped(unsupported: &str) -> String {
    if unsupported.is_empty() {
        String::new()
    } else {
        format!("; not mapped: {unsupported}")
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A column `schema` lacks, listing the columns it has.
    pub(crate) fn missing_column(name: &str, schema: &arrow::datatypes::Schema) -> Self {
        Self::MissingColumn {
            column: name.to_owned(),
            available: schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Where a record of a JSON input sits, as error messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonRecord {
    /// A line of a JSON Lines file (1-based, blank lines counted; 0 when
    /// unknown).
    Line(u64),
    /// An element of a file holding one JSON array (1-based).
    Element(u64),
}

/// Which records a JSON schema was inferred from.
/// Why a number does not fit its column ([`Error::JsonNumber`]).
fn inexact_reason(integer: bool, records: Option<usize>) -> String {
    if integer {
        format!(
            "but its column, inferred from {}, holds integers",
            inferred_from(records)
        )
    } else {
        "which its float column cannot hold exactly".to_owned()
    }
}

fn inferred_from(records: Option<usize>) -> String {
    match records {
        Some(1) => "the first record of each JSON input".to_owned(),
        Some(n) => format!("the first {} records of each JSON input", thousands(n)),
        None => "all records of the JSON inputs".to_owned(),
    }
}

/// `n` with commas between thousands (`10,000`).
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl JsonRecord {
    /// Record `number` (1-based, as the JSON Lines reading counts them) of
    /// a file holding its records as `layout` says.
    #[must_use]
    pub(crate) fn of(layout: crate::reader::JsonLayout, number: u64) -> Self {
        match layout {
            crate::reader::JsonLayout::Lines => Self::Line(number),
            crate::reader::JsonLayout::Array => Self::Element(number),
        }
    }
}

impl std::fmt::Display for JsonRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Element(n) => write!(f, "array element {n}"),
        }
    }
}

/// Why a field cannot be read as JSON text ([`Error::JsonText`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonTextProblem {
    /// The path has an empty key (`a..b`, `.a`).
    #[error("a path is object keys joined by `.`")]
    BadPath,
    /// A nested field none of the first records hold (a top-level one
    /// becomes a column of nulls until it comes).
    #[error(
        "no record holds it among {} (a nested field must appear there)",
        inferred_from(*records)
    )]
    NotFound {
        /// Records of each JSON input looked at (`None`: every one).
        records: Option<usize>,
    },
    /// The field lies under one read another way (strings read as text
    /// parts, scalars as one-item lists), whose values are not all objects.
    #[error("it lies under `{field}`, whose values are {read}")]
    UnderMixed {
        /// The field read another way.
        field: String,
        /// How it is read.
        read: crate::json_mixed::MixedRead,
    },
    /// A Parquet or Arrow input has no column at the path.
    #[error("the file has no such column")]
    NoColumn,
    /// A Parquet or Arrow input's column at the path is not text (it
    /// already has one type; text columns, such as a JSON input's read
    /// this way and written by regime, are read as they are).
    #[error("its column is {data_type}, not text")]
    NotText {
        /// The column's type.
        data_type: String,
    },
}
