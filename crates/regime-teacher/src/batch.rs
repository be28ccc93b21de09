//! OpenAI batch files: requests out (`--export-batch`), responses in
//! (`--import-batch`), so the same job can run through `vllm run-batch` or a
//! hosted batch API without a server.

use serde_json::Value;

use crate::cache::CachedAnswer;
use crate::request::CacheKey;
use crate::response::{completion_from_value, error_message};

/// The endpoint every batch line targets.
pub const ENDPOINT: &str = "/v1/chat/completions";

/// Separates a `custom_id`'s label (row id and field) from the request key.
pub const KEY_SEPARATOR: char = '#';

/// The `custom_id` of a request: `label#key`, the label naming the row and
/// field for people, the key (all 32 hex digits of the [`CacheKey`]) naming
/// the request for [`custom_id_key`]. With the key in the id, an answer can
/// only ever be filed under the request it answers: a label alone is reused
/// by every export of the same rows with other options.
#[must_use]
pub fn custom_id(label: &str, key: CacheKey) -> String {
    format!("{label}{KEY_SEPARATOR}{key}")
}

/// The request key a [`custom_id`] carries; `None` for an id without one
/// (written by an older regime, or by hand).
#[must_use]
pub fn custom_id_key(custom_id: &str) -> Option<CacheKey> {
    let (_, hex) = custom_id.rsplit_once(KEY_SEPARATOR)?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut key = [0u8; 16];
    for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        // Two ASCII hex digits, checked above.
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(CacheKey(key))
}

/// One request line: `{"custom_id", "method": "POST", "url", "body"}`.
///
/// # Errors
/// When `body_json` is not JSON (a [`crate::RequestBody`]'s always is).
pub fn request_line(custom_id: &str, body_json: &str) -> Result<String, serde_json::Error> {
    let body: Value = serde_json::from_str(body_json)?;
    let line = serde_json::json!({
        "custom_id": custom_id,
        "method": "POST",
        "url": ENDPOINT,
        "body": body,
    });
    Ok(line.to_string())
}

/// One parsed response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseLine {
    /// The request it answers.
    pub custom_id: String,
    /// The answer, or `None` when the line reports a failure worth
    /// retrying (5xx, expired): the run will send that request itself.
    pub answer: Option<CachedAnswer>,
}

/// Parses one line of a batch output file (OpenAI's and `vllm run-batch`'s:
/// `{"custom_id", "response": {"status_code", "body"}, "error"}`).
///
/// # Errors
/// A one-line description of what is missing or malformed.
pub fn parse_response_line(line: &str) -> Result<ResponseLine, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let custom_id = value
        .get("custom_id")
        .and_then(Value::as_str)
        .ok_or("no `custom_id`")?
        .to_owned();
    let response = value.get("response").filter(|r| !r.is_null());
    let Some(response) = response else {
        // `error` set and no response: expired or failed before running.
        return Ok(ResponseLine {
            custom_id,
            answer: None,
        });
    };
    let status = response
        .get("status_code")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("no `response.status_code`")?;
    let body = response.get("body").ok_or("no `response.body`")?;
    let answer = match status {
        200..=299 => Some(CachedAnswer::Completed(completion_from_value(body)?)),
        400 | 413 | 422 => Some(CachedAnswer::Rejected {
            status,
            message: error_message(body.to_string().as_bytes()),
        }),
        _ => None,
    };
    Ok(ResponseLine { custom_id, answer })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{Completion, Usage};

    #[test]
    fn request_lines_follow_the_batch_format() {
        let line = request_line("r1/user/0", r#"{"model":"m","messages":[]}"#).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["custom_id"], "r1/user/0");
        assert_eq!(v["method"], "POST");
        assert_eq!(v["url"], "/v1/chat/completions");
        assert_eq!(v["body"]["model"], "m");
    }

    #[test]
    fn custom_ids_carry_their_key() {
        let key = CacheKey([0xab; 16]);
        let id = custom_id("0:3/conversations[1]", key);
        assert_eq!(id, format!("0:3/conversations[1]#{}", "ab".repeat(16)));
        assert_eq!(custom_id_key(&id), Some(key));
        // Old ids (no key) and damaged keys carry none.
        for old in [
            "0:3/conversations[1]",
            "a#",
            "a#xyz",
            &format!("a#{}", "ab".repeat(15)),
            &format!("a#{}g", "ab".repeat(15)),
        ] {
            assert_eq!(custom_id_key(old), None, "{old}");
        }
    }

    #[test]
    fn response_lines() {
        let ok = r#"{"id":"b1","custom_id":"a","response":{"status_code":200,"request_id":"q","body":{"choices":[{"message":{"content":"<output>x</output>"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":3}}},"error":null}"#;
        assert_eq!(
            parse_response_line(ok).unwrap(),
            ResponseLine {
                custom_id: "a".into(),
                answer: Some(CachedAnswer::Completed(Completion {
                    content: "<output>x</output>".into(),
                    finish_reason: Some("stop".into()),
                    usage: Usage {
                        prompt_tokens: 2,
                        completion_tokens: 3
                    }
                }))
            }
        );
        let bad = r#"{"custom_id":"b","response":{"status_code":400,"body":{"error":{"message":"too long"}}}}"#;
        assert_eq!(
            parse_response_line(bad).unwrap().answer,
            Some(CachedAnswer::Rejected {
                status: 400,
                message: "too long".into()
            })
        );
        let expired =
            r#"{"custom_id":"c","response":null,"error":{"code":"batch_expired","message":"x"}}"#;
        assert_eq!(parse_response_line(expired).unwrap().answer, None);
        let server = r#"{"custom_id":"d","response":{"status_code":500,"body":{}}}"#;
        assert_eq!(parse_response_line(server).unwrap().answer, None);
        assert_eq!(parse_response_line("{}").unwrap_err(), "no `custom_id`");
        assert!(
            parse_response_line("{")
                .unwrap_err()
                .starts_with("not JSON")
        );
    }
}
