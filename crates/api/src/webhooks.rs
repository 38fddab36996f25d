//! Webhooks: `POST /v1/webhooks` registers a URL for some event types, `GET /v1/webhooks`,
//! `DELETE /v1/webhooks/{id}`, and `GET /v1/webhooks/{id}/deliveries` shows every attempt.
//!
//! The API only records webhooks and reads their delivery log: `herald work` sends them,
//! signed and retried (`herald_worker::webhooks`, which documents the signature a receiver
//! checks).
//!
//! A URL is registered only if the outbound guard (`herald_outbound`) allows it: http or
//! https, no inward address (literal, `localhost`, or among the addresses its host resolves
//! to now) unless listed in `outbound.allow`. The sender checks it again at every send.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use herald_domain::{DeliveryState, Scope};
use herald_store::Webhook;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, FieldError, parse_id};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhooks/{id}", get(get_webhook).delete(delete_webhook))
        .route("/webhooks/{id}/deliveries", get(list_deliveries))
}

/// A webhook to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events (http or https, not inside Herald's network unless the operator
    /// lists the host in `outbound.allow`).
    #[schema(format = Uri)]
    pub url: String,
    /// `delivery.published`, `delivery.failed`, ... (one per delivery state), or `*`.
    pub event_types: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uri)]
    pub url: String,
    pub event_types: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// Only in the answer to its creation: sign-check requests with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn webhook_out(w: &Webhook, secret: Option<String>) -> WebhookOut {
    WebhookOut {
        id: w.id.to_string(),
        url: w.url.clone(),
        event_types: w.event_types.clone(),
        active: w.active,
        created_at: w.created_at,
        secret,
    }
}

/// Register a webhook.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookOut), (status = 422, body = crate::Problem)),
    security(("api_key" = ["admin"])))]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let mut errors = Vec::new();
    // Stored as parsed (scheme and host lowercased, odd characters escaped).
    let url = url::Url::parse(&body.url)
        .ok()
        .filter(|u| u.has_host() && u.as_str().len() <= 2048);
    match &url {
        None => errors.push(FieldError::new(
            "url",
            "url.invalid",
            "url must be an absolute http(s) URL of at most 2048 characters",
        )),
        Some(parsed) => {
            if let Err(refusal) = state.inner.outbound.check_resolving(parsed).await {
                errors.push(FieldError::new(
                    "url",
                    refusal.code(),
                    format!("url is refused: {refusal}"),
                ));
            }
        }
    }
    if body.event_types.is_empty() {
        errors.push(FieldError::new(
            "event_types",
            "event_types.required",
            "name at least one event type, or `*`",
        ));
    }
    let known: Vec<String> = DeliveryState::ALL
        .iter()
        .map(|s| format!("delivery.{s}"))
        .collect();
    for (i, kind) in body.event_types.iter().enumerate() {
        if kind != "*" && !known.contains(kind) {
            errors.push(FieldError::new(
                format!("event_types[{i}]"),
                "event_type.unknown",
                format!("expected `*` or one of {}", known.join(", ")),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let (webhook, secret) = state
        .inner
        .store
        .webhooks()
        .create(
            caller.tenant_id,
            url.as_ref().map(url::Url::as_str).unwrap_or_default(),
            &body.event_types,
        )
        .await?;
    let out = webhook_out(&webhook, Some(secret.expose_secret().to_owned()));
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPage {
    pub data: Vec<WebhookOut>,
    pub next_cursor: Option<String>,
}

/// The tenant's webhooks.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookPage)), security(("api_key" = ["read"])))]
pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookPage>, ApiError> {
    caller.require(Scope::Read)?;
    let hooks = state.inner.store.webhooks().list(caller.tenant_id).await?;
    Ok(Json(WebhookPage {
        data: hooks.iter().map(|w| webhook_out(w, None)).collect(),
        next_cursor: None,
    }))
}

async fn tenant_webhook(state: &AppState, caller: &Caller, id: &str) -> Result<Webhook, ApiError> {
    let id: Uuid = parse_id(id, "webhook")?;
    state
        .inner
        .store
        .webhooks()
        .get(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound { what: "webhook" })
}

/// One webhook.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 404, body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    caller.require(Scope::Read)?;
    let hook = tenant_webhook(&state, &caller, &id).await?;
    Ok(Json(webhook_out(&hook, None)))
}

/// Remove a webhook and its delivery log.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook id")),
    responses((status = 204), (status = 404, body = crate::Problem)),
    security(("api_key" = ["admin"])))]
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    let hook = tenant_webhook(&state, &caller, &id).await?;
    state
        .inner
        .store
        .webhooks()
        .delete(caller.tenant_id, hook.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    pub cursor: Option<i64>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// The states of [`WebhookDeliveryOut::state`], for the OpenAPI description.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookDeliveryState {
    Pending,
    Delivered,
    Failed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryOut {
    pub id: i64,
    pub event_id: i64,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = WebhookDeliveryState)]
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i16>,
    pub last_error: Option<String>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryPage {
    pub data: Vec<WebhookDeliveryOut>,
    pub next_cursor: Option<String>,
}

/// Every event sent (or being sent) to a webhook, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = uuid::Uuid, Path, description = "Webhook id"), DeliveriesQuery),
    responses((status = 200, body = WebhookDeliveryPage), (status = 404, body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<WebhookDeliveryPage>, ApiError> {
    caller.require(Scope::Read)?;
    let hook = tenant_webhook(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "limit",
            "query.invalid",
            "must be between 1 and 200",
        )]));
    }
    let mut rows = state
        .inner
        .store
        .webhooks()
        .deliveries(hook.id, query.cursor, limit + 1)
        .await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more {
        rows.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok(Json(WebhookDeliveryPage {
        data: rows
            .into_iter()
            .map(|d| WebhookDeliveryOut {
                next_attempt_at: (d.state == "pending").then_some(d.next_attempt_at),
                id: d.id,
                event_id: d.event_id,
                event_type: d.event_type,
                state: d.state,
                attempts: d.attempts,
                last_status: d.last_status,
                last_error: d.last_error,
                payload: d.payload,
                created_at: d.created_at,
                finished_at: d.finished_at,
            })
            .collect(),
        next_cursor,
    }))
}
