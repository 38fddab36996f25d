//! LinkedIn videos: the Videos API under `/rest/videos`, uploaded in parts.
//!
//! `POST /rest/videos?action=initializeUpload` with the owner and `fileSizeBytes` answers a
//! `urn:li:video:...`, an `uploadToken` and one upload instruction per part
//! (`linkedin.video_part_bytes`, 4 MiB, except the last), each with its own pre-signed URL
//! that lives until `uploadUrlsExpireAt` (`linkedin.video_upload_url_secs`). Each part's
//! exact bytes are PUT to its URL, whose answer carries the part's `ETag`; then
//! `POST /rest/videos?action=finalizeUpload` names the video, the token and every ETag in
//! instruction order. The video is then `PROCESSING` for `linkedin.video_processing_ms` and
//! ends `AVAILABLE`, or `PROCESSING_FAILED` with a `processingFailureReason` when the
//! assembled file breaks LinkedIn's rules (MP4 with H.264 or HEVC, 3 s to 30 min, aspect
//! 1:2.4 to 2.4:1). A post may use it only once it is AVAILABLE (`linkedin_posts.rs`).
//!
//! Where LinkedIn's documentation could not be confirmed the simulator picks a plausible
//! answer, each one a choice a test can see:
//! - the part PUTs need no `Authorization` (the URL is pre-signed; clients differ on this);
//! - an expired upload URL answers 403 `{"status":403,"code":"UPLOAD_URL_EXPIRED",...}`;
//! - a finalize whose part list is short, names a part never uploaded, or carries an ETag
//!   that is not the stored part's answers 400 naming the part;
//! - the failure reason is in `processingFailureReason`;
//! - the size limits (`video_min_bytes`, `video_max_bytes`: sources disagree on 500 MB or
//!   5 GB) are checked against `fileSizeBytes` at initialize, with a 422 naming the field.
//!
//! Owners follow LinkedIn's documented rule: a member may own only their own videos, an
//! organization's need the caller to administer it; otherwise 403 "Accessing this video
//! resource is forbidden...".

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::config::secs_to_ms;
use crate::linkedin::{authenticate, error, input_error, may_act_as, rest_headers};
use crate::linkedin_posts::{parse_json, required};
use crate::oauth::AccessToken;
use crate::request::{json, origin, random_token};
use crate::state::{SharedSim, World};
use crate::video;

/// LinkedIn's documented refusal for a video the caller may not own or read.
const FORBIDDEN: &str =
    "Accessing this video resource is forbidden. Please check your permissions for this resource";

/// One uploaded part: its ETag and its bytes (dropped once the video is finalized).
#[derive(Debug)]
struct Part {
    etag: String,
    bytes: Bytes,
}

#[derive(Debug)]
pub(crate) struct LiVideo {
    urn: String,
    pub(crate) owner: String,
    size: u64,
    /// `(firstByte, lastByte)` of each part, inclusive.
    ranges: Vec<(u64, u64)>,
    upload_token: String,
    expires_ms: u64,
    parts: Vec<Option<Part>>,
    /// When the upload was finalized, and the verdict of processing.
    finalized: Option<(u64, Result<Facts, String>)>,
}

/// What a processed video reports.
#[derive(Debug, Clone)]
struct Facts {
    duration_ms: u64,
    width: u32,
    height: u32,
    media_type: &'static str,
}

impl LiVideo {
    pub(crate) fn status(&self, now: u64, processing_ms: u64) -> &'static str {
        match &self.finalized {
            None => "WAITING_UPLOAD",
            Some((at, _)) if now < at + processing_ms => "PROCESSING",
            Some((_, Ok(_))) => "AVAILABLE",
            Some((_, Err(_))) => "PROCESSING_FAILED",
        }
    }

    /// The stored content type (`video/mp4`) once processing succeeded.
    pub(crate) fn media_type(&self) -> Option<&'static str> {
        match &self.finalized {
            Some((_, Ok(facts))) => Some(facts.media_type),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct VideoState {
    pub(crate) videos: HashMap<String, LiVideo>,
    /// Upload id -> (video URN, part index).
    uploads: HashMap<String, (String, usize)>,
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/linkedin/rest/videos", post(action))
        .route("/linkedin/rest/videos/{urn}", get(get_video))
        .route("/linkedin/_video_upload/{id}", put(upload_part))
}

fn bad_request(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        None,
        Some("ILLEGAL_ARGUMENT"),
        message,
    )
}

fn forbidden() -> Response {
    json(
        StatusCode::FORBIDDEN,
        json!({"message": FORBIDDEN, "status": 403}),
    )
}

async fn action(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    if let Err(r) = rest_headers(&world, &headers) {
        return r;
    }
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match q.get("action").map(String::as_str) {
        Some("initializeUpload") => initialize(&mut world, &headers, &token, &body, now),
        Some("finalizeUpload") => finalize(&mut world, &token, &body, now),
        _ => bad_request("action must be initializeUpload or finalizeUpload"),
    }
}

fn initialize(
    world: &mut World,
    headers: &HeaderMap,
    token: &AccessToken,
    body: &Value,
    now: u64,
) -> Response {
    let request = &body["initializeUploadRequest"];
    let Some(owner) = request["owner"].as_str() else {
        return required("/initializeUploadRequest/owner");
    };
    let field = "/initializeUploadRequest/fileSizeBytes";
    let Some(size) = request["fileSizeBytes"].as_u64() else {
        return required(field);
    };
    if !may_act_as(world, token, owner) {
        return forbidden();
    }
    let c = &world.config.linkedin;
    let (min, max) = (c.video_min_bytes, c.video_max_bytes);
    if !(min..=max).contains(&size) {
        return input_error(
            field,
            "INVALID_VALUE",
            &format!(
                "ERROR :: {field} :: {size} is outside the allowed range of {min} to {max} bytes"
            ),
        );
    }
    let part_bytes = c.video_part_bytes.max(1);
    let expires_ms = now + secs_to_ms(c.video_upload_url_secs);
    let urn = format!("urn:li:video:D4E10AQ{}", random_token(16));
    let base = origin(headers, world.config.public_base_url.as_deref());
    let mut ranges = Vec::new();
    let mut instructions = Vec::new();
    let mut first = 0u64;
    while first < size {
        let last = (first + part_bytes).min(size) - 1;
        // Numeric, so fault rules name every part's PUT as `PUT /_video_upload/{id}`.
        let upload_id = world.next_id().to_string();
        world
            .linkedin
            .videos
            .uploads
            .insert(upload_id.clone(), (urn.clone(), ranges.len()));
        instructions.push(json!({
            "firstByte": first,
            "lastByte": last,
            "uploadUrl": format!("{base}/linkedin/_video_upload/{upload_id}"),
        }));
        ranges.push((first, last));
        first = last + 1;
    }
    let upload_token = random_token(24);
    world.linkedin.videos.videos.insert(
        urn.clone(),
        LiVideo {
            urn: urn.clone(),
            owner: owner.to_owned(),
            size,
            parts: ranges.iter().map(|_| None).collect(),
            ranges,
            upload_token: upload_token.clone(),
            expires_ms,
            finalized: None,
        },
    );
    json(
        StatusCode::OK,
        json!({"value": {
            "uploadUrlsExpireAt": expires_ms,
            "video": urn,
            "uploadInstructions": instructions,
            "uploadToken": upload_token,
        }}),
    )
}

/// The PUT of one part's bytes to its pre-signed URL.
async fn upload_part(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let Some((urn, index)) = world.linkedin.videos.uploads.get(&id).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            "Upload URL not found",
        );
    };
    let mismatch = world.config.linkedin.video_etag_mismatch_part == Some(index);
    let Some(video) = world.linkedin.videos.videos.get_mut(&urn) else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            "Upload URL not found",
        );
    };
    if now >= video.expires_ms {
        return error(
            StatusCode::FORBIDDEN,
            None,
            Some("UPLOAD_URL_EXPIRED"),
            &format!(
                "The upload URL expired at {} (uploadUrlsExpireAt): initialize a new upload",
                video.expires_ms
            ),
        );
    }
    if video.finalized.is_some() {
        return bad_request(&format!("{urn} is already finalized"));
    }
    let (first, last) = video.ranges[index];
    let expected = last - first + 1;
    if body.len() as u64 != expected {
        return bad_request(&format!(
            "Part {index} is bytes {first}-{last} ({expected} bytes) but {} bytes were sent",
            body.len()
        ));
    }
    let etag = etag_of(&urn, index, &body);
    let answered = if mismatch {
        etag_of(&urn, index, b"a different part")
    } else {
        etag.clone()
    };
    video.parts[index] = Some(Part { etag, bytes: body });
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::try_from(answered) {
        response.headers_mut().insert("etag", value);
    }
    response
}

/// An ETag in the shape LinkedIn's storage answers (`/ambry-video/signedId/...`), derived
/// from the part's bytes.
fn etag_of(urn: &str, index: usize, bytes: &[u8]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    urn.hash(&mut hasher);
    index.hash(&mut hasher);
    bytes.hash(&mut hasher);
    format!("/ambry-video/signedId/{:016x}", hasher.finish())
}

fn finalize(world: &mut World, token: &AccessToken, body: &Value, now: u64) -> Response {
    let request = &body["finalizeUploadRequest"];
    let Some(urn) = request["video"].as_str() else {
        return required("/finalizeUploadRequest/video");
    };
    let Some(ids) = request["uploadedPartIds"].as_array() else {
        return required("/finalizeUploadRequest/uploadedPartIds");
    };
    let ids: Vec<&str> = ids.iter().map(|v| v.as_str().unwrap_or("")).collect();
    let presented_token = request["uploadToken"].as_str().unwrap_or("");
    let Some(owner) = world
        .linkedin
        .videos
        .videos
        .get(urn)
        .map(|v| v.owner.clone())
    else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            &format!("Video {urn} not found"),
        );
    };
    if !may_act_as(world, token, &owner) {
        return forbidden();
    }
    let limits = world.config.linkedin.clone();
    let Some(video) = world.linkedin.videos.videos.get_mut(urn) else {
        return forbidden();
    };
    if let Some((_, _)) = &video.finalized {
        // Finalizing again with the same parts is accepted: the answer may have been lost.
        let same = video.parts.len() == ids.len();
        return if same {
            StatusCode::OK.into_response()
        } else {
            bad_request(&format!("{urn} is already finalized"))
        };
    }
    if presented_token != video.upload_token {
        return bad_request(&format!(
            "uploadToken does not match the token initializeUpload returned for {urn}"
        ));
    }
    if ids.len() != video.ranges.len() {
        return bad_request(&format!(
            "uploadedPartIds has {} entries but {urn} was initialized with {} upload instructions",
            ids.len(),
            video.ranges.len()
        ));
    }
    for (index, (id, part)) in ids.iter().zip(&video.parts).enumerate() {
        let (first, last) = video.ranges[index];
        match part {
            None => {
                return bad_request(&format!(
                    "Part {index} (bytes {first}-{last}) of {urn} was never uploaded"
                ));
            }
            Some(part) if part.etag != *id => {
                return bad_request(&format!(
                    "uploadedPartIds[{index}] `{id}` does not match the ETag of the uploaded part {index} (bytes {first}-{last})"
                ));
            }
            Some(_) => {}
        }
    }
    let mut whole = Vec::with_capacity(video.size as usize);
    for part in video.parts.iter_mut().filter_map(Option::take) {
        whole.extend_from_slice(&part.bytes);
    }
    // Keep the ETags (a repeated finalize compares counts only); the bytes go.
    video.parts = video.ranges.iter().map(|_| None).collect();
    video.finalized = Some((now, judge(&limits, &whole)));
    StatusCode::OK.into_response()
}

/// LinkedIn's processing verdict on the assembled file: the facts, or why it failed.
fn judge(c: &crate::config::LinkedInConfig, bytes: &[u8]) -> Result<Facts, String> {
    let info = video::probe(bytes)
        .map_err(|e| format!("Unsupported video format: {e}; LinkedIn takes MP4"))?;
    if info.container != herald_domain::VideoContainer::Mp4 {
        return Err(format!(
            "Unsupported container {}: LinkedIn takes MP4",
            info.container.mime_type()
        ));
    }
    if !info.is_h264_or_hevc() {
        return Err(format!(
            "Unsupported video codec {}: LinkedIn takes H.264 or HEVC",
            info.video_codec
        ));
    }
    let (min, max) = (c.video_min_duration_ms, c.video_max_duration_ms);
    if !(min..=max).contains(&info.duration_ms) {
        return Err(format!(
            "Video duration {} ms is outside {min}-{max} ms",
            info.duration_ms
        ));
    }
    let aspect = info.aspect_ratio();
    if !(c.video_min_aspect - 1e-6..=c.video_max_aspect + 1e-6).contains(&aspect) {
        return Err(format!(
            "Video aspect ratio {aspect:.3} ({}x{}) is outside {:.3}-{:.3}",
            info.width, info.height, c.video_min_aspect, c.video_max_aspect
        ));
    }
    Ok(Facts {
        duration_ms: info.duration_ms,
        width: info.width,
        height: info.height,
        media_type: info.container.mime_type(),
    })
}

async fn get_video(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(urn): Path<String>,
) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    if let Err(r) = rest_headers(&world, &headers) {
        return r;
    }
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(video) = world.linkedin.videos.videos.get(&urn) else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            &format!("Video {urn} not found"),
        );
    };
    if !may_act_as(&world, &token, &video.owner) {
        return forbidden();
    }
    let status = video.status(now, world.config.linkedin.video_processing_ms);
    let mut body = json!({"id": video.urn, "owner": video.owner, "status": status});
    match (&video.finalized, status) {
        (Some((_, Ok(facts))), "AVAILABLE") => {
            body["duration"] = json!(facts.duration_ms);
            body["aspectRatioWidth"] = json!(facts.width);
            body["aspectRatioHeight"] = json!(facts.height);
            body["mediaType"] = json!(facts.media_type);
            body["downloadUrl"] =
                json!(format!("https://media.licdn.test/dms/video/{}", video.urn));
            body["downloadUrlExpiresAt"] = json!(now + 3_600_000);
        }
        (Some((_, Err(reason))), "PROCESSING_FAILED") => {
            body["processingFailureReason"] = json!(reason);
        }
        _ => {}
    }
    json(StatusCode::OK, body)
}

/// Validates a video a post refers to: it exists, the author owns it, it is AVAILABLE.
/// A video still PROCESSING (or waiting for its upload) is refused like an image that is not
/// ready: 422 on the field, naming the status (LinkedIn's exact wording is unconfirmed).
pub(crate) fn check_video(
    world: &World,
    urn: &str,
    author: &str,
    field: &str,
    now: u64,
) -> Result<(), Response> {
    match world.linkedin.videos.videos.get(urn) {
        None => Err(input_error(
            field,
            "INVALID_URN",
            &format!("ERROR :: {field} :: {urn} does not exist"),
        )),
        Some(v) if v.owner != author => Err(forbidden()),
        Some(v) => match v.status(now, world.config.linkedin.video_processing_ms) {
            "AVAILABLE" => Ok(()),
            status => Err(input_error(
                field,
                "INVALID_VALUE",
                &format!("ERROR :: {field} :: {urn} is not AVAILABLE (status {status})"),
            )),
        },
    }
}
