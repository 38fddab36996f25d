//! The ops dashboard at `/dashboard`: server-rendered pages for people watching jobs.
//!
//! - Sign-in takes an admin-scoped API key and opens a server-side session (a wrong key
//!   counts against the same fleet-wide failure throttles as `/v1`, [`crate::throttle`]:
//!   over them the sign-in page answers 429 with `Retry-After`): a random id in
//!   the `herald_session` cookie (HttpOnly, SameSite=Strict, Path=/dashboard, Secure when
//!   the public URL is https) that maps to the key's tenant. The key itself is not kept.
//!   Sessions live in Postgres for [`SESSION_TTL`] (only the SHA-256 of the id is stored,
//!   `herald_store::dashboard_sessions`), so they survive a restart and any API instance
//!   serves any browser. Every request reads the session joined with its key, so revoking
//!   the key signs its sessions out (an open live feed runs on until the browser
//!   reconnects); sign-out deletes the row, and each sign-in deletes the expired ones.
//! - The header names the signed-in key (its name, `herald keys create --name`), and every
//!   action is attributed to it in the deliveries' timelines.
//! - Pages: the overview (deliveries by state and platform, published in the last hour,
//!   dead and unknown counts, queue depth, and SVG charts of the last hour and day that
//!   refresh themselves), the deliveries list with filters and cursor pages, a delivery
//!   with its timeline, the posts with search ([`posts`]), the bulk actions ([`bulk`]), the
//!   schedule (a timeline per connection with the platform windows that delay it), and the
//!   connections (kind, token health, Reconnect). Without a session every page redirects to the
//!   sign-in form.
//! - Actions are POST forms (retry, resolve, cancel, the bulk actions, sign out), each
//!   carrying the session's CSRF token, checked before anything happens; SameSite=Strict
//!   stops the cookie from riding along cross-site in the first place.
//! - Live updates: a small inline script follows `/dashboard/events`, the same feed as
//!   `GET /v1/events` behind the session instead of a bearer key, and rewrites the state
//!   badges of the rows on the page. It runs by its page's nonce: every page has a
//!   Content-Security-Policy that runs nothing inline without it (`crate::security`).

mod actions;
mod bulk;
mod connections;
pub(crate) mod html;
mod list;
mod overview;
mod pages;
mod posts;
mod schedule;
mod svg;

use std::time::Duration;

use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_domain::{ApiKeyId, Scope, TenantId};
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::auth::{Peer, refuse};
use crate::error::ApiError;
use crate::throttle::Surface;

/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);
const COOKIE: &str = "herald_session";
const SIGN_IN: &str = "/dashboard/login";

/// The dashboard's routes, to be nested at `/dashboard`.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(overview::overview))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/deliveries", get(list::deliveries))
        .route("/deliveries/{id}", get(pages::delivery))
        .route("/deliveries/{id}/retry", post(actions::retry))
        .route("/deliveries/{id}/resolve", post(actions::resolve))
        .route("/deliveries/{id}/cancel", post(actions::cancel))
        .route("/overview/charts", get(overview::charts_fragment))
        .route("/posts", get(posts::list))
        .route("/posts/{id}", get(posts::post))
        .route("/bulk/retry", get(bulk::confirm_retry).post(bulk::retry))
        .route("/bulk/cancel", get(bulk::confirm_cancel).post(bulk::cancel))
        .route("/schedule", get(schedule::schedule))
        .route("/connections", get(connections::connections))
        .route("/connections/returned", get(connections::returned))
        .route("/connections/{id}/reconnect", post(connections::reconnect))
        .route("/events", get(events))
        .layer(middleware::from_fn_with_state(state, with_session))
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) tenant_id: TenantId,
    pub(crate) key_id: ApiKeyId,
    /// The key's name, if it has one.
    pub(crate) key_name: Option<String>,
    key_prefix: String,
    /// Every form of this session carries it; a POST without it is refused.
    pub(crate) csrf: String,
    id: String,
}

impl Session {
    /// Whether a form carries this session's CSRF token.
    pub(crate) fn csrf_ok(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
    }

    /// The answer to a form without this session's CSRF token.
    pub(crate) fn csrf_refused(&self) -> Response {
        html::message(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form is missing its security token or it is stale (CSRF check). \
             Reload the page and try again.",
            Some(&self.csrf),
        )
    }

    /// Who the session's actions are attributed to: the key's name, else its prefix.
    pub(crate) fn actor(&self) -> String {
        match &self.key_name {
            Some(name) => name.clone(),
            None => format!("key hrld_{}_…", self.key_prefix),
        }
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A session looked up by [`with_session`] for this request; `None` inside: no live one.
#[derive(Debug, Clone)]
struct Looked(Option<Session>);

/// Middleware: reads the request's session once (Postgres, joined with its key) for the
/// handler's [`Session`] extractor and for the page header, which names the key.
async fn with_session(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(id) = crate::auth::cookie_value(request.headers(), COOKIE) else {
        request.extensions_mut().insert(Looked(None));
        return next.run(request).await;
    };
    let found = match state.inner.store.dashboard_sessions().live(&id).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(%error, "dashboard could not read the session");
            return html::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "The session could not be checked right now; try again.",
                None,
            );
        }
    };
    let session = found.map(|s| Session {
        tenant_id: s.tenant_id,
        key_id: s.key_id,
        key_name: s.key_name,
        key_prefix: s.key_prefix,
        csrf: s.csrf,
        id,
    });
    let shown = session.as_ref().map(Session::actor);
    request.extensions_mut().insert(Looked(session));
    match shown {
        Some(name) => html::SIGNED_IN_AS.scope(name, next.run(request)).await,
        None => next.run(request).await,
    }
}

impl FromRequestParts<AppState> for Session {
    /// A redirect to the sign-in form.
    type Rejection = Response;

    /// The request's live session: known, not expired, and its key not revoked since
    /// sign-in (checked on every request, so revoking the key signs its sessions out).
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Looked>()
            .and_then(|l| l.0.clone())
            .ok_or_else(|| Redirect::to(SIGN_IN).into_response())
    }
}

fn set_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.inner.config.public_url.as_str().starts_with("https:") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("herald_session=; Path=/dashboard; Max-Age=0"))
}

async fn login_form(request: Request) -> Response {
    match request.extensions().get::<Looked>() {
        Some(Looked(Some(_))) => Redirect::to("/dashboard").into_response(),
        _ => html::sign_in(StatusCode::OK, None),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    key: String,
}

async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    // No session yet, so no CSRF token: a browser's own word that the form came from
    // another site is enough to refuse (login CSRF).
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return html::sign_in(
            StatusCode::FORBIDDEN,
            Some("Sign in from the dashboard's own page."),
        );
    }
    let key = form.key.trim();
    let found = if key.is_empty() {
        Ok(None)
    } else {
        state.inner.store.api_keys().authenticate(key).await
    };
    let key = match found {
        Ok(Some(key)) => key,
        Ok(None) => {
            let client = state.inner.throttle.client(peer, &headers);
            return match refuse(&state, client, Surface::Dashboard).await {
                ApiError::AuthThrottled { retry_after_secs } => {
                    let mut response = html::sign_in(
                        StatusCode::TOO_MANY_REQUESTS,
                        Some(&format!(
                            "Too many failed sign-ins from this address: \
                             try again in {retry_after_secs} s."
                        )),
                    );
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                    response
                }
                _ => html::sign_in(
                    StatusCode::UNAUTHORIZED,
                    Some("That API key is not valid (unknown or revoked)."),
                ),
            };
        }
        Err(error) => {
            tracing::warn!(%error, "dashboard sign-in could not check the key");
            return html::sign_in(
                StatusCode::SERVICE_UNAVAILABLE,
                Some("The key could not be checked right now; try again."),
            );
        }
    };
    if !key.scopes.contains(&Scope::Admin) {
        return html::sign_in(
            StatusCode::FORBIDDEN,
            Some("That key is valid but not admin-scoped: the dashboard needs an admin key."),
        );
    }
    let id = random_token();
    if let Err(error) = state
        .inner
        .store
        .dashboard_sessions()
        .open(&id, key.tenant_id, key.key_id, &random_token(), SESSION_TTL)
        .await
    {
        tracing::warn!(%error, "dashboard sign-in could not record the session");
        return html::sign_in(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("The session could not be recorded right now; try again."),
        );
    }
    let max_age = SESSION_TTL.as_secs();
    let mut response = Redirect::to("/dashboard").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, &id, max_age));
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return session.csrf_refused();
    }
    if let Err(error) = state
        .inner
        .store
        .dashboard_sessions()
        .close(&session.id)
        .await
    {
        return pages::failed(&session, "end the session", &error);
    }
    let mut response = Redirect::to(SIGN_IN).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, "", 0));
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    after: Option<String>,
}

/// The tenant's delivery events, as `GET /v1/events` serves them.
async fn events(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Response {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let after = last
        .or_else(|| query.after.and_then(|a| a.trim().parse().ok()))
        .unwrap_or(0)
        .max(0);
    let Some(slot) = state.inner.streams.take(session.key_id) else {
        state.inner.metrics.stream_refused();
        let mut response = html::message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many live feeds",
            "This key already has as many live feeds open as it may; close a tab.",
            None,
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::error::STREAMS_RETRY_AFTER_SECS),
        );
        return response;
    };
    let stream = crate::events::feed(state, session.tenant_id, after, slot);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
