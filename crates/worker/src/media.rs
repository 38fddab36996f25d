//! Fetching a post's images, without letting a URL reach inside the network.
//!
//! A producer names images by URL and the worker downloads them, which makes every URL a
//! request Herald sends from inside its own network (server-side request forgery). The guard:
//!
//! - **The outbound guard** (`herald_outbound`) decides what may be reached, as for every
//!   request to a URL a tenant supplied: no inward address (checked on the addresses
//!   actually connected to, literal ones included), every redirect checked again and at
//!   most five followed, exceptions only for hosts and ports listed in `outbound.allow` (and
//!   loopback in development).
//! - **https only**, except to listed hosts (and loopback in development).
//! - **Size is capped while streaming** (and up front by `Content-Length`), and the whole
//!   fetch has a **timeout**.
//!
//! A fetched image is decoded once under `media.max_pixels` and its memory bound
//! (`ImageInfo::verify`), so a header that lies about its size, a decompression bomb or
//! truncated data fails the delivery (`media_invalid`) instead of reaching a platform; then
//! it is validated against the platform's rules (`herald_domain::rules::inspect_image`)
//! before anything is uploaded. Uploaded images were decoded the same way when they were
//! stored. Images in Herald's
//! own media store are read from it, and get a signed URL for platforms that fetch images
//! themselves (Instagram, Threads).

use bytes::{Bytes, BytesMut};
use herald_domain::rules::{ContentRules, FieldPath, inspect_image};
use herald_domain::{
    Code, ErrorClass, ImageInfo, MediaRef, Platform, PlatformFailure, PostContent, TenantId,
};
use herald_outbound::{Guard, Redirects};
use herald_platforms::MediaInput;
use herald_store::{MediaStoreError, Store};
use url::Url;

use crate::settings::MediaSettings;

/// The fetcher could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the media HTTP client: {0}")]
pub struct MediaError(#[source] reqwest::Error);

/// Fetches images by URL under the outbound guard.
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
    TooLarge,
    Status(u16),
    Transport(String),
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

    /// Fetches and validates every image of `content` for `platform`, in order.
    pub(crate) async fn load(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        content: &PostContent,
        rules: &ContentRules,
    ) -> Result<Vec<MediaInput>, PlatformFailure> {
        let mut inputs = Vec::with_capacity(content.media.len());
        for (index, media) in content.media.iter().enumerate() {
            let (bytes, public_url) = match media {
                MediaRef::Url { url } => {
                    let bytes = self.fetch_url(platform, url).await?;
                    (self.verify(platform, index, bytes).await?, url.clone())
                }
                MediaRef::Stored { media_id } => {
                    self.read_stored(store, tenant, platform, *media_id).await?
                }
            };
            let info = inspect_image(platform, &bytes, rules, FieldPath::MediaItem(index))
                .map_err(|violations| {
                    PlatformFailure::new(ErrorClass::Permanent, platform, violations.to_string())
                        .with_herald_code(Code::MediaInvalid)
                        .with_hint("Use an image the platform accepts (format, size, dimensions)")
                })?;
            inputs.push(
                MediaInput::from_bytes(bytes, info.format.mime_type()).with_public_url(public_url),
            );
        }
        Ok(inputs)
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

    /// Downloads `url` under the guard.
    pub(crate) async fn fetch_url(
        &self,
        platform: Platform,
        url: &str,
    ) -> Result<Bytes, PlatformFailure> {
        self.fetch(url).await.map_err(|failure| match failure {
            FetchFailure::Refused(reason) => {
                PlatformFailure::new(ErrorClass::Permanent, platform, format!("media URL refused: {reason}"))
                    .with_herald_code(Code::MediaUrlRefused)
                    .with_hint("Media URLs must be public https URLs (or upload the image to Herald's media store)")
            }
            FetchFailure::TooLarge => PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("the image is larger than {} bytes", self.settings.max_bytes),
            )
            .with_herald_code(Code::MediaTooLarge)
            .with_hint("Use a smaller image"),
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
                format!("the image could not be downloaded: {reason}"),
            )
            .with_herald_code(Code::MediaFetch),
        })
    }

    async fn fetch(&self, url: &str) -> Result<Bytes, FetchFailure> {
        let parsed = Url::parse(url).map_err(|e| FetchFailure::Refused(e.to_string()))?;
        self.guard
            .check_url(&parsed)
            .map_err(|refusal| FetchFailure::Refused(refusal.to_string()))?;
        let mut response = self.client.get(parsed).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchFailure::Status(status));
        }
        let max = self.settings.max_bytes;
        if response.content_length().is_some_and(|len| len > max) {
            return Err(FetchFailure::TooLarge);
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(FetchFailure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// An image from Herald's media store: its bytes, and a signed URL for platforms that
    /// fetch images themselves.
    async fn read_stored(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        id: herald_domain::MediaId,
    ) -> Result<(Bytes, String), PlatformFailure> {
        let permanent = |message: String| {
            PlatformFailure::new(ErrorClass::Permanent, platform, message)
                .with_herald_code(Code::MediaStore)
        };
        let retry = |err: herald_store::StoreError| crate::tokens::store_failure(platform, &err);
        let file = store
            .media()
            .get(tenant, id)
            .await
            .map_err(retry)?
            .ok_or_else(|| permanent(format!("media {id} does not exist")))?;
        let Some(media_store) = &self.settings.store else {
            return Err(permanent(
                "the worker reads stored media from the local media store only (media.store = \"local\")"
                    .to_owned(),
            ));
        };
        let bytes = media_store
            .get(&file.storage_key)
            .await
            .map_err(|e| match e {
                MediaStoreError::InvalidKey => {
                    permanent(format!("media {id} has an invalid storage key"))
                }
                MediaStoreError::Io(e) => {
                    permanent(format!("media {id} cannot be read from the store: {e}"))
                }
            })?;
        let signed = store
            .media()
            .signed_url(
                id,
                &self.settings.public_url,
                self.settings.url_ttl,
                self.settings.url_max_ttl,
            )
            .await
            .map_err(retry)?
            .ok_or_else(|| permanent(format!("media {id} does not exist")))?;
        Ok((Bytes::from(bytes), signed.url))
    }
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
