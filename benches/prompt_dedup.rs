//! Prompt-segment de-duplication and the audit over generated samples
//! (`regime synth prompt-dup` at 75% planted duplication), per batch, on one
//! thread and on the default pool.
//!
//! `cargo bench --bench prompt_dedup`; figures in BENCHMARKS.md.

use std::path::Path;

use arrow::compute::concat_batches;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regime_corpus::{CorpusBatch, CorpusReaderBuilder, FieldMap, resolve_inputs};
use regime_dedup::{
    PromptAudit, PromptDedup, RewriteOptions, SynthConfig, SynthLayout, audit_batch, dedup_batch,
    synth_prompt_dup,
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

fn bench(c: &mut Criterion) {
    let (batches, map) = corpus();
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
        let mut rows = 0;
        for b in &batches {
            rows += dedup_batch(&dedup, &map, b, options, &audit)
                .expect("dedup")
                .batch
                .num_rows();
        }
        rows
    };
    let scan = || {
        let mut total = audit.empty_like();
        for b in &batches {
            total.merge(audit_batch(&dedup, &map, b, None, &audit).expect("audit"));
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
    group.bench_function("rewrite_pool", |b| b.iter(|| rewrite(false)));
    group.bench_function("audit_pool", |b| b.iter(scan));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
