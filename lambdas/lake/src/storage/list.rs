//! Listing a store: every object under a prefix, or the "directories" right under it.

use futures::TryStreamExt;
use object_store::path::Path;

use super::files::{list_files, local_error};
use super::{ObjectInfo, Storage, StorageError};

impl Storage {
    /// Lists the keys under a prefix (all pages), sorted. Cheaper than [`Storage::list`] on a
    /// local directory, where sizes and times cost a `stat` per file.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let objects = self.list_with(prefix, false).await?;
        Ok(objects.into_iter().map(|o| o.key).collect())
    }

    /// The "directories" right under `prefix` (which ends with `/`): S3's common prefixes for the
    /// delimiter `/`, so a listing of days costs a page per thousand days, not a page per
    /// thousand objects. Each is `prefix` and a name, without the trailing `/`; sorted.
    pub async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        if let Some(root) = &self.local_root {
            let dir = root.join(prefix.trim_end_matches('/'));
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(local_error("list", &self.location, prefix, e)),
            };
            let mut dirs = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| local_error("list", &self.location, prefix, e))?;
                if entry.file_type().is_ok_and(|t| t.is_dir())
                    && let Ok(name) = entry.file_name().into_string()
                {
                    dirs.push(format!("{prefix}{name}"));
                }
            }
            dirs.sort_unstable();
            return Ok(dirs);
        }
        let listed = self
            .store
            .list_with_delimiter(Some(&Path::from(prefix)))
            .await
            .map_err(|e| self.io("list", prefix, e))?;
        let mut dirs: Vec<String> = listed
            .common_prefixes
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        dirs.sort_unstable();
        Ok(dirs)
    }

    /// Lists every object under a prefix (all pages), sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        self.list_with(prefix, true).await
    }

    async fn list_with(&self, prefix: &str, stat: bool) -> Result<Vec<ObjectInfo>, StorageError> {
        if let Some(root) = &self.local_root {
            let (root, dir, location) = (root.clone(), prefix.to_owned(), self.location.clone());
            let listed = tokio::task::spawn_blocking(move || list_files(&root, &dir, stat));
            let mut objects = match listed.await {
                Ok(Ok(objects)) => objects,
                Ok(Err(e)) => return Err(local_error("list", &location, prefix, e)),
                Err(join) => {
                    return Err(local_error(
                        "list",
                        &location,
                        prefix,
                        std::io::Error::other(join),
                    ));
                }
            };
            objects.sort_unstable_by(|a, b| a.key.cmp(&b.key));
            return Ok(objects);
        }
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
