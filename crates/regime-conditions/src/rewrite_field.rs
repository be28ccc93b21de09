//! Rewriting one text field through the teacher: render, look up the
//! cache, send, judge, retry malformed answers with another seed, and
//! decide what the field becomes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use regime_teacher::{
    CacheKey, CachedAnswer, Completion, Malformed, RequestBody, ResponseCache, SendError,
    TeacherClient, Templates, Usage, judge, max_tokens_for,
};
use regime_text::ProtectedTokens;
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::rewrite_config::RewriteConfig;
use crate::teacher_text::{TeacherText, keeps_protected};

/// What happened to one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldResult {
    /// The teacher's rewrite.
    Rewritten(String),
    /// No usable rewrite; the cause (`no-tags`, `lost-protected`,
    /// `http-400: …`, `retries-exhausted: timeout`, `context-too-long`).
    Failed(String),
}

/// One field's outcome with its token counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldOutcome {
    pub(crate) result: FieldResult,
    /// `usage` of the answer used (or the last one received).
    pub(crate) usage: Usage,
}

/// Fields in a row whose request ran out of retries on causes that mean
/// the teacher is unreachable ([`regime_teacher::RetryCause::means_unreachable`])
/// after which the run stops with [`Error::TeacherGone`] instead of
/// keeping every remaining field's original text: a dead or throttled
/// server must not yield a condition D that looks complete. With the
/// default retries each such field has already waited minutes.
pub const UNREACHABLE_FIELDS_IN_A_ROW: u32 = 8;

/// The failure class of a field whose request is not in the cache when the
/// run has no server to ask (`--import-batch` without a URL).
pub const NOT_CACHED: &str = "not-cached";

/// Counts shared by every field task of a run.
#[derive(Debug, Default)]
pub(crate) struct FieldCounters {
    /// Answers taken from the cache.
    pub(crate) cached_answers: AtomicU64,
    /// `usage` summed over answers taken from the cache.
    pub(crate) cached_prompt_tokens: AtomicU64,
    /// Completion tokens of cached answers.
    pub(crate) cached_completion_tokens: AtomicU64,
    /// Malformed answers that were retried with another seed.
    pub(crate) malformed_retries: AtomicU64,
    /// Fields in a row (in the order they finished) whose request ran out
    /// of retries on an unreachable teacher; any other outcome of a request
    /// (an answer, a refusal, retries run out on a 500) resets it.
    pub(crate) unreachable_in_a_row: AtomicU32,
    /// Set once [`UNREACHABLE_FIELDS_IN_A_ROW`] is reached, to the cause of
    /// the field that reached it: from then on no request is sent, so the
    /// run drains and stops at once.
    pub(crate) gone: OnceLock<String>,
    /// Wakes the requests under way (or waiting for a connection slot)
    /// when `gone` is set, which drop them.
    pub(crate) stop: tokio::sync::Notify,
}

/// The error that stops a run whose teacher is gone.
fn teacher_gone(cause: &str) -> Error {
    Error::TeacherGone {
        fields: UNREACHABLE_FIELDS_IN_A_ROW,
        cause: cause.to_owned(),
    }
}

/// Everything a field task needs, shared.
pub(crate) struct FieldContext {
    pub(crate) client: Option<TeacherClient>,
    pub(crate) cache: ResponseCache,
    pub(crate) templates: Templates,
    pub(crate) config: RewriteConfig,
    /// The tokens kept out of the teacher's text.
    pub(crate) protected: ProtectedTokens,
    pub(crate) counters: FieldCounters,
    /// The server's context length, learnt by the preflight before the
    /// first request that is not answered from the cache.
    preflight: OnceCell<Option<u64>>,
    /// A gate per request being answered: corpora repeat their prompts, and
    /// a field whose request is already in flight waits for that answer
    /// (then reads it from the cache) rather than paying for it twice.
    in_flight: Mutex<HashMap<CacheKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl FieldContext {
    pub(crate) fn new(
        client: Option<TeacherClient>,
        cache: ResponseCache,
        templates: Templates,
        config: RewriteConfig,
    ) -> Self {
        Self {
            client,
            cache,
            templates,
            protected: config.protected_tokens(),
            config,
            counters: FieldCounters::default(),
            preflight: OnceCell::new(),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// What of `text` the teacher sees, and what stays around it.
    pub(crate) fn teacher_text<'t>(&self, text: &'t str) -> TeacherText<'t> {
        TeacherText::of(&self.protected, text)
    }

    /// The request body of `text` (a [`TeacherText::body`]) for
    /// malformed-retry `attempt`.
    pub(crate) fn body(&self, text: &str, attempt: u32) -> RequestBody {
        let lang = self.config.lang.choose(text);
        let prompt = self.templates.render(lang, text);
        let sampling = &self.config.sampling;
        RequestBody::new(
            &self.config.model,
            &prompt,
            sampling,
            sampling.seed.wrapping_add(u64::from(attempt)),
            max_tokens_for(text, sampling.max_tokens_cap),
            &self.config.extra_body,
        )
    }

    async fn context_length(&self, client: &TeacherClient) -> Result<Option<u64>> {
        let info = self
            .preflight
            .get_or_try_init(|| async {
                client
                    .preflight(&self.config.model)
                    .await
                    .map(|m| m.max_model_len)
            })
            .await?;
        Ok(*info)
    }

    /// The answer to `body`: from the cache, or from the server (and then
    /// cached), one request at a time per key. `Ok(Err(cause))` when the
    /// request failed for this field only.
    async fn answer(&self, body: &RequestBody) -> Result<Result<CachedAnswer, String>> {
        let key = body.key();
        let gate = Arc::clone(
            self.in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_default(),
        );
        let held = gate.lock().await;
        let answer = self.answer_alone(body).await;
        drop(held);
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Clones are made under this lock: two owners (the map and this
        // task) means no one else waits on the gate.
        if Arc::strong_count(&gate) == 2 {
            in_flight.remove(&key);
        }
        answer
    }

    /// [`Self::answer`] for a caller holding the key's gate.
    async fn answer_alone(&self, body: &RequestBody) -> Result<Result<CachedAnswer, String>> {
        if let Some(answer) = self.cache.get(body.key())? {
            let c = &self.counters;
            c.cached_answers.fetch_add(1, Ordering::Relaxed);
            if let CachedAnswer::Completed(done) = &answer {
                c.cached_prompt_tokens
                    .fetch_add(done.usage.prompt_tokens, Ordering::Relaxed);
                c.cached_completion_tokens
                    .fetch_add(done.usage.completion_tokens, Ordering::Relaxed);
            }
            return Ok(Ok(answer));
        }
        let Some(client) = &self.client else {
            return Ok(Err(NOT_CACHED.into()));
        };
        if let Some(limit) = self.context_length(client).await?
            && body.token_budget() > limit
        {
            return Ok(Err(format!(
                "context-too-long: ≈{} tokens do not fit the model's {limit}",
                body.token_budget()
            )));
        }
        // Registered before `gone` is read, so a stop between the two is
        // not missed.
        let stopped = self.counters.stop.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        if let Some(cause) = self.counters.gone.get() {
            return Err(teacher_gone(cause));
        }
        let sent = tokio::select! {
            sent = client.send(body) => sent,
            () = stopped => {
                let cause = self.counters.gone.get().map_or("", String::as_str);
                return Err(teacher_gone(cause));
            }
        };
        let unreachable = &self.counters.unreachable_in_a_row;
        match sent {
            Ok(answer) => {
                unreachable.store(0, Ordering::Relaxed);
                let cached = CachedAnswer::Completed(answer.completion);
                let ms = u64::try_from(answer.latency.as_millis()).unwrap_or(u64::MAX);
                self.cache.put(body.key(), body.json(), &cached, ms)?;
                Ok(Ok(cached))
            }
            Err(e) if e.is_fatal() => {
                let SendError::Rejected { status, message } = e else {
                    unreachable!("only refusals are fatal")
                };
                Err(regime_teacher::Error::Refused { status, message }.into())
            }
            Err(e) if e.is_deterministic() => {
                let SendError::Rejected { status, message } = e else {
                    unreachable!("only refusals are deterministic")
                };
                unreachable.store(0, Ordering::Relaxed);
                let rejected = CachedAnswer::Rejected { status, message };
                self.cache.put(body.key(), body.json(), &rejected, 0)?;
                Ok(Ok(rejected))
            }
            Err(SendError::Exhausted { cause, message, .. }) => {
                let failure = format!("retries-exhausted: {cause}: {message}");
                if !cause.means_unreachable() {
                    unreachable.store(0, Ordering::Relaxed);
                    return Ok(Err(failure));
                }
                let in_a_row = unreachable.fetch_add(1, Ordering::Relaxed) + 1;
                if in_a_row >= UNREACHABLE_FIELDS_IN_A_ROW {
                    let cause = self.counters.gone.get_or_init(|| failure);
                    self.counters.stop.notify_waiters();
                    return Err(teacher_gone(cause));
                }
                Ok(Err(failure))
            }
            Err(SendError::Rejected { status, message }) => {
                unreachable.store(0, Ordering::Relaxed);
                Ok(Err(format!("http-{status}: {message}")))
            }
        }
    }
}

/// Rewrites `text`: up to `1 + malformed_retries` answers, each judged.
/// The teacher sees only the [`TeacherText`] body; a rewrite that loses a
/// protected token of the body is malformed (`lost-protected`).
///
/// # Errors
/// Only what must stop the run: a fatal refusal, a failed preflight, a
/// cache failure, [`Error::TeacherGone`].
pub(crate) async fn rewrite_field(ctx: Arc<FieldContext>, field: String) -> Result<FieldOutcome> {
    let framed = ctx.teacher_text(&field);
    let text = framed.body;
    let mut last = Malformed::NoTags;
    let mut usage = Usage::default();
    for attempt in 0..=ctx.config.malformed_retries {
        if attempt > 0 {
            ctx.counters
                .malformed_retries
                .fetch_add(1, Ordering::Relaxed);
        }
        let body = ctx.body(text, attempt);
        let completion: Completion = match ctx.answer(&body).await? {
            Ok(CachedAnswer::Completed(c)) => c,
            Ok(CachedAnswer::Rejected { status, message }) => {
                return Ok(FieldOutcome {
                    result: FieldResult::Failed(format!("http-{status}: {message}")),
                    usage,
                });
            }
            Err(cause) => {
                return Ok(FieldOutcome {
                    result: FieldResult::Failed(cause),
                    usage,
                });
            }
        };
        usage = completion.usage;
        match judge(&completion, text, ctx.config.max_growth) {
            Ok(rewrite) if keeps_protected(&ctx.protected, text, &rewrite) => {
                return Ok(FieldOutcome {
                    result: FieldResult::Rewritten(framed.around(&rewrite)),
                    usage,
                });
            }
            Ok(_) => last = Malformed::LostProtected,
            Err(cause) => last = cause,
        }
    }
    Ok(FieldOutcome {
        result: FieldResult::Failed(last.as_str().to_owned()),
        usage,
    })
}
