//! The column order of a JSONL corpus: keys in the order the records write
//! them. arrow's schema inference reads records as `serde_json` maps, which
//! iterate their keys sorted, so it lists a file's columns (and each nested
//! object's fields) alphabetically; pyarrow and pandas keep the file's
//! order, and so does this module: it reads the same first records again,
//! noting where each key first appears at each nesting level, and reorders
//! the inferred schema to match. Types come from arrow's inference alone.
//!
//! The same scan notes which kinds of value each key holds (strings, lists,
//! objects), which is how [`crate::json_mixed`] finds fields whose records
//! disagree on their type.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::Result;
use crate::input::InputFile;
use crate::json_line::escape_raw_controls;
use crate::reader::for_each_record;

/// Object keys in the order they first appear, with the order of the
/// objects nested under each (the elements of an array of objects share
/// one order) and the kinds of value each key holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyOrder {
    keys: Vec<(String, KeyOrder)>,
    /// Position of each key in `keys`.
    index: HashMap<String, usize>,
    /// The kinds of the array elements seen under this key (those of its
    /// values are the ones `counts` holds).
    element_kinds: Kinds,
    /// How many values of each kind (string, array, object, scalar) were
    /// seen under this key, array elements aside.
    counts: [u32; 4],
    /// How many keys this one had when it first held a string: where the
    /// keys of a text part that string is read as come
    /// ([`KeyOrder::place_part_keys`]).
    keys_at_first_string: Option<usize>,
    /// The record where a value of each kind first came under this key,
    /// array elements aside.
    first_records: [Option<RecordAt>; 4],
}

/// Which kinds of JSON value a key held, as values and as elements of
/// array values (an array's elements are merged into its key's node, as
/// their keys are; the elements of arrays within arrays are not noted).
/// Nulls are not counted: they fit any type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kinds(u8);

impl Kinds {
    /// A string.
    pub(crate) const STRING: Kinds = Kinds(1);
    /// An array.
    pub(crate) const ARRAY: Kinds = Kinds(1 << 1);
    /// An object.
    pub(crate) const OBJECT: Kinds = Kinds(1 << 2);
    /// A number or a boolean.
    pub(crate) const SCALAR: Kinds = Kinds(1 << 3);

    /// Where one kind's count and first line are kept in a [`KeyOrder`].
    const fn slot(self) -> usize {
        self.0.trailing_zeros() as usize % 4
    }

    /// The same kinds, seen as elements of arrays.
    const fn items(self) -> Kinds {
        Kinds(self.0 << 4)
    }

    /// The kinds of values as such, without array elements.
    pub(crate) const fn values(self) -> Kinds {
        Kinds(self.0 & 0x0f)
    }

    /// The kinds of array elements (as value kinds).
    pub(crate) const fn elements(self) -> Kinds {
        Kinds(self.0 >> 4)
    }

    /// Whether every kind of `other` is in this set.
    pub(crate) const fn contains(self, other: Kinds) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any kind of `other` is in this set.
    pub(crate) const fn intersects(self, other: Kinds) -> bool {
        self.0 & other.0 != 0
    }

    /// Both sets.
    pub(crate) const fn with(self, other: Kinds) -> Kinds {
        Kinds(self.0 | other.0)
    }
}

impl KeyOrder {
    /// The order of `key`'s nested objects, registering `key` after the
    /// keys seen so far when it is new.
    fn child(&mut self, key: &str) -> &mut KeyOrder {
        let at = if let Some(&at) = self.index.get(key) {
            at
        } else {
            let at = self.keys.len();
            self.index.insert(key.to_owned(), at);
            self.keys.push((key.to_owned(), KeyOrder::default()));
            at
        };
        &mut self.keys[at].1
    }

    /// Where `key` first appeared, and the order under it.
    fn find(&self, key: &str) -> Option<(usize, &KeyOrder)> {
        self.index.get(key).map(|&at| (at, &self.keys[at].1))
    }

    /// The keys seen under this one, in order, each with what is under it.
    pub(crate) fn children(&self) -> impl Iterator<Item = (&str, &KeyOrder)> {
        self.keys.iter().map(|(key, order)| (key.as_str(), order))
    }

    /// Where `key` first appeared among this key's fields.
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The order and kinds under `key`.
    pub(crate) fn child_named(&self, key: &str) -> Option<&KeyOrder> {
        self.find(key).map(|(_, order)| order)
    }

    /// The kinds of value seen under this key.
    pub(crate) fn kinds(&self) -> Kinds {
        let values = (0..4)
            .filter(|&at| self.counts[at] > 0)
            .fold(Kinds::default(), |kinds, at| kinds.with(Kinds(1 << at)));
        values.with(self.element_kinds.items())
    }

    /// The record where a value of `kind` (one of the four kinds) first
    /// came under this key, array elements aside.
    pub(crate) fn first_record(&self, kind: Kinds) -> Option<RecordAt> {
        self.first_records[kind.slot()]
    }

    /// The order and kinds under `key`, to change.
    pub(crate) fn child_named_mut(&mut self, key: &str) -> Option<&mut KeyOrder> {
        let at = *self.index.get(key)?;
        Some(&mut self.keys[at].1)
    }

    /// Orders this key's fields as if each string it holds were written
    /// as the part `{part_keys[0]: …, part_keys[1]: …}`: a part key not
    /// seen before the first string comes right after the keys that were.
    pub(crate) fn place_part_keys(&mut self, part_keys: &[&str]) {
        let Some(before) = self.keys_at_first_string else {
            return;
        };
        let mut at = before;
        for key in part_keys {
            match self.index.get(*key) {
                Some(&found) if found < at => {}
                Some(&found) => {
                    let entry = self.keys.remove(found);
                    self.keys.insert(at, entry);
                    at += 1;
                }
                None => {
                    self.keys
                        .insert(at, ((*key).to_owned(), KeyOrder::default()));
                    at += 1;
                }
            }
        }
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(at, (key, _))| (key.clone(), at))
            .collect();
    }

    /// The node of the field at `keys` (a path of object keys, lists
    /// looked through), if the records hold it.
    pub(crate) fn descendant_mut(&mut self, keys: &[&str]) -> Option<&mut KeyOrder> {
        keys.iter()
            .try_fold(self, |order, key| order.child_named_mut(key))
    }

    /// Makes this key one that holds strings, as it does once its values
    /// are read as their JSON text: nothing under it, every non-null value
    /// a string (first seen where its first value was).
    pub(crate) fn read_as_text(&mut self) {
        let values: u32 = self.counts.iter().sum();
        let first = self.first_records.iter().flatten().min().copied();
        *self = KeyOrder::default();
        self.counts[Kinds::STRING.slot()] = values;
        self.first_records[Kinds::STRING.slot()] = first;
        self.keys_at_first_string = Some(0);
    }

    /// How many of the values seen under this key (array elements aside)
    /// are of `kind`, one of [`Kinds::STRING`], [`Kinds::ARRAY`],
    /// [`Kinds::OBJECT`], [`Kinds::SCALAR`].
    pub(crate) fn count(&self, kind: Kinds) -> u32 {
        self.counts[kind.slot()]
    }
}

/// Where a JSON record is: which of the JSON inputs, and its line there
/// (1-based, blank lines counted). Records order by input, then line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RecordAt {
    /// Index in the JSON inputs.
    pub(crate) input: usize,
    /// Line in that input.
    pub(crate) line: u64,
}

/// The key order of the first `records` non-blank lines of each of
/// `inputs`, as stored. A line that is not valid JSON ends the scan:
/// schema inference, which reads the same lines first, reports it.
pub(crate) fn key_order(inputs: &[&InputFile], records: usize) -> Result<KeyOrder> {
    let mut order = KeyOrder::default();
    for (at, input) in inputs.iter().enumerate() {
        let mut seen = 0;
        let stopped = for_each_record(&input.path, input.format, None, |line_number, line| {
            if seen == records {
                return Some(false);
            }
            seen += 1;
            let line = escape_raw_controls(line);
            let mut de = serde_json::Deserializer::from_slice(&line);
            // Depth past serde_json's recursion limit fails here as it does
            // in inference: stop, keeping the order read so far.
            let record = RecordAt {
                input: at,
                line: line_number,
            };
            Merge::value(&mut order, record)
                .deserialize(&mut de)
                .err()
                .map(|_| true)
        })?;
        if stopped == Some(true) {
            break;
        }
    }
    Ok(order)
}

/// `schema` with its fields, and the fields of every nested struct, in
/// `order`; fields `order` does not name keep their place after those it
/// does.
pub(crate) fn in_key_order(schema: &Schema, order: &KeyOrder) -> Schema {
    Schema::new_with_metadata(
        fields_in_order(schema.fields(), order),
        schema.metadata().clone(),
    )
}

fn fields_in_order(fields: &Fields, order: &KeyOrder) -> Fields {
    let mut ranked: Vec<(usize, FieldRef)> = fields
        .iter()
        .map(|field| match order.find(field.name()) {
            Some((at, nested)) => (at, field_in_order(field, nested)),
            None => (usize::MAX, Arc::clone(field)),
        })
        .collect();
    // Stable: unnamed fields keep their relative order.
    ranked.sort_by_key(|&(at, _)| at);
    ranked.into_iter().map(|(_, field)| field).collect()
}

fn field_in_order(field: &Field, order: &KeyOrder) -> FieldRef {
    Arc::new(
        field
            .clone()
            .with_data_type(type_in_order(field.data_type(), order)),
    )
}

/// What JSON inference makes of objects and arrays: structs and lists.
fn type_in_order(data_type: &DataType, order: &KeyOrder) -> DataType {
    match data_type {
        DataType::Struct(fields) => DataType::Struct(fields_in_order(fields, order)),
        DataType::List(item) => DataType::List(field_in_order(item, order)),
        DataType::LargeList(item) => DataType::LargeList(field_in_order(item, order)),
        other => other.clone(),
    }
}

/// Reads one JSON value into a [`KeyOrder`]: as a value of its key
/// (`depth` 0), an element of an array under it (1), or deeper, in arrays
/// of arrays (2: merged for their keys, their kinds not noted, so that
/// `[[{…}]]` does not read as an array holding both arrays and objects).
struct Merge<'a> {
    order: &'a mut KeyOrder,
    depth: u8,
    /// The record being read.
    record: RecordAt,
}

impl<'a> Merge<'a> {
    fn value(order: &'a mut KeyOrder, record: RecordAt) -> Self {
        Merge {
            order,
            depth: 0,
            record,
        }
    }

    fn note(&mut self, kind: Kinds) {
        if self.depth == 0 && kind == Kinds::STRING && self.order.keys_at_first_string.is_none() {
            self.order.keys_at_first_string = Some(self.order.keys.len());
        }
        match self.depth {
            0 => {
                let at = kind.slot();
                self.order.counts[at] = self.order.counts[at].saturating_add(1);
                if self.order.first_records[at].is_none() {
                    self.order.first_records[at] = Some(self.record);
                }
            }
            1 => self.order.element_kinds = self.order.element_kinds.with(kind),
            _ => {}
        }
    }
}

impl<'de> DeserializeSeed<'de> for Merge<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Merge<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(mut self, _: bool) -> std::result::Result<(), E> {
        self.note(Kinds::SCALAR);
        Ok(())
    }

    fn visit_i64<E>(mut self, _: i64) -> std::result::Result<(), E> {
        self.note(Kinds::SCALAR);
        Ok(())
    }

    fn visit_u64<E>(mut self, _: u64) -> std::result::Result<(), E> {
        self.note(Kinds::SCALAR);
        Ok(())
    }

    fn visit_f64<E>(mut self, _: f64) -> std::result::Result<(), E> {
        self.note(Kinds::SCALAR);
        Ok(())
    }

    fn visit_str<E>(mut self, _: &str) -> std::result::Result<(), E> {
        self.note(Kinds::STRING);
        Ok(())
    }

    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.note(Kinds::ARRAY);
        while seq
            .next_element_seed(Merge {
                record: self.record,
                order: &mut *self.order,
                depth: self.depth.saturating_add(1).min(2),
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> std::result::Result<(), A::Error> {
        self.note(Kinds::OBJECT);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            map.next_value_seed(Merge::value(self.order.child(&key), self.record))?;
        }
        Ok(())
    }
}

/// The key order and kinds of `lines`, each one JSON value.
#[cfg(test)]
pub(crate) fn scan_lines(lines: &[&str]) -> KeyOrder {
    let mut order = KeyOrder::default();
    for (number, line) in (1..).zip(lines) {
        let mut de = serde_json::Deserializer::from_str(line);
        let record = RecordAt {
            input: 0,
            line: number,
        };
        Merge::value(&mut order, record)
            .deserialize(&mut de)
            .unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_of(lines: &[&str]) -> KeyOrder {
        scan_lines(lines)
    }

    fn names(order: &KeyOrder) -> Vec<&str> {
        order.keys.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn keys_in_first_seen_order_across_records_and_levels() {
        let order = order_of(&[
            r#"{"id": 1, "conversations": [{"value": "a", "from": "human"}], "meta": {"z": 1}}"#,
            r#"{"meta": {"a": 2, "z": 3}, "id": 2, "extra": null,
                "conversations": [{"from": "gpt", "turn": 1}]}"#,
        ]);
        assert_eq!(names(&order), ["id", "conversations", "meta", "extra"]);
        let (_, turns) = order.find("conversations").unwrap();
        assert_eq!(names(turns), ["value", "from", "turn"]);
        let (_, meta) = order.find("meta").unwrap();
        assert_eq!(names(meta), ["z", "a"]);
    }

    #[test]
    fn escaped_keys_are_read_as_text() {
        let order = order_of(&[r#"{"b\u00e9": 1, "a\"q": 2}"#]);
        assert_eq!(names(&order), ["bé", "a\"q"]);
    }

    #[test]
    fn schema_follows_the_order_at_every_level() {
        let order = order_of(&[
            r#"{"id": 1, "conversations": [{"value": "a", "from": "b"}], "meta": {"z": 1, "a": 2}}"#,
        ]);
        let turn = DataType::Struct(Fields::from(vec![
            Field::new("from", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]));
        let inferred = Schema::new(vec![
            Field::new(
                "conversations",
                DataType::List(Arc::new(Field::new("item", turn, true))),
                true,
            ),
            Field::new("id", DataType::Int64, true),
            Field::new(
                "meta",
                DataType::Struct(Fields::from(vec![
                    Field::new("a", DataType::Int64, true),
                    Field::new("z", DataType::Int64, true),
                ])),
                true,
            ),
            Field::new("unnamed", DataType::Utf8, true),
        ]);
        let ordered = in_key_order(&inferred, &order);
        let top: Vec<_> = ordered.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(top, ["id", "conversations", "meta", "unnamed"]);
        let DataType::List(item) = ordered.field(1).data_type() else {
            panic!("conversations is a list")
        };
        let DataType::Struct(turn) = item.data_type() else {
            panic!("turns are structs")
        };
        let turn: Vec<_> = turn.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(turn, ["value", "from"]);
        let DataType::Struct(meta) = ordered.field(2).data_type() else {
            panic!("meta is a struct")
        };
        let meta: Vec<_> = meta.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(meta, ["z", "a"]);
    }
}
