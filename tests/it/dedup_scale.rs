//! `regime dedup near` at scale: sorted runs on disk, `--shard I/N` plus
//! `--merge`, `--save-index` / `--against`, bad input and kill -9.

use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::UInt64Type;

use crate::common::{
    all_entries, assert_json_ends_in_one_newline, parquet_files, read_parquet, regime, run_expect,
};
use crate::dedup::{benchmark, dedup, dedup_command, fields_file, kept_ids, write_corpus};

/// Every output file of a dedup run, by name, as bytes.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = parquet_files(dir);
    files.push(dir.join("report.json"));
    files.push(dir.join("report.html"));
    files
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect()
}

fn near(dir: &Path, input: &Path, out: &str, extra: &[&str]) -> PathBuf {
    dedup(dir, "near", input, out, extra, "2")
}

#[test]
fn shards_and_spills_give_the_unsplit_result() {
    let dir = tempfile::tempdir().unwrap();
    let bench = benchmark(3);
    let input = dir.path().join("near.parquet");
    write_corpus(&input, &bench.prompts);
    let whole = near(dir.path(), &input, "whole", &["--on", "user"]);
    assert!(
        kept_ids(&whole).len() < bench.prompts.len(),
        "found duplicates"
    );
    // Many small runs (spills) in one process.
    let spilled = near(
        dir.path(),
        &input,
        "spilled",
        &["--on", "user", "--run-rows", "37"],
    );
    assert_eq!(outputs(&whole), outputs(&spilled));
    // Three shards, each spilling, at one thread, merged at two.
    let mut parts = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let part = dedup(
            dir.path(),
            "near",
            &input,
            &format!("part{i}"),
            &["--on", "user", "--shard", &shard, "--run-rows", "50"],
            "1",
        );
        assert!(part.join("signatures.json").exists());
        assert!(parquet_files(&part).is_empty(), "a shard writes no rows");
        parts.push(part);
    }
    let mut args = vec!["--on", "user", "--merge"];
    let names: Vec<String> = parts.iter().map(|p| p.display().to_string()).collect();
    // Given in another order than the split's.
    args.extend([names[2].as_str(), names[0].as_str(), names[1].as_str()]);
    let merged = near(dir.path(), &input, "merged", &args);
    assert_eq!(outputs(&whole), outputs(&merged));

    // A split with a shard missing is refused.
    let out = dir.path().join("incomplete");
    let output = run_expect(
        dedup_command(dir.path(), "near", &input, &out)
            .args(["--on", "user", "--merge"])
            .args(&parts[..2]),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 of 3 shards"), "{stderr}");
    assert!(!out.exists() || parquet_files(&out).is_empty());

    // The same corpus read with another field layout is refused (the
    // answers taken as user text give other signatures).
    let other_fields = dir.path().join("other.toml");
    std::fs::write(&other_fields, "[columns]\nanswer = \"user\"\n").unwrap();
    let out = dir.path().join("other-fields");
    let output = run_expect(
        regime()
            .args(["dedup", "near"])
            .arg(&input)
            .args(["--profile", "columns", "--fields"])
            .arg(&other_fields)
            .arg("--out")
            .arg(&out)
            .args(["--on", "user", "--merge"])
            .args(&parts),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("its text was read as `columns: prompt → user, answer → assistant`")
            && stderr.contains("this run reads `columns: answer → user`"),
        "{stderr}"
    );

    // The same file named another way merges; the file rewritten in place
    // with its rows in another order (same path, same row count) does not.
    let relative = Path::new(".").join(input.file_name().unwrap());
    let out = dir.path().join("relative");
    run_expect(
        dedup_command(dir.path(), "near", &relative, &out)
            .current_dir(dir.path())
            .args(["--on", "user", "--merge"])
            .args(&parts),
        0,
    );
    let mut reversed = bench.prompts.clone();
    reversed.reverse();
    write_corpus(&input, &reversed);
    let out = dir.path().join("stale");
    let output = run_expect(
        dedup_command(dir.path(), "near", &input, &out)
            .args(["--on", "user", "--merge"])
            .args(&parts),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the shard was computed on other inputs than this run"),
        "{stderr}"
    );
}

#[test]
fn against_an_index_removes_copies_of_indexed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let bench = benchmark(9);
    // Corpus A: the 600 originals. Corpus B: the first 200 edited copies
    // (benchmark rows 600..800, of originals 0..200) and 50 fresh rows.
    let a: Vec<String> = bench.prompts[..600].to_vec();
    let mut b: Vec<String> = bench.prompts[600..800].to_vec();
    b.extend((0..50).map(|i| format!("fresh prompt number {i} about nothing in particular")));
    let (a_path, b_path) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    write_corpus(&a_path, &a);
    write_corpus(&b_path, &b);
    let index = dir.path().join("index");
    let index_arg = index.display().to_string();
    near(
        dir.path(),
        &a_path,
        "a-out",
        &["--on", "user", "--save-index", &index_arg],
    );
    assert!(index.join("index.json").exists() && index.join("manifest.json").exists());
    assert_json_ends_in_one_newline(&index);
    let out = near(
        dir.path(),
        &b_path,
        "b-out",
        &["--on", "user", "--against", &index_arg],
    );
    let kept: HashSet<String> = kept_ids(&out).into_iter().collect();
    // B's row i is benchmark copy 600 + i of original copies[i].1; its id
    // in B is doc-{i}. High-similarity copies must go, fresh rows stay.
    let threshold = (1.0f64 / 14.0).powf(1.0 / 8.0);
    let mut expected_removed = 0;
    for (i, copy) in bench.copies[..200].iter().enumerate() {
        let id = format!("doc-{i:05}");
        if copy.2 >= 0.85 {
            assert!(!kept.contains(&id), "{id} (J = {}) kept", copy.2);
        }
        if copy.2 < threshold {
            assert!(kept.contains(&id), "{id} (J = {}) removed", copy.2);
        }
        expected_removed += usize::from(copy.2 >= 0.85);
    }
    for i in 200..250 {
        assert!(kept.contains(&format!("doc-{i:05}")));
    }
    // Edits = original % 20 (tests/it/dedup.rs): about 3 in 20 copies keep J ≥ 0.85.
    assert!(expected_removed >= 20, "{expected_removed}");
    // Every removed row points at the A row it copies, by A's id.
    let clusters = read_parquet(&out.join("clusters.parquet"));
    let ids = clusters.column_by_name("id").unwrap().as_string::<i32>();
    let from_index = clusters.column_by_name("from_index").unwrap().as_boolean();
    let rep_from_index = clusters
        .column_by_name("representative_from_index")
        .unwrap()
        .as_boolean();
    let reps = clusters
        .column_by_name("representative")
        .unwrap()
        .as_primitive::<UInt64Type>();
    let rows = clusters
        .column_by_name("row_id")
        .unwrap()
        .as_primitive::<UInt64Type>();
    let mut checked = 0;
    for r in 0..clusters.num_rows() {
        if from_index.value(r) || !rep_from_index.value(r) {
            continue;
        }
        let b_row = usize::try_from(rows.value(r)).unwrap();
        let original = bench.copies[b_row].1;
        assert_eq!(reps.value(r), original as u64, "B row {b_row}");
        // The representative's own line carries A's id.
        let rep_line = (0..clusters.num_rows())
            .find(|&k| from_index.value(k) && rows.value(k) == reps.value(r))
            .unwrap();
        assert_eq!(ids.value(rep_line), format!("doc-{original:05}"));
        checked += 1;
    }
    assert!(
        checked >= expected_removed,
        "{checked} < {expected_removed}"
    );

    // Other settings than the index's are refused with a clear message.
    let output = run_expect(
        dedup_command(dir.path(), "near", &b_path, &dir.path().join("other-seed")).args([
            "--on",
            "user",
            "--seed",
            "2",
            "--against",
            &index_arg,
        ]),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The message names the setting that differs, with both values.
    assert!(
        stderr.contains("other settings than this run's (`near.seed`: 1 vs 2)"),
        "{stderr}"
    );
}

#[test]
fn bad_inputs_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bench = benchmark(1);
    let input = dir.path().join("in.parquet");
    write_corpus(&input, &bench.prompts[..50]);
    let cut = dir.path().join("cut.parquet");
    let bytes = std::fs::read(&input).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let not_an_index = dir.path().join("not-an-index");
    std::fs::create_dir_all(&not_an_index).unwrap();
    std::fs::write(not_an_index.join("index.json"), "{\"format\": 1}").unwrap();
    // An existing directory without an index in it: another output given
    // by mistake.
    let no_index = dir.path().join("a-corpus");
    std::fs::create_dir_all(&no_index).unwrap();
    let cases: Vec<(&str, Vec<String>, &Path, &str)> = vec![
        ("near", vec![], cut.as_path(), "cut.parquet"),
        ("exact", vec![], cut.as_path(), "cut.parquet"),
        (
            "near",
            vec![
                "--merge".into(),
                dir.path().join("nowhere").display().to_string(),
            ],
            input.as_path(),
            "nowhere",
        ),
        (
            "near",
            vec!["--against".into(), not_an_index.display().to_string()],
            input.as_path(),
            "not a regime dedup index",
        ),
        (
            "near",
            vec!["--against".into(), no_index.display().to_string()],
            input.as_path(),
            "a-corpus: not a regime dedup index (no index.json; `dedup near --save-index DIR` writes one)",
        ),
        (
            "near",
            vec!["--threshold".into(), "1.5".into()],
            input.as_path(),
            "--threshold",
        ),
        // 0 rows per run was taken as 1: a sorted run written per row.
        (
            "near",
            vec!["--run-rows".into(), "0".into()],
            input.as_path(),
            "invalid value '0' for '--run-rows <N>': must be a whole number ≥ 1",
        ),
    ];
    for (i, (method, extra, file, needle)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let output = run_expect(
            dedup_command(dir.path(), method, file, &out).args(&extra),
            2,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "one error line: {stderr}");
        assert!(errors[0].contains(needle), "case {i}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !out.exists() || all_entries(&out).is_empty(),
            "case {i} left {:?}",
            all_entries(&out)
        );
    }
    // A column of the fields file missing from the input is named.
    let fields = dir.path().join("bad-fields.toml");
    std::fs::write(&fields, "[columns]\nquestion = \"user\"\n").unwrap();
    let output = run_expect(
        regime()
            .args(["dedup", "exact"])
            .arg(&input)
            .args(["--profile", "columns", "--fields"])
            .arg(&fields)
            .arg("--out")
            .arg(dir.path().join("out-fields")),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("question"), "{stderr}");
}

#[test]
fn kill_9_mid_run_leaves_nothing_partial_and_rerun_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    // A corpus large enough that signatures take a while.
    let bench = benchmark(2);
    let mut prompts = Vec::new();
    for round in 0..40 {
        prompts.extend(bench.prompts.iter().map(|p| format!("{p} r{round}")));
    }
    let input = dir.path().join("big.parquet");
    write_corpus(&input, &prompts);
    let fields = fields_file(dir.path());
    let out = dir.path().join("out");
    let args = ["--on", "user", "--run-rows", "500", "--zstd-level", "19"];
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("regime"))
        .args(["dedup", "near"])
        .arg(&input)
        .args(["--profile", "columns", "--fields"])
        .arg(&fields)
        .arg("--out")
        .arg(&out)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let staging = out.join(".regime-staging");
    let deadline = Instant::now() + Duration::from_mins(2);
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
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed mid-run: {status:?}");
    assert!(
        parquet_files(&out).is_empty() && !out.join("report.json").exists(),
        "visible partial output: {:?}",
        all_entries(&out)
    );
    assert!(!out.join("manifest.json").exists());
    // Rerun into the same directory without --overwrite.
    let rerun = dedup(dir.path(), "near", &input, "out", &args, "2");
    let reference = dedup(dir.path(), "near", &input, "reference", &args, "2");
    assert_eq!(outputs(&rerun), outputs(&reference));
    assert!(!staging.exists());
}
