//! Connections: list, disconnect, page selection, and Telegram bots.
//!
//! A connection is one platform account of a tenant (per end user: the rule of one
//! connection per user, platform and LinkedIn app). Tokens never leave the store except
//! into a platform call: no answer carries one.
//!
//! Where a platform posts as a page, the account connects first and the page is chosen
//! after: `GET /v1/connections/{id}/pages` lists what the token can post to and
//! `PUT /v1/connections/{id}/page` picks one. Facebook posts with the Page's own token and
//! keeps the user's beside it (only the user's lists the Pages, so choosing again works);
//! LinkedIn company connections post as the organization with the member's token; Instagram
//! posts as the business account linked to the chosen Page, so choosing one makes that
//! account the connection's account.
//!
//! Telegram has no OAuth: `POST /v1/connections/telegram` takes a bot token and a chat, and
//! stores them only once `getMe`, `getChat` and `getChatMember` prove the bot can post there.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use herald_domain::{AppType, ConnectionId, ConnectionStatus, Platform, PostTargetType, Scope};
use herald_platforms::{ChatId, TargetKind};
use herald_store::{Connected, Connection, NewConnection, StoreError, Tokens};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, FieldError, parse_id};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/connections", get(list_connections))
        .route("/connections/telegram", post(connect_telegram))
        .route(
            "/connections/{id}",
            get(get_connection).delete(delete_connection),
        )
        .route("/connections/{id}/pages", get(list_pages))
        .route("/connections/{id}/page", put(select_page))
}

/// A connected account, without its tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionOut {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(value_type = Platform)]
    pub platform: String,
    /// LinkedIn: the app (`personal` or `company`); elsewhere where it posts (`personal`
    /// or `page`).
    pub target: String,
    #[schema(value_type = PostTargetType)]
    pub post_target_type: String,
    pub page_id: Option<String>,
    pub account: AccountOut,
    /// `active`, `needs_reconnect` or `disabled`.
    #[schema(value_type = ConnectionStatus)]
    pub status: String,
    pub last_error: Option<String>,
    /// The producer's end user this connection belongs to.
    pub user: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    /// Requests counted in the platform's hard window, where it has one.
    pub rate_budget: Option<RateBudget>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub id: String,
    pub name: Option<String>,
    pub handle: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateBudget {
    pub used: i64,
    pub limit: u32,
    pub window_secs: u64,
}

pub(crate) fn connection_out(c: &Connection, rate_budget: Option<RateBudget>) -> ConnectionOut {
    ConnectionOut {
        id: c.id.to_string(),
        platform: c.platform.as_str().to_owned(),
        target: c
            .app_type
            .map_or(c.post_target_type.as_str(), AppType::as_str)
            .to_owned(),
        post_target_type: c.post_target_type.as_str().to_owned(),
        page_id: c.selected_page_id.clone(),
        account: AccountOut {
            id: c.account_id.clone(),
            name: c.account_name.clone(),
            handle: c.account_handle.clone(),
        },
        status: c.status.as_str().to_owned(),
        last_error: c.last_error.clone(),
        user: c.external_user_id.clone(),
        token_expires_at: c.token_expires_at,
        scopes: c.scopes.clone(),
        rate_budget,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// The hard window that applies to a connection: its limit and length.
pub(crate) fn window_of(state: &AppState, c: &Connection) -> Option<(u32, Duration)> {
    let platforms = &state.inner.config.platforms;
    match c.platform {
        Platform::Twitter => {
            let tier = c
                .rate_tier
                .as_deref()
                .unwrap_or(&platforms.twitter.default_tier);
            let limit = platforms.twitter.tiers.get(tier)?;
            Some((*limit, platforms.twitter.window))
        }
        Platform::Instagram => Some((
            platforms.instagram.posts_per_window?,
            platforms.instagram.window?,
        )),
        Platform::Threads => Some((platforms.threads.posts_per_window, platforms.threads.window)),
        _ => None,
    }
}

pub(crate) async fn rate_budget(
    state: &AppState,
    c: &Connection,
) -> Result<Option<RateBudget>, ApiError> {
    let Some((limit, window)) = window_of(state, c) else {
        return Ok(None);
    };
    let used = state
        .inner
        .store
        .windows()
        .used_in_window(c.id, window)
        .await?;
    Ok(Some(RateBudget {
        used,
        limit,
        window_secs: window.as_secs(),
    }))
}

/// A page of connections.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionPage {
    pub data: Vec<ConnectionOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListConnections {
    /// Only this end user's connections.
    pub user: Option<String>,
}

/// The tenant's connections.
#[utoipa::path(get, path = "/v1/connections", tag = "connections", params(ListConnections),
    responses((status = 200, body = ConnectionPage)), security(("api_key" = ["read"])))]
pub(crate) async fn list_connections(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListConnections>,
) -> Result<Json<ConnectionPage>, ApiError> {
    caller.require(Scope::Read)?;
    let connections = state
        .inner
        .store
        .connections()
        .list(caller.tenant_id, query.user.as_deref())
        .await?;
    let mut data = Vec::with_capacity(connections.len());
    for c in &connections {
        data.push(connection_out(c, rate_budget(&state, c).await?));
    }
    Ok(Json(ConnectionPage {
        data,
        next_cursor: None,
    }))
}

pub(crate) async fn tenant_connection(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Connection, ApiError> {
    let id: ConnectionId = parse_id(id, "connection")?;
    state
        .inner
        .store
        .connections()
        .get_for_tenant(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound { what: "connection" })
}

/// One connection.
#[utoipa::path(get, path = "/v1/connections/{id}", tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "Connection id")),
    responses((status = 200, body = ConnectionOut), (status = 404, body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn get_connection(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ConnectionOut>, ApiError> {
    caller.require(Scope::Read)?;
    let c = tenant_connection(&state, &caller, &id).await?;
    let budget = rate_budget(&state, &c).await?;
    Ok(Json(connection_out(&c, budget)))
}

/// Disconnect. A connection with delivery history is disabled instead of deleted (its
/// history stays readable; it can no longer be posted to), and the answer says so.
#[utoipa::path(delete, path = "/v1/connections/{id}", tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "Connection id")),
    responses((status = 204, description = "Deleted"),
        (status = 200, description = "Disabled: it has deliveries", body = ConnectionOut),
        (status = 404, body = crate::Problem)),
    security(("api_key" = ["admin"])))]
pub(crate) async fn delete_connection(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let c = tenant_connection(&state, &caller, &id).await?;
    let connections = state.inner.store.connections();
    let deleted = connections.delete(caller.tenant_id, c.id).await;
    state.inner.connection_cache.forget(c.id);
    match deleted {
        Ok(true) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(false) => Err(ApiError::NotFound { what: "connection" }),
        Err(StoreError::ConnectionInUse(_)) => {
            connections
                .set_status(c.id, ConnectionStatus::Disabled)
                .await?;
            state.inner.connection_cache.forget(c.id);
            let c = tenant_connection(&state, &caller, &id).await?;
            Ok(Json(connection_out(&c, None)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A place a connection can post to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOut {
    /// Pass as `page_id` to PUT /v1/connections/{id}/page.
    pub id: String,
    /// `facebook_page`, `instagram_account`, `linkedin_organization`, `profile`.
    pub kind: &'static str,
    pub name: Option<String>,
    pub username: Option<String>,
    /// Instagram: the Facebook Page the account is linked to.
    pub page_id: Option<String>,
    pub selected: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageList {
    pub data: Vec<PageOut>,
    pub next_cursor: Option<String>,
}

fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Profile => "profile",
        TargetKind::FacebookPage => "facebook_page",
        TargetKind::InstagramAccount => "instagram_account",
        TargetKind::LinkedinOrganization => "linkedin_organization",
    }
}

/// Pages (Facebook), organizations (LinkedIn company) or business accounts (Instagram) the
/// connection can post to.
#[utoipa::path(get, path = "/v1/connections/{id}/pages", tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "Connection id")),
    responses((status = 200, body = PageList), (status = 404, body = crate::Problem),
        (status = 422, description = "The platform refused (with its hint)", body = crate::Problem),
        (status = 502, description = "The platform failed or did not answer (`platform_error`, class `retryable` or `unknown_outcome`): try again", body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn list_pages(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PageList>, ApiError> {
    caller.require(Scope::Read)?;
    let c = tenant_connection(&state, &caller, &id).await?;
    let targets = targets_of(&state, &c).await?;
    Ok(Json(PageList {
        data: targets
            .into_iter()
            .map(|t| PageOut {
                selected: c.selected_page_id.as_deref() == Some(t.id.as_str())
                    || (c.platform == Platform::Instagram
                        && c.post_target_type == PostTargetType::Page
                        && c.account_id == t.id),
                id: t.id,
                kind: kind_name(t.kind),
                name: t.name,
                username: t.username,
                page_id: t.page_id,
            })
            .collect(),
        next_cursor: None,
    }))
}

async fn targets_of(
    state: &AppState,
    c: &Connection,
) -> Result<Vec<herald_platforms::Target>, ApiError> {
    if !matches!(
        c.platform,
        Platform::Facebook | Platform::Instagram | Platform::Linkedin
    ) {
        return Err(ApiError::conflict(
            "pages_unsupported",
            format!("{} connections have no pages", c.platform.display_name()),
        ));
    }
    let with_tokens = state
        .inner
        .store
        .connections()
        .get_with_tokens(c.id)
        .await?
        .ok_or(ApiError::NotFound { what: "connection" })?;
    Ok(state
        .inner
        .platforms
        .targets(c.platform, c.app_type, with_tokens.owner_token())
        .await?)
}

/// The page to post to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectPage {
    pub page_id: String,
}

/// Choose the page the connection posts to.
#[utoipa::path(put, path = "/v1/connections/{id}/page", tag = "connections",
    params(("id" = uuid::Uuid, Path, description = "Connection id")),
    request_body = SelectPage,
    responses((status = 200, body = ConnectionOut), (status = 404, body = crate::Problem),
        (status = 422, body = crate::Problem),
        (status = 502, description = "The platform failed or did not answer (`platform_error`, class `retryable` or `unknown_outcome`): try again", body = crate::Problem)),
    security(("api_key" = ["admin"])))]
pub(crate) async fn select_page(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SelectPage>,
) -> Result<Json<ConnectionOut>, ApiError> {
    caller.require(Scope::Admin)?;
    let c = tenant_connection(&state, &caller, &id).await?;
    if c.platform == Platform::Linkedin && c.app_type != Some(AppType::Company) {
        return Err(ApiError::conflict(
            "pages_unsupported",
            "a personal LinkedIn connection posts as the member: connect with target \
             `company` to post as an organization",
        ));
    }
    let targets = targets_of(&state, &c).await?;
    let Some(target) = targets
        .into_iter()
        .find(|t| t.id == body.page_id || t.page_id.as_deref() == Some(body.page_id.as_str()))
    else {
        return Err(ApiError::invalid(vec![FieldError::new(
            "page_id",
            "page.unknown",
            "this account cannot post to that page: choose one from GET /v1/connections/{id}/pages",
        )]));
    };
    select_target(&state, &c, target).await?;
    let c = tenant_connection(&state, &caller, &id).await?;
    Ok(Json(connection_out(&c, None)))
}

/// Points a connection at one of its targets.
pub(crate) async fn select_target(
    state: &AppState,
    c: &Connection,
    target: herald_platforms::Target,
) -> Result<(), ApiError> {
    let connections = state.inner.store.connections();
    // What the dashboard shows the connection posts to: the page's or organization's name.
    let (kind, name) = (kind_name(target.kind), target.name.clone());
    match c.platform {
        Platform::Facebook => {
            let tokens = target.access_token.map(|token| Tokens {
                access_token: token,
                refresh_token: None,
                expires_at: None,
            });
            connections
                .select_page(c.id, &target.id, tokens.as_ref())
                .await?;
        }
        Platform::Instagram => {
            // Instagram posts as the business account: it becomes the connection's account.
            let current = connections
                .get_with_tokens(c.id)
                .await?
                .ok_or(ApiError::NotFound { what: "connection" })?;
            connections
                .upsert(&NewConnection {
                    tenant_id: c.tenant_id,
                    external_user_id: c.external_user_id.clone(),
                    platform: c.platform,
                    app_type: c.app_type,
                    post_target_type: PostTargetType::Page,
                    selected_page_id: target.page_id.clone(),
                    account_id: target.id.clone(),
                    account_name: target.name.clone(),
                    account_handle: target.username.clone(),
                    scopes: c.scopes.clone(),
                    rate_tier: c.rate_tier.clone(),
                    tokens: Tokens {
                        access_token: current.access_token,
                        refresh_token: current.refresh_token,
                        expires_at: c.token_expires_at,
                    },
                })
                .await?;
        }
        _ => {
            connections.select_page(c.id, &target.id, None).await?;
        }
    }
    connections.set_target(c.id, kind, name.as_deref()).await?;
    state.inner.connection_cache.forget(c.id);
    Ok(())
}

/// A Telegram bot and the channel it posts to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectTelegram {
    /// From @BotFather. Stored sealed; never shown again.
    #[schema(value_type = String)]
    pub bot_token: SecretString,
    /// `@channelname` or the numeric id (`-1001234567890`), as a number or a string.
    #[serde(deserialize_with = "chat_id_text")]
    #[schema(schema_with = chat_id_schema)]
    pub chat_id: String,
    /// The producer's end user this connection belongs to. Null or absent: none.
    #[serde(default)]
    pub user: Option<String>,
}

/// What a Telegram chat id may be, for error messages and the API description.
const CHAT_ID_EXPECTED: &str = "a Telegram chat id: the numeric id (-1001234567890, as a number or a string) or \"@channelname\"";

/// A chat id as Telegram gives it out (a number) or as people write it (a string): both
/// become the text Telegram's Bot API takes.
fn chat_id_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct ChatIdVisitor;

    impl serde::de::Visitor<'_> for ChatIdVisitor {
        type Value = String;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(CHAT_ID_EXPECTED)
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
    }

    deserializer.deserialize_any(ChatIdVisitor)
}

fn chat_id_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .examples([serde_json::json!(-1_001_234_567_890_i64)]),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .examples([serde_json::json!("@channelname")]),
        )
        .description(Some(CHAT_ID_EXPECTED))
        .build()
        .into()
}

/// Connect a Telegram channel with a bot token.
#[utoipa::path(post, path = "/v1/connections/telegram", tag = "connections",
    request_body(content = ConnectTelegram, example = json!({
        "bot_token": "7000000001:AAHeraldDevBotToken0000000000000000000",
        "chat_id": "@herald_dev_channel",
        "user": "customer-42"
    })),
    responses(
        (status = 201, description = "Connected", body = ConnectionOut, example = json!({
            "id": "01938a4e-7c2f-7d43-9a57-0f5a1c2e3b4d",
            "platform": "telegram",
            "target": "personal",
            "post_target_type": "personal",
            "page_id": null,
            "account": {"id": "-1001234567890", "name": "Herald dev channel", "handle": "herald_dev_channel"},
            "status": "active",
            "last_error": null,
            "user": "customer-42",
            "token_expires_at": null,
            "scopes": [],
            "rate_budget": null,
            "created_at": "2026-12-03T12:00:00Z",
            "updated_at": "2026-12-03T12:00:00Z"
        })),
        (status = 200, description = "Already connected to this chat: the connection, its bot token replaced", body = ConnectionOut),
        (status = 409, description = "The end user's Telegram connection posts to another chat (`account_mismatch`): it is left as it was; connect the other chat with another `user`", body = crate::Problem),
        (status = 422, description = "Invalid token or chat, or the bot cannot post (with a hint saying what to do)", body = crate::Problem),
        (status = 502, description = "The platform failed or did not answer (`platform_error`, class `retryable` or `unknown_outcome`): try again", body = crate::Problem)),
    security(("api_key" = ["admin"])))]
pub(crate) async fn connect_telegram(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConnectTelegram>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    check_user(body.user.as_deref())?;
    let chat = ChatId::parse(&body.chat_id)?;
    let channel = state
        .inner
        .platforms
        .connect_telegram(&body.bot_token, &chat)
        .await?;
    let body_chat = channel
        .username
        .as_deref()
        .map_or_else(|| channel.chat_id.to_string(), |h| format!("@{h}"));
    // The same chat renews the bot token; another chat never silently replaces the one a
    // connection (and its scheduled posts) points at.
    let connected = state
        .inner
        .store
        .connections()
        .connect(&NewConnection {
            tenant_id: caller.tenant_id,
            external_user_id: body.user,
            platform: Platform::Telegram,
            app_type: None,
            post_target_type: PostTargetType::Personal,
            selected_page_id: None,
            account_id: channel.chat_id.to_string(),
            account_name: channel.title.clone(),
            account_handle: channel.username,
            scopes: Vec::new(),
            rate_tier: None,
            tokens: Tokens {
                access_token: body.bot_token,
                refresh_token: None,
                expires_at: None,
            },
        })
        .await?;
    let (connection, status) = match connected {
        Connected::Created(connection) => (connection, StatusCode::CREATED),
        Connected::Renewed(connection) => {
            state.inner.connection_cache.forget(connection.id);
            (connection, StatusCode::OK)
        }
        Connected::OtherAccount(existing) => {
            let chat = existing
                .account_handle
                .as_deref()
                .map_or_else(|| existing.account_id.clone(), |h| format!("@{h}"));
            return Err(ApiError::conflict(
                "account_mismatch",
                format!(
                    "connection {} is connected to the Telegram chat {chat}, not {}; it was \
                     left as it was. To post to the other chat too, connect it with a `user` \
                     that has no Telegram connection yet (or delete connection {} first)",
                    existing.id, body_chat, existing.id
                ),
            ));
        }
    };
    // Recorded so that a `first_comment` for a channel without comments is refused at
    // enqueue (`posts::check`).
    state
        .inner
        .store
        .connections()
        .set_discussion_group(connection.id, channel.linked_chat_id)
        .await?;
    state
        .inner
        .store
        .connections()
        .set_target(connection.id, &channel.chat_type, channel.title.as_deref())
        .await?;
    Ok((status, Json(connection_out(&connection, None))).into_response())
}

/// An end user id is 1 to 255 characters.
pub(crate) fn check_user(user: Option<&str>) -> Result<(), ApiError> {
    match user {
        Some(u) if u.is_empty() || u.len() > 255 => Err(ApiError::invalid(vec![FieldError::new(
            "user",
            "user.invalid",
            "user must be 1 to 255 characters",
        )])),
        _ => Ok(()),
    }
}
