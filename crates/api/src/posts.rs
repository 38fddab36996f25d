//! `POST /v1/posts`, `GET /v1/posts/{id}`, `POST /v1/posts/{id}/cancel`.
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
//! 3. **Commit** the post and one delivery per target in one transaction
//!    (`posts().insert_posts`). With an `Idempotency-Key`, the store makes a replay of the
//!    same body return the original post and another body a conflict (409); two racing
//!    requests with one key create one post, because the loser's insert waits for the
//!    winner's commit and then reads it.
//! 4. **Dispatch** after the commit ([`crate::dispatch`]); only the request that created
//!    the post pushes its jobs.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use herald_domain::{DeliveryState, ErrorClass, Platform, PostId, PostState, Scope};
use herald_store::{Delivery, Idempotency, PostInsert, StoredPost};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, json_error, parse_id, read_body};

mod check;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/posts", post(create_post))
        .route("/posts/{id}", get(get_post))
        .route("/posts/{id}/cancel", post(cancel_post))
}

/// The body of `POST /v1/posts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePost {
    /// Connection ids, or objects with a connection id and this target's own content.
    #[schema(value_type = Vec<Target>)]
    pub targets: Vec<Value>,
    /// The text (for an X thread, the first post).
    #[serde(default)]
    pub text: Option<String>,
    /// Further thread parts (X), posted as a reply chain.
    #[serde(default)]
    pub thread: Vec<String>,
    /// Images: `{"url": ...}` fetched at publish time, or `{"media_id": ...}` from POST /v1/media.
    #[serde(default)]
    #[schema(value_type = Vec<MediaSchema>)]
    pub media: Vec<Value>,
    /// RFC 3339; absent or in the past: now.
    #[serde(default)]
    pub publish_at: Option<DateTime<Utc>>,
    /// Anything the producer wants back (stored, never interpreted).
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

/// A target: a connection id, or this object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSchema {
    #[schema(format = Uuid)]
    pub connection_id: String,
    /// Replaces the post's text for this target.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub thread: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<MediaSchema>>)]
    pub media: Option<Vec<Value>>,
}

/// An image reference: exactly one of `url` and `media_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaSchema {
    #[serde(default)]
    #[schema(format = Uri)]
    pub url: Option<String>,
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
    let body: CreatePost = serde_json::from_value(raw.clone()).map_err(|e| json_error(&e))?;
    let idempotency = key.map(|key| Idempotency {
        key,
        // serde_json's maps are sorted, so this is a canonical form of the body: the same
        // request with its keys in another order or other whitespace is the same request.
        request_hash: Sha256::digest(raw.to_string().as_bytes()).into(),
    });
    let new_post = check::check(&state, &caller, body, idempotency).await?;
    let answer = state
        .inner
        .store
        .posts()
        .insert_posts(std::slice::from_ref(&new_post))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("the store answered no post".to_owned()))?;
    match answer {
        PostInsert::Created(post) => {
            state.inner.metrics.post_created();
            let jobs: Vec<_> = post.deliveries.iter().map(|d| (d.id, d.run_at)).collect();
            crate::dispatch::push(&state, &jobs).await;
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
