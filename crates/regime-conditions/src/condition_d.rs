//! Building condition D: one pass over the corpus in which every selected
//! text field of D1 goes through the teacher, answers come back in any
//! order, and rows leave in input order; D2 follows unchanged.
//!
//! Memory: the batches in flight (a window of at most [`MAX_BATCHES`]
//! batches, refilled while fewer than four times `--concurrency` fields
//! are pending) with one owned copy of each pending field's text; nothing
//! grows with the corpus. Answers live in the SQLite cache, not in memory.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use arrow::array::{
    ArrayRef, BooleanArray, ListArray, RecordBatch, StringArray, StructArray, UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use regime_corpus::{
    AtomicFile, BatchText, CorpusBatch, CorpusReader, EditTarget, FieldMap, PartWriter, TextEdit,
    apply_text_edits,
};
use regime_teacher::{
    CacheKey, ClientConfig, ResponseCache, StatsSnapshot, TeacherClient, Templates, Usage, batch,
    estimate_tokens,
};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::rewrite_config::{OnFailure, RewriteConfig};
use crate::rewrite_field::{FieldContext, FieldOutcome, FieldResult, rewrite_field};

/// Provenance column: per rewritten field, its status and cause (null for
/// D2 rows).
pub const STATUS_COLUMN: &str = "regime_rewrite_status";
/// Provenance column: the teacher model (null for D2 rows).
pub const MODEL_COLUMN: &str = "regime_teacher_model";

/// Most batches in flight at once.
pub const MAX_BATCHES: usize = 8;

/// What the run does with the requests.
#[derive(Debug)]
pub enum RewriteMode<'w, 'p> {
    /// Send them (answers from the cache cost nothing) and write the
    /// condition into the writer.
    Run(&'w mut PartWriter<'p>),
    /// Count requests and tokens; send nothing, write nothing.
    DryRun,
    /// Write the requests not yet answered to an OpenAI batch file; send
    /// nothing, write no data.
    ExportBatch(PathBuf),
}

/// Where the teacher is and what it is asked.
#[derive(Debug)]
pub struct Teacher {
    /// How to reach the server (`None`: no server; only cached answers).
    pub client: Option<ClientConfig>,
    /// The cache directory.
    pub cache_dir: PathBuf,
    /// The rewrite templates.
    pub templates: Templates,
}

/// Live counts for progress displays.
#[derive(Debug, Clone, Default)]
pub struct RewriteProgress {
    /// Input rows whose output is written (or passed).
    pub rows_done: u64,
    /// Fields finished.
    pub fields_done: u64,
    /// Fields queued or in flight.
    pub fields_pending: u64,
    /// The client's counters.
    pub client: StatsSnapshot,
    /// Fields not rewritten so far.
    pub failures: u64,
}

/// Callbacks of a run (both optional).
pub trait RewriteObserver {
    /// Called after each batch and a few times a second while waiting.
    fn progress(&mut self, _progress: &RewriteProgress) {}
    /// Called with each D1 batch as read and as written (dropped rows
    /// removed, rewrites in place): the before/after comparison's input.
    fn d1_batch(&mut self, _before: &RecordBatch, _after: &RecordBatch) {}
}

/// Counts of fields by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct FieldCounts {
    /// Fields sent to the teacher (or looked up).
    pub total: u64,
    /// Rewritten.
    pub rewritten: u64,
    /// Kept as they were after a failure (`--on-failure keep-original`).
    pub kept_original: u64,
    /// In rows dropped after a failure (`--on-failure drop`).
    pub dropped: u64,
    /// Fields not rewritten, by cause class (`no-tags`, `length`, `empty`,
    /// `too-long`, `lost-protected`, `http-400`, `retries-exhausted`, `context-too-long`).
    pub failures: BTreeMap<String, u64>,
    /// Fields per template language.
    pub by_lang: BTreeMap<String, u64>,
}

/// Request counts of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RequestCounts {
    /// HTTP requests sent, every attempt included.
    pub attempts: u64,
    /// Requests answered with a chat completion.
    pub answered: u64,
    /// Answers taken from the cache instead of the server.
    pub cached_answers: u64,
    /// Transport retries by cause (`http-429`, `http-503`, `timeout`,
    /// `reset`, `bad-body`, `connect`).
    pub retries: BTreeMap<String, u64>,
    /// Malformed answers retried with the next seed, whether the answer
    /// came from the server or the cache (a rerun from the cache counts
    /// the first run's retries again, each answered from the cache).
    pub malformed_retries: u64,
}

/// Token totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct TokenCounts {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

impl From<Usage> for TokenCounts {
    fn from(u: Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }
    }
}

/// What a `--dry-run` or `--export-batch` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RequestEstimate {
    /// Requests that would be sent (one per distinct uncached prompt).
    pub requests: u64,
    /// Fields already answered in the cache.
    pub cached: u64,
    /// Fields whose request repeats another's: answered by that request.
    pub repeats: u64,
    /// Estimated prompt tokens of those requests (4 bytes or one CJK
    /// character per token).
    pub prompt_tokens: u64,
    /// Estimated completion tokens (the rewrite keeps the input's length).
    pub completion_tokens: u64,
    /// Sum of `max_tokens`: the most the completions can cost.
    pub max_completion_tokens: u64,
}

/// What a condition D run did, as written to `report.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RewriteReport {
    /// Rows read: every row, or with `--limit` the rows of D1 taken.
    pub rows_in: u64,
    /// Rows of D1 processed.
    pub d1_rows: u64,
    /// Rows of D2 passed through (0 with `--limit`).
    pub d2_rows: u64,
    /// Rows written.
    pub rows_out: u64,
    /// D1 rows dropped (`--on-failure drop`).
    pub rows_dropped: u64,
    /// Fields by outcome.
    pub fields: FieldCounts,
    /// Requests.
    pub requests: RequestCounts,
    /// `usage` summed over answers received from the server in this run.
    pub usage: TokenCounts,
    /// `usage` summed over answers taken from the cache.
    pub cached_usage: TokenCounts,
    /// Set by `--dry-run` and `--export-batch`.
    pub estimate: Option<RequestEstimate>,
}

/// The output schema: the input's, then [`STATUS_COLUMN`] and
/// [`MODEL_COLUMN`].
///
/// # Errors
/// [`Error::ReservedColumn`] when the input already has one of them.
pub fn rewrite_output_schema(input: &Schema) -> Result<SchemaRef> {
    for name in [STATUS_COLUMN, MODEL_COLUMN] {
        if input.field_with_name(name).is_ok() {
            return Err(Error::ReservedColumn {
                column: name.to_owned(),
            });
        }
    }
    let mut fields: Vec<Arc<Field>> = input.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        STATUS_COLUMN,
        DataType::List(Arc::new(Field::new_list_field(
            DataType::Struct(status_fields()),
            false,
        ))),
        true,
    )));
    fields.push(Arc::new(Field::new(MODEL_COLUMN, DataType::Utf8, true)));
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        input.metadata().clone(),
    )))
}

fn status_fields() -> Fields {
    Fields::from(vec![
        Field::new("field", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("cause", DataType::Utf8, true),
        Field::new("prompt_tokens", DataType::UInt64, false),
        Field::new("completion_tokens", DataType::UInt64, false),
    ])
}

/// The [`STATUS_COLUMN`] of one batch, built column-wise.
#[derive(Default)]
struct StatusColumn<'a> {
    offsets: Vec<i32>,
    field: Vec<&'a str>,
    role: Vec<&'a str>,
    status: Vec<&'a str>,
    cause: Vec<Option<&'a str>>,
    prompt_tokens: Vec<u64>,
    completion_tokens: Vec<u64>,
}

impl<'a> StatusColumn<'a> {
    fn push(&mut self, job: &'a Job, status: &'a str, cause: Option<&'a str>, usage: Usage) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.field.push(&job.field);
        self.role.push(job.role);
        self.status.push(status);
        self.cause.push(cause);
        self.prompt_tokens.push(usage.prompt_tokens);
        self.completion_tokens.push(usage.completion_tokens);
    }

    fn end_row(&mut self) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.offsets
            .push(i32::try_from(self.field.len()).unwrap_or(i32::MAX));
    }

    fn finish(self) -> Result<ArrayRef> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(self.field)),
            Arc::new(StringArray::from(self.role)),
            Arc::new(StringArray::from(self.status)),
            Arc::new(StringArray::from(self.cause)),
            Arc::new(UInt64Array::from(self.prompt_tokens)),
            Arc::new(UInt64Array::from(self.completion_tokens)),
        ];
        let items = StructArray::try_new(status_fields(), children, None)?;
        let list = ListArray::try_new(
            Arc::new(Field::new_list_field(
                DataType::Struct(status_fields()),
                false,
            )),
            OffsetBuffer::new(self.offsets.into()),
            Arc::new(items),
            None,
        )?;
        Ok(Arc::new(list))
    }
}

/// One field of one D1 row.
struct Job {
    row: usize,
    target: EditTarget,
    field: String,
    role: &'static str,
}

/// A D1 batch whose fields are with the teacher.
struct Pending {
    batch: CorpusBatch,
    jobs: Vec<Job>,
    handles: Vec<JoinHandle<Result<FieldOutcome>>>,
}

/// The fields of `batch` that the configuration selects, with their texts:
/// those of a rewritten role with something for the teacher to rewrite
/// (not only whitespace and protected tokens).
fn jobs_of(map: &FieldMap, batch: &RecordBatch, ctx: &FieldContext) -> Result<Vec<(Job, String)>> {
    let text = BatchText::try_new(map, batch)?;
    let mut fields = Vec::new();
    let mut jobs = Vec::new();
    for row in 0..text.num_rows() {
        text.fields_into(row, &mut fields);
        for f in &fields {
            if !ctx.config.roles.contains(&f.role) || ctx.teacher_text(f.text).body.is_empty() {
                continue;
            }
            let Some(target) = EditTarget::of(map, f.source) else {
                continue;
            };
            let field = f.source.to_string();
            jobs.push((
                Job {
                    row,
                    target,
                    field,
                    role: f.role.as_str(),
                },
                f.text.to_owned(),
            ));
        }
    }
    Ok(jobs)
}

/// The run's state between batches.
struct Run<'w, 'p, 'o> {
    rt: Runtime,
    ctx: Arc<FieldContext>,
    map: FieldMap,
    /// Where rows go (`None`: a dry run or an export, which write no data).
    writer: Option<&'w mut PartWriter<'p>>,
    schema: SchemaRef,
    observer: &'o mut dyn RewriteObserver,
    report: RewriteReport,
    estimate: RequestEstimate,
    /// Keys counted by the estimate so far (16 bytes per distinct request).
    counted: HashSet<CacheKey>,
    /// The batch file of an export, renamed into place when the run ends
    /// well (a failed export leaves no partial file).
    export: Option<(AtomicFile, PathBuf)>,
    pending: VecDeque<Pending>,
    pending_fields: usize,
    fields_done: u64,
    rows_done: u64,
    failures: u64,
    /// Pending fields above which no new batch is admitted.
    field_window: usize,
}

impl Run<'_, '_, '_> {
    fn progress(&mut self) {
        let client = self
            .ctx
            .client
            .as_ref()
            .map(|c| c.stats().snapshot())
            .unwrap_or_default();
        self.observer.progress(&RewriteProgress {
            rows_done: self.rows_done,
            fields_done: self.fields_done,
            fields_pending: self.pending_fields as u64,
            client,
            failures: self.failures,
        });
    }

    /// Queues a D1 batch: spawns its field tasks (run), or counts or
    /// exports its requests.
    fn admit(&mut self, batch: CorpusBatch) -> Result<()> {
        let jobs = jobs_of(&self.map, &batch.batch, &self.ctx)?;
        self.report.fields.total += jobs.len() as u64;
        for (_, text) in &jobs {
            let lang = self
                .ctx
                .config
                .lang
                .choose(self.ctx.teacher_text(text).body);
            *self
                .report
                .fields
                .by_lang
                .entry(lang.as_str().into())
                .or_default() += 1;
        }
        if self.writer.is_some() {
            self.spawn(batch, jobs);
            Ok(())
        } else {
            self.count(&batch, &jobs)
        }
    }

    /// Sends a batch's fields to the teacher, as tasks on the runtime.
    fn spawn(&mut self, batch: CorpusBatch, jobs: Vec<(Job, String)>) {
        let _guard = self.rt.enter();
        let mut handles = Vec::with_capacity(jobs.len());
        let mut kept = Vec::with_capacity(jobs.len());
        for (job, text) in jobs {
            handles.push(tokio::spawn(rewrite_field(Arc::clone(&self.ctx), text)));
            kept.push(job);
        }
        self.pending_fields += kept.len();
        self.pending.push_back(Pending {
            batch,
            jobs: kept,
            handles,
        });
    }

    /// Counts (and, for an export, writes) the requests a batch needs.
    fn count(&mut self, batch: &CorpusBatch, jobs: &[(Job, String)]) -> Result<()> {
        for (job, field) in jobs {
            let text = self.ctx.teacher_text(field).body;
            let body = self.ctx.body(text, 0);
            if self.ctx.cache.get(body.key())?.is_some() {
                self.estimate.cached += 1;
                continue;
            }
            // A repeated prompt is sent once (see `FieldContext::answer`)
            // and exported once: its other fields read the cache.
            if !self.counted.insert(body.key()) {
                self.estimate.repeats += 1;
                continue;
            }
            let e = &mut self.estimate;
            e.requests += 1;
            e.prompt_tokens += body.prompt_tokens_estimate();
            e.completion_tokens += estimate_tokens(text);
            e.max_completion_tokens += body.token_budget() - body.prompt_tokens_estimate();
            if let Some((out, path)) = &mut self.export {
                let label = format!("{}/{}", batch.row_id(job.row), job.field);
                let custom_id = batch::custom_id(&label, body.key());
                self.ctx
                    .cache
                    .record_batch_request(&custom_id, body.key(), body.json())?;
                let io = |source| Error::Io {
                    path: path.clone(),
                    source,
                };
                let line =
                    batch::request_line(&custom_id, body.json()).map_err(|e| io(e.into()))?;
                writeln!(out, "{line}").map_err(io)?;
            }
        }
        self.rows_done += batch.num_rows() as u64;
        self.report.d1_rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Waits for the oldest pending batch and writes it.
    fn finish_front(&mut self) -> Result<()> {
        let Some(mut pending) = self.pending.pop_front() else {
            return Ok(());
        };
        let mut outcomes = Vec::with_capacity(pending.handles.len());
        for handle in &mut pending.handles {
            let outcome = loop {
                let waited = self.rt.block_on(async {
                    tokio::time::timeout(Duration::from_millis(250), &mut *handle).await
                });
                match waited {
                    Ok(joined) => break joined,
                    Err(_) => self.progress(),
                }
            };
            let outcome = outcome.map_err(|e| Error::Io {
                path: PathBuf::from("(teacher task)"),
                source: std::io::Error::other(e.to_string()),
            })??;
            self.fields_done += 1;
            self.pending_fields -= 1;
            outcomes.push(outcome);
        }
        self.write_d1(&pending.batch, &pending.jobs, &outcomes)?;
        self.rows_done += pending.batch.num_rows() as u64;
        self.progress();
        Ok(())
    }

    fn write_d1(
        &mut self,
        batch: &CorpusBatch,
        jobs: &[Job],
        outcomes: &[FieldOutcome],
    ) -> Result<()> {
        let rows = batch.num_rows();
        let mut keep = vec![true; rows];
        let mut edits = Vec::new();
        let fields = &mut self.report.fields;
        let mut statuses = StatusColumn::default();
        let mut next = jobs.iter().zip(outcomes).peekable();
        for (row, kept) in keep.iter_mut().enumerate() {
            while let Some((job, outcome)) = next.next_if(|(j, _)| j.row == row) {
                let (status, cause) = match &outcome.result {
                    FieldResult::Rewritten(text) => {
                        edits.push(TextEdit {
                            row,
                            target: job.target,
                            text: Some(text.as_str()),
                        });
                        fields.rewritten += 1;
                        ("rewritten", None)
                    }
                    FieldResult::Failed(cause) => {
                        self.failures += 1;
                        let class = cause.split(':').next().unwrap_or(cause).to_owned();
                        *fields.failures.entry(class).or_default() += 1;
                        match self.ctx.config.on_failure {
                            OnFailure::KeepOriginal => {
                                fields.kept_original += 1;
                                ("kept-original", Some(cause.as_str()))
                            }
                            OnFailure::Drop => {
                                fields.dropped += 1;
                                *kept = false;
                                ("dropped", Some(cause.as_str()))
                            }
                            OnFailure::Fail => {
                                return Err(Error::RewriteFailed {
                                    row: batch.row_id(row).to_string(),
                                    field: job.field.clone(),
                                    cause: cause.clone(),
                                });
                            }
                        }
                    }
                };
                statuses.push(job, status, cause, outcome.usage);
            }
            statuses.end_row();
        }
        let mut columns = apply_text_edits(&self.map, &batch.batch, &edits)?;
        columns.push(statuses.finish()?);
        columns.push(Arc::new(StringArray::from(vec![
            Some(
                self.ctx.config.model.as_str()
            );
            rows
        ])));
        let mut out = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        let mut before = batch.batch.clone();
        let dropped = keep.iter().filter(|k| !**k).count();
        if dropped > 0 {
            let mask = BooleanArray::from(keep);
            out = filter_record_batch(&out, &mask)?;
            before = filter_record_batch(&before, &mask)?;
            self.report.rows_dropped += dropped as u64;
        }
        self.report.d1_rows += rows as u64;
        self.report.rows_out += out.num_rows() as u64;
        self.observer.d1_batch(&before, &out);
        if let Some(writer) = self.writer.as_deref_mut() {
            writer.write(&out)?;
        }
        Ok(())
    }

    fn write_d2(&mut self, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows();
        self.report.d2_rows += rows as u64;
        self.rows_done += rows as u64;
        let Some(writer) = self.writer.as_deref_mut() else {
            return Ok(());
        };
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.push(arrow::array::new_null_array(
            self.schema.field(columns.len()).data_type(),
            rows,
        ));
        columns.push(Arc::new(StringArray::from(vec![None::<&str>; rows])));
        let out = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        self.report.rows_out += rows as u64;
        writer.write(&out)?;
        Ok(())
    }
}

/// Checks the `--export-batch` target before anything is read: refuses a
/// path that is one of `inputs` (as given or as resolved to files) or lies
/// inside an input directory, compared as real paths so links and `..` do
/// not hide it, a directory, and an existing file unless `overwrite`.
///
/// # Errors
/// [`Error::ExportIsInput`], [`Error::ExportIsDirectory`],
/// [`Error::ExportExists`].
pub fn check_export_target<P: AsRef<Path>>(
    path: &Path,
    inputs: &[P],
    overwrite: bool,
) -> Result<()> {
    let real = regime_corpus::real_path(path);
    for input in inputs {
        let input = input.as_ref();
        let Ok(real_in) = input.canonicalize() else {
            continue;
        };
        if real == real_in || (real_in.is_dir() && real.starts_with(&real_in)) {
            return Err(Error::ExportIsInput {
                path: path.to_path_buf(),
                input: input.to_path_buf(),
            });
        }
    }
    if real.is_dir() {
        return Err(Error::ExportIsDirectory {
            path: path.to_path_buf(),
        });
    }
    if !overwrite && std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::ExportExists {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Builds condition D from `reader` (all `rows` rows, all columns, in input
/// order): D1's selected fields rewritten by the teacher, D2 unchanged; or,
/// per `mode`, only counts or exports the requests.
///
/// # Errors
/// Corpus read/write errors; [`Error::Teacher`] when the server is down,
/// refuses the key or model, or the cache fails; [`Error::RewriteFailed`]
/// with `--on-failure fail`; [`Error::TeacherGone`] when the teacher stops
/// answering mid-run; [`Error::ShortInput`].
pub fn build_rewrite_condition(
    reader: CorpusReader,
    rows: u64,
    map: &FieldMap,
    teacher: Teacher,
    config: &RewriteConfig,
    mode: RewriteMode<'_, '_>,
    observer: &mut dyn RewriteObserver,
) -> Result<RewriteReport> {
    config.validate()?;
    let schema = rewrite_output_schema(reader.schema())?;
    let mut run = Run::new(map, teacher, config, mode, schema, observer)?;
    let d1_rows = crate::split::d1_rows(rows, config.split)?;
    let d1_end = config.limit.map_or(d1_rows, |l| l.min(d1_rows));
    let mut global = 0u64;
    for batch in reader {
        let batch = batch?;
        let len = batch.num_rows() as u64;
        let d1_here = d1_end.saturating_sub(global).min(len);
        if d1_here > 0 {
            let n = usize::try_from(d1_here).unwrap_or(usize::MAX);
            run.admit(CorpusBatch {
                shard: batch.shard,
                first_row: batch.first_row,
                batch: batch.batch.slice(0, n),
            })?;
            while run.pending.len() > MAX_BATCHES
                || (run.pending.len() > 1 && run.pending_fields > run.field_window)
            {
                run.finish_front()?;
            }
        }
        if d1_here < len && config.limit.is_none() {
            while !run.pending.is_empty() {
                run.finish_front()?;
            }
            let start = usize::try_from(d1_here).unwrap_or(usize::MAX);
            run.write_d2(&batch.batch.slice(start, batch.num_rows() - start))?;
        }
        global += len;
        // A limited run stops inside a batch: the rows past the limit were
        // decoded but not taken.
        run.report.rows_in = if config.limit.is_some() {
            global.min(d1_end)
        } else {
            global
        };
        if config.limit.is_some() && global >= d1_end {
            break;
        }
    }
    while !run.pending.is_empty() {
        run.finish_front()?;
    }
    if config.limit.is_none() && global != rows {
        return Err(Error::ShortInput {
            read: global,
            expected: rows,
        });
    }
    run.finish()
}

impl<'w, 'p, 'o> Run<'w, 'p, 'o> {
    fn new(
        map: &FieldMap,
        teacher: Teacher,
        config: &RewriteConfig,
        mode: RewriteMode<'w, 'p>,
        schema: SchemaRef,
        observer: &'o mut dyn RewriteObserver,
    ) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: PathBuf::from("(tokio runtime)"),
                source,
            })?;
        let concurrency = teacher.client.as_ref().map_or(64, |c| c.concurrency);
        let dry_run = matches!(mode, RewriteMode::DryRun);
        let (writer, export, client) = match mode {
            RewriteMode::Run(writer) => {
                let client = match teacher.client {
                    Some(client) => {
                        // reqwest's connection pool lives in this runtime.
                        let _guard = rt.enter();
                        Some(TeacherClient::new(client)?)
                    }
                    None => None,
                };
                (Some(writer), None, client)
            }
            RewriteMode::DryRun => (None, None, None),
            RewriteMode::ExportBatch(path) => {
                let file = AtomicFile::create(&path)?;
                (None, Some((file, path)), None)
            }
        };
        // A dry run writes nothing: without a cache yet it reads an empty
        // one in memory instead of creating the directory.
        let cache = if dry_run && !teacher.cache_dir.join(ResponseCache::FILE_NAME).exists() {
            ResponseCache::in_memory()?
        } else {
            ResponseCache::open(&teacher.cache_dir)?
        };
        Ok(Self {
            rt,
            ctx: Arc::new(FieldContext::new(
                client,
                cache,
                teacher.templates,
                config.clone(),
            )),
            map: map.clone(),
            writer,
            schema,
            observer,
            report: RewriteReport::default(),
            estimate: RequestEstimate::default(),
            counted: HashSet::new(),
            export,
            pending: VecDeque::new(),
            pending_fields: 0,
            fields_done: 0,
            rows_done: 0,
            failures: 0,
            field_window: concurrency.saturating_mul(4).max(1),
        })
    }

    /// The report, once every batch is written.
    fn finish(mut self) -> Result<RewriteReport> {
        self.progress();
        if let Some((out, _)) = self.export.take() {
            out.commit()?;
        }
        let mut report = self.report;
        if let Some(client) = &self.ctx.client {
            let stats = client.stats().snapshot();
            report.requests.attempts = stats.attempts;
            report.requests.answered = stats.answered;
            report.requests.retries = stats.retries;
            report.usage = stats.usage.into();
        }
        let counters = &self.ctx.counters;
        report.requests.cached_answers = counters.cached_answers.load(Ordering::Relaxed);
        report.requests.malformed_retries = counters.malformed_retries.load(Ordering::Relaxed);
        report.cached_usage = TokenCounts {
            prompt_tokens: counters.cached_prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: counters.cached_completion_tokens.load(Ordering::Relaxed),
        };
        if self.writer.is_none() {
            report.estimate = Some(self.estimate);
        }
        Ok(report)
    }
}

/// Fills the cache from an OpenAI batch output file written for requests
/// that `--export-batch` recorded in the same cache. Returns the answers
/// stored.
///
/// Each answer is stored under the key its `custom_id` carries (see
/// [`batch::custom_id`]), and only when an export to this cache recorded
/// that exact id: the output of an older export (other options, another
/// template) fills in that export's requests and never another's.
///
/// # Errors
/// [`Error::Teacher`] naming the file and line of a malformed line, of a
/// `custom_id` without a request key (an export by an older regime), or of
/// one that no export to this cache recorded.
pub fn import_batch(cache_dir: &std::path::Path, path: &std::path::Path) -> Result<u64> {
    use std::io::BufRead;
    let cache = ResponseCache::open(cache_dir)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut stored = 0;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| {
            Error::Teacher(regime_teacher::Error::Batch {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            })
        };
        let parsed = batch::parse_response_line(&line).map_err(bad)?;
        let id = &parsed.custom_id;
        let Some(wanted) = batch::custom_id_key(id) else {
            return Err(bad(format!(
                "custom_id `{id}` carries no request key (a batch exported by an older regime): run --export-batch again and submit that file"
            )));
        };
        let (key, request) = cache
            .batch_request(id)?
            .filter(|(key, _)| *key == wanted)
            .ok_or_else(|| {
                bad(format!(
                    "custom_id `{id}` matches no request exported to this cache (run --export-batch with the same --cache-dir first)"
                ))
            })?;
        if let Some(answer) = parsed.answer {
            cache.put(key, &request, &answer, 0)?;
            stored += 1;
        }
    }
    Ok(stored)
}
