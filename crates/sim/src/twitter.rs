//! X (Twitter) API v2 under `/x`: users/me, tweets, read-back, and the rate limits with their
//! headers. OAuth lives in `twitter_oauth.rs`, media upload in `twitter_media.rs`.
//!
//! What a client must get right, and the simulator checks:
//! - `POST /2/tweets` counts against a 15-minute window and the tier's 24-hour windows (per
//!   user and per app) whether it succeeds or not, and every answer carries
//!   `x-rate-limit-*`, `x-user-limit-24hour-*` and `x-app-limit-24hour-*`; a full window
//!   answers 429 with the rate-limit problem and no `Retry-After`;
//! - text is measured with the twitter-text weighting (URLs 23, CJK and emoji 2), a repeated
//!   text repeated within `x.duplicate_window_secs` is the 403 duplicate (unless
//!   `detect_duplicates` is off), a reply must point at an existing tweet, media ids must be
//!   uploaded, processed and the user's own, and a tweet carries 1-4 images or exactly one
//!   video or GIF; in the free-tier mode media is refused (403) although the upload worked;
//! - under `x.reply_policy = "summoned_only"` (X's self-serve tiers since 2026-02-23) a reply
//!   is refused (403) unless the post replied to mentions the replier or quotes one of its
//!   posts; a reply to one's own post counts only with `x.self_reply_is_summoned`;
//! - the lookups (`GET /2/users/{id}/tweets`, `GET /2/tweets/{id}`) count against windows per
//!   user and per app (`x.lookup_reads_per_user`, `x.lookup_reads_per_app`), which X's free
//!   plan keeps to one call per 15 minutes: a spent window answers 429 with its
//!   `x-rate-limit-*` headers.
//!
//! Errors are problem objects (`application/problem+json`); a missing tweet on lookup is a
//! 200 with an `errors` array, as X does.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::config::{Limit, XReplyPolicy};
use crate::limits::Usage;
use crate::oauth::{AccessToken, Lookup, TokenKind};
use crate::request::{bearer, json, json_as};
use crate::state::{Platform, SharedSim, SimPost, World, iso_millis};
use crate::{twitter_media, twitter_oauth};

const PROBLEM: &str = "application/problem+json";

#[derive(Debug, Clone)]
pub(crate) struct Tweet {
    pub(crate) id: String,
    pub(crate) author: String,
    pub(crate) text: String,
    pub(crate) media: Vec<String>,
    pub(crate) reply_to: Option<String>,
    /// The tweet this one quotes (`quote_tweet_id`).
    pub(crate) quote_of: Option<String>,
    pub(crate) conversation: String,
    pub(crate) created_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct XState {
    pub(crate) tweets: HashMap<String, Tweet>,
    pub(crate) by_user: HashMap<String, Vec<String>>,
    /// Per user, each text and when it was last tweeted: the duplicate check.
    texts: HashMap<String, HashMap<String, u64>>,
    pub(crate) media: HashMap<String, twitter_media::Media>,
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .merge(twitter_oauth::routes())
        .route("/x/2/users/me", get(me))
        .route("/x/2/tweets", post(create_tweet))
        .route("/x/2/tweets/{id}", get(get_tweet))
        .route("/x/2/users/{id}/tweets", get(user_tweets))
        .merge(twitter_media::routes())
}

// ---- errors ---------------------------------------------------------------------------

pub(crate) fn problem(status: StatusCode, title: &str, detail: &str, kind: &str) -> Response {
    json_as(
        status,
        PROBLEM,
        &json!({"title": title, "detail": detail, "type": kind, "status": status.as_u16()}),
    )
}

pub(crate) fn unauthorized() -> Response {
    problem(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "Unauthorized",
        "about:blank",
    )
}

pub(crate) fn forbidden(detail: &str) -> Response {
    problem(StatusCode::FORBIDDEN, "Forbidden", detail, "about:blank")
}

pub(crate) fn invalid_request(message: &str) -> Response {
    json_as(
        StatusCode::BAD_REQUEST,
        PROBLEM,
        &json!({
            "errors": [{"parameters": {}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }),
    )
}

fn too_many_requests() -> Response {
    problem(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        "Too Many Requests",
        "https://api.twitter.com/2/problems/rate-limit-exceeded",
    )
}

pub(crate) fn fault_response(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    problem(status, reason, reason, "about:blank")
}

pub(crate) fn fault_rate_limited(now_ms: u64, retry_after_secs: u64) -> Response {
    let usage = Usage {
        limit: 100,
        used: 100,
        remaining: 0,
        reset_ms: now_ms + retry_after_secs * 1000,
    };
    let mut response = too_many_requests();
    set_limit_headers(&mut response, "x-rate-limit", &usage);
    response
}

fn set_limit_headers(response: &mut Response, prefix: &str, usage: &Usage) {
    let headers = response.headers_mut();
    for (suffix, value) in [
        ("limit", u64::from(usage.limit)),
        ("remaining", u64::from(usage.remaining)),
        ("reset", usage.reset_secs()),
    ] {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(format!("{prefix}-{suffix}")),
            HeaderValue::try_from(value.to_string()),
        ) {
            headers.insert(name, value);
        }
    }
}

// ---- authentication and windows ---------------------------------------------------------

/// The caller's token, or X's 401 problem.
pub(crate) fn authenticate(
    world: &World,
    headers: &HeaderMap,
    now: u64,
) -> Result<AccessToken, Response> {
    let token = bearer(headers).ok_or_else(unauthorized)?;
    match world.oauth.lookup(&token, now) {
        Lookup::Valid(t) if t.kind == TokenKind::Twitter => Ok(t.clone()),
        _ => Err(unauthorized()),
    }
}

/// Counts a read (users/me, media status) against the user's 15-minute window for the
/// endpoint.
pub(crate) fn read_window(
    world: &mut World,
    user: &str,
    endpoint: &str,
    now: u64,
) -> Result<Usage, Response> {
    let limit = world.config.x.reads_per_15min;
    let enabled = world.config.rate_limits;
    let key = format!("x:read:{endpoint}:{user}");
    world
        .windows
        .try_take(enabled, &key, &limit, now)
        .map_err(|usage| {
            let mut response = too_many_requests();
            set_limit_headers(&mut response, "x-rate-limit", &usage);
            response
        })
}

/// Counts a lookup (a user's timeline, a tweet by id) against the endpoint's windows per user
/// and per app, the ones X's free plan keeps to one call per 15 minutes. Both must have room;
/// the answer carries the tighter window, and a full one answers 429 with its own headers.
fn lookup_window(
    world: &mut World,
    token: &AccessToken,
    endpoint: &str,
    now: u64,
) -> Result<Usage, Response> {
    let x = &world.config.x;
    let windows = [
        (
            format!("x:lookup:{endpoint}:user:{}", token.user),
            x.lookup_reads_per_user,
        ),
        (
            format!("x:lookup:{endpoint}:app:{}", token.client_id),
            x.lookup_reads_per_app,
        ),
    ];
    let enabled = world.config.rate_limits;
    for (key, limit) in &windows {
        let usage = world.windows.peek(enabled, key, limit, now);
        if usage.remaining == 0 {
            let mut response = too_many_requests();
            set_limit_headers(&mut response, "x-rate-limit", &usage);
            return Err(response);
        }
    }
    let [user, app] = windows.map(|(key, limit)| {
        world
            .windows
            .try_take(enabled, &key, &limit, now)
            .unwrap_or_else(|usage| usage)
    });
    Ok(if app.remaining < user.remaining {
        app
    } else {
        user
    })
}

pub(crate) fn with_rate_headers(mut response: Response, usage: &Usage) -> Response {
    set_limit_headers(&mut response, "x-rate-limit", usage);
    response
}

struct PostWindows {
    per_15min: Usage,
    user_daily: Option<Usage>,
    app_daily: Option<Usage>,
}

impl PostWindows {
    fn apply(&self, mut response: Response) -> Response {
        set_limit_headers(&mut response, "x-rate-limit", &self.per_15min);
        if let Some(usage) = &self.user_daily {
            set_limit_headers(&mut response, "x-user-limit-24hour", usage);
        }
        if let Some(usage) = &self.app_daily {
            set_limit_headers(&mut response, "x-app-limit-24hour", usage);
        }
        response
    }
}

/// Takes a slot in every window `POST /2/tweets` counts against, or reports the full one.
fn take_post_windows(
    world: &mut World,
    token: &AccessToken,
    now: u64,
) -> Result<PostWindows, PostWindows> {
    let x = &world.config.x;
    let tier = world
        .fixtures
        .x_user(&token.user)
        .and_then(|u| u.tier)
        .unwrap_or(x.tier);
    let (tier_user, tier_app) = tier.daily_caps();
    let daily = |cap: Option<u32>| cap.map(|limit| Limit::new(limit, x.daily_window_secs));
    let user_limit = daily(x.user_daily_limit.or(tier_user));
    let app_limit = daily(x.app_daily_limit.or(tier_app));
    let short = x.posts_per_15min;
    let enabled = world.config.rate_limits;
    let keys = [
        (format!("x:post15:{}", token.user), Some(short)),
        (format!("x:user24:{}", token.user), user_limit),
        (format!("x:app24:{}", token.client_id), app_limit),
    ];
    let room = keys
        .iter()
        .all(|(key, limit)| limit.is_none_or(|l| world.windows.has_room(enabled, key, &l, now)));
    let mut usages = keys.iter().map(|(key, limit)| {
        limit.map(|l| {
            if room {
                world
                    .windows
                    .try_take(enabled, key, &l, now)
                    .unwrap_or_else(|u| u)
            } else {
                world.windows.peek(enabled, key, &l, now)
            }
        })
    });
    let windows = PostWindows {
        per_15min: usages.next().flatten().unwrap_or(Usage {
            limit: short.limit,
            used: 0,
            remaining: short.limit,
            reset_ms: now,
        }),
        user_daily: usages.next().flatten(),
        app_daily: usages.next().flatten(),
    };
    if room { Ok(windows) } else { Err(windows) }
}

// ---- users and tweets -------------------------------------------------------------------

async fn me(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !token.has_scope("users.read") {
        return forbidden("Missing scope: users.read");
    }
    let usage = match read_window(&mut world, &token.user, "users/me", now) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(user) = world.fixtures.x_user(&token.user) else {
        return unauthorized();
    };
    let mut data = json!({"id": user.id, "name": user.name, "username": user.username});
    let fields = q.get("user.fields").map(String::as_str).unwrap_or("");
    for field in fields.split(',') {
        match field {
            "verified" => data["verified"] = json!(false),
            "protected" => data["protected"] = json!(false),
            "profile_image_url" => {
                data["profile_image_url"] = json!(format!(
                    "https://pbs.twimg.test/profile_images/{}.jpg",
                    user.id
                ));
            }
            "created_at" => data["created_at"] = json!("2020-01-01T00:00:00.000Z"),
            _ => {}
        }
    }
    with_rate_headers(json(StatusCode::OK, json!({"data": data})), &usage)
}

/// `POST /2/tweets` body fields X accepts at the top level.
const TWEET_FIELDS: &[&str] = &[
    "text",
    "media",
    "reply",
    "quote_tweet_id",
    "poll",
    "reply_settings",
    "for_super_followers_only",
    "direct_message_deep_link",
    "geo",
    "card_uri",
    "community_id",
    "nullcast",
    "share_with_followers",
    "made_with_ai",
    "paid_partnership",
];

async fn create_tweet(State(sim): State<SharedSim>, headers: HeaderMap, body: Bytes) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !token.has_scope("tweet.write") {
        return forbidden("Missing scope: tweet.write");
    }
    let windows = match take_post_windows(&mut world, &token, now) {
        Ok(w) => w,
        Err(full) => return full.apply(too_many_requests()),
    };
    let result = validate_and_create(&mut world, &token, &body, now);
    windows.apply(result)
}

fn validate_and_create(world: &mut World, token: &AccessToken, body: &[u8], now: u64) -> Response {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return invalid_request("Request body is not valid JSON."),
    };
    let Some(object) = parsed.as_object() else {
        return invalid_request("$: object expected");
    };
    if let Some(extra) = object.keys().find(|k| !TWEET_FIELDS.contains(&k.as_str())) {
        return invalid_request(&format!(
            "$.{extra}: is not defined in the schema and the schema does not allow additional properties"
        ));
    }
    let text = match object.get("text") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return invalid_request("$.text: string found, other type expected"),
    };
    let media_ids = match parse_media_ids(object.get("media")) {
        Ok(ids) => ids,
        Err(r) => return r,
    };
    let reply_to = match object.get("reply") {
        None | Some(Value::Null) => None,
        Some(reply) => match reply.get("in_reply_to_tweet_id").and_then(Value::as_str) {
            Some(id) => Some(id.to_owned()),
            None => {
                return invalid_request(
                    "$.reply.in_reply_to_tweet_id: is missing but it is required",
                );
            }
        },
    };
    if text.is_empty() && media_ids.is_empty() {
        return invalid_request(
            "Your request must include one of: text, media, poll, quote_tweet_id or card_uri.",
        );
    }
    let max = world.config.x.max_weighted_length;
    if weighted_length(&text) > max {
        return forbidden(
            "Your Tweet text is too long. For more information on how X determines text length see https://github.com/twitter/twitter-text.",
        );
    }
    if media_ids.len() > world.config.x.max_media_per_tweet {
        return invalid_request("$.media.media_ids: must have at most 4 items");
    }
    let mut media_types = Vec::with_capacity(media_ids.len());
    let mut moving = 0;
    for id in &media_ids {
        if !twitter_media::attachable(world, id, &token.user, now) {
            return invalid_request("Your media IDs are invalid.");
        }
        if let Some((kind, content_type)) = twitter_media::describe(world, id) {
            moving += usize::from(kind != twitter_media::MediaKind::Image);
            media_types.push(content_type);
        }
    }
    // "Up to 4 photos, 1 animated GIF or 1 video in a Post": a video or GIF goes alone.
    if moving > 0 && media_ids.len() > 1 {
        return invalid_request("Your media IDs are invalid.");
    }
    if !media_ids.is_empty() && world.config.x.free_tier_rejects_media {
        return forbidden(
            "You are not permitted to create a Tweet with media with your current access level.",
        );
    }
    let quote_of = match object.get("quote_tweet_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if world.x.tweets.contains_key(id) => Some(id.clone()),
        Some(_) => {
            return invalid_request("$.quote_tweet_id: must be the id of an existing Tweet");
        }
    };
    let conversation = match &reply_to {
        Some(parent) => match world.x.tweets.get(parent) {
            Some(p) => {
                if !may_reply(world, token, p) {
                    return forbidden(REPLY_NOT_SUMMONED);
                }
                p.conversation.clone()
            }
            None => {
                return forbidden(
                    "You attempted to reply to a Tweet that is deleted or not visible to you.",
                );
            }
        },
        None => String::new(),
    };
    let window = world.config.x.duplicate_window_secs;
    if !text.is_empty()
        && world
            .x
            .texts
            .get(&token.user)
            .and_then(|t| t.get(&text))
            .is_some_and(|&at| world.refuses_duplicate_of(at, window, now))
    {
        return forbidden("You are not allowed to create a Tweet with duplicate content.");
    }
    let id = (1_860_000_000_000_000_000u64 + world.next_id()).to_string();
    let conversation = if conversation.is_empty() {
        id.clone()
    } else {
        conversation
    };
    let tweet = Tweet {
        id: id.clone(),
        author: token.user.clone(),
        text: text.clone(),
        media: media_ids.clone(),
        reply_to: reply_to.clone(),
        quote_of,
        conversation,
        created_ms: now,
    };
    world.x.tweets.insert(id.clone(), tweet);
    world
        .x
        .by_user
        .entry(token.user.clone())
        .or_default()
        .push(id.clone());
    if !text.is_empty() {
        world
            .x
            .texts
            .entry(token.user.clone())
            .or_default()
            .insert(text.clone(), now);
    }
    let username = world
        .fixtures
        .x_user(&token.user)
        .map(|u| u.username.clone())
        .unwrap_or_default();
    world.record_post(SimPost {
        platform: Platform::Twitter.as_str(),
        account: token.user.clone(),
        id: id.clone(),
        text: text.clone(),
        media: media_ids,
        media_types,
        reply_to,
        url: format!("https://x.com/{username}/status/{id}"),
        created_at: iso_millis(now),
    });
    json(
        StatusCode::CREATED,
        json!({"data": {"id": id, "text": text, "edit_history_tweet_ids": [id]}}),
    )
}

/// X's refusal of a reply its self-serve tiers do not allow (the detail text X sends).
const REPLY_NOT_SUMMONED: &str = "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.";

/// Whether `token`'s user may reply to `parent` under the configured reply policy: always
/// when it is open; when summoned-only, if the parent mentions the user (`@username`) or
/// quotes one of the user's tweets, or (with `x.self_reply_is_summoned`) is the user's own.
fn may_reply(world: &World, token: &AccessToken, parent: &Tweet) -> bool {
    if world.config.x.reply_policy == XReplyPolicy::Open {
        return true;
    }
    if parent.author == token.user {
        return world.config.x.self_reply_is_summoned;
    }
    let quoted_author = parent
        .quote_of
        .as_ref()
        .and_then(|q| world.x.tweets.get(q))
        .map(|q| q.author.as_str());
    if quoted_author == Some(token.user.as_str()) {
        return true;
    }
    let Some(username) = world
        .fixtures
        .x_user(&token.user)
        .map(|u| u.username.clone())
    else {
        return false;
    };
    mentions(&parent.text, &username)
}

/// Whether `text` mentions `@username` (case-insensitive, not inside a longer handle).
fn mentions(text: &str, username: &str) -> bool {
    let handle_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices('@').any(|(at, _)| {
        let rest = &text[at + 1..];
        let before_ok = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !handle_char(c));
        before_ok
            && rest.len() >= username.len()
            && rest.is_char_boundary(username.len())
            && rest[..username.len()].eq_ignore_ascii_case(username)
            && rest[username.len()..]
                .chars()
                .next()
                .is_none_or(|c| !handle_char(c))
    })
}

fn parse_media_ids(media: Option<&Value>) -> Result<Vec<String>, Response> {
    let Some(media) = media.filter(|m| !m.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(ids) = media.get("media_ids").and_then(Value::as_array) else {
        return Err(invalid_request(
            "$.media.media_ids: is missing but it is required",
        ));
    };
    ids.iter()
        .enumerate()
        .map(|(i, id)| match id.as_str() {
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Ok(s.to_owned()),
            Some(_) => Err(invalid_request(&format!(
                "$.media.media_ids[{i}]: does not match the regex pattern ^[0-9]{{1,19}}$"
            ))),
            None => Err(invalid_request(&format!(
                "$.media.media_ids[{i}]: integer found, string expected"
            ))),
        })
        .collect()
}

/// twitter-text v3 weighted length (NFC, URLs 23, most non-Latin and emoji 2).
pub(crate) fn weighted_length(text: &str) -> i32 {
    twitter_text::parse(text, twitter_text_config::config_v3(), true).weighted_length
}

fn tweet_json(world: &World, tweet: &Tweet, fields: &str) -> Value {
    let mut data = json!({
        "id": tweet.id,
        "text": tweet.text,
        "edit_history_tweet_ids": [tweet.id],
    });
    for field in fields.split(',') {
        match field {
            "created_at" => data["created_at"] = json!(iso_millis(tweet.created_ms)),
            "author_id" => data["author_id"] = json!(tweet.author),
            "conversation_id" => data["conversation_id"] = json!(tweet.conversation),
            "attachments" if !tweet.media.is_empty() => {
                let keys: Vec<String> = tweet
                    .media
                    .iter()
                    .map(|m| twitter_media::media_key(world, m))
                    .collect();
                data["attachments"] = json!({"media_keys": keys});
            }
            "in_reply_to_user_id" => {
                if let Some(parent) = tweet.reply_to.as_ref().and_then(|p| world.x.tweets.get(p)) {
                    data["in_reply_to_user_id"] = json!(parent.author);
                }
            }
            "referenced_tweets" => {
                if let Some(parent) = &tweet.reply_to {
                    data["referenced_tweets"] = json!([{"type": "replied_to", "id": parent}]);
                }
            }
            _ => {}
        }
    }
    data
}

async fn get_tweet(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let usage = match lookup_window(&mut world, &token, "tweets/:id", now) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let fields = q.get("tweet.fields").map(String::as_str).unwrap_or("");
    let body = match world.x.tweets.get(&id) {
        Some(tweet) => json!({"data": tweet_json(&world, tweet, fields)}),
        None => json!({"errors": [{
            "value": id,
            "detail": format!("Could not find tweet with id: [{id}]."),
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": "id",
            "resource_id": id,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }]}),
    };
    with_rate_headers(json(StatusCode::OK, body), &usage)
}

async fn user_tweets(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let usage = match lookup_window(&mut world, &token, "users/:id/tweets", now) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let max_results = match q.get("max_results").map(|m| m.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (5..=100).contains(&n) => n,
        Some(_) => {
            return invalid_request(
                "The `max_results` query parameter value is not between 5 and 100",
            );
        }
    };
    if world.fixtures.x_user(&user_id).is_none() {
        return invalid_request(&format!(
            "The `id` query parameter value [{user_id}] is not valid"
        ));
    }
    let since_id = q.get("since_id").and_then(|s| s.parse::<u64>().ok());
    let until_id = q
        .get("pagination_token")
        .or(q.get("until_id"))
        .and_then(|s| s.parse::<u64>().ok());
    let fields = q.get("tweet.fields").map(String::as_str).unwrap_or("");
    let ids = world.x.by_user.get(&user_id).cloned().unwrap_or_default();
    let mut selected: Vec<&Tweet> = ids
        .iter()
        .rev()
        .filter_map(|id| world.x.tweets.get(id))
        .filter(|t| {
            let n = t.id.parse::<u64>().unwrap_or(0);
            since_id.is_none_or(|s| n > s) && until_id.is_none_or(|u| n < u)
        })
        .collect();
    let more = selected.len() > max_results;
    selected.truncate(max_results);
    let data: Vec<Value> = selected
        .iter()
        .map(|t| tweet_json(&world, t, fields))
        .collect();
    let mut meta = json!({"result_count": data.len()});
    if let (Some(first), Some(last)) = (selected.first(), selected.last()) {
        meta["newest_id"] = json!(first.id);
        meta["oldest_id"] = json!(last.id);
        if more {
            meta["next_token"] = json!(last.id);
        }
    }
    let body = if data.is_empty() {
        json!({"meta": meta})
    } else {
        json!({"data": data, "meta": meta})
    };
    with_rate_headers(json(StatusCode::OK, body), &usage)
}
