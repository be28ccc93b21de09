//! `regime spectral` and `regime spectral-compare` end to end: WeightWatcher
//! agreement on the real all-MiniLM-L6-v2, output files, bad inputs, dtypes,
//! shards, fused qkv, and `--base` deltas on a generated low-rank update.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::Array as _;
use safetensors::Dtype;
use safetensors::tensor::TensorView;

use crate::common::{assert_json_ends_in_one_newline, read_parquet, regime, run_expect};

fn minilm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/models/all-minilm-l6-v2")
}

fn minilm() -> PathBuf {
    minilm_dir().join("model.safetensors")
}

/// Parses a CSV with a header and no quoted commas into rows keyed by column.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

fn by_name(rows: Vec<HashMap<String, String>>) -> HashMap<String, HashMap<String, String>> {
    rows.into_iter().map(|r| (r["name"].clone(), r)).collect()
}

/// A tensor to write: name, dtype, shape, little-endian bytes.
struct Tensor {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "test values are small integers"
)]
fn tensor_f32(name: &str, shape: &[usize], values: &[f32], dtype: Dtype) -> Tensor {
    let data = match dtype {
        Dtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::F16 => values
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect(),
        Dtype::BF16 => values
            .iter()
            .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
            .collect(),
        Dtype::I32 => values
            .iter()
            .flat_map(|v| (*v as i32).to_le_bytes())
            .collect(),
        other => panic!("unsupported test dtype {other:?}"),
    };
    Tensor {
        name: name.to_owned(),
        dtype,
        shape: shape.to_vec(),
        data,
    }
}

fn write_model(path: &Path, tensors: &[Tensor]) {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                TensorView::new(t.dtype, t.shape.clone(), &t.data).expect("view"),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).expect("write safetensors");
}

/// Deterministic pseudo-random values exactly representable in bf16 (and so
/// in f16 for this range): k/64 for small integers k.
#[expect(clippy::cast_precision_loss, reason = "values below 127")]
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s % 127) as f32 - 63.0) / 64.0
        })
        .collect()
}

fn small_model(dtype: Dtype) -> Vec<Tensor> {
    vec![
        tensor_f32(
            "model.embed_tokens.weight",
            &[64, 16],
            &values(64 * 16, 1),
            dtype,
        ),
        tensor_f32(
            "model.layers.0.self_attn.q_proj.weight",
            &[16, 16],
            &values(256, 2),
            dtype,
        ),
        tensor_f32(
            "model.layers.0.mlp.up_proj.weight",
            &[48, 16],
            &values(48 * 16, 3),
            dtype,
        ),
        tensor_f32(
            "model.layers.1.self_attn.q_proj.weight",
            &[16, 16],
            &values(256, 4),
            dtype,
        ),
        tensor_f32(
            "model.layers.1.mlp.up_proj.weight",
            &[48, 16],
            &values(48 * 16, 5),
            dtype,
        ),
        tensor_f32("model.norm.weight", &[16], &values(16, 6), dtype),
    ]
}

fn spectral(model: &Path, out: &Path) -> assert_cmd::Command {
    let mut cmd = regime();
    cmd.arg("spectral").arg(model).arg("--out").arg(out);
    cmd
}

#[test]
fn minilm_matches_weightwatcher_and_writes_every_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("audit");
    let output = run_expect(spectral(&minilm(), &out).arg("-j").arg("2"), 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("alpha in [2,6]: 87.18%"), "{stderr}");

    let ours = by_name(read_csv(&out.join("layers.csv")));
    let reference = read_csv(&minilm_dir().join("ww_reference.csv"));
    assert_eq!(ours.len(), reference.len());
    for want in &reference {
        let got = &ours[&want["name"]];
        for key in [
            "alpha",
            "xmin",
            "xmax",
            "D",
            "sigma",
            "lambda_max",
            "norm",
            "stable_rank",
            "entropy",
            "erank",
            "log_alpha_norm",
        ] {
            let (a, b) = (num(got, key), num(want, key));
            assert!(
                (a - b).abs() <= 1e-6 * b.abs(),
                "{} {key}: {a} vs WeightWatcher {b}",
                want["name"]
            );
        }
        for key in ["N", "M", "num_pl_spikes", "matrix_rank"] {
            assert_eq!(got[key], want[key], "{} {key}", want["name"]);
        }
    }
    let header = std::fs::read_to_string(out.join("layers.csv")).expect("csv");
    assert!(header.starts_with(
        "name,module,layer,N,M,alpha,xmin,xmax,D,sigma,num_pl_spikes,lambda_max,norm,log_norm,log_spectral_norm,\
         alpha_weighted,log_alpha_norm,stable_rank,matrix_rank,entropy,erank,warning"
    ));

    let table = read_parquet(&out.join("layers.parquet"));
    assert_eq!(table.num_rows(), 39);
    assert!(table.schema().field_with_name("alpha").is_ok());

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary"))
            .expect("json");
    let share = summary["summary"]["share_alpha_2_6"]
        .as_f64()
        .expect("share");
    assert!((share - 0.8718).abs() < 1e-4, "{share}");

    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    for needle in [
        "<svg",
        "α = 2",
        "α = 6",
        "87.18%",
        "α by layer",
        "attention.self.value",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    assert!(!html.contains("<script") && !html.contains("src="));
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.safetensors");
    write_model(&model, &small_model(Dtype::F32));
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run_expect(spectral(&model, &one).args(["-j", "1"]), 0);
    run_expect(spectral(&model, &two).args(["-j", "2"]), 0);
    for file in ["layers.csv", "report.html"] {
        assert_eq!(
            std::fs::read(one.join(file)).expect("one"),
            std::fs::read(two.join(file)).expect("two"),
            "{file}"
        );
    }
}

#[test]
fn bf16_and_f16_give_the_f32_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut results = Vec::new();
    for (tag, dtype) in [
        ("f32", Dtype::F32),
        ("f16", Dtype::F16),
        ("bf16", Dtype::BF16),
    ] {
        let model = dir.path().join(format!("{tag}.safetensors"));
        write_model(&model, &small_model(dtype));
        let out = dir.path().join(tag);
        run_expect(&mut spectral(&model, &out), 0);
        results.push(read_csv(&out.join("layers.csv")));
    }
    assert_eq!(results[0].len(), 5, "2-D tensors only");
    assert_eq!(results[0], results[1], "f16 (values are exact in f16)");
    assert_eq!(results[0], results[2], "bf16 (values are exact in bf16)");
    let up = &results[0]
        .iter()
        .find(|r| r["name"] == "model.layers.1.mlp.up_proj.weight")
        .expect("row");
    assert_eq!(
        (
            up["module"].as_str(),
            up["layer"].as_str(),
            up["N"].as_str(),
            up["M"].as_str()
        ),
        ("mlp.up_proj", "1", "48", "16")
    );
}

#[test]
fn sharded_model_with_index_equals_single_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let single = dir.path().join("single.safetensors");
    let tensors = small_model(Dtype::F32);
    write_model(&single, &tensors);
    let sharded = dir.path().join("sharded");
    std::fs::create_dir(&sharded).expect("mkdir");
    let (first, second) = tensors.split_at(3);
    write_model(&sharded.join("model-00001-of-00002.safetensors"), first);
    write_model(&sharded.join("model-00002-of-00002.safetensors"), second);
    let weight_map: serde_json::Map<String, serde_json::Value> = first
        .iter()
        .map(|t| (t.name.clone(), "model-00001-of-00002.safetensors".into()))
        .chain(
            second
                .iter()
                .map(|t| (t.name.clone(), "model-00002-of-00002.safetensors".into())),
        )
        .collect();
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(
        sharded.join("model.safetensors.index.json"),
        index.to_string(),
    )
    .expect("index");
    run_expect(&mut spectral(&single, &dir.path().join("a")), 0);
    run_expect(&mut spectral(&sharded, &dir.path().join("b")), 0);
    // The index file itself stands for its directory.
    run_expect(
        &mut spectral(
            &sharded.join("model.safetensors.index.json"),
            &dir.path().join("i"),
        ),
        0,
    );
    let a = by_name(read_csv(&dir.path().join("a/layers.csv")));
    let b = by_name(read_csv(&dir.path().join("b/layers.csv")));
    assert_eq!(a, b);
    assert_eq!(a, by_name(read_csv(&dir.path().join("i/layers.csv"))));
    // Any other JSON file is named as JSON, not as a huge header length.
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"hidden_size": 16}"#).expect("config");
    expect_input_error(
        &mut spectral(&config, &dir.path().join("j")),
        &["config.json", "a JSON file, not safetensors"],
    );

    // An index naming a missing shard is an input error.
    std::fs::remove_file(sharded.join("model-00002-of-00002.safetensors")).expect("rm");
    let out = run_expect(&mut spectral(&sharded, &dir.path().join("c")), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));
}

#[test]
fn fused_qkv_is_split_into_thirds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (q, k, v) = (values(256, 11), values(256, 12), values(256, 13));
    let fused: Vec<f32> = q.iter().chain(&k).chain(&v).copied().collect();
    let model = dir.path().join("vit.safetensors");
    write_model(
        &model,
        &[
            tensor_f32(
                "visual.blocks.0.attn.qkv.weight",
                &[48, 16],
                &fused,
                Dtype::F32,
            ),
            tensor_f32("separate.q.weight", &[16, 16], &q, Dtype::F32),
            tensor_f32("separate.k.weight", &[16, 16], &k, Dtype::F32),
            tensor_f32("separate.v.weight", &[16, 16], &v, Dtype::F32),
        ],
    );
    run_expect(&mut spectral(&model, &dir.path().join("o")), 0);
    let rows = by_name(read_csv(&dir.path().join("o/layers.csv")));
    for part in ["q", "k", "v"] {
        let fused = &rows[&format!("visual.blocks.0.attn.qkv_{part}.weight")];
        let separate = &rows[&format!("separate.{part}.weight")];
        assert_eq!(fused["module"], format!("attn.qkv_{part}"));
        assert_eq!(fused["layer"], "0");
        assert_eq!(fused["tensor"], "visual.blocks.0.attn.qkv.weight");
        for key in [
            "alpha",
            "xmin",
            "D",
            "num_pl_spikes",
            "lambda_max",
            "erank",
            "stable_rank",
        ] {
            assert_eq!(fused[key], separate[key], "{part} {key}");
        }
    }
}

fn expect_input_error(args: &mut assert_cmd::Command, needles: &[&str]) {
    let out = run_expect(args, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn bad_inputs_exit_2_with_a_message_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");

    let text = dir.path().join("notes.safetensors");
    std::fs::write(&text, "this is not a safetensors file at all").expect("write");
    expect_input_error(
        &mut spectral(&text, &out),
        &["notes.safetensors", "not a valid safetensors file"],
    );

    let good = dir.path().join("good.safetensors");
    write_model(&good, &small_model(Dtype::F32));
    let bytes = std::fs::read(&good).expect("read");
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).expect("write");
    expect_input_error(
        &mut spectral(&truncated, &out),
        &["truncated.safetensors", "truncated"],
    );

    let ints = dir.path().join("ints.safetensors");
    write_model(
        &ints,
        &[tensor_f32(
            "layers.0.w.weight",
            &[16, 16],
            &values(256, 1),
            Dtype::I32,
        )],
    );
    expect_input_error(
        &mut spectral(&ints, &out),
        &["ints.safetensors", "unsupported dtype I32"],
    );

    let vectors = dir.path().join("vectors.safetensors");
    write_model(
        &vectors,
        &[tensor_f32("norm.weight", &[16], &values(16, 1), Dtype::F32)],
    );
    expect_input_error(
        &mut spectral(&vectors, &out),
        &["vectors.safetensors", "no 2-D weight matrix"],
    );

    let missing = dir.path().join("missing.safetensors");
    expect_input_error(&mut spectral(&missing, &out), &["missing.safetensors"]);

    let other = dir.path().join("other.safetensors");
    write_model(
        &other,
        &[tensor_f32(
            "encoder.layer.0.x.weight",
            &[16, 16],
            &values(256, 9),
            Dtype::F32,
        )],
    );
    expect_input_error(
        spectral(&good, &out).arg("--base").arg(&other),
        &["other.safetensors", "not the same architecture"],
    );
    assert!(!out.join("layers.csv").exists(), "no partial outputs");
}

/// The low-rank update of `scripts/spectral/lowrank_update.py`, applied in f32.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    reason = "small integers, exact dyadic rationals"
)]
fn lowrank_update(rows: usize, cols: usize, rank: usize) -> Vec<f32> {
    let mut d = vec![0f32; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            let u1 = ((7 * i) % 13) as f64 - 6.0;
            let v1 = ((5 * j) % 11) as f64 - 5.0;
            let mut x = u1 * v1 / 4096.0;
            if rank == 2 {
                let u2 = ((3 * i) % 7) as f64 - 3.0;
                let v2 = ((11 * j) % 17) as f64 - 8.0;
                x += u2 * v2 / 4096.0;
            }
            d[i * cols + j] = x as f32;
        }
    }
    d
}

// Generated by scripts/spectral/lowrank_update.py (numpy float64, WeightWatcher 0.7.7 WWFit).
// (name, mean_change, change_variance, relative_change, correlation, delta_erank, delta_alpha)
const EXPECTED: [(&str, f64, f64, f64, f64, f64, f64); 2] = [
    (
        "encoder.layer.2.attention.self.value.weight",
        1.986_902_603_402_630_5e-8,
        8.367_319_712_534_638e-6,
        0.044_769_217_461_957_19,
        0.998_999_620_374_294_1,
        0.088_240_535_685_599_75,
        -0.103_298_481_841_791_91,
    ),
    (
        "encoder.layer.4.intermediate.dense.weight",
        2.069_917_036_577_452_4e-9,
        1.411_832_383_903_430_6e-5,
        0.060_335_313_085_900_26,
        0.998_184_583_011_946_8,
        -0.021_991_548_120_297_466,
        -0.055_750_857_412_816_046,
    ),
];

#[test]
fn base_deltas_on_a_known_low_rank_update() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(minilm()).expect("minilm");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("parse");
    let mut tensors = Vec::new();
    for name in st.names() {
        let view = st.tensor(name).expect("tensor");
        let mut data = view.data().to_vec();
        if let Some(rank) = EXPECTED.iter().position(|e| e.0 == name).map(|i| i + 1) {
            let (rows, cols) = (view.shape()[0], view.shape()[1]);
            let update = lowrank_update(rows, cols, rank);
            for (chunk, d) in data.chunks_exact_mut(4).zip(update) {
                let w = f32::from_le_bytes(chunk.try_into().expect("4 bytes"));
                chunk.copy_from_slice(&(w + d).to_le_bytes());
            }
        }
        // Wrap the tuned copy in a VLM-style prefix: alignment must strip it.
        tensors.push(Tensor {
            name: format!("model.text_model.{name}"),
            dtype: view.dtype(),
            shape: view.shape().to_vec(),
            data,
        });
    }
    let tuned = dir.path().join("tuned.safetensors");
    write_model(&tuned, &tensors);
    let out = dir.path().join("delta");
    run_expect(spectral(&tuned, &out).arg("--base").arg(minilm()), 0);
    let rows = read_csv(&out.join("layers.csv"));
    assert_eq!(rows.len(), 39);
    for row in &rows {
        let base_name = row["base_name"].as_str();
        if let Some(e) = EXPECTED.iter().find(|e| e.0 == base_name) {
            assert!(
                (num(row, "mean_change") - e.1).abs() < 1e-12,
                "{base_name} mean_change"
            );
            let close = |key: &str, want: f64, tol: f64| {
                let got = num(row, key);
                assert!(
                    (got - want).abs() <= tol * want.abs(),
                    "{base_name} {key}: {got} vs numpy {want}"
                );
            };
            close("change_variance", e.2, 1e-9);
            close("relative_change", e.3, 1e-9);
            close("correlation", e.4, 1e-12);
            close("delta_erank", e.5, 1e-6);
            close("delta_alpha", e.6, 1e-6);
        } else {
            for (key, want) in [
                ("relative_change", "0"),
                ("correlation", "1"),
                ("change_variance", "0"),
                ("delta_erank", "0"),
                ("mean_change", "0"),
            ] {
                assert_eq!(row[key], want, "{base_name} {key} on an untouched matrix");
            }
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    for needle in [
        "relative change",
        "correlation with the base",
        "Δ effective rank",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
}

#[test]
fn compare_labels_a_trajectory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.safetensors");
    write_model(&a, &small_model(Dtype::F32));
    // Another α∈[2,6] share: MiniLM's position embeddings (α ≈ 1.55, so
    // 0%) against the small model's first layer (100%).
    let b = minilm();
    let out = dir.path().join("cmp");
    let mut cmd = regime();
    cmd.arg("spectral-compare")
        .arg(&a)
        .arg(&b)
        .arg(&b)
        .arg(&a)
        .arg("--out")
        .arg(&out);
    // Checkpoints out of training order (as a glob lists A-10k, A-2k): the
    // trajectory runs by step all the same.
    cmd.args(["--include", r"position_embeddings|layers\.0\."]);
    cmd.args([
        "--labels",
        "A@10k",
        "A@2k",
        "B@2k",
        "B@10k",
        "--reference",
        "A",
    ]);
    run_expect(&mut cmd, 0);
    let rows = read_csv(&out.join("compare.csv"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["trend"], "Stable");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("compare.json")).expect("json"))
            .expect("parse");
    let trajectory = &json["trajectory"];
    assert_eq!(trajectory["checkpoints"], serde_json::json!(["2k", "10k"]));
    assert_eq!(trajectory["ordered_by_step"], true);
    // Each condition: model b at 2k, model a at 10k.
    let percent = |i: usize| {
        json["models"][i]["summary"]["share_alpha_2_6"]
            .as_f64()
            .map(|x| x * 100.0)
    };
    assert_ne!(percent(0), percent(1), "the models must tell the order");
    for row in 0..2 {
        assert_eq!(
            trajectory["rows"][row]["shares"],
            serde_json::json!([percent(1), percent(0)]),
            "{trajectory}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(html.contains("Trajectory (reference: A)") && html.contains("α histograms"));
    assert_json_ends_in_one_newline(&out);
}

/// The output directory is never the model's (as root, read-only data is
/// no protection), a second run needs `--overwrite`, and one label per
/// model.
#[test]
fn outputs_never_go_into_a_model_directory_or_over_a_report() {
    let dir = tempfile::tempdir().unwrap();
    // A copy, so that a regression writes into the copy, not shared data.
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    std::fs::copy(minilm(), model.join("model.safetensors")).unwrap();
    let before: Vec<_> = std::fs::read_dir(&model)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let refused = |args: &[&std::ffi::OsStr], says: &str| {
        let output = run_expect(regime().args(args), 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    for command in ["spectral", "spectral-compare"] {
        refused(
            &[
                command.as_ref(),
                model.as_os_str(),
                "--out".as_ref(),
                model.as_os_str(),
            ],
            "output directory holds the input",
        );
    }
    let after: Vec<_> = std::fs::read_dir(&model)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(after, before);

    // A report is replaced only with --overwrite.
    let out = dir.path().join("out");
    for (extra, code) in [(&[][..], 0), (&[][..], 2), (&["--overwrite"][..], 0)] {
        let output = run_expect(
            regime()
                .arg("spectral")
                .arg(&model)
                .arg("--out")
                .arg(&out)
                .arg("-q")
                .args(extra),
            code,
        );
        if code == 2 {
            assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));
        }
        assert!(out.join("manifest.json").is_file());
    }

    let compare = dir.path().join("compare");
    refused(
        &[
            "spectral-compare".as_ref(),
            model.as_os_str(),
            model.as_os_str(),
            "--labels".as_ref(),
            "A@2k".as_ref(),
            "A@2k".as_ref(),
            "--out".as_ref(),
            compare.as_os_str(),
        ],
        "`A@2k` names both",
    );
    assert!(!compare.exists());
}

/// 2·I in the top `cols` rows of a `rows`×`cols` matrix: every λ is exactly 4.
fn scaled_identity(rows: usize, cols: usize) -> Vec<f32> {
    let mut v = vec![0.0; rows * cols];
    for i in 0..cols {
        v[i * cols + i] = 2.0;
    }
    v
}

#[test]
fn flat_spectrum_is_a_failed_fit_in_every_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("flat.safetensors");
    let mut tensors = small_model(Dtype::F32);
    tensors.push(tensor_f32(
        "model.layers.2.mlp.up_proj.weight",
        &[64, 32],
        &scaled_identity(64, 32),
        Dtype::F32,
    ));
    write_model(&model, &tensors);
    let out = dir.path().join("out");
    run_expect(&mut spectral(&model, &out), 0);

    let rows = by_name(read_csv(&out.join("layers.csv")));
    let flat = &rows["model.layers.2.mlp.up_proj.weight"];
    assert_eq!(flat["alpha"], "");
    assert_eq!(flat["log_alpha_norm"], "");
    assert_eq!(flat["num_pl_spikes"], "0");
    assert_eq!(flat["warning"], "fit-failed");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary"))
            .expect("json");
    let s = &json["summary"];
    let audited = s["matrices"].as_u64().expect("matrices");
    assert_eq!(s["failed_fits"], 1);
    assert_eq!(s["fitted"].as_u64(), Some(audited - 1));
    assert!(s["mean_alpha"].is_f64(), "{}", s["mean_alpha"]);
    let up = s["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .find(|p| p["key"] == "mlp.up_proj")
        .expect("up_proj profile");
    assert!(up["alpha_std"].is_f64() && up["alpha_max_jump"].is_f64());

    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(!html.contains(">inf<") && !html.contains(">NaN<"));
}

/// Splits one RFC 4180 CSV record (quoted fields, `""` for a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            _ => fields.last_mut().expect("field").push(c),
        }
    }
    fields
}

#[test]
fn compare_csvs_quote_labels_paths_and_tensor_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("a,b.safetensors");
    let mut tensors = small_model(Dtype::F32);
    tensors[2].name = "model.layers.0.mlp.\"odd,name\".weight".to_owned();
    write_model(&model, &tensors);
    let out = dir.path().join("cmp");
    let mut cmd = regime();
    cmd.arg("spectral-compare")
        .arg(&model)
        .arg(&model)
        .args(["--labels", "A,x@1k", "A,x@2k", "--out"])
        .arg(&out);
    run_expect(&mut cmd, 0);

    let text = std::fs::read_to_string(out.join("compare.csv")).expect("csv");
    let mut lines = text.lines();
    let width = csv_fields(lines.next().expect("header")).len();
    for line in lines {
        let fields = csv_fields(line);
        assert_eq!(fields.len(), width, "{line}");
        assert!(fields[0].starts_with("A,x@"), "{line}");
        assert!(fields[1].ends_with("a,b.safetensors"), "{line}");
    }
    let text = std::fs::read_to_string(out.join("layers.csv")).expect("csv");
    let mut lines = text.lines();
    let width = csv_fields(lines.next().expect("header")).len();
    let names: Vec<String> = lines
        .map(|line| {
            let fields = csv_fields(line);
            assert_eq!(fields.len(), width, "{line}");
            fields[1].clone()
        })
        .collect();
    assert!(names.contains(&"model.layers.0.mlp.\"odd,name\".weight".to_owned()));
}

#[test]
fn non_finite_weights_and_broken_headers_are_named_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    for (file, bad, dtype) in [
        ("nan.safetensors", f32::NAN, Dtype::F32),
        ("inf.safetensors", f32::INFINITY, Dtype::F32),
        // 1e5 overflows F16 to +∞.
        ("f16inf.safetensors", 1e5, Dtype::F16),
    ] {
        let path = dir.path().join(file);
        let mut tensors = small_model(dtype);
        let mut v = values(48 * 16, 3);
        v[17] = bad;
        tensors[2] = tensor_f32("model.layers.0.mlp.up_proj.weight", &[48, 16], &v, dtype);
        write_model(&path, &tensors);
        expect_input_error(
            &mut spectral(&path, &out),
            &[
                file,
                "tensor model.layers.0.mlp.up_proj.weight",
                "NaN/Inf values (1 of 768)",
            ],
        );
    }

    // Two bad tensors, the first the slowest to read: every thread count
    // names the first in the model's order.
    let two = dir.path().join("two.safetensors");
    let mut tensors = small_model(Dtype::F32);
    let mut big = values(384 * 384, 5);
    big[0] = f32::NAN;
    tensors[0] = tensor_f32("model.embed_tokens.weight", &[384, 384], &big, Dtype::F32);
    let mut small = values(256, 4);
    small[0] = f32::NAN;
    tensors[3] = tensor_f32(
        "model.layers.1.self_attn.q_proj.weight",
        &[16, 16],
        &small,
        Dtype::F32,
    );
    write_model(&two, &tensors);
    for threads in ["1", "2", "4"] {
        expect_input_error(
            spectral(&two, &out).args(["-j", threads]),
            &["tensor model.embed_tokens.weight", "exclude it"],
        );
    }

    // An unknown dtype in an otherwise valid header: not "invalid JSON".
    let good = dir.path().join("good.safetensors");
    write_model(&good, &small_model(Dtype::F32));
    let bytes = std::fs::read(&good).expect("read");
    let n = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")))
        .expect("header size");
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).expect("utf-8");
    let renamed = header.replacen("\"F32\"", "\"WHAT\"", 1);
    assert_eq!(renamed.len(), header.len() + 1);
    let mut unknown = (n as u64 + 1).to_le_bytes().to_vec();
    unknown.extend_from_slice(renamed.as_bytes());
    unknown.extend_from_slice(&bytes[8 + n..]);
    let path = dir.path().join("unkdtype.safetensors");
    std::fs::write(&path, unknown).expect("write");
    expect_input_error(
        &mut spectral(&path, &out),
        &["unkdtype.safetensors", "unknown dtype \"WHAT\""],
    );
    let message =
        String::from_utf8_lossy(&run_expect(&mut spectral(&path, &out), 2).stderr).into_owned();
    assert!(!message.contains("JSON"), "{message}");
    assert!(!out.join("layers.csv").exists(), "no partial outputs");
}

/// Without an index, a tensor name held by two `*.safetensors` files is
/// refused naming both files and the tensor; with an index, the shard the
/// index names is the one audited (a stale copy elsewhere is not).
#[test]
fn a_tensor_in_two_files_is_refused_unless_an_index_says_which() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tensors = small_model(Dtype::F32);
    let shards = dir.path().join("shards");
    std::fs::create_dir(&shards).expect("mkdir");
    let (first, second) = tensors.split_at(3);
    // The second file also holds a copy (other values) of the first's q_proj.
    let mut second: Vec<Tensor> = second.iter().map(clone_tensor).collect();
    second.push(tensor_f32(
        &first[1].name,
        &[16, 16],
        &values(256, 99),
        Dtype::F32,
    ));
    write_model(&shards.join("part-a.safetensors"), first);
    write_model(&shards.join("part-b.safetensors"), &second);
    let out = dir.path().join("out");
    expect_input_error(
        &mut spectral(&shards, &out),
        &[
            "tensor model.layers.0.self_attn.q_proj.weight",
            "part-a.safetensors",
            "part-b.safetensors",
        ],
    );
    assert!(!out.join("layers.csv").exists());

    // The index maps q_proj to part-a: the copy in part-b is left out, and
    // the audit equals the single file's.
    let weight_map: serde_json::Map<String, serde_json::Value> = first
        .iter()
        .map(|t| (t.name.clone(), "part-a.safetensors".into()))
        .chain(
            tensors[3..]
                .iter()
                .map(|t| (t.name.clone(), "part-b.safetensors".into())),
        )
        .collect();
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(
        shards.join("model.safetensors.index.json"),
        index.to_string(),
    )
    .expect("index");
    let single = dir.path().join("single.safetensors");
    write_model(&single, &tensors);
    run_expect(&mut spectral(&single, &dir.path().join("a")), 0);
    run_expect(&mut spectral(&shards, &dir.path().join("b")), 0);
    let a = by_name(read_csv(&dir.path().join("a/layers.csv")));
    let b = by_name(read_csv(&dir.path().join("b/layers.csv")));
    assert_eq!(a, b);

    // An index naming a shard that does not hold the tensor is refused.
    let mut wrong = weight_map.clone();
    wrong.insert(
        "model.layers.0.mlp.up_proj.weight".to_owned(),
        "part-b.safetensors".into(),
    );
    let index = serde_json::json!({ "metadata": {}, "weight_map": wrong });
    std::fs::write(
        shards.join("model.safetensors.index.json"),
        index.to_string(),
    )
    .expect("index");
    expect_input_error(
        &mut spectral(&shards, &dir.path().join("c")),
        &[
            "model.safetensors.index.json",
            "maps model.layers.0.mlp.up_proj.weight to",
            "part-b.safetensors, which does not hold it",
        ],
    );
}

fn clone_tensor(t: &Tensor) -> Tensor {
    Tensor {
        name: t.name.clone(),
        dtype: t.dtype,
        shape: t.shape.clone(),
        data: t.data.clone(),
    }
}

/// A bad `--include`/`--exclude` regex is one line naming the option, the
/// pattern and the reason (the regex crate's report spans five lines).
#[test]
fn an_invalid_regex_is_one_line_naming_the_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.safetensors");
    write_model(&model, &small_model(Dtype::F32));
    let out = dir.path().join("out");
    expect_input_error(
        spectral(&model, &out).args(["--include", "layers.(0"]),
        &["--include", "\"layers.(0\"", "unclosed group"],
    );
    expect_input_error(
        spectral(&model, &out).args(["--exclude", "[z-a]"]),
        &["--exclude", "\"[z-a]\"", "invalid character class range"],
    );
    let mut compare = regime();
    compare
        .arg("spectral-compare")
        .arg(&model)
        .arg("--out")
        .arg(dir.path().join("cmp"))
        .args(["--include", "("]);
    expect_input_error(&mut compare, &["--include", "\"(\"", "unclosed group"]);
    assert!(!out.exists() && !dir.path().join("cmp").exists());
}

/// `--reference` must name a condition: anything else is a one-line usage
/// error listing the conditions, before any model is read; a label names
/// its condition; a single condition is its own reference.
#[test]
fn reference_must_name_a_condition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.safetensors");
    write_model(&model, &small_model(Dtype::F32));
    let compare = |labels: &[&str], reference: Option<&str>, out: &str| {
        let mut cmd = regime();
        cmd.arg("spectral-compare");
        for _ in labels {
            cmd.arg(&model);
        }
        cmd.arg("--labels").args(labels);
        if let Some(r) = reference {
            cmd.args(["--reference", r]);
        }
        cmd.arg("--out").arg(dir.path().join(out));
        cmd
    };
    let labels = ["A@2k", "B@2k", "A@20k", "B@20k"];
    for bad in ["C", "A@99k", "a"] {
        expect_input_error(
            &mut compare(&labels, Some(bad), "bad"),
            &["--reference", &format!("\"{bad}\""), "conditions (A, B)"],
        );
    }
    // Labels without CONDITION@CHECKPOINT make no conditions at all.
    expect_input_error(
        &mut compare(&["x", "y"], Some("x"), "bad"),
        &["--reference", "\"x\"", "CONDITION@CHECKPOINT"],
    );
    assert!(
        !dir.path().join("bad").exists(),
        "refused before any output"
    );

    // A label names its condition.
    run_expect(&mut compare(&labels, Some("B@20k"), "label"), 0);
    let html = std::fs::read_to_string(dir.path().join("label/report.html")).expect("html");
    assert!(html.contains("Trajectory (reference: B)"));

    // One condition: its own reference, Stable (the same model at each step).
    let output = run_expect(&mut compare(&["A@1k", "A@2k"], None, "one"), 0);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("one/compare.json")).expect("json"))
            .expect("parse");
    assert_eq!(json["trajectory"]["reference"], "A");
    assert_eq!(json["trajectory"]["rows"][0]["trend"], "Stable");
    assert!(String::from_utf8_lossy(&output.stderr).contains("Stable"));
}

/// A FIFO (or any other non-regular file) as the model, the base or the
/// prefix map is refused at once; opening it would wait for a writer.
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.safetensors");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let good = dir.path().join("good.safetensors");
    write_model(&good, &small_model(Dtype::F32));
    let out = dir.path().join("out");
    let mut base = spectral(&good, &out);
    base.arg("--base").arg(&fifo);
    let mut prefix_map = spectral(&good, &out);
    prefix_map.arg("--prefix-map").arg(&fifo);
    // A hang fails the test after 20 s instead of blocking the suite.
    for mut cmd in [spectral(&fifo, &out), base, prefix_map] {
        cmd.timeout(std::time::Duration::from_secs(20));
        expect_input_error(&mut cmd, &["pipe.safetensors", "not a regular file"]);
    }
    let mut compare = regime();
    compare
        .arg("spectral-compare")
        .arg(&good)
        .arg(&fifo)
        .arg("--out")
        .arg(dir.path().join("cmp"))
        .timeout(std::time::Duration::from_secs(20));
    expect_input_error(&mut compare, &["pipe.safetensors", "not a regular file"]);
}

/// The small model plus an all-zero `mlp.up_proj` and a flat (2·I)
/// `self_attn.q_proj` in layer 2.
fn model_with_zero_and_flat_matrices(path: &Path) {
    let mut tensors = small_model(Dtype::F32);
    tensors.push(tensor_f32(
        "model.layers.2.mlp.up_proj.weight",
        &[48, 16],
        &[0.0; 48 * 16],
        Dtype::F32,
    ));
    tensors.push(tensor_f32(
        "model.layers.2.self_attn.q_proj.weight",
        &[16, 16],
        &scaled_identity(16, 16),
        Dtype::F32,
    ));
    write_model(path, &tensors);
}

/// An all-zero matrix: no NaN or −∞ anywhere; its log norms, stable rank,
/// entropy and erank are empty in layers.csv, null in layers.parquet and in
/// summary.json alike, its warning is `zero-matrix`, and stderr says so.
#[test]
fn an_all_zero_matrix_has_empty_undefined_metrics_in_every_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("zero.safetensors");
    model_with_zero_and_flat_matrices(&model);
    let out = dir.path().join("out");
    let output = run_expect(&mut spectral(&model, &out), 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("1 all-zero matrix (model.layers.2.mlp.up_proj.weight)"),
        "{stderr}"
    );

    let undefined = [
        "log_norm",
        "log_spectral_norm",
        "stable_rank",
        "entropy",
        "erank",
    ];
    let rows = by_name(read_csv(&out.join("layers.csv")));
    let zero = &rows["model.layers.2.mlp.up_proj.weight"];
    for key in undefined
        .iter()
        .chain(&["alpha", "alpha_weighted", "log_alpha_norm"])
    {
        assert_eq!(zero[*key], "", "{key}");
    }
    for (key, want) in [
        ("norm", "0"),
        ("lambda_max", "0"),
        ("matrix_rank", "0"),
        ("num_pl_spikes", "0"),
        ("warning", "zero-matrix"),
    ] {
        assert_eq!(zero[key], want, "{key}");
    }
    let text = std::fs::read_to_string(out.join("layers.csv")).expect("csv");
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");

    let table = read_parquet(&out.join("layers.parquet"));
    let names = table
        .column_by_name("name")
        .expect("name")
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("utf8");
    let row = (0..names.len())
        .find(|&i| names.value(i) == "model.layers.2.mlp.up_proj.weight")
        .expect("zero row");
    for key in undefined {
        let col = table
            .column_by_name(key)
            .unwrap_or_else(|| panic!("{key}"))
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .expect("f64");
        assert!(col.is_null(row), "{key} not null in parquet");
        assert!(
            (0..col.len()).all(|i| col.is_null(i) || col.value(i).is_finite()),
            "{key}"
        );
    }

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary"))
            .expect("json");
    let up = json["summary"]["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .find(|p| p["key"] == "mlp.up_proj")
        .expect("up_proj profile");
    let point = up["points"]
        .as_array()
        .expect("points")
        .iter()
        .find(|p| p["layer"] == 2)
        .expect("layer 2");
    for key in ["alpha", "xmin", "erank", "stable_rank"] {
        assert!(point[key].is_null(), "{key}: {point}");
    }
    assert_eq!(json["summary"]["failed_fits"], 2, "zero and flat");
}

/// report.html never shows NaN or ±∞ (as text or in SVG coordinates) for
/// failed fits, a flat spectrum or an all-zero matrix: such values are "—"
/// in tables and left out of the plots.
#[test]
fn report_shows_no_nan_or_inf_for_failed_fits_and_zero_matrices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("zero.safetensors");
    model_with_zero_and_flat_matrices(&model);
    // A base equal to the model: every change is 0, every correlation 1,
    // and the zero matrix has neither a relative change nor a correlation.
    let out = dir.path().join("out");
    run_expect(spectral(&model, &out).arg("--base").arg(&model), 0);
    // Only failed fits: no α at all, so no share, median or histogram bar.
    let only_zero = dir.path().join("only-zero.safetensors");
    write_model(
        &only_zero,
        &[tensor_f32(
            "model.layers.0.mlp.up_proj.weight",
            &[48, 16],
            &[0.0; 48 * 16],
            Dtype::F32,
        )],
    );
    let out_zero = dir.path().join("out-zero");
    run_expect(&mut spectral(&only_zero, &out_zero), 0);
    let compared = dir.path().join("cmp");
    let mut compare = regime();
    compare
        .arg("spectral-compare")
        .arg(&model)
        .arg(&only_zero)
        .args(["--labels", "A@1k", "A@2k", "--out"])
        .arg(&compared);
    run_expect(&mut compare, 0);

    for report in [&out, &out_zero, &compared].map(|d| d.join("report.html")) {
        let html = std::fs::read_to_string(&report).expect("report");
        assert!(!html.contains("NaN"), "{}: NaN", report.display());
        let tokens: Vec<&str> = html
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|t| matches!(t.to_ascii_lowercase().as_str(), "inf" | "-inf" | "infinity"))
            .collect();
        assert!(tokens.is_empty(), "{}: {tokens:?}", report.display());
        assert!(
            html.contains('—'),
            "{}: no dash for absent values",
            report.display()
        );
        assert!(!html.contains("n/a"), "{}", report.display());
    }
    let html = std::fs::read_to_string(out_zero.join("report.html")).expect("report");
    assert!(html.contains("zero-matrix"));
}

// WeightWatcher 0.7.7's own `WeightWatcher.fit_powerlaw(evals,
// fix_fingers='clip_xmax')` on all-MiniLM-L6-v2 (evals = squared singular
// values of each 2-D tensor, numpy float64), in a venv built from the
// weightwatcher 0.7.7 wheel: the 11 matrices where clipping changed the fit.
// (name, alpha, xmin, xmax, num_fingers, raw_alpha)
const WW_CLIP_XMAX: [(&str, f64, f64, f64, &str, f64); 11] = [
    (
        "embeddings.word_embeddings.weight",
        2.334_799_129_736_024_4,
        48.521_509_323_015_515,
        475.457_107_842_319_54,
        "1",
        4.534_994_286_749_718,
    ),
    (
        "encoder.layer.0.attention.output.dense.weight",
        3.538_501_766_573_233_5,
        1.921_763_833_723_492,
        5.365_376_220_390_481,
        "1",
        5.298_312_992_634_185,
    ),
    (
        "encoder.layer.0.attention.self.value.weight",
        2.426_441_600_718_808_5,
        0.852_993_818_163_238_8,
        4.709_615_507_511_389,
        "3",
        4.015_465_541_953_318_5,
    ),
    (
        "encoder.layer.2.attention.self.value.weight",
        2.957_532_128_344_189,
        2.806_888_007_607_724_5,
        9.767_043_831_151_875,
        "2",
        4.735_894_607_603_483,
    ),
    (
        "encoder.layer.2.intermediate.dense.weight",
        3.145_190_792_916_182_4,
        9.862_214_911_211_465,
        37.300_065_434_082,
        "1",
        4.307_441_951_197_594,
    ),
    (
        "encoder.layer.3.attention.output.dense.weight",
        3.061_901_844_379_872_5,
        2.618_841_592_825_362,
        8.993_988_836_927_656,
        "1",
        5.716_045_799_986_396,
    ),
    (
        "encoder.layer.4.attention.self.value.weight",
        2.486_199_667_029_631_6,
        2.457_272_312_417_203,
        12.974_331_292_446_46,
        "1",
        8.443_706_692_516_72,
    ),
    (
        "encoder.layer.5.attention.self.key.weight",
        5.389_834_720_062_551,
        6.584_145_172_300_389,
        11.479_908_077_498_965,
        "2",
        6.638_464_449_069_319,
    ),
    (
        "encoder.layer.5.attention.self.query.weight",
        3.000_548_077_862_777,
        4.028_361_983_936_046,
        13.174_727_450_223_545,
        "3",
        4.681_631_513_877_891,
    ),
    (
        "encoder.layer.5.attention.self.value.weight",
        3.576_267_217_985_779_7,
        2.804_426_653_074_747,
        6.718_045_141_013_318,
        "4",
        7.835_540_176_088_038,
    ),
    (
        "pooler.dense.weight",
        5.502_510_592_013_127,
        0.072_343_066_834_143_74,
        0.120_696_567_633_326_63,
        "1",
        12.354_853_332_897_605,
    ),
];

/// `--fix-fingers` is WeightWatcher 0.7.7's `fix_fingers='clip_xmax'`: the
/// same clipped fits (α, xmin, the clipped sample's xmax), `num_fingers` and
/// `raw_alpha` on all-MiniLM-L6-v2; on the other 28 matrices the first fit
/// stands (`num_fingers` 0, α = `raw_alpha` = WeightWatcher's plain α).
#[test]
fn fix_fingers_matches_weightwatcher_clip_xmax_on_minilm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("ff");
    run_expect(spectral(&minilm(), &out).arg("--fix-fingers"), 0);
    let ours = by_name(read_csv(&out.join("layers.csv")));
    assert_eq!(ours.len(), 39);
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= 1e-6 * want.abs(),
            "{what}: {got} vs WeightWatcher {want}"
        );
    };
    for (name, alpha, xmin, xmax, fingers, raw) in WW_CLIP_XMAX {
        let row = &ours[name];
        close(num(row, "alpha"), alpha, &format!("{name} alpha"));
        close(num(row, "xmin"), xmin, &format!("{name} xmin"));
        close(num(row, "xmax"), xmax, &format!("{name} xmax"));
        close(num(row, "raw_alpha"), raw, &format!("{name} raw_alpha"));
        assert_eq!(row["num_fingers"], fingers, "{name}");
    }
    let plain = by_name(read_csv(&minilm_dir().join("ww_reference.csv")));
    for (name, row) in &ours {
        if WW_CLIP_XMAX.iter().any(|w| w.0 == name) {
            continue;
        }
        assert_eq!(row["num_fingers"], "0", "{name}");
        assert_eq!(row["alpha"], row["raw_alpha"], "{name}");
        close(num(row, "alpha"), num(&plain[name], "alpha"), name);
        close(num(row, "xmax"), num(&plain[name], "xmax"), name);
    }
}
