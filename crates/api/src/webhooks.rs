//! Webhooks: `POST /v1/webhooks` registers a URL for some event types, `GET /v1/webhooks`,
//! `DELETE /v1/webhooks/{id}`, and `GET /v1/webhooks/{id}/deliveries` shows every attempt;
//! `POST /v1/webhooks/{id}/rotate-secret` replaces the signing secret and
//! `POST /v1/webhooks/{id}/test` sends a `webhook.test` event at once and answers with what
//! the receiver answered.
//!
//! The API records webhooks and reads their delivery log: `herald work` sends the events,
//! signed by the Standard Webhooks specification and retried (`herald_worker::webhooks`;
//! `herald_store::webhook_signing` documents the signature a receiver checks). The bodies
//! are described, event by event, in [`crate::webhook_events`].
//!
//! A URL is registered only if the outbound guard (`herald_outbound`) allows it: http or
//! https, no inward address (literal, `localhost`, or among the addresses its host resolves
//! to now) unless listed in `outbound.allow`. The sender checks it again at every send.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use herald_domain::{DeliveryState, Scope};
use herald_outbound::Redirects;
use herald_store::Webhook;
use herald_store::webhook_signing::{self, Signing};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, FieldError, parse_id};
use crate::paging::{self, DEFAULT_LIMIT, MAX_LIMIT};
use crate::webhook_events::WebhookTestData;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhooks/{id}", get(get_webhook).delete(delete_webhook))
        .route("/webhooks/{id}/deliveries", get(list_deliveries))
        .route("/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/webhooks/{id}/test", post(test_webhook))
}

/// The events that are not a delivery's state change.
const OTHER_EVENT_TYPES: [&str; 3] = [
    "post.completed",
    "connection.needs_reconnect",
    "connection.expiring",
];

/// Every event type a webhook may subscribe to (besides `*`).
fn known_event_types() -> Vec<String> {
    DeliveryState::ALL
        .iter()
        .map(|s| format!("delivery.{s}"))
        .chain(OTHER_EVENT_TYPES.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// The body of a webhook request as the test route builds it; every event has this shape
/// (see [`crate::webhook_events`], which describes each event's `data`).
#[derive(Debug, Serialize)]
struct EventBody {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    timestamp: DateTime<Utc>,
    at: DateTime<Utc>,
    data: WebhookTestData,
}

/// A webhook to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events (http or https, not inside Herald's network unless the operator
    /// lists the host in `outbound.allow`).
    #[schema(format = Uri)]
    pub url: String,
    /// `delivery.published`, `delivery.failed`, ... (one per delivery state),
    /// `post.completed`, `connection.needs_reconnect`, `connection.expiring`, or `*`.
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
    /// `standard`: Standard Webhooks headers only; `legacy` (registered before them, secret
    /// not rotated since): `Herald-Signature` too.
    pub signing: String,
    pub created_at: DateTime<Utc>,
    /// Only in the answer to its creation or to a secret rotation: verify requests with it
    /// (`whsec_...`, as Standard Webhooks libraries take it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn webhook_out(w: &Webhook, secret: Option<String>) -> WebhookOut {
    WebhookOut {
        id: w.id.to_string(),
        url: w.url.clone(),
        event_types: w.event_types.clone(),
        active: w.active,
        signing: w.signing.as_str().to_owned(),
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
    let known = known_event_types();
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
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "limit",
            "query.invalid",
            format!("must be between 1 and {MAX_LIMIT}"),
        )]));
    }
    let mut rows = state
        .inner
        .store
        .webhooks()
        .deliveries(hook.id, query.cursor, limit + 1)
        .await?;
    let next_cursor = paging::cut(&mut rows, limit, |d| d.id.to_string());
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

/// Replace a webhook's signing secret.
///
/// Answers the new `whsec_` secret, shown this once. From now on every request of the
/// webhook, pending retries included, carries only the Standard Webhooks headers, signed
/// with the new secret: a webhook registered before them stops getting `Herald-Signature`.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, body = WebhookOut, description = "The webhook with its new `secret`"),
        (status = 403, body = crate::Problem, description = "The key lacks the admin scope"),
        (status = 404, body = crate::Problem, description = "No such webhook")),
    security(("api_key" = ["admin"])))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    caller.require(Scope::Admin)?;
    let hook = tenant_webhook(&state, &caller, &id).await?;
    let secret = state
        .inner
        .store
        .webhooks()
        .rotate_secret(caller.tenant_id, hook.id)
        .await?
        .ok_or(ApiError::NotFound { what: "webhook" })?;
    let rotated = Webhook {
        signing: Signing::Standard,
        ..hook
    };
    Ok(Json(webhook_out(
        &rotated,
        Some(secret.expose_secret().to_owned()),
    )))
}

/// How much of a receiver's answer a test shows.
const TEST_BODY_LIMIT: usize = 1024;

/// What the receiver answered to a test event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTestResult {
    /// The receiver's HTTP status (any: a non-2xx answer is reported, not an error).
    pub status: u16,
    /// The start of its body (at most 1024 bytes, as text).
    pub body: String,
    /// Whether `body` was cut.
    pub truncated: bool,
    /// From sending the request to the end of the part of the body read.
    pub duration_ms: u64,
    /// The `webhook-id` the test was sent with.
    pub message_id: String,
}

/// Send a test event to a webhook now.
///
/// POSTs a `webhook.test` event ([`WebhookTestData`]), signed like every event, to the
/// webhook's URL through the outbound guard, within `api.webhooks.timeout_secs`, and
/// answers with the receiver's reply. It is not retried nor written to the delivery log.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, body = WebhookTestResult,
         description = "The receiver answered (whatever its status)"),
        (status = 403, body = crate::Problem, description = "The key lacks the admin scope"),
        (status = 404, body = crate::Problem, description = "No such webhook"),
        (status = 502, body = crate::Problem,
         description = "The receiver could not be asked: `webhook.refused` (the outbound \
                        guard refuses its URL), `webhook.unreachable` (no connection or no \
                        answer) or `webhook.timed_out`")),
    security(("api_key" = ["admin"])))]
pub(crate) async fn test_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookTestResult>, ApiError> {
    caller.require(Scope::Admin)?;
    let hook = tenant_webhook(&state, &caller, &id).await?;
    let (secret, signing) = state
        .inner
        .store
        .webhooks()
        .signing_secret(caller.tenant_id, hook.id)
        .await?
        .ok_or(ApiError::NotFound { what: "webhook" })?;
    let now = Utc::now();
    let event = EventBody {
        id: 0,
        kind: "webhook.test".to_owned(),
        timestamp: now,
        at: now,
        data: WebhookTestData {
            webhook_id: hook.id.to_string(),
        },
    };
    let body = serde_json::to_vec(&event).map_err(|e| ApiError::Internal(e.to_string()))?;
    let message_id = format!("msg_test_{}", Uuid::now_v7().simple());
    let url = url::Url::parse(&hook.url).map_err(|_| ApiError::Receiver {
        code: "webhook.refused",
        detail: "the webhook's URL cannot be read".to_owned(),
    })?;
    state
        .inner
        .outbound
        .check_url(&url)
        .map_err(|refusal| ApiError::Receiver {
            code: "webhook.refused",
            detail: format!("the webhook's URL is refused: {refusal}"),
        })?;
    let started = std::time::Instant::now();
    let answer = send_test(&state, url, &secret, signing, &message_id, &body).await?;
    Ok(Json(WebhookTestResult {
        status: answer.0,
        body: answer.1,
        truncated: answer.2,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        message_id,
    }))
}

/// POSTs a signed test body; the receiver's status, the start of its body and whether that
/// was cut.
async fn send_test(
    state: &AppState,
    url: url::Url,
    secret: &SecretString,
    signing: Signing,
    message_id: &str,
    body: &[u8],
) -> Result<(u16, String, bool), ApiError> {
    let client = state
        .inner
        .outbound
        .client(
            reqwest::Client::builder().timeout(state.inner.config.api.webhooks.timeout),
            Redirects::None,
        )
        .map_err(|e| ApiError::Internal(format!("cannot build the webhook client: {e}")))?;
    let timestamp = Utc::now().timestamp();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "herald-webhooks/1");
    for (name, value) in
        webhook_signing::headers(secret.expose_secret(), signing, message_id, timestamp, body)
    {
        request = request.header(name, value);
    }
    let mut response = request
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| receiver_error(&e))?;
    let status = response.status().as_u16();
    let mut read = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await.map_err(|e| receiver_error(&e))? {
        read.extend_from_slice(&chunk);
        if read.len() > TEST_BODY_LIMIT {
            read.truncate(TEST_BODY_LIMIT);
            truncated = true;
            break;
        }
    }
    Ok((
        status,
        String::from_utf8_lossy(&read).into_owned(),
        truncated,
    ))
}

/// Why a receiver could not be asked, without its URL (it may carry the receiver's secret).
fn receiver_error(e: &reqwest::Error) -> ApiError {
    if let Some(refusal) = herald_outbound::refusal(e) {
        ApiError::Receiver {
            code: "webhook.refused",
            detail: format!("the webhook's URL is refused: {refusal}"),
        }
    } else if e.is_timeout() {
        ApiError::Receiver {
            code: "webhook.timed_out",
            detail: "the receiver did not answer within api.webhooks.timeout_secs".to_owned(),
        }
    } else if e.is_connect() {
        ApiError::Receiver {
            code: "webhook.unreachable",
            detail: "could not connect to the receiver".to_owned(),
        }
    } else {
        ApiError::Receiver {
            code: "webhook.unreachable",
            detail: "the receiver's answer could not be read".to_owned(),
        }
    }
}
