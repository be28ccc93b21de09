//! JSON fields that hold a string in some records and a list of message
//! parts in others.
//!
//! OpenAI's chat fine-tuning format (and the vision variant of it) writes a
//! message's `content` as a string, or, where the message carries an
//! image, as a list of parts: `[{"type": "text", "text": …},
//! {"type": "image_url", "image_url": {"url": …}}]`. Arrow gives a column
//! one type, and schema inference stops at the mix (pyarrow's too). regime
//! reads such a field as parts: a string `s` becomes the one text part
//! `[{"type": "text", "text": s}]`, which chat templates that take parts
//! render as `s`. Outputs then hold the parts form for every message.
//!
//! A field is read this way when the records scanned for the schema hold
//! it both as a string and as a list of objects, and the objects hold their
//! text as a string under `text` (or, where none scanned has text, name
//! their kind under `type`; the `type` key is written only where the parts
//! have one). Other mixes are left to inference, which names the first line
//! that conflicts.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, Read};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::jsonl_order::{KeyOrder, Kinds};

/// The key a part holds its text under.
const TEXT_KEY: &str = "text";
/// The key naming a part's kind.
const TYPE_KEY: &str = "type";

/// Where strings are read as one text part: a tree of object keys (arrays
/// are looked through, as their elements share their key's fields).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TextParts {
    children: Vec<(String, TextParts)>,
    /// This key's strings become parts, written in this shape.
    wrap: Option<PartShape>,
    /// This key holds arrays (its children are its elements' keys).
    array: bool,
}

/// How the parts of one field are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PartShape {
    typed: bool,
}

impl TextParts {
    /// The fields of `order` (the first records' keys and kinds) that hold
    /// both strings and lists of text parts.
    pub(crate) fn find(order: &KeyOrder) -> Self {
        let children = order
            .children()
            .map(|(key, child)| (key.to_owned(), Self::at(child)))
            .filter(|(_, parts)| !parts.is_empty())
            .collect();
        TextParts {
            children,
            wrap: None,
            array: false,
        }
    }

    fn at(order: &KeyOrder) -> Self {
        let mut parts = Self::find(order);
        parts.wrap = part_shape(order);
        parts.array = order.kinds().values().contains(Kinds::ARRAY);
        parts
    }

    /// No field to rewrite.
    pub(crate) fn is_empty(&self) -> bool {
        self.children.is_empty() && self.wrap.is_none()
    }

    /// The fields read as parts, as `messages[].content` (`[]` where the
    /// path goes through an array's elements).
    pub(crate) fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths("", &mut out);
        out
    }

    fn collect_paths(&self, prefix: &str, out: &mut Vec<String>) {
        for (key, parts) in &self.children {
            let path = format!("{prefix}{key}");
            if parts.wrap.is_some() {
                out.push(path.clone());
            }
            let through = if parts.array { "[]." } else { "." };
            parts.collect_paths(&format!("{path}{through}"), out);
        }
    }

    /// One JSON line with the strings of every field read as parts
    /// wrapped, appended to `out`. Only the fields on the way to those are
    /// parsed and written again (without the whitespace between their
    /// tokens); everything else is copied as stored, strings wrapped
    /// included. A line with nothing to wrap is copied whole, as is one that
    /// does not parse (the decoder then names it).
    pub(crate) fn rewrite_line(&self, line: &[u8], out: &mut Vec<u8>) {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let start = out.len();
        let mut changed = false;
        let rewritten = serde_json::from_slice::<&RawValue>(body)
            .and_then(|record| self.write(record, out, &mut changed));
        if rewritten.is_ok() && changed {
            if body.len() < line.len() {
                out.push(b'\n');
            }
        } else {
            out.truncate(start);
            out.extend_from_slice(line);
        }
    }

    /// Writes `value`, a value of this key (or an element of one), with
    /// the strings under it wrapped.
    fn write(
        &self,
        value: &RawValue,
        out: &mut Vec<u8>,
        changed: &mut bool,
    ) -> serde_json::Result<()> {
        let text = value.get();
        match (self.wrap, text.as_bytes().first()) {
            (Some(shape), Some(b'"')) => {
                out.extend_from_slice(if shape.typed {
                    br#"[{"type":"text","text":"#
                } else {
                    br#"[{"text":"#
                });
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"}]");
                *changed = true;
                Ok(())
            }
            (_, Some(b'{' | b'[')) if !self.children.is_empty() => {
                let mut de = serde_json::Deserializer::from_str(text);
                Transcode {
                    parts: self,
                    out,
                    changed,
                }
                .deserialize(&mut de)
            }
            _ => {
                out.extend_from_slice(text.as_bytes());
                Ok(())
            }
        }
    }

    fn child(&self, key: &str) -> Option<&TextParts> {
        self.children
            .iter()
            .find_map(|(name, parts)| (name == key).then_some(parts))
    }
}

/// Writes an object or array of a [`TextParts`] node again: its keys and
/// the values of keys outside the node's children as stored, its
/// children's values through [`TextParts::write`]; an array's elements are
/// values of the same node.
struct Transcode<'a> {
    parts: &'a TextParts,
    out: &'a mut Vec<u8>,
    changed: &'a mut bool,
}

impl<'de> DeserializeSeed<'de> for Transcode<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Transcode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mut first = true;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !first {
                self.out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut *self.out, &key).map_err(de::Error::custom)?;
            self.out.push(b':');
            let value: &'de RawValue = map.next_value()?;
            match self.parts.child(&key) {
                Some(child) => child
                    .write(value, self.out, self.changed)
                    .map_err(de::Error::custom)?,
                None => self.out.extend_from_slice(value.get().as_bytes()),
            }
        }
        self.out.push(b'}');
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if !first {
                self.out.push(b',');
            }
            first = false;
            self.parts
                .write(item, self.out, self.changed)
                .map_err(de::Error::custom)?;
        }
        self.out.push(b']');
        Ok(())
    }
}

/// The shape of `order`'s parts when it holds both strings and lists of
/// text parts. Other kinds beside them (a number, a list of strings) do
/// not stop it: inference then names the line that holds one, rather
/// than the first string next to a list.
fn part_shape(order: &KeyOrder) -> Option<PartShape> {
    let kinds = order.kinds();
    let holds_strings = |key| {
        order
            .child_named(key)
            .map(|child| child.kinds().contains(Kinds::STRING))
    };
    let typed = holds_strings(TYPE_KEY) == Some(true);
    // Parts hold their text as strings under `text`; where no part scanned
    // had text (an image next to a string message), a string `type` still
    // says these are message parts.
    let text_parts = match holds_strings(TEXT_KEY) {
        Some(strings) => strings,
        None => typed,
    };
    let mixed = kinds.values().contains(Kinds::STRING.with(Kinds::ARRAY))
        && kinds.elements().contains(Kinds::OBJECT)
        && text_parts;
    mixed.then_some(PartShape { typed })
}

/// A JSON Lines reader with each line passed through
/// [`TextParts::rewrite_line`]; lines keep their numbers.
pub(crate) struct PartsLines<R> {
    inner: R,
    parts: TextParts,
    line: Vec<u8>,
    out: Vec<u8>,
    at: usize,
}

impl<R: BufRead> PartsLines<R> {
    pub(crate) fn new(inner: R, parts: TextParts) -> Self {
        PartsLines {
            inner,
            parts,
            line: Vec::new(),
            out: Vec::new(),
            at: 0,
        }
    }
}

impl<R: BufRead> Read for PartsLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.out.len() {
            self.line.clear();
            self.out.clear();
            self.at = 0;
            if self.inner.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(0);
            }
            self.parts.rewrite_line(&self.line, &mut self.out);
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonl_order::scan_lines;

    fn parts_of(lines: &[&str]) -> TextParts {
        TextParts::find(&scan_lines(lines))
    }

    fn rewritten(parts: &TextParts, line: &str) -> String {
        let mut out = Vec::new();
        parts.rewrite_line(line.as_bytes(), &mut out);
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    const OPENAI: [&str; 2] = [
        r#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": "a.png"}}]}]}"#,
        r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null, "tool_calls": [{"type": "function"}]}]}"#,
    ];

    #[test]
    fn strings_among_text_parts_become_one_typed_text_part() {
        let parts = parts_of(&OPENAI);
        assert_eq!(parts.paths(), ["messages[].content"]);
        assert_eq!(
            rewritten(&parts, &format!("{}\n", OPENAI[1])),
            concat!(
                r#"{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},"#,
                r#"{"role":"assistant","content":null,"tool_calls":[{"type": "function"}]}]}"#,
                "\n"
            )
        );
        // Lists stay as they are; a line with nothing to wrap is kept byte
        // for byte, as is one that does not parse (the decoder names it).
        let untouched =
            r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}"#;
        assert_eq!(rewritten(&parts, untouched), untouched);
        assert_eq!(rewritten(&parts, "{bad\n"), "{bad\n");
    }

    #[test]
    fn parts_without_a_type_key_get_none() {
        let parts = parts_of(&[r#"{"c": "a"}"#, r#"{"c": [{"text": "b"}]}"#]);
        assert_eq!(parts.paths(), ["c"]);
        assert_eq!(
            rewritten(&parts, r#"{"c": "a\u00e9\n", "d": 1.50}"#),
            r#"{"c":[{"text":"a\u00e9\n"}],"d":1.50}"#
        );
    }

    #[test]
    fn image_only_lists_next_to_strings_are_parts_by_their_type() {
        let parts = parts_of(&[
            r#"{"messages": [{"role": "user", "content": "What is it?"}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a.png"}}]}]}"#,
        ]);
        assert_eq!(parts.paths(), ["messages[].content"]);
    }

    #[test]
    fn other_mixes_are_left_to_inference() {
        for lines in [
            // Lists of strings, of numbers; objects; numbers.
            [r#"{"c": "a"}"#, r#"{"c": ["b"]}"#],
            [r#"{"c": "a"}"#, r#"{"c": [{"text": 1}]}"#],
            [r#"{"c": "a"}"#, r#"{"c": {"text": "b"}}"#],
            [r#"{"c": 1}"#, r#"{"c": [{"text": "b"}]}"#],
            // Objects that are not parts: no `text`, no string `type`.
            [r#"{"c": "a"}"#, r#"{"c": [{"name": "b"}]}"#],
            // Never a string: nothing to wrap.
            [r#"{"c": null}"#, r#"{"c": [{"text": "b"}]}"#],
        ] {
            assert!(parts_of(&lines).is_empty(), "{lines:?}");
        }
        // Strings and parts beside a number: the strings are wrapped, so
        // that inference names the number's line.
        let parts = parts_of(&[r#"{"c": "a"}"#, r#"{"c": [{"text": "b"}]}"#, r#"{"c": 1}"#]);
        assert_eq!(parts.paths(), ["c"]);
    }

    #[test]
    fn nested_fields_and_arrays_are_looked_through() {
        let parts = parts_of(&[
            r#"{"input": {"messages": [{"content": "a"}]}, "output": [[{"content": [{"type": "text", "text": "b"}]}]]}"#,
            r#"{"input": {"messages": [{"content": [{"type": "text", "text": "c"}]}]}, "output": [[{"content": "d"}]]}"#,
        ]);
        assert_eq!(
            parts.paths(),
            ["input.messages[].content", "output[].content"]
        );
        assert_eq!(
            rewritten(
                &parts,
                r#"{"input": {"messages": [{"content": "a"}]}, "output": [[{"content": "d"}]]}"#
            ),
            concat!(
                r#"{"input":{"messages":[{"content":[{"type":"text","text":"a"}]}]},"#,
                r#""output":[[{"content":[{"type":"text","text":"d"}]}]]}"#
            )
        );
    }

    #[test]
    fn reading_through_keeps_line_numbers_and_blank_lines() {
        let parts = parts_of(&OPENAI);
        let input = format!("{}\n\n{}\n{{bad", OPENAI[0], OPENAI[1]);
        let mut read = String::new();
        PartsLines::new(input.as_bytes(), parts)
            .read_to_string(&mut read)
            .unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = read.split('\n').collect();
        assert_eq!(lines.len(), 4, "{read}");
        assert_eq!(lines[1], "");
        assert!(
            lines[2].contains(r#"[{"type":"text","text":"Hi"}]"#),
            "{read}"
        );
        assert_eq!(lines[3], "{bad");
    }
}
