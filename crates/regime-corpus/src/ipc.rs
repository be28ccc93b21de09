//! Arrow IPC inputs: the stream format (what Hugging Face `datasets` writes
//! with `save_to_disk` and keeps in its cache) and the file format (Feather
//! v2), told apart by the file format's `ARROW1` magic. Their record
//! batches are read one at a time, projected as they are decoded.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ipc::reader::{FileReader, StreamReader};

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
    /// Opens `path` and reads its schema. A stream must end with the
    /// end-of-stream marker: one cut at a batch boundary would otherwise
    /// read as a shorter corpus (the file format's footer says the same).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let mut magic = [0u8; 6];
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let read = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
        let file_format = read == magic.len() && &magic == FILE_MAGIC;
        let (schema, _) = read_batches(path, file_format, None)?;
        if !file_format && !ends_stream(&mut file).map_err(|e| Error::io(path, e))? {
            return Err(Error::Ipc {
                path: path.to_path_buf(),
                at: "end of stream".to_owned(),
                source: ArrowError::IpcError("no end-of-stream marker (cut off?)".to_owned()),
            });
        }
        Ok(Self {
            file_format,
            schema,
        })
    }

    /// The schema the file holds.
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

/// Whether `file` ends with the IPC end-of-stream marker: the `0xFFFFFFFF`
/// continuation and a zero length. (Writers before Arrow 0.15 wrote the
/// zero length alone; a batch's zero padding could end a cut file the same
/// way, so that form is not taken.)
fn ends_stream(file: &mut File) -> std::io::Result<bool> {
    const END: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];
    let len = file.metadata()?.len();
    if len < 8 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 8))?;
    let mut tail = [0u8; 8];
    file.read_exact(&mut tail)?;
    Ok(tail == END)
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
        let reader = StreamReader::try_new_buffered(file, projection).map_err(arrow_err)?;
        Ok((reader.schema(), Box::new(reader)))
    }
}
