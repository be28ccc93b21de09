//! The reports of `prompt-dedup` (`report.json`) and `audit-prompts`
//! (`--format json`), the gate's limits, and the seeded row sample.
//! Both types derive [`JsonSchema`]; `regime schema` prints their schemas,
//! checked in under `schemas/`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::audit::{Intervals, PromptReport};
use crate::error::{Error, Result};

/// `DIR/report.json` of `regime prompt-dedup`: the figures of the input at
/// the top level (CORPUS.md "Report layout") and of the output under
/// `after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromptDedupReport {
    /// Figures of the input.
    #[serde(flatten)]
    pub before: PromptReport,
    /// Figures of the output.
    pub after: PromptReport,
    /// Rows read.
    pub rows_in: u64,
    /// Rows written (always `rows_in`).
    pub rows_out: u64,
    /// Fields changed.
    pub fields_changed: u64,
}

/// The limits of `audit-prompts`; a missing limit is not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    /// `--max-sample-dup-rate`.
    pub max_sample_dup_rate: Option<f64>,
    /// `--max-segment-dup-rate`.
    pub max_segment_dup_rate: Option<f64>,
    /// `--max-template-share`.
    pub max_template_share: Option<f64>,
}

impl Limits {
    /// Checks every limit is a rate in `[0, 1]`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the flag.
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("--max-sample-dup-rate", self.max_sample_dup_rate),
            ("--max-template-share", self.max_template_share),
        ] {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(Error::Config {
                    what: "limit",
                    reason: format!("{what} {v} is not a rate in [0, 1]"),
                });
            }
        }
        // Copies per distinct segment: past 1 when segments repeat often.
        if let Some(v) = self.max_segment_dup_rate
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(Error::Config {
                what: "limit",
                reason: format!("--max-segment-dup-rate {v} is not a rate ≥ 0"),
            });
        }
        Ok(())
    }
}

/// One checked figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    /// The figure: `sample_dup_rate`, `segment_dup_rate` or
    /// `max_template_share`.
    pub figure: String,
    /// Its value.
    pub value: f64,
    /// The limit, when one was given.
    pub limit: Option<f64>,
    /// Whether the value is within the limit (true without a limit).
    pub passed: bool,
}

/// How the audited rows were chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SampleInfo {
    /// Rows audited.
    pub rows: u64,
    /// Rows in the corpus.
    pub population: u64,
    /// The seed of the draw.
    pub seed: u64,
    /// 95% intervals of the rates.
    pub intervals: Intervals,
}

/// The JSON of `regime audit-prompts --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditReport {
    /// The figures (CORPUS.md "Report layout").
    #[serde(flatten)]
    pub figures: PromptReport,
    /// Present when a seeded sample of rows was audited.
    pub sample: Option<SampleInfo>,
    /// The limits given.
    pub limits: Limits,
    /// One entry per figure with a limit.
    pub checks: Vec<Check>,
    /// Whether every limit holds.
    pub passed: bool,
}

impl AuditReport {
    /// Compares `figures` with `limits`.
    #[must_use]
    pub fn new(figures: PromptReport, limits: Limits, sample: Option<SampleInfo>) -> Self {
        let max_template_share = figures.max_template_share;
        let checks: Vec<Check> = [
            (
                "sample_dup_rate",
                figures.sample_dup_rate,
                limits.max_sample_dup_rate,
            ),
            (
                "segment_dup_rate",
                figures.segment_dup_rate,
                limits.max_segment_dup_rate,
            ),
            (
                "max_template_share",
                max_template_share,
                limits.max_template_share,
            ),
        ]
        .into_iter()
        .map(|(figure, value, limit)| Check {
            figure: figure.into(),
            value,
            limit,
            passed: limit.is_none_or(|l| value <= l),
        })
        .collect();
        let passed = checks.iter().all(|c| c.passed);
        Self {
            figures,
            sample,
            limits,
            checks,
            passed,
        }
    }
}

/// `n` distinct row ordinals out of `population`, drawn uniformly with a
/// seeded `ChaCha8` RNG, ascending (all rows when `n ≥ population`).
#[must_use]
pub fn sample_rows(population: u64, n: u64, seed: u64) -> Vec<u64> {
    if n >= population {
        return (0..population).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (Ok(pop), Ok(k)) = (usize::try_from(population), usize::try_from(n)) else {
        return (0..population).collect();
    };
    let mut rows: Vec<u64> = rand::seq::index::sample(&mut rng, pop, k)
        .into_iter()
        .map(|i| i as u64)
        .collect();
    rows.sort_unstable();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PromptAudit;

    #[test]
    fn sample_is_seeded_sorted_and_distinct() {
        let a = sample_rows(1000, 100, 7);
        assert_eq!(a, sample_rows(1000, 100, 7));
        assert_ne!(a, sample_rows(1000, 100, 8));
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_rows(5, 10, 1), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn checks_compare_with_limits() {
        let figures = PromptAudit::new().report();
        let r = AuditReport::new(
            figures,
            Limits {
                max_sample_dup_rate: Some(0.0),
                ..Limits::default()
            },
            None,
        );
        assert!(r.passed);
        assert!(
            Limits {
                max_template_share: Some(1.5),
                ..Limits::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn schemas_name_the_report_layout_keys() {
        let schema = schemars::schema_for!(AuditReport).to_value().to_string();
        for key in [
            "samples",
            "sample_dup_rate",
            "segment_dup_rate",
            "char_dup_rate",
            "repeated_turns",
            "templates",
            "worst",
        ] {
            assert!(schema.contains(&format!("\"{key}\"")), "{key}");
        }
        let schema = schemars::schema_for!(PromptDedupReport).to_value();
        assert!(schema.to_string().contains("\"after\""));
    }
}
