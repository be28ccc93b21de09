//! `regime condition d`: the frequency-concentrated condition, D1 rewritten
//! by a teacher LLM, with the profile comparison of D1 before and after.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use arrow::array::RecordBatch;
use regime_conditions::{
    OnFailure, RewriteConfig, RewriteMode, RewriteObserver, RewriteProgress, RewriteReport,
    Teacher, build_rewrite_condition, check_export_target, import_batch, rewrite_output_schema,
};
use regime_corpus::{BatchText, FieldMap, PartWriter, Role};
use regime_stats::{
    FieldInput, ProfileComparison, ProfileConfig, ProfileState, SampleInput, TokenSeq, TokenSpace,
};
use regime_teacher::{
    ApiKey, Backoff, ClientConfig, Lang, LangChoice, ResponseCache, Sampling, Templates, redact_url,
};
use regime_text::WordTokenizer;

use super::Outcome;
use super::corpus::{self, RunClock};
use crate::cli::{ConditionDArgs, GlobalArgs, LangArg, OnFailureArg};
use crate::progress;

/// The environment variable holding the API key.
const API_KEY_ENV: &str = "REGIME_TEACHER_API_KEY";

/// `report.json` of a condition D run.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Report<'a> {
    /// What the run did.
    summary: &'a RewriteReport,
    /// Hash of the two templates (their texts are in the manifest).
    template_hash: String,
    /// `profile --compare` of D1 as read (A) and as written (B).
    d1_compare: Option<&'a ProfileComparison>,
}

/// The before/after profiles of D1, over the rewritten roles only.
struct D1Profiles {
    roles: Vec<Role>,
    map: FieldMap,
    words: WordTokenizer,
    before: ProfileState,
    after: ProfileState,
    error: Option<anyhow::Error>,
}

impl D1Profiles {
    fn new(roles: &[Role], map: &FieldMap) -> anyhow::Result<Self> {
        let config = ProfileConfig::new(TokenSpace::Words).build()?;
        Ok(Self {
            roles: roles.to_vec(),
            map: map.clone(),
            words: WordTokenizer::new(),
            before: ProfileState::new(config.clone())?,
            after: ProfileState::new(config)?,
            error: None,
        })
    }

    fn add(&mut self, batch: &RecordBatch, after: bool) -> anyhow::Result<()> {
        let text = BatchText::try_new(&self.map, batch)?;
        let state = if after {
            &mut self.after
        } else {
            &mut self.before
        };
        for row in 0..text.num_rows() {
            let fields: Vec<_> = text
                .fields(row)
                .into_iter()
                .filter(|f| self.roles.contains(&f.role))
                .collect();
            let words: Vec<Vec<&str>> = fields.iter().map(|f| self.words.words(f.text)).collect();
            let inputs: Vec<FieldInput<'_>> = fields
                .iter()
                .zip(&words)
                .map(|(f, w)| FieldInput {
                    role: f.role.as_str(),
                    text: f.text,
                    tokens: TokenSeq::Words(w),
                    words: None,
                })
                .collect();
            state.insert(&SampleInput {
                fields: &inputs,
                ..SampleInput::default()
            });
        }
        Ok(())
    }

    fn compare(self) -> anyhow::Result<ProfileComparison> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (a, b) = (self.before.finalize(None), self.after.finalize(None));
        let compare = self.before.compare(&self.after, &a, &b)?;
        Ok(ProfileComparison {
            a_input: "D1 as read".into(),
            b_input: "D1 as written (rewritten by the teacher)".into(),
            a,
            b,
            compare,
        })
    }
}

/// Progress bar plus the D1 profiles.
struct Observer {
    bar: indicatif::ProgressBar,
    profiles: Option<D1Profiles>,
}

impl RewriteObserver for Observer {
    fn progress(&mut self, p: &RewriteProgress) {
        self.bar.set_position(p.rows_done);
        let retries: u64 = p.client.retries.values().sum();
        self.bar.set_message(format!(
            "condition d: {} in flight, {} fields done, {} tok out, {retries} retries, {} failed",
            p.client.in_flight, p.fields_done, p.client.usage.completion_tokens, p.failures
        ));
    }

    fn d1_batch(&mut self, before: &RecordBatch, after: &RecordBatch) {
        if let Some(profiles) = &mut self.profiles
            && profiles.error.is_none()
        {
            let result = profiles
                .add(before, false)
                .and_then(|()| profiles.add(after, true));
            if let Err(e) = result {
                profiles.error = Some(e);
            }
        }
    }
}

fn read_template(path: Option<&Path>) -> anyhow::Result<Option<(String, String)>> {
    path.map(|p| {
        std::fs::read_to_string(p)
            .with_context(|| p.display().to_string())
            .map(|text| (p.display().to_string(), text))
    })
    .transpose()
}

/// Removes the response cache at `dir` when it holds no answer: a run that
/// created it and failed before any answer came (the teacher unreachable)
/// leaves nothing behind. Best effort: a cache that cannot be read stays.
fn remove_if_empty(dir: &Path) {
    let empty = ResponseCache::open(dir).is_ok_and(|cache| cache.is_empty().unwrap_or(false));
    if empty {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `OUT.teacher-cache` beside the output directory: outside it, so
/// `--overwrite` never touches paid answers.
fn default_cache_dir(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map_or_else(|| "out".into(), std::ffi::OsStr::to_os_string);
    name.push(".teacher-cache");
    out.with_file_name(name)
}

fn seconds(option: &str, value: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        value.is_finite() && value > 0.0,
        "{option}: must be a positive number of seconds"
    );
    // `from_secs_f64` panics past u64::MAX seconds; a typo such as 1e20
    // is a usage error, not a crash.
    Duration::try_from_secs_f64(value)
        .map_err(|_| anyhow::anyhow!("{option}: {value} seconds is too long for a timer"))
}

fn rewrite_config(args: &ConditionDArgs) -> anyhow::Result<RewriteConfig> {
    let extra_body = match &args.extra_body {
        None => serde_json::Map::new(),
        Some(text) => regime_teacher::validate_extra_body(
            &serde_json::from_str(text).context("--extra-body is not valid JSON")?,
        )?,
    };
    let config = RewriteConfig {
        split: args.split,
        roles: args.roles.clone(),
        model: args.model.clone(),
        lang: match args.lang {
            LangArg::Auto => LangChoice::Auto {
                threshold: args.han_threshold,
            },
            LangArg::En => LangChoice::Fixed(Lang::En),
            LangArg::Zh => LangChoice::Fixed(Lang::Zh),
        },
        sampling: Sampling {
            temperature: args.temperature,
            top_p: args.top_p,
            top_k: (args.top_k > 0).then_some(args.top_k),
            seed: args.seed,
            max_tokens_cap: args.max_tokens,
        },
        max_growth: args.max_growth,
        malformed_retries: args.malformed_retries,
        on_failure: match args.on_failure {
            OnFailureArg::KeepOriginal => OnFailure::KeepOriginal,
            OnFailureArg::Drop => OnFailure::Drop,
            OnFailureArg::Fail => OnFailure::Fail,
        },
        extra_body,
        limit: args.limit,
        protect: args.protect.clone(),
    };
    config.validate()?;
    Ok(config)
}

fn client_config(args: &ConditionDArgs, base_url: &str) -> anyhow::Result<ClientConfig> {
    Ok(ClientConfig {
        base_url: base_url.to_owned(),
        api_key: std::env::var(API_KEY_ENV)
            .ok()
            .filter(|k| !k.is_empty())
            .map(ApiKey::new),
        timeout: seconds("--timeout", args.timeout)?,
        connect_timeout: seconds("--connect-timeout", args.connect_timeout)?,
        max_retries: args.max_retries,
        backoff: Backoff {
            base: Duration::from_millis(args.backoff_base_ms.max(1)),
            ..Backoff::default()
        },
        concurrency: args.concurrency,
        rpm: args.rpm,
        tpm: args.tpm,
    })
}

#[expect(
    clippy::too_many_lines,
    reason = "one linear sequence: options, modes, run, report, manifest"
)]
pub(crate) fn run(args: &ConditionDArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    let config = rewrite_config(args)?;
    if let Some(price) = args.price_per_1k {
        anyhow::ensure!(
            price.is_finite() && price >= 0.0,
            "--price-per-1k: must be a price ≥ 0, got {price}"
        );
    }
    // Clap requires the URL unless the run sends nothing.
    let client = args
        .teacher_url
        .as_deref()
        .map(|url| client_config(args, url))
        .transpose()?;
    let en = read_template(args.template_en.as_deref())?;
    let zh = read_template(args.template_zh.as_deref())?;
    let templates = Templates::new(
        en.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
        zh.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
    )?;
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| default_cache_dir(&args.output.out));
    if let Some(path) = &args.import_batch {
        let stored = import_batch(&cache_dir, path)?;
        progress::summary(
            global,
            &format!(
                "import-batch: {stored} answers from {} stored in the cache",
                path.display()
            ),
        );
    }
    let corpus = corpus::open(&args.input, global)?;
    corpus.check_writable()?;
    let rows = corpus.builder.total_rows()?;
    let paths = corpus.paths();
    if let Some(path) = &args.export_batch {
        // Both the inputs as given (directories) and the files they name.
        let inputs: Vec<&Path> = args
            .input
            .inputs
            .iter()
            .map(PathBuf::as_path)
            .chain(paths.iter().map(PathBuf::as_path))
            .collect();
        check_export_target(path, &inputs, args.output.overwrite)?;
    }
    let teacher = Teacher {
        client,
        cache_dir: cache_dir.clone(),
        templates: templates.clone(),
    };
    let bar = progress::bar(global, Some(rows), "condition d", "rows");
    if args.dry_run || args.export_batch.is_some() {
        let mode = args
            .export_batch
            .clone()
            .map_or(RewriteMode::DryRun, RewriteMode::ExportBatch);
        let mut observer = Observer {
            bar,
            profiles: None,
        };
        let reader = corpus.builder.build();
        let report = build_rewrite_condition(
            reader,
            rows,
            &corpus.map,
            teacher,
            &config,
            mode,
            &mut observer,
        )?;
        observer.bar.finish_and_clear();
        let estimate = report.estimate.unwrap_or_default();
        let cost = args.price_per_1k.map(|price| {
            #[expect(clippy::cast_precision_loss, reason = "token counts below 2^52")]
            let tokens = (estimate.prompt_tokens + estimate.completion_tokens) as f64;
            tokens / 1000.0 * price
        });
        let json = serde_json::json!({
            "d1_rows": report.d1_rows,
            "fields": report.fields.total,
            "requests": estimate.requests,
            "cached": estimate.cached,
            "repeats": estimate.repeats,
            "prompt_tokens_estimate": estimate.prompt_tokens,
            "completion_tokens_estimate": estimate.completion_tokens,
            "max_completion_tokens": estimate.max_completion_tokens,
            "cost_estimate": cost,
        });
        #[expect(clippy::print_stdout, reason = "the estimate is the command's output")]
        {
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        if let Some(path) = &args.export_batch {
            progress::summary(
                global,
                &format!(
                    "export-batch: {} requests written to {} ({} already cached, {} repeats of another)",
                    estimate.requests,
                    path.display(),
                    estimate.cached,
                    estimate.repeats
                ),
            );
        }
        return Ok(Outcome::Success);
    }
    let schema = rewrite_output_schema(corpus.builder.schema())?;
    let out = corpus::prepare_out(&args.output.out, args.output.overwrite, &args.input.inputs)?;
    let mut writer =
        PartWriter::try_new(&out, "part", schema, corpus::writer_options(&args.output))?;
    let mut observer = Observer {
        bar,
        profiles: Some(D1Profiles::new(&config.roles, &corpus.map)?),
    };
    let reader = corpus.builder.build();
    let cache_was_there = cache_dir.exists();
    let report = build_rewrite_condition(
        reader,
        rows,
        &corpus.map,
        teacher,
        &config,
        RewriteMode::Run(&mut writer),
        &mut observer,
    )
    .inspect_err(|_| {
        if !cache_was_there {
            remove_if_empty(&cache_dir);
        }
    })?;
    observer.bar.finish_and_clear();
    if args.teacher_url.is_none()
        && let Some(&missing) = report.fields.failures.get(regime_conditions::NOT_CACHED)
        && missing > 0
    {
        tracing::warn!(
            "{missing} of {} fields had no answer in the cache and no --teacher-url to ask: they were not rewritten (import a batch that answers them, or give --teacher-url)",
            report.fields.total
        );
    }
    let outputs = writer.finish()?;
    let compare = observer
        .profiles
        .take()
        .map(D1Profiles::compare)
        .transpose()?;
    corpus::write_json(
        &out,
        "report.json",
        &Report {
            summary: &report,
            template_hash: templates.hash(),
            d1_compare: compare.as_ref(),
        },
    )?;
    if let Some(cmp) = &compare {
        let page = regime_report::profile::compare_page(cmp);
        let path = out.staged("d1-compare.html");
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| path.display().to_string())?,
        );
        page.render(&mut file)?;
        std::io::Write::flush(&mut file)?;
    }
    let mut manifest_config = serde_json::to_value(&config)?;
    if let serde_json::Value::Object(m) = &mut manifest_config {
        m.insert(
            "teacher_url".into(),
            args.teacher_url.as_deref().map(redact_url).into(),
        );
        m.insert("template_hash".into(), templates.hash().into());
        m.insert("template_en".into(), templates.source(Lang::En).into());
        m.insert("template_zh".into(), templates.source(Lang::Zh).into());
        m.insert("cache".into(), cache_dir.display().to_string().into());
    }
    let mut manifest = clock.manifest(
        "condition d",
        manifest_config,
        Some(config.sampling.seed),
        &paths,
        (report.rows_in, report.rows_out),
    )?;
    manifest.outputs = outputs;
    // The command line holds --teacher-url as typed, credentials included.
    for arg in &mut manifest.command {
        *arg = redact_url(arg);
    }
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    let f = &report.fields;
    progress::summary(
        global,
        &format!(
            "condition d: {} rows → {} (D1 {} rows: {} of {} fields rewritten, {} kept, {} rows dropped; {} requests, {} from cache, {} retries; {} + {} tokens) in {}",
            report.rows_in,
            report.rows_out,
            report.d1_rows,
            f.rewritten,
            f.total,
            f.kept_original,
            report.rows_dropped,
            report.requests.attempts,
            report.requests.cached_answers,
            report.requests.retries.values().sum::<u64>(),
            report.usage.prompt_tokens,
            report.usage.completion_tokens,
            dir.display()
        ),
    );
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sits_beside_the_output() {
        assert_eq!(
            default_cache_dir(Path::new("out/d")),
            PathBuf::from("out/d.teacher-cache")
        );
        assert_eq!(
            default_cache_dir(Path::new("d/")),
            PathBuf::from("d.teacher-cache")
        );
    }
}
