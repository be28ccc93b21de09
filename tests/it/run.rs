//! `regime run RECIPE.toml`: the shipped quickstart recipe end to end,
//! resuming (skip, rerun from a changed option, kill -9), and recipe errors
//! caught before any stage runs.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch};

use crate::common::{
    assert_json_ends_in_one_newline, parquet_files, read_parquet, regime, run_expect, sample,
    write_parquet,
};
use crate::schemas::assert_conforms;
use crate::teacher_server::{runtime, start_logged_server};

fn pipelines() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines")
}

/// The stage names of the quickstart recipe, in order.
const QUICKSTART: [&str; 8] = [
    "inspect",
    "profile-raw",
    "planted",
    "prompt-dedup",
    "condition-a",
    "condition-c",
    "compare-a-c",
    "audit-prompts",
];

/// Names of the stages a run's stderr says it ran (not skipped).
fn ran(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| {
            l.starts_with("── ")
                && !l.contains("up to date, skipped")
                && !l.contains("not selected")
        })
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
        .collect()
}

fn manifest(out: &Path, stage: &str) -> Vec<u8> {
    std::fs::read(out.join(stage).join("manifest.json"))
        .unwrap_or_else(|e| panic!("{stage}/manifest.json: {e}"))
}

#[test]
fn quickstart_recipe_runs_every_stage_skips_on_rerun_and_reruns_from_a_changed_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let recipe = pipelines().join("quickstart.toml");
    let first = run_expect(regime().arg("run").arg(&recipe).arg("--out").arg(&out), 0);
    assert_eq!(ran(&first.stderr), QUICKSTART);
    for stage in QUICKSTART {
        assert!(out.join(stage).join("manifest.json").is_file(), "{stage}");
    }
    for stage in ["prompt-dedup", "condition-a", "condition-c"] {
        assert!(!parquet_files(&out.join(stage)).is_empty(), "{stage}");
    }
    // The planted copies are found, and all of them removed.
    let dedup: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("prompt-dedup/report.json")).unwrap())
            .unwrap();
    assert_eq!(dedup["sample_dup_rate"], 0.75);
    assert_eq!(dedup["after"]["sample_dup_rate"], 0.0);
    // Every file with a schema conforms to it.
    let json = |path: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(path)).unwrap()).unwrap()
    };
    assert_conforms("run-record", &json("run.json"), "run.json");
    for stage in QUICKSTART {
        let manifest = format!("{stage}/manifest.json");
        assert_conforms("manifest", &json(&manifest), &manifest);
    }
    for (stage, schema) in [
        ("profile-raw", "profile-report"),
        ("prompt-dedup", "prompt-dedup-report"),
        ("condition-a", "dedup-report"),
        ("condition-c", "condition-c-report"),
        ("compare-a-c", "profile-compare"),
    ] {
        let report = format!("{stage}/report.json");
        assert_conforms(schema, &json(&report), &report);
    }
    let html = std::fs::read_to_string(out.join("run.html")).unwrap();
    for stage in QUICKSTART {
        assert!(
            html.contains(&format!("href=\"{stage}/")),
            "run.html links {stage}"
        );
    }
    assert!(html.contains("href=\"profile-raw/report.html\""));
    assert!(
        !html.contains("<script") && !html.contains("http"),
        "self-contained"
    );
    let before: Vec<Vec<u8>> = QUICKSTART.iter().map(|s| manifest(&out, s)).collect();
    assert_json_ends_in_one_newline(&out);

    // Second run: every stage is up to date.
    let second = run_expect(regime().arg("run").arg(&recipe).arg("--out").arg(&out), 0);
    assert_eq!(ran(&second.stderr), Vec::<String>::new());
    let after: Vec<Vec<u8>> = QUICKSTART.iter().map(|s| manifest(&out, s)).collect();
    assert_eq!(before, after);

    // A copy elsewhere naming the same corpus, one option changed: that
    // stage and the ones after it rerun, the ones before do not.
    let text = std::fs::read_to_string(&recipe).unwrap();
    let changed = text
        .replace("../data/", &format!("{}/data/", env!("CARGO_MANIFEST_DIR")))
        .replace("seed = 7", "seed = 8");
    assert_ne!(changed, text);
    let copy = dir.path().join("copy.toml");
    std::fs::write(&copy, changed).unwrap();
    let third = run_expect(regime().arg("run").arg(&copy).arg("--out").arg(&out), 0);
    assert_eq!(ran(&third.stderr), QUICKSTART[5..]);
    // Each stage says why it runs: its own change, a stage it reads, or
    // only the rule that every stage after one that runs runs too.
    let stderr = String::from_utf8_lossy(&third.stderr);
    for (stage, why) in [
        ("condition-c", "options changed"),
        ("compare-a-c", "reads `condition-c`, which runs"),
        ("audit-prompts", "after `condition-c`, which runs"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!(" {stage} (")) && l.ends_with(&format!(": {why}"))),
            "{stage}: {why}\n{stderr}"
        );
    }
    for (i, stage) in QUICKSTART.iter().enumerate() {
        assert_eq!(manifest(&out, stage) == before[i], i < 5, "{stage}");
    }

    // An output cut short since (its manifest intact): that stage reruns.
    let part = parquet_files(&out.join("condition-a")).remove(0);
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    let fourth = run_expect(regime().arg("run").arg(&copy).arg("--out").arg(&out), 0);
    assert_eq!(ran(&fourth.stderr), QUICKSTART[4..]);
    let name = part.file_name().unwrap().to_string_lossy();
    assert!(
        String::from_utf8_lossy(&fourth.stderr)
            .contains(&format!("output {name} changed or missing")),
        "{}",
        String::from_utf8_lossy(&fourth.stderr)
    );
    assert_eq!(std::fs::read(&part).unwrap(), bytes);
}

/// A recipe slow enough in its second stage to be killed there.
/// A gate that failed fails every rerun that skips it, and each such run
/// says which stage failed and prints its report again: a CI log of a
/// rerun must not show exit 1 without a reason.
#[test]
fn a_failed_gate_is_reported_again_when_a_rerun_skips_it() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("gate.toml");
    std::fs::write(
        &recipe,
        format!(
            r#"[input]
paths = ["{}"]

[[stage]]
run = "synth prompt-dup"
name = "planted"
share = 0.5
rows = 200

[[stage]]
run = "audit-prompts"
name = "gate"
format = "github"
max-sample-dup-rate = 0.05
"#,
            sample().display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    // From the directory the data lies in, as a CI job runs in its
    // checkout: annotations name the file relative to it, or GitHub cannot
    // place them on the diff.
    let first = run_expect(
        regime()
            .current_dir(dir.path())
            .arg("run")
            .arg(&recipe)
            .arg("--out")
            .arg(&out),
        1,
    );
    let report = String::from_utf8(first.stdout).unwrap();
    assert!(report.contains("::error"), "{report}");
    assert!(
        report.contains("file=out/planted/part-00000.parquet,"),
        "{report}"
    );
    for only in [None, Some("planted")] {
        let mut cmd = regime();
        cmd.arg("run").arg(&recipe).arg("--out").arg(&out);
        if let Some(stage) = only {
            cmd.args(["--only", stage]);
        }
        let again = run_expect(&mut cmd, 1);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(" gate ") && l.ends_with("its check failed in an earlier run")),
            "{stderr}"
        );
        assert_eq!(
            ran(&again.stderr),
            only.map_or(vec![], |s| vec![s.to_owned()])
        );
        assert!(
            String::from_utf8_lossy(&again.stdout).contains(&report),
            "the failed report is not shown again"
        );
    }
}

fn slow_recipe(dir: &Path) -> PathBuf {
    let big = dir.join("big.parquet");
    let rows = read_parquet(&sample());
    let copies: Vec<RecordBatch> = (0..12).map(|_| rows.clone()).collect();
    write_parquet(&big, &copies, 5000);
    let recipe = dir.join("slow.toml");
    std::fs::write(
        &recipe,
        r#"[input]
paths = ["big.parquet"]

[[stage]]
run = "dedup exact"

[[stage]]
run = "condition c"
seed = 3
zstd-level = 19
row-group-rows = 500

[[stage]]
run = "profile"
max-n = 2
"#,
    )
    .unwrap();
    recipe
}

#[test]
fn kill_9_mid_stage_then_rerun_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = slow_recipe(dir.path());
    let out = dir.path().join("out");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("regime"))
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staging = out.join("condition-c").join(".regime-staging");
    let deadline = Instant::now() + Duration::from_mins(3);
    loop {
        let staged = std::fs::read_dir(&staging)
            .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.metadata().is_ok_and(|m| m.len() > 0))));
        if staged || Instant::now() > deadline {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9));
    assert!(out.join("dedup-exact/manifest.json").is_file());
    assert!(!out.join("condition-c/manifest.json").exists());

    let rerun = run_expect(regime().arg("run").arg(&recipe).arg("--out").arg(&out), 0);
    assert_eq!(ran(&rerun.stderr), ["condition-c", "profile"]);
    let reference = dir.path().join("reference");
    run_expect(
        regime()
            .arg("run")
            .arg(&recipe)
            .arg("--out")
            .arg(&reference),
        0,
    );
    for stage in ["dedup-exact", "condition-c"] {
        let (a, b) = (
            parquet_files(&out.join(stage)),
            parquet_files(&reference.join(stage)),
        );
        assert!(!a.is_empty());
        assert_eq!(a.len(), b.len(), "{stage}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{stage}"
            );
        }
    }
    for file in ["condition-c/report.json", "profile/report.json"] {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(reference.join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(!staging.exists());
}

/// Runs a recipe that must fail before any stage; returns stderr.
fn fails_before_running(recipe: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = recipe.replace("SAMPLE", &sample().display().to_string());
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    let output = run_expect(regime().arg("run").arg(&path).arg("--out").arg(&out), 2);
    assert!(!out.exists(), "nothing may run or be written");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn misspelt_option_names_the_key_and_line_before_any_stage_runs() {
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"profile\"\n\n[[stage]]\nrun = \"prompt-dedup\"\nmin_chars = 20\n",
    );
    assert!(stderr.contains("bad.toml:9:"), "{stderr}");
    assert!(stderr.contains("`min_chars`"), "{stderr}");
    assert!(stderr.contains("did you mean `min-chars`"), "{stderr}");
}

/// TOML has no integers past ±2^63 and reads a larger literal (a `u64`
/// seed) as a rounded float: the stage would get another seed than the
/// one written. It is refused, pointing at the string form, which passes.
#[test]
fn integers_beyond_toml_are_refused_not_rounded() {
    for stage in [
        "run = \"condition c\"\nseed = 18446744073709551615",
        "run = \"profile\"\nby = [\"a\", 18446744073709551615]",
    ] {
        let stderr = fails_before_running(&format!(
            "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\n{stage}\n"
        ));
        assert!(stderr.contains("bad.toml:6:"), "{stderr}");
        assert!(
            stderr.contains("does not fit a TOML integer and would be rounded"),
            "{stderr}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.toml");
    std::fs::write(
        &path,
        format!(
            "[input]\npaths = [\"{}\"]\n\n[[stage]]\nrun = \"condition c\"\nseed = \"18446744073709551615\"\n",
            sample().display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    run_expect(
        regime()
            .args(["-q", "run"])
            .arg(&path)
            .arg("--out")
            .arg(&out),
        0,
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("condition-c").join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["seed"], 18_446_744_073_709_551_615_u64,
        "{manifest}"
    );
}

#[test]
fn misspelt_recipe_key_names_the_key_and_line() {
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\nprofiel = \"llava\"\n\n[[stage]]\nrun = \"inspect\"\n",
    );
    assert!(stderr.contains("bad.toml:3:"), "{stderr}");
    assert!(stderr.contains("profiel"), "{stderr}");
}

/// Options `regime run` owns are refused in a stage, each saying why.
#[test]
fn run_owned_options_are_refused_in_a_stage() {
    for (key, says) in [
        ("overwrite = true", "is set by `regime run`"),
        (
            "verbose = 1",
            "is not a stage option: give it to `regime run` itself",
        ),
    ] {
        let stderr = fails_before_running(&format!(
            "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"inspect\"\n{key}\n"
        ));
        assert!(
            stderr.contains("bad.toml:6:") && stderr.contains(says),
            "{stderr}"
        );
    }
}

#[test]
fn missing_input_is_named_before_any_stage_runs() {
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"profile\"\n\n[[stage]]\nrun = \"profile\"\nname = \"p2\"\ninput = \"nowhere.parquet\"\n",
    );
    assert!(stderr.contains("bad.toml:10:"), "{stderr}");
    assert!(stderr.contains("nowhere.parquet"), "{stderr}");
}

#[test]
fn bad_value_and_unknown_stage_fail_before_running() {
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"inspect\"\n\n[[stage]]\nrun = \"condition c\"\nlayout = \"sideways\"\n",
    );
    assert!(stderr.contains("bad.toml:9:"), "{stderr}");
    assert!(stderr.contains("sideways"), "{stderr}");
    let stderr =
        fails_before_running("[input]\npaths = [\"SAMPLE\"]\n[[stage]]\nrun = \"dedup fuzzy\"\n");
    assert!(stderr.contains("bad.toml:4:"), "{stderr}");
    assert!(stderr.contains("dedup fuzzy"), "{stderr}");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = run_expect(
        regime()
            .arg("run")
            .arg(pipelines().join("quickstart.toml"))
            .arg("--out")
            .arg(&out)
            .arg("--dry-run"),
        0,
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    for stage in QUICKSTART {
        assert!(stdout.contains(&format!(". {stage} [")), "{stdout}");
    }
    // Nothing has run: every stage runs for its own sake, none "after" the
    // first.
    assert_eq!(
        stdout.matches("]: run (not run yet)\n").count(),
        QUICKSTART.len(),
        "{stdout}"
    );
    assert!(stdout.contains("regime condition c "), "{stdout}");
    assert!(!out.exists());
    let output = run_expect(
        regime()
            .arg("run")
            .arg(pipelines().join("quickstart.toml"))
            .arg("--out")
            .arg(&out)
            .args(["--only", "nope"]),
        2,
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("no stage named `nope`"));
}

/// The real `MiniLM` weights (see ../shared/data/README.md).
fn minilm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/models/all-minilm-l6-v2")
}

/// Four "checkpoints" for spectral-audit.toml: the real `MiniLM` weights
/// under each CONDITION-STEP name.
fn checkpoints(dir: &Path) -> PathBuf {
    let root = dir.join("checkpoints");
    for name in ["A-2k", "A-20k", "C-2k", "C-20k"] {
        std::fs::create_dir_all(root.join(name)).unwrap();
        std::os::unix::fs::symlink(
            minilm_dir().join("model.safetensors"),
            root.join(name).join("model.safetensors"),
        )
        .unwrap();
    }
    root
}

#[test]
fn spectral_audit_recipe_runs_on_real_weights_and_skips_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = checkpoints(dir.path());
    let out = dir.path().join("out");
    let run = || {
        let mut cmd = regime();
        cmd.arg("run")
            .arg(pipelines().join("spectral-audit.toml"))
            .arg("--out")
            .arg(&out)
            .env("REGIME_CHECKPOINTS", &ckpt)
            .env("REGIME_BASE_MODEL", minilm_dir());
        cmd
    };
    let first = run_expect(&mut run(), 0);
    assert_eq!(ran(&first.stderr), ["a-final-vs-base", "trajectories"]);
    for file in [
        "a-final-vs-base/summary.json",
        "a-final-vs-base/report.html",
        "a-final-vs-base/manifest.json",
        "trajectories/compare.json",
        "trajectories/report.html",
        "trajectories/manifest.json",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let html = std::fs::read_to_string(out.join("run.html")).unwrap();
    assert!(html.contains("href=\"a-final-vs-base/report.html\""));
    assert!(html.contains("href=\"trajectories/report.html\""));
    assert!(html.contains("share with α in [2,6]"), "key figures shown");
    let second = run_expect(&mut run(), 0);
    assert_eq!(ran(&second.stderr), Vec::<String>::new());
}

#[test]
fn condition_d_recipe_rewrites_through_the_teacher_named_in_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let rt = runtime();
    let proxy = rt.block_on(start_logged_server("recipe-teacher"));
    let run = || {
        let mut cmd = regime();
        cmd.arg("run")
            .arg(pipelines().join("condition-d.toml"))
            .arg("--out")
            .arg(&out)
            .env("REGIME_TEACHER_URL", format!("http://{}", proxy.addr))
            .env("REGIME_TEACHER_MODEL", "recipe-teacher")
            .env_remove("REGIME_TEACHER_API_KEY");
        cmd
    };
    let first = run_expect(&mut run(), 0);
    assert_eq!(
        ran(&first.stderr),
        ["condition-a", "condition-d", "compare-a-d"]
    );
    let requests = proxy.log.lock().unwrap().len();
    assert!(requests > 0);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("condition-d/report.json")).unwrap())
            .unwrap();
    let fields = &report["summary"]["fields"];
    assert_eq!(fields["rewritten"], fields["total"], "{fields}");
    let compare: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("compare-a-d/report.json")).unwrap())
            .unwrap();
    assert!(
        compare["compare"]["delta_entropy_bits"].as_f64().unwrap() < 0.0,
        "D has lower entropy than A"
    );
    let html = std::fs::read_to_string(out.join("run.html")).unwrap();
    assert!(html.contains("href=\"condition-d/d1-compare.html\""));
    assert!(html.contains("fields rewritten"), "key figures shown");

    // Up to date: nothing runs, nothing is sent.
    let second = run_expect(&mut run(), 0);
    assert_eq!(ran(&second.stderr), Vec::<String>::new());
    // Stage output lost (as after a crash): the stage reruns from its cache
    // beside the output, without one request.
    std::fs::remove_dir_all(out.join("condition-d")).unwrap();
    let third = run_expect(&mut run(), 0);
    assert_eq!(ran(&third.stderr), ["condition-d", "compare-a-d"]);
    assert_eq!(proxy.log.lock().unwrap().len(), requests);

    // The cache as parquet: one row per request answered.
    let export = dir.path().join("cache-export");
    run_expect(
        regime()
            .arg("teacher-cache")
            .arg(out.join("condition-d.teacher-cache"))
            .arg("--out")
            .arg(&export),
        0,
    );
    let cache = read_parquet(&export.join("teacher-cache.parquet"));
    assert_eq!(cache.num_rows(), requests);
    let model = cache.column_by_name("model").unwrap().as_string::<i32>();
    assert!(model.iter().all(|m| m == Some("recipe-teacher")));
    // The cache's own file stands for its directory.
    let from_file = dir.path().join("cache-export-2");
    run_expect(
        regime()
            .arg("teacher-cache")
            .arg(out.join("condition-d.teacher-cache/teacher-cache.sqlite"))
            .arg("--out")
            .arg(&from_file),
        0,
    );
    assert_eq!(
        read_parquet(&from_file.join("teacher-cache.parquet")),
        cache
    );
    // Named bare, from its own directory.
    let bare = dir.path().join("cache-export-3");
    run_expect(
        regime()
            .current_dir(out.join("condition-d.teacher-cache"))
            .arg("teacher-cache")
            .arg("teacher-cache.sqlite")
            .arg("--out")
            .arg(&bare),
        0,
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (path, says) in [
        (dir.path().join("nope"), "no such directory"),
        (empty, "no teacher cache here"),
    ] {
        let refused = run_expect(
            regime()
                .arg("teacher-cache")
                .arg(&path)
                .arg("--out")
                .arg(dir.path().join("x")),
            2,
        );
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// A JSON Schema check of the subset schemars and `regime run
/// --print-schema` emit: `$ref`, `anyOf`, `oneOf`, `const`, `enum`, `type`,
/// `properties`, `required`, `additionalProperties: false`, `items`.
fn violations(
    schema: &serde_json::Value,
    root: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
) -> Vec<String> {
    use serde_json::Value;
    let mut out = Vec::new();
    if let Some(Value::String(r)) = schema.get("$ref") {
        let target = root
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null);
        return violations(target, root, value, at);
    }
    if let Some(Value::Array(any)) = schema.get("anyOf")
        && !any
            .iter()
            .any(|s| violations(s, root, value, at).is_empty())
    {
        out.push(format!("{at}: matches no anyOf branch"));
    }
    if let Some(Value::Array(one)) = schema.get("oneOf") {
        let matching = one
            .iter()
            .filter(|s| violations(s, root, value, at).is_empty())
            .count();
        if matching != 1 {
            out.push(format!("{at}: matches {matching} oneOf branches"));
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        out.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(Value::Array(choices)) = schema.get("enum")
        && !choices.contains(value)
    {
        out.push(format!("{at}: {value} not in enum"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            _ => false,
        };
        if !types.iter().any(|t| is(t)) {
            out.push(format!("{at}: {value} is not {types:?}"));
            return out;
        }
    }
    if let Value::Object(map) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, item) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => out.extend(violations(s, root, item, &format!("{at}.{key}"))),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    out.push(format!("{at}: unknown key `{key}`"));
                }
                None => {}
            }
        }
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if key.as_str().is_some_and(|k| !map.contains_key(k)) {
                out.push(format!("{at}: missing {key}"));
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            out.extend(violations(s, root, item, &format!("{at}[{i}]")));
        }
    }
    out
}

fn recipe_schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/recipe.schema.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn shipped_recipes() -> Vec<PathBuf> {
    let mut recipes: Vec<PathBuf> = std::fs::read_dir(pipelines())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    recipes.sort();
    recipes
}

#[test]
fn every_shipped_recipe_validates_against_the_schema_and_plans() {
    let schema = recipe_schema();
    let recipes = shipped_recipes();
    assert!(recipes.len() >= 6, "{recipes:?}");
    let dir = tempfile::tempdir().unwrap();
    let ckpt = checkpoints(dir.path());
    for recipe in &recipes {
        let text = std::fs::read_to_string(recipe).unwrap();
        let value: serde_json::Value = toml::from_str(&text).unwrap();
        let problems = violations(&schema, &schema, &value, "recipe");
        assert!(problems.is_empty(), "{}: {problems:?}", recipe.display());
        // The binary's own check: every key, value and input, through the
        // real argument parser.
        run_expect(
            regime()
                .arg("run")
                .arg(recipe)
                .arg("--out")
                .arg(dir.path().join("out"))
                .arg("--dry-run")
                .env("REGIME_CHECKPOINTS", &ckpt)
                .env("REGIME_BASE_MODEL", minilm_dir())
                .env("REGIME_TEACHER_URL", "http://127.0.0.1:9")
                .env("REGIME_TEACHER_MODEL", "teacher"),
            0,
        );
    }
}

#[test]
fn schema_rejects_what_the_runner_rejects() {
    let schema = recipe_schema();
    let check = |text: &str| {
        let value: serde_json::Value = toml::from_str(text).unwrap();
        violations(&schema, &schema, &value, "recipe")
    };
    assert!(check("[[stage]]\nrun = \"prompt-dedup\"\nmin-chars = 20\n").is_empty());
    // `-j` is global: every stage takes `threads`.
    assert!(check("[[stage]]\nrun = \"dedup near\"\nthreads = 1\n").is_empty());
    assert!(!check("[[stage]]\nrun = \"prompt-dedup\"\nmin_chars = 20\n").is_empty());
    assert!(!check("[[stage]]\nrun = \"condition c\"\nlayout = \"sideways\"\n").is_empty());
    assert!(!check("[[stage]]\nrun = \"dedup fuzzy\"\n").is_empty());
    assert!(!check("outt = \"x\"\n[[stage]]\nrun = \"inspect\"\n").is_empty());
    assert!(
        !check("[[stage]]\nrun = \"spectral\"\n").is_empty(),
        "model is required"
    );
}

#[test]
fn quickstart_runs_the_embedded_recipe_and_skips_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qs");
    let first = run_expect(regime().arg("quickstart").arg("--out").arg(&out), 0);
    assert_eq!(ran(&first.stderr), QUICKSTART);
    assert!(out.join("run.html").is_file());
    let second = run_expect(regime().arg("quickstart").arg("--out").arg(&out), 0);
    assert_eq!(ran(&second.stderr), Vec::<String>::new());
}

/// `-j` is a global option, so a stage of a recipe takes `threads`; the
/// stage's output is the same at any count, so a change of `threads` alone
/// leaves the stage up to date.
#[test]
fn a_stage_takes_threads() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("threads.toml");
    let write = |threads: usize| {
        std::fs::write(
            &recipe,
            format!(
                "[input]\npaths = [{:?}]\n\n[[stage]]\nrun = \"dedup exact\"\nname = \"exact\"\nthreads = {threads}\n",
                sample()
            ),
        )
        .unwrap();
    };
    let run = |out: &Path| {
        let shown = run_expect(regime().arg("run").arg(&recipe).arg("--out").arg(out), 0);
        String::from_utf8_lossy(&shown.stderr).into_owned()
    };
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    write(1);
    run(&one);
    write(2);
    let again = run(&one);
    assert!(
        again.contains("exact (dedup exact): up to date, skipped"),
        "{again}"
    );
    run(&two);
    let part = |out: &Path| std::fs::read(out.join("exact").join("part-00000.parquet")).unwrap();
    assert_eq!(part(&one), part(&two));
}

/// `save-index = NAME` writes a near-dedup index to OUT/NAME, which a later
/// stage's `against` names; the pair is up to date on a rerun, and a
/// damaged index reruns the stage that wrote it. Before, `save-index` had
/// to exist beforehand, lay outside OUT, and counted as an input: every
/// run reran both stages.
#[test]
fn a_stage_saves_an_index_that_a_later_stage_reads() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("index.toml");
    std::fs::write(
        &recipe,
        format!(
            "[input]\npaths = [\"{}\"]\n\n[[stage]]\nrun = \"dedup near\"\nname = \"first\"\nsave-index = \"idx\"\n\n[[stage]]\nrun = \"dedup near\"\nname = \"again\"\ninput = \"input\"\nagainst = \"idx\"\n",
            sample().display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = || {
        regime()
            .arg("run")
            .arg(&recipe)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(ran(&first.stderr), ["first", "again"]);
    assert!(out.join("idx").join("index.json").is_file());
    // Every row of the corpus is in the index: the second pass keeps none.
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("again/report.json")).unwrap()).unwrap();
    assert_eq!(again["kept"], 0, "{again}");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("idx "), "{stdout}");
    assert_eq!(ran(&run().stderr), Vec::<String>::new());
    std::fs::remove_file(out.join("idx").join("rows.bin")).unwrap();
    let repaired = run();
    assert_eq!(ran(&repaired.stderr), ["first", "again"]);
    let stderr = String::from_utf8_lossy(&repaired.stderr);
    assert!(
        stderr.contains("output idx/rows.bin changed or missing"),
        "{stderr}"
    );
    // `--only again` with the index damaged: refused before it runs,
    // naming the file (it used to run and fail inside the stage).
    std::fs::remove_file(out.join("idx").join("rows.bin")).unwrap();
    let only = regime()
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(&out)
        .args(["--only", "again"])
        .output()
        .unwrap();
    assert_eq!(only.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&only.stderr);
    assert!(
        stderr.contains("reads the output of `first`") && stderr.contains("idx/rows.bin"),
        "{stderr}"
    );
    assert_eq!(ran(&run().stderr), ["first", "again"]);
    // Quiet: nothing on stdout either.
    let quiet = regime()
        .arg("-q")
        .arg("run")
        .arg(&recipe)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert!(
        quiet.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stdout)
    );
}

/// Names in OUT that the runner owns, or that two outputs would share,
/// and a missing required option (named in full) fail before any stage.
#[test]
fn names_the_runner_owns_and_missing_options_fail_before_running() {
    for (name, says) in [
        ("run.json", "the runner writes a file of that name in OUT"),
        ("run.html", "the runner writes a file of that name in OUT"),
        ("input", "reserved for the recipe's input"),
    ] {
        let stderr = fails_before_running(&format!(
            "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"inspect\"\nname = \"{name}\"\n"
        ));
        assert!(
            stderr.contains("bad.toml:6:") && stderr.contains(says),
            "{stderr}"
        );
    }
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"inspect\"\n\n[[stage]]\nrun = \"dedup near\"\nsave-index = \"inspect\"\n",
    );
    assert!(
        stderr.contains("bad.toml:9:") && stderr.contains("is the name of a stage"),
        "{stderr}"
    );
    // The stage's own (default) name is taken too.
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"dedup near\"\nsave-index = \"dedup-near\"\n",
    );
    assert!(
        stderr.contains("bad.toml:6:") && stderr.contains("is the name of a stage"),
        "{stderr}"
    );
    // A later stage named (by default) as an earlier stage's index.
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"dedup near\"\nsave-index = \"inspect\"\n\n[[stage]]\nrun = \"inspect\"\n",
    );
    assert!(
        stderr.contains("stage `dedup-near` (dedup near) writes an index to"),
        "{stderr}"
    );
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"synth prompt-dup\"\n",
    );
    assert!(stderr.contains("--share"), "{stderr}");
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\nprofile = \"columns\"\n\n[[stage]]\nrun = \"inspect\"\n",
    );
    assert!(stderr.contains("--fields"), "{stderr}");
    let stderr = fails_before_running(
        "[input]\npaths = [\"SAMPLE\"]\n\n[[stage]]\nrun = \"dedup near\"\nthreshold = 1.5\n",
    );
    assert!(
        stderr.contains("bad.toml:6:") && stderr.contains("between 0 and 1"),
        "{stderr}"
    );
}
