//! The spectral-audit pages: one model (`regime spectral`) and many models
//! or checkpoints (`regime spectral-compare`).
#![expect(
    clippy::cast_precision_loss,
    clippy::too_many_lines,
    reason = "checkpoint and count indices are tiny; a page builder reads best top to bottom"
)]

use regime_spectral::metrics::{ALPHA_HIGH, ALPHA_LOW};
use regime_spectral::trajectory::Trajectory;
use regime_spectral::{MatrixReport, ModelAudit, ModelSummary, ModuleProfile, ProfilePoint, Trend};

use crate::chart::{BarChart, Histogram, LineChart, Marker, Series, fmt_value};
use crate::html::{Block, HtmlPage, Section};

/// What a cell or figure shows for a value that is absent or undefined
/// (a failed fit's α, the stable rank of an all-zero matrix, a share with no
/// fitted matrix): never `NaN`, `inf` or a blank that reads as missing data.
const NO_VALUE: &str = "—";

/// A share (0–1) as a percentage, [`NO_VALUE`] when absent or not finite.
fn pct(share: Option<f64>) -> String {
    finite(share).map_or_else(|| NO_VALUE.to_owned(), |s| format!("{:.2}%", s * 100.0))
}

/// A number, [`NO_VALUE`] when absent or not finite.
fn opt(v: Option<f64>) -> String {
    finite(v).map_or_else(|| NO_VALUE.to_owned(), fmt_value)
}

/// `v` when it is a finite number: what may go into a plot.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

fn alpha_histogram(title: &str, summary: &ModelSummary) -> Histogram {
    Histogram {
        title: format!("{title} — α ∈ [2, 6]: {}", pct(summary.share_alpha_2_6)),
        x_label: "α (last bin: α ≥ 11.5)".to_owned(),
        y_label: "matrices".to_owned(),
        edges: summary.histogram.edges.clone(),
        counts: summary.histogram.counts.clone(),
        markers: vec![
            Marker {
                x: ALPHA_LOW,
                label: "α = 2".to_owned(),
            },
            Marker {
                x: ALPHA_HIGH,
                label: "α = 6".to_owned(),
            },
        ],
        equal_bins: false,
    }
}

fn profile_chart(
    title: &str,
    y_label: &str,
    profiles: &[&ModuleProfile],
    names: &[String],
    value: fn(&ProfilePoint) -> Option<f64>,
    log_y: bool,
) -> LineChart {
    let hlines = if y_label == "α" {
        vec![
            (ALPHA_LOW, "α = 2".to_owned()),
            (ALPHA_HIGH, "α = 6".to_owned()),
        ]
    } else {
        Vec::new()
    };
    LineChart {
        title: title.to_owned(),
        x_label: "layer".to_owned(),
        y_label: y_label.to_owned(),
        series: profiles
            .iter()
            .zip(names)
            .map(|(p, name)| Series {
                name: name.clone(),
                points: p
                    .points
                    .iter()
                    // Absent values stay out of the plot (a gap in the line).
                    .filter_map(|pt| Some((f64::from(pt.layer), finite(value(pt))?)))
                    .collect(),
            })
            .collect(),
        log_x: false,
        log_y,
        hlines,
        markers: Vec::new(),
    }
}

/// Metrics drawn as layer profiles: (title, axis label, accessor, log axis).
type ProfileMetric = (
    &'static str,
    &'static str,
    fn(&ProfilePoint) -> Option<f64>,
    bool,
);

const PROFILE_METRICS: [ProfileMetric; 5] = [
    ("α by layer", "α", |p| p.alpha, false),
    ("λ_min (xmin) by layer", "xmin", |p| p.xmin, true),
    (
        "effective feature number (num_pl_spikes)",
        "num_pl_spikes",
        |p| Some(p.num_pl_spikes as f64),
        false,
    ),
    ("effective rank by layer", "erank", |p| p.erank, false),
    (
        "stable rank by layer",
        "stable_rank",
        |p| p.stable_rank,
        false,
    ),
];

const DELTA_METRICS: [ProfileMetric; 3] = [
    (
        "relative change ‖W₁−W₀‖/‖W₀‖",
        "relative_change",
        |p| p.relative_change,
        false,
    ),
    (
        "correlation with the base",
        "correlation",
        |p| p.correlation,
        false,
    ),
    ("Δ effective rank", "delta_erank", |p| p.delta_erank, false),
];

fn matrix_row(m: &MatrixReport, with_delta: bool) -> Vec<String> {
    let fit = m.metrics.fit;
    let mut row = vec![
        m.name.clone(),
        m.module.clone(),
        m.layer.map_or_else(String::new, |l| l.to_string()),
        m.metrics.n.to_string(),
        m.metrics.m.to_string(),
        opt(fit.map(|f| f.alpha)),
        opt(fit.map(|f| f.xmin)),
        opt(fit.map(|f| f.d)),
        m.metrics.num_pl_spikes.to_string(),
        opt(Some(m.metrics.lambda_max)),
        opt(m.metrics.stable_rank),
        opt(m.metrics.erank),
        m.metrics.warning.map_or("", |w| w.as_str()).to_owned(),
    ];
    if with_delta {
        let d = m.delta.as_ref();
        row.extend([
            opt(d.and_then(|d| d.relative_change)),
            opt(d.and_then(|d| d.correlation)),
            opt(d.map(|d| d.change_variance)),
            opt(d.and_then(|d| d.delta_erank)),
            opt(d.and_then(|d| d.delta_alpha)),
        ]);
    }
    row
}

/// The report of one audited model.
#[must_use]
pub fn spectral_page(audit: &ModelAudit, summary: &ModelSummary) -> HtmlPage {
    let with_base = audit.base.is_some();
    let mut page = HtmlPage::new("Spectral audit").with_subtitle(audit.path.display().to_string());
    let mut figures = vec![
        ("matrices audited".to_owned(), summary.matrices.to_string()),
        (
            "tensors skipped".to_owned(),
            audit.skipped.len().to_string(),
        ),
        ("α in [2, 6]".to_owned(), pct(summary.share_alpha_2_6)),
        (
            "α < 2 (over-trained side)".to_owned(),
            pct(summary.share_below_2),
        ),
        ("6 < α ≤ 10".to_owned(), pct(summary.share_6_10)),
        ("α > 10".to_owned(), pct(summary.share_above_10)),
        ("median α".to_owned(), opt(summary.median_alpha)),
        ("failed fits".to_owned(), summary.failed_fits.to_string()),
    ];
    if let Some(base) = &audit.base {
        figures.extend([
            ("base model".to_owned(), base.path.display().to_string()),
            (
                "matched with base".to_owned(),
                format!("{} of {}", base.matched, summary.matrices),
            ),
            (
                "median relative change".to_owned(),
                opt(summary.median_relative_change),
            ),
            (
                "median correlation".to_owned(),
                opt(summary.median_correlation),
            ),
            ("mean Δerank".to_owned(), opt(summary.mean_delta_erank)),
        ]);
    }
    page = page.with_section(
        Section::new("Summary")
            .with(Block::KeyFigures(figures))
            .with(Block::Svg(alpha_histogram("α histogram", summary).to_svg()))
            .with(Block::Paragraph(
                "α is the power-law exponent of the eigenvalue tail of WᵀW (WeightWatcher). α in [2, 6] is \
                 well conditioned; below 2 leans over-fit, above 6 under-fit. Failed fits are not counted in the shares."
                    .to_owned(),
            )),
    );
    let profiles: Vec<&ModuleProfile> = summary.profiles.iter().collect();
    let names: Vec<String> = profiles.iter().map(|p| p.key.clone()).collect();
    if !profiles.is_empty() {
        let charts = PROFILE_METRICS
            .iter()
            .map(|(t, y, f, log)| profile_chart(t, y, &profiles, &names, *f, *log).to_svg())
            .collect();
        let rows = profiles
            .iter()
            .map(|p| {
                vec![
                    p.key.clone(),
                    p.points.len().to_string(),
                    opt(p.alpha_std),
                    opt(p.alpha_max_jump),
                ]
            })
            .collect();
        page = page.with_section(
            Section::new("Layer profiles per module")
                .with(Block::SvgRow(charts))
                .with(Block::Table {
                    headers: vec![
                        "module".into(),
                        "layers".into(),
                        "α std".into(),
                        "max |Δα| between layers".into(),
                    ],
                    rows,
                }),
        );
    }
    if let Some(base) = &audit.base {
        let charts = DELTA_METRICS
            .iter()
            .map(|(t, y, f, log)| profile_chart(t, y, &profiles, &names, *f, *log).to_svg())
            .collect();
        let mut section = Section::new("Change since the base model").with(Block::SvgRow(charts));
        let mut issues: Vec<Vec<String>> = Vec::new();
        issues.extend(
            base.missing_in_base
                .iter()
                .map(|n| vec![n.clone(), "not in base".to_owned(), String::new()]),
        );
        issues.extend(
            base.missing_in_model
                .iter()
                .map(|n| vec![n.clone(), "only in base".to_owned(), String::new()]),
        );
        issues.extend(base.shape_mismatches.iter().map(|s| {
            vec![
                s.name.clone(),
                "shape mismatch".to_owned(),
                format!(
                    "{}×{} vs base {}×{}",
                    s.shape.0, s.shape.1, s.base_shape.0, s.base_shape.1
                ),
            ]
        }));
        if issues.is_empty() {
            section = section.with(Block::Paragraph(
                "Every audited matrix matched the base by name and shape.".into(),
            ));
        } else {
            section = section
                .with(Block::Paragraph(format!(
                    "{} alignment issue(s):",
                    issues.len()
                )))
                .with(Block::Table {
                    headers: vec!["tensor".into(), "issue".into(), "detail".into()],
                    rows: issues,
                });
        }
        page = page.with_section(section);
    }
    let mut headers: Vec<String> = [
        "name",
        "module",
        "layer",
        "N",
        "M",
        "alpha",
        "xmin",
        "D",
        "num_pl_spikes",
        "lambda_max",
        "stable_rank",
        "erank",
        "warning",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if with_base {
        headers.extend(
            [
                "relative_change",
                "correlation",
                "change_variance",
                "delta_erank",
                "delta_alpha",
            ]
            .iter()
            .map(|s| (*s).to_owned()),
        );
    }
    let rows = audit
        .matrices
        .iter()
        .map(|m| matrix_row(m, with_base))
        .collect();
    page = page.with_section(Section::new("Matrices").with(Block::Table { headers, rows }));
    if !audit.skipped.is_empty() {
        let rows = audit
            .skipped
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    s.shape
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("×"),
                    format!("{:?}", s.reason),
                ]
            })
            .collect();
        page = page.with_section(Section::new("Skipped tensors").with(Block::Table {
            headers: vec!["tensor".into(), "shape".into(), "reason".into()],
            rows,
        }));
    }
    page
}

/// One model of a comparison.
#[derive(Debug, Clone, Copy)]
pub struct ComparedModel<'a> {
    /// Label (e.g. `A@20k`).
    pub label: &'a str,
    /// Its audit.
    pub audit: &'a ModelAudit,
    /// Its summary.
    pub summary: &'a ModelSummary,
}

/// The report comparing several models or checkpoints.
#[must_use]
pub fn compare_page(models: &[ComparedModel<'_>], trajectory: Option<&Trajectory>) -> HtmlPage {
    let mut page =
        HtmlPage::new("Spectral comparison").with_subtitle(format!("{} models", models.len()));
    let rows = models
        .iter()
        .map(|m| {
            vec![
                m.label.to_owned(),
                m.audit.path.display().to_string(),
                m.summary.matrices.to_string(),
                pct(m.summary.share_alpha_2_6),
                opt(m.summary.median_alpha),
                pct(m.summary.share_below_2),
                pct(m.summary.share_6_10),
                pct(m.summary.share_above_10),
            ]
        })
        .collect();
    let bars = BarChart {
        title: "share of matrices with α ∈ [2, 6]".to_owned(),
        y_label: "%".to_owned(),
        // A model without a fitted matrix has no share: no bar (0 % would
        // read as a measurement).
        bars: models
            .iter()
            .filter_map(|m| {
                Some((
                    m.label.to_owned(),
                    finite(m.summary.share_alpha_2_6)? * 100.0,
                ))
            })
            .collect(),
    };
    page = page.with_section(
        Section::new("Summary")
            .with(Block::Table {
                headers: [
                    "label",
                    "model",
                    "matrices",
                    "α ∈ [2, 6]",
                    "median α",
                    "α<2",
                    "6<α≤10",
                    "α>10",
                ]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
                rows,
            })
            .with(Block::Svg(bars.to_svg())),
    );
    if let Some(t) = trajectory {
        let mut headers = vec!["condition".to_owned()];
        headers.extend(t.checkpoints.iter().cloned());
        headers.push("trend".to_owned());
        let rows = t
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![r.condition.clone()];
                row.extend(r.shares.iter().map(|s| {
                    finite(*s).map_or_else(|| NO_VALUE.to_owned(), |s| format!("{s:.1}"))
                }));
                row.push(r.trend.map_or("", Trend::as_str).to_owned());
                row
            })
            .collect();
        let chart = LineChart {
            title: "α ∈ [2, 6] share by checkpoint".to_owned(),
            x_label: format!("checkpoint ({})", t.checkpoints.join(", ")),
            y_label: "%".to_owned(),
            series: t
                .rows
                .iter()
                .map(|r| Series {
                    name: r.condition.clone(),
                    points: r
                        .shares
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| Some((i as f64 + 1.0, finite(*s)?)))
                        .collect(),
                })
                .collect(),
            log_x: false,
            log_y: false,
            hlines: Vec::new(),
            markers: Vec::new(),
        };
        page = page.with_section(
            Section::new(format!("Trajectory (reference: {})", t.reference))
                .with(Block::Table { headers, rows })
                .with(Block::Svg(chart.to_svg())),
        );
    }
    let histograms = models
        .iter()
        .map(|m| alpha_histogram(m.label, m.summary).to_svg())
        .collect();
    page = page.with_section(Section::new("α histograms").with(Block::SvgRow(histograms)));
    // Layer profiles overlaid per module: one chart per module, one line per model.
    let mut keys: Vec<&str> = Vec::new();
    for m in models {
        for p in &m.summary.profiles {
            if !keys.contains(&p.key.as_str()) {
                keys.push(&p.key);
            }
        }
    }
    keys.sort_unstable();
    let charts = keys
        .iter()
        .map(|key| {
            let (profiles, names): (Vec<&ModuleProfile>, Vec<String>) = models
                .iter()
                .filter_map(|m| {
                    m.summary
                        .profiles
                        .iter()
                        .find(|p| p.key == *key)
                        .map(|p| (p, m.label.to_owned()))
                })
                .unzip();
            profile_chart(
                &format!("α by layer: {key}"),
                "α",
                &profiles,
                &names,
                |p| p.alpha,
                false,
            )
            .to_svg()
        })
        .collect();
    page.with_section(Section::new("Layer profiles per module").with(Block::SvgRow(charts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_non_finite_values_show_a_dash() {
        for v in [
            None,
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
        ] {
            assert_eq!(opt(v), "—");
            assert_eq!(pct(v), "—");
            assert_eq!(finite(v), None);
        }
        assert_eq!(opt(Some(2.5)), fmt_value(2.5));
        assert_eq!(pct(Some(0.5)), "50.00%");
    }
}
