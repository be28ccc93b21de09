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
