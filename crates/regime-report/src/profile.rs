//! The `regime profile` pages: key figures, n-gram tables, and SVG plots
//! (rank–frequency log–log per role, token-length histograms per role,
//! category coverage bars; for `--compare`, the two rank–frequency curves
//! overlaid).

use regime_stats::gopher::GopherReport;
use regime_stats::{
    CategoryReport, DuplicationReport, NgramCount, NgramFigures, ProfileComparison, ProfileReport,
    ScopeReport,
};

use crate::chart::{BarChart, Histogram, LineChart, Series, fmt_value};
use crate::html::{Block, HtmlPage, Section};

#[expect(clippy::cast_precision_loss, reason = "plot coordinates")]
fn rank_series(name: &str, scope: &ScopeReport) -> Series {
    Series {
        name: name.to_owned(),
        points: scope
            .rank_frequency
            .iter()
            .map(|p| (p.rank as f64, p.count as f64))
            .collect(),
    }
}

fn rank_chart(title: &str, series: Vec<Series>) -> String {
    LineChart {
        title: title.to_owned(),
        x_label: "rank".into(),
        y_label: "frequency".into(),
        series,
        log_x: true,
        log_y: true,
        hlines: Vec::new(),
        markers: Vec::new(),
    }
    .to_svg()
}

#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    reason = "plot values"
)]
fn length_histogram(role: &str, scope: &ScopeReport) -> Option<String> {
    let d = scope.lengths.tokens.as_ref()?;
    if d.histogram.is_empty() {
        return None;
    }
    let mut edges: Vec<f64> = d.histogram.iter().map(|b| b.lo as f64).collect();
    edges.push(d.histogram.last().map_or(1.0, |b| b.hi as f64));
    // Overall lengths are per sample, a role's per field.
    let unit = if role == "overall" { "sample" } else { "field" };
    Some(
        Histogram {
            title: format!("{role}: tokens per {unit}"),
            x_label: "tokens (power-of-two bins)".into(),
            y_label: format!("{unit}s"),
            edges,
            counts: d.histogram.iter().map(|b| b.count as usize).collect(),
            markers: Vec::new(),
            equal_bins: true,
        }
        .to_svg(),
    )
}

fn scope_figures(scope: &ScopeReport) -> Vec<(String, String)> {
    let u = &scope.unigram;
    let opt = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), fmt_value);
    vec![
        ("samples".into(), scope.samples.to_string()),
        ("fields".into(), scope.fields.to_string()),
        ("chars".into(), scope.chars.to_string()),
        ("tokens T".into(), u.tokens.to_string()),
        ("types V".into(), u.types.to_string()),
        ("type-token ratio".into(), fmt_value(u.ttr)),
        ("hapax share".into(), fmt_value(u.hapax_share)),
        ("entropy H (bits)".into(), fmt_value(u.entropy_bits)),
        ("H / log₂ V".into(), opt(u.entropy_norm)),
        ("head mass (top 1% of types)".into(), fmt_value(u.head_mass)),
        ("tail mass (types ≤ 10×)".into(), fmt_value(u.tail_mass)),
        ("Zipf exponent".into(), opt(u.zipf_exponent)),
    ]
}

/// How a top n-gram reads in a table: a model tokenizer's n-gram as its
/// decoded text, spaces at either end shown as `␣` and line breaks and tabs
/// as `↵` and `⇥` (the page would swallow them); a built-in word n-gram as
/// it is.
fn gram_label(entry: &NgramCount) -> String {
    let Some(text) = &entry.text else {
        return entry.ngram.clone();
    };
    let visible: String = text
        .chars()
        .map(|c| match c {
            '\n' => '↵',
            '\t' => '⇥',
            '\r' => '␍',
            c => c,
        })
        .collect();
    let body = visible.trim_matches(' ');
    let start = visible.len() - visible.trim_start_matches(' ').len();
    let end = visible.len() - visible.trim_end_matches(' ').len();
    if body.is_empty() {
        return "␣".repeat(start);
    }
    format!("{}{body}{}", "␣".repeat(start), "␣".repeat(end))
}

fn ngram_table(scope: &ScopeReport) -> Block {
    let rows = scope
        .ngrams
        .iter()
        .map(|(n, f): (&String, &NgramFigures)| {
            let bound =
                |v: String, e: String, exact: bool| if exact { v } else { format!("{v} ± {e}") };
            vec![
                n.clone(),
                f.total.to_string(),
                bound(f.distinct.to_string(), fmt_value(f.distinct_error), f.exact),
                fmt_value(f.distinct_ratio),
                bound(
                    fmt_value(f.concentration),
                    fmt_value(f.concentration_error),
                    f.exact,
                ),
                if f.exact {
                    "exact".into()
                } else {
                    format!("sketch (counts −0/+{})", f.count_error)
                },
                f.top
                    .iter()
                    .take(5)
                    .map(|t| format!("{} ({})", gram_label(t), t.count))
                    .collect::<Vec<_>>()
                    .join(" · "),
            ]
        })
        .collect();
    Block::Table {
        headers: [
            "n",
            "total",
            "distinct",
            "distinct ratio",
            "concentration",
            "mode",
            "top 5",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// Label of the bar of null cells in a category chart.
const NULL_LABEL: &str = "∅";

/// Bars of a category chart: the most frequent values (all of them are in
/// `categories.parquet`).
const MAX_CATEGORY_BARS: usize = 30;

fn category_chart(column: &str, c: &CategoryReport) -> String {
    #[expect(clippy::cast_precision_loss, reason = "plot values")]
    let mut bars: Vec<(Option<&str>, f64)> = c
        .counts
        .iter()
        .map(|(k, &v)| (Some(k.as_str()), v as f64))
        .collect();
    if c.nulls > 0 {
        #[expect(clippy::cast_precision_loss, reason = "plot values")]
        bars.push((None, c.nulls as f64));
    }
    // Ties by value, null (`None`) first: the same bars in the same order
    // on every run.
    bars.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let all = bars.len();
    bars.truncate(MAX_CATEGORY_BARS);
    let shown = if all > bars.len() {
        format!(" (top {} shown)", bars.len())
    } else {
        String::new()
    };
    // A bar label is any string; null gets one that the title explains,
    // so a value spelled like it stays tellable apart.
    let null_note = if c.nulls > 0 {
        format!(" ({NULL_LABEL} = {} null cells)", c.nulls)
    } else {
        String::new()
    };
    BarChart {
        title: format!(
            "{column}: {} values{shown}, H = {} bits, exp(H) = {}{null_note}",
            c.values,
            fmt_value(c.entropy_bits),
            fmt_value(c.effective)
        ),
        y_label: "samples".into(),
        bars: bars
            .into_iter()
            .map(|(k, v)| (k.unwrap_or(NULL_LABEL).to_owned(), v))
            .collect(),
    }
    .to_svg()
}

/// The Gopher repetition metrics of one scope.
fn gopher_table(g: &GopherReport) -> Block {
    // Gopher's Table A1 order (lines, top n-grams, duplicate n-grams by
    // n), not the map's alphabetical one (`dup_10gram` first).
    let mut metrics: Vec<_> = g.metrics.iter().collect();
    metrics.sort_by_key(|(k, _)| {
        regime_stats::gopher::METRICS
            .iter()
            .position(|m| m == k)
            .unwrap_or(usize::MAX)
    });
    Block::Table {
        headers: [
            "Gopher metric",
            "threshold",
            "mean",
            "p50",
            "p90",
            "p99",
            "share over",
        ]
        .map(String::from)
        .to_vec(),
        rows: metrics
            .into_iter()
            .map(|(k, m)| {
                vec![
                    k.clone(),
                    fmt_value(m.threshold),
                    fmt_value(m.mean),
                    fmt_value(m.p50),
                    fmt_value(m.p90),
                    fmt_value(m.p99),
                    fmt_value(m.share_over),
                ]
            })
            .collect(),
    }
}

/// Key figures of the duplication section: exact, near (when measured) and
/// prompt-segment duplication.
fn duplication_figures(d: &DuplicationReport) -> Vec<(String, String)> {
    let mut figures = vec![(
        "exact duplicate samples".into(),
        format!(
            "{} ({})",
            d.exact_duplicates,
            fmt_value(d.exact_duplicate_share)
        ),
    )];
    if let Some(share) = d.near_duplicate_share {
        figures.push(("near-duplicate samples (MinHash)".into(), fmt_value(share)));
    }
    if let Some(p) = &d.prompt {
        figures.extend([
            (
                "share of samples with a duplicated prompt segment (sample_dup_rate)".into(),
                fmt_value(p.sample_dup_rate),
            ),
            (
                "duplicate copies per prompt segment (segment_dup_rate)".into(),
                fmt_value(p.segment_dup_rate),
            ),
            (
                "share of prompt characters in copies (char_dup_rate)".into(),
                fmt_value(p.char_dup_rate),
            ),
            ("repeated user turns".into(), p.repeated_turns.to_string()),
        ]);
    }
    figures
}

/// `bytes` in the largest binary unit that divides it exactly (`4 GiB`,
/// `512 MiB`, `1000 bytes`): the form `--memory-budget` was given in, since
/// it takes only whole numbers of K, M, G or T.
fn binary_size(bytes: u64) -> String {
    const UNITS: [(u32, &str); 4] = [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")];
    UNITS
        .iter()
        .find(|&&(shift, _)| bytes != 0 && bytes.trailing_zeros() >= shift)
        .map_or_else(
            || format!("{bytes} bytes"),
            |&(shift, unit)| format!("{} {unit}", bytes >> shift),
        )
}

/// The `report.html` page of `regime profile`.
#[must_use]
pub fn profile_page(report: &ProfileReport) -> HtmlPage {
    let s = &report.settings;
    let mut page = HtmlPage::new("regime profile").with_subtitle(format!(
        "tokens: {:?}, n ≤ {}, top {}, memory budget {}",
        s.token_space,
        s.max_n,
        s.top_k,
        binary_size(s.memory_budget)
    ));
    let mut overall = Section::new("Overall")
        .with(Block::KeyFigures(scope_figures(&report.overall)))
        .with(ngram_table(&report.overall));
    let mut curves = vec![rank_series("overall", &report.overall)];
    curves.extend(report.roles.iter().map(|(r, sc)| rank_series(r, sc)));
    overall = overall.with(Block::Svg(rank_chart("Rank–frequency (unigrams)", curves)));
    let hists: Vec<String> = std::iter::once(("overall", &report.overall))
        .chain(report.roles.iter().map(|(r, sc)| (r.as_str(), sc)))
        .filter_map(|(r, sc)| length_histogram(r, sc))
        .collect();
    if !hists.is_empty() {
        overall = overall.with(Block::SvgRow(hists));
    }
    if let Some(d) = &report.overall.duplication {
        overall = overall.with(Block::KeyFigures(duplication_figures(d)));
        if !d.templates.is_empty() {
            overall = overall.with(Block::Table {
                headers: ["template segment", "samples", "share"]
                    .map(String::from)
                    .to_vec(),
                rows: d
                    .templates
                    .iter()
                    .map(|t| vec![t.segment.clone(), t.samples.to_string(), fmt_value(t.share)])
                    .collect(),
            });
        }
    }
    if let Some(g) = &report.overall.gopher {
        overall = overall.with(gopher_table(g));
    }
    page = page.with_section(overall);
    for (role, scope) in &report.roles {
        let mut section = Section::new(format!("Role: {role}"))
            .with(Block::KeyFigures(scope_figures(scope)))
            .with(ngram_table(scope));
        if let Some(g) = &scope.gopher {
            section = section.with(gopher_table(g));
        }
        page = page.with_section(section);
    }
    if !report.categories.is_empty() {
        let charts = report
            .categories
            .iter()
            .map(|(c, r)| category_chart(c, r))
            .collect();
        page = page.with_section(Section::new("Category coverage").with(Block::SvgRow(charts)));
    }
    page
}

/// The `report.html` page of `regime profile --compare A B`.
#[must_use]
pub fn compare_page(cmp: &ProfileComparison) -> HtmlPage {
    let c = &cmp.compare;
    let figures = vec![
        (
            "Jensen–Shannon divergence (bits)".into(),
            // Undefined when a corpus has no tokens.
            c.js_divergence_bits.map_or_else(|| "n/a".into(), fmt_value),
        ),
        ("Δ types (B − A)".into(), c.delta_types.to_string()),
        ("Δ entropy (bits)".into(), fmt_value(c.delta_entropy_bits)),
        ("Δ head mass".into(), fmt_value(c.delta_head_mass)),
        ("Δ tail mass".into(), fmt_value(c.delta_tail_mass)),
        ("A's rare types (≤ 10×)".into(), c.rare_types_a.to_string()),
        (
            "rare-type survival in B".into(),
            fmt_value(c.rare_type_survival),
        ),
    ];
    let deltas = Block::Table {
        headers: ["n", "Δ distinct", "Δ distinct ratio", "exact"]
            .map(String::from)
            .to_vec(),
        rows: c
            .delta_ngrams
            .iter()
            .map(|(n, d)| {
                vec![
                    n.clone(),
                    d.delta_distinct.to_string(),
                    fmt_value(d.delta_distinct_ratio),
                    d.exact.to_string(),
                ]
            })
            .collect(),
    };
    let curves = rank_chart(
        "Rank–frequency, A and B overlaid",
        vec![
            rank_series("A", &cmp.a.overall),
            rank_series("B", &cmp.b.overall),
        ],
    );
    HtmlPage::new("regime profile --compare")
        .with_subtitle(format!(
            "B relative to A — A: {}; B: {}",
            cmp.a_input, cmp.b_input
        ))
        .with_section(
            Section::new("Comparison")
                .with(Block::KeyFigures(figures))
                .with(deltas)
                .with(Block::Svg(curves)),
        )
        .with_section(
            Section::new(format!("A: {}", cmp.a_input))
                .with(Block::KeyFigures(scope_figures(&cmp.a.overall)))
                .with(ngram_table(&cmp.a.overall)),
        )
        .with_section(
            Section::new(format!("B: {}", cmp.b_input))
                .with(Block::KeyFigures(scope_figures(&cmp.b.overall)))
                .with(ngram_table(&cmp.b.overall)),
        )
}

#[cfg(test)]
mod tests {
    use regime_stats::{
        FieldInput, ProfileConfig, ProfileState, SampleInput, TokenSeq, TokenSpace,
    };

    use super::*;

    /// The page of a two-sample profile with one user field per sample.
    fn page_html(config: ProfileConfig) -> String {
        let mut state = ProfileState::new(config).unwrap();
        for text in ["a b c", "a b"] {
            let words: Vec<&str> = text.split(' ').collect();
            let fields = [FieldInput {
                role: "user",
                text,
                tokens: TokenSeq::Words(&words),
                words: Some(&words),
            }];
            state.insert(&SampleInput {
                fields: &fields,
                ..SampleInput::default()
            });
        }
        let mut html = Vec::new();
        profile_page(&state.finalize(None))
            .render(&mut html)
            .unwrap();
        String::from_utf8(html).unwrap()
    }

    #[test]
    fn model_grams_read_as_decoded_text_with_visible_edges() {
        let entry = |ngram: &str, text: Option<&str>| NgramCount {
            ngram: ngram.into(),
            count: 1,
            ids: text.map(|_| vec![1]),
            text: text.map(Into::into),
        };
        assert_eq!(gram_label(&entry("the cat", None)), "the cat");
        assert_eq!(
            gram_label(&entry("Ġthe Ġcat", Some(" the cat"))),
            "␣the cat"
        );
        assert_eq!(gram_label(&entry("åĽ¾çīĩ", Some("图片"))), "图片");
        assert_eq!(gram_label(&entry("ĊĊ", Some("\n\n"))), "↵↵");
        assert_eq!(gram_label(&entry("ĠĠ", Some("  "))), "␣␣");
        assert_eq!(gram_label(&entry("Ġa Ġ", Some(" a\t "))), "␣a⇥␣");
    }

    #[test]
    fn length_histograms_count_samples_and_fields() {
        let html = page_html(ProfileConfig::new(TokenSpace::Words));
        let y_label = |label: &str| format!("rotate(-90)\" text-anchor=\"middle\">{label}</text>");
        assert!(html.contains("overall: tokens per sample"));
        assert!(html.contains(&y_label("samples")), "overall histogram");
        assert!(html.contains(&y_label("fields")), "per-role histogram");
        assert!(!html.contains(&y_label("matrices")));
    }

    #[test]
    fn memory_budget_is_shown_in_binary_units() {
        let html = page_html(ProfileConfig::new(TokenSpace::Words).with_memory_budget(4 << 30));
        assert!(html.contains("memory budget 4 GiB"), "{html}");
        let html = page_html(ProfileConfig::new(TokenSpace::Words).with_memory_budget(1000));
        assert!(html.contains("memory budget 1000 bytes"));
        assert_eq!(binary_size(512 << 20), "512 MiB");
        assert_eq!(binary_size(3 << 40), "3 TiB");
        assert_eq!(binary_size((1 << 30) + (1 << 20)), "1025 MiB");
        assert_eq!(binary_size(0), "0 bytes");
    }

    #[test]
    fn null_category_has_its_own_bar_apart_from_a_string_spelled_like_one() {
        let mut counts = regime_stats::CategoryCounts::new(&[Some("<null>"), Some("a"), None]);
        counts.insert(None);
        let svg = category_chart("src", &counts.finalize());
        assert!(svg.contains("src: 3 values"), "{svg}");
        assert!(svg.contains("(∅ = 2 null cells)"), "{svg}");
        assert!(svg.contains(">∅<") && svg.contains("&lt;null&gt;"), "{svg}");
        let no_nulls = regime_stats::CategoryCounts::new(&[Some("a")]).finalize();
        assert!(!category_chart("src", &no_nulls).contains('∅'));
    }

    #[test]
    fn a_category_chart_says_when_it_shows_only_the_top_values() {
        let names: Vec<String> = (0..40).map(|i| format!("s{i:02}")).collect();
        let values: Vec<Option<&str>> = names.iter().map(|n| Some(n.as_str())).collect();
        let svg = category_chart(
            "src",
            &regime_stats::CategoryCounts::new(&values).finalize(),
        );
        assert!(svg.contains("src: 40 values (top 30 shown)"), "{svg}");
        assert_eq!(
            svg.matches("<rect").count() - svg.matches("<rect width").count(),
            30
        );
        let few = regime_stats::CategoryCounts::new(&values[..5]).finalize();
        assert!(!category_chart("src", &few).contains("shown"));
    }

    #[test]
    fn gopher_metrics_are_listed_in_table_a1_order() {
        let html = page_html(ProfileConfig::new(TokenSpace::Words));
        let at = |m: &str| html.find(&format!("<td>{m}</td>")).expect(m);
        let order: Vec<usize> = regime_stats::gopher::METRICS
            .iter()
            .map(|m| at(m))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }
}
