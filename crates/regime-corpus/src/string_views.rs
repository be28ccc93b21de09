//! Reading string columns as Arrow string views (`Utf8View`).
//!
//! A view is 16 bytes pointing into the decoded page: a dictionary-encoded
//! parquet column (repeated prompts, speaker labels) is then read without
//! copying every value out of its dictionary, which is most of the decode
//! cost of prompt-heavy corpora. Views are for passes that read text, and
//! for passes that write it back through the splicing writer, which
//! encodes a view with the column's stored type.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::error::ArrowError;

use crate::retype::{retyped, retyped_schema};

/// `data_type` with every `Utf8` and `LargeUtf8`, nested ones included
/// (lists, large lists, structs), replaced by `Utf8View`. Dictionaries are
/// kept: the parquet reader already makes a column chunk's dictionary the
/// array's values rather than copying a value per row, and the stored type
/// is what an edited column must be written back as.
fn view_type(data_type: &DataType) -> DataType {
    retyped(data_type, &view_leaf).unwrap_or_else(|| data_type.clone())
}

fn view_leaf(data_type: &DataType) -> Option<DataType> {
    matches!(data_type, DataType::Utf8 | DataType::LargeUtf8).then_some(DataType::Utf8View)
}

/// Whether an array of type `read` holds a column stored as `stored`: the
/// same type, or the one read with string views ([`view_type`]).
pub(crate) fn reads_as(stored: &DataType, read: &DataType) -> bool {
    read == stored || *read == view_type(stored)
}

/// `schema` with its string columns read as views (see [`view_type`]).
#[must_use]
pub(crate) fn view_schema(schema: &Schema) -> SchemaRef {
    retyped_schema(schema, &view_leaf).unwrap_or_else(|| Arc::new(schema.clone()))
}

/// `batch` under `schema`: columns of its type are kept as they are (only
/// re-labelled), the others (JSONL strings when views are read) cast.
pub(crate) fn cast_to(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                cast(column, field.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, ListBuilder, StringBuilder, StructBuilder};
    use arrow::datatypes::{Field, Fields};

    fn turn_fields() -> Fields {
        Fields::from(vec![
            Field::new("from", DataType::Utf8, true),
            Field::new("value", DataType::LargeUtf8, true),
        ])
    }

    #[test]
    fn nested_strings_become_views_and_the_rest_stays() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("system", DataType::Utf8, true),
            Field::new(
                "conversations",
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(turn_fields()),
                    true,
                ))),
                true,
            ),
            Field::new("image", DataType::Binary, true),
        ]);
        let views = view_schema(&schema);
        let types: Vec<String> = views
            .fields()
            .iter()
            .map(|f| f.data_type().to_string())
            .collect();
        assert_eq!(types[0], "Int64");
        assert_eq!(types[1], "Utf8View");
        assert!(types[2].contains("Utf8View") && !types[2].contains("Utf8,"));
        assert_eq!(types[3], "Binary");
        // Names and nullability are kept.
        assert_eq!(views.field(1).name(), "system");
        assert!(views.field(1).is_nullable() && !views.field(0).is_nullable());
    }

    #[test]
    fn a_conversation_column_casts_to_views() {
        let mut list = ListBuilder::new(StructBuilder::from_fields(turn_fields(), 2));
        for (from, value) in [("human", "what is it?"), ("gpt", "a square")] {
            let turn = list.values();
            turn.field_builder::<StringBuilder>(0)
                .expect("from")
                .append_value(from);
            turn.field_builder::<arrow::array::LargeStringBuilder>(1)
                .expect("value")
                .append_value(value);
            turn.append(true);
        }
        list.append(true);
        let column = Arc::new(list.finish());
        let schema = Schema::new(vec![Field::new(
            "conversations",
            column.data_type().clone(),
            true,
        )]);
        let batch = RecordBatch::try_new(Arc::new(schema.clone()), vec![column]).expect("batch");
        let views = view_schema(&schema);
        let cast = cast_to(&batch, &views).expect("cast");
        assert_eq!(cast.schema(), views);
        let turns = cast.column(0).as_list::<i32>().values().as_struct().clone();
        let values = turns.column(1).as_string_view();
        assert_eq!(values.value(0), "what is it?");
        assert_eq!(values.value(1), "a square");
        assert_eq!(turns.len(), 2);
    }
}
