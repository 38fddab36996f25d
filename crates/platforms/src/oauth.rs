//! OAuth pieces shared by the platform modules: authorize URLs, `state`, PKCE, and token sets.
//!
//! # Why not `oauth2::Client` for the requests
//!
//! The `oauth2` crate's typed client assumes one RFC 6749 shape; these platforms each bend it:
//! Meta exchanges the code with a `GET` and answers without `token_type` guarantees, Threads
//! answers `{access_token, user_id}` (no `token_type`, which `StandardTokenResponse`
//! requires), its long-lived exchange and refresh are `GET`s with custom grant types, and X
//! wants Basic auth *and* `client_id` in the body. Bending `oauth2`'s client to each of those
//! costs more than the few form posts it would save, so token requests are plain reqwest calls
//! on the shared client (one pool, one timeout policy, one classification path). What `oauth2`
//! does well and is easy to get subtly wrong is used: [`oauth2::PkceCodeChallenge`] (S256,
//! 32 random bytes) and [`oauth2::CsrfToken`] for the `state`.

use chrono::{DateTime, TimeDelta, Utc};
use herald_config::OAuthApp;
use herald_domain::{AppType, Code, ErrorClass, Platform, PlatformFailure};
use oauth2::{CsrfToken, PkceCodeChallenge};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::classify::{Call, Operation};
use crate::hints;
use crate::http::{Http, Sent};

/// What the caller wants to connect.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub platform: Platform,
    /// LinkedIn only: which app (personal profile or Company Page). Ignored elsewhere.
    pub app_type: Option<AppType>,
    /// The `state` to send; a random one is made when `None`. Either way it is returned, and
    /// the caller stores it (single-use, short-lived) to check the callback against.
    pub state: Option<String>,
}

/// Where to send the user, and what to keep until the callback.
#[derive(Debug, Clone)]
pub struct AuthorizeUrl {
    pub url: String,
    pub state: String,
    /// X only: the PKCE verifier, to be stored sealed with the state and handed back to
    /// [`crate::Platforms::exchange_code`].
    pub pkce_verifier: Option<SecretString>,
    /// LinkedIn: the app the URL was made for (the callback must exchange with the same one).
    pub app_type: Option<AppType>,
    pub scopes: Vec<String>,
}

/// The callback's half: exchange `code` for tokens.
#[derive(Debug, Clone)]
pub struct CodeExchange {
    pub platform: Platform,
    pub app_type: Option<AppType>,
    pub code: SecretString,
    pub pkce_verifier: Option<SecretString>,
}

/// Tokens with the instants they expire, so callers refresh ahead of time.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// A new refresh token, when the platform issued one. X rotates refresh tokens: store
    /// this one and drop the old. `None` never means "forget the stored one".
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// Scopes the platform says it granted (empty when it did not say).
    pub scopes: Vec<String>,
    /// The account id, when the token endpoint names it (Threads' `user_id`).
    pub user_id: Option<String>,
}

impl TokenSet {
    /// Whether the access token expires within `margin` of `now` (never, if it has no expiry).
    pub fn expires_within(&self, now: DateTime<Utc>, margin: std::time::Duration) -> bool {
        let margin = TimeDelta::from_std(margin).unwrap_or(TimeDelta::MAX);
        self.expires_at.is_some_and(|at| {
            at <= now
                .checked_add_signed(margin)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        })
    }

    /// Requested scopes the platform did not grant (only when it listed what it granted).
    pub fn missing_scopes(&self, requested: &[String]) -> Vec<String> {
        if self.scopes.is_empty() {
            return Vec::new();
        }
        requested
            .iter()
            .filter(|s| !self.scopes.contains(s))
            .cloned()
            .collect()
    }
}

/// A token endpoint's answer, in the superset of the platforms' shapes.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: SecretString,
    #[serde(default)]
    pub(crate) expires_in: Option<Value>,
    #[serde(default)]
    pub(crate) refresh_token: Option<SecretString>,
    #[serde(default)]
    pub(crate) refresh_token_expires_in: Option<Value>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
    #[serde(default)]
    pub(crate) user_id: Option<Value>,
}

impl TokenResponse {
    pub(crate) fn into_token_set(self, now: DateTime<Utc>) -> TokenSet {
        let at = |secs: Option<Value>| {
            seconds(secs.as_ref())
                .filter(|s| *s > 0)
                .map(|s| now + TimeDelta::seconds(s))
        };
        TokenSet {
            access_token: self.access_token,
            refresh_token: self.refresh_token.filter(|t| !t.expose_secret().is_empty()),
            expires_at: at(self.expires_in),
            refresh_expires_at: at(self.refresh_token_expires_in),
            scopes: self
                .scope
                .map(|s| {
                    s.split([' ', ','])
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            user_id: self.user_id.as_ref().and_then(id_string),
        }
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse").finish_non_exhaustive()
    }
}

fn seconds(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An id the platform sent as a number or a string.
pub(crate) fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Sends a request to a token endpoint and reads the tokens it answers: the one way every
/// platform's code exchange, refresh and long-lived exchange ends, whatever shape the request
/// takes (a form `POST`, Meta's and Threads' `GET`s).
pub(crate) async fn request_tokens(
    http: &Http,
    platform: Platform,
    request: reqwest::RequestBuilder,
    operation: Operation,
) -> Result<TokenSet, PlatformFailure> {
    let reply = http.send(platform, request, Sent::Repeatable).await?;
    let reply = reply.ok_or_failure(platform, Call::new(operation))?;
    let response: TokenResponse = reply.json(platform, Sent::Repeatable)?;
    Ok(response.into_token_set(Utc::now()))
}

/// A fresh random `state`, unless the caller brought one.
pub(crate) fn state_or_new(state: Option<&String>) -> String {
    state
        .cloned()
        .unwrap_or_else(|| CsrfToken::new_random().secret().clone())
}

/// A PKCE S256 pair: the challenge for the URL, the verifier for the caller to keep.
pub(crate) fn pkce() -> (String, SecretString) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    (
        challenge.as_str().to_owned(),
        SecretString::from(verifier.secret().clone()),
    )
}

/// `base` with `params` as its query string.
pub(crate) fn url_with(
    platform: Platform,
    base: &str,
    params: &[(&str, &str)],
) -> Result<String, PlatformFailure> {
    url::Url::parse_with_params(base, params)
        .map(String::from)
        .map_err(|err| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("invalid authorize URL: {err}"),
            )
            .with_hint(hints::BAD_REQUEST_BUILD)
        })
}

/// The configured app, or a failure saying how to configure it.
pub(crate) fn configured(
    platform: Platform,
    app: Option<&OAuthApp>,
) -> Result<&OAuthApp, PlatformFailure> {
    app.ok_or_else(|| {
        PlatformFailure::new(
            ErrorClass::Permanent,
            platform,
            format!("{} is not configured", platform.display_name()),
        )
        .with_herald_code(Code::NotConfigured)
        .with_hint(hints::for_platform(hints::NOT_CONFIGURED, platform))
    })
}

/// A failure for a platform flow that does not exist (e.g. refreshing a Telegram bot token).
pub(crate) fn unsupported(platform: Platform, what: &str) -> PlatformFailure {
    PlatformFailure::new(
        ErrorClass::Permanent,
        platform,
        format!("{} does not support {what}", platform.display_name()),
    )
    .with_herald_code(Code::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_sets_carry_expiry_instants_and_granted_scopes() {
        let now = Utc::now();
        let response: TokenResponse = serde_json::from_str(
            r#"{"token_type":"bearer","expires_in":7200,"access_token":"a","scope":"tweet.read users.read","refresh_token":"r"}"#,
        )
        .unwrap();
        let set = response.into_token_set(now);
        assert_eq!(set.expires_at, Some(now + TimeDelta::seconds(7200)));
        assert!(set.expires_within(now, std::time::Duration::from_secs(7200)));
        assert!(!set.expires_within(now, std::time::Duration::from_secs(60)));
        assert_eq!(
            set.missing_scopes(&["tweet.read".into(), "tweet.write".into()]),
            vec!["tweet.write".to_owned()]
        );
        assert!(set.refresh_token.is_some());
    }

    #[test]
    fn a_token_set_never_prints_its_tokens() {
        let set: TokenResponse =
            serde_json::from_str(r#"{"access_token":"very-secret","refresh_token":"also"}"#)
                .unwrap();
        let printed = format!("{:?}", set.into_token_set(Utc::now()));
        assert!(
            !printed.contains("very-secret") && !printed.contains("also\""),
            "{printed}"
        );
    }

    #[test]
    fn pkce_challenges_are_s256_of_the_verifier() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let (challenge, verifier) = pkce();
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.expose_secret().as_bytes()));
        assert_eq!(challenge, expected);
        assert!(verifier.expose_secret().len() >= 43);
    }
}
