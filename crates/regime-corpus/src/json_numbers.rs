//! JSON numbers read into the columns inference gave them, exactly or not
//! at all.
//!
//! The JSON decoder would read `2.5` into an integer column as `2`, and an
//! integer past 2⁵³ into a float column rounded. Records past the ones
//! inference read can hold either. So integer and float columns are decoded
//! as the numbers' JSON text and parsed here: a value the column's type
//! cannot hold exactly is an error naming the field, never a changed value.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, OffsetSizeTrait, PrimitiveArray, RecordBatch,
    StructArray,
};
use arrow::datatypes::{ArrowPrimitiveType, DataType, FieldRef, Float64Type, Int64Type, SchemaRef};

use crate::retype::retyped_schema;

/// A JSON value a numeric column cannot hold exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InexactNumber {
    /// The field's path (`score`, `turns[].weight`).
    pub(crate) field: String,
    /// The value, as the record writes it.
    pub(crate) text: String,
    /// The column's type: `Int64` or `Float64`.
    pub(crate) column_type: DataType,
}

/// The schema JSON records are decoded with, for columns of `schema`: its
/// integer and float columns, nested ones included, as text, which
/// [`parse_numbers`] parses.
pub(crate) fn decoded_schema(schema: &SchemaRef) -> SchemaRef {
    let as_text =
        |t: &DataType| matches!(t, DataType::Int64 | DataType::Float64).then_some(DataType::Utf8);
    retyped_schema(schema, &as_text).unwrap_or_else(|| SchemaRef::clone(schema))
}

/// `batch`, decoded under [`decoded_schema`] of `schema`, with its numbers
/// parsed into `schema`'s columns.
pub(crate) fn parse_numbers(
    batch: RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, InexactNumber> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| parse_array(column, field.data_type(), field.name()))
        .collect::<Result<Vec<_>, _>>()?;
    // Same lengths and types as `schema` says: cannot fail.
    Ok(RecordBatch::try_new(SchemaRef::clone(schema), columns)
        .unwrap_or_else(|e| unreachable!("numbers parsed into their schema: {e}")))
}

fn parse_array(array: &ArrayRef, target: &DataType, path: &str) -> Result<ArrayRef, InexactNumber> {
    if array.data_type() == target {
        return Ok(ArrayRef::clone(array));
    }
    let inexact = |text: &str| InexactNumber {
        field: path.to_owned(),
        text: text.to_owned(),
        column_type: target.clone(),
    };
    Ok(match (target, array.data_type()) {
        (DataType::Int64, DataType::Utf8) => parse_text::<Int64Type>(array, exact_i64, inexact)?,
        (DataType::Float64, DataType::Utf8) => {
            parse_text::<Float64Type>(array, exact_f64, inexact)?
        }
        (DataType::List(item), DataType::List(_)) => parse_list::<i32>(array, item, path)?,
        (DataType::LargeList(item), DataType::LargeList(_)) => {
            parse_list::<i64>(array, item, path)?
        }
        (DataType::Struct(fields), DataType::Struct(_)) => {
            let inner = array.as_struct();
            let columns = inner
                .columns()
                .iter()
                .zip(fields)
                .map(|(c, f)| parse_array(c, f.data_type(), &format!("{path}.{}", f.name())))
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(StructArray::new(
                fields.clone(),
                columns,
                inner.nulls().cloned(),
            ))
        }
        _ => unreachable!("decoded as {} for {target}", array.data_type()),
    })
}

/// The list array `array` with its items parsed into `item`'s type.
fn parse_list<O: OffsetSizeTrait>(
    array: &ArrayRef,
    item: &FieldRef,
    path: &str,
) -> Result<ArrayRef, InexactNumber> {
    let list = array.as_list::<O>();
    let values = parse_array(list.values(), item.data_type(), &format!("{path}[]"))?;
    Ok(Arc::new(GenericListArray::<O>::new(
        FieldRef::clone(item),
        list.offsets().clone(),
        values,
        list.nulls().cloned(),
    )))
}

/// The text array `array` parsed into `T` values by `exact`; the first
/// value it cannot parse is `inexact`'s error.
fn parse_text<T: ArrowPrimitiveType>(
    array: &ArrayRef,
    exact: impl Fn(&str) -> Option<T::Native>,
    inexact: impl Fn(&str) -> InexactNumber,
) -> Result<ArrayRef, InexactNumber> {
    let parsed = array
        .as_string::<i32>()
        .iter()
        .map(|value| {
            value
                .map(|t| exact(t).ok_or_else(|| inexact(t)))
                .transpose()
        })
        .collect::<Result<PrimitiveArray<T>, _>>()?;
    Ok(Arc::new(parsed))
}

/// The integer `text` writes: an integer literal in range, or a number
/// with a zero fraction (`2.0`, `1e3`) below 2⁵³, where a float read from
/// it is the integer it writes.
fn exact_i64(text: &str) -> Option<i64> {
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    let value = text.parse::<f64>().ok()?;
    // Whole and below 2⁵³ (from 2⁵³ on, `9007199254740993.0` reads as
    // 2⁵³): the conversion is exact.
    #[expect(clippy::cast_possible_truncation, reason = "whole and below 2⁵³")]
    (value.fract() == 0.0 && value.abs() < MAX_EXACT).then_some(value as i64)
}

/// The float `text` writes. An integer literal past 2⁵³ must be one a
/// float holds exactly; other literals are read as the nearest float, as
/// JSON readers do.
fn exact_f64(text: &str) -> Option<f64> {
    let value = text.parse::<f64>().ok()?;
    let integer = text
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'));
    if integer && value.abs() >= MAX_EXACT {
        let exact = text.parse::<i128>().ok()?;
        // Past 2⁵³ a float is an integer, held exactly by an i128 in range.
        #[expect(clippy::cast_possible_truncation, reason = "an integer i128 holds")]
        let held = value as i128;
        return (held == exact).then_some(value);
    }
    Some(value)
}

/// 2⁵³: every integer up to it is a float exactly.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ListArray, StringArray};
    use arrow::datatypes::{Field, Fields, Schema};

    #[test]
    fn integers_are_exact_or_refused() {
        for (text, value) in [
            ("7", Some(7)),
            ("-0", Some(0)),
            ("2.0", Some(2)),
            ("1e3", Some(1000)),
        ] {
            assert_eq!(exact_i64(text), value, "{text}");
        }
        for text in [
            "2.5",
            "-0.5",
            "1e300",
            "9223372036854775808",
            "true",
            "abc",
            "1e17",
            "9007199254740993.0",
        ] {
            assert_eq!(exact_i64(text), None, "{text}");
        }
        assert_eq!(exact_i64("-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn floats_hold_large_integers_exactly_or_refuse_them() {
        assert_eq!(exact_f64("2.5"), Some(2.5));
        assert_eq!(exact_f64("0.1"), Some(0.1));
        assert_eq!(exact_f64("9007199254740992"), Some(9_007_199_254_740_992.0));
        assert_eq!(
            exact_f64("18446744073709551616"),
            Some(18_446_744_073_709_551_616.0)
        );
        assert_eq!(exact_f64("9007199254740993"), None);
        assert_eq!(exact_f64("18446744073709551615"), None);
        assert_eq!(exact_f64("-9007199254740993"), None);
        assert_eq!(exact_f64("x"), None);
    }

    #[test]
    fn nested_numbers_are_parsed_and_named_by_path() {
        let turn = Fields::from(vec![Field::new("w", DataType::Int64, true)]);
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new_list(
                "turns",
                Field::new("item", DataType::Struct(turn), true),
                true,
            ),
        ]));
        let decoded = decoded_schema(&schema);
        let DataType::List(item) = decoded.field(1).data_type() else {
            panic!("{decoded:?}")
        };
        let DataType::Struct(fields) = item.data_type() else {
            panic!("{item:?}")
        };
        assert_eq!(fields[0].data_type(), &DataType::Utf8);
        let batch = |weights: Vec<Option<&str>>| {
            let w = Arc::new(StringArray::from(weights)) as ArrayRef;
            let structs = StructArray::new(fields.clone(), vec![w], None);
            let list = ListArray::new(
                FieldRef::clone(item),
                arrow::buffer::OffsetBuffer::from_lengths([1, 1]),
                Arc::new(structs),
                None,
            );
            let id = Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef;
            RecordBatch::try_new(SchemaRef::clone(&decoded), vec![id, Arc::new(list)]).unwrap()
        };
        let parsed = parse_numbers(batch(vec![Some("3"), None]), &schema).unwrap();
        assert_eq!(parsed.schema(), schema);
        let turns = parsed.column(1).as_list::<i32>();
        let w = turns
            .values()
            .as_struct()
            .column(0)
            .as_primitive::<Int64Type>();
        assert_eq!((w.value(0), w.is_null(1)), (3, true));
        assert_eq!(
            parse_numbers(batch(vec![Some("3"), Some("2.5")]), &schema),
            Err(InexactNumber {
                field: "turns[].w".into(),
                text: "2.5".into(),
                column_type: DataType::Int64,
            })
        );
    }
}
