//! The `telegram` table: the one definition of its columns, for Parquet, Glue and SQL.

//!
//! The column list needs no Arrow, so the ingest Lambda (which writes JSON only) and Glue use it
//! without linking Arrow; the Arrow schema and the batch builder come with the `parquet` feature.

#[cfg(feature = "parquet")]
pub use arrow::{schema, to_batch};

/// The table's name in Glue/Athena and locally.
pub const TABLE_NAME: &str = "telegram";

/// A column's type, in the lake's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int64,
    Boolean,
    Utf8,
}

impl ColumnType {
    /// The Hive/Athena type of a column, for the Glue table.
    pub fn athena(self) -> &'static str {
        match self {
            ColumnType::Int64 => "bigint",
            ColumnType::Boolean => "boolean",
            ColumnType::Utf8 => "string",
        }
    }
}

use ColumnType::{Boolean, Int64, Utf8};

/// Column name and type, in file order. The first eight are the original course project's.
pub const COLUMNS: [(&str, ColumnType); 16] = [
    ("message_id", Int64),
    ("user_id", Int64),
    ("user_is_bot", Boolean),
    ("user_first_name", Utf8),
    ("chat_id", Int64),
    ("chat_type", Utf8),
    ("text", Utf8),
    ("date", Int64),
    ("update_id", Int64),
    ("message_type", Utf8),
    ("user_last_name", Utf8),
    ("user_username", Utf8),
    ("chat_title", Utf8),
    ("caption", Utf8),
    ("reply_to_message_id", Int64),
    ("edit_date", Int64),
];

/// Columns that are never null.
pub const REQUIRED: [&str; 5] = ["message_id", "chat_id", "date", "update_id", "message_type"];

#[cfg(feature = "parquet")]
mod arrow {
    use std::sync::Arc;

    use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

    use super::{COLUMNS, ColumnType, REQUIRED};
    use crate::row::Row;

    fn arrow_type(ty: ColumnType) -> DataType {
        match ty {
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Utf8 => DataType::Utf8,
        }
    }

    /// The Arrow schema of the Parquet files (without the partition column).
    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(
            COLUMNS
                .iter()
                .map(|(name, ty)| Field::new(*name, arrow_type(*ty), !REQUIRED.contains(name)))
                .collect::<Vec<_>>(),
        ))
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
}
