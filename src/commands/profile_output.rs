//! Writes the `regime profile` outputs into a staged output directory:
//! `report.json`, `ngrams.parquet`, `roles.parquet`, `categories.parquet`
//! and `report.html`.

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, ListArray, StringArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, UInt32Type};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use regime_corpus::OutputDir;
use regime_stats::{ProfileComparison, ProfileReport, ScopeReport};

/// Writes `columns` as the parquet file `name`. Float columns are nullable
/// (a figure may be undefined), and so is every column named in `nullable`;
/// the rest are required.
fn write_parquet(
    out: &OutputDir,
    name: &str,
    columns: Vec<(&str, ArrayRef)>,
    nullable: &[&str],
) -> anyhow::Result<()> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| {
                Field::new(
                    *n,
                    a.data_type().clone(),
                    a.data_type() == &DataType::Float64 || nullable.contains(n),
                )
            })
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )?;
    let path = out.staged(name);
    let file = std::fs::File::create(&path).with_context(|| path.display().to_string())?;
    let mut writer = ArrowWriter::try_new(file, schema, None)?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(())
}

fn write_html(out: &OutputDir, page: &regime_report::HtmlPage) -> anyhow::Result<()> {
    let path = out.staged("report.html");
    let file = std::fs::File::create(&path).with_context(|| path.display().to_string())?;
    let mut w = std::io::BufWriter::new(file);
    page.render(&mut w)?;
    std::io::Write::flush(&mut w).with_context(|| path.display().to_string())
}

/// `scope, n, rank, ngram, count, exact, ids, text` for every top-k entry
/// (`ids` and `text`, the decoded n-gram, are null for built-in words).
fn ngram_columns<'a>(
    scopes: impl Iterator<Item = (String, &'a ScopeReport)>,
) -> Vec<(&'static str, ArrayRef)> {
    let (mut scope, mut n, mut rank, mut ngram, mut count, mut exact) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut ids, mut text) = (Vec::new(), Vec::new());
    for (name, sc) in scopes {
        for (k, f) in &sc.ngrams {
            for (i, t) in f.top.iter().enumerate() {
                scope.push(name.clone());
                n.push(k.parse::<u32>().unwrap_or(0));
                rank.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
                ngram.push(t.ngram.clone());
                count.push(t.count);
                exact.push(f.exact);
                ids.push(t.ids.as_ref().map(|v| v.iter().copied().map(Some)));
                text.push(t.text.clone());
            }
        }
    }
    vec![
        ("scope", Arc::new(StringArray::from(scope)) as ArrayRef),
        ("n", Arc::new(UInt32Array::from(n))),
        ("rank", Arc::new(UInt32Array::from(rank))),
        ("ngram", Arc::new(StringArray::from(ngram))),
        ("count", Arc::new(UInt64Array::from(count))),
        ("exact", Arc::new(BooleanArray::from(exact))),
        (
            "ids",
            Arc::new(ListArray::from_iter_primitive::<UInt32Type, _, _>(ids)),
        ),
        ("text", Arc::new(StringArray::from(text))),
    ]
}

/// The `ngrams.parquet` columns that are null for built-in words.
const NGRAM_NULLABLE: &[&str] = &["ids", "text"];

fn scopes(report: &ProfileReport) -> impl Iterator<Item = (String, &ScopeReport)> {
    std::iter::once(("overall".to_owned(), &report.overall))
        .chain(report.roles.iter().map(|(r, s)| (r.clone(), s)))
}

/// One row per scope (overall first, then roles).
fn role_columns(report: &ProfileReport) -> Vec<(&'static str, ArrayRef)> {
    let rows: Vec<(String, &ScopeReport)> = scopes(report).collect();
    let u64s = |f: &dyn Fn(&ScopeReport) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from(
            rows.iter().map(|(_, s)| f(s)).collect::<Vec<_>>(),
        ))
    };
    let f64s = |f: &dyn Fn(&ScopeReport) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter().map(|(_, s)| f(s)).collect::<Vec<_>>(),
        ))
    };
    vec![
        (
            "scope",
            Arc::new(StringArray::from(
                rows.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("samples", u64s(&|s| s.samples)),
        ("fields", u64s(&|s| s.fields)),
        ("chars", u64s(&|s| s.chars)),
        ("tokens", u64s(&|s| s.tokens)),
        ("types", u64s(&|s| s.unigram.types)),
        ("ttr", f64s(&|s| Some(s.unigram.ttr))),
        ("hapax_share", f64s(&|s| Some(s.unigram.hapax_share))),
        ("entropy_bits", f64s(&|s| Some(s.unigram.entropy_bits))),
        ("entropy_norm", f64s(&|s| s.unigram.entropy_norm)),
        ("head_mass", f64s(&|s| Some(s.unigram.head_mass))),
        ("tail_mass", f64s(&|s| Some(s.unigram.tail_mass))),
        ("zipf_exponent", f64s(&|s| s.unigram.zipf_exponent)),
        (
            "tokens_mean",
            f64s(&|s| s.lengths.tokens.as_ref().map(|d| d.mean)),
        ),
        (
            "tokens_std",
            f64s(&|s| s.lengths.tokens.as_ref().map(|d| d.std)),
        ),
        (
            "tokens_p50",
            f64s(&|s| s.lengths.tokens.as_ref().map(|d| d.p50)),
        ),
        (
            "tokens_p90",
            f64s(&|s| s.lengths.tokens.as_ref().map(|d| d.p90)),
        ),
        (
            "tokens_p99",
            f64s(&|s| s.lengths.tokens.as_ref().map(|d| d.p99)),
        ),
        (
            "chars_mean",
            f64s(&|s| s.lengths.chars.as_ref().map(|d| d.mean)),
        ),
        (
            "chars_p50",
            f64s(&|s| s.lengths.chars.as_ref().map(|d| d.p50)),
        ),
    ]
}

#[expect(clippy::cast_precision_loss, reason = "shares of sample counts")]
fn category_columns(report: &ProfileReport) -> Vec<(&'static str, ArrayRef)> {
    let (mut column, mut value, mut count, mut share) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (c, r) in &report.categories {
        // A null cell is a null `value` (last), apart from every string.
        let nulls = (r.nulls > 0).then_some((None, r.nulls));
        for (v, n) in r.counts.iter().map(|(v, &n)| (Some(v), n)).chain(nulls) {
            column.push(c.clone());
            value.push(v.cloned());
            count.push(n);
            share.push(Some(if r.samples == 0 {
                0.0
            } else {
                n as f64 / r.samples as f64
            }));
        }
    }
    vec![
        ("column", Arc::new(StringArray::from(column)) as ArrayRef),
        ("value", Arc::new(StringArray::from(value))),
        ("count", Arc::new(UInt64Array::from(count))),
        ("share", Arc::new(Float64Array::from(share))),
    ]
}

/// Stages every output of a profile run.
pub(crate) fn write_report(out: &OutputDir, report: &ProfileReport) -> anyhow::Result<()> {
    super::corpus::write_json(out, "report.json", report)?;
    write_parquet(
        out,
        "ngrams.parquet",
        ngram_columns(scopes(report)),
        NGRAM_NULLABLE,
    )?;
    write_parquet(out, "roles.parquet", role_columns(report), &[])?;
    if !report.categories.is_empty() {
        // `value` is null for the null cells of a `--by` column.
        write_parquet(
            out,
            "categories.parquet",
            category_columns(report),
            &["value"],
        )?;
    }
    write_html(out, &regime_report::profile::profile_page(report))
}

/// Stages every output of a `--compare` run.
pub(crate) fn write_comparison(out: &OutputDir, cmp: &ProfileComparison) -> anyhow::Result<()> {
    super::corpus::write_json(out, "report.json", cmp)?;
    let both = scopes(&cmp.a)
        .map(|(s, r)| (format!("a:{s}"), r))
        .chain(scopes(&cmp.b).map(|(s, r)| (format!("b:{s}"), r)));
    write_parquet(out, "ngrams.parquet", ngram_columns(both), NGRAM_NULLABLE)?;
    write_html(out, &regime_report::profile::compare_page(cmp))
}
