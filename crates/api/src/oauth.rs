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
//!   platform, and a callback whose cookie names another state is refused (login CSRF).
//!
//! The callback exchanges the code, reads the account's identity and stores the connection
//! with sealed tokens; page platforms (Facebook, Instagram, LinkedIn company) then need
//! their page chosen (`needs_page_selection=true`).
//! It then redirects to `return_to` with `connection_id` (or `error`, `error_description`
//! and `hint`), or shows a plain result page. A platform's own refusal (`error=access_denied`,
//! `invalid_scope`, ...) comes back with its remediation hint.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{AppType, Platform, PlatformFailure, PostTargetType, Scope};
use herald_platforms::{AuthorizeRequest, CodeExchange, classify_callback_error};
use herald_store::{NewConnection, NewOAuthState, OAuthState, Tokens};
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
    /// Where to send the browser when done (absolute http(s) URL); without it the callback
    /// shows a plain result page.
    #[serde(default)]
    pub return_to: Option<String>,
}

/// Where to send the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectOut {
    /// The platform's consent page.
    pub authorize_url: String,
    /// The same, started at Herald: sets the `oauth_state_{platform}` cookie first, binding
    /// the flow to the browser that opens it.
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
        let ok = url::Url::parse(to)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok || to.len() > 2048 {
            errors.push(FieldError::new(
                "return_to",
                "return_to.invalid",
                "return_to must be an absolute http(s) URL",
            ));
        }
    }
    check_user(request.user.as_deref())?;
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
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
                tenant_id: caller.tenant_id,
                platform,
                app_type,
                post_target_type: PostTargetType::Personal,
                external_user_id: request.user,
                return_to: request.return_to,
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

fn cookie_name(platform: Platform) -> String {
    format!("oauth_state_{platform}")
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
    let secure = if state
        .inner
        .config
        .public_url
        .as_str()
        .starts_with("https://")
    {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={state_value}; Path=/api/social/{platform}; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        cookie_name(platform),
        state.inner.config.api.oauth_state_ttl.as_secs()
    );
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
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
    let clear = format!(
        "{}=; Path=/api/social/{platform}; HttpOnly; SameSite=Lax; Max-Age=0",
        cookie_name(platform)
    );
    let mut response = finish(&state, platform, &headers, &query).await;
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
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
        return outcome(&flow, Err(failure));
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return outcome(
            &flow,
            Err(classify_callback_error(
                platform,
                "invalid_request",
                Some("the platform sent no code"),
            )),
        );
    };
    let result = connect_account(state, &flow, SecretString::from(code.clone())).await;
    outcome(&flow, result)
}

async fn connect_account(
    state: &AppState,
    flow: &OAuthState,
    code: SecretString,
) -> Result<(String, bool), PlatformFailure> {
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
    let store_error = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "could not store the connection");
        PlatformFailure::new(
            herald_domain::ErrorClass::Retryable,
            flow.platform,
            "Herald could not store the connection",
        )
        .with_herald_code(herald_domain::Code::Store)
    };
    let (connection, _) = state
        .inner
        .store
        .connections()
        .upsert(&NewConnection {
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
        })
        .await
        .map_err(|e| store_error(&e))?;
    // Page platforms post as a page the producer chooses next (GET .../pages, PUT
    // .../page): posting to the wrong Page is worse than one more step.
    let needs_page = matches!(flow.platform, Platform::Facebook | Platform::Instagram)
        || flow.app_type == Some(AppType::Company);
    tracing::info!(platform = %flow.platform, connection_id = %connection.id, "account connected");
    Ok((connection.id.to_string(), needs_page))
}

/// Redirects to `return_to` with the result, or shows it.
fn outcome(flow: &OAuthState, result: Result<(String, bool), PlatformFailure>) -> Response {
    let name = flow.platform.display_name();
    match (&flow.return_to, result) {
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
        (Some(to), Err(failure)) => {
            let mut params = vec![
                ("platform", flow.platform.as_str().to_owned()),
                ("status", "error".to_owned()),
                (
                    "error",
                    failure.code().unwrap_or_else(|| "error".to_owned()),
                ),
                ("error_description", failure.message.clone()),
            ];
            if let Some(hint) = &failure.hint {
                params.push(("hint", hint.clone()));
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
        (None, Err(failure)) => page(
            StatusCode::BAD_REQUEST,
            &format!("{name} was not connected"),
            &failure.message,
            failure.hint.as_deref(),
        ),
    }
}

fn redirect_with(to: &str, params: &[(&str, String)]) -> Response {
    match url::Url::parse(to) {
        Ok(mut url) => {
            {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in params {
                    pairs.append_pair(k, v);
                }
            }
            Redirect::to(url.as_str()).into_response()
        }
        Err(_) => page(StatusCode::BAD_REQUEST, "Invalid return address", "", None),
    }
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
