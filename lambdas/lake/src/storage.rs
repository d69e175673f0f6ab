//! Object storage for both buckets: S3 (or an S3 emulator) and a local directory, behind one type.
//!
//! A location is a bucket name (`my-bucket`), an `s3://bucket` URL, or a `file:///absolute/dir`
//! URL. S3 settings come from the standard environment (`AWS_REGION`, credentials,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`), as the Lambda runtime and the AWS CLI provide them.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "invalid storage location {location:?}: {why} (expected a bucket name, s3://bucket or file:///absolute/dir)"
    )]
    BadLocation { location: String, why: String },
    #[error("cannot open {location}: {source}")]
    Open {
        location: String,
        source: object_store::Error,
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
        source: object_store::Error,
    },
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// A bucket (or a local directory laid out like one).
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.location)
            .finish()
    }
}

impl Storage {
    /// Opens a location: `bucket`, `s3://bucket`, or `file:///absolute/dir` (created if missing).
    pub fn open(location: &str) -> Result<Storage, StorageError> {
        let bad = |why: &str| StorageError::BadLocation {
            location: location.to_owned(),
            why: why.to_owned(),
        };
        let location = location.trim();
        if location.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some(rest) = location.strip_prefix("file://") {
            let url = url::Url::parse(location).map_err(|e| bad(&e.to_string()))?;
            let dir = url
                .to_file_path()
                .map_err(|()| bad("a file:// URL needs an absolute path"))?;
            let _ = rest;
            return Self::local(dir);
        }
        let bucket = match location.strip_prefix("s3://") {
            Some(rest) => rest.trim_end_matches('/'),
            None if location.contains("://") => return Err(bad("unsupported scheme")),
            None => location,
        };
        if bucket.is_empty() || bucket.contains('/') {
            return Err(bad("a bucket name cannot be empty or contain '/'"));
        }
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|source| StorageError::Open {
                location: format!("s3://{bucket}"),
                source,
            })?;
        Ok(Storage {
            store: Arc::new(store),
            location: format!("s3://{bucket}"),
        })
    }

    /// A local directory laid out like a bucket (created if missing).
    pub fn local(dir: impl Into<PathBuf>) -> Result<Storage, StorageError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| StorageError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let location = format!("file://{}", dir.display());
        let store = LocalFileSystem::new_with_prefix(&dir).map_err(|source| StorageError::Open {
            location: location.clone(),
            source,
        })?;
        Ok(Storage {
            store: Arc::new(store),
            location,
        })
    }

    /// Where this storage points, for messages (`s3://bucket` or `file:///dir`).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The underlying object store, for engines that read it directly.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    fn io(&self, op: &'static str, key: &str, source: object_store::Error) -> StorageError {
        StorageError::Io {
            op,
            location: self.location.clone(),
            key: key.to_owned(),
            source,
        }
    }

    /// Writes an object whole (replacing any previous one).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&Path::from(key), PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.io("put", key, e))
    }

    /// Reads an object whole.
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let path = Path::from(key);
        let result = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.io("get", key, e))?;
        result.bytes().await.map_err(|e| self.io("get", key, e))
    }

    /// Deletes an object; one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.io("delete", key, e)),
        }
    }

    /// Lists every object under a prefix (all pages), sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        let path = Path::from(prefix);
        let mut objects: Vec<ObjectInfo> = self
            .store
            .list(Some(&path))
            .map_ok(|meta| ObjectInfo {
                key: meta.location.to_string(),
                size: meta.size,
                last_modified: meta.last_modified,
            })
            .try_collect()
            .await
            .map_err(|e| self.io("list", prefix, e))?;
        objects.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}
