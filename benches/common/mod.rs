//! Fixed inputs for the benches: built outside the timed closures. Each
//! bench uses a part of them (`#[expect(dead_code)] mod common;`).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;
use regime_corpus::{BatchText, CorpusReaderBuilder, FieldMap, resolve_inputs};

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

/// The text fields of `path`'s samples as (role, text), in input order,
/// until `limit` bytes of text.
pub(crate) fn text_fields(path: &Path, limit: usize) -> Vec<Vec<(&'static str, String)>> {
    let files = resolve_inputs(&[path]).expect("inputs");
    let builder = CorpusReaderBuilder::try_new(files).expect("open");
    let map = FieldMap::detect(builder.schema(), path).expect("field map");
    let reader = builder
        .with_columns(map.text_columns())
        .expect("columns")
        .build();
    let mut samples = Vec::new();
    let mut bytes = 0;
    for batch in reader {
        let batch = batch.expect("batch");
        let text = BatchText::try_new(&map, &batch.batch).expect("text");
        for row in 0..text.num_rows() {
            let fields: Vec<(&'static str, String)> = text
                .fields(row)
                .into_iter()
                .map(|f| (f.role.as_str(), f.text.to_owned()))
                .collect();
            bytes += fields.iter().map(|f| f.1.len()).sum::<usize>();
            samples.push(fields);
            if bytes >= limit {
                return samples;
            }
        }
    }
    samples
}
