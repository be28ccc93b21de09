//! Replacing some text fields of a batch: the write side of [`BatchText`].
//! Only the arrays that hold an edited field are rebuilt; every other column
//! (ids, images, categorical columns) is the same `Arc`'d array, so it is
//! written byte for byte. A conversation column keeps its list offsets,
//! validity and every struct child except the text one, and the text child
//! changes only at the edited turns.
//!
//! [`BatchText`]: crate::BatchText

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, GenericStringArray, GenericStringBuilder,
    OffsetSizeTrait, RecordBatch, StringViewArray, StructArray,
};
use arrow::compute::{cast, interleave};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

use crate::error::{Error, Result};
use crate::field_map::{FieldMap, is_string};
use crate::sample::FieldSource;

/// Where an edited field lives in its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EditTarget {
    /// Turn `index` of the row's conversation.
    Turn(usize),
    /// Part `.1` of turn `.0` of the row's conversation, whose turns hold
    /// lists of parts.
    TurnPart(usize, usize),
    /// Flat column number `index` of [`FieldMap::columns`].
    Column(usize),
}

impl EditTarget {
    /// The target of a field read through `map` from `source`; `None` for a
    /// column the map does not name.
    #[must_use]
    pub fn of(map: &FieldMap, source: FieldSource<'_>) -> Option<Self> {
        match source {
            FieldSource::Turn { index, .. } => Some(Self::Turn(index)),
            FieldSource::TurnPart { turn, part, .. } => Some(Self::TurnPart(turn, part)),
            FieldSource::Column(name) => map
                .columns
                .iter()
                .position(|(c, _)| c == name)
                .map(Self::Column),
        }
    }
}

/// One replaced field: its row in the batch, where it is, and its new text
/// (`None`: null where the column allows it, `""` otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextEdit<'a> {
    /// The row (0-based within the batch).
    pub row: usize,
    /// The field.
    pub target: EditTarget,
    /// The new text.
    pub text: Option<&'a str>,
}

/// The columns of `batch` with `edits` applied (same schema, same order).
///
/// # Errors
/// [`Error::MissingColumn`] when a mapped column is absent;
/// [`Error::Rebuild`] naming a column that is not of the mapped shape.
pub fn apply_text_edits(
    map: &FieldMap,
    batch: &RecordBatch,
    edits: &[TextEdit<'_>],
) -> Result<Vec<ArrayRef>> {
    let schema = batch.schema();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let missing = |name: &str| Error::missing_column(name, &schema);
    for (j, (name, _)) in map.columns.iter().enumerate() {
        let mut col: Vec<(usize, Option<&str>)> = edits
            .iter()
            .filter(|e| e.target == EditTarget::Column(j))
            .map(|e| (e.row, e.text))
            .collect();
        if col.is_empty() {
            continue;
        }
        let (index, field) = schema.column_with_name(name).ok_or_else(|| missing(name))?;
        if !field.is_nullable() {
            for edit in &mut col {
                edit.1 = edit.1.or(Some(""));
            }
        }
        col.sort_by_key(|(row, _)| *row);
        columns[index] = replace_strings(batch.column(index).as_ref(), &col, name)?;
    }
    if let Some(conversation) = &map.conversation {
        let turns: Vec<(usize, usize, PartEdit<'_>)> = edits
            .iter()
            .filter_map(|e| match e.target {
                EditTarget::Turn(i) => Some((e.row, i, (None, e.text))),
                EditTarget::TurnPart(i, part) => Some((e.row, i, (Some(part), e.text))),
                EditTarget::Column(_) => None,
            })
            .collect();
        if !turns.is_empty() {
            let name = &conversation.column;
            let (index, _) = schema.column_with_name(name).ok_or_else(|| missing(name))?;
            let list = batch.column(index).as_ref();
            let part_key = conversation.part_text_key.as_deref();
            columns[index] = rebuild_list(
                list,
                &conversation.text_key,
                &turns,
                name,
                |text, nullable, at| match part_key {
                    None => {
                        let at: Vec<(usize, Option<&str>)> =
                            at.iter().map(|&(i, (_, value))| (i, value)).collect();
                        replace_strings_in(text, nullable, &at, name)
                    }
                    Some(part_key) => {
                        let at: Vec<(usize, usize, Option<&str>)> = at
                            .iter()
                            .filter_map(|&(i, (part, value))| part.map(|p| (i, p, value)))
                            .collect();
                        rebuild_list(text, part_key, &at, name, |text, nullable, at| {
                            replace_strings_in(text, nullable, at, name)
                        })
                    }
                },
            )?;
        }
    }
    Ok(columns)
}

fn rebuild_err(column: &str, reason: impl Into<String>) -> Error {
    Error::Rebuild {
        column: column.to_owned(),
        reason: reason.into(),
    }
}

/// A turn edit: the part it edits (when turns hold parts) and the new text.
type PartEdit<'a> = (Option<usize>, Option<&'a str>);

/// `list` (a list of structs) with struct field `key` of item `item` of
/// row `row` replaced, for each `(row, item, edit)` of `edits`: `replace`
/// gets the field's array, whether the field is nullable, and the edits at
/// their flat item positions, sorted, and returns the field's new array.
fn rebuild_list<T: Copy>(
    list: &dyn Array,
    key: &str,
    edits: &[(usize, usize, T)],
    column: &str,
    replace: impl FnOnce(&dyn Array, bool, &[(usize, T)]) -> Result<ArrayRef>,
) -> Result<ArrayRef> {
    match list.data_type() {
        DataType::List(_) => rebuild_items(list.as_list::<i32>(), key, edits, column, replace),
        DataType::LargeList(_) => rebuild_items(list.as_list::<i64>(), key, edits, column, replace),
        _ => Err(rebuild_err(column, "not a list column")),
    }
}

fn rebuild_items<O: OffsetSizeTrait, T: Copy>(
    list: &GenericListArray<O>,
    key: &str,
    edits: &[(usize, usize, T)],
    column: &str,
    replace: impl FnOnce(&dyn Array, bool, &[(usize, T)]) -> Result<ArrayRef>,
) -> Result<ArrayRef> {
    let values = list
        .values()
        .as_struct_opt()
        .ok_or_else(|| rebuild_err(column, "list items are not structs"))?;
    let (fields, children, nulls) = values.clone().into_parts();
    let child = fields
        .iter()
        .position(|f| f.name() == key)
        .ok_or_else(|| rebuild_err(column, format!("items have no `{key}` field")))?;
    let offsets = list.value_offsets();
    let mut at: Vec<(usize, T)> = edits
        .iter()
        .map(|&(row, item, edit)| (offsets[row].as_usize() + item, edit))
        .collect();
    at.sort_by_key(|(i, _)| *i);
    let mut children = children;
    children[child] = replace(children[child].as_ref(), fields[child].is_nullable(), &at)?;
    let values = StructArray::try_new(fields, children, nulls)
        .map_err(|e| rebuild_err(column, e.to_string()))?;
    let (field, offsets, _, list_nulls) = list.clone().into_parts();
    let rebuilt = GenericListArray::<O>::try_new(field, offsets, Arc::new(values), list_nulls)
        .map_err(|e| rebuild_err(column, e.to_string()))?;
    Ok(Arc::new(rebuilt))
}

/// [`replace_strings`] into a struct field, `""` standing for null where
/// the field is not `nullable`.
fn replace_strings_in(
    array: &dyn Array,
    nullable: bool,
    edits: &[(usize, Option<&str>)],
    column: &str,
) -> Result<ArrayRef> {
    if nullable {
        return replace_strings(array, edits, column);
    }
    let edits: Vec<(usize, Option<&str>)> =
        edits.iter().map(|&(i, v)| (i, v.or(Some("")))).collect();
    replace_strings(array, &edits, column)
}

/// A copy of a string array with the values at `edits` (sorted by index)
/// replaced.
fn replace_strings(
    array: &dyn Array,
    edits: &[(usize, Option<&str>)],
    column: &str,
) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 => Ok(replace_generic(array.as_string::<i32>(), edits)),
        DataType::LargeUtf8 => Ok(replace_generic(array.as_string::<i64>(), edits)),
        DataType::Utf8View => {
            replace_views(array, edits).map_err(|e| rebuild_err(column, e.to_string()))
        }
        DataType::Dictionary(_, values) if is_string(array.data_type()) => {
            replace_dictionary(array, values, edits, column)
        }
        other => Err(rebuild_err(column, format!("{other} is not a string type"))),
    }
}

/// A dictionary array with the values at `edits` replaced, as a
/// dictionary of the same key and value types (the output keeps the
/// input's schema): decoded to its values' type, edited, and encoded
/// again, which also drops the values no row uses any more.
fn replace_dictionary(
    array: &dyn Array,
    values: &DataType,
    edits: &[(usize, Option<&str>)],
    column: &str,
) -> Result<ArrayRef> {
    let err = |e: ArrowError| rebuild_err(column, e.to_string());
    let plain = cast(array, values).map_err(err)?;
    let replaced = replace_strings(plain.as_ref(), edits, column)?;
    // Fails, rather than wraps, when the distinct values outgrow the keys
    // (say an `int8` dictionary past 128 values).
    cast(replaced.as_ref(), array.data_type()).map_err(|e| {
        rebuild_err(
            column,
            format!(
                "the edited values cannot be stored as {}: {e}",
                array.data_type()
            ),
        )
    })
}

/// A view array with the values at `edits` replaced: the unedited values
/// keep their views into the original buffers (nothing is copied but the
/// 16-byte views), the edited ones point into one new buffer.
fn replace_views(
    array: &dyn Array,
    edits: &[(usize, Option<&str>)],
) -> std::result::Result<ArrayRef, ArrowError> {
    let edited: StringViewArray = edits.iter().map(|(_, text)| *text).collect();
    let mut next = edits.iter().map(|(i, _)| *i).enumerate().peekable();
    let indices: Vec<(usize, usize)> = (0..array.len())
        .map(|i| match next.next_if(|(_, j)| *j == i) {
            Some((k, _)) => (1, k),
            None => (0, i),
        })
        .collect();
    interleave(&[array, &edited], &indices)
}

fn replace_generic<O: OffsetSizeTrait>(
    a: &GenericStringArray<O>,
    edits: &[(usize, Option<&str>)],
) -> ArrayRef {
    let bytes = a.value_data().len();
    let mut b = GenericStringBuilder::<O>::with_capacity(a.len(), bytes);
    let mut next = edits.iter().peekable();
    for i in 0..a.len() {
        match next.next_if(|(j, _)| *j == i) {
            Some((_, Some(v))) => b.append_value(v),
            Some((_, None)) => b.append_null(),
            None if a.is_null(i) => b.append_null(),
            None => b.append_value(a.value(i)),
        }
    }
    Arc::new(b.finish())
}

#[cfg(test)]
mod tests {
    use arrow::array::{ListBuilder, StringArray, StringBuilder, StructBuilder};
    use arrow::datatypes::{Field, Fields, Schema};

    use super::*;
    use crate::BatchText;

    fn batch() -> (FieldMap, RecordBatch) {
        let turn_fields = Fields::from(vec![
            Field::new("from", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]);
        let mut list = ListBuilder::new(StructBuilder::from_fields(turn_fields, 0));
        for row in [
            [("human", "q0"), ("gpt", "a0")],
            [("human", "q1"), ("gpt", "a1")],
        ] {
            for (from, value) in row {
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
        let conversations: ArrayRef = Arc::new(list.finish());
        let caption: ArrayRef = Arc::new(StringArray::from(vec![Some("c0"), None]));
        let schema = Schema::new(vec![
            Field::new("conversations", conversations.data_type().clone(), true),
            Field::new("caption", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![conversations, caption]).unwrap();
        let map = FieldMap::detect(&batch.schema(), "t.parquet".as_ref()).unwrap();
        (map, batch)
    }

    #[test]
    fn edits_land_where_the_fields_were_read() {
        let (map, batch) = batch();
        let text = BatchText::try_new(&map, &batch).unwrap();
        let fields = text.fields(1);
        let answer = fields.iter().find(|f| f.text == "a1").unwrap();
        let target = EditTarget::of(&map, answer.source).unwrap();
        assert_eq!(target, EditTarget::Turn(1));
        let caption = EditTarget::of(&map, FieldSource::Column("caption")).unwrap();
        let edits = [
            TextEdit {
                row: 1,
                target,
                text: Some("A1"),
            },
            TextEdit {
                row: 0,
                target: caption,
                text: None,
            },
            TextEdit {
                row: 1,
                target: caption,
                text: Some("C1"),
            },
        ];
        let columns = apply_text_edits(&map, &batch, &edits).unwrap();
        let edited = RecordBatch::try_new(batch.schema(), columns).unwrap();
        let text = BatchText::try_new(&map, &edited).unwrap();
        let texts = |row| text.fields(row).iter().map(|f| f.text).collect::<Vec<_>>();
        assert_eq!(texts(0), ["q0", "a0"]);
        assert_eq!(texts(1), ["q1", "A1", "C1"]);
        // Untouched columns are the very same arrays.
        let untouched = apply_text_edits(&map, &batch, &edits[..1]).unwrap();
        assert!(Arc::ptr_eq(&untouched[1], batch.column(1)));
    }

    #[test]
    fn edited_dictionaries_keep_their_key_and_value_types() {
        let dict =
            |key: DataType, value: DataType| DataType::Dictionary(Box::new(key), Box::new(value));
        let texts = StringArray::from(vec![Some("copy. keep"), None, Some("copy. keep"), None]);
        for data_type in [
            dict(DataType::Int32, DataType::Utf8),
            dict(DataType::UInt8, DataType::LargeUtf8),
            dict(DataType::Int64, DataType::Utf8View),
        ] {
            let column = cast(&texts, &data_type).unwrap();
            let edits = [(1, Some("set")), (2, Some("keep"))];
            let replaced = replace_strings(column.as_ref(), &edits, "system").unwrap();
            assert_eq!(replaced.data_type(), &data_type);
            let got = cast(&replaced, &DataType::Utf8).unwrap();
            let got: Vec<Option<&str>> = got.as_string::<i32>().iter().collect();
            assert_eq!(got, [Some("copy. keep"), Some("set"), Some("keep"), None]);
        }
    }

    #[test]
    fn edited_dictionary_turns_stay_dictionaries() {
        let (_, batch) = batch();
        let batch = crate::sample::with_dictionary_turns(&batch, DataType::Int16);
        let map = FieldMap::detect(&batch.schema(), "t.parquet".as_ref()).unwrap();
        let edits = [TextEdit {
            row: 1,
            target: EditTarget::Turn(0),
            text: Some("Q1"),
        }];
        let columns = apply_text_edits(&map, &batch, &edits).unwrap();
        let edited = RecordBatch::try_new(batch.schema(), columns).unwrap();
        let text = BatchText::try_new(&map, &edited).unwrap();
        let texts = |row| text.fields(row).iter().map(|f| f.text).collect::<Vec<_>>();
        assert_eq!(texts(0), ["q0", "a0", "c0"]);
        assert_eq!(texts(1), ["Q1", "a1"]);
    }

    #[test]
    fn a_dictionary_whose_keys_overflow_is_an_error_naming_the_column() {
        // 128 distinct values fill `int8` keys; one more cannot be stored.
        let texts: StringArray = (0..129).map(|i| Some(format!("v{}", i % 128))).collect();
        let data_type = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
        let column = cast(&texts, &data_type).unwrap();
        let err = replace_strings(column.as_ref(), &[(128, Some("new"))], "meta").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "column `meta`: the edited values cannot be stored as Dictionary(Int8, Utf8)"
            ),
            "{err}"
        );
    }

    #[test]
    fn edited_views_keep_the_unedited_values_in_place() {
        let values: StringViewArray = [
            Some("a question long enough to live out of line"),
            None,
            Some("short"),
            Some("another value stored out of line, untouched"),
        ]
        .into_iter()
        .collect();
        let edits = [
            (1, Some("now set, and long enough to be out of line")),
            (2, None),
        ];
        let replaced = replace_strings(&values, &edits, "value").unwrap();
        let replaced = replaced.as_string_view();
        let got: Vec<Option<&str>> = replaced.iter().collect();
        assert_eq!(
            got,
            [
                Some("a question long enough to live out of line"),
                Some("now set, and long enough to be out of line"),
                None,
                Some("another value stored out of line, untouched"),
            ]
        );
        // The unedited values were not copied: their bytes are the input's.
        assert!(
            replaced
                .data_buffers()
                .iter()
                .any(|b| b.as_ptr() == values.data_buffers()[0].as_ptr())
        );
        assert_eq!(replaced.views()[0], values.views()[0]);
    }
    /// Hugging Face chat-template rows: each content a list of parts.
    fn parts_batch() -> (FieldMap, RecordBatch) {
        let rows = concat!(
            r#"{"messages": [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]}, "#,
            r#"{"role": "user", "content": [{"type": "image", "text": null}, {"type": "text", "text": "What shape?"}]}, "#,
            r#"{"role": "assistant", "content": [{"type": "text", "text": "A circle."}]}]}"#,
            "\n",
            r#"{"messages": [{"role": "user", "content": null}, "#,
            r#"{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}]}"#,
            "\n",
        );
        let (schema, _) =
            arrow::json::reader::infer_json_schema(std::io::Cursor::new(rows), None).unwrap();
        let batch = arrow::json::ReaderBuilder::new(Arc::new(schema))
            .build(std::io::Cursor::new(rows))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let map = FieldMap::detect(&batch.schema(), "t.parquet".as_ref()).unwrap();
        (map, batch)
    }

    #[test]
    fn parts_are_fields_of_their_turns_role_and_edited_in_place() {
        let (map, batch) = parts_batch();
        let conversation = map.conversation.as_ref().unwrap();
        assert_eq!(conversation.part_text_key.as_deref(), Some("text"));
        let text = BatchText::try_new(&map, &batch).unwrap();
        // Each row's fields as (role, source, text).
        let read = |text: &BatchText<'_>| {
            (0..text.num_rows())
                .map(|row| {
                    text.fields(row)
                        .iter()
                        .map(|f| format!("{} {} {}", f.role, f.source, f.text))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            read(&text),
            [
                vec![
                    "system messages[0].content[0] Be brief.",
                    // The image part has no text: no field.
                    "user messages[1].content[1] What shape?",
                    "assistant messages[2].content[0] A circle.",
                ],
                vec![
                    "user messages[1].content[0] Hi",
                    "user messages[1].content[1] there",
                ],
            ]
        );
        let fields = text.fields(0);
        let target = EditTarget::of(&map, fields[1].source).unwrap();
        assert_eq!(target, EditTarget::TurnPart(1, 1));
        let edits = [
            TextEdit {
                row: 0,
                target,
                text: Some("What?"),
            },
            TextEdit {
                row: 1,
                target: EditTarget::TurnPart(1, 0),
                text: None,
            },
        ];
        let columns = apply_text_edits(&map, &batch, &edits).unwrap();
        let edited = RecordBatch::try_new(batch.schema(), columns).unwrap();
        let text = BatchText::try_new(&map, &edited).unwrap();
        assert_eq!(
            read(&text),
            [
                vec![
                    "system messages[0].content[0] Be brief.",
                    "user messages[1].content[1] What?",
                    "assistant messages[2].content[0] A circle.",
                ],
                vec!["user messages[1].content[1] there"],
            ]
        );
        // Only the parts' text changed: their types are the same array.
        let types = |batch: &RecordBatch| {
            let turns = batch
                .column(0)
                .as_list::<i32>()
                .values()
                .as_struct()
                .clone();
            let parts = turns
                .column_by_name("content")
                .unwrap()
                .as_list::<i32>()
                .clone();
            Arc::clone(parts.values().as_struct().column_by_name("type").unwrap())
        };
        assert!(Arc::ptr_eq(&types(&edited), &types(&batch)));
    }
}
