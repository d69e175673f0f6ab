//! The data lake shared by the ingest Lambda, the ETL Lambda and the `tgpipe` CLI.
//!
//! Each piece of knowledge about the lake lives in exactly one module here:
//! [`layout`] (object keys), [`update`] (the Telegram Update model), [`day`] (which day an
//! update belongs to), [`row`] (update → enriched row), [`schema`] (the `telegram` table),
//! [`parquet_out`] (the Parquet writer, feature `parquet`) and [`storage`] (S3 or a local directory).

pub mod day;
pub mod env;
pub mod layout;
#[cfg(feature = "logging")]
pub mod logging;
pub mod metrics;
#[cfg(feature = "parquet")]
pub mod parquet_out;
pub mod row;
pub mod sample;
pub mod schema;
pub mod storage;
pub mod update;

pub use day::{DayError, TimeZone, day_of};
pub use row::{DayRows, Row};
pub use storage::{
    CredentialSource, Credentials, ObjectInfo, RequestLog, S3Access, Storage, StorageError,
};
pub use update::{Message, Update};
