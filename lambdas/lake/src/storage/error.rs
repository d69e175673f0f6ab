//! What can go wrong with a store, named for the logs.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "invalid storage location {location:?}: {why} (expected a bucket name, s3://bucket or file:///absolute/dir)"
    )]
    BadLocation { location: String, why: String },
    #[error("cannot open {location}: {source}")]
    Open {
        location: String,
        source: Box<object_store::Error>,
    },
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{op} {location}/{key} failed: {source}")]
    Io {
        op: &'static str,
        location: String,
        key: String,
        source: Box<object_store::Error>,
    },
}
