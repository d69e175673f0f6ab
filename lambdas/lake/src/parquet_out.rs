//! The Parquet writer of the enriched table.

use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
pub use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::row::Row;
use crate::schema;

/// Rows per Parquet part; a larger day is written as several parts.
pub const ROWS_PER_PART: usize = 1_000_000;
/// Rows per row group inside a part.
const ROWS_PER_GROUP: usize = 128 * 1024;

/// Writes rows as one Snappy-compressed Parquet file, byte-for-byte deterministic.
pub fn write(rows: &[Row]) -> Result<Bytes, ParquetError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
        .build();
    let mut out = Vec::with_capacity(rows.len() * 64 + 4096);
    let mut writer = ArrowWriter::try_new(&mut out, schema::schema(), Some(props))?;
    for chunk in rows.chunks(ROWS_PER_GROUP) {
        writer.write(&schema::to_batch(chunk)?)?;
    }
    writer.close()?;
    Ok(Bytes::from(out))
}

/// Splits a day's rows into the parts to write (at least one for a non-empty day).
pub fn parts(rows: &[Row]) -> impl Iterator<Item = &[Row]> {
    rows.chunks(ROWS_PER_PART)
}
