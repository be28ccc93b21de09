//! Dictionary-encoded text columns (`dictionary<int32, utf8>`, what pyarrow
//! writes for a `DictionaryArray` or a pandas categorical) are text like any
//! other: a flat `system` column of that type is mapped, audited and
//! de-duplicated, and the output keeps it a dictionary column of the same
//! type. Before, such a column was silently left out and the audit gate
//! passed on copies it never read.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, StructBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Int32Type, Schema};
use serde_json::Value;

use crate::common::{
    llava_text_columns, parquet_files, read_parquet, regime, run_expect, sample, write_parquet,
};

const QUESTION: &str = "What colour is the shape in the picture?";
const SYSTEM: &str = "You are a careful assistant who answers in one word.";

/// Four LLaVA rows whose `system` column is `dictionary<int32, utf8>`: row
/// 0's system prompt is a copy of its question, the others are not copies
/// (row 2's is null).
fn corpus() -> RecordBatch {
    let turn_fields = Fields::from(vec![
        Field::new("from", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
    ]);
    let mut list = ListBuilder::new(StructBuilder::from_fields(turn_fields, 8));
    for row in 0..4 {
        let question = format!("{QUESTION} ({row})");
        let question = if row == 0 { QUESTION } else { &question };
        for (from, value) in [("human", question), ("gpt", "Blue.")] {
            let turn = list.values();
            turn.field_builder::<StringBuilder>(0)
                .unwrap()
                .append_value(from);
            turn.field_builder::<StringBuilder>(1)
                .unwrap()
                .append_value(value);
            turn.append(true);
        }
        list.append(true);
    }
    let conversations: ArrayRef = Arc::new(list.finish());
    let system: DictionaryArray<Int32Type> = [Some(QUESTION), Some(SYSTEM), None, Some(SYSTEM)]
        .into_iter()
        .collect();
    let system: ArrayRef = Arc::new(system);
    let id: ArrayRef = Arc::new(StringArray::from(vec!["r0", "r1", "r2", "r3"]));
    let score: ArrayRef = Arc::new(Int64Array::from(vec![7, 8, 9, 10]));
    let schema = Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("conversations", conversations.data_type().clone(), true),
        Field::new("system", system.data_type().clone(), true),
        Field::new("score", DataType::Int64, false),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![id, conversations, system, score]).unwrap()
}

fn audit_json(path: &Path, code: i32) -> Value {
    let output = run_expect(
        regime().arg("audit-prompts").arg(path).args([
            "--max-sample-dup-rate",
            "0",
            "--format",
            "json",
        ]),
        code,
    );
    serde_json::from_slice(&output.stdout).expect("audit JSON")
}

fn texts(array: &dyn Array) -> Vec<Option<String>> {
    let plain = cast(array, &DataType::Utf8).unwrap();
    plain
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

#[test]
fn dictionary_system_column_is_audited_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dict.parquet");
    let batch = corpus();
    write_parquet(&input, std::slice::from_ref(&batch), 2);

    // The gate sees the planted copy and fails.
    let audit = audit_json(&input, 1);
    assert_eq!(audit["counts"]["dup_samples"], 1, "{audit}");
    assert_eq!(audit["sample_dup_rate"], 0.25, "{audit}");
    assert_eq!(audit["worst"][0]["id"], "r0", "{audit}");

    // Spliced (the default) and re-encoded outputs alike.
    for extra in [&[][..], &["--reencode"][..]] {
        let out = dir.path().join(format!("out{}", extra.len()));
        let run = run_expect(
            regime()
                .arg("prompt-dedup")
                .arg(&input)
                .arg("--out")
                .arg(&out)
                .args(extra),
            0,
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("system → system"), "{stderr}");
        let parts = parquet_files(&out);
        assert_eq!(parts.len(), 1, "{parts:?}");
        let output = read_parquet(&parts[0]);
        // Same schema: `system` is still `dictionary<int32, utf8>`.
        assert_eq!(output.schema(), batch.schema(), "{extra:?}");
        // The copy is gone; every other value and column is as it was.
        let system = batch.schema().index_of("system").unwrap();
        assert_eq!(
            texts(output.column(system)),
            [
                Some(String::new()),
                Some(SYSTEM.into()),
                None,
                Some(SYSTEM.into())
            ]
        );
        for (i, column) in batch.columns().iter().enumerate() {
            if i != system {
                assert_eq!(output.column(i), column, "column {i} {extra:?}");
            }
        }
        // The output passes the gate.
        let again = audit_json(&parts[0], 0);
        assert_eq!(again["counts"]["dup_samples"], 0, "{again}");
    }
}

/// `data_type` with every `Utf8` (nested ones too) as `dictionary<int32, utf8>`.
fn dictionary_strings(data_type: &DataType) -> DataType {
    let field =
        |f: &FieldRef| Arc::new(Field::clone(f).with_data_type(dictionary_strings(f.data_type())));
    match data_type {
        DataType::Utf8 => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        DataType::List(f) => DataType::List(field(f)),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        other => other.clone(),
    }
}

/// The same corpus with every string column dictionary-encoded, the
/// conversation turns' `from` and `value` included, audits and
/// de-duplicates exactly as the plain one, and keeps its types.
#[test]
fn dictionary_encoded_corpus_matches_the_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let synth = dir.path().join("synth");
    run_expect(
        regime()
            .args(["synth", "prompt-dup"])
            .arg(sample())
            .args(["--share", "0.5", "--seed", "3", "--rows", "600"])
            .arg("--out")
            .arg(&synth),
        0,
    );
    let stored = read_parquet(&parquet_files(&synth)[0]);
    let plain = llava_text_columns(&stored);
    let columns: Vec<ArrayRef> = plain
        .columns()
        .iter()
        .map(|c| cast(c, &dictionary_strings(c.data_type())).unwrap())
        .collect();
    let fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| Field::clone(f).with_data_type(dictionary_strings(f.data_type())))
        .collect();
    let encoded = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let plain_path = dir.path().join("plain.parquet");
    let encoded_path = dir.path().join("encoded.parquet");
    write_parquet(&plain_path, std::slice::from_ref(&plain), 250);
    write_parquet(&encoded_path, std::slice::from_ref(&encoded), 250);

    let expected = audit_json(&plain_path, 1);
    assert!(
        expected["counts"]["copies"].as_u64() > Some(0),
        "{expected}"
    );
    assert_eq!(audit_json(&encoded_path, 1), expected);

    let dedup = |input: &Path, name: &str| {
        let out = dir.path().join(name);
        run_expect(
            regime()
                .arg("prompt-dedup")
                .arg(input)
                .arg("--out")
                .arg(&out),
            0,
        );
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        (read_parquet(&parquet_files(&out)[0]), report)
    };
    let (plain_out, plain_report) = dedup(&plain_path, "plain-out");
    let (encoded_out, encoded_report) = dedup(&encoded_path, "encoded-out");
    assert_eq!(encoded_report, plain_report);
    assert_eq!(encoded_out.schema(), encoded.schema());
    for (i, column) in encoded_out.columns().iter().enumerate() {
        let decoded = cast(column, plain_out.column(i).data_type()).unwrap();
        assert_eq!(&decoded, plain_out.column(i), "column {i}");
    }
}

/// A column named like a role whose type holds no text is named in what
/// the command prints it mapped, detected layout or named, never dropped
/// without a word.
#[test]
fn role_named_column_of_another_type_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let batch = corpus();
    let system = batch.schema().index_of("system").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[system] = cast(&columns[system], &DataType::Utf8).unwrap();
    columns[system] = cast(&columns[system], &DataType::Binary).unwrap();
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[system] = fields[system].clone().with_data_type(DataType::Binary);
    let binary = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let input = dir.path().join("binary.parquet");
    write_parquet(&input, &[binary], 4);
    for extra in [&[][..], &["--profile", "llava"][..]] {
        let run = run_expect(regime().arg("audit-prompts").arg(&input).args(extra), 0);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains("; not mapped: system (Binary is not a string type)"),
            "{extra:?}: {stderr}"
        );
    }
}

/// `dictionary<int8, utf8>` (a pandas categorical of < 128 categories):
/// two batches of 200 rows, one per row group, each holding 100 distinct
/// captions and one system prompt that lists every row's rule (`prompt` is
/// the row's own).
fn int8_corpus() -> [RecordBatch; 2] {
    let rule = |i: usize| format!("Rule number {i} is that you must obey rule {i}.");
    let int8 = |values: Vec<String>| -> ArrayRef {
        let plain = StringArray::from(values);
        let data_type = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
        cast(&plain, &data_type).unwrap()
    };
    [0, 200].map(|first| {
        let rows = first..first + 200;
        let prompt: ArrayRef = Arc::new(StringArray::from(
            rows.clone().map(rule).collect::<Vec<_>>(),
        ));
        let all_rules = rows.clone().map(rule).collect::<Vec<_>>().join(" ");
        let system = int8(vec![all_rules; 200]);
        let caption = int8(
            rows.map(|i| format!("caption {}", first / 2 + i % 100))
                .collect(),
        );
        RecordBatch::try_from_iter([("system", system), ("prompt", prompt), ("caption", caption)])
            .unwrap()
    })
}

/// Outputs of 8-bit-key dictionary columns are written with 32-bit keys:
/// a row group gathered from several input row groups (de-duplication), or
/// edited values (prompt-dedup), hold more distinct values than 8 bits
/// index. Before, the first wrote a file neither pyarrow nor regime reads
/// back, and the second stopped with a key overflow.
#[test]
fn eight_bit_dictionary_keys_are_written_wide_enough() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("int8.parquet");
    let corpus = int8_corpus();
    write_parquet(&input, &corpus, 200);
    let captions: Vec<_> = corpus.iter().flat_map(|b| texts(b.column(2))).collect();
    let fields = dir.path().join("fields.toml");
    std::fs::write(
        &fields,
        "[columns]\nprompt = \"user\"\nsystem = \"system\"\ncaption = \"caption\"\n",
    )
    .unwrap();
    let wide = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    for command in [&["dedup", "exact"][..], &["prompt-dedup"]] {
        let out = dir.path().join(command.join("-"));
        run_expect(
            regime()
                .args(command)
                .arg(&input)
                .arg("--fields")
                .arg(&fields)
                .arg("--out")
                .arg(&out),
            0,
        );
        let output = read_parquet(&out.join("part-00000.parquet"));
        assert_eq!(output.num_rows(), 400, "{command:?}");
        assert_eq!(output.column(0).data_type(), &wide, "{command:?}");
        assert_eq!(output.column(2).data_type(), &wide, "{command:?}");
        assert_eq!(texts(output.column(2)), captions, "{command:?}");
        if command == ["prompt-dedup"] {
            // Each row's system prompt loses its own rule: 200 values a batch.
            for (i, system) in texts(output.column(0)).into_iter().enumerate() {
                let system = system.unwrap();
                let own = format!("Rule number {i} is");
                assert!(!system.contains(&own), "row {i}: {system}");
                assert_eq!(system.matches("Rule number").count(), 199, "row {i}");
            }
        }
    }
}
