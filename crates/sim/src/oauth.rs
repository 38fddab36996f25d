//! The OAuth machinery the platforms share: authorization codes, access tokens and refresh
//! tokens, with the rules every platform enforces.
//!
//! - A code is single-use and short-lived, and remembers the redirect URI, scopes and PKCE
//!   challenge of its authorize call: the exchange must present the same redirect URI (and,
//!   for X, a verifier matching the challenge).
//! - An access token carries its app, user, scopes, kind (X user token, Meta short or
//!   long-lived user token, Page token, ...) and expiry. Expired and revoked tokens stay in
//!   the store so each platform can answer with its precise error (Graph's subcode 463 for
//!   expired differs from 190 without a subcode for an unknown token).
//! - Refresh tokens are single-use when the platform rotates them (X): using one consumes it
//!   and a second use is `invalid_grant`-style, which is what logs a double-refreshing client
//!   out in production.
//!
//! - Every platform's authorize page runs one path, [`authorize`]: the app must be registered
//!   with that platform, the redirect URI registered with the app, the scopes acceptable; then
//!   a fixture user approves (or `deny=1` refuses) and the browser goes back with a code. What
//!   truly differs (PKCE for X, how scopes are judged, the wording of each refusal, the
//!   fragment Facebook and Threads append) is an [`AuthorizeRules`] in the platform's module.
//!
//! How credentials are presented at the token endpoint (Basic auth, form fields, query
//! parameters) and what its errors look like is each platform module's business.

use std::collections::HashMap;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::fixtures::{AppFixture, AppPlatform, Fixtures};
use crate::request::random_token;
use crate::state::SharedSim;

/// What an access token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Twitter,
    Linkedin,
    /// A Facebook user token; `long` after `fb_exchange_token`.
    MetaUser {
        long: bool,
    },
    /// A Page token from `/me/accounts`.
    MetaPage {
        page_id: String,
    },
    /// A Threads user token; `long` after `th_exchange_token`.
    Threads {
        long: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub(crate) client_id: String,
    /// The platform user id (X id, LinkedIn sub, Facebook user id, Threads id).
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) kind: TokenKind,
    pub(crate) issued_ms: u64,
    pub(crate) expires_ms: Option<u64>,
    pub(crate) revoked: bool,
}

impl AccessToken {
    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The state of a presented access token.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    Valid(&'a AccessToken),
    Expired(&'a AccessToken),
    Revoked(&'a AccessToken),
    Unknown,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) platform: AppPlatform,
    pub(crate) client_id: String,
    pub(crate) user: String,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    /// X: the PKCE challenge and its method.
    pub(crate) challenge: Option<(String, String)>,
    pub(crate) expires_ms: u64,
    pub(crate) used: bool,
}

/// Why a code cannot be exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeError {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub(crate) client_id: String,
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_ms: u64,
    pub(crate) used: bool,
}

#[derive(Debug, Default)]
pub(crate) struct OAuthStore {
    codes: HashMap<String, AuthCode>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
}

impl OAuthStore {
    pub(crate) fn issue_code(&mut self, code: AuthCode) -> String {
        let value = random_token(40);
        self.codes.insert(value.clone(), code);
        value
    }

    /// Consumes a code: it works once, before it expires.
    pub(crate) fn redeem_code(&mut self, code: &str, now: u64) -> Result<AuthCode, CodeError> {
        let stored = self.codes.get_mut(code).ok_or(CodeError::Unknown)?;
        if stored.used {
            return Err(CodeError::Used);
        }
        if now >= stored.expires_ms {
            return Err(CodeError::Expired);
        }
        stored.used = true;
        Ok(stored.clone())
    }

    /// Looks a code up without consuming it (to check a redirect URI or client first).
    pub(crate) fn peek_code(&self, code: &str) -> Option<&AuthCode> {
        self.codes.get(code)
    }

    pub(crate) fn issue_access(&mut self, prefix: &str, token: AccessToken) -> String {
        let value = format!("{prefix}{}", random_token(72));
        self.access.insert(value.clone(), token);
        value
    }

    pub(crate) fn lookup(&self, token: &str, now: u64) -> Lookup<'_> {
        match self.access.get(token) {
            None => Lookup::Unknown,
            Some(t) if t.revoked => Lookup::Revoked(t),
            Some(t) if t.expires_ms.is_some_and(|at| now >= at) => Lookup::Expired(t),
            Some(t) => Lookup::Valid(t),
        }
    }

    pub(crate) fn issue_refresh(&mut self, prefix: &str, token: RefreshToken) -> String {
        let value = format!("{prefix}{}", random_token(72));
        self.refresh.insert(value.clone(), token);
        value
    }

    pub(crate) fn refresh_token(&self, token: &str) -> Option<&RefreshToken> {
        self.refresh.get(token)
    }

    /// Marks a refresh token used (rotation).
    pub(crate) fn consume_refresh(&mut self, token: &str) {
        if let Some(stored) = self.refresh.get_mut(token) {
            stored.used = true;
        }
    }

    /// Expires (or revokes) every access token matching the filter; returns how many.
    pub(crate) fn invalidate(
        &mut self,
        revoke: bool,
        now: u64,
        matches: impl Fn(&AccessToken) -> bool,
    ) -> usize {
        let mut count = 0;
        for token in self.access.values_mut().filter(|t| matches(t)) {
            if revoke {
                token.revoked = true;
            } else {
                token.expires_ms = Some(now.min(token.expires_ms.unwrap_or(u64::MAX)));
            }
            count += 1;
        }
        if revoke {
            for refresh in self.refresh.values_mut() {
                if self.access.values().any(|t| {
                    t.revoked && t.user == refresh.user && t.client_id == refresh.client_id
                }) {
                    refresh.used = true;
                }
            }
        }
        count
    }

    /// Revokes one token by its value, access or refresh (RFC 7009: unknown tokens are
    /// not an error).
    pub(crate) fn revoke(&mut self, token: &str) {
        if let Some(access) = self.access.get_mut(token) {
            access.revoked = true;
        }
        self.consume_refresh(token);
    }
}

/// Whether a PKCE verifier answers the challenge (RFC 7636).
pub(crate) fn pkce_matches(verifier: &str, challenge: &str, method: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return false;
    }
    if method.eq_ignore_ascii_case("plain") {
        return verifier == challenge;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
}

/// Whether the app may send users back to `redirect_uri`.
pub(crate) fn redirect_allowed(app: &AppFixture, redirect_uri: &str) -> bool {
    let Ok(url) = url::Url::parse(redirect_uri) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    app.redirect_uris.is_empty() || app.redirect_uris.iter().any(|r| r == redirect_uri)
}

/// Scopes the app may not request.
pub(crate) fn unapproved_scopes(app: &AppFixture, scopes: &[String]) -> Vec<String> {
    if app.scopes.is_empty() {
        return Vec::new();
    }
    scopes
        .iter()
        .filter(|s| !app.scopes.contains(s))
        .cloned()
        .collect()
}

/// Splits a scope list on spaces and commas.
pub(crate) fn split_scopes(raw: &str) -> Vec<String> {
    raw.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A 302 to `redirect_uri` with the parameters added to its query (and a fragment, which
/// Facebook and Threads append).
pub(crate) fn redirect_to(redirect_uri: &str, params: &[(&str, &str)], fragment: &str) -> Response {
    let location = match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (key, value) in params {
                    query.append_pair(key, value);
                }
            }
            if !fragment.is_empty() {
                url.set_fragment(Some(fragment));
            }
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    };
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// The error page a platform shows when it cannot redirect back (unknown app, bad redirect).
pub(crate) fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<!doctype html><title>Error</title><h1>Error</h1><p>{message}</p>"),
    )
        .into_response()
}

/// How an authorize call is refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The platform's own error page: it cannot (or does not) send the browser back.
    Page(String),
    /// Back to the redirect URI with `error` and `error_description` (and the state).
    Redirect(&'static str, String),
}

/// What one platform's authorize page does differently; everything else is [`authorize`].
#[derive(Debug)]
pub(crate) struct AuthorizeRules {
    /// Apps registered with this platform are the valid client ids.
    pub(crate) platform: AppPlatform,
    /// The error page for a client id no app of this platform has.
    pub(crate) unknown_app: &'static str,
    /// The error page for a redirect URI the app has not registered.
    pub(crate) bad_redirect: &'static str,
    /// The error code when `response_type` is not `code`; `None`: the parameter is not checked.
    pub(crate) response_type_error: Option<&'static str>,
    /// X: a PKCE challenge is required (`S256` or `plain`, `plain` when no method is given).
    pub(crate) pkce: bool,
    /// Judges the requested scopes for the app; the scopes the code grants, or the refusal.
    pub(crate) scopes: fn(&AppFixture, Vec<String>) -> Result<Vec<String>, Refusal>,
    /// The parameters of the redirect when the user refuses (`deny=1`), before the state.
    pub(crate) denied: &'static [(&'static str, &'static str)],
    /// The fixture user who approves: `user=` names one (by id, name or email), else the first.
    pub(crate) user: fn(&Fixtures, &str) -> Option<String>,
    /// The error page when no fixture user matches.
    pub(crate) no_user: &'static str,
    /// Appended to every redirect back (Facebook's `_=_`, Threads' `_`).
    pub(crate) fragment: &'static str,
}

/// An authorize page: checks the call against `rules`, then auto-approves for a fixture user
/// and redirects back with a single-use code that remembers the redirect URI, the scopes and
/// the PKCE challenge for the token exchange.
pub(crate) fn authorize(
    sim: &SharedSim,
    q: &HashMap<String, String>,
    rules: &AuthorizeRules,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let Some(app) = world
        .fixtures
        .app(param("client_id"))
        .filter(|a| a.platform == rules.platform)
        .cloned()
    else {
        return error_page(rules.unknown_app);
    };
    let redirect_uri = param("redirect_uri").to_owned();
    if !redirect_allowed(&app, &redirect_uri) {
        return error_page(rules.bad_redirect);
    }
    let state = param("state");
    let back = |params: &[(&str, &str)]| {
        let mut params = params.to_vec();
        params.push(("state", state));
        redirect_to(&redirect_uri, &params, rules.fragment)
    };
    let refuse = |refusal: Refusal| match refusal {
        Refusal::Page(message) => error_page(&message),
        Refusal::Redirect(error, description) => {
            back(&[("error", error), ("error_description", &description)])
        }
    };
    if let Some(error) = rules.response_type_error
        && param("response_type") != "code"
    {
        return refuse(Refusal::Redirect(
            error,
            "response_type must be code".into(),
        ));
    }
    let challenge = if rules.pkce {
        let challenge = param("code_challenge");
        let method = q
            .get("code_challenge_method")
            .map_or("plain", String::as_str);
        // X takes the method in any letter case (`s256` as well as `S256`).
        let known = method.eq_ignore_ascii_case("S256") || method.eq_ignore_ascii_case("plain");
        if challenge.is_empty() || !known {
            return refuse(Refusal::Redirect(
                "invalid_request",
                "Missing or invalid PKCE code_challenge".into(),
            ));
        }
        Some((challenge.to_owned(), method.to_owned()))
    } else {
        None
    };
    let scopes = match (rules.scopes)(&app, split_scopes(param("scope"))) {
        Ok(scopes) => scopes,
        Err(refusal) => return refuse(refusal),
    };
    if q.contains_key("deny") {
        return back(rules.denied);
    }
    let Some(user) = (rules.user)(&world.fixtures, param("user")) else {
        return error_page(rules.no_user);
    };
    let ttl = world.config.tokens.code_ttl_secs * 1000;
    let code = world.oauth.issue_code(AuthCode {
        platform: rules.platform,
        client_id: app.client_id,
        user,
        redirect_uri: redirect_uri.clone(),
        scopes,
        challenge,
        expires_ms: now + ttl,
        used: false,
    });
    back(&[("code", &code)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge, "S256"));
        assert!(!pkce_matches(verifier, "wrong", "S256"));
        assert!(!pkce_matches("short", "short", "plain"));
    }
}
