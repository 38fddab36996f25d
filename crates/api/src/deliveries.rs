//! `GET /v1/deliveries` (filters, cursor pagination), `GET /v1/deliveries/{id}` (with its
//! journal and events), and the operator's two actions: `retry` (failed or dead, back to the
//! queue with fresh attempts) and `resolve` (an `unknown` outcome: the operator looked and
//! says it was published, with its URL, or that it was not and it should go again).
//!
//! Both actions are one guarded transition in the store: a delivery that is not in a state
//! the action applies to is left alone and the answer is 409 with its current state.
//!
//! Ids are UUIDv7, so they sort by creation time: the list is newest first by id, the cursor
//! is the last id of a page, and the time filters (`since`, `until`) become id bounds.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use herald_domain::{ConnectionId, DeliveryId, DeliveryState, Platform, PostId, Scope, StepState};
use herald_store::{Delivery, DeliveryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, FieldError, parse_id, rfc3339};
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT};
use crate::posts::DeliveryOut;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/deliveries", get(list_deliveries))
        .route("/deliveries/{id}", get(get_delivery))
        .route("/deliveries/{id}/retry", post(retry_delivery))
        .route("/deliveries/{id}/resolve", post(resolve_delivery))
}

/// Filters of `GET /v1/deliveries`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// A delivery state.
    #[param(value_type = Option<DeliveryState>)]
    pub state: Option<String>,
    /// A platform (`x` is also accepted, as an alias of `twitter`).
    #[param(value_type = Option<Platform>)]
    pub platform: Option<String>,
    /// A connection id.
    #[param(format = Uuid)]
    pub connection: Option<String>,
    /// A post id.
    #[param(format = Uuid)]
    pub post: Option<String>,
    /// Created at or after: an RFC 3339 time, e.g. 2026-12-03T09:00:00Z.
    #[serde(default, deserialize_with = "rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
    /// Created before: an RFC 3339 time, e.g. 2026-12-03T09:00:00Z.
    #[serde(default, deserialize_with = "rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<DeliveryOut>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Deliveries of the caller's tenant, newest first.
#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", params(ListQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage, example = json!({
            "data": [{
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
        }],
            "next_cursor": null
        })),
        (status = 422, description = "A filter that names no state or platform, or a cursor \
            that is not one", body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    caller.require(Scope::Read)?;
    let mut errors = Vec::new();
    let mut field = |name: &str, message: String| {
        errors.push(FieldError::new(name, "query.invalid", message));
    };
    let mut filter = DeliveryFilter::default();
    if let Some(s) = &query.state {
        match s.parse::<DeliveryState>() {
            Ok(s) => filter.state = Some(s),
            Err(e) => field("state", e.to_string()),
        }
    }
    if let Some(p) = &query.platform {
        match p.parse::<Platform>() {
            Ok(p) => filter.platform = Some(p),
            Err(e) => field("platform", e.to_string()),
        }
    }
    if let Some(c) = &query.connection {
        match c.parse::<ConnectionId>() {
            Ok(c) => filter.connection_id = Some(c),
            Err(e) => field("connection", e.to_string()),
        }
    }
    if let Some(p) = &query.post {
        match p.parse::<PostId>() {
            Ok(p) => filter.post_id = Some(p),
            Err(e) => field("post", e.to_string()),
        }
    }
    if let Some(c) = &query.cursor {
        match c.parse::<DeliveryId>() {
            Ok(c) => filter.before = Some(c),
            Err(_) => field("cursor", "not a cursor from a previous page".to_owned()),
        }
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        field("limit", format!("must be between 1 and {MAX_LIMIT}"));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    // `until` is an upper id bound: the smallest id of that millisecond.
    if let Some(until) = query.until {
        let bound = DeliveryId::from(id_at(until));
        filter.before = Some(filter.before.map_or(bound, |b| b.min(bound)));
    }
    let since = query.since.map(|s| DeliveryId::from(id_at(s)));
    let mut rows = state
        .inner
        .store
        .deliveries()
        .list(caller.tenant_id, &filter, limit + 1)
        .await?;
    // Newest first, so everything after the first delivery older than `since` is older too.
    if let Some(since) = since
        && let Some(cut) = rows.iter().position(|d| d.id < since)
    {
        rows.truncate(cut);
    }
    let next_cursor = paging::cut(&mut rows, limit, |d| d.id.to_string());
    Ok(Json(DeliveryPage {
        data: rows.iter().map(DeliveryOut::from).collect(),
        next_cursor,
    }))
}

/// The smallest UUIDv7 of the millisecond `at`.
fn id_at(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}

/// A delivery with its journal and its events.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    /// One row per platform side effect: `sending`, then `done` (with its remote id) or
    /// `failed`.
    pub steps: Vec<StepOut>,
    /// Every state change, oldest first.
    pub events: Vec<EventOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub step: String,
    pub state: StepState,
    pub remote_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A delivery's state change.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: i64,
    #[schema(format = Uuid)]
    pub delivery_id: String,
    /// `delivery.published`, `delivery.failed`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub from: Option<DeliveryState>,
    pub to: DeliveryState,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

impl From<&herald_store::DeliveryEvent> for EventOut {
    fn from(e: &herald_store::DeliveryEvent) -> Self {
        EventOut {
            id: e.id,
            delivery_id: e.delivery_id.to_string(),
            kind: format!("delivery.{}", e.to),
            from: e.from,
            to: e.to,
            detail: e.detail.clone(),
            at: e.at,
        }
    }
}

async fn tenant_delivery(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Delivery, ApiError> {
    let id: DeliveryId = parse_id(id, "delivery")?;
    state
        .inner
        .store
        .deliveries()
        .get_for_tenant(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound { what: "delivery" })
}

/// One delivery with its journal and events.
#[utoipa::path(get, path = "/v1/deliveries/{id}", tag = "deliveries",
    params(("id" = uuid::Uuid, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryDetail), (status = 404, body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    caller.require(Scope::Read)?;
    let delivery = tenant_delivery(&state, &caller, &id).await?;
    Ok(Json(detail(&state, &delivery).await?))
}

async fn detail(state: &AppState, delivery: &Delivery) -> Result<DeliveryDetail, ApiError> {
    let steps = state.inner.store.journal().steps(delivery.id).await?;
    let events = state.inner.store.deliveries().events(delivery.id).await?;
    Ok(DeliveryDetail {
        delivery: DeliveryOut::from(delivery),
        steps: steps
            .iter()
            .map(|s| StepOut {
                step: s.step.clone(),
                state: s.state,
                remote_id: s.remote_id.clone(),
                detail: s.detail.clone(),
                started_at: s.started_at,
                finished_at: s.finished_at,
            })
            .collect(),
        events: events.iter().map(EventOut::from).collect(),
    })
}

/// Send a failed or dead delivery back to the queue, with its attempts counted afresh.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", tag = "deliveries",
    params(("id" = uuid::Uuid, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryDetail), (status = 404, body = crate::Problem),
        (status = 409, description = "Not failed or dead", body = crate::Problem)),
    security(("api_key" = ["publish"])))]
pub(crate) async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    caller.require(Scope::Publish)?;
    let delivery = tenant_delivery(&state, &caller, &id).await?;
    let moved = state
        .inner
        .store
        .deliveries()
        .transition(crate::operator::retry(delivery.id, "by the producer"))
        .await?;
    if !moved {
        return Err(ApiError::conflict(
            "invalid_state",
            format!(
                "only failed or dead deliveries can be retried; this one is {}",
                delivery.state
            ),
        ));
    }
    after_requeue(&state, delivery.id).await
}

async fn after_requeue(state: &AppState, id: DeliveryId) -> Result<Json<DeliveryDetail>, ApiError> {
    let delivery = crate::operator::redispatch(state, id)
        .await?
        .ok_or(ApiError::NotFound { what: "delivery" })?;
    Ok(Json(detail(state, &delivery).await?))
}

/// The operator's verdict on an `unknown` delivery.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// `published` (it is on the platform: give its URL) or `retry` (it is not: publish it).
    #[schema(value_type = ResolveOutcome)]
    pub outcome: String,
    /// The post's URL on the platform, for `published`.
    #[serde(default)]
    #[schema(format = Uri)]
    pub url: Option<String>,
    /// The platform's id of the post, for `published`.
    #[serde(default)]
    pub remote_id: Option<String>,
}

/// The values [`Resolve::outcome`] accepts, for the OpenAPI description.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolveOutcome {
    Published,
    Retry,
}

/// Resolve a delivery whose outcome is unknown.
#[utoipa::path(post, path = "/v1/deliveries/{id}/resolve", tag = "deliveries",
    params(("id" = uuid::Uuid, Path, description = "Delivery id")),
    request_body = Resolve,
    responses((status = 200, body = DeliveryDetail), (status = 404, body = crate::Problem),
        (status = 409, description = "Not unknown", body = crate::Problem),
        (status = 422, body = crate::Problem)),
    security(("api_key" = ["publish"])))]
pub(crate) async fn resolve_delivery(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Resolve>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    caller.require(Scope::Publish)?;
    let delivery = tenant_delivery(&state, &caller, &id).await?;
    let transition = match body.outcome.as_str() {
        "published" => {
            let url = body
                .url
                .filter(|u| crate::operator::is_http_url(u))
                .ok_or_else(|| {
                    ApiError::invalid(vec![FieldError::new(
                        "url",
                        "url.required",
                        "a published delivery needs the post's http(s) URL",
                    )])
                })?;
            crate::operator::resolve_published(&delivery, body.remote_id, url, "by the producer")
        }
        "retry" => crate::operator::resolve_retry(delivery.id, "by the producer"),
        other => {
            return Err(ApiError::invalid(vec![FieldError::new(
                "outcome",
                "outcome.invalid",
                format!(
                    "`{}` is not an outcome: use `published` or `retry`",
                    other.chars().take(32).collect::<String>()
                ),
            )]));
        }
    };
    let moved = state
        .inner
        .store
        .deliveries()
        .transition(transition)
        .await?;
    if !moved {
        return Err(ApiError::conflict(
            "invalid_state",
            format!(
                "only deliveries whose outcome is unknown can be resolved; this one is {}",
                delivery.state
            ),
        ));
    }
    after_requeue(&state, delivery.id).await
}
