//! The `regime dedup exact|near` page: key figures, the banding S-curve
//! P(candidate | J) and the cluster-size histogram.

use regime_dedup::{ClusterSize, DedupReport, Shingles};

use crate::chart::{BarChart, LineChart, Marker, Series, fmt_value};
use crate::html::{Block, HtmlPage, Section};

/// Sizes up to this get a bar each; larger ones share power-of-two bars.
const SINGLE_SIZE_BARS: u64 = 8;

/// Bars of the cluster-size histogram: one per size up to
/// `SINGLE_SIZE_BARS` (8), then `9–16`, `17–32`, … (labels and counts).
#[must_use]
pub fn size_bars(sizes: &[ClusterSize]) -> Vec<(String, u64)> {
    let mut bars: Vec<(u64, u64, u64)> = Vec::new(); // (lo, hi, clusters)
    for s in sizes {
        let (lo, hi) = if s.size <= SINGLE_SIZE_BARS {
            (s.size, s.size)
        } else {
            let hi = s.size.next_power_of_two();
            (hi / 2 + 1, hi)
        };
        match bars.last_mut() {
            Some(last) if last.0 == lo => last.2 += s.clusters,
            _ => bars.push((lo, hi, s.clusters)),
        }
    }
    bars.into_iter()
        .map(|(lo, hi, n)| {
            let label = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}–{hi}")
            };
            (label, n)
        })
        .collect()
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_owned();
    }
    #[expect(clippy::cast_precision_loss, reason = "a displayed share")]
    let s = part as f64 / whole as f64;
    format!("{:.2}%", s * 100.0)
}

/// What was compared and how, under the page title.
fn subtitle(report: &DedupReport) -> String {
    match &report.near {
        None => "exact: xxh3-128 of the normalised chosen fields".to_owned(),
        Some(n) => format!(
            "near: MinHash LSH over {}, {} bands × {} rows, seed {}, {}",
            match n.shingles {
                Shingles::Words(k) => format!("word {k}-grams"),
                Shingles::Chars(k) => format!("character {k}-grams"),
            },
            n.bands,
            n.rows,
            n.seed,
            n.verify.map_or_else(
                || "unverified".to_owned(),
                |t| format!("verified at Jaccard ≥ {}", fmt_value(t))
            )
        ),
    }
}

/// The `report.html` page of `regime dedup exact|near`.
#[must_use]
pub fn dedup_page(report: &DedupReport) -> HtmlPage {
    let subtitle = subtitle(report);
    let mut figures = vec![
        ("rows".into(), report.rows.to_string()),
        ("kept".into(), report.kept.to_string()),
    ];
    if report.empty > 0 {
        figures.push((
            "rows without text (never compared)".into(),
            report.empty.to_string(),
        ));
    }
    figures.extend([
        (
            "duplicates".into(),
            format!(
                "{} ({})",
                report.duplicates,
                share(report.duplicates, report.rows)
            ),
        ),
        ("clusters (≥ 2 rows)".into(), report.clusters.to_string()),
        ("largest cluster".into(), report.largest_cluster.to_string()),
    ]);
    let mut summary = Section::new("Summary").with(Block::KeyFigures(figures));
    if !report.oversized.is_empty() {
        summary = summary
            .with(Block::Paragraph(format!(
                "{} clusters are larger than --max-cluster: check for boilerplate or a too-low threshold.",
                report.oversized.len()
            )))
            .with(Block::Table {
                headers: vec!["cluster (representative row id)".into(), "rows".into()],
                rows: report
                    .oversized
                    .iter()
                    .map(|(c, n)| vec![c.to_string(), n.to_string()])
                    .collect(),
            });
    }
    let mut charts = Vec::new();
    if !report.s_curve.is_empty() {
        charts.push(
            LineChart {
                title: "S-curve: P(candidate | J) = 1 − (1 − Jʳ)ᵇ".into(),
                x_label: "Jaccard J".into(),
                y_label: "P(candidate)".into(),
                series: vec![Series {
                    name: "banding".into(),
                    points: report
                        .s_curve
                        .iter()
                        .map(|p| (p.jaccard, p.probability))
                        .collect(),
                }],
                log_x: false,
                log_y: false,
                hlines: vec![(0.5, "P = 0.5".into())],
                markers: report
                    .near
                    .and_then(|n| n.verify)
                    .map(|t| Marker {
                        x: t,
                        label: format!("verified at J ≥ {}", fmt_value(t)),
                    })
                    .into_iter()
                    .collect(),
            }
            .to_svg(),
        );
    }
    #[expect(clippy::cast_precision_loss, reason = "bar heights")]
    let bars = size_bars(&report.cluster_sizes)
        .into_iter()
        .map(|(label, n)| (label, n as f64))
        .collect();
    charts.push(
        BarChart {
            title: "Cluster sizes (rows per cluster)".into(),
            y_label: "clusters".into(),
            bars,
        }
        .to_svg(),
    );
    let mut page = HtmlPage::new("regime dedup")
        .with_subtitle(subtitle)
        .with_section(summary.with(Block::SvgRow(charts)));
    if !report.s_curve.is_empty() {
        page = page.with_section(
            Section::new("S-curve values").with(Block::Table {
                headers: vec!["J".into(), "P(candidate | J)".into()],
                rows: report
                    .s_curve
                    .iter()
                    .map(|p| vec![format!("{:.2}", p.jaccard), fmt_value(p.probability)])
                    .collect(),
            }),
        );
    }
    page
}

#[cfg(test)]
mod tests {
    use regime_dedup::{NearConfig, SCurvePoint};

    use super::*;

    fn sizes(pairs: &[(u64, u64)]) -> Vec<ClusterSize> {
        pairs
            .iter()
            .map(|&(size, clusters)| ClusterSize { size, clusters })
            .collect()
    }

    #[test]
    fn large_sizes_share_power_of_two_bars() {
        let bars = size_bars(&sizes(&[
            (2, 10),
            (8, 1),
            (9, 2),
            (16, 1),
            (17, 4),
            (1000, 1),
        ]));
        assert_eq!(
            bars,
            [
                ("2".to_owned(), 10),
                ("8".to_owned(), 1),
                ("9–16".to_owned(), 3),
                ("17–32".to_owned(), 4),
                ("513–1024".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn page_has_both_charts_and_the_figures() {
        let near = NearConfig::datatrove();
        let report = DedupReport {
            rows: 100,
            empty: 0,
            kept: 90,
            duplicates: 10,
            clusters: 4,
            largest_cluster: 5,
            oversized: vec![(7, 5)],
            cluster_sizes: sizes(&[(2, 2), (3, 1), (5, 1)]),
            near: Some(near),
            s_curve: near.s_curve(),
        };
        let mut html = Vec::new();
        dedup_page(&report).render(&mut html).unwrap();
        let html = String::from_utf8(html).unwrap();
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("14 bands × 8 rows"));
        assert!(html.contains("10 (10.00%)"));
        assert!(html.contains("larger than --max-cluster"));
        // The verification threshold is marked on the S-curve; counts are
        // whole numbers.
        let t = near.verify.unwrap();
        assert!(html.contains("verified at J ≥ 0.7190"), "{t}");
        assert!(!html.contains(&format!("J ≥ {t}")));
        assert!(html.contains(">2</text>") && !html.contains(">2.0</text>"));
        assert!(!html.contains("without text"));
        // The S-curve table lists J = 0.50 … 0.95.
        assert!(html.contains("<td>0.50</td>") && html.contains("<td>0.95</td>"));
        let exact = DedupReport {
            near: None,
            s_curve: Vec::<SCurvePoint>::new(),
            oversized: vec![],
            ..report
        };
        let mut html = Vec::new();
        dedup_page(&exact).render(&mut html).unwrap();
        let html = String::from_utf8(html).unwrap();
        assert_eq!(html.matches("<svg").count(), 1);
        assert!(html.contains("exact: xxh3-128"));
    }
}
