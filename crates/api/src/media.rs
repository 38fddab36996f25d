//! Media: `POST /v1/media` (a multipart upload, or `{"url": ...}` to fetch one),
//! `GET /v1/media/{id}`, and the signed public URLs `GET /media/{id}?expires=..&sig=..`
//! that platforms fetch media from.
//!
//! **Uploads stream.** The multipart `file` (or the body a URL answers with) is written to a
//! temporary file as it arrives, while its SHA-256 and size are computed; nothing is held in
//! memory whole. Its kind is recognised from its first bytes, not its name or declared type:
//! JPEG, PNG, GIF or WebP images, MP4 or QuickTime (`ftyp`) videos. From then on it is capped
//! by its kind's limit (`media.max_bytes` for images, `media.max_video_bytes` for videos),
//! and a file over it is refused at once, without reading the rest. Only this route's body
//! limit is raised to the video limit; every other route keeps `api.json_limit_bytes`.
//!
//! **Then it is checked once.** An image is decoded under `media.max_pixels` and its memory
//! bound (`ImageInfo::verify`), so that the pixels it records are the pixels the file has; a
//! video's facts (duration, frame rate, codecs, whether `moov` comes first) are read from its
//! own metadata (`VideoInfo::read`, off the async threads). Per-platform rules are applied
//! when a post uses it, because they depend on where it goes. The file then goes to the media
//! store under a content-independent key (`put_file`: streamed, a multipart upload on S3) and
//! is recorded in Postgres.
//!
//! **A URL is fetched once, through the outbound guard** (`herald_outbound`), as the worker
//! fetches a post's media: https only (except hosts listed in `outbound.allow`, and loopback
//! in development), no inward address, redirects checked again, the size capped while
//! streaming and the whole fetch bounded by `worker.media.timeout_secs`. A refusal names
//! `url` and the rule (`url.inward_address`, `url.scheme`, `url.status`, `media.too_large`).
//!
//! Signed URLs live at most `media.url_max_ttl_secs`: one whose expiry is further ahead is
//! refused like a bad signature. They serve videos too, streamed from the store with their
//! `Content-Length`, and a single byte range (`Range: bytes=a-b`) is answered with 206.
//!
//! The bytes go to `herald_store::MediaStore`, the one media store the worker reads from
//! too: a local directory (`media.dir`) or an S3-compatible bucket (`media.s3`). Signed URLs
//! are minted and checked by `herald_store::MediaFiles`, so the worker can mint one for
//! Instagram and Threads.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use herald_domain::{
    DecodeLimits, ImageInfo, MediaId, MediaKind, Scope, VerifyError, VideoContainer, VideoError,
    VideoInfo,
};
use herald_store::{MediaFile, MediaStore, NewMedia, VideoFacts};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, FieldError, parse_id, parse_json};

pub(crate) fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/media", post(upload))
        .route("/media/{id}", get(get_media))
}

pub(crate) fn public_routes() -> Router<AppState> {
    Router::new().route("/media/{id}", get(serve))
}

/// The body limit of `POST /v1/media`: the larger of the two kinds' limits, plus room for
/// the multipart framing.
pub(crate) fn upload_body_limit(config: &herald_config::Config) -> usize {
    let largest = config.media.max_bytes.max(config.media.max_video_bytes);
    usize::try_from(largest.saturating_add(64 * 1024)).unwrap_or(usize::MAX)
}

/// An uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaOut {
    /// Use as `{"media_id": ...}` in a post.
    #[schema(format = Uuid)]
    pub id: String,
    /// `image` or `video`.
    pub kind: String,
    pub content_type: String,
    pub bytes: i64,
    /// Pixels (a video's: its video track's display size).
    pub width: i32,
    pub height: i32,
    pub sha256: String,
    pub filename: Option<String>,
    pub created_at: DateTime<Utc>,
    /// A video's duration in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// A video's frames per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    /// A video's codec, as its sample entry names it: `avc1` (H.264), `hvc1` (HEVC), ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_codec: Option<String>,
    /// A video's audio codec (`mp4a` for AAC); absent for a silent video or an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<String>,
    /// A signed URL that serves the file until `url_expires_at`.
    #[schema(format = Uri)]
    pub url: String,
    pub url_expires_at: DateTime<Utc>,
}

async fn media_out(state: &AppState, file: &MediaFile) -> Result<MediaOut, ApiError> {
    let signed = state
        .inner
        .store
        .media()
        .signed_url(
            file.id,
            state.inner.config.public_url.as_str(),
            state.inner.config.media.url_ttl,
            state.inner.config.media.url_max_ttl,
        )
        .await?
        .ok_or(ApiError::NotFound { what: "media" })?;
    let video = file.video.as_ref();
    Ok(MediaOut {
        id: file.id.to_string(),
        kind: file.kind.as_str().to_owned(),
        content_type: file.content_type.clone(),
        bytes: file.bytes,
        width: file.width,
        height: file.height,
        sha256: file.sha256.iter().map(|b| format!("{b:02x}")).collect(),
        filename: file.filename.clone(),
        created_at: file.created_at,
        duration_ms: video.map(|v| v.duration_ms),
        frame_rate: video.map(|v| v.frame_rate),
        video_codec: video.map(|v| v.video_codec.clone()),
        audio_codec: video.and_then(|v| v.audio_codec.clone()),
        url: signed.url,
        url_expires_at: signed.expires_at,
    })
}

/// The multipart form `POST /v1/media` reads, for the OpenAPI description (the handler
/// streams the parts itself).
#[derive(Debug, ToSchema)]
pub struct MediaUpload {
    /// The file: a JPEG, PNG, GIF or WebP image (at most `media.max_bytes`), or an MP4 or
    /// QuickTime (MOV) video (at most `media.max_video_bytes`). Its file name is kept.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// The JSON form of `POST /v1/media`: Herald fetches the file from `url` once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaFromUrl {
    /// A public https URL of an image or a video (plain http and inward addresses only to
    /// hosts listed in `outbound.allow`).
    #[schema(format = Uri)]
    pub url: String,
}

/// Upload an image or a video: as multipart/form-data (the file in a field named `file`),
/// or as JSON `{"url": "https://..."}` for Herald to fetch it once.
#[utoipa::path(post, path = "/v1/media", tag = "media",
    request_body(
        description = "A multipart `file` field with a JPEG, PNG, GIF or WebP image or an MP4 \
            or MOV video; or JSON `{\"url\": ...}` naming one to fetch",
        content(
            (MediaUpload = "multipart/form-data"),
            (MediaFromUrl = "application/json")
        )),
    responses((status = 201, body = MediaOut),
        (status = 413, description = "Over `media.max_bytes` (images) or `media.max_video_bytes` \
            (videos): refused as soon as the limit is passed", body = crate::Problem),
        (status = 415, description = "Neither an image nor a video Herald recognises", body = crate::Problem),
        (status = 422, description = "A file that breaks a rule, named in `errors`: \
            `image.too_many_pixels`, `image.corrupt`, `video.container` (WebM), \
            `video.unreadable`, `video.no_video_track`; for a URL, `url.scheme`, \
            `url.inward_address`, `url.status`, `url.unreachable`, `media.too_large`", body = crate::Problem)),
    security(("api_key" = ["publish"])))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::Publish)?;
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let (spooled, filename) = if is_json {
        fetch_url(&state, request).await?
    } else {
        receive_multipart(&state, request).await?
    };
    let file = store_spooled(&state, caller.tenant_id, spooled, filename).await?;
    Ok((StatusCode::CREATED, Json(media_out(&state, &file).await?)).into_response())
}

/// Reads the multipart `file` field into a spool.
async fn receive_multipart(
    state: &AppState,
    request: Request,
) -> Result<(Spooled, Option<String>), ApiError> {
    let mut multipart = Multipart::from_request(request, state).await.map_err(|_| {
        ApiError::UnsupportedMediaType {
            detail: "upload the file as multipart/form-data in a field named `file`, or send \
                     JSON {\"url\": ...}"
                .to_owned(),
        }
    })?;
    let limits = SpoolLimits::of(state);
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge {
                limit: usize::try_from(limits.video).unwrap_or(usize::MAX),
            }
        } else {
            ApiError::bad_request("invalid_multipart", e.body_text())
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().and_then(clean_filename);
        let mut spool = Spool::new(limits).await?;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            spool.push(&chunk).await.map_err(|e| e.for_upload())?;
        }
        return Ok((spool.finish().await.map_err(|e| e.for_upload())?, filename));
    }
    Err(ApiError::bad_request(
        "missing_file",
        "no field named `file` in the upload",
    ))
}

/// A file name as it is kept: no control characters, at most 255 characters.
fn clean_filename(name: &str) -> Option<String> {
    let name: String = name.chars().filter(|c| !c.is_control()).take(255).collect();
    (!name.is_empty()).then_some(name)
}

/// Fetches `{"url": ...}` through the outbound guard into a spool.
async fn fetch_url(
    state: &AppState,
    request: Request,
) -> Result<(Spooled, Option<String>), ApiError> {
    let json_limit = state.inner.config.api.json_limit_bytes;
    let body = axum::body::to_bytes(request.into_body(), json_limit)
        .await
        .map_err(|_| ApiError::TooLarge { limit: json_limit })?;
    let MediaFromUrl { url } = parse_json(&body)?;
    let refuse =
        |rule: &str, detail: String| ApiError::invalid(vec![FieldError::new("url", rule, detail)]);
    let parsed = url::Url::parse(&url)
        .map_err(|e| refuse("url.invalid", format!("the URL cannot be read: {e}")))?;
    let fetch = &state.inner.media_fetch;
    fetch
        .guard
        .check_url(&parsed)
        .map_err(|refusal| refuse(refusal.code(), refusal.to_string()))?;
    let filename = parsed
        .path_segments()
        .and_then(|mut segments| segments.next_back().map(str::to_owned))
        .and_then(|name| clean_filename(&name));
    let transport = |err: reqwest::Error| {
        if let Some(refusal) = herald_outbound::refusal(&err) {
            return refuse(refusal.code(), refusal.to_string());
        }
        if err.is_timeout() {
            return refuse(
                "url.timeout",
                format!(
                    "the URL did not answer within {} s",
                    state.inner.config.worker.media.timeout.as_secs()
                ),
            );
        }
        // The reason, never the URL (it may carry credentials).
        let err = err.without_url();
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            reason = format!("{reason}: {inner}");
            source = inner.source();
        }
        refuse(
            "url.unreachable",
            format!("the URL cannot be fetched: {reason}"),
        )
    };
    let mut response = fetch.client.get(parsed).send().await.map_err(transport)?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(refuse(
            "url.status",
            format!("the URL answered {}, not 200", status.as_u16()),
        ));
    }
    let limits = SpoolLimits::of(state);
    if let Some(length) = response.content_length()
        && length > limits.image.max(limits.video)
    {
        return Err(SpoolError::TooLarge {
            kind: MediaKind::Video,
            limit: limits.video,
        }
        .for_url());
    }
    let mut spool = Spool::new(limits).await?;
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        spool.push(&chunk).await.map_err(|e| e.for_url())?;
    }
    Ok((spool.finish().await.map_err(|e| e.for_url())?, filename))
}

/// Checks a spooled file as its kind requires, puts it in the media store and records it.
async fn store_spooled(
    state: &AppState,
    tenant_id: herald_domain::TenantId,
    spooled: Spooled,
    filename: Option<String>,
) -> Result<MediaFile, ApiError> {
    let id = MediaId::new();
    let store_error = |e: herald_store::MediaStoreError| ApiError::internal("media store", &e);
    let new = match spooled.kind {
        Sniffed::Image => {
            // Images are small (media.max_bytes): decoded from memory, as they always were.
            let bytes = tokio::fs::read(spooled.path.path())
                .await
                .map_err(|e| ApiError::internal("upload spool", &e))?;
            let limits = DecodeLimits::for_pixels(state.inner.config.media.max_pixels);
            let (bytes, verified) = tokio::task::spawn_blocking(move || {
                let verified = ImageInfo::verify(&bytes, limits);
                (bytes, verified)
            })
            .await
            .map_err(|e| ApiError::internal("image decoding", &e))?;
            let info = verified.map_err(image_refusal)?;
            let key = MediaStore::key(tenant_id, id, info.format.as_str());
            state
                .inner
                .media
                .put(&key, &bytes)
                .await
                .map_err(store_error)?;
            NewMedia {
                id,
                tenant_id,
                content_type: info.format.mime_type().to_owned(),
                bytes: i64::try_from(spooled.size).unwrap_or(i64::MAX),
                width: i32::try_from(info.width).unwrap_or(i32::MAX),
                height: i32::try_from(info.height).unwrap_or(i32::MAX),
                sha256: spooled.sha256,
                storage_key: key,
                filename,
                video: None,
                derived: None,
                expires_at: None,
            }
        }
        Sniffed::Video(_) => {
            let path = spooled.path.path().to_path_buf();
            let info = tokio::task::spawn_blocking(move || {
                std::fs::File::open(&path)
                    .map_err(|e| VideoError::Malformed(e.to_string()))
                    .and_then(|file| VideoInfo::read(std::io::BufReader::new(file)))
            })
            .await
            .map_err(|e| ApiError::internal("video reading", &e))?
            .map_err(|e| video_refusal(&e))?;
            if info.width == 0 || info.height == 0 {
                return Err(ApiError::invalid(vec![FieldError::new(
                    "file",
                    "video.unreadable",
                    "the video track has no display size".to_owned(),
                )]));
            }
            let key = MediaStore::key(tenant_id, id, info.container.extension());
            state
                .inner
                .media
                .put_file(&key, spooled.path.path())
                .await
                .map_err(store_error)?;
            NewMedia {
                id,
                tenant_id,
                content_type: info.container.mime_type().to_owned(),
                bytes: i64::try_from(spooled.size).unwrap_or(i64::MAX),
                width: i32::try_from(info.width).unwrap_or(i32::MAX),
                height: i32::try_from(info.height).unwrap_or(i32::MAX),
                sha256: spooled.sha256,
                storage_key: key,
                filename,
                video: Some(VideoFacts {
                    duration_ms: i64::try_from(info.duration_ms).unwrap_or(i64::MAX),
                    frame_rate: info.frame_rate,
                    video_codec: info.video_codec,
                    audio_codec: info.audio_codec,
                    moov_first: info.moov_first,
                }),
                derived: None,
                expires_at: None,
            }
        }
    };
    Ok(state.inner.store.media().insert(&new).await?)
}

/// Why an image is not stored: 415 for what is not a recognisable image (as before any
/// decoding), 422 naming the `file` field and the rule for an image that lies about its size
/// or does not decode.
fn image_refusal(error: VerifyError) -> ApiError {
    match error {
        VerifyError::Unreadable(e) => ApiError::UnsupportedMediaType {
            detail: format!("the file is {e}; Herald accepts JPEG, PNG, GIF and WebP images"),
        },
        other => ApiError::invalid(vec![FieldError::new(
            "file",
            other.rule().as_str(),
            other.to_string(),
        )]),
    }
}

/// Why a video is not stored: 422 naming `file` and the rule.
fn video_refusal(error: &VideoError) -> ApiError {
    let rule = match error {
        VideoError::NoVideoTrack => "video.no_video_track",
        VideoError::NotAVideo | VideoError::Malformed(_) => "video.unreadable",
    };
    ApiError::invalid(vec![FieldError::new(
        "file",
        rule,
        format!("{error}; Herald reads MP4 and MOV (QuickTime) videos"),
    )])
}

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Image,
    Video(VideoContainer),
}

/// Bytes needed to recognise a file (an `ftyp` box's brand ends at byte 12).
const SNIFF_LEN: usize = 12;

/// What the first bytes of a file are: `Ok(None)` when more bytes are needed.
fn sniff(head: &[u8], complete: bool) -> Result<Option<Sniffed>, SpoolError> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) || starts(b"\x89PNG") || starts(b"GIF8") {
        return Ok(Some(Sniffed::Image));
    }
    if head.len() >= 12 && starts(b"RIFF") && &head[8..12] == b"WEBP" {
        return Ok(Some(Sniffed::Image));
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Err(SpoolError::Webm);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let container = if &head[8..12] == b"qt  " {
            VideoContainer::Mov
        } else {
            VideoContainer::Mp4
        };
        return Ok(Some(Sniffed::Video(container)));
    }
    if head.len() < SNIFF_LEN && !complete {
        return Ok(None);
    }
    Err(SpoolError::Unrecognised)
}

/// The size limits of the two kinds.
#[derive(Debug, Clone, Copy)]
struct SpoolLimits {
    image: u64,
    video: u64,
}

impl SpoolLimits {
    fn of(state: &AppState) -> Self {
        SpoolLimits {
            image: state.inner.config.media.max_bytes,
            video: state.inner.config.media.max_video_bytes,
        }
    }
}

/// A file arriving in chunks: recognised from its first bytes, capped by its kind's limit,
/// hashed and written to a temporary file (deleted when dropped).
struct Spool {
    path: TempFile,
    file: tokio::fs::File,
    head: Vec<u8>,
    kind: Option<Sniffed>,
    size: u64,
    hasher: Sha256,
    limits: SpoolLimits,
}

/// A file received whole.
struct Spooled {
    path: TempFile,
    kind: Sniffed,
    size: u64,
    sha256: [u8; 32],
}

/// Why a spool stopped.
#[derive(Debug)]
enum SpoolError {
    TooLarge { kind: MediaKind, limit: u64 },
    Webm,
    Unrecognised,
    Empty,
    Io(std::io::Error),
}

impl SpoolError {
    /// As an upload's refusal: 413 over the limit, the rest naming `file`.
    fn for_upload(self) -> ApiError {
        match self {
            SpoolError::TooLarge { limit, .. } => ApiError::TooLarge {
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            },
            other => other.common("file"),
        }
    }

    /// As a fetch's refusal: everything names `url`.
    fn for_url(self) -> ApiError {
        match self {
            SpoolError::TooLarge { kind, limit } => ApiError::invalid(vec![FieldError::new(
                "url",
                "media.too_large",
                format!(
                    "the {} is larger than {limit} bytes ({})",
                    kind.as_str(),
                    match kind {
                        MediaKind::Image => "media.max_bytes",
                        MediaKind::Video => "media.max_video_bytes",
                    }
                ),
            )]),
            other => other.common("url"),
        }
    }

    fn common(self, field: &str) -> ApiError {
        match self {
            SpoolError::Webm => ApiError::invalid(vec![FieldError::new(
                field,
                "video.container",
                "the file is a WebM video; Herald accepts MP4 and MOV (QuickTime) videos"
                    .to_owned(),
            )]),
            SpoolError::Unrecognised | SpoolError::Empty => ApiError::UnsupportedMediaType {
                detail: format!(
                    "`{field}` is neither an image nor a video Herald recognises; Herald \
                     accepts JPEG, PNG, GIF and WebP images and MP4 and MOV videos"
                ),
            },
            SpoolError::Io(e) => ApiError::internal("upload spool", &e),
            SpoolError::TooLarge { .. } => ApiError::TooLarge { limit: 0 },
        }
    }
}

impl From<std::io::Error> for SpoolError {
    fn from(e: std::io::Error) -> Self {
        SpoolError::Io(e)
    }
}

impl From<SpoolError> for ApiError {
    fn from(e: SpoolError) -> Self {
        e.for_upload()
    }
}

impl Spool {
    async fn new(limits: SpoolLimits) -> Result<Spool, SpoolError> {
        let path = TempFile::new();
        let file = tokio::fs::File::create(path.path()).await?;
        Ok(Spool {
            path,
            file,
            head: Vec::with_capacity(SNIFF_LEN),
            kind: None,
            size: 0,
            hasher: Sha256::new(),
            limits,
        })
    }

    /// Takes the next chunk; refuses the file as soon as its kind is unknown or its limit
    /// is passed.
    async fn push(&mut self, chunk: &[u8]) -> Result<(), SpoolError> {
        if self.kind.is_none() {
            let wanted = SNIFF_LEN.saturating_sub(self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
            self.kind = sniff(&self.head, false)?;
        }
        let size = self.size + chunk.len() as u64;
        let (kind, limit) = match self.kind {
            Some(Sniffed::Video(_)) => (MediaKind::Video, self.limits.video),
            // Until the kind is known (12 bytes at most), the image limit holds.
            _ => (MediaKind::Image, self.limits.image),
        };
        if size > limit {
            return Err(SpoolError::TooLarge { kind, limit });
        }
        self.size = size;
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    async fn finish(mut self) -> Result<Spooled, SpoolError> {
        if self.size == 0 {
            return Err(SpoolError::Empty);
        }
        let kind = match self.kind {
            Some(kind) => kind,
            None => sniff(&self.head, true)?.ok_or(SpoolError::Unrecognised)?,
        };
        self.file.flush().await?;
        drop(self.file);
        Ok(Spooled {
            path: self.path,
            kind,
            size: self.size,
            sha256: self.hasher.finalize().into(),
        })
    }
}

/// A temporary file, deleted when dropped (a refused or finished upload leaves nothing).
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> TempFile {
        TempFile(std::env::temp_dir().join(format!("herald-upload-{}", uuid::Uuid::new_v4())))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An uploaded file, with a fresh signed URL.
#[utoipa::path(get, path = "/v1/media/{id}", tag = "media",
    params(("id" = uuid::Uuid, Path, description = "Media id")),
    responses((status = 200, body = MediaOut), (status = 404, body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn get_media(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MediaOut>, ApiError> {
    caller.require(Scope::Read)?;
    let id: MediaId = parse_id(&id, "media")?;
    let file = state
        .inner
        .store
        .media()
        .get(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound { what: "media" })?;
    Ok(Json(media_out(&state, &file).await?))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Signature {
    expires: Option<i64>,
    sig: Option<String>,
}

/// `GET /media/{id}?expires=..&sig=..`: the file, to whoever holds a valid signed URL whose
/// expiry is neither past nor further ahead than `media.url_max_ttl_secs`. Every failure is
/// the same 404, so a URL reveals nothing about other files.
pub(crate) async fn serve(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<ApiPath<String>, ApiError>,
    query: Result<Query<Signature>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let not_found = ApiError::NotFound { what: "media" };
    let Ok(ApiPath(id)) = path else {
        return Err(not_found);
    };
    let Ok(Query(Signature {
        expires: Some(expires),
        sig: Some(sig),
    })) = query
    else {
        return Err(not_found);
    };
    let id: MediaId = parse_id(&id, "media")?;
    let max_ttl = state.inner.config.media.url_max_ttl;
    let Some(file) = state
        .inner
        .store
        .media()
        .verify(id, expires, &sig, max_ttl)
        .await?
    else {
        return Err(not_found);
    };
    let size = u64::try_from(file.bytes).unwrap_or(0);
    let range = match requested_range(&headers, size) {
        Ok(range) => range,
        Err(()) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
    };
    let read = state
        .inner
        .media
        .open(&file.storage_key, range.clone())
        .await
        .map_err(|e| ApiError::internal("media store", &e))?;
    let length = read.range.end - read.range.start;
    let mut response = Response::new(Body::from_stream(read.body));
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{}",
            read.range.start,
            read.range.end.saturating_sub(1),
            read.size
        )) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}

/// The one byte range a `Range: bytes=...` header asks for within `size` bytes: `None` for
/// the whole file (no header, or one this route does not honour, such as several ranges),
/// `Err` for a range that starts past the end (416).
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        // `bytes=-n`: the last n bytes.
        (Err(_), Ok(n)) if first.is_empty() => {
            if n == 0 {
                return Err(());
            }
            size.saturating_sub(n)..size
        }
        (Ok(start), Err(_)) if last.is_empty() => start..size,
        (Ok(start), Ok(end)) if end >= start => start..end.saturating_add(1).min(size),
        _ => return Ok(None),
    };
    if range.start >= size {
        return Err(());
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_first_bytes() {
        let ftyp = |brand: &[u8; 4]| {
            let mut head = vec![0, 0, 0, 0x20];
            head.extend_from_slice(b"ftyp");
            head.extend_from_slice(brand);
            head
        };
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0], true).unwrap(),
            Some(Sniffed::Image)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n", true).unwrap(),
            Some(Sniffed::Image)
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBP", true).unwrap(),
            Some(Sniffed::Image)
        );
        assert_eq!(
            sniff(&ftyp(b"isom"), false).unwrap(),
            Some(Sniffed::Video(VideoContainer::Mp4))
        );
        assert_eq!(
            sniff(&ftyp(b"qt  "), false).unwrap(),
            Some(Sniffed::Video(VideoContainer::Mov))
        );
        assert!(matches!(
            sniff(&[0x1A, 0x45, 0xDF, 0xA3], false),
            Err(SpoolError::Webm)
        ));
        // Too short to tell yet; then, complete, not a kind Herald takes.
        assert_eq!(sniff(b"\0\0\0", false).unwrap(), None);
        assert!(matches!(
            sniff(b"\0\0\0", true),
            Err(SpoolError::Unrecognised)
        ));
        assert!(matches!(
            sniff(b"hello, world!", false),
            Err(SpoolError::Unrecognised)
        ));
    }

    #[test]
    fn one_byte_range_is_honoured_and_one_past_the_end_is_refused() {
        let range = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
            requested_range(&headers, 100)
        };
        assert_eq!(requested_range(&HeaderMap::new(), 100), Ok(None));
        assert_eq!(range("bytes=0-9"), Ok(Some(0..10)));
        assert_eq!(range("bytes=90-"), Ok(Some(90..100)));
        assert_eq!(range("bytes=-5"), Ok(Some(95..100)));
        assert_eq!(range("bytes=50-500"), Ok(Some(50..100)));
        assert_eq!(range("bytes=100-"), Err(()));
        // Several ranges, or nonsense: the whole file.
        assert_eq!(range("bytes=0-1,5-6"), Ok(None));
        assert_eq!(range("bytes=9-2"), Ok(None));
        assert_eq!(range("items=0-1"), Ok(None));
    }
}
