//! One-core throughput of the built-in tokenizer and of tokenise + profile
//! insert (n ≤ 4, Gopher metrics) over a text dump: one sample per line,
//! fields separated by U+001E, `role U+001F text` per field, newlines inside
//! text as U+001D. Usage: `cargo run --release -p regime-stats --example
//! throughput -- FILE`.

use std::time::Instant;

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`
/// (0 where that file is missing): the figure to divide by on a loaded
/// machine, where wall time includes waiting for a core.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name's closing parenthesis; utime and stime
    // are fields 14 and 15 (1-based), in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let ticks: u32 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u32>().ok())
        .sum();
    f64::from(ticks) / 100.0
}

use regime_stats::{FieldInput, ProfileConfig, ProfileState, SampleInput, TokenSeq, TokenSpace};
use regime_text::WordTokenizer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: throughput FILE")?;
    let raw = std::fs::read_to_string(path)?;
    let samples: Vec<Vec<(String, String)>> = raw
        .lines()
        .map(|l| {
            l.split('\u{1e}')
                .filter_map(|f| f.split_once('\u{1f}'))
                .map(|(r, t)| {
                    let role = if r == "human" {
                        "user"
                    } else if r == "gpt" {
                        "assistant"
                    } else {
                        "other"
                    };
                    (role.to_owned(), t.replace('\u{1d}', "\n"))
                })
                .collect()
        })
        .collect();
    let bytes: usize = samples.iter().flatten().map(|f| f.1.len()).sum();
    let words = WordTokenizer::new();
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut n = 0usize;
    for f in samples.iter().flatten() {
        words.for_each_word(&f.1, |_| n += 1);
    }
    let (tok_s, tok_c) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut state = ProfileState::new(ProfileConfig::new(TokenSpace::Words))?;
    for sample in &samples {
        let field_words: Vec<Vec<&str>> = sample.iter().map(|f| words.words(&f.1)).collect();
        let inputs: Vec<FieldInput<'_>> = sample
            .iter()
            .zip(&field_words)
            .map(|(f, t)| FieldInput {
                role: &f.0,
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
    let (ins_s, ins_c) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let report = state.finalize(None);
    let (fin_s, fin_c) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
    let mb = f64::from(u32::try_from(bytes / 1000)?) / 1e3;
    let line = format!(
        "{} samples, {mb:.1} MB, {n} tokens, {} types; wall: tokenizer {:.1} MB/s, tokenise+insert {:.1} MB/s, finalize {fin_s:.2} s; CPU: tokenizer {tok_c:.2} s, tokenise+insert {ins_c:.2} s, finalize {fin_c:.2} s, tokenise+insert+finalize {:.1} MB/CPU-s; distinct 4-grams {}\n",
        samples.len(),
        report.overall.unigram.types,
        mb / tok_s,
        mb / ins_s,
        mb / (ins_c + fin_c),
        report.overall.ngrams.get("4").map_or(0, |f| f.distinct)
    );
    std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes())?;
    Ok(())
}
