//! LinkedIn images and posts: the current `/rest/images` + `/rest/posts` flow (the older
//! legacy `/v2/assets` + `/v2/ugcPosts` flow, in `linkedin_legacy.rs`, reuses its parts).
//!
//! An image (or asset) is `WAITING_UPLOAD` until its bytes are PUT to the upload URL the
//! simulator handed out, then `PROCESSING` for `linkedin.image_processing_ms`, then
//! `AVAILABLE`, or `PROCESSING_FAILED` if the bytes break LinkedIn's rules (format, size,
//! dimensions, aspect ratio). A post may use an image only once it is AVAILABLE.
//!
//! `/rest/posts` checks what LinkedIn checks: required fields, the author the token may act
//! as, commentary length, the image, a duplicate of the author's recent post (422
//! DUPLICATE_POST, within `linkedin.duplicate_window_secs` and unless `detect_duplicates` is
//! off), and the member and app daily limits (429, serviceErrorCode 101). The
//! post URN comes back in `x-restli-id`. Commentary is "little text": `/_sim/posts` shows it
//! as LinkedIn renders it, so an unescaped reserved character cuts the text there, exactly
//! the kind of mistake a test should catch.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::imaging::{self, ImageFormat};
use crate::linkedin::{
    access_denied, authenticate, error, input_error, may_act_as, may_read, read_denied,
    rest_headers, throttled,
};
use crate::linkedin_videos::check_video;
use crate::oauth::AccessToken;
use crate::request::{json, origin, random_token};
use crate::state::{Platform, SharedSim, SimPost, World, iso_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaKind {
    /// `urn:li:image:...` from `/rest/images`.
    Image,
    /// `urn:li:digitalmediaAsset:...` from `/v2/assets`.
    Asset,
}

#[derive(Debug)]
pub(crate) struct LiMedia {
    urn: String,
    owner: String,
    pub(crate) kind: MediaKind,
    /// When the bytes arrived and whether they pass LinkedIn's checks.
    uploaded: Option<(u64, bool)>,
    /// The content type the uploaded bytes turned out to be (`image/jpeg`, ...).
    pub(crate) media_type: Option<&'static str>,
}

impl LiMedia {
    pub(crate) fn status(&self, now: u64, processing_ms: u64) -> &'static str {
        match self.uploaded {
            None => "WAITING_UPLOAD",
            Some((at, _)) if now < at + processing_ms => "PROCESSING",
            Some((_, true)) => "AVAILABLE",
            Some((_, false)) => "PROCESSING_FAILED",
        }
    }
}

#[derive(Debug, Clone)]
struct LiPost {
    urn: String,
    author: String,
    commentary: String,
    visibility: String,
    /// One image or video (`content.media`), or the images of a `content.multiImage`.
    media: Vec<String>,
    created_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct LinkedInState {
    pub(crate) media: HashMap<String, LiMedia>,
    uploads: HashMap<String, String>,
    posts: HashMap<String, LiPost>,
    by_author: HashMap<String, Vec<String>>,
    pub(crate) videos: crate::linkedin_videos::VideoState,
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/linkedin/rest/images", post(initialize_upload))
        .route("/linkedin/rest/images/{urn}", get(get_image))
        .route("/linkedin/_upload/{id}", put(upload).post(upload))
        .route("/linkedin/rest/posts", post(create_post).get(find_posts))
        .route("/linkedin/rest/posts/{urn}", get(get_post))
        .route(
            "/linkedin/rest/socialActions/{urn}/comments",
            post(create_comment_rest),
        )
        .route(
            "/linkedin/v2/socialActions/{urn}/comments",
            post(create_comment_v2),
        )
        .merge(crate::linkedin_legacy::routes())
        .merge(crate::linkedin_videos::routes())
}

pub(crate) fn parse_json(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                None,
                Some("ILLEGAL_ARGUMENT"),
                "Invalid JSON body",
            )
        })
}

/// Registers an upload and returns (media URN, upload URL).
pub(crate) fn new_upload(
    world: &mut World,
    headers: &HeaderMap,
    owner: &str,
    kind: MediaKind,
) -> (String, String) {
    let upload_id = world.next_id().to_string();
    let urn = match kind {
        MediaKind::Image => format!("urn:li:image:D4E10AQ{}", random_token(16)),
        MediaKind::Asset => format!("urn:li:digitalmediaAsset:C5522AQ{}", random_token(16)),
    };
    world.linkedin.media.insert(
        urn.clone(),
        LiMedia {
            urn: urn.clone(),
            owner: owner.to_owned(),
            kind,
            uploaded: None,
            media_type: None,
        },
    );
    world
        .linkedin
        .uploads
        .insert(upload_id.clone(), urn.clone());
    let base = origin(headers, world.config.public_base_url.as_deref());
    (urn, format!("{base}/linkedin/_upload/{upload_id}"))
}

async fn initialize_upload(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let version = match rest_headers(&world, &headers) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if q.get("action").map(String::as_str) != Some("initializeUpload") {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            Some("ILLEGAL_ARGUMENT"),
            "action must be initializeUpload",
        );
    }
    let body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(owner) = body["initializeUploadRequest"]["owner"].as_str() else {
        return input_error(
            "/initializeUploadRequest/owner",
            "FIELD_REQUIRED",
            "ERROR :: /initializeUploadRequest/owner :: field is required but not found and has no default value",
        );
    };
    if !may_act_as(&world, &token, owner) {
        return access_denied(&format!("images.ACTION-initializeUpload.{version}"));
    }
    let (urn, upload_url) = new_upload(&mut world, &headers, owner, MediaKind::Image);
    json(
        StatusCode::OK,
        json!({"value": {
            "uploadUrlExpiresAt": now + 86_400_000,
            "uploadUrl": upload_url,
            "image": urn,
        }}),
    )
}

/// The PUT of the image bytes to the upload URL.
async fn upload(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    if let Err(r) = authenticate(&world, &headers, now) {
        return r;
    }
    let Some(urn) = world.linkedin.uploads.get(&id).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            "Upload URL not found",
        );
    };
    let acceptable = acceptable_image(&world, &body);
    let media_type = imaging::sniff(&body).map(|info| info.format.mime());
    if let Some(media) = world.linkedin.media.get_mut(&urn) {
        media.uploaded = Some((now, acceptable));
        media.media_type = media_type;
    }
    StatusCode::CREATED.into_response()
}

/// LinkedIn's image rules: JPG/PNG/GIF, size, minimum dimensions, aspect ratio.
fn acceptable_image(world: &World, bytes: &[u8]) -> bool {
    let c = &world.config.linkedin;
    imaging::sniff(bytes).is_some_and(|info| {
        matches!(
            info.format,
            ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif
        ) && bytes.len() as u64 <= c.image_max_bytes
            && info.width >= c.image_min_width
            && info.height >= c.image_min_height
            && (c.image_min_aspect..=c.image_max_aspect).contains(&info.aspect())
    })
}

async fn get_image(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(urn): Path<String>,
) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    if let Err(r) = rest_headers(&world, &headers) {
        return r;
    }
    if let Err(r) = authenticate(&world, &headers, now) {
        return r;
    }
    let processing = world.config.linkedin.image_processing_ms;
    let Some(media) = world
        .linkedin
        .media
        .get(&urn)
        .filter(|m| m.kind == MediaKind::Image)
    else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            &format!("Image {urn} not found"),
        );
    };
    let status = media.status(now, processing);
    let mut body = json!({"id": media.urn, "owner": media.owner, "status": status});
    if status == "AVAILABLE" {
        body["downloadUrl"] = json!(format!("https://media.licdn.test/dms/image/{}", media.urn));
        body["downloadUrlExpiresAt"] = json!(now + 3_600_000);
        body["mediaType"] = json!("image/jpeg");
    }
    json(StatusCode::OK, body)
}

/// Little text as LinkedIn renders it: escapes removed, mention and hashtag templates shown
/// as their text, and the text cut at the first unescaped reserved character.
pub(crate) fn render_little_text(text: &str) -> String {
    const RESERVED: &str = "\\|{}@[]()<>#*_~";
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if !RESERVED.contains(c) {
            out.push(c);
            i += 1;
            continue;
        }
        let rest: String = chars[i..].iter().collect();
        if let Some((shown, used)) = template(&rest) {
            out.push_str(&shown);
            i += used;
            continue;
        }
        break;
    }
    out
}

/// `@[Name](urn:li:...)` or `{hashtag|\#|tag}` at the start of `text`: (shown, chars used).
fn template(text: &str) -> Option<(String, usize)> {
    if let Some(rest) = text.strip_prefix("@[") {
        let close = rest.find("](")?;
        let name = &rest[..close];
        let after = &rest[close + 2..];
        let end = after.find(')')?;
        if !after[..end].starts_with("urn:li:") {
            return None;
        }
        let used = 2 + close + 2 + end + 1;
        return Some((name.to_owned(), text[..used].chars().count()));
    }
    if let Some(rest) = text.strip_prefix("{hashtag|\\#|") {
        let end = rest.find('}')?;
        let tag = &rest[..end];
        let used = "{hashtag|\\#|".len() + end + 1;
        return Some((format!("#{tag}"), text[..used].chars().count()));
    }
    None
}

fn post_json(post: &LiPost) -> Value {
    let mut value = json!({
        "id": post.urn,
        "author": post.author,
        "commentary": post.commentary,
        "visibility": post.visibility,
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
        "createdAt": post.created_ms,
        "publishedAt": post.created_ms,
        "lastModifiedAt": post.created_ms,
    });
    match post.media.as_slice() {
        [] => {}
        [one] => value["content"] = json!({"media": {"id": one}}),
        several => {
            let images: Vec<Value> = several.iter().map(|id| json!({"id": id})).collect();
            value["content"] = json!({"multiImage": {"images": images}});
        }
    }
    value
}

/// Checks the daily windows a post creation counts against.
pub(crate) fn take_post_windows(
    world: &mut World,
    token: &AccessToken,
    author: &str,
    now: u64,
) -> Result<(), Response> {
    let c = &world.config.linkedin;
    let (member, app) = (c.member_posts, c.app_posts);
    let enabled = world.config.rate_limits;
    let member_key = format!("li:posts:{author}");
    let app_key = format!("li:app:{}", token.client_id);
    if !world.windows.has_room(enabled, &app_key, &app, now) {
        return Err(throttled("APPLICATION"));
    }
    if world
        .windows
        .try_take(enabled, &member_key, &member, now)
        .is_err()
    {
        return Err(throttled("MEMBER"));
    }
    let _ = world.windows.try_take(enabled, &app_key, &app, now);
    Ok(())
}

/// Validates the media a post refers to.
pub(crate) fn check_media(
    world: &World,
    media: &str,
    author: &str,
    kind: MediaKind,
    field: &str,
    now: u64,
) -> Result<(), Response> {
    if world.config.linkedin.rejects_media_urn {
        return Err(input_error(
            field,
            "INVALID_VALUE",
            "ShareMedia.media (URN) is missing",
        ));
    }
    let processing = world.config.linkedin.image_processing_ms;
    match world.linkedin.media.get(media).filter(|m| m.kind == kind) {
        None => Err(input_error(
            field,
            "INVALID_URN",
            &format!("ERROR :: {field} :: {media} does not exist"),
        )),
        Some(m) if m.owner != author => Err(input_error(
            field,
            "INVALID_VALUE",
            &format!("ERROR :: {field} :: {media} is not owned by {author}"),
        )),
        Some(m) => match m.status(now, processing) {
            "AVAILABLE" => Ok(()),
            status => Err(input_error(
                field,
                "INVALID_VALUE",
                &format!("ERROR :: {field} :: {media} is not AVAILABLE (status {status})"),
            )),
        },
    }
}

/// The media of a post's `content`: one image or video in `content.media.id`, or 2 to 20
/// images in `content.multiImage.images[].id`, each existing, owned by the author and
/// AVAILABLE. A video is never part of a multiImage.
fn content_media(
    world: &World,
    content: &Value,
    author: &str,
    now: u64,
) -> Result<Vec<String>, Response> {
    if let Some(media) = content.get("media") {
        let field = "/content/media/id";
        let Some(id) = media["id"].as_str() else {
            return Err(required(field));
        };
        if id.starts_with("urn:li:video:") {
            check_video(world, id, author, field, now)?;
        } else {
            check_media(world, id, author, MediaKind::Image, field, now)?;
        }
        return Ok(vec![id.to_owned()]);
    }
    let Some(multi) = content.get("multiImage") else {
        return Ok(Vec::new());
    };
    let field = "/content/multiImage/images";
    let Some(images) = multi["images"].as_array() else {
        return Err(required(field));
    };
    if !(2..=20).contains(&images.len()) {
        return Err(input_error(
            field,
            "INVALID_VALUE",
            &format!(
                "ERROR :: {field} :: a multiImage post has 2 to 20 images, not {}",
                images.len()
            ),
        ));
    }
    let mut ids = Vec::with_capacity(images.len());
    for (index, image) in images.iter().enumerate() {
        let field = format!("{field}/{index}/id");
        let Some(id) = image["id"].as_str() else {
            return Err(required(&field));
        };
        if !id.starts_with("urn:li:image:") {
            return Err(input_error(
                &field,
                "INVALID_URN",
                &format!(
                    "ERROR :: {field} :: {id} is not an image: a multiImage post takes only urn:li:image URNs"
                ),
            ));
        }
        check_media(world, id, author, MediaKind::Image, &field, now)?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// The stored content type of an image or video URN.
fn media_type(world: &World, urn: &str) -> Option<&'static str> {
    if let Some(video) = world.linkedin.videos.videos.get(urn) {
        return video.media_type();
    }
    world.linkedin.media.get(urn).and_then(|m| m.media_type)
}

/// What a new post is made of.
pub(crate) struct NewPost<'a> {
    pub(crate) author: &'a str,
    pub(crate) commentary: &'a str,
    /// The text as LinkedIn shows it.
    pub(crate) shown: String,
    pub(crate) visibility: &'a str,
    pub(crate) media: Vec<String>,
}

/// Stores a post and returns its URN.
pub(crate) fn publish(world: &mut World, new: NewPost<'_>, now: u64) -> String {
    let urn = format!(
        "urn:li:share:{}",
        7_300_000_000_000_000_000u64 + world.next_id()
    );
    let post = LiPost {
        urn: urn.clone(),
        author: new.author.to_owned(),
        commentary: new.commentary.to_owned(),
        visibility: new.visibility.to_owned(),
        media: new.media.clone(),
        created_ms: now,
    };
    let media_types = new
        .media
        .iter()
        .map(|urn| {
            media_type(world, urn)
                .unwrap_or("application/octet-stream")
                .to_owned()
        })
        .collect();
    world.linkedin.posts.insert(urn.clone(), post);
    world
        .linkedin
        .by_author
        .entry(new.author.to_owned())
        .or_default()
        .push(urn.clone());
    world.record_post(SimPost {
        platform: Platform::Linkedin.as_str(),
        account: new.author.to_owned(),
        id: urn.clone(),
        text: new.shown,
        media: new.media,
        media_types,
        reply_to: None,
        url: format!("https://www.linkedin.com/feed/update/{urn}"),
        created_at: iso_millis(now),
    });
    urn
}

/// 201 with the URN in `x-restli-id` (and, for ugcPosts, in the body).
pub(crate) fn created(urn: &str, body: Option<Value>) -> Response {
    let mut response = match body {
        Some(body) => json(StatusCode::CREATED, body),
        None => StatusCode::CREATED.into_response(),
    };
    if let Ok(value) = HeaderValue::try_from(urn) {
        response.headers_mut().insert("x-restli-id", value);
    }
    response
}

/// The author's recent post with the same commentary and media, which makes this one a
/// DUPLICATE_POST: only posts within `linkedin.duplicate_window_secs`, and none at all with
/// `detect_duplicates` off.
pub(crate) fn duplicate_of(
    world: &World,
    author: &str,
    commentary: &str,
    media: &[String],
    now: u64,
) -> Option<String> {
    if commentary.is_empty() {
        return None;
    }
    let window = world.config.linkedin.duplicate_window_secs;
    world
        .linkedin
        .by_author
        .get(author)?
        .iter()
        .rev()
        .filter_map(|urn| world.linkedin.posts.get(urn))
        // Posts are stored in time order: the first one outside the window ends the search.
        .take_while(|post| world.refuses_duplicate_of(post.created_ms, window, now))
        .find(|post| post.commentary == commentary && post.media == media)
        .map(|post| post.urn.clone())
}

pub(crate) fn required(field: &str) -> Response {
    input_error(
        field,
        "FIELD_REQUIRED",
        &format!("ERROR :: {field} :: field is required but not found and has no default value"),
    )
}

async fn create_post(State(sim): State<SharedSim>, headers: HeaderMap, body: Bytes) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let version = match rest_headers(&world, &headers) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(author) = body["author"].as_str().map(str::to_owned) else {
        return required("/author");
    };
    if !may_act_as(&world, &token, &author) {
        return access_denied(&format!("partnerApiPostsExternal.CREATE.{version}"));
    }
    if let Err(r) = take_post_windows(&mut world, &token, &author, now) {
        return r;
    }
    for field in ["visibility", "distribution", "lifecycleState"] {
        if body.get(field).is_none_or(Value::is_null) {
            return required(&format!("/{field}"));
        }
    }
    if body["distribution"]["feedDistribution"].as_str().is_none() {
        return required("/distribution/feedDistribution");
    }
    let commentary = body["commentary"].as_str().unwrap_or("").to_owned();
    let max = world.config.linkedin.max_commentary_chars;
    let length = commentary.chars().count();
    if length > max {
        return input_error(
            "/commentary",
            "MAX_LENGTH_EXCEEDED",
            &format!("ERROR :: /commentary :: length of {length} exceeds maximum of {max}"),
        );
    }
    let media = match content_media(&world, &body["content"], &author, now) {
        Ok(media) => media,
        Err(r) => return r,
    };
    if let Some(original) = duplicate_of(&world, &author, &commentary, &media, now) {
        return input_error(
            "/commentary",
            "DUPLICATE_POST",
            &format!("Content is a duplicate of {original}"),
        );
    }
    let visibility = body["visibility"].as_str().unwrap_or("PUBLIC").to_owned();
    let new = NewPost {
        author: &author,
        commentary: &commentary,
        shown: render_little_text(&commentary),
        visibility: &visibility,
        media,
    };
    let urn = publish(&mut world, new, now);
    created(&urn, None)
}

async fn find_posts(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    let version = match rest_headers(&world, &headers) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if q.get("q").map(String::as_str) != Some("author") {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            Some("ILLEGAL_ARGUMENT"),
            "q must be author",
        );
    }
    let Some(author) = q.get("author") else {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            Some("ILLEGAL_ARGUMENT"),
            "author is required",
        );
    };
    if !may_read(&world, &token, author) {
        return read_denied(
            &format!("partnerApiPostsExternal.FINDER-author.{version}"),
            author,
        );
    }
    let start = q
        .get("start")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let count = q
        .get("count")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(10)
        .min(100);
    let urns = world
        .linkedin
        .by_author
        .get(author)
        .cloned()
        .unwrap_or_default();
    let total = urns.len();
    let elements: Vec<Value> = urns
        .iter()
        .rev()
        .skip(start)
        .take(count)
        .filter_map(|urn| world.linkedin.posts.get(urn))
        .map(post_json)
        .collect();
    json(
        StatusCode::OK,
        json!({"paging": {"start": start, "count": count, "total": total, "links": []}, "elements": elements}),
    )
}

async fn get_post(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(urn): Path<String>,
) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    let version = match rest_headers(&world, &headers) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match world.linkedin.posts.get(&urn) {
        Some(post) if may_read(&world, &token, &post.author) => {
            json(StatusCode::OK, post_json(post))
        }
        Some(post) => read_denied(
            &format!("partnerApiPostsExternal.GET.{version}"),
            &post.author,
        ),
        None => error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            &format!("Post {urn} not found"),
        ),
    }
}

// ---- first comments ------------------------------------------------------------------------

async fn create_comment_rest(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(object): Path<String>,
    body: Bytes,
) -> Response {
    create_comment(&sim, &headers, &object, &body, true)
}

async fn create_comment_v2(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(object): Path<String>,
    body: Bytes,
) -> Response {
    create_comment(&sim, &headers, &object, &body, false)
}

/// `POST /rest/socialActions/{post URN}/comments` (or the older `/v2/...`): a comment by
/// `actor` (who must be allowed to post as that member or organization) on the post `object`
/// (the same URN as the path). The answer is 201 with the comment in the body, its URN in
/// `$URN` and in `x-restli-id`: `urn:li:comment:({post URN},{id})`. LinkedIn's documented
/// URN names the post's activity rather than the share, and the exact answer is unconfirmed;
/// the simulator keeps the post URN so a test can tie the two together.
fn create_comment(
    sim: &SharedSim,
    headers: &HeaderMap,
    object: &str,
    body: &[u8],
    rest: bool,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let version = if rest {
        match rest_headers(&world, headers) {
            Ok(v) => v,
            Err(r) => return r,
        }
    } else {
        "v2".to_owned()
    };
    let token = match authenticate(&world, headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = match parse_json(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(actor) = body["actor"].as_str().map(str::to_owned) else {
        return required("/actor");
    };
    let Some(named) = body["object"].as_str() else {
        return required("/object");
    };
    if named != object {
        return input_error(
            "/object",
            "INVALID_VALUE",
            &format!("ERROR :: /object :: {named} is not the post in the path ({object})"),
        );
    }
    let Some(text) = body["message"]["text"].as_str().map(str::to_owned) else {
        return required("/message/text");
    };
    let max = world.config.linkedin.max_comment_chars;
    let length = text.chars().count();
    if text.trim().is_empty() || length > max {
        return input_error(
            "/message/text",
            "INVALID_VALUE",
            &format!("ERROR :: /message/text :: length of {length} is outside 1 to {max}"),
        );
    }
    if !may_act_as(&world, &token, &actor) {
        return access_denied(&format!("socialActions.comments.CREATE.{version}"));
    }
    if !world.linkedin.posts.contains_key(object) {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            &format!("Post {object} not found"),
        );
    }
    let id = (6_600_000_000_000_000_000u64 + world.next_id()).to_string();
    let urn = format!("urn:li:comment:({object},{id})");
    let encoded: String = url::form_urlencoded::byte_serialize(urn.as_bytes()).collect();
    world.record_post(SimPost {
        platform: Platform::Linkedin.as_str(),
        account: actor.clone(),
        id: urn.clone(),
        text: text.clone(),
        media: Vec::new(),
        media_types: Vec::new(),
        reply_to: Some(object.to_owned()),
        url: format!("https://www.linkedin.com/feed/update/{object}?commentUrn={encoded}"),
        created_at: iso_millis(now),
    });
    let stamp = json!({"actor": actor, "time": now});
    created(
        &urn,
        Some(json!({
            "id": id,
            "$URN": urn,
            "actor": actor,
            "object": object,
            "message": {"text": text},
            "created": stamp,
            "lastModified": stamp,
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::render_little_text;

    #[test]
    fn escaped_little_text_renders_whole() {
        assert_eq!(
            render_little_text(r"Launch \(beta\) \#rust"),
            "Launch (beta) #rust"
        );
        assert_eq!(
            render_little_text(r"Hi @[Ada](urn:li:person:abc) {hashtag|\#|rust}"),
            "Hi Ada #rust"
        );
    }

    #[test]
    fn an_unescaped_reserved_character_cuts_the_text() {
        assert_eq!(render_little_text("Launch (beta) today"), "Launch ");
    }
}
