//! The bytes of uploaded media, outside Postgres: written by the API when a file is uploaded,
//! read by the API (a signed URL is fetched) and by the worker (a post uses the file). One
//! [`MediaStore`] serves both processes, so they agree on where a key lives and on what a key
//! may be.
//!
//! **Backends are variants of one enum**, not implementations of a trait: a backend is what
//! it needs to reach its bytes (a directory today; an S3-compatible bucket's client, bucket
//! name and prefix later), and each method matches on it. Adding the bucket is one more
//! variant and its arm in [`MediaStore::put`] and [`MediaStore::get`] (the compiler points at
//! both), with no boxed futures and no dynamic dispatch; callers never learn which backend
//! runs. The row describing each file (type, size, pixels, hash, key) is
//! [`crate::MediaFiles`]'s.
//!
//! **Keys** are relative paths, `{tenant id}/{media id}.{extension}` ([`MediaStore::key`]),
//! which map one to one to object keys in a bucket. A key is checked on every read and
//! write to be made of plain path components only, so a key read from a row can never reach
//! outside the store's directory.

use std::path::{Component, Path, PathBuf};

use herald_domain::{MediaId, TenantId};

/// Where uploaded bytes live. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStore {
    /// A directory on a disk every API and worker process mounts (`media.dir`).
    Local { dir: PathBuf },
}

/// A media store read or write that failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaStoreError {
    /// The key is absolute or climbs out of the store (`..`): never a key Herald wrote.
    #[error("invalid media storage key")]
    InvalidKey,
    #[error("the media store failed: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaStore {
    /// The local directory `dir` (created on the first write).
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        MediaStore::Local { dir: dir.into() }
    }

    /// The key of a new file: independent of its content and of the name it was uploaded
    /// under, grouped by tenant.
    pub fn key(tenant_id: TenantId, id: MediaId, extension: &str) -> String {
        format!("{tenant_id}/{id}.{extension}")
    }

    /// Stores `bytes` under `key`, replacing what was there. A reader never sees half a
    /// file.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), MediaStoreError> {
        let key = checked(key)?;
        match self {
            MediaStore::Local { dir } => {
                let path = dir.join(key);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                // Write aside, then rename: the rename is atomic within one file system.
                let partial = path.with_extension("partial");
                tokio::fs::write(&partial, bytes).await?;
                tokio::fs::rename(&partial, &path).await?;
                Ok(())
            }
        }
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, MediaStoreError> {
        let key = checked(key)?;
        match self {
            MediaStore::Local { dir } => Ok(tokio::fs::read(dir.join(key)).await?),
        }
    }
}

impl MediaStore {
    /// Stores the file at `path` under `key` (a video, streamed: never read into memory
    /// whole). A reader never sees half a file.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), MediaStoreError> {
        let key = checked(key)?;
        match self {
            MediaStore::Local { dir } => {
                let target = dir.join(key);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                let partial = target.with_extension("partial");
                tokio::fs::copy(path, &partial).await?;
                tokio::fs::rename(&partial, &target).await?;
                Ok(())
            }
        }
    }

    /// Copies what is stored under `key` into the file at `path` (created or truncated),
    /// streamed; returns its size.
    pub async fn copy_to_file(&self, key: &str, path: &Path) -> Result<u64, MediaStoreError> {
        let key = checked(key)?;
        match self {
            MediaStore::Local { dir } => Ok(tokio::fs::copy(dir.join(key), path).await?),
        }
    }

    /// Deletes what is stored under `key`; a key with nothing under it is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), MediaStoreError> {
        let key = checked(key)?;
        match self {
            MediaStore::Local { dir } => match tokio::fs::remove_file(dir.join(key)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            },
        }
    }
}

/// `key` as a path, if it is relative and made of plain components only.
fn checked(key: &str) -> Result<&Path, MediaStoreError> {
    let path = Path::new(key);
    let plain = !key.is_empty()
        && !path.is_absolute()
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(path)
    } else {
        Err(MediaStoreError::InvalidKey)
    }
}
