//! The `/_sim` control API: what tests use to look inside the platforms and to steer them.
//!
//! - `GET /_sim/fixtures` (apps, users, pages, organizations, bots; with shortcuts such as
//!   `telegram.bot_token` and `telegram.chat_id`), `POST /_sim/fixtures` adds more;
//! - `GET /_sim/posts[?platform=&account=]`: every post created, in order, so "exactly one
//!   post exists" is checkable; `GET /_sim/requests`: counts per platform and endpoint, token
//!   grants and refreshes;
//! - `POST /_sim/reset`; `GET|PUT|POST|DELETE /_sim/faults`; `GET /_sim/clock`,
//!   `POST /_sim/clock/advance`; `GET|PATCH /_sim/config`; `POST /_sim/tokens/expire` and
//!   `/_sim/tokens/revoke`;
//! - media to fetch: `GET /_sim/images/{w}x{h}.jpg|png` (generated), `POST /_sim/media`
//!   (host any bytes) and `GET /_sim/media/{id}`, both with `?delay_ms=` for slow servers.
//!
//! The control API is not counted, not faulted and needs no credentials.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::SimConfig;
use crate::faults::FaultRule;
use crate::fixtures::Fixtures;
use crate::imaging;
use crate::oauth::TokenKind;
use crate::request::{json, origin};
use crate::state::{Hosted, Platform, SharedSim};

/// Request counts for `/_sim/requests`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    endpoints: BTreeMap<(Platform, String), u64>,
    grants: BTreeMap<(Platform, String), u64>,
    refreshes: BTreeMap<Platform, u64>,
}

impl Counters {
    pub(crate) fn hit(&mut self, platform: Platform, method: &Method, endpoint: &str) {
        *self
            .endpoints
            .entry((platform, format!("{method} {endpoint}")))
            .or_default() += 1;
    }

    /// A token endpoint call, by grant type.
    pub(crate) fn grant(&mut self, platform: Platform, grant_type: &str) {
        let grant = if grant_type.is_empty() {
            "(none)"
        } else {
            grant_type
        };
        *self.grants.entry((platform, grant.to_owned())).or_default() += 1;
        if matches!(grant, "refresh_token" | "th_refresh_token") {
            *self.refreshes.entry(platform).or_default() += 1;
        }
    }

    /// A refresh that is not named by its grant type (Meta's re-exchange of a long-lived
    /// token).
    pub(crate) fn refresh(&mut self, platform: Platform) {
        *self.refreshes.entry(platform).or_default() += 1;
    }
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route(
            "/_sim/health",
            get(|| async { json(StatusCode::OK, json!({"ok": true})) }),
        )
        .route("/_sim/fixtures", get(fixtures).post(add_fixtures))
        .route("/_sim/posts", get(posts))
        .route("/_sim/requests", get(requests).delete(clear_requests))
        .route("/_sim/reset", post(reset))
        .route(
            "/_sim/faults",
            get(faults)
                .put(put_faults)
                .post(add_fault)
                .delete(clear_faults),
        )
        .route("/_sim/clock", get(clock))
        .route("/_sim/clock/advance", post(advance))
        .route("/_sim/config", get(config).patch(patch_config))
        .route("/_sim/tokens/expire", post(expire_tokens))
        .route("/_sim/tokens/revoke", post(revoke_tokens))
        .route("/_sim/images/{spec}", get(image))
        .route("/_sim/media", post(host_media))
        .route("/_sim/media/{id}", get(hosted_media))
}

fn bad_request(message: impl Into<String>) -> Response {
    json(StatusCode::BAD_REQUEST, json!({"error": message.into()}))
}

async fn fixtures(State(sim): State<SharedSim>) -> Response {
    let world = sim.world();
    json(StatusCode::OK, fixtures_json(&world.fixtures))
}

fn fixtures_json(fixtures: &Fixtures) -> Value {
    let mut value = serde_json::to_value(fixtures).unwrap_or_else(|_| json!({}));
    if let Some(bot) = fixtures.telegram.bots.first() {
        value["telegram"]["bot_token"] = json!(bot.token);
        value["telegram"]["bot_username"] = json!(bot.username);
        value["telegram"]["bot_id"] = json!(bot.id);
        let can_post = |chat: &&crate::fixtures::TelegramChat| {
            chat.members
                .iter()
                .any(|m| m.user_id == bot.id && m.status == "administrator" && m.can_post_messages)
        };
        if let Some(chat) = fixtures.telegram.chats.iter().find(can_post) {
            value["telegram"]["chat_id"] = json!(chat.id);
            if let Some(username) = &chat.username {
                value["telegram"]["channel"] = json!(format!("@{username}"));
            }
        }
        if let Some(chat) = fixtures.telegram.chats.iter().find(|c| !can_post(c)) {
            value["telegram"]["closed_chat_id"] = json!(chat.id);
        }
        if let Some(chat) = fixtures
            .telegram
            .chats
            .iter()
            .find(|c| can_post(c) && c.kind == "channel" && c.linked_chat_id.is_none())
        {
            value["telegram"]["unlinked_chat_id"] = json!(chat.id);
        }
    }
    let defaults = [
        ("twitter", fixtures.twitter.first().map(|u| u.id.clone())),
        (
            "linkedin",
            fixtures.linkedin.members.first().map(|m| m.sub.clone()),
        ),
        (
            "facebook",
            fixtures.facebook.users.first().map(|u| u.id.clone()),
        ),
        ("threads", fixtures.threads.first().map(|u| u.id.clone())),
    ];
    let mut default_users = serde_json::Map::new();
    for (platform, user) in defaults {
        if let Some(user) = user {
            default_users.insert(platform.to_owned(), json!(user));
        }
    }
    value["default_users"] = Value::Object(default_users);
    value
}

async fn add_fixtures(State(sim): State<SharedSim>, body: Bytes) -> Response {
    let mut base = serde_json::to_value(Fixtures::empty()).unwrap_or_else(|_| json!({}));
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e.to_string()),
    };
    merge_patch(&mut base, &patch);
    let more: Fixtures = match serde_json::from_value(base) {
        Ok(f) => f,
        Err(e) => return bad_request(e.to_string()),
    };
    let mut world = sim.world();
    world.add_fixtures(more);
    json(StatusCode::OK, fixtures_json(&world.fixtures))
}

#[derive(Debug, Deserialize)]
struct PostsQuery {
    platform: Option<String>,
    account: Option<String>,
}

async fn posts(State(sim): State<SharedSim>, Query(q): Query<PostsQuery>) -> Response {
    let platform = match q.platform.as_deref() {
        None | Some("") => None,
        Some(name) => match Platform::parse(name) {
            Some(p) => Some(p.as_str()),
            None => return bad_request(format!("unknown platform `{name}`")),
        },
    };
    let world = sim.world();
    let data: Vec<&crate::state::SimPost> = world
        .posts
        .iter()
        .filter(|p| platform.is_none_or(|name| p.platform == name))
        .filter(|p| q.account.as_deref().is_none_or(|a| p.account == a))
        .collect();
    json(StatusCode::OK, json!({"data": data}))
}

async fn requests(State(sim): State<SharedSim>) -> Response {
    let counters = sim.counters();
    let data: Vec<Value> = counters
        .endpoints
        .iter()
        .map(|((platform, endpoint), count)| {
            json!({"platform": platform.as_str(), "endpoint": endpoint, "count": count})
        })
        .collect();
    let grants: Vec<Value> = counters
        .grants
        .iter()
        .map(|((platform, grant), count)| {
            json!({"platform": platform.as_str(), "grant_type": grant, "count": count})
        })
        .collect();
    let refreshes: serde_json::Map<String, Value> = Platform::ALL
        .iter()
        .map(|p| {
            (
                p.as_str().to_owned(),
                json!(counters.refreshes.get(p).copied().unwrap_or(0)),
            )
        })
        .collect();
    let total: u64 = counters.endpoints.values().sum();
    json(
        StatusCode::OK,
        json!({"data": data, "token_grants": grants, "token_refreshes": refreshes, "total": total}),
    )
}

async fn clear_requests(State(sim): State<SharedSim>) -> Response {
    *sim.counters() = Counters::default();
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(sim): State<SharedSim>) -> Response {
    sim.reset();
    StatusCode::NO_CONTENT.into_response()
}

fn faults_json(sim: &SharedSim) -> Response {
    let table = sim.faults();
    json(StatusCode::OK, json!({"faults": table.rules()}))
}

async fn faults(State(sim): State<SharedSim>) -> Response {
    faults_json(&sim)
}

/// Accepts `{"faults": [...]}`, a bare array, or one rule.
fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let list = match value {
        Value::Array(_) => value,
        Value::Object(ref map) if map.contains_key("faults") => map["faults"].clone(),
        other => Value::Array(vec![other]),
    };
    serde_json::from_value(list).map_err(|e| e.to_string())
}

async fn put_faults(State(sim): State<SharedSim>, body: Bytes) -> Response {
    match parse_rules(&body) {
        Ok(rules) => {
            sim.faults().replace(rules);
            faults_json(&sim)
        }
        Err(e) => bad_request(e),
    }
}

async fn add_fault(State(sim): State<SharedSim>, body: Bytes) -> Response {
    match parse_rules(&body) {
        Ok(rules) => {
            for rule in rules {
                sim.faults().push(rule);
            }
            faults_json(&sim)
        }
        Err(e) => bad_request(e),
    }
}

async fn clear_faults(State(sim): State<SharedSim>) -> Response {
    sim.faults().replace(Vec::new());
    faults_json(&sim)
}

fn clock_json(sim: &SharedSim) -> Response {
    let now = sim.now_ms();
    json(
        StatusCode::OK,
        json!({
            "now": crate::state::iso_millis(now),
            "now_ms": now,
            "offset_secs": sim.clock.offset_ms() as f64 / 1000.0,
        }),
    )
}

async fn clock(State(sim): State<SharedSim>) -> Response {
    clock_json(&sim)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    #[serde(default)]
    seconds: f64,
}

async fn advance(State(sim): State<SharedSim>, body: Bytes) -> Response {
    let advance: Advance = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return bad_request(e.to_string()),
    };
    if !advance.seconds.is_finite() || advance.seconds < 0.0 {
        return bad_request("seconds must be a non-negative number (the clock only moves forward)");
    }
    sim.clock.advance((advance.seconds * 1000.0).round() as u64);
    clock_json(&sim)
}

async fn config(State(sim): State<SharedSim>) -> Response {
    let world = sim.world();
    let mut value = serde_json::to_value(&world.config).unwrap_or_else(|_| json!({}));
    if let Some(map) = value.as_object_mut() {
        map.remove("fixtures");
        map.remove("faults");
    }
    json(StatusCode::OK, value)
}

async fn patch_config(State(sim): State<SharedSim>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e.to_string()),
    };
    if patch.get("fixtures").is_some() || patch.get("faults").is_some() {
        return bad_request("use POST /_sim/fixtures and PUT /_sim/faults for those");
    }
    {
        let mut world = sim.world();
        let mut value = match serde_json::to_value(&world.config) {
            Ok(v) => v,
            Err(e) => return bad_request(e.to_string()),
        };
        merge_patch(&mut value, &patch);
        match serde_json::from_value::<SimConfig>(value) {
            Ok(config) => world.config = config,
            Err(e) => return bad_request(e.to_string()),
        }
    }
    config(State(sim)).await
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = json!({});
            }
            if let Value::Object(map) = target {
                for (key, value) in fields {
                    if value.is_null() {
                        map.remove(key);
                    } else {
                        merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TokenFilter {
    platform: Option<String>,
    /// The platform user id (X id, LinkedIn sub, Facebook user id, Threads id).
    user: Option<String>,
}

fn invalidate(sim: &SharedSim, body: &[u8], revoke: bool) -> Response {
    let filter: TokenFilter = if body.is_empty() {
        TokenFilter::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(f) => f,
            Err(e) => return bad_request(e.to_string()),
        }
    };
    let platform = match filter.platform.as_deref() {
        None => None,
        Some(name) => match Platform::parse(name) {
            Some(p) => Some(p),
            None => return bad_request(format!("unknown platform `{name}`")),
        },
    };
    let now = sim.now_ms();
    let mut world = sim.world();
    let count = world.oauth.invalidate(revoke, now, |token| {
        let platform_ok = platform.is_none_or(|p| {
            matches!(
                (&token.kind, p),
                (TokenKind::Twitter, Platform::Twitter)
                    | (TokenKind::Linkedin, Platform::Linkedin)
                    | (
                        TokenKind::MetaUser { .. } | TokenKind::MetaPage { .. },
                        Platform::Facebook | Platform::Instagram,
                    )
                    | (TokenKind::Threads { .. }, Platform::Threads)
            )
        });
        platform_ok && filter.user.as_deref().is_none_or(|u| token.user == u)
    });
    json(StatusCode::OK, json!({"tokens": count}))
}

async fn expire_tokens(State(sim): State<SharedSim>, body: Bytes) -> Response {
    invalidate(&sim, &body, false)
}

async fn revoke_tokens(State(sim): State<SharedSim>, body: Bytes) -> Response {
    invalidate(&sim, &body, true)
}

async fn slow(sim: &SharedSim, q: &HashMap<String, String>) {
    if let Some(ms) = q.get("delay_ms").and_then(|d| d.parse::<u64>().ok()) {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => {}
            () = sim.cancel.cancelled() => {}
        }
    }
}

/// `GET /_sim/images/1080x1080.jpg[?bytes=N&delay_ms=N&status=N]`.
async fn image(
    State(sim): State<SharedSim>,
    Path(spec): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    slow(&sim, &q).await;
    if let Some(status) = q.get("status").and_then(|s| s.parse::<u16>().ok()) {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::NOT_FOUND)
            .into_response();
    }
    let Some((size, ext)) = spec.rsplit_once('.') else {
        return bad_request("expected {width}x{height}.jpg or .png");
    };
    let Some((w, h)) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
    else {
        return bad_request("expected {width}x{height}.jpg or .png");
    };
    let min = q
        .get("bytes")
        .and_then(|b| b.parse::<usize>().ok())
        .unwrap_or(0);
    let (bytes, mime) = match ext {
        "jpg" | "jpeg" => (imaging::jpeg_of_size(w, h, min), "image/jpeg"),
        "png" => (imaging::png(u32::from(w), u32::from(h)), "image/png"),
        _ => return bad_request("expected .jpg or .png"),
    };
    ([(header::CONTENT_TYPE, mime)], bytes).into_response()
}

async fn host_media(State(sim): State<SharedSim>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let base = {
        let world = sim.world();
        origin(&headers, world.config.public_base_url.as_deref())
    };
    let mut world = sim.world();
    let id = world.next_id().to_string();
    world.hosted.insert(
        id.clone(),
        Hosted {
            content_type,
            bytes: body,
        },
    );
    json(
        StatusCode::CREATED,
        json!({"id": id, "url": format!("{base}/_sim/media/{id}")}),
    )
}

async fn hosted_media(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    slow(&sim, &q).await;
    let hosted = sim.world().hosted.get(&id).cloned();
    match hosted {
        Some(h) => ([(header::CONTENT_TYPE, h.content_type)], h.bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
