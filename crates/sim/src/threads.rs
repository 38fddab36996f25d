//! Threads under `/threads` (graph.threads.net): `/v1.0/me`; containers, their status,
//! `threads_publish`, the publishing limit and the read-back. OAuth (authorize, the code
//! exchange, `th_exchange_token`, `th_refresh_token`) is in `threads_oauth.rs`.
//!
//! A container is `IN_PROGRESS` for `threads.container_processing_ms`, then `FINISHED` (or
//! `ERROR` with an `error_message` when the image was unusable); an `image_url` that cannot
//! be downloaded fails at creation, as on Instagram. Text is at most 500 characters; posts
//! and replies have their own rolling quotas (2207042 beyond them). Errors have Graph's shape.
//!
//! A `VIDEO` container (single, or a carousel item) answers at once; its `video_url` is
//! downloaded and checked against `threads.video` (MP4/MOV, H.264/HEVC, at most 300 s, width,
//! aspect ratio, frame rate, 1 GB), it stays `IN_PROGRESS` for `threads.video.processing_ms`,
//! and a video that fails turns `ERROR` with one of the documented `error_message` values:
//! FAILED_DOWNLOADING_VIDEO (unreachable, too slow or too large), INVALID_DURATION,
//! INVALID_ASPEC_RATIO (sic), INVALID_FRAME_RATE, FAILED_PROCESSING_VIDEO (anything else).
//! Which value the live API picks for a too-wide or too-large video is ❓.
//!
//! A carousel (`CAROUSEL&children=…`) takes 2 to `threads.max_carousel_children` item
//! containers (`is_carousel_item=true`, IMAGE or VIDEO) and stays IN_PROGRESS while any child
//! is. A reply is a TEXT (or media) container with `reply_to_id` naming a published thread;
//! it needs `threads_manage_replies` and counts against the reply quota.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::container_video::{self, VideoProblem};
use crate::fetch::{self, FetchError};
use crate::graph::{self, GraphError, select, unsupported};
use crate::imaging::{self, ImageFormat};
use crate::oauth::AccessToken;
use crate::request::{Params, bearer, json, random_token};
use crate::state::{Platform, SharedSim, SimPost, World, graph_time, iso_millis};
use crate::threads_oauth::threads_token;

#[derive(Debug, Clone)]
struct ThContainer {
    id: String,
    user: String,
    media_type: String,
    text: String,
    media_url: Option<String>,
    /// What the fetched media turned out to be (`image/png`, `video/mp4`).
    content_type: Option<String>,
    reply_to: Option<String>,
    is_item: bool,
    children: Vec<String>,
    created_ms: u64,
    ready_ms: u64,
    error: Option<&'static str>,
    published: Option<String>,
}

#[derive(Debug, Clone)]
struct ThPost {
    id: String,
    user: String,
    text: String,
    media_type: String,
    media_url: Option<String>,
    reply_to: Option<String>,
    shortcode: String,
    created_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct ThreadsState {
    containers: HashMap<String, ThContainer>,
    posts: HashMap<String, ThPost>,
    by_user: HashMap<String, Vec<String>>,
}

impl ThreadsState {
    fn status(&self, c: &ThContainer, now: u64, expiry_ms: u64) -> &'static str {
        if c.published.is_some() {
            return "PUBLISHED";
        }
        if now >= c.created_ms + expiry_ms {
            return "EXPIRED";
        }
        if now < c.ready_ms {
            return "IN_PROGRESS";
        }
        if c.error.is_some() {
            return "ERROR";
        }
        for child in &c.children {
            match self
                .containers
                .get(child)
                .map(|x| self.status(x, now, expiry_ms))
            {
                Some("IN_PROGRESS") => return "IN_PROGRESS",
                Some("ERROR") | None => return "ERROR",
                _ => {}
            }
        }
        "FINISHED"
    }
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .merge(crate::threads_oauth::routes())
        .route("/threads/v1.0/{*path}", get(dispatch).post(dispatch))
}

pub(crate) fn fault_response(status: StatusCode) -> Response {
    graph::fault_response(status)
}

pub(crate) fn fault_rate_limited() -> Response {
    graph::fault_rate_limited()
}

fn api_error(code: i64, message: impl Into<String>) -> GraphError {
    GraphError::new(code, message).kind("THApiException")
}

// ---- API ----------------------------------------------------------------------------------

struct ThCall {
    method: Method,
    token: AccessToken,
    params: Params,
}

async fn dispatch(
    State(sim): State<SharedSim>,
    Path(path): Path<String>,
    req: Request,
) -> Response {
    let method = req.method().clone();
    let (headers, params) = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => return api_error(100, format!("Invalid request body: {e}")).into_response(),
    };
    let presented = params
        .get("access_token")
        .map(str::to_owned)
        .or_else(|| bearer(&headers));
    let now = sim.now_ms();
    let token = match threads_token(&sim.world(), presented.as_deref(), now) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let call = ThCall {
        method,
        token,
        params,
    };
    let rest: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get = call.method == Method::GET;
    let result = match rest.as_slice() {
        ["me"] if get => me(&sim, &call),
        [user, "threads"] if !get => create_container(&sim, &call, user).await,
        [user, "threads"] => list(&sim, &call, user),
        [user, "threads_publish"] if !get => publish(&sim, &call, user),
        [user, "threads_publishing_limit"] if get => publishing_limit(&sim, &call, user),
        [id] if get => node(&sim, &call, id),
        _ => Err(unsupported(
            &call.method,
            rest.first().copied().unwrap_or(""),
        )),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Resolves `me` and checks the path's user is the caller.
fn own_user(call: &ThCall, user: &str) -> Result<String, GraphError> {
    if user == "me" || user == call.token.user {
        Ok(call.token.user.clone())
    } else {
        Err(unsupported(&call.method, user))
    }
}

fn user_value(world: &World, id: &str) -> Value {
    let user = world.fixtures.threads_user(id);
    json!({
        "id": id,
        "username": user.map(|u| u.username.clone()),
        "name": user.map(|u| u.name.clone()),
        "threads_profile_picture_url": format!("https://scontent.cdninstagram.test/threads/{id}.jpg"),
        "threads_biography": "",
    })
}

fn me(sim: &SharedSim, call: &ThCall) -> Result<Response, GraphError> {
    let world = sim.world();
    Ok(json(
        StatusCode::OK,
        select(
            user_value(&world, &call.token.user),
            call.params.get("fields"),
            &[],
        ),
    ))
}

/// A video problem as the `error_message` of the ERROR container.
fn error_message(problem: &VideoProblem) -> &'static str {
    match problem {
        VideoProblem::Unreachable | VideoProblem::DownloadTimeout | VideoProblem::TooLarge => {
            "FAILED_DOWNLOADING_VIDEO"
        }
        VideoProblem::Duration(_) => "INVALID_DURATION",
        VideoProblem::Aspect(_) => "INVALID_ASPEC_RATIO",
        VideoProblem::FrameRate(_) => "INVALID_FRAME_RATE",
        VideoProblem::Unreadable | VideoProblem::Codec(_) | VideoProblem::Width(_) => {
            "FAILED_PROCESSING_VIDEO"
        }
    }
}

async fn create_container(
    sim: &SharedSim,
    call: &ThCall,
    user: &str,
) -> Result<Response, GraphError> {
    let user = own_user(call, user)?;
    if !call.token.has_scope("threads_content_publish") {
        return Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action",
        )
        .status(StatusCode::FORBIDDEN));
    }
    let p = &call.params;
    let media_type = p.get("media_type").unwrap_or("").to_ascii_uppercase();
    let text = p.get("text").unwrap_or("").to_owned();
    let (config, timeout) = {
        let world = sim.world();
        (
            world.config.threads.clone(),
            Duration::from_millis(world.config.fetch.timeout_ms),
        )
    };
    if text.chars().count() > config.max_text_chars {
        return Err(api_error(
            100,
            format!(
                "Param text must be at most {} characters long.",
                config.max_text_chars
            ),
        ));
    }
    if p.non_empty("reply_to_id").is_some() && !call.token.has_scope("threads_manage_replies") {
        return Err(GraphError::new(
            10,
            "(#10) Application does not have permission for this action: replying needs threads_manage_replies",
        )
        .status(StatusCode::FORBIDDEN));
    }
    let mut processing_ms = config.container_processing_ms;
    let mut container = ThContainer {
        id: String::new(),
        user: user.clone(),
        media_type: media_type.clone(),
        text,
        media_url: None,
        content_type: None,
        reply_to: p.non_empty("reply_to_id").map(str::to_owned),
        is_item: p.flag("is_carousel_item").unwrap_or(false),
        children: Vec::new(),
        created_ms: 0,
        ready_ms: 0,
        error: None,
        published: None,
    };
    match media_type.as_str() {
        "TEXT" => {
            if container.text.trim().is_empty() {
                return Err(api_error(
                    100,
                    "The parameter text is required for TEXT posts.",
                ));
            }
        }
        "IMAGE" => {
            let Some(url) = p.non_empty("image_url").map(str::to_owned) else {
                return Err(api_error(100, "The parameter image_url is required."));
            };
            let fetched = fetch::fetch(&sim.http, &url, config.image_max_bytes, timeout).await;
            container.error = match fetched {
                Err(FetchError::Timeout) => {
                    return Err(
                        GraphError::new(-2, "It takes too long to download the media.")
                            .subcode(2_207_003)
                            .transient(),
                    );
                }
                Err(FetchError::TooLarge) => {
                    return Err(GraphError::new(9004, "The media is too large to download.")
                        .subcode(2_207_004));
                }
                Err(_) => {
                    return Err(GraphError::new(9004, "Media download has failed.")
                        .subcode(2_207_052)
                        .user_message(
                            "Media download has failed.",
                            &format!("The media could not be fetched from this uri: {url}."),
                        ));
                }
                Ok(f) => match imaging::sniff(&f.bytes) {
                    Some(i) if !matches!(i.format, ImageFormat::Jpeg | ImageFormat::Png) => {
                        Some("UNKNOWN")
                    }
                    Some(i) if !(0.1..=10.0).contains(&i.aspect()) => Some("INVALID_ASPEC_RATIO"),
                    Some(i) => {
                        container.content_type = Some(i.format.mime().to_owned());
                        None
                    }
                    None => Some("UNKNOWN"),
                },
            };
            container.media_url = Some(url);
        }
        "VIDEO" => {
            let Some(url) = p.non_empty("video_url").map(str::to_owned) else {
                return Err(api_error(100, "The parameter video_url is required."));
            };
            processing_ms = config.video.processing_ms;
            match container_video::fetch_and_check(&sim.http, &url, &config.video, timeout).await {
                Ok(info) => container.content_type = Some(info.container.mime_type().to_owned()),
                Err(problem) => container.error = Some(error_message(&problem)),
            }
            container.media_url = Some(url);
        }
        "CAROUSEL" => {
            let raw = p.get("children").unwrap_or("");
            container.children = raw
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if !(2..=config.max_carousel_children).contains(&container.children.len()) {
                return Err(api_error(
                    100,
                    format!(
                        "A carousel needs between 2 and {} children.",
                        config.max_carousel_children
                    ),
                ));
            }
        }
        "" => return Err(api_error(100, "The parameter media_type is required.")),
        other => {
            return Err(api_error(
                100,
                format!("The parameter media_type has an invalid value {other}."),
            ));
        }
    }
    let now = sim.now_ms();
    let mut world = sim.world();
    if let Some(parent) = &container.reply_to
        && !world.threads.posts.contains_key(parent)
    {
        return Err(api_error(
            100,
            format!("The reply_to_id {parent} is not a valid thread."),
        ));
    }
    for child in &container.children {
        let ok = world.threads.containers.get(child).is_some_and(|c| {
            c.user == user && c.is_item && c.media_url.is_some() && c.published.is_none()
        });
        if !ok {
            return Err(api_error(
                100,
                format!("The carousel child {child} is not a valid carousel item."),
            ));
        }
    }
    container.id = (17_800_000_000_000_000u64 + world.next_id()).to_string();
    container.created_ms = now;
    container.ready_ms = now + processing_ms;
    let id = container.id.clone();
    world.threads.containers.insert(id.clone(), container);
    Ok(json(StatusCode::OK, json!({"id": id})))
}

fn permalink(world: &World, post: &ThPost) -> String {
    let username = world
        .fixtures
        .threads_user(&post.user)
        .map(|u| u.username.clone())
        .unwrap_or_default();
    format!(
        "https://www.threads.net/@{username}/post/{}",
        post.shortcode
    )
}

fn publish(sim: &SharedSim, call: &ThCall, user: &str) -> Result<Response, GraphError> {
    let user = own_user(call, user)?;
    let now = sim.now_ms();
    let mut world = sim.world();
    let Some(creation_id) = call.params.non_empty("creation_id").map(str::to_owned) else {
        return Err(api_error(100, "The parameter creation_id is required."));
    };
    let expiry = world.config.threads.container_expiry_secs * 1000;
    let Some(container) = world
        .threads
        .containers
        .get(&creation_id)
        .filter(|c| c.user == user && !c.is_item)
        .cloned()
    else {
        return Err(api_error(
            24,
            format!("The media container {creation_id} cannot be found."),
        )
        .subcode(4_279_009));
    };
    match world.threads.status(&container, now, expiry) {
        "FINISHED" => {}
        "IN_PROGRESS" => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .subcode(2_207_027)
                .user_message(
                    "Media not ready for publishing",
                    "The media is not ready for publishing, please wait for a moment",
                ));
        }
        status => {
            return Err(GraphError::new(9007, "Media ID is not available")
                .subcode(2_207_020)
                .user_message(
                    "Media not available",
                    &format!("The media container is {status}."),
                ));
        }
    }
    let config = world.config.threads.clone();
    let (key, limit) = match container.reply_to {
        Some(_) => (format!("th:replies:{user}"), config.replies),
        None => (format!("th:posts:{user}"), config.posts),
    };
    let enabled = world.config.rate_limits;
    if world.windows.try_take(enabled, &key, &limit, now).is_err() {
        return Err(GraphError::new(9, "Application request limit reached")
            .subcode(2_207_042)
            .user_message(
                "Reached publishing limit",
                "You have reached the maximum number of posts that is allowed in 24 hours.",
            ));
    }
    let id = (18_100_000_000_000_000u64 + world.next_id()).to_string();
    let post = ThPost {
        id: id.clone(),
        user: user.clone(),
        text: container.text.clone(),
        media_type: match container.media_type.as_str() {
            "TEXT" => "TEXT_POST".to_owned(),
            "CAROUSEL" => "CAROUSEL_ALBUM".to_owned(),
            other => other.to_owned(),
        },
        media_url: container.media_url.clone(),
        reply_to: container.reply_to.clone(),
        shortcode: random_token(11),
        created_ms: now,
    };
    let url = permalink(&world, &post);
    let items: Vec<(String, String)> = if container.children.is_empty() {
        vec![(container.media_url.clone(), container.content_type.clone())]
    } else {
        container
            .children
            .iter()
            .filter_map(|c| world.threads.containers.get(c))
            .map(|c| (c.media_url.clone(), c.content_type.clone()))
            .collect()
    }
    .into_iter()
    .filter_map(|(url, kind)| Some((url?, kind.unwrap_or_default())))
    .collect();
    let (media, media_types): (Vec<String>, Vec<String>) = items.into_iter().unzip();
    world.threads.posts.insert(id.clone(), post);
    world
        .threads
        .by_user
        .entry(user.clone())
        .or_default()
        .push(id.clone());
    // The parent and its children are used up: a child cannot join another carousel.
    for used in std::iter::once(&creation_id).chain(&container.children) {
        if let Some(stored) = world.threads.containers.get_mut(used) {
            stored.published = Some(id.clone());
        }
    }
    world.record_post(SimPost {
        platform: Platform::Threads.as_str(),
        account: user,
        id: id.clone(),
        text: container.text,
        media,
        media_types,
        reply_to: container.reply_to,
        url,
        created_at: iso_millis(now),
    });
    Ok(json(StatusCode::OK, json!({"id": id})))
}

fn publishing_limit(sim: &SharedSim, call: &ThCall, user: &str) -> Result<Response, GraphError> {
    let user = own_user(call, user)?;
    let now = sim.now_ms();
    let mut world = sim.world();
    let config = world.config.threads.clone();
    let enabled = world.config.rate_limits;
    let posts = world
        .windows
        .peek(enabled, &format!("th:posts:{user}"), &config.posts, now);
    let replies = world
        .windows
        .peek(enabled, &format!("th:replies:{user}"), &config.replies, now);
    let all = json!({
        "quota_usage": posts.used,
        "config": {"quota_total": config.posts.limit, "quota_duration": config.posts.window_secs.round() as u64},
        "reply_quota_usage": replies.used,
        "reply_config": {"quota_total": config.replies.limit, "quota_duration": config.replies.window_secs.round() as u64},
    });
    let mut row = select(all, call.params.get("fields"), &["quota_usage"]);
    row.as_object_mut().map(|m| m.remove("id"));
    Ok(json(StatusCode::OK, json!({"data": [row]})))
}

fn post_value(world: &World, post: &ThPost) -> Value {
    let mut value = json!({
        "id": post.id,
        "media_product_type": "THREADS",
        "media_type": post.media_type,
        "text": post.text,
        "permalink": permalink(world, post),
        "shortcode": post.shortcode,
        "timestamp": graph_time(post.created_ms),
        "username": world.fixtures.threads_user(&post.user).map(|u| u.username.clone()),
        "owner": {"id": post.user},
        "is_reply": post.reply_to.is_some(),
    });
    if let Some(url) = &post.media_url {
        value["media_url"] = json!(url);
    }
    if let Some(parent) = &post.reply_to {
        value["replied_to"] = json!({"id": parent});
        value["root_post"] = json!({"id": parent});
    }
    value
}

fn list(sim: &SharedSim, call: &ThCall, user: &str) -> Result<Response, GraphError> {
    let user = own_user(call, user)?;
    let world = sim.world();
    let (limit, offset) = graph::page_window(&call.params);
    let ids = world
        .threads
        .by_user
        .get(&user)
        .cloned()
        .unwrap_or_default();
    let data: Vec<Value> = ids
        .iter()
        .rev()
        .skip(offset)
        .take(limit)
        .filter_map(|id| world.threads.posts.get(id))
        .map(|p| select(post_value(&world, p), call.params.get("fields"), &[]))
        .collect();
    let mut paging = json!({"cursors": {"before": offset.to_string(), "after": (offset + data.len()).to_string()}});
    // Like Graph, `next` only while there is more to read.
    if offset + data.len() < ids.len() {
        paging["next"] = json!(format!("{user}/threads?after={}", offset + data.len()));
    }
    Ok(json(
        StatusCode::OK,
        json!({"data": data, "paging": paging}),
    ))
}

fn node(sim: &SharedSim, call: &ThCall, id: &str) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let world = sim.world();
    let fields = call.params.get("fields");
    if let Some(c) = world
        .threads
        .containers
        .get(id)
        .filter(|c| c.user == call.token.user)
    {
        let expiry = world.config.threads.container_expiry_secs * 1000;
        let status = world.threads.status(c, now, expiry);
        let mut all = json!({"id": c.id, "status": status});
        if status == "ERROR" {
            all["error_message"] = json!(c.error.unwrap_or("UNKNOWN"));
        }
        return Ok(json(StatusCode::OK, select(all, fields, &["status"])));
    }
    if let Some(post) = world.threads.posts.get(id) {
        return Ok(json(
            StatusCode::OK,
            select(post_value(&world, post), fields, &[]),
        ));
    }
    if world.fixtures.threads_user(id).is_some() {
        return Ok(json(
            StatusCode::OK,
            select(user_value(&world, id), fields, &[]),
        ));
    }
    Err(unsupported(&call.method, id))
}
