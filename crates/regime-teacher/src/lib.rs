//! The teacher client of condition D: everything between "rewrite this text"
//! and a trustworthy answer from an LLM served behind an OpenAI-compatible
//! HTTP API (vLLM, SGLang, llama.cpp's `llama-server`, TGI, hosted APIs).
//!
//! This crate owns the request (the paper's rewrite templates, language
//! choice, sampling parameters, the cache key), the response (`<output>`
//! extraction, malformed answers, both error-body shapes), the transport
//! (bounded concurrency, rpm/tpm token buckets, exactly one retry layer with
//! jittered backoff and `Retry-After`, timeouts), the persistent response
//! cache that makes reruns resume, and OpenAI batch-file interop. It knows
//! nothing about corpora, Arrow or parquet: `regime-conditions` decides which
//! texts to send and writes the results; the binary draws progress.
//!
//! # Overview
//! - [`Templates`] renders a prompt for a text in the [`Lang`] detected by
//!   [`detect_lang`].
//! - [`RequestBody`] is the final JSON body and its [`CacheKey`].
//! - [`TeacherClient::send`] sends one body with retries; [`ClientStats`]
//!   counts what happened.
//! - [`judge`] turns a [`Completion`] into a rewrite or a [`Malformed`] cause.
//! - [`ResponseCache`] stores answers in SQLite (WAL): a committed answer
//!   survives a crash, so a rerun sends only what was never answered.
//! - [`batch`] writes OpenAI batch requests and reads batch outputs.
//!
//! The API key ([`ApiKey`]) is only ever put in the `Authorization` header:
//! it is not part of a [`RequestBody`], a cache entry or any error message.

pub mod batch;
mod cache;
mod client;
mod error;
mod limit;
mod redact;
mod request;
mod response;
mod retry;
mod template;

pub use cache::{CacheRow, CachedAnswer, ResponseCache};
pub use client::{
    Answer, ApiKey, ClientConfig, ClientStats, ModelInfo, SendError, StatsSnapshot, TeacherClient,
};
pub use error::{Error, Result};
pub use limit::RateLimiter;
pub use redact::{REDACTED, redact_url};
pub use request::{
    CacheKey, RequestBody, Sampling, canonical_json, estimate_tokens, max_tokens_for,
    validate_extra_body,
};
pub use response::{
    Completion, Malformed, Usage, error_message, extract_output, judge, parse_completion,
};
pub use retry::{Backoff, RetryCause, is_retryable_status, parse_retry_after};
pub use template::{EN_TEMPLATE, Lang, LangChoice, Templates, ZH_TEMPLATE, detect_lang, han_share};
