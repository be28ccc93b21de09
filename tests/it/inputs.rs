//! Reading corpora as several files, directories, globs, JSONL and Arrow IPC.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, UInt64Type};

use crate::common::{parquet_files, read_parquet, regime, run_expect, sample, write_parquet};

/// Splits the sample into `n` shard files under `dir`.
fn shards(dir: &Path, n: usize) -> Vec<RecordBatch> {
    let all = read_parquet(&sample());
    let per = all.num_rows().div_ceil(n);
    (0..n)
        .map(|i| {
            let part = all.slice(i * per, per.min(all.num_rows() - i * per));
            write_parquet(
                &dir.join(format!("train-{i:02}.parquet")),
                std::slice::from_ref(&part),
                700,
            );
            part
        })
        .collect()
}

#[test]
fn directory_and_glob_read_as_one_corpus_with_shard_row_ids() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    shards(&data, 3);
    let output = run_expect(regime().arg("inspect").arg(&data).arg("--json"), 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["rows"], 5000);
    assert_eq!(json["files"].as_array().unwrap().len(), 3);

    let pattern = data.join("train-*.parquet");
    let out = dir.path().join("c");
    run_expect(
        regime()
            .args(["condition", "c", "--split", "0.2", "--seed", "1"])
            .arg(&pattern)
            .arg("--out")
            .arg(&out),
        0,
    );
    let result = read_parquet(&parquet_files(&out)[0]);
    let ids = result
        .column_by_name("regime_source_row")
        .unwrap()
        .as_primitive::<UInt64Type>();
    // D2 starts at global row 1000 (file 0, row 1000); the first row of the
    // second file (rows 1667.. in input order) has id (1 << 40) | 0.
    assert_eq!(ids.value(1000), 1000);
    assert_eq!(ids.value(1667), 1 << 40);
    assert_eq!(ids.value(4999), (2 << 40) + 1665);
}

#[test]
fn files_with_different_schemas_are_named() {
    let dir = tempfile::tempdir().unwrap();
    shards(dir.path(), 2);
    let other = read_parquet(&sample()).project(&[0, 3]).unwrap();
    write_parquet(&dir.path().join("train-99.parquet"), &[other], 1000);
    let output = run_expect(regime().arg("inspect").arg(dir.path()), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("train-99.parquet: schema differs from"),
        "{stderr}"
    );
}

fn jsonl_lines() -> Vec<String> {
    (0..50)
        .map(|i| {
            serde_json::json!({
                "id": format!("s{i}"),
                "messages": [
                    {"role": "system", "content": "You are terse."},
                    {"role": "user", "content": format!("Question {i}?")},
                    {"role": "assistant", "content": format!("Answer {i}.")}
                ]
            })
            .to_string()
        })
        .collect()
}

#[test]
fn jsonl_plain_gzip_and_zstd_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let text = jsonl_lines().join("\n") + "\n";
    let plain = dir.path().join("chat.jsonl");
    std::fs::write(&plain, &text).unwrap();
    let gz = dir.path().join("chat.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    let zst = dir.path().join("chat.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();

    for path in [&plain, &gz, &zst] {
        let output = run_expect(regime().arg("inspect").arg(path).arg("--json"), 0);
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["rows"], 50, "{}", path.display());
        assert_eq!(json["profile"]["name"], "messages");
        assert_eq!(json["roles"]["system"]["fields"], 50);
        assert_eq!(json["roles"]["user"]["fields"], 50);
    }
    condition_c_keeps_every_row(&zst, &dir.path().join("c"));
}

/// Runs condition C over the 50 rows of [`jsonl_lines`] read from `input`
/// and checks the output holds them, in order.
fn condition_c_keeps_every_row(input: &Path, out: &Path) {
    run_expect(
        regime()
            .args(["condition", "c", "-q", "--overwrite", "--repeat", "5"])
            .arg(input)
            .arg("--out")
            .arg(out),
        0,
    );
    let result = read_parquet(&parquet_files(out)[0]);
    assert_eq!(result.num_rows(), 50);
    let ids = result.column_by_name("id").unwrap().as_string::<i32>();
    assert_eq!(ids.value(25), "s25");
}

/// A `.json` file holding one array of records (LLaVA's
/// `llava_v1_5_mix665k.json`, pretty-printed) reads as its elements, plain
/// or compressed, the same corpus as the JSON Lines form; a bad element is
/// named by its position in the array.
#[test]
fn json_array_files_read_as_their_elements() {
    let dir = tempfile::tempdir().unwrap();
    let lines = jsonl_lines();
    let jsonl = dir.path().join("chat.jsonl");
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    let mut values: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let array = dir.path().join("chat.json");
    std::fs::write(&array, serde_json::to_string_pretty(&values).unwrap()).unwrap();
    let zst = dir.path().join("chat.json.zst");
    std::fs::write(
        &zst,
        zstd::encode_all(serde_json::to_string(&values).unwrap().as_bytes(), 3).unwrap(),
    )
    .unwrap();

    let audit = |path: &Path| {
        run_expect(
            regime()
                .args(["audit-prompts", "--format", "json", "--min-chars", "4"])
                .arg(path),
            0,
        )
        .stdout
    };
    let expected = audit(&jsonl);
    let json: serde_json::Value = serde_json::from_slice(&expected).unwrap();
    assert_eq!(json["samples"], 50);
    for path in [&array, &zst] {
        assert_eq!(audit(path), expected, "{}", path.display());
        condition_c_keeps_every_row(path, &dir.path().join("c"));
    }

    values[30] = serde_json::json!(5);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_string_pretty(&values).unwrap()).unwrap();
    let output = run_expect(regime().arg("audit-prompts").arg(&bad), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.json: array element 31: not a JSON object"),
        "{stderr}"
    );

    // A cut-off array is an error, not a shorter corpus: nothing written.
    let whole = format!("[{}]", lines[..40].join(",\n"));
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &whole[..whole.len() - 1]).unwrap();
    let out = dir.path().join("cut-out");
    let output = run_expect(
        regime()
            .args(["dedup", "exact"])
            .arg(&cut)
            .arg("--out")
            .arg(&out),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "cut.json: array element 40: the file ends before the array's closing `]` (cut off?)"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!out.exists());
}

/// The data part `regime dedup exact INPUT --out OUT` writes.
fn exact_dedup_part(input: &Path, out: &Path) -> std::path::PathBuf {
    run_expect(
        regime()
            .args(["dedup", "exact", "-q"])
            .arg(input)
            .arg("--out")
            .arg(out),
        0,
    );
    parquet_files(out)
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("part-"))
        })
        .unwrap()
}

/// Columns, and the fields of nested objects, keep the order the file
/// writes them in (as pyarrow and pandas read it), not arrow inference's
/// alphabetical one; a key first seen in a later record comes last.
#[test]
fn jsonl_columns_keep_the_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("llava.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"id": "a", "image": "a.png", "conversations": [{"value": "<image>\nWhat?", "from": "human"}, {"from": "gpt", "value": "A."}], "meta": {"z": 1, "a": "x"}}"#,
            "\n",
            r#"{"meta": {"a": "y", "z": 2}, "id": "b", "image": "b.png", "conversations": [{"from": "human", "value": "Why?"}], "extra": true}"#,
            "\n",
        ),
    )
    .unwrap();
    let part = exact_dedup_part(&path, &dir.path().join("d"));
    let schema = read_parquet(&part).schema();
    let names = |fields: &arrow::datatypes::Fields| -> Vec<String> {
        fields.iter().map(|f| f.name().clone()).collect()
    };
    assert_eq!(
        names(schema.fields()),
        ["id", "image", "conversations", "meta", "extra"]
    );
    let DataType::List(turn) = schema.field(2).data_type() else {
        panic!("conversations: {schema:?}")
    };
    let DataType::Struct(turn) = turn.data_type() else {
        panic!("turns: {schema:?}")
    };
    assert_eq!(names(turn), ["value", "from"]);
    let DataType::Struct(meta) = schema.field(3).data_type() else {
        panic!("meta: {schema:?}")
    };
    assert_eq!(names(meta), ["z", "a"]);
}

/// A field inferred as text because its records mix strings with numbers
/// and booleans reads those as their JSON text, as stored, wherever they
/// come (before or after the records inference reads).
#[test]
fn jsonl_numbers_in_a_text_field_read_as_their_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.jsonl");
    let mut lines = vec![
        r#"{"id": "a1", "caption": "a red square"}"#.to_owned(),
        r#"{"id": 5, "caption": "a blue circle"}"#.to_owned(),
    ];
    lines.extend((0..10_000).map(|i| format!(r#"{{"id": "b{i}", "caption": "shape {i}"}}"#)));
    lines.push(r#"{"id": 3.50, "caption": 7}"#.to_owned());
    lines.push(r#"{"id": true, "caption": "a green dot"}"#.to_owned());
    std::fs::write(&path, lines.join("\n")).unwrap();
    let part = exact_dedup_part(&path, &dir.path().join("d"));
    let rows = read_parquet(&part);
    assert_eq!(rows.num_rows(), 10_004);
    let text = |name: &str, row: usize| {
        rows.column_by_name(name)
            .unwrap()
            .as_string::<i32>()
            .value(row)
            .to_owned()
    };
    assert_eq!(text("id", 1), "5");
    assert_eq!(text("id", 10_002), "3.50");
    assert_eq!(text("caption", 10_002), "7");
    assert_eq!(text("id", 10_003), "true");
}

/// A field holding scalars in some records and (as many) lists of them in
/// others reads as lists, a scalar as a list of one, at any depth;
/// `inspect` names it. A string where other records hold an object is a
/// bad record: its line is named.
#[test]
fn jsonl_fields_of_mixed_types_read_as_one_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.jsonl");
    let lines = [
        r#"{"id": "a", "caption": "a red square", "meta": {"tags": "shape", "src": {"w": 64}}}"#,
        r#"{"id": "b", "caption": "a blue circle", "meta": {"tags": ["shape", 2], "src": {"w": 32}}}"#,
        r#"{"id": "c", "caption": "a green dot", "meta": {"tags": null, "src": null}}"#,
        r#"{"id": "d", "caption": "a grey line", "meta": {"tags": ["line"], "src": {"w": 8}}}"#,
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let inspect = run_expect(regime().arg("inspect").arg(&path).arg("--json"), 0);
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        inspect["files"][0]["mixed_fields"],
        serde_json::json!([{"path": "meta.tags", "read_as": "one_item_list"}])
    );
    let rows = read_parquet(&exact_dedup_part(&path, &dir.path().join("d")));
    let meta = rows.column_by_name("meta").unwrap().as_struct();
    let tags = meta.column_by_name("tags").unwrap().as_list::<i32>();
    let tag_list = |row: usize| -> Vec<String> {
        let list = tags.value(row);
        list.as_string::<i32>()
            .iter()
            .map(|t| t.unwrap().to_owned())
            .collect()
    };
    assert_eq!(tag_list(0), ["shape"]);
    assert_eq!(tag_list(1), ["shape", "2"]);
    assert!(tags.is_null(2));
    assert_eq!(tag_list(3), ["line"]);

    let bad = dir.path().join("bad.jsonl");
    let mut bad_lines = lines.to_vec();
    bad_lines.insert(
        2,
        r#"{"id": "x", "caption": "odd", "meta": {"src": "n/a"}}"#,
    );
    std::fs::write(&bad, bad_lines.join("\n") + "\n").unwrap();
    let output = run_expect(regime().arg("audit-prompts").arg(&bad), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.jsonl: line 3: "), "{stderr}");
}

/// The JSON inputs share one schema, inferred from the first records of
/// each: a field only a later file holds is a column (null in the rows of
/// files without it), and a field of one file's strings and another's text
/// parts reads as parts in both.
#[test]
fn jsonl_fields_of_later_files_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(
        &a,
        r#"{"id": "a0", "messages": [{"role": "user", "content": "what shape is it?"}]}"#,
    )
    .unwrap();
    std::fs::write(
        &b,
        concat!(
            r#"{"id": "b0", "messages": [{"role": "user", "content": [{"type": "text", "text": "and its colour?"}]}], "tools": [{"type": "function", "function": {"name": "f"}}]}"#,
            "\n",
        ),
    )
    .unwrap();
    for inputs in [[&a, &b], [&b, &a]] {
        let out = dir.path().join("pd");
        run_expect(
            regime()
                .args(["prompt-dedup", "-q", "--overwrite"])
                .args(inputs)
                .arg("--out")
                .arg(&out),
            0,
        );
        let rows = read_parquet(&out.join("part-00000.parquet"));
        let schema = rows.schema();
        let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["id", "messages", "tools"]);
        let tools = rows.column_by_name("tools").unwrap().as_list::<i32>();
        let from_b = usize::from(inputs[0] == &a);
        assert!(tools.is_null(1 - from_b));
        assert_eq!(tools.value(from_b).len(), 1);
        let turns = rows.column_by_name("messages").unwrap().as_list::<i32>();
        for row in 0..2 {
            let content = turns.value(row);
            let content = content.as_struct().column_by_name("content").unwrap();
            assert!(
                matches!(content.data_type(), DataType::List(_)),
                "{content:?}"
            );
        }
    }
}

/// A field first met after the records the columns are inferred from is
/// never dropped: the run stops naming it, nothing is written, and
/// `--infer-records all` (on the command line or in a recipe's `[input]`)
/// reads it.
#[test]
fn jsonl_field_past_the_inferred_records_is_named_or_read_with_all() {
    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("late.jsonl");
    let mut lines: Vec<String> = (0..10_000)
        .map(|i| format!(r#"{{"id": "r{i}", "caption": "shape {i}"}}"#))
        .collect();
    lines.push(r#"{"id": "r10000", "caption": "a dot", "meta": {"k": 1}}"#.into());
    std::fs::write(&late, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("late-out");
    let output = run_expect(
        regime()
            .args(["dedup", "exact"])
            .arg(&late)
            .arg("--out")
            .arg(&out),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "late.jsonl: line 10001: field `meta` is not among the columns inferred from \
             the first 10,000 records of each JSON input (--infer-records all"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{stderr}"
    );
    assert!(!out.exists());
    run_expect(
        regime()
            .args(["dedup", "exact", "-q", "--infer-records", "all"])
            .arg(&late)
            .arg("--out")
            .arg(&out),
        0,
    );
    // A recipe's `[input] infer-records` reaches every corpus stage.
    let recipe = dir.path().join("late.toml");
    std::fs::write(
        &recipe,
        format!(
            "out = {:?}\n[input]\npaths = [\"late.jsonl\"]\ninfer-records = \"all\"\n\n\
             [[stage]]\nrun = \"dedup exact\"\n",
            dir.path().join("recipe-out").to_str().unwrap()
        ),
    )
    .unwrap();
    run_expect(regime().args(["run", "-q"]).arg(&recipe), 0);
    for part in [&out, &dir.path().join("recipe-out/dedup-exact")] {
        let rows = read_parquet(&part.join("part-00000.parquet"));
        assert_eq!(rows.num_rows(), 10_001);
        let meta = rows.column_by_name("meta").unwrap().as_struct();
        let k = meta.column_by_name("k").unwrap();
        assert!(meta.is_null(0));
        assert_eq!(
            k.as_primitive::<arrow::datatypes::Int64Type>()
                .value(10_000),
            1
        );
    }
}

/// OpenAI function-calling data: `tools` holds JSON Schemas no one column
/// type fits (a `default` that is a string in one tool, an object in
/// another). `--json-text tools` reads each value as its JSON text, as
/// stored; without it the bad line is named with a hint.
#[test]
fn json_text_reads_a_field_of_any_shape_as_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tools.jsonl");
    let tool = |default: &str| {
        format!(
            r#"[{{"type": "function", "function": {{"name": "f", "parameters": {{"type": "object", "properties": {{"x": {{"type": "string", "default": {default}}}}}}}}}}}]"#
        )
    };
    let tools = [tool(r#""d""#), tool(r#"{"k": 1}"#), tool("3")];
    let lines: Vec<String> = tools
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"{{"messages": [{{"role": "user", "content": "call f {i}"}}, {{"role": "assistant", "content": null, "tool_calls": [{{"id": "c{i}", "type": "function", "function": {{"name": "f", "arguments": "{{}}"}}}}]}}], "tools": {t}}}"#
            )
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let output = run_expect(regime().arg("inspect").arg(&path), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Named by the field whose values clash, with the option that reads it.
    let field = "tools[].function.parameters.properties.x.default";
    assert!(
        stderr.contains(&format!(
            "tools.jsonl: line 2: field `{field}` holds an object here and a string in an \
             earlier record, which no one column type holds (--json-text {field} reads"
        )),
        "{stderr}"
    );
    run_expect(
        regime()
            .args(["inspect", "-q", "--json-text", field])
            .arg(&path),
        0,
    );

    let text = ["--json-text", "tools,messages[].tool_calls"];
    let inspect = run_expect(
        regime().arg("inspect").arg(&path).arg("--json").args(text),
        0,
    );
    let inspect: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        inspect["files"][0]["mixed_fields"],
        serde_json::json!([
            {"path": "messages[].tool_calls", "read_as": "json_text"},
            {"path": "tools", "read_as": "json_text"}
        ])
    );
    let out = dir.path().join("d");
    run_expect(
        regime()
            .args(["dedup", "exact", "-q"])
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .args(text),
        0,
    );
    let part = out.join("part-00000.parquet");
    let rows = read_parquet(&part);
    let stored = rows.column_by_name("tools").unwrap().as_string::<i32>();
    // Compact JSON text: the same value, whitespace between tokens gone.
    for (row, t) in tools.iter().enumerate() {
        let want = t.replace(": ", ":").replace(", ", ",");
        assert_eq!(stored.value(row), want);
        let value: serde_json::Value = serde_json::from_str(stored.value(row)).unwrap();
        assert_eq!(value, serde_json::from_str::<serde_json::Value>(t).unwrap());
    }
    let messages = rows.column_by_name("messages").unwrap().as_list::<i32>();
    let calls = messages.value(0);
    let calls = calls.as_struct().column_by_name("tool_calls").unwrap();
    assert!(calls.is_null(0));
    assert_eq!(
        calls.as_string::<i32>().value(1),
        r#"[{"id":"c0","type":"function","function":{"name":"f","arguments":"{}"}}]"#
    );
    // regime's output holds them as text: read with the raw file, as one
    // corpus, under the same option.
    run_expect(regime().arg("inspect").arg(&path).arg(&part).args(text), 0);

    for (args, field, says) in [
        (
            vec![path.clone()],
            "messages.nope",
            "cannot read `messages.nope` as JSON text: no record holds it among the first 10,000 records of each JSON input",
        ),
        (
            vec![sample()],
            "nope",
            "cannot read `nope` as JSON text: the file has no such column",
        ),
        (vec![sample()], "conversations", "its column is List("),
    ] {
        let output = run_expect(
            regime()
                .arg("inspect")
                .args(&args)
                .args(["--json-text", field]),
            2,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// A top-level field named with `--json-text` that the first 10,000
/// records lack is read where it comes; a field under one read another
/// way (strings as text parts) is refused.
#[test]
fn json_text_field_may_come_late_but_not_under_a_mixed_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.jsonl");
    let lines: Vec<String> = (0..10_050)
        .map(|i| {
            let tools = if i >= 10_010 {
                r#", "tools": [{"a": {"b": 1}}]"#
            } else {
                ""
            };
            format!(r#"{{"caption": "c{i}"{tools}}}"#)
        })
        .collect();
    let body = lines.join("\n") + "\n";
    std::fs::write(&path, body).unwrap();
    let out = dir.path().join("d");
    run_expect(
        regime()
            .args(["dedup", "exact", "-q"])
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .args(["--json-text", "tools"]),
        0,
    );
    let rows = read_parquet(&out.join("part-00000.parquet"));
    let tools = rows.column_by_name("tools").unwrap().as_string::<i32>();
    assert!(tools.is_null(0));
    assert_eq!(tools.value(10_049), r#"[{"a":{"b":1}}]"#);

    let parts = dir.path().join("parts.jsonl");
    std::fs::write(
        &parts,
        concat!(
            r#"{"messages": [{"role": "user", "content": "hi"}]}"#,
            "\n",
            r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "yo"}]}]}"#,
            "\n"
        ),
    )
    .unwrap();
    // Naming a text field of the layout is allowed, with a warning.
    let shown = run_expect(
        regime()
            .arg("inspect")
            .arg(&path)
            .args(["--json-text", "caption,tools"]),
        0,
    );
    let stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(
        stderr.contains("--json-text caption: a text field of this layout"),
        "{stderr}"
    );
    let output = run_expect(
        regime()
            .arg("inspect")
            .arg(&parts)
            .args(["--json-text", "messages.content.text"]),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "it lies under `messages.content`, whose values are strings read as one text part"
        ),
        "{stderr}"
    );
}

/// Characters at or above U+20000 written as escape pairs (as Python's
/// `json.dumps` writes every non-ASCII character) read as themselves:
/// arrow-json 60.1 alone would read `\ud86e\ude4f` as U+1BA4F. Raw
/// control characters in strings read as themselves too.
#[test]
fn jsonl_escaped_astral_characters_read_as_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zh.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"id": "a", "caption": "\ud86e\ude4f\u4e2d \ud83d\ude00 \ud840\udc00"}"#,
            "\n",
            "{\"id\": \"b\", \"caption\": \"a raw\ttab\"}\n",
        ),
    )
    .unwrap();
    let rows = read_parquet(&exact_dedup_part(&path, &dir.path().join("d")));
    let caption = rows.column_by_name("caption").unwrap().as_string::<i32>();
    assert_eq!(caption.value(0), "\u{2BA4F}\u{4E2D} \u{1F600} \u{20000}");
    // A raw tab inside a string (not valid JSON, which arrow's decoder
    // reads but its schema inference does not) reads as a tab.
    assert_eq!(caption.value(1), "a raw\ttab");
}

#[test]
fn malformed_jsonl_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    let mut lines = jsonl_lines();
    lines[30] = "{\"id\": \"s30\", \"messages\": [".into();
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let output = run_expect(
        regime()
            .args(["condition", "c"])
            .arg(&bad)
            .arg("--out")
            .arg(dir.path().join("out")),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.jsonl: line 31: "), "{stderr}");
    assert!(!dir.path().join("out").exists());

    // An object where the other records hold a list of turns: a bad
    // record, not a field of mixed types; its line is named. Blank lines
    // count.
    let mut lines = jsonl_lines();
    lines.insert(10, String::new());
    let last = lines.len();
    lines.push("{\"id\": \"s99\", \"messages\": {\"role\": \"user\"}}".into());
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let output = run_expect(regime().args(["audit-prompts"]).arg(&bad), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("bad.jsonl: line {}: ", last + 1)),
        "{stderr}"
    );
}

/// Writes `batches` to `path` in the Arrow IPC stream format (what
/// `datasets`' `save_to_disk` writes) or the file format (Feather v2).
/// `audit-prompts --format json` of `path` (within the default limits).
fn audit_json(path: &Path) -> Vec<u8> {
    run_expect(
        regime()
            .args(["audit-prompts", "--format", "json"])
            .arg(path),
        0,
    )
    .stdout
}

fn write_ipc(path: &Path, batches: &[RecordBatch], file_format: bool) {
    let file = std::fs::File::create(path).unwrap();
    let schema = batches[0].schema();
    if file_format {
        let mut writer = arrow::ipc::writer::FileWriter::try_new(file, &schema).unwrap();
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.finish().unwrap();
    } else {
        let mut writer = arrow::ipc::writer::StreamWriter::try_new(file, &schema).unwrap();
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.finish().unwrap();
    }
}

/// JSON numbers are read exactly or the run stops naming them: a fraction
/// in a column inferred as integers (first met past the records inference
/// read), an integer past 2⁵³ in a float column. Never rounded.
#[test]
fn jsonl_numbers_are_read_exactly_or_named() {
    let dir = tempfile::tempdir().unwrap();
    let fields = dir.path().join("fields.toml");
    std::fs::write(&fields, "[columns]\nprompt = \"user\"\n").unwrap();
    let runs = std::cell::Cell::new(0);
    let run = |input: &Path, extra: &[&str], code: i32| {
        runs.set(runs.get() + 1);
        let out = dir.path().join(format!("out-{}", runs.get()));
        let output = run_expect(
            regime()
                .args(["dedup", "exact", "-q", "--fields"])
                .arg(&fields)
                .arg(input)
                .args(extra)
                .arg("--out")
                .arg(&out),
            code,
        );
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let rows = (code == 0).then(|| read_parquet(&out.join("part-00000.parquet")));
        assert_eq!(out.exists(), code == 0, "{stderr}");
        (stderr, rows)
    };
    let late = dir.path().join("late.jsonl");
    std::fs::write(
        &late,
        concat!(
            r#"{"prompt": "a", "x": 1, "m": {"w": [1]}}"#,
            "\n",
            r#"{"prompt": "b", "x": 2.0, "m": {"w": [2]}}"#,
            "\n",
            r#"{"prompt": "c", "x": 3, "m": {"w": [3, 4.5]}}"#,
            "\n",
        ),
    )
    .unwrap();
    let (stderr, _) = run(&late, &["--infer-records", "2"], 2);
    assert!(
        stderr.contains(
            "late.jsonl: line 3: field `m.w[]` holds 4.5, but its column, inferred from the \
             first 2 records of each JSON input, holds integers (--infer-records all"
        ),
        "{stderr}"
    );
    let (_, rows) = run(&late, &["--infer-records", "all"], 0);
    let rows = rows.unwrap();
    let x = rows.column_by_name("x").unwrap();
    assert_eq!(x.data_type(), &DataType::Float64);
    let w = rows
        .column_by_name("m")
        .unwrap()
        .as_struct()
        .column(0)
        .as_list::<i32>();
    let last = w.value(2);
    let weight = last
        .as_primitive::<arrow::datatypes::Float64Type>()
        .value(1);
    assert_eq!(weight.to_bits(), 4.5f64.to_bits());
    // A whole number written as a float is the integer it equals.
    let whole = dir.path().join("whole.jsonl");
    let text = std::fs::read_to_string(&late).unwrap();
    std::fs::write(&whole, text.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
    let (_, rows) = run(&whole, &["--infer-records", "1"], 0);
    let rows = rows.unwrap();
    let x = rows
        .column_by_name("x")
        .unwrap()
        .as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(x.values(), &[1, 2]);

    let big = dir.path().join("big.jsonl");
    std::fs::write(
        &big,
        concat!(
            r#"{"prompt": "a", "id": 1.5}"#,
            "\n",
            r#"{"prompt": "b", "id": 9007199254740993}"#,
            "\n",
        ),
    )
    .unwrap();
    let (stderr, _) = run(&big, &[], 2);
    assert!(
        stderr.contains(
            "big.jsonl: line 2: field `id` holds 9007199254740993, which its float column \
             cannot hold exactly (--json-text id reads the field as its JSON text)"
        ),
        "{stderr}"
    );
    let (_, rows) = run(&big, &["--json-text", "id"], 0);
    let id = rows.unwrap();
    let id = id.column_by_name("id").unwrap().as_string::<i32>();
    assert_eq!(id.value(1), "9007199254740993");
}

/// A JSON Lines file starting with a UTF-8 byte-order mark (as Windows
/// tools write them) reads as the same file without it.
#[test]
fn jsonl_with_a_byte_order_mark_reads_as_without() {
    let dir = tempfile::tempdir().unwrap();
    let lines = concat!(
        r#"{"conversations": [{"from": "human", "value": "<image>\nWhat shape is in the image?"}]}"#,
        "\n",
        r#"{"conversations": [{"from": "human", "value": "What shape is in the image? Answer briefly."}]}"#,
        "\n",
    );
    let (plain, marked) = (dir.path().join("plain.jsonl"), dir.path().join("bom.jsonl"));
    std::fs::write(&plain, lines).unwrap();
    std::fs::write(&marked, format!("\u{feff}{lines}")).unwrap();
    assert_eq!(audit_json(&marked), audit_json(&plain));
}

/// Arrow types parquet has no logical type for are written as pyarrow
/// writes them, so every parquet reader sees dates and times: `date64` as
/// `date32`, `timestamp[s]` (zone kept) and `time32[s]` in milliseconds,
/// nested ones too.
#[test]
fn columns_parquet_has_no_type_for_are_written_as_pyarrow_writes_them() {
    use arrow::array::{
        ArrayRef, Date64Array, StructArray, Time32SecondArray, TimestampSecondArray,
    };
    use arrow::datatypes::{Date32Type, Time32MillisecondType, TimeUnit, TimestampMillisecondType};
    const DAY_MS: i64 = 86_400_000;

    let dir = tempfile::tempdir().unwrap();
    let n: i32 = 100;
    let rows = read_parquet(&sample()).slice(0, 100);
    let days = Date64Array::from_iter_values((0..i64::from(n)).map(|i| i * DAY_MS));
    let at = TimestampSecondArray::from_iter_values(0..i64::from(n)).with_timezone("+02:00");
    let clock = Time32SecondArray::from_iter_values((0..n).map(|i| i * 60));
    let meta = StructArray::from(vec![(
        Arc::new(Field::new("clock", clock.data_type().clone(), false)),
        Arc::new(clock) as ArrayRef,
    )]);
    let batch = with_columns(
        &rows,
        vec![
            ("day", Arc::new(days)),
            ("at", Arc::new(at)),
            ("meta", Arc::new(meta)),
        ],
    );
    let input = dir.path().join("dated.feather");
    write_ipc(&input, std::slice::from_ref(&batch), true);
    for command in [
        &["prompt-dedup"][..],
        &["dedup", "exact"],
        &["condition", "c"],
    ] {
        let out = dir.path().join(command.join("-"));
        run_expect(
            regime()
                .args(command)
                .arg("-q")
                .arg(&input)
                .arg("--out")
                .arg(&out),
            0,
        );
        let part = out.join("part-00000.parquet");
        let written = read_parquet(&part);
        let day = written
            .column_by_name("day")
            .unwrap()
            .as_primitive::<Date32Type>();
        let at = written.column_by_name("at").unwrap();
        assert_eq!(
            at.data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("+02:00".into()))
        );
        let at = at.as_primitive::<TimestampMillisecondType>();
        let meta = written.column_by_name("meta").unwrap().as_struct();
        let clock = meta.column(0).as_primitive::<Time32MillisecondType>();
        // Row i held day i, second i and minute i (rows may be reordered).
        for row in 0..written.num_rows() {
            let i = day.value(row);
            assert!((0..n).contains(&i));
            assert_eq!(at.value(row), i64::from(i) * 1000, "{command:?}");
            assert_eq!(clock.value(row), i * 60_000, "{command:?}");
        }
        // Stored with parquet's logical types, not as bare integers.
        let file = std::fs::File::open(&part).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        let schema = parquet::file::reader::FileReader::metadata(&reader)
            .file_metadata()
            .schema_descr_ptr();
        for column in schema.columns() {
            if ["day", "at", "clock"].contains(&column.name()) {
                assert!(column.logical_type_ref().is_some(), "{}", column.name());
            }
        }
    }
}

/// Arrow IPC inputs (a `datasets` `save_to_disk` directory, a Feather
/// file) read as the parquet they came from: the same audit; a stored
/// batch larger than the batch size is read in order; a directory skips
/// `datasets`' `cache-*.arrow` files; a stream cut off, even between two
/// batches, is an error (exit 2, nothing written).
#[test]
fn arrow_ipc_files_read_as_their_batches() {
    let dir = tempfile::tempdir().unwrap();
    let rows = read_parquet(&sample());
    let expected = audit_json(&sample());

    let saved = dir.path().join("saved");
    std::fs::create_dir(&saved).unwrap();
    let halves = [
        rows.slice(0, 2000),
        rows.slice(2000, rows.num_rows() - 2000),
    ];
    for (i, half) in halves.iter().enumerate() {
        let chunks: Vec<RecordBatch> = (0..half.num_rows())
            .step_by(1000)
            .map(|at| half.slice(at, 1000.min(half.num_rows() - at)))
            .collect();
        write_ipc(
            &saved.join(format!("data-0000{i}-of-00002.arrow")),
            &chunks,
            false,
        );
    }
    std::fs::write(saved.join("dataset_info.json"), "{}").unwrap();
    // A `map` cache: rows that are not the dataset's.
    write_ipc(
        &saved.join("cache-0123abcd.arrow"),
        &[rows.slice(0, 10)],
        false,
    );
    assert_eq!(audit_json(&saved), expected);

    assert_eq!(
        audit_json(&saved.join("data-00000-of-00002.arrow")),
        audit_json(&saved.join("data-00000-of-00002.arrow"))
    );

    // One stored batch of 10,000 rows, more than the 8,192 read at once.
    let twice = arrow::compute::concat_batches(&rows.schema(), [&rows, &rows]).unwrap();
    let feather = dir.path().join("one-batch.feather");
    write_ipc(&feather, std::slice::from_ref(&twice), true);
    let output = run_expect(regime().arg("inspect").arg(&feather).arg("--json"), 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["rows"], 10_000);
    let out = dir.path().join("c");
    run_expect(
        regime()
            .args(["condition", "c", "-q", "--split", "0.2", "--seed", "1"])
            .arg(&feather)
            .arg("--out")
            .arg(&out),
        0,
    );
    let result = read_parquet(&parquet_files(&out)[0]);
    let source = result
        .column_by_name("regime_source_row")
        .unwrap()
        .as_primitive::<UInt64Type>();
    // D2 (rows 2,000 on) is copied in order, across the slice at 8,192.
    assert_eq!(
        source.values()[2000..],
        (2000..10_000).collect::<Vec<u64>>()
    );

    // A stream cut between two batches (its end-of-stream marker gone) is
    // an error, not a shorter corpus; nothing is written.
    let stream = std::fs::read(saved.join("data-00001-of-00002.arrow")).unwrap();
    let cut = dir.path().join("cut.arrow");
    std::fs::write(&cut, &stream[..stream.len() - 8]).unwrap();
    let out = dir.path().join("cut-out");
    let output = run_expect(
        regime()
            .args(["prompt-dedup", "-q"])
            .arg(&cut)
            .arg("--out")
            .arg(&out),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cut.arrow: not a readable Arrow IPC file: record batch at row 3000: ")
            && stderr.contains("without its end-of-stream message (cut off?)"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!out.exists());
}

/// A union column, which parquet cannot hold, is refused before anything
/// is written, naming the file and the column.
#[test]
fn a_column_parquet_cannot_hold_is_refused_before_any_work() {
    use arrow::array::ArrayRef;
    let dir = tempfile::tempdir().unwrap();
    let n: i32 = 100;
    let rows = read_parquet(&sample()).slice(0, 100);
    let union = arrow::array::UnionArray::try_new(
        arrow::datatypes::UnionFields::try_new(
            [0, 1],
            [
                Field::new("i", DataType::Int64, true),
                Field::new("s", DataType::Utf8, true),
            ],
        )
        .unwrap(),
        vec![0i8; 100].into(),
        None,
        vec![
            Arc::new(arrow::array::Int64Array::from_iter_values(0..i64::from(n))) as ArrayRef,
            Arc::new(arrow::array::StringArray::from_iter_values(
                (0..n).map(|i| i.to_string()),
            )),
        ],
    )
    .unwrap();
    let with_union = with_columns(&rows, vec![("u", Arc::new(union))]);
    let input = dir.path().join("union.feather");
    write_ipc(&input, std::slice::from_ref(&with_union), true);
    for command in [
        &["prompt-dedup"][..],
        &["dedup", "near"],
        &["condition", "c"],
    ] {
        let out = dir.path().join("refused");
        let output = run_expect(regime().args(command).arg(&input).arg("--out").arg(&out), 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("union.feather: column `u` cannot be written as parquet"),
            "{command:?}: {stderr}"
        );
        assert!(!out.exists());
    }
}

/// `rows` with the `extra` columns after its own.
fn with_columns(rows: &RecordBatch, extra: Vec<(&str, arrow::array::ArrayRef)>) -> RecordBatch {
    let schema = rows.schema();
    let names = schema.fields().iter().map(|f| f.name().as_str());
    RecordBatch::try_from_iter(names.zip(rows.columns().iter().cloned()).chain(extra)).unwrap()
}

/// `rows` with the items of its list columns named `name`.
fn with_list_items_named(rows: &RecordBatch, name: &str) -> RecordBatch {
    let columns: Vec<_> = rows
        .columns()
        .iter()
        .map(|column| match column.data_type() {
            DataType::List(item) => arrow::compute::cast(
                column,
                &DataType::List(Arc::new(Field::clone(item).with_name(name))),
            )
            .unwrap(),
            _ => Arc::clone(column),
        })
        .collect();
    let fields: Vec<Field> = rows
        .schema()
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| Field::clone(f).with_data_type(c.data_type().clone()))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// A parquet corpus and a copy of it whose list items are named `item`
/// (as Arrow IPC and JSON inference name them; parquet's are `element`)
/// read together as one corpus.
#[test]
fn list_item_names_may_differ_between_files() {
    let dir = tempfile::tempdir().unwrap();
    let rows = read_parquet(&sample());
    let item_named = with_list_items_named(&rows, "item");
    assert_ne!(item_named.schema().fields(), rows.schema().fields());
    let renamed = dir.path().join("renamed.arrow");
    write_ipc(&renamed, &[item_named], false);
    let audit = |inputs: &[&Path]| -> serde_json::Value {
        let output = run_expect(
            regime()
                .args(["audit-prompts", "--format", "json"])
                .args(inputs),
            0,
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let one = audit(&[&sample()]);
    let both = audit(&[&sample(), &renamed]);
    assert_eq!(both["samples"], 10_000);
    assert_eq!(both["sample_dup_rate"], one["sample_dup_rate"]);
}

/// Files whose nested fields differ in nullability only (a list of
/// non-null items beside one of nullable items) read together under the
/// nullable type, every value as stored.
#[test]
fn nested_nullability_may_differ_between_files() {
    use arrow::array::{ArrayRef, ListArray};
    use arrow::datatypes::Int32Type;
    let dir = tempfile::tempdir().unwrap();
    let rows = read_parquet(&sample()).slice(0, 3);
    let tags = |nullable: bool, values: Vec<Option<i32>>| -> ArrayRef {
        let item = Arc::new(Field::new("element", DataType::Int32, nullable));
        let values = arrow::array::Int32Array::from(values);
        let offsets = arrow::buffer::OffsetBuffer::from_lengths([1, 1, 1]);
        Arc::new(ListArray::new(item, offsets, Arc::new(values), None))
    };
    let strict = dir.path().join("a.parquet");
    let loose = dir.path().join("b.parquet");
    write_parquet(
        &strict,
        &[with_columns(
            &rows,
            vec![("tags", tags(false, vec![Some(1), Some(2), Some(3)]))],
        )],
        100,
    );
    write_parquet(
        &loose,
        &[with_columns(
            &rows,
            vec![("tags", tags(true, vec![Some(4), None, Some(6)]))],
        )],
        100,
    );
    let out = dir.path().join("out");
    run_expect(
        regime()
            .args(["prompt-dedup", "-q"])
            .args([&strict, &loose])
            .arg("--out")
            .arg(&out),
        0,
    );
    let written = read_parquet(&out.join("part-00000.parquet"));
    let tags = written.column_by_name("tags").unwrap().as_list::<i32>();
    let DataType::List(item) = tags.data_type() else {
        panic!("{:?}", tags.data_type())
    };
    assert!(item.is_nullable());
    let values: Vec<Option<i32>> = tags.values().as_primitive::<Int32Type>().iter().collect();
    assert_eq!(values, [Some(1), Some(2), Some(3), Some(4), None, Some(6)]);
}
