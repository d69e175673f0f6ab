//! A local directory laid out like a bucket: files only the owner can read, written durably
//! (fsync), read and listed in bulk on the blocking pool.

use bytes::Bytes;

use chrono::{DateTime, Utc};

use super::{ObjectInfo, StorageError};

pub(super) fn local_error(
    op: &'static str,
    location: &str,
    key: &str,
    e: std::io::Error,
) -> StorageError {
    StorageError::Io {
        op,
        location: location.to_owned(),
        key: key.to_owned(),
        error: Box::new(object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(e),
        }),
    }
}

/// Creates a directory and its missing parents, readable by the owner only.
pub(super) fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a file the owner alone may read, durably: a temporary file is written and synced,
/// then renamed over the target (or, with `only_new`, linked, which fails when it exists), and the
/// directory is synced so that the name survives a crash too.
pub(super) fn write_private(
    path: &std::path::Path,
    bytes: &[u8],
    only_new: bool,
) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    // `#` marks an in-flight file that listings skip.
    let tmp = dir.join(format!(
        "{name}#{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if only_new {
            std::fs::hard_link(&tmp, path)?;
            std::fs::remove_file(&tmp)
        } else {
            std::fs::rename(&tmp, path)
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    std::fs::File::open(dir)?.sync_all()
}

pub(super) static TEMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(super) fn read_files<T>(
    root: &std::path::Path,
    location: &str,
    keys: Vec<String>,
    map: &dyn Fn(String, Bytes) -> T,
) -> Result<Vec<T>, StorageError> {
    keys.into_iter()
        .map(|key| match std::fs::read(root.join(&key)) {
            Ok(bytes) => Ok(map(key, Bytes::from(bytes))),
            Err(e) => Err(local_error("get", location, &key, e)),
        })
        .collect()
}

/// Lists the files below `root/prefix` as objects (keys relative to `root`, `/`-separated).
/// A missing directory is an empty listing, as an absent prefix is on S3. Without `stat`, sizes
/// and times are left at zero.
pub(super) fn list_files(
    root: &std::path::Path,
    prefix: &str,
    stat: bool,
) -> std::io::Result<Vec<ObjectInfo>> {
    let mut objects = Vec::new();
    let mut pending = vec![prefix.trim_end_matches('/').to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(root.join(&dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let key = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                pending.push(key);
            } else if file_type.is_file() && !key.contains('#') {
                // `#` marks object_store's in-flight temporary files.
                let (size, last_modified) = if stat {
                    let meta = entry.metadata()?;
                    (meta.len(), meta.modified().map(DateTime::<Utc>::from)?)
                } else {
                    (0, DateTime::<Utc>::UNIX_EPOCH)
                };
                objects.push(ObjectInfo {
                    key,
                    size,
                    last_modified,
                });
            }
        }
    }
    Ok(objects)
}
