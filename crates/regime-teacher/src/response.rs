//! The response: the completion's text and usage, the rewrite between the
//! `<output>` tags, malformed answers, and servers' error bodies.

use serde_json::Value;

/// Token counts reported by the server (`usage`), 0 when it sends none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// `usage.prompt_tokens`.
    pub prompt_tokens: u64,
    /// `usage.completion_tokens`.
    pub completion_tokens: u64,
}

impl Usage {
    /// Adds `other` to `self`.
    pub const fn add(&mut self, other: Self) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// What the client takes from a chat completion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Completion {
    /// `choices[0].message.content` (`""` when null).
    pub content: String,
    /// `choices[0].finish_reason`, an open set (`stop`, `length`, …).
    pub finish_reason: Option<String>,
    /// `usage`.
    pub usage: Usage,
}

/// Parses a chat-completion response body.
///
/// # Errors
/// A one-line description when the body is not JSON (a truncated answer)
/// or has no `choices[0].message`.
pub fn parse_completion(body: &[u8]) -> Result<Completion, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("response is not valid JSON: {e}"))?;
    completion_from_value(&value)
}

/// [`parse_completion`] of an already parsed body (batch files).
///
/// # Errors
/// As [`parse_completion`].
pub(crate) fn completion_from_value(value: &Value) -> Result<Completion, String> {
    let choice = value
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or("response has no choices[0]")?;
    let message = choice
        .get("message")
        .ok_or("response has no choices[0].message")?;
    let content = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => return Err(format!("choices[0].message.content is not text: {other}")),
    };
    let finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let count = |name: &str| {
        value
            .get("usage")
            .and_then(|u| u.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok(Completion {
        content,
        finish_reason,
        usage: Usage {
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
        },
    })
}

/// The rewrite inside `content`: the text between the first `<output>` and
/// the last `</output>`, with one newline (or one space, as the template's
/// own `<output> your output </output>` invites) trimmed on each side.
/// `None` when the tags are missing or out of order.
#[must_use]
pub fn extract_output(content: &str) -> Option<&str> {
    const OPEN: &str = "<output>";
    const CLOSE: &str = "</output>";
    let start = content.find(OPEN)? + OPEN.len();
    let end = content.rfind(CLOSE)?;
    if end < start {
        return None;
    }
    let mut inner = &content[start..end];
    inner = inner
        .strip_prefix("\r\n")
        .or_else(|| inner.strip_prefix(['\n', ' ']))
        .unwrap_or(inner);
    inner = inner
        .strip_suffix("\r\n")
        .or_else(|| inner.strip_suffix(['\n', ' ']))
        .unwrap_or(inner);
    Some(inner)
}

/// Why an answer cannot be used as a rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Malformed {
    /// `finish_reason == "length"`: cut off at `max_tokens`.
    Length,
    /// No `<output>…</output>`.
    NoTags,
    /// The tags hold only whitespace.
    Empty,
    /// Longer than `max_growth` × the input.
    TooLong,
    /// Drops, adds or reorders a protected token of the input (`<image>`,
    /// `<|…|>` specials); the caller that protects tokens checks this.
    LostProtected,
}

impl Malformed {
    /// The cause as written in reports and `regime_rewrite_status`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::NoTags => "no-tags",
            Self::Empty => "empty",
            Self::TooLong => "too-long",
            Self::LostProtected => "lost-protected",
        }
    }
}

/// Inputs this short may grow to this many characters whatever the growth
/// factor: "Hi?" legitimately becomes "Hello, how are you?".
const GROWTH_FLOOR_CHARS: usize = 32;

/// The rewrite in `completion`, or why it is malformed. A rewrite may be up
/// to `max_growth` × the input's characters long (at least 32 characters).
///
/// # Errors
/// The [`Malformed`] cause.
pub fn judge(completion: &Completion, input: &str, max_growth: f64) -> Result<String, Malformed> {
    if completion.finish_reason.as_deref() == Some("length") {
        return Err(Malformed::Length);
    }
    let rewrite = extract_output(&completion.content).ok_or(Malformed::NoTags)?;
    if rewrite.trim().is_empty() {
        return Err(Malformed::Empty);
    }
    let input_chars = input.chars().count();
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "character counts below 2^52; the bound is non-negative"
    )]
    let limit = ((input_chars as f64 * max_growth).ceil() as usize).max(GROWTH_FLOOR_CHARS);
    if rewrite.chars().count() > limit {
        return Err(Malformed::TooLong);
    }
    Ok(rewrite.to_owned())
}

/// Longest error message kept, in characters (whitespace runs counted as
/// one), whether the server's JSON gave it or the body is not JSON (an HTML
/// page from a proxy, say): it is printed as one line and stored with every
/// field it fails.
const MAX_MESSAGE: usize = 200;

/// `text` on one line (whitespace runs collapsed to a space), cut to
/// [`MAX_MESSAGE`] characters with `…` when longer.
fn one_line(text: &str) -> String {
    let mut out = String::new();
    let mut kept = 0;
    for word in text.split_whitespace() {
        if kept > 0 {
            if kept == MAX_MESSAGE {
                out.push('…');
                return out;
            }
            out.push(' ');
            kept += 1;
        }
        for c in word.chars() {
            if kept == MAX_MESSAGE {
                out.push('…');
                return out;
            }
            out.push(c);
            kept += 1;
        }
    }
    out
}

/// The message in an error response body, on one line: nested
/// `{"error": {"message": …}}` (OpenAI, vLLM ≥ 0.10.1, llama.cpp), flat
/// `{"object": "error", "message": …}` (SGLang, older vLLM), a bare
/// `{"error": "Unauthorized"}`, `FastAPI`'s `{"detail": …}`, or the start of
/// a non-JSON body.
#[must_use]
pub fn error_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        match v.get("error") {
            Some(Value::Object(e)) => e.get("message").and_then(text),
            Some(other) => text(other),
            None => v.get("message").or_else(|| v.get("detail")).and_then(text),
        }
    });
    let message = match from_json {
        Some(message) => one_line(&message),
        None => one_line(&String::from_utf8_lossy(body)),
    };
    if message.is_empty() {
        "(empty body)".to_owned()
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(content: &str, finish: Option<&str>) -> Completion {
        Completion {
            content: content.into(),
            finish_reason: finish.map(str::to_owned),
            usage: Usage::default(),
        }
    }

    #[test]
    fn parses_a_chat_completion() {
        let body = br#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"<output>hi</output>"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#;
        let c = parse_completion(body).unwrap();
        assert_eq!(c.content, "<output>hi</output>");
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            c.usage,
            Usage {
                prompt_tokens: 12,
                completion_tokens: 5
            }
        );
        // Null content, an unknown finish reason and no usage are accepted.
        let c = parse_completion(
            br#"{"choices":[{"message":{"content":null},"finish_reason":"eos_token"}]}"#,
        )
        .unwrap();
        assert_eq!(c.content, "");
        assert_eq!(c.finish_reason.as_deref(), Some("eos_token"));
        assert_eq!(c.usage, Usage::default());
    }

    #[test]
    fn truncated_or_odd_bodies_are_errors() {
        assert!(
            parse_completion(br#"{"choices":[{"message":{"content":"<out"#)
                .unwrap_err()
                .starts_with("response is not valid JSON")
        );
        assert_eq!(
            parse_completion(br#"{"choices":[]}"#).unwrap_err(),
            "response has no choices[0]"
        );
        assert!(parse_completion(br#"{"choices":[{"message":{"content":3}}]}"#).is_err());
    }

    #[test]
    fn output_between_first_open_and_last_close() {
        assert_eq!(extract_output("<output>a</output>"), Some("a"));
        assert_eq!(extract_output("x <output>\na\n</output> y"), Some("a"));
        assert_eq!(extract_output("<output> a b </output>"), Some("a b"));
        // Only one newline is trimmed on each side.
        assert_eq!(extract_output("<output>\n\na\n\n</output>"), Some("\na\n"));
        assert_eq!(extract_output("<output>\r\na\r\n</output>"), Some("a"));
        // First open, last close: inner tags stay.
        assert_eq!(
            extract_output("<output>a</output> and <output>b</output>"),
            Some("a</output> and <output>b")
        );
        assert_eq!(extract_output("no tags"), None);
        assert_eq!(extract_output("<output>open only"), None);
        assert_eq!(extract_output("</output> <output>"), None);
    }

    #[test]
    fn malformed_causes() {
        let input = "What colour is the shape?";
        assert_eq!(
            judge(
                &completion("<output>Which colour?</output>", Some("stop")),
                input,
                3.0
            ),
            Ok("Which colour?".to_owned())
        );
        assert_eq!(
            judge(&completion("<output>cut", Some("length")), input, 3.0),
            Err(Malformed::Length)
        );
        // Length wins even when the tags are complete.
        assert_eq!(
            judge(
                &completion("<output>a</output>", Some("length")),
                input,
                3.0
            ),
            Err(Malformed::Length)
        );
        assert_eq!(
            judge(&completion("Which colour?", Some("stop")), input, 3.0),
            Err(Malformed::NoTags)
        );
        assert_eq!(
            judge(&completion("<output> \n </output>", None), input, 3.0),
            Err(Malformed::Empty)
        );
        // 25 chars × 2 = 50 allowed; 51 is too long.
        let long = format!("<output>{}</output>", "x".repeat(51));
        assert_eq!(
            judge(&completion(&long, None), input, 2.0),
            Err(Malformed::TooLong)
        );
        let fits = format!("<output>{}</output>", "x".repeat(50));
        assert!(judge(&completion(&fits, None), input, 2.0).is_ok());
        // Short inputs may grow to 32 characters.
        let short = format!("<output>{}</output>", "x".repeat(32));
        assert!(judge(&completion(&short, None), "Hi?", 2.0).is_ok());
    }

    #[test]
    fn error_bodies_in_every_shape() {
        assert_eq!(
            error_message(br#"{"error":{"message":"model `x` does not exist","type":"NotFoundError","code":404}}"#),
            "model `x` does not exist"
        );
        assert_eq!(
            error_message(br#"{"object":"error","message":"This model's maximum context length is 4096 tokens","type":"BadRequestError","code":400}"#),
            "This model's maximum context length is 4096 tokens"
        );
        assert_eq!(
            error_message(br#"{"error":"Unauthorized"}"#),
            "Unauthorized"
        );
        assert_eq!(error_message(br#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(
            error_message(b"<html>\n<body>502 Bad   Gateway</body>\n</html>"),
            "<html> <body>502 Bad Gateway</body> </html>"
        );
        assert_eq!(error_message(b""), "(empty body)");
        let long = "x".repeat(500);
        assert_eq!(
            error_message(long.as_bytes()),
            format!("{}…", "x".repeat(200))
        );
    }

    #[test]
    fn json_messages_are_cut_like_plain_bodies() {
        let body = serde_json::json!({"error": {"message": "y ".repeat(50_000)}}).to_string();
        let message = error_message(body.as_bytes());
        assert_eq!(message.chars().count(), MAX_MESSAGE + 1, "{message}");
        assert!(message.ends_with('…'));
        let flat = serde_json::json!({"object": "error", "message": "z".repeat(300)}).to_string();
        assert_eq!(
            error_message(flat.as_bytes()),
            format!("{}…", "z".repeat(200))
        );
        // Exactly at the limit: nothing cut, no ellipsis.
        let exact = "w".repeat(MAX_MESSAGE);
        assert_eq!(error_message(exact.as_bytes()), exact);
    }
}
