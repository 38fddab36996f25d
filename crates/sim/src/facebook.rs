//! Facebook Pages on the Graph API: `/{page}/photos`, `/{page}/feed` (POST and read-back),
//! `/{page}/videos` (the chunked upload and read-back), `/{post}/comments`, `/{photo}/picture`
//! and post, photo and video lookups.
//!
//! Publishing takes the Page's own token (from `/me/accounts`) with `pages_manage_posts`; a
//! user token gets the (#200) permission error, as on Facebook. A photo comes from a
//! multipart `source` or from `url`, which the simulator really downloads; `published=false`
//! keeps it unattached until a feed post names it in `attached_media`. Posting the same
//! message twice within `facebook.duplicate_window_secs` is the 506 duplicate (unless
//! `detect_duplicates` is off); too many posts in the window is code 613. A feed post takes
//! at most `facebook.max_attached_photos` photos (Facebook documents no maximum).
//!
//! Videos use the chunked upload on `/{page}/videos` (also served under `/graph-video`):
//! `upload_phase=start` with `file_size` opens a session and names the video; each
//! `upload_phase=transfer` carries `video_file_chunk`, the bytes from the session's offset,
//! and answers the next `[start_offset, end_offset)` window (`facebook.video_chunk_bytes`)
//! until the two are equal; `upload_phase=finish` publishes with the `description` and
//! `title`. The refusals are the Video API's subcodes under code 6000: 1363023 above
//! `facebook.video_max_bytes`, 1363022 below `video_min_bytes`, 1363037 for a transfer at the
//! wrong offset (with `error_data: {start_offset, end_offset}`, where to resume), 1363030 for a
//! session older than `video_session_secs` (Facebook's lifetime is undocumented), 1363019 for
//! a finish before every byte arrived. After the finish `GET /{video}?fields=status` reports
//! `video_status` `processing` for `video_processing_ms`, then `ready`, or `error` when the
//! bytes are not a video Facebook reads (a WebM sent as MP4): such a video is never
//! published. A ready video is listed by `GET /{page}/videos`, not in the feed (whether and
//! under which id Facebook also lists it in `published_posts` is unconfirmed).
//!
//! Comments (`POST /{post}/comments`, on a feed post or a video) take the Page token; with
//! `facebook.comment_requires_engagement_scope` they also need `pages_manage_engagement`
//! (unconfirmed, off by default). A comment is listed in `/_sim/posts` with `reply_to`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::fetch::{self, FetchError};
use crate::graph::{Call, GraphError, manages_page, select, unsupported};
use crate::imaging::{self, ImageFormat};
use crate::oauth::TokenKind;
use crate::request::json;
use crate::state::{Platform, SharedSim, SimPost, World, graph_time, iso_millis};
use crate::video;

#[derive(Debug, Clone)]
struct FbPost {
    id: String,
    page: String,
    message: String,
    photos: Vec<String>,
    link: Option<String>,
    created_ms: u64,
}

#[derive(Debug, Clone)]
struct Photo {
    id: String,
    page: String,
    bytes: Bytes,
    mime: &'static str,
    width: u32,
    height: u32,
    published: bool,
    attached: bool,
    caption: String,
    created_ms: u64,
}

/// A chunked video upload in progress.
#[derive(Debug, Clone)]
struct UploadSession {
    page: String,
    video_id: String,
    file_size: u64,
    received: Vec<u8>,
    created_ms: u64,
}

/// A finished video upload: published once processed, unless processing fails.
#[derive(Debug, Clone)]
struct Video {
    id: String,
    page: String,
    description: String,
    title: String,
    mime: &'static str,
    bytes: u64,
    duration_ms: u64,
    created_ms: u64,
    ready_ms: u64,
    /// Processing ends in `error`: Facebook cannot read the bytes.
    unreadable: bool,
}

impl Video {
    fn status(&self, now: u64) -> &'static str {
        match (now >= self.ready_ms, self.unreadable) {
            (false, _) => "processing",
            (true, false) => "ready",
            (true, true) => "error",
        }
    }

    fn permalink(&self) -> String {
        format!("https://www.facebook.com/{}/videos/{}", self.page, self.id)
    }
}

#[derive(Debug, Default)]
pub(crate) struct FacebookState {
    posts: HashMap<String, FbPost>,
    by_page: HashMap<String, Vec<String>>,
    photos: HashMap<String, Photo>,
    sessions: HashMap<String, UploadSession>,
    videos: HashMap<String, Video>,
    /// Video ids per Page, in upload order.
    videos_by_page: HashMap<String, Vec<String>>,
    /// Comment id -> (Page, the post or video it is on).
    comments: HashMap<String, (String, String)>,
}

impl FacebookState {
    /// The Page a post, photo, video or comment belongs to.
    pub(crate) fn page_of(&self, id: &str) -> Option<String> {
        self.posts
            .get(id)
            .map(|p| p.page.clone())
            .or_else(|| self.photos.get(id).map(|p| p.page.clone()))
            .or_else(|| self.videos.get(id).map(|v| v.page.clone()))
            .or_else(|| self.comments.get(id).map(|(page, _)| page.clone()))
    }
}

fn permalink(post: &FbPost) -> String {
    let suffix = post.id.split_once('_').map_or(post.id.as_str(), |(_, s)| s);
    format!("https://www.facebook.com/{}/posts/{suffix}", post.page)
}

/// Publishing needs the Page's token with `pages_manage_posts`.
fn may_publish(world: &World, call: &Call, page_id: &str) -> Result<(), GraphError> {
    if world.fixtures.facebook_page(page_id).is_none() || !manages_page(world, &call.token, page_id)
    {
        return Err(unsupported(&call.method, page_id));
    }
    let page_token = matches!(call.token.kind, TokenKind::MetaPage { .. });
    if !page_token || !call.token.has_scope("pages_manage_posts") {
        return Err(GraphError::new(
            200,
            "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission",
        )
        .status(StatusCode::FORBIDDEN));
    }
    Ok(())
}

fn post_window(world: &mut World, page_id: &str, now: u64) -> Result<(), GraphError> {
    let limit = world.config.facebook.page_posts;
    let enabled = world.config.rate_limits;
    world
        .windows
        .try_take(enabled, &format!("fb:posts:{page_id}"), &limit, now)
        .map(|_| ())
        .map_err(|_| {
            GraphError::new(
                613,
                "(#613) Calls to this api have exceeded the rate limit.",
            )
            .transient()
        })
}

pub(crate) async fn create_photo(
    sim: &SharedSim,
    call: &Call,
    page_id: &str,
) -> Result<Response, GraphError> {
    let (max_bytes, timeout) = {
        let world = sim.world();
        may_publish(&world, call, page_id)?;
        (
            world.config.facebook.photo_max_bytes,
            Duration::from_millis(world.config.fetch.timeout_ms),
        )
    };
    let bytes = match (call.params.file("source"), call.params.non_empty("url")) {
        (Some(file), _) => file.bytes.clone(),
        (None, Some(url)) => match fetch::fetch(&sim.http, url, max_bytes, timeout).await {
            Ok(fetched) => fetched.bytes,
            Err(FetchError::BadUrl) => {
                return Err(GraphError::new(
                    100,
                    "(#100) url should represent a valid URL",
                ));
            }
            Err(FetchError::TooLarge) => return Err(too_large(max_bytes)),
            Err(_) => {
                return Err(GraphError::new(324, "(#324) Missing or invalid image file")
                    .user_message(
                        "Image download failed",
                        &format!("The image at {url} could not be downloaded."),
                    ));
            }
        },
        (None, None) => return Err(GraphError::new(324, "(#324) Requires upload file")),
    };
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(max_bytes));
    }
    let Some(info) = imaging::sniff(&bytes).filter(|i| {
        matches!(
            i.format,
            ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::Webp
        )
    }) else {
        return Err(GraphError::new(324, "(#324) Missing or invalid image file"));
    };
    let now = sim.now_ms();
    let mut world = sim.world();
    post_window(&mut world, page_id, now)?;
    let published = call.params.flag("published").unwrap_or(true);
    let caption = call
        .params
        .get("caption")
        .or(call.params.get("message"))
        .unwrap_or("")
        .to_owned();
    let id = (300_000_000_000_000u64 + world.next_id()).to_string();
    let photo = Photo {
        id: id.clone(),
        page: page_id.to_owned(),
        bytes,
        mime: info.format.mime(),
        width: info.width,
        height: info.height,
        published,
        attached: published,
        caption: caption.clone(),
        created_ms: now,
    };
    world.meta.facebook.photos.insert(id.clone(), photo);
    if !published {
        return Ok(json(StatusCode::OK, json!({"id": id})));
    }
    let post_id = store_post(&mut world, page_id, caption, vec![id.clone()], None, now);
    Ok(json(StatusCode::OK, json!({"id": id, "post_id": post_id})))
}

fn too_large(max: u64) -> GraphError {
    GraphError::new(
        100,
        format!(
            "(#100) The image is too large: the maximum is {} MB",
            max / (1024 * 1024)
        ),
    )
}

fn store_post(
    world: &mut World,
    page_id: &str,
    message: String,
    photos: Vec<String>,
    link: Option<String>,
    now: u64,
) -> String {
    let id = format!("{page_id}_{}", 400_000_000_000_000u64 + world.next_id());
    let post = FbPost {
        id: id.clone(),
        page: page_id.to_owned(),
        message: message.clone(),
        photos: photos.clone(),
        link,
        created_ms: now,
    };
    let url = permalink(&post);
    let media_types = photos
        .iter()
        .map(|p| {
            world
                .meta
                .facebook
                .photos
                .get(p)
                .map_or("image/jpeg", |photo| photo.mime)
                .to_owned()
        })
        .collect();
    world.meta.facebook.posts.insert(id.clone(), post);
    world
        .meta
        .facebook
        .by_page
        .entry(page_id.to_owned())
        .or_default()
        .push(id.clone());
    world.record_post(SimPost {
        platform: Platform::Facebook.as_str(),
        account: page_id.to_owned(),
        id: id.clone(),
        text: message,
        media: photos,
        media_types,
        reply_to: None,
        url,
        created_at: iso_millis(now),
    });
    id
}

/// `attached_media` as a JSON array, or as `attached_media[N]` fields holding JSON objects.
fn attached_media(call: &Call) -> Result<Vec<String>, GraphError> {
    let fbid = |value: &Value| -> Option<String> {
        let value = match value {
            Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
            other => other.clone(),
        };
        match &value["media_fbid"] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let invalid = |i: usize| {
        GraphError::new(
            100,
            format!("(#100) param attached_media[{i}] must be a valid media_fbid"),
        )
    };
    if let Some(raw) = call.params.get("attached_media") {
        let list: Vec<Value> = serde_json::from_str(raw)
            .map_err(|_| GraphError::new(100, "(#100) param attached_media must be an array"))?;
        return list
            .iter()
            .enumerate()
            .map(|(i, v)| fbid(v).ok_or_else(|| invalid(i)))
            .collect();
    }
    let mut indexed = BTreeMap::new();
    for (key, value) in call.params.fields() {
        if let Some(index) = key
            .strip_prefix("attached_media[")
            .and_then(|k| k.strip_suffix(']'))
            .and_then(|k| k.parse::<usize>().ok())
        {
            indexed.insert(index, value.clone());
        }
    }
    indexed
        .into_iter()
        .map(|(i, v)| fbid(&Value::String(v)).ok_or_else(|| invalid(i)))
        .collect()
}

pub(crate) fn create_post(
    sim: &SharedSim,
    call: &Call,
    page_id: &str,
) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let mut world = sim.world();
    may_publish(&world, call, page_id)?;
    let message = call.params.get("message").unwrap_or("").to_owned();
    let link = call.params.non_empty("link").map(str::to_owned);
    let photos = attached_media(call)?;
    if message.trim().is_empty() && link.is_none() && photos.is_empty() {
        return Err(GraphError::new(100, "(#100) Missing message or attachment"));
    }
    let most = world.config.facebook.max_attached_photos;
    if photos.len() > most {
        return Err(GraphError::new(
            100,
            format!(
                "(#100) param attached_media must have at most {most} elements, got {}",
                photos.len()
            ),
        ));
    }
    let max = world.config.facebook.max_message_chars;
    if message.chars().count() > max {
        return Err(GraphError::new(
            100,
            format!("(#100) The message is too long: the maximum is {max} characters"),
        ));
    }
    for (i, id) in photos.iter().enumerate() {
        let usable = world
            .meta
            .facebook
            .photos
            .get(id)
            .is_some_and(|p| p.page == page_id && !p.published && !p.attached);
        if !usable {
            return Err(GraphError::new(
                100,
                format!("(#100) param attached_media[{i}] has invalid media_fbid {id}"),
            ));
        }
    }
    let window = world.config.facebook.duplicate_window_secs;
    let duplicate = world.meta.facebook.by_page.get(page_id).is_some_and(|ids| {
        ids.iter()
            .rev()
            .filter_map(|id| world.meta.facebook.posts.get(id))
            // Posts are stored in time order: the first one outside the window ends the search.
            .take_while(|p| world.refuses_duplicate_of(p.created_ms, window, now))
            .any(|p| {
                !message.is_empty()
                    && p.message == message
                    && p.photos.is_empty()
                    && photos.is_empty()
                    && p.link == link
            })
    });
    if duplicate {
        return Err(GraphError::new(506, "Duplicate status message").subcode(1_455_006).user_message(
            "Duplicate post",
            "This status update is identical to the last one you posted. Try posting something different, or delete your previous update.",
        ));
    }
    post_window(&mut world, page_id, now)?;
    for id in &photos {
        if let Some(photo) = world.meta.facebook.photos.get_mut(id) {
            photo.attached = true;
        }
    }
    let id = store_post(&mut world, page_id, message, photos, link, now);
    Ok(json(StatusCode::OK, json!({"id": id})))
}

fn post_value(world: &World, post: &FbPost) -> Value {
    let mut all = json!({
        "id": post.id,
        "message": post.message,
        "created_time": graph_time(post.created_ms),
        "updated_time": graph_time(post.created_ms),
        "permalink_url": permalink(post),
        "is_published": true,
        "from": {"id": post.page, "name": world.fixtures.facebook_page(&post.page).map(|p| p.name.clone())},
    });
    if post.message.is_empty() {
        all.as_object_mut().map(|m| m.remove("message"));
    }
    if !post.photos.is_empty() {
        let attachments: Vec<Value> = post
            .photos
            .iter()
            .map(|id| json!({"media_type": "photo", "target": {"id": id}, "type": "photo"}))
            .collect();
        all["attachments"] = json!({"data": attachments});
        all["full_picture"] = json!(format!(
            "https://scontent.fbcdn.test/{}.jpg",
            post.photos[0]
        ));
    }
    if let Some(link) = &post.link {
        all["link"] = json!(link);
    }
    all
}

pub(crate) fn feed(sim: &SharedSim, call: &Call, page_id: &str) -> Result<Response, GraphError> {
    let world = sim.world();
    if world.fixtures.facebook_page(page_id).is_none()
        || !manages_page(&world, &call.token, page_id)
    {
        return Err(unsupported(&call.method, page_id));
    }
    let (limit, offset) = crate::graph::page_window(&call.params);
    let ids = world
        .meta
        .facebook
        .by_page
        .get(page_id)
        .cloned()
        .unwrap_or_default();
    let fields = call.params.get("fields");
    let data: Vec<Value> = ids
        .iter()
        .rev()
        .skip(offset)
        .take(limit)
        .filter_map(|id| world.meta.facebook.posts.get(id))
        .map(|p| select(post_value(&world, p), fields, &["message", "created_time"]))
        .collect();
    let mut paging = json!({"cursors": {"before": offset.to_string(), "after": (offset + data.len()).to_string()}});
    if offset + data.len() < ids.len() {
        paging["next"] = json!(format!("{page_id}/feed?after={}", offset + data.len()));
    }
    Ok(json(
        StatusCode::OK,
        json!({"data": data, "paging": paging}),
    ))
}

/// The photo's bytes (what `/{photo}/picture` redirects to on Facebook's CDN).
pub(crate) fn picture(sim: &SharedSim, call: &Call, id: &str) -> Result<Response, GraphError> {
    let world = sim.world();
    let photo = world
        .meta
        .facebook
        .photos
        .get(id)
        .filter(|p| manages_page(&world, &call.token, &p.page))
        .ok_or_else(|| unsupported(&call.method, id))?;
    Ok(([(header::CONTENT_TYPE, photo.mime)], photo.bytes.clone()).into_response())
}

/// A post, photo or video by id, with the requested fields.
pub(crate) fn node(world: &World, call: &Call, id: &str, now: u64) -> Option<Value> {
    let fields = call.params.get("fields");
    if let Some(video) = world.meta.facebook.videos.get(id) {
        if !manages_page(world, &call.token, &video.page) {
            return None;
        }
        return Some(select(
            video_value(video, now),
            fields,
            &["description", "updated_time"],
        ));
    }
    if let Some(post) = world.meta.facebook.posts.get(id) {
        if !manages_page(world, &call.token, &post.page) {
            return None;
        }
        return Some(select(
            post_value(world, post),
            fields,
            &["message", "created_time"],
        ));
    }
    let photo = world.meta.facebook.photos.get(id)?;
    if !manages_page(world, &call.token, &photo.page) {
        return None;
    }
    let picture = format!("https://graph.facebook.com/{}/picture", photo.id);
    let all = json!({
        "id": photo.id,
        "created_time": graph_time(photo.created_ms),
        "name": photo.caption,
        "width": photo.width,
        "height": photo.height,
        "picture": picture,
        "link": format!("https://www.facebook.com/photo/?fbid={}", photo.id),
        "images": [{"height": photo.height, "width": photo.width, "source": picture}],
    });
    Some(select(all, fields, &["created_time", "name"]))
}

// ---- videos ---------------------------------------------------------------------------------

/// A Video API refusal: code 6000 with the specific subcode (Meta's error-code table lists the
/// subcodes by number; a client reading either field finds it).
fn video_error(subcode: i64, message: impl Into<String>) -> GraphError {
    GraphError::new(6000, message).subcode(subcode)
}

/// `{start_offset, end_offset}` as Facebook sends them: numbers in strings.
fn window(from: u64, size: u64, chunk: u64) -> Value {
    let end = from.saturating_add(chunk.max(1)).min(size);
    json!({"start_offset": from.to_string(), "end_offset": end.to_string()})
}

fn offset(call: &Call, name: &str) -> Result<u64, GraphError> {
    call.params
        .get(name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| GraphError::new(100, format!("(#100) The parameter {name} is required")))
}

/// The upload session a transfer or finish names, if it is this Page's and still alive.
fn live_session<'w>(
    world: &'w mut World,
    call: &Call,
    page_id: &str,
    now: u64,
) -> Result<&'w mut UploadSession, GraphError> {
    let lifetime_ms = world
        .config
        .facebook
        .video_session_secs
        .saturating_mul(1000);
    let id = call.params.get("upload_session_id").unwrap_or("");
    let session = world
        .meta
        .facebook
        .sessions
        .get_mut(id)
        .filter(|s| s.page == page_id)
        .ok_or_else(|| {
            GraphError::new(
                100,
                "(#100) Invalid parameter: upload_session_id is not valid",
            )
        })?;
    if now >= session.created_ms.saturating_add(lifetime_ms) {
        return Err(video_error(
            1_363_030,
            "Your video upload timed out before it could be completed. This is probably because of a slow network connection or because the video you're trying to upload is too large. Please try again.",
        )
        .user_message("Upload Timeout", "The upload session has expired: start a new upload."));
    }
    Ok(session)
}

/// `POST /{page}/videos`: the three phases of the chunked upload.
pub(crate) fn video_upload(
    sim: &SharedSim,
    call: &Call,
    page_id: &str,
) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let mut world = sim.world();
    may_publish(&world, call, page_id)?;
    let config = world.config.facebook.clone();
    match call.params.get("upload_phase").unwrap_or("") {
        "start" => {
            let size = offset(call, "file_size")?;
            if size > config.video_max_bytes {
                return Err(video_error(
                    1_363_023,
                    format!(
                        "File size too large: the maximum size for a video is {} bytes, this one is {size}",
                        config.video_max_bytes
                    ),
                )
                .user_message("File Too Large", "The maximum size for a video is 2 GB."));
            }
            if size < config.video_min_bytes {
                return Err(video_error(
                    1_363_022,
                    format!(
                        "File size too small: the minimum size for a video is {} bytes, this one is {size}",
                        config.video_min_bytes
                    ),
                )
                .user_message("File Too Small", "The video file you tried to upload is too small. Please try again with a larger file."));
            }
            let session_id = (500_000_000_000_000u64 + world.next_id()).to_string();
            let video_id = (600_000_000_000_000u64 + world.next_id()).to_string();
            world.meta.facebook.sessions.insert(
                session_id.clone(),
                UploadSession {
                    page: page_id.to_owned(),
                    video_id: video_id.clone(),
                    file_size: size,
                    received: Vec::new(),
                    created_ms: now,
                },
            );
            let mut answer = window(0, size, config.video_chunk_bytes);
            answer["upload_session_id"] = json!(session_id);
            answer["video_id"] = json!(video_id);
            Ok(json(StatusCode::OK, answer))
        }
        "transfer" => {
            let start = offset(call, "start_offset")?;
            let chunk = call
                .params
                .file("video_file_chunk")
                .map(|f| f.bytes.clone())
                .ok_or_else(|| {
                    GraphError::new(100, "(#100) The parameter video_file_chunk is required")
                })?;
            let session = live_session(&mut world, call, page_id, now)?;
            let received = session.received.len() as u64;
            if start != received {
                return Err(video_error(1_363_037, "Invalid start offset")
                    .user_message(
                        "Invalid Start Offset",
                        "The start offset of this chunk does not match the server's: resume from the start_offset in error_data.",
                    )
                    .data(window(received, session.file_size, config.video_chunk_bytes)));
            }
            if chunk.is_empty() || received + chunk.len() as u64 > session.file_size {
                return Err(video_error(
                    1_363_019,
                    format!(
                        "There was a problem uploading your video file: the chunk of {} bytes at {start} overruns the declared file_size {}",
                        chunk.len(),
                        session.file_size
                    ),
                ));
            }
            session.received.extend_from_slice(&chunk);
            let next = session.received.len() as u64;
            Ok(json(
                StatusCode::OK,
                window(next, session.file_size, config.video_chunk_bytes),
            ))
        }
        "finish" => {
            let session = live_session(&mut world, call, page_id, now)?;
            if (session.received.len() as u64) < session.file_size {
                return Err(video_error(
                    1_363_019,
                    format!(
                        "There was a problem uploading your video file: {} of {} bytes were received",
                        session.received.len(),
                        session.file_size
                    ),
                ));
            }
            post_window(&mut world, page_id, now)?;
            let id = call
                .params
                .get("upload_session_id")
                .unwrap_or("")
                .to_owned();
            let Some(session) = world.meta.facebook.sessions.remove(&id) else {
                return Err(GraphError::new(
                    100,
                    "(#100) Invalid parameter: upload_session_id is not valid",
                ));
            };
            let probed = video::probe(&session.received);
            let video = Video {
                id: session.video_id.clone(),
                page: page_id.to_owned(),
                description: call.params.get("description").unwrap_or("").to_owned(),
                title: call.params.get("title").unwrap_or("").to_owned(),
                mime: probed
                    .as_ref()
                    .map_or("video/mp4", |info| info.container.mime_type()),
                bytes: session.file_size,
                duration_ms: probed.as_ref().map_or(0, |info| info.duration_ms),
                created_ms: now,
                ready_ms: now.saturating_add(config.video_processing_ms),
                unreadable: probed.is_err(),
            };
            if !video.unreadable {
                world.record_post(SimPost {
                    platform: Platform::Facebook.as_str(),
                    account: page_id.to_owned(),
                    id: video.id.clone(),
                    text: video.description.clone(),
                    media: vec![video.id.clone()],
                    media_types: vec![video.mime.to_owned()],
                    reply_to: None,
                    url: video.permalink(),
                    created_at: iso_millis(now),
                });
            }
            world
                .meta
                .facebook
                .videos_by_page
                .entry(page_id.to_owned())
                .or_default()
                .push(video.id.clone());
            world.meta.facebook.videos.insert(video.id.clone(), video);
            Ok(json(StatusCode::OK, json!({"success": true})))
        }
        "" => Err(GraphError::new(
            100,
            "(#100) The simulator takes Page videos by the chunked upload: upload_phase is required",
        )),
        other => Err(GraphError::new(
            100,
            format!(
                "(#100) param upload_phase must be one of {{start, transfer, finish}}, got {other}"
            ),
        )),
    }
}

fn video_value(video: &Video, now: u64) -> Value {
    let status = video.status(now);
    let phase = match status {
        "processing" => "in_progress",
        "ready" => "complete",
        _ => "error",
    };
    let mut status_value = json!({
        "video_status": status,
        "uploading_phase": {"status": "complete", "bytes_transferred": video.bytes},
        "processing_phase": {"status": phase},
    });
    if video.unreadable && status == "error" {
        status_value["processing_phase"]["errors"] = json!([{
            "code": 1_363_008,
            "message": "The video file you tried to upload is not a video format Facebook can read.",
        }]);
    }
    json!({
        "id": video.id,
        "description": video.description,
        "title": video.title,
        "created_time": graph_time(video.created_ms),
        "updated_time": graph_time(video.created_ms),
        "permalink_url": video.permalink(),
        "length": video.duration_ms as f64 / 1000.0,
        "status": status_value,
        "from": {"id": video.page},
    })
}

/// `GET /{page}/videos`: the Page's videos, newest first, except those whose processing failed
/// (never published). A video still processing is listed: it is the Page's already.
pub(crate) fn videos(sim: &SharedSim, call: &Call, page_id: &str) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let world = sim.world();
    if world.fixtures.facebook_page(page_id).is_none()
        || !manages_page(&world, &call.token, page_id)
    {
        return Err(unsupported(&call.method, page_id));
    }
    let (limit, offset) = crate::graph::page_window(&call.params);
    let listed: Vec<&Video> = world
        .meta
        .facebook
        .videos_by_page
        .get(page_id)
        .map(|ids| {
            ids.iter()
                .rev()
                .filter_map(|id| world.meta.facebook.videos.get(id))
                .filter(|v| v.status(now) != "error")
                .collect()
        })
        .unwrap_or_default();
    let fields = call.params.get("fields");
    let data: Vec<Value> = listed
        .iter()
        .skip(offset)
        .take(limit)
        .map(|v| {
            select(
                video_value(v, now),
                fields,
                &["description", "updated_time"],
            )
        })
        .collect();
    let mut paging = json!({"cursors": {"before": offset.to_string(), "after": (offset + data.len()).to_string()}});
    if offset + data.len() < listed.len() {
        paging["next"] = json!(format!("{page_id}/videos?after={}", offset + data.len()));
    }
    Ok(json(
        StatusCode::OK,
        json!({"data": data, "paging": paging}),
    ))
}

// ---- comments -------------------------------------------------------------------------------

/// Whether `id` is a Facebook post or video (the objects this module takes comments on).
pub(crate) fn is_commentable(sim: &SharedSim, id: &str) -> bool {
    let world = sim.world();
    world.meta.facebook.posts.contains_key(id) || world.meta.facebook.videos.contains_key(id)
}

/// `POST /{post}/comments`: a comment by the Page on its own post or video.
pub(crate) fn comment(sim: &SharedSim, call: &Call, target: &str) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let mut world = sim.world();
    let facebook = &world.meta.facebook;
    let (page, url) = match (facebook.posts.get(target), facebook.videos.get(target)) {
        (Some(post), _) => (post.page.clone(), permalink(post)),
        (None, Some(video)) if video.status(now) != "error" => {
            (video.page.clone(), video.permalink())
        }
        _ => return Err(unsupported(&call.method, target)),
    };
    if !manages_page(&world, &call.token, &page) {
        return Err(unsupported(&call.method, target));
    }
    if !matches!(call.token.kind, TokenKind::MetaPage { .. }) {
        return Err(GraphError::new(
            200,
            "(#200) Commenting as the Page requires the Page access token",
        )
        .status(StatusCode::FORBIDDEN));
    }
    if world.config.facebook.comment_requires_engagement_scope
        && !call.token.has_scope("pages_manage_engagement")
    {
        return Err(GraphError::new(
            200,
            "(#200) Requires pages_manage_engagement permission to manage the object",
        )
        .status(StatusCode::FORBIDDEN));
    }
    let message = call.params.get("message").unwrap_or("").to_owned();
    if message.trim().is_empty() {
        return Err(GraphError::new(100, "(#100) Missing message or attachment"));
    }
    let max = world.config.facebook.max_message_chars;
    if message.chars().count() > max {
        return Err(GraphError::new(
            100,
            format!("(#100) The message is too long: the maximum is {max} characters"),
        ));
    }
    let object = target.split_once('_').map_or(target, |(_, s)| s).to_owned();
    let number = 700_000_000_000_000u64 + world.next_id();
    let id = format!("{object}_{number}");
    world
        .meta
        .facebook
        .comments
        .insert(id.clone(), (page.clone(), target.to_owned()));
    world.record_post(SimPost {
        platform: Platform::Facebook.as_str(),
        account: page,
        id: id.clone(),
        text: message,
        media: Vec::new(),
        media_types: Vec::new(),
        reply_to: Some(target.to_owned()),
        url: format!("{url}?comment_id={number}"),
        created_at: iso_millis(now),
    });
    Ok(json(StatusCode::OK, json!({"id": id})))
}
