//! Helpers shared by the end-to-end tests.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The bundled sample corpus (5,000 LLaVA rows from easy-vqa).
pub(crate) fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/easy_vqa_llava.parquet")
}

/// `regime synth prompt-dup` of the bundled sample into `out`: `rows`
/// samples, `share` of them with planted copies, drawn with `seed`.
pub(crate) fn synth_corpus(out: &Path, share: &str, seed: &str, rows: &str) {
    run_expect(
        regime()
            .args(["synth", "prompt-dup"])
            .arg(sample())
            .args(["--share", share, "--seed", seed, "--rows", rows, "--out"])
            .arg(out),
        0,
    );
}

/// The `regime` binary built for this test run.
/// The columns of a generated llava corpus that hold text (and the id):
/// what the layout tests rewrite into other encodings.
pub(crate) fn llava_text_columns(batch: &RecordBatch) -> RecordBatch {
    let keep: Vec<usize> = [
        "id",
        "conversations",
        "system",
        "caption",
        "ocr_text",
        "metadata",
    ]
    .iter()
    .map(|name| {
        batch
            .schema()
            .index_of(name)
            .expect("a generated llava corpus")
    })
    .collect();
    batch.project(&keep).expect("columns in range")
}

pub(crate) fn regime() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("regime").expect("regime binary is built");
    cmd.env_remove("REGIME_SEED").env_remove("REGIME_PROFILE");
    cmd
}

/// Runs and returns the output, asserting the exit code.
pub(crate) fn run_expect(cmd: &mut assert_cmd::Command, code: i32) -> Output {
    let output = cmd.output().expect("regime runs");
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Reads every row of a parquet file as one batch.
pub(crate) fn read_parquet(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("valid parquet")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let schema = batches.first().map_or_else(
        || Arc::new(arrow::datatypes::Schema::empty()),
        RecordBatch::schema,
    );
    concat_batches(&schema, &batches).expect("concat")
}

/// Writes batches to a parquet file with the given max row-group size.
pub(crate) fn write_parquet(path: &Path, batches: &[RecordBatch], row_group_rows: usize) {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    let file = File::create(path).expect("create");
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("writer");
    for batch in batches {
        writer.write(batch).expect("write");
    }
    writer.close().expect("close");
}

/// Files in a directory whose names end in `.parquet`, sorted.
pub(crate) fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every entry (recursively, hidden ones included) under a directory.
pub(crate) fn all_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(all_entries(&path));
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Asserts that every JSON file under `dir` (reports, manifests, partials,
/// indexes, run records) ends in exactly one newline.
pub(crate) fn assert_json_ends_in_one_newline(dir: &Path) {
    let files: Vec<PathBuf> = all_entries(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(!files.is_empty(), "no JSON under {}", dir.display());
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            bytes.ends_with(b"\n") && !bytes.ends_with(b"\n\n"),
            "{} does not end in exactly one newline",
            file.display()
        );
    }
}
