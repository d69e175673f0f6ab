//! The `telegram` table: the one definition of its columns, for Parquet, Glue and SQL.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::row::Row;

/// The table's name in Glue/Athena and locally.
pub const TABLE_NAME: &str = "telegram";

/// Column name and type, in file order. The first eight are the original course project's.
pub const COLUMNS: [(&str, DataType); 16] = [
    ("message_id", DataType::Int64),
    ("user_id", DataType::Int64),
    ("user_is_bot", DataType::Boolean),
    ("user_first_name", DataType::Utf8),
    ("chat_id", DataType::Int64),
    ("chat_type", DataType::Utf8),
    ("text", DataType::Utf8),
    ("date", DataType::Int64),
    ("update_id", DataType::Int64),
    ("message_type", DataType::Utf8),
    ("user_last_name", DataType::Utf8),
    ("user_username", DataType::Utf8),
    ("chat_title", DataType::Utf8),
    ("caption", DataType::Utf8),
    ("reply_to_message_id", DataType::Int64),
    ("edit_date", DataType::Int64),
];

/// Columns that are never null.
const REQUIRED: [&str; 5] = ["message_id", "chat_id", "date", "update_id", "message_type"];

/// The Arrow schema of the Parquet files (without the partition column).
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|(name, ty)| Field::new(*name, ty.clone(), !REQUIRED.contains(name)))
            .collect::<Vec<_>>(),
    ))
}

/// The Hive/Athena type of a column, for the Glue table.
pub fn athena_type(ty: &DataType) -> &'static str {
    match ty {
        DataType::Int64 => "bigint",
        DataType::Boolean => "boolean",
        DataType::Date32 => "date",
        _ => "string",
    }
}

/// Rows → one Arrow batch of [`schema`].
pub fn to_batch(rows: &[Row]) -> Result<RecordBatch, ArrowError> {
    fn ints(rows: &[Row], f: impl Fn(&Row) -> Option<i64>) -> ArrayRef {
        let mut b = Int64Builder::with_capacity(rows.len());
        rows.iter().for_each(|r| b.append_option(f(r)));
        Arc::new(b.finish())
    }
    fn strs(rows: &[Row], f: impl Fn(&Row) -> Option<&str>) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
        rows.iter().for_each(|r| b.append_option(f(r)));
        Arc::new(b.finish())
    }
    let mut bots = BooleanBuilder::with_capacity(rows.len());
    rows.iter().for_each(|r| bots.append_option(r.user_is_bot));
    // Same order as COLUMNS; RecordBatch::try_new checks names, types and nullability.
    let columns: Vec<ArrayRef> = vec![
        ints(rows, |r| Some(r.message_id)),
        ints(rows, |r| r.user_id),
        Arc::new(bots.finish()),
        strs(rows, |r| r.user_first_name.as_deref()),
        ints(rows, |r| Some(r.chat_id)),
        strs(rows, |r| r.chat_type.as_deref()),
        strs(rows, |r| r.text.as_deref()),
        ints(rows, |r| Some(r.date)),
        ints(rows, |r| Some(r.update_id)),
        strs(rows, |r| Some(r.message_type)),
        strs(rows, |r| r.user_last_name.as_deref()),
        strs(rows, |r| r.user_username.as_deref()),
        strs(rows, |r| r.chat_title.as_deref()),
        strs(rows, |r| r.caption.as_deref()),
        ints(rows, |r| r.reply_to_message_id),
        ints(rows, |r| r.edit_date),
    ];
    RecordBatch::try_new(schema(), columns)
}
