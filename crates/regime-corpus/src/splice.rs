//! Parquet output that copies what a stage did not change: every output row
//! group mirrors a (non-empty) input row group, the columns the stage
//! rewrites are encoded from its batches, and every other column chunk is
//! copied from the input file byte for byte — its pages, compression,
//! statistics and page index as they were (bloom filters are dropped).
//!
//! A stage that edits a few text columns of a multimodal corpus then neither
//! decodes nor re-compresses the images, which are most of its bytes.
//! A rewritten leaf that no batch of a row group changed is copied too
//! ([`PartSplicer::write_edited`]).

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory, ArrowWriterOptions,
    compute_leaves,
};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::SchemaDescriptor;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::input::FileFormat;
use crate::manifest::OutputRecord;
use crate::output::OutputDir;
use crate::parquet_types::{first_converted, stored_schema};
use crate::reader::FileInfo;
use crate::string_views::reads_as;
use crate::writer::{WriterOptions, check_writable, part_name, writer_properties};

/// Bytes of the buffers through which column chunks are copied.
const COPY_BUFFER_BYTES: usize = 1 << 20;

/// Why a corpus cannot be spliced, so that every column is written anew.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsplicable {
    /// An input file is not parquet.
    NotParquet {
        /// The file.
        path: PathBuf,
    },
    /// A column to copy is stored with another parquet type than the one
    /// the output schema is written with.
    ColumnType {
        /// The file.
        path: PathBuf,
        /// The column's path, e.g. `image.bytes`.
        column: String,
    },
    /// An input file comes from a writer whose statistics readers distrust
    /// by its name and version: copied under regime's name, they would be
    /// trusted.
    DistrustedStatistics {
        /// The file.
        path: PathBuf,
        /// Its writer, as the footer names it.
        created_by: String,
    },
    /// An input row group exceeds the output's row-group limits
    /// ([`WriterOptions::row_group_rows`], [`WriterOptions::row_group_bytes`]).
    LargeRowGroup {
        /// The file.
        path: PathBuf,
        /// The row group's index in the file.
        group: usize,
        /// Its rows.
        rows: u64,
        /// Its compressed bytes.
        bytes: u64,
    },
    /// A column is written with another Arrow type than it is read as
    /// (a `date64` as `date32`: see [`PartWriter`](crate::PartWriter)).
    StoredAsAnotherType {
        /// The column.
        column: String,
    },
}

impl std::fmt::Display for Unsplicable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotParquet { path } => write!(f, "{} is not parquet", path.display()),
            Self::ColumnType { path, column } => write!(
                f,
                "{}: column `{column}` is stored as another parquet type than regime writes",
                path.display()
            ),
            Self::DistrustedStatistics { path, created_by } => write!(
                f,
                "{}: written by `{created_by}`, whose statistics readers distrust",
                path.display()
            ),
            Self::LargeRowGroup {
                path,
                group,
                rows,
                bytes,
            } => write!(
                f,
                "{}: row group {group} ({rows} rows, {bytes} bytes) exceeds the row-group limits",
                path.display()
            ),
            Self::StoredAsAnotherType { column } => write!(
                f,
                "column `{column}` is written as another type than it is read as"
            ),
        }
    }
}

/// What a stage rewrites of one column: all of it, or only the leaves under
/// a path of struct fields inside it. The column's other leaves are then
/// copied, so the stage must keep its nesting (list offsets, nulls of the
/// lists and structs) and those leaves as they were: a stage that edits the
/// text of conversation turns rewrites `["conversations", "value"]` and
/// copies the speakers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrittenColumn {
    /// The top-level column.
    pub column: String,
    /// Struct field names from the column down to the rewritten leaves
    /// (lists and maps are not named); empty for the whole column.
    pub inner: Vec<String>,
}

impl RewrittenColumn {
    /// Every leaf of `column`.
    #[must_use]
    pub fn whole(column: &str) -> Self {
        Self {
            column: column.to_owned(),
            inner: Vec::new(),
        }
    }

    /// The leaves of `column` under the struct fields `inner`.
    #[must_use]
    pub fn inner(column: &str, inner: &[&str]) -> Self {
        Self {
            column: column.to_owned(),
            inner: inner.iter().map(|&name| name.to_owned()).collect(),
        }
    }

    /// `column.inner…`, for messages.
    fn name(&self) -> String {
        std::iter::once(self.column.as_str())
            .chain(self.inner.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Writes `PREFIX-00000.parquet`, … whose row groups are the input's, with
/// some column leaves re-encoded from batches and the rest copied.
///
/// Batches must arrive in input order, as a [`CorpusReader`] emits them
/// (each within one row group), and hold every rewritten column by name
/// with the writer's type or its string-view form (as read with
/// [`CorpusReaderBuilder::with_string_views`]: written with the stored
/// types, no copy); other columns in them are ignored. A new part
/// starts after the row group that takes the current one past
/// [`WriterOptions::file_bytes`]. Memory: the encoded rewritten columns of
/// one row group (and with [`PartSplicer::write_edited`], the arrays of
/// the leaves it holds).
///
/// ```no_run
/// # use regime_corpus::{CorpusReaderBuilder, OutputDir, PartSplicer, RewrittenColumn, WriterOptions, resolve_inputs};
/// # fn demo() -> regime_corpus::Result<()> {
/// let builder = CorpusReaderBuilder::try_new(resolve_inputs(&["train.parquet"])?)?;
/// let out = OutputDir::prepare("out".as_ref(), false, &["train.parquet"])?;
/// let schema = builder.schema().clone();
/// let rewritten = [RewrittenColumn::whole("caption")];
/// let options = WriterOptions::default();
/// let mut parts = match PartSplicer::try_new(&out, "part", builder.files(), schema, &rewritten, options)? {
///     Ok(parts) => parts,
///     Err(reason) => return Ok(println!("write every column instead: {reason}")),
/// };
/// for batch in builder.with_columns(["caption"])?.build() {
///     let batch = batch?;
///     parts.write(batch.shard, batch.first_row, &batch.batch)?;
/// }
/// let written = parts.finish()?;
/// # Ok(()) }
/// ```
///
/// [`CorpusReader`]: crate::CorpusReader
/// [`CorpusReaderBuilder::with_string_views`]: crate::CorpusReaderBuilder::with_string_views
pub struct PartSplicer<'a> {
    dir: &'a OutputDir,
    prefix: String,
    schema: SchemaRef,
    /// `schema` as parquet, which every copied chunk's column matches.
    descr: SchemaDescriptor,
    props: WriterProperties,
    file_bytes: u64,
    /// The columns with rewritten leaves: index in `schema`, and their
    /// parquet leaves.
    rewritten: Vec<(usize, Range<usize>)>,
    /// Per output leaf: encoded from batches (else copied).
    encoded: Vec<bool>,
    /// Each input file and the rows of its row groups.
    sources: Vec<(PathBuf, Vec<u64>)>,
    /// Per input file, per output leaf: stored as the output writes it, so
    /// that a rewritten leaf no batch changed can be copied.
    copyable: Vec<Vec<bool>>,
    /// Per output leaf, in the row group being filled: the batches of a
    /// rewritten leaf that every batch so far left as read (see
    /// [`Self::write_edited`]), or `None` once its encoding began.
    held: Vec<Option<Vec<ArrowLeafColumn>>>,
    cursor: Cursor,
    open_source: Option<OpenSource>,
    /// Encoders of the row group being filled (`None` for copied leaves).
    pending: Option<Vec<Option<ArrowColumnWriter>>>,
    current: Option<OpenPart>,
    parts: Vec<OutputRecord>,
}

impl std::fmt::Debug for PartSplicer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartSplicer")
            .field("prefix", &self.prefix)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

/// The row group being filled: file, group, its first row, rows done.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    shard: usize,
    group: usize,
    first_row: u64,
    done: u64,
}

/// An input file held open while its row groups are copied, with its page
/// index (so copied chunks keep theirs).
struct OpenSource {
    shard: usize,
    path: PathBuf,
    file: SourceFile,
    metadata: ParquetMetaData,
}

/// The part being written.
struct OpenPart {
    writer: SerializedFileWriter<BufWriter<File>>,
    factory: ArrowRowGroupWriterFactory,
    name: String,
    rows: u64,
}

impl<'a> PartSplicer<'a> {
    /// Prepares a splicing writer of `schema` (the input's, optionally with
    /// rewritten columns appended at the end), or says why the inputs cannot
    /// be spliced: a file is not parquet, a copied column's parquet type in
    /// a file differs from the one `schema` is written with, or a row group
    /// exceeds the row-group limits of `options` (which then always hold).
    ///
    /// # Errors
    /// [`Error::MissingColumn`] for a rewritten column not in `schema`, or
    /// a path inside it that names no leaf;
    /// [`Error::ParquetWrite`] for an invalid zstd level or a schema parquet
    /// cannot hold.
    pub fn try_new(
        dir: &'a OutputDir,
        prefix: &str,
        files: &[FileInfo],
        schema: SchemaRef,
        rewritten: &[RewrittenColumn],
        options: WriterOptions,
    ) -> Result<std::result::Result<Self, Unsplicable>> {
        check_writable(&schema)?;
        if let Some(stored) = stored_schema(&schema) {
            let column = first_converted(&schema, &stored);
            return Ok(Err(Unsplicable::StoredAsAnotherType { column }));
        }
        let props = writer_properties(dir, options)?;
        let descr = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)
            .map_err(|source| Error::ParquetWrite {
                path: dir.path().to_path_buf(),
                source,
            })?;
        let leaves = leaf_ranges(&descr);
        let mut encoded = vec![false; descr.num_columns()];
        let mut columns = Vec::with_capacity(rewritten.len());
        for part in rewritten {
            let index = schema
                .index_of(&part.column)
                .map_err(|_| Error::missing_column(&part.column, &schema))?;
            let range = leaves[index].clone();
            let paths = leaf_paths(schema.field(index).data_type());
            if paths.len() == range.len() {
                let mut any = false;
                for (leaf, path) in range.clone().zip(paths) {
                    if path.starts_with(&part.inner) {
                        encoded[leaf] = true;
                        any = true;
                    }
                }
                if !any {
                    return Err(Error::missing_column(&part.name(), &schema));
                }
            } else {
                // Leaves laid out otherwise than walked: encode them all.
                encoded[range.clone()].fill(true);
            }
            if !columns.iter().any(|(i, _)| *i == index) {
                columns.push((index, range));
            }
        }
        let mut sources = Vec::with_capacity(files.len());
        let mut copyable = Vec::with_capacity(files.len());
        for file in files {
            let stored_alike = copyable_leaves(file, &descr);
            if let Some(reason) = unsplicable(file, &descr, &encoded, &stored_alike, options) {
                return Ok(Err(reason));
            }
            sources.push((file.path.clone(), file.row_groups.clone()));
            copyable.push(stored_alike);
        }
        let held = nothing_held(descr.num_columns());
        Ok(Ok(Self {
            dir,
            prefix: prefix.to_owned(),
            schema,
            descr,
            props,
            file_bytes: options.file_bytes,
            rewritten: columns,
            encoded,
            sources,
            copyable,
            held,
            cursor: Cursor::default(),
            open_source: None,
            pending: None,
            current: None,
            parts: Vec::new(),
        }))
    }

    /// Encodes `batch`'s rewritten columns as rows `first_row..` of input
    /// file `shard`; completes the row group when they are its last rows.
    ///
    /// # Errors
    /// [`Error::RowsOutOfOrder`] when the rows do not continue where the
    /// last batch ended; [`Error::MissingColumn`] / [`Error::ColumnType`]
    /// for a rewritten column `batch` lacks or holds with another type;
    /// [`Error::ParquetWrite`] naming the part file;
    /// [`Error::Io`] / [`Error::Parquet`] / [`Error::InputChanged`] reading
    /// the input file.
    pub fn write(&mut self, shard: u32, first_row: u64, batch: &RecordBatch) -> Result<()> {
        self.write_leaves(shard, first_row, batch, None)
    }

    /// [`Self::write`] of a `batch` made from `read`, the batch these rows
    /// were read as: a rewritten column of `batch` that is still `read`'s
    /// array (the same `Arc`) is unchanged. Its leaves are held, not
    /// encoded, while every batch of the row group leaves them so, and if
    /// all do, the input's chunk is copied instead (when stored as the
    /// output writes it). A stage that edits few fields then re-encodes
    /// only the columns it edited in each row group.
    ///
    /// Memory: besides what [`Self::write`] holds, the arrays of the held
    /// leaves, at most the row group's.
    ///
    /// # Errors
    /// As [`Self::write`].
    pub fn write_edited(
        &mut self,
        shard: u32,
        first_row: u64,
        batch: &RecordBatch,
        read: &RecordBatch,
    ) -> Result<()> {
        self.write_leaves(shard, first_row, batch, Some(read))
    }

    fn write_leaves(
        &mut self,
        shard: u32,
        first_row: u64,
        batch: &RecordBatch,
        read: Option<&RecordBatch>,
    ) -> Result<()> {
        let rows = batch.num_rows() as u64;
        if rows == 0 {
            return Ok(());
        }
        self.skip_empty_groups();
        let shard = shard as usize;
        let due = self.cursor.first_row + self.cursor.done;
        let left = self.group_rows().unwrap_or(0) - self.cursor.done;
        if shard != self.cursor.shard || first_row != due || rows > left {
            let path = self.sources.get(shard).map(|(p, _)| p.clone());
            return Err(Error::RowsOutOfOrder {
                path: path.unwrap_or_default(),
                expected: due,
                found: first_row,
            });
        }
        let leaves = self.leaves(batch)?;
        let unchanged = self.unchanged_leaves(shard, batch, read);
        if self.pending.is_none() {
            self.pending = Some(self.column_writers()?);
        }
        // Per leaf, what to encode now, in row order: nothing while every
        // batch left it as read; else the held batches, then this one.
        let mut work: Vec<Vec<ArrowLeafColumn>> = Vec::with_capacity(leaves.len());
        for (l, leaf) in leaves.into_iter().enumerate() {
            let Some(leaf) = leaf else {
                work.push(Vec::new());
                continue;
            };
            match &mut self.held[l] {
                Some(held) if unchanged[l] => {
                    held.push(leaf);
                    work.push(Vec::new());
                }
                slot => {
                    let mut todo = slot.take().unwrap_or_default();
                    todo.push(leaf);
                    work.push(todo);
                }
            }
        }
        let path = self
            .dir
            .staged(self.current.as_ref().map_or("", |part| part.name.as_str()));
        // Leaves encode independently (each writer gets its own in row
        // order), so in parallel with the same bytes.
        self.pending
            .get_or_insert_default()
            .par_iter_mut()
            .zip(work.into_par_iter())
            .try_for_each(|(writer, todo)| match writer {
                Some(writer) => todo.iter().try_for_each(|leaf| writer.write(leaf)),
                None => Ok(()),
            })
            .map_err(|source| Error::ParquetWrite { path, source })?;
        self.cursor.done += rows;
        if Some(self.cursor.done) == self.group_rows() {
            self.finish_group()?;
        }
        Ok(())
    }

    /// Closes the last part and returns every part written, with row counts
    /// (one empty part when the inputs had no rows).
    ///
    /// # Errors
    /// [`Error::RowsMissing`] when some input rows were never written;
    /// [`Error::ParquetWrite`] naming the part file.
    pub fn finish(mut self) -> Result<Vec<OutputRecord>> {
        self.skip_empty_groups();
        if let Some((path, _)) = self.sources.get(self.cursor.shard) {
            return Err(Error::RowsMissing {
                path: path.clone(),
                row: self.cursor.first_row + self.cursor.done,
            });
        }
        if self.parts.is_empty() {
            // No rows: one empty part still carries the schema onward.
            self.part()?;
        }
        self.close_part()?;
        Ok(std::mem::take(&mut self.parts))
    }

    /// Per output leaf: a rewritten leaf of a column of `batch` that is
    /// still `read`'s array, and whose input chunk can be copied.
    fn unchanged_leaves(
        &self,
        shard: usize,
        batch: &RecordBatch,
        read: Option<&RecordBatch>,
    ) -> Vec<bool> {
        let mut unchanged = vec![false; self.encoded.len()];
        let (Some(read), Some(copyable)) = (read, self.copyable.get(shard)) else {
            return unchanged;
        };
        for (index, range) in &self.rewritten {
            let name = self.schema.field(*index).name();
            let same = match (batch.column_by_name(name), read.column_by_name(name)) {
                (Some(out), Some(input)) => Arc::ptr_eq(out, input),
                _ => false,
            };
            for leaf in range.clone() {
                unchanged[leaf] = same && copyable.get(leaf).copied().unwrap_or(false);
            }
        }
        unchanged
    }

    /// The rewritten leaves of `batch`'s columns, one slot per output leaf.
    fn leaves(&self, batch: &RecordBatch) -> Result<Vec<Option<ArrowLeafColumn>>> {
        let mut leaves: Vec<Option<ArrowLeafColumn>> = self.encoded.iter().map(|_| None).collect();
        for (index, range) in &self.rewritten {
            let field = self.schema.field(*index);
            let column = batch
                .column_by_name(field.name())
                .ok_or_else(|| Error::missing_column(field.name(), &batch.schema()))?;
            let mistyped = || Error::ColumnType {
                column: field.name().clone(),
                found: column.data_type().to_string(),
                expected: field.data_type().to_string(),
            };
            if !reads_as(field.data_type(), column.data_type()) {
                return Err(mistyped());
            }
            let computed = compute_leaves(field, column).map_err(|_| mistyped())?;
            if computed.len() != range.len() {
                return Err(mistyped());
            }
            for ((slot, &encoded), leaf) in leaves[range.clone()]
                .iter_mut()
                .zip(&self.encoded[range.clone()])
                .zip(computed)
            {
                *slot = encoded.then_some(leaf);
            }
        }
        Ok(leaves)
    }

    /// Rows of the row group under the cursor (`None` past the last file).
    fn group_rows(&self) -> Option<u64> {
        let (_, groups) = self.sources.get(self.cursor.shard)?;
        groups.get(self.cursor.group).copied()
    }

    /// Moves the cursor past the current row group once it is full, and past
    /// empty row groups and files (no batch ever comes for those).
    fn skip_empty_groups(&mut self) {
        while let Some((_, groups)) = self.sources.get(self.cursor.shard) {
            match groups.get(self.cursor.group) {
                Some(&rows) if self.cursor.done < rows => return,
                Some(&rows) => {
                    self.cursor.group += 1;
                    self.cursor.first_row += rows;
                    self.cursor.done = 0;
                }
                None => {
                    self.cursor = Cursor {
                        shard: self.cursor.shard + 1,
                        ..Cursor::default()
                    };
                }
            }
        }
    }

    /// The open part, opened first if none is.
    fn part(&mut self) -> Result<&mut OpenPart> {
        match &mut self.current {
            Some(part) => Ok(part),
            slot @ None => {
                let name = part_name(&self.prefix, self.parts.len());
                let part = open_part(
                    self.dir,
                    name,
                    &self.schema,
                    &self.descr,
                    self.props.clone(),
                )?;
                Ok(slot.insert(part))
            }
        }
    }

    /// Encoders for a new row group (opening a part first if none is open);
    /// only the rewritten leaves keep theirs.
    fn column_writers(&mut self) -> Result<Vec<Option<ArrowColumnWriter>>> {
        let dir = self.dir;
        let part = self.part()?;
        let writers = part
            .factory
            .create_column_writers(part.writer.flushed_row_groups().len())
            .map_err(|source| Error::ParquetWrite {
                path: dir.staged(&part.name),
                source,
            })?;
        Ok(writers
            .into_iter()
            .zip(&self.encoded)
            .map(|(writer, &encoded)| encoded.then_some(writer))
            .collect())
    }

    /// Writes the full row group under the cursor: encoded leaves from the
    /// pending writers, the rest copied from the input file.
    fn finish_group(&mut self) -> Result<()> {
        let Cursor {
            shard, group, done, ..
        } = self.cursor;
        let source = self.take_source(shard)?;
        let writers = self.pending.take().unwrap_or_default();
        let held = std::mem::replace(&mut self.held, nothing_held(writers.len()));
        let (dir, file_bytes) = (self.dir, self.file_bytes);
        let part = self.part()?;
        let path = dir.staged(&part.name);
        let write_err = |source| Error::ParquetWrite {
            path: path.clone(),
            source,
        };
        let changed = |detail: String| Error::InputChanged {
            path: source.path.clone(),
            detail,
        };
        let input = source
            .metadata
            .row_groups()
            .get(group)
            .filter(|g| u64::try_from(g.num_rows()).ok() == Some(done))
            .ok_or_else(|| changed(format!("row group {group} no longer has {done} rows")))?;
        let page_index = source.metadata.page_index_for_row_group(group);
        let mut row_group = part.writer.next_row_group().map_err(write_err)?;
        for (leaf, writer) in writers.into_iter().enumerate() {
            // A rewritten leaf that no batch changed is copied.
            if let Some(writer) = writer.filter(|_| held[leaf].is_none()) {
                let chunk = writer.close().map_err(write_err)?;
                chunk
                    .append_to_row_group(&mut row_group)
                    .map_err(write_err)?;
                continue;
            }
            let chunk = input
                .columns()
                .get(leaf)
                .ok_or_else(|| changed(format!("row group {group} lost column {leaf}")))?;
            let close = ColumnCloseResult {
                bytes_written: u64::try_from(chunk.compressed_size()).unwrap_or(0),
                rows_written: done,
                metadata: chunk.clone(),
                bloom_filter: None,
                column_index: page_index.column_index(leaf).cloned(),
                offset_index: page_index.offset_index(leaf).cloned(),
            };
            row_group
                .append_column(&source.file, close)
                .map_err(write_err)?;
        }
        row_group.close().map_err(write_err)?;
        part.rows += done;
        let full = part.writer.bytes_written() as u64 >= file_bytes;
        self.open_source = Some(source);
        if full {
            self.close_part()?;
        }
        Ok(())
    }

    /// Input file `shard`, opened with its page index unless it is the one
    /// open (put it back in `open_source` when done).
    fn take_source(&mut self, shard: usize) -> Result<OpenSource> {
        if let Some(source) = self.open_source.take().filter(|s| s.shard == shard) {
            return Ok(source);
        }
        let path = self
            .sources
            .get(shard)
            .map(|(p, _)| p.clone())
            .unwrap_or_default();
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&file)
            .map_err(|source| Error::Parquet {
                path: path.clone(),
                source,
            })?;
        Ok(OpenSource {
            shard,
            path,
            file: SourceFile(file),
            metadata,
        })
    }

    fn close_part(&mut self) -> Result<()> {
        if let Some(part) = self.current.take() {
            let path = self.dir.staged(&part.name);
            part.writer
                .close()
                .map_err(|source| Error::ParquetWrite { path, source })?;
            self.parts.push(OutputRecord {
                path: part.name,
                bytes: 0,
                rows: Some(part.rows),
            });
        }
        Ok(())
    }
}

/// An input file whose chunks are read through a [`COPY_BUFFER_BYTES`]
/// buffer (`File`'s own reader reads 8 KiB at a time).
struct SourceFile(File);

impl Length for SourceFile {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for SourceFile {
    type T = BufReader<File>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let mut file = self.0.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        Ok(BufReader::with_capacity(COPY_BUFFER_BYTES, file))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// Creates part `name` in `dir`, written with exactly `descr`.
fn open_part(
    dir: &OutputDir,
    name: String,
    schema: &SchemaRef,
    descr: &SchemaDescriptor,
    props: WriterProperties,
) -> Result<OpenPart> {
    let path = dir.staged(&name);
    let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
    // Copied chunks arrive in the parquet writer's 8 KiB pieces; one write
    // per MiB instead.
    let file = BufWriter::with_capacity(COPY_BUFFER_BYTES, file);
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_parquet_schema(descr.clone());
    let (writer, factory) = ArrowWriter::try_new_with_options(file, Arc::clone(schema), options)
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(|source| Error::ParquetWrite { path, source })?;
    Ok(OpenPart {
        writer,
        factory,
        name,
        rows: 0,
    })
}

/// Why `file` cannot be spliced into parts of `descr` whose `encoded`
/// leaves are rewritten, if it cannot; `copyable` is its
/// [`copyable_leaves`].
fn unsplicable(
    file: &FileInfo,
    descr: &SchemaDescriptor,
    encoded: &[bool],
    copyable: &[bool],
    options: WriterOptions,
) -> Option<Unsplicable> {
    let path = || file.path.clone();
    let (FileFormat::Parquet, Some(meta)) = (file.format, &file.parquet) else {
        return Some(Unsplicable::NotParquet { path: path() });
    };
    if let Some(created_by) = meta
        .metadata()
        .file_metadata()
        .created_by()
        .filter(|c| distrusted_statistics(c))
    {
        return Some(Unsplicable::DistrustedStatistics {
            path: path(),
            created_by: created_by.to_owned(),
        });
    }
    if let Some(leaf) = (0..descr.num_columns()).find(|&leaf| !encoded[leaf] && !copyable[leaf]) {
        return Some(Unsplicable::ColumnType {
            path: path(),
            column: descr.column(leaf).path().string(),
        });
    }
    for (group, g) in meta.metadata().row_groups().iter().enumerate() {
        let rows = u64::try_from(g.num_rows()).unwrap_or(0);
        let bytes = u64::try_from(g.compressed_size()).unwrap_or(0);
        if rows > options.row_group_rows as u64 || bytes > options.row_group_bytes as u64 {
            return Some(Unsplicable::LargeRowGroup {
                path: path(),
                group,
                rows,
                bytes,
            });
        }
    }
    None
}

/// Whether readers distrust the statistics of a file by its `created_by`,
/// as parquet-cpp's `ApplicationVersion` does: parquet-mr before 1.8.0
/// wrote wrong binary min/max (PARQUET-251), parquet-cpp before 1.3.0 wrong
/// unsigned ones.
fn distrusted_statistics(created_by: &str) -> bool {
    let mut words = created_by.split_whitespace();
    let (Some(writer), Some("version"), Some(version)) = (words.next(), words.next(), words.next())
    else {
        return false;
    };
    let fixed = match writer {
        "parquet-mr" => (1, 8, 0),
        "parquet-cpp" => (1, 3, 0),
        _ => return false,
    };
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let mut next = || numbers.next().unwrap_or(0);
    (next(), next(), next()) < fixed
}

/// A row group's start for `leaves` leaves: none encoding, none held.
fn nothing_held(leaves: usize) -> Vec<Option<Vec<ArrowLeafColumn>>> {
    (0..leaves).map(|_| Some(Vec::new())).collect()
}

/// Per leaf of `descr`: whether `file` stores it as `descr` does (so its
/// chunks can be copied).
fn copyable_leaves(file: &FileInfo, descr: &SchemaDescriptor) -> Vec<bool> {
    let input = file
        .parquet
        .as_ref()
        .map(ArrowReaderMetadata::parquet_schema);
    (0..descr.num_columns())
        .map(|leaf| {
            input.is_some_and(|input| {
                leaf < input.num_columns() && input.column(leaf) == descr.column(leaf)
            })
        })
        .collect()
}

/// The struct-field path of each parquet leaf of a column of `data_type`,
/// in leaf order (lists and maps add no name).
fn leaf_paths(data_type: &DataType) -> Vec<Vec<String>> {
    match data_type {
        DataType::Struct(fields) => fields
            .iter()
            .flat_map(|field| {
                leaf_paths(field.data_type()).into_iter().map(|mut path| {
                    path.insert(0, field.name().clone());
                    path
                })
            })
            .collect(),
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _)
        | DataType::Map(item, _) => leaf_paths(item.data_type()),
        _ => vec![Vec::new()],
    }
}

/// The parquet leaves of each top-level column, in order.
fn leaf_ranges(descr: &SchemaDescriptor) -> Vec<Range<usize>> {
    let mut ranges = vec![0..0; descr.root_schema().get_fields().len()];
    for leaf in (0..descr.num_columns()).rev() {
        if let Some(range) = ranges.get_mut(descr.get_column_root_idx(leaf)) {
            if range.start == range.end {
                *range = leaf..leaf + 1;
            } else {
                range.start = leaf;
            }
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CorpusReaderBuilder, resolve_inputs};
    use arrow::array::{Array, ArrayRef, BinaryArray, ListArray, StringArray, StructArray};
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::{DataType, Field, Fields, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    const NO_INPUTS: &[&Path] = &[];
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::path::Path;

    fn turn_fields() -> Fields {
        Fields::from(vec![
            Field::new("from", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ])
    }

    /// Rows `first..first + n`: id, image bytes, caption (null every third
    /// row), two turns.
    fn rows(first: usize, n: usize) -> RecordBatch {
        let range = first..first + n;
        let ids: StringArray = range.clone().map(|i| Some(format!("r{i}"))).collect();
        let images: BinaryArray = range
            .clone()
            .map(|i| Some(vec![u8::try_from(i % 251).unwrap_or(0); 40 + i]))
            .collect();
        let image = StructArray::from(vec![(
            Arc::new(Field::new("bytes", DataType::Binary, true)),
            Arc::new(images) as ArrayRef,
        )]);
        let captions: StringArray = range
            .clone()
            .map(|i| (i % 3 != 0).then(|| format!("caption {i}")))
            .collect();
        let from: StringArray = range
            .clone()
            .flat_map(|_| [Some("human"), Some("gpt")])
            .collect();
        let value: StringArray = range
            .clone()
            .flat_map(|i| [Some(format!("question {i}")), Some(format!("answer {i}"))])
            .collect();
        let turns = StructArray::new(turn_fields(), vec![Arc::new(from), Arc::new(value)], None);
        let list = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Struct(turn_fields()), true)),
            OffsetBuffer::from_lengths(std::iter::repeat_n(2, n)),
            Arc::new(turns),
            None,
        );
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("image", image.data_type().clone(), true),
            Field::new("caption", DataType::Utf8, true),
            Field::new("conversations", list.data_type().clone(), true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(ids),
                Arc::new(image),
                Arc::new(captions),
                Arc::new(list),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn write_input(path: &Path, batch: &RecordBatch, group_rows: usize, codec: Compression) {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .set_compression(codec)
            .build();
        let file = File::create(path).unwrap_or_else(|e| panic!("{e}"));
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
            .unwrap_or_else(|e| panic!("{e}"));
        writer.write(batch).unwrap_or_else(|e| panic!("{e}"));
        writer.close().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Two inputs (rows 0..7 in groups of 3, snappy; rows 7..12 in groups of
    /// 4, zstd), read back as a reader builder.
    fn inputs(dir: &Path) -> CorpusReaderBuilder {
        write_input(&dir.join("a.parquet"), &rows(0, 7), 3, Compression::SNAPPY);
        let zstd = Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default());
        write_input(&dir.join("b.parquet"), &rows(7, 5), 4, zstd);
        let files = resolve_inputs(&[dir.join("*.parquet").display().to_string()])
            .unwrap_or_else(|e| panic!("{e}"));
        CorpusReaderBuilder::try_new(files).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A temporary directory with the [`inputs`], and an output directory
    /// in it.
    fn fixture() -> (tempfile::TempDir, CorpusReaderBuilder, OutputDir) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let builder = inputs(dir.path());
        let out = OutputDir::prepare(&dir.path().join("out"), false, NO_INPUTS)
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, builder, out)
    }

    /// The input schema plus a `note` column.
    fn output_schema(input: &Schema) -> SchemaRef {
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("note", DataType::Utf8, false));
        Arc::new(Schema::new(fields))
    }

    /// `batch` (caption and conversations) with captions upper-cased and a
    /// note per row.
    fn rewrite(batch: &RecordBatch, schema: &SchemaRef, shard: u32, first_row: u64) -> RecordBatch {
        let captions = batch
            .column_by_name("caption")
            .unwrap_or_else(|| panic!("caption read"));
        let captions =
            arrow::compute::cast(captions, &DataType::Utf8).unwrap_or_else(|e| panic!("{e}"));
        let upper: StringArray = captions
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap_or_else(|| panic!("utf8"))
            .iter()
            .map(|c| c.map(str::to_uppercase))
            .collect();
        let notes: StringArray = (0..batch.num_rows())
            .map(|i| Some(format!("{shard}:{}", first_row + i as u64)))
            .collect();
        let conversations = batch
            .column_by_name("conversations")
            .unwrap_or_else(|| panic!("conversations read"))
            .clone();
        let out = Schema::new(vec![
            schema
                .field_with_name("caption")
                .unwrap_or_else(|e| panic!("{e}"))
                .clone(),
            // As read: with string views or not.
            schema
                .field_with_name("conversations")
                .unwrap_or_else(|e| panic!("{e}"))
                .clone()
                .with_data_type(conversations.data_type().clone()),
            schema
                .field_with_name("note")
                .unwrap_or_else(|e| panic!("{e}"))
                .clone(),
        ]);
        RecordBatch::try_new(
            Arc::new(out),
            vec![Arc::new(upper), conversations, Arc::new(notes)],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Captions, turn texts (speakers copied) and notes.
    fn rewritten() -> Vec<RewrittenColumn> {
        vec![
            RewrittenColumn::whole("caption"),
            RewrittenColumn::inner("conversations", &["value"]),
            RewrittenColumn::whole("note"),
        ]
    }

    /// Splices every batch of `builder` (read with string views or not) into
    /// `out` and returns the parts.
    fn splice(
        builder: CorpusReaderBuilder,
        out: &OutputDir,
        file_bytes: u64,
        views: bool,
    ) -> Vec<OutputRecord> {
        let schema = output_schema(builder.schema());
        let options = WriterOptions {
            file_bytes,
            ..WriterOptions::default()
        };
        let mut parts = PartSplicer::try_new(
            out,
            "part",
            builder.files(),
            schema.clone(),
            &rewritten(),
            options,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|reason| panic!("inputs are splicable: {reason}"));
        let mut reader = builder
            .with_columns(["caption", "conversations"])
            .unwrap_or_else(|e| panic!("{e}"))
            .with_batch_size(2);
        if views {
            reader = reader.with_string_views().unwrap_or_else(|e| panic!("{e}"));
        }
        for batch in reader.build() {
            let batch = batch.unwrap_or_else(|e| panic!("{e}"));
            let output = rewrite(&batch.batch, &schema, batch.shard, batch.first_row);
            parts
                .write(batch.shard, batch.first_row, &output)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        parts.finish().unwrap_or_else(|e| panic!("{e}"))
    }

    fn read(path: &Path) -> RecordBatch {
        let file = File::open(path).unwrap_or_else(|e| panic!("{e}"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(ParquetRecordBatchReaderBuilder::build)
            .unwrap_or_else(|e| panic!("{e}"));
        let batches: Vec<RecordBatch> = reader
            .map(|b| b.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        arrow::compute::concat_batches(&batches[0].schema(), &batches)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The compressed bytes and codec of every column chunk of a file.
    fn chunks(path: &Path) -> Vec<Vec<(Vec<u8>, Compression)>> {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
        let reader = SerializedFileReader::new(File::open(path).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        reader
            .metadata()
            .row_groups()
            .iter()
            .map(|group| {
                group
                    .columns()
                    .iter()
                    .map(|c| {
                        let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
                        let start = usize::try_from(start).unwrap_or(0);
                        let len = usize::try_from(c.compressed_size()).unwrap_or(0);
                        (bytes[start..start + len].to_vec(), c.compression())
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn copies_untouched_chunks_and_encodes_the_rewritten_columns() {
        for views in [false, true] {
            copies_untouched_chunks(views);
        }
    }

    /// The rewritten columns read as `views` or with their stored types:
    /// written with the stored types either way.
    fn copies_untouched_chunks(views: bool) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let builder = inputs(dir.path());
        let out_dir = dir.path().join("out");
        let out = OutputDir::prepare(&out_dir, false, NO_INPUTS).unwrap_or_else(|e| panic!("{e}"));
        let parts = splice(builder, &out, u64::MAX, views);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].rows, Some(12));
        let written = out.staged(&parts[0].path);

        // Every value: the inputs' ids, images and turns, the new captions
        // and notes.
        let output = read(&written);
        let input = rows(0, 12);
        let schema = output_schema(&input.schema());
        let a = rewrite(&rows(0, 7), &schema, 0, 0);
        let b = rewrite(&rows(7, 5), &schema, 1, 0);
        let rewritten =
            arrow::compute::concat_batches(&a.schema(), [&a, &b]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(output.schema(), schema);
        for name in ["id", "image", "conversations"] {
            assert_eq!(
                output.column_by_name(name),
                input.column_by_name(name),
                "{name}"
            );
        }
        for name in ["caption", "note"] {
            assert_eq!(
                output.column_by_name(name),
                rewritten.column_by_name(name),
                "{name}"
            );
        }
        assert_eq!(rewritten.column_by_name("note").map(Array::len), Some(12));

        // The inputs' row groups, and their id, image and speaker chunks
        // byte for byte in their own codecs; rewritten leaves (caption,
        // value, note) in zstd.
        let a = chunks(&dir.path().join("a.parquet"));
        let b = chunks(&dir.path().join("b.parquet"));
        let got = chunks(&written);
        let groups: Vec<usize> = a.iter().chain(&b).map(Vec::len).collect();
        assert_eq!(groups, [5, 5, 5, 5, 5]);
        assert_eq!(got.len(), 5);
        for (out_group, in_group) in got.iter().zip(a.iter().chain(&b)) {
            assert_eq!(out_group.len(), 6);
            for leaf in [0, 1, 3] {
                assert_eq!(out_group[leaf], in_group[leaf], "leaf {leaf}");
            }
            for leaf in [2, 4, 5] {
                let codec = out_group[leaf].1;
                // The file records the codec, not its level.
                assert!(
                    matches!(codec, Compression::ZSTD(_)),
                    "leaf {leaf}: {codec:?}"
                );
            }
        }
        assert_eq!(got[0][1].1, Compression::SNAPPY);
        let metadata =
            SerializedFileReader::new(File::open(&written).unwrap_or_else(|e| panic!("{e}")))
                .unwrap_or_else(|e| panic!("{e}"));
        let group_rows: Vec<i64> = metadata
            .metadata()
            .row_groups()
            .iter()
            .map(parquet::file::metadata::RowGroupMetaData::num_rows)
            .collect();
        assert_eq!(group_rows, [3, 3, 1, 4, 1]);

        // Copied chunks keep their page index, moved to where they now lie.
        let file = File::open(&written).unwrap_or_else(|e| panic!("{e}"));
        let indexed = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Required)
            .parse_and_finish(&file)
            .unwrap_or_else(|e| panic!("{e}"));
        for (g, group) in indexed.row_groups().iter().enumerate() {
            let index = indexed.page_index_for_row_group(g);
            for (leaf, chunk) in group.columns().iter().enumerate() {
                let pages = index
                    .offset_index(leaf)
                    .map(|o| o.page_locations()[0].offset);
                assert_eq!(
                    pages,
                    Some(chunk.data_page_offset()),
                    "group {g} leaf {leaf}"
                );
            }
        }
    }

    #[test]
    fn leaves_no_batch_of_a_row_group_changed_are_copied() {
        let (dir, builder, out) = fixture();
        let schema = builder.schema().clone();
        let mut parts = PartSplicer::try_new(
            &out,
            "part",
            builder.files(),
            schema.clone(),
            &[RewrittenColumn::whole("caption")],
            WriterOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|reason| panic!("splicable: {reason}"));
        let reader = builder
            .with_columns(["caption"])
            .unwrap_or_else(|e| panic!("{e}"))
            .with_batch_size(2)
            .build();
        for batch in reader {
            let batch = batch.unwrap_or_else(|e| panic!("{e}"));
            // a.parquet (groups of 3) passes through; in b.parquet (groups
            // of 4, then 1) the batches from row 2 on are upper-cased, so
            // its first group holds one unchanged batch, then encodes it.
            let output = if batch.shard == 1 && batch.first_row >= 2 {
                let captions = batch.batch.column(0).as_any().downcast_ref::<StringArray>();
                let upper: StringArray = captions
                    .unwrap_or_else(|| panic!("utf8"))
                    .iter()
                    .map(|c| c.map(str::to_uppercase))
                    .collect();
                RecordBatch::try_new(batch.batch.schema(), vec![Arc::new(upper)])
                    .unwrap_or_else(|e| panic!("{e}"))
            } else {
                batch.batch.clone()
            };
            parts
                .write_edited(batch.shard, batch.first_row, &output, &batch.batch)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let written = parts.finish().unwrap_or_else(|e| panic!("{e}"));
        let written = out.staged(&written[0].path);

        let captions = read(&written);
        let captions = captions
            .column_by_name("caption")
            .unwrap_or_else(|| panic!("caption"))
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap_or_else(|| panic!("utf8"))
            .iter()
            .map(|c| c.map(str::to_owned))
            .collect::<Vec<_>>();
        let want: Vec<Option<String>> = (0..12)
            .map(|i| {
                (i % 3 != 0).then(|| {
                    let c = format!("caption {i}");
                    if i >= 9 { c.to_uppercase() } else { c }
                })
            })
            .collect();
        assert_eq!(captions, want);
        // a.parquet's caption chunks are its own, byte for byte.
        let a = chunks(&dir.path().join("a.parquet"));
        let got = chunks(&written);
        for group in 0..3 {
            assert_eq!(got[group][2], a[group][2], "group {group}");
        }
        assert_eq!(got[0][2].1, Compression::SNAPPY);
    }

    #[test]
    fn a_new_part_starts_between_row_groups() {
        let (_dir, builder, out) = fixture();
        let parts = splice(builder, &out, 1, false);
        let rows: Vec<Option<u64>> = parts.iter().map(|p| p.rows).collect();
        assert_eq!(rows, [Some(3), Some(3), Some(1), Some(4), Some(1)]);
        let total: usize = parts
            .iter()
            .map(|p| read(&out.staged(&p.path)).num_rows())
            .sum();
        assert_eq!(total, 12);
    }

    #[test]
    fn rows_out_of_order_or_missing_are_errors() {
        let (_dir, builder, out) = fixture();
        let schema = output_schema(builder.schema());
        let splicer = |out| {
            PartSplicer::try_new(
                out,
                "part",
                builder.files(),
                schema.clone(),
                &rewritten(),
                WriterOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|reason| panic!("splicable: {reason}"))
        };
        let input = rows(0, 2);
        let batch = rewrite(&input, &schema, 0, 0);
        let mut parts = splicer(&out);
        let err = parts.write(0, 1, &batch).err();
        assert!(
            matches!(
                err,
                Some(Error::RowsOutOfOrder {
                    expected: 0,
                    found: 1,
                    ..
                })
            ),
            "{err:?}"
        );

        let mut parts = splicer(&out);
        parts.write(0, 0, &batch).unwrap_or_else(|e| panic!("{e}"));
        let err = parts.finish().err();
        assert!(
            matches!(err, Some(Error::RowsMissing { row: 2, .. })),
            "{err:?}"
        );

        // A rewritten column of another type than the writer's.
        let mut parts = splicer(&out);
        let mut columns = batch.columns().to_vec();
        columns[2] = Arc::new(arrow::array::Int64Array::from(vec![1, 2]));
        let mistyped = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                batch.schema().field(0).clone(),
                batch.schema().field(1).clone(),
                Field::new("note", DataType::Int64, false),
            ])),
            columns,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = parts.write(0, 0, &mistyped).err();
        assert!(matches!(err, Some(Error::ColumnType { .. })), "{err:?}");
    }

    #[test]
    fn a_path_inside_a_column_must_name_leaves() {
        let (_dir, builder, out) = fixture();
        let splicer = |part: RewrittenColumn| {
            PartSplicer::try_new(
                &out,
                "part",
                builder.files(),
                builder.schema().clone(),
                &[part],
                WriterOptions::default(),
            )
            .map(|verdict| verdict.map(|parts| parts.encoded))
        };
        let encoded = splicer(RewrittenColumn::inner("conversations", &["from"]))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|reason| panic!("splicable: {reason}"));
        assert_eq!(encoded, [false, false, false, true, false]);
        let err = splicer(RewrittenColumn::inner("conversations", &["speaker"])).err();
        assert!(
            matches!(&err, Some(Error::MissingColumn { column, .. }) if column == "conversations.speaker"),
            "{err:?}"
        );
    }

    /// What `try_new` says of the inputs in `dir` with `options`.
    fn verdict(
        builder: &CorpusReaderBuilder,
        dir: &Path,
        options: WriterOptions,
    ) -> Option<Unsplicable> {
        let out =
            OutputDir::prepare(&dir.join("out"), true, NO_INPUTS).unwrap_or_else(|e| panic!("{e}"));
        let schema = builder.schema().clone();
        PartSplicer::try_new(
            &out,
            "part",
            builder.files(),
            schema,
            &[RewrittenColumn::whole("caption")],
            options,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .err()
    }

    #[test]
    fn writers_whose_statistics_readers_distrust_are_recognised() {
        for (created_by, distrusted) in [
            ("parquet-mr version 1.7.0 (build 1)", true),
            ("parquet-mr version 1.8.0 (build 0fda28af)", false),
            ("parquet-mr version 1.13.1 (build db418310)", false),
            ("parquet-cpp version 1.2.0", true),
            ("parquet-cpp version 1.5.1-SNAPSHOT", false),
            ("parquet-cpp-arrow version 26.0.1", false),
            ("parquet-rs version 60.1.0", false),
            ("regime 0.1.0", false),
            ("", false),
        ] {
            assert_eq!(
                distrusted_statistics(created_by),
                distrusted,
                "{created_by}"
            );
        }
    }

    #[test]
    fn a_file_from_an_old_parquet_mr_is_not_spliced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("old.parquet");
        let props = WriterProperties::builder()
            .set_created_by("parquet-mr version 1.6.0 (build 6aa21f8)".into())
            .build();
        let batch = rows(0, 3);
        let file = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
            .unwrap_or_else(|e| panic!("{e}"));
        writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        writer.close().unwrap_or_else(|e| panic!("{e}"));
        let files = resolve_inputs(&[path.display().to_string()]).unwrap_or_else(|e| panic!("{e}"));
        let builder = CorpusReaderBuilder::try_new(files).unwrap_or_else(|e| panic!("{e}"));
        let verdict = verdict(&builder, dir.path(), WriterOptions::default());
        assert!(
            matches!(verdict, Some(Unsplicable::DistrustedStatistics { .. })),
            "{verdict:?}"
        );
    }

    #[test]
    fn jsonl_inputs_are_not_spliced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"caption\": \"x\"}\n").unwrap_or_else(|e| panic!("{e}"));
        let files = resolve_inputs(&[path.display().to_string()]).unwrap_or_else(|e| panic!("{e}"));
        let builder = CorpusReaderBuilder::try_new(files).unwrap_or_else(|e| panic!("{e}"));
        let verdict = verdict(&builder, dir.path(), WriterOptions::default());
        assert_eq!(verdict, Some(Unsplicable::NotParquet { path }));
    }

    #[test]
    fn row_groups_past_the_limits_are_not_spliced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let builder = inputs(dir.path());
        let small = WriterOptions {
            row_group_rows: 4,
            ..WriterOptions::default()
        };
        assert_eq!(verdict(&builder, dir.path(), small), None);
        let smaller = WriterOptions {
            row_group_rows: 3,
            ..WriterOptions::default()
        };
        let verdict = verdict(&builder, dir.path(), smaller);
        assert!(
            matches!(
                verdict,
                Some(Unsplicable::LargeRowGroup {
                    group: 0,
                    rows: 4,
                    ..
                })
            ),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_column_stored_as_another_type_is_not_spliced() {
        // `id` is required in b.parquet and nullable in a.parquet: the
        // corpus schema has it nullable, which b's chunks are not.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write_input(
            &dir.path().join("a.parquet"),
            &rows(0, 3),
            3,
            Compression::SNAPPY,
        );
        let b = rows(3, 3);
        let mut fields: Vec<Field> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[0] = fields[0].clone().with_nullable(false);
        let b = RecordBatch::try_new(Arc::new(Schema::new(fields)), b.columns().to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        write_input(&dir.path().join("b.parquet"), &b, 3, Compression::SNAPPY);
        let files = resolve_inputs(&[dir.path().join("*.parquet").display().to_string()])
            .unwrap_or_else(|e| panic!("{e}"));
        let builder = CorpusReaderBuilder::try_new(files).unwrap_or_else(|e| panic!("{e}"));
        let verdict = verdict(&builder, dir.path(), WriterOptions::default());
        assert_eq!(
            verdict,
            Some(Unsplicable::ColumnType {
                path: dir.path().join("b.parquet"),
                column: "id".into()
            })
        );
    }
}
