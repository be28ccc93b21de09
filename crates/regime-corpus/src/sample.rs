//! A role-tagged view of the text in a [`RecordBatch`]: for each row, the
//! text fields a [`FieldMap`] names, in a fixed order (conversation turns in
//! order, then flat columns in schema order).

use arrow::array::{
    Array, AsArray, GenericListArray, LargeStringArray, OffsetSizeTrait, RecordBatch, StringArray,
    StringViewArray, StructArray,
};
use arrow::datatypes::DataType;

use crate::error::{Error, Result};
use crate::field_map::{FieldMap, Role, STRING_TYPES};

/// Where a text field lives in its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSource<'a> {
    /// Turn `index` (0-based, counting every turn) of a conversation column.
    Turn {
        /// The conversation column.
        column: &'a str,
        /// The turn's position in the conversation.
        index: usize,
    },
    /// Part `part` (0-based, counting every part) of turn `turn` of a
    /// conversation column whose turns hold lists of parts.
    TurnPart {
        /// The conversation column.
        column: &'a str,
        /// The turn's position in the conversation.
        turn: usize,
        /// The turn's field holding the parts (`content`).
        key: &'a str,
        /// The part's position in the turn.
        part: usize,
    },
    /// A flat string column.
    Column(&'a str),
}

impl std::fmt::Display for FieldSource<'_> {
    /// `conversations[2]`, `messages[0].content[1]`, `caption`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Turn { column, index } => write!(f, "{column}[{index}]"),
            Self::TurnPart {
                column,
                turn,
                key,
                part,
            } => write!(f, "{column}[{turn}].{key}[{part}]"),
            Self::Column(column) => f.write_str(column),
        }
    }
}

/// One text field of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextField<'a> {
    /// The field's role.
    pub role: Role,
    /// Where it lives.
    pub source: FieldSource<'a>,
    /// Its text, as stored.
    pub text: &'a str,
}

/// A string array of any of Arrow's three string layouts.
#[derive(Debug, Clone, Copy)]
enum Plain<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Plain<'a> {
    fn try_new(array: &'a dyn Array) -> Option<Self> {
        match array.data_type() {
            DataType::Utf8 => Some(Self::Utf8(array.as_string::<i32>())),
            DataType::LargeUtf8 => Some(Self::Large(array.as_string::<i64>())),
            DataType::Utf8View => Some(Self::View(array.as_string_view())),
            _ => None,
        }
    }

    /// Value `i` (in range), or `None` when null.
    #[inline]
    fn get(self, i: usize) -> Option<&'a str> {
        match self {
            Self::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            Self::Large(a) => a.is_valid(i).then(|| a.value(i)),
            Self::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }

    fn len(self) -> usize {
        match self {
            Self::Utf8(a) => a.len(),
            Self::Large(a) => a.len(),
            Self::View(a) => a.len(),
        }
    }
}

/// A text column as stored: plain strings, or a dictionary of them (what
/// pyarrow writes for a `DictionaryArray` or a pandas categorical), read
/// in place without decoding the dictionary.
#[derive(Debug)]
enum Strings<'a> {
    Plain(Plain<'a>),
    Dictionary {
        /// The dictionary array, whose keys' validity says which rows are null.
        array: &'a dyn Array,
        /// Each row's key as an index (Arrow's `normalized_keys`, once per
        /// batch, whatever the integer key type).
        keys: Vec<usize>,
        values: Plain<'a>,
    },
}

impl<'a> Strings<'a> {
    fn try_new(array: &'a dyn Array, column: &str) -> Result<Self> {
        let strings = match array.as_any_dictionary_opt() {
            Some(dictionary) => {
                Plain::try_new(dictionary.values().as_ref()).map(|values| Self::Dictionary {
                    array,
                    keys: dictionary.normalized_keys(),
                    values,
                })
            }
            None => Plain::try_new(array).map(Self::Plain),
        };
        strings.ok_or_else(|| Error::ColumnType {
            column: column.to_owned(),
            found: array.data_type().to_string(),
            expected: STRING_TYPES.into(),
        })
    }

    // Inlined for plain strings (the per-row hot path); a dictionary
    // look-up stays out of line.
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Self::Plain(plain) => plain.get(i),
            Self::Dictionary {
                array,
                keys,
                values,
            } => dictionary_get(*array, keys, *values, i),
        }
    }
}

/// Row `i` of a dictionary column: a null key is a null row; a valid key
/// may still point at a null value, and one out of range reads as null
/// rather than panicking.
#[inline(never)]
fn dictionary_get<'a>(
    array: &'a dyn Array,
    keys: &[usize],
    values: Plain<'a>,
    i: usize,
) -> Option<&'a str> {
    if array.is_null(i) {
        return None;
    }
    let key = keys.get(i).copied().filter(|&k| k < values.len())?;
    values.get(key)
}

#[derive(Debug)]
struct Conversation<'a> {
    column: &'a str,
    list: &'a dyn Array,
    offsets: Offsets<'a>,
    turns: &'a StructArray,
    speaker: Strings<'a>,
    text: TurnText<'a>,
}

/// What a turn's text field holds.
#[derive(Debug)]
enum TurnText<'a> {
    /// A string.
    Strings(Strings<'a>),
    /// A list of parts, some with text.
    Parts {
        /// The turn's field holding them (`content`).
        key: &'a str,
        list: &'a dyn Array,
        offsets: Offsets<'a>,
        parts: &'a StructArray,
        text: Strings<'a>,
    },
}

/// The offsets and items of a list or large list array.
fn list_of(list: &dyn Array) -> Option<(Offsets<'_>, &dyn Array)> {
    match list.data_type() {
        DataType::List(_) => Some(list_parts::<i32>(list.as_list::<i32>(), Offsets::Small)),
        DataType::LargeList(_) => Some(list_parts::<i64>(list.as_list::<i64>(), Offsets::Large)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Offsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
}

impl Offsets<'_> {
    fn range(self, row: usize) -> (usize, usize) {
        let to_usize = |v: i64| usize::try_from(v).unwrap_or(0);
        match self {
            Self::Small(o) => (to_usize(i64::from(o[row])), to_usize(i64::from(o[row + 1]))),
            Self::Large(o) => (to_usize(o[row]), to_usize(o[row + 1])),
        }
    }
}

/// The text fields of every row of one batch.
///
/// Column arrays are resolved once per batch, so per-row access is cheap.
#[derive(Debug)]
pub struct BatchText<'a> {
    rows: usize,
    conversation: Option<Conversation<'a>>,
    columns: Vec<(&'a str, Role, Strings<'a>)>,
}

impl<'a> BatchText<'a> {
    /// Resolves the map's columns in `batch`.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] or [`Error::ColumnType`] naming the column.
    pub fn try_new(map: &'a FieldMap, batch: &'a RecordBatch) -> Result<Self> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| Error::missing_column(name, &batch.schema()))
        };
        let conversation = match &map.conversation {
            None => None,
            Some(c) => {
                let list = column(&c.column)?.as_ref();
                let type_err = || Error::ColumnType {
                    column: c.column.clone(),
                    found: list.data_type().to_string(),
                    expected: match &c.part_text_key {
                        None => format!(
                            "list<struct<{}: string, {}: string>>",
                            c.speaker_key, c.text_key
                        ),
                        Some(part) => format!(
                            "list<struct<{}: string, {}: list<struct<{part}: string, …>>>>",
                            c.speaker_key, c.text_key
                        ),
                    },
                };
                let (offsets, values) = list_of(list).ok_or_else(type_err)?;
                let turns = values.as_struct_opt().ok_or_else(type_err)?;
                let child = |items: &'a StructArray, key: &str| {
                    items.column_by_name(key).ok_or_else(type_err)
                };
                let strings = |items: &'a StructArray, key: &str| {
                    child(items, key).and_then(|a| Strings::try_new(a.as_ref(), &c.column))
                };
                let text = match &c.part_text_key {
                    None => TurnText::Strings(strings(turns, &c.text_key)?),
                    Some(part_key) => {
                        let list = child(turns, &c.text_key)?.as_ref();
                        let (offsets, values) = list_of(list).ok_or_else(type_err)?;
                        let parts = values.as_struct_opt().ok_or_else(type_err)?;
                        TurnText::Parts {
                            key: &c.text_key,
                            list,
                            offsets,
                            parts,
                            text: strings(parts, part_key)?,
                        }
                    }
                };
                Some(Conversation {
                    column: &c.column,
                    list,
                    offsets,
                    turns,
                    speaker: strings(turns, &c.speaker_key)?,
                    text,
                })
            }
        };
        let mut columns = Vec::with_capacity(map.columns.len());
        for (name, role) in &map.columns {
            columns.push((
                name.as_str(),
                *role,
                Strings::try_new(column(name)?.as_ref(), name)?,
            ));
        }
        Ok(Self {
            rows: batch.num_rows(),
            conversation,
            columns,
        })
    }

    /// Number of rows in the batch.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.rows
    }

    /// Appends row `row`'s non-null text fields to `out` (cleared first).
    pub fn fields_into(&self, row: usize, out: &mut Vec<TextField<'a>>) {
        out.clear();
        if let Some(c) = &self.conversation
            && c.list.is_valid(row)
        {
            let (start, end) = c.offsets.range(row);
            let mut known = SpeakerRoles::default();
            for (index, turn) in (start..end).enumerate() {
                if !c.turns.is_valid(turn) {
                    continue;
                }
                match &c.text {
                    TurnText::Strings(strings) => {
                        if let Some(text) = strings.get(turn) {
                            let role = c.speaker.get(turn).map_or(Role::Other, |s| known.role(s));
                            out.push(TextField {
                                role,
                                source: FieldSource::Turn {
                                    column: c.column,
                                    index,
                                },
                                text,
                            });
                        }
                    }
                    TurnText::Parts {
                        key,
                        list,
                        offsets,
                        parts,
                        text,
                    } => {
                        if !list.is_valid(turn) {
                            continue;
                        }
                        let role = c.speaker.get(turn).map_or(Role::Other, |s| known.role(s));
                        let (first, last) = offsets.range(turn);
                        for (part, at) in (first..last).enumerate() {
                            if let Some(text) = parts.is_valid(at).then(|| text.get(at)).flatten() {
                                out.push(TextField {
                                    role,
                                    source: FieldSource::TurnPart {
                                        column: c.column,
                                        turn: index,
                                        key,
                                        part,
                                    },
                                    text,
                                });
                            }
                        }
                    }
                }
            }
        }
        for (column, role, strings) in &self.columns {
            if let Some(text) = strings.get(row) {
                out.push(TextField {
                    role: *role,
                    source: FieldSource::Column(column),
                    text,
                });
            }
        }
    }

    /// Row `row`'s non-null text fields.
    #[must_use]
    pub fn fields(&self, row: usize) -> Vec<TextField<'a>> {
        let mut out = Vec::new();
        self.fields_into(row, &mut out);
        out
    }
}

/// [`Role::from_speaker`] for the turns of one conversation, remembering
/// the last two speaker labels: conversations alternate two speakers, so
/// most turns cost one short comparison instead of a match against every
/// known label.
#[derive(Debug, Default)]
struct SpeakerRoles<'a> {
    recent: [Option<(&'a str, Role)>; 2],
}

impl<'a> SpeakerRoles<'a> {
    fn role(&mut self, speaker: &'a str) -> Role {
        // Labels are a few bytes: an inline byte loop beats a `memcmp` call.
        let same = |s: &&str| s.len() == speaker.len() && s.bytes().eq(speaker.bytes());
        if let Some((_, role)) = self.recent.iter().flatten().find(|(s, _)| same(s)) {
            return *role;
        }
        let role = Role::from_speaker(speaker);
        self.recent.rotate_right(1);
        self.recent[0] = Some((speaker, role));
        role
    }
}

fn list_parts<'a, O: OffsetSizeTrait>(
    list: &'a GenericListArray<O>,
    wrap: fn(&'a [O]) -> Offsets<'a>,
) -> (Offsets<'a>, &'a dyn Array) {
    (wrap(list.value_offsets()), list.values().as_ref())
}

/// `batch` (a `conversations` column then one more) with the turns'
/// `from` and `value` as dictionaries of `key` (a test fixture shared by
/// the read and the edit tests).
#[cfg(test)]
pub(crate) fn with_dictionary_turns(batch: &RecordBatch, key: DataType) -> RecordBatch {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Fields, Schema};

    let dict = DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8));
    let turns = Fields::from(vec![
        Field::new("from", dict.clone(), true),
        Field::new("value", dict, true),
    ]);
    let list_type = DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(turns),
        true,
    )));
    let list = arrow::compute::cast(batch.column(0), &list_type).unwrap();
    let schema = Schema::new(vec![
        Field::new("conversations", list_type, true),
        batch.schema().field(1).clone(),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![list, batch.column(1).clone()]).unwrap()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, DictionaryArray, ListBuilder, PrimitiveArray, StringBuilder, StructBuilder,
    };
    use arrow::datatypes::{
        ArrowDictionaryKeyType, Field, Fields, Int8Type, Int32Type, Schema, UInt16Type, UInt64Type,
    };

    use super::*;

    fn llava_batch() -> RecordBatch {
        let fields = Fields::from(vec![
            Field::new("from", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]);
        let mut list = ListBuilder::new(StructBuilder::from_fields(fields, 4));
        for turns in [
            vec![("human", "<image>\nWhat shape?"), ("gpt", "A circle.")],
            vec![],
        ] {
            for (from, value) in turns {
                let s = list.values();
                s.field_builder::<StringBuilder>(0)
                    .unwrap()
                    .append_value(from);
                s.field_builder::<StringBuilder>(1)
                    .unwrap()
                    .append_value(value);
                s.append(true);
            }
            list.append(true);
        }
        let list = list.finish();
        let caption = StringArray::from(vec![Some("a red circle"), None]);
        let schema = Schema::new(vec![
            Field::new("conversations", list.data_type().clone(), true),
            Field::new("caption", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(list), Arc::new(caption)]).unwrap()
    }

    fn dictionary<K: ArrowDictionaryKeyType>(
        keys: Vec<Option<K::Native>>,
        values: ArrayRef,
    ) -> ArrayRef {
        let keys: PrimitiveArray<K> = keys.into_iter().collect();
        Arc::new(DictionaryArray::<K>::try_new(keys, values).unwrap())
    }

    #[test]
    fn dictionary_columns_read_as_their_values() {
        // Every key type reads alike; a null key and a key to a null value
        // are both a null field.
        let system = dictionary::<Int8Type>(
            vec![Some(0), None, Some(1), Some(0)],
            Arc::new(StringArray::from(vec![Some("Be brief."), None])),
        );
        let caption = dictionary::<UInt64Type>(
            vec![Some(1), Some(1), Some(0), None],
            Arc::new(LargeStringArray::from(vec!["a cat", "a dog"])),
        );
        let ocr = dictionary::<UInt16Type>(
            vec![None, Some(0), Some(0), Some(0)],
            Arc::new(StringViewArray::from(vec!["STOP"])),
        );
        let schema = Schema::new(vec![
            Field::new("system", system.data_type().clone(), true),
            Field::new("caption", caption.data_type().clone(), true),
            Field::new("ocr", ocr.data_type().clone(), true),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![system, caption, ocr]).unwrap();
        let map = FieldMap::detect(&batch.schema(), Path::new("x")).unwrap();
        let texts = |batch: &RecordBatch| {
            let view = BatchText::try_new(&map, batch).unwrap();
            (0..view.num_rows())
                .map(|row| {
                    view.fields(row)
                        .iter()
                        .map(|f| (f.role, f.text))
                        .collect::<Vec<_>>()
                })
                .map(|fields| format!("{fields:?}"))
                .collect::<Vec<_>>()
        };
        let all = texts(&batch);
        assert_eq!(
            all,
            [
                r#"[(System, "Be brief."), (Caption, "a dog")]"#,
                r#"[(Caption, "a dog"), (Ocr, "STOP")]"#,
                r#"[(Caption, "a cat"), (Ocr, "STOP")]"#,
                r#"[(System, "Be brief."), (Ocr, "STOP")]"#,
            ]
        );
        // A slice reads its own rows.
        assert_eq!(texts(&batch.slice(1, 3)), all[1..]);
    }

    #[test]
    fn dictionary_encoded_turns_are_read() {
        let batch = llava_batch();
        let encoded = with_dictionary_turns(&batch, DataType::Int32);
        let map = FieldMap::detect(&encoded.schema(), Path::new("x")).unwrap();
        let plain_map = FieldMap::detect(&batch.schema(), Path::new("x")).unwrap();
        let view = BatchText::try_new(&map, &encoded).unwrap();
        let plain = BatchText::try_new(&plain_map, &batch).unwrap();
        for row in 0..batch.num_rows() {
            assert_eq!(view.fields(row), plain.fields(row));
        }
    }

    #[test]
    fn a_dictionary_of_other_values_is_a_type_error() {
        let system = dictionary::<Int32Type>(
            vec![Some(0)],
            Arc::new(arrow::array::BinaryArray::from(vec![b"x".as_slice()])),
        );
        let schema = Schema::new(vec![Field::new("system", system.data_type().clone(), true)]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![system]).unwrap();
        let map = FieldMap {
            profile: crate::Profile::Columns,
            detected: false,
            conversation: None,
            columns: vec![("system".to_owned(), Role::System)],
            unmapped: Vec::new(),
        };
        let err = BatchText::try_new(&map, &batch).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("column `system` has type Dictionary(Int32, Binary), expected"),
            "{err}"
        );
    }

    #[test]
    fn remembered_speaker_roles_match_from_speaker() {
        let mut known = SpeakerRoles::default();
        for speaker in [
            "human", "gpt", "human", "system", "GPT", "tool", "user", "gpt", "",
        ] {
            assert_eq!(
                known.role(speaker),
                Role::from_speaker(speaker),
                "{speaker:?}"
            );
        }
    }

    #[test]
    fn rows_yield_turns_then_columns() {
        let batch = llava_batch();
        let map = FieldMap::detect(&batch.schema(), Path::new("x")).unwrap();
        let view = BatchText::try_new(&map, &batch).unwrap();
        let fields = view.fields(0);
        let got: Vec<_> = fields.iter().map(|f| (f.role, f.text)).collect();
        assert_eq!(
            got,
            [
                (Role::User, "<image>\nWhat shape?"),
                (Role::Assistant, "A circle."),
                (Role::Caption, "a red circle")
            ]
        );
        assert_eq!(
            fields[1].source,
            FieldSource::Turn {
                column: "conversations",
                index: 1
            }
        );
        assert!(view.fields(1).is_empty());
    }
}
