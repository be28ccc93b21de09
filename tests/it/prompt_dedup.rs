//! `regime synth prompt-dup`, `regime prompt-dedup` and `regime
//! audit-prompts` end to end: planted duplication at 0%, 25%, 75% and 100%
//! in the llava, messages (string or parts content) and columns layouts is
//! measured exactly, removed exactly, and nothing else changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use arrow::json::LineDelimitedWriter;
use serde_json::Value;

use crate::common::{
    llava_text_columns, parquet_files, read_parquet, regime, run_expect, sample, write_parquet,
};

const SHARES: [f64; 4] = [0.0, 0.25, 0.75, 1.0];

fn synth(dir: &Path, share: f64, layout: &str, seed: u64) -> PathBuf {
    let out = dir.join(format!("synth-{layout}-{share}"));
    run_expect(
        regime()
            .args(["synth", "prompt-dup"])
            .arg(sample())
            .args(["--share", &share.to_string()])
            .args(["--seed", &seed.to_string()])
            .args(["--layout", layout])
            .arg("--out")
            .arg(&out),
        0,
    );
    out
}

/// `--profile columns --fields …` for the columns layout.
fn profile_args(corpus: &Path, layout: &str) -> Vec<String> {
    if layout == "columns" {
        let fields = corpus.join("fields.toml");
        vec![
            "--profile".into(),
            "columns".into(),
            "--fields".into(),
            fields.display().to_string(),
        ]
    } else {
        Vec::new()
    }
}

/// The parquet parts of an output directory, or the file itself.
fn inputs(corpus: &Path) -> Vec<PathBuf> {
    if corpus.is_file() {
        vec![corpus.to_path_buf()]
    } else {
        parquet_files(corpus)
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-15)
}

fn audit_json(corpus: &Path, extra: &[String], code: i32) -> Value {
    let output = run_expect(
        regime()
            .arg("audit-prompts")
            .args(inputs(corpus))
            .args(extra)
            .args(["--format", "json"]),
        code,
    );
    serde_json::from_slice(&output.stdout).expect("audit JSON")
}

fn one_part(dir: &Path) -> RecordBatch {
    let parts = parquet_files(dir);
    assert_eq!(parts.len(), 1, "{parts:?}");
    read_parquet(&parts[0])
}

struct Truth {
    planted: u64,
    copies: u64,
    segments: u64,
    chars: u64,
    copy_chars: u64,
    rows: Vec<Vec<String>>,
}

fn truth(batch: &RecordBatch) -> Truth {
    let t = batch
        .column_by_name("regime_truth")
        .expect("test data")
        .as_struct();
    let u64s = |name: &str| {
        t.column_by_name(name)
            .expect("test data")
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .values()
            .iter()
            .sum::<u64>()
    };
    let planted = t
        .column_by_name("planted")
        .expect("test data")
        .as_boolean()
        .true_count() as u64;
    let copies = t
        .column_by_name("copies")
        .expect("test data")
        .as_list::<i32>();
    let rows: Vec<Vec<String>> = (0..copies.len())
        .map(|i| {
            let v = copies.value(i);
            let v = v.as_string::<i32>();
            (0..v.len()).map(|j| v.value(j).to_owned()).collect()
        })
        .collect();
    Truth {
        planted,
        copies: rows.iter().map(|r| r.len() as u64).sum(),
        segments: u64s("segments"),
        chars: u64s("chars"),
        copy_chars: u64s("copy_chars"),
        rows,
    }
}

fn strings(array: &dyn Array) -> Vec<Option<String>> {
    let a = array.as_string::<i32>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_owned()))
        .collect()
}

#[expect(clippy::cast_precision_loss, reason = "test counts are far below 2^53")]
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The figures of an audit or report equal the ground truth exactly.
fn assert_figures(json: &Value, truth: &Truth, rows: u64, share: f64) {
    assert_eq!(json["samples"], rows);
    assert_eq!(json["sample_dup_rate"].as_f64(), Some(share), "{json}");
    assert_eq!(json["counts"]["dup_samples"], truth.planted);
    assert_eq!(json["counts"]["copies"], truth.copies);
    assert_eq!(json["counts"]["segments"], truth.segments);
    assert_eq!(json["counts"]["chars"], truth.chars);
    assert_eq!(json["counts"]["dup_chars"], truth.copy_chars);
    // The counts are exact; the rates are their quotients (serde_json's
    // float parsing may be one ulp off the printed value).
    assert!(close(
        json["segment_dup_rate"].as_f64(),
        ratio(truth.copies, truth.segments)
    ));
    assert!(close(
        json["char_dup_rate"].as_f64(),
        ratio(truth.copy_chars, truth.chars)
    ));
    assert_eq!(json["repeated_turns"], 0);
}

fn assert_zero(json: &Value) {
    for key in ["sample_dup_rate", "segment_dup_rate", "char_dup_rate"] {
        assert_eq!(json[key].as_f64(), Some(0.0), "{key}: {json}");
    }
    assert_eq!(json["counts"]["copies"], 0);
    assert!(json["worst"].as_array().expect("test data").is_empty());
}

/// The text of turn `j` of a conversation's turns: the string, or the
/// texts of its parts joined by `|` (the `parts` layout).
fn turn_text(turns: &arrow::array::StructArray, key: &str, j: usize) -> String {
    let content = turns.column_by_name(key).expect("test data");
    match content.data_type() {
        DataType::List(_) => {
            let parts = content.as_list::<i32>().value(j);
            let text = parts
                .as_struct()
                .column_by_name("text")
                .expect("test data")
                .as_string::<i32>()
                .clone();
            text.iter().flatten().collect::<Vec<_>>().join("|")
        }
        _ => content.as_string::<i32>().value(j).to_owned(),
    }
}

/// The system text of each row (a flat column, or the first message).
fn system_texts(batch: &RecordBatch, layout: &str) -> Vec<Option<String>> {
    if matches!(layout, "messages" | "parts") {
        let list = batch
            .column_by_name("messages")
            .expect("test data")
            .as_list::<i32>();
        (0..list.len())
            .map(|i| {
                let turns = list.value(i);
                let turns = turns.as_struct();
                let role = turns
                    .column_by_name("role")
                    .expect("test data")
                    .as_string::<i32>();
                assert_eq!(role.value(0), "system");
                Some(turn_text(turns, "content", 0))
            })
            .collect()
    } else {
        strings(batch.column_by_name("system").expect("test data").as_ref())
    }
}

/// Every turn but the system one, as (role, text).
fn other_turns(batch: &RecordBatch, layout: &str) -> Vec<Vec<(String, String)>> {
    let Some(list) = batch
        .column_by_name(if matches!(layout, "messages" | "parts") {
            "messages"
        } else {
            "conversations"
        })
        .map(|c| c.as_list::<i32>().clone())
    else {
        return Vec::new();
    };
    let (speaker, text) = if matches!(layout, "messages" | "parts") {
        ("role", "content")
    } else {
        ("from", "value")
    };
    (0..list.len())
        .map(|i| {
            let turns = list.value(i);
            let turns = turns.as_struct();
            let s = turns
                .column_by_name(speaker)
                .expect("test data")
                .as_string::<i32>();
            (0..turns.len())
                .filter(|&j| s.value(j) != "system")
                .map(|j| (s.value(j).to_owned(), turn_text(turns, text, j)))
                .collect()
        })
        .collect()
}

fn check_layout(layout: &str) {
    let dir = tempfile::tempdir().expect("test data");
    for share in SHARES {
        let corpus = synth(dir.path(), share, layout, 7);
        let input = one_part(&corpus);
        let rows = input.num_rows() as u64;
        assert_eq!(rows, 5000);
        let truth = truth(&input);
        assert!(close(Some(ratio(truth.planted, rows)), share));
        let profile = profile_args(&corpus, layout);

        // The audit measures the planted duplication exactly.
        let before = audit_json(&corpus, &profile, 0);
        assert_figures(&before, &truth, rows, share);

        // prompt-dedup removes exactly the planted copies.
        let out = dir.path().join(format!("dedup-{layout}-{share}"));
        run_expect(
            regime()
                .arg("prompt-dedup")
                .args(parquet_files(&corpus))
                .args(&profile)
                .arg("--provenance")
                .arg("--out")
                .arg(&out),
            0,
        );
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("test data"))
                .expect("test data");
        assert_figures(&report, &truth, rows, share);
        assert_zero(&report["after"]);
        assert_eq!(report["rows_out"], rows);
        let output = one_part(&out);
        assert_eq!(output.num_rows(), input.num_rows(), "row count");

        // Same schema plus the provenance column.
        let in_schema = input.schema();
        let out_schema = output.schema();
        assert_eq!(
            &out_schema.fields()[..in_schema.fields().len()],
            &in_schema.fields()[..]
        );
        assert_eq!(out_schema.fields().len(), in_schema.fields().len() + 1);

        // Every removed copy is listed, row by row, in order.
        let removed = output
            .column_by_name("regime_removed")
            .expect("test data")
            .as_list::<i32>();
        for (i, want) in truth.rows.iter().enumerate() {
            let got = removed.value(i);
            let got = got.as_string::<i32>();
            let got: Vec<&str> = (0..got.len()).map(|j| got.value(j)).collect();
            assert_eq!(got, *want, "row {i} provenance");
        }

        // Columns without a planted copy are byte-identical, in row order.
        let text_columns = ["system", "caption", "ocr_text", "metadata", "messages"];
        for field in in_schema.fields() {
            if !text_columns.contains(&field.name().as_str()) {
                assert_eq!(
                    output.column_by_name(field.name()).expect("test data"),
                    input.column_by_name(field.name()).expect("test data"),
                    "{layout} {share}: column {} changed",
                    field.name()
                );
            }
        }
        // User and assistant turns (the canonical instances and the target)
        // never change.
        assert_eq!(other_turns(&output, layout), other_turns(&input, layout));
        // Planted-into fields equal the generator's expectation; the others
        // are unchanged.
        let expected = input
            .column_by_name("regime_truth")
            .expect("test data")
            .as_struct();
        let expected =
            |name: &str| strings(expected.column_by_name(name).expect("test data").as_ref());
        assert_eq!(system_texts(&output, layout), expected("expected_system"));
        for (column, want) in [
            ("caption", "expected_caption"),
            ("ocr_text", "expected_ocr_text"),
            ("metadata", "expected_metadata"),
        ] {
            let got = strings(output.column_by_name(column).expect("test data").as_ref());
            assert_eq!(got, expected(want), "{layout} {share}: {column}");
            let was = strings(input.column_by_name(column).expect("test data").as_ref());
            let expected_col = expected(want);
            for i in 0..got.len() {
                if was[i] == expected_col[i] {
                    assert_eq!(got[i], was[i]);
                }
            }
        }

        // After prompt-dedup the audit reports 0, and the gate passes at 0.
        let mut gate = profile.clone();
        gate.extend(["--max-sample-dup-rate".to_owned(), "0".to_owned()]);
        let after = audit_json(&out, &gate, 0);
        assert_zero(&after);
        assert_eq!(after["samples"], rows);
        // The planted corpus fails the same gate unless nothing was planted.
        audit_json(&corpus, &gate, i32::from(truth.planted > 0));
    }
}

#[test]
fn planted_duplication_llava() {
    check_layout("llava");
}

#[test]
fn planted_duplication_messages() {
    check_layout("messages");
}

/// Hugging Face chat-template messages: each content a list of
/// `{type, text}` parts, the image a part without text.
#[test]
fn planted_duplication_parts() {
    check_layout("parts");
}

#[test]
fn planted_duplication_columns() {
    check_layout("columns");
}

/// Detected without `--fields`, the columns layout reads only the columns
/// named like a role: the audit says which string columns it left unread.
#[test]
fn a_detected_layout_names_the_text_columns_it_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = synth(dir.path(), 0.5, "columns", 1);
    let audit = run_expect(regime().arg("audit-prompts").arg(&corpus), 0);
    let stderr = String::from_utf8_lossy(&audit.stderr);
    let warning = stderr
        .lines()
        .find(|l| l.contains("string columns the detected layout does not read"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(warning.contains("prompt, response"), "{warning}");
    assert!(!warning.contains("caption"), "{warning}");
    // Named with --fields, nothing is left unsaid.
    let named = run_expect(
        regime()
            .arg("audit-prompts")
            .arg(&corpus)
            .args(profile_args(&corpus, "columns")),
        0,
    );
    assert!(!String::from_utf8_lossy(&named.stderr).contains("does not read"));
}

#[test]
fn outputs_are_identical_at_one_and_two_threads() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = synth(dir.path(), 0.75, "llava", 3);
    let mut runs = Vec::new();
    for threads in ["1", "2"] {
        // Copied column chunks, and (row groups past --row-group-rows)
        // every column re-encoded.
        let spliced = dir.path().join(format!("spliced-{threads}"));
        run_expect(
            regime()
                .env("RAYON_NUM_THREADS", threads)
                .arg("prompt-dedup")
                .args(parquet_files(&corpus))
                .args(["--provenance", "--out"])
                .arg(&spliced),
            0,
        );
        let out = dir.path().join(format!("out-{threads}"));
        let output = run_expect(
            regime()
                .env("RAYON_NUM_THREADS", threads)
                .arg("prompt-dedup")
                .args(parquet_files(&corpus))
                .args(["--provenance", "--row-group-rows", "1000", "--out"])
                .arg(&out),
            0,
        );
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            said.contains("re-encoding every column, as")
                && said.contains("exceeds the row-group limits"),
            "{said}"
        );
        assert_eq!(one_part(&spliced), one_part(&out));
        let audit = run_expect(
            regime()
                .env("RAYON_NUM_THREADS", threads)
                .arg("audit-prompts")
                .args(parquet_files(&corpus))
                .args(["--format", "json", "--sample", "1500", "--seed", "4"]),
            0,
        );
        let parts: Vec<Vec<u8>> = parquet_files(&out)
            .iter()
            .chain(&parquet_files(&spliced))
            .map(|p| std::fs::read(p).expect("test data"))
            .collect();
        runs.push((
            parts,
            std::fs::read(out.join("report.json")).expect("test data"),
            audit.stdout,
        ));
    }
    assert!(runs[0] == runs[1], "outputs differ between 1 and 2 threads");
}

/// The compressed bytes of column `leaf` in each row group of a file.
fn leaf_chunks(path: &Path, leaf: usize) -> Vec<Vec<u8>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let bytes = std::fs::read(path).expect("test data");
    let reader = SerializedFileReader::new(std::fs::File::open(path).expect("test data"))
        .expect("valid parquet");
    reader
        .metadata()
        .row_groups()
        .iter()
        .map(|group| {
            let chunk = group.column(leaf);
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let start = usize::try_from(start).expect("offset");
            let len = usize::try_from(chunk.compressed_size()).expect("size");
            bytes[start..start + len].to_vec()
        })
        .collect()
}

#[test]
fn untouched_columns_are_copied_and_reencode_writes_the_same_rows() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = dir.path().join("corpus");
    run_expect(
        regime()
            .args(["synth", "prompt-dup"])
            .arg(sample())
            .args(["--share", "0.75", "--seed", "5", "--row-group-rows", "1500"])
            // Not prompt-dedup's level, so a re-encoded chunk would differ.
            .args(["--zstd-level", "1"])
            .arg("--out")
            .arg(&corpus),
        0,
    );
    let input = parquet_files(&corpus);
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        run_expect(
            regime()
                .arg("prompt-dedup")
                .args(&input)
                .args(["--provenance", "--out"])
                .arg(&out)
                .args(extra),
            0,
        );
        out
    };
    let spliced = run("spliced", &[]);
    let reencoded = run("reencoded", &["--reencode", "--row-group-rows", "700"]);

    // The same rows and figures either way.
    assert_eq!(one_part(&spliced), one_part(&reencoded));
    assert_eq!(
        std::fs::read(spliced.join("report.json")).expect("test data"),
        std::fs::read(reencoded.join("report.json")).expect("test data")
    );
    // By default the input's row groups stay, and the image bytes (leaf 2:
    // id, split, image.bytes) are the input's column chunks byte for byte.
    let groups = |path: &Path| {
        let batch = parquet::file::reader::SerializedFileReader::new(
            std::fs::File::open(path).expect("test data"),
        )
        .expect("valid parquet");
        parquet::file::reader::FileReader::metadata(&batch)
            .row_groups()
            .iter()
            .map(parquet::file::metadata::RowGroupMetaData::num_rows)
            .collect::<Vec<_>>()
    };
    let out = parquet_files(&spliced);
    assert_eq!(groups(&out[0]), [1500, 1500, 1500, 500]);
    assert_eq!(leaf_chunks(&out[0], 2), leaf_chunks(&input[0], 2));
    // So are the turns' speakers (leaf 4), and their texts (leaf 5): the
    // copies are planted outside the conversation, so no row group has a
    // turn edited. The system prompts (leaf 6), which hold copies, are
    // re-encoded.
    for leaf in [4, 5] {
        assert_eq!(leaf_chunks(&out[0], leaf), leaf_chunks(&input[0], leaf));
    }
    assert_ne!(leaf_chunks(&out[0], 6), leaf_chunks(&input[0], 6));
    // --reencode applies --row-group-rows and compresses every column anew.
    let again = parquet_files(&reencoded);
    assert_eq!(
        groups(&again[0]),
        [700; 7].into_iter().chain([100]).collect::<Vec<_>>()
    );
}

#[test]
fn sampled_audit_interval_contains_the_full_rate() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = synth(dir.path(), 0.75, "llava", 11);
    let full = audit_json(&corpus, &[], 0);
    let sampled = audit_json(
        &corpus,
        &[
            "--sample".into(),
            "2000".into(),
            "--seed".into(),
            "1".into(),
        ],
        0,
    );
    assert_eq!(sampled["samples"], 2000);
    assert_eq!(sampled["sample"]["population"], 5000);
    for key in ["sample_dup_rate", "segment_dup_rate", "char_dup_rate"] {
        let rate = full[key].as_f64().expect("test data");
        let lo = sampled["sample"]["intervals"][key][0]
            .as_f64()
            .expect("test data");
        let hi = sampled["sample"]["intervals"][key][1]
            .as_f64()
            .expect("test data");
        assert!(
            lo <= rate && rate <= hi,
            "{key}: {rate} not in [{lo}, {hi}]"
        );
    }
    // The text report prints the Wilson interval.
    let text = run_expect(
        regime()
            .arg("audit-prompts")
            .args(parquet_files(&corpus))
            .args(["--sample", "2000", "--seed", "1"]),
        0,
    );
    let text = String::from_utf8(text.stdout).expect("test data");
    assert!(text.contains("2000 of 5000 samples"), "{text}");
    assert!(
        text.contains("95% CI [") && text.contains("Wilson"),
        "{text}"
    );
}

/// `segment_dup_rate` counts copies per segment occurrence and passes 1
/// when a metadata line holds the instruction under several keys: its
/// sampled interval must contain the estimate (it was cut at 1, giving
/// [111%, 100%] around 150%), and its limit must accept values past 1.
#[test]
fn segment_dup_rate_past_one_has_a_sound_interval_and_limit() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = dir.path().join("segments.jsonl");
    let q = "What color is the shape in the image?";
    let mut lines = String::new();
    for i in 0..40 {
        let metadata = if i % 2 == 0 {
            serde_json::json!({"prompt": q, "q": q, "question": q, "instruction": q, "query": q})
                .to_string()
        } else {
            format!("{{\"note\": \"plain metadata number {i}\"}}")
        };
        let row = serde_json::json!({
            "id": format!("r{i}"),
            "conversations": [
                {"from": "human", "value": format!("<image>\n{q}")},
                {"from": "gpt", "value": format!("red {i}")},
            ],
            "metadata": metadata,
        });
        lines.push_str(&row.to_string());
        lines.push('\n');
    }
    std::fs::write(&corpus, lines).expect("test data");
    let full = audit_json(&corpus, &[], 0);
    let rate = full["segment_dup_rate"].as_f64().expect("test data");
    assert!(rate > 1.0, "{full}");
    for seed in ["1", "2", "3"] {
        let sampled = audit_json(
            &corpus,
            &["--sample".into(), "20".into(), "--seed".into(), seed.into()],
            0,
        );
        let estimate = sampled["segment_dup_rate"].as_f64().expect("test data");
        let bounds = &sampled["sample"]["intervals"]["segment_dup_rate"];
        let (lo, hi) = (bounds[0].as_f64().unwrap(), bounds[1].as_f64().unwrap());
        assert!(
            lo <= estimate && estimate <= hi,
            "{estimate} not in [{lo}, {hi}]"
        );
        let chars = &sampled["sample"]["intervals"]["char_dup_rate"];
        assert!(chars[1].as_f64().unwrap() <= 1.0, "{chars}");
    }
    let limit = |v: f64, code: i32| {
        audit_json(
            &corpus,
            &["--max-segment-dup-rate".into(), v.to_string()],
            code,
        )
    };
    assert_eq!(limit(rate + 0.05, 0)["passed"], true);
    assert_eq!(limit(rate - 0.05, 1)["passed"], false);
    run_expect(
        regime()
            .arg("audit-prompts")
            .arg(&corpus)
            .args(["--max-segment-dup-rate", "-0.5"]),
        2,
    );
}

/// `data_type` with every `Utf8` (nested ones too) as `LargeUtf8`.
fn large_strings(data_type: &DataType) -> DataType {
    let field =
        |f: &FieldRef| Arc::new(Field::clone(f).with_data_type(large_strings(f.data_type())));
    match data_type {
        DataType::Utf8 => DataType::LargeUtf8,
        DataType::List(f) => DataType::List(field(f)),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        other => other.clone(),
    }
}

/// The audit reads text as string views whatever it is stored as: the
/// same corpus with `large_string` columns, and as JSONL, gives the same
/// report as the parquet it came from.
#[test]
fn audit_is_the_same_from_large_strings_and_jsonl() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = synth(dir.path(), 0.75, "llava", 13);
    let stored = one_part(&corpus);
    let text_only = llava_text_columns(&stored);
    let plain = dir.path().join("plain.parquet");
    write_parquet(&plain, std::slice::from_ref(&text_only), 1000);
    let expected = audit_json(&plain, &[], 0);
    assert!(
        expected["counts"]["copies"].as_u64() > Some(0),
        "{expected}"
    );

    let columns = text_only
        .columns()
        .iter()
        .map(|c| cast(c, &large_strings(c.data_type())).expect("large strings"))
        .collect::<Vec<_>>();
    let fields: Vec<Field> = text_only
        .schema()
        .fields()
        .iter()
        .map(|f| Field::clone(f).with_data_type(large_strings(f.data_type())))
        .collect();
    let large = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
    let large_path = dir.path().join("large.parquet");
    write_parquet(&large_path, &[large], 1000);
    assert_eq!(audit_json(&large_path, &[], 0), expected);

    let jsonl = dir.path().join("corpus.jsonl");
    let mut writer = LineDelimitedWriter::new(std::fs::File::create(&jsonl).expect("create jsonl"));
    writer.write(&text_only).expect("write jsonl");
    writer.finish().expect("finish jsonl");
    assert_eq!(audit_json(&jsonl, &[], 0), expected);
}

#[test]
fn audit_formats() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = synth(dir.path(), 0.25, "llava", 5);
    let limits = [
        "--max-sample-dup-rate",
        "0.1",
        "--max-template-share",
        "0.9",
    ];
    // text: figures, top templates, worst samples with ids and copies.
    let text = run_expect(
        regime()
            .arg("audit-prompts")
            .args(parquet_files(&corpus))
            .args(limits),
        1,
    );
    let text = String::from_utf8(text.stdout).expect("test data");
    assert!(
        text.contains("sample_dup_rate") && text.contains("25.00%"),
        "{text}"
    );
    assert!(
        text.contains("top templates") && text.contains("worst samples"),
        "{text}"
    );
    assert!(
        text.contains("(id train-") && text.contains("result: FAILED"),
        "{text}"
    );
    // junit: well-formed, one failure, figures without a limit skipped.
    let junit = run_expect(
        regime()
            .arg("audit-prompts")
            .args(parquet_files(&corpus))
            .args(limits)
            .args(["--format", "junit"]),
        1,
    );
    let junit = String::from_utf8(junit.stdout).expect("test data");
    assert_well_formed_xml(&junit);
    assert!(
        junit.contains("failures=\"1\"") && junit.contains("<failure"),
        "{junit}"
    );
    let limited = limits.iter().filter(|a| a.starts_with("--max")).count();
    assert_eq!(junit.matches("<skipped").count(), 3 - limited, "{junit}");
    // github: ::error annotations, attached to the one input file.
    let github = run_expect(
        regime()
            .arg("audit-prompts")
            .args(parquet_files(&corpus))
            .args(limits)
            .args(["--format", "github"]),
        1,
    );
    let github = String::from_utf8(github.stdout).expect("test data");
    assert!(
        github.lines().any(|l| l.starts_with("::error file=")
            && l.contains("part-00000.parquet,title=audit-prompts::sample_dup_rate")),
        "{github}"
    );
    assert!(github.lines().all(|l| l.starts_with("::")), "{github}");
    // Within limits: exit 0 in every format.
    for format in ["text", "json", "junit", "github"] {
        let out = run_expect(
            regime()
                .arg("audit-prompts")
                .args(parquet_files(&corpus))
                .args(["--max-sample-dup-rate", "0.3", "--format", format]),
            0,
        );
        if format == "junit" {
            assert_well_formed_xml(&String::from_utf8(out.stdout).expect("test data"));
        }
    }
    // json: validates against the checked-in schema.
    let json = audit_json(&corpus, &limits.map(str::to_owned), 1);
    crate::schemas::assert_conforms("audit-prompts-report", &json, "stdout");
    assert_eq!(json["passed"], false);
}

#[test]
fn prompt_dedup_report_validates_against_its_schema() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = synth(dir.path(), 0.5, "messages", 2);
    let out = dir.path().join("out");
    run_expect(
        regime()
            .arg("prompt-dedup")
            .args(parquet_files(&corpus))
            .args(["--empty-as-null", "--out"])
            .arg(&out),
        0,
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("test data"))
            .expect("test data");
    crate::schemas::assert_conforms("prompt-dedup-report", &report, "report.json");
    // --empty-as-null: a caption that was only a copy is now null.
    let input = one_part(&corpus);
    let output = one_part(&out);
    let caption_in = strings(input.column_by_name("caption").expect("test data").as_ref());
    let caption_out = strings(
        output
            .column_by_name("caption")
            .expect("test data")
            .as_ref(),
    );
    let expected = input
        .column_by_name("regime_truth")
        .expect("test data")
        .as_struct();
    let expected = strings(
        expected
            .column_by_name("expected_caption")
            .expect("test data")
            .as_ref(),
    );
    let mut emptied = 0;
    for i in 0..caption_in.len() {
        if expected[i].as_deref() == Some("") {
            assert_eq!(caption_out[i], None);
            emptied += 1;
        }
    }
    assert!(emptied > 0);
    assert!(output.column_by_name("regime_removed").is_none());
}

#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("test data");
    let missing = dir.path().join("nope.parquet");
    let out = dir.path().join("out");
    for cmd in [
        regime()
            .arg("prompt-dedup")
            .arg(&missing)
            .arg("--out")
            .arg(&out),
        regime().arg("audit-prompts").arg(&missing),
        regime()
            .arg("audit-prompts")
            .arg(sample())
            .args(["--max-sample-dup-rate", "1.5"]),
        regime()
            .arg("prompt-dedup")
            .arg(sample())
            .args(["--priority", "user,assistant", "--out"])
            .arg(&out),
        regime()
            .arg("prompt-dedup")
            .arg(sample())
            .args(["--priority", "user,teacher", "--out"])
            .arg(&out),
        regime()
            .args(["synth", "prompt-dup"])
            .arg(sample())
            .args(["--share", "2", "--out"])
            .arg(&out),
    ] {
        let output = run_expect(cmd, 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(output.stdout.is_empty());
        assert!(!out.exists(), "{} was written", out.display());
    }
    // A source that is not a LLaVA corpus: the generator says so.
    let corpus = synth(dir.path(), 0.0, "columns", 1);
    let output = run_expect(
        regime()
            .args(["synth", "prompt-dup"])
            .args(parquet_files(&corpus))
            .args(["--share", "0.5", "--out"])
            .arg(&out),
        2,
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("conversations"));
    assert!(!out.exists());
}

#[test]
fn real_corpus_has_no_prompt_duplication() {
    let json = audit_json(&sample(), &[], 0);
    assert_zero(&json);
    assert_eq!(json["samples"], 5000);
    // easy-vqa's questions are templates shared across samples.
    assert!(json["templates"][0]["share"].as_f64().expect("test data") > 0.2);
}

/// Checks tags nest and close, attributes are quoted and text holds no raw
/// `<` or unknown entity.
fn assert_well_formed_xml(xml: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = xml.trim_start();
    assert!(rest.starts_with("<?xml"), "no XML declaration");
    let mut roots = 0;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        check_text(text);
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().expect("tag name").to_owned();
        let attrs = &body[name.len()..];
        assert_eq!(
            attrs.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        check_text(&attrs.replace('"', ""));
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(roots, 1, "one root element");
}

fn check_text(text: &str) {
    assert!(!text.contains('<'), "raw < in {text:?}");
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let end = rest[amp..].find(';').expect("unterminated entity") + amp;
        let entity = &rest[amp + 1..end];
        assert!(
            ["amp", "lt", "gt", "quot", "apos"].contains(&entity),
            "unknown entity &{entity};"
        );
        rest = &rest[end + 1..];
    }
}

/// `rows` as JSON Lines, one object per row (nulls left out).
fn json_lines(rows: &RecordBatch) -> Vec<Value> {
    let mut buffer = Vec::new();
    let mut writer = LineDelimitedWriter::new(&mut buffer);
    writer.write(rows).expect("write jsonl");
    writer.finish().expect("finish jsonl");
    buffer
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).expect("a JSON line"))
        .collect()
}

/// OpenAI's chat format writes a message's content as a string unless it
/// carries an image: the generated parts corpus written that way (system
/// and assistant messages as strings, user messages as parts) is read with
/// each string as one text part, so its audit, its de-duplicated rows and
/// a bad line's number are those of the corpus it came from.
#[test]
fn openai_string_or_parts_content_reads_as_parts() {
    let dir = tempfile::tempdir().expect("test data");
    let corpus = synth(dir.path(), 0.75, "parts", 17);
    let expected = audit_json(&corpus, &[], 0);
    assert!(
        expected["counts"]["copies"].as_u64() > Some(0),
        "{expected}"
    );
    let mut lines = json_lines(&one_part(&corpus));
    let mut strings = 0;
    for line in &mut lines {
        for message in line["messages"].as_array_mut().expect("messages") {
            let [part] = message["content"].as_array().expect("parts").as_slice() else {
                continue;
            };
            if message["role"] != "user" && part["type"] == "text" {
                message["content"] = part["text"].clone();
                strings += 1;
            }
        }
    }
    assert!(strings >= lines.len(), "{strings}");
    let openai = dir.path().join("openai.jsonl");
    let text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    std::fs::write(&openai, &text).expect("write jsonl");

    let inspect = run_expect(regime().arg("inspect").arg(&openai).arg("--json"), 0);
    let inspect: Value = serde_json::from_slice(&inspect.stdout).expect("inspect JSON");
    assert_eq!(
        inspect["files"][0]["mixed_fields"],
        serde_json::json!([{"path": "messages[].content", "read_as": "text_part"}])
    );
    assert_eq!(audit_json(&openai, &[], 0), expected);

    let dedup = |input: &Path, out: &Path| {
        run_expect(
            regime()
                .args(["prompt-dedup", "-q", "--provenance"])
                .arg(input)
                .arg("--out")
                .arg(out),
            0,
        );
        assert_zero(&audit_json(out, &[], 0));
        json_lines(&one_part(out))
    };
    let from_parquet = dedup(&parquet_files(&corpus)[0], &dir.path().join("a"));
    let from_openai = dedup(&openai, &dir.path().join("b"));
    assert_eq!(from_openai.len(), from_parquet.len());
    assert!(from_openai == from_parquet, "rows differ");

    // A bad line keeps its number: lines are rewritten one for one.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, format!("{text}\n{{\"messages\": 5}}\n")).expect("write jsonl");
    let output = run_expect(regime().arg("audit-prompts").arg(&bad), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = lines.len() + 2;
    assert!(
        stderr.contains(&format!("bad.jsonl: line {line}: ")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
