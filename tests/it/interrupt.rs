//! kill -9 in the middle of `condition c`: nothing partial is visible, and a
//! rerun (without `--overwrite`) succeeds with the same outputs as an
//! uninterrupted run.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;

use crate::common::{
    all_entries, parquet_files, read_parquet, regime, run_expect, sample, write_parquet,
};

#[test]
fn kill_9_leaves_nothing_partial_and_rerun_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.parquet");
    let rows = read_parquet(&sample());
    let copies: Vec<RecordBatch> = (0..20).map(|_| rows.clone()).collect();
    write_parquet(&big, &copies, 5000);

    let out = dir.path().join("out");
    // zstd level 19 makes the writer slow enough to be caught mid-run.
    let args = [
        "--seed",
        "3",
        "--zstd-level",
        "19",
        "--row-group-rows",
        "500",
    ];
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("regime"))
        .args(["condition", "c"])
        .arg(&big)
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
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "killed mid-run, not finished: {status:?}"
    );
    assert!(
        parquet_files(&out).is_empty(),
        "visible partial output: {:?}",
        all_entries(&out)
    );
    assert!(!out.join("manifest.json").exists());

    // Rerun into the same directory, no --overwrite needed.
    run_expect(
        regime()
            .args(["condition", "c"])
            .arg(&big)
            .arg("--out")
            .arg(&out)
            .args(args),
        0,
    );
    let reference = dir.path().join("reference");
    run_expect(
        regime()
            .args(["condition", "c"])
            .arg(&big)
            .arg("--out")
            .arg(&reference)
            .args(args),
        0,
    );
    let (a, b) = (parquet_files(&out), parquet_files(&reference));
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
    }
    assert!(!staging.exists());
}
