//! Object storage for both buckets: S3 (or an S3 emulator) and a local directory, behind one type.
//!
//! A location is a bucket name (`my-bucket`), an `s3://bucket` URL, or a `file:///absolute/dir`
//! URL. S3 settings come from the standard environment (`AWS_REGION`, credentials,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`), as the Lambda runtime and the AWS CLI provide them.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

mod error;
mod files;
mod list;
mod s3;

pub use error::StorageError;
pub use s3::{CredentialSource, Credentials, EXPECTED_OWNER_HEADER, RequestLog, S3Access};

use files::{TEMP_COUNTER, create_private_dir, local_error, read_files, write_private};

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
    /// The directory, for a local storage: bulk reads go to the file system directly, since one
    /// blocking-pool hand-off per small file costs more than reading it.
    local_root: Option<PathBuf>,
}

/// How many objects of a bulk read are fetched at once from S3.
pub const S3_FETCH_CONCURRENCY: usize = 64;
/// How many files one blocking task reads in a bulk read from a local directory.
const LOCAL_FILES_PER_TASK: usize = 256;

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.location)
            .finish()
    }
}

impl Storage {
    /// Opens a location: `bucket`, `s3://bucket`, or `file:///absolute/dir` (created if missing),
    /// with S3 settings from the environment.
    pub fn open(location: &str) -> Result<Storage, StorageError> {
        Self::open_with(location, std::iter::empty::<(&str, &str)>())
    }

    /// Like [`Storage::open`], with S3 settings (`aws_endpoint_url`, `aws_region`,
    /// `aws_allow_http`, …) given explicitly on top of the environment's.
    pub fn open_with<'a>(
        location: &str,
        s3_options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Storage, StorageError> {
        let bad = |why: &str| StorageError::BadLocation {
            location: location.to_owned(),
            why: why.to_owned(),
        };
        let location = location.trim();
        if location.is_empty() {
            return Err(bad("it is empty"));
        }
        if location.starts_with("file://") {
            let url = url::Url::parse(location).map_err(|e| bad(&e.to_string()))?;
            let dir = url
                .to_file_path()
                .map_err(|()| bad("a file:// URL needs an absolute path"))?;
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
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in s3_options {
            let key = key
                .parse()
                .map_err(|_| bad(&format!("unknown S3 option {key}")))?;
            builder = builder.with_config(key, value);
        }
        let owner = std::env::var(crate::env::BUCKET_OWNER).ok();
        let builder = s3::owned_by(builder, owner.as_deref()).map_err(|e| {
            bad(&format!(
                "{} is not a valid header value: {e}",
                crate::env::BUCKET_OWNER
            ))
        })?;
        let store = s3::in_partition(builder, bucket)
            .build()
            .map_err(|source| StorageError::Open {
                location: format!("s3://{bucket}"),
                error: Box::new(source),
            })?;
        Ok(Storage {
            store: Arc::new(store),
            location: format!("s3://{bucket}"),
            local_root: None,
        })
    }

    /// A bucket reached with settings given whole (`access`), not from the environment: the
    /// CLI's region, endpoint and credentials, so that it reads and writes objects through the
    /// same type as the Lambdas.
    pub fn s3(bucket: &str, access: &S3Access) -> Result<Storage, StorageError> {
        let location = format!("s3://{bucket}");
        let builder = access
            .builder(bucket)
            .map_err(|e| StorageError::BadLocation {
                location: location.clone(),
                why: format!("the expected bucket owner is not a valid header: {e}"),
            })?;
        let store = builder.build().map_err(|source| StorageError::Open {
            location: location.clone(),
            error: Box::new(source),
        })?;
        Ok(Storage {
            store: Arc::new(store),
            location,
            local_root: None,
        })
    }

    /// A local directory laid out like a bucket (created if missing).
    /// Directories it creates are the owner's only (0700): they hold people's messages.
    pub fn local(dir: impl Into<PathBuf>) -> Result<Storage, StorageError> {
        let dir = dir.into();
        create_private_dir(&dir).map_err(|source| StorageError::CreateDir {
            path: dir.clone(),
            error: source,
        })?;
        let location = format!("file://{}", dir.display());
        let store =
            LocalFileSystem::new_with_prefix(&dir).map_err(|source| StorageError::Open {
                location: location.clone(),
                error: Box::new(source),
            })?;
        Ok(Storage {
            store: Arc::new(store),
            location,
            local_root: Some(dir),
        })
    }

    /// A store in this process's memory, for tests that make many objects quickly.
    pub fn memory() -> Storage {
        Storage {
            store: Arc::new(object_store::memory::InMemory::new()),
            location: "memory://".to_owned(),
            local_root: None,
        }
    }

    /// Now, by the clock that stamps this store's objects: a local file carries the kernel's coarse
    /// clock, which may lag the system time by a tick, so it is read off a file written now.
    /// (S3's clock is not readable; its distance to ours is a margin the caller allows for.)
    pub async fn now(&self) -> Result<DateTime<Utc>, StorageError> {
        let Some(root) = &self.local_root else {
            return Ok(Utc::now());
        };
        let root = root.clone();
        let stamped = tokio::task::spawn_blocking(move || {
            // `#` marks an in-flight file that listings skip.
            let probe = root.join(format!(
                ".clock#{}-{}",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::write(&probe, b"")?;
            let modified = std::fs::metadata(&probe).and_then(|m| m.modified());
            let _ = std::fs::remove_file(&probe);
            modified.map(DateTime::<Utc>::from)
        })
        .await
        .unwrap_or_else(|join| Err(std::io::Error::other(join)));
        stamped.map_err(|e| local_error("stamp", &self.location, "", e))
    }

    /// Whether this is a local directory (which shares this machine's clock).
    pub fn is_local(&self) -> bool {
        self.local_root.is_some()
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
            error: Box::new(source),
        }
    }

    /// Writes an object whole (replacing any previous one). In a local directory the file is
    /// the owner's only (0600) and on disk (fsync) before this returns, so that a caller may
    /// confirm what it stored (Telegram's offset) without risking it in a crash.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        if let Some(root) = &self.local_root {
            return self.put_local(root, key, bytes, false).await.map(|_| ());
        }
        self.store
            .put(&Path::from(key), PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.io("put", key, e))
    }

    /// Writes an object only if there is none at `key` (S3's conditional write): `false` when
    /// one is there already.
    pub async fn put_if_absent(&self, key: &str, bytes: Bytes) -> Result<bool, StorageError> {
        if let Some(root) = &self.local_root {
            return self.put_local(root, key, bytes, true).await;
        }
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&Path::from(key), PutPayload::from_bytes(bytes), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(false),
            Err(e) => Err(self.io("put", key, e)),
        }
    }

    async fn put_local(
        &self,
        root: &std::path::Path,
        key: &str,
        bytes: Bytes,
        only_new: bool,
    ) -> Result<bool, StorageError> {
        let path = root.join(key);
        let written = tokio::task::spawn_blocking(move || write_private(&path, &bytes, only_new))
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join)));
        match written {
            Ok(()) => Ok(true),
            Err(e) if only_new && e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(local_error("put", &self.location, key, e)),
        }
    }

    /// Reads an object whole, or `None` when there is none.
    pub async fn get_opt(&self, key: &str) -> Result<Option<Bytes>, StorageError> {
        match self.get(key).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StorageError::Io { error: source, .. })
                if matches!(*source, object_store::Error::NotFound { .. }) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
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

    /// Reads many objects, several at a time, and hands each to `map` as it arrives (in no set
    /// order). On a local directory `map` runs on the reading threads, so that CPU-bound work such
    /// as parsing proceeds in parallel with the reads.
    pub fn get_many<T, F>(
        &self,
        keys: Vec<String>,
        map: F,
    ) -> BoxStream<'_, Result<T, StorageError>>
    where
        T: Send + 'static,
        F: Fn(String, Bytes) -> T + Send + Sync + 'static,
    {
        let map = Arc::new(map);
        match &self.local_root {
            None => stream::iter(keys)
                .map(move |key| {
                    let map = map.clone();
                    async move {
                        let bytes = self.get(&key).await?;
                        Ok(map(key, bytes))
                    }
                })
                .buffer_unordered(S3_FETCH_CONCURRENCY)
                .boxed(),
            Some(root) => {
                let tasks = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
                let chunks: Vec<Vec<String>> = keys
                    .chunks(LOCAL_FILES_PER_TASK)
                    .map(<[String]>::to_vec)
                    .collect();
                stream::iter(chunks)
                    .map(move |chunk| {
                        let (root, map) = (root.clone(), map.clone());
                        let location = self.location.clone();
                        async move {
                            let read = tokio::task::spawn_blocking(move || {
                                read_files(&root, &location, chunk, &*map)
                            });
                            read.await.unwrap_or_else(|join| {
                                Err(local_error(
                                    "get",
                                    &self.location,
                                    "",
                                    std::io::Error::other(join),
                                ))
                            })
                        }
                    })
                    .buffer_unordered(tasks)
                    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
                    .try_flatten()
                    .boxed()
            }
        }
    }

    /// Deletes an object; one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.io("delete", key, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn local_files_are_the_owners_only_and_conditional_writes_hold() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data/raw");
        let store = Storage::local(&dir).unwrap();
        store
            .put("telegram/context_date=2024-05-01/1.json", Bytes::from("{}"))
            .await
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&tmp.path().join("data")), 0o700);
        assert_eq!(mode(&dir.join("telegram/context_date=2024-05-01")), 0o700);
        assert_eq!(
            mode(&dir.join("telegram/context_date=2024-05-01/1.json")),
            0o600
        );
        assert!(
            store
                .put_if_absent("lease", Bytes::from("a"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .put_if_absent("lease", Bytes::from("b"))
                .await
                .unwrap()
        );
        assert_eq!(
            store.get_opt("lease").await.unwrap(),
            Some(Bytes::from("a"))
        );
        assert_eq!(store.get_opt("missing").await.unwrap(), None);
        // No temporary file is left, and none is listed.
        assert_eq!(
            store.list_keys("").await.unwrap(),
            vec!["lease", "telegram/context_date=2024-05-01/1.json"]
        );
    }
}
