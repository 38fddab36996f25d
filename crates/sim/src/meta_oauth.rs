//! Meta's OAuth: the login dialog (`/facebook/{version}/dialog/oauth`, www.facebook.com) and
//! Graph's token endpoint (`/graph/{version}/oauth/access_token`) with the code exchange and
//! `fb_exchange_token`, plus `debug_token`.
//!
//! The app's credentials travel as query or form parameters (`client_id`, `client_secret`), as
//! Meta documents, or in an `Authorization: Basic base64(client_id:client_secret)` header, the
//! OAuth 2.0 client authentication the endpoint also accepts; wrong Basic credentials are
//! refused exactly like wrong parameters (101 for the app, 1 for the secret). The dialog auto-approves for a fixture user and
//! appends `#_=_` to the redirect, as Facebook does; scopes outside the app's list show the
//! "Invalid Scopes" page. The code exchange presents the dialog's redirect URI (subcode
//! 36008 otherwise), a code works once (36009) and briefly (36007), and gives a short-lived
//! user token; `fb_exchange_token` gives a 60-day token (a re-exchange of a long-lived token
//! is counted as a refresh). There is no refresh token.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::fixtures::AppPlatform;
use crate::graph::{GraphError, expired_error, is_version};
use crate::oauth::{self, AccessToken, AuthorizeRules, Lookup, Refusal, TokenKind};
use crate::request::{Params, basic, json};
use crate::state::{Platform, SharedSim};

pub(crate) async fn dialog(
    State(sim): State<SharedSim>,
    Path(version): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !is_version(&version) {
        return oauth::error_page("Sorry, this content isn't available right now");
    }
    oauth::authorize(&sim, &q, &DIALOG)
}

/// Facebook's login dialog: no scope means `public_profile`, scopes outside the app's list
/// show the "Invalid Scopes" page, and every redirect carries `#_=_`.
const DIALOG: AuthorizeRules = AuthorizeRules {
    platform: AppPlatform::Meta,
    unknown_app: "Invalid App ID: The provided app ID does not look like a valid app ID.",
    bad_redirect: "URL Blocked: This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings.",
    response_type_error: None,
    pkce: false,
    scopes: |app, mut scopes| {
        if scopes.is_empty() {
            scopes.push("public_profile".to_owned());
        }
        let invalid = oauth::unapproved_scopes(app, &scopes);
        if !invalid.is_empty() {
            return Err(Refusal::Page(format!(
                "Invalid Scopes: {}. This message is only shown to developers.",
                invalid.join(", ")
            )));
        }
        Ok(scopes)
    },
    denied: &[
        ("error", "access_denied"),
        ("error_code", "200"),
        ("error_description", "Permissions error"),
        ("error_reason", "user_denied"),
    ],
    user: |fixtures, wanted| {
        fixtures
            .facebook
            .users
            .iter()
            .find(|u| wanted.is_empty() || u.id == wanted || u.email == wanted)
            .map(|u| u.id.clone())
    },
    no_user: "No such test user.",
    fragment: "_=_",
};

fn token_response(access: &str, expires_in: Option<u64>) -> Response {
    let mut body = json!({"access_token": access, "token_type": "bearer"});
    if let Some(secs) = expires_in {
        body["expires_in"] = json!(secs);
    }
    json(StatusCode::OK, body)
}

pub(crate) fn access_token(sim: &SharedSim, headers: &HeaderMap, params: &Params) -> Response {
    let grant = params.get("grant_type").unwrap_or("authorization_code");
    sim.counters().grant(Platform::Facebook, grant);
    let now = sim.now_ms();
    let mut world = sim.world();
    let basic = basic(headers);
    // A `client_id` parameter beside Basic credentials must name the same app.
    let (client_id, client_secret) = match &basic {
        Some((id, _)) if params.get("client_id").is_some_and(|p| p != id) => ("", None),
        Some((id, secret)) => (id.as_str(), Some(secret.as_str())),
        None => (
            params.get("client_id").unwrap_or(""),
            params.get("client_secret"),
        ),
    };
    let Some(app) = world
        .fixtures
        .app(client_id)
        .filter(|a| a.platform == AppPlatform::Meta)
        .cloned()
    else {
        return GraphError::new(101, "Error validating application. Invalid application ID.")
            .into_response();
    };
    if client_secret != Some(app.client_secret.as_str()) {
        return GraphError::new(1, "Error validating client secret.").into_response();
    }
    let tokens = world.config.tokens.clone();
    match grant {
        "fb_exchange_token" => {
            let presented = params.get("fb_exchange_token").unwrap_or("");
            let user_token = match world.oauth.lookup(presented, now) {
                Lookup::Valid(t)
                    if matches!(t.kind, TokenKind::MetaUser { .. })
                        && t.client_id == app.client_id =>
                {
                    t.clone()
                }
                Lookup::Expired(t) => return expired_error(t, now).into_response(),
                _ => {
                    return GraphError::new(
                        190,
                        "Invalid OAuth access token - Cannot parse access token",
                    )
                    .token_error()
                    .into_response();
                }
            };
            if user_token.kind == (TokenKind::MetaUser { long: true }) {
                sim.counters().refresh(Platform::Facebook);
            }
            let secs = tokens.meta_long_secs;
            let access = world.oauth.issue_access(
                "EAAL",
                AccessToken {
                    kind: TokenKind::MetaUser { long: true },
                    issued_ms: now,
                    expires_ms: Some(now + secs * 1000),
                    revoked: false,
                    ..user_token
                },
            );
            token_response(&access, Some(secs))
        }
        "client_credentials" => {
            token_response(&format!("{}|{}", app.client_id, app.client_secret), None)
        }
        _ => {
            let code_value = params.get("code").unwrap_or("");
            let Some(code) = world.oauth.peek_code(code_value).cloned() else {
                return GraphError::new(100, "Invalid verification code format.")
                    .subcode(36007)
                    .into_response();
            };
            if code.platform != AppPlatform::Meta || code.client_id != app.client_id {
                return GraphError::new(100, "Invalid verification code format.")
                    .subcode(36007)
                    .into_response();
            }
            if params.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return GraphError::new(
                    100,
                    "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
                )
                .subcode(36008)
                .into_response();
            }
            match world.oauth.redeem_code(code_value, now) {
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
            let secs = tokens.meta_short_secs;
            let access = world.oauth.issue_access(
                "EAAS",
                AccessToken {
                    client_id: app.client_id,
                    user: code.user,
                    scopes: code.scopes,
                    kind: TokenKind::MetaUser { long: false },
                    issued_ms: now,
                    expires_ms: Some(now + secs * 1000),
                    revoked: false,
                },
            );
            token_response(&access, Some(secs))
        }
    }
}

pub(crate) fn debug_token(sim: &SharedSim, params: &Params) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    let input = params.get("input_token").unwrap_or("");
    let data = match world.oauth.lookup(input, now) {
        Lookup::Valid(t) | Lookup::Expired(t) | Lookup::Revoked(t) => {
            let valid = matches!(world.oauth.lookup(input, now), Lookup::Valid(_));
            let mut data = json!({
                "app_id": t.client_id,
                "application": t.client_id,
                "type": if matches!(t.kind, TokenKind::MetaPage { .. }) { "PAGE" } else { "USER" },
                "is_valid": valid,
                "issued_at": t.issued_ms / 1000,
                "expires_at": t.expires_ms.map_or(0, |e| e / 1000),
                "data_access_expires_at": (t.issued_ms / 1000) + 90 * 86_400,
                "scopes": t.scopes,
                "user_id": t.user,
            });
            if let TokenKind::MetaPage { page_id } = &t.kind {
                data["profile_id"] = json!(page_id);
            }
            data
        }
        Lookup::Unknown => json!({
            "is_valid": false,
            "error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
        }),
    };
    json(StatusCode::OK, json!({"data": data}))
}
