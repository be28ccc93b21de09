//! The JSON Schemas in `schemas/` are what `regime schema NAME` prints,
//! generated from the Rust types of the files users rely on; these tests
//! fail when a checked-in schema drifts from its type, and when a file regime
//! writes does not conform to its schema.
//! Regenerate with `REGIME_UPDATE_SCHEMAS=1 cargo test --test it schemas`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::common::{regime, run_expect};

fn schema_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(format!("{name}.schema.json"))
}

/// Every name `regime schema` lists prints the text of its file in
/// `schemas/`, and every file there has a name (none is left stale).
#[test]
fn every_schema_is_in_sync() {
    let list = run_expect(regime().arg("schema"), 0);
    let names: Vec<String> = String::from_utf8(list.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(names.len() >= 12, "{names:?}");
    let update = std::env::var_os("REGIME_UPDATE_SCHEMAS").is_some();
    for name in &names {
        let want = run_expect(regime().args(["schema", name]), 0).stdout;
        let path = schema_path(name);
        if update {
            std::fs::write(&path, &want).expect("schemas/ is writable");
        }
        let have = std::fs::read(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date: run REGIME_UPDATE_SCHEMAS=1 cargo test --test it schemas",
            path.display()
        );
    }
    let files: BTreeSet<String> = std::fs::read_dir(schema_path("x").parent().expect("dir"))
        .expect("schemas/")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".schema.json").map(str::to_owned)
        })
        .collect();
    assert_eq!(files, names.into_iter().collect::<BTreeSet<_>>());
    // `run --print-schema` is the recipe's.
    let recipe = run_expect(regime().args(["run", "--print-schema"]), 0).stdout;
    assert_eq!(
        recipe,
        std::fs::read(schema_path("recipe")).expect("recipe")
    );
}

/// Panics, naming the first JSON path, unless `value` (read from `file`)
/// conforms to `schemas/NAME.schema.json`.
pub(crate) fn assert_conforms(name: &str, value: &Value, file: &str) {
    let schema = read_json(&schema_path(name));
    conforms(&schema, &schema, value, file).unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// Whether `value` conforms to `schema` for the keywords schemars emits
/// (`$ref`, `type`, `properties`, `required`, `items`, `prefixItems`,
/// `anyOf`/`oneOf`, `enum`, `const`, `minimum`); `Err` names the first JSON path that
/// does not. Enough to catch a file that is not what its schema says (a NaN
/// written as `null` where the schema promises a number, a missing field).
fn conforms(root: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return conforms(root, &root["$defs"][name], value, at);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array)
            && !options.iter().any(|s| conforms(root, s, value, at).is_ok())
        {
            return Err(format!("{at}: matches no {key} option: {value}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} not in {options:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{at}: {value} is not {constant}"));
    }
    if let (Some(min), Some(v)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && v < min
    {
        return Err(format!("{at}: {v} < {min}"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let (Some(object), Some(properties)) = (
        value.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for key in object.keys() {
            if !properties.contains_key(key) {
                return Err(format!("{at}.{key}: not in the schema"));
            }
        }
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(key) {
                return Err(format!("{at}.{key}: required, missing"));
            }
        }
        for (key, sub) in properties {
            if let Some(v) = object.get(key) {
                conforms(root, sub, v, &format!("{at}.{key}"))?;
            }
        }
    }
    if let Some(items) = value.as_array() {
        let prefix = schema.get("prefixItems").and_then(Value::as_array);
        for (i, item) in items.iter().enumerate() {
            let sub = prefix
                .and_then(|p| p.get(i))
                .or_else(|| schema.get("items").filter(|s| s.is_object()));
            if let Some(sub) = sub {
                conforms(root, sub, item, &format!("{at}[{i}]"))?;
            }
        }
    }
    Ok(())
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("written")).expect("JSON")
}

/// summary.json and compare.json, as `regime spectral` and
/// `spectral-compare` write them (a base, skipped tensors, a failed fit, a
/// trajectory), conform to their schemas.
#[test]
fn spectral_outputs_conform_to_their_schemas() {
    let minilm = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/models/all-minilm-l6-v2/model.safetensors");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("one");
    run_expect(
        regime()
            .arg("spectral")
            .arg(&minilm)
            .arg("--base")
            .arg(&minilm)
            .args(["--include", r"layer\.0\.|pooler", "--fix-fingers", "--out"])
            .arg(&out),
        0,
    );
    let summary = read_json(&out.join("summary.json"));
    assert!(summary["alignment"].is_object() && summary["skipped"].is_array());
    assert_conforms("spectral-summary", &summary, "summary.json");

    let cmp = dir.path().join("cmp");
    run_expect(
        regime()
            .arg("spectral-compare")
            .arg(&minilm)
            .arg(&minilm)
            .args([
                "--include",
                r"layer\.1\.",
                "--labels",
                "A@1k",
                "A@2k",
                "--out",
            ])
            .arg(&cmp),
        0,
    );
    let compare = read_json(&cmp.join("compare.json"));
    assert!(compare["trajectory"].is_object());
    assert_conforms("spectral-compare", &compare, "compare.json");
}

/// report.json of `dedup exact` and `dedup near` (clusters, S-curve, an
/// oversized cluster) conforms to its schema.
#[test]
fn dedup_reports_conform_to_their_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.parquet");
    let prompts: Vec<String> = (0..60)
        .map(|i| format!("please describe the picture number {} in detail", i % 20))
        .collect();
    crate::dedup::write_corpus(&input, &prompts);
    let fields = crate::dedup::fields_file(dir.path());
    for method in ["exact", "near"] {
        let out = dir.path().join(method);
        run_expect(
            regime()
                .args(["-q", "dedup", method])
                .arg(&input)
                .args(["--profile", "columns", "--fields"])
                .arg(&fields)
                .args(["--on", "user", "--max-cluster", "2", "--out"])
                .arg(&out),
            0,
        );
        let report = read_json(&out.join("report.json"));
        assert_eq!(report["duplicates"], 40, "{report}");
        assert!(
            !report["oversized"].as_array().unwrap().is_empty(),
            "{report}"
        );
        assert_conforms("dedup-report", &report, "report.json");
    }
}
