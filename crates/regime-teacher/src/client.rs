//! The HTTP client: bounded concurrency, rate limits, and the one retry
//! loop every request goes through.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::limit::RateLimiter;
use crate::redact::redact_url;
use crate::request::RequestBody;
use crate::response::{Completion, Usage, error_message, parse_completion};
use crate::retry::{Backoff, RetryCause, is_retryable_status, parse_retry_after};

/// The API key. It is only ever written into the `Authorization` header
/// (marked sensitive); `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    #[must_use]
    pub const fn new(key: String) -> Self {
        Self(key)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// How to reach the teacher and how hard to try.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's base URL (`http://host:port`, with or without `/v1`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<ApiKey>,
    /// Per-request timeout, from sending to the last body byte.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Retries after the first attempt (transport failures and retryable
    /// statuses only).
    pub max_retries: u32,
    /// Waits between attempts.
    pub backoff: Backoff,
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// Requests per minute, if limited.
    pub rpm: Option<u32>,
    /// Tokens (prompt estimate + `max_tokens`) per minute, if limited.
    pub tpm: Option<u32>,
}

impl ClientConfig {
    /// The defaults of TEACHER.md for `base_url`: 600 s timeout, 10 s
    /// connect timeout, 8 retries, 64 in flight, no rate limits.
    #[must_use]
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            timeout: Duration::from_mins(10),
            connect_timeout: Duration::from_secs(10),
            max_retries: 8,
            backoff: Backoff::default(),
            concurrency: 64,
            rpm: None,
            tpm: None,
        }
    }
}

/// A model the server lists under `/v1/models`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelInfo {
    /// Its id (what `model` must be).
    pub id: String,
    /// Its context length, when the server says (vLLM's `max_model_len`,
    /// llama.cpp's `meta.n_ctx_train`).
    pub max_model_len: Option<u64>,
}

/// Why a request produced no completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The server refused it with a status that is not worth retrying.
    #[error("HTTP {status}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Every attempt failed in a retryable way.
    #[error("gave up after {attempts} attempts, last: {cause}: {message}")]
    Exhausted {
        /// The last attempt's failure.
        cause: RetryCause,
        /// Its message.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl SendError {
    /// Whether no other request can succeed either (bad key, no such model
    /// or endpoint): the run must stop.
    #[must_use]
    pub const fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                status: 401 | 403 | 404 | 405,
                ..
            }
        )
    }

    /// Whether the same request would be refused again (a deterministic
    /// 4xx), so the refusal may be cached.
    #[must_use]
    pub const fn is_deterministic(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                status: 400 | 413 | 422,
                ..
            }
        )
    }
}

/// A completed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The completion.
    pub completion: Completion,
    /// Time of the successful attempt.
    pub latency: Duration,
}

/// What the client did, counted as it happens (shared with progress
/// displays).
#[derive(Debug, Default)]
pub struct ClientStats {
    attempts: AtomicU64,
    answered: AtomicU64,
    in_flight: AtomicU64,
    retries: Mutex<BTreeMap<String, u64>>,
    usage: Mutex<Usage>,
}

/// A copy of [`ClientStats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    /// HTTP requests sent (every attempt).
    pub attempts: u64,
    /// Requests answered with a parsable completion.
    pub answered: u64,
    /// Requests in flight now.
    pub in_flight: u64,
    /// Retries by cause (`http-429`, `timeout`, `reset`, …).
    pub retries: BTreeMap<String, u64>,
    /// Sum of `usage` over every answered request.
    pub usage: Usage,
}

impl ClientStats {
    /// The counts now.
    #[must_use]
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            attempts: self.attempts.load(Ordering::Relaxed),
            answered: self.answered.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            retries: self
                .retries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            usage: *self.usage.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    fn retried(&self, cause: RetryCause) {
        *self
            .retries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(cause.to_string())
            .or_default() += 1;
    }
}

/// One failed attempt.
enum AttemptError {
    Retry {
        cause: RetryCause,
        message: String,
        retry_after: Option<Duration>,
    },
    Rejected {
        status: u16,
        message: String,
    },
}

/// An OpenAI-compatible chat-completion client.
#[derive(Debug)]
pub struct TeacherClient {
    http: reqwest::Client,
    /// The base URL requests go to, credentials and all.
    base: String,
    /// `base` as messages show it ([`redact_url`]).
    shown: String,
    api_key: Option<ApiKey>,
    max_retries: u32,
    backoff: Backoff,
    permits: Semaphore,
    limiter: RateLimiter,
    stats: ClientStats,
}

/// `base_url` without a trailing `/` or `/v1`.
fn normalise_base(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
    if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
        return Err(Error::Url {
            url: redact_url(url),
            reason: "must start with http:// or https://".into(),
        });
    }
    Ok(trimmed.to_owned())
}

impl TeacherClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`Error::Url`] for a URL that is not http(s); [`Error::Config`] for a
    /// concurrency of 0; [`Error::Client`] when the HTTP stack fails to
    /// start.
    pub fn new(config: ClientConfig) -> Result<Self> {
        if config.concurrency == 0 {
            return Err(Error::Config {
                what: "--concurrency",
                reason: "must be at least 1".into(),
            });
        }
        let base = normalise_base(&config.base_url)?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.concurrency)
            .build()
            .map_err(Error::Client)?;
        Ok(Self {
            http,
            shown: redact_url(&base),
            base,
            api_key: config.api_key,
            max_retries: config.max_retries,
            backoff: config.backoff,
            permits: Semaphore::new(config.concurrency),
            limiter: RateLimiter::new(config.rpm, config.tpm),
            stats: ClientStats::default(),
        })
    }

    /// The normalised base URL, credentials redacted ([`redact_url`]): safe
    /// to print.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.shown
    }

    /// The live counts.
    #[must_use]
    pub const fn stats(&self) -> &ClientStats {
        &self.stats
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => request.bearer_auth(&key.0),
            None => request,
        }
    }

    /// `GET /v1/models`, once at start: fails fast when the server is down
    /// or the key is wrong. 503 (a server still loading its model) is
    /// retried like any request.
    ///
    /// # Errors
    /// [`Error::Unreachable`] naming the URL and the cause; [`Error::Refused`]
    /// for 401/403.
    pub async fn models(&self) -> Result<Vec<ModelInfo>> {
        let url = format!("{}/v1/models", self.base);
        let unreachable = |reason: String| Error::Unreachable {
            url: self.shown.clone(),
            reason,
        };
        let mut attempt = 0;
        let body = loop {
            let response = self
                .authorised(self.http.get(&url))
                .send()
                .await
                .map_err(|e| unreachable(transport_message(&e)))?;
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let bytes = response
                .bytes()
                .await
                .map_err(|e| unreachable(transport_message(&e)))?;
            match status {
                200..=299 => break bytes,
                401 | 403 => {
                    return Err(Error::Refused {
                        status,
                        message: error_message(&bytes),
                    });
                }
                s if is_retryable_status(s) && attempt < self.max_retries => {
                    tokio::time::sleep(self.backoff.delay(attempt, retry_after, rand::random()))
                        .await;
                    attempt += 1;
                }
                s => {
                    return Err(unreachable(format!(
                        "GET /v1/models answered HTTP {s}: {}",
                        error_message(&bytes)
                    )));
                }
            }
        };
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| unreachable(format!("GET /v1/models is not JSON: {e}")))?;
        let data = value
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| unreachable("GET /v1/models has no `data` list".into()))?;
        Ok(data
            .iter()
            .filter_map(|m| {
                let id = m.get("id")?.as_str()?.to_owned();
                let max_model_len = m
                    .get("max_model_len")
                    .and_then(Value::as_u64)
                    .or_else(|| m.pointer("/meta/n_ctx_train").and_then(Value::as_u64));
                Some(ModelInfo { id, max_model_len })
            })
            .collect())
    }

    /// [`Self::models`], then checks that `model` is among them.
    ///
    /// # Errors
    /// As [`Self::models`]; [`Error::UnknownModel`] listing what is served.
    pub async fn preflight(&self, model: &str) -> Result<ModelInfo> {
        let models = self.models().await?;
        models
            .iter()
            .find(|m| m.id == model)
            .cloned()
            .ok_or_else(|| Error::UnknownModel {
                url: self.shown.clone(),
                model: model.to_owned(),
                served: models
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Sends `body` to `/v1/chat/completions`, retrying transport failures
    /// and retryable statuses with backoff (this is the only retry layer).
    /// At most `concurrency` attempts are in flight across all callers; a
    /// request waiting out a backoff holds no slot.
    ///
    /// # Errors
    /// [`SendError::Rejected`] for a non-retryable status;
    /// [`SendError::Exhausted`] when every attempt failed.
    pub async fn send(&self, body: &RequestBody) -> std::result::Result<Answer, SendError> {
        let url = format!("{}/v1/chat/completions", self.base);
        let mut attempt = 0u32;
        loop {
            self.limiter.acquire(body.token_budget()).await;
            let outcome = {
                // The semaphore is never closed.
                let _permit = self.permits.acquire().await.ok();
                self.stats.attempts.fetch_add(1, Ordering::Relaxed);
                self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let outcome = self.attempt(&url, body).await;
                self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
                outcome.map(|c| (c, started.elapsed()))
            };
            match outcome {
                Ok((completion, latency)) => {
                    self.stats.answered.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .usage
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .add(completion.usage);
                    return Ok(Answer {
                        completion,
                        latency,
                    });
                }
                Err(AttemptError::Rejected { status, message }) => {
                    return Err(SendError::Rejected { status, message });
                }
                Err(AttemptError::Retry {
                    cause,
                    message,
                    retry_after,
                }) => {
                    if attempt >= self.max_retries {
                        return Err(SendError::Exhausted {
                            cause,
                            message,
                            attempts: attempt + 1,
                        });
                    }
                    self.stats.retried(cause);
                    let wait = self.backoff.delay(attempt, retry_after, rand::random());
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(
        &self,
        url: &str,
        body: &RequestBody,
    ) -> std::result::Result<Completion, AttemptError> {
        let transport = |e: &reqwest::Error| AttemptError::Retry {
            cause: if e.is_timeout() {
                RetryCause::Timeout
            } else if e.is_connect() {
                RetryCause::Connect
            } else {
                RetryCause::Reset
            },
            message: transport_message(e),
            retry_after: None,
        };
        let response = self
            .authorised(self.http.post(url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.json().to_owned())
            .send()
            .await
            .map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| transport(&e))?;
        if (200..300).contains(&status) {
            return parse_completion(&bytes).map_err(|message| AttemptError::Retry {
                cause: RetryCause::BadBody,
                message,
                retry_after: None,
            });
        }
        let message = error_message(&bytes);
        if is_retryable_status(status) {
            Err(AttemptError::Retry {
                cause: RetryCause::Status(status),
                message,
                retry_after,
            })
        } else {
            Err(AttemptError::Rejected { status, message })
        }
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    parse_retry_after(get("retry-after-ms"), get("retry-after"), SystemTime::now())
}

/// A transport error on one line, with its innermost cause (reqwest's own
/// message is only "error sending request").
fn transport_message(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(last) = last {
        message.push_str(": ");
        message.push_str(&last);
    }
    // reqwest names the URL, credentials included.
    redact_url(&message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        assert_eq!(normalise_base("http://h:1/v1/").unwrap(), "http://h:1");
        assert_eq!(
            normalise_base(" https://api.x.com ").unwrap(),
            "https://api.x.com"
        );
        assert!(
            normalise_base("h:1")
                .unwrap_err()
                .to_string()
                .contains("http://")
        );
    }

    #[test]
    fn key_is_never_printed() {
        let mut config = ClientConfig::new("http://127.0.0.1:1");
        config.api_key = Some(ApiKey::new("sk-secret".into()));
        assert!(!format!("{config:?}").contains("sk-secret"));
        let client = TeacherClient::new(config).unwrap();
        assert!(!format!("{client:?}").contains("sk-secret"));
    }

    #[test]
    fn fatal_and_deterministic_refusals() {
        let rejected = |status| SendError::Rejected {
            status,
            message: String::new(),
        };
        assert!(rejected(401).is_fatal() && rejected(404).is_fatal());
        assert!(!rejected(400).is_fatal());
        assert!(rejected(400).is_deterministic() && rejected(422).is_deterministic());
        assert!(!rejected(401).is_deterministic());
    }
}
