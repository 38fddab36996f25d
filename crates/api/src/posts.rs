//! `POST /v1/posts`, `GET /v1/posts` (filters, cursor pagination), `GET /v1/posts/{id}`,
//! `POST /v1/posts/{id}/cancel`.
//!
//! Enqueueing is parse, check, commit, dispatch:
//!
//! 1. **Parse** strictly: unknown fields are refused by name, each target is a connection
//!    id or an object with per-target overrides of `text`, `thread` and `media`.
//! 2. **Check everything before writing anything**, and report every problem at once
//!    (422, one entry per problem with its target and field): the targets exist and belong
//!    to the caller's tenant, can publish (active, page selected where the platform posts as
//!    a page), the content each target would publish passes its platform's rules
//!    (`herald_domain::rules`), uploaded media fit each platform's image rules, and
//!    `publish_at` is within `api.max_schedule_ahead_days`.
//! 3. **Commit** the post and one delivery per target in one transaction, shared with the
//!    posts of concurrent requests ([`writer`]: group commit, `posts().insert_posts`). With
//!    an `Idempotency-Key`, the store makes a replay of the same body return the original
//!    post and another body a conflict (409); two racing requests with one key create one
//!    post, in one batch or in two.
//! 4. **Dispatch** after the commit ([`crate::dispatch`]), before answering: the writer
//!    pushes the jobs of the posts its batch created, in one Redis call.

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use herald_domain::{DeliveryState, ErrorClass, Platform, PostId, PostState, Scope};
use herald_store::{Delivery, Idempotency, PostFilter, PostInsert, StoredPost};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{
    ApiError, ApiPath, FieldError, from_json_value, json_error, null_is_default, parse_id,
    read_body, rfc3339,
};
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT};

mod check;
pub(crate) mod writer;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list_posts).post(create_post))
        .route("/posts/{id}", get(get_post))
        .route("/posts/{id}/cancel", post(cancel_post))
}

/// The body of `POST /v1/posts`. Every optional field may be absent or `null`, the same.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    /// Connection ids, or objects with a connection id and this target's own content.
    #[schema(value_type = Vec<Target>)]
    pub targets: Vec<Value>,
    /// The text (for an X thread, the first post). Null or absent: no text.
    #[serde(default)]
    pub text: Option<String>,
    /// Further thread parts (X), posted as a reply chain. Null or absent: none.
    #[serde(default, deserialize_with = "null_is_default")]
    #[schema(value_type = Option<Vec<String>>)]
    pub thread: Vec<String>,
    /// Images and videos: `{"url": ...}` fetched by the worker before any platform call, or
    /// `{"media_id": ...}` from POST /v1/media. Null or absent: none.
    #[serde(default, deserialize_with = "null_is_default")]
    #[schema(value_type = Option<Vec<MediaSchema>>)]
    pub media: Vec<Value>,
    /// A comment published under the post once it is up: a reply on X and Threads, a
    /// comment on LinkedIn, Facebook and Instagram, a reply in a Telegram channel's linked
    /// discussion group. Its failure never takes the post down; the delivery reports it.
    /// Null or absent: none.
    #[serde(default)]
    pub first_comment: Option<String>,
    /// An image whose aspect ratio a platform refuses: `reject` the post (the default) or
    /// `pad` the image to the nearest ratio the platform takes. Null or absent: `reject`.
    #[serde(default)]
    pub fit: Option<herald_domain::Fit>,
    /// An RFC 3339 time, e.g. `2026-12-03T09:00:00Z`. Null, absent or in the past: now.
    #[serde(default, deserialize_with = "rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub publish_at: Option<DateTime<Utc>>,
    /// Anything the producer wants back (stored, never interpreted). Null or absent: `{}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// A target as `targets` accepts it: a connection id alone, or an object with the
/// connection id and this target's own content. Only the OpenAPI description uses it (the
/// handler reads targets as JSON values, to report each problem by index).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Target {
    /// The connection id alone: the post's own content.
    ConnectionId(uuid::Uuid),
    WithContent(TargetSchema),
}

/// A target: a connection id, or this object. Each optional field, null or absent, inherits
/// the post's value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSchema {
    #[schema(format = Uuid)]
    pub connection_id: String,
    /// Replaces the post's text for this target. Null or absent: inherit the post's.
    #[serde(default)]
    pub text: Option<String>,
    /// Replaces the post's thread parts for this target. Null or absent: inherit the post's.
    #[serde(default)]
    pub thread: Option<Vec<String>>,
    /// Replaces the post's media for this target. Null or absent: inherit the post's.
    #[serde(default)]
    #[schema(value_type = Option<Vec<MediaSchema>>)]
    pub media: Option<Vec<Value>>,
    /// Replaces the post's first comment for this target. Null or absent: inherit the
    /// post's.
    #[serde(default)]
    pub first_comment: Option<String>,
}

/// An image reference: exactly one of `url` and `media_id` (the other null or absent).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaSchema {
    /// An absolute http(s) URL, fetched at publish time. Null or absent: not set.
    #[serde(default)]
    #[schema(format = Uri)]
    pub url: Option<String>,
    /// An id from POST /v1/media. Null or absent: not set.
    #[serde(default)]
    #[schema(format = Uuid)]
    pub media_id: Option<String>,
}

/// A post and its deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostOut {
    #[schema(format = Uuid)]
    pub id: String,
    /// Derived from the deliveries' states.
    pub state: PostState,
    pub publish_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub deliveries: Vec<DeliveryOut>,
}

/// One post on one connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub post_id: String,
    pub platform: Platform,
    #[schema(format = Uuid)]
    pub connection_id: String,
    pub state: DeliveryState,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The published post's URL.
    #[schema(format = Uri)]
    pub url: Option<String>,
    pub remote_id: Option<String>,
    /// What was given up to get the post out (`media_dropped`, ...).
    pub degraded: Vec<String>,
    pub error: Option<DeliveryErrorOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A delivery's last error: its class, the platform's code and message, and what to do.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryErrorOut {
    pub class: ErrorClass,
    /// The platform's own code when it gave one, else the HTTP status it answered with, else
    /// Herald's own code (`timeout`, `media_fetch`, ...).
    pub code: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl From<&Delivery> for DeliveryOut {
    fn from(d: &Delivery) -> Self {
        DeliveryOut {
            id: d.id.to_string(),
            post_id: d.post_id.to_string(),
            platform: d.platform,
            connection_id: d.connection_id.to_string(),
            state: d.state,
            run_at: d.run_at,
            attempts: d.attempts,
            max_attempts: d.max_attempts,
            url: d.public_url.clone(),
            remote_id: d.remote_id.clone(),
            degraded: d.degraded.clone(),
            error: d.error.as_ref().map(|e| DeliveryErrorOut {
                class: e.class,
                code: e.code.clone(),
                message: e.message.clone(),
                hint: e.hint.clone(),
            }),
            created_at: d.created_at,
            updated_at: d.updated_at,
            finished_at: d.finished_at,
        }
    }
}

impl From<&StoredPost> for PostOut {
    fn from(p: &StoredPost) -> Self {
        PostOut {
            id: p.id.to_string(),
            state: PostState::of(p.deliveries.iter().map(|d| d.state)),
            publish_at: p.publish_at,
            created_at: p.created_at,
            idempotency_key: p.idempotency_key.clone(),
            metadata: p.metadata.clone(),
            deliveries: p.deliveries.iter().map(DeliveryOut::from).collect(),
        }
    }
}

/// Enqueue a post to one or more connections.
#[utoipa::path(post, path = "/v1/posts", tag = "posts",
    request_body(content = CreatePost, example = json!({
        "targets": [
            "01938a4e-7c2f-7d43-9a57-0f5a1c2e3b4d",
            {"connection_id": "01938a4e-9d10-7a2b-8c3d-4e5f60718293", "text": "Shorter, for X"}
        ],
        "text": "Herald 1.0 is out: publish everywhere, exactly once.",
        "media": [{"url": "https://example.com/launch.jpg"}],
        "publish_at": "2026-12-03T12:00:00Z",
        "metadata": {"campaign": "launch"}
    })),
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body: the original answer; other body: 409")),
    responses(
        (status = 202, description = "Accepted: written and dispatched", body = PostOut, example = json!({
            "id": "01938a4f-1b2a-7c3d-9e4f-5a6b7c8d9e0f",
            "state": "queued",
            "publish_at": null,
            "created_at": "2026-12-03T12:00:00Z",
            "metadata": {"campaign": "launch"},
            "deliveries": []
        })),
        (status = 409, description = "Idempotency-Key used with another body", body = crate::Problem),
        (status = 422, description = "Every broken rule, by target and field", body = crate::Problem),
    ),
    security(("api_key" = ["publish"])))]
#[tracing::instrument(name = "POST /v1/posts", skip_all)]
pub(crate) async fn create_post(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    caller.require(Scope::Publish)?;
    let key = idempotency_key(&headers)?;
    if !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType {
            detail: "send the body as JSON with Content-Type: application/json".to_owned(),
        });
    }
    let bytes = read_body(request, &state).await?;
    let raw: Value = serde_json::from_slice(&bytes).map_err(|e| json_error(&e))?;
    crate::error::reject_nul(&raw)?;
    let body: CreatePost = from_json_value(raw.clone())?;
    let idempotency = key.map(|key| Idempotency {
        key,
        // serde_json's maps are sorted, so this is a canonical form of the body: the same
        // request with its keys in another order or other whitespace is the same request,
        // and so is one that sends an unset field as null rather than leaving it out.
        request_hash: Sha256::digest(without_nulls(&raw).to_string().as_bytes()).into(),
    });
    let new_post = check::check(&state, &caller, body, idempotency).await?;
    let answer = state.post_writer().insert(new_post).await?;
    match answer {
        PostInsert::Created(post) => {
            state.inner.metrics.post_created();
            tracing::info!(post_id = %post.id, deliveries = post.deliveries.len(), "post accepted");
            Ok((StatusCode::ACCEPTED, Json(PostOut::from(&post))).into_response())
        }
        PostInsert::Replayed(post) => {
            let mut response = (StatusCode::ACCEPTED, Json(PostOut::from(&post))).into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        PostInsert::Conflict { key, .. } => Err(ApiError::conflict(
            "idempotency_conflict",
            format!("Idempotency-Key `{key}` was already used with a different request body"),
        )),
    }
}

/// The body with the fields it gives as `null` left out, as [`CreatePost`] reads them: at
/// the top, in each target object and in each media object. `metadata` is the producer's
/// own and kept as sent.
fn without_nulls(body: &Value) -> Value {
    /// An object's non-null fields; objects in its arrays (targets, media) likewise.
    fn strip(object: &Map<String, Value>) -> Map<String, Value> {
        object
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let v = match v {
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .map(|item| match item {
                                Value::Object(o) => Value::Object(strip(o)),
                                other => other.clone(),
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                };
                (k.clone(), v)
            })
            .collect()
    }
    match body {
        Value::Object(object) => Value::Object(strip(object)),
        other => other.clone(),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// Filters of `GET /v1/posts`, read by hand from the query string because `metadata` is an
/// open set of keys (`metadata[campaign]=spring`, OpenAPI's `deepObject` style).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPostsQuery {
    /// The post's state, derived from its deliveries as in GET /v1/posts/{id}.
    #[param(value_type = Option<PostState>)]
    pub state: Option<String>,
    /// Created at or after: an RFC 3339 time, e.g. 2026-12-03T09:00:00Z.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Created before: an RFC 3339 time, e.g. 2026-12-03T09:00:00Z.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// Posts whose metadata holds each of these keys with this string value, written
    /// `metadata[campaign]=spring&metadata[team]=growth` (all must match).
    #[param(style = DeepObject, explode, value_type = Option<std::collections::HashMap<String, String>>)]
    pub metadata: Map<String, Value>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

impl ListPostsQuery {
    /// Splits the query string into the parameters above. An unknown or repeated parameter
    /// is a 400 naming it; values are checked by [`ListPostsQuery::filter`].
    fn read(query: Option<&str>) -> Result<Self, ApiError> {
        let malformed = |field: &str, detail: String| ApiError::Malformed {
            code: "invalid_query",
            field: field.to_owned(),
            detail,
        };
        let mut out = ListPostsQuery::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if key.contains('\0') || value.contains('\0') {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    "query parameters may not contain the NUL character (U+0000)",
                ));
            }
            if let Some(name) = key
                .strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
            {
                if name.is_empty() {
                    return Err(malformed(
                        &key,
                        "a metadata filter is written metadata[KEY]=VALUE".to_owned(),
                    ));
                }
                if out
                    .metadata
                    .insert(name.to_owned(), Value::String(value.into_owned()))
                    .is_some()
                {
                    return Err(malformed(&key, format!("`{key}` is given twice")));
                }
                continue;
            }
            let slot = match key.as_ref() {
                "state" => &mut out.state,
                "since" => &mut out.since,
                "until" => &mut out.until,
                "cursor" => &mut out.cursor,
                "limit" => &mut out.limit,
                _ => {
                    return Err(malformed(
                        &key,
                        format!(
                            "unknown query parameter `{}`, expected one of state, since, \
                             until, metadata[KEY], cursor, limit",
                            key.chars().take(64).collect::<String>()
                        ),
                    ));
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(malformed(&key, format!("`{key}` is given twice")));
            }
        }
        Ok(out)
    }

    /// The store's filter and the page size, or a 422 naming every bad parameter.
    fn filter(self) -> Result<(PostFilter, i64), ApiError> {
        let mut errors = Vec::new();
        let mut field = |name: &str, message: String| {
            errors.push(FieldError::new(name, "query.invalid", message));
        };
        let mut filter = PostFilter {
            metadata: self.metadata,
            ..PostFilter::default()
        };
        if let Some(s) = &self.state {
            match s.parse::<PostState>() {
                Ok(s) => filter.state = Some(s),
                Err(e) => field("state", e.to_string()),
            }
        }
        for (name, raw, slot) in [
            ("since", &self.since, &mut filter.created_since),
            ("until", &self.until, &mut filter.created_until),
        ] {
            if let Some(raw) = raw {
                match rfc3339::parse(raw) {
                    Some(at) => *slot = Some(at),
                    None => field(name, format!("expected {}", rfc3339::EXPECTED)),
                }
            }
        }
        if let Some(c) = &self.cursor {
            match c.parse::<PostId>() {
                Ok(c) => filter.before = Some(c),
                Err(_) => field("cursor", "not a cursor from a previous page".to_owned()),
            }
        }
        let limit = match self.limit.as_deref().map(str::parse::<i64>) {
            None => DEFAULT_LIMIT,
            Some(Ok(limit)) if (1..=MAX_LIMIT).contains(&limit) => limit,
            Some(_) => {
                field(
                    "limit",
                    format!("expected a whole number between 1 and {MAX_LIMIT}"),
                );
                DEFAULT_LIMIT
            }
        };
        if errors.is_empty() {
            Ok((filter, limit))
        } else {
            Err(ApiError::invalid(errors))
        }
    }
}

/// A page of posts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPage {
    /// Newest first, each as GET /v1/posts/{id} answers it.
    pub data: Vec<PostOut>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Posts of the caller's tenant with their deliveries, newest first.
#[utoipa::path(get, path = "/v1/posts", tag = "posts", params(ListPostsQuery),
    responses(
        (status = 200, description = "A page of posts, newest first", body = PostPage),
        (status = 400, description = "An unknown or repeated query parameter, named in `errors`",
            body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A query parameter of the wrong form, named in `errors`",
            body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = ["read"])))]
pub(crate) async fn list_posts(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PostPage>, ApiError> {
    caller.require(Scope::Read)?;
    let (filter, limit) = ListPostsQuery::read(query.as_deref())?.filter()?;
    let mut posts = state
        .inner
        .store
        .posts()
        .list(caller.tenant_id, &filter, limit + 1)
        .await?;
    let next_cursor = paging::cut(&mut posts, limit, |p| p.id.to_string());
    Ok(Json(PostPage {
        data: posts.iter().map(PostOut::from).collect(),
        next_cursor,
    }))
}

/// A post with its deliveries, their states, attempts, URLs and last errors.
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 200, description = "The post, its state derived from its deliveries'", body = PostOut, example = json!({
            "id": "01938a4f-1b2a-7c3d-9e4f-5a6b7c8d9e0f",
            "state": "published",
            "publish_at": null,
            "created_at": "2026-12-03T12:00:00Z",
            "idempotency_key": "launch-2026-12-03",
            "metadata": {"campaign": "launch"},
            "deliveries": [{
                "id": "01938a4f-1b2c-7e5d-8f60-718293a4b5c6",
                "post_id": "01938a4f-1b2a-7c3d-9e4f-5a6b7c8d9e0f",
                "platform": "telegram",
                "connection_id": "01938a4e-7c2f-7d43-9a57-0f5a1c2e3b4d",
                "state": "published",
                "run_at": "2026-12-03T12:00:00Z",
                "attempts": 1,
                "max_attempts": 8,
                "url": "https://t.me/herald_dev_channel/42",
                "remote_id": "42",
                "degraded": [],
                "error": null,
                "created_at": "2026-12-03T12:00:00Z",
                "updated_at": "2026-12-03T12:00:01Z",
                "finished_at": "2026-12-03T12:00:01Z"
            }]
        })),
        (status = 404, body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn get_post(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PostOut>, ApiError> {
    caller.require(Scope::Read)?;
    let id: PostId = parse_id(&id, "post")?;
    let post = state
        .inner
        .store
        .posts()
        .get(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound { what: "post" })?;
    Ok(Json(PostOut::from(&post)))
}

/// What cancelling did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelOut {
    /// Deliveries now cancelled.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub cancelled: Vec<String>,
    /// Deliveries that had already started or finished, with their state.
    pub not_cancelled: Vec<NotCancelled>,
    pub post: PostOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotCancelled {
    #[schema(format = Uuid)]
    pub id: String,
    pub state: DeliveryState,
    pub reason: String,
}

/// Cancel the deliveries of a post that have not started.
#[utoipa::path(post, path = "/v1/posts/{id}/cancel", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses((status = 200, body = CancelOut), (status = 404, body = crate::Problem)),
    security(("api_key" = ["publish"])))]
pub(crate) async fn cancel_post(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CancelOut>, ApiError> {
    caller.require(Scope::Publish)?;
    let id: PostId = parse_id(&id, "post")?;
    let posts = state.inner.store.posts();
    if posts.get(caller.tenant_id, id).await?.is_none() {
        return Err(ApiError::NotFound { what: "post" });
    }
    let cancelled = state
        .inner
        .store
        .deliveries()
        .cancel_post(caller.tenant_id, id)
        .await?;
    let post = posts
        .get(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound { what: "post" })?;
    let not_cancelled = post
        .deliveries
        .iter()
        .filter(|d| !cancelled.contains(&d.id) && d.state != DeliveryState::Cancelled)
        .map(|d| NotCancelled {
            id: d.id.to_string(),
            state: d.state,
            reason: if d.state.is_final() {
                format!("already finished ({})", d.state)
            } else {
                "already started: a worker is publishing it".to_owned()
            },
        })
        .collect();
    Ok(Json(CancelOut {
        cancelled: cancelled.iter().map(ToString::to_string).collect(),
        not_cancelled,
        post: PostOut::from(&post),
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use utoipa::OpenApi;

    use crate::openapi::ApiDoc;

    fn spec() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the description serializes")
    }

    #[test]
    fn the_posts_list_is_described_with_its_query_parameters() {
        let spec = spec();
        let get = &spec["paths"]["/v1/posts"]["get"];
        let params = get["parameters"].as_array().expect("parameters");
        for p in params {
            assert_eq!(p["in"], "query", "{p:#}");
        }
        let names: Vec<&str> = params.iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(
            names,
            ["state", "since", "until", "metadata", "cursor", "limit"]
        );
        let metadata = params.iter().find(|p| p["name"] == "metadata").unwrap();
        assert_eq!(metadata["style"], "deepObject");
        assert_eq!(metadata["explode"], true);
        for status in ["200", "400", "422"] {
            assert!(
                get["responses"][status]["description"].is_string(),
                "{status}"
            );
        }
        for status in ["400", "422"] {
            assert!(
                get["responses"][status]["content"]["application/problem+json"].is_object(),
                "{status}"
            );
        }
    }

    #[test]
    fn optional_request_fields_are_described_as_nullable() {
        let spec = spec();
        let schemas = &spec["components"]["schemas"];
        let nullable = |schema: &Value| {
            let text = schema.to_string();
            text.contains("\"null\"") || schema["nullable"] == json!(true)
        };
        for (name, field) in [
            ("CreatePost", "text"),
            ("CreatePost", "thread"),
            ("CreatePost", "media"),
            ("CreatePost", "publish_at"),
            ("CreatePost", "metadata"),
            ("TargetSchema", "text"),
            ("TargetSchema", "thread"),
            ("TargetSchema", "media"),
            ("MediaSchema", "url"),
            ("MediaSchema", "media_id"),
        ] {
            let schema = &schemas[name]["properties"][field];
            assert!(nullable(schema), "{name}.{field}: {schema:#}");
        }
        let chat_id = &schemas["ConnectTelegram"]["properties"]["chat_id"]["oneOf"];
        assert_eq!(chat_id[0]["type"], "integer", "{chat_id:#}");
        assert_eq!(chat_id[1]["type"], "string", "{chat_id:#}");
    }
}
