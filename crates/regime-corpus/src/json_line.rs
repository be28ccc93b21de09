//! Byte-level repairs to one JSON line before a parser sees it, and the
//! reader that applies them (with the rewriting of mixed-type fields) to
//! every line arrow decodes. Neither repair changes the text a string
//! holds, nor the number of lines.
//!
//! - [`escape_raw_controls`]: control characters written raw inside
//!   strings (a tab, a form feed) are not valid JSON; arrow's decoder reads
//!   them, `serde_json` (and arrow's schema inference, built on it) does
//!   not. Escaping them reads every such line the same way everywhere.
//! - [`decode_astral_escapes`]: arrow-json 60.1 decodes the escape pair of
//!   a character at or above U+20000 wrongly (`char_from_surrogate_pair`
//!   ORs in 0x10000 where it must add it, so `\ud86e\ude4f`, U+2BA4F,
//!   becomes U+1BA4F). Python's `json.dumps` escapes every non-ASCII
//!   character by default, so CJK corpora hold such pairs (extension B
//!   and later Han characters). They are written as UTF-8 instead.

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use crate::json_mixed::MixedFields;

/// A JSON Lines reader with each line's raw control characters escaped
/// ([`escape_raw_controls`]: arrow's schema inference, built on
/// `serde_json`, stops at them where its decoder would not), its astral
/// escapes decoded ([`decode_astral_escapes`]) and its mixed-type fields
/// read as one type ([`MixedFields::rewrite_line`]); lines keep their
/// numbers.
pub(crate) struct JsonLines<R> {
    inner: R,
    mixed: MixedFields,
    line: Vec<u8>,
    out: Vec<u8>,
    at: usize,
}

impl<R: BufRead> JsonLines<R> {
    pub(crate) fn new(inner: R, mixed: MixedFields) -> Self {
        JsonLines {
            inner,
            mixed,
            line: Vec::new(),
            out: Vec::new(),
            at: 0,
        }
    }
}

impl<R: BufRead> Read for JsonLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.out.len() {
            self.line.clear();
            self.out.clear();
            self.at = 0;
            if read_line(&mut self.inner, &mut self.line)? == 0 {
                return Ok(0);
            }
            let strict = escape_raw_controls(&self.line);
            let line = decode_astral_escapes(&strict);
            self.mixed.rewrite_line(&line, &mut self.out);
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// `BufRead::read_until(b'\n', line)`, with `memchr`'s vector search for
/// the newline (the standard library's is several times slower on long
/// lines).
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<usize> {
    let mut read = 0;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(read);
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(at) => (at + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        read += take;
        if done {
            return Ok(read);
        }
    }
}

/// `line` with every control character inside a string written as a
/// `\u00XX` escape (borrowed when there is none).
pub(crate) fn escape_raw_controls(line: &[u8]) -> Cow<'_, [u8]> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    // Chunked without an early exit so that it compiles to vector code:
    // this runs on every line the `serde_json` passes read.
    let has_control = body
        .chunks(64)
        .any(|chunk| chunk.iter().fold(0u8, |any, &b| any | u8::from(b < 0x20)) != 0);
    if !has_control {
        return Cow::Borrowed(line);
    }
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    for (at, &b) in body.iter().enumerate() {
        if in_string && !escaped && b < 0x20 {
            let out = out.get_or_insert_with(|| {
                let mut out = Vec::with_capacity(line.len() + 16);
                out.extend_from_slice(&body[..at]);
                out
            });
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            continue;
        }
        if let Some(out) = &mut out {
            out.push(b);
        }
        if escaped {
            escaped = false;
        } else if in_string && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_string = !in_string;
        }
    }
    match out {
        Some(mut out) => {
            out.extend_from_slice(&line[body.len()..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(line),
    }
}

/// `line` with every `\uD840`–`\uDBFF` `\uDC00`–`\uDFFF` escape pair (a
/// character at or above U+20000) written as the character's UTF-8
/// (borrowed when there is none).
pub(crate) fn decode_astral_escapes(line: &[u8]) -> Cow<'_, [u8]> {
    // Most lines hold no high surrogate escape at all: two SIMD searches
    // tell (escapes are `\ud8..` to `\udb..`, hex in either case).
    if memchr::memmem::find(line, br"\ud").is_none()
        && memchr::memmem::find(line, br"\uD").is_none()
    {
        return Cow::Borrowed(line);
    }
    let mut out: Option<Vec<u8>> = None;
    // Bytes of `line` before `copied` are in `out` (when it exists).
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'\\', &line[at..]) {
        let escape = at + found;
        match astral_pair(&line[escape..]) {
            Some(c) => {
                let out = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
                out.extend_from_slice(&line[copied..escape]);
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                at = escape + 12;
                copied = at;
            }
            // Past the escaped character: `\\` is one escape, not two.
            None => at = escape + 2,
        }
        if at >= line.len() {
            break;
        }
    }
    match out {
        Some(mut out) => {
            out.extend_from_slice(&line[copied.min(line.len())..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(line),
    }
}

/// The character of the escape pair `escape` opens with, when it is one
/// arrow decodes wrongly.
fn astral_pair(escape: &[u8]) -> Option<char> {
    let hex = |from: usize| -> Option<u32> {
        let digits = std::str::from_utf8(escape.get(from..from + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    if escape.get(..2)? != b"\\u" || escape.get(6..8)? != b"\\u" {
        return None;
    }
    let (high, low) = (hex(2)?, hex(8)?);
    if !(0xD840..=0xDBFF).contains(&high) || !(0xDC00..=0xDFFF).contains(&low) {
        return None;
    }
    char::from_u32(0x1_0000 + ((high - 0xD800) << 10) + (low - 0xDC00))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonl_order::scan_lines;

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn controls_inside_strings_are_escaped_and_whitespace_is_kept() {
        let line = b"{\"a\":\t\"x\ty\x0c\",\r\n \"b\\\"\x01\": 1}\n";
        let fixed = escape_raw_controls(line);
        assert_eq!(
            text(&fixed),
            "{\"a\":\t\"x\\u0009y\\u000c\",\r\n \"b\\\"\\u0001\": 1}\n"
        );
        let parsed: serde_json::Value =
            serde_json::from_slice(&fixed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed["a"], "x\ty\u{c}");
        for clean in [&b"{\"a\": \"x\"}\n"[..], b"{\"a\":\t1}"] {
            assert!(matches!(escape_raw_controls(clean), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn astral_escape_pairs_become_utf8() {
        // U+2BA4F (arrow reads U+1BA4F), U+20000, then an emoji (which
        // arrow reads right, left as it is) and an escaped backslash
        // before `u` (not an escape of a character).
        let line = br#"{"a": "\ud86e\ude4f x \uD840\uDC00 \ud83d\ude00 \\ud86e"}"#;
        let fixed = decode_astral_escapes(line);
        assert_eq!(
            text(&fixed),
            "{\"a\": \"\u{2BA4F} x \u{20000} \\ud83d\\ude00 \\\\ud86e\"}"
        );
        let parsed: serde_json::Value =
            serde_json::from_slice(&fixed).unwrap_or_else(|e| panic!("{e}"));
        let original: serde_json::Value =
            serde_json::from_slice(line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, original);
        for clean in [
            &br#"{"a": "\u00e9 \ud83d\ude00 \"q\""}"#[..],
            br#"{"a": "\"#,
        ] {
            assert!(matches!(decode_astral_escapes(clean), Cow::Borrowed(_)));
        }
        // A lone high surrogate is left to the decoder.
        assert!(matches!(
            decode_astral_escapes(br#"{"a": "\ud86e"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn reading_through_keeps_line_numbers_and_blank_lines() {
        let first =
            r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}"#;
        let second = r#"{"messages": [{"role": "user", "content": "Hi \ud86e\ude4f"}]}"#;
        let mixed = MixedFields::find(&scan_lines(&[first, second]));
        let input = format!("{first}\n\n{second}\n{{bad");
        let mut read = String::new();
        JsonLines::new(input.as_bytes(), mixed)
            .read_to_string(&mut read)
            .unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = read.split('\n').collect();
        assert_eq!(lines.len(), 4, "{read}");
        assert_eq!(lines[0], first);
        assert_eq!(lines[1], "");
        assert!(
            lines[2].contains("[{\"type\":\"text\",\"text\":\"Hi \u{2BA4F}\"}]"),
            "{read}"
        );
        assert_eq!(lines[3], "{bad");
    }
}
