//! X's OAuth 2.0 under `/x`: `GET /i/oauth2/authorize` (x.com), `POST /2/oauth2/token` and
//! `POST /2/oauth2/revoke` (api.x.com).
//!
//! Authorize auto-approves for a fixture user (`user=` picks another, `deny=1` refuses) and
//! requires a PKCE challenge. Every token call carries `Authorization: Basic
//! base64(client_id:client_secret)`; the code grant must present the authorize call's
//! redirect URI and a verifier whose S256 hash is the challenge; codes are single-use.
//! Refresh tokens (granted with `offline.access`) rotate: each works once, and a second use
//! is `invalid_request`, which is what logs out a client that refreshes twice.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::fixtures::{AppFixture, AppPlatform};
use crate::oauth::{self, AccessToken, AuthorizeRules, RefreshToken, Refusal, TokenKind};
use crate::request::{basic, json};
use crate::state::{Platform, SharedSim, World};

/// Scopes X knows; anything else is `invalid_scope`.
const KNOWN_SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.read",
    "users.email",
    "follows.read",
    "follows.write",
    "offline.access",
    "space.read",
    "mute.read",
    "mute.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "media.write",
    "dm.read",
    "dm.write",
];

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/x/i/oauth2/authorize", get(authorize))
        .route("/x/2/oauth2/token", post(token))
        .route("/x/2/oauth2/revoke", post(revoke))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

async fn authorize(
    State(sim): State<SharedSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    oauth::authorize(&sim, &q, &AUTHORIZE)
}

/// x.com's authorize page: PKCE required, refusals go back to the client as OAuth errors.
const AUTHORIZE: AuthorizeRules = AuthorizeRules {
    platform: AppPlatform::Twitter,
    unknown_app: "Something went wrong: this app is not registered (client_id).",
    bad_redirect: "Something went wrong: the redirect_uri is not registered.",
    response_type_error: Some("unsupported_response_type"),
    pkce: true,
    scopes: judge_scopes,
    denied: &[
        ("error", "access_denied"),
        ("error_description", "The user denied the request"),
    ],
    user: |fixtures, wanted| {
        fixtures
            .twitter
            .iter()
            .find(|u| wanted.is_empty() || u.id == wanted || u.username == wanted)
            .map(|u| u.id.clone())
    },
    no_user: "No such test user.",
    fragment: "",
};

/// Scopes must be ones X knows, and ones the app may request.
fn judge_scopes(app: &AppFixture, scopes: Vec<String>) -> Result<Vec<String>, Refusal> {
    if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return Err(Refusal::Redirect(
            "invalid_scope",
            "One or more scopes are not valid".into(),
        ));
    }
    if !oauth::unapproved_scopes(app, &scopes).is_empty() {
        return Err(Refusal::Redirect(
            "invalid_scope",
            "The app may not request these scopes".into(),
        ));
    }
    Ok(scopes)
}

/// Checks the Basic credentials every token call must carry.
fn client_from_basic(world: &World, headers: &HeaderMap) -> Option<String> {
    let (id, secret) = basic(headers)?;
    world
        .fixtures
        .app(&id)
        .filter(|a| a.platform == AppPlatform::Twitter && a.client_secret == secret)
        .map(|a| a.client_id.clone())
}

async fn token(State(sim): State<SharedSim>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let grant = param("grant_type").to_owned();
    sim.counters().grant(Platform::Twitter, &grant);
    let now = sim.now_ms();
    let mut world = sim.world();
    let Some(client_id) = client_from_basic(&world, &headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    };
    if form.contains_key("client_id") && param("client_id") != client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Value passed for client_id did not match the authorization header.",
        );
    }
    match grant.as_str() {
        "authorization_code" => {
            let invalid_code = || {
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Value passed for the authorization code was invalid.",
                )
            };
            let Some(code) = world.oauth.peek_code(param("code")).cloned() else {
                return invalid_code();
            };
            if code.platform != AppPlatform::Twitter || code.client_id != client_id {
                return invalid_code();
            }
            if code.redirect_uri != param("redirect_uri") {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Value passed for the redirect uri did not match the uri of the authorization code.",
                );
            }
            let verifier_ok = code
                .challenge
                .as_ref()
                .is_some_and(|(c, m)| oauth::pkce_matches(param("code_verifier"), c, m));
            if !verifier_ok {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Value passed for the code verifier did not match the code challenge.",
                );
            }
            if world.oauth.redeem_code(param("code"), now).is_err() {
                return invalid_code();
            }
            issue_tokens(&mut world, &client_id, &code.user, code.scopes, now)
        }
        "refresh_token" => {
            let presented = param("refresh_token");
            let valid = world
                .oauth
                .refresh_token(presented)
                .filter(|r| !r.used && r.client_id == client_id && now < r.expires_ms);
            let Some(refresh) = valid.cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Value passed for the token was invalid.",
                );
            };
            // Rotation: the presented token is spent whatever happens next.
            world.oauth.consume_refresh(presented);
            issue_tokens(&mut world, &client_id, &refresh.user, refresh.scopes, now)
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        ),
    }
}

fn issue_tokens(
    world: &mut World,
    client_id: &str,
    user: &str,
    scopes: Vec<String>,
    now: u64,
) -> Response {
    let access_secs = world.config.tokens.x_access_secs;
    let refresh_secs = world.config.tokens.x_refresh_secs;
    let offline = scopes.iter().any(|s| s == "offline.access");
    let scope_text = scopes.join(" ");
    let access = world.oauth.issue_access(
        "",
        AccessToken {
            client_id: client_id.to_owned(),
            user: user.to_owned(),
            scopes: scopes.clone(),
            kind: TokenKind::Twitter,
            issued_ms: now,
            expires_ms: Some(now + access_secs * 1000),
            revoked: false,
        },
    );
    let mut body = json!({
        "token_type": "bearer",
        "expires_in": access_secs,
        "access_token": access,
        "scope": scope_text,
    });
    if offline {
        let refresh = world.oauth.issue_refresh(
            "",
            RefreshToken {
                client_id: client_id.to_owned(),
                user: user.to_owned(),
                scopes,
                expires_ms: now + refresh_secs * 1000,
                used: false,
            },
        );
        body["refresh_token"] = Value::String(refresh);
    }
    json(StatusCode::OK, body)
}

async fn revoke(State(sim): State<SharedSim>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut world = sim.world();
    if client_from_basic(&world, &headers).is_none() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    }
    let token = form.get("token").cloned().unwrap_or_default();
    world.oauth.revoke(&token);
    json(StatusCode::OK, json!({"revoked": true}))
}
