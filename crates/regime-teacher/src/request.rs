//! The request: the JSON body sent to `/v1/chat/completions`, its cache key,
//! and the client-side checks servers do not do for us.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Sampling parameters, all sent explicitly: vLLM otherwise applies the
/// model's `generation_config` defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sampling {
    /// `temperature`.
    pub temperature: f64,
    /// `top_p`.
    pub top_p: f64,
    /// `top_k` (`None`: not sent, for APIs that reject it).
    pub top_k: Option<u32>,
    /// `seed`; a malformed answer is retried with `seed + attempt`.
    pub seed: u64,
    /// Upper bound of `max_tokens`.
    pub max_tokens_cap: u32,
}

impl Default for Sampling {
    /// The settings recommended for the paper's teacher
    /// (Qwen3-30B-A3B-Instruct-2507): temperature 0.7, top-p 0.8, top-k 20.
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_p: 0.8,
            top_k: Some(20),
            seed: 0,
            max_tokens_cap: 4096,
        }
    }
}

/// Fields regime sets itself; `--extra-body` may not override them.
const MANAGED: [&str; 10] = [
    "model",
    "messages",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "max_tokens",
    "max_completion_tokens",
    "stream",
    "n",
];

/// Request fields `--extra-body` may set: OpenAI's chat-completion fields
/// and the sampling extensions of vLLM, SGLang and llama.cpp. vLLM ignores
/// unknown fields silently, so a typo would change nothing without a word:
/// names outside this list are rejected.
const KNOWN_EXTRA: [&str; 44] = [
    "add_generation_prompt",
    "chat_template",
    "chat_template_kwargs",
    "continue_final_message",
    "documents",
    "dry_allowed_length",
    "dry_base",
    "dry_multiplier",
    "dry_penalty_last_n",
    "frequency_penalty",
    "guided_choice",
    "guided_grammar",
    "guided_json",
    "guided_regex",
    "ignore_eos",
    "include_stop_str_in_output",
    "length_penalty",
    "logit_bias",
    "logprobs",
    "metadata",
    "min_p",
    "min_tokens",
    "mirostat",
    "mirostat_eta",
    "mirostat_tau",
    "presence_penalty",
    "priority",
    "reasoning_effort",
    "regex",
    "repeat_last_n",
    "repeat_penalty",
    "repetition_penalty",
    "response_format",
    "service_tier",
    "skip_special_tokens",
    "spaces_between_special_tokens",
    "stop",
    "stop_token_ids",
    "structured_outputs",
    "top_logprobs",
    "truncate_prompt_tokens",
    "typical_p",
    "user",
    "xtc_probability",
];

/// Checks `--extra-body`: a JSON object whose keys are known request fields
/// that regime does not set itself.
///
/// # Errors
/// [`Error::ExtraBody`] naming the first offending key.
pub fn validate_extra_body(value: &Value) -> Result<Map<String, Value>> {
    let Value::Object(map) = value else {
        return Err(Error::ExtraBody("must be a JSON object".into()));
    };
    for key in map.keys() {
        if MANAGED.contains(&key.as_str()) {
            return Err(Error::ExtraBody(format!(
                "`{key}` is set by regime; use its own option (e.g. --temperature, --seed, --max-tokens)"
            )));
        }
        if !KNOWN_EXTRA.contains(&key.as_str()) {
            return Err(Error::ExtraBody(format!(
                "unknown request field `{key}` (servers such as vLLM ignore unknown fields silently; known: {})",
                KNOWN_EXTRA.join(", ")
            )));
        }
    }
    Ok(map.clone())
}

/// A rough token count of `text` for budgets: one token per Han, kana or
/// Hangul character, one per four bytes of everything else (rounded up).
#[must_use]
pub fn estimate_tokens(text: &str) -> u64 {
    let (mut cjk, mut other_bytes) = (0u64, 0u64);
    for c in text.chars() {
        if c as u32 >= 0x2E80 && c.is_alphabetic() {
            cjk += 1;
        } else {
            other_bytes += c.len_utf8() as u64;
        }
    }
    cjk + other_bytes.div_ceil(4)
}

/// `max_tokens` for rewriting `text`: twice its token estimate plus 64
/// (room for the tags and a little growth), at most `cap`.
#[must_use]
pub fn max_tokens_for(text: &str, cap: u32) -> u32 {
    let wanted = estimate_tokens(text).saturating_mul(2).saturating_add(64);
    u32::try_from(wanted).unwrap_or(u32::MAX).min(cap)
}

/// The cache key of a request: xxh3-128 of its canonical JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 16]);

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The final JSON body of one request, serialised once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestBody {
    json: String,
    key: CacheKey,
    prompt_tokens_estimate: u64,
    max_tokens: u32,
}

impl RequestBody {
    /// The chat-completion body for `prompt`: the model, one user message,
    /// every sampling parameter, `max_tokens` and `max_completion_tokens`
    /// (older servers know only the first), `stream: false`, then `extra`.
    #[must_use]
    pub fn new(
        model: &str,
        prompt: &str,
        sampling: &Sampling,
        seed: u64,
        max_tokens: u32,
        extra: &Map<String, Value>,
    ) -> Self {
        let mut body = Map::new();
        body.insert("model".into(), model.into());
        body.insert(
            "messages".into(),
            serde_json::json!([{"role": "user", "content": prompt}]),
        );
        body.insert("temperature".into(), sampling.temperature.into());
        body.insert("top_p".into(), sampling.top_p.into());
        if let Some(k) = sampling.top_k {
            body.insert("top_k".into(), k.into());
        }
        body.insert("seed".into(), seed.into());
        body.insert("max_tokens".into(), max_tokens.into());
        body.insert("max_completion_tokens".into(), max_tokens.into());
        body.insert("stream".into(), false.into());
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
        Self::from_value(&Value::Object(body), estimate_tokens(prompt), max_tokens)
    }

    /// A body given as JSON (a batch file's), keyed the same way.
    #[must_use]
    pub fn from_value(value: &Value, prompt_tokens_estimate: u64, max_tokens: u32) -> Self {
        let json = canonical_json(value);
        let key = CacheKey(xxhash_rust::xxh3::xxh3_128(json.as_bytes()).to_be_bytes());
        Self {
            json,
            key,
            prompt_tokens_estimate,
            max_tokens,
        }
    }

    /// The canonical JSON text (sorted keys, no spaces): what is sent and
    /// what the key hashes.
    #[must_use]
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The cache key.
    #[must_use]
    pub const fn key(&self) -> CacheKey {
        self.key
    }

    /// Estimated prompt tokens plus `max_tokens`: what a tokens-per-minute
    /// budget must admit before sending.
    #[must_use]
    pub const fn token_budget(&self) -> u64 {
        self.prompt_tokens_estimate + self.max_tokens as u64
    }

    /// The prompt's token estimate.
    #[must_use]
    pub const fn prompt_tokens_estimate(&self) -> u64 {
        self.prompt_tokens_estimate
    }
}

/// `value` as compact JSON with object keys sorted at every level, so equal
/// requests hash equally whatever order their fields were built in.
#[must_use]
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "s"}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#
        );
    }

    #[test]
    fn body_has_every_parameter_and_a_stable_key() {
        let sampling = Sampling::default();
        let body = RequestBody::new("m", "hi", &sampling, 7, 80, &Map::new());
        let v: Value = serde_json::from_str(body.json()).unwrap();
        assert_eq!(v["model"], "m");
        assert_eq!(v["messages"][0]["content"], "hi");
        assert_eq!(v["messages"][0]["role"], "user");
        assert_eq!(v["temperature"], 0.7);
        assert_eq!(v["top_p"], 0.8);
        assert_eq!(v["top_k"], 20);
        assert_eq!(v["seed"], 7);
        assert_eq!(v["max_tokens"], 80);
        assert_eq!(v["max_completion_tokens"], 80);
        assert_eq!(v["stream"], false);
        let again = RequestBody::new("m", "hi", &sampling, 7, 80, &Map::new());
        assert_eq!(body.key(), again.key());
        assert_eq!(body.key().to_string().len(), 32);
        let other_seed = RequestBody::new("m", "hi", &sampling, 8, 80, &Map::new());
        assert_ne!(body.key(), other_seed.key());
        // The key of the same body parsed back equals the built one.
        assert_eq!(RequestBody::from_value(&v, 0, 0).key(), body.key());
        // No top_k when not set.
        let no_k = Sampling {
            top_k: None,
            ..Sampling::default()
        };
        let v: Value =
            serde_json::from_str(RequestBody::new("m", "hi", &no_k, 7, 80, &Map::new()).json())
                .unwrap();
        assert!(v.get("top_k").is_none());
    }

    #[test]
    fn extra_body_is_validated() {
        let ok = validate_extra_body(&json!({"chat_template_kwargs": {"enable_thinking": false}}))
            .unwrap();
        let body = RequestBody::new("m", "p", &Sampling::default(), 0, 10, &ok);
        assert!(
            body.json()
                .contains(r#""chat_template_kwargs":{"enable_thinking":false}"#)
        );
        let err = validate_extra_body(&json!({"temprature": 0.1})).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown request field `temprature`")
        );
        let err = validate_extra_body(&json!({"seed": 1})).unwrap_err();
        assert!(err.to_string().contains("`seed` is set by regime"));
        assert!(validate_extra_body(&json!([1])).is_err());
    }

    #[test]
    fn token_estimates_and_max_tokens() {
        // 8 ASCII bytes → 2; 3 Han → 3.
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("abcdefghi"), 3);
        assert_eq!(estimate_tokens("中文字"), 3);
        assert_eq!(max_tokens_for("abcdefgh", 4096), 2 * 2 + 64);
        assert_eq!(max_tokens_for("abcdefgh", 50), 50);
        assert_eq!(
            RequestBody::new("m", "abcdefgh", &Sampling::default(), 0, 68, &Map::new())
                .token_budget(),
            2 + 68
        );
    }
}
