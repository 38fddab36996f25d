//! Connecting accounts by OAuth: `POST /v1/connect/{platform}` and its callback,
//! `GET /api/social/{platform}/callback`.
//!
//! The `state` parameter is the whole security of the flow, so it is:
//!
//! - **random**: 256 bits, made here;
//! - **server-side**: only its SHA-256 is stored, with the tenant, platform, LinkedIn app
//!   (`personal`/`company`: both apps share the callback, the state says which one to
//!   exchange with), the end user, `return_to` and the sealed PKCE verifier, which never
//!   leaves the server;
//! - **single-use and short-lived**: the callback consumes it in one guarded UPDATE that
//!   also checks `api.oauth_state_ttl` (10 minutes), so a replayed or late callback finds
//!   nothing, and a state made for another platform is refused;
//! - **bound to the browser** when the browser starts at Herald: `start_url` sets the
//!   `oauth_state_{platform}` cookie (HttpOnly, SameSite=Lax) before redirecting to the
//!   platform, and a callback whose cookie names another state is refused (login CSRF);
//! - **checked before use**: a `state` that is not shaped like one Herald makes (43
//!   characters of base64url, 32 bytes) is refused before it reaches a cookie or a query.
//!
//! The callback exchanges the code, reads the account's identity and stores the connection
//! with sealed tokens; page platforms (Facebook, Instagram, LinkedIn company) then need
//! their page chosen (`needs_page_selection=true`). A flow whose end user already has a
//! connection of that platform (and LinkedIn app) is a reconnect: the same platform account
//! renews the tokens, another account is refused (`error=account_mismatch`) and the
//! connection keeps its account, tokens and scheduled posts.
//!
//! It then redirects to `return_to` with `connection_id` (or `error`, `error_description`
//! and `hint`), or shows a plain result page. `return_to` must be on one of
//! `api.allowed_return_origins` (by default `public_url`'s origin), compared exactly, so
//! the callback is no open redirect handing connection ids to another site. A platform's
//! own refusal (`error=access_denied`, `invalid_scope`, ...) comes back with its remediation
//! hint.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use cookie::{Cookie, SameSite};
use herald_domain::{AppType, Platform, PlatformFailure, PostTargetType, Scope};
use herald_platforms::{AuthorizeRequest, CodeExchange, Target, classify_callback_error};
use herald_store::{Connected, Connection, NewConnection, NewOAuthState, OAuthState, Tokens};
use rand::RngCore;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::connections::check_user;
use crate::dashboard::html::esc;
use crate::error::{ApiError, ApiPath, FieldError};

pub(crate) fn api_routes() -> Router<AppState> {
    Router::new().route("/connect/{platform}", get(connect_get).post(connect_post))
}

pub(crate) fn browser_routes() -> Router<AppState> {
    Router::new()
        .route("/api/social/{platform}/start", get(start))
        .route("/api/social/{platform}/callback", get(callback))
}

/// What to connect.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// LinkedIn only: `personal` (default) or `company`.
    #[serde(default)]
    pub target: Option<String>,
    /// The producer's end user the connection belongs to.
    #[serde(default)]
    pub user: Option<String>,
    /// Where to send the browser when done: an absolute http(s) URL on one of
    /// `api.allowed_return_origins` (by default the origin of Herald's public URL); without
    /// it the callback shows a plain result page.
    #[serde(default)]
    #[schema(format = Uri)]
    pub return_to: Option<String>,
}

/// Where to send the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectOut {
    /// The platform's consent page.
    #[schema(format = Uri)]
    pub authorize_url: String,
    /// The same, started at Herald: sets the `oauth_state_{platform}` cookie first, binding
    /// the flow to the browser that opens it.
    #[schema(format = Uri)]
    pub start_url: String,
    pub expires_at: DateTime<Utc>,
}

/// Start connecting an account (same as the GET form with query parameters).
#[utoipa::path(post, path = "/v1/connect/{platform}", tag = "connections",
    params(("platform" = String, Path, description = "twitter (x), linkedin, facebook, instagram, threads")),
    request_body = ConnectRequest,
    responses((status = 200, body = ConnectOut), (status = 422, body = crate::Problem)),
    security(("api_key" = ["admin"])))]
pub(crate) async fn connect_post(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(platform): ApiPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ConnectOut>, ApiError> {
    caller.require(Scope::Admin)?;
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        ConnectRequest::default()
    } else {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType {
                detail: "send the body as JSON with Content-Type: application/json".to_owned(),
            });
        }
        crate::error::parse_json(&body)?
    };
    connect(&state, &caller, &platform, request).await.map(Json)
}

pub(crate) async fn connect_get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(platform): ApiPath<String>,
    crate::error::ApiQuery(request): crate::error::ApiQuery<ConnectRequest>,
) -> Result<Json<ConnectOut>, ApiError> {
    connect(&state, &caller, &platform, request).await.map(Json)
}

async fn connect(
    state: &AppState,
    caller: &Caller,
    platform: &str,
    request: ConnectRequest,
) -> Result<ConnectOut, ApiError> {
    caller.require(Scope::Admin)?;
    let platform: Platform = platform
        .parse()
        .map_err(|_| ApiError::NotFound { what: "platform" })?;
    let mut errors = Vec::new();
    if !platform.uses_oauth() {
        errors.push(FieldError::new(
            "platform",
            "platform.no_oauth",
            "Telegram connects with a bot token: POST /v1/connections/telegram",
        ));
    }
    let app_type = match (platform, request.target.as_deref()) {
        (Platform::Linkedin, None | Some("personal")) => Some(AppType::Personal),
        (Platform::Linkedin, Some("company")) => Some(AppType::Company),
        (_, None | Some("personal")) => None,
        (_, Some(other)) => {
            errors.push(FieldError::new(
                "target",
                "target.invalid",
                format!(
                    "`{}` is not a target here: LinkedIn takes `personal` or `company`; other platforms need none",
                    other.chars().take(32).collect::<String>()
                ),
            ));
            None
        }
    };
    if let Some(to) = &request.return_to {
        errors.extend(return_to_problem(
            to,
            &state.inner.config.api.allowed_return_origins,
        ));
    }
    check_user(request.user.as_deref())?;
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    begin(
        state,
        caller.tenant_id,
        platform,
        app_type,
        request.user,
        request.return_to,
    )
    .await
}

/// Makes a flow's state and its consent URL: what `POST /v1/connect/{platform}` answers and
/// the dashboard's Reconnect follows. The caller has checked the platform, app and
/// `return_to`. A flow for an end user (and LinkedIn app) that already has a connection
/// reconnects that one when it completes.
pub(crate) async fn begin(
    state: &AppState,
    tenant_id: herald_domain::TenantId,
    platform: Platform,
    app_type: Option<AppType>,
    user: Option<String>,
    return_to: Option<String>,
) -> Result<ConnectOut, ApiError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let state_value =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let authorize = state.inner.platforms.authorize_url(&AuthorizeRequest {
        platform,
        app_type,
        state: Some(state_value.clone()),
    })?;
    let ttl = state.inner.config.api.oauth_state_ttl;
    state
        .inner
        .store
        .oauth_states()
        .create_with_state(
            &NewOAuthState {
                tenant_id,
                platform,
                app_type,
                post_target_type: PostTargetType::Personal,
                external_user_id: user,
                return_to,
                pkce_verifier: authorize.pkce_verifier,
                ttl,
            },
            &SecretString::from(state_value.clone()),
        )
        .await?;
    let start_url = url::Url::parse_with_params(
        &state
            .inner
            .config
            .public_url
            .join(&format!("/api/social/{platform}/start")),
        &[
            ("state", state_value.as_str()),
            ("to", authorize.url.as_str()),
        ],
    )
    .map(String::from)
    .map_err(|e| ApiError::internal("start url", &e))?;
    Ok(ConnectOut {
        authorize_url: authorize.url,
        start_url,
        expires_at: Utc::now() + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::minutes(10)),
    })
}

/// What is wrong with `return_to`, if anything. The callback may send the browser only to an
/// absolute http(s) URL without user info, backslashes or control characters (parsers
/// disagree on those, browsers included), on one of `api.allowed_return_origins`, compared
/// exactly (scheme, host and port). Anything looser makes the callback an open redirect that
/// hands the new connection's id to another site.
fn return_to_problem(to: &str, allowed: &[String]) -> Option<FieldError> {
    let shape = |message: &str| FieldError::new("return_to", "return_to.invalid", message);
    if to.len() > 2048 {
        return Some(shape("return_to must be at most 2048 characters"));
    }
    if to
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return Some(shape(
            "return_to must not contain backslashes, whitespace or control characters",
        ));
    }
    let url = url::Url::parse(to)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    let Some(url) = url else {
        return Some(shape("return_to must be an absolute http(s) URL"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some(shape("return_to must not carry user info (user@host)"));
    }
    if return_origin_allowed(&url, allowed) {
        return None;
    }
    let origin = herald_config::origin_of(&url).unwrap_or_default();
    Some(FieldError::new(
        "return_to",
        "return_to.origin_not_allowed",
        format!(
            "return_to must be on an allowed origin ({}); to allow `{}`, add it to \
             api.allowed_return_origins (HERALD_API__ALLOWED_RETURN_ORIGINS)",
            allowed.join(", "),
            origin.chars().take(200).collect::<String>()
        ),
    ))
}

fn return_origin_allowed(url: &url::Url, allowed: &[String]) -> bool {
    herald_config::origin_of(url).is_some_and(|origin| allowed.contains(&origin))
}

fn cookie_name(platform: Platform) -> String {
    format!("oauth_state_{platform}")
}

/// Whether `value` has the shape of a state Herald makes: 32 random bytes, unpadded
/// base64url (43 characters, canonical). Checked before a state goes near a header or the
/// database, so a crafted one (`x; Domain=...`) cannot add cookie attributes.
fn is_state_shaped(value: &str) -> bool {
    value.len() == 43
        && base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, value)
            .is_ok_and(|bytes| bytes.len() == 32)
}

/// The `oauth_state_{platform}` cookie: HttpOnly, SameSite=Lax (the platform's redirect back
/// is a top-level GET, which Lax lets through), scoped to the platform's OAuth paths and
/// Secure when Herald is served over https. `value` is a checked state.
fn state_cookie(state: &AppState, platform: Platform, value: &str) -> Cookie<'static> {
    let secure = state
        .inner
        .config
        .public_url
        .as_str()
        .starts_with("https://");
    let max_age = i64::try_from(state.inner.config.api.oauth_state_ttl.as_secs()).unwrap_or(600);
    Cookie::build((cookie_name(platform), value.to_owned()))
        .path(format!("/api/social/{platform}"))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
}

fn set_cookie(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// `GET /api/social/{platform}/start?state=..&to=..`: sets the state cookie, then sends the
/// browser to the platform. `to` must be that platform's consent page carrying that state,
/// so this is no open redirect.
pub(crate) async fn start(
    State(state): State<AppState>,
    ApiPath(platform): ApiPath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Ok(platform) = platform.parse::<Platform>() else {
        return page(StatusCode::NOT_FOUND, "Unknown platform", "", None);
    };
    let (Some(state_value), Some(to)) = (query.get("state"), query.get("to")) else {
        return page(StatusCode::BAD_REQUEST, "Missing state", "", None);
    };
    if !is_state_shaped(state_value) {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid start link",
            "This link's state is not one Herald made: start the connection again.",
            None,
        );
    }
    let web = web_url(&state, platform);
    let carries_state = url::Url::parse(to).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, v)| k == "state" && v == state_value.as_str())
    });
    if !to.starts_with(&format!("{web}/")) || !carries_state {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid start link",
            "This link does not lead to the platform's consent page.",
            None,
        );
    }
    let mut response = Redirect::to(to).into_response();
    set_cookie(&mut response, &state_cookie(&state, platform, state_value));
    response
}

fn web_url(state: &AppState, platform: Platform) -> String {
    let p = &state.inner.config.platforms;
    match platform {
        Platform::Twitter => p.twitter.web_url.as_str(),
        Platform::Linkedin => p.linkedin.web_url.as_str(),
        Platform::Facebook => p.facebook.web_url.as_str(),
        Platform::Instagram => p.instagram.web_url.as_str(),
        Platform::Threads => p.threads.web_url.as_str(),
        Platform::Telegram => "",
    }
    .to_owned()
}

/// The platform sends the browser back here with `code` and `state` (or `error`).
pub(crate) async fn callback(
    State(state): State<AppState>,
    ApiPath(platform): ApiPath<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Ok(platform) = platform.parse::<Platform>() else {
        return page(StatusCode::NOT_FOUND, "Unknown platform", "", None);
    };
    let mut response = finish(&state, platform, &headers, &query).await;
    let mut clear = state_cookie(&state, platform, "");
    clear.make_removal();
    set_cookie(&mut response, &clear);
    response
}

async fn finish(
    state: &AppState,
    platform: Platform,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Response {
    let Some(state_value) = query.get("state").filter(|s| !s.is_empty()) else {
        return rejected("The platform sent no state: start the connection again.");
    };
    if !is_state_shaped(state_value) {
        return rejected(
            "This connection link is invalid, expired (they last 10 minutes) or was already used: start the connection again.",
        );
    }
    if let Some(cookie) = crate::auth::cookie_value(headers, &cookie_name(platform))
        && cookie != *state_value
    {
        return rejected("This browser started another connection: start again.");
    }
    let consumed = match state.inner.store.oauth_states().consume(state_value).await {
        Ok(consumed) => consumed,
        Err(error) => {
            tracing::error!(%error, "could not read the OAuth state");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Connection failed",
                "Herald could not complete the connection right now; try again.",
                None,
            );
        }
    };
    let Some(flow) = consumed else {
        return rejected(
            "This connection link is invalid, expired (they last 10 minutes) or was already used: start the connection again.",
        );
    };
    if flow.platform != platform {
        return rejected("This connection was started for another platform: start again.");
    }
    if let Some(error) = query.get("error") {
        let failure = classify_callback_error(
            platform,
            error,
            query.get("error_description").map(String::as_str),
        );
        return outcome(state, &flow, Err(failure.into()));
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return outcome(
            state,
            &flow,
            Err(classify_callback_error(
                platform,
                "invalid_request",
                Some("the platform sent no code"),
            )
            .into()),
        );
    };
    let result = connect_account(state, &flow, SecretString::from(code.clone())).await;
    outcome(state, &flow, result)
}

/// Why a callback connected nothing: what the redirect's `error`, `error_description` and
/// `hint` (or the result page) say.
#[derive(Debug)]
struct Refused {
    code: String,
    message: String,
    hint: Option<String>,
}

impl From<PlatformFailure> for Refused {
    fn from(failure: PlatformFailure) -> Self {
        Refused {
            code: failure.code().unwrap_or_else(|| "error".to_owned()),
            message: failure.message,
            hint: failure.hint,
        }
    }
}

/// A connection the callback made or renewed: its id, and whether a page is still to choose.
type Done = (String, bool);

async fn connect_account(
    state: &AppState,
    flow: &OAuthState,
    code: SecretString,
) -> Result<Done, Refused> {
    let platforms = &state.inner.platforms;
    let tokens = platforms
        .exchange_code(&CodeExchange {
            platform: flow.platform,
            app_type: flow.app_type,
            code,
            pkce_verifier: flow.pkce_verifier.clone(),
        })
        .await?;
    let identity = platforms
        .identity(flow.platform, &tokens.access_token)
        .await?;
    let offered = describe(
        &identity.account_id,
        identity.username.as_deref(),
        identity.name.as_deref(),
    );
    let mut new = NewConnection {
        tenant_id: flow.tenant_id,
        external_user_id: flow.external_user_id.clone(),
        platform: flow.platform,
        app_type: flow.app_type,
        post_target_type: flow.post_target_type,
        selected_page_id: None,
        account_id: identity.account_id,
        account_name: identity.name,
        account_handle: identity.username,
        scopes: tokens.scopes.clone(),
        rate_tier: None,
        tokens: Tokens {
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at: tokens.expires_at,
        },
    };
    let connections = state.inner.store.connections();
    let mut connected = connections
        .connect(&new)
        .await
        .map_err(|e| store_refusal(&e))?;
    // An Instagram connection's account is the business account chosen after connecting, not
    // the Facebook user who authorized: the same owner is the one whose token still reaches it.
    if let Connected::OtherAccount(existing) = &connected
        && existing.platform == Platform::Instagram
        && existing.post_target_type == PostTargetType::Page
        && reaches(state, existing, &tokens.access_token).await
    {
        new.account_id = existing.account_id.clone();
        connected = connections
            .connect(&new)
            .await
            .map_err(|e| store_refusal(&e))?;
    }
    let connection = match connected {
        Connected::Created(connection) => connection,
        Connected::Renewed(connection) => {
            renew_page_token(state, &connection, &tokens.access_token).await;
            state.inner.connection_cache.forget(connection.id);
            connection
        }
        Connected::OtherAccount(existing) => {
            tracing::warn!(
                platform = %flow.platform,
                connection_id = %existing.id,
                "refused to move a connection to another platform account"
            );
            return Err(other_account(&existing, &offered));
        }
    };
    // Page platforms post as a page the producer chooses next (GET .../pages, PUT
    // .../page): posting to the wrong Page is worse than one more step.
    let page_platform = matches!(flow.platform, Platform::Facebook | Platform::Instagram)
        || flow.app_type == Some(AppType::Company);
    let needs_page = page_platform && connection.selected_page_id.is_none();
    tracing::info!(platform = %flow.platform, connection_id = %connection.id, "account connected");
    Ok((connection.id.to_string(), needs_page))
}

fn store_refusal(error: &herald_store::StoreError) -> Refused {
    tracing::error!(%error, "could not store the connection");
    Refused {
        code: herald_domain::Code::Store.as_str().to_owned(),
        message: "Herald could not store the connection".to_owned(),
        hint: Some("Try connecting again in a moment".to_owned()),
    }
}

/// Whether `token` can still post to the account `existing` posts to.
async fn reaches(state: &AppState, existing: &Connection, token: &SecretString) -> bool {
    state
        .inner
        .platforms
        .targets(existing.platform, existing.app_type, token)
        .await
        .is_ok_and(|targets| targets.iter().any(|t| t.id == existing.account_id))
}

/// A Facebook connection renewed while it posts to a Page: the Page's token comes again from
/// the owner's new token. If the Page is out of reach the old Page token stays; publishing
/// then says what is wrong.
async fn renew_page_token(state: &AppState, connection: &Connection, owner: &SecretString) {
    let Some(page_id) = connection.selected_page_id.as_deref() else {
        return;
    };
    if connection.platform != Platform::Facebook {
        return;
    }
    let page = match state
        .inner
        .platforms
        .targets(Platform::Facebook, None, owner)
        .await
    {
        Ok(targets) => targets.into_iter().find(|t| t.id == page_id),
        Err(failure) => {
            tracing::warn!(%failure, connection_id = %connection.id, "could not renew the Page token");
            None
        }
    };
    let Some(Target {
        access_token: Some(token),
        ..
    }) = page
    else {
        return;
    };
    let tokens = Tokens {
        access_token: token,
        refresh_token: None,
        expires_at: None,
    };
    if let Err(error) = state
        .inner
        .store
        .connections()
        .select_page(connection.id, page_id, Some(&tokens))
        .await
    {
        tracing::warn!(%error, connection_id = %connection.id, "could not store the renewed Page token");
    }
}

/// An account as a person recognizes it: `@handle (id)`, `Name (id)` or the id.
fn describe(id: &str, handle: Option<&str>, name: Option<&str>) -> String {
    match (handle, name) {
        (Some(handle), _) => format!("@{handle} ({id})"),
        (None, Some(name)) => format!("{name} ({id})"),
        (None, None) => id.to_owned(),
    }
}

/// The refusal of a reconnect as another account: the connection keeps its account (and
/// the posts scheduled for it); the other account is a connection of its own.
fn other_account(existing: &Connection, offered: &str) -> Refused {
    let name = existing.platform.display_name();
    let connected = describe(
        &existing.account_id,
        existing.account_handle.as_deref(),
        existing.account_name.as_deref(),
    );
    Refused {
        code: "account_mismatch".to_owned(),
        message: format!(
            "This {name} connection ({}) is connected to {connected}, but {offered} was \
             authorized; the connection was left as it was.",
            existing.id
        ),
        hint: Some(format!(
            "To reconnect, sign in to {name} as {connected}. To add {offered}, connect it as a \
             new connection: start POST /v1/connect/{} with a `user` that has no {name} \
             connection yet (or disconnect connection {} first).",
            existing.platform, existing.id
        )),
    }
}

/// Redirects to `return_to` with the result, or shows it. A `return_to` whose origin is no
/// longer allowed (the configuration changed since the connect) gets the page instead.
fn outcome(state: &AppState, flow: &OAuthState, result: Result<Done, Refused>) -> Response {
    let name = flow.platform.display_name();
    let allowed = &state.inner.config.api.allowed_return_origins;
    let return_to = flow
        .return_to
        .as_deref()
        .and_then(|to| url::Url::parse(to).ok())
        .filter(|url| return_origin_allowed(url, allowed));
    match (return_to, result) {
        (Some(to), Ok((id, needs_page))) => {
            let mut params = vec![
                ("connection_id", id),
                ("platform", flow.platform.as_str().to_owned()),
                ("status", "connected".to_owned()),
            ];
            if needs_page {
                params.push(("needs_page_selection", "true".to_owned()));
            }
            redirect_with(to, &params)
        }
        (Some(to), Err(refused)) => {
            let mut params = vec![
                ("platform", flow.platform.as_str().to_owned()),
                ("status", "error".to_owned()),
                ("error", refused.code),
                ("error_description", refused.message),
            ];
            if let Some(hint) = refused.hint {
                params.push(("hint", hint));
            }
            redirect_with(to, &params)
        }
        (None, Ok((id, needs_page))) => {
            let next = if needs_page {
                " Choose the page to post to next."
            } else {
                ""
            };
            page(
                StatusCode::OK,
                &format!("{name} connected"),
                &format!("Connection {id} is ready.{next} You can close this window."),
                None,
            )
        }
        (None, Err(refused)) => page(
            StatusCode::BAD_REQUEST,
            &format!("{name} was not connected"),
            &refused.message,
            refused.hint.as_deref(),
        ),
    }
}

fn redirect_with(mut url: url::Url, params: &[(&str, String)]) -> Response {
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

fn rejected(message: &str) -> Response {
    page(StatusCode::BAD_REQUEST, "Connection refused", message, None)
}

/// A plain result page for a person in a browser.
fn page(status: StatusCode, title: &str, message: &str, hint: Option<&str>) -> Response {
    let hint = hint
        .map(|h| format!("<p><strong>What to do:</strong> {}</p>", esc(h)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{message}</p>{hint}</body></html>",
        title = esc(title),
        message = esc(message),
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["https://app.example.com".to_owned()]
    }

    #[test]
    fn return_to_is_only_an_allowed_origin_compared_exactly() {
        for ok in [
            "https://app.example.com/connected",
            "https://APP.example.com:443/x?y=1#z",
            "https://app.example.com",
        ] {
            assert!(return_to_problem(ok, &allowed()).is_none(), "{ok}");
        }
        for bad in [
            "https://app.example.com.evil.test/",
            "https://app.example.com@evil.test/",
            "https://evil.test\\@app.example.com/",
            "https://app.example.com\\.evil.test/",
            "http://app.example.com/",
            "https://app.example.com:444/",
            "https://xapp.example.com/",
            "//app.example.com/",
            "app.example.com",
            "https://app.example.com/\n",
        ] {
            let problem = return_to_problem(bad, &allowed()).expect(bad);
            assert_eq!(problem.field, "return_to", "{bad}");
        }
        let problem = return_to_problem("https://evil.test/", &allowed()).expect("refused");
        assert_eq!(problem.code, "return_to.origin_not_allowed");
        assert!(problem.message.contains("api.allowed_return_origins"));
    }

    #[test]
    fn only_states_shaped_like_herald_makes_them_pass() {
        let made =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [7u8; 32]);
        assert!(is_state_shaped(&made));
        assert!(!is_state_shaped(&made[..42]));
        assert!(!is_state_shaped(&format!("{made}A")));
        assert!(!is_state_shaped(&format!("{}; Path=/", &made[..33])));
        assert!(!is_state_shaped(&"=".repeat(43)));
        assert!(!is_state_shaped(""));
    }
}
