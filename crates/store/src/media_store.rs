//! The bytes of uploaded media, outside Postgres: written by the API when a file is uploaded,
//! read by the API (a signed URL is fetched) and by the worker (a post uses the file). One
//! [`MediaStore`] serves both processes, so they agree on where a key lives and on what a key
//! may be.
//!
//! **Backends are variants of one enum**, not implementations of a trait: a backend is what
//! it needs to reach its bytes (a directory; an S3-compatible bucket's client, bucket name
//! and prefix), and each method matches on it. Adding a backend is one more variant and its
//! arm in every method (the compiler points at each), with no boxed futures of our own and
//! no dynamic dispatch; callers never learn which backend runs. The row describing each file
//! (type, size, pixels, hash, key) is [`crate::MediaFiles`]'s.
//!
//! **Keys** are relative paths, `{tenant id}/{media id}.{extension}` ([`MediaStore::key`]),
//! which map one to one to object keys in a bucket (under its prefix). A key is checked on
//! every read and write to be made of plain path components only, so a key read from a row
//! can never reach outside the store's directory or prefix.
//!
//! **Videos are never held in memory whole**: [`MediaStore::put_file`] streams a file to the
//! store (a multipart upload in parts of [`PART_SIZE`] on S3, a few parts in flight),
//! [`MediaStore::copy_to_file`] streams it back to disk, and [`MediaStore::open`] hands out
//! a stream (of a byte range, if asked) for the API to serve.
//!
//! **Presigned URLs**: [`MediaStore::presigned_get`] makes a time-limited GET URL straight to
//! the bucket, so Instagram and Threads (which fetch media by URL) can download a large video
//! from S3 rather than through the API. The local store has none; there the API's own signed
//! URLs (`crate::MediaFiles::signed_url`) serve the file.
//!
//! **Credentials** stay inside the S3 client: [`MediaStore`]'s `Debug` shows the bucket,
//! endpoint and prefix only, and errors carry the object store's message (status, key), never
//! a signature or a secret.

use std::fmt;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use herald_domain::{MediaId, TenantId};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::signer::Signer;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The size of one part of a multipart upload (S3 wants at least 5 MiB for every part but
/// the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts of one multipart upload in flight at once: bounds an upload's memory to a few
/// parts.
const PARTS_IN_FLIGHT: usize = 2;

/// Where uploaded bytes live. Cheap to clone.
#[derive(Debug, Clone)]
pub enum MediaStore {
    /// A directory on a disk every API and worker process mounts (`media.dir`).
    Local { dir: PathBuf },
    /// An S3-compatible bucket (`media.store = "s3"`).
    S3(S3Bucket),
}

/// A bucket and the client that reaches it.
#[derive(Clone)]
pub struct S3Bucket {
    client: Arc<AmazonS3>,
    bucket: String,
    endpoint: Option<String>,
    /// Prepended to every key, with its `/` (empty for none).
    prefix: String,
}

impl fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client holds the credentials: never printed.
        f.debug_struct("S3Bucket")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// How to reach a bucket (`media.s3.*`).
#[derive(Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    /// `us-east-1` when unset.
    pub region: Option<String>,
    /// An S3-compatible server's URL (MinIO, R2, a test server); AWS when unset.
    pub endpoint: Option<String>,
    /// Keys live under `{prefix}/` when set.
    pub prefix: Option<String>,
    /// Static credentials; when unset, the instance's role (EC2/ECS metadata) is used.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
    /// Plain http to the endpoint: the configuration allows it only for a loopback endpoint
    /// in development.
    pub allow_http: bool,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

/// A media store read or write that failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaStoreError {
    /// The key is absolute or climbs out of the store (`..`): never a key Herald wrote.
    #[error("invalid media storage key")]
    InvalidKey,
    /// A file or bucket operation failed; a missing key is [`std::io::ErrorKind::NotFound`]
    /// on either backend.
    #[error("the media store failed: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaStoreError {
    /// Whether nothing is stored under the key.
    pub fn is_not_found(&self) -> bool {
        matches!(self, MediaStoreError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl From<object_store::Error> for MediaStoreError {
    fn from(error: object_store::Error) -> Self {
        let kind = match error {
            object_store::Error::NotFound { .. } => std::io::ErrorKind::NotFound,
            _ => std::io::ErrorKind::Other,
        };
        MediaStoreError::Io(std::io::Error::new(kind, error))
    }
}

/// Stored bytes being read: the object's whole size, the range being read, and its bytes.
pub struct MediaRead {
    pub size: u64,
    pub range: Range<u64>,
    pub body: BoxStream<'static, Result<Bytes, MediaStoreError>>,
}

impl fmt::Debug for MediaRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaRead")
            .field("size", &self.size)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl MediaStore {
    /// The local directory `dir` (created on the first write).
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        MediaStore::Local { dir: dir.into() }
    }

    /// The store the configuration names (`media.store`): the local directory or the S3
    /// bucket. The API and the worker both build theirs here, so they agree on where a key
    /// lives.
    pub fn from_config(media: &herald_config::MediaConfig) -> Result<Self, MediaStoreError> {
        match media.store {
            herald_config::MediaStoreKind::Local => Ok(MediaStore::local(media.dir.clone())),
            herald_config::MediaStoreKind::S3 => {
                let s3 = &media.s3;
                MediaStore::s3(S3Settings {
                    bucket: s3.bucket.clone().unwrap_or_default(),
                    region: s3.region.clone(),
                    endpoint: s3.endpoint.clone(),
                    prefix: s3.prefix.clone(),
                    access_key_id: s3.access_key_id.clone(),
                    secret_access_key: s3.secret_access_key.clone(),
                    session_token: s3.session_token.clone(),
                    allow_http: s3.allow_http,
                })
            }
        }
    }

    /// The bucket `settings` describe. Nothing is sent until the first operation; an error
    /// here is a setting the client cannot use (names no secret).
    pub fn s3(settings: S3Settings) -> Result<Self, MediaStoreError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(settings.allow_http)
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(300)),
            );
        if let Some(endpoint) = &settings.endpoint {
            // S3-compatible servers address buckets by path, not by subdomain.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose_secret());
            if let Some(token) = &settings.session_token {
                builder = builder.with_token(token.expose_secret());
            }
        }
        let client = builder.build().map_err(MediaStoreError::from)?;
        let prefix = settings
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        if !prefix.is_empty() {
            checked(prefix.trim_end_matches('/'))?;
        }
        Ok(MediaStore::S3(S3Bucket {
            client: Arc::new(client),
            bucket: settings.bucket,
            endpoint: settings.endpoint,
            prefix,
        }))
    }

    /// The key of a new file: independent of its content and of the name it was uploaded
    /// under, grouped by tenant.
    pub fn key(tenant_id: TenantId, id: MediaId, extension: &str) -> String {
        format!("{tenant_id}/{id}.{extension}")
    }

    /// Stores `bytes` under `key`, replacing what was there. A reader never sees half a
    /// file.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), MediaStoreError> {
        let path = checked(key)?;
        match self {
            MediaStore::Local { dir } => {
                let path = dir.join(path);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                // Write aside, then rename: the rename is atomic within one file system.
                let partial = path.with_extension("partial");
                tokio::fs::write(&partial, bytes).await?;
                tokio::fs::rename(&partial, &path).await?;
                Ok(())
            }
            MediaStore::S3(s3) => {
                s3.client
                    .put(&s3.object(key)?, PutPayload::from(bytes.to_vec()))
                    .await?;
                Ok(())
            }
        }
    }

    /// The bytes stored under `key` (images: small enough to hold).
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, MediaStoreError> {
        let path = checked(key)?;
        match self {
            MediaStore::Local { dir } => Ok(tokio::fs::read(dir.join(path)).await?),
            MediaStore::S3(s3) => Ok(s3.client.get(&s3.object(key)?).await?.bytes().await?.into()),
        }
    }

    /// Stores the file at `path` under `key` (a video, streamed: never read into memory
    /// whole; on S3 a multipart upload). A reader never sees half a file.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), MediaStoreError> {
        let relative = checked(key)?;
        match self {
            MediaStore::Local { dir } => {
                let target = dir.join(relative);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                let partial = target.with_extension("partial");
                tokio::fs::copy(path, &partial).await?;
                tokio::fs::rename(&partial, &target).await?;
                Ok(())
            }
            MediaStore::S3(s3) => {
                let mut file = tokio::fs::File::open(path).await?;
                let upload = s3.client.put_multipart(&s3.object(key)?).await?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
                let mut buffer = vec![0u8; 1024 * 1024];
                let sent: Result<(), MediaStoreError> = async {
                    loop {
                        let read = file.read(&mut buffer).await?;
                        if read == 0 {
                            return Ok(());
                        }
                        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                        writer.write(&buffer[..read]);
                    }
                }
                .await;
                match sent {
                    Ok(()) => {
                        writer.finish().await?;
                        Ok(())
                    }
                    Err(e) => {
                        // The parts already sent are released; the read error is the news.
                        let _ = writer.abort().await;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Copies what is stored under `key` into the file at `path` (created or truncated),
    /// streamed; returns its size.
    pub async fn copy_to_file(&self, key: &str, path: &Path) -> Result<u64, MediaStoreError> {
        let relative = checked(key)?;
        match self {
            MediaStore::Local { dir } => Ok(tokio::fs::copy(dir.join(relative), path).await?),
            MediaStore::S3(_) => {
                let mut read = self.open(key, None).await?;
                let mut file = tokio::fs::File::create(path).await?;
                let mut written = 0u64;
                while let Some(chunk) = read.body.try_next().await? {
                    file.write_all(&chunk).await?;
                    written += chunk.len() as u64;
                }
                file.flush().await?;
                file.sync_all().await?;
                Ok(written)
            }
        }
    }

    /// A stream of what is stored under `key`: all of it, or the byte `range` (clamped to
    /// the object's end; a range starting at or past the end is an
    /// [`std::io::ErrorKind::InvalidInput`] error).
    pub async fn open(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<MediaRead, MediaStoreError> {
        let relative = checked(key)?;
        match self {
            MediaStore::Local { dir } => {
                let mut file = tokio::fs::File::open(dir.join(relative)).await?;
                let size = file.metadata().await?.len();
                let range = clamp(range, size)?;
                file.seek(std::io::SeekFrom::Start(range.start)).await?;
                let limited = file.take(range.end - range.start);
                let body = tokio_util::io::ReaderStream::new(limited)
                    .map_err(MediaStoreError::from)
                    .boxed();
                Ok(MediaRead { size, range, body })
            }
            MediaStore::S3(s3) => {
                let object = s3.object(key)?;
                let size = s3.client.head(&object).await?.size;
                let range = clamp(range, size)?;
                if range.is_empty() {
                    return Ok(MediaRead {
                        size,
                        range,
                        body: futures::stream::empty().boxed(),
                    });
                }
                let options = GetOptions::new().with_range(Some(GetRange::Bounded(range.clone())));
                let result = s3.client.get_opts(&object, options).await?;
                let body = result.into_stream().map_err(MediaStoreError::from).boxed();
                Ok(MediaRead { size, range, body })
            }
        }
    }

    /// Deletes what is stored under `key`; a key with nothing under it is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), MediaStoreError> {
        let relative = checked(key)?;
        match self {
            MediaStore::Local { dir } => match tokio::fs::remove_file(dir.join(relative)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            },
            MediaStore::S3(s3) => match s3.client.delete(&s3.object(key)?).await {
                Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// A URL that GETs what is stored under `key` straight from the bucket for `ttl`
    /// (SigV4 presigned; S3 caps `ttl` at 7 days), for platforms that fetch media by URL
    /// (Instagram, Threads): a large video is then downloaded from the bucket, not through
    /// the API. `None` for the local store, whose files are served by the API's signed URLs
    /// (`MediaFiles::signed_url`). The URL is a bearer credential until it expires: never
    /// log it.
    pub async fn presigned_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<url::Url>, MediaStoreError> {
        checked(key)?;
        match self {
            MediaStore::Local { .. } => Ok(None),
            MediaStore::S3(s3) => {
                let ttl = ttl.min(Duration::from_secs(7 * 24 * 3600));
                let url = s3
                    .client
                    .signed_url(object_store::signer::Method::GET, &s3.object(key)?, ttl)
                    .await?;
                Ok(Some(url))
            }
        }
    }
}

impl S3Bucket {
    /// The object key of a checked store key.
    fn object(&self, key: &str) -> Result<object_store::path::Path, MediaStoreError> {
        object_store::path::Path::parse(format!("{}{key}", self.prefix))
            .map_err(|_| MediaStoreError::InvalidKey)
    }
}

/// `range` within an object of `size` bytes.
fn clamp(range: Option<Range<u64>>, size: u64) -> Result<Range<u64>, MediaStoreError> {
    match range {
        None => Ok(0..size),
        Some(_) if size == 0 => Ok(0..0),
        Some(r) if r.start >= size => Err(invalid_range()),
        Some(r) => Ok(r.start..r.end.min(size).max(r.start)),
    }
}

fn invalid_range() -> MediaStoreError {
    MediaStoreError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "the range starts past the end of the file",
    ))
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
