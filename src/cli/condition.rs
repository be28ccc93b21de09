//! `regime condition …`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::number::{at_least, between};
use super::{InputArgs, OutputArgs};

/// Build a controlled training-data condition.
#[derive(Debug, Args)]
pub(crate) struct ConditionArgs {
    /// Which condition.
    #[command(subcommand)]
    pub(crate) command: ConditionCommand,
}

/// The conditions.
#[derive(Debug, Subcommand)]
pub(crate) enum ConditionCommand {
    /// Condition C, repetition-concentrated: a fraction of the first part
    /// (D1) repeated, the rest of D1 discarded, D2 unchanged.
    ///
    /// D1 is the first ⌊n·split⌋ rows in input order. k = ⌈|D1| / repeat⌉ of
    /// them are drawn with a seeded RNG and each is emitted `repeat` times
    /// (the last copies trimmed so the phase keeps exactly |D1| rows). Output
    /// rows carry `regime_source_row` (the source row id) and `regime_copy`.
    C(ConditionCArgs),
    /// Condition D, frequency-concentrated: every selected text field of the
    /// first part (D1) rewritten by a teacher LLM over an OpenAI-compatible
    /// API with the paper's prompt; D2 unchanged.
    ///
    /// Each field is one request; answers are cached in SQLite under
    /// --cache-dir, so a rerun after a crash sends only what was never
    /// answered. Rows carry `regime_rewrite_status` (per field: rewritten,
    /// kept-original or dropped, with the cause) and `regime_teacher_model`.
    /// The API key is read from `REGIME_TEACHER_API_KEY` and never written
    /// anywhere.
    D(Box<ConditionDArgs>),
}

/// Options of `regime condition c`.
#[derive(Debug, Args)]
pub(crate) struct ConditionCArgs {
    /// The corpus.
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Where to write.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    /// Share of rows (in input order) forming D1.
    #[arg(long, default_value_t = regime_conditions::DEFAULT_SPLIT, value_name = "SHARE", allow_negative_numbers = true)]
    pub(crate) split: f64,
    /// Share of D1 to keep and repeat; must equal 1/repeat [default: 0.1].
    #[arg(long, value_name = "SHARE", allow_negative_numbers = true)]
    pub(crate) fraction: Option<f64>,
    /// Copies of each kept row, 1–65535 [default: 10, or 1/fraction].
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = between(1_u16, u16::MAX))]
    pub(crate) repeat: Option<u16>,
    /// How copies are laid out inside the D1 phase.
    #[arg(long, value_enum, default_value_t = LayoutArg::Shuffled)]
    pub(crate) layout: LayoutArg,
    /// RNG seed.
    #[arg(long, default_value_t = 0, env = "REGIME_SEED", allow_negative_numbers = true, value_parser = at_least(0_u64))]
    pub(crate) seed: u64,
}

/// Options of `regime condition d`.
#[derive(Debug, Args)]
pub(crate) struct ConditionDArgs {
    /// The corpus.
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Where to write.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
    /// Share of rows (in input order) forming D1, the part rewritten.
    #[arg(long, default_value_t = regime_conditions::DEFAULT_SPLIT, value_name = "SHARE", allow_negative_numbers = true)]
    pub(crate) split: f64,
    /// Teacher server base URL (`http://host:port`, with or without `/v1`);
    /// not needed by --dry-run and --export-batch, which send nothing, nor
    /// with --import-batch (a field the batch left unanswered then fails
    /// as `not-cached`).
    #[arg(
        long,
        env = "REGIME_TEACHER_URL",
        value_name = "URL",
        required_unless_present_any = ["dry_run", "export_batch", "import_batch"],
        help_heading = "Teacher"
    )]
    pub(crate) teacher_url: Option<String>,
    /// Model name, as the server lists it under /v1/models.
    #[arg(
        long,
        env = "REGIME_TEACHER_MODEL",
        value_name = "NAME",
        help_heading = "Teacher"
    )]
    pub(crate) model: String,
    /// Response cache directory [default: OUT.teacher-cache next to --out].
    #[arg(long, value_name = "DIR", help_heading = "Teacher")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Most requests in flight (≈ 1–2 × the server's batch size; vLLM queues
    /// rather than answering 429, so this is the main knob).
    #[arg(long, default_value_t = 64, value_name = "N", allow_negative_numbers = true, value_parser = at_least(1_usize), help_heading = "Teacher")]
    pub(crate) concurrency: usize,
    /// Per-request timeout in seconds (a timed-out request is retried).
    #[arg(
        long,
        default_value_t = 600.0,
        value_name = "SECS",
        allow_negative_numbers = true,
        help_heading = "Teacher"
    )]
    pub(crate) timeout: f64,
    /// Connect timeout in seconds.
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "SECS",
        allow_negative_numbers = true,
        help_heading = "Teacher"
    )]
    pub(crate) connect_timeout: f64,
    /// Requests per minute, at most.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least(1_u32), help_heading = "Teacher")]
    pub(crate) rpm: Option<u32>,
    /// Tokens per minute, at most (prompt estimate + `max_tokens` per request).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least(1_u32), help_heading = "Teacher")]
    pub(crate) tpm: Option<u32>,
    /// Retries of connect errors, timeouts, resets and HTTP 408, 409, 429,
    /// 500, 502, 503, 504 (exponential backoff with full jitter, honouring
    /// Retry-After).
    #[arg(long, default_value_t = 8, value_name = "N", allow_negative_numbers = true, value_parser = at_least(0_u32), help_heading = "Teacher")]
    pub(crate) max_retries: u32,
    /// First backoff ceiling in milliseconds (doubles per retry, up to 60 s).
    #[arg(
        long,
        default_value_t = 500,
        value_name = "MS",
        allow_negative_numbers = true,
        value_parser = at_least(0_u64),
        help_heading = "Teacher"
    )]
    pub(crate) backoff_base_ms: u64,
    /// Retries of a malformed answer (no `<output>` tags, `finish_reason`
    /// length, empty, too long), each with the next seed.
    #[arg(long, default_value_t = 2, value_name = "N", allow_negative_numbers = true, value_parser = at_least(0_u32), help_heading = "Rewrite")]
    pub(crate) malformed_retries: u32,
    /// What a field that cannot be rewritten does to its row.
    #[arg(long, value_enum, default_value_t = OnFailureArg::KeepOriginal, help_heading = "Rewrite")]
    pub(crate) on_failure: OnFailureArg,
    /// Roles rewritten, comma-separated (`--fields` names the field-map file,
    /// as in every corpus command).
    #[arg(
        long = "on",
        value_delimiter = ',',
        default_value = "user,assistant,caption,ocr",
        value_parser = parse_role,
        value_name = "ROLES",
        help_heading = "Rewrite"
    )]
    pub(crate) roles: Vec<regime_corpus::Role>,
    /// Template language: per field by its share of Han characters, or fixed.
    #[arg(long, value_enum, default_value_t = LangArg::Auto, help_heading = "Rewrite")]
    pub(crate) lang: LangArg,
    /// Han share at and above which `--lang auto` uses the Chinese template.
    #[arg(long, default_value_t = regime_conditions::DEFAULT_HAN_THRESHOLD, value_name = "SHARE", allow_negative_numbers = true, help_heading = "Rewrite")]
    pub(crate) han_threshold: f64,
    /// Replace the English template (must contain `{text}` once).
    #[arg(long, value_name = "FILE", help_heading = "Rewrite")]
    pub(crate) template_en: Option<PathBuf>,
    /// Replace the Chinese template (must contain `{text}` once).
    #[arg(long, value_name = "FILE", help_heading = "Rewrite")]
    pub(crate) template_zh: Option<PathBuf>,
    /// Sampling temperature.
    #[arg(
        long,
        default_value_t = 0.7,
        value_name = "T",
        allow_negative_numbers = true,
        help_heading = "Rewrite"
    )]
    pub(crate) temperature: f64,
    /// Nucleus sampling.
    #[arg(
        long,
        default_value_t = 0.8,
        value_name = "P",
        allow_negative_numbers = true,
        help_heading = "Rewrite"
    )]
    pub(crate) top_p: f64,
    /// Top-k sampling (0: not sent, for APIs that reject the field).
    #[arg(long, default_value_t = 20, value_name = "K", allow_negative_numbers = true, value_parser = at_least(0_u32), help_heading = "Rewrite")]
    pub(crate) top_k: u32,
    /// Sampling seed (a malformed answer is retried with seed + 1, + 2, …).
    #[arg(
        long,
        default_value_t = 0,
        env = "REGIME_SEED",
        allow_negative_numbers = true,
        value_parser = at_least(0_u64),
        help_heading = "Rewrite"
    )]
    pub(crate) seed: u64,
    /// Cap of `max_tokens` (which is 2 × the input's token estimate + 64).
    #[arg(
        long,
        default_value_t = 4096,
        value_name = "N",
        allow_negative_numbers = true,
        value_parser = at_least(1_u32),
        help_heading = "Rewrite"
    )]
    pub(crate) max_tokens: u32,
    /// Longest acceptable rewrite, in multiples of the input's characters
    /// (at least 32 characters).
    #[arg(
        long,
        default_value_t = 3.0,
        value_name = "X",
        allow_negative_numbers = true,
        help_heading = "Rewrite"
    )]
    pub(crate) max_growth: f64,
    /// Extra request fields as a JSON object (e.g.
    /// `'{"chat_template_kwargs":{"enable_thinking":false}}'`); unknown names
    /// are refused, since servers ignore them silently.
    #[arg(long, value_name = "JSON", help_heading = "Rewrite")]
    pub(crate) extra_body: Option<String>,
    /// Rewrite only the first N rows of D1 and write only them (a trial;
    /// N ≥ 1).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = at_least(1_u64), help_heading = "Rewrite")]
    pub(crate) limit: Option<u64>,
    /// One more protected token (repeatable): kept out of the teacher's
    /// text at either end of a field, and required back, in order, inside
    /// it. <image>, <video> and <|…|> specials always are.
    #[arg(long = "protect", value_name = "TOKEN", value_parser = clap::builder::NonEmptyStringValueParser::new(), help_heading = "Rewrite")]
    pub(crate) protect: Vec<String>,
    /// Count requests and tokens (and cost with --price-per-1k); send and
    /// write nothing.
    #[arg(long, help_heading = "Modes")]
    pub(crate) dry_run: bool,
    /// Price per 1,000 tokens, for --dry-run's cost estimate.
    #[arg(
        long,
        value_name = "PRICE",
        allow_negative_numbers = true,
        help_heading = "Modes"
    )]
    pub(crate) price_per_1k: Option<f64>,
    /// Write the requests not yet in the cache as an OpenAI batch file
    /// (for `vllm run-batch` or a batch API); send and write nothing else.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "dry_run",
        help_heading = "Modes"
    )]
    pub(crate) export_batch: Option<PathBuf>,
    /// Fill the cache from a batch output file (of an --export-batch with the
    /// same --cache-dir), then run.
    #[arg(long, value_name = "FILE", help_heading = "Modes")]
    pub(crate) import_batch: Option<PathBuf>,
}

fn parse_role(s: &str) -> Result<regime_corpus::Role, String> {
    regime_corpus::Role::parse(s).ok_or_else(|| {
        format!(
            "unknown role `{s}` (roles: system, user, assistant, caption, ocr, metadata, other)"
        )
    })
}

/// `--on-failure` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OnFailureArg {
    /// Keep the original text and flag the field.
    KeepOriginal,
    /// Drop the row.
    Drop,
    /// Stop the run.
    Fail,
}

/// `--lang` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LangArg {
    /// By the field's share of Han characters.
    Auto,
    /// Always the English template.
    En,
    /// Always the Chinese template.
    Zh,
}

/// Copy layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LayoutArg {
    /// A seeded random permutation of all copies.
    Shuffled,
    /// Each row's copies together, rows in source order.
    Adjacent,
    /// Round-robin: every row's copy c before any row's copy c+1.
    Spread,
}

/// `regime teacher-cache CACHE_DIR --out DIR`.
#[derive(Debug, Args)]
pub(crate) struct TeacherCacheArgs {
    /// A condition d response cache directory (`--cache-dir`; by default
    /// OUT.teacher-cache next to condition d's output).
    #[arg(value_name = "CACHE_DIR")]
    pub(crate) cache_dir: PathBuf,
    /// Output directory and parquet options.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}
