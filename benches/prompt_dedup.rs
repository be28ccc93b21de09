//! Prompt-segment de-duplication and the audit over generated samples
//! (`regime synth prompt-dup` at 75% planted duplication), per batch, on one
//! thread and on the default pool; and, from the same rows written to a
//! zstd parquet file, decoding the audit's columns alone (the floor of
//! `audit-prompts`) and decoding plus the audit; and file to file as
//! `regime prompt-dedup` runs, copying the untouched column chunks
//! (`PartSplicer`) or re-encoding every column (`--reencode`).
//!
//! `cargo bench --bench prompt_dedup`; figures in BENCHMARKS.md.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::compute::concat_batches;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use regime_corpus::{
    CorpusBatch, CorpusReaderBuilder, FieldMap, OutputDir, PartSplicer, PartWriter, WriterOptions,
    resolve_inputs,
};
use regime_dedup::{
    DedupFigures, PromptAudit, PromptDedup, RewriteOptions, SynthConfig, SynthLayout, audit_batch,
    dedup_batch, output_schema, read_columns, synth_prompt_dup,
};

/// Generated rows (fixed seed).
const ROWS: u64 = 50_000;

fn corpus() -> (Vec<CorpusBatch>, FieldMap) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/easy_vqa_llava.parquet");
    let builder = CorpusReaderBuilder::try_new(resolve_inputs(&[&path]).expect("inputs"))
        .expect("sample corpus");
    let schema = builder.schema().clone();
    let batches: Vec<_> = builder.build().map(|b| b.expect("batch").batch).collect();
    let source = concat_batches(&schema, &batches).expect("concat");
    let mut config = SynthConfig::new(0.75, 1, SynthLayout::Llava).expect("config");
    config.rows = Some(ROWS);
    let mut out = Vec::new();
    let mut first_row = 0;
    synth_prompt_dup(&source, &config, &mut |batch| {
        let rows = batch.num_rows() as u64;
        out.push(CorpusBatch {
            shard: 0,
            first_row,
            batch,
        });
        first_row += rows;
        Ok(())
    })
    .expect("synth");
    let map = FieldMap::detect(&out[0].batch.schema(), &path).expect("field map");
    (out, map)
}

/// Writes the generated rows to `dir/corpus.parquet` as regime writes
/// parquet (zstd level 3, row groups of 10,000) and returns its path.
fn write_parquet(batches: &[CorpusBatch], dir: &Path) -> PathBuf {
    let path = dir.join("corpus.parquet");
    let file = File::create(&path).expect("create");
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("level")))
        .set_max_row_group_row_count(Some(regime_corpus::DEFAULT_ROW_GROUP_ROWS))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, batches[0].batch.schema(), Some(props)).expect("writer");
    for b in batches {
        writer.write(&b.batch).expect("write");
    }
    writer.close().expect("close");
    path
}

/// Reads `path`'s text columns and `id` (what `audit-prompts` reads),
/// running `each` on every batch; returns the rows read.
fn scan_file(path: &Path, map: &FieldMap, mut each: impl FnMut(&CorpusBatch)) -> usize {
    let builder =
        CorpusReaderBuilder::try_new(resolve_inputs(&[path]).expect("inputs")).expect("reader");
    let columns = read_columns(map, builder.schema());
    // As `audit-prompts` reads: text as string views.
    let reader = builder
        .with_columns(&columns)
        .expect("columns")
        .with_string_views()
        .expect("string views")
        .build();
    let mut rows = 0;
    for b in reader {
        let b = b.expect("batch");
        rows += b.num_rows();
        each(&b);
    }
    rows
}

/// De-duplicates `path` into `out` as `regime prompt-dedup` does: reading
/// the text columns (as string views) and ids and copying every other
/// column chunk (`splice`), or reading and re-encoding every column. Returns the rows.
fn file_to_file(
    path: &Path,
    map: &FieldMap,
    dedup: &PromptDedup,
    out: &Path,
    splice: bool,
) -> usize {
    let mut figures = DedupFigures::new(&PromptAudit::new());
    let builder =
        CorpusReaderBuilder::try_new(resolve_inputs(&[path]).expect("inputs")).expect("reader");
    let schema = output_schema(builder.schema(), false).expect("schema");
    let dir = OutputDir::prepare(out, true, &[path]).expect("output dir");
    let options = RewriteOptions::default();
    let mut rows = 0;
    if splice {
        let files = builder.files().to_vec();
        let mut parts = PartSplicer::try_new(
            &dir,
            "part",
            &files,
            schema,
            &map.text_leaves(),
            WriterOptions::default(),
        )
        .expect("splicer")
        .expect("the generated file is splicable");
        let columns = read_columns(map, builder.schema());
        let reader = builder
            .with_columns(columns)
            .expect("columns")
            .with_string_views()
            .expect("string views");
        for b in reader.build() {
            let b = b.expect("batch");
            let output = dedup_batch(dedup, map, &b, options, &mut figures).expect("dedup");
            parts.write(b.shard, b.first_row, &output).expect("write");
            rows += b.num_rows();
        }
        parts.finish().expect("finish");
    } else {
        let mut parts =
            PartWriter::try_new(&dir, "part", schema, WriterOptions::default()).expect("writer");
        for b in builder.build() {
            let b = b.expect("batch");
            let output = dedup_batch(dedup, map, &b, options, &mut figures).expect("dedup");
            parts.write(&output).expect("write");
            rows += b.num_rows();
        }
        parts.finish().expect("finish");
    }
    rows
}

fn bench(c: &mut Criterion) {
    let (batches, map) = corpus();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_parquet(&batches, dir.path());
    let dedup = PromptDedup::builder().build().expect("dedup");
    let audit = PromptAudit::new();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let rewrite = |provenance: bool| {
        let options = RewriteOptions {
            provenance,
            empty_as_null: false,
        };
        let mut figures = DedupFigures::new(&audit);
        let mut rows = 0;
        for b in &batches {
            rows += dedup_batch(&dedup, &map, b, options, &mut figures)
                .expect("dedup")
                .num_rows();
        }
        rows
    };
    let scan = || {
        let mut total = audit.empty_like();
        for b in &batches {
            audit_batch(&dedup, &map, b, None, &mut total).expect("audit");
        }
        total.samples()
    };
    let mut group = c.benchmark_group("prompt_dedup");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    group.bench_function("rewrite_1_thread", |b| {
        b.iter(|| one.install(|| rewrite(false)));
    });
    group.bench_function("rewrite_provenance_1_thread", |b| {
        b.iter(|| one.install(|| rewrite(true)));
    });
    group.bench_function("audit_1_thread", |b| b.iter(|| one.install(scan)));
    group.bench_function("decode_audit_columns_1_thread", |b| {
        b.iter(|| one.install(|| scan_file(&file, &map, |_| {})));
    });
    group.bench_function("decode_and_audit_1_thread", |b| {
        b.iter(|| {
            one.install(|| {
                let mut total = audit.empty_like();
                scan_file(&file, &map, |b| {
                    audit_batch(&dedup, &map, b, None, &mut total).expect("audit");
                });
                total.samples()
            })
        });
    });
    let out = dir.path().join("out");
    group.bench_function("file_to_file_spliced_1_thread", |b| {
        b.iter(|| one.install(|| file_to_file(&file, &map, &dedup, &out, true)));
    });
    group.bench_function("file_to_file_reencoded_1_thread", |b| {
        b.iter(|| one.install(|| file_to_file(&file, &map, &dedup, &out, false)));
    });
    group.bench_function("rewrite_pool", |b| b.iter(|| rewrite(false)));
    group.bench_function("audit_pool", |b| b.iter(scan));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
