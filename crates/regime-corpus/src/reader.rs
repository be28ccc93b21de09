//! The streaming corpus reader: many files, one ordered stream of
//! [`RecordBatch`]es.
//!
//! Parquet files are read row group by row group; a window of row groups —
//! at most [`CorpusReaderBuilder::with_max_in_flight`] of them and at most
//! [`CorpusReaderBuilder::with_max_in_flight_bytes`] uncompressed bytes (one
//! is always admitted) — is decoded in parallel (rayon) and handed out in
//! input order, so memory is bounded by the window, not by the corpus. JSONL
//! and Arrow IPC files are decoded sequentially in batches (an IPC batch
//! larger than the batch size is handed out in slices of it).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;

use crate::bad_line::{self, Undecodable};
use crate::dictionary_keys::wide_key_schema;
use crate::error::{Error, JsonRecord, JsonTextProblem, Result};
use crate::input::{Compression, FileFormat, InputFile};
use crate::ipc::{self, IpcFile};
use crate::json_array::{self, ArrayElements, UTF8_BOM};
use crate::json_line::JsonLines;
use crate::json_mixed::{self, MixedField, MixedFields};
use crate::json_numbers;
use crate::jsonl_order::{self, RecordAt};
use crate::row_id::RowId;
use crate::string_views::{cast_to, view_schema};

/// Default number of rows per emitted batch.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Default bound on the decoded (uncompressed) bytes of the row groups in
/// flight at once.
pub const DEFAULT_MAX_IN_FLIGHT_BYTES: u64 = 256 << 20;

/// Default number of JSONL records read to infer a JSONL schema.
pub const DEFAULT_JSONL_INFER_RECORDS: usize = 10_000;

/// A batch of rows from one input file, with the position of its first row.
#[derive(Debug, Clone)]
pub struct CorpusBatch {
    /// Index of the source file in the sorted input list.
    pub shard: u32,
    /// Index (within the file) of the batch's first row.
    pub first_row: u64,
    /// The rows, projected to the requested columns.
    pub batch: RecordBatch,
}

impl CorpusBatch {
    /// The stable id of row `i` of this batch.
    #[must_use]
    pub fn row_id(&self, i: usize) -> RowId {
        RowId::new(self.shard, self.first_row + i as u64)
    }

    /// Number of rows in the batch.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }
}

/// What is known about one input file once it has been opened.
#[derive(Debug, Clone)]
pub struct FileInfo {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: FileFormat,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its row count, known up front for parquet (`None` for JSONL and
    /// Arrow IPC).
    pub rows: Option<u64>,
    /// Rows per row group (parquet only).
    pub row_groups: Vec<u64>,
    pub(crate) parquet: Option<ArrowReaderMetadata>,
    pub(crate) ipc: Option<IpcFile>,
    /// JSON fields whose records disagree on their type
    /// (see [`FileInfo::mixed_fields`]).
    pub(crate) mixed: MixedFields,
}

impl FileInfo {
    /// The JSON fields whose records disagree on their type, and how each
    /// is read as one: a string among message parts as one text part
    /// (OpenAI's chat `content`), a scalar among lists as a list of one,
    /// a value among mostly strings as its JSON text (see
    /// [`MixedRead`](crate::MixedRead)). Found
    /// in the first JSON input's first records and applied to every JSON
    /// input; empty for parquet and for JSON files without such a field.
    #[must_use]
    pub fn mixed_fields(&self) -> Vec<MixedField> {
        self.mixed.fields()
    }
}

/// Opens a corpus and configures how it is streamed.
///
/// ```no_run
/// # use regime_corpus::{resolve_inputs, CorpusReaderBuilder};
/// let files = resolve_inputs(&["data/train-*.parquet"])?;
/// let reader = CorpusReaderBuilder::try_new(files)?
///     .with_columns(["conversations"])?
///     .with_batch_size(4096)
///     .build();
/// for batch in reader {
///     let batch = batch?;
///     println!("{} rows from shard {}", batch.num_rows(), batch.shard);
/// }
/// # Ok::<(), regime_corpus::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CorpusReaderBuilder {
    files: Vec<FileInfo>,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    batch_size: usize,
    max_in_flight: usize,
    max_in_flight_bytes: u64,
    string_views: bool,
    /// Records of each JSON input inference read (`None`: every record).
    infer_records: Option<usize>,
}

impl CorpusReaderBuilder {
    /// Opens every file's metadata (parquet footers; the first JSONL records
    /// for schema inference) and checks that all files share one schema.
    ///
    /// # Errors
    /// Unreadable or invalid files, and files whose schema differs from the
    /// first file's, each named.
    pub fn try_new(inputs: Vec<InputFile>) -> Result<Self> {
        Self::try_new_with(inputs, &ReadOptions::default())
    }

    /// [`Self::try_new`], reading the inputs as `options` say.
    ///
    /// # Errors
    /// Those of [`Self::try_new`], and [`Error::JsonText`] for a field
    /// that cannot be read as JSON text (see [`JsonTextProblem`]).
    pub fn try_new_with(inputs: Vec<InputFile>, options: &ReadOptions) -> Result<Self> {
        // The JSON inputs share one schema, inferred from the first records
        // of each: a field only a later file holds is a column too.
        let json_inputs: Vec<&InputFile> = inputs
            .iter()
            .filter(|input| matches!(input.format, FileFormat::Jsonl(_)))
            .collect();
        let jsonl_shape = if json_inputs.is_empty() {
            None
        } else {
            Some(infer_jsonl(&json_inputs, options)?)
        };
        let mut files = Vec::with_capacity(inputs.len());
        let mut schema: Option<SchemaRef> = None;
        for input in inputs {
            let info = open_file(input, jsonl_shape.as_ref().map(|(_, mixed)| mixed))?;
            let file_schema = info.schema(jsonl_shape.as_ref().map(|(schema, _)| schema));
            if !matches!(info.format, FileFormat::Jsonl(_)) {
                // A typed file holds such a field as text already (regime's
                // own output of a JSON input read this way) or not at all.
                for field in &options.json_text {
                    let keys = json_path_keys(field).unwrap_or_default();
                    if let Some(problem) = text_column_problem(&file_schema, &keys) {
                        return Err(Error::JsonText {
                            path: info.path.clone(),
                            field: field.clone(),
                            problem,
                        });
                    }
                }
            }
            schema = Some(match schema {
                None => file_schema,
                Some(first) => {
                    unify(&first, &file_schema).map_err(|detail| Error::SchemaMismatch {
                        path: info.path.clone(),
                        first: files
                            .first()
                            .map_or_else(PathBuf::new, |f: &FileInfo| f.path.clone()),
                        detail,
                    })?
                }
            });
            files.push(info);
        }
        let schema = schema.ok_or_else(|| Error::MissingInput {
            path: PathBuf::from("(no input files)"),
        })?;
        if files.len() >= 1 << (64 - crate::row_id::ROW_BITS) {
            return Err(Error::Glob {
                pattern: "(inputs)".into(),
                reason: "more than 16,777,215 input files".into(),
            });
        }
        Ok(Self {
            files,
            schema,
            projection: None,
            batch_size: DEFAULT_BATCH_SIZE,
            max_in_flight: default_in_flight(),
            max_in_flight_bytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
            string_views: false,
            infer_records: options.infer_records(),
        })
    }

    /// The full schema shared by all input files.
    #[must_use]
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The opened input files, in shard order.
    #[must_use]
    pub fn files(&self) -> &[FileInfo] {
        &self.files
    }

    /// Total rows when every file knows its count up front (parquet);
    /// otherwise counts JSONL records and IPC rows by streaming through
    /// those files.
    ///
    /// # Errors
    /// I/O and decoding errors while counting.
    pub fn total_rows(&self) -> Result<u64> {
        let mut total = 0u64;
        for file in &self.files {
            total += match (file.rows, &file.ipc) {
                (Some(rows), _) => rows,
                (None, Some(ipc)) => ipc.count_rows(&file.path)?,
                (None, None) => count_jsonl_records(file)?,
            };
        }
        Ok(total)
    }

    /// Reads only these top-level columns (in schema order). Default: all.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] naming the first unknown column.
    pub fn with_columns<I, S>(mut self, columns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut indices = Vec::new();
        for name in columns {
            let name = name.as_ref();
            let index = self
                .schema
                .index_of(name)
                .map_err(|_| Error::missing_column(name, &self.schema))?;
            indices.push(index);
        }
        indices.sort_unstable();
        indices.dedup();
        self.projection = Some(indices);
        Ok(self)
    }

    /// Rows per emitted batch. Defaults to [`DEFAULT_BATCH_SIZE`].
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Row groups decoded concurrently. Defaults to twice the rayon thread
    /// count (at least 2). Affects memory and speed, never the output.
    #[must_use]
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight.max(1);
        self
    }

    /// Bound on the uncompressed bytes (of the projected columns, from the
    /// parquet footers) of the row groups decoded at once; one row group is
    /// always admitted however large. Defaults to
    /// [`DEFAULT_MAX_IN_FLIGHT_BYTES`]. Affects memory and speed, never the
    /// output.
    #[must_use]
    pub fn with_max_in_flight_bytes(mut self, bytes: u64) -> Self {
        self.max_in_flight_bytes = bytes;
        self
    }

    /// Emit string columns (`Utf8`, `LargeUtf8`, nested ones included) as
    /// `Utf8View` (default: the stored types). Dictionary-encoded parquet
    /// text is then read without copying each value out of its dictionary
    /// (about a fifth of `audit-prompts` on a prompt-heavy corpus). For
    /// passes that read text, and for ones that write it back through a
    /// [`PartSplicer`](crate::PartSplicer), which writes views with the
    /// stored types; a [`PartWriter`](crate::PartWriter) would write the
    /// views' type. JSONL batches are cast. Dictionary-typed columns are
    /// left as dictionaries: they are already read without copying each
    /// value, and [`BatchText`](crate::BatchText) reads them in place.
    ///
    /// # Errors
    /// [`Error::Parquet`] naming a file whose columns cannot be read so.
    pub fn with_string_views(mut self) -> Result<Self> {
        for file in &mut self.files {
            let Some(meta) = &file.parquet else { continue };
            // Each file's own schema as the hint (nested nullability may
            // differ from the unified one); projection follows it.
            let hinted = ArrowReaderMetadata::try_new(
                meta.metadata().clone(),
                ArrowReaderOptions::new().with_schema(view_schema(meta.schema())),
            )
            .map_err(|source| Error::Parquet {
                path: file.path.clone(),
                source,
            })?;
            file.parquet = Some(hinted);
        }
        self.string_views = true;
        Ok(self)
    }

    /// Builds the streaming reader.
    #[must_use]
    pub fn build(self) -> CorpusReader {
        let schema = match &self.projection {
            Some(indices) => Arc::new(self.schema.project(indices).unwrap_or_else(|_| {
                // Indices were validated against this schema in with_columns.
                Schema::empty()
            })),
            None => self.schema.clone(),
        };
        let schema = if self.string_views {
            view_schema(&schema)
        } else {
            schema
        };
        let projected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let mut units = VecDeque::new();
        for (shard, file) in self.files.iter().enumerate() {
            let shard = u32::try_from(shard).unwrap_or(u32::MAX);
            match file.format {
                FileFormat::Parquet => {
                    let mut first_row = 0;
                    for (group, rows) in file.row_groups.iter().enumerate() {
                        units.push_back(Unit::RowGroup {
                            shard,
                            group,
                            first_row,
                            bytes: file.projected_bytes(group, &projected),
                        });
                        first_row += rows;
                    }
                }
                FileFormat::Jsonl(_) | FileFormat::Arrow => {
                    units.push_back(Unit::Stream { shard });
                }
            }
        }
        CorpusReader {
            decoder: Decoder {
                files: self.files.into(),
                schema,
                projection: self.projection,
                batch_size: self.batch_size,
            },
            full_schema: self.schema,
            infer_records: self.infer_records,
            max_in_flight: self.max_in_flight,
            max_in_flight_bytes: self.max_in_flight_bytes,
            units,
            ready: VecDeque::new(),
            stream: None,
        }
    }
}

/// An ordered stream of [`CorpusBatch`]es over all input files.
pub struct CorpusReader {
    decoder: Decoder,
    full_schema: SchemaRef,
    infer_records: Option<usize>,
    max_in_flight: usize,
    max_in_flight_bytes: u64,
    units: VecDeque<Unit>,
    ready: VecDeque<Result<CorpusBatch>>,
    /// The JSONL or IPC file being read.
    stream: Option<FileStream>,
}

impl std::fmt::Debug for CorpusReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorpusReader")
            .field("schema", &self.decoder.schema)
            .field("pending_units", &self.units.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    RowGroup {
        shard: u32,
        group: usize,
        first_row: u64,
        /// Uncompressed bytes of the projected columns.
        bytes: u64,
    },
    /// A JSONL or IPC file, read in order.
    Stream { shard: u32 },
}

/// A file read batch after batch.
struct FileStream {
    shard: u32,
    next_row: u64,
    source: StreamSource,
}

enum StreamSource {
    Json {
        layout: JsonLayout,
        reader: arrow::json::reader::Reader<Box<dyn BufRead + Send>>,
    },
    Ipc {
        batches: ipc::Batches,
        /// The rest of a stored batch larger than the batch size.
        rest: Option<RecordBatch>,
    },
}

impl CorpusReader {
    /// The schema of emitted batches (after projection).
    #[must_use]
    pub fn schema(&self) -> &SchemaRef {
        &self.decoder.schema
    }

    /// The input files, in shard order.
    #[must_use]
    pub fn files(&self) -> &[FileInfo] {
        &self.decoder.files
    }

    fn refill(&mut self) {
        let mut window = Vec::new();
        let mut window_bytes = 0u64;
        while window.len() < self.max_in_flight {
            match self.units.front() {
                Some(Unit::RowGroup { bytes, .. }) => {
                    let bytes = *bytes;
                    if !window.is_empty()
                        && window_bytes.saturating_add(bytes) > self.max_in_flight_bytes
                    {
                        break;
                    }
                    window_bytes = window_bytes.saturating_add(bytes);
                    if let Some(unit) = self.units.pop_front() {
                        window.push(unit);
                    }
                }
                Some(Unit::Stream { shard }) if window.is_empty() => {
                    let shard = *shard;
                    self.units.pop_front();
                    match self.open_stream(shard) {
                        Ok(stream) => self.stream = Some(stream),
                        Err(err) => self.ready.push_back(Err(err)),
                    }
                    return;
                }
                _ => break,
            }
        }
        let decoder = &self.decoder;
        let results: Vec<Result<Vec<CorpusBatch>>> = window
            .par_iter()
            .map(|unit| decoder.decode_row_group(*unit))
            .collect();
        for result in results {
            match result {
                Ok(batches) => self.ready.extend(batches.into_iter().map(Ok)),
                Err(err) => self.ready.push_back(Err(err)),
            }
        }
    }

    fn open_stream(&self, shard: u32) -> Result<FileStream> {
        let info = &self.decoder.files[shard as usize];
        let source = if let Some(ipc) = &info.ipc {
            StreamSource::Ipc {
                batches: ipc.batches(&info.path, self.decoder.projection.clone())?,
                rest: None,
            }
        } else {
            let (input, layout) = open_text(&info.path, info.format, Some(&info.mixed))?;
            let reader = json_decoding(&self.full_schema)
                .with_batch_size(self.decoder.batch_size)
                .build(input)
                .map_err(|source| Error::Arrow {
                    path: info.path.clone(),
                    source,
                })?;
            StreamSource::Json { layout, reader }
        };
        Ok(FileStream {
            shard,
            next_row: 0,
            source,
        })
    }

    /// The next batch of the file being read; `None` (and the stream
    /// dropped) at its end, and the stream dropped after an error.
    fn next_streamed(&mut self) -> Option<Result<CorpusBatch>> {
        let stream = self.stream.as_mut()?;
        let shard = stream.shard;
        let first_row = stream.next_row;
        let info = &self.decoder.files[shard as usize];
        let next = match &mut stream.source {
            StreamSource::Json { layout, reader } => {
                let layout = *layout;
                reader.next().map(|batch| {
                    batch
                        .map_err(|e| e.to_string())
                        .and_then(|batch| {
                            json_numbers::parse_numbers(batch, &self.full_schema)
                                .map_err(|e| format!("field `{}` holds {}", e.field, e.text))
                        })
                        .map_err(|err| {
                            // Name the line itself when it can be found;
                            // else the record the failing batch starts at.
                            let found =
                                bad_line::first_undecodable(info, &self.full_schema, first_row);
                            let (line, why) = match found {
                                Err(read) => return read,
                                Ok(Some(found)) => found,
                                Ok(None) => (
                                    first_row + 1,
                                    Undecodable::Other(format!(
                                        "in the batch of records starting here: {err}"
                                    )),
                                ),
                            };
                            let (path, record) = (info.path.clone(), JsonRecord::of(layout, line));
                            match why {
                                Undecodable::UnknownField(field) => Error::UnknownJsonField {
                                    path,
                                    record,
                                    field,
                                    records: self.infer_records,
                                },
                                Undecodable::Inexact(number) => Error::JsonNumber {
                                    path,
                                    record,
                                    field: number.field,
                                    text: number.text.into(),
                                    integer: number.column_type == DataType::Int64,
                                    records: self.infer_records,
                                },
                                Undecodable::Other(reason) => Error::Jsonl {
                                    path,
                                    record,
                                    reason,
                                },
                            }
                        })
                        .and_then(|batch| self.decoder.project(batch, &info.path))
                })
            }
            StreamSource::Ipc { batches, rest } => {
                next_slice(batches, rest, self.decoder.batch_size).map(|batch| {
                    batch.map_err(|source| ipc::batch_error(&info.path, first_row, source))
                })
            }
        };
        let Some(batch) = next else {
            self.stream = None;
            return None;
        };
        match batch.and_then(|batch| self.decoder.conform(batch, &info.path)) {
            Ok(batch) => {
                stream.next_row += batch.num_rows() as u64;
                Some(Ok(CorpusBatch {
                    shard,
                    first_row,
                    batch,
                }))
            }
            Err(err) => {
                self.stream = None;
                Some(Err(err))
            }
        }
    }
}

/// The next non-empty batch of `batches`, at most `batch_size` rows: a
/// larger stored batch is handed out in slices (views of the same buffers).
fn next_slice(
    batches: &mut ipc::Batches,
    rest: &mut Option<RecordBatch>,
    batch_size: usize,
) -> Option<std::result::Result<RecordBatch, arrow::error::ArrowError>> {
    let batch = loop {
        let batch = match rest.take() {
            Some(batch) => batch,
            None => match batches.next()? {
                Ok(batch) => batch,
                Err(err) => return Some(Err(err)),
            },
        };
        if batch.num_rows() > 0 {
            break batch;
        }
    };
    if batch.num_rows() > batch_size {
        *rest = Some(batch.slice(batch_size, batch.num_rows() - batch_size));
        return Some(Ok(batch.slice(0, batch_size)));
    }
    Some(Ok(batch))
}

/// What decoding needs, shared by the worker threads.
struct Decoder {
    files: Arc<[FileInfo]>,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    batch_size: usize,
}

impl Decoder {
    fn decode_row_group(&self, unit: Unit) -> Result<Vec<CorpusBatch>> {
        let Unit::RowGroup {
            shard,
            group,
            first_row,
            ..
        } = unit
        else {
            return Ok(Vec::new());
        };
        let info = &self.files[shard as usize];
        let parquet_err = |source| Error::Parquet {
            path: info.path.clone(),
            source,
        };
        let metadata = info
            .parquet
            .clone()
            .ok_or_else(|| Error::UnsupportedFormat {
                path: info.path.clone(),
            })?;
        let file = File::open(&info.path).map_err(|e| Error::io(&info.path, e))?;
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
            .with_row_groups(vec![group])
            .with_batch_size(self.batch_size);
        if let Some(indices) = &self.projection {
            let mask = ProjectionMask::roots(
                builder.metadata().file_metadata().schema_descr(),
                indices.iter().copied(),
            );
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(parquet_err)?;
        let mut out = Vec::new();
        let mut row = first_row;
        for batch in reader {
            let batch =
                batch.map_err(|source| self.decode_error(info, group, first_row, source))?;
            let batch = self.conform(batch, &info.path)?;
            let rows = batch.num_rows() as u64;
            out.push(CorpusBatch {
                shard,
                first_row: row,
                batch,
            });
            row += rows;
        }
        Ok(out)
    }

    /// The error for row group `group` of `info` (starting at the file's
    /// row `first_row`) that failed to decode, naming the first of its
    /// columns that fails on its own: each is read again alone, on this
    /// error path only.
    fn decode_error(
        &self,
        info: &FileInfo,
        group: usize,
        first_row: u64,
        source: arrow::error::ArrowError,
    ) -> Error {
        let column = info.parquet.as_ref().and_then(|metadata| {
            let roots = metadata.schema().fields().len();
            let columns = self
                .projection
                .clone()
                .unwrap_or_else(|| (0..roots).collect());
            columns.into_iter().find_map(|i| {
                let file = File::open(&info.path).ok()?;
                let mask =
                    ProjectionMask::roots(metadata.metadata().file_metadata().schema_descr(), [i]);
                let fails =
                    ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
                        .with_row_groups(vec![group])
                        .with_projection(mask)
                        .with_batch_size(self.batch_size)
                        .build()
                        .map_or(true, |mut batches| batches.any(|b| b.is_err()));
                fails.then(|| metadata.schema().field(i).name().clone())
            })
        });
        Error::Decode {
            path: info.path.clone(),
            row_group: group,
            first_row,
            rows: info.row_groups.get(group).copied().unwrap_or(0),
            column,
            source,
        }
    }

    /// A decoded JSON batch (all columns) with only the projected ones.
    fn project(&self, batch: RecordBatch, path: &Path) -> Result<RecordBatch> {
        match &self.projection {
            Some(indices) => batch.project(indices).map_err(|source| Error::Arrow {
                path: path.to_path_buf(),
                source,
            }),
            None => Ok(batch),
        }
    }

    /// Re-labels a batch with the unified schema (nullability may have been
    /// widened across files; the data is unchanged), casting the columns
    /// whose type differs (JSONL strings when views are read).
    fn conform(&self, batch: RecordBatch, path: &Path) -> Result<RecordBatch> {
        if batch.schema() == self.schema {
            return Ok(batch);
        }
        cast_to(&batch, &self.schema).map_err(|source| Error::Arrow {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl Iterator for CorpusReader {
    type Item = Result<CorpusBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                if item.is_err() {
                    // Stop after the first error: later units are not read.
                    self.units.clear();
                    self.stream = None;
                }
                return Some(item);
            }
            if self.stream.is_some() {
                if let Some(item) = self.next_streamed() {
                    return Some(item);
                }
                continue;
            }
            if self.units.is_empty() {
                return None;
            }
            self.refill();
        }
    }
}

fn default_in_flight() -> usize {
    (rayon::current_num_threads() * 2).max(2)
}

impl FileInfo {
    /// Uncompressed bytes of the named top-level columns in one row group.
    fn projected_bytes(&self, group: usize, columns: &[&str]) -> u64 {
        let Some(meta) = &self.parquet else { return 0 };
        meta.metadata().row_groups().get(group).map_or(0, |rg| {
            rg.columns()
                .iter()
                .filter(|c| {
                    c.column_path()
                        .parts()
                        .first()
                        .is_some_and(|root| columns.contains(&root.as_str()))
                })
                .map(|c| u64::try_from(c.uncompressed_size()).unwrap_or(0))
                .sum()
        })
    }

    fn schema(&self, jsonl: Option<&SchemaRef>) -> SchemaRef {
        match (&self.parquet, &self.ipc, jsonl) {
            (Some(meta), _, _) => meta.schema().clone(),
            (None, Some(ipc), _) => ipc.schema().clone(),
            (None, None, Some(schema)) => schema.clone(),
            (None, None, None) => Arc::new(Schema::empty()),
        }
    }
}

/// How inputs are read, beyond what their files say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    json_text: Vec<String>,
    /// Records of each JSON input schema inference reads (`usize::MAX`:
    /// every record).
    infer_records: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            json_text: Vec::new(),
            infer_records: DEFAULT_JSONL_INFER_RECORDS,
        }
    }
}

impl ReadOptions {
    /// Infers the JSON inputs' columns from the first `records` records
    /// of each input, or from every record with `None` (each JSON input
    /// is then read twice). A field no record read holds is an error when
    /// it comes ([`Error::UnknownJsonField`]), never dropped. Default:
    /// [`DEFAULT_JSONL_INFER_RECORDS`].
    #[must_use]
    pub fn with_infer_records(mut self, records: Option<usize>) -> Self {
        self.infer_records = records.map_or(usize::MAX, |n| n.max(1));
        self
    }

    /// Records of each JSON input schema inference reads (`None`: every
    /// record).
    #[must_use]
    pub fn infer_records(&self) -> Option<usize> {
        (self.infer_records != usize::MAX).then_some(self.infer_records)
    }

    /// Reads the JSON fields at `paths` as their JSON text, compact (a
    /// `Utf8` column; see [`MixedRead::JsonText`](crate::MixedRead::JsonText)),
    /// whatever shape each record gives them: for fields
    /// no one Arrow type holds, such as the JSON Schemas of function-calling
    /// `tools`. A path names object keys from the record, joined by `.`,
    /// lists looked through (`tools`, `messages.tool_calls`, or
    /// `messages[].tool_calls`). A top-level field the records inference
    /// reads lack is a column of nulls until it comes; a nested one must
    /// appear there. Parquet and Arrow inputs must hold the field
    /// as text already (regime's outputs of JSON read this way do).
    /// Default: none.
    #[must_use]
    pub fn with_json_text(mut self, paths: Vec<String>) -> Self {
        self.json_text = paths;
        self
    }

    /// The fields read as JSON text.
    #[must_use]
    pub fn json_text(&self) -> &[String] {
        &self.json_text
    }
}

/// The object keys of a `--json-text` path (`messages[].tool_calls` →
/// `messages`, `tool_calls`); `None` when one is empty.
fn json_path_keys(path: &str) -> Option<Vec<&str>> {
    path.split('.')
        .map(|key| key.strip_suffix("[]").unwrap_or(key))
        .map(|key| (!key.is_empty()).then_some(key))
        .collect()
}

/// Why the column at `keys` of a typed (Parquet, Arrow) file's `schema`
/// is no JSON text column, if it is not: lists are looked through.
fn text_column_problem(schema: &Schema, keys: &[&str]) -> Option<JsonTextProblem> {
    let Some((first, rest)) = keys.split_first() else {
        return Some(JsonTextProblem::BadPath);
    };
    let Ok(field) = schema.field_with_name(first) else {
        return Some(JsonTextProblem::NoColumn);
    };
    let mut data_type = field.data_type();
    for key in rest {
        while let DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) =
            data_type
        {
            data_type = item.data_type();
        }
        let DataType::Struct(fields) = data_type else {
            return Some(JsonTextProblem::NoColumn);
        };
        let Some(field) = fields.iter().find(|f| f.name() == key) else {
            return Some(JsonTextProblem::NoColumn);
        };
        data_type = field.data_type();
    }
    (!matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ))
    .then(|| JsonTextProblem::NotText {
        data_type: data_type.to_string(),
    })
}

/// Opens one input's metadata; a JSON input is read with the `mixed`
/// fields [`infer_jsonl`] found in the JSON inputs.
fn open_file(input: InputFile, mixed: Option<&MixedFields>) -> Result<FileInfo> {
    let bytes = std::fs::metadata(&input.path)
        .map_err(|e| Error::io(&input.path, e))?
        .len();
    match input.format {
        FileFormat::Parquet => {
            let file = File::open(&input.path).map_err(|e| Error::io(&input.path, e))?;
            let parquet_err = |source| Error::Parquet {
                path: input.path.clone(),
                source,
            };
            let mut meta =
                ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(parquet_err)?;
            if let Some(wide) = wide_key_schema(meta.schema()) {
                meta = ArrowReaderMetadata::try_new(
                    meta.metadata().clone(),
                    ArrowReaderOptions::new().with_schema(wide),
                )
                .map_err(parquet_err)?;
            }
            let row_groups: Vec<u64> = meta
                .metadata()
                .row_groups()
                .iter()
                .map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0))
                .collect();
            Ok(FileInfo {
                rows: Some(row_groups.iter().sum()),
                row_groups,
                path: input.path,
                format: input.format,
                bytes,
                parquet: Some(meta),
                ipc: None,
                mixed: MixedFields::default(),
            })
        }
        FileFormat::Arrow => {
            let ipc = IpcFile::open(&input.path)?;
            Ok(FileInfo::streamed(
                input,
                bytes,
                Some(ipc),
                MixedFields::default(),
            ))
        }
        FileFormat::Jsonl(_) => {
            let mixed = mixed.cloned().unwrap_or_default();
            Ok(FileInfo::streamed(input, bytes, None, mixed))
        }
    }
}

impl FileInfo {
    /// A file read from start to end (JSONL, Arrow IPC): no row groups, its
    /// row count unknown until read.
    fn streamed(input: InputFile, bytes: u64, ipc: Option<IpcFile>, mixed: MixedFields) -> Self {
        FileInfo {
            path: input.path,
            format: input.format,
            bytes,
            rows: None,
            row_groups: Vec::new(),
            parquet: None,
            ipc,
            mixed,
        }
    }
}

/// The JSON inputs' schema, from the first records of each (every record
/// with [`ReadOptions::with_infer_records`] of `None`), with its columns
/// in the order the records write them, and their mixed fields.
fn infer_jsonl(inputs: &[&InputFile], options: &ReadOptions) -> Result<(SchemaRef, MixedFields)> {
    let records = options.infer_records;
    // Key order and value kinds first: they say which fields to read as
    // one type before inference sees them.
    let mut order = jsonl_order::key_order(inputs, records)?;
    // Fields read as JSON text hold strings, whatever is under them. A
    // top-level one the first records lack is a column of its own still.
    let first = inputs.first().map_or_else(PathBuf::new, |f| f.path.clone());
    let error = |field: &String, problem| Error::JsonText {
        path: first.clone(),
        field: field.clone(),
        problem,
    };
    let mut text_fields = Vec::with_capacity(options.json_text.len());
    let mut absent = Vec::new();
    for field in &options.json_text {
        let keys = json_path_keys(field).ok_or_else(|| error(field, JsonTextProblem::BadPath))?;
        match (order.descendant_mut(&keys), keys.as_slice()) {
            (Some(node), _) => node.read_as_text(),
            (None, [key]) => absent.push((*key).to_owned()),
            (None, _) => {
                return Err(error(
                    field,
                    JsonTextProblem::NotFound {
                        records: options.infer_records(),
                    },
                ));
            }
        }
        text_fields.push((field, keys));
    }
    let mut mixed = MixedFields::find(&order);
    for (field, keys) in &text_fields {
        if let Some((under, read)) = mixed.read_on_the_way(keys) {
            return Err(error(
                field,
                JsonTextProblem::UnderMixed { field: under, read },
            ));
        }
        mixed.read_as_json_text(&order, keys);
    }
    // The fields of the parts strings become (`type`, `text`) take their
    // place where the lines as inference reads them first show them.
    mixed.place_part_keys(&mut order);
    // Inference would make this mix a list and the decoder name a good
    // line: name the list's.
    if let Some((at, reason)) = json_mixed::lists_among_scalars(&order) {
        return Err(record_error(inputs, at, reason));
    }
    let schema = arrow::json::reader::infer_json_schema_from_iterator(sampled_values(
        inputs, &mixed, records, records,
    ))
    .map_err(|e| {
        // Name the field and the line where its kinds first clash, else
        // the line itself when it can be found.
        if let Some((at, reason)) = json_mixed::objects_beside_other_values(&order) {
            return record_error(inputs, at, reason);
        }
        match bad_line::first_uninferable(inputs, &mixed, records) {
            Err(read) => read,
            Ok(Some((at, reason))) => record_error(inputs, at, reason),
            Ok(None) => Error::Jsonl {
                path: first.clone(),
                record: JsonRecord::Line(0),
                reason: format!("cannot infer a schema: {e}"),
            },
        }
    })?;
    if schema.fields().is_empty() {
        return Err(Error::Jsonl {
            path: first.clone(),
            record: JsonRecord::of(json_layout(&first, inputs[0].format), 1),
            reason: "no JSON objects found".into(),
        });
    }
    // Columns in the file's order, not the alphabetical one inference
    // gives; fields to read as JSON text that came later, last.
    let mut schema = jsonl_order::in_key_order(&schema, &order);
    for key in absent {
        if schema.field_with_name(&key).is_err() {
            let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
            fields.push(Arc::new(Field::new(key, DataType::Utf8, true)));
            schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        }
    }
    Ok((Arc::new(schema), mixed))
}

/// The records schema inference reads, as JSON values: the first
/// `records` of each of `inputs` but the last, of which the first `last`
/// (each read as the decoder is given it, `mixed` fields as one type).
/// An I/O error ends them.
pub(crate) fn sampled_values<'a>(
    inputs: &'a [&'a InputFile],
    mixed: &'a MixedFields,
    records: usize,
    last: usize,
) -> impl Iterator<Item = std::result::Result<serde_json::Value, ArrowError>> + 'a {
    let mut next_input = 0;
    let mut current: Option<(RecordLines, usize)> = None;
    let mut line = Vec::new();
    std::iter::from_fn(move || {
        loop {
            if current.is_none() {
                let input = inputs.get(next_input)?;
                next_input += 1;
                let limit = if next_input == inputs.len() {
                    last
                } else {
                    records
                };
                match RecordLines::open(&input.path, input.format, Some(mixed)) {
                    Ok((lines, _)) => current = Some((lines, limit)),
                    Err(e) => {
                        next_input = inputs.len();
                        return Some(Err(ArrowError::ExternalError(Box::new(e))));
                    }
                }
            }
            let (lines, left) = current.as_mut()?;
            if *left == 0 {
                current = None;
                continue;
            }
            match lines.next_into(&mut line) {
                Ok(Some(_)) => {
                    *left -= 1;
                    return Some(
                        serde_json::from_slice(&line)
                            .map_err(|e| ArrowError::JsonError(format!("Not valid JSON: {e}"))),
                    );
                }
                Ok(None) => current = None,
                Err(e) => {
                    next_input = inputs.len();
                    current = None;
                    return Some(Err(ArrowError::ExternalError(Box::new(e))));
                }
            }
        }
    })
}

/// The error for record `at` of the JSON `inputs`.
pub(crate) fn record_error(inputs: &[&InputFile], at: RecordAt, reason: String) -> Error {
    let input = inputs[at.input];
    Error::Jsonl {
        path: input.path.clone(),
        record: JsonRecord::of(json_layout(&input.path, input.format), at.line),
        reason,
    }
}

/// How the JSON file at `path` holds its records (JSON Lines when it
/// cannot be read: the error that brought us here says more).
fn json_layout(path: &Path, format: FileFormat) -> JsonLayout {
    open_text(path, format, None).map_or(JsonLayout::Lines, |(_, layout)| layout)
}

/// How JSON records are decoded under an inferred `schema`. Inference
/// makes a column text when its records mix strings with numbers or
/// booleans (an `id` of `"a1"` in one record, `5` in another); the decoder
/// then reads those numbers and booleans as their JSON text (`5`, `3.50`,
/// `true`) rather than stopping at them. Integer and float columns are
/// decoded as text too, and parsed exactly by
/// [`json_numbers::parse_numbers`].
pub(crate) fn json_decoding(schema: &SchemaRef) -> arrow::json::ReaderBuilder {
    // Strict: a field the schema lacks (first seen past the records
    // inference read) stops the read rather than being dropped.
    arrow::json::ReaderBuilder::new(json_numbers::decoded_schema(schema))
        .with_coerce_primitive(true)
        .with_strict_mode(true)
}

/// How a JSON input holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonLayout {
    /// JSON Lines: one object per line.
    Lines,
    /// One array of objects, read through [`ArrayElements`] as JSON Lines
    /// (line N is element N).
    Array,
}

/// Opens a (possibly compressed) JSON file as a buffered reader of JSON
/// Lines: a file holding one array yields its elements, one per line. With
/// `repair`, lines are read as arrow is given them ([`JsonLines`]: astral
/// escapes decoded, the given mixed fields read as one type each); without,
/// as stored.
fn open_text(
    path: &Path,
    format: FileFormat,
    repair: Option<&MixedFields>,
) -> Result<(Box<dyn BufRead + Send>, JsonLayout)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let raw: Box<dyn Read + Send> = match format {
        FileFormat::Jsonl(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(file)),
        FileFormat::Jsonl(Compression::Zstd) => {
            Box::new(zstd::stream::read::Decoder::new(file).map_err(|e| Error::io(path, e))?)
        }
        _ => Box::new(file),
    };
    let mut reader = BufReader::with_capacity(1 << 20, raw);
    let start = reader.fill_buf().map_err(|e| Error::io(path, e))?;
    let (lines, layout): (Box<dyn BufRead + Send>, _) = if json_array::opens_array(start) {
        let elements = ArrayElements::new(reader);
        (
            Box::new(BufReader::with_capacity(1 << 20, elements)),
            JsonLayout::Array,
        )
    } else {
        // A byte-order mark (Windows tools write one) is not part of the
        // first record.
        if start.starts_with(UTF8_BOM) {
            reader.consume(UTF8_BOM.len());
        }
        (Box::new(reader), JsonLayout::Lines)
    };
    let Some(mixed) = repair else {
        return Ok((lines, layout));
    };
    let repaired = JsonLines::new(lines, mixed.clone());
    Ok((
        Box::new(BufReader::with_capacity(1 << 20, repaired)),
        layout,
    ))
}

fn count_jsonl_records(file: &FileInfo) -> Result<u64> {
    let mut count = 0u64;
    // Rewriting keeps lines as they are numbered: count them as stored.
    for_each_record(&file.path, file.format, None, |_, _| {
        count += 1;
        None::<()>
    })?;
    Ok(count)
}

/// Calls `visit(line_number, line)` (1-based, blank lines counted) for each
/// non-blank line of a JSONL file, read as [`open_text`] reads it with
/// `repair`, until it returns `Some`.
pub(crate) fn for_each_record<T>(
    path: &Path,
    format: FileFormat,
    repair: Option<&MixedFields>,
    mut visit: impl FnMut(u64, &[u8]) -> Option<T>,
) -> Result<Option<T>> {
    let (mut lines, _) = RecordLines::open(path, format, repair)?;
    let mut line = Vec::new();
    while let Some(number) = lines.next_into(&mut line)? {
        if let Some(found) = visit(number, &line) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The non-blank lines of a JSON file, numbered (1-based, blank lines
/// counted), read as [`open_text`] reads it.
pub(crate) struct RecordLines {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    number: u64,
}

impl RecordLines {
    /// Opens `path` as [`open_text`] does.
    pub(crate) fn open(
        path: &Path,
        format: FileFormat,
        repair: Option<&MixedFields>,
    ) -> Result<(Self, JsonLayout)> {
        let (reader, layout) = open_text(path, format, repair)?;
        let lines = RecordLines {
            path: path.to_path_buf(),
            reader,
            number: 0,
        };
        Ok((lines, layout))
    }

    /// Reads the next non-blank line into `line` and gives its number;
    /// `None` at the end.
    pub(crate) fn next_into(&mut self, line: &mut Vec<u8>) -> Result<Option<u64>> {
        loop {
            line.clear();
            let n = self
                .reader
                .read_until(b'\n', line)
                .map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(self.number));
            }
        }
    }
}

/// The type two files' columns of types `a` and `b` are read as: the same
/// types but for the names of list items, which writers choose differently
/// (pyarrow's parquet and arrow-rs write `element`, Arrow IPC and JSON
/// inference `item`), and for nullability, nested fields included (a list
/// of non-null items beside one of nullable items). `a`'s names, nullable
/// where either is; `None` when they differ otherwise. A file's batches are
/// cast to it ([`Decoder::conform`]). Not arrow's
/// `DataType::equals_datatype`, which ignores struct field names too: a
/// cast by position would then mislabel them.
fn unified_type(a: &DataType, b: &DataType) -> Option<DataType> {
    let field = |a: &FieldRef, b: &FieldRef| -> Option<FieldRef> {
        let data_type = unified_type(a.data_type(), b.data_type())?;
        Some(Arc::new(
            Field::clone(a)
                .with_data_type(data_type)
                .with_nullable(a.is_nullable() || b.is_nullable()),
        ))
    };
    match (a, b) {
        (DataType::List(a), DataType::List(b)) => field(a, b).map(DataType::List),
        (DataType::LargeList(a), DataType::LargeList(b)) => field(a, b).map(DataType::LargeList),
        (DataType::FixedSizeList(a, a_len), DataType::FixedSizeList(b, b_len))
            if a_len == b_len =>
        {
            field(a, b).map(|item| DataType::FixedSizeList(item, *a_len))
        }
        (DataType::Struct(a), DataType::Struct(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .map(|(a, b)| (a.name() == b.name()).then(|| field(a, b)).flatten())
            .collect::<Option<Fields>>()
            .map(DataType::Struct),
        _ => (a == b).then(|| a.clone()),
    }
}

/// The schema both files can be written under: same names and types (list
/// item names aside), nullable where either is (nested fields too); the first file's types and
/// metadata (pandas, HF features) are kept so writers can pass them through.
fn unify(first: &SchemaRef, other: &SchemaRef) -> std::result::Result<SchemaRef, String> {
    if first.fields().len() != other.fields().len() {
        return Err(format!(
            "{} columns instead of {}",
            other.fields().len(),
            first.fields().len()
        ));
    }
    let mut fields = Vec::with_capacity(first.fields().len());
    for (a, b) in first.fields().iter().zip(other.fields()) {
        if a.name() != b.name() {
            return Err(format!(
                "column `{}` where `{}` was expected",
                b.name(),
                a.name()
            ));
        }
        let Some(data_type) = unified_type(a.data_type(), b.data_type()) else {
            return Err(format!(
                "column `{}` has type {} instead of {}",
                a.name(),
                b.data_type(),
                a.data_type()
            ));
        };
        fields.push(
            a.as_ref()
                .clone()
                .with_data_type(data_type)
                .with_nullable(a.is_nullable() || b.is_nullable()),
        );
    }
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        first.metadata().clone(),
    )))
}
