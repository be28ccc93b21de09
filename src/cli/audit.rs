//! `regime audit-prompts`.

use clap::{Args, ValueEnum};

use super::number::at_least;
use super::{DedupOptions, InputArgs};

/// Check prompt duplication against limits (a CI gate; never writes data).
///
/// Computes `sample_dup_rate`, `segment_dup_rate`, `char_dup_rate`,
/// `repeated_turns` and the most common prompt segments (templates), as
/// prompt-dedup defines them, over every row or a seeded sample of rows
/// (with 95% intervals). Exit 0 when within every limit given, 1 when a
/// limit is exceeded, 2 on bad input or usage.
#[derive(Debug, Args)]
pub(crate) struct AuditPromptsArgs {
    /// The corpus.
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// What counts as a duplicate.
    #[command(flatten)]
    pub(crate) dedup: DedupOptions,
    /// Fail when more than this share of samples holds a duplicate copy.
    #[arg(
        long,
        value_name = "RATE",
        allow_negative_numbers = true,
        help_heading = "Limits"
    )]
    pub(crate) max_sample_dup_rate: Option<f64>,
    /// Fail when the segment duplication rate (duplicate copies per prompt-segment
    /// occurrence; can pass 1 when a segment holds several copies) is
    /// above this.
    #[arg(
        long,
        value_name = "RATE",
        allow_negative_numbers = true,
        help_heading = "Limits"
    )]
    pub(crate) max_segment_dup_rate: Option<f64>,
    /// Fail when one prompt segment appears in more than this share of
    /// samples.
    #[arg(
        long,
        value_name = "RATE",
        allow_negative_numbers = true,
        help_heading = "Limits"
    )]
    pub(crate) max_template_share: Option<f64>,
    /// Audit a uniform random sample of N rows instead of all of them
    /// (N ≥ 2: the 95% intervals need two samples to estimate a variance).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least(2_u64), help_heading = "Sampling")]
    pub(crate) sample: Option<u64>,
    /// Seed of the row sample.
    #[arg(
        long,
        default_value_t = 0,
        env = "REGIME_SEED",
        allow_negative_numbers = true,
        value_parser = at_least(0_u64),
        help_heading = "Sampling"
    )]
    pub(crate) seed: u64,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub(crate) format: AuditFormat,
}

/// Report formats of audit-prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuditFormat {
    /// A short human report.
    Text,
    /// The figures as JSON (schemas/audit-prompts-report.schema.json).
    Json,
    /// `JUnit` XML, one test case per figure.
    Junit,
    /// GitHub Actions annotations (`::error …`).
    Github,
}
