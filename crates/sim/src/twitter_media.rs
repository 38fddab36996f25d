//! X media upload under `/x/2/media/upload`: the simple multipart upload, the chunked
//! `initialize` / `{id}/append` / `{id}/finalize` endpoints (and the older `command=INIT|
//! APPEND|FINALIZE` form of the same), and the STATUS read `GET ?media_id=` (`command=STATUS`
//! optional, as in the v2 OpenAPI).
//!
//! Images are checked from their bytes (JPEG, PNG, WebP, GIF; size and dimension limits) and
//! are usable at once. GIFs uploaded as `tweet_gif` and videos (chunked only) report
//! `processing_info`: `pending`, then `in_progress` for the configured time after FINALIZE,
//! with `check_after_secs`, then `succeeded` or `failed`. A video is judged from its own
//! metadata against X's limits (`x.video_*`: MP4 or MOV with H.264, 0.5-140 s, 32x32 to
//! 1280x1024, 1:3 to 3:1, at most 60 fps); one outside them ends `failed` with an
//! `error {code: 1, name: "InvalidMedia", message}` (the v1.1 STATUS shape; whether v2 still
//! sends `error` is unconfirmed). `initialize` refuses a video over `x.video_max_bytes`, and
//! APPEND a chunk over `x.append_max_bytes`.
//!
//! A tweet can attach a media id only when it is the user's, finalized, processed
//! (`succeeded`) and not expired (`expires_after_secs`); otherwise X answers 400 "Your media
//! IDs are invalid.". APPEND and FINALIZE on an expired upload are refused the same way as an
//! unknown id.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

use crate::imaging::{self, ImageFormat, ImageInfo};
use crate::oauth::AccessToken;
use crate::request::{Params, json};
use crate::state::{SharedSim, World};
use crate::twitter::{authenticate, forbidden, invalid_request, read_window, with_rate_headers};
use crate::video::{self, VideoInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaKind {
    Image,
    Gif,
    Video,
}

#[derive(Debug)]
pub(crate) struct Media {
    id: String,
    owner: String,
    kind: MediaKind,
    total_bytes: u64,
    chunks: BTreeMap<u32, Bytes>,
    finalized: bool,
    size: u64,
    info: Option<ImageInfo>,
    /// The stored content type (`image/jpeg`, `video/mp4`): the declared one until the bytes
    /// say otherwise.
    content_type: String,
    finalized_ms: u64,
    processing_until: u64,
    failure: Option<String>,
    expires_ms: u64,
}

impl Media {
    fn key(&self) -> String {
        let prefix = match self.kind {
            MediaKind::Image => 3,
            MediaKind::Gif => 16,
            MediaKind::Video => 7,
        };
        format!("{prefix}_{}", self.id)
    }

    fn processing_info(&self, now: u64) -> Option<Value> {
        if self.kind == MediaKind::Image || !self.finalized {
            return None;
        }
        if now < self.processing_until {
            let left = self.processing_until - now;
            let total = self
                .processing_until
                .saturating_sub(self.finalized_ms)
                .max(1);
            let done = now.saturating_sub(self.finalized_ms);
            // The first third of the processing time is spent queued.
            let state = if done * 3 < total {
                "pending"
            } else {
                "in_progress"
            };
            return Some(json!({
                "state": state,
                "check_after_secs": left.div_ceil(1000).max(1),
                "progress_percent": done * 100 / total,
            }));
        }
        Some(match &self.failure {
            Some(message) => json!({
                "state": "failed",
                "progress_percent": 100,
                "error": {"code": 1, "name": "InvalidMedia", "message": message},
            }),
            None => json!({"state": "succeeded", "progress_percent": 100}),
        })
    }

    fn json(&self, now: u64) -> Value {
        let mut data = json!({
            "id": self.id,
            "media_key": self.key(),
            "expires_after_secs": self.expires_ms.saturating_sub(now) / 1000,
        });
        if self.finalized {
            data["size"] = json!(self.size);
        }
        if let Some(info) = &self.info {
            data["image"] =
                json!({"image_type": info.format.mime(), "w": info.width, "h": info.height});
        }
        if self.kind == MediaKind::Video && self.finalized {
            data["video"] = json!({"video_type": self.content_type});
        }
        if let Some(processing) = self.processing_info(now) {
            data["processing_info"] = processing;
        }
        json!({"data": data})
    }
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/x/2/media/upload", post(upload).get(status))
        .route("/x/2/media/upload/initialize", post(initialize))
        .route("/x/2/media/upload/{id}/append", post(append))
        .route("/x/2/media/upload/{id}/finalize", post(finalize))
}

/// Whether a tweet by `user` may attach this media id now.
pub(crate) fn attachable(world: &World, id: &str, user: &str, now: u64) -> bool {
    world.x.media.get(id).is_some_and(|m| {
        m.owner == user
            && m.finalized
            && now < m.expires_ms
            && m.failure.is_none()
            && (m.kind == MediaKind::Image || now >= m.processing_until)
    })
}

/// What kind of media an uploaded id is, and its stored content type.
pub(crate) fn describe(world: &World, id: &str) -> Option<(MediaKind, String)> {
    world
        .x
        .media
        .get(id)
        .map(|m| (m.kind, m.content_type.clone()))
}

/// An uploaded id's `media_key` (`3_` image, `7_` video, `16_` GIF).
pub(crate) fn media_key(world: &World, id: &str) -> String {
    world
        .x
        .media
        .get(id)
        .map_or_else(|| format!("3_{id}"), Media::key)
}

/// The media types `initialize` takes (the v2 OpenAPI enum).
const MEDIA_TYPES: &[&str] = &[
    "video/mp4",
    "video/webm",
    "video/mp2t",
    "video/quicktime",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/pjpeg",
    "image/tiff",
    "text/srt",
    "text/vtt",
];

/// Judges a video from its metadata against X's limits; the message is what STATUS reports
/// in `processing_info.error` when processing fails. The texts for duration and frame are
/// modelled on what X's STATUS has been seen to say ("Duration too long, maximum:..., actual:
/// ..."); only "Unsupported video format" is documented.
fn check_video(x: &crate::config::XConfig, bytes: &[u8]) -> (Option<VideoInfo>, Option<String>) {
    let Ok(info) = video::probe(bytes) else {
        return (None, Some("Unsupported video format".to_owned()));
    };
    let problem = if !matches!(info.video_codec.as_str(), "avc1" | "avc3") {
        Some("Unsupported video format".to_owned())
    } else if info.duration_ms > x.video_max_duration_ms {
        Some(format!(
            "Duration too long, maximum:{}, actual:{}",
            x.video_max_duration_ms, info.duration_ms
        ))
    } else if info.duration_ms < x.video_min_duration_ms {
        Some(format!(
            "Duration too short, minimum:{}, actual:{}",
            x.video_min_duration_ms, info.duration_ms
        ))
    } else if info.width.min(info.height) < x.video_min_dimension
        // Either orientation: X documents 1280x1024 as the largest frame and recommends
        // 720x1280 for portrait, so the long side is held to the width and the short side
        // to the height.
        || info.width.max(info.height) > x.video_max_width
        || info.width.min(info.height) > x.video_max_height
    {
        Some(format!(
            "Invalid dimensions {}x{}, minimum:{min}x{min}, maximum:{}x{}",
            info.width,
            info.height,
            x.video_max_width,
            x.video_max_height,
            min = x.video_min_dimension
        ))
    } else if info.aspect_ratio() > x.video_max_aspect
        || info.aspect_ratio() < 1.0 / x.video_max_aspect
    {
        Some(format!(
            "Invalid aspect ratio {}x{}, allowed between 1:{max} and {max}:1",
            info.width,
            info.height,
            max = x.video_max_aspect
        ))
    } else if info.frame_rate > x.video_max_frame_rate {
        Some(format!(
            "Invalid frame rate, maximum:{}, actual:{}",
            x.video_max_frame_rate, info.frame_rate
        ))
    } else {
        None
    };
    (Some(info), problem)
}

/// The caller, with the `media.write` scope; and the upload window's usage.
fn caller(
    world: &mut World,
    headers: &HeaderMap,
    now: u64,
) -> Result<(AccessToken, crate::limits::Usage), Response> {
    let token = authenticate(world, headers, now)?;
    if !token.has_scope("media.write") {
        return Err(forbidden("Missing scope: media.write"));
    }
    let usage = read_window(world, &token.user, "media/upload", now)?;
    Ok((token, usage))
}

/// The media bytes of a request: a multipart `media` file, or base64 in `media` /
/// `media_data`.
fn media_bytes(params: &Params) -> Option<Bytes> {
    if let Some(file) = params.file("media") {
        return Some(file.bytes.clone());
    }
    let encoded = params.get("media").or(params.get("media_data"))?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .map(Bytes::from)
}

/// Classifies uploaded bytes and checks X's limits.
fn inspect(
    world: &World,
    bytes: &[u8],
    category: &str,
) -> Result<(MediaKind, Option<ImageInfo>), String> {
    let x = &world.config.x;
    if let Some(info) = imaging::sniff(bytes) {
        let kind = if info.format == ImageFormat::Gif && category.eq_ignore_ascii_case("tweet_gif")
        {
            MediaKind::Gif
        } else {
            MediaKind::Image
        };
        let max = if info.format == ImageFormat::Gif {
            x.gif_max_bytes
        } else {
            x.image_max_bytes
        };
        if bytes.len() as u64 > max {
            return Err(format!("File size exceeds {max} bytes."));
        }
        if info.width > x.image_max_dimension || info.height > x.image_max_dimension {
            return Err(format!(
                "Image dimensions {}x{} exceed the maximum of {}x{}.",
                info.width, info.height, x.image_max_dimension, x.image_max_dimension
            ));
        }
        return Ok((kind, Some(info)));
    }
    if imaging::is_mp4(bytes) {
        return Ok((MediaKind::Video, None));
    }
    Err("media type unrecognized.".to_owned())
}

fn new_media(world: &mut World, owner: &str, kind: MediaKind, total: u64, now: u64) -> Media {
    let id = (1_880_000_000_000_000_000u64 + world.next_id()).to_string();
    Media {
        id,
        owner: owner.to_owned(),
        kind,
        total_bytes: total,
        chunks: BTreeMap::new(),
        finalized: false,
        size: 0,
        info: None,
        content_type: String::new(),
        finalized_ms: 0,
        processing_until: 0,
        failure: None,
        expires_ms: now + world.config.x.media_expires_secs * 1000,
    }
}

async fn upload(State(sim): State<SharedSim>, req: Request) -> Response {
    let (headers, params) = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => return invalid_request(&e),
    };
    match params
        .get("command")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("INIT") => return do_initialize(&sim, &headers, &params),
        Some("APPEND") => {
            let id = params.get("media_id").unwrap_or_default().to_owned();
            return do_append(&sim, &headers, &id, &params);
        }
        Some("FINALIZE") => {
            let id = params.get("media_id").unwrap_or_default().to_owned();
            return do_finalize(&sim, &headers, &id);
        }
        Some("STATUS") => {
            let id = params.get("media_id").unwrap_or_default().to_owned();
            return do_status(&sim, &headers, &id);
        }
        Some(other) => return invalid_request(&format!("Unknown command {other}.")),
        None => {}
    }
    let now = sim.now_ms();
    let mut world = sim.world();
    let (token, usage) = match caller(&mut world, &headers, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(bytes) = media_bytes(&params) else {
        return invalid_request("$.media: is missing but it is required");
    };
    let category = params
        .get("media_category")
        .unwrap_or("tweet_image")
        .to_owned();
    let (kind, info) = match inspect(&world, &bytes, &category) {
        Ok(found) => found,
        Err(message) => return invalid_request(&message),
    };
    if kind == MediaKind::Video {
        return invalid_request("Videos must be uploaded with the chunked upload endpoints.");
    }
    let mut media = new_media(&mut world, &token.user, kind, bytes.len() as u64, now);
    media.finalized = true;
    media.finalized_ms = now;
    media.size = bytes.len() as u64;
    media.content_type = info.map_or("image/jpeg", |i| i.format.mime()).to_owned();
    media.info = info;
    if kind == MediaKind::Gif {
        media.processing_until = now + world.config.x.media_processing_ms;
    }
    let body = media.json(now);
    world.x.media.insert(media.id.clone(), media);
    with_rate_headers(json(StatusCode::OK, body), &usage)
}

async fn initialize(State(sim): State<SharedSim>, req: Request) -> Response {
    let (headers, params) = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => return invalid_request(&e),
    };
    do_initialize(&sim, &headers, &params)
}

fn do_initialize(sim: &SharedSim, headers: &HeaderMap, params: &Params) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let (token, usage) = match caller(&mut world, headers, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(total) = params
        .get("total_bytes")
        .and_then(|t| t.parse::<u64>().ok())
    else {
        return invalid_request("$.total_bytes: is missing but it is required");
    };
    let media_type = params.get("media_type").unwrap_or("");
    let category = params.get("media_category").unwrap_or("tweet_image");
    if !MEDIA_TYPES.contains(&media_type) {
        return invalid_request(&format!(
            "$.media_type: does not have a value in the enumeration [{}]",
            MEDIA_TYPES.join(", ")
        ));
    }
    let kind = if media_type.starts_with("video/") || category.ends_with("video") {
        MediaKind::Video
    } else if category.eq_ignore_ascii_case("tweet_gif") {
        MediaKind::Gif
    } else if media_type.starts_with("image/") {
        MediaKind::Image
    } else {
        return invalid_request("$.media_type: must be a supported image or video type");
    };
    let max = world.config.x.video_max_bytes;
    if kind == MediaKind::Video && total > max {
        return invalid_request(&format!(
            "$.total_bytes: {total} exceeds the maximum of {max} bytes for a video"
        ));
    }
    let mut media = new_media(&mut world, &token.user, kind, total, now);
    media.content_type = media_type.to_owned();
    let body = json!({"data": {
        "id": media.id,
        "media_key": media.key(),
        "expires_after_secs": world.config.x.media_expires_secs,
    }});
    world.x.media.insert(media.id.clone(), media);
    with_rate_headers(json(StatusCode::OK, body), &usage)
}

async fn append(State(sim): State<SharedSim>, Path(id): Path<String>, req: Request) -> Response {
    let (headers, params) = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => return invalid_request(&e),
    };
    do_append(&sim, &headers, &id, &params)
}

fn do_append(sim: &SharedSim, headers: &HeaderMap, id: &str, params: &Params) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let (token, usage) = match caller(&mut world, headers, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(segment) = params
        .get("segment_index")
        .and_then(|s| s.parse::<u32>().ok())
    else {
        return invalid_request("$.segment_index: is missing but it is required");
    };
    if segment > 999 {
        return invalid_request("$.segment_index: must be between 0 and 999");
    }
    let Some(bytes) = media_bytes(params) else {
        return invalid_request("$.media: is missing but it is required");
    };
    if let Some(max) = world.config.x.append_max_bytes
        && bytes.len() as u64 > max
    {
        return invalid_request(&format!(
            "$.media: a segment is at most {max} bytes, this one is {}",
            bytes.len()
        ));
    }
    let Some(media) = world
        .x
        .media
        .get_mut(id)
        .filter(|m| m.owner == token.user && now < m.expires_ms)
    else {
        return invalid_request("The media_id is invalid.");
    };
    if media.finalized {
        return invalid_request("The media upload has already been finalized.");
    }
    media.chunks.insert(segment, bytes);
    let expires_at = media.expires_ms / 1000;
    with_rate_headers(
        json(StatusCode::OK, json!({"data": {"expires_at": expires_at}})),
        &usage,
    )
}

async fn finalize(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    do_finalize(&sim, &headers, &id)
}

fn do_finalize(sim: &SharedSim, headers: &HeaderMap, id: &str) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let (token, usage) = match caller(&mut world, headers, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let processing_ms = world.config.x.media_processing_ms;
    let Some(mut media) = world
        .x
        .media
        .remove(id)
        .filter(|m| m.owner == token.user && now < m.expires_ms)
    else {
        return invalid_request("The media_id is invalid.");
    };
    if !media.finalized {
        let whole: Vec<u8> = media
            .chunks
            .values()
            .flat_map(|c| c.iter().copied())
            .collect();
        if whole.len() as u64 != media.total_bytes {
            let message = format!(
                "File size mismatch: received {} bytes, total_bytes was {}.",
                whole.len(),
                media.total_bytes
            );
            world.x.media.insert(media.id.clone(), media);
            return invalid_request(&message);
        }
        let category = match media.kind {
            MediaKind::Gif => "tweet_gif",
            _ => "tweet_image",
        };
        let inspected = if media.kind == MediaKind::Video {
            let (info, failure) = check_video(&world.config.x, &whole);
            if let Some(info) = &info {
                media.content_type = info.container.mime_type().to_owned();
            }
            media.failure = failure;
            Ok((MediaKind::Video, None))
        } else {
            inspect(&world, &whole, category)
        };
        match inspected {
            Ok((kind, info)) if kind == media.kind || media.kind == MediaKind::Image => {
                media.kind = kind;
                if let Some(info) = &info {
                    media.content_type = info.format.mime().to_owned();
                }
                media.info = info;
            }
            Ok(_) => media.failure = Some("The media does not match the declared type.".to_owned()),
            Err(message) => {
                if media.kind == MediaKind::Image {
                    world.x.media.insert(media.id.clone(), media);
                    return invalid_request(&message);
                }
                media.failure = Some(message);
            }
        }
        media.size = whole.len() as u64;
        media.chunks.clear();
        media.finalized = true;
        media.finalized_ms = now;
        if media.kind != MediaKind::Image {
            media.processing_until = now + processing_ms;
        }
    }
    let body = media.json(now);
    world.x.media.insert(media.id.clone(), media);
    with_rate_headers(json(StatusCode::OK, body), &usage)
}

async fn status(State(sim): State<SharedSim>, req: Request) -> Response {
    let (headers, params) = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => return invalid_request(&e),
    };
    if params
        .get("command")
        .is_some_and(|c| !c.eq_ignore_ascii_case("STATUS"))
    {
        return invalid_request("$.command: must be STATUS");
    }
    let id = params.get("media_id").unwrap_or_default().to_owned();
    do_status(&sim, &headers, &id)
}

fn do_status(sim: &SharedSim, headers: &HeaderMap, id: &str) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let (token, usage) = match caller(&mut world, headers, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(media) = world.x.media.get(id).filter(|m| m.owner == token.user) else {
        return invalid_request("The media_id is invalid.");
    };
    let mut body = media.json(now);
    if body["data"].get("processing_info").is_none() {
        body["data"]["processing_info"] = json!({"state": "succeeded", "progress_percent": 100});
    }
    with_rate_headers(json(StatusCode::OK, body), &usage)
}
