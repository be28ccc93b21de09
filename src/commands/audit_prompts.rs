//! `regime audit-prompts`: the prompt-duplication CI gate. Reads only; the
//! report goes to stdout in the chosen format.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use regime_corpus::RowId;
use regime_dedup::{
    AuditReport, Limits, SampleInfo, WorstSample, audit_batch, read_columns, sample_rows,
};

use super::Outcome;
use super::corpus;
use super::prompt_dedup::{audit, build};
use crate::cli::{AuditFormat, AuditPromptsArgs, GlobalArgs};
use crate::progress;

pub(crate) fn run(args: &AuditPromptsArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let limits = Limits {
        max_sample_dup_rate: args.max_sample_dup_rate,
        max_segment_dup_rate: args.max_segment_dup_rate,
        max_template_share: args.max_template_share,
    };
    limits.validate()?;
    let dedup = build(&args.dedup)?;
    let corpus = corpus::open(&args.input, global)?;
    // A gate that measured nothing must not pass.
    let population = corpus.rows_to("audit")?;
    let files = corpus.paths();
    // A sample as large as the corpus is the corpus: audit it whole.
    let chosen = args
        .sample
        .filter(|&n| n < population)
        .map(|n| sample_rows(population, n, args.seed));
    let columns = read_columns(&corpus.map, corpus.builder.schema());
    // Read-only: text columns come as views, without copying each value
    // out of its parquet dictionary.
    let reader = corpus
        .builder
        .with_columns(&columns)?
        .with_string_views()?
        .build();
    let mut total = audit(&args.dedup);
    let bar = progress::bar(global, Some(population), "audit-prompts", "samples");
    let mut seen = 0u64;
    let mut next = 0usize;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let n = batch.num_rows() as u64;
        if let Some(chosen) = &chosen {
            rows.clear();
            while let Some(&r) = chosen.get(next) {
                if r >= seen + n {
                    break;
                }
                rows.push(usize::try_from(r - seen)?);
                next += 1;
            }
            audit_batch(&dedup, &corpus.map, &batch, Some(&rows), &mut total)?;
        } else {
            audit_batch(&dedup, &corpus.map, &batch, None, &mut total)?;
        }
        seen += n;
        bar.set_position(seen);
    }
    bar.finish_and_clear();
    let sample = match (&chosen, total.intervals(population)) {
        (Some(_), Some(intervals)) => Some(SampleInfo {
            rows: total.samples(),
            population,
            seed: args.seed,
            intervals,
        }),
        _ => None,
    };
    let figures = total.report();
    // Nor a gate whose fields held no prompt text (none of the roles it
    // compares is in the corpus, or all of them are empty).
    if figures.counts.segments == 0 {
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!(
            "{}: no prompt text in {} samples' {} fields: nothing to audit ({})",
            names.join(", "),
            figures.samples,
            args.dedup.priority.join(", "),
            corpus.map.describe()
        );
    }
    let report = AuditReport::new(figures, limits, sample);
    let text = match args.format {
        AuditFormat::Text => render_text(&report, &files),
        AuditFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
        AuditFormat::Junit => render_junit(&report, &files),
        AuditFormat::Github => render_github(&report, &files),
    };
    super::run::stdout().write_all(text.as_bytes())?;
    Ok(if report.passed {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

/// `value` and `limit` as percentages with the fewest decimals (2 to 10)
/// that tell them apart, so a failed check never reads "5.00% exceeds the
/// limit 5.00%".
fn pct_apart(value: f64, limit: f64) -> (String, String) {
    let at = |d: usize| {
        (
            format!("{:.d$}%", 100.0 * value),
            format!("{:.d$}%", 100.0 * limit),
        )
    };
    (2..=10)
        .map(at)
        .find(|(v, l)| v != l)
        .unwrap_or_else(|| at(2))
}

fn limit_note(report: &AuditReport, figure: &str) -> String {
    report
        .checks
        .iter()
        .find(|c| c.figure == figure)
        .and_then(|c| {
            c.limit.map(|l| {
                let (value, limit) = pct_apart(c.value, l);
                if c.passed {
                    format!("  (limit {}: ok)", pct(l))
                } else if value == pct(c.value) {
                    format!("  (limit {limit}: EXCEEDED)")
                } else {
                    format!("  (limit {limit}: EXCEEDED at {value})")
                }
            })
        })
        .unwrap_or_default()
}

/// "FIGURE VALUE exceeds the limit LIMIT" for a failed check.
fn exceeded(c: &regime_dedup::Check) -> String {
    let (value, limit) = c
        .limit
        .map_or_else(|| (pct(c.value), String::new()), |l| pct_apart(c.value, l));
    format!("{} {value} exceeds the limit {limit}", c.figure)
}

fn header(report: &AuditReport) -> String {
    let f = &report.figures;
    match &report.sample {
        Some(s) => format!(
            "{} of {} samples (seeded sample, seed {})",
            s.rows, s.population, s.seed
        ),
        None => format!("{} samples", f.samples),
    }
}

/// Duplicate copies listed per worst sample; the rest are counted.
const COPIES_SHOWN: usize = 5;

/// Where a worst sample is: `row R` (of `FILE` when there are several),
/// and its id.
fn sample_label(w: &WorstSample, files: &[PathBuf]) -> String {
    let at = RowId::from_u64(w.row_id);
    let file = match files {
        [_] => String::new(),
        _ => files
            .get(at.shard() as usize)
            .map_or_else(String::new, |f| format!(" of {}", f.display())),
    };
    let id =
        w.id.as_ref()
            .map_or_else(String::new, |id| format!(" (id {id})"));
    format!("row {}{file}{id}", at.row())
}

/// A worst sample's copies as JSON strings (escapes readable in any log),
/// at most [`COPIES_SHOWN`] of them.
fn copies_shown(w: &WorstSample) -> Vec<String> {
    let mut shown: Vec<String> = w
        .duplicates
        .iter()
        .take(COPIES_SHOWN)
        .map(|d| serde_json::to_string(d).unwrap_or_default())
        .collect();
    if w.duplicates.len() > COPIES_SHOWN {
        shown.push(format!("… and {} more", w.duplicates.len() - COPIES_SHOWN));
    }
    shown
}

/// The short human report.
fn render_text(report: &AuditReport, files: &[PathBuf]) -> String {
    let f = &report.figures;
    let mut out = String::new();
    let interval = |pick: fn(&regime_dedup::Intervals) -> (f64, f64)| {
        report.sample.as_ref().map_or_else(String::new, |s| {
            let (lo, hi) = pick(&s.intervals);
            format!("  95% CI [{}, {}]", pct(lo), pct(hi))
        })
    };
    let _ = writeln!(out, "audit-prompts: {}", header(report));
    let _ = writeln!(
        out,
        "  sample_dup_rate    {:>8}{}{}",
        pct(f.sample_dup_rate),
        interval(|i| i.sample_dup_rate),
        limit_note(report, "sample_dup_rate")
    );
    if report.sample.is_some() {
        let _ = writeln!(out, "                     (Wilson score interval)");
    }
    let _ = writeln!(
        out,
        "  segment_dup_rate   {:>8}{}{}",
        pct(f.segment_dup_rate),
        interval(|i| i.segment_dup_rate),
        limit_note(report, "segment_dup_rate")
    );
    let _ = writeln!(
        out,
        "  char_dup_rate      {:>8}{}",
        pct(f.char_dup_rate),
        interval(|i| i.char_dup_rate)
    );
    let _ = writeln!(out, "  repeated_turns     {:>8}", f.repeated_turns);
    let _ = writeln!(
        out,
        "  max template share {:>8}{}",
        pct(report.figures.max_template_share),
        limit_note(report, "max_template_share")
    );
    if !f.templates.is_empty() {
        let _ = writeln!(out, "top templates (share of samples):");
        for t in &f.templates {
            let _ = writeln!(
                out,
                "  {:>8}  {:>8}  {:?}",
                pct(t.share),
                t.samples,
                t.segment
            );
        }
    }
    if !f.worst.is_empty() {
        let _ = writeln!(out, "worst samples:");
        for w in &f.worst {
            let _ = writeln!(
                out,
                "  {}: {} duplicate cop{}",
                sample_label(w, files),
                w.duplicates.len(),
                if w.duplicates.len() == 1 { "y" } else { "ies" }
            );
            for d in copies_shown(w) {
                let _ = writeln!(out, "    {d}");
            }
        }
    }
    let failed: Vec<String> = failures(report);
    if failed.is_empty() {
        let _ = writeln!(out, "result: ok");
    } else {
        let _ = writeln!(out, "result: FAILED: {}", failed.join("; "));
    }
    out
}

fn failures(report: &AuditReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(exceeded)
        .collect()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// `JUnit` XML: one test case per figure (a failure when over its limit,
/// skipped when it has none), the figures and any sampling as properties.
fn render_junit(report: &AuditReport, files: &[PathBuf]) -> String {
    let f = &report.figures;
    let failures = report.checks.iter().filter(|c| !c.passed).count();
    let skipped = report.checks.iter().filter(|c| c.limit.is_none()).count();
    let tests = report.checks.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"regime audit-prompts\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"audit-prompts\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">"
    );
    let _ = writeln!(out, "    <properties>");
    let sampling = report.sample.as_ref().map(|s| {
        let interval = |(lo, hi): (f64, f64)| format!("[{lo}, {hi}]");
        [
            ("sample_rows", s.rows.to_string()),
            ("sample_population", s.population.to_string()),
            ("sample_seed", s.seed.to_string()),
            (
                "sample_dup_rate_95ci",
                interval(s.intervals.sample_dup_rate),
            ),
            (
                "segment_dup_rate_95ci",
                interval(s.intervals.segment_dup_rate),
            ),
            ("char_dup_rate_95ci", interval(s.intervals.char_dup_rate)),
        ]
    });
    for (name, value) in [
        ("samples", f.samples.to_string()),
        ("sample_dup_rate", f.sample_dup_rate.to_string()),
        ("segment_dup_rate", f.segment_dup_rate.to_string()),
        ("char_dup_rate", f.char_dup_rate.to_string()),
        ("repeated_turns", f.repeated_turns.to_string()),
        (
            "max_template_share",
            report.figures.max_template_share.to_string(),
        ),
    ]
    .into_iter()
    .chain(sampling.into_iter().flatten())
    {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml_escape(&value)
        );
    }
    let _ = writeln!(out, "    </properties>");
    for c in &report.checks {
        let name = xml_escape(&c.figure);
        if c.limit.is_none() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"audit-prompts\" name=\"{name}\">\n      <skipped message=\"no limit set\"/>\n    </testcase>"
            );
            continue;
        }
        if c.passed {
            let _ = writeln!(
                out,
                "    <testcase classname=\"audit-prompts\" name=\"{name}\"/>"
            );
            continue;
        }
        let message = exceeded(c);
        let mut body = String::new();
        for w in &f.worst {
            let _ = writeln!(
                body,
                "{}: {}",
                sample_label(w, files),
                copies_shown(w).join(", ")
            );
        }
        let _ = writeln!(
            out,
            "    <testcase classname=\"audit-prompts\" name=\"{name}\">\n      <failure type=\"limit\" message=\"{}\">{}</failure>\n    </testcase>",
            xml_escape(&message),
            xml_escape(&body)
        );
    }
    let _ = writeln!(out, "  </testsuite>\n</testsuites>");
    out
}

/// GitHub Actions workflow-command escaping of a property value.
fn gh_property(s: &str) -> String {
    gh_escape(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow-command escaping of a message.
fn gh_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `path` relative to the working directory when it lies under it: a
/// recipe's inputs are absolute, but GitHub places an annotation on a pull
/// request's diff only by a path relative to the repository root, where a
/// CI job runs.
fn relative_to_workdir(path: &Path) -> PathBuf {
    // The working directory is its real path (getcwd resolves links): compare
    // it with the file's real path, so `$PWD/x` under a linked checkout,
    // `./x` and `../repo/x` are placed too.
    let Ok(dir) = std::env::current_dir() else {
        return path.to_path_buf();
    };
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    real.strip_prefix(&dir)
        .or_else(|_| path.strip_prefix(&dir))
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// GitHub annotations: `::error` per exceeded limit, `::warning` per worst
/// sample when a limit failed, `::notice` with the figures; attached to the
/// input file when there is one (a path relative to the repository root
/// shows on the pull request's diff).
fn render_github(report: &AuditReport, files: &[PathBuf]) -> String {
    let f = &report.figures;
    let file = match files {
        [one] => format!(
            "file={},",
            gh_property(&relative_to_workdir(one).display().to_string())
        ),
        _ => String::new(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "::notice {file}title=audit-prompts::{}",
        gh_escape(&format!(
            "{}: sample_dup_rate {}, segment_dup_rate {}, char_dup_rate {}, repeated_turns {}, max template share {}",
            header(report),
            pct(f.sample_dup_rate),
            pct(f.segment_dup_rate),
            pct(f.char_dup_rate),
            f.repeated_turns,
            pct(report.figures.max_template_share)
        ))
    );
    for failure in failures(report) {
        let _ = writeln!(
            out,
            "::error {file}title=audit-prompts::{}",
            gh_escape(&failure)
        );
    }
    if !report.passed {
        for w in &f.worst {
            let _ = writeln!(
                out,
                "::warning {file}title=duplicated prompt::{}",
                gh_escape(&format!(
                    "{}: {}",
                    sample_label(w, files),
                    copies_shown(w).join(", ")
                ))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_limits_print_enough_decimals_to_differ() {
        assert_eq!(
            pct_apart(0.050_047_5, 0.05),
            ("5.005%".to_owned(), "5.000%".to_owned())
        );
        assert_eq!(
            pct_apart(0.25, 0.05),
            ("25.00%".to_owned(), "5.00%".to_owned())
        );
        assert_eq!(
            pct_apart(0.05, 0.05),
            ("5.00%".to_owned(), "5.00%".to_owned())
        );
    }
}
