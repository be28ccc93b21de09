//! JSON fields whose records disagree on their type.
//!
//! An Arrow column has one type; arrow's schema inference (pyarrow's too)
//! stops at a field that is a string in one record and a list or an object
//! in another, and its decoder at a scalar where inference chose a list.
//! Real corpora hold such fields: OpenAI's chat format writes a message's
//! `content` as a string, or, where the message carries an image, as a list
//! of parts (`[{"type": "text", "text": …}, {"type": "image_url", …}]`);
//! `tags` is `"x"` here and `["x", "y"]` there; `metadata` an object in
//! one record and `"n/a"` in the next. regime reads each such field as one
//! type, chosen from the first records (those inference reads), by
//! rewriting the lines before inference and decoding see them:
//!
//! - **strings beside lists of message parts** (objects with a string
//!   `text`, or, where none scanned has text, a string `type`): each string
//!   `s` becomes the one text part `[{"type": "text", "text": s}]` (no
//!   `type` where the parts have none), which chat templates that take
//!   parts render as `s`;
//! - **scalars beside lists of scalars**, where lists are at least as
//!   common: each scalar `v` becomes `[v]`, the list type inference
//!   already gives the field;
//! - **strings beside anything else**, where strings are the most common
//!   kind (an object or a list where text is expected): the field is text,
//!   strings as they are and every other value (nulls aside) as its JSON
//!   text, as stored.
//!
//! Any other mix (a list of turns beside a number or a string, objects
//! beside lists) has no reading that keeps what most records hold as it
//! is: it is most likely a bad record, and inference or the decoder names
//! its line.
//!
//! Outputs then hold the field in that one type. Only the objects on the
//! way to a mixed field are parsed again (`serde_json`'s [`RawValue`]);
//! everything else is copied as stored.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::json_line::escape_raw_controls;
use crate::jsonl_order::{KeyOrder, Kinds};

/// The key a message part holds its text under.
const TEXT_KEY: &str = "text";
/// The key naming a message part's kind.
const TYPE_KEY: &str = "type";

/// How a field whose records disagree on its type is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixedRead {
    /// Strings among lists of message parts: each string is one text part.
    TextPart {
        /// The parts name their kind under `type`.
        typed: bool,
    },
    /// Scalars among (at least as many) lists of scalars: each scalar is a
    /// list of one.
    OneItemList,
    /// Mostly strings, with other values: strings as they are, other
    /// values as their JSON text.
    JsonText,
}

impl MixedRead {
    /// A short name, for machine-readable output: `text_part`,
    /// `one_item_list`, `json_text`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            MixedRead::TextPart { .. } => "text_part",
            MixedRead::OneItemList => "one_item_list",
            MixedRead::JsonText => "json_text",
        }
    }
}

impl fmt::Display for MixedRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MixedRead::TextPart { .. } => "strings read as one text part",
            MixedRead::OneItemList => "scalars read as one-item lists",
            MixedRead::JsonText => "read as text, non-strings as their JSON",
        })
    }
}

/// A field read as [`MixedRead`] says, named by its path from the record
/// (`messages[].content`: `[]` where the path goes through a list's items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedField {
    /// The path.
    pub path: String,
    /// How its values are read.
    pub read: MixedRead,
}

/// The fields of a JSON input whose records disagree on their type: a tree
/// of object keys (lists are looked through: their items share their
/// key's fields).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct MixedFields {
    children: Vec<(String, MixedFields)>,
    /// How this key's values are read, when they disagree.
    read: Option<MixedRead>,
    /// This key holds lists (its children are its items' keys).
    list: bool,
}

impl MixedFields {
    /// The fields of `order` (the first records' keys and kinds) whose
    /// records disagree on their type.
    pub(crate) fn find(order: &KeyOrder) -> Self {
        let children = order
            .children()
            .map(|(key, child)| (key.to_owned(), Self::at(child)))
            .filter(|(_, mixed)| !mixed.is_empty())
            .collect();
        MixedFields {
            children,
            read: None,
            list: false,
        }
    }

    fn at(order: &KeyOrder) -> Self {
        let read = mixed_read(order);
        // A field read as text has no fields of its own; parts may (an
        // image part's fields can disagree too).
        let mut mixed = if read == Some(MixedRead::JsonText) {
            MixedFields::default()
        } else {
            Self::find(order)
        };
        mixed.read = read;
        mixed.list = order.kinds().values().contains(Kinds::ARRAY);
        mixed
    }

    /// Places the keys of the text parts strings are read as in `order`
    /// (the order these fields were found in), where the lines as rewritten
    /// would first show them.
    pub(crate) fn place_part_keys(&self, order: &mut KeyOrder) {
        for (key, mixed) in &self.children {
            let Some(child) = order.child_named_mut(key) else {
                continue;
            };
            match mixed.read {
                Some(MixedRead::TextPart { typed: true }) => {
                    child.place_part_keys(&[TYPE_KEY, TEXT_KEY]);
                }
                Some(MixedRead::TextPart { typed: false }) => child.place_part_keys(&[TEXT_KEY]),
                _ => {}
            }
            mixed.place_part_keys(child);
        }
    }

    /// No field to rewrite.
    pub(crate) fn is_empty(&self) -> bool {
        self.children.is_empty() && self.read.is_none()
    }

    /// Every mixed field, in the order the file first writes them.
    pub(crate) fn fields(&self) -> Vec<MixedField> {
        let mut out = Vec::new();
        self.collect("", &mut out);
        out
    }

    fn collect(&self, prefix: &str, out: &mut Vec<MixedField>) {
        for (key, mixed) in &self.children {
            let path = format!("{prefix}{key}");
            if let Some(read) = mixed.read {
                out.push(MixedField {
                    path: path.clone(),
                    read,
                });
            }
            let through = if mixed.list { "[]." } else { "." };
            mixed.collect(&format!("{path}{through}"), out);
        }
    }

    /// One JSON line with every mixed field's values read as one type,
    /// appended to `out`. Only the objects on the way to those fields are
    /// parsed and written again (without the whitespace between their
    /// tokens); everything else is copied as stored. A line with nothing
    /// to change is copied whole, as is one that does not parse (the
    /// decoder then names it).
    pub(crate) fn rewrite_line(&self, line: &[u8], out: &mut Vec<u8>) {
        if self.is_empty() {
            out.extend_from_slice(line);
            return;
        }
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let start = out.len();
        let mut changed = false;
        let strict = escape_raw_controls(body);
        let rewritten = serde_json::from_slice::<&RawValue>(&strict)
            .and_then(|record| self.write(record, out, &mut changed, Depth::default(), false));
        if rewritten.is_ok() && changed {
            if body.len() < line.len() {
                out.push(b'\n');
            }
        } else {
            out.truncate(start);
            out.extend_from_slice(line);
        }
    }

    /// Writes `value`, a value of this key read as the field's type, or
    /// an item of a list value (`item`: written as it is, fields under it
    /// rewritten), at `depth`.
    fn write(
        &self,
        value: &RawValue,
        out: &mut Vec<u8>,
        changed: &mut bool,
        depth: Depth,
        item: bool,
    ) -> serde_json::Result<()> {
        let text = value.get();
        let first = text.as_bytes().first().copied();
        let read = if item { None } else { self.read };
        let written = match (read, first) {
            // Nulls fit any type.
            (_, Some(b'n') | None) | (None, _) => false,
            (Some(MixedRead::TextPart { typed }), Some(b'"')) => {
                out.extend_from_slice(if typed {
                    br#"[{"type":"text","text":"#
                } else {
                    br#"[{"text":"#
                });
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"}]");
                true
            }
            (Some(MixedRead::OneItemList), Some(b)) if b != b'[' && b != b'{' => {
                out.push(b'[');
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
                true
            }
            (Some(MixedRead::JsonText), Some(b)) if b != b'"' => {
                serde_json::to_writer(&mut *out, text)?;
                true
            }
            _ => false,
        };
        if written {
            *changed = true;
            return Ok(());
        }
        if matches!(first, Some(b'{' | b'[')) && !self.children.is_empty() {
            let mut de = serde_json::Deserializer::from_str(text);
            return Transcode {
                mixed: self,
                out,
                changed,
                depth: depth.deeper()?,
            }
            .deserialize(&mut de);
        }
        out.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn child(&self, key: &str) -> Option<&MixedFields> {
        self.children
            .iter()
            .find_map(|(name, mixed)| (name == key).then_some(mixed))
    }
}

/// Writes an object or list of a [`MixedFields`] node again: its keys and
/// the values of keys outside the node's children as stored, its
/// children's values through [`MixedFields::write`]; a list's items are
/// values of the same node.
struct Transcode<'a> {
    mixed: &'a MixedFields,
    out: &'a mut Vec<u8>,
    changed: &'a mut bool,
    depth: Depth,
}

/// How deeply nested the object or list being written is. Each level is
/// parsed by a parser of its own, so `serde_json`'s limit (128) is kept
/// here: past it, the line is kept as stored, and the parser that reads it
/// next names it.
#[derive(Debug, Default, Clone, Copy)]
struct Depth(u8);

impl Depth {
    const LIMIT: u8 = 128;

    fn deeper(self) -> serde_json::Result<Depth> {
        if self.0 >= Self::LIMIT {
            return Err(de::Error::custom("nested too deeply"));
        }
        Ok(Depth(self.0 + 1))
    }
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
            match self.mixed.child(&key) {
                Some(child) => child
                    .write(value, self.out, self.changed, self.depth, false)
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
            self.mixed
                .write(item, self.out, self.changed, self.depth, true)
                .map_err(de::Error::custom)?;
        }
        self.out.push(b']');
        Ok(())
    }
}

/// How `order`'s values are read when its records disagree on their
/// type; `None` when they agree (or differ only as arrow reconciles: a
/// number beside a string is text, an integer beside a float a float),
/// and when no reading keeps the values most records hold as they are: a
/// list of turns beside one number is a bad record, which inference (or
/// the decoder) then names by its line.
fn mixed_read(order: &KeyOrder) -> Option<MixedRead> {
    let kinds = order.kinds();
    let (values, items) = (kinds.values(), kinds.elements());
    let scalars = Kinds::STRING.with(Kinds::SCALAR);
    // The kinds a key of the parts holds (none when absent or only null).
    let part_key = |key| {
        order
            .child_named(key)
            .map_or(Kinds::default(), KeyOrder::kinds)
    };
    let typed = part_key(TYPE_KEY).contains(Kinds::STRING);
    // Parts hold their text as strings under `text`; where no part scanned
    // had text (an image next to a string message, its `text` absent or
    // null), a string `type` still says these are message parts. Strings
    // beside parts are read as parts
    // however many there are: a list with an image part has no string
    // form. Other kinds beside them (a number) do not stop it: inference
    // then names the line that holds one, rather than the first string
    // next to a list.
    let text = part_key(TEXT_KEY);
    let text_parts = text.contains(Kinds::STRING) || (text == Kinds::default() && typed);
    if values.contains(Kinds::STRING.with(Kinds::ARRAY))
        && items.contains(Kinds::OBJECT)
        && text_parts
    {
        return Some(MixedRead::TextPart { typed });
    }
    let shapes = [
        values.intersects(scalars),
        values.contains(Kinds::ARRAY),
        values.contains(Kinds::OBJECT),
    ]
    .into_iter()
    .filter(|&shape| shape)
    .count();
    if shapes < 2 {
        return None;
    }
    let count = |kind| order.count(kind);
    let lists = count(Kinds::ARRAY);
    let strings = count(Kinds::STRING);
    if !values.contains(Kinds::OBJECT)
        && !items.intersects(Kinds::OBJECT.with(Kinds::ARRAY))
        && lists >= strings + count(Kinds::SCALAR)
    {
        return Some(MixedRead::OneItemList);
    }
    (strings > lists && strings > count(Kinds::OBJECT)).then_some(MixedRead::JsonText)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonl_order::scan_lines;

    fn mixed_of(lines: &[&str]) -> MixedFields {
        MixedFields::find(&scan_lines(lines))
    }

    fn reads(lines: &[&str]) -> Vec<(String, MixedRead)> {
        mixed_of(lines)
            .fields()
            .into_iter()
            .map(|f| (f.path, f.read))
            .collect()
    }

    fn rewritten(mixed: &MixedFields, line: &str) -> String {
        let mut out = Vec::new();
        mixed.rewrite_line(line.as_bytes(), &mut out);
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    const TYPED: MixedRead = MixedRead::TextPart { typed: true };

    const OPENAI: [&str; 2] = [
        r#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": "a.png"}}]}]}"#,
        r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null, "tool_calls": [{"type": "function"}]}]}"#,
    ];

    #[test]
    fn strings_among_text_parts_become_one_typed_text_part() {
        let mixed = mixed_of(&OPENAI);
        assert_eq!(reads(&OPENAI), [("messages[].content".to_owned(), TYPED)]);
        assert_eq!(
            rewritten(&mixed, &format!("{}\n", OPENAI[1])),
            concat!(
                r#"{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},"#,
                r#"{"role":"assistant","content":null,"tool_calls":[{"type": "function"}]}]}"#,
                "\n"
            )
        );
        // Lists stay as they are; a line with nothing to change is kept
        // byte for byte, as is one that does not parse (the decoder names
        // it).
        let untouched =
            r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}"#;
        assert_eq!(rewritten(&mixed, untouched), untouched);
        assert_eq!(rewritten(&mixed, "{bad\n"), "{bad\n");
    }

    #[test]
    fn parts_without_a_type_key_get_none() {
        let lines = [r#"{"c": "a"}"#, r#"{"c": [{"text": "b"}]}"#];
        assert_eq!(
            reads(&lines),
            [("c".to_owned(), MixedRead::TextPart { typed: false })]
        );
        assert_eq!(
            rewritten(&mixed_of(&lines), r#"{"c": "a\u00e9\n", "d": 1.50}"#),
            r#"{"c":[{"text":"a\u00e9\n"}],"d":1.50}"#
        );
    }

    #[test]
    fn image_only_lists_next_to_strings_are_parts_by_their_type() {
        let lines = [
            r#"{"messages": [{"role": "user", "content": "What is it?"}, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a.png"}}]}]}"#,
        ];
        assert_eq!(reads(&lines), [("messages[].content".to_owned(), TYPED)]);
    }

    #[test]
    fn scalars_among_lists_of_scalars_become_lists_of_one() {
        let lines = [
            r#"{"tags": "x"}"#,
            r#"{"tags": ["x", 2]}"#,
            r#"{"tags": []}"#,
        ];
        assert_eq!(reads(&lines), [("tags".to_owned(), MixedRead::OneItemList)]);
        let mixed = mixed_of(&lines);
        assert_eq!(
            rewritten(&mixed, r#"{"tags": "x", "n": 1}"#),
            r#"{"tags":["x"],"n":1}"#
        );
        assert_eq!(rewritten(&mixed, r#"{"tags": 1.50}"#), r#"{"tags":[1.50]}"#);
        for kept in [r#"{"tags": ["y"]}"#, r#"{"tags": null}"#] {
            assert_eq!(rewritten(&mixed, kept), kept);
        }
    }

    #[test]
    fn mostly_strings_beside_other_values_are_text() {
        for lines in [
            [r#"{"c": "a"}"#, r#"{"c": "b"}"#, r#"{"c": {"text": "b"}}"#],
            [r#"{"c": "a"}"#, r#"{"c": "b"}"#, r#"{"c": ["b"]}"#],
            [
                r#"{"c": "a"}"#,
                r#"{"c": [{"name": "b"}]}"#,
                r#"{"c": "d"}"#,
            ],
        ] {
            assert_eq!(
                reads(&lines),
                [("c".to_owned(), MixedRead::JsonText)],
                "{lines:?}"
            );
        }
        let mixed = mixed_of(&[r#"{"c": "a"}"#, r#"{"c": "b"}"#, r#"{"c": {"text": "b"}}"#]);
        // Strings and nulls as they are; anything else as its JSON text,
        // as stored.
        assert_eq!(
            rewritten(&mixed, r#"{"c": {"text": "b", "n": 1.50}}"#),
            r#"{"c":"{\"text\": \"b\", \"n\": 1.50}"}"#
        );
        assert_eq!(
            rewritten(&mixed, r#"{"c": [1, "x"]}"#),
            r#"{"c":"[1, \"x\"]"}"#
        );
        assert_eq!(rewritten(&mixed, r#"{"c": 7}"#), r#"{"c":"7"}"#);
        for kept in [r#"{"c": "a"}"#, r#"{"c": null}"#] {
            assert_eq!(rewritten(&mixed, kept), kept);
        }
    }

    #[test]
    fn mixes_that_would_change_most_records_are_left_to_inference() {
        for lines in [
            // A conversation beside a number, a string, an object.
            [
                r#"{"c": [{"role": "user"}]}"#,
                r#"{"c": [{"role": "a"}]}"#,
                r#"{"c": 5}"#,
            ],
            [
                r#"{"c": [{"role": "user"}]}"#,
                r#"{"c": [{"role": "a"}]}"#,
                r#"{"c": "x"}"#,
            ],
            [
                r#"{"c": [{"role": "user"}]}"#,
                r#"{"c": [{"role": "a"}]}"#,
                r#"{"c": {}}"#,
            ],
            // Objects beside a string; as many strings as objects.
            [r#"{"c": {"a": 1}}"#, r#"{"c": {"a": 2}}"#, r#"{"c": "x"}"#],
            [r#"{"c": {"a": 1}}"#, r#"{"c": "x"}"#, r#"{"c": null}"#],
            // Lists of objects and of numbers; numbers beside lists.
            [r#"{"c": [{"b": 1}]}"#, r#"{"c": [2]}"#, r#"{"c": null}"#],
            [r#"{"c": 1}"#, r#"{"c": 2}"#, r#"{"c": [3]}"#],
        ] {
            assert!(mixed_of(&lines).is_empty(), "{lines:?}");
        }
    }

    #[test]
    fn agreeing_fields_are_left_to_inference() {
        for lines in [
            // Text and numbers (text), integers and floats (floats),
            // lists of strings, lists of objects, objects, nulls.
            [r#"{"c": "a"}"#, r#"{"c": 1}"#],
            [r#"{"c": 1}"#, r#"{"c": 1.5}"#],
            [r#"{"c": ["a"]}"#, r#"{"c": null}"#],
            [r#"{"c": [{"a": 1}]}"#, r#"{"c": [{"b": "x"}]}"#],
            [r#"{"c": {"a": 1}}"#, r#"{"c": {"b": [1]}}"#],
            [r#"{"c": null}"#, r#"{"c": [{"text": "b"}]}"#],
        ] {
            assert!(mixed_of(&lines).is_empty(), "{lines:?}");
        }
    }

    #[test]
    fn strings_and_parts_beside_a_number_are_still_parts() {
        // Inference then names the number's line.
        let lines = [r#"{"c": "a"}"#, r#"{"c": [{"text": "b"}]}"#, r#"{"c": 1}"#];
        assert_eq!(
            reads(&lines),
            [("c".to_owned(), MixedRead::TextPart { typed: false })]
        );
    }

    #[test]
    fn nested_fields_and_lists_are_looked_through() {
        let lines = [
            r#"{"input": {"messages": [{"content": "a"}]}, "output": [[{"content": [{"type": "text", "text": "b"}]}]], "meta": {"x": {"y": 1}}}"#,
            r#"{"input": {"messages": [{"content": [{"type": "text", "text": "c"}]}]}, "output": [[{"content": "d"}]], "meta": {"x": "none"}}"#,
            r#"{"meta": {"x": "n/a"}}"#,
        ];
        assert_eq!(
            reads(&lines),
            [
                ("input.messages[].content".to_owned(), TYPED),
                ("output[].content".to_owned(), TYPED),
                ("meta.x".to_owned(), MixedRead::JsonText),
            ]
        );
        assert_eq!(
            rewritten(
                &mixed_of(&lines),
                r#"{"input": {"messages": [{"content": "a"}]}, "output": [[{"content": "d"}]], "meta": {"x": {"y": 1}}}"#
            ),
            concat!(
                r#"{"input":{"messages":[{"content":[{"type":"text","text":"a"}]}]},"#,
                r#""output":[[{"content":[{"type":"text","text":"d"}]}]],"meta":{"x":"{\"y\": 1}"}}"#
            )
        );
    }

    #[test]
    fn parts_with_null_text_are_parts_by_their_type() {
        let lines = [
            r#"{"m": [{"content": "s"}]}"#,
            r#"{"m": [{"content": [{"type": "image", "text": null}]}]}"#,
        ];
        assert_eq!(reads(&lines), [("m[].content".to_owned(), TYPED)]);
    }

    #[test]
    fn items_of_a_list_are_not_read_as_the_field() {
        // A part list holding a stray string stays a list (inference names
        // it), not a list of lists.
        let lines = [
            r#"{"c": "a"}"#,
            r#"{"c": [{"type": "text", "text": "b", "meta": "x"}]}"#,
            r#"{"c": [{"type": "text", "text": "b", "meta": "y"}]}"#,
            r#"{"c": [{"type": "text", "text": "b", "meta": {"k": 1}}]}"#,
        ];
        let mixed = mixed_of(&lines);
        assert_eq!(
            reads(&lines),
            [
                ("c".to_owned(), TYPED),
                ("c[].meta".to_owned(), MixedRead::JsonText)
            ]
        );
        assert_eq!(
            rewritten(
                &mixed,
                r#"{"c": ["x", {"type": "text", "text": "y", "meta": {"k": 2}}]}"#
            ),
            r#"{"c":["x",{"type":"text","text":"y","meta":"{\"k\": 2}"}]}"#
        );
    }

    #[test]
    fn lines_nested_past_the_parser_limit_are_kept_as_stored() {
        let mixed = mixed_of(&[r#"{"c": "a"}"#, r#"{"c": [{"text": "b", "d": {"e": 1}}]}"#]);
        let deep = format!(r#"{{"c": [{}{}]}}"#, "[".repeat(200), "]".repeat(200));
        assert_eq!(rewritten(&mixed, &deep), deep);
    }

    /// The key names at every level, depth first.
    fn all_keys(order: &KeyOrder) -> Vec<String> {
        order
            .children()
            .flat_map(|(key, child)| std::iter::once(key.to_owned()).chain(all_keys(child)))
            .collect()
    }

    #[test]
    fn part_keys_come_where_the_rewritten_lines_first_show_them() {
        for (mixed_lines, wrapped_lines) in [
            (
                [
                    r#"{"m": [{"c": "hi"}, {"c": [{"type": "image_url", "image_url": {"u": 1}}, {"type": "text", "text": "x"}]}]}"#,
                ],
                [
                    r#"{"m": [{"c": [{"type": "text", "text": "hi"}]}, {"c": [{"type": "image_url", "image_url": {"u": 1}}, {"type": "text", "text": "x"}]}]}"#,
                ],
            ),
            (
                [r#"{"m": [{"c": [{"type": "image_url", "image_url": {"u": 1}}]}, {"c": "hi"}]}"#],
                [
                    r#"{"m": [{"c": [{"type": "image_url", "image_url": {"u": 1}}]}, {"c": [{"type": "text", "text": "hi"}]}]}"#,
                ],
            ),
        ] {
            let mut order = scan_lines(&mixed_lines);
            MixedFields::find(&order).place_part_keys(&mut order);
            assert_eq!(all_keys(&order), all_keys(&scan_lines(&wrapped_lines)));
        }
    }
}
