//! Classification: every non-2xx answer of every platform becomes a [`PlatformFailure`] with a
//! class (what the worker does next), the platform's own code and message, a hint (what a
//! person does about it, from `hints.rs`) and, for rate limits, when the window frees.
//!
//! The functions here are pure (status, headers, body and the current time in; a failure
//! out) so the table in `tests/troubleshooting.rs` can pin each documented case without a
//! server. Transport failures (no answer at all) are classified in `http.rs`.
//!
//! The error shapes each platform documents:
//!
//! | Platform | Body | Notable codes |
//! |---|---|---|
//! | OAuth token endpoints | `{error, error_description}` | invalid_grant, invalid_client, redirect_uri |
//! | X | problem `{title, detail, type, status, errors?}` (legacy `{errors:[{code,message}]}`) | 401, 403 duplicate / tier / read-only, 429 + reset headers |
//! | LinkedIn | `{status, serviceErrorCode, code?, message, errorDetails?}` | 65600/65601, 101/429, 422 DUPLICATE_POST, 426, ACCESS_DENIED |
//! | Graph (Facebook, Instagram, Threads) | `{error:{message, type, code, error_subcode, error_user_msg}}` | 1/2, 4/17/32/613/80001+, 10/200-299, 190+subcodes, 368, 506, 9007/2207xxx |
//! | Telegram | `{ok:false, error_code, description, parameters?}` | 400, 401, 403, 404, 429 retry_after |

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use herald_domain::{Code, ErrorClass, Platform, PlatformFailure};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::hints::{self, for_platform};
use crate::rate::{self, META_DEFAULT_BACK_OFF};

/// What kind of call failed: the same status means different things for different calls (an
/// `invalid_grant` is an expired code on exchange but a dead connection on refresh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Operation {
    /// Exchanging an authorization code for tokens.
    CodeExchange,
    /// Refreshing (or extending) a token.
    Refresh,
    /// Identity and target discovery while connecting.
    Connect,
    /// Uploading media or creating a container.
    Media,
    /// The call that makes a post visible.
    Publish,
    /// Read-back and status polling.
    #[default]
    Read,
}

/// The context a failure is classified in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Call {
    pub operation: Operation,
    /// The publish carried media (X's tier 403 only applies then).
    pub with_media: bool,
    /// The call acts for an organization / Company Page (LinkedIn's ACCESS_DENIED hint).
    pub organization: bool,
}

impl Call {
    pub const fn new(operation: Operation) -> Self {
        Self {
            operation,
            with_media: false,
            organization: false,
        }
    }

    pub const fn with_media(mut self, with_media: bool) -> Self {
        self.with_media = with_media;
        self
    }

    pub const fn for_organization(mut self, organization: bool) -> Self {
        self.organization = organization;
        self
    }
}

/// Classifies a platform's non-2xx answer.
pub fn classify_response(
    platform: Platform,
    call: Call,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now: DateTime<Utc>,
) -> PlatformFailure {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if matches!(call.operation, Operation::CodeExchange | Operation::Refresh)
        && let Some(error) = json.get("error").and_then(Value::as_str)
    {
        let description = json.get("error_description").and_then(Value::as_str);
        return oauth_error(platform, call.operation, error, description).with_status(status);
    }
    let failure = match platform {
        Platform::Twitter => twitter(call, status, headers, &json, body, now),
        Platform::Linkedin => linkedin(call, status, headers, &json, body, now),
        Platform::Facebook | Platform::Instagram | Platform::Threads => {
            let failure = graph(platform, status, headers, &json, body, now);
            if platform == Platform::Threads
                && call.operation == Operation::Connect
                && failure.class == ErrorClass::Permanent
            {
                failure.with_hint(hints::THREADS_NO_ACCOUNT)
            } else {
                failure
            }
        }
        Platform::Telegram => telegram(status, &json, body, now),
    }
    .with_status(status);
    if failure.class == ErrorClass::Retryable && failure.retry_at.is_none() {
        return match retry_after(headers, now) {
            Some(at) => failure.with_retry_at(at),
            None => failure,
        };
    }
    failure
}

/// A connection that can post nowhere: no Facebook Page, no Instagram business account, no
/// LinkedIn organization (the troubleshooting entries "No pages shown", "No Instagram account found").
pub fn no_targets(platform: Platform) -> PlatformFailure {
    let (code, message, hint) = match platform {
        Platform::Facebook => (
            Code::NoPages,
            "no Facebook Pages were returned for this account",
            hints::FACEBOOK_NO_PAGES,
        ),
        Platform::Instagram => (
            Code::NoInstagramAccount,
            "no Instagram business account is linked to this account's Pages",
            hints::INSTAGRAM_NO_ACCOUNT,
        ),
        Platform::Linkedin => (
            Code::NoOrganizations,
            "the member administers no LinkedIn organization this app can see",
            hints::LINKEDIN_COMPANY_ACCESS,
        ),
        Platform::Threads => (
            Code::NoThreadsAccount,
            "no Threads profile was found for this account",
            hints::THREADS_NO_ACCOUNT,
        ),
        Platform::Twitter | Platform::Telegram => (
            Code::NoTargets,
            "the account has nowhere to post",
            hints::MISSING_SCOPES,
        ),
    };
    PlatformFailure::new(ErrorClass::Permanent, platform, message)
        .with_herald_code(code)
        .with_hint(hint)
}

/// Classifies an error the platform sent back to the OAuth callback (`?error=...`), e.g. a
/// declined consent, LinkedIn's `unauthorized_scope_error` or Meta's "Invalid Scopes".
pub fn classify_callback_error(
    platform: Platform,
    error: &str,
    description: Option<&str>,
) -> PlatformFailure {
    oauth_error(platform, Operation::CodeExchange, error, description)
}

fn oauth_error(
    platform: Platform,
    operation: Operation,
    error: &str,
    description: Option<&str>,
) -> PlatformFailure {
    let message = match description {
        Some(d) if !d.is_empty() => format!("{error}: {d}"),
        _ => error.to_owned(),
    };
    let text = message.to_ascii_lowercase();
    let failure =
        |class| PlatformFailure::new(class, platform, message.clone()).with_platform_code(error);
    if text.contains("redirect_uri") || text.contains("redirect uri") {
        let hint = if platform == Platform::Linkedin {
            hints::LINKEDIN_REDIRECT_URI_MISMATCH.to_owned()
        } else {
            for_platform(hints::REDIRECT_URI_MISMATCH, platform)
        };
        return failure(ErrorClass::Permanent).with_hint(hint);
    }
    if let Some(hint) = scope_hint(platform, &text) {
        return failure(ErrorClass::Permanent).with_hint(hint);
    }
    match error {
        "invalid_grant" if operation == Operation::Refresh => {
            failure(ErrorClass::ReconnectRequired).with_hint(hints::REFRESH_REJECTED)
        }
        "invalid_grant" => failure(ErrorClass::Permanent).with_hint(hints::CODE_EXPIRED),
        "invalid_client" | "unauthorized_client" => {
            let mut hint = for_platform(hints::INVALID_CLIENT, platform);
            if platform == Platform::Linkedin {
                hint.push_str(
                    " (LINKEDIN_COMPANY_CLIENT_ID and LINKEDIN_COMPANY_CLIENT_SECRET for the \
                     company app)",
                );
            }
            failure(ErrorClass::Permanent).with_hint(hint)
        }
        "access_denied" | "user_cancelled_login" | "user_cancelled_authorize" => {
            failure(ErrorClass::Permanent).with_hint(hints::ACCESS_DENIED_BY_USER)
        }
        "temporarily_unavailable" | "server_error" => {
            failure(ErrorClass::Retryable).with_hint(hints::SERVER_ERROR)
        }
        _ if operation == Operation::Refresh => {
            failure(ErrorClass::ReconnectRequired).with_hint(hints::REFRESH_REJECTED)
        }
        _ => failure(ErrorClass::Permanent),
    }
}

/// The hint for a scope problem, if `text` (lowercase) is one.
fn scope_hint(platform: Platform, text: &str) -> Option<String> {
    let about_scopes = text.contains("invalid scope")
        || text.contains("invalid_scope")
        || text.contains("unauthorized_scope");
    if !about_scopes {
        return None;
    }
    let hint = match platform {
        Platform::Linkedin if text.contains("organization") => hints::LINKEDIN_COMPANY_ACCESS,
        Platform::Linkedin => hints::LINKEDIN_SHARE_PRODUCT,
        Platform::Instagram => hints::INSTAGRAM_INVALID_SCOPES,
        Platform::Facebook if text.contains("instagram") => hints::INSTAGRAM_INVALID_SCOPES,
        Platform::Facebook => hints::FACEBOOK_INVALID_SCOPES,
        _ => hints::MISSING_SCOPES,
    };
    Some(hint.to_owned())
}

fn status_fallback(platform: Platform, status: u16, message: String) -> PlatformFailure {
    let failure = PlatformFailure::new(
        if status >= 500 {
            ErrorClass::Retryable
        } else {
            ErrorClass::Permanent
        },
        platform,
        message,
    )
    .with_status(status);
    if status >= 500 {
        failure.with_hint(hints::SERVER_ERROR)
    } else {
        failure
    }
}

/// `failure` with the platform's numeric code, when it gave one.
fn with_numeric_code(failure: PlatformFailure, code: Option<i64>) -> PlatformFailure {
    match code {
        Some(code) => failure.with_platform_code(code.to_string()),
        None => failure,
    }
}

fn text_of(body: &str, status: u16) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        format!("HTTP {status}")
    } else {
        trimmed.chars().take(300).collect()
    }
}

fn str_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn int_at(value: &Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<i64>() {
        return Some(now + TimeDelta::seconds(secs.max(0)));
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

// ---------------------------------------------------------------------------------------------
// X

fn twitter(
    call: Call,
    status: u16,
    headers: &HeaderMap,
    json: &Value,
    body: &str,
    now: DateTime<Utc>,
) -> PlatformFailure {
    let p = Platform::Twitter;
    let legacy = json
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first());
    let message = str_at(json, "detail")
        .or_else(|| str_at(json, "title"))
        .or_else(|| legacy.and_then(|e| str_at(e, "message")))
        .map_or_else(|| text_of(body, status), str::to_owned);
    // X v2 answers with the HTTP status alone; the legacy shape adds its own number.
    let code = legacy.and_then(|e| int_at(e, "code"));
    let problem = str_at(json, "type").unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let failure = |class| with_numeric_code(PlatformFailure::new(class, p, message.clone()), code);

    if status == 429 || problem.ends_with("rate-limit-exceeded") || code == Some(88) {
        let seen = rate::observe(p, headers, now);
        let at = [seen.user_daily, seen.app_daily, seen.window]
            .iter()
            .flatten()
            .filter_map(|w| w.exhausted_until())
            .max()
            .or_else(|| seen.window.and_then(|w| w.resets_at))
            .filter(|at| *at > now)
            .unwrap_or(now + TimeDelta::minutes(15));
        return failure(ErrorClass::RateLimited)
            .with_hint(hints::X_RATE_LIMIT)
            .with_retry_at(at);
    }
    if status == 401 {
        return failure(ErrorClass::ReconnectRequired).with_hint(hints::X_UNAUTHORIZED);
    }
    if status == 403 {
        if lower.contains("duplicate") || code == Some(187) {
            return failure(ErrorClass::Permanent).with_hint(hints::X_DUPLICATE);
        }
        if is_read_only(headers) {
            return failure(ErrorClass::Permanent).with_hint(hints::X_READ_ONLY);
        }
        if lower.contains("reply to this conversation is not allowed") {
            return failure(ErrorClass::Permanent).with_hint(hints::X_REPLY_NOT_SUMMONED);
        }
        if call.operation == Operation::Publish && call.with_media {
            return failure(ErrorClass::Permanent)
                .with_herald_code(Code::MediaNotAllowed)
                .with_hint(hints::X_MEDIA_TIER);
        }
        if lower.contains("scope") {
            return failure(ErrorClass::Permanent).with_hint(hints::MISSING_SCOPES);
        }
        return failure(ErrorClass::Permanent).with_hint(hints::X_FORBIDDEN);
    }
    with_numeric_code(status_fallback(p, status, message), code)
}

/// X's `x-access-level` header: `read`, `read-write` or `read-write-directmessages`.
pub(crate) fn is_read_only(headers: &HeaderMap) -> bool {
    headers
        .get("x-access-level")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|level| !level.contains("write"))
}

/// Whether an X 403 on a post with media is the tier refusing media (the documented fallback
/// case), as opposed to duplicate content or missing permissions.
pub(crate) fn is_x_media_refusal(failure: &PlatformFailure) -> bool {
    failure.platform == Platform::Twitter
        && failure.class == ErrorClass::Permanent
        && failure.herald_code == Some(Code::MediaNotAllowed)
}

// ---------------------------------------------------------------------------------------------
// LinkedIn

fn linkedin(
    call: Call,
    status: u16,
    headers: &HeaderMap,
    json: &Value,
    body: &str,
    now: DateTime<Utc>,
) -> PlatformFailure {
    let p = Platform::Linkedin;
    let message = str_at(json, "message").map_or_else(|| text_of(body, status), str::to_owned);
    let service = int_at(json, "serviceErrorCode");
    let named = str_at(json, "code");
    let input_codes: Vec<&str> = json
        .pointer("/errorDetails/inputErrors")
        .and_then(Value::as_array)
        .map(|errors| errors.iter().filter_map(|e| str_at(e, "code")).collect())
        .unwrap_or_default();
    let code = service
        .map(|c| c.to_string())
        .or_else(|| named.map(str::to_owned));
    let lower = message.to_ascii_lowercase();
    let failure = |class| {
        let failure = PlatformFailure::new(class, p, message.clone());
        match &code {
            Some(code) => failure.with_platform_code(code.clone()),
            None => failure,
        }
    };

    if matches!(service, Some(65_600..=65_602))
        || status == 401
        || matches!(
            named,
            Some("REVOKED_ACCESS_TOKEN" | "EXPIRED_ACCESS_TOKEN" | "INVALID_ACCESS_TOKEN")
        )
    {
        return failure(ErrorClass::ReconnectRequired).with_hint(hints::LINKEDIN_TOKEN);
    }
    if status == 429 || service == Some(101) {
        let at = retry_after(headers, now).unwrap_or_else(|| next_utc_midnight(now));
        return failure(ErrorClass::RateLimited)
            .with_hint(hints::LINKEDIN_THROTTLED)
            .with_retry_at(at);
    }
    if status == 426 {
        return failure(ErrorClass::Permanent).with_hint(hints::LINKEDIN_VERSION);
    }
    if input_codes.contains(&"DUPLICATE_POST") || named == Some("DUPLICATE_POST") {
        return PlatformFailure::new(ErrorClass::Permanent, p, message)
            .with_platform_code("DUPLICATE_POST")
            .with_hint(hints::LINKEDIN_DUPLICATE);
    }
    if is_linkedin_media_rejection(&message) {
        return failure(ErrorClass::Permanent).with_hint(hints::LINKEDIN_MEDIA_REJECTED);
    }
    if lower.contains("unauthorized_scope") || lower.contains("w_member_social") {
        return failure(ErrorClass::Permanent).with_hint(
            scope_hint(p, &format!("unauthorized_scope {lower}"))
                .unwrap_or_else(|| hints::LINKEDIN_SHARE_PRODUCT.to_owned()),
        );
    }
    if status == 403 || named == Some("ACCESS_DENIED") || lower.contains("access_denied") {
        let company = call.organization || lower.contains("organization");
        return failure(ErrorClass::Permanent).with_hint(if company {
            hints::LINKEDIN_COMPANY_ACCESS
        } else {
            hints::LINKEDIN_ACCESS_DENIED
        });
    }
    let fallback = status_fallback(p, status, message);
    match code {
        Some(code) => fallback.with_platform_code(code),
        None => fallback,
    }
}

/// "ShareMedia.media (URN) is missing": LinkedIn rejected the media URN of a post.
pub(crate) fn is_linkedin_media_rejection(message: &str) -> bool {
    message.contains("ShareMedia.media") || message.contains("(URN) is missing")
}

fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .succ_opt()
        .map(|day| Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)))
        .unwrap_or(now + TimeDelta::hours(24))
}

// ---------------------------------------------------------------------------------------------
// Graph: Facebook, Instagram, Threads

fn graph(
    platform: Platform,
    status: u16,
    headers: &HeaderMap,
    json: &Value,
    body: &str,
    now: DateTime<Utc>,
) -> PlatformFailure {
    let error = json.get("error").unwrap_or(&Value::Null);
    let base = str_at(error, "message").map_or_else(|| text_of(body, status), str::to_owned);
    let message = match str_at(error, "error_user_msg") {
        Some(user) if !user.is_empty() && user != base => format!("{base} ({user})"),
        _ => base,
    };
    let code = int_at(error, "code");
    let sub = int_at(error, "error_subcode");
    let code_text = match (code, sub) {
        (Some(c), Some(s)) => Some(format!("{c}/{s}")),
        (Some(c), None) => Some(c.to_string()),
        _ => None,
    };
    let lower = message.to_ascii_lowercase();
    let failure = |class| {
        let failure = PlatformFailure::new(class, platform, message.clone());
        match &code_text {
            Some(code) => failure.with_platform_code(code.clone()),
            None => failure,
        }
    };

    if lower.contains("invalid scopes") || lower.contains("invalid scope") {
        let hint = scope_hint(platform, &lower).unwrap_or_else(|| hints::MISSING_SCOPES.into());
        return failure(ErrorClass::Permanent).with_hint(hint);
    }
    match (code, sub) {
        (_, Some(2_207_042)) => {
            return failure(ErrorClass::RateLimited)
                .with_hint(hints::INSTAGRAM_DAILY_LIMIT)
                .with_retry_at(now + TimeDelta::hours(1));
        }
        (Some(9007), _) | (_, Some(2_207_027)) => {
            return failure(ErrorClass::Retryable).with_hint(hints::INSTAGRAM_NOT_READY);
        }
        (_, Some(2_207_003)) => {
            return failure(ErrorClass::Retryable).with_hint(hints::INSTAGRAM_DOWNLOAD_TIMEOUT);
        }
        (_, Some(2_207_001)) => {
            return failure(ErrorClass::Permanent).with_hint(hints::INSTAGRAM_SPAM);
        }
        (_, Some(2_207_004 | 2_207_005 | 2_207_009)) => {
            return failure(ErrorClass::Permanent).with_hint(hints::INSTAGRAM_IMAGE_INVALID);
        }
        (_, Some(2_207_010)) => {
            return failure(ErrorClass::Permanent).with_hint(hints::INSTAGRAM_CAPTION);
        }
        (_, Some(2_207_020)) => {
            return failure(ErrorClass::Permanent).with_hint(hints::INSTAGRAM_CONTAINER_EXPIRED);
        }
        (Some(9004), _) | (_, Some(2_207_052)) => {
            return failure(ErrorClass::Permanent).with_hint(hints::INSTAGRAM_IMAGE_URL);
        }
        _ => {}
    }
    match code {
        Some(1 | 2) => failure(ErrorClass::Retryable).with_hint(hints::META_TRANSIENT),
        Some(4 | 17 | 32 | 613) | Some(80_000..=80_014) => {
            let seen = rate::observe(platform, headers, now);
            let at = seen
                .regain_access_at
                .filter(|at| *at > now)
                .unwrap_or(now + META_DEFAULT_BACK_OFF);
            failure(ErrorClass::RateLimited)
                .with_hint(hints::META_RATE_LIMIT)
                .with_retry_at(at)
        }
        Some(190 | 102) => {
            let hint = match sub {
                Some(458) => hints::META_APP_REMOVED,
                Some(459) => hints::META_CHECKPOINT,
                Some(460) => hints::META_PASSWORD_CHANGED,
                Some(464) => hints::META_UNCONFIRMED,
                Some(492) => hints::META_NO_PAGE_ROLE,
                _ if platform == Platform::Threads => hints::THREADS_TOKEN,
                _ => hints::META_TOKEN,
            };
            failure(ErrorClass::ReconnectRequired).with_hint(hint)
        }
        Some(10 | 200..=299) => {
            let hint = match platform {
                Platform::Instagram => hints::INSTAGRAM_PERMISSION,
                Platform::Facebook => hints::FACEBOOK_PERMISSION,
                _ => hints::MISSING_SCOPES,
            };
            failure(ErrorClass::Permanent).with_hint(hint)
        }
        Some(368) => failure(ErrorClass::Permanent).with_hint(hints::META_POLICY_BLOCK),
        Some(506) => failure(ErrorClass::Permanent).with_hint(hints::META_DUPLICATE),
        _ if error.get("is_transient").and_then(Value::as_bool) == Some(true) => {
            failure(ErrorClass::Retryable).with_hint(hints::META_TRANSIENT)
        }
        _ if status == 429 => failure(ErrorClass::RateLimited)
            .with_hint(hints::META_RATE_LIMIT)
            .with_retry_at(retry_after(headers, now).unwrap_or(now + META_DEFAULT_BACK_OFF)),
        _ if status == 401 => failure(ErrorClass::ReconnectRequired).with_hint(hints::META_TOKEN),
        _ if status == 403 => failure(ErrorClass::Permanent).with_hint(match platform {
            Platform::Instagram => hints::INSTAGRAM_PERMISSION,
            Platform::Facebook => hints::FACEBOOK_PERMISSION,
            _ => hints::MISSING_SCOPES,
        }),
        _ if status >= 500 => failure(ErrorClass::Retryable).with_hint(hints::SERVER_ERROR),
        _ => failure(ErrorClass::Permanent),
    }
}

// ---------------------------------------------------------------------------------------------
// Telegram

fn telegram(status: u16, json: &Value, body: &str, now: DateTime<Utc>) -> PlatformFailure {
    let p = Platform::Telegram;
    let given = int_at(json, "error_code");
    let code = given.unwrap_or(i64::from(status));
    let message = str_at(json, "description").map_or_else(|| text_of(body, status), str::to_owned);
    let lower = message.to_ascii_lowercase();
    let parameters = json.get("parameters").unwrap_or(&Value::Null);
    let failure = |class| with_numeric_code(PlatformFailure::new(class, p, message.clone()), given);

    if let Some(secs) = int_at(parameters, "retry_after") {
        return failure(ErrorClass::RateLimited)
            .with_hint(hints::TELEGRAM_RATE)
            .with_retry_at(now + TimeDelta::seconds(secs.max(1)));
    }
    if let Some(new_id) = int_at(parameters, "migrate_to_chat_id") {
        return failure(ErrorClass::Permanent)
            .with_hint(format!("{} (new id: {new_id})", hints::TELEGRAM_MIGRATED));
    }
    match code {
        429 => failure(ErrorClass::RateLimited)
            .with_hint(hints::TELEGRAM_RATE)
            .with_retry_at(now + TimeDelta::seconds(1)),
        401 | 404 => failure(ErrorClass::ReconnectRequired).with_hint(hints::TELEGRAM_BAD_TOKEN),
        403 => failure(ErrorClass::Permanent).with_hint(hints::TELEGRAM_NOT_ADMIN),
        413 => failure(ErrorClass::Permanent).with_hint(hints::TELEGRAM_TOO_LARGE),
        400 if lower.contains("too long") => {
            failure(ErrorClass::Permanent).with_hint(hints::TELEGRAM_TOO_LONG)
        }
        400 if lower.contains("video") => {
            failure(ErrorClass::Permanent).with_hint(hints::TELEGRAM_VIDEO)
        }
        400 if lower.contains("http url") || lower.contains("wrong file") => {
            failure(ErrorClass::Permanent).with_hint(hints::TELEGRAM_PHOTO_URL)
        }
        400 if lower.contains("not enough rights") || lower.contains("need administrator") => {
            failure(ErrorClass::Permanent).with_hint(hints::TELEGRAM_NOT_ADMIN)
        }
        400 => failure(ErrorClass::Permanent).with_hint(hints::TELEGRAM_CHAT_ID),
        c if c >= 500 => failure(ErrorClass::Retryable).with_hint(hints::SERVER_ERROR),
        _ => failure(ErrorClass::Permanent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkedin_throttling_without_retry_after_waits_for_midnight_utc() {
        let now = Utc.with_ymd_and_hms(2026, 3, 14, 17, 30, 0).unwrap();
        assert_eq!(
            next_utc_midnight(now),
            Utc.with_ymd_and_hms(2026, 3, 15, 0, 0, 0).unwrap()
        );
    }
}
