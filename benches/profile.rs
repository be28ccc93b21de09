//! `regime profile` kernels: the built-in tokenizer, and tokenise + profile
//! insert (n ≤ 4, Gopher metrics) per sample, in bytes of text per second on
//! one core. Input: the ShareGPT corpus when fetched
//! (`../shared/scripts/fetch-sharegpt.sh`, or `REGIME_SHAREGPT=path`), else
//! the bundled sample corpus; the first `REGIME_BENCH_MB` (default 16) MB of
//! turn text, read once outside the timed closures.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regime_stats::{FieldInput, ProfileConfig, ProfileState, SampleInput, TokenSeq, TokenSpace};
use regime_text::WordTokenizer;

#[expect(dead_code, reason = "each bench uses a part of the shared inputs")]
mod common;

/// Samples as (role, text) lists, up to `limit` bytes of text.
fn load(limit: usize) -> (String, Vec<Vec<(&'static str, String)>>) {
    let sharegpt = std::env::var_os("REGIME_SHAREGPT")
        .map(PathBuf::from)
        .or_else(|| {
            let p = PathBuf::from(std::env::var_os("HOME")?)
                .join(".cache/regime-data/sharegpt-sharegpt.parquet");
            p.exists().then_some(p)
        });
    let path = sharegpt.unwrap_or_else(common::sample);
    let samples = common::text_fields(&path, limit);
    (path.display().to_string(), samples)
}

fn bench(c: &mut Criterion) {
    let mb: usize = std::env::var("REGIME_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let (name, samples) = load(mb << 20);
    let bytes: usize = samples.iter().flatten().map(|f| f.1.len()).sum();
    #[expect(clippy::print_stderr, reason = "names the bench input")]
    {
        eprintln!(
            "profile bench input: {name}, {} samples, {bytes} bytes",
            samples.len()
        );
    }
    let words = WordTokenizer::new();
    let mut g = c.benchmark_group("profile");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("word_tokenizer", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for f in samples.iter().flatten() {
                words.for_each_word(&f.1, |_| n += 1);
            }
            n
        });
    });
    g.bench_function("tokenize_and_insert_n4", |b| {
        b.iter(|| {
            let mut state =
                ProfileState::new(ProfileConfig::new(TokenSpace::Words)).expect("config");
            for sample in &samples {
                let toks: Vec<Vec<&str>> = sample.iter().map(|f| words.words(&f.1)).collect();
                let inputs: Vec<FieldInput<'_>> = sample
                    .iter()
                    .zip(&toks)
                    .map(|(f, t)| FieldInput {
                        role: f.0,
                        text: &f.1,
                        tokens: TokenSeq::Words(t),
                        words: Some(t),
                    })
                    .collect();
                state.insert(&SampleInput {
                    fields: &inputs,
                    ..SampleInput::default()
                });
            }
            state.finalize(None).overall.unigram.types
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
