//! JSON fields whose records disagree on their type.
//!
//! An Arrow column has one type; arrow's schema inference (pyarrow's too)
//! stops at a field that is a string in one record and a list in another,
//! and arrow's decoder at a scalar where inference chose a list. Two such
//! mixes are how real corpora are written, and regime reads each as one
//! type, chosen from the first records (those inference reads), by
//! rewriting the lines before inference and decoding see them:
//!
//! - **strings beside lists of message parts** (objects naming their kind
//!   with a string `type`, holding text, if any, as a string `text`):
//!   OpenAI's chat format writes a message's `content` as a string, or,
//!   where the message carries an image, as
//!   `[{"type": "text", "text": …}, {"type": "image_url", …}]`. Each string
//!   `s` becomes the one text part `[{"type": "text", "text": s}]`, which
//!   chat templates that take parts render as `s`;
//! - **scalars beside at least as many lists of scalars** (`"tags": "x"`
//!   here, `["x", "y"]` there): each scalar `v` becomes `[v]`, the list
//!   type inference already gives the field.
//!
//! Any other mix (a string where other records hold an object, a list of
//! turns beside a number, a lone list in a text field) has no reading
//! that keeps every record as it is stored, and is most likely a bad
//! record: inference or the decoder names its line.
//!
//! Outputs then hold the field in that one type. Only the objects on the
//! way to a mixed field are parsed again (`serde_json`'s [`RawValue`]);
//! everything else is copied as stored.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::jsonl_order::{KeyOrder, Kinds, RecordAt};

/// The key a message part holds its text under.
const TEXT_KEY: &str = "text";
/// The key naming a message part's kind.
const TYPE_KEY: &str = "type";

/// How a field whose records disagree on its type is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixedRead {
    /// Strings among lists of message parts: each string is one text part
    /// (`{"type": "text", "text": s}`).
    TextPart,
    /// Scalars among (at least as many) lists of scalars: each scalar is a
    /// list of one.
    OneItemList,
    /// Asked for by the reader's options (`--json-text`): every non-null
    /// value is read as its JSON text, compact (no whitespace between
    /// tokens; keys in their order, strings as written: `{"type":"object",…}`,
    /// `[1,2]`, `"x"` with its quotes), whatever its shape: for fields
    /// such as function-calling `tools`, whose JSON Schemas no one Arrow
    /// type holds.
    JsonText,
}

impl MixedRead {
    /// A short name, for machine-readable output: `text_part`,
    /// `one_item_list`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            MixedRead::TextPart => "text_part",
            MixedRead::OneItemList => "one_item_list",
            MixedRead::JsonText => "json_text",
        }
    }
}

/// Serialized as its [`MixedRead::name`].
impl serde::Serialize for MixedRead {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl fmt::Display for MixedRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MixedRead::TextPart => "strings read as one text part",
            MixedRead::OneItemList => "scalars read as one-item lists",
            MixedRead::JsonText => "read as JSON text",
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
        // Parts may hold mixed fields of their own (an image part's too).
        let mut mixed = Self::find(order);
        mixed.read = mixed_read(order);
        mixed.list = order.kinds().values().contains(Kinds::ARRAY);
        mixed
    }

    /// Reads the field at `keys` (object keys from the record, lists looked
    /// through) as its JSON text; `order` (the first records' keys, as
    /// stored) says which fields on the way hold lists.
    pub(crate) fn read_as_json_text(&mut self, order: &KeyOrder, keys: &[&str]) {
        let mut node = self;
        let mut order = Some(order);
        for key in keys {
            // Children stay in the order the file first writes them.
            let rank = |name: &str| order.and_then(|o| o.position(name));
            let found = node.children.iter().position(|(name, _)| name == key);
            let at = found.unwrap_or_else(|| {
                let at = node
                    .children
                    .iter()
                    .position(|(name, _)| rank(name) > rank(key))
                    .unwrap_or(node.children.len());
                node.children
                    .insert(at, ((*key).to_owned(), MixedFields::default()));
                at
            });
            order = order.and_then(|o| o.child_named(key));
            node = &mut node.children[at].1;
            node.list = order.is_some_and(|o| o.kinds().values().contains(Kinds::ARRAY));
        }
        node.read = Some(MixedRead::JsonText);
        node.children.clear();
        node.list = false;
    }

    /// The first field on the way to `keys` (the field itself aside) that
    /// is read another way, with its path and how: a field under it cannot
    /// be read as JSON text, since its values are not all objects.
    pub(crate) fn read_on_the_way(&self, keys: &[&str]) -> Option<(String, MixedRead)> {
        let mut node = self;
        let mut path = String::new();
        for key in keys.iter().take(keys.len().saturating_sub(1)) {
            node = node.child(key)?;
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            if let Some(read) = node.read {
                return Some((path, read));
            }
        }
        None
    }

    /// Places the keys of the text parts strings are read as in `order`
    /// (the order these fields were found in), where the lines as rewritten
    /// would first show them.
    pub(crate) fn place_part_keys(&self, order: &mut KeyOrder) {
        for (key, mixed) in &self.children {
            let Some(child) = order.child_named_mut(key) else {
                continue;
            };
            if mixed.read == Some(MixedRead::TextPart) {
                child.place_part_keys(&[TYPE_KEY, TEXT_KEY]);
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

    /// One JSON line (raw control characters escaped, as
    /// [`JsonLines`](crate::json_line::JsonLines)
    /// gives it) with every mixed field's values read as one type,
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
        let rewritten = serde_json::from_slice::<&RawValue>(body)
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
            (Some(MixedRead::TextPart), Some(b'"')) => {
                out.extend_from_slice(br#"[{"type":"text","text":"#);
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
            (Some(MixedRead::JsonText), Some(_)) => {
                serde_json::to_writer(&mut *out, &compact(text))?;
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

/// `json` (one JSON value) without the whitespace between its tokens:
/// the JSON text a field read as JSON text holds, the same whether the
/// file wrote its records on one line each or pretty-printed.
fn compact(json: &str) -> Cow<'_, str> {
    if !json.bytes().any(|b| b.is_ascii_whitespace()) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii_whitespace() {
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
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

/// The first field of `order` holding lists beside more scalars (a lone
/// `["x"]` where the other records hold `"x"`): arrow's inference makes
/// such a field a list, and its decoder would then stop at the first
/// scalar, naming a good line. The record of the first list, and why.
pub(crate) fn lists_among_scalars(order: &KeyOrder) -> Option<(RecordAt, String)> {
    lists_among_scalars_under(order, "")
}

fn lists_among_scalars_under(order: &KeyOrder, prefix: &str) -> Option<(RecordAt, String)> {
    order.children().find_map(|(key, child)| {
        let path = format!("{prefix}{key}");
        let kinds = child.kinds();
        let others = single_values(child);
        if lists_beside_scalars(kinds) && child.count(Kinds::ARRAY) < others {
            let found = child.first_record(Kinds::ARRAY).map(|at| {
                let reason = format!(
                    "field `{path}` holds a list here, where {others} other records hold a \
                     single value (a bad record?)"
                );
                (at, reason)
            });
            if found.is_some() {
                return found;
            }
        }
        let through = if kinds.values().contains(Kinds::ARRAY) {
            "[]."
        } else {
            "."
        };
        lists_among_scalars_under(child, &format!("{path}{through}"))
    })
}

/// A field whose records hold an object beside another kind of value (a
/// string, a number, a list), which no column type holds: the record where
/// the second kind first came, and why. For the error of an inference that
/// failed.
pub(crate) fn objects_beside_other_values(order: &KeyOrder) -> Option<(RecordAt, String)> {
    objects_beside_under(order, "")
}

fn objects_beside_under(order: &KeyOrder, prefix: &str) -> Option<(RecordAt, String)> {
    order.children().find_map(|(key, child)| {
        let path = format!("{prefix}{key}");
        let values = child.kinds().values();
        let other = [
            (Kinds::STRING, "a string"),
            (Kinds::SCALAR, "a number or boolean"),
            (Kinds::ARRAY, "a list"),
        ]
        .into_iter()
        .filter_map(|(kind, name)| Some((child.first_record(kind)?, name)))
        .min();
        if let (Some(object), Some((other, name))) = (child.first_record(Kinds::OBJECT), other) {
            let (at, here, before) = if object > other {
                (object, "an object", name)
            } else {
                (other, name, "an object")
            };
            let reason = format!(
                "field `{path}` holds {here} here and {before} in an earlier record, which no \
                 one column type holds (--json-text {path} reads it as its JSON text)"
            );
            return Some((at, reason));
        }
        let through = if values.contains(Kinds::ARRAY) {
            "[]."
        } else {
            "."
        };
        objects_beside_under(child, &format!("{path}{through}"))
    })
}

/// How `order`'s values are read when its records disagree on their
/// type; `None` when they agree (or differ only as arrow reconciles: a
/// number beside a string is text, an integer beside a float a float),
/// and when no reading keeps every record as it is stored: a list of turns
/// beside one number is a bad record, which inference (or the decoder)
/// then names by its line.
fn mixed_read(order: &KeyOrder) -> Option<MixedRead> {
    let kinds = order.kinds();
    let (values, items) = (kinds.values(), kinds.elements());
    // The kinds a key of the parts holds (none when absent or only null).
    let part_key = |key| {
        order
            .child_named(key)
            .map_or(Kinds::default(), KeyOrder::kinds)
    };
    // Message parts name their kind with a string `type`, and hold text,
    // if any, as a string `text` (an image part has none, or null). A list
    // of other objects beside strings (`[{"text": …}]` in a text field) is
    // not read as parts: it is left to inference, which names its line.
    // Strings beside parts are read as parts however few the parts: a
    // list with an image part has no string form. Other kinds beside them
    // (a number) do not stop it: inference then names the line that holds
    // one, rather than the first string next to a list.
    let text = part_key(TEXT_KEY);
    let message_parts = part_key(TYPE_KEY).contains(Kinds::STRING)
        && (text.contains(Kinds::STRING) || text == Kinds::default());
    if values.contains(Kinds::STRING.with(Kinds::ARRAY))
        && items.contains(Kinds::OBJECT)
        && message_parts
    {
        return Some(MixedRead::TextPart);
    }
    let one_item_lists =
        lists_beside_scalars(kinds) && order.count(Kinds::ARRAY) >= single_values(order);
    one_item_lists.then_some(MixedRead::OneItemList)
}

/// Whether `kinds` are those of scalars beside lists of scalars, which
/// arrow's inference makes a list.
fn lists_beside_scalars(kinds: Kinds) -> bool {
    let (values, items) = (kinds.values(), kinds.elements());
    values.intersects(Kinds::STRING.with(Kinds::SCALAR))
        && values.contains(Kinds::ARRAY)
        && !values.contains(Kinds::OBJECT)
        && !items.intersects(Kinds::OBJECT.with(Kinds::ARRAY))
}

/// How many of `order`'s values are strings, numbers or booleans.
fn single_values(order: &KeyOrder) -> u32 {
    order.count(Kinds::STRING) + order.count(Kinds::SCALAR)
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

    const PARTS: MixedRead = MixedRead::TextPart;

    const OPENAI: [&str; 2] = [
        r#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": "a.png"}}]}]}"#,
        r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null, "tool_calls": [{"type": "function"}]}]}"#,
    ];

    /// Parts whose `tags` are a string in one and a list in two: a mixed
    /// field inside the parts, so that rewriting goes into them.
    const TAGGED: [&str; 4] = [
        r#"{"c": "a"}"#,
        r#"{"c": [{"type": "text", "text": "b", "tags": ["x"]}]}"#,
        r#"{"c": [{"type": "text", "text": "b", "tags": ["y"]}]}"#,
        r#"{"c": [{"type": "text", "text": "b", "tags": "z"}]}"#,
    ];

    #[test]
    fn strings_among_text_parts_become_one_text_part() {
        let mixed = mixed_of(&OPENAI);
        assert_eq!(reads(&OPENAI), [("messages[].content".to_owned(), PARTS)]);
        assert_eq!(
            rewritten(&mixed, &format!("{}\n", OPENAI[1])),
            concat!(
                r#"{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},"#,
                r#"{"role":"assistant","content":null,"tool_calls":[{"type": "function"}]}]}"#,
                "\n"
            )
        );
        // Strings are copied as stored, escapes and all.
        assert_eq!(
            rewritten(
                &mixed,
                r#"{"messages": [{"content": "a\u00e9\n\"q\""}], "d": 1.50}"#
            ),
            r#"{"messages":[{"content":[{"type":"text","text":"a\u00e9\n\"q\""}]}],"d":1.50}"#
        );
        // Lists stay as they are; a line with nothing to change is kept
        // byte for byte, as is one that does not parse (the decoder names
        // it).
        let untouched =
            r#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}"#;
        assert_eq!(rewritten(&mixed, untouched), untouched);
        assert_eq!(rewritten(&mixed, "{bad\n"), "{bad\n");
    }

    /// A field read as JSON text: every non-null value becomes the string
    /// of its text as stored, at any depth of the path; the fields the
    /// records write before it stay before it.
    #[test]
    fn json_text_fields_become_their_stored_text() {
        let lines = [
            r#"{"m": [{"calls": [{"f": {"a": 1}}]}, {"calls": null}], "tools": [{"x": "y"}]}"#,
            r#"{"m": [], "tools": {"x": 2}}"#,
        ];
        let mut order = scan_lines(&lines);
        let mut mixed = MixedFields::find(&order);
        for keys in [&["tools"][..], &["m", "calls"][..]] {
            order
                .descendant_mut(keys)
                .unwrap_or_else(|| panic!("{keys:?}"))
                .read_as_text();
            mixed.read_as_json_text(&order, keys);
        }
        let fields: Vec<(String, MixedRead)> = mixed
            .fields()
            .into_iter()
            .map(|f| (f.path, f.read))
            .collect();
        assert_eq!(
            fields,
            [
                ("m[].calls".to_owned(), MixedRead::JsonText),
                ("tools".to_owned(), MixedRead::JsonText)
            ]
        );
        assert_eq!(
            rewritten(&mixed, lines[0]),
            r#"{"m":[{"calls":"[{\"f\":{\"a\":1}}]"},{"calls":null}],"tools":"[{\"x\":\"y\"}]"}"#
        );
        assert_eq!(
            rewritten(&mixed, lines[1]),
            r#"{"m":[],"tools":"{\"x\":2}"}"#
        );
        // Whitespace in strings stays; between tokens it goes.
        assert_eq!(
            compact("{ \"a b\" : [ 1 ,\n 2 ] , \"c\\\" d\": \" \" }"),
            r#"{"a b":[1,2],"c\" d":" "}"#
        );
        // What inference then sees: strings.
        let tools = order
            .child_named("tools")
            .unwrap_or_else(|| panic!("tools"));
        assert_eq!(tools.kinds().values(), Kinds::STRING);
        assert_eq!(tools.children().count(), 0);
    }

    #[test]
    fn image_only_parts_next_to_strings_are_parts_by_their_type() {
        for image in [
            r#"{"type": "image_url", "image_url": {"url": "a.png"}}"#,
            r#"{"type": "image", "text": null}"#,
        ] {
            let line = format!(
                r#"{{"messages": [{{"role": "user", "content": "What is it?"}}, {{"role": "user", "content": [{image}]}}]}}"#
            );
            assert_eq!(reads(&[&line]), [("messages[].content".to_owned(), PARTS)]);
        }
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
    fn other_mixes_are_left_to_inference() {
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
            // A lone list of objects without a `type`, or a list of
            // strings, in a text field; an object among strings.
            [
                r#"{"c": "a"}"#,
                r#"{"c": "b"}"#,
                r#"{"c": [{"text": "x"}]}"#,
            ],
            [r#"{"c": "a"}"#, r#"{"c": "b"}"#, r#"{"c": ["x"]}"#],
            [r#"{"c": "a"}"#, r#"{"c": "b"}"#, r#"{"c": {"w": 1}}"#],
            // Parts whose text is not a string.
            [
                r#"{"c": "a"}"#,
                r#"{"c": [{"type": "text", "text": 1}]}"#,
                r#"{"c": null}"#,
            ],
            // Objects beside lists; numbers beside fewer lists.
            [r#"{"c": {"a": 1}}"#, r#"{"c": [1]}"#, r#"{"c": null}"#],
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
            [
                r#"{"c": null}"#,
                r#"{"c": [{"type": "text", "text": "b"}]}"#,
            ],
        ] {
            assert!(mixed_of(&lines).is_empty(), "{lines:?}");
        }
    }

    #[test]
    fn strings_and_parts_beside_a_number_are_still_parts() {
        // Inference then names the number's line.
        let lines = [
            r#"{"c": "a"}"#,
            r#"{"c": [{"type": "text", "text": "b"}]}"#,
            r#"{"c": 1}"#,
        ];
        assert_eq!(reads(&lines), [("c".to_owned(), PARTS)]);
    }

    #[test]
    fn nested_fields_and_lists_are_looked_through() {
        let lines = [
            r#"{"input": {"messages": [{"content": "a"}]}, "output": [[{"content": [{"type": "text", "text": "b"}]}]], "meta": {"x": ["y"]}}"#,
            r#"{"input": {"messages": [{"content": [{"type": "text", "text": "c"}]}]}, "output": [[{"content": "d"}]], "meta": {"x": "z"}}"#,
            r#"{"meta": {"x": ["w"]}}"#,
        ];
        assert_eq!(
            reads(&lines),
            [
                ("input.messages[].content".to_owned(), PARTS),
                ("output[].content".to_owned(), PARTS),
                ("meta.x".to_owned(), MixedRead::OneItemList),
            ]
        );
        assert_eq!(
            rewritten(
                &mixed_of(&lines),
                r#"{"input": {"messages": [{"content": "a"}]}, "output": [[{"content": "d"}]], "meta": {"x": "v"}}"#
            ),
            concat!(
                r#"{"input":{"messages":[{"content":[{"type":"text","text":"a"}]}]},"#,
                r#""output":[[{"content":[{"type":"text","text":"d"}]}]],"meta":{"x":["v"]}}"#
            )
        );
    }

    #[test]
    fn items_of_a_list_are_not_read_as_the_field() {
        let mixed = mixed_of(&TAGGED);
        assert_eq!(
            reads(&TAGGED),
            [
                ("c".to_owned(), PARTS),
                ("c[].tags".to_owned(), MixedRead::OneItemList)
            ]
        );
        // A part list holding a stray string stays a list (inference names
        // it), not a list of lists; the parts' own fields are rewritten.
        assert_eq!(
            rewritten(
                &mixed,
                r#"{"c": ["x", {"type": "text", "text": "y", "tags": "t"}]}"#
            ),
            r#"{"c":["x",{"type":"text","text":"y","tags":["t"]}]}"#
        );
    }

    #[test]
    fn lines_nested_past_the_parser_limit_are_kept_as_stored() {
        let mixed = mixed_of(&TAGGED);
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

    #[test]
    fn an_object_beside_another_kind_of_value_is_named_with_its_field() {
        let lines = [r#"{"t": "a", "m": {"x": 1}}"#, r#"{"t": "b", "m": "str"}"#];
        let (at, reason) =
            objects_beside_other_values(&scan_lines(&lines)).unwrap_or_else(|| panic!("found"));
        assert_eq!(at.line, 2);
        assert!(
            reason.starts_with("field `m` holds a string here and an object in an earlier"),
            "{reason}"
        );
        let nested = [
            r#"{"turns": [{"meta": 3}]}"#,
            r#"{"turns": [{"meta": {"k": 1}}]}"#,
        ];
        let (at, reason) =
            objects_beside_other_values(&scan_lines(&nested)).unwrap_or_else(|| panic!("found"));
        assert_eq!(at.line, 2);
        assert!(
            reason.contains("`turns[].meta` holds an object here"),
            "{reason}"
        );
        assert_eq!(objects_beside_other_values(&scan_lines(&lines[..1])), None);
    }

    #[test]
    fn a_lone_list_among_single_values_is_named_by_its_line() {
        let lines = [
            r#"{"t": "ok1", "c": "x"}"#,
            r#"{"t": "ok2", "c": "z"}"#,
            r#"{"t": "ok3", "c": ["y"], "m": {"n": [1]}}"#,
            r#"{"t": "ok4", "c": "w", "m": {"n": 2}}"#,
        ];
        let order = scan_lines(&lines);
        let (at, reason) = lists_among_scalars(&order).unwrap_or_else(|| panic!("found"));
        assert_eq!(at.line, 3);
        assert!(
            reason.starts_with("field `c` holds a list here, where 3 other"),
            "{reason}"
        );
        // As many lists as scalars: read as lists of one, not an error.
        assert_eq!(
            lists_among_scalars(&scan_lines(&[r#"{"c": "x"}"#, r#"{"c": ["y"]}"#])),
            None
        );
        assert_eq!(
            lists_among_scalars(&scan_lines(&[
                r#"{"m": {"n": 1}}"#,
                r#"{"m": {"n": 2}}"#,
                r#"{"m": {"n": [3]}}"#
            ]))
            .map(|(at, _)| at.line),
            Some(3)
        );
    }
}
