//! Dictionary columns read with 32-bit keys.
//!
//! pandas stores a categorical of fewer than 128 categories with 8-bit
//! codes, and pyarrow writes it so. A parquet row group's dictionary holds
//! the values of all its rows, and a stage that edits a column or gathers
//! rows from several row groups (condition C, de-duplication) can give one
//! row group more distinct values than 8 bits index: written with 8-bit
//! keys, that is a file neither pyarrow nor arrow-rs reads back. Inputs are
//! therefore read with 8- and 16-bit dictionary keys widened to `int32`
//! (pyarrow's own default), so outputs are written so; the values are the
//! same.

use arrow::datatypes::{DataType, Schema, SchemaRef};

use crate::retype::retyped_schema;

/// A dictionary type with 8- or 16-bit keys, with `int32` keys instead.
fn wide_keys(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Dictionary(key, values)
            if matches!(
                **key,
                DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16
            ) =>
        {
            Some(DataType::Dictionary(
                Box::new(DataType::Int32),
                values.clone(),
            ))
        }
        _ => None,
    }
}

/// `schema` with its dictionaries' 8- and 16-bit keys (nested ones
/// included) widened to `int32`; `None` when it has none.
#[must_use]
pub(crate) fn wide_key_schema(schema: &Schema) -> Option<SchemaRef> {
    retyped_schema(schema, &wide_keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;

    fn dictionary(key: DataType) -> DataType {
        DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8))
    }

    #[test]
    fn narrow_keys_widen_to_int32_nested_or_not() {
        let turn =
            DataType::Struct(vec![Field::new("from", dictionary(DataType::UInt8), true)].into());
        let schema = Schema::new(vec![
            Field::new("caption", dictionary(DataType::Int8), true),
            Field::new("turns", DataType::new_list(turn, true), true),
            Field::new("tag", dictionary(DataType::Int64), true),
        ]);
        let wide = wide_key_schema(&schema).unwrap();
        assert_eq!(wide.field(0).data_type(), &dictionary(DataType::Int32));
        let DataType::List(item) = wide.field(1).data_type() else {
            panic!("{:?}", wide.field(1));
        };
        assert_eq!(
            item.data_type(),
            &DataType::Struct(vec![Field::new("from", dictionary(DataType::Int32), true)].into())
        );
        assert_eq!(wide.field(2).data_type(), &dictionary(DataType::Int64));
        let wide_already = Schema::new(vec![Field::new("c", dictionary(DataType::Int32), true)]);
        assert!(wide_key_schema(&wide_already).is_none());
    }
}
