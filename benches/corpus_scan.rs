//! Scanning the text column of a corpus: regime-corpus's reader against the
//! `parquet` crate alone decoding the same column, single-threaded.
//!
//! `cargo bench --bench corpus_scan`; figures in BENCHMARKS.md.

use std::fs::File;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use regime_corpus::{CorpusReaderBuilder, resolve_inputs};

#[expect(dead_code, reason = "each bench uses a part of the shared inputs")]
mod common;

fn scan(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, rows) = common::replicated_sample(dir.path(), 20, 5000);
    let mut group = c.benchmark_group("scan_conversations");
    group.throughput(Throughput::Elements(rows));
    group.sample_size(20);

    group.bench_function("parquet_crate_alone", |b| {
        b.iter(|| {
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
                    .expect("parquet");
            let index = builder.schema().index_of("conversations").expect("column");
            let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
            let reader = builder
                .with_projection(mask)
                .with_batch_size(regime_corpus::DEFAULT_BATCH_SIZE)
                .build()
                .expect("reader");
            reader.map(|b| b.expect("batch").num_rows()).sum::<usize>()
        });
    });

    let regime_scan = || {
        let files = resolve_inputs(&[&path]).expect("inputs");
        CorpusReaderBuilder::try_new(files)
            .expect("open")
            .with_columns(["conversations"])
            .expect("column")
            .build()
            .map(|b| b.expect("batch").num_rows())
            .sum::<usize>()
    };
    group.bench_function("regime_corpus", |b| b.iter(regime_scan));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    group.bench_function("regime_corpus_1_thread", |b| {
        b.iter(|| one.install(regime_scan));
    });
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
