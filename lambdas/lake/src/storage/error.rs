//! What can go wrong with a store, named for the logs.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "invalid storage location {location:?}: {why} (expected a bucket name, s3://bucket or file:///absolute/dir)"
    )]
    BadLocation { location: String, why: String },
    // The store's error is in the message whole (object_store's messages carry their causes),
    // not repeated as a source: a chain printed in full says it once.
    #[error("cannot open {location}: {error}")]
    Open {
        location: String,
        error: Box<object_store::Error>,
    },
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{op} {location}/{key} failed: {error}")]
    Io {
        op: &'static str,
        location: String,
        key: String,
        error: Box<object_store::Error>,
    },
}

impl StorageError {
    /// Whether the store (the bucket) itself is not there: a listing answered "not found".
    /// object_store models no `NoSuchBucket`: S3's error code in the answer decides.
    pub fn is_not_found(&self) -> bool {
        match self {
            StorageError::Io { error, .. } => match &**error {
                object_store::Error::NotFound { .. } => true,
                other => other.to_string().contains("<Code>NoSuchBucket</Code>"),
            },
            _ => false,
        }
    }
}
