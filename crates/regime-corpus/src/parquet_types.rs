//! The Arrow types a parquet output is written with.
//!
//! Parquet has no logical type for a few Arrow types: the parquet crate
//! writes `date64`, `timestamp[s]` and `time32[s]` as bare integers that
//! only Arrow readers honouring the embedded Arrow schema read back as
//! dates and times (pyarrow, polars and duckdb read integers). They are
//! written as pyarrow writes them instead: `date32`, `timestamp[ms]` (time
//! zone kept) and `time32[ms]`, the values converted exactly. Types parquet
//! cannot hold at all (unions, nanosecond intervals, structs without
//! fields) are named before anything is written.

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, IntervalUnit, Schema, SchemaRef, TimeUnit};

use crate::error::{Error, Result};
use crate::retype::retyped_schema;
use crate::string_views::cast_to;

/// The first column of `schema` parquet cannot hold, by its path
/// (`meta.when`, `turns[]`), and why.
#[must_use]
pub fn unwritable_column(schema: &Schema) -> Option<(String, &'static str)> {
    schema
        .fields()
        .iter()
        .find_map(|field| unwritable(field.name(), field.data_type()))
}

fn unwritable(path: &str, data_type: &DataType) -> Option<(String, &'static str)> {
    let child = |name: &str| format!("{path}.{name}");
    match data_type {
        DataType::Union(..) => Some((path.to_owned(), "parquet has no union type")),
        DataType::Interval(IntervalUnit::MonthDayNano) => Some((
            path.to_owned(),
            "parquet's INTERVAL holds milliseconds, not nanoseconds",
        )),
        DataType::Struct(fields) if fields.is_empty() => Some((
            path.to_owned(),
            "parquet cannot hold a struct without fields",
        )),
        DataType::Struct(fields) => fields
            .iter()
            .find_map(|f| unwritable(&child(f.name()), f.data_type())),
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::FixedSizeList(item, _)
        | DataType::ListView(item)
        | DataType::LargeListView(item) => unwritable(&format!("{path}[]"), item.data_type()),
        DataType::Map(entries, _) => unwritable(path, entries.data_type()),
        DataType::Dictionary(_, values) => unwritable(path, values),
        DataType::RunEndEncoded(_, values) => unwritable(path, values.data_type()),
        _ => None,
    }
}

/// A type parquet has no logical type for, as it is written (see the
/// module docs).
fn stored_leaf(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Date64 => Some(DataType::Date32),
        DataType::Timestamp(TimeUnit::Second, zone) => {
            Some(DataType::Timestamp(TimeUnit::Millisecond, zone.clone()))
        }
        DataType::Time32(TimeUnit::Second) => Some(DataType::Time32(TimeUnit::Millisecond)),
        _ => None,
    }
}

/// `schema` as it is written, or `None` when it is written as it is.
#[must_use]
pub(crate) fn stored_schema(schema: &Schema) -> Option<SchemaRef> {
    retyped_schema(schema, &stored_leaf)
}

/// `batch` converted to `stored` (its [`stored_schema`]). A value the
/// stored type cannot hold exactly (a `date64` that is not a whole day, a
/// `timestamp[s]` past the milliseconds' range) is an error naming the
/// column, never rounded.
pub(crate) fn to_stored(batch: &RecordBatch, stored: &SchemaRef) -> Result<RecordBatch> {
    let converted = cast_to(batch, stored).map_err(|e| Error::Unwritable {
        column: first_converted(&batch.schema(), stored),
        reason: e.to_string(),
    })?;
    for ((column, before), field) in converted
        .columns()
        .iter()
        .zip(batch.columns())
        .zip(batch.schema().fields())
    {
        if column.data_type() != before.data_type() && !round_trips(column, before) {
            return Err(Error::Unwritable {
                column: field.name().clone(),
                reason: format!(
                    "it holds a {} value that {}, the type parquet stores it as, cannot hold exactly",
                    before.data_type(),
                    column.data_type()
                ),
            });
        }
    }
    Ok(converted)
}

/// Whether `stored` converts back to `before` exactly.
fn round_trips(stored: &ArrayRef, before: &ArrayRef) -> bool {
    cast(stored, before.data_type()).is_ok_and(|back| back.to_data() == before.to_data())
}

/// The first column `stored` (the [`stored_schema`] of `schema`) writes as
/// another type.
pub(crate) fn first_converted(schema: &Schema, stored: &Schema) -> String {
    schema
        .fields()
        .iter()
        .zip(stored.fields())
        .find(|(field, to)| field.data_type() != to.data_type())
        .map(|(field, _)| field.name().clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use arrow::array::{
        AsArray, Date64Array, Int64Array, StructArray, Time32SecondArray, TimestampSecondArray,
    };
    use arrow::datatypes::{
        Date32Type, Time32MillisecondType, TimestampMillisecondType, UnionFields, UnionMode,
    };
    use arrow::datatypes::{Field, Fields};

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn dates_and_seconds_are_written_as_parquet_holds_them() {
        let when = TimestampSecondArray::from(vec![Some(1), None]).with_timezone("+01:00");
        let inner = StructArray::from(vec![(
            Arc::new(Field::new("at", when.data_type().clone(), true)),
            Arc::new(when) as ArrayRef,
        )]);
        let batch = RecordBatch::try_from_iter([
            (
                "day",
                Arc::new(Date64Array::from(vec![Some(2 * DAY_MS), None])) as ArrayRef,
            ),
            ("meta", Arc::new(inner) as ArrayRef),
            (
                "clock",
                Arc::new(Time32SecondArray::from(vec![Some(61), Some(0)])) as ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ])
        .unwrap();
        let stored = stored_schema(&batch.schema()).unwrap();
        let written = to_stored(&batch, &stored).unwrap();
        let day = written.column(0).as_primitive::<Date32Type>();
        assert_eq!((day.value(0), day.is_null(1)), (2, true));
        let at = written.column(1).as_struct().column(0);
        assert_eq!(
            at.data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("+01:00".into()))
        );
        assert_eq!(at.as_primitive::<TimestampMillisecondType>().value(0), 1000);
        let clock = written.column(2).as_primitive::<Time32MillisecondType>();
        assert_eq!(clock.value(0), 61_000);
        assert!(Arc::ptr_eq(written.column(3), batch.column(3)));
        assert!(
            stored_schema(&Schema::new(vec![Field::new("n", DataType::Int32, true)])).is_none()
        );
    }

    #[test]
    fn a_value_without_an_exact_stored_equal_is_an_error() {
        let batch = RecordBatch::try_from_iter([(
            "day",
            Arc::new(Date64Array::from(vec![DAY_MS + 1])) as ArrayRef,
        )])
        .unwrap();
        let stored = stored_schema(&batch.schema()).unwrap();
        let err = to_stored(&batch, &stored).unwrap_err().to_string();
        assert!(err.contains("column `day`"), "{err}");
    }

    #[test]
    fn names_the_column_parquet_cannot_hold() {
        let union = UnionFields::try_new(
            [0, 1],
            [
                Field::new("i", DataType::Int64, true),
                Field::new("s", DataType::Utf8, true),
            ],
        )
        .unwrap();
        let union_type = DataType::Union(union, UnionMode::Sparse);
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new(
                "meta",
                DataType::Struct(vec![Field::new("u", union_type, true)].into()),
                true,
            ),
        ]);
        assert_eq!(
            unwritable_column(&schema),
            Some(("meta.u".into(), "parquet has no union type"))
        );
        let empty = Schema::new(vec![Field::new_list(
            "turns",
            Field::new("item", DataType::Struct(Fields::empty()), true),
            true,
        )]);
        assert_eq!(
            unwritable_column(&empty).map(|(path, _)| path),
            Some("turns[]".into())
        );
    }
}
