//! The corpus layer of regime: reads parquet, JSONL and Arrow IPC corpora as
//! one ordered, bounded stream of Arrow
//! [`RecordBatch`](arrow::array::RecordBatch)es, maps their columns to field
//! roles, identifies every row stably, and writes parquet outputs atomically
//! with a run manifest.
//!
//! It knows nothing about statistics, de-duplication or teachers: stages
//! build on it.
//!
//! # Overview
//! - [`resolve_inputs`] turns files, directories and globs into a sorted
//!   [`InputFile`] list; its order defines each file's shard index.
//! - [`CorpusReaderBuilder`] opens the files, checks they share a schema and
//!   builds a [`CorpusReader`]: an iterator of [`CorpusBatch`]es, row group by
//!   row group, with a bounded number decoded in parallel.
//! - [`FieldMap`] says which columns or conversation turns play which
//!   [`Role`]; [`BatchText`] gives each row's [`TextField`]s;
//!   [`role_census`] counts them per role.
//! - [`apply_text_edits`] rebuilds a batch's text columns with some fields
//!   replaced, leaving every other array untouched.
//! - [`RowId`] packs `(shard, row)` into a `u64`.
//! - [`OutputDir`] stages files and publishes them atomically with a
//!   [`Manifest`]; [`PartWriter`] writes zstd parquet parts into it, and
//!   [`PartSplicer`] writes parts that copy the column chunks a stage did
//!   not change from the input;
//!   [`AtomicFile`] / [`write_atomic`] write any other file, and
//!   [`write_json`] any JSON file (pretty, one final newline).
//!
//! # Example
//! ```no_run
//! use regime_corpus::{resolve_inputs, BatchText, CorpusReaderBuilder, FieldMap};
//!
//! let files = resolve_inputs(&["train.parquet"])?;
//! let builder = CorpusReaderBuilder::try_new(files)?;
//! let map = FieldMap::detect(builder.schema(), "train.parquet".as_ref())?;
//! let reader = builder.with_columns(map.text_columns())?.build();
//! for batch in reader {
//!     let batch = batch?;
//!     let text = BatchText::try_new(&map, &batch.batch)?;
//!     for row in 0..text.num_rows() {
//!         for field in text.fields(row) {
//!             let _ = (batch.row_id(row), field.role, field.text);
//!         }
//!     }
//! }
//! # Ok::<(), regime_corpus::Error>(())
//! ```

mod atomic;
mod bad_line;
mod dictionary_keys;
mod error;
mod field_map;
mod input;
mod ipc;
mod json_array;
mod json_line;
mod json_mixed;
mod json_numbers;
mod jsonl_order;
mod manifest;
mod output;
mod parquet_types;
mod reader;
mod retype;
mod role_census;
mod row_id;
mod sample;
mod splice;
mod string_views;
mod text_edit;
mod writer;

pub use atomic::{AtomicFile, write_atomic, write_json};
pub use error::{Error, JsonRecord, JsonTextProblem, Result};
pub use field_map::{ConversationColumn, FieldMap, Profile, Role, column_list, is_string};
pub use input::{Compression, FileFormat, InputFile, resolve_inputs};
pub use json_mixed::{MixedField, MixedRead};
pub use manifest::{InputRecord, MANIFEST_FILE, Manifest, OutputRecord, hash_file, hash_inputs};
pub use output::{OutputDir, PendingCommit, check_published, real_path};
pub use parquet_types::unwritable_column;
pub use reader::{
    CorpusBatch, CorpusReader, CorpusReaderBuilder, DEFAULT_BATCH_SIZE,
    DEFAULT_JSONL_INFER_RECORDS, DEFAULT_MAX_IN_FLIGHT_BYTES, FileInfo, ReadOptions,
};
pub use role_census::{RoleCount, role_census};
pub use row_id::{ROW_BITS, RowId};
pub use sample::{BatchText, FieldSource, TextField};
pub use splice::{PartSplicer, RewrittenColumn, Unsplicable};
pub use text_edit::{EditTarget, TextEdit, apply_text_edits};
pub use writer::{
    DEFAULT_FILE_BYTES, DEFAULT_ROW_GROUP_BYTES, DEFAULT_ROW_GROUP_ROWS, DEFAULT_ZSTD_LEVEL,
    PartWriter, WriterOptions,
};
