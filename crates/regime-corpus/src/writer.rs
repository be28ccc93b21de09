//! Parquet output in parts: zstd-compressed files of bounded size, staged in
//! an [`OutputDir`] and published by its commit.
//!
//! Every column of the batches is written as it is — types, nullability,
//! nested structs (such as the HF image `{bytes, path}`) and the schema
//! metadata — so stages pass through what they do not own.

use std::fs::File;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::manifest::OutputRecord;
use crate::output::OutputDir;
use crate::parquet_types::{stored_schema, to_stored, unwritable_column};

/// Default maximum rows per row group.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 10_000;
/// Default maximum (estimated, encoded) bytes per row group.
pub const DEFAULT_ROW_GROUP_BYTES: usize = 128 << 20;
/// Default size at which a new part file is started.
pub const DEFAULT_FILE_BYTES: u64 = 1 << 30;
/// Default zstd level.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// How part files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WriterOptions {
    /// Maximum rows per row group; defaults to [`DEFAULT_ROW_GROUP_ROWS`].
    pub row_group_rows: usize,
    /// Maximum bytes per row group; defaults to [`DEFAULT_ROW_GROUP_BYTES`].
    pub row_group_bytes: usize,
    /// Start a new part past this many bytes; defaults to [`DEFAULT_FILE_BYTES`].
    pub file_bytes: u64,
    /// zstd compression level; defaults to [`DEFAULT_ZSTD_LEVEL`].
    pub zstd_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
            row_group_bytes: DEFAULT_ROW_GROUP_BYTES,
            file_bytes: DEFAULT_FILE_BYTES,
            zstd_level: DEFAULT_ZSTD_LEVEL,
        }
    }
}

/// Writes a stream of batches as `PREFIX-00000.parquet`, `PREFIX-00001.parquet`, …
/// into an output directory's staging area.
///
/// ```no_run
/// # use regime_corpus::{OutputDir, PartWriter, WriterOptions};
/// # fn demo(batch: arrow::array::RecordBatch) -> regime_corpus::Result<()> {
/// let out = OutputDir::prepare("out".as_ref(), false, &["train.parquet"])?;
/// let mut writer = PartWriter::try_new(&out, "part", batch.schema(), WriterOptions::default())?;
/// writer.write(&batch)?;
/// let parts = writer.finish()?;
/// # Ok(()) }
/// ```
pub struct PartWriter<'a> {
    dir: &'a OutputDir,
    prefix: String,
    schema: SchemaRef,
    /// The schema written, where it differs from `schema`
    /// ([`stored_schema`]).
    stored: Option<SchemaRef>,
    props: WriterProperties,
    options: WriterOptions,
    current: Option<(ArrowWriter<File>, String, u64)>,
    parts: Vec<OutputRecord>,
    single: bool,
}

impl std::fmt::Debug for PartWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartWriter")
            .field("prefix", &self.prefix)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl<'a> PartWriter<'a> {
    /// Prepares a writer; no file is created until the first row arrives
    /// (or [`Self::finish`], which leaves one empty part when none came).
    ///
    /// Columns of a type parquet has no logical type for are written as
    /// pyarrow writes them (`date64` as `date32`, `timestamp[s]` and
    /// `time32[s]` in milliseconds), their values converted exactly.
    ///
    /// # Errors
    /// [`Error::ParquetWrite`] for an invalid zstd level;
    /// [`Error::Unwritable`] for a column parquet cannot hold (a union).
    pub fn try_new(
        dir: &'a OutputDir,
        prefix: &str,
        schema: SchemaRef,
        options: WriterOptions,
    ) -> Result<Self> {
        check_writable(&schema)?;
        Ok(Self {
            dir,
            prefix: prefix.to_owned(),
            stored: stored_schema(&schema),
            schema,
            props: writer_properties(dir, options)?,
            options,
            current: None,
            parts: Vec::new(),
            single: false,
        })
    }

    /// A writer of exactly one file named `name` (e.g. `clusters.parquet`),
    /// never split into parts; the file is written even when empty.
    ///
    /// # Errors
    /// As [`PartWriter::try_new`].
    pub fn try_new_single(
        dir: &'a OutputDir,
        name: &str,
        schema: SchemaRef,
        options: WriterOptions,
    ) -> Result<Self> {
        let mut writer = Self::try_new(dir, name, schema, options)?;
        writer.single = true;
        writer.open_part()?;
        Ok(writer)
    }

    /// Appends a batch (its schema must be the writer's).
    ///
    /// # Errors
    /// [`Error::ParquetWrite`] / [`Error::Io`] naming the part file;
    /// [`Error::Unwritable`] for a value its column's stored type has no
    /// exact equal for (a `date64` that is not a whole day).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let converted;
        let batch = match &self.stored {
            Some(stored) => {
                converted = to_stored(batch, stored)?;
                &converted
            }
            None => batch,
        };
        if self.current.is_none() {
            self.open_part()?;
        }
        let Some((writer, name, rows)) = self.current.as_mut() else {
            return Ok(());
        };
        let path = self.dir.staged(name);
        writer.write(batch).map_err(|source| Error::ParquetWrite {
            path: path.clone(),
            source,
        })?;
        *rows += batch.num_rows() as u64;
        let size = writer.bytes_written() as u64 + writer.in_progress_size() as u64;
        if !self.single && size >= self.options.file_bytes {
            self.close_part()?;
        }
        Ok(())
    }

    /// Closes the last part and returns every part written, with row counts.
    /// With no rows written it writes one empty part: the schema is what
    /// the next stage reads, and a directory without parquet is an error.
    ///
    /// # Errors
    /// [`Error::ParquetWrite`] naming the part file.
    pub fn finish(mut self) -> Result<Vec<OutputRecord>> {
        if self.parts.is_empty() && self.current.is_none() {
            self.open_part()?;
        }
        self.close_part()?;
        Ok(std::mem::take(&mut self.parts))
    }

    fn open_part(&mut self) -> Result<()> {
        let name = if self.single {
            self.prefix.clone()
        } else {
            part_name(&self.prefix, self.parts.len())
        };
        let path = self.dir.staged(&name);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let schema = self.stored.as_ref().unwrap_or(&self.schema);
        let writer = ArrowWriter::try_new(file, SchemaRef::clone(schema), Some(self.props.clone()))
            .map_err(|source| Error::ParquetWrite { path, source })?;
        self.current = Some((writer, name, 0));
        Ok(())
    }

    fn close_part(&mut self) -> Result<()> {
        if let Some((writer, name, rows)) = self.current.take() {
            let path = self.dir.staged(&name);
            writer
                .close()
                .map_err(|source| Error::ParquetWrite { path, source })?;
            self.parts.push(OutputRecord {
                path: name,
                bytes: 0,
                rows: Some(rows),
            });
        }
        Ok(())
    }
}

/// The writer settings of every part: zstd at the options' level, their
/// row-group limits, regime as the creator.
pub(crate) fn writer_properties(
    dir: &OutputDir,
    options: WriterOptions,
) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(options.zstd_level).map_err(|source| Error::ParquetWrite {
        path: dir.path().to_path_buf(),
        source,
    })?;
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_max_row_group_bytes(Some(options.row_group_bytes.max(1)))
        .set_created_by(format!("regime {}", env!("CARGO_PKG_VERSION")))
        .build())
}

/// [`Error::Unwritable`] for the first column of `schema` parquet cannot
/// hold.
pub(crate) fn check_writable(schema: &Schema) -> Result<()> {
    match unwritable_column(schema) {
        Some((column, reason)) => Err(Error::Unwritable {
            column,
            reason: reason.into(),
        }),
        None => Ok(()),
    }
}

/// The file name of part `index`: `PREFIX-00000.parquet`, ….
pub(crate) fn part_name(prefix: &str, index: usize) -> String {
    format!("{prefix}-{index:05}.parquet")
}
