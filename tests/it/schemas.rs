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
