//! `regime profile`, `--shard` + `regime merge`, sketch mode and `--compare`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{assert_json_ends_in_one_newline, regime, run_expect, sample, synth_corpus};

fn report(dir: &Path) -> Value {
    let bytes = std::fs::read(dir.join("report.json")).expect("report.json written");
    serde_json::from_slice(&bytes).expect("report.json is JSON")
}

/// A small JSONL conversation corpus: one `human` turn per line.
fn write_jsonl(path: &Path, lines: &[String]) {
    let mut body = String::new();
    for t in lines {
        let conv = serde_json::json!({"conversations": [{"from": "human", "value": t}, {"from": "gpt", "value": "ok"}]});
        body.push_str(&conv.to_string());
        body.push('\n');
    }
    std::fs::write(path, body).expect("write jsonl");
}

#[test]
fn sample_corpus_profile_has_every_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("p");
    run_expect(
        regime()
            .arg("profile")
            .arg(sample())
            .arg("--out")
            .arg(&out)
            .args(["--by", "split"]),
        0,
    );
    for f in [
        "report.json",
        "ngrams.parquet",
        "roles.parquet",
        "categories.parquet",
        "report.html",
        "manifest.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let r = report(&out);
    assert_eq!(r["overall"]["samples"], 5000);
    assert_eq!(r["roles"]["user"]["samples"], 5000);
    let uni = &r["overall"]["unigram"];
    assert!(uni["types"].as_u64().unwrap() > 10);
    assert_eq!(r["overall"]["ngrams"]["2"]["exact"], true);
    assert!(r["overall"]["ngrams"]["1"]["top"].as_array().unwrap().len() == 20);
    // `<image>` is a protected token: one token, counted once per sample's first turn.
    let top = r["overall"]["ngrams"]["1"]["top"].as_array().unwrap();
    assert!(
        top.iter()
            .any(|t| t["ngram"] == "<image>" && t["count"] == 5000),
        "{top:?}"
    );
    assert_eq!(r["categories"]["split"]["samples"], 5000);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Rank–frequency"));
}

/// Off a terminal no bar is drawn; under `-v` progress comes as info log
/// lines, plain text.
#[test]
fn verbose_logs_progress_off_a_terminal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let progress = "/5000 samples (";
    for (flags, logged) in [(&[][..], false), (&["-v"][..], true)] {
        let shown = run_expect(
            regime()
                .arg("profile")
                .arg(sample())
                .arg("--out")
                .arg(tmp.path().join(format!("out{}", flags.len())))
                .args(flags),
            0,
        );
        let stderr = String::from_utf8_lossy(&shown.stderr);
        assert_eq!(stderr.contains(progress), logged, "{flags:?}: {stderr}");
        if logged {
            assert!(stderr.contains(" INFO profile: "), "{stderr}");
            assert!(!stderr.contains('\x1b'), "{stderr:?}");
        }
    }
}

#[test]
fn merged_shards_equal_the_single_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let single = tmp.path().join("single");
    run_expect(
        regime()
            .arg("profile")
            .arg(sample())
            .arg("--out")
            .arg(&single)
            .args(["-j", "2"]),
        0,
    );
    let mut parts = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("part{i}"));
        run_expect(
            regime()
                .arg("profile")
                .arg(sample())
                .arg("--out")
                .arg(&dir)
                .args(["--shard", &format!("{i}/3"), "-j", "1"]),
            0,
        );
        parts.push(dir);
    }
    let merged = tmp.path().join("merged");
    run_expect(
        regime().arg("merge").args(&parts).arg("--out").arg(&merged),
        0,
    );
    assert_same_outputs(&merged, &single);
    // The partials (partial.json) included.
    assert_json_ends_in_one_newline(tmp.path());
}

/// The files of a profile report that must not depend on how the corpus was
/// split or threaded, compared byte for byte: parsing both sides with the
/// same lossy float parser would hide a one-ulp difference.
fn assert_same_outputs(got: &Path, want: &Path) {
    for f in [
        "report.json",
        "ngrams.parquet",
        "roles.parquet",
        "report.html",
    ] {
        let (a, b) = (std::fs::read(got.join(f)), std::fs::read(want.join(f)));
        let (a, b) = (a.expect("output written"), b.expect("output written"));
        assert!(
            a == b,
            "{f}: {} differs from {}",
            got.display(),
            want.display()
        );
    }
}

/// The issue's acceptance check: `--shard i/N` for every i, then `regime
/// merge`, gives byte for byte the single run's report, for N = 2…5 and at
/// any thread count. A 2,000-row corpus with planted prompt copies has
/// Gopher fractions such as 40/433 whose decimal form the partial state
/// must read back exactly (it moved p50 by one ulp before).
#[test]
fn merge_of_any_split_is_byte_identical_to_a_single_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("c");
    synth_corpus(&corpus, "0.25", "1", "2000");
    let profile = |out: &Path, extra: &[&str]| {
        run_expect(
            regime()
                .arg("profile")
                .arg(&corpus)
                .arg("--out")
                .arg(out)
                .arg("-q")
                .args(extra),
            0,
        );
    };
    let single = tmp.path().join("single");
    profile(&single, &["-j", "1"]);
    let threaded = tmp.path().join("threaded");
    profile(&threaded, &["-j", "3"]);
    assert_same_outputs(&threaded, &single);
    for n in 2..=5 {
        let parts: Vec<_> = (0..n)
            .map(|i| {
                let dir = tmp.path().join(format!("p{i}of{n}"));
                profile(&dir, &["--shard", &format!("{i}/{n}"), "-j", "2"]);
                dir
            })
            .collect();
        let merged = tmp.path().join(format!("merged{n}"));
        run_expect(
            regime()
                .arg("merge")
                .args(&parts)
                .arg("--out")
                .arg(&merged)
                .arg("-q"),
            0,
        );
        assert_same_outputs(&merged, &single);
    }
}

/// Sketches (space-saving counters) and the moment a table moves to one
/// depend on the order samples arrive in, so the profile adds them in input
/// order whatever the thread count: runs with as many sketches as the
/// budget allows (`--memory-budget 1`: every table whose sketch is smaller
/// than it would be exact) and with fewer are byte-identical at 1, 2 and 3
/// threads, and a merge of
/// sketched partials does not depend on the order they are given in. Four
/// input files give four batches for the threads to share (one batch would
/// hide any dependence on how they are shared out).
#[test]
fn sketch_mode_is_byte_identical_at_any_thread_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpora: Vec<PathBuf> = (1..=4)
        .map(|seed| {
            let dir = tmp.path().join(format!("c{seed}"));
            synth_corpus(&dir, "0.25", &seed.to_string(), "1500");
            dir
        })
        .collect();
    // `regime profile` of the four corpora with 64 counters per sketch.
    let profile = |name: String, extra: &[&str]| {
        let out = tmp.path().join(name);
        run_expect(
            regime()
                .arg("profile")
                .args(&corpora)
                .arg("--out")
                .arg(&out)
                .args(["-q", "--sketch-capacity", "64"])
                .args(extra),
            0,
        );
        out
    };
    // A sketch holds 16 KiB of registers and 64 counters, so the small
    // tables (user, system, ocr turns) stay exact even at a budget of 1:
    // only the caption and metadata tables and the overall figures they
    // feed are sketched.
    for (budget, sketched) in [("1", 8), ("600K", 6)] {
        let outs: Vec<PathBuf> = ["1", "2", "3"]
            .iter()
            .map(|j| {
                profile(
                    format!("b{budget}-j{j}"),
                    &["-j", j, "--memory-budget", budget],
                )
            })
            .collect();
        let text = std::fs::read_to_string(outs[0].join("report.json")).expect("report");
        assert_eq!(
            text.matches("\"exact\": false").count(),
            sketched,
            "--memory-budget {budget}: figures from sketches"
        );
        for out in &outs[1..] {
            assert_same_outputs(out, &outs[0]);
        }
    }
    // Sketches merge to other counts in another order, so `regime merge`
    // combines partials in block order whatever order they are given in.
    let parts: Vec<PathBuf> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            profile(
                format!("s{i}"),
                &["--memory-budget", "1", "--shard", &shard],
            )
        })
        .collect();
    let merged: Vec<PathBuf> = [[0, 1, 2], [2, 0, 1], [1, 2, 0]]
        .iter()
        .map(|order| {
            let out = tmp.path().join(format!("m{order:?}"));
            run_expect(
                regime()
                    .arg("merge")
                    .args(order.iter().map(|&i| &parts[i]))
                    .arg("--out")
                    .arg(&out)
                    .arg("-q"),
                0,
            );
            out
        })
        .collect();
    for out in &merged[1..] {
        assert_same_outputs(out, &merged[0]);
    }
}

/// Past the budget, the tables that sketches make smaller move to sketch
/// mode, with figures within their printed bounds of the exact ones; a
/// table smaller than its sketch stays exact and equal.
#[test]
fn sketch_mode_agrees_with_exact_within_bounds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The metadata turns of a synthesised corpus hold thousands of
    // distinct n-grams; its user turns under 200.
    let corpus = tmp.path().join("corpus");
    synth_corpus(&corpus, "0.25", "1", "1500");
    let (exact, sketch) = (tmp.path().join("exact"), tmp.path().join("sketch"));
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--out")
            .arg(&exact),
        0,
    );
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--out")
            .arg(&sketch)
            .args(["--memory-budget", "1", "--sketch-capacity", "512"]),
        0,
    );
    let (e, s) = (report(&exact), report(&sketch));
    for n in ["2", "3", "4"] {
        let (fe, fs) = (
            &e["roles"]["user"]["ngrams"][n],
            &s["roles"]["user"]["ngrams"][n],
        );
        assert_eq!(fs["exact"], true, "user n={n}");
        assert_eq!(fe, fs, "user n={n}");
    }
    for n in ["2", "3", "4"] {
        let (fe, fs) = (&e["overall"]["ngrams"][n], &s["overall"]["ngrams"][n]);
        assert_eq!(fs["exact"], false, "n={n}");
        assert_eq!(fe["total"], fs["total"]);
        let diff = (fe["distinct"].as_f64().unwrap() - fs["distinct"].as_f64().unwrap()).abs();
        assert!(
            diff <= fs["distinct_error"].as_f64().unwrap(),
            "n={n}: {diff}"
        );
        let err = fs["count_error"].as_u64().unwrap();
        for t in fe["top"].as_array().unwrap() {
            let got = fs["top"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["ngram"] == t["ngram"])
                .map_or(0, |x| x["count"].as_u64().unwrap());
            let want = t["count"].as_u64().unwrap();
            assert!(
                got <= want && want <= got + err,
                "n={n} {}: {got} vs {want} (±{err})",
                t["ngram"]
            );
        }
    }
}

#[test]
fn compare_with_itself_has_zero_divergence_and_deltas() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("cmp");
    run_expect(
        regime()
            .args(["profile", "--compare"])
            .arg(sample())
            .arg(sample())
            .arg("--out")
            .arg(&out),
        0,
    );
    let c = &report(&out)["compare"];
    assert_eq!(c["js_divergence_bits"].as_f64(), Some(0.0));
    assert_eq!(c["delta_types"], 0);
    assert_eq!(c["delta_entropy_bits"].as_f64(), Some(0.0));
    assert_eq!(c["delta_tail_mass"].as_f64(), Some(0.0));
    assert_eq!(c["rare_type_survival"].as_f64(), Some(1.0));
}

#[test]
fn compare_detects_a_frequency_concentrated_copy() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a.jsonl"), tmp.path().join("b.jsonl"));
    let lines: Vec<String> = (0..300)
        .map(|i| format!("the cat sat on mat{} with dog{} near tree", i % 50, i))
        .collect();
    // Concentrated copy: every rare word (dogN, matN) mapped to a frequent one.
    let conc: Vec<String> = (0..300)
        .map(|_| "the cat sat on the with cat near tree".to_owned())
        .collect();
    write_jsonl(&a, &lines);
    write_jsonl(&b, &conc);
    let out = tmp.path().join("cmp");
    run_expect(
        regime()
            .args(["profile", "--compare"])
            .arg(&a)
            .arg(&b)
            .arg("--out")
            .arg(&out),
        0,
    );
    let c = &report(&out)["compare"];
    assert!(c["delta_entropy_bits"].as_f64().unwrap() < 0.0);
    assert!(c["delta_types"].as_i64().unwrap() < 0);
    assert!(c["delta_tail_mass"].as_f64().unwrap() < 0.0);
    assert!(c["rare_type_survival"].as_f64().unwrap() < 0.1);
    assert!(c["js_divergence_bits"].as_f64().unwrap() > 0.0);
    // The report says what A and B are, in JSON and on the page.
    let r = report(&out);
    assert_eq!(r["a_input"], a.display().to_string());
    assert_eq!(r["b_input"], b.display().to_string());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains(&format!("A: {}; B: {}", a.display(), b.display())),
        "{html}"
    );
}

/// A corpus of empty texts has no unigram distribution: the divergence
/// from it is null (and "n/a" on the page), whichever side it is on, while
/// the other figures are still reported.
#[test]
fn compare_with_a_tokenless_corpus_has_null_divergence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (empty, full) = (
        tmp.path().join("empty.jsonl"),
        tmp.path().join("full.jsonl"),
    );
    let mut body = String::new();
    for _ in 0..10 {
        body.push_str(r#"{"caption": ""}"#);
        body.push('\n');
    }
    std::fs::write(&empty, body).expect("write");
    let mut body = String::new();
    for i in 0..10 {
        body.push_str(&serde_json::json!({"caption": format!("a red square {i}")}).to_string());
        body.push('\n');
    }
    std::fs::write(&full, body).expect("write");
    for (name, a, b, delta_types) in [("ef", &empty, &full, 13), ("fe", &full, &empty, -13)] {
        let out = tmp.path().join(name);
        run_expect(
            regime()
                .args(["profile", "--compare", "-q"])
                .arg(a)
                .arg(b)
                .arg("--out")
                .arg(&out),
            0,
        );
        let c = &report(&out)["compare"];
        assert!(c["js_divergence_bits"].is_null(), "{name}: {c}");
        assert_eq!(c["delta_types"], delta_types, "{name}");
        let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
        assert!(html.contains("n/a"), "{name}");
    }
}

#[test]
fn compare_needs_two_inputs_and_shard_is_validated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("x");
    run_expect(
        regime()
            .args(["profile", "--compare"])
            .arg(sample())
            .arg("--out")
            .arg(&out),
        2,
    );
    run_expect(
        regime()
            .arg("profile")
            .arg(sample())
            .arg("--out")
            .arg(&out)
            .args(["--shard", "3/3"]),
        2,
    );
    // --compare reads both corpora whole: a shard of it would be ignored.
    let output = run_expect(
        regime()
            .args(["profile", "--compare"])
            .args([sample(), sample()])
            .arg("--out")
            .arg(&out)
            .args(["--shard", "0/2"]),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error:") && stderr.contains("--shard") && stderr.contains("--compare"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// The profile's prompt-segment figures are the audit's: on a generated
/// corpus with copies planted in 75% of samples both report exactly 0.75,
/// the same rates and the same templates.
#[test]
fn prompt_duplication_figures_equal_the_audit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("synth");
    synth_corpus(&corpus, "0.75", "3", "1000");
    let parts = crate::common::parquet_files(&corpus);
    let audit = run_expect(
        regime()
            .arg("audit-prompts")
            .args(&parts)
            .args(["--format", "json"]),
        0,
    );
    let audit: Value = serde_json::from_slice(&audit.stdout).expect("audit JSON");
    let out = tmp.path().join("p");
    run_expect(
        regime().arg("profile").args(&parts).arg("--out").arg(&out),
        0,
    );
    let dup = &report(&out)["overall"]["duplication"];
    let prompt = &dup["prompt"];
    assert_eq!(prompt["samples"], 1000);
    assert_eq!(prompt["sample_dup_rate"], 0.75);
    for k in [
        "sample_dup_rate",
        "segment_dup_rate",
        "char_dup_rate",
        "repeated_turns",
    ] {
        assert_eq!(prompt[k], audit[k], "{k}");
    }
    let pairs = |v: &Value| -> Vec<(String, u64)> {
        v.as_array()
            .expect("templates")
            .iter()
            .map(|t| {
                let segment = t["segment"].as_str().expect("segment").to_owned();
                (segment, t["samples"].as_u64().expect("samples"))
            })
            .take(5)
            .collect()
    };
    assert_eq!(pairs(&dup["templates"]), pairs(&audit["templates"]));
}

/// `--near` reports the share of samples `regime dedup near` removes; it
/// needs the whole corpus, so `--shard` is refused.
#[test]
fn near_duplicate_share_is_what_dedup_near_removes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // 40 distinct 80-word texts, then 8 copies of them with one word changed
    // and 4 exact copies.
    let text = |i: usize, changed: bool| -> String {
        (0..80)
            .map(|j| {
                if changed && j == 15 {
                    "changed".to_owned()
                } else {
                    format!("w{}", (i * 131 + j * 17 + i * j) % 1009)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines: Vec<String> = (0..40).map(|i| text(i, false)).collect();
    lines.extend((0..8).map(|i| text(i * 3, true)));
    lines.extend((0..4).map(|i| text(i * 5 + 1, false)));
    let corpus = tmp.path().join("c.jsonl");
    write_jsonl(&corpus, &lines);
    let out = tmp.path().join("p");
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--near")
            .arg("--out")
            .arg(&out),
        0,
    );
    let share = report(&out)["overall"]["duplication"]["near_duplicate_share"]
        .as_f64()
        .expect("near share measured");
    let dedup = tmp.path().join("d");
    run_expect(
        regime()
            .args(["dedup", "near"])
            .arg(&corpus)
            .arg("--out")
            .arg(&dedup),
        0,
    );
    let d = report(&dedup);
    assert_eq!(
        d["duplicates"], 12,
        "every planted copy is a near duplicate"
    );
    let want = d["duplicates"].as_f64().expect("duplicates") / d["rows"].as_f64().expect("rows");
    assert!((share - want).abs() < 1e-15, "{share} vs {want}");
    // Without --near the share is not measured.
    let plain = tmp.path().join("q");
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--out")
            .arg(&plain),
        0,
    );
    assert!(report(&plain)["overall"]["duplication"]["near_duplicate_share"].is_null());
    let refused = run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .args(["--near", "--shard", "0/2", "--out"])
            .arg(tmp.path().join("s")),
        2,
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--shard"));
}

/// A corpus of 60 one-turn conversations; `salt` makes another corpus.
fn small_corpus(path: &Path, salt: &str) {
    let lines: Vec<String> = (0..60)
        .map(|i| format!("question {i} {salt} about shape number {}", i % 7))
        .collect();
    write_jsonl(path, &lines);
}

/// `regime profile CORPUS --shard SHARD` into `DIR/NAME`.
fn shard(dir: &Path, corpus: &Path, name: &str, shard: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    run_expect(
        regime()
            .arg("profile")
            .arg(corpus)
            .arg("--out")
            .arg(&out)
            .args(["--shard", shard, "-q"])
            .args(extra),
        0,
    );
    out
}

/// `regime merge` takes exactly one partial for each block 0…N−1 of one
/// split, all from the same inputs with the same settings; anything else
/// exits 2 with one line naming the offending partial and writes nothing.
#[test]
fn merge_refuses_anything_but_one_complete_split() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let (a, b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
    small_corpus(&a, "red");
    small_corpus(&b, "blue");
    let p: Vec<_> = (0..3)
        .map(|i| shard(dir, &a, &format!("p{i}"), &format!("{i}/3"), &[]))
        .collect();
    let half = shard(dir, &a, "half", "1/2", &[]);
    let other_corpus = shard(dir, &b, "other-corpus", "1/3", &[]);
    let other_settings = shard(dir, &a, "other-settings", "2/3", &["--top-k", "5"]);
    let old_format = dir.join("old-format");
    std::fs::create_dir_all(&old_format).expect("mkdir");
    let partial = std::fs::read_to_string(p[2].join("partial.json")).expect("partial");
    let mut partial: Value = serde_json::from_str(&partial).expect("partial is JSON");
    partial["version"] = 1.into();
    std::fs::write(old_format.join("partial.json"), partial.to_string()).expect("write");
    let not_a_partial = dir.join("not-a-partial");
    std::fs::create_dir_all(&not_a_partial).expect("mkdir");
    let no_state = dir.join("no-state");
    std::fs::create_dir_all(&no_state).expect("mkdir");
    std::fs::copy(p[2].join("partial.json"), no_state.join("partial.json")).expect("copy");
    let cases: Vec<(Vec<&Path>, Option<&Path>, &str)> = vec![
        (
            vec![&p[0], &p[1]],
            None,
            "2 of 3 shards given (missing 2/3)",
        ),
        (vec![&p[0], &p[0], &p[1], &p[2]], Some(&p[0]), "given twice"),
        (vec![&p[0], &half, &p[2]], Some(&half), "another split"),
        (
            vec![&p[0], &other_corpus, &p[2]],
            Some(&other_corpus),
            "other inputs",
        ),
        (
            vec![&p[0], &p[1], &other_settings],
            Some(&other_settings),
            "other settings than",
        ),
        (
            vec![&p[0], &p[1], &old_format],
            Some(&old_format),
            "format 1",
        ),
        (
            vec![&p[0], &not_a_partial],
            Some(&not_a_partial),
            "not a `regime profile --shard` output",
        ),
        (
            vec![&p[0], &p[1], &no_state],
            Some(&no_state),
            "reading its state.json.zst",
        ),
    ];
    for (i, (parts, offending, needle)) in cases.into_iter().enumerate() {
        let out = dir.join(format!("out{i}"));
        let output = run_expect(regime().arg("merge").args(&parts).arg("--out").arg(&out), 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "case {i}: {stderr}");
        assert!(stderr.starts_with("error: merge"), "case {i}: {stderr}");
        assert!(stderr.contains(needle), "case {i}: {stderr}");
        if let Some(offending) = offending {
            let named = format!("merge {}:", offending.display());
            assert!(stderr.contains(&named), "case {i}: {stderr}");
        }
        assert!(!out.exists(), "case {i}: {} written", out.display());
    }
    // The same partials in any order are one complete split.
    let out = dir.join("ok");
    run_expect(
        regime()
            .arg("merge")
            .args([&p[2], &p[0], &p[1]])
            .arg("--out")
            .arg(&out),
        0,
    );
    assert_eq!(report(&out)["overall"]["samples"], 60);
}

/// Word tokens are counted on the text in NFC: a word stored composed in
/// one record and decomposed in another is one type, and the characters
/// are NFC characters.
#[test]
fn composed_and_decomposed_forms_are_one_type() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("nfc.jsonl");
    // "café" with U+00E9, then with "e" + U+0301.
    write_jsonl(
        &corpus,
        &["caf\u{e9} noir".to_owned(), "cafe\u{301} noir".to_owned()],
    );
    let out = tmp.path().join("out");
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--out")
            .arg(&out)
            .arg("-q"),
        0,
    );
    let user = &report(&out)["roles"]["user"];
    assert_eq!(user["unigram"]["tokens"], 4, "{user}");
    assert_eq!(user["unigram"]["types"], 2, "{user}");
    assert_eq!(user["chars"], 18, "{user}");
    let top = &user["ngrams"]["2"]["top"][0];
    assert_eq!(top["ngram"], "caf\u{e9} noir", "{top}");
    assert_eq!(top["count"], 2, "{top}");
}

/// `--protect TOKEN` keeps a token whole: `[IMG]` is one word token (UAX #29
/// alone gives `IMG`, the brackets being punctuation), and one more in the
/// counts of every scope.
#[test]
fn protect_keeps_a_token_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("img.jsonl");
    let lines: Vec<String> = (0..20)
        .map(|i| format!("[IMG] describe picture {i}"))
        .collect();
    write_jsonl(&corpus, &lines);
    let top_unigrams = |extra: &[&str], name: &str| -> Vec<String> {
        let out = tmp.path().join(name);
        run_expect(
            regime()
                .arg("profile")
                .arg(&corpus)
                .arg("--out")
                .arg(&out)
                .arg("-q")
                .args(extra),
            0,
        );
        let r = report(&out);
        r["roles"]["user"]["ngrams"]["1"]["top"]
            .as_array()
            .expect("top unigrams")
            .iter()
            .map(|t| t["ngram"].as_str().expect("ngram").to_owned())
            .collect()
    };
    let plain = top_unigrams(&[], "plain");
    assert!(plain.iter().any(|t| t == "IMG"), "{plain:?}");
    assert!(!plain.iter().any(|t| t == "[IMG]"), "{plain:?}");
    let protected = top_unigrams(&["--protect", "[IMG]"], "protected");
    assert!(protected.iter().any(|t| t == "[IMG]"), "{protected:?}");
    assert!(!protected.iter().any(|t| t == "IMG"), "{protected:?}");
}

/// Shards counted with other `--protect` lists counted other tokens, so
/// `regime merge` refuses them, naming the setting; the order the tokens
/// were given in does not matter.
#[test]
fn merge_refuses_other_protected_tokens() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let a = dir.join("a.jsonl");
    small_corpus(&a, "red");
    let p0 = shard(dir, &a, "p0", "0/2", &["--protect", "[IMG]"]);
    let p1 = shard(dir, &a, "p1", "1/2", &[]);
    let out = dir.join("out");
    let output = run_expect(
        regime()
            .arg("merge")
            .args([&p0, &p1])
            .arg("--out")
            .arg(&out),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("other settings than") && stderr.contains("protected"),
        "{stderr}"
    );
    assert!(!out.exists());
    let q0 = shard(
        dir,
        &a,
        "q0",
        "0/2",
        &["--protect", "[A]", "--protect", "[B]"],
    );
    let q1 = shard(
        dir,
        &a,
        "q1",
        "1/2",
        &["--protect", "[B]", "--protect", "[A]"],
    );
    run_expect(
        regime()
            .arg("merge")
            .args([&q0, &q1])
            .arg("--out")
            .arg(&out),
        0,
    );
}

/// `merge --tokenizer` only names token ids, so it must be the file the
/// partials counted with (here they counted built-in words).
#[test]
fn merge_refuses_another_tokenizer() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let a = dir.join("a.jsonl");
    small_corpus(&a, "red");
    let p: Vec<_> = (0..2)
        .map(|i| shard(dir, &a, &format!("p{i}"), &format!("{i}/2"), &[]))
        .collect();
    let out = dir.join("out");
    let output = run_expect(
        regime()
            .arg("merge")
            .args(&p)
            .arg("--out")
            .arg(&out)
            .arg("--tokenizer")
            .arg(&a),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not the tokenizer"), "{stderr}");
    assert!(!out.exists());
}

/// `--by` keys categories by one scalar per row: a struct (the image), a
/// list (the conversation) or binary column is refused before anything is
/// read, naming the column and its type; strings, integers and booleans
/// are counted.
#[test]
fn by_takes_scalar_columns_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (col, ty) in [("image", "Struct"), ("conversations", "List")] {
        let out = tmp.path().join(col);
        let output = run_expect(
            regime()
                .arg("profile")
                .arg(sample())
                .arg("--out")
                .arg(&out)
                .args(["--by", col]),
            2,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(
            errors[0].contains(&format!("--by column `{col}` has type {ty}")),
            "{stderr}"
        );
        assert!(errors[0].contains("easy_vqa_llava.parquet: "), "{stderr}");
        assert!(!out.exists());
    }
    // With --compare, the input that lacks the column is the one named.
    let plain = tmp.path().join("plain.jsonl");
    std::fs::write(
        &plain,
        "{\"messages\": [{\"role\": \"user\", \"content\": \"a b\"}]}\n",
    )
    .unwrap();
    let out = tmp.path().join("cmp");
    let output = run_expect(
        regime()
            .args(["profile", "--compare"])
            .arg(sample())
            .arg(&plain)
            .args(["--by", "id", "--out"])
            .arg(&out),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: --by column `id` is not among the columns (messages)",
            plain.display()
        )),
        "{stderr}"
    );
    assert!(!out.exists());
    let corpus = tmp.path().join("c.jsonl");
    let mut body = String::new();
    for i in 0..6 {
        let row = serde_json::json!({
            "conversations": [{"from": "human", "value": format!("q{i}")}],
            "source": if i < 3 { "a" } else { "b" },
            "n": i % 2,
            "flag": i == 0,
        });
        body.push_str(&row.to_string());
        body.push('\n');
    }
    std::fs::write(&corpus, body).expect("write");
    let out = tmp.path().join("ok");
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--out")
            .arg(&out)
            .args(["--by", "source,n,flag"]),
        0,
    );
    let cats = &report(&out)["categories"];
    assert_eq!(cats["source"]["counts"]["a"], 3);
    assert_eq!(cats["n"]["counts"]["1"], 3);
    assert_eq!(cats["flag"]["counts"]["true"], 1);
}

/// A `--by` column named twice would count every sample twice: it is
/// refused with one error line, exit 2 and nothing written, with or
/// without `--compare`.
#[test]
fn by_column_named_twice_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for compare in [false, true] {
        let out = tmp.path().join(format!("twice-{compare}"));
        let mut cmd = regime();
        cmd.arg("profile").arg(sample());
        if compare {
            cmd.arg(sample()).arg("--compare");
        }
        let output = run_expect(cmd.arg("--out").arg(&out).args(["--by", "split,split"]), 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(
            errors,
            ["error: --by column `split` is given twice"],
            "{stderr}"
        );
        assert!(!out.exists());
    }
}

/// A null `--by` cell is its own category, apart from a string spelled
/// `<null>`: `nulls` in report.json, a null `value` in categories.parquet,
/// kept through `--shard` + `regime merge`.
#[test]
fn null_category_is_apart_from_the_string_null() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("c.jsonl");
    let mut body = String::new();
    for (i, source) in [
        Some("<null>"),
        None,
        Some("a"),
        None,
        Some("<null>"),
        Some("a"),
    ]
    .iter()
    .enumerate()
    {
        let row = serde_json::json!({
            "conversations": [{"from": "human", "value": format!("q{i}")}],
            "source": source,
        });
        body.push_str(&row.to_string());
        body.push('\n');
    }
    std::fs::write(&corpus, body).expect("write");
    let single = tmp.path().join("single");
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--out")
            .arg(&single)
            .args(["--by", "source", "-q"]),
        0,
    );
    let cats = &report(&single)["categories"]["source"];
    assert_eq!(cats["counts"], serde_json::json!({"<null>": 2, "a": 2}));
    assert_eq!(cats["nulls"], 2);
    assert_eq!((&cats["samples"], &cats["values"]), (&6.into(), &3.into()));
    let batch = crate::common::read_parquet(&single.join("categories.parquet"));
    let values = batch
        .column_by_name("value")
        .expect("value column")
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("strings");
    let got: Vec<Option<&str>> = values.iter().collect();
    assert_eq!(got, [Some("<null>"), Some("a"), None]);
    let parts = ["0/2", "1/2"].map(|i| {
        let name = format!("s{}", &i[..1]);
        shard(tmp.path(), &corpus, &name, i, &["--by", "source"])
    });
    let merged = tmp.path().join("merged");
    run_expect(
        regime().arg("merge").args(&parts).arg("--out").arg(&merged),
        0,
    );
    assert_same_outputs(&merged, &single);
    assert_eq!(
        std::fs::read(merged.join("categories.parquet")).expect("merged"),
        std::fs::read(single.join("categories.parquet")).expect("single")
    );
}

/// Exact duplicates are what `regime dedup exact` (default fields) removes:
/// the same key (role names and empty fields left out, so a user turn
/// moved to another role or an extra empty turn still matches), and
/// samples with no text are `empty`, never duplicates of each other.
#[test]
fn exact_duplicates_are_what_dedup_exact_removes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("c.jsonl");
    let turns: [&[(&str, &str)]; 7] = [
        &[("human", "hello world"), ("gpt", "bye")],
        &[("human", "hello world bye")],
        &[("human", "hello  world"), ("gpt", "bye"), ("gpt", "")],
        &[("gpt", "hello world"), ("human", "bye")],
        &[("human", "hello world"), ("gpt", "bye")],
        &[("human", "   ")],
        &[("human", "")],
    ];
    let mut body = String::new();
    for (i, conv) in turns.iter().enumerate() {
        let conv: Vec<_> = conv
            .iter()
            .map(|(from, value)| serde_json::json!({"from": from, "value": value}))
            .collect();
        body.push_str(&serde_json::json!({"id": i.to_string(), "conversations": conv}).to_string());
        body.push('\n');
    }
    std::fs::write(&corpus, body).expect("write");
    let (profile, dedup) = (tmp.path().join("profile"), tmp.path().join("dedup"));
    run_expect(
        regime()
            .arg("profile")
            .arg(&corpus)
            .arg("--out")
            .arg(&profile)
            .arg("-q"),
        0,
    );
    run_expect(
        regime()
            .args(["dedup", "exact"])
            .arg(&corpus)
            .arg("--out")
            .arg(&dedup)
            .arg("-q"),
        0,
    );
    let d = &report(&profile)["overall"]["duplication"];
    let bytes = std::fs::read(dedup.join("report.json")).expect("dedup report");
    let want: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(want["duplicates"], 3);
    assert_eq!(d["exact_duplicates"], want["duplicates"]);
    assert_eq!(d["empty"], want["empty"]);
    assert_eq!(d["samples"], want["rows"]);
    // Per role, as `dedup exact --on ROLE` keys rows: user turns "hello
    // world" in samples 0, 2 and 4; assistant turns "bye" in 0, 2 and 4.
    let roles = &report(&profile)["roles"];
    assert_eq!(roles["user"]["duplication"]["exact_duplicates"], 2);
    assert_eq!(roles["user"]["duplication"]["empty"], 2);
    assert_eq!(roles["assistant"]["duplication"]["exact_duplicates"], 2);
}

/// `--top-k 0` is a choice, not a mistake: no top lists (an empty
/// `ngrams.parquet`), every other figure as with the default.
#[test]
fn top_k_zero_lists_nothing_and_keeps_the_figures() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("c.jsonl");
    small_corpus(&corpus, "red");
    let (dflt, zero) = (tmp.path().join("default"), tmp.path().join("zero"));
    for (out, k) in [(&dflt, "20"), (&zero, "0")] {
        run_expect(
            regime()
                .arg("profile")
                .arg(&corpus)
                .arg("--out")
                .arg(out)
                .args(["--top-k", k, "-q"]),
            0,
        );
    }
    let (a, b) = (report(&dflt), report(&zero));
    for n in ["1", "2", "3", "4"] {
        let (fa, fb) = (&a["overall"]["ngrams"][n], &b["overall"]["ngrams"][n]);
        assert_eq!(fb["top"], Value::Array(Vec::new()), "n = {n}");
        assert!(!fa["top"].as_array().expect("top").is_empty(), "n = {n}");
        for k in [
            "total",
            "distinct",
            "distinct_ratio",
            "concentration",
            "exact",
        ] {
            assert_eq!(fa[k], fb[k], "n = {n}: {k}");
        }
    }
    assert_eq!(a["overall"]["unigram"], b["overall"]["unigram"]);
}

/// With a model tokenizer (the real Qwen3 byte-level BPE), a top n-gram
/// carries its ids, its vocabulary strings (`ĠCV`) and the decoded text
/// (` CV`), in report.json, ngrams.parquet and on the page.
#[test]
fn model_token_grams_carry_ids_and_decoded_text() {
    let tokenizer = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/tokenizers/qwen3-tokenizer.json");
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a.jsonl");
    write_jsonl(&a, &["图片 图片 图片 the CV".to_owned()]);
    let out = tmp.path().join("p");
    run_expect(
        regime()
            .arg("profile")
            .arg(&a)
            .arg("--out")
            .arg(&out)
            .arg("--tokenizer")
            .arg(&tokenizer),
        0,
    );
    let r = report(&out);
    let top = r["roles"]["user"]["ngrams"]["1"]["top"]
        .as_array()
        .expect("top unigrams");
    // Qwen3 has `图片` as one token, ` 图片` as ` 图` + `片`.
    let han = top.iter().find(|t| t["text"] == "图片").expect("'图片'");
    assert_eq!(han["count"], 1, "{han}");
    assert_eq!(han["ngram"], "åĽ¾çīĩ", "vocabulary strings are byte-level");
    let bigrams = r["roles"]["user"]["ngrams"]["2"]["top"]
        .as_array()
        .expect("top bigrams");
    let spaced = bigrams
        .iter()
        .find(|t| t["text"] == " 图片")
        .expect("' 图片'");
    assert_eq!(spaced["count"], 2, "{spaced}");
    let cv = top.iter().find(|t| t["text"] == " CV").expect("' CV'");
    assert_eq!(cv["ngram"], "ĠCV");
    assert_eq!(cv["ids"].as_array().map(Vec::len), Some(1));

    let batch = crate::common::read_parquet(&out.join("ngrams.parquet"));
    let texts = batch
        .column_by_name("text")
        .expect("text column")
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("text is utf8");
    assert!(texts.iter().any(|t| t == Some(" 图片")));
    assert_eq!(arrow::array::Array::null_count(texts), 0);
    assert!(
        batch
            .column_by_name("ids")
            .is_some_and(|c| c.null_count() == 0)
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("page");
    assert!(html.contains("␣图片 (2)"), "decoded text on the page");
}

/// Partials record their tokenizer's absolute path, so `merge` run from
/// another directory finds it; the file merge reads, recorded or given, must
/// be the one the partials counted with (a changed file would misname every
/// token). An empty corpus is refused split as whole.
#[test]
fn merge_reads_the_partials_tokenizer_from_anywhere_and_checks_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let a = dir.join("a.jsonl");
    small_corpus(&a, "red");
    let tokenizer = dir.join("tok.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/tokenizers/qwen3-tokenizer.json"),
        &tokenizer,
    )
    .expect("copy tokenizer");
    // Named relative to `dir`, as typed there.
    let p: Vec<PathBuf> = (0..2)
        .map(|i| {
            let out = dir.join(format!("p{i}"));
            run_expect(
                regime()
                    .current_dir(dir)
                    .args(["profile", "a.jsonl", "--tokenizer", "tok.json", "--out"])
                    .arg(&out)
                    .args(["--shard", &format!("{i}/2"), "-q"]),
                0,
            );
            out
        })
        .collect();
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    let merged = dir.join("merged");
    run_expect(
        regime()
            .current_dir(&elsewhere)
            .arg("merge")
            .args(&p)
            .arg("--out")
            .arg(&merged),
        0,
    );
    assert_eq!(report(&merged)["settings"]["token_space"], "ids");
    // The same file changed since: refused, not misnamed.
    let mut bytes = std::fs::read(&tokenizer).expect("read");
    bytes.push(b'\n');
    std::fs::write(&tokenizer, bytes).expect("write");
    let out = dir.join("stale");
    let output = run_expect(regime().arg("merge").args(&p).arg("--out").arg(&out), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the partials' tokenizer") && stderr.contains("changed since"),
        "{stderr}"
    );
    assert!(!out.exists());

    let empty = dir.join("empty.parquet");
    let rows = crate::common::read_parquet(&sample());
    crate::common::write_parquet(&empty, &[rows.slice(0, 0)], 50);
    let output = run_expect(
        regime()
            .arg("profile")
            .arg(&empty)
            .args(["--shard", "0/2", "--out"])
            .arg(dir.join("e0")),
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no rows to profile"), "{stderr}");
}
