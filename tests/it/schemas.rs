//! The JSON Schemas in `schemas/` are generated from the Rust types of the
//! files users rely on; these tests fail when a schema drifts from its type.
//! Regenerate with `REGIME_UPDATE_SCHEMAS=1 cargo test --test it schemas`.

use std::path::PathBuf;

fn check(name: &str, schema: &schemars::Schema) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let want = format!(
        "{}\n",
        serde_json::to_string_pretty(schema).expect("schemas serialise")
    );
    if std::env::var_os("REGIME_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &want).expect("schemas/ is writable");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date: run REGIME_UPDATE_SCHEMAS=1 cargo test --test it schemas",
        path.display()
    );
}

#[test]
fn manifest_schema_is_in_sync() {
    check(
        "manifest.schema.json",
        &schemars::schema_for!(regime_corpus::Manifest),
    );
}

#[test]
fn condition_c_report_schema_is_in_sync() {
    check(
        "condition-c-report.schema.json",
        &schemars::schema_for!(regime_conditions::RepeatReport),
    );
}

#[test]
fn profile_report_schema_is_in_sync() {
    check(
        "profile-report.schema.json",
        &schemars::schema_for!(regime_stats::ProfileReport),
    );
}

#[test]
fn profile_compare_schema_is_in_sync() {
    check(
        "profile-compare.schema.json",
        &schemars::schema_for!(regime_stats::ProfileComparison),
    );
}

#[test]
fn dedup_report_schema_is_in_sync() {
    check(
        "dedup-report.schema.json",
        &schemars::schema_for!(regime_dedup::DedupReport),
    );
}

#[test]
fn recipe_schema_is_in_sync() {
    // The recipe types live in the binary, which prints their schema.
    let output =
        crate::common::run_expect(crate::common::regime().args(["run", "--print-schema"]), 0);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON schema");
    check(
        "recipe.schema.json",
        &schemars::Schema::try_from(value).expect("a schema object"),
    );
}

#[test]
fn spectral_summary_schema_is_in_sync() {
    check(
        "spectral-summary.schema.json",
        &schemars::schema_for!(regime_spectral::SummaryFile),
    );
}

#[test]
fn spectral_compare_schema_is_in_sync() {
    check(
        "spectral-compare.schema.json",
        &schemars::schema_for!(regime_spectral::CompareFile),
    );
}

/// Whether `value` conforms to `schema` for the keywords schemars emits
/// (`$ref`, `type`, `properties`, `required`, `items`, `prefixItems`,
/// `anyOf`/`oneOf`, `enum`, `const`); `Err` names the first JSON path that
/// does not. Enough to catch a file that is not what its schema says (a NaN
/// written as `null` where the schema promises a number, a missing field).
fn conforms(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value;
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

fn read_json(path: &std::path::Path) -> serde_json::Value {
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
    crate::common::run_expect(
        crate::common::regime()
            .arg("spectral")
            .arg(&minilm)
            .arg("--base")
            .arg(&minilm)
            .args(["--include", r"layer\.0\.|pooler", "--fix-fingers", "--out"])
            .arg(&out),
        0,
    );
    let schema =
        serde_json::to_value(schemars::schema_for!(regime_spectral::SummaryFile)).expect("schema");
    let summary = read_json(&out.join("summary.json"));
    assert!(summary["alignment"].is_object() && summary["skipped"].is_array());
    conforms(&schema, &schema, &summary, "summary.json").unwrap_or_else(|e| panic!("{e}"));

    let cmp = dir.path().join("cmp");
    crate::common::run_expect(
        crate::common::regime()
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
    let schema =
        serde_json::to_value(schemars::schema_for!(regime_spectral::CompareFile)).expect("schema");
    let compare = read_json(&cmp.join("compare.json"));
    assert!(compare["trajectory"].is_object());
    conforms(&schema, &schema, &compare, "compare.json").unwrap_or_else(|e| panic!("{e}"));
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
    let schema =
        serde_json::to_value(schemars::schema_for!(regime_dedup::DedupReport)).expect("schema");
    for method in ["exact", "near"] {
        let out = dir.path().join(method);
        crate::common::run_expect(
            crate::common::regime()
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
        conforms(&schema, &schema, &report, "report.json").unwrap_or_else(|e| panic!("{e}"));
    }
}
