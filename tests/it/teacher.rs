//! `regime condition d` against real HTTP peers on 127.0.0.1: the
//! deterministic server of `teacher_server`, the fault-injecting proxy in
//! front of it, and (when built) llama.cpp's `llama-server`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use serde_json::Value;

use crate::common::{parquet_files, read_parquet, regime, run_expect, sample, write_parquet};
use crate::dedup::{fields_file, write_corpus};
use crate::teacher_server::{
    Fault, LogEntry, Proxy, ProxyConfig, ServerConfig, deterministic_completion, runtime,
    start_logged_server, start_proxy, start_server, start_stoppable_server,
};

const MODEL: &str = "teacher-test";

/// The first `rows` rows of the bundled sample.
fn sample_rows(dir: &Path, rows: usize) -> PathBuf {
    let all = read_parquet(&sample());
    let path = dir.join(format!("sample-{rows}.parquet"));
    write_parquet(&path, &[all.slice(0, rows)], 50);
    path
}

/// A `columns` corpus of `rows` distinct prompts and answers (every field
/// its own request: repeated texts are sent once) and its field map.
fn distinct_rows(dir: &Path, rows: usize) -> (PathBuf, PathBuf) {
    let input = dir.join(format!("distinct-{rows}.parquet"));
    let prompts: Vec<String> = (0..rows)
        .map(|i| format!("Question {i}: which colour is the shape in picture number {i}?"))
        .collect();
    write_corpus(&input, &prompts);
    (input, fields_file(dir))
}

fn condition_d(input: &Path, out: &Path, url: &str) -> assert_cmd::Command {
    let mut cmd = regime();
    cmd.args(["-q", "condition", "d"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--teacher-url", url, "--model", MODEL])
        .env_remove("REGIME_TEACHER_API_KEY");
    cmd
}

/// `report.json`, checked against its schema.
fn report(out: &Path) -> Value {
    let report =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    crate::schemas::assert_conforms("condition-d-report", &report, "report.json");
    report
}

fn output(out: &Path) -> RecordBatch {
    let files = parquet_files(out);
    assert_eq!(files.len(), 1, "{files:?}");
    read_parquet(&files[0])
}

/// The distinct statuses of the rewritten fields, sorted.
fn status_kinds(batch: &RecordBatch) -> Vec<String> {
    let kinds: std::collections::BTreeSet<String> = statuses(batch)
        .into_iter()
        .flatten()
        .map(|(status, _)| status)
        .collect();
    kinds.into_iter().collect()
}

/// `(status, cause)` of every rewritten field, row by row.
fn statuses(batch: &RecordBatch) -> Vec<Vec<(String, Option<String>)>> {
    let list = batch
        .column_by_name("regime_rewrite_status")
        .unwrap()
        .as_list::<i32>();
    (0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return Vec::new();
            }
            let items = list.value(row);
            let items = items.as_struct();
            let status = items.column_by_name("status").unwrap().as_string::<i32>();
            let cause = items.column_by_name("cause").unwrap().as_string::<i32>();
            (0..items.len())
                .map(|i| {
                    (
                        status.value(i).to_owned(),
                        cause.is_valid(i).then(|| cause.value(i).to_owned()),
                    )
                })
                .collect()
        })
        .collect()
}

fn count(log: &[LogEntry], fault: Fault) -> u64 {
    log.iter().filter(|e| e.fault == Some(fault)).count() as u64
}

fn retries(report: &Value, cause: &str) -> u64 {
    report["summary"]["requests"]["retries"][cause]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn every_fault_is_retried_and_counted_like_the_proxy_log() {
    const ROWS: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    // Distinct prompts: every field is its own request (repeated ones are
    // coalesced, which would blur per-request counts into per-field ones).
    let (input, fields) = distinct_rows(dir.path(), ROWS);
    let rt = runtime();
    let upstream = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        ..ServerConfig::default()
    }));
    // Each of the 8 faults on 1 request in 12 (8.3%), in a fixed cycle.
    let mut faults: Vec<Option<Fault>> = Fault::ALL.iter().copied().map(Some).collect();
    faults.extend([None; 4]);
    let proxy: Proxy = rt.block_on(start_proxy(ProxyConfig {
        upstream,
        faults,
        // Far past the client's timeout, which is itself far past a plain
        // answer even on a loaded machine: a `timeout` retry is a stall.
        stall: Duration::from_secs(10),
        freeze_after: None,
    }));
    let out = dir.path().join("d");
    let url = format!("http://{}", proxy.addr);
    run_expect(
        condition_d(&input, &out, &url)
            .args(["--profile", "columns", "--fields"])
            .arg(&fields)
            .args([
                "--split",
                "1",
                "--timeout",
                "4",
                "--backoff-base-ms",
                "20",
                "--concurrency",
                "32",
                // Half of all attempts fail in transport: 20 retries make giving
                // up (0.5^21 per field) practically impossible, so every fault is
                // retried.
                "--max-retries",
                "20",
            ]),
        0,
    );
    let log = proxy.log.lock().unwrap().clone();
    let total = log.len() as u64;
    for fault in Fault::ALL {
        assert!(
            count(&log, fault) * 20 >= total,
            "{fault:?} on fewer than 5% of {total} requests"
        );
    }
    let r = report(&out);
    assert_eq!(retries(&r, "http-429"), count(&log, Fault::RateLimited));
    assert_eq!(retries(&r, "http-500"), count(&log, Fault::Internal));
    assert_eq!(retries(&r, "http-503"), count(&log, Fault::Unavailable));
    assert_eq!(retries(&r, "timeout"), count(&log, Fault::Stall));
    assert_eq!(retries(&r, "reset"), count(&log, Fault::Reset));
    assert_eq!(retries(&r, "bad-body"), count(&log, Fault::Truncated));
    let summary = &r["summary"];
    assert_eq!(summary["requests"]["attempts"].as_u64().unwrap(), total);
    // Every malformed answer was either retried or is the cause of a failure.
    let failures = &summary["fields"]["failures"];
    let malformed_failed =
        failures["no-tags"].as_u64().unwrap_or(0) + failures["length"].as_u64().unwrap_or(0);
    assert_eq!(
        summary["requests"]["malformed_retries"].as_u64().unwrap() + malformed_failed,
        count(&log, Fault::NoTags) + count(&log, Fault::Length)
    );
    // Token totals equal the usage the proxy passed back.
    let (prompt, completion) = log
        .iter()
        .filter_map(|e| e.usage)
        .fold((0, 0), |(p, c), (a, b)| (p + a, c + b));
    assert_eq!(summary["usage"]["prompt_tokens"].as_u64().unwrap(), prompt);
    assert_eq!(
        summary["usage"]["completion_tokens"].as_u64().unwrap(),
        completion
    );
    // Every row is there; every field is rewritten or flagged with a cause.
    let batch = output(&out);
    assert_eq!(batch.num_rows(), ROWS);
    let fields: Vec<(String, Option<String>)> = statuses(&batch).into_iter().flatten().collect();
    assert_eq!(
        fields.len() as u64,
        summary["fields"]["total"].as_u64().unwrap()
    );
    for (status, cause) in &fields {
        match status.as_str() {
            "rewritten" => assert!(cause.is_none()),
            "kept-original" => assert!(cause.is_some()),
            other => panic!("unexpected status {other}"),
        }
    }
    let rewritten = fields.iter().filter(|(s, _)| s == "rewritten").count() as u64;
    assert_eq!(rewritten, summary["fields"]["rewritten"].as_u64().unwrap());
    assert!(
        rewritten * 10 >= fields.len() as u64 * 9,
        "{rewritten} of {}",
        fields.len()
    );
}

/// Runs condition d on `input` through a proxy that freezes after
/// `freeze_after` answers, kills the process once frozen, and returns the
/// proxy log.
fn run_and_kill(
    (input, fields): (&Path, &Path),
    out: &Path,
    cache: &Path,
    freeze_after: u64,
) -> Vec<LogEntry> {
    let rt = runtime();
    let upstream = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        latency: Duration::from_millis(5),
        ..ServerConfig::default()
    }));
    let proxy = rt.block_on(start_proxy(ProxyConfig {
        upstream,
        faults: Vec::new(),
        stall: Duration::ZERO,
        freeze_after: Some(freeze_after),
    }));
    let url = format!("http://{}", proxy.addr);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("regime"))
        .args(["-q", "condition", "d"])
        .arg(input)
        .args(["--profile", "columns", "--fields"])
        .arg(fields)
        .arg("--out")
        .arg(out)
        .arg("--cache-dir")
        .arg(cache)
        .args([
            "--teacher-url",
            &url,
            "--model",
            MODEL,
            "--concurrency",
            "8",
            "--split",
            "1",
        ])
        .env_remove("REGIME_TEACHER_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !proxy.frozen.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_mins(2), "never froze");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the freeze"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Let every answer already received reach the cache, then kill -9.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    proxy.log.lock().unwrap().clone()
}

fn serve_all((input, fields): (&Path, &Path), out: &Path, cache: &Path) -> Vec<LogEntry> {
    let rt = runtime();
    let proxy = rt.block_on(start_logged_server(MODEL));
    let url = format!("http://{}", proxy.addr);
    run_expect(
        condition_d(input, out, &url)
            .args(["--profile", "columns", "--fields"])
            .arg(fields)
            .arg("--cache-dir")
            .arg(cache)
            .args(["--concurrency", "8", "--split", "1"]),
        0,
    );
    proxy.log.lock().unwrap().clone()
}

#[test]
fn kill_9_then_rerun_sends_no_answered_request_again() {
    let dir = tempfile::tempdir().unwrap();
    // Distinct texts: 300 requests (a corpus with repeats sends fewer, and
    // could finish before the freeze point).
    let (input, fields) = distinct_rows(dir.path(), 150);
    let input = (input.as_path(), fields.as_path());
    let (out, cache) = (dir.path().join("d"), dir.path().join("cache"));
    // A point between 40 and 200 of the 300 requests, from the clock.
    let freeze = 40
        + u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_millis(),
        ) % 160;
    let first = run_and_kill(input, &out, &cache, freeze);
    assert!(
        parquet_files(&out).is_empty(),
        "a killed run published data"
    );
    let answered: HashSet<u128> = first
        .iter()
        .filter(|e| e.completed)
        .map(|e| e.key)
        .collect();
    // Identical prompts share a key, so count answers, not keys.
    assert!(first.iter().filter(|e| e.completed).count() as u64 >= freeze);
    let second = serve_all(input, &out, &cache);
    let again: Vec<&LogEntry> = second
        .iter()
        .filter(|e| answered.contains(&e.key))
        .collect();
    assert!(
        again.is_empty(),
        "{} answered requests sent again",
        again.len()
    );
    // The resumed output equals an uninterrupted run's, byte for byte.
    let (fresh_out, fresh_cache) = (dir.path().join("fresh"), dir.path().join("fresh-cache"));
    serve_all(input, &fresh_out, &fresh_cache);
    let (a, b) = (parquet_files(&out), parquet_files(&fresh_out));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{x:?} differs from {y:?}"
        );
    }
}

#[test]
fn batch_export_then_import_completes_without_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 40);
    let cache = dir.path().join("cache");
    let requests = dir.path().join("requests.jsonl");
    // Nothing listens on the teacher URL: export must not call it.
    let closed = "http://127.0.0.1:9";
    let out = dir.path().join("d");
    let shown = run_expect(
        condition_d(&input, &out, closed)
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--export-batch")
            .arg(&requests),
        0,
    );
    let estimate: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let answers = dir.path().join("responses.jsonl");
    let lines = batch_responses(&requests, &answers);
    assert_eq!(lines.len() as u64, estimate["requests"].as_u64().unwrap());
    assert!(!lines.is_empty());
    let mut ids = HashSet::new();
    for line in &lines {
        assert_eq!(line["method"], "POST");
        assert_eq!(line["url"], "/v1/chat/completions");
        assert_eq!(line["body"]["model"], MODEL);
        assert!(
            line["body"]["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("Content to rewrite: ")
        );
        assert!(
            ids.insert(line["custom_id"].as_str().unwrap().to_owned()),
            "custom_id repeated"
        );
    }
    // The proxy logs any request that would still be sent.
    let rt = runtime();
    let proxy = rt.block_on(start_logged_server(MODEL));
    let url = format!("http://{}", proxy.addr);
    run_expect(
        condition_d(&input, &out, &url)
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--import-batch")
            .arg(&answers),
        0,
    );
    assert!(proxy.log.lock().unwrap().is_empty(), "a request was sent");
    let r = report(&out);
    assert_eq!(r["summary"]["requests"]["attempts"], 0);
    // A repeated prompt is exported (and answered) once.
    let repeats = estimate["repeats"].as_u64().unwrap();
    assert_eq!(
        r["summary"]["fields"]["total"].as_u64(),
        Some(lines.len() as u64 + repeats)
    );
    assert_eq!(
        r["summary"]["fields"]["rewritten"],
        r["summary"]["fields"]["total"]
    );
}

/// With the answers of a batch imported, the run needs no --teacher-url;
/// a field the batch left unanswered is said, not silently kept.
#[test]
fn an_imported_batch_needs_no_teacher_url() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 40);
    let closed = "http://127.0.0.1:9";
    let offline = |name: &str, answers: &Path, cache: &Path| {
        let mut cmd = regime();
        cmd.args(["condition", "d"])
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join(name))
            .args(["--model", MODEL, "--cache-dir"])
            .arg(cache)
            .arg("--import-batch")
            .arg(answers)
            .env_remove("REGIME_TEACHER_URL")
            .env_remove("REGIME_TEACHER_API_KEY");
        run_expect(&mut cmd, 0)
    };
    let export = |cache: &Path, requests: &Path| {
        run_expect(
            condition_d(&input, &dir.path().join("unused"), closed)
                .arg("--cache-dir")
                .arg(cache)
                .arg("--export-batch")
                .arg(requests),
            0,
        );
    };
    let (cache, requests) = (dir.path().join("cache"), dir.path().join("requests.jsonl"));
    export(&cache, &requests);
    let answers = dir.path().join("responses.jsonl");
    batch_responses(&requests, &answers);
    offline("d", &answers, &cache);
    let r = report(&dir.path().join("d"));
    assert_eq!(
        r["summary"]["fields"]["rewritten"],
        r["summary"]["fields"]["total"]
    );
    let partial_cache = dir.path().join("cache-partial");
    export(&partial_cache, &dir.path().join("requests-2.jsonl"));
    let partial = dir.path().join("partial.jsonl");
    let all = std::fs::read_to_string(&answers).unwrap();
    std::fs::write(&partial, all.lines().skip(1).collect::<Vec<_>>().join("\n")).unwrap();
    let shown = offline("d-partial", &partial, &partial_cache);
    let stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(
        stderr.contains("had no answer in the cache and no --teacher-url"),
        "{stderr}"
    );
}

/// What `vllm run-batch` would write back for the request lines in `requests`.
fn batch_responses(requests: &Path, responses: &Path) -> Vec<Value> {
    let lines: Vec<Value> = std::fs::read_to_string(requests)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut out = String::new();
    for l in &lines {
        let line = serde_json::json!({
            "id": "batch_req",
            "custom_id": l["custom_id"],
            "response": {"status_code": 200, "request_id": "r", "body": deterministic_completion(&l["body"])},
            "error": null
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    std::fs::write(responses, out).unwrap();
    lines
}

/// F1: the output of an older export (another template) is filed under
/// that export's requests, never under the newer export's, and response
/// lines that name no exported request are refused with file and line.
#[test]
fn a_stale_batch_output_answers_only_its_own_requests() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 20);
    let cache = dir.path().join("cache");
    let template = dir.path().join("simple.txt");
    std::fs::write(
        &template,
        "Rewrite simply. Answer in <output></output> tags.\nContent to rewrite: {text}",
    )
    .unwrap();
    let closed = "http://127.0.0.1:9";
    let out = dir.path().join("d");
    let (first, second) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let export = |file: &Path, template: Option<&Path>| {
        let mut cmd = condition_d(&input, &out, closed);
        cmd.arg("--cache-dir")
            .arg(&cache)
            .arg("--export-batch")
            .arg(file);
        if let Some(t) = template {
            cmd.arg("--template-en").arg(t);
        }
        run_expect(&mut cmd, 0);
    };
    export(&first, None);
    export(&second, Some(&template));
    let answers = dir.path().join("a-out.jsonl");
    let first_lines = batch_responses(&first, &answers);
    let second_lines = batch_responses(&second, &dir.path().join("unused.jsonl"));
    assert_eq!(first_lines.len(), second_lines.len());
    let rt = runtime();
    let proxy = rt.block_on(start_logged_server(MODEL));
    let url = format!("http://{}", proxy.addr);
    // Importing the first export's answers, then running with the second
    // template: every one of its requests is still sent.
    run_expect(
        condition_d(&input, &out, &url)
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--import-batch")
            .arg(&answers)
            .arg("--template-en")
            .arg(&template),
        0,
    );
    assert_eq!(
        proxy.log.lock().unwrap().len(),
        second_lines.len(),
        "the second template's requests were answered with the first's answers"
    );
    // Ids name their request: the two exports share none.
    let ids = |lines: &[Value]| -> HashSet<String> {
        lines
            .iter()
            .map(|l| l["custom_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(&first_lines).is_disjoint(&ids(&second_lines)));
    // The first template's requests are answered by the import.
    run_expect(
        condition_d(&input, &dir.path().join("d2"), &url)
            .arg("--cache-dir")
            .arg(&cache),
        0,
    );
    assert_eq!(proxy.log.lock().unwrap().len(), second_lines.len());
    // An id of the old format (no key) and one no export recorded are
    // refused, naming the file and line.
    let id = first_lines[0]["custom_id"].as_str().unwrap();
    let (label, _) = id.rsplit_once('#').unwrap();
    for (bad_id, reason) in [
        (label.to_owned(), "carries no request key"),
        (
            format!("{label}#{}", "0".repeat(32)),
            "matches no request exported",
        ),
    ] {
        let bad = dir.path().join("bad.jsonl");
        let ok_line = std::fs::read_to_string(&answers).unwrap();
        let ok_line = ok_line.lines().next().unwrap();
        let mut line: Value = serde_json::from_str(ok_line).unwrap();
        line["custom_id"] = bad_id.into();
        std::fs::write(&bad, format!("{ok_line}\n{line}\n")).unwrap();
        let refused = run_expect(
            condition_d(&input, &dir.path().join("d3"), closed)
                .arg("--cache-dir")
                .arg(&cache)
                .arg("--import-batch")
                .arg(&bad)
                .arg("--dry-run"),
            2,
        );
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.starts_with(&format!("error: {}:2: custom_id", bad.display())),
            "{stderr}"
        );
        assert!(stderr.contains(reason), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// F2: `--export-batch` never overwrites an input (as a file or through a
/// link), nor an existing file without `--overwrite`, and writes its file
/// whole or not at all.
#[test]
fn export_batch_refuses_inputs_and_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 20);
    let original = std::fs::read(&input).unwrap();
    let notes = dir.path().join("notes.json");
    std::fs::write(&notes, "{}").unwrap();
    let link = dir.path().join("link.parquet");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let closed = "http://127.0.0.1:9";
    let out = dir.path().join("d");
    let export = |target: &Path, overwrite: bool, code: i32| {
        let mut cmd = condition_d(&input, &out, closed);
        cmd.arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg("--export-batch")
            .arg(target);
        if overwrite {
            cmd.arg("--overwrite");
        }
        String::from_utf8_lossy(&run_expect(&mut cmd, code).stderr).into_owned()
    };
    // The input itself (also through `..` and a link), even with --overwrite.
    std::fs::create_dir(dir.path().join("x")).unwrap();
    let dotted = dir
        .path()
        .join("x")
        .join("..")
        .join(input.file_name().unwrap());
    for target in [&input, &dotted, &link] {
        let stderr = export(target, true, 2);
        assert!(stderr.contains("is the input"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert_eq!(std::fs::read(&input).unwrap(), original);
    // Another existing file: only with --overwrite.
    let stderr = export(&notes, false, 2);
    assert!(stderr.contains("file exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "{}");
    export(&notes, true, 0);
    assert!(
        std::fs::read_to_string(&notes)
            .unwrap()
            .contains("custom_id")
    );
    // A directory: refused before anything is read, with --overwrite too
    // (it used to run the whole export, then fail to rename onto it).
    for overwrite in [false, true] {
        let stderr = export(&dir.path().join("x"), overwrite, 2);
        assert!(stderr.contains("is a directory"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // A new file, and no temporary left beside it.
    let fresh = dir.path().join("requests.jsonl");
    export(&fresh, false, 0);
    assert!(fresh.is_file());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// F3: a timeout too long for a timer is a usage error, not a panic.
#[test]
fn huge_timeouts_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 5);
    let out = dir.path().join("d");
    for (option, value) in [("--timeout", "1e20"), ("--connect-timeout", "1e300")] {
        let refused = run_expect(
            condition_d(&input, &out, "http://127.0.0.1:9")
                .args([option, value])
                .arg("--dry-run"),
            2,
        );
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.starts_with(&format!("error: {option}: ")),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// F5: condition D cuts D1 at exactly ⌊n·split⌋, like condition C.
#[test]
fn d1_size_is_exact_for_splits_that_floats_round_down() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 100);
    for (split, d1) in [("0.29", 29), ("0.57", 57)] {
        let shown = run_expect(
            condition_d(&input, &dir.path().join("d"), "http://127.0.0.1:9").args([
                "--split",
                split,
                "--dry-run",
            ]),
            0,
        );
        let estimate: Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(estimate["d1_rows"], d1, "--split {split}");
    }
}

#[test]
fn api_key_is_sent_but_never_written() {
    const KEY: &str = "sk-test-DO-NOT-LEAK-4242";
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 20);
    let rt = runtime();
    let server = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        bearer: Some(format!("Bearer {KEY}")),
        ..ServerConfig::default()
    }));
    let url = format!("http://{server}");
    let (out, cache) = (dir.path().join("d"), dir.path().join("cache"));
    let done = run_expect(
        condition_d(&input, &out, &url)
            .arg("--cache-dir")
            .arg(&cache)
            .args(["-v"])
            .env("REGIME_TEACHER_API_KEY", KEY),
        0,
    );
    // A wrong key stops the run at once with the server's message.
    let refused = run_expect(
        condition_d(&input, &dir.path().join("d2"), &url)
            .arg("--cache-dir")
            .arg(dir.path().join("cache2"))
            .env("REGIME_TEACHER_API_KEY", "sk-wrong-DO-NOT-LEAK"),
        2,
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("Incorrect API key provided"), "{stderr}");
    assert!(!stderr.contains("sk-wrong"), "{stderr}");
    let mut haystacks: Vec<Vec<u8>> = vec![
        done.stdout,
        done.stderr,
        refused.stdout,
        refused.stderr.clone(),
    ];
    for root in [&out, &cache, &dir.path().join("cache2")] {
        for path in crate::common::all_entries(root) {
            if path.is_file() {
                haystacks.push(std::fs::read(&path).unwrap());
            }
        }
    }
    assert!(haystacks.len() > 6);
    for bytes in &haystacks {
        for needle in [KEY.as_bytes(), b"DO-NOT-LEAK"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the key leaked"
            );
        }
    }
}

/// F7: credentials in `--teacher-url` (userinfo, a key parameter) are
/// used but never written to the manifest nor printed.
#[test]
fn url_credentials_are_redacted_everywhere() {
    const SECRET: &str = "hunter2-DO-NOT-LEAK";
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 10);
    let rt = runtime();
    let server = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        ..ServerConfig::default()
    }));
    let url = format!("http://user:{SECRET}@{server}/v1");
    let out = dir.path().join("d");
    let done = run_expect(condition_d(&input, &out, &url).args(["-v"]), 0);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(
        manifest["config"]["teacher_url"],
        format!("http://***@{server}/v1")
    );
    assert!(
        manifest["command"]
            .as_array()
            .unwrap()
            .contains(&Value::from(format!("http://***@{server}/v1")))
    );
    // A server that is down: the error names the URL without the secret.
    let down = run_expect(
        &mut condition_d(
            &input,
            &dir.path().join("d2"),
            &format!("http://user:{SECRET}@127.0.0.1:9/?api-key={SECRET}"),
        ),
        2,
    );
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("http://***@127.0.0.1:9"),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    // Through a recipe, the URL from the environment: not in run.json,
    // run.html, the manifests or the printed plan either.
    let recipe = dir.path().join("d.toml");
    std::fs::write(
        &recipe,
        format!(
            "[input]\npaths = [{input:?}]\n\n[[stage]]\nrun = \"condition d\"\n\
             teacher-url = \"${{SECRET_URL}}\"\nmodel = \"{MODEL}\"\n"
        ),
    )
    .unwrap();
    let run_out = dir.path().join("run");
    let recipe_run = |extra: &[&str]| {
        let mut cmd = regime();
        cmd.arg("run")
            .arg(&recipe)
            .arg("--out")
            .arg(&run_out)
            .args(extra)
            .env("SECRET_URL", &url);
        run_expect(&mut cmd, 0)
    };
    let plan = recipe_run(&["--dry-run"]);
    let ran = recipe_run(&[]);
    assert!(run_out.join("run.json").is_file());
    let mut haystacks = vec![done.stdout, done.stderr, down.stdout, down.stderr];
    haystacks.extend([plan.stdout, plan.stderr, ran.stdout, ran.stderr]);
    for path in crate::common::all_entries(&out)
        .into_iter()
        .chain(crate::common::all_entries(&run_out))
    {
        if path.is_file() {
            haystacks.push(std::fs::read(&path).unwrap());
        }
    }
    for bytes in &haystacks {
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the URL's secret leaked: {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// F4: a teacher that dies mid-run stops the run (exit 2, one line, no
/// output) once fields fail in a row on connection errors, instead of a
/// "successful" condition D that kept most of D1 unrewritten; the answers
/// received are cached and a rerun resumes from them.
#[test]
fn a_teacher_that_dies_mid_run_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (input, fields) = distinct_rows(dir.path(), 300);
    let rt = runtime();
    let server = rt.block_on(start_stoppable_server(ServerConfig {
        model: MODEL.into(),
        latency: Duration::from_millis(10),
        ..ServerConfig::default()
    }));
    let (out, cache) = (dir.path().join("d"), dir.path().join("cache"));
    let url = format!("http://{}", server.addr);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("regime"))
        .args(["-q", "condition", "d"])
        .arg(&input)
        .args(["--profile", "columns", "--fields"])
        .arg(&fields)
        .arg("--out")
        .arg(&out)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--teacher-url", &url, "--model", MODEL, "--split", "1"])
        .args(["--concurrency", "2", "--max-retries", "1"])
        .args([
            "--backoff-base-ms",
            "1",
            "--timeout",
            "5",
            "--connect-timeout",
            "1",
        ])
        .env_remove("REGIME_TEACHER_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    let started = Instant::now();
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    assert!(started.elapsed() < Duration::from_mins(1));
    assert!(
        stderr.starts_with("error: teacher unreachable: 8 fields in a row"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(parquet_files(&out).is_empty(), "a condition was published");
    // A rerun against a live server resumes: the answers of the first run
    // are not asked again.
    let proxy = rt.block_on(start_logged_server(MODEL));
    run_expect(
        condition_d(&input, &out, &format!("http://{}", proxy.addr))
            .args(["--profile", "columns", "--fields"])
            .arg(&fields)
            .args(["--split", "1", "--cache-dir"])
            .arg(&cache),
        0,
    );
    let r = report(&out);
    let cached = r["summary"]["requests"]["cached_answers"].as_u64().unwrap();
    assert!(cached > 0, "nothing was cached before the server died");
    assert_eq!(
        r["summary"]["fields"]["rewritten"],
        r["summary"]["fields"]["total"]
    );
    assert_eq!(
        proxy.log.lock().unwrap().len() as u64 + cached,
        r["summary"]["fields"]["total"].as_u64().unwrap()
    );
}

#[test]
fn down_server_and_unknown_model_fail_fast_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 10);
    let out = dir.path().join("d");
    let down = run_expect(&mut condition_d(&input, &out, "http://127.0.0.1:9"), 2);
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        stderr.starts_with("error: teacher at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(parquet_files(&out).is_empty());
    // The response cache this run created holds nothing: it is not left.
    assert!(!dir.path().join("d.teacher-cache").exists());
    let rt = runtime();
    let server = rt.block_on(start_server(ServerConfig {
        model: "other-model".into(),
        ..ServerConfig::default()
    }));
    let wrong = run_expect(
        &mut condition_d(&input, &out, &format!("http://{server}")),
        2,
    );
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("does not serve model `teacher-test` (it serves: other-model)"),
        "{stderr}"
    );
    let bad = run_expect(
        condition_d(&input, &out, "http://127.0.0.1:9")
            .args(["--extra-body", r#"{"temprature":0}"#]),
        2,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown request field `temprature`"));
}

#[test]
fn d2_is_unchanged_and_d1_is_concentrated() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 200);
    let rt = runtime();
    let server = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        ..ServerConfig::default()
    }));
    let out = dir.path().join("d");
    run_expect(
        &mut condition_d(&input, &out, &format!("http://{server}")),
        0,
    );
    let (before, after) = (read_parquet(&input), output(&out));
    assert_eq!(after.num_rows(), 200);
    // D2 (rows 100..200): every input column identical, provenance null.
    for (i, field) in before.schema().fields().iter().enumerate() {
        assert_eq!(
            before.column(i).slice(100, 100).to_data(),
            after
                .column_by_name(field.name())
                .unwrap()
                .slice(100, 100)
                .to_data(),
            "{}",
            field.name()
        );
    }
    let status = after.column_by_name("regime_rewrite_status").unwrap();
    assert_eq!(status.slice(100, 100).null_count(), 100);
    assert_eq!(status.slice(0, 100).null_count(), 0);
    // Images are untouched in D1 too.
    assert_eq!(
        before
            .column_by_name("image")
            .map(|c| c.slice(0, 100).to_data()),
        after
            .column_by_name("image")
            .map(|c| c.slice(0, 100).to_data())
    );
    // Every `<image>` of D1's turns is still there.
    let images = |batch: &RecordBatch| {
        let rows = batch
            .column_by_name("conversations")
            .unwrap()
            .as_list::<i32>();
        rows.iter()
            .flatten()
            .map(|turns| {
                let value = turns.as_struct().column_by_name("value").unwrap().clone();
                let value = value.as_string::<i32>();
                value
                    .iter()
                    .flatten()
                    .map(|t| t.matches("<image>").count())
                    .sum::<usize>()
            })
            .sum::<usize>()
    };
    assert_eq!(images(&before.slice(0, 100)), images(&after.slice(0, 100)));
    assert!(images(&before.slice(0, 100)) >= 100);
    let r = report(&out);
    let cmp = &r["d1_compare"]["compare"];
    assert!(cmp["delta_types"].as_i64().unwrap() < 0, "{cmp}");
    assert!(cmp["delta_entropy_bits"].as_f64().unwrap() < 0.0, "{cmp}");
    assert!(out.join("d1-compare.html").exists());
    assert_eq!(status_kinds(&after), ["rewritten"]);
}

/// The llama.cpp build of `scripts/teacher/build-llama-server.sh`.
fn llama_server() -> Option<(PathBuf, PathBuf)> {
    let dir = std::env::var_os("REGIME_LLAMA_DIR").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/regime/llama-server")
        },
        PathBuf::from,
    );
    let server = dir.join("bin/llama-server");
    let model = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    (server.is_file() && model.is_file()).then_some((server, model))
}

/// Waits until llama-server answers `GET /health` with 200: it listens only
/// once the model is loaded, which takes longer on a loaded CI machine.
fn wait_until_ready(port: u16) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_mins(3);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            let mut reply = String::new();
            if stream.write_all(request).is_ok()
                && stream.read_to_string(&mut reply).is_ok()
                && reply.starts_with("HTTP/1.1 200")
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("llama-server on port {port} was not ready within 180 s");
}

/// Kills the server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[expect(clippy::too_many_lines, reason = "one end-to-end scenario")]
fn llama_server_rewrites_rows_and_flags_every_failure() {
    let Some((server, model)) = llama_server() else {
        {
            eprintln!(
                "SKIPPED llama_server_rewrites_rows: llama-server is not built here; \
                 scripts/teacher/build-llama-server.sh builds it (about 17 minutes) into \
                 ~/.cache/regime/llama-server (or $REGIME_LLAMA_DIR)"
            );
        }
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _llama = Child(
        std::process::Command::new(server)
            .arg("-m")
            .arg(&model)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "-t",
                "1",
                "-np",
                "4",
            ])
            .args(["-c", "8192", "--alias", MODEL, "--no-webui"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_ready(port);
    let rt = runtime();
    let upstream: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let proxy = rt.block_on(start_proxy(ProxyConfig {
        upstream,
        faults: Vec::new(),
        stall: Duration::ZERO,
        freeze_after: None,
    }));
    // One CPU thread answers a request in about 1.5 s: the suite runs 10
    // rows (about 50 distinct texts); REGIME_LLAMA_ROWS=200 runs the issue's 200 (BENCHMARKS.md).
    let rows: usize = std::env::var("REGIME_LLAMA_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), rows);
    let out = dir.path().join("d");
    // The model ignores the <output> instruction often and hits the cap:
    // real malformed answers, retried once, then kept and flagged.
    run_expect(
        condition_d(&input, &out, &format!("http://{}", proxy.addr)).args([
            "--split",
            "1",
            "--concurrency",
            "4",
            "--malformed-retries",
            "1",
            "--timeout",
            "120",
            "--temperature",
            "0.2",
        ]),
        0,
    );
    let batch = output(&out);
    assert_eq!(batch.num_rows(), rows, "nothing dropped");
    let r = report(&out);
    let summary = &r["summary"];
    let fields: Vec<(String, Option<String>)> = statuses(&batch).into_iter().flatten().collect();
    assert_eq!(
        fields.len() as u64,
        summary["fields"]["total"].as_u64().unwrap()
    );
    // Every row has user and assistant turns (about ten of each).
    assert!(fields.len() >= 2 * rows, "{} fields", fields.len());
    eprintln!(
        "llama-server, {rows} rows: fields {} requests {} usage {}",
        summary["fields"], summary["requests"], summary["usage"]
    );
    for (status, cause) in &fields {
        assert!(
            (status == "rewritten" && cause.is_none())
                || (status == "kept-original" && cause.is_some()),
            "{status} {cause:?}"
        );
    }
    let log = proxy.log.lock().unwrap().clone();
    let (prompt, completion) = log
        .iter()
        .filter_map(|e| e.usage)
        .fold((0, 0), |(p, c), (a, b)| (p + a, c + b));
    assert!(completion > 0);
    assert_eq!(summary["usage"]["prompt_tokens"].as_u64().unwrap(), prompt);
    assert_eq!(
        summary["usage"]["completion_tokens"].as_u64().unwrap(),
        completion
    );
    assert_eq!(
        summary["requests"]["attempts"].as_u64().unwrap(),
        log.len() as u64
    );
}

/// A dry run needs no server and writes nothing: no output, and no cache
/// directory when there was none (an empty one is read from memory). Only
/// a real run needs `--teacher-url`.
#[test]
fn dry_run_needs_no_server_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_rows(dir.path(), 100);
    let out = dir.path().join("out");
    let without_url = |extra: &[&str]| {
        let mut cmd = regime();
        cmd.args(["-q", "condition", "d"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--model", MODEL])
            .args(extra)
            .env_remove("REGIME_TEACHER_URL");
        cmd
    };
    let refused = run_expect(&mut without_url(&[]), 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--teacher-url"));
    // A trial of no rows would rewrite and write nothing.
    let refused = run_expect(&mut without_url(&["--dry-run", "--limit", "0"]), 2);
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("invalid value '0' for '--limit <N>': must be a whole number ≥ 1"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let output = run_expect(&mut without_url(&["--dry-run"]), 0);
    let estimate: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(estimate["requests"].as_u64().unwrap() > 0, "{estimate}");
    assert_eq!(estimate["cached"], 0);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [input.file_name().unwrap()]);
}

#[test]
fn protected_tokens_stay_out_of_requests_and_must_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("protected.parquet");
    let prompts: Vec<String> = [
        // A LLaVA turn: `<image>\n` stays out of the request and goes back.
        "<image>\nDescribe the colourful shape",
        // Inner tokens are sent; the server keeps words of ≤ 5 letters.
        "Compare <image> against <video> carefully",
        // `<picture>` (7 letters) becomes `thing`: the rewrite lost it.
        "Compare <picture> against the background",
        // Nothing but a token: nothing to rewrite, no request.
        "<image>",
    ]
    .map(str::to_owned)
    .to_vec();
    write_corpus(&input, &prompts);
    let fields = fields_file(dir.path());
    let args = |cmd: &mut assert_cmd::Command| {
        cmd.args(["--profile", "columns", "--fields"])
            .arg(&fields)
            .args(["--split", "1", "--malformed-retries", "1"])
            .args(["--protect", "<picture>"]);
    };
    // What is sent: the export holds every request body.
    let requests = dir.path().join("requests.jsonl");
    let mut export = condition_d(&input, &dir.path().join("x"), "http://127.0.0.1:9");
    args(&mut export);
    run_expect(export.arg("--export-batch").arg(&requests), 0);
    let sent: Vec<String> = std::fs::read_to_string(&requests)
        .unwrap()
        .lines()
        .map(|l| {
            let line: Value = serde_json::from_str(l).unwrap();
            let content = line["body"]["messages"][0]["content"].as_str().unwrap();
            let (_, text) = content.rsplit_once("Content to rewrite: ").unwrap();
            text.to_owned()
        })
        .collect();
    for prompt in &prompts[..3] {
        let body = prompt.trim_start_matches("<image>\n");
        assert_eq!(sent.iter().filter(|s| *s == body).count(), 1, "{sent:?}");
    }
    assert!(!sent.iter().any(|s| s.contains("<image>\n")), "{sent:?}");
    // 3 prompts and 4 answers; the bare `<image>` is not sent.
    assert_eq!(sent.len(), 7, "{sent:?}");

    let rt = runtime();
    let server = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        ..ServerConfig::default()
    }));
    let out = dir.path().join("d");
    let mut run = condition_d(&input, &out, &format!("http://{server}"));
    args(&mut run);
    run_expect(&mut run, 0);
    let after = output(&out);
    let prompt = after.column_by_name("prompt").unwrap().as_string::<i32>();
    let got: Vec<&str> = (0..4).map(|i| prompt.value(i)).collect();
    assert_eq!(
        got,
        [
            "<image>\nthing the thing shape",
            "thing <image> thing <video> thing",
            "Compare <picture> against the background",
            "<image>",
        ]
    );
    let status = statuses(&after);
    assert_eq!(
        status[2][0],
        (
            "kept-original".to_owned(),
            Some("lost-protected".to_owned())
        )
    );
    // The bare token row has only its answer's status.
    assert_eq!(status[3].len(), 1);
    assert_eq!(
        report(&out)["summary"]["fields"]["failures"]["lost-protected"],
        1
    );
}

/// Condition D on a corpus whose turns' `from` and `value` are
/// `dictionary<int32, utf8>`: D1's turns are rewritten, and the output
/// keeps the input's column types.
#[test]
fn dictionary_encoded_turns_are_rewritten_and_keep_their_type() {
    use std::sync::Arc;

    use arrow::compute::cast;
    use arrow::datatypes::{DataType, Field, Schema};

    let dir = tempfile::tempdir().unwrap();
    let plain = read_parquet(&sample()).slice(0, 100);
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let turn_type = DataType::Struct(
        vec![
            Field::new("from", dict.clone(), true),
            Field::new("value", dict, true),
        ]
        .into(),
    );
    let list_type = DataType::List(Arc::new(Field::new("element", turn_type, true)));
    let index = plain.schema().index_of("conversations").unwrap();
    let mut columns = plain.columns().to_vec();
    columns[index] = cast(&columns[index], &list_type).unwrap();
    let mut fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[index] = fields[index].clone().with_data_type(list_type);
    let encoded = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let input = dir.path().join("dict.parquet");
    write_parquet(&input, std::slice::from_ref(&encoded), 50);

    let rt = runtime();
    let server = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        ..ServerConfig::default()
    }));
    let out = dir.path().join("d");
    run_expect(
        &mut condition_d(&input, &out, &format!("http://{server}")),
        0,
    );
    let after = output(&out);
    for field in encoded.schema().fields() {
        assert_eq!(
            after.schema().field_with_name(field.name()).unwrap(),
            field.as_ref()
        );
    }
    let turns = |batch: &RecordBatch, rows: std::ops::Range<usize>| {
        let column = batch.column_by_name("conversations").unwrap();
        let plain = cast(column, plain.schema().field(index).data_type()).unwrap();
        plain.slice(rows.start, rows.len()).to_data()
    };
    // D2 unchanged, D1 rewritten.
    assert_eq!(turns(&encoded, 50..100), turns(&after, 50..100));
    assert_ne!(turns(&encoded, 0..50), turns(&after, 0..50));
    assert_eq!(status_kinds(&after), ["rewritten"]);
}

/// `--limit N` rewrites and writes the first N rows of D1 only: N rows out,
/// N rows counted as read, no D2, and requests for those rows alone.
#[test]
fn limit_rewrites_and_writes_the_first_rows_of_d1_only() {
    let dir = tempfile::tempdir().unwrap();
    let (input, fields) = distinct_rows(dir.path(), 100);
    let rt = runtime();
    let proxy = rt.block_on(start_logged_server(MODEL));
    let out = dir.path().join("d");
    run_expect(
        condition_d(&input, &out, &format!("http://{}", proxy.addr))
            .args(["--profile", "columns", "--fields"])
            .arg(&fields)
            .args(["--split", "0.5", "--limit", "7"]),
        0,
    );
    let written = output(&out);
    let ids: Vec<&str> = written
        .column_by_name("id")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    let want: Vec<String> = (0..7).map(|i| format!("doc-{i:05}")).collect();
    assert_eq!(ids, want);
    let summary = &report(&out)["summary"];
    for (key, value) in [
        ("rows_in", 7),
        ("d1_rows", 7),
        ("d2_rows", 0),
        ("rows_out", 7),
    ] {
        assert_eq!(summary[key], value, "{key}: {summary}");
    }
    let log = proxy.log.lock().unwrap().clone();
    // One request per field: the prompt and the answer of each row.
    assert_eq!(log.len(), 14);
    assert_eq!(summary["requests"]["attempts"], 14);
}

/// The circuit breaker counts fields that failed on an unreachable teacher
/// in a row: a 500 comes from a live server and resets the count, so 503
/// and 500 by turns never stop a run. Once it trips, no further request
/// goes out, from fields waiting for a connection slot either.
#[test]
fn the_breaker_counts_unreachable_fields_in_a_row_and_then_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (input, fields) = distinct_rows(dir.path(), 40);
    let rt = runtime();
    let upstream = rt.block_on(start_server(ServerConfig {
        model: MODEL.into(),
        ..ServerConfig::default()
    }));
    let proxy = |faults: Vec<Option<Fault>>| {
        rt.block_on(start_proxy(ProxyConfig {
            upstream,
            faults,
            stall: Duration::ZERO,
            freeze_after: None,
        }))
    };
    let run = |proxy: &Proxy, out: &str, concurrency: &str, code: i32| {
        run_expect(
            condition_d(
                &input,
                &dir.path().join(out),
                &format!("http://{}", proxy.addr),
            )
            .args(["--profile", "columns", "--fields"])
            .arg(&fields)
            .args(["--split", "1", "--max-retries", "0"])
            .args(["--concurrency", concurrency]),
            code,
        )
    };
    let alternating = proxy(vec![Some(Fault::Unavailable), Some(Fault::Internal)]);
    run(&alternating, "alternating", "1", 0);
    let summary = &report(&dir.path().join("alternating"))["summary"];
    assert_eq!(summary["fields"]["total"], 80, "{summary}");
    assert_eq!(summary["fields"]["rewritten"], 0, "{summary}");

    let dead = proxy(vec![Some(Fault::Unavailable)]);
    let stopped = run(&dead, "dead", "4", 2);
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        stderr.contains("teacher unreachable: 8 fields in a row"),
        "{stderr}"
    );
    // The eighth failure trips it; at most the 3 other requests under way
    // then had already been sent.
    let sent = dead.log.lock().unwrap().len();
    assert!((8..=11).contains(&sent), "{sent} requests");
}
