//! Arrow types with some of their leaves replaced: the one walk behind
//! reading strings as views, decoding JSON numbers as text and writing
//! types parquet lacks as their nearest.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};

/// `data_type` with every type `leaf` replaces (at the top, or nested in
/// lists, large lists and structs) replaced; `None` when `leaf` replaces
/// none. Field names, nullability and metadata are kept.
pub(crate) fn retyped(
    data_type: &DataType,
    leaf: &impl Fn(&DataType) -> Option<DataType>,
) -> Option<DataType> {
    if let Some(replaced) = leaf(data_type) {
        return Some(replaced);
    }
    match data_type {
        DataType::List(item) => retyped_field(item, leaf).map(DataType::List),
        DataType::LargeList(item) => retyped_field(item, leaf).map(DataType::LargeList),
        DataType::Struct(fields) => retyped_fields(fields, leaf).map(DataType::Struct),
        _ => None,
    }
}

fn retyped_field(
    field: &FieldRef,
    leaf: &impl Fn(&DataType) -> Option<DataType>,
) -> Option<FieldRef> {
    retyped(field.data_type(), leaf).map(|t| Arc::new(Field::clone(field).with_data_type(t)))
}

fn retyped_fields(
    fields: &Fields,
    leaf: &impl Fn(&DataType) -> Option<DataType>,
) -> Option<Fields> {
    let retyped: Vec<Option<FieldRef>> = fields.iter().map(|f| retyped_field(f, leaf)).collect();
    retyped.iter().any(Option::is_some).then(|| {
        fields
            .iter()
            .zip(retyped)
            .map(|(field, retyped)| retyped.unwrap_or_else(|| FieldRef::clone(field)))
            .collect()
    })
}

/// `schema` with its columns [`retyped`] (metadata kept); `None` when
/// `leaf` replaces no type in it.
pub(crate) fn retyped_schema(
    schema: &Schema,
    leaf: &impl Fn(&DataType) -> Option<DataType>,
) -> Option<SchemaRef> {
    retyped_fields(schema.fields(), leaf)
        .map(|fields| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}
