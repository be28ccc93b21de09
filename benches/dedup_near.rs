//! `regime dedup near` verification: every row of a templated corpus (the
//! bundled easy-vqa sample, 5,000 rows built from a few dozen question
//! templates) verified as one candidate component, the worst case for the
//! greedy clustering (each row is compared with every representative
//! before it). `representatives` is the search `dedup near` runs (size and
//! bucket-profile bounds, the pool past 4,096 representatives);
//! `plain_scan` is exact Jaccard against each representative in turn, as
//! before. Throughput: rows verified per second. `minhash_signatures`: the
//! signature and band keys of every row (the datatrove preset, 112 hashes),
//! pass 1's own cost, in rows per second.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regime_dedup::Representatives;
use regime_text::{MinHasher, Normalizer, WordTokenizer, jaccard, word_shingles};

#[expect(dead_code, reason = "each bench uses a part of the shared inputs")]
mod common;

/// The datatrove preset's threshold.
const THRESHOLD: f64 = 0.72;

/// Each row's word 5-gram shingle set over all its text fields.
fn shingle_sets() -> Vec<Vec<u64>> {
    let (normalizer, words) = (Normalizer::new(), WordTokenizer::new());
    common::text_fields(&common::sample(), usize::MAX)
        .iter()
        .map(|fields| {
            let content: Vec<String> = fields
                .iter()
                .map(|(_, text)| normalizer.normalize(text))
                .collect();
            word_shingles(&words.words(&content.join("\n")), 5)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let sets = shingle_sets();
    let mut g = c.benchmark_group("dedup_near_verify");
    g.throughput(Throughput::Elements(sets.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    let hasher = MinHasher::new(14, 8, 1).expect("hasher");
    g.bench_function("minhash_signatures", |b| {
        b.iter(|| {
            sets.iter()
                .map(|set| hasher.band_keys(&hasher.signature(set))[0])
                .fold(0u64, |acc, key| acc ^ key)
        });
    });
    g.bench_function("representatives", |b| {
        b.iter(|| {
            let mut reps = Representatives::new();
            for set in &sets {
                if reps.first_match(set, THRESHOLD).is_none() {
                    reps.push(set.clone());
                }
            }
            reps.len()
        });
    });
    g.bench_function("plain_scan", |b| {
        b.iter(|| {
            let mut reps: Vec<&Vec<u64>> = Vec::new();
            for set in &sets {
                if !reps.iter().any(|r| jaccard(set, r) >= THRESHOLD) {
                    reps.push(set);
                }
            }
            reps.len()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
