//! Arrow IPC inputs: the stream format (what Hugging Face `datasets` writes
//! with `save_to_disk` and keeps in its cache) and the file format (Feather
//! v2), told apart by the file format's `ARROW1` magic. Their record
//! batches are read one at a time, projected as they are decoded.
//!
//! The IPC format lets a stream end at the end of its bytes without the
//! end-of-stream message, and arrow's reader takes it so; but pyarrow and
//! `datasets` always write that message, and a file that stops without it
//! was cut off (a copy interrupted between two batches). Such a stream is
//! an error here, not a shorter corpus: [`EndOfStream`] notes whether the
//! reader had to go past the file's last byte to find its end.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ipc::reader::{FileReader, StreamReader};

use crate::dictionary_keys::wide_key_schema;
use crate::error::{Error, Result};

/// The magic bytes that open (and close) an IPC file-format file.
const FILE_MAGIC: &[u8; 6] = b"ARROW1";

/// The record batches of an IPC input, in order.
pub(crate) type Batches =
    Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>;

/// An opened IPC input: its layout and schema.
#[derive(Debug, Clone)]
pub(crate) struct IpcFile {
    /// The file format (with a footer) rather than the stream format.
    file_format: bool,
    schema: SchemaRef,
}

impl IpcFile {
    /// Opens `path` and reads its schema.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let mut magic = [0u8; 6];
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let read = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
        let file_format = read == magic.len() && &magic == FILE_MAGIC;
        let (schema, _) = read_batches(path, file_format, None)?;
        // Batches are cast to it as they are read.
        let schema = wide_key_schema(&schema).unwrap_or(schema);
        Ok(Self {
            file_format,
            schema,
        })
    }

    /// The schema the file holds, its dictionaries with `int32` keys
    /// ([`wide_key_schema`]).
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The file's record batches, with only the columns at `projection`
    /// (schema indices, ascending) when given.
    pub(crate) fn batches(&self, path: &Path, projection: Option<Vec<usize>>) -> Result<Batches> {
        read_batches(path, self.file_format, projection).map(|(_, batches)| batches)
    }

    /// The number of rows in the file, read batch by batch with no columns
    /// decoded.
    pub(crate) fn count_rows(&self, path: &Path) -> Result<u64> {
        let mut rows = 0u64;
        for batch in self.batches(path, Some(Vec::new()))? {
            rows += batch
                .map_err(|source| batch_error(path, rows, source))?
                .num_rows() as u64;
        }
        Ok(rows)
    }
}

/// The error for a record batch, starting at `row`, that did not read.
pub(crate) fn batch_error(path: &Path, row: u64, source: ArrowError) -> Error {
    Error::Ipc {
        path: path.to_path_buf(),
        at: format!("record batch at row {row}"),
        source,
    }
}

/// A reader that notes when a read found nothing more: arrow's stream
/// reader reads past the last byte only when the stream has no
/// end-of-stream message (after that message it stops reading).
struct EndOfStream<R> {
    inner: R,
    past_end: Arc<AtomicBool>,
}

impl<R: Read> Read for EndOfStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.past_end.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// A stream's batches, then an error if it ended without its end-of-stream
/// message.
struct CheckedStream<R: Read> {
    reader: StreamReader<R>,
    past_end: Arc<AtomicBool>,
    done: bool,
}

impl<R: Read> Iterator for CheckedStream<R> {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.reader.next();
        if next.is_none() {
            self.done = true;
            if self.past_end.load(Ordering::Relaxed) {
                return Some(Err(ArrowError::IpcError(
                    "the stream ends without its end-of-stream message (cut off?)".to_owned(),
                )));
            }
        }
        next
    }
}

/// The schema and record batches of the IPC file at `path`.
fn read_batches(
    path: &Path,
    file_format: bool,
    projection: Option<Vec<usize>>,
) -> Result<(SchemaRef, Batches)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let arrow_err = |source| Error::Ipc {
        path: path.to_path_buf(),
        at: "schema".to_owned(),
        source,
    };
    if file_format {
        let reader = FileReader::try_new_buffered(file, projection).map_err(arrow_err)?;
        Ok((reader.schema(), Box::new(reader)))
    } else {
        let past_end = Arc::new(AtomicBool::new(false));
        let file = BufReader::new(EndOfStream {
            inner: file,
            past_end: Arc::clone(&past_end),
        });
        let reader = StreamReader::try_new(file, projection).map_err(arrow_err)?;
        let schema = reader.schema();
        let batches = CheckedStream {
            reader,
            past_end,
            done: false,
        };
        Ok((schema, Box::new(batches)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::ipc::MetadataVersion;
    use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};

    use super::*;

    fn rows_read(bytes: &[u8]) -> Result<u64> {
        let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(file.path(), bytes).unwrap_or_else(|e| panic!("{e}"));
        IpcFile::open(file.path())?.count_rows(file.path())
    }

    #[test]
    fn a_stream_cut_between_batches_is_an_error_whatever_its_last_bytes() {
        // An odd number of int32 rows ending in -1: the batch's last bytes
        // (the value, then four bytes of padding) are those of the
        // end-of-stream message.
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int32, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int32Array::from(vec![0, 1, -1]))],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // 8-byte alignment, as pyarrow writes (arrow-rs pads to 64).
        let options = IpcWriteOptions::try_new(8, false, MetadataVersion::V5)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut writer = StreamWriter::try_new_with_options(Vec::new(), &schema, options)
            .unwrap_or_else(|e| panic!("{e}"));
        writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        let one_batch = writer.get_ref().len();
        writer.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        writer.finish().unwrap_or_else(|e| panic!("{e}"));
        let whole = writer.into_inner().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            whole[one_batch - 8..one_batch],
            [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        );

        assert_eq!(rows_read(&whole).unwrap_or_else(|e| panic!("{e}")), 6);
        let cut = rows_read(&whole[..one_batch])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(cut.contains("without its end-of-stream message"), "{cut}");
        // Anything after the end-of-stream message is not read.
        let mut padded = whole.clone();
        padded.extend_from_slice(&[0; 8]);
        assert_eq!(rows_read(&padded).unwrap_or_else(|e| panic!("{e}")), 6);
    }
}
