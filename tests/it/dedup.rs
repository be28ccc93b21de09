//! `regime dedup exact|near` end to end on generated corpora with known
//! duplicates.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, UInt64Type};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regime_text::{WordTokenizer, jaccard, word_shingles};

use crate::common::{parquet_files, read_parquet, regime, run_expect, write_parquet};

/// A `columns`-style corpus: `id`, `prompt` (user), `answer` (assistant).
pub(crate) fn write_corpus(path: &Path, prompts: &[String]) {
    let ids: Vec<String> = (0..prompts.len()).map(|i| format!("doc-{i:05}")).collect();
    let answers: Vec<String> = (0..prompts.len()).map(|i| format!("answer {i}")).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("prompt", DataType::Utf8, true),
        Field::new("answer", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(prompts.to_vec())),
            Arc::new(StringArray::from(answers)),
        ],
    )
    .unwrap();
    write_parquet(path, &[batch], 250);
}

pub(crate) fn fields_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("fields.toml");
    std::fs::write(
        &path,
        "[columns]\nprompt = \"user\"\nanswer = \"assistant\"\n",
    )
    .unwrap();
    path
}

/// `regime dedup METHOD INPUT` of a columns-profile corpus (its
/// `fields.toml` written into `dir`) into `out`; callers add the rest.
pub(crate) fn dedup_command(
    dir: &Path,
    method: &str,
    input: &Path,
    out: &Path,
) -> assert_cmd::Command {
    let mut cmd = regime();
    cmd.args(["dedup", method])
        .arg(input)
        .args(["--profile", "columns", "--fields"])
        .arg(fields_file(dir))
        .arg("--out")
        .arg(out);
    cmd
}

pub(crate) fn dedup(
    dir: &Path,
    method: &str,
    input: &Path,
    out: &str,
    extra: &[&str],
    threads: &str,
) -> std::path::PathBuf {
    let out = dir.join(out);
    run_expect(
        dedup_command(dir, method, input, &out)
            .env("RAYON_NUM_THREADS", threads)
            .args(extra),
        0,
    );
    out
}

pub(crate) fn kept_ids(out: &Path) -> Vec<String> {
    parquet_files(out)
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "clusters.parquet"))
        .flat_map(|p| {
            let batch = read_parquet(p);
            let ids = batch
                .column_by_name("id")
                .unwrap()
                .as_string::<i32>()
                .clone();
            (0..ids.len())
                .map(move |i| ids.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn exact_removes_normalised_copies_and_keeps_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut prompts: Vec<String> = (0..40).map(|i| format!("What is {i} plus {i}?")).collect();
    prompts[10] = "What is 3 plus 3?".into(); // = row 3
    prompts[20] = "  What is 3   plus 3?\n".into(); // = row 3 after whitespace normalisation
    prompts[30] = "What is 7 plus 7?".into(); // = row 7
    prompts[31] = "what is 7 plus 7?".into(); // differs in case: kept
    let input = dir.path().join("in.parquet");
    write_corpus(&input, &prompts);
    // Answers differ per row, so de-duplicate on the prompts only.
    let out = dedup(dir.path(), "exact", &input, "exact", &["--on", "user"], "2");
    let kept = kept_ids(&out);
    assert_eq!(kept.len(), 37);
    assert!(!kept.contains(&"doc-00010".to_owned()));
    assert!(!kept.contains(&"doc-00020".to_owned()));
    assert!(!kept.contains(&"doc-00030".to_owned()));
    assert!(kept.contains(&"doc-00031".to_owned()));
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "order kept");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["rows"], 40);
    assert_eq!(report["kept"], 37);
    assert_eq!(report["duplicates"], 3);
    assert_eq!(report["clusters"], 2);
    assert_eq!(report["largest_cluster"], 3);
    assert_eq!(report["empty"], 0);

    let clusters = read_parquet(&out.join("clusters.parquet"));
    let rows = clusters
        .column_by_name("row_id")
        .unwrap()
        .as_primitive::<UInt64Type>();
    let reps = clusters
        .column_by_name("representative")
        .unwrap()
        .as_primitive::<UInt64Type>();
    let ids = clusters.column_by_name("id").unwrap().as_string::<i32>();
    let listed: Vec<(u64, u64, &str)> = (0..clusters.num_rows())
        .map(|i| (rows.value(i), reps.value(i), ids.value(i)))
        .collect();
    assert_eq!(
        listed,
        [
            (3, 3, "doc-00003"),
            (10, 3, "doc-00010"),
            (20, 3, "doc-00020"),
            (7, 7, "doc-00007"),
            (30, 7, "doc-00030")
        ]
    );

    // All fields (the default): answers differ, so nothing is a duplicate.
    let out = dedup(dir.path(), "exact", &input, "all-fields", &[], "2");
    assert_eq!(kept_ids(&out).len(), 40);
}

/// Base documents of random words plus edited copies at known Jaccard.
pub(crate) struct Benchmark {
    pub(crate) prompts: Vec<String>,
    /// (copy row, original row, true Jaccard of word 5-gram shingles)
    pub(crate) copies: Vec<(usize, usize, f64)>,
}

pub(crate) fn benchmark(seed: u64) -> Benchmark {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let vocabulary: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
    let mut prompts: Vec<String> = (0..600)
        .map(|_| {
            let n = rng.random_range(200..300);
            (0..n)
                .map(|_| vocabulary[rng.random_range(0..vocabulary.len())].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let words = WordTokenizer::new();
    let shingles = |text: &str| word_shingles(&words.words(text), 5);
    let mut copies = Vec::new();
    for original in 0..400 {
        // Edit rates from none to heavy: true Jaccard from 1 down to ≈ 0.1.
        let edits = original % 20;
        let mut copy: Vec<String> = prompts[original].split(' ').map(str::to_owned).collect();
        for _ in 0..edits {
            let at = rng.random_range(0..copy.len());
            copy[at].clone_from(&vocabulary[rng.random_range(0..vocabulary.len())]);
        }
        let copy = copy.join(" ");
        let j = jaccard(&shingles(&prompts[original]), &shingles(&copy));
        copies.push((prompts.len(), original, j));
        prompts.push(copy);
    }
    Benchmark { prompts, copies }
}

#[test]
fn near_finds_copies_above_085_with_high_precision_and_recall() {
    let dir = tempfile::tempdir().unwrap();
    let bench = benchmark(11);
    let input = dir.path().join("near.parquet");
    write_corpus(&input, &bench.prompts);
    let out = dedup(dir.path(), "near", &input, "near", &["--on", "user"], "2");
    let kept: std::collections::HashSet<String> = kept_ids(&out).into_iter().collect();
    let removed = |row: usize| !kept.contains(&format!("doc-{row:05}"));

    let high: Vec<_> = bench.copies.iter().filter(|c| c.2 >= 0.85).collect();
    let found = high.iter().filter(|c| removed(c.0)).count();
    let recall = found as f64 / high.len() as f64;
    assert!(
        high.len() > 50,
        "benchmark has {} copies with J ≥ 0.85",
        high.len()
    );
    assert!(recall >= 0.95, "recall {recall} ({found}/{})", high.len());

    // Precision: every removed row is a planted copy whose true Jaccard with
    // its original reaches the verification threshold (≈ 0.72).
    let threshold = (1.0f64 / 14.0).powf(1.0 / 8.0);
    let removed_rows: Vec<usize> = (0..bench.prompts.len()).filter(|&r| removed(r)).collect();
    let correct = removed_rows
        .iter()
        .filter(|&&r| bench.copies.iter().any(|c| c.0 == r && c.2 >= threshold))
        .count();
    let precision = correct as f64 / removed_rows.len() as f64;
    assert!(
        precision >= 0.99,
        "precision {precision} ({correct}/{})",
        removed_rows.len()
    );
    // No original is ever removed: the representative is the lowest row id.
    assert!(removed_rows.iter().all(|&r| r >= 600));

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let curve = report["s_curve"].as_array().unwrap();
    assert_eq!(curve.len(), 10);
    // J = 0.5, 0.55, … as written (no 0.6000000000000001).
    let js: Vec<String> = curve.iter().map(|p| p["jaccard"].to_string()).collect();
    assert_eq!(
        js,
        [
            "0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95"
        ]
    );
    for point in curve {
        let j = point["jaccard"].as_f64().unwrap();
        let p = point["probability"].as_f64().unwrap();
        let expected = 1.0 - (1.0 - j.powi(8)).powi(14);
        assert!(
            (p - expected).abs() < 1e-12,
            "S-curve at {j}: {p} vs {expected}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 2, "S-curve and cluster sizes");
    assert!(html.contains("14 bands × 8 rows"));
    let clusters = read_parquet(&out.join("clusters.parquet"));
    let jac = clusters
        .column_by_name("jaccard")
        .unwrap()
        .as_primitive::<arrow::datatypes::Float64Type>();
    assert!((0..jac.len()).all(|i| jac.value(i) >= threshold));
}

#[test]
fn near_outputs_are_identical_at_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let bench = benchmark(5);
    let input = dir.path().join("near.parquet");
    write_corpus(&input, &bench.prompts);
    let one = dedup(dir.path(), "near", &input, "t1", &[], "1");
    let two = dedup(dir.path(), "near", &input, "t2", &[], "2");
    let names = |d: &Path| parquet_files(d);
    assert_eq!(names(&one).len(), names(&two).len());
    for (a, b) in names(&one).iter().zip(names(&two)) {
        assert_eq!(
            std::fs::read(a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{}",
            a.display()
        );
    }
    assert_eq!(
        std::fs::read(one.join("report.json")).unwrap(),
        std::fs::read(two.join("report.json")).unwrap()
    );
}

/// `write_corpus` plus a nullable numeric `score` column.
fn write_scored_corpus(path: &Path, prompts: &[String], scores: &[Option<f64>]) {
    write_corpus(path, prompts);
    let batch = read_parquet(path);
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("score", DataType::Float64, true));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(arrow::array::Float64Array::from(scores.to_vec())));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    write_parquet(path, &[batch], 250);
}

/// `(row_id, representative)` of every row of clusters.parquet.
fn representatives(out: &Path) -> Vec<(u64, u64)> {
    let batch = read_parquet(&out.join("clusters.parquet"));
    let rows = batch
        .column_by_name("row_id")
        .unwrap()
        .as_primitive::<UInt64Type>();
    let reps = batch
        .column_by_name("representative")
        .unwrap()
        .as_primitive::<UInt64Type>();
    rows.values()
        .iter()
        .copied()
        .zip(reps.values().iter().copied())
        .collect()
}

#[test]
fn priority_column_chooses_each_clusters_representative() {
    let dir = tempfile::tempdir().unwrap();
    // Exact: rows 0–2 one prompt (scores 1, 5, 5: the tie goes to row 1),
    // rows 4–5 another (2, null: null is lowest).
    let input = dir.path().join("exact.parquet");
    let same = "alpha beta gamma delta epsilon zeta".to_owned();
    let other = "another short text".to_owned();
    write_scored_corpus(
        &input,
        &[
            same.clone(),
            same.clone(),
            same,
            "a unique prompt".into(),
            other.clone(),
            other,
        ],
        &[Some(1.0), Some(5.0), Some(5.0), None, Some(2.0), None],
    );
    let by_row = dedup(dir.path(), "exact", &input, "first", &["--on", "user"], "2");
    assert_eq!(kept_ids(&by_row), ["doc-00000", "doc-00003", "doc-00004"]);
    let scored = dedup(
        dir.path(),
        "exact",
        &input,
        "scored",
        &["--on", "user", "--priority", "score"],
        "2",
    );
    assert_eq!(kept_ids(&scored), ["doc-00001", "doc-00003", "doc-00004"]);
    assert_eq!(
        representatives(&scored),
        [(1, 1), (0, 1), (2, 1), (4, 4), (5, 4)],
        "representative first, then by row"
    );

    // Near: rows 0, 1 and 3 are one-word edits of each other (J ≈ 0.95);
    // rows 1 and 3 share the top score, so row 1 represents them.
    let base: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let edit = |last: &str| {
        let mut w = base.clone();
        w[39] = last.to_owned();
        w.join(" ")
    };
    let unrelated = (0..40)
        .map(|i| format!("other{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let input = dir.path().join("near.parquet");
    write_scored_corpus(
        &input,
        &[base.join(" "), edit("x"), unrelated, edit("y")],
        &[Some(1.0), Some(9.0), Some(0.0), Some(9.0)],
    );
    for threads in ["1", "2"] {
        let out = dedup(
            dir.path(),
            "near",
            &input,
            &format!("near-{threads}"),
            &["--on", "user", "--priority", "score"],
            threads,
        );
        assert_eq!(kept_ids(&out), ["doc-00001", "doc-00002"]);
        assert_eq!(representatives(&out), [(1, 1), (0, 1), (3, 1)]);
    }

    // A missing or non-numeric column is refused before anything is read
    // (a near run used to sign every row first), naming the file and the
    // columns there are.
    for method in ["exact", "near"] {
        for (column, says) in [("nope", "no column `nope`"), ("prompt", "not a number")] {
            let out = dir.path().join(format!("bad-{method}-{column}"));
            let output = run_expect(
                dedup_command(dir.path(), method, &input, &out).args(["--priority", column]),
                2,
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(says), "{stderr}");
            assert!(stderr.contains("columns: id, prompt, answer"), "{stderr}");
            assert!(!out.exists(), "{stderr}");
        }
    }
}

#[test]
fn rows_without_text_in_the_chosen_fields_are_counted_and_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let mut prompts: Vec<String> = (0..20).map(|i| format!("What is {i} plus {i}?")).collect();
    prompts[5] = "  ".into();
    prompts[6] = String::new();
    let input = dir.path().join("in.parquet");
    write_corpus(&input, &prompts);
    for (on, empty) in [("user", 2), ("system", 20)] {
        let out = dir.path().join(format!("on-{on}"));
        let shown = run_expect(
            dedup_command(dir.path(), "exact", &input, &out).args(["--on", on]),
            0,
        );
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(report["empty"], empty);
        assert_eq!(report["kept"], 20);
        let stderr = String::from_utf8_lossy(&shown.stderr);
        assert!(
            stderr.contains(&format!(
                "{empty} of 20 rows have no text in the fields --on {on} chose"
            )),
            "{stderr}"
        );
        // Off a terminal, the warning is plain text.
        assert!(!stderr.contains('\x1b'), "{stderr:?}");
    }
}

/// A row whose text has no word (punctuation, emoji) is a near duplicate
/// of its exact copies only. Before, such rows had no shingles, one shared
/// signature and a Jaccard of 1 with each other: all but the first went,
/// in the corpus and against an index alike.
#[test]
fn rows_without_words_are_near_duplicates_of_their_copies_only() {
    let dir = tempfile::tempdir().unwrap();
    let prompts: Vec<String> = ["???", "👍", "...", "!!!", "hello world", "???"]
        .map(String::from)
        .to_vec();
    let input = dir.path().join("in.parquet");
    write_corpus(&input, &prompts);
    // Only the prompt: the answers (`answer N`) differ anyway.
    let on_user = ["--on", "user"];
    let out = dedup(dir.path(), "near", &input, "near", &on_user, "1");
    assert_eq!(
        kept_ids(&out),
        [
            "doc-00000",
            "doc-00001",
            "doc-00002",
            "doc-00003",
            "doc-00004"
        ]
    );
    let index = dir.path().join("index");
    let mut save = on_user.to_vec();
    save.push("--save-index");
    save.push(index.to_str().unwrap());
    dedup(dir.path(), "near", &input, "saved", &save, "1");
    let other = dir.path().join("other.parquet");
    write_corpus(&other, &["‼", "!!!"].map(String::from));
    let mut against = on_user.to_vec();
    against.push("--against");
    against.push(index.to_str().unwrap());
    let out = dedup(dir.path(), "near", &other, "against", &against, "1");
    assert_eq!(kept_ids(&out), ["doc-00000"]);
}
