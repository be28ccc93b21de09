//! Agreement with WeightWatcher 0.7.7 (`ww_reference.csv`, made by
//! `shared/scripts/ww_reference.py`) on the real all-MiniLM-L6-v2 weights.

use std::collections::HashMap;
use std::path::PathBuf;

use regime_spectral::{AuditBuilder, EsdMethod, Model, ModelSummary};

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/models/all-minilm-l6-v2")
}

fn reference() -> Vec<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(model_dir().join("ww_reference.csv")).expect("ww_reference.csv");
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

fn check(method: EsdMethod) {
    let model = Model::open(model_dir().join("model.safetensors")).expect("open");
    let audit = AuditBuilder::new()
        .with_esd_method(method)
        .build()
        .expect("config")
        .run(&model, &|_| {})
        .expect("audit");
    let rows = reference();
    assert_eq!(
        audit.matrices.len(),
        rows.len(),
        "same matrices as WeightWatcher"
    );
    let ours: HashMap<&str, _> = audit
        .matrices
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    let mut worst: HashMap<&str, f64> = HashMap::new();
    for row in &rows {
        let m = ours
            .get(row["name"].as_str())
            .unwrap_or_else(|| panic!("{} audited", row["name"]));
        let fit = m.metrics.fit.expect("fit");
        let get = |k: &str| row[k].parse::<f64>().expect(k);
        let pairs = [
            ("alpha", fit.alpha),
            ("xmin", fit.xmin),
            ("xmax", fit.xmax),
            ("D", fit.d),
            ("sigma", fit.sigma),
            ("lambda_max", m.metrics.lambda_max),
            ("norm", m.metrics.norm),
            ("log_alpha_norm", m.metrics.log_alpha_norm.expect("lan")),
            ("alpha_weighted", m.metrics.alpha_weighted.expect("aw")),
            ("stable_rank", m.metrics.stable_rank.expect("stable rank")),
            ("entropy", m.metrics.entropy.expect("entropy")),
            ("erank", m.metrics.erank.expect("erank")),
        ];
        for (key, value) in pairs {
            let expected = get(key);
            let rel = (value - expected).abs() / expected.abs();
            let w = worst.entry(key).or_insert(0.0);
            *w = w.max(rel);
            assert!(
                rel <= 1e-6,
                "{} {key}: ours {value}, WeightWatcher {expected} (rel {rel:e})",
                row["name"]
            );
        }
        assert_eq!(
            m.metrics.num_pl_spikes.to_string(),
            row["num_pl_spikes"],
            "{} num_pl_spikes",
            row["name"]
        );
        assert_eq!(
            m.metrics.matrix_rank.to_string(),
            row["matrix_rank"],
            "{} matrix_rank",
            row["name"]
        );
        assert_eq!(
            (m.metrics.n.to_string(), m.metrics.m.to_string()),
            (row["N"].clone(), row["M"].clone())
        );
    }
    let mut worst: Vec<_> = worst.into_iter().collect();
    worst.sort_by(|a, b| a.0.cmp(b.0));
    #[expect(
        clippy::print_stderr,
        reason = "shows the agreement margin under --nocapture"
    )]
    {
        eprintln!("{method:?}: worst relative differences {worst:?}");
    }
    let summary = ModelSummary::from_audit(&audit);
    // data/README.md: 87.18% with α in [2,6]; median α 3.550
    assert!((summary.share_alpha_2_6.expect("share") * 100.0 - 87.18).abs() < 0.005);
    assert!((summary.median_alpha.expect("median") - 3.550).abs() < 0.0005);
}

#[test]
fn minilm_matches_weightwatcher_default_route() {
    check(EsdMethod::Auto);
}

#[test]
fn minilm_matches_weightwatcher_svd_route() {
    check(EsdMethod::Svd);
}
