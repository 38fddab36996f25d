//! Threads OAuth: `threads.net/oauth/authorize`, the code exchange at
//! `graph.threads.net/oauth/access_token` (`{access_token, user_id}`, a one-hour token),
//! `GET /access_token?grant_type=th_exchange_token` (60 days) and
//! `GET /refresh_access_token?grant_type=th_refresh_token` (a long-lived token at least a day
//! old and not expired). The authorize redirect carries `#_`, as Threads' does. Errors have
//! Graph's shape.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::fixtures::AppPlatform;
use crate::graph::GraphError;
use crate::oauth::{self, AccessToken, AuthorizeRules, Lookup, Refusal, TokenKind};
use crate::request::json;
use crate::state::{Platform, SharedSim, World, graph_human_time};

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/threads/oauth/authorize", get(authorize))
        .route(
            "/threads/oauth/access_token",
            post(access_token).get(access_token),
        )
        .route("/threads/access_token", get(exchange))
        .route("/threads/refresh_access_token", get(refresh))
}

async fn authorize(
    State(sim): State<SharedSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    oauth::authorize(&sim, &q, &AUTHORIZE)
}

/// threads.net's authorize page: bad scopes show a page, and every redirect carries `#_`.
const AUTHORIZE: AuthorizeRules = AuthorizeRules {
    platform: AppPlatform::Threads,
    unknown_app: "Invalid App ID.",
    bad_redirect: "URL Blocked: the redirect URI is not whitelisted in the app's settings.",
    response_type_error: None,
    pkce: false,
    scopes: |app, scopes| {
        let invalid = oauth::unapproved_scopes(app, &scopes);
        if scopes.is_empty() || !invalid.is_empty() {
            return Err(Refusal::Page(format!(
                "Invalid Scopes: {}.",
                invalid.join(", ")
            )));
        }
        Ok(scopes)
    },
    denied: &[
        ("error", "access_denied"),
        ("error_reason", "user_denied"),
        ("error_description", "Permissions error"),
    ],
    user: |fixtures, wanted| {
        fixtures
            .threads
            .iter()
            .find(|u| wanted.is_empty() || u.id == wanted || u.username == wanted)
            .map(|u| u.id.clone())
    },
    no_user: "No such test user.",
    fragment: "_",
};

async fn access_token(
    State(sim): State<SharedSim>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut form = q;
    form.extend(url::form_urlencoded::parse(&body).into_owned());
    let param = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    sim.counters().grant(Platform::Threads, param("grant_type"));
    let now = sim.now_ms();
    let mut world = sim.world();
    let Some(app) = world
        .fixtures
        .app(param("client_id"))
        .filter(|a| a.platform == AppPlatform::Threads)
        .cloned()
    else {
        return GraphError::new(101, "Error validating application. Invalid application ID.")
            .into_response();
    };
    if param("client_secret") != app.client_secret {
        return GraphError::new(1, "Error validating client secret.").into_response();
    }
    if param("grant_type") != "authorization_code" {
        return GraphError::new(100, "Unsupported grant_type").into_response();
    }
    let Some(code) = world
        .oauth
        .peek_code(param("code"))
        .cloned()
        .filter(|c| c.platform == AppPlatform::Threads && c.client_id == app.client_id)
    else {
        return GraphError::new(100, "Invalid verification code format.")
            .subcode(36007)
            .into_response();
    };
    if code.redirect_uri != param("redirect_uri") {
        return GraphError::new(
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        )
        .subcode(36008)
        .into_response();
    }
    match world.oauth.redeem_code(param("code"), now) {
        Ok(_) => {}
        Err(oauth::CodeError::Used) => {
            return GraphError::new(100, "This authorization code has been used.")
                .subcode(36009)
                .into_response();
        }
        Err(_) => {
            return GraphError::new(100, "This authorization code has expired.")
                .subcode(36007)
                .into_response();
        }
    }
    let secs = world.config.tokens.threads_short_secs;
    let access = world.oauth.issue_access(
        "THAAS",
        AccessToken {
            client_id: app.client_id,
            user: code.user.clone(),
            scopes: code.scopes,
            kind: TokenKind::Threads { long: false },
            issued_ms: now,
            expires_ms: Some(now + secs * 1000),
            revoked: false,
        },
    );
    let user_id: Value = code
        .user
        .parse::<u64>()
        .map_or_else(|_| json!(code.user), |n| json!(n));
    json(
        StatusCode::OK,
        json!({"access_token": access, "user_id": user_id}),
    )
}

/// The presented Threads token, or Graph's token error.
pub(crate) fn threads_token(
    world: &World,
    presented: Option<&str>,
    now: u64,
) -> Result<AccessToken, GraphError> {
    let Some(token) = presented.filter(|t| !t.is_empty()) else {
        return Err(GraphError::new(
            2500,
            "An active access token must be used to query information about the current user.",
        ));
    };
    let threads = |t: &AccessToken| matches!(t.kind, TokenKind::Threads { .. });
    match world.oauth.lookup(token, now) {
        Lookup::Valid(t) if threads(t) => Ok(t.clone()),
        Lookup::Expired(t) if threads(t) => Err(GraphError::new(
            190,
            format!(
                "Error validating access token: Session has expired on {}. The current time is {}.",
                graph_human_time(t.expires_ms.unwrap_or(now)),
                graph_human_time(now)
            ),
        )
        .subcode(463)),
        Lookup::Revoked(t) if threads(t) => Err(GraphError::new(
            190,
            "Error validating access token: The user has not authorized application.",
        )
        .subcode(458)),
        _ => Err(GraphError::new(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        )),
    }
}

fn long_lived(world: &mut World, from: AccessToken, now: u64) -> Response {
    let secs = world.config.tokens.threads_long_secs;
    let access = world.oauth.issue_access(
        "THAAL",
        AccessToken {
            kind: TokenKind::Threads { long: true },
            issued_ms: now,
            expires_ms: Some(now + secs * 1000),
            revoked: false,
            ..from
        },
    );
    json(
        StatusCode::OK,
        json!({"access_token": access, "token_type": "bearer", "expires_in": secs}),
    )
}

async fn exchange(
    State(sim): State<SharedSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    sim.counters().grant(Platform::Threads, param("grant_type"));
    let now = sim.now_ms();
    let mut world = sim.world();
    if param("grant_type") != "th_exchange_token" {
        return GraphError::new(100, "Unsupported grant_type: expected th_exchange_token")
            .into_response();
    }
    let token = match threads_token(&world, Some(param("access_token")), now) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let secret_ok = world
        .fixtures
        .app(&token.client_id)
        .is_some_and(|a| a.client_secret == param("client_secret"));
    if !secret_ok {
        return GraphError::new(1, "Error validating client secret.").into_response();
    }
    if token.kind != (TokenKind::Threads { long: false }) {
        return GraphError::new(
            190,
            "Error validating access token: the token is not a short-lived token.",
        )
        .into_response();
    }
    long_lived(&mut world, token, now)
}

async fn refresh(
    State(sim): State<SharedSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    sim.counters().grant(Platform::Threads, param("grant_type"));
    let now = sim.now_ms();
    let mut world = sim.world();
    if param("grant_type") != "th_refresh_token" {
        return GraphError::new(100, "Unsupported grant_type: expected th_refresh_token")
            .into_response();
    }
    let token = match threads_token(&world, Some(param("access_token")), now) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    if token.kind != (TokenKind::Threads { long: true }) {
        return GraphError::new(
            190,
            "Error validating access token: only long-lived tokens can be refreshed.",
        )
        .into_response();
    }
    let min_age = world.config.tokens.threads_refresh_min_age_secs * 1000;
    if now < token.issued_ms + min_age {
        return GraphError::new(
            100,
            "The access token cannot be refreshed yet: it must be at least 24 hours old.",
        )
        .into_response();
    }
    long_lived(&mut world, token, now)
}
