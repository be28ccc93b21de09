//! `regime inspect` on the real sample corpus.

use crate::common::{regime, run_expect, sample};

#[test]
fn sample_corpus_is_llava_with_5000_rows() {
    let output = run_expect(regime().arg("inspect").arg(sample()).arg("--json"), 0);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json on stdout");
    assert_eq!(json["rows"], 5000);
    assert_eq!(json["profile"]["name"], "llava");
    assert_eq!(json["profile"]["detected"], true);
    assert_eq!(json["roles"]["user"]["samples"], 5000);
    assert_eq!(json["roles"]["assistant"]["samples"], 5000);
    let first = &json["sample"]["fields"][0];
    assert_eq!(first["role"], "user");
    assert!(first["text"].as_str().unwrap().starts_with("<image>"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("profile: llava (detected)"), "{stderr}");
}

#[test]
fn human_output_names_profile_and_roles() {
    let output = run_expect(regime().arg("inspect").arg(sample()), 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("rows: 5000"), "{text}");
    assert!(text.contains("profile: llava (detected)"), "{text}");
    assert!(text.contains("[user] conversations[0]"), "{text}");
}

/// A JSON file knows its rows only once read: the total says them, the
/// file line does not guess.
#[test]
fn streamed_file_line_names_no_row_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("two.jsonl");
    std::fs::write(
        &path,
        "{\"caption\": \"a red square\"}\n{\"caption\": \"a blue circle\"}\n",
    )
    .expect("write");
    let output = run_expect(regime().arg("inspect").arg(&path), 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("two.jsonl  57 bytes, read as a stream"),
        "{text}"
    );
    assert!(text.contains("rows: 2"), "{text}");
    assert!(!text.contains("? rows"), "{text}");
}
