//! Bad input: exit 2, one error line naming the file or column, and nothing
//! left behind in the output directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Int32Type, Schema};
use tempfile::TempDir;

use crate::common::{
    all_entries, read_parquet, regime, run_expect, sample, synth_corpus, write_parquet,
};

/// Runs `condition c` on `inputs` into `DIR/out` and returns the error line.
fn fails(dir: &TempDir, inputs: &[&Path], extra: &[&str]) -> (String, PathBuf) {
    let out = dir.path().join("out");
    let output = run_expect(
        regime()
            .args(["condition", "c"])
            .args(inputs)
            .arg("--out")
            .arg(&out)
            .args(extra),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (errors[0].to_owned(), out)
}

fn assert_nothing_written(out: &Path) {
    assert!(
        !out.exists() || all_entries(out).is_empty(),
        "left behind: {:?}",
        all_entries(out)
    );
}

#[test]
fn missing_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.parquet");
    let (line, out) = fails(&dir, &[&missing], &[]);
    assert!(
        line.contains("nope.parquet") && line.contains("no such file"),
        "{line}"
    );
    assert_nothing_written(&out);
}

#[test]
fn directory_without_parquet_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("shards");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("README.txt"), "not data").unwrap();
    let (line, out) = fails(&dir, &[&empty], &[]);
    assert!(
        line.contains("shards") && line.contains("no .parquet"),
        "{line}"
    );
    assert_nothing_written(&out);
}

#[test]
fn non_parquet_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let (line, _) = fails(&dir, &[&text], &[]);
    assert!(
        line.contains("notes.txt") && line.contains("unsupported file type"),
        "{line}"
    );

    let fake = dir.path().join("fake.parquet");
    std::fs::write(&fake, "this is not parquet at all").unwrap();
    let (line, out) = fails(&dir, &[&fake], &[]);
    assert!(
        line.contains("fake.parquet") && line.contains("not a valid parquet"),
        "{line}"
    );
    assert_nothing_written(&out);
}

#[test]
fn truncated_parquet_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample()).unwrap();
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (line, out) = fails(&dir, &[&cut], &[]);
    assert!(
        line.contains("cut.parquet") && line.contains("not a valid parquet"),
        "{line}"
    );
    assert_nothing_written(&out);
}

/// A corrupt page names its row group, rows and column.
#[test]
fn corrupt_row_group_is_named_with_its_column() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(sample()).unwrap();
    let reader = SerializedFileReader::new(std::fs::File::open(sample()).unwrap()).unwrap();
    let group = reader.metadata().row_group(1);
    let chunk = (0..group.num_columns())
        .map(|j| group.column(j))
        .find(|c| c.column_path().string() == "conversations.list.element.value")
        .expect("the sample's turn texts");
    // Zero the middle of the chunk's compressed pages.
    let start = usize::try_from(chunk.data_page_offset()).unwrap();
    let len = usize::try_from(chunk.compressed_size()).unwrap();
    bytes[start + len / 4..start + len / 2].fill(0);
    let corrupt = dir.path().join("corrupt.parquet");
    std::fs::write(&corrupt, &bytes).unwrap();
    let (line, out) = fails(&dir, &[&corrupt], &[]);
    assert!(
        line.contains(
            "corrupt.parquet: row group 1 (rows 500–999), column `conversations`: cannot decode"
        ),
        "{line}"
    );
    assert_nothing_written(&out);
}

#[test]
fn schema_without_text_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let numbers = dir.path().join("numbers.parquet");
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let batch =
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
    write_parquet(&numbers, &[batch], 1024);
    let (line, out) = fails(&dir, &[&numbers], &[]);
    assert!(
        line.contains("numbers.parquet") && line.contains("no text column"),
        "{line}"
    );
    assert_nothing_written(&out);
    // A flat string column of another name is not guessed at: the message
    // says which names are, and how to name its role.
    let flat = dir.path().join("flat.jsonl");
    std::fs::write(&flat, "{\"text\": \"a b\"}\n").unwrap();
    let (line, out) = fails(&dir, &[&flat], &[]);
    assert!(
        line.contains(
            "string columns named `system`, `caption`, `ocr` or `metadata` (columns: text)"
        ) && line.contains("--fields FILE (a TOML `[columns]` table, e.g. text = \"user\")"),
        "{line}"
    );
    assert_nothing_written(&out);
}

#[test]
fn columns_profile_naming_a_missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let fields = dir.path().join("fields.toml");
    std::fs::write(&fields, "[columns]\nprompt = \"user\"\n").unwrap();
    let (line, out) = fails(
        &dir,
        &[&sample()],
        &["--profile", "columns", "--fields", fields.to_str().unwrap()],
    );
    assert!(line.contains("column `prompt` not found"), "{line}");
    assert!(line.contains("easy_vqa_llava.parquet"), "{line}");
    assert_nothing_written(&out);
}

#[test]
fn nested_column_of_the_wrong_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.parquet");
    // conversations: list<struct<from: string, turn: int32>>
    let fields = Fields::from(vec![
        Field::new("from", DataType::Utf8, true),
        Field::new("turn", DataType::Int32, true),
    ]);
    let turns = StructArray::new(
        fields.clone(),
        vec![
            Arc::new(StringArray::from(vec!["human"])),
            Arc::new(arrow::array::PrimitiveArray::<Int32Type>::from(vec![1])),
        ],
        None,
    );
    let list = ListArray::new(
        Arc::new(Field::new("item", DataType::Struct(fields), true)),
        arrow::buffer::OffsetBuffer::from_lengths([1]),
        Arc::new(turns),
        None,
    );
    let schema = Arc::new(Schema::new(vec![Field::new(
        "conversations",
        list.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(list)]).unwrap();
    write_parquet(&path, &[batch], 1024);
    let (line, out) = fails(&dir, &[&path], &[]);
    assert!(line.contains("column `conversations` has type"), "{line}");
    assert!(line.contains("wrong.parquet"), "{line}");
    assert_nothing_written(&out);
}

#[test]
fn non_empty_output_dir_needs_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("precious.txt"), "keep me").unwrap();
    let (line, _) = fails(&dir, &[&sample()], &[]);
    assert!(
        line.contains("not empty") && line.contains("--overwrite"),
        "{line}"
    );
    assert_eq!(all_entries(&out), [out.join("precious.txt")]);
    assert_eq!(std::fs::read(out.join("precious.txt")).unwrap(), b"keep me");
}

#[test]
fn unwritable_output_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // A path below a regular file can never be created, even by root.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "file").unwrap();
    let out = blocker.join("out");
    let output = run_expect(
        regime()
            .args(["condition", "c"])
            .arg(sample())
            .arg("--out")
            .arg(&out),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("blocker/out"), "{stderr}");
    // The OS error once, not again as the chained cause.
    assert_eq!(stderr.matches("(os error").count(), 1, "{stderr}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"file");
}

/// A regime output directory holding a copy of the sample corpus, with its
/// manifest (which `--overwrite` trusts to delete stale outputs).
fn corpus_dir(dir: &TempDir) -> PathBuf {
    let corpus = dir.path().join("corpus");
    synth_corpus(&corpus, "0.5", "0", "50");
    corpus
}

#[test]
fn an_output_that_holds_or_lies_inside_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus_dir(&dir);
    let before: Vec<(PathBuf, Vec<u8>)> = all_entries(&corpus)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let part = corpus.join("part-00000.parquet");
    let inside = corpus.join("sub").join("out");
    // Each would delete or replace the input, or read its own output back
    // on a rerun.
    let runs: [(&[&str], &Path, &Path, &str); 5] = [
        (&["profile"], &corpus, &corpus, "holds the input"),
        (&["prompt-dedup"], &corpus, &corpus, "holds the input"),
        (&["prompt-dedup"], &part, dir.path(), "holds the input"),
        (
            &["condition", "c"],
            &corpus,
            &inside,
            "lies inside the input directory",
        ),
        (
            &["dedup", "exact"],
            &corpus,
            &inside,
            "lies inside the input directory",
        ),
    ];
    for (command, input, out, says) in runs {
        let output = run_expect(
            regime()
                .args(command)
                .arg(input)
                .arg("--out")
                .arg(out)
                .arg("--overwrite"),
            2,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{command:?}: {stderr}");
        assert!(errors[0].contains(says), "{command:?}: {stderr}");
        assert!(!inside.exists(), "{command:?} created {}", inside.display());
    }
    let after: Vec<(PathBuf, Vec<u8>)> = all_entries(&corpus)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    assert_eq!(after, before, "the input directory changed");

    // Two outputs of one run in one directory, also spelled another way:
    // refused before either is written (it used to fail at the second
    // commit, leaving the first).
    let both = dir.path().join("both");
    for index in [both.clone(), both.join("..").join("both")] {
        let output = run_expect(
            regime()
                .args(["dedup", "near"])
                .arg(&corpus)
                .arg("--out")
                .arg(&both)
                .arg("--save-index")
                .arg(&index),
            2,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--save-index needs a directory of its own"),
            "{stderr}"
        );
        assert!(!both.exists());
    }
}

/// The arrow schema stored in a parquet file.
fn parquet_schema(path: &Path) -> arrow::datatypes::SchemaRef {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .schema()
        .clone()
}

#[test]
fn zero_rows_fail_the_gate_and_the_profile_and_flow_through_as_an_empty_part() {
    let dir = tempfile::tempdir().unwrap();
    // The sample's schema with no rows.
    let schema = parquet_schema(&sample());
    let zero = dir.path().join("zero.parquet");
    write_parquet(&zero, &[RecordBatch::new_empty(schema.clone())], 1024);

    let output = run_expect(
        regime()
            .args(["audit-prompts", "--max-sample-dup-rate", "0.05"])
            .arg(&zero),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("zero.parquet: no rows to audit"),
        "{stderr}"
    );
    // Nor rows without prompt text in the roles compared (the sample has
    // no ocr field): it passed with every rate 0.
    let output = run_expect(
        regime()
            .args([
                "audit-prompts",
                "--max-sample-dup-rate",
                "0",
                "--priority",
                "ocr",
            ])
            .arg(sample()),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no prompt text in 5000 samples' ocr fields"),
        "{stderr}"
    );
    // A sample of one has no interval: `[0%, 0%]` around 19% was printed.
    let output = run_expect(
        regime()
            .args(["audit-prompts", "--sample", "1"])
            .arg(sample()),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("must be a whole number ≥ 2"), "{stderr}");
    // Nor does a profile of nothing, alone or compared.
    let profile_out = dir.path().join("profile");
    for compare in [false, true] {
        let mut cmd = regime();
        cmd.arg("profile");
        if compare {
            cmd.arg("--compare").arg(sample());
        }
        let output = run_expect(cmd.arg(&zero).arg("--out").arg(&profile_out), 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("zero.parquet: no rows to profile"),
            "{stderr}"
        );
        assert!(!profile_out.exists());
    }

    // Both writers leave one empty part with the input's schema, which the
    // next stage reads.
    for extra in [&[][..], &["--reencode"][..]] {
        let out = dir.path().join(format!("out{}", extra.len()));
        run_expect(
            regime()
                .arg("prompt-dedup")
                .arg(&zero)
                .arg("--out")
                .arg(&out)
                .args(extra),
            0,
        );
        let part = out.join("part-00000.parquet");
        assert_eq!(read_parquet(&part).num_rows(), 0, "{extra:?}");
        assert_eq!(parquet_schema(&part).fields(), schema.fields(), "{extra:?}");
        let next = dir.path().join(format!("next{}", extra.len()));
        run_expect(
            regime()
                .args(["condition", "c"])
                .arg(&out)
                .arg("--out")
                .arg(&next),
            0,
        );
    }
}

/// A negative value for a numeric option is refused by that option's own
/// check, in one line naming the option and what it allows, instead of
/// being read as an unknown flag ("unexpected argument '-1' found");
/// negative shares and rates reach their range checks.
#[test]
fn negative_numbers_are_refused_by_the_option_that_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let sample = sample();
    let cases: [(&[&str], &str); 10] = [
        (
            &["condition", "c", "--seed", "-1"],
            "invalid value '-1' for '--seed <SEED>': must be a whole number ≥ 0",
        ),
        (
            &["condition", "c", "--split", "-0.5"],
            "--split: must be in (0, 1]",
        ),
        (
            &["dedup", "near", "--shard", "-1/3"],
            "invalid value '-1/3' for '--shard <I/N>'",
        ),
        (
            &["dedup", "near", "--threshold", "-0.8"],
            "invalid value '-0.8' for '--threshold <J>': must be a number between 0 and 1, both excluded",
        ),
        (
            &["profile", "--max-n", "-2"],
            "invalid value '-2' for '--max-n <N>': must be a whole number from 1 to 4",
        ),
        (
            &["profile", "--memory-budget", "-1G"],
            "invalid value '-1G' for '--memory-budget <SIZE>'",
        ),
        (
            &[
                "condition",
                "d",
                "--dry-run",
                "--model",
                "m",
                "--price-per-1k",
                "-1",
            ],
            "--price-per-1k: must be a price ≥ 0",
        ),
        (
            &["audit-prompts", "--max-sample-dup-rate", "-0.1"],
            "--max-sample-dup-rate",
        ),
        // 0 meant 1 silently.
        (
            &["profile", "-j", "0"],
            "invalid value '0' for '--threads <N>': must be a whole number ≥ 1",
        ),
        (
            &["condition", "d", "--dry-run", "--model", "m", "--rpm", "0"],
            "invalid value '0' for '--rpm <N>': must be a whole number ≥ 1",
        ),
    ];
    for (args, says) in cases {
        let mut cmd = regime();
        cmd.args(args).arg(&sample);
        if args[0] != "audit-prompts" {
            cmd.arg("--out").arg(&out);
        }
        let output = run_expect(&mut cmd, 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(errors[0].contains(says), "{args:?}: {stderr}");
        assert_nothing_written(&out);
    }
}
