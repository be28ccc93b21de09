//! `regime profile`: scan a corpus into a mergeable profile state and write
//! its report (or a partial state with `--shard`), or `--compare` two.

use std::borrow::Cow;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use rayon::prelude::*;
use regime_corpus::{BatchText, CorpusBatch, Role, TextField};
use regime_dedup::{ExactContent, PromptDedup, PromptField, SampleDedup};
use regime_stats::{
    FieldInput, PreparedSample, ProfileComparison, ProfileConfig, ProfileReport, ProfileState,
    PromptDupCounts, SampleInput, TokenSeq, TokenSpace,
};
use regime_text::{HfTokenizer, Normalizer, ProtectedTokens, Tokenizer, Tokens, WordTokenizer};
use serde::{Deserialize, Serialize};

use super::Outcome;
use super::corpus::{self, RunClock};
use super::profile_output;
use super::split::InputFingerprint;
use crate::cli::{GlobalArgs, InputArgs, ProfileArgs};
use crate::progress;

/// Name of the partial state written by `--shard`.
pub(crate) const PARTIAL_FILE: &str = "partial.json";
/// Where `--shard` writes the partial's state (its n-gram tables: the bulk
/// of it), zstd-compressed compact JSON beside [`PARTIAL_FILE`], so `regime
/// merge` can read every partial's header before any state.
pub(crate) const STATE_FILE: &str = "state.json.zst";

/// Format of [`Partial`] this build writes and reads. 2: records the
/// inputs' fingerprint and the settings, so `regime merge` can check them.
/// 3: a `--by` column's null cells are counted apart (`nulls`), no longer
/// as the string `<null>` among its values; exact duplicates use `regime
/// dedup exact`'s key and count empty samples apart (`empty`). 4: the
/// configuration records the `--protect` tokens. 5: word tokens, lengths
/// and Gopher metrics are of the text in NFC. 6: the state is in
/// [`STATE_FILE`].
pub(crate) const PARTIAL_VERSION: u32 = 6;

/// What `--shard` writes and `regime merge` reads, beside the state
/// ([`STATE_FILE`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct Partial {
    /// Format version ([`PARTIAL_VERSION`]).
    pub(crate) version: u32,
    /// `I/N`.
    pub(crate) shard: String,
    /// What the whole corpus was (every shard reads all of it to find its
    /// block, so every shard of a split records the same); `None` in
    /// format 1.
    #[serde(default)]
    pub(crate) inputs: Option<InputFingerprint>,
    /// The settings the figures depend on; `None` in format 1.
    #[serde(default)]
    pub(crate) settings: Option<PartialSettings>,
    /// The tokenizer.json used, if any: absolute (partials of earlier
    /// builds hold it as typed).
    pub(crate) tokenizer: Option<PathBuf>,
    /// Samples read by this shard.
    pub(crate) samples: u64,
}

/// Everything besides the corpus that a profile's figures depend on; the
/// thread count is not among them.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PartialSettings {
    /// The regime version: a figure's definition may change between versions.
    regime: String,
    /// Token space, max n, top-k, memory budget and sketch sizes.
    config: ProfileConfig,
    /// xxh3-128 of the tokenizer.json (`None`: built-in words).
    pub(crate) tokenizer: Option<String>,
    /// Which text fields are read, in which roles.
    fields: String,
    /// `--by` columns.
    by: Vec<String>,
}

/// Writes `state` to `path` as compact JSON (whole n-gram tables), zstd
/// level 1 (≈ 3.6× smaller on ShareGPT's tables at ≈ 200 MB/s), flushed
/// here so no write error is lost.
fn write_state(path: &Path, state: &ProfileState) -> std::io::Result<()> {
    let encoder = zstd::stream::write::Encoder::new(std::fs::File::create(path)?, 1)?;
    // serde writes a few bytes at a time: buffer them before the encoder.
    let mut json = std::io::BufWriter::with_capacity(1 << 16, encoder);
    serde_json::to_writer(&mut json, state)?;
    json.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .finish()?
        .flush()
}

/// The xxh3-128 of a tokenizer.json, as 32 hex digits.
pub(crate) fn tokenizer_hash(path: &Path) -> anyhow::Result<String> {
    let (_, hash) = regime_corpus::hash_file(path)?;
    Ok(format!("{hash:032x}"))
}

/// The tokenizer of a run.
pub(crate) enum AnyTokenizer {
    Words(Box<WordTokenizer>),
    Hf(Box<HfTokenizer>),
}

impl AnyTokenizer {
    /// The model tokenizer at `path`, or the built-in words keeping
    /// `protected` whole (a model tokenizer gets the text as it is).
    pub(crate) fn load(path: Option<&Path>, protected: &ProtectedTokens) -> anyhow::Result<Self> {
        Ok(match path {
            None => Self::Words(Box::new(
                WordTokenizer::new().with_protected(protected.clone()),
            )),
            Some(p) => Self::Hf(Box::new(HfTokenizer::from_file(p)?)),
        })
    }

    fn space(&self) -> TokenSpace {
        match self {
            Self::Words(_) => TokenSpace::Words,
            Self::Hf(_) => TokenSpace::Ids,
        }
    }

    fn as_dyn(&self) -> &dyn Tokenizer {
        match self {
            Self::Words(w) => w.as_ref(),
            Self::Hf(h) => h.as_ref(),
        }
    }

    /// The report of `state`; a model tokenizer names token ids by their
    /// vocabulary strings and gives each top n-gram its decoded text.
    pub(crate) fn finalize(&self, state: &ProfileState) -> ProfileReport {
        match self {
            Self::Words(_) => state.finalize(None),
            Self::Hf(h) => {
                let mut report = state.finalize(Some(&|id| h.token(id)));
                for entry in report.top_entries_mut() {
                    entry.text = entry.ids.as_deref().and_then(|ids| h.decode(ids));
                }
                report
            }
        }
    }
}

fn config(args: &ProfileArgs, space: TokenSpace) -> ProfileConfig {
    ProfileConfig::new(space)
        .with_protected(args.protect.iter().cloned())
        .with_max_n(args.max_n)
        .with_top_k(args.top_k)
        .with_memory_budget(args.memory_budget)
        .with_sketch_capacity(args.sketch_capacity)
}

pub(crate) fn run(args: &ProfileArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let clock = RunClock::start();
    check_by(&args.by)?;
    let tokenizer = AnyTokenizer::load(args.tokenizer.as_deref(), &protected(args))?;
    if args.compare {
        return run_compare(args, global, &tokenizer, &clock);
    }
    let out = corpus::prepare_out(&args.out, args.overwrite, &args.input.inputs)?;
    let corpus = open(&args.input, &args.by, global)?;
    let (state, corpus, samples, total) = scan(corpus, args, global, &tokenizer, args.shard)?;
    let paths = corpus.paths();
    let mut config_json = serde_json::to_value(state.config())?;
    if let Some(settings) = config_json.as_object_mut() {
        settings.insert("near".into(), args.near.into());
    }
    if let Some((i, n)) = args.shard {
        let records = regime_corpus::hash_inputs(&paths)?;
        let settings = PartialSettings {
            regime: env!("CARGO_PKG_VERSION").into(),
            config: state.config().clone(),
            tokenizer: args.tokenizer.as_deref().map(tokenizer_hash).transpose()?,
            fields: corpus.map.layout(),
            by: args.by.clone(),
        };
        let partial = Partial {
            version: PARTIAL_VERSION,
            shard: format!("{i}/{n}"),
            inputs: Some(InputFingerprint::new(total, &records)),
            settings: Some(settings),
            // Absolute, so `merge` finds it from another directory.
            tokenizer: args
                .tokenizer
                .as_deref()
                .map(std::path::absolute)
                .transpose()?,
            samples,
        };
        regime_corpus::write_json(&out.staged(PARTIAL_FILE), &partial)?;
        let path = out.staged(STATE_FILE);
        write_state(&path, &state).with_context(|| path.display().to_string())?;
        let manifest = clock.manifest_hashed(
            "profile (partial)",
            config_json,
            None,
            records,
            (samples, 0),
        );
        let dir = out.path().to_path_buf();
        out.commit(manifest)?;
        progress::summary(
            global,
            &format!(
                "profile: shard {i}/{n}, {samples} samples → {}",
                dir.display()
            ),
        );
        return Ok(Outcome::Success);
    }
    let mut report = tokenizer.finalize(&state);
    drop(state);
    if args.near {
        let near = super::dedup::near_report(&corpus, &out, global)?;
        if let Some(d) = report.overall.duplication.as_mut() {
            d.near_duplicate_share = Some(near.duplicate_share());
        }
    }
    profile_output::write_report(&out, &report)?;
    let manifest = clock.manifest("profile", config_json, None, &paths, (samples, 0))?;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    progress::summary(global, &summary_line(&report, &dir));
    Ok(Outcome::Success)
}

pub(crate) fn summary_line(report: &ProfileReport, dir: &Path) -> String {
    let u = &report.overall.unigram;
    let exact = report.overall.ngrams.values().all(|f| f.exact);
    format!(
        "profile: {} samples, {} tokens, {} types, H = {:.3} bits{} → {}",
        report.overall.samples,
        u.tokens,
        u.types,
        u.entropy_bits,
        if exact {
            ""
        } else {
            " (some n-gram figures from sketches)"
        },
        dir.display()
    )
}

fn run_compare(
    args: &ProfileArgs,
    global: &GlobalArgs,
    tokenizer: &AnyTokenizer,
    clock: &RunClock,
) -> anyhow::Result<Outcome> {
    let [a, b] = args.input.inputs.as_slice() else {
        anyhow::bail!(
            "--compare takes exactly two inputs, A and B (got {})",
            args.input.inputs.len()
        );
    };
    let one = |p: &PathBuf| InputArgs {
        inputs: vec![p.clone()],
        profile: args.input.profile,
        fields: args.input.fields.clone(),
        json_text: args.input.json_text.clone(),
        infer_records: args.input.infer_records,
    };
    let out = corpus::prepare_out(&args.out, args.overwrite, &args.input.inputs)?;
    // Both are opened (and their --by columns checked) before either is read.
    let (ca, cb) = (
        open(&one(a), &args.by, global)?,
        open(&one(b), &args.by, global)?,
    );
    let (sa, ca, na, _) = scan(ca, args, global, tokenizer, None)?;
    let (sb, cb, nb, _) = scan(cb, args, global, tokenizer, None)?;
    let (mut paths, pb) = (ca.paths(), cb.paths());
    paths.extend(pb);
    let (ra, rb) = rayon::join(|| tokenizer.finalize(&sa), || tokenizer.finalize(&sb));
    let compare = sa.compare(&sb, &ra, &rb)?;
    let cmp = ProfileComparison {
        a_input: a.display().to_string(),
        b_input: b.display().to_string(),
        a: ra,
        b: rb,
        compare,
    };
    profile_output::write_comparison(&out, &cmp)?;
    let manifest = clock.manifest(
        "profile --compare",
        serde_json::to_value(sa.config())?,
        None,
        &paths,
        (na + nb, 0),
    )?;
    let dir = out.path().to_path_buf();
    out.commit(manifest)?;
    let c = &cmp.compare;
    progress::summary(
        global,
        &format!(
            "profile --compare: JS = {}, Δtypes = {}, ΔH = {:+.4} bits, Δtail = {:+.4}, rare-type survival = {:.3} → {}",
            c.js_divergence_bits.map_or_else(
                || "n/a (a corpus has no tokens)".into(),
                |js| format!("{js:.4} bits")
            ),
            c.delta_types,
            c.delta_entropy_bits,
            c.delta_tail_mass,
            c.rare_type_survival,
            dir.display()
        ),
    );
    Ok(Outcome::Success)
}

/// The protected tokens of a run: the defaults plus `--protect`.
fn protected(args: &ProfileArgs) -> ProtectedTokens {
    ProtectedTokens::default().with_tokens(args.protect.iter().cloned())
}

/// Rows measured per step of [`scan`]: the threads measure one step's rows
/// while one of them adds the previous step's to the state.
const STEP_ROWS: usize = 256;

/// Text after which a step ends. Two steps are held at once, and a
/// measured sample takes about 2–3× its text (a copy of its words, their
/// ends, its prompt segments).
const STEP_BYTES: usize = 8 << 20;

/// End of the step that starts at row `from` (before `to`): at most
/// [`STEP_ROWS`] rows, ending with the row that takes its text past
/// [`STEP_BYTES`].
fn step_end(text: &BatchText<'_>, from: usize, to: usize) -> usize {
    let mut fields = Vec::new();
    let mut bytes = 0;
    let last = to.min(from.saturating_add(STEP_ROWS));
    for row in from..last {
        text.fields_into(row, &mut fields);
        bytes += fields.iter().map(|f| f.text.len()).sum::<usize>();
        if bytes > STEP_BYTES {
            return row + 1;
        }
    }
    last
}

/// Reusable buffers of one thread measuring samples.
struct Measurer<'a> {
    tokenizer: &'a AnyTokenizer,
    words: WordTokenizer,
    /// The exact-duplicate normaliser: `regime dedup exact`'s default (no
    /// case fold), so both count the same duplicates.
    normalizer: Normalizer,
    by: &'a [String],
    /// Reused exact-duplicate content of the whole sample.
    content: ExactContent,
    /// Reused buffer for one normalised field.
    field: String,
    /// The prompt-segment audit (default settings, as `regime audit-prompts`,
    /// plus `--protect`):
    /// its rates and its template candidates.
    prompt: PromptDedup,
    /// Reused result of [`Self::prompt`].
    prompt_out: SampleDedup,
}

/// Reads the corpus (block `shard` only, when given) into one state;
/// returns it with the opened corpus (its paths, and a later pass for
/// `--near`), the samples read and the corpus's total rows.
///
/// Samples are measured on the current pool's threads (`-j`) and added to the state in
/// input order, one step (see [`step_end`]) while the next is measured:
/// the state, sketches included, is the same at any thread count, and
/// memory holds one state and two steps of measured samples.
fn scan(
    corpus: corpus::Corpus,
    args: &ProfileArgs,
    global: &GlobalArgs,
    tokenizer: &AnyTokenizer,
    shard: Option<(u64, u64)>,
) -> anyhow::Result<(ProfileState, corpus::Corpus, u64, u64)> {
    // A corpus without rows has no figures to report, split or not (a
    // shard of a tiny one may be empty: its partial completes the split).
    let total = corpus.rows_to("profile")?;
    let (lo, hi) = shard.map_or((0, total), |(i, n)| {
        (block_start(total, i, n), block_start(total, i + 1, n))
    });
    let mut columns = corpus.map.text_columns();
    for col in &args.by {
        if !columns.contains(col) {
            columns.push(col.clone());
        }
    }
    let map = &corpus.map;
    let mut reader = corpus.builder.clone().with_columns(columns)?.build();
    let mut state = ProfileState::new(config(args, tokenizer.space()))?;
    // One configuration for every thread: its id keys each thread's cache
    // of field indexes.
    let protected = protected(args);
    let prompt = PromptDedup::builder()
        .with_protected(protected.clone())
        .build()?;
    let bar = progress::bar(global, Some(hi - lo), "profile", "samples");
    let scanned = (|| -> anyhow::Result<()> {
        let mut measured: Vec<PreparedSample> = Vec::new();
        let mut add = |samples: &mut Vec<PreparedSample>| {
            state.add_all(samples);
            bar.inc(samples.len() as u64);
            samples.clear();
        };
        let mut first = 0u64;
        loop {
            // The last step of the previous batch is added while the reader
            // decodes the next one.
            let (batch, ()) = rayon::join(|| reader.next(), || add(&mut measured));
            let Some(batch) = batch else { break };
            let batch = batch?;
            let n = batch.num_rows() as u64;
            let start = first;
            first += n;
            if start >= hi {
                break;
            }
            if start + n <= lo {
                continue;
            }
            let text = BatchText::try_new(map, &batch.batch)?;
            let from = usize::try_from(lo.saturating_sub(start).min(n))?;
            let to = usize::try_from(hi.saturating_sub(start).min(n))?;
            let mut step = from;
            while step < to {
                let rows = step..step_end(&text, step, to);
                step = rows.end;
                let (next, ()) = rayon::join(
                    || {
                        rows.into_par_iter()
                            .map_init(
                                || Measurer::new(tokenizer, &protected, &args.by, &prompt),
                                |m, row| m.measure(&text, &batch, row),
                            )
                            .collect::<anyhow::Result<Vec<_>>>()
                    },
                    || add(&mut measured),
                );
                measured = next?;
            }
        }
        add(&mut measured);
        Ok(())
    })();
    // Cleared before any error is printed.
    bar.finish_and_clear();
    scanned?;
    Ok((state, corpus, hi - lo, total))
}

/// Refuses a `--by` column named twice, before any output is prepared: each
/// sample would be counted once per mention, and the report keys the
/// figures by column name, so the copies would land in one entry.
fn check_by(by: &[String]) -> anyhow::Result<()> {
    for (i, col) in by.iter().enumerate() {
        anyhow::ensure!(!by[..i].contains(col), "--by column `{col}` is given twice");
    }
    Ok(())
}

/// Opens the corpus and checks that every `--by` column is in its schema
/// and holds one scalar per row, before anything is read.
fn open(input: &InputArgs, by: &[String], global: &GlobalArgs) -> anyhow::Result<corpus::Corpus> {
    let corpus = corpus::open(input, global)?;
    let schema = corpus.builder.schema();
    for col in by {
        // Named by input: with --compare, A may have the column and B not.
        let inputs = || {
            input
                .inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Ok(field) = schema.field_with_name(col) else {
            anyhow::bail!(
                "{}: --by column `{col}` is not among the columns ({})",
                inputs(),
                regime_corpus::column_list(schema)
            );
        };
        anyhow::ensure!(
            is_category_type(field.data_type()),
            "{}: --by column `{col}` has type {}, not a scalar: --by takes string, number, boolean, date or time columns (or dictionaries of them)",
            inputs(),
            field.data_type()
        );
    }
    Ok(corpus)
}

/// Whether a column of type `dt` can key categories: each row holds one
/// scalar with a short text form. Binary, list, struct, map and union
/// values (an image's bytes, a conversation) would make every row its own
/// category, each named by a dump of its contents.
fn is_category_type(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(_, values) => is_category_type(values),
        DataType::RunEndEncoded(_, values) => is_category_type(values.data_type()),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => false,
        other => !other.is_nested(),
    }
}

/// First sample of block `i` of `n` over `total` samples: `⌊total · i / n⌋`.
fn block_start(total: u64, i: u64, n: u64) -> u64 {
    u64::try_from(u128::from(total) * u128::from(i) / u128::from(n.max(1))).unwrap_or(total)
}

impl<'a> Measurer<'a> {
    fn new(
        tokenizer: &'a AnyTokenizer,
        protected: &ProtectedTokens,
        by: &'a [String],
        prompt: &PromptDedup,
    ) -> Self {
        Self {
            tokenizer,
            words: WordTokenizer::new().with_protected(protected.clone()),
            normalizer: Normalizer::new(),
            by,
            content: ExactContent::default(),
            field: String::new(),
            prompt: prompt.clone(),
            prompt_out: SampleDedup::default(),
        }
    }

    /// Measures sample `row` of `batch`.
    fn measure(
        &mut self,
        text: &BatchText<'_>,
        batch: &CorpusBatch,
        row: usize,
    ) -> anyhow::Result<PreparedSample> {
        let local: Vec<TextField<'_>> = text.fields(row);
        // Word tokens, lengths and Gopher metrics are of the text in NFC
        // (CORPUS.md normalises for hashing and matching), so a word stored
        // composed and decomposed is one type; a model tokenizer gets the
        // text as stored (its own normaliser applies).
        let nfc: Vec<Cow<'_, str>> = local.iter().map(|f| regime_text::nfc(f.text)).collect();
        let toks: Vec<Tokens<'_>> = local
            .iter()
            .zip(&nfc)
            .map(|(f, t)| match self.tokenizer {
                AnyTokenizer::Words(_) => self.tokenizer.as_dyn().tokenize(t),
                AnyTokenizer::Hf(_) => self.tokenizer.as_dyn().tokenize(f.text),
            })
            .collect::<Result<_, _>>()?;
        let built_in: Vec<Vec<&str>> = match self.tokenizer {
            AnyTokenizer::Words(_) => Vec::new(),
            AnyTokenizer::Hf(_) => nfc.iter().map(|t| self.words.words(t)).collect(),
        };
        let inputs: Vec<FieldInput<'_>> = local
            .iter()
            .zip(&nfc)
            .zip(&toks)
            .enumerate()
            .map(|(i, ((f, text), t))| {
                let (tokens, words) = match t {
                    Tokens::Words(w) => (TokenSeq::Words(w), Some(&w[..])),
                    Tokens::Ids(ids) => (TokenSeq::Ids(ids), built_in.get(i).map(|w| &w[..])),
                };
                FieldInput {
                    role: f.role.as_str(),
                    text,
                    tokens,
                    words,
                }
            })
            .collect();
        // Exact-duplicate keys, as `regime dedup exact` keys rows: the whole
        // sample's (every text field) and each role's (`--on ROLE`). Each
        // field is normalised once, into both.
        let mut whole = std::mem::take(&mut self.content);
        whole.clear();
        let mut role_contents: Vec<(Role, ExactContent)> = Vec::new();
        for f in &local {
            self.field.clear();
            self.normalizer.normalize_into(f.text, &mut self.field);
            whole.push_normalized(&self.field);
            let i = role_contents
                .iter()
                .position(|(r, _)| *r == f.role)
                .unwrap_or_else(|| {
                    role_contents.push((f.role, ExactContent::default()));
                    role_contents.len() - 1
                });
            role_contents[i].1.push_normalized(&self.field);
        }
        let role_hashes: Vec<(&str, Option<u128>)> = role_contents
            .iter()
            .map(|(r, c)| (r.as_str(), c.key()))
            .collect();
        // Prompt-segment duplication and the template candidates (the
        // sample's distinct normalised prompt segments), as the audit finds them.
        let prompt_fields: Vec<PromptField<'_>> = local.iter().map(PromptField::from).collect();
        self.prompt.run(&prompt_fields, &mut self.prompt_out);
        let c = &self.prompt_out.counts;
        let prompt_dup = PromptDupCounts {
            duplicate_copies: c.copies,
            segment_occurrences: c.segments,
            duplicate_chars: c.copy_chars,
            chars: c.chars,
            repeated_turns: c.repeated_turns,
        };
        let seg_refs: Vec<&str> = self.prompt_out.templates().map(|(_, s)| s).collect();
        let values: Vec<(String, Option<String>)> = self
            .by
            .iter()
            .map(|col| (col.clone(), category_value(&batch.batch, col, row)))
            .collect();
        let cats: Vec<(&str, Option<&str>)> = values
            .iter()
            .map(|(c, v)| (c.as_str(), v.as_deref()))
            .collect();
        let measured = PreparedSample::new(&SampleInput {
            fields: &inputs,
            content_hash: whole.key(),
            role_hashes: &role_hashes,
            segments: &seg_refs,
            prompt_dup: Some(prompt_dup),
            categories: &cats,
        });
        self.content = whole;
        Ok(measured)
    }
}

/// The value of `column` at `row` as text (`None` when null or missing).
fn category_value(
    batch: &arrow::record_batch::RecordBatch,
    column: &str,
    row: usize,
) -> Option<String> {
    let array = batch.column_by_name(column)?;
    if array.is_null(row) {
        return None;
    }
    if let Some(s) = array.as_string_opt::<i32>() {
        return Some(s.value(row).to_owned());
    }
    if let Some(s) = array.as_string_opt::<i64>() {
        return Some(s.value(row).to_owned());
    }
    let options = arrow::util::display::FormatOptions::default();
    let fmt = arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &options).ok()?;
    Some(fmt.value(row).to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Fields, Schema};
    use regime_corpus::{BatchText, FieldMap};

    use super::{STEP_BYTES, STEP_ROWS, check_by, is_category_type, step_end};

    /// Steps end after `STEP_ROWS` rows, or after the row that takes them
    /// past `STEP_BYTES` of text; a step always has a row.
    #[test]
    fn steps_are_bounded_by_rows_and_by_text() {
        let batch = |texts: Vec<String>| {
            let schema = Schema::new(vec![Field::new("caption", DataType::Utf8, true)]);
            let column = Arc::new(StringArray::from(texts));
            RecordBatch::try_new(Arc::new(schema), vec![column]).expect("batch")
        };
        let small = batch(vec!["a few words".to_owned(); STEP_ROWS + 10]);
        let map = FieldMap::detect(&small.schema(), "small.parquet".as_ref()).expect("map");
        let text = BatchText::try_new(&map, &small).expect("text");
        assert_eq!(step_end(&text, 0, STEP_ROWS + 10), STEP_ROWS);
        assert_eq!(step_end(&text, STEP_ROWS, STEP_ROWS + 10), STEP_ROWS + 10);
        assert_eq!(step_end(&text, 3, 5), 5);
        let third = STEP_BYTES / 3 + 1;
        let big = batch(vec!["x".repeat(third); 8]);
        let text = BatchText::try_new(&map, &big).expect("text");
        assert_eq!(step_end(&text, 0, 8), 3);
        assert_eq!(step_end(&text, 6, 8), 8);
        let huge = batch(vec!["y".repeat(STEP_BYTES + 1); 2]);
        let text = BatchText::try_new(&map, &huge).expect("text");
        assert_eq!(step_end(&text, 0, 2), 1);
    }

    #[test]
    fn scalar_columns_key_categories_and_nested_or_binary_ones_do_not() {
        let dict = |v: DataType| DataType::Dictionary(Box::new(DataType::Int32), Box::new(v));
        let item = Arc::new(Field::new("item", DataType::Utf8, true));
        for ok in [
            DataType::Utf8,
            DataType::LargeUtf8,
            DataType::Utf8View,
            DataType::Int64,
            DataType::UInt8,
            DataType::Boolean,
            dict(DataType::Utf8),
        ] {
            assert!(is_category_type(&ok), "{ok}");
        }
        for bad in [
            DataType::Binary,
            DataType::LargeBinary,
            DataType::FixedSizeBinary(16),
            DataType::List(item.clone()),
            DataType::Struct(Fields::from(vec![
                Field::new("bytes", DataType::Binary, true),
                Field::new("path", DataType::Utf8, true),
            ])),
            dict(DataType::Binary),
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::List(item))),
        ] {
            assert!(!is_category_type(&bad), "{bad}");
        }
    }

    #[test]
    fn a_by_column_named_twice_is_refused() {
        let by = |cols: &[&str]| cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert!(check_by(&by(&["src", "task"])).is_ok());
        assert!(check_by(&[]).is_ok());
        let err = check_by(&by(&["src", "task", "src"])).expect_err("src twice");
        assert_eq!(err.to_string(), "--by column `src` is given twice");
    }
}
