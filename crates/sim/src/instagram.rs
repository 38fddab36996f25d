//! Instagram business publishing on the Graph API: containers (`POST /{ig}/media`), their
//! status (`GET /{container}?fields=status_code,status`), `media_publish`, comments
//! (`POST /{media}/comments`), the publishing limit and the read-back of an account's media.
//!
//! A container fetches its `image_url` at creation, as Instagram does; a URL it cannot
//! download fails with subcode 2207052, one that is too slow with 2207003, an image in the
//! wrong format (anything but JPEG unless `instagram.accept_png`), too large or with a bad
//! aspect ratio with 2207005 / 2207004 / 2207009, a caption too long with 2207010. The
//! container then reports `IN_PROGRESS` for `instagram.container_processing_ms` and `FINISHED`
//! after, `EXPIRED` once it is a day old and unpublished, `PUBLISHED` once used. Publishing
//! before FINISHED is code 9007 subcode 2207027; publishing beyond the rolling quota is
//! subcode 2207042.
//!
//! Videos are Reels (`media_type=REELS`; a single `media_type=VIDEO` is refused, as it has
//! been live since 2023) or carousel items (`media_type=VIDEO&is_carousel_item=true`). The
//! creation answers at once, as live; the video is downloaded and checked against
//! `instagram.reels` (MP4/MOV, H.264/HEVC, 3 s to 15 min, width, aspect ratio, frame rate,
//! size) and a video that fails stays `IN_PROGRESS` for `instagram.reels.processing_ms`, then
//! turns `ERROR` with the subcode in `status` ("Media upload has failed with error code
//! 2207026."). The subcodes per failure are not all documented (❓): 2207003 for a download
//! timeout is; 2207052 for an unreachable video and 2207026 for everything the video itself
//! breaks are plausible choices.
//!
//! A carousel parent (`media_type=CAROUSEL&children=…`) takes 2 to
//! `instagram.max_carousel_children` item containers of the same account, each already
//! FINISHED: a child still IN_PROGRESS is refused like an early publish (9007/2207027), a
//! failed one with code 100, an expired one with 2207020 (the exact live answers are ❓). A
//! published carousel counts once against the publishing quota.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::container_video::{self, VideoProblem};
use crate::fetch::{self, FetchError};
use crate::graph::{Call, GraphError, manages_page, select, unsupported};
use crate::imaging::{self, ImageFormat};
use crate::oauth::AccessToken;
use crate::request::{json, random_token};
use crate::state::{Platform, SharedSim, SimPost, World, graph_time, iso_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    /// A Reel (`REELS`, or `STORIES` with a video).
    Reel,
    /// A carousel's video item (`VIDEO` with `is_carousel_item`).
    Video,
    Carousel,
}

#[derive(Debug, Clone)]
struct Container {
    id: String,
    account: String,
    kind: Kind,
    caption: String,
    media_url: String,
    /// What the fetched media turned out to be (`image/jpeg`, `video/mp4`).
    content_type: String,
    is_item: bool,
    children: Vec<String>,
    created_ms: u64,
    ready_ms: u64,
    /// Set when processing fails (`ERROR`).
    error: Option<String>,
    published: Option<String>,
}

#[derive(Debug, Clone)]
struct IgMedia {
    id: String,
    account: String,
    caption: String,
    media_type: &'static str,
    /// `FEED` or `REELS`.
    product_type: &'static str,
    media_url: String,
    shortcode: String,
    comments: u64,
    created_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct InstagramState {
    containers: HashMap<String, Container>,
    media: HashMap<String, IgMedia>,
    by_account: HashMap<String, Vec<String>>,
    /// Comments by id, with the account that made them.
    comments: HashMap<String, String>,
}

impl InstagramState {
    pub(crate) fn knows(&self, id: &str) -> bool {
        self.containers.contains_key(id)
            || self.media.contains_key(id)
            || self.comments.contains_key(id)
    }

    /// Whether `id` is a published media (what `/{id}/comments` needs).
    pub(crate) fn is_media(&self, id: &str) -> bool {
        self.media.contains_key(id)
    }

    /// The account a container or media belongs to.
    pub(crate) fn account_of(&self, id: &str) -> Option<String> {
        self.containers
            .get(id)
            .map(|c| c.account.clone())
            .or_else(|| self.media.get(id).map(|m| m.account.clone()))
            .or_else(|| self.comments.get(id).cloned())
    }

    fn status(&self, container: &Container, now: u64, expiry_ms: u64) -> &'static str {
        if container.published.is_some() {
            return "PUBLISHED";
        }
        if now >= container.created_ms + expiry_ms {
            return "EXPIRED";
        }
        if now < container.ready_ms {
            return "IN_PROGRESS";
        }
        if container.error.is_some() {
            return "ERROR";
        }
        for child in &container.children {
            match self
                .containers
                .get(child)
                .map(|c| self.status(c, now, expiry_ms))
            {
                Some("IN_PROGRESS") => return "IN_PROGRESS",
                Some("ERROR") | None => return "ERROR",
                _ => {}
            }
        }
        "FINISHED"
    }
}

fn status_text(code: &str, error: Option<&str>) -> String {
    match code {
        "IN_PROGRESS" => "In Progress: Media is still being processed.".to_owned(),
        "FINISHED" => {
            "Finished: Media has been uploaded and it is ready to be published.".to_owned()
        }
        "PUBLISHED" => "Published: Media has been successfully published.".to_owned(),
        "EXPIRED" => "Expired: The media container was not published within 24 hours.".to_owned(),
        _ => format!(
            "Error: {}",
            error.unwrap_or("Media upload has failed with error code 2207001.")
        ),
    }
}

/// The caller may publish for the account: it manages the linked Page and holds
/// `instagram_content_publish`.
fn may_manage(world: &World, token: &AccessToken, account: &str) -> bool {
    world.fixtures.instagram_account(account).is_some()
        && world
            .fixtures
            .page_of_instagram(account)
            .is_some_and(|page| manages_page(world, token, &page.id))
}

/// The caller's token holds one of `scopes`.
fn require_scope(call: &Call, scopes: &[&str]) -> Result<(), GraphError> {
    if scopes.iter().any(|s| call.token.has_scope(s)) {
        Ok(())
    } else {
        Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        )
        .status(StatusCode::FORBIDDEN))
    }
}

fn download_error(error: &FetchError, url: &str, max: u64) -> GraphError {
    match error {
        FetchError::Timeout => GraphError::new(-2, "It takes too long to download the media.")
            .subcode(2_207_003)
            .transient()
            .user_message("Media download timed out", "The media download took too long. Please try again."),
        FetchError::TooLarge => GraphError::new(9004, "The image is too large to download.")
            .subcode(2_207_004)
            .user_message(
                "Image is too large",
                &format!("The image is too large to download. It should be less than {} MiB.", max / (1024 * 1024)),
            ),
        FetchError::BadUrl | FetchError::Unreachable | FetchError::Status(_) => {
            GraphError::new(9004, "Only photo or video can be accepted as media type.")
                .subcode(2_207_052)
                .user_message(
                    "Media download has failed.",
                    &format!("The media could not be fetched from this uri: {url}. Please check whether the uri is publicly accessible."),
                )
        }
    }
}

fn parse_children(raw: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<Value>>(raw) {
        return list
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
    }
    raw.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The media kind a creation asks for, or Graph's refusal.
fn kind_of(params: &crate::request::Params) -> Result<Kind, GraphError> {
    let media_type = params.get("media_type").map(str::to_ascii_uppercase);
    let is_item = params.flag("is_carousel_item").unwrap_or(false);
    let has_video = params.non_empty("video_url").is_some();
    match (media_type.as_deref().unwrap_or("IMAGE"), is_item) {
        ("IMAGE", _) if !has_video => Ok(Kind::Image),
        ("STORIES", false) if !has_video => Ok(Kind::Image),
        ("REELS" | "STORIES", false) => Ok(Kind::Reel),
        ("VIDEO", true) => Ok(Kind::Video),
        ("CAROUSEL", false) => Ok(Kind::Carousel),
        // Since 2023-11-09 a single feed video is a Reel; the live wording is ❓.
        ("VIDEO", false) => Err(GraphError::new(
            100,
            "(#100) The media type VIDEO is no longer supported for single feed videos. Use media_type=REELS to publish a video.",
        )),
        (other @ ("REELS" | "STORIES" | "CAROUSEL"), true) => Err(GraphError::new(
            100,
            format!("(#100) A carousel item cannot be of media type {other}: use IMAGE or VIDEO"),
        )),
        ("IMAGE", _) if media_type.is_none() => Err(GraphError::new(
            100,
            "(#100) The parameter media_type is required with video_url (REELS, or VIDEO for a carousel item)",
        )),
        (other, _) => Err(GraphError::new(
            100,
            format!("(#100) The parameter media_type has an invalid value {other}"),
        )),
    }
}

/// A video problem as the subcode Instagram reports in an ERROR container's `status`.
fn video_subcode(problem: &VideoProblem) -> u32 {
    match problem {
        VideoProblem::DownloadTimeout => 2_207_003,
        VideoProblem::Unreachable => 2_207_052,
        _ => 2_207_026,
    }
}

pub(crate) async fn create_container(
    sim: &SharedSim,
    call: &Call,
    account: &str,
) -> Result<Response, GraphError> {
    let params = &call.params;
    let kind = kind_of(params)?;
    let caption = params.get("caption").unwrap_or("").to_owned();
    let is_item = params.flag("is_carousel_item").unwrap_or(false);
    let (config, timeout) = {
        let world = sim.world();
        if !may_manage(&world, &call.token, account) {
            return Err(unsupported(&call.method, account));
        }
        require_scope(call, &["instagram_content_publish"])?;
        (
            world.config.instagram.clone(),
            Duration::from_millis(world.config.fetch.timeout_ms),
        )
    };
    let length = caption.chars().count();
    if length > config.max_caption_chars {
        return Err(GraphError::new(100, "The caption is too long.")
            .subcode(2_207_010)
            .user_message(
                "Caption too long",
                &format!(
                    "The caption has {length} characters; the maximum is {}.",
                    config.max_caption_chars
                ),
            ));
    }
    let mut container = Container {
        id: String::new(),
        account: account.to_owned(),
        kind,
        caption,
        media_url: String::new(),
        content_type: String::new(),
        is_item,
        children: Vec::new(),
        created_ms: 0,
        ready_ms: 0,
        error: None,
        published: None,
    };
    let mut processing_ms = config.container_processing_ms;
    match kind {
        Kind::Carousel => {
            container.children = parse_children(params.get("children").unwrap_or(""));
            let count = container.children.len();
            if !(2..=config.max_carousel_children).contains(&count) {
                return Err(GraphError::new(
                    100,
                    format!(
                        "(#100) A carousel needs between 2 and {} children; {count} were given",
                        config.max_carousel_children
                    ),
                ));
            }
        }
        Kind::Image => {
            let Some(url) = params.non_empty("image_url") else {
                return Err(GraphError::new(
                    100,
                    "(#100) The parameter image_url is required",
                ));
            };
            container.media_url = url.to_owned();
            let fetched = fetch::fetch(&sim.http, url, config.image_max_bytes, timeout)
                .await
                .map_err(|e| download_error(&e, url, config.image_max_bytes))?;
            container.content_type = check_image(&config, &fetched.bytes)?.mime().to_owned();
        }
        Kind::Reel | Kind::Video => {
            let Some(url) = params.non_empty("video_url") else {
                return Err(GraphError::new(
                    100,
                    "(#100) The parameter video_url is required",
                ));
            };
            container.media_url = url.to_owned();
            processing_ms = config.reels.processing_ms;
            match container_video::fetch_and_check(&sim.http, url, &config.reels, timeout).await {
                Ok(info) => container.content_type = info.container.mime_type().to_owned(),
                Err(problem) => {
                    container.error = Some(format!(
                        "Media upload has failed with error code {}.",
                        video_subcode(&problem)
                    ));
                }
            }
        }
    }
    let now = sim.now_ms();
    let mut world = sim.world();
    let expiry_ms = config.container_expiry_secs * 1000;
    for child in &container.children {
        let Some(item) = world
            .meta
            .instagram
            .containers
            .get(child)
            .filter(|c| c.account == account && c.is_item && c.published.is_none())
        else {
            return Err(GraphError::new(
                100,
                format!("(#100) The carousel child {child} is not a valid carousel item container"),
            ));
        };
        match world.meta.instagram.status(item, now, expiry_ms) {
            "FINISHED" => {}
            "IN_PROGRESS" => {
                return Err(GraphError::new(9007, "Media ID is not available")
                    .subcode(2_207_027)
                    .user_message(
                        "Media not ready for publishing",
                        &format!(
                            "The carousel item {child} is not ready yet, please wait for a moment"
                        ),
                    ));
            }
            "EXPIRED" => {
                return Err(GraphError::new(9007, "Media ID is not available")
                    .subcode(2_207_020)
                    .user_message(
                        "Media expired",
                        &format!(
                            "The carousel item {child} has expired. Please try to upload again."
                        ),
                    ));
            }
            _ => {
                return Err(GraphError::new(
                    100,
                    format!(
                        "(#100) The carousel item {child} failed processing and cannot be used"
                    ),
                ));
            }
        }
    }
    container.id = (17_900_000_000_000_000u64 + world.next_id()).to_string();
    container.created_ms = now;
    container.ready_ms = now + processing_ms;
    let id = container.id.clone();
    world
        .meta
        .instagram
        .containers
        .insert(id.clone(), container);
    Ok(json(StatusCode::OK, json!({"id": id})))
}

fn check_image(
    config: &crate::config::InstagramConfig,
    bytes: &[u8],
) -> Result<ImageFormat, GraphError> {
    let format_error = || {
        GraphError::new(9004, "The image format is not supported.")
            .subcode(2_207_005)
            .user_message(
                "Unsupported format",
                "The image format is not supported. Supported formats are: JPEG",
            )
    };
    let info = imaging::sniff(bytes).ok_or_else(format_error)?;
    let format_ok =
        info.format == ImageFormat::Jpeg || (config.accept_png && info.format == ImageFormat::Png);
    if !format_ok {
        return Err(format_error());
    }
    let aspect = info.aspect();
    if !(config.image_min_aspect - 1e-9..=config.image_max_aspect + 1e-9).contains(&aspect) {
        return Err(GraphError::new(
            36003,
            format!(
                "The submitted image with aspect ratio ('{}:{}') cannot be published. Please submit an image with a valid aspect ratio.",
                info.width, info.height
            ),
        )
        .subcode(2_207_009)
        .user_message("Invalid aspect ratio", "The aspect ratio is not supported."));
    }
    if info.width < config.image_min_width {
        return Err(GraphError::new(
            36001,
            format!(
                "The image is too small: it is {} pixels wide, the minimum is {}.",
                info.width, config.image_min_width
            ),
        )
        .user_message("Image too small", "The image is too small."));
    }
    Ok(info.format)
}

pub(crate) fn publish(sim: &SharedSim, call: &Call, account: &str) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let mut world = sim.world();
    if !may_manage(&world, &call.token, account) {
        return Err(unsupported(&call.method, account));
    }
    require_scope(call, &["instagram_content_publish"])?;
    let Some(creation_id) = call.params.non_empty("creation_id").map(str::to_owned) else {
        return Err(GraphError::new(
            100,
            "(#100) The parameter creation_id is required",
        ));
    };
    let config = world.config.instagram.clone();
    let expiry_ms = config.container_expiry_secs * 1000;
    let Some(container) = world
        .meta
        .instagram
        .containers
        .get(&creation_id)
        .filter(|c| c.account == account && !c.is_item)
        .cloned()
    else {
        return Err(GraphError::new(24, "The requested resource does not exist")
            .subcode(2_207_006)
            .user_message(
                "Media not found",
                &format!("The media container {creation_id} cannot be found."),
            ));
    };
    match world.meta.instagram.status(&container, now, expiry_ms) {
        "FINISHED" => {}
        "IN_PROGRESS" => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .subcode(2_207_027)
                .user_message(
                    "Media not ready for publishing",
                    "The media is not ready for publishing, please wait for a moment",
                ));
        }
        "EXPIRED" => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .subcode(2_207_020)
                .user_message(
                    "Media expired",
                    "The media you are trying to access has expired. Please try to upload again.",
                ));
        }
        "PUBLISHED" => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .subcode(2_207_008)
                .user_message(
                    "Media already published",
                    "The media container has already been published.",
                ));
        }
        _ => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .subcode(2_207_001)
                .user_message(
                    "Media processing failed",
                    container
                        .error
                        .as_deref()
                        .unwrap_or("The media could not be processed."),
                ));
        }
    }
    let enabled = world.config.rate_limits;
    if world
        .windows
        .try_take(
            enabled,
            &format!("ig:quota:{account}"),
            &config.publishing_quota,
            now,
        )
        .is_err()
    {
        return Err(GraphError::new(9, "Application request limit reached")
            .subcode(2_207_042)
            .user_message(
                "Reached publishing limit",
                "You have reached the maximum number of posts that is allowed in 24 hours.",
            ));
    }
    let id = (18_000_000_000_000_000u64 + world.next_id()).to_string();
    let items: Vec<(String, String)> = if container.kind == Kind::Carousel {
        container
            .children
            .iter()
            .filter_map(|c| world.meta.instagram.containers.get(c))
            .map(|c| (c.media_url.clone(), c.content_type.clone()))
            .collect()
    } else {
        vec![(container.media_url.clone(), container.content_type.clone())]
    };
    let (media_urls, media_types): (Vec<String>, Vec<String>) = items.into_iter().unzip();
    let media = IgMedia {
        id: id.clone(),
        account: account.to_owned(),
        caption: container.caption.clone(),
        media_type: match container.kind {
            Kind::Image => "IMAGE",
            Kind::Reel | Kind::Video => "VIDEO",
            Kind::Carousel => "CAROUSEL_ALBUM",
        },
        product_type: if container.kind == Kind::Reel {
            "REELS"
        } else {
            "FEED"
        },
        media_url: media_urls.first().cloned().unwrap_or_default(),
        shortcode: random_token(11),
        created_ms: now,
        comments: 0,
    };
    let url = permalink(&media);
    world.meta.instagram.media.insert(id.clone(), media);
    world
        .meta
        .instagram
        .by_account
        .entry(account.to_owned())
        .or_default()
        .push(id.clone());
    // The parent and its children are used up: a child cannot join another carousel.
    for used in std::iter::once(&creation_id).chain(&container.children) {
        if let Some(stored) = world.meta.instagram.containers.get_mut(used) {
            stored.published = Some(id.clone());
        }
    }
    world.record_post(SimPost {
        platform: Platform::Instagram.as_str(),
        account: account.to_owned(),
        id: id.clone(),
        text: container.caption,
        media: media_urls,
        media_types,
        reply_to: None,
        url,
        created_at: iso_millis(now),
    });
    Ok(json(StatusCode::OK, json!({"id": id})))
}

pub(crate) fn publishing_limit(
    sim: &SharedSim,
    call: &Call,
    account: &str,
) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let mut world = sim.world();
    if !may_manage(&world, &call.token, account) {
        return Err(unsupported(&call.method, account));
    }
    let quota = world.config.instagram.publishing_quota;
    let enabled = world.config.rate_limits;
    let usage = world
        .windows
        .peek(enabled, &format!("ig:quota:{account}"), &quota, now);
    let all = json!({
        "quota_usage": usage.used,
        "config": {"quota_total": quota.limit, "quota_duration": quota.window_secs.round() as u64},
    });
    let row = select(all, call.params.get("fields"), &["quota_usage"]);
    let mut row = row;
    row.as_object_mut().map(|m| m.remove("id"));
    Ok(json(StatusCode::OK, json!({"data": [row]})))
}

/// A post's public URL: Reels live under `/reel/`, everything else under `/p/`.
fn permalink(media: &IgMedia) -> String {
    let path = if media.product_type == "REELS" {
        "reel"
    } else {
        "p"
    };
    format!("https://www.instagram.com/{path}/{}/", media.shortcode)
}

/// `POST /{ig-media-id}/comments {message}`: a comment by the account on its own media,
/// which needs `instagram_manage_comments` (or `instagram_business_manage_comments` with
/// Instagram Login). `/_sim/posts` lists it with `reply_to` naming the media.
pub(crate) fn comment(
    sim: &SharedSim,
    call: &Call,
    media_id: &str,
) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let mut world = sim.world();
    let Some(media) = world.meta.instagram.media.get(media_id).cloned() else {
        return Err(unsupported(&call.method, media_id));
    };
    if !may_manage(&world, &call.token, &media.account) {
        return Err(unsupported(&call.method, media_id));
    }
    require_scope(
        call,
        &[
            "instagram_manage_comments",
            "instagram_business_manage_comments",
        ],
    )?;
    let Some(message) = call.params.non_empty("message").map(str::to_owned) else {
        return Err(GraphError::new(
            100,
            "(#100) The parameter message is required",
        ));
    };
    let length = message.chars().count();
    if length > world.config.instagram.max_caption_chars {
        return Err(GraphError::new(
            100,
            format!(
                "(#100) The comment has {length} characters; the maximum is {}",
                world.config.instagram.max_caption_chars
            ),
        ));
    }
    let id = (17_850_000_000_000_000u64 + world.next_id()).to_string();
    if let Some(stored) = world.meta.instagram.media.get_mut(media_id) {
        stored.comments += 1;
    }
    world
        .meta
        .instagram
        .comments
        .insert(id.clone(), media.account.clone());
    let url = permalink(&media);
    world.record_post(SimPost {
        platform: Platform::Instagram.as_str(),
        account: media.account,
        id: id.clone(),
        text: message,
        media: Vec::new(),
        media_types: Vec::new(),
        reply_to: Some(media_id.to_owned()),
        url,
        created_at: iso_millis(now),
    });
    Ok(json(StatusCode::OK, json!({"id": id})))
}

fn media_value(world: &World, media: &IgMedia) -> Value {
    let username = world
        .fixtures
        .instagram_account(&media.account)
        .map(|a| a.username.clone())
        .unwrap_or_default();
    json!({
        "id": media.id,
        "caption": media.caption,
        "media_type": media.media_type,
        "media_product_type": media.product_type,
        "media_url": media.media_url,
        "permalink": permalink(media),
        "shortcode": media.shortcode,
        "timestamp": graph_time(media.created_ms),
        "username": username,
        "like_count": 0,
        "comments_count": media.comments,
    })
}

pub(crate) fn media_list(
    sim: &SharedSim,
    call: &Call,
    account: &str,
) -> Result<Response, GraphError> {
    let world = sim.world();
    if !may_manage(&world, &call.token, account) {
        return Err(unsupported(&call.method, account));
    }
    let (limit, offset) = crate::graph::page_window(&call.params);
    let ids = world
        .meta
        .instagram
        .by_account
        .get(account)
        .cloned()
        .unwrap_or_default();
    let fields = call.params.get("fields");
    let data: Vec<Value> = ids
        .iter()
        .rev()
        .skip(offset)
        .take(limit)
        .filter_map(|id| world.meta.instagram.media.get(id))
        .map(|m| select(media_value(&world, m), fields, &[]))
        .collect();
    let mut paging = json!({"cursors": {"before": offset.to_string(), "after": (offset + data.len()).to_string()}});
    if offset + data.len() < ids.len() {
        paging["next"] = json!(format!("{account}/media?after={}", offset + data.len()));
    }
    Ok(json(
        StatusCode::OK,
        json!({"data": data, "paging": paging}),
    ))
}

/// The fields a container has; asking for another is refused, as Graph refuses any field a
/// node type does not have.
const CONTAINER_FIELDS: [&str; 4] = ["id", "status_code", "status", "copyright_check_status"];

/// An Instagram account, container or media by id (or Graph's refusal of a field).
pub(crate) fn node(
    world: &World,
    call: &Call,
    id: &str,
    now: u64,
) -> Option<Result<Value, GraphError>> {
    let fields = call.params.get("fields");
    if let Some(account) = world.fixtures.instagram_account(id) {
        if !may_manage(world, &call.token, id) {
            return None;
        }
        let count = world.meta.instagram.by_account.get(id).map_or(0, Vec::len);
        let all = json!({
            "id": account.id,
            "username": account.username,
            "name": account.name,
            "ig_id": account.id.trim_start_matches("178414"),
            "followers_count": 0,
            "follows_count": 0,
            "media_count": count,
            "profile_picture_url": format!("https://scontent.cdninstagram.test/{}.jpg", account.id),
        });
        return Some(Ok(select(all, fields, &["username"])));
    }
    if let Some(container) = world.meta.instagram.containers.get(id) {
        if !may_manage(world, &call.token, &container.account) {
            return None;
        }
        if let Some(unknown) = fields
            .into_iter()
            .flat_map(|f| f.split(','))
            .map(str::trim)
            .find(|f| !f.is_empty() && !CONTAINER_FIELDS.contains(f))
        {
            return Some(Err(GraphError::new(
                100,
                format!(
                    "(#100) Tried accessing nonexisting field ({unknown}) on node type (ShadowIGMediaBuilder)"
                ),
            )));
        }
        let expiry = world.config.instagram.container_expiry_secs * 1000;
        let code = world.meta.instagram.status(container, now, expiry);
        let all = json!({
            "id": container.id,
            "status_code": code,
            "status": status_text(code, container.error.as_deref()),
            "copyright_check_status": {"status": "not_started", "matches_found": false},
        });
        return Some(Ok(select(all, fields, &["status_code"])));
    }
    let media = world.meta.instagram.media.get(id)?;
    if !may_manage(world, &call.token, &media.account) {
        return None;
    }
    Some(Ok(select(media_value(world, media), fields, &[])))
}
