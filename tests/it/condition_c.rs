//! `regime condition c` end to end on the real sample corpus.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::{UInt16Type, UInt64Type};
use tempfile::TempDir;

use crate::common::{parquet_files, read_parquet, regime, run_expect, sample};

fn build(dir: &TempDir, name: &str, extra: &[&str], threads: &str) -> std::path::PathBuf {
    let out = dir.path().join(name);
    run_expect(
        regime()
            .env("RAYON_NUM_THREADS", threads)
            .args(["condition", "c"])
            .arg(sample())
            .arg("--out")
            .arg(&out)
            .args(extra),
        0,
    );
    out
}

fn read_output(dir: &std::path::Path) -> RecordBatch {
    let parts: Vec<RecordBatch> = parquet_files(dir).iter().map(|p| read_parquet(p)).collect();
    assert!(!parts.is_empty(), "no parquet output in {}", dir.display());
    concat_batches(&parts[0].schema(), &parts).expect("concat")
}

#[test]
fn seed_7_repeats_250_rows_ten_times_and_keeps_d2() {
    let dir = tempfile::tempdir().unwrap();
    let out = build(&dir, "c", &["--seed", "7"], "2");
    let source = read_parquet(&sample());
    let output = read_output(&out);
    assert_eq!(output.num_rows(), 5000);

    let src_rows = output
        .column_by_name("regime_source_row")
        .expect("provenance column")
        .as_primitive::<UInt64Type>()
        .clone();
    let copies = output
        .column_by_name("regime_copy")
        .expect("copy column")
        .as_primitive::<UInt16Type>()
        .clone();
    let mut counts: BTreeMap<u64, Vec<u16>> = BTreeMap::new();
    for i in 0..2500 {
        counts
            .entry(src_rows.value(i))
            .or_default()
            .push(copies.value(i));
    }
    assert_eq!(counts.len(), 250, "250 distinct source rows in D1's phase");
    for (row, mut c) in counts {
        assert!(row < 2500, "phase row {row} comes from D1");
        c.sort_unstable();
        assert_eq!(
            c,
            (0..10).collect::<Vec<u16>>(),
            "row {row} appears 10 times"
        );
    }
    for i in 2500..5000 {
        assert_eq!(src_rows.value(i), i as u64, "D2 row {i} in order");
        assert_eq!(copies.value(i), 0);
    }

    // Every column of every output row equals its source row, same types.
    let indices =
        UInt32Array::from_iter_values(src_rows.values().iter().map(|&r| u32::try_from(r).unwrap()));
    let expected = take_record_batch(&source, &indices).unwrap();
    for (c, field) in source.schema().fields().iter().enumerate() {
        let got = output.column_by_name(field.name()).expect("column kept");
        assert_eq!(
            got.data_type(),
            field.data_type(),
            "type of {}",
            field.name()
        );
        assert_eq!(
            got.to_data(),
            expected.column(c).to_data(),
            "values of {}",
            field.name()
        );
    }
    assert_eq!(output.num_columns(), source.num_columns() + 2);

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["chosen_rows"], 250);
    assert_eq!(report["d1_rows"], 2500);
    assert_eq!(report["min_copies"], 10);
    assert_eq!(report["config"]["seed"], 7);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rows_in"], 5000);
    assert_eq!(
        manifest["inputs"][0]["xxh3_128"].as_str().unwrap().len(),
        32
    );
    assert!(
        manifest["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["path"] == "report.json")
    );
}

#[test]
fn outputs_are_byte_identical_at_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    // Small row groups in the output exercise more batches per thread.
    let args = ["--seed", "7", "--row-group-rows", "700"];
    let one = build(&dir, "t1", &args, "1");
    let two = build(&dir, "t2", &args, "2");
    let (a, b) = (parquet_files(&one), parquet_files(&two));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{}",
            x.display()
        );
    }
    assert_eq!(
        std::fs::read(one.join("report.json")).unwrap(),
        std::fs::read(two.join("report.json")).unwrap()
    );
}

#[test]
fn layouts_place_copies_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let adjacent = read_output(&build(&dir, "adj", &["--layout", "adjacent"], "2"));
    let rows = adjacent
        .column_by_name("regime_source_row")
        .unwrap()
        .as_primitive::<UInt64Type>()
        .clone();
    // Each chosen row's 10 copies sit together, rows ascending.
    for block in 0..250 {
        let first = rows.value(block * 10);
        assert!((0..10).all(|c| rows.value(block * 10 + c) == first));
        if block > 0 {
            assert!(rows.value(block * 10 - 1) < first);
        }
    }
    let spread = read_output(&build(&dir, "spread", &["--layout", "spread"], "2"));
    let rows = spread
        .column_by_name("regime_source_row")
        .unwrap()
        .as_primitive::<UInt64Type>()
        .clone();
    // Copies of one row are k = 250 positions apart.
    for i in 0..2250 {
        assert_eq!(rows.value(i), rows.value(i + 250));
    }
}

#[test]
fn other_seed_other_rows_and_inconsistent_fraction_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let a = read_output(&build(&dir, "s1", &["--seed", "1"], "2"));
    let b = read_output(&build(&dir, "s2", &["--seed", "2"], "2"));
    assert_ne!(
        a.column_by_name("regime_source_row").unwrap().to_data(),
        b.column_by_name("regime_source_row").unwrap().to_data()
    );
    let out = dir.path().join("bad");
    let refused = |extra: &[&str]| {
        let output = run_expect(
            regime()
                .args(["condition", "c"])
                .arg(sample())
                .arg("--out")
                .arg(&out)
                .args(extra),
            2,
        );
        assert!(!out.exists());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    for fraction in ["0.2", "NaN"] {
        let stderr = refused(&["--fraction", fraction, "--repeat", "10"]);
        assert!(stderr.contains("--fraction"), "{stderr}");
    }
    // The parser states the range RepeatConfig allows (at least one copy),
    // for too few copies as for too many.
    for repeat in ["0", "70000"] {
        let stderr = refused(&["--repeat", repeat]);
        assert!(
            stderr.contains(&format!(
                "invalid value '{repeat}' for '--repeat <N>': must be a whole number from 1 to 65535"
            )),
            "{stderr}"
        );
    }
}

/// F5: |D1| = ⌊n·split⌋ exactly, where n·split in floating point falls just
/// below the integer (100 × 0.29 = 28.999999999999996).
#[test]
fn d1_size_is_exact_for_splits_that_floats_round_down() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hundred.parquet");
    crate::common::write_parquet(&input, &[read_parquet(&sample()).slice(0, 100)], 50);
    for (split, d1) in [("0.29", 29), ("0.57", 57)] {
        let out = dir.path().join(format!("c-{split}"));
        run_expect(
            regime()
                .args(["-q", "condition", "c"])
                .arg(&input)
                .arg("--out")
                .arg(&out)
                .args(["--split", split]),
            0,
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(report["d1_rows"], d1, "--split {split}");
        assert_eq!(report["d2_rows"], 100 - d1, "--split {split}");
    }
}

/// The summary line says the copies written: on a D1 of 4 rows one chosen
/// row gets 4 copies, not the 10 asked for.
#[test]
fn summary_counts_the_copies_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("nine.parquet");
    crate::common::write_parquet(&input, &[read_parquet(&sample()).slice(0, 9)], 50);
    let output = run_expect(
        regime()
            .args(["condition", "c"])
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join("c")),
        0,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 of D1's 4 rows × 4 copies"), "{stderr}");
}
