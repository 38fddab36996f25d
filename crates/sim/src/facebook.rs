//! Facebook Pages on the Graph API: `/{page}/photos`, `/{page}/feed` (POST and read-back),
//! `/{photo}/picture` and post and photo lookups.
//!
//! Publishing takes the Page's own token (from `/me/accounts`) with `pages_manage_posts`; a
//! user token gets the (#200) permission error, as on Facebook. A photo comes from a
//! multipart `source` or from `url`, which the simulator really downloads; `published=false`
//! keeps it unattached until a feed post names it in `attached_media`. Posting the same
//! message twice within `facebook.duplicate_window_secs` is the 506 duplicate (unless
//! `detect_duplicates` is off); too many posts in the window is code 613.

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

#[derive(Debug, Default)]
pub(crate) struct FacebookState {
    posts: HashMap<String, FbPost>,
    by_page: HashMap<String, Vec<String>>,
    photos: HashMap<String, Photo>,
}

impl FacebookState {
    /// The Page a post or photo belongs to.
    pub(crate) fn page_of(&self, id: &str) -> Option<String> {
        self.posts
            .get(id)
            .map(|p| p.page.clone())
            .or_else(|| self.photos.get(id).map(|p| p.page.clone()))
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
        media_types: Vec::new(),
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
    let limit = call
        .params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let offset = call
        .params
        .get("after")
        .and_then(|a| a.parse::<usize>().ok())
        .unwrap_or(0);
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

/// A post or photo by id, with the requested fields.
pub(crate) fn node(world: &World, call: &Call, id: &str) -> Option<Value> {
    let fields = call.params.get("fields");
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
