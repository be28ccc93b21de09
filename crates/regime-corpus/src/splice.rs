//! Parquet output that copies what a stage did not change: every output row
//! group mirrors one input row group, the columns the stage rewrites are
//! encoded from its batches, and every other column chunk is copied from the
//! input file byte for byte — its pages, compression, statistics and page
//! index as they were.
//!
//! A stage that edits a few text columns of a multimodal corpus then neither
//! decodes nor re-compresses the images, which are most of its bytes.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory, ArrowWriterOptions,
    compute_leaves,
};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::SchemaDescriptor;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::input::FileFormat;
use crate::manifest::OutputRecord;
use crate::output::OutputDir;
use crate::reader::FileInfo;
use crate::writer::{WriterOptions, part_name, writer_properties};

/// Writes `PREFIX-00000.parquet`, … whose row groups are the input's, with
/// some columns re-encoded from batches and the rest copied.
///
/// Batches must arrive in input order, as a [`CorpusReader`] emits them
/// (each within one row group), and hold every rewritten column by name;
/// other columns in them are ignored. A new part starts after the row group
/// that takes the current one past [`WriterOptions::file_bytes`];
/// `row_group_rows` and `row_group_bytes` do not apply, since the row groups
/// are the input's. Memory: the encoded rewritten columns of one row group.
///
/// ```no_run
/// # use regime_corpus::{CorpusReaderBuilder, OutputDir, PartSplicer, WriterOptions, resolve_inputs};
/// # fn demo() -> regime_corpus::Result<()> {
/// let builder = CorpusReaderBuilder::try_new(resolve_inputs(&["train.parquet"])?)?;
/// let out = OutputDir::prepare("out".as_ref(), false)?;
/// let schema = builder.schema().clone();
/// let rewritten = ["caption".to_owned()];
/// let Some(mut parts) = PartSplicer::try_new(
///     &out, "part", builder.files(), schema, &rewritten, WriterOptions::default(),
/// )?
/// else {
///     return Ok(()); // not splicable: write every column instead
/// };
/// for batch in builder.with_columns(&rewritten)?.build() {
///     let batch = batch?;
///     parts.write(batch.shard, batch.first_row, &batch.batch)?;
/// }
/// let written = parts.finish()?;
/// # Ok(()) }
/// ```
///
/// [`CorpusReader`]: crate::CorpusReader
pub struct PartSplicer<'a> {
    dir: &'a OutputDir,
    prefix: String,
    schema: SchemaRef,
    props: WriterProperties,
    file_bytes: u64,
    /// The rewritten columns: name, and the range of their parquet leaves.
    rewritten: Vec<(String, std::ops::Range<usize>)>,
    /// Per output leaf: encoded from batches (else copied).
    encoded: Vec<bool>,
    sources: Vec<(PathBuf, Vec<u64>)>,
    cursor: Cursor,
    open_source: Option<OpenSource>,
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
    file: File,
    metadata: ParquetMetaData,
}

struct OpenPart {
    writer: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    name: String,
    rows: u64,
}

impl<'a> PartSplicer<'a> {
    /// Prepares a splicing writer of `schema` (the input's, optionally with
    /// rewritten columns appended at the end), or `None` when the inputs
    /// cannot be spliced: a file is not parquet, or a copied column's parquet
    /// type in a file differs from the one `schema` would be written with.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] for a rewritten column not in `schema`;
    /// [`Error::ParquetWrite`] for an invalid zstd level or a schema parquet
    /// cannot hold.
    pub fn try_new(
        dir: &'a OutputDir,
        prefix: &str,
        files: &[FileInfo],
        schema: SchemaRef,
        rewritten: &[String],
        options: WriterOptions,
    ) -> Result<Option<Self>> {
        let write_err = |source| Error::ParquetWrite {
            path: dir.path().to_path_buf(),
            source,
        };
        let props = writer_properties(dir, options)?;
        let descr = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&schema)
            .map_err(write_err)?;
        let leaves = leaf_ranges(&descr);
        let mut encoded = vec![false; descr.num_columns()];
        let mut columns = Vec::with_capacity(rewritten.len());
        for name in rewritten {
            let index = schema
                .index_of(name)
                .map_err(|_| Error::missing_column(name, &schema))?;
            let range = leaves[index].clone();
            encoded[range.clone()].fill(true);
            columns.push((name.clone(), range));
        }
        let mut sources = Vec::with_capacity(files.len());
        for file in files {
            let Some(meta) = (file.format == FileFormat::Parquet)
                .then_some(file.parquet.as_ref())
                .flatten()
            else {
                return Ok(None);
            };
            let input = meta.parquet_schema();
            let copies_fit = (0..descr.num_columns())
                .filter(|&leaf| !encoded[leaf])
                .all(|leaf| leaf < input.num_columns() && input.column(leaf) == descr.column(leaf));
            if !copies_fit {
                return Ok(None);
            }
            sources.push((file.path.clone(), file.row_groups.clone()));
        }
        Ok(Some(Self {
            dir,
            prefix: prefix.to_owned(),
            schema,
            props,
            file_bytes: options.file_bytes,
            rewritten: columns,
            encoded,
            sources,
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
    /// [`Error::ParquetWrite`] naming the part file (also when the rows do
    /// not continue where the last batch ended);
    /// [`Error::MissingColumn`] for a rewritten column `batch` lacks;
    /// [`Error::Io`] / [`Error::Parquet`] reading the input file.
    pub fn write(&mut self, shard: u32, first_row: u64, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows() as u64;
        if rows == 0 {
            return Ok(());
        }
        self.skip_empty_groups();
        let shard = shard as usize;
        let expected = (self.cursor.shard, self.cursor.first_row + self.cursor.done);
        let left = self.group_rows().unwrap_or(0) - self.cursor.done;
        if (shard, first_row) != expected || rows > left {
            return Err(self.order_error(format!(
                "rows {first_row}..{} of input {shard} do not continue row {} of input {}",
                first_row + rows,
                expected.1,
                expected.0
            )));
        }
        if self.pending.is_none() {
            self.pending = Some(self.column_writers()?);
        }
        let path = self
            .dir
            .staged(self.current.as_ref().map_or("", |part| part.name.as_str()));
        let Some(writers) = self.pending.as_mut() else {
            return Ok(());
        };
        let write_err = |source| Error::ParquetWrite {
            path: path.clone(),
            source,
        };
        let schema = batch.schema();
        let mut leaves: Vec<Option<ArrowLeafColumn>> = writers.iter().map(|_| None).collect();
        for (name, range) in &self.rewritten {
            let (index, field) = schema
                .column_with_name(name)
                .ok_or_else(|| Error::missing_column(name, &schema))?;
            let computed = compute_leaves(field, batch.column(index)).map_err(write_err)?;
            for (slot, leaf) in leaves[range.clone()].iter_mut().zip(computed) {
                *slot = Some(leaf);
            }
        }
        // Leaves encode independently (each writer gets its own in row
        // order), so in parallel with the same bytes.
        writers
            .par_iter_mut()
            .zip(leaves.into_par_iter())
            .try_for_each(|(writer, leaf)| match (writer, leaf) {
                (Some(writer), Some(leaf)) => writer.write(&leaf),
                _ => Ok(()),
            })
            .map_err(write_err)?;
        self.cursor.done += rows;
        if Some(self.cursor.done) == self.group_rows() {
            self.finish_group()?;
        }
        Ok(())
    }

    /// Closes the last part and returns every part written, with row counts.
    ///
    /// # Errors
    /// [`Error::ParquetWrite`] naming the part file, also when some input
    /// rows were never written.
    pub fn finish(mut self) -> Result<Vec<OutputRecord>> {
        self.skip_empty_groups();
        if self.cursor.shard < self.sources.len() {
            let missing = format!(
                "input {} ended at row {} of its row group {}: rows are missing",
                self.cursor.shard,
                self.cursor.first_row + self.cursor.done,
                self.cursor.group
            );
            return Err(self.order_error(missing));
        }
        self.close_part()?;
        Ok(std::mem::take(&mut self.parts))
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

    fn order_error(&self, reason: String) -> Error {
        Error::ParquetWrite {
            path: self.dir.path().to_path_buf(),
            source: ParquetError::General(reason),
        }
    }

    /// Encoders for a new row group (opening a part first if none is open);
    /// only the rewritten leaves keep theirs.
    fn column_writers(&mut self) -> Result<Vec<Option<ArrowColumnWriter>>> {
        if self.current.is_none() {
            self.open_part()?;
        }
        let Some(part) = self.current.as_ref() else {
            return Ok(Vec::new());
        };
        let writers = part
            .factory
            .create_column_writers(part.writer.flushed_row_groups().len())
            .map_err(|source| Error::ParquetWrite {
                path: self.dir.staged(&part.name),
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
        let Cursor { shard, group, .. } = self.cursor;
        self.open_source(shard)?;
        let Some(source) = self.open_source.as_ref() else {
            return Ok(());
        };
        let writers = self.pending.take().unwrap_or_default();
        let Some(part) = self.current.as_mut() else {
            return Ok(());
        };
        let path = self.dir.staged(&part.name);
        let write_err = |source| Error::ParquetWrite {
            path: path.clone(),
            source,
        };
        let input = source.metadata.row_group(group);
        let page_index = source.metadata.page_index_for_row_group(group);
        let mut row_group = part.writer.next_row_group().map_err(write_err)?;
        for (leaf, writer) in writers.into_iter().enumerate() {
            if let Some(writer) = writer {
                let chunk = writer.close().map_err(write_err)?;
                chunk
                    .append_to_row_group(&mut row_group)
                    .map_err(write_err)?;
            } else {
                let chunk = input.column(leaf);
                let close = ColumnCloseResult {
                    bytes_written: u64::try_from(chunk.compressed_size()).unwrap_or(0),
                    rows_written: u64::try_from(input.num_rows()).unwrap_or(0),
                    metadata: chunk.clone(),
                    bloom_filter: None,
                    column_index: page_index.column_index(leaf).cloned(),
                    offset_index: page_index.offset_index(leaf).cloned(),
                };
                row_group
                    .append_column(&source.file, close)
                    .map_err(write_err)?;
            }
        }
        row_group.close().map_err(write_err)?;
        part.rows += self.cursor.done;
        if part.writer.bytes_written() as u64 >= self.file_bytes {
            self.close_part()?;
        }
        Ok(())
    }

    /// Opens input file `shard` with its page index, unless it is open.
    fn open_source(&mut self, shard: usize) -> Result<()> {
        if self.open_source.as_ref().is_none_or(|s| s.shard != shard) {
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
            self.open_source = Some(OpenSource {
                shard,
                file,
                metadata,
            });
        }
        Ok(())
    }

    fn open_part(&mut self) -> Result<()> {
        let name = part_name(&self.prefix, self.parts.len());
        let path = self.dir.staged(&name);
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let options = ArrowWriterOptions::new().with_properties(self.props.clone());
        let (writer, factory) =
            ArrowWriter::try_new_with_options(file, Arc::clone(&self.schema), options)
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(|source| Error::ParquetWrite { path, source })?;
        self.current = Some(OpenPart {
            writer,
            factory,
            name,
            rows: 0,
        });
        Ok(())
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

/// The parquet leaves of each top-level column, in order.
fn leaf_ranges(descr: &SchemaDescriptor) -> Vec<std::ops::Range<usize>> {
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
            schema
                .field_with_name("conversations")
                .unwrap_or_else(|e| panic!("{e}"))
                .clone(),
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

    fn rewritten() -> Vec<String> {
        ["caption", "conversations", "note"]
            .map(str::to_owned)
            .to_vec()
    }

    /// Splices every batch of `builder` into `out` and returns the parts.
    fn splice(builder: CorpusReaderBuilder, out: &OutputDir, file_bytes: u64) -> Vec<OutputRecord> {
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
        .unwrap_or_else(|| panic!("inputs are splicable"));
        let reader = builder
            .with_columns(["caption", "conversations"])
            .unwrap_or_else(|e| panic!("{e}"))
            .with_batch_size(2)
            .build();
        for batch in reader {
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
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let builder = inputs(dir.path());
        let out_dir = dir.path().join("out");
        let out = OutputDir::prepare(&out_dir, false).unwrap_or_else(|e| panic!("{e}"));
        let parts = splice(builder, &out, u64::MAX);
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

        // The inputs' row groups, and their id and image chunks byte for
        // byte in their own codecs; rewritten leaves (caption, from, value,
        // note) in zstd.
        let a = chunks(&dir.path().join("a.parquet"));
        let b = chunks(&dir.path().join("b.parquet"));
        let got = chunks(&written);
        let groups: Vec<usize> = a.iter().chain(&b).map(Vec::len).collect();
        assert_eq!(groups, [5, 5, 5, 5, 5]);
        assert_eq!(got.len(), 5);
        for (out_group, in_group) in got.iter().zip(a.iter().chain(&b)) {
            assert_eq!(out_group.len(), 6);
            for leaf in [0, 1] {
                assert_eq!(out_group[leaf], in_group[leaf], "leaf {leaf}");
            }
            for (leaf, (_, codec)) in out_group.iter().enumerate().skip(2) {
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
    fn a_new_part_starts_between_row_groups() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let builder = inputs(dir.path());
        let out =
            OutputDir::prepare(&dir.path().join("out"), false).unwrap_or_else(|e| panic!("{e}"));
        let parts = splice(builder, &out, 1);
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
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let builder = inputs(dir.path());
        let out =
            OutputDir::prepare(&dir.path().join("out"), false).unwrap_or_else(|e| panic!("{e}"));
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
            .unwrap_or_else(|| panic!("splicable"))
        };
        let input = rows(0, 2);
        let batch = rewrite(&input, &schema, 0, 0);
        let mut parts = splicer(&out);
        let err = parts.write(0, 1, &batch).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("do not continue row 0")));

        let mut parts = splicer(&out);
        parts.write(0, 0, &batch).unwrap_or_else(|e| panic!("{e}"));
        let err = parts.finish().err().map(|e| e.to_string());
        assert!(
            err.is_some_and(|e| e.contains("rows are missing")),
            "finish after 2 of 12 rows"
        );
    }

    #[test]
    fn jsonl_inputs_are_not_spliced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.jsonl");
        std::fs::write(&path, "{\"caption\": \"x\"}\n").unwrap_or_else(|e| panic!("{e}"));
        let files = resolve_inputs(&[path.display().to_string()]).unwrap_or_else(|e| panic!("{e}"));
        let builder = CorpusReaderBuilder::try_new(files).unwrap_or_else(|e| panic!("{e}"));
        let out =
            OutputDir::prepare(&dir.path().join("out"), false).unwrap_or_else(|e| panic!("{e}"));
        let schema = builder.schema().clone();
        let splicer = PartSplicer::try_new(
            &out,
            "part",
            builder.files(),
            schema,
            &["caption".to_owned()],
            WriterOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(splicer.is_none());
    }
}
