//! Fixed inputs for the benches: built outside the timed closures.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;

/// The bundled sample corpus.
pub(crate) fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/easy_vqa_llava.parquet")
}

/// Writes the sample corpus `copies` times into one parquet file with
/// `row_group_rows`-row groups (zstd), and returns its path and row count.
pub(crate) fn replicated_sample(
    dir: &Path,
    copies: usize,
    row_group_rows: usize,
) -> (PathBuf, u64) {
    let file = File::open(sample()).expect("sample corpus");
    let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect();
    let path = dir.join(format!("sample-x{copies}.parquet"));
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_compression(parquet::basic::Compression::ZSTD(
            parquet::basic::ZstdLevel::default(),
        ))
        .build();
    let mut writer = ArrowWriter::try_new(
        File::create(&path).expect("create"),
        batches[0].schema(),
        Some(props),
    )
    .expect("writer");
    let mut rows = 0;
    for _ in 0..copies {
        for batch in &batches {
            writer.write(batch).expect("write");
            rows += batch.num_rows() as u64;
        }
    }
    writer.close().expect("close");
    (path, rows)
}
