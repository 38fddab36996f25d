//! Loading a post's media before any platform call: fetching by URL without letting a URL
//! reach inside the network, reading from Herald's media store, checking every item against
//! the platform's rules, and preparing images the platform would otherwise refuse.
//!
//! A producer names media by URL and the worker downloads them, which makes every URL a
//! request Herald sends from inside its own network (server-side request forgery). The guard:
//!
//! - **The outbound guard** (`herald_outbound`) decides what may be reached, as for every
//!   request to a URL a tenant supplied: no inward address (checked on the addresses
//!   actually connected to, literal ones included), every redirect checked again and at
//!   most five followed, exceptions only for hosts and ports listed in `outbound.allow` (and
//!   loopback in development).
//! - **https only**, except to listed hosts (and loopback in development).
//! - **Size is capped while streaming** (and up front by `Content-Length`), and the whole
//!   fetch has a **timeout**. What a download is comes from its first bytes: an MP4 or
//!   QuickTime file (`ftyp`) is a video, capped at `media.max_video_bytes` and streamed to
//!   a file; anything else is an image, capped at `worker.media.max_bytes` and held in
//!   memory.
//!
//! **Videos** never sit in memory whole: a fetched one is streamed into the run's spool
//! directory, a stored one copied there from the media store, and platforms that upload
//! read it in chunks from that file. The spool directory belongs to the run ([`Spool`]) and
//! is deleted when the run ends, however it ends. A video's facts are read from its own
//! metadata (`VideoInfo::read`) and checked against the platform's video rules.
//!
//! **Images** fetched by URL are decoded once under `media.max_pixels` and its memory bound
//! (`ImageInfo::verify`), so a header that lies about its size, a decompression bomb or
//! truncated data fails the delivery (`media_invalid`) instead of reaching a platform;
//! uploaded images were decoded the same way when they were stored. Each is then checked
//! against the platform's image rules, and what a copy can fix is fixed
//! (`herald_domain::rules::plan_image`: a PNG made JPEG for Instagram, an image scaled under
//! a pixel or byte limit, one padded with `"fit": "pad"`). A copy is stored once per
//! source, platform and recipe as a derived media row that expires after
//! `media.retention_days`, and reused by later runs; platforms that fetch images
//! themselves (Instagram, Threads) get its signed URL. An image fetched by URL becomes a
//! media row of its own first, so that its copies have a source: its id is made from the
//! SHA-256 of the tenant and the bytes, so the same image (by any URL) is recorded once and
//! its copies are found again.
//!
//! Last, with every item's kind known, the media list is checked as a whole (counts, and
//! kinds a platform does not mix), which the API could not do for URLs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use herald_domain::rules::{
    ContentRules, FieldPath, MediaShape, Preparation, content_violations_with_media, inspect_image,
    plan_image, prepare_image, video_violations,
};
use herald_domain::{
    Code, ErrorClass, ImageFormat, ImageInfo, MediaId, MediaKind, MediaRef, Platform,
    PlatformFailure, PostContent, TenantId, VideoInfo, Violation,
};
use herald_outbound::{Guard, Redirects};
use herald_platforms::MediaInput;
use herald_platforms::steps::MediaBody;
use herald_store::{Derivation, MediaFile, MediaStore, MediaStoreError, NewMedia, Store};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::settings::MediaSettings;

/// The fetcher could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the media HTTP client: {0}")]
pub struct MediaError(#[source] reqwest::Error);

/// Fetches media by URL under the outbound guard, and loads stored media.
#[derive(Debug, Clone)]
pub struct MediaFetcher {
    client: reqwest::Client,
    settings: MediaSettings,
    guard: Guard,
}

/// Why a fetch failed.
#[derive(Debug)]
enum FetchFailure {
    Refused(String),
    TooLarge(u64),
    Status(u16),
    Transport(String),
    Spool(std::io::Error),
}

/// What a download turned out to be.
enum Fetched {
    Image(Bytes),
    /// A video streamed into the spool: its path and size.
    Video(PathBuf, u64),
}

/// The run's temporary directory for videos: created on first use, deleted with everything
/// in it when the guard is dropped (when the run ends, whether it published, failed or was
/// cut short).
#[derive(Debug)]
pub(crate) struct Spool {
    root: PathBuf,
    dir: Option<PathBuf>,
    files: usize,
}

impl Spool {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self {
            root,
            dir: None,
            files: 0,
        }
    }

    /// A fresh path in the spool directory.
    async fn file(&mut self, extension: &str) -> std::io::Result<PathBuf> {
        let dir = match &self.dir {
            Some(dir) => dir.clone(),
            None => {
                let dir = self
                    .root
                    .join(format!("run-{}", uuid::Uuid::now_v7().simple()));
                tokio::fs::create_dir_all(&dir).await?;
                self.dir = Some(dir.clone());
                dir
            }
        };
        self.files += 1;
        Ok(dir.join(format!("{}.{extension}", self.files)))
    }

    /// The directory, once something was spooled.
    #[cfg(test)]
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take()
            && let Err(err) = std::fs::remove_dir_all(&dir)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %err, dir = %dir.display(), "could not delete the media spool");
        }
    }
}

/// A refusal of one media item: permanent, `media_invalid`, with what to do.
fn invalid(platform: Platform, message: String, hint: &str) -> PlatformFailure {
    PlatformFailure::new(ErrorClass::Permanent, platform, message)
        .with_herald_code(Code::MediaInvalid)
        .with_hint(hint)
}

fn violations_text(found: &[Violation]) -> String {
    herald_domain::Violations::from(found.to_vec()).to_string()
}

impl MediaFetcher {
    pub fn new(settings: MediaSettings) -> Result<Self, MediaError> {
        let guard = Guard::new(settings.outbound.clone()).https_only();
        let client = guard
            .client(
                reqwest::Client::builder()
                    .timeout(settings.timeout)
                    .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10))),
                Redirects::Follow,
            )
            .map_err(MediaError)?;
        Ok(Self {
            client,
            settings,
            guard,
        })
    }

    /// A spool for one run's videos, under the configured spool directory.
    pub(crate) fn spool(&self) -> Spool {
        Spool::new(self.settings.spool_dir.clone())
    }

    /// Loads and checks every media item of `content` for `platform`, in order: what the
    /// platform will be given. Videos go to `spool`, which the caller keeps until the run
    /// ends.
    pub(crate) async fn load(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        content: &PostContent,
        rules: &ContentRules,
        spool: &mut Spool,
    ) -> Result<Vec<MediaInput>, PlatformFailure> {
        let mut inputs = Vec::with_capacity(content.media.len());
        let mut shapes = Vec::with_capacity(content.media.len());
        for (index, media) in content.media.iter().enumerate() {
            let field = FieldPath::MediaItem(index);
            let input = match media {
                MediaRef::Url { url } => match self.fetch_url(platform, url, spool).await? {
                    Fetched::Video(path, len) => {
                        let info = self.read_video(platform, index, &path).await?;
                        check_video(platform, &info, rules, field)?;
                        MediaInput::video(MediaBody::File(Arc::new(path)), len, info)
                            .with_public_url(url.clone())
                    }
                    Fetched::Image(bytes) => {
                        let bytes = self.verify(platform, index, bytes).await?;
                        let info = sniffed(platform, &bytes, rules, field)?;
                        match plan(platform, &info, rules, content, field)? {
                            plan if plan.is_needed() => {
                                let source = self
                                    .record_fetched(store, tenant, platform, &bytes, &info)
                                    .await?;
                                self.prepared(
                                    store, tenant, platform, &source, &bytes, &info, &plan,
                                )
                                .await?
                            }
                            _ => MediaInput::from_bytes(bytes, info.format.mime_type())
                                .with_public_url(url.clone()),
                        }
                    }
                },
                MediaRef::Stored { media_id } => {
                    let file = self.stored_row(store, tenant, platform, *media_id).await?;
                    match file.kind {
                        MediaKind::Video => {
                            let path = spool_path(platform, spool, &file).await?;
                            let len = self
                                .media_store(platform)?
                                .copy_to_file(&file.storage_key, &path)
                                .await
                                .map_err(|e| store_read(platform, *media_id, e))?;
                            let info = self.read_video(platform, index, &path).await?;
                            check_video(platform, &info, rules, field)?;
                            let url = self.signed(store, platform, *media_id).await?;
                            MediaInput::video(MediaBody::File(Arc::new(path)), len, info)
                                .with_public_url(url)
                        }
                        MediaKind::Image => {
                            let bytes = self.read_stored(platform, &file).await?;
                            let info = sniffed(platform, &bytes, rules, field)?;
                            match plan(platform, &info, rules, content, field)? {
                                plan if plan.is_needed() => {
                                    self.prepared(
                                        store, tenant, platform, &file, &bytes, &info, &plan,
                                    )
                                    .await?
                                }
                                _ => {
                                    let url = self.signed(store, platform, *media_id).await?;
                                    MediaInput::from_bytes(bytes, info.format.mime_type())
                                        .with_public_url(url)
                                }
                            }
                        }
                    }
                }
            };
            shapes.push(Some(match input.kind {
                MediaKind::Video => MediaShape::Video,
                MediaKind::Image => MediaShape::of(MediaKind::Image, &input.content_type),
            }));
            inputs.push(input);
        }
        // Every kind is known now: the counts and mixing the API could not check for URLs.
        let found = content_violations_with_media(platform, content, &shapes, rules);
        if !found.is_empty() {
            return Err(PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                violations_text(&found),
            )
            .with_herald_code(Code::Content)
            .with_hint("Change the post's media to what the platform takes in one post"));
        }
        Ok(inputs)
    }

    /// A video's facts from its file, off the async threads.
    async fn read_video(
        &self,
        platform: Platform,
        index: usize,
        path: &Path,
    ) -> Result<VideoInfo, PlatformFailure> {
        let path = path.to_owned();
        let read = tokio::task::spawn_blocking(move || {
            std::fs::File::open(&path)
                .map_err(|e| e.to_string())
                .and_then(|file| {
                    VideoInfo::read(std::io::BufReader::new(file)).map_err(|e| e.to_string())
                })
        })
        .await
        .map_err(|e| format!("the video could not be read: {e}"))
        .and_then(|read| read);
        read.map_err(|reason| {
            invalid(
                platform,
                format!(
                    "media[{index}]: this file is not a video Herald can read: {reason} \
                     (video.unreadable)"
                ),
                "Use an MP4 or MOV video (H.264 or HEVC)",
            )
        })
    }

    /// Decodes a fetched image under the limits, off the async threads: what a lying header,
    /// a bomb or corrupt data is refused by.
    async fn verify(
        &self,
        platform: Platform,
        index: usize,
        bytes: Bytes,
    ) -> Result<Bytes, PlatformFailure> {
        let limits = self.settings.decode;
        let (bytes, verified) = tokio::task::spawn_blocking(move || {
            let verified = ImageInfo::verify(&bytes, limits);
            (bytes, verified)
        })
        .await
        .map_err(|e| {
            // A decoder that fails this way on some bytes fails the same way on a retry.
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("the image could not be decoded: {e}"),
            )
            .with_herald_code(Code::MediaInvalid)
        })?;
        verified.map_err(|error| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("media[{index}]: {error} ({})", error.rule()),
            )
            .with_herald_code(Code::MediaInvalid)
            .with_hint("Use an image whose data is complete and within media.max_pixels")
        })?;
        Ok(bytes)
    }

    /// The copy of an image `plan` describes, for `platform`: the one stored before for the
    /// same source and recipe, or a new one, stored and recorded as derived from `source`.
    #[allow(clippy::too_many_arguments)]
    async fn prepared(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        source: &MediaFile,
        bytes: &Bytes,
        info: &ImageInfo,
        plan: &Preparation,
    ) -> Result<MediaInput, PlatformFailure> {
        let recipe = plan.recipe();
        let media_store = self.media_store(platform)?;
        let existing = store
            .media()
            .derived(source.id, platform, &recipe)
            .await
            .map_err(|e| crate::tokens::store_failure(platform, &e))?;
        let (file, copy) = match existing {
            Some(file) => {
                let copy = media_store
                    .get(&file.storage_key)
                    .await
                    .map_err(|e| store_read(platform, file.id, e))?;
                (file, Bytes::from(copy))
            }
            None => {
                let (data, info, plan) = (bytes.clone(), *info, plan.clone());
                let limits = self.settings.decode;
                let prepared =
                    tokio::task::spawn_blocking(move || prepare_image(&data, &info, &plan, limits))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|prepared| prepared.map_err(|e| format!("{e} ({})", e.rule())))
                        .map_err(|reason| {
                            invalid(
                                platform,
                                format!("the image could not be prepared for {platform}: {reason}"),
                                "Use an image the platform takes as it is",
                            )
                        })?;
                let id = MediaId::new();
                let key = MediaStore::key(tenant, id, "jpg");
                media_store
                    .put(&key, &prepared.bytes)
                    .await
                    .map_err(|e| store_write(platform, &e))?;
                let new = NewMedia {
                    id,
                    tenant_id: tenant,
                    content_type: ImageFormat::Jpeg.mime_type().to_owned(),
                    bytes: i64::try_from(prepared.info.bytes).unwrap_or(i64::MAX),
                    width: i32::try_from(prepared.info.width).unwrap_or(i32::MAX),
                    height: i32::try_from(prepared.info.height).unwrap_or(i32::MAX),
                    sha256: Sha256::digest(&prepared.bytes).into(),
                    storage_key: key.clone(),
                    filename: None,
                    video: None,
                    derived: Some(Derivation {
                        source: source.id,
                        platform,
                        recipe: recipe.clone(),
                    }),
                    expires_at: Some(self.expiry()),
                };
                let file = store
                    .media()
                    .insert(&new)
                    .await
                    .map_err(|e| crate::tokens::store_failure(platform, &e))?;
                if file.id != id {
                    // Another run recorded the same copy first: ours is surplus.
                    if let Err(err) = media_store.delete(&key).await {
                        tracing::warn!(error = %err, "could not delete a surplus prepared copy");
                    }
                }
                (file, Bytes::from(prepared.bytes))
            }
        };
        tracing::debug!(recipe = %recipe, source = %source.id, copy = %file.id, "image prepared");
        let url = self.signed(store, platform, file.id).await?;
        Ok(MediaInput::from_bytes(copy, ImageFormat::Jpeg.mime_type()).with_public_url(url))
    }

    /// Records an image fetched by URL as a media row (once per tenant and content), so
    /// that copies prepared from it have a source.
    async fn record_fetched(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        bytes: &Bytes,
        info: &ImageInfo,
    ) -> Result<MediaFile, PlatformFailure> {
        let retry = |e: herald_store::StoreError| crate::tokens::store_failure(platform, &e);
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let id = content_id(tenant, &sha256);
        if let Some(file) = store.media().get(tenant, id).await.map_err(retry)? {
            return Ok(file);
        }
        let media_store = self.media_store(platform)?;
        let extension = match info.format {
            ImageFormat::Jpeg => "jpg",
            other => other.as_str(),
        };
        let key = MediaStore::key(tenant, id, extension);
        media_store
            .put(&key, bytes)
            .await
            .map_err(|e| store_write(platform, &e))?;
        let new = NewMedia {
            id,
            tenant_id: tenant,
            content_type: info.format.mime_type().to_owned(),
            bytes: i64::try_from(info.bytes).unwrap_or(i64::MAX),
            width: i32::try_from(info.width).unwrap_or(i32::MAX),
            height: i32::try_from(info.height).unwrap_or(i32::MAX),
            sha256,
            storage_key: key,
            filename: None,
            video: None,
            derived: None,
            expires_at: Some(self.expiry()),
        };
        match store.media().insert(&new).await {
            Ok(file) => Ok(file),
            // Recorded by a concurrent run in the meantime.
            Err(err) => match store.media().get(tenant, id).await.map_err(retry)? {
                Some(file) => Ok(file),
                None => Err(retry(err)),
            },
        }
    }

    fn expiry(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
            + chrono::TimeDelta::from_std(self.settings.retention)
                .unwrap_or(chrono::TimeDelta::days(30))
    }

    fn media_store(&self, platform: Platform) -> Result<&MediaStore, PlatformFailure> {
        self.settings.store.as_ref().ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                "the worker reads and prepares media in the local media store only \
                 (media.store = \"local\")",
            )
            .with_herald_code(Code::MediaStore)
        })
    }

    /// Downloads `url` under the guard: an image into memory, a video into the spool.
    async fn fetch_url(
        &self,
        platform: Platform,
        url: &str,
        spool: &mut Spool,
    ) -> Result<Fetched, PlatformFailure> {
        self.fetch(url, spool).await.map_err(|failure| match failure {
            FetchFailure::Refused(reason) => {
                PlatformFailure::new(ErrorClass::Permanent, platform, format!("media URL refused: {reason}"))
                    .with_herald_code(Code::MediaUrlRefused)
                    .with_hint("Media URLs must be public https URLs (or upload the file to Herald's media store)")
            }
            FetchFailure::TooLarge(max) => PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("the media file is larger than {max} bytes"),
            )
            .with_herald_code(Code::MediaTooLarge)
            .with_hint("Use a smaller file (images: worker.media.max_bytes; videos: media.max_video_bytes)"),
            FetchFailure::Status(status) if (400..500).contains(&status) && status != 429 => {
                PlatformFailure::new(
                    ErrorClass::Permanent,
                    platform,
                    format!("the media URL answered {status}"),
                )
                .with_herald_code(Code::MediaUnavailable)
                .with_hint("Check that the media URL is public and still valid")
            }
            FetchFailure::Status(status) => PlatformFailure::new(
                ErrorClass::Retryable,
                platform,
                format!("the media URL answered {status}"),
            )
            .with_herald_code(Code::MediaFetch),
            FetchFailure::Transport(reason) => PlatformFailure::new(
                ErrorClass::Retryable,
                platform,
                format!("the media could not be downloaded: {reason}"),
            )
            .with_herald_code(Code::MediaFetch),
            FetchFailure::Spool(err) => PlatformFailure::new(
                ErrorClass::Retryable,
                platform,
                format!("the video could not be written to the worker's spool directory: {err}"),
            )
            .with_herald_code(Code::MediaStore),
        })
    }

    async fn fetch(&self, url: &str, spool: &mut Spool) -> Result<Fetched, FetchFailure> {
        let parsed = Url::parse(url).map_err(|e| FetchFailure::Refused(e.to_string()))?;
        self.guard
            .check_url(&parsed)
            .map_err(|refusal| FetchFailure::Refused(refusal.to_string()))?;
        let mut response = self.client.get(parsed).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchFailure::Status(status));
        }
        let (image_max, video_max) = (self.settings.max_bytes, self.settings.max_video_bytes);
        let declared = response.content_length();
        if declared.is_some_and(|len| len > image_max.max(video_max)) {
            return Err(FetchFailure::TooLarge(image_max.max(video_max)));
        }
        // The first bytes say what it is.
        let mut head = BytesMut::new();
        while head.len() < 12 {
            match response.chunk().await.map_err(transport)? {
                Some(chunk) => head.extend_from_slice(&chunk),
                None => break,
            }
        }
        if !is_video(&head) {
            if declared.is_some_and(|len| len > image_max) || head.len() as u64 > image_max {
                return Err(FetchFailure::TooLarge(image_max));
            }
            let mut body = head;
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                if (body.len() + chunk.len()) as u64 > image_max {
                    return Err(FetchFailure::TooLarge(image_max));
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Fetched::Image(body.freeze()));
        }
        let path = spool.file("video").await.map_err(FetchFailure::Spool)?;
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(FetchFailure::Spool)?;
        let mut written = head.len() as u64;
        if written > video_max {
            return Err(FetchFailure::TooLarge(video_max));
        }
        file.write_all(&head).await.map_err(FetchFailure::Spool)?;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            written += chunk.len() as u64;
            if written > video_max {
                return Err(FetchFailure::TooLarge(video_max));
            }
            file.write_all(&chunk).await.map_err(FetchFailure::Spool)?;
        }
        file.flush().await.map_err(FetchFailure::Spool)?;
        Ok(Fetched::Video(path, written))
    }

    /// A tenant's stored media row.
    async fn stored_row(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        id: MediaId,
    ) -> Result<MediaFile, PlatformFailure> {
        store
            .media()
            .get(tenant, id)
            .await
            .map_err(|e| crate::tokens::store_failure(platform, &e))?
            .ok_or_else(|| {
                PlatformFailure::new(
                    ErrorClass::Permanent,
                    platform,
                    format!("media {id} does not exist"),
                )
                .with_herald_code(Code::MediaStore)
            })
    }

    /// A stored image's bytes.
    async fn read_stored(
        &self,
        platform: Platform,
        file: &MediaFile,
    ) -> Result<Bytes, PlatformFailure> {
        let bytes = self
            .media_store(platform)?
            .get(&file.storage_key)
            .await
            .map_err(|e| store_read(platform, file.id, e))?;
        Ok(Bytes::from(bytes))
    }

    /// A signed URL for a stored file, for platforms that fetch media themselves.
    async fn signed(
        &self,
        store: &Store,
        platform: Platform,
        id: MediaId,
    ) -> Result<String, PlatformFailure> {
        let signed = store
            .media()
            .signed_url(
                id,
                &self.settings.public_url,
                self.settings.url_ttl,
                self.settings.url_max_ttl,
            )
            .await
            .map_err(|e| crate::tokens::store_failure(platform, &e))?
            .ok_or_else(|| {
                PlatformFailure::new(
                    ErrorClass::Permanent,
                    platform,
                    format!("media {id} does not exist"),
                )
                .with_herald_code(Code::MediaStore)
            })?;
        Ok(signed.url)
    }
}

/// A stored video's place in the spool.
async fn spool_path(
    platform: Platform,
    spool: &mut Spool,
    file: &MediaFile,
) -> Result<PathBuf, PlatformFailure> {
    let extension = herald_domain::VideoContainer::from_mime_type(&file.content_type)
        .map_or("mp4", |c| c.extension());
    spool.file(extension).await.map_err(|e| {
        PlatformFailure::new(
            ErrorClass::Retryable,
            platform,
            format!("the video could not be written to the worker's spool directory: {e}"),
        )
        .with_herald_code(Code::MediaStore)
    })
}

/// An ISO BMFF file (MP4, QuickTime): its first box is `ftyp` (or, in old QuickTime files,
/// `moov`, `mdat`, `wide` or `free`).
fn is_video(head: &[u8]) -> bool {
    matches!(
        head.get(4..8),
        Some(b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free")
    )
}

/// The id of an image fetched by URL: from the SHA-256 of the tenant and the content, as a
/// version 8 (custom) UUID, so the same content is recorded once per tenant.
fn content_id(tenant: TenantId, sha256: &[u8; 32]) -> MediaId {
    let mut hasher = Sha256::new();
    hasher.update(tenant.into_uuid().as_bytes());
    hasher.update(sha256);
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    MediaId::from(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// An image's facts from its header, or the refusal.
fn sniffed(
    platform: Platform,
    bytes: &[u8],
    rules: &ContentRules,
    field: FieldPath,
) -> Result<ImageInfo, PlatformFailure> {
    ImageInfo::sniff(bytes).map_err(|_| {
        // `inspect_image` words the refusal of an unreadable file.
        let message = inspect_image(platform, bytes, rules, field)
            .err()
            .map_or_else(|| "the image cannot be read".to_owned(), |v| v.to_string());
        invalid(platform, message, "Use a JPEG, PNG, GIF or WebP image")
    })
}

/// How the image becomes one the platform takes, or its refusal.
fn plan(
    platform: Platform,
    info: &ImageInfo,
    rules: &ContentRules,
    content: &PostContent,
    field: FieldPath,
) -> Result<Preparation, PlatformFailure> {
    plan_image(platform, info, rules, content.fit, field).map_err(|found| {
        invalid(
            platform,
            violations_text(&found),
            "Use an image the platform accepts (format, size, dimensions), or send \"fit\": \"pad\" for its aspect ratio",
        )
    })
}

fn check_video(
    platform: Platform,
    info: &VideoInfo,
    rules: &ContentRules,
    field: FieldPath,
) -> Result<(), PlatformFailure> {
    let found = video_violations(platform, info, rules, field);
    if found.is_empty() {
        return Ok(());
    }
    Err(invalid(
        platform,
        violations_text(&found),
        "Use a video the platform accepts (container, codec, size, duration, dimensions, frame rate)",
    ))
}

fn store_read(platform: Platform, id: MediaId, err: MediaStoreError) -> PlatformFailure {
    let message = match err {
        MediaStoreError::InvalidKey => format!("media {id} has an invalid storage key"),
        MediaStoreError::Io(e) => format!("media {id} cannot be read from the store: {e}"),
    };
    PlatformFailure::new(ErrorClass::Permanent, platform, message)
        .with_herald_code(Code::MediaStore)
}

fn store_write(platform: Platform, err: &MediaStoreError) -> PlatformFailure {
    PlatformFailure::new(
        ErrorClass::Retryable,
        platform,
        format!("a prepared image could not be written to the media store: {err}"),
    )
    .with_herald_code(Code::MediaStore)
}

fn transport(err: reqwest::Error) -> FetchFailure {
    // Refusals by the guard's resolver or redirect policy surface as transport errors.
    if let Some(refusal) = herald_outbound::refusal(&err) {
        return FetchFailure::Refused(refusal.to_string());
    }
    // Keep the reason, never the URL (it may carry credentials).
    let err = err.without_url();
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        reason = format!("{reason}: {inner}");
        source = inner.source();
    }
    FetchFailure::Transport(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_spool_is_deleted_with_its_files_when_the_run_ends() {
        let root = std::env::temp_dir().join(format!("herald-spool-test-{}", uuid::Uuid::now_v7()));
        let mut spool = Spool::new(root.clone());
        assert!(
            spool.dir().is_none(),
            "nothing is created until a video comes"
        );
        let path = spool.file("mp4").await.unwrap();
        tokio::fs::write(&path, b"video").await.unwrap();
        let dir = spool.dir().unwrap().to_owned();
        assert!(dir.exists());
        drop(spool);
        assert!(!dir.exists(), "the run's spool directory is gone");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn videos_are_told_from_images_by_their_first_box() {
        let mp4 = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/video/portrait-720x1280-4s.mp4"),
        )
        .unwrap();
        assert!(is_video(&mp4[..12]));
        assert!(!is_video(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!is_video(b"\xFF\xD8\xFF"));
    }

    #[test]
    fn the_same_content_gets_the_same_id_per_tenant() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let sha = [9u8; 32];
        assert_eq!(content_id(a, &sha), content_id(a, &sha));
        assert_ne!(content_id(a, &sha), content_id(b, &sha));
        assert_ne!(content_id(a, &sha), content_id(a, &[8u8; 32]));
    }
}
