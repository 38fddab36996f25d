//! Every known setup and publishing problem, plus the error codes the platforms document, maps
//! to a class and a remediation hint. One row per case; the first column names the case as
//! an operator would report it.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use herald_domain::{ErrorClass, Platform, PlatformFailure};
use herald_platforms::{
    Call, ChatId, Operation, classify::no_targets, classify_callback_error, classify_response,
    hints, refresh_may_help,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;

use ErrorClass::{Permanent, RateLimited, ReconnectRequired, Retryable};
use Platform::{Facebook, Instagram, Linkedin, Telegram, Threads, Twitter};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap()
}

/// Where a case's failure comes from.
enum Source {
    /// A platform answer: call, status, headers, body.
    Answer(
        Call,
        u16,
        &'static [(&'static str, &'static str)],
        serde_json::Value,
    ),
    /// An `?error=` on the OAuth callback.
    Callback(&'static str, &'static str),
    /// A connection that found nowhere to post.
    NoTargets,
    /// A chat id as the user typed it.
    ChatId(&'static str),
}

struct Case {
    spec: &'static str,
    platform: Platform,
    source: Source,
    class: ErrorClass,
    code: Option<&'static str>,
    hint: &'static str,
}

fn call(op: Operation) -> Call {
    Call::new(op)
}

fn publish_media() -> Call {
    Call::new(Operation::Publish).with_media(true)
}

fn org(op: Operation) -> Call {
    Call::new(op).for_organization(true)
}

fn graph(code: i64, subcode: Option<i64>, message: &str) -> serde_json::Value {
    let mut error =
        json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A"});
    if let Some(sub) = subcode {
        error["error_subcode"] = json!(sub);
    }
    json!({ "error": error })
}

fn telegram(code: u16, description: &str) -> serde_json::Value {
    json!({"ok": false, "error_code": code, "description": description})
}

fn linkedin(status: u16, service: i64, message: &str) -> serde_json::Value {
    json!({"status": status, "serviceErrorCode": service, "message": message})
}

fn x(status: u16, detail: &str) -> serde_json::Value {
    json!({"title": "Error", "type": "about:blank", "status": status, "detail": detail})
}

fn oauth(error: &str, description: &str) -> serde_json::Value {
    json!({"error": error, "error_description": description})
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Operation::{CodeExchange, Connect, Media, Publish, Read, Refresh};
    use Source::{Answer, Callback};
    vec![
        // ---- X: Common Issues ----
        Case { spec: "X: 403 Forbidden when posting with media (Free tier)", platform: Twitter,
            source: Answer(publish_media(), 403, &[], x(403, "You are not permitted to perform this action.")),
            class: Permanent, code: Some("403"), hint: hints::X_MEDIA_TIER },
        Case { spec: "X: 429 Rate Limit Exceeded", platform: Twitter,
            source: Answer(call(Publish), 429, &[("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "1773490500")],
                json!({"title": "Too Many Requests", "type": "https://api.twitter.com/2/problems/rate-limit-exceeded", "status": 429})),
            class: RateLimited, code: Some("429"), hint: hints::X_RATE_LIMIT },
        Case { spec: "X: 429 with the legacy code 88", platform: Twitter,
            source: Answer(call(Publish), 429, &[], json!({"errors": [{"code": 88, "message": "Rate limit exceeded"}]})),
            class: RateLimited, code: Some("88"), hint: hints::X_RATE_LIMIT },
        Case { spec: "X: 401 Unauthorized (token expired: refresh or reconnect)", platform: Twitter,
            source: Answer(call(Publish), 401, &[], x(401, "Unauthorized")),
            class: ReconnectRequired, code: Some("401"), hint: hints::X_UNAUTHORIZED },
        Case { spec: "X: duplicate content is not a fallback", platform: Twitter,
            source: Answer(publish_media(), 403, &[], x(403, "You are not allowed to create a Tweet with duplicate content.")),
            class: Permanent, code: Some("403"), hint: hints::X_DUPLICATE },
        Case { spec: "X debugging: x-access-level should be read-write", platform: Twitter,
            source: Answer(publish_media(), 403, &[("x-access-level", "read")], x(403, "Forbidden")),
            class: Permanent, code: Some("403"), hint: hints::X_READ_ONLY },
        Case { spec: "X: other 403 (permissions)", platform: Twitter,
            source: Answer(call(Publish), 403, &[], x(403, "You are not permitted to perform this action.")),
            class: Permanent, code: Some("403"), hint: hints::X_FORBIDDEN },
        Case { spec: "Token missing required scopes (X)", platform: Twitter,
            source: Answer(call(Media), 403, &[], x(403, "Missing required scope: media.write")),
            class: Permanent, code: Some("403"), hint: hints::MISSING_SCOPES },
        Case { spec: "X: 5xx is retryable", platform: Twitter,
            source: Answer(call(Publish), 503, &[], x(503, "Service Unavailable")),
            class: Retryable, code: Some("503"), hint: hints::SERVER_ERROR },

        // ---- General OAuth issues ----
        Case { spec: "redirect_uri does not match", platform: Twitter,
            source: Answer(call(CodeExchange), 400, &[], oauth("invalid_request", "Value passed for the redirect uri parameter was invalid.")),
            class: Permanent, code: Some("invalid_request"), hint: "The redirect URI must match the one registered in the app settings exactly (protocol, domain and path, e.g. https://yourdomain.com/api/social/twitter/callback): check TWITTER_REDIRECT_URI" },
        Case { spec: "invalid_client: check CLIENT_ID and CLIENT_SECRET", platform: Facebook,
            source: Callback("invalid_client", "Client authentication failed"),
            class: Permanent, code: Some("invalid_client"), hint: "The platform does not accept the app credentials: check FACEBOOK_CLIENT_ID and FACEBOOK_CLIENT_SECRET" },
        Case { spec: "invalid_grant: authorization code expired (10 minutes)", platform: Linkedin,
            source: Answer(call(CodeExchange), 400, &[], oauth("invalid_grant", "The provided authorization grant or refresh token is invalid, expired or revoked")),
            class: Permanent, code: Some("invalid_grant"), hint: hints::CODE_EXPIRED },
        Case { spec: "invalid_grant on refresh: reconnect", platform: Twitter,
            source: Answer(call(Refresh), 400, &[], oauth("invalid_grant", "Value passed for the token was invalid.")),
            class: ReconnectRequired, code: Some("invalid_grant"), hint: hints::REFRESH_REJECTED },
        Case { spec: "the user declined consent", platform: Threads,
            source: Callback("access_denied", "Permissions error"),
            class: Permanent, code: Some("access_denied"), hint: hints::ACCESS_DENIED_BY_USER },

        // ---- LinkedIn: Common Issues ----
        Case { spec: "LinkedIn: unauthorized_scope_error for w_member_social", platform: Linkedin,
            source: Callback("unauthorized_scope_error", "Scope \"w_member_social\" is not authorized for your application"),
            class: Permanent, code: Some("unauthorized_scope_error"), hint: hints::LINKEDIN_SHARE_PRODUCT },
        Case { spec: "LinkedIn: ACCESS_DENIED when fetching Company Pages", platform: Linkedin,
            source: Answer(org(Connect), 403, &[], json!({"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                "message": "Not enough permissions to access: organizationAcls.FINDER-roleAssignee"})),
            class: Permanent, code: Some("100"), hint: hints::LINKEDIN_COMPANY_ACCESS },
        Case { spec: "LinkedIn: redirect_uri does not match (both apps share one callback)", platform: Linkedin,
            source: Callback("invalid_request", "The redirect_uri does not match the registered value"),
            class: Permanent, code: Some("invalid_request"), hint: hints::LINKEDIN_REDIRECT_URI_MISMATCH },
        Case { spec: "LinkedIn: image upload succeeds but post fails with media error", platform: Linkedin,
            source: Answer(publish_media(), 422, &[], linkedin(422, 100, "ShareMedia.media (URN) is missing")),
            class: Permanent, code: Some("100"), hint: hints::LINKEDIN_MEDIA_REJECTED },
        Case { spec: "LinkedIn: 65600 invalid token (no refresh tokens: reconnect)", platform: Linkedin,
            source: Answer(call(Publish), 401, &[], linkedin(401, 65600, "Invalid access token")),
            class: ReconnectRequired, code: Some("65600"), hint: hints::LINKEDIN_TOKEN },
        Case { spec: "LinkedIn: 65601 revoked token", platform: Linkedin,
            source: Answer(call(Publish), 401, &[], json!({"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "The token used in the request has been revoked by the user"})),
            class: ReconnectRequired, code: Some("65601"), hint: hints::LINKEDIN_TOKEN },
        Case { spec: "LinkedIn: 101 throttled", platform: Linkedin,
            source: Answer(call(Publish), 429, &[], linkedin(429, 101, "Resource level throttle APPLICATION DAY limit")),
            class: RateLimited, code: Some("101"), hint: hints::LINKEDIN_THROTTLED },
        Case { spec: "LinkedIn: 422 DUPLICATE_POST", platform: Linkedin,
            source: Answer(call(Publish), 422, &[], json!({"status": 422, "message": "Content is a duplicate of urn:li:share:1",
                "errorDetails": {"inputErrors": [{"code": "DUPLICATE_POST", "description": "duplicate"}]}})),
            class: Permanent, code: Some("DUPLICATE_POST"), hint: hints::LINKEDIN_DUPLICATE },
        Case { spec: "LinkedIn: a retired LinkedIn-Version answers 426", platform: Linkedin,
            source: Answer(call(Publish), 426, &[], linkedin(426, 100, "Requested version 20230101 is not active")),
            class: Permanent, code: Some("100"), hint: hints::LINKEDIN_VERSION },
        Case { spec: "LinkedIn debugging: check appType matches connection type (403 / ACCESS_DENIED)", platform: Linkedin,
            source: Answer(call(Publish), 403, &[], json!({"status": 403, "code": "ACCESS_DENIED", "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE"})),
            class: Permanent, code: Some("ACCESS_DENIED"), hint: hints::LINKEDIN_ACCESS_DENIED },
        Case { spec: "LinkedIn: Company Page without an organization the member administers", platform: Linkedin,
            source: Source::NoTargets, class: Permanent, code: Some("no_organizations"), hint: hints::LINKEDIN_COMPANY_ACCESS },

        // ---- Facebook: Common Issues ----
        Case { spec: "Facebook: Invalid Scopes: pages_manage_posts", platform: Facebook,
            source: Callback("invalid_scope", "Invalid Scopes: pages_manage_posts"),
            class: Permanent, code: Some("invalid_scope"), hint: hints::FACEBOOK_INVALID_SCOPES },
        Case { spec: "Facebook: No pages shown after OAuth", platform: Facebook,
            source: Source::NoTargets, class: Permanent, code: Some("no_pages"), hint: hints::FACEBOOK_NO_PAGES },
        Case { spec: "Facebook: 403 Permission denied (App Review)", platform: Facebook,
            source: Answer(call(Publish), 403, &[], graph(200, None, "(#200) Permissions error")),
            class: Permanent, code: Some("200"), hint: hints::FACEBOOK_PERMISSION },
        Case { spec: "Graph 10: permission denied", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(10, None, "(#10) Application does not have permission for this action")),
            class: Permanent, code: Some("10"), hint: hints::FACEBOOK_PERMISSION },
        Case { spec: "Graph 1: transient", platform: Facebook,
            source: Answer(call(Publish), 500, &[], graph(1, None, "An unknown error occurred")),
            class: Retryable, code: Some("1"), hint: hints::META_TRANSIENT },
        Case { spec: "Graph 2: service temporarily unavailable", platform: Instagram,
            source: Answer(call(Media), 503, &[], graph(2, None, "Service temporarily unavailable")),
            class: Retryable, code: Some("2"), hint: hints::META_TRANSIENT },
        Case { spec: "Graph 4: app request limit", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(4, None, "(#4) Application request limit reached")),
            class: RateLimited, code: Some("4"), hint: hints::META_RATE_LIMIT },
        Case { spec: "Graph 17: user request limit", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(17, None, "(#17) User request limit reached")),
            class: RateLimited, code: Some("17"), hint: hints::META_RATE_LIMIT },
        Case { spec: "Graph 32: page request limit", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(32, None, "(#32) Page request limit reached")),
            class: RateLimited, code: Some("32"), hint: hints::META_RATE_LIMIT },
        Case { spec: "Graph 613: calls exceed the rate limit", platform: Instagram,
            source: Answer(call(Media), 400, &[], graph(613, None, "(#613) Calls to this api have exceeded the rate limit.")),
            class: RateLimited, code: Some("613"), hint: hints::META_RATE_LIMIT },
        Case { spec: "Graph 80001: page rate limit (business use case)", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(80001, None, "There have been too many calls to this Page account")),
            class: RateLimited, code: Some("80001"), hint: hints::META_RATE_LIMIT },
        Case { spec: "Graph 80002: Instagram rate limit (business use case)", platform: Instagram,
            source: Answer(call(Publish), 400, &[], graph(80002, None, "There have been too many calls to this Instagram account")),
            class: RateLimited, code: Some("80002"), hint: hints::META_RATE_LIMIT },
        Case { spec: "Token expired (Facebook): refresh or reconnect, 190/463", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(190, Some(463), "Error validating access token: Session has expired")),
            class: ReconnectRequired, code: Some("190/463"), hint: hints::META_TOKEN },
        Case { spec: "Graph 190/467: invalid token", platform: Instagram,
            source: Answer(call(Publish), 400, &[], graph(190, Some(467), "Invalid OAuth access token")),
            class: ReconnectRequired, code: Some("190/467"), hint: hints::META_TOKEN },
        Case { spec: "Graph 190/460: password changed", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(190, Some(460), "The session has been invalidated because the user changed their password")),
            class: ReconnectRequired, code: Some("190/460"), hint: hints::META_PASSWORD_CHANGED },
        Case { spec: "Graph 190/458: app not installed", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(190, Some(458), "The user has not authorized application")),
            class: ReconnectRequired, code: Some("190/458"), hint: hints::META_APP_REMOVED },
        Case { spec: "Graph 190/459: checkpoint", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(190, Some(459), "The user is enrolled in a blocking, logged-in checkpoint")),
            class: ReconnectRequired, code: Some("190/459"), hint: hints::META_CHECKPOINT },
        Case { spec: "Graph 190/464: unconfirmed user", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(190, Some(464), "Sessions for the user are not allowed because the user is not a confirmed user")),
            class: ReconnectRequired, code: Some("190/464"), hint: hints::META_UNCONFIRMED },
        Case { spec: "Graph 190/492: no role on the page", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(190, Some(492), "The session is invalid because the user has no role on this page")),
            class: ReconnectRequired, code: Some("190/492"), hint: hints::META_NO_PAGE_ROLE },
        Case { spec: "Graph 368: policy block", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(368, None, "The action attempted has been deemed abusive or is otherwise disallowed")),
            class: Permanent, code: Some("368"), hint: hints::META_POLICY_BLOCK },
        Case { spec: "Graph 506: duplicate post", platform: Facebook,
            source: Answer(call(Publish), 400, &[], graph(506, None, "Duplicate status message")),
            class: Permanent, code: Some("506"), hint: hints::META_DUPLICATE },
        Case { spec: "Facebook/Instagram debugging: App Review status (403)", platform: Facebook,
            source: Answer(call(Publish), 403, &[], json!({})),
            class: Permanent, code: Some("403"), hint: hints::FACEBOOK_PERMISSION },

        // ---- Instagram: Common Issues ----
        Case { spec: "Instagram: Invalid Scopes: instagram_basic, instagram_content_publish", platform: Instagram,
            source: Callback("invalid_scope", "Invalid Scopes: instagram_basic, instagram_content_publish"),
            class: Permanent, code: Some("invalid_scope"), hint: hints::INSTAGRAM_INVALID_SCOPES },
        Case { spec: "Instagram: Cannot find Products section in Meta App Dashboard (use-case UI)", platform: Instagram,
            source: Answer(call(Connect), 400, &[], graph(100, None, "Invalid Scopes: instagram_content_publish")),
            class: Permanent, code: Some("100"), hint: hints::INSTAGRAM_INVALID_SCOPES },
        Case { spec: "Instagram: 403 Permission denied", platform: Instagram,
            source: Answer(call(Publish), 403, &[], graph(10, None, "(#10) Application does not have permission for this action")),
            class: Permanent, code: Some("10"), hint: hints::INSTAGRAM_PERMISSION },
        Case { spec: "Instagram: No Instagram account found", platform: Instagram,
            source: Source::NoTargets, class: Permanent, code: Some("no_instagram_account"), hint: hints::INSTAGRAM_NO_ACCOUNT },
        Case { spec: "Instagram: publishing before FINISHED (9007/2207027)", platform: Instagram,
            source: Answer(call(Publish), 400, &[], graph(9007, Some(2_207_027), "Media ID is not available")),
            class: Retryable, code: Some("9007/2207027"), hint: hints::INSTAGRAM_NOT_READY },
        Case { spec: "Instagram: 2207042 daily publishing limit", platform: Instagram,
            source: Answer(call(Publish), 400, &[], graph(9, Some(2_207_042), "You reached maximum number of posts")),
            class: RateLimited, code: Some("9/2207042"), hint: hints::INSTAGRAM_DAILY_LIMIT },
        Case { spec: "Instagram: 2207001 spam", platform: Instagram,
            source: Answer(call(Publish), 400, &[], graph(9, Some(2_207_001), "Instagram server error (spam)")),
            class: Permanent, code: Some("9/2207001"), hint: hints::INSTAGRAM_SPAM },
        Case { spec: "Instagram: 2207003 download timeout", platform: Instagram,
            source: Answer(call(Media), 400, &[], graph(-2, Some(2_207_003), "Timeout downloading media")),
            class: Retryable, code: Some("-2/2207003"), hint: hints::INSTAGRAM_DOWNLOAD_TIMEOUT },
        Case { spec: "Instagram: 2207004 image too large", platform: Instagram,
            source: Answer(call(Media), 400, &[], graph(-2, Some(2_207_004), "The image is too large")),
            class: Permanent, code: Some("-2/2207004"), hint: hints::INSTAGRAM_IMAGE_INVALID },
        Case { spec: "Instagram: 2207005 unsupported format", platform: Instagram,
            source: Answer(call(Media), 400, &[], graph(-2, Some(2_207_005), "The image format is not supported")),
            class: Permanent, code: Some("-2/2207005"), hint: hints::INSTAGRAM_IMAGE_INVALID },
        Case { spec: "Instagram: 2207009 aspect ratio", platform: Instagram,
            source: Answer(call(Media), 400, &[], graph(-2, Some(2_207_009), "The aspect ratio is not supported")),
            class: Permanent, code: Some("-2/2207009"), hint: hints::INSTAGRAM_IMAGE_INVALID },
        Case { spec: "Instagram: 2207010 caption too long", platform: Instagram,
            source: Answer(call(Media), 400, &[], graph(-2, Some(2_207_010), "The caption is too long")),
            class: Permanent, code: Some("-2/2207010"), hint: hints::INSTAGRAM_CAPTION },
        Case { spec: "Instagram: 2207020 container expired", platform: Instagram,
            source: Answer(call(Publish), 400, &[], graph(-2, Some(2_207_020), "The media has expired")),
            class: Permanent, code: Some("-2/2207020"), hint: hints::INSTAGRAM_CONTAINER_EXPIRED },
        Case { spec: "Instagram: 2207052 media fetch failed", platform: Instagram,
            source: Answer(call(Media), 400, &[], graph(9004, Some(2_207_052), "Media could not be fetched from this uri")),
            class: Permanent, code: Some("9004/2207052"), hint: hints::INSTAGRAM_IMAGE_URL },

        // ---- Threads: Common Issues ----
        Case { spec: "Threads: account not found", platform: Threads,
            source: Answer(call(Connect), 400, &[], graph(100, Some(33), "Object does not exist")),
            class: Permanent, code: Some("100/33"), hint: hints::THREADS_NO_ACCOUNT },
        Case { spec: "Token expired (Threads)", platform: Threads,
            source: Answer(call(Publish), 400, &[], graph(190, None, "Error validating access token")),
            class: ReconnectRequired, code: Some("190"), hint: hints::THREADS_TOKEN },
        Case { spec: "Token missing required scopes (Threads)", platform: Threads,
            source: Answer(call(Publish), 400, &[], graph(10, None, "Application does not have permission for this action")),
            class: Permanent, code: Some("10"), hint: hints::MISSING_SCOPES },

        // ---- Telegram: Common Issues ----
        Case { spec: "Telegram: 403 Forbidden (bot not admin)", platform: Telegram,
            source: Answer(call(Publish), 403, &[], telegram(403, "Forbidden: bot is not a member of the channel chat")),
            class: Permanent, code: Some("403"), hint: hints::TELEGRAM_NOT_ADMIN },
        Case { spec: "Telegram: 400 Bad Request (chat id format)", platform: Telegram,
            source: Answer(call(Publish), 400, &[], telegram(400, "Bad Request: chat not found")),
            class: Permanent, code: Some("400"), hint: hints::TELEGRAM_CHAT_ID },
        Case { spec: "Telegram: a chat id that is neither @name nor numeric", platform: Telegram,
            source: Source::ChatId("herald channel"), class: Permanent, code: Some("400"), hint: hints::TELEGRAM_CHAT_ID },
        Case { spec: "Telegram: 401 invalid bot token", platform: Telegram,
            source: Answer(call(Publish), 401, &[], telegram(401, "Unauthorized")),
            class: ReconnectRequired, code: Some("401"), hint: hints::TELEGRAM_BAD_TOKEN },
        Case { spec: "Telegram: 404 malformed token", platform: Telegram,
            source: Answer(call(Connect), 404, &[], telegram(404, "Not Found")),
            class: ReconnectRequired, code: Some("404"), hint: hints::TELEGRAM_BAD_TOKEN },
        Case { spec: "Telegram: 429 retry_after", platform: Telegram,
            source: Answer(call(Publish), 429, &[], json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 5", "parameters": {"retry_after": 5}})),
            class: RateLimited, code: Some("429"), hint: hints::TELEGRAM_RATE },
        Case { spec: "Telegram: message too long", platform: Telegram,
            source: Answer(call(Publish), 400, &[], telegram(400, "Bad Request: message is too long")),
            class: Permanent, code: Some("400"), hint: hints::TELEGRAM_TOO_LONG },

        // ---- Rate limit issues: 429 Too Many Requests everywhere ----
        Case { spec: "429 Too Many Requests (Graph without a code)", platform: Facebook,
            source: Answer(call(Read), 429, &[("retry-after", "30")], json!({})),
            class: RateLimited, code: Some("429"), hint: hints::META_RATE_LIMIT },
    ]
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            )
        })
        .collect()
}

fn failure_of(case: &Case) -> PlatformFailure {
    match &case.source {
        Source::Answer(call, status, pairs, body) => classify_response(
            case.platform,
            *call,
            *status,
            &headers(pairs),
            &body.to_string(),
            now(),
        ),
        Source::Callback(error, description) => {
            classify_callback_error(case.platform, error, Some(description))
        }
        Source::NoTargets => no_targets(case.platform),
        Source::ChatId(value) => ChatId::parse(value).expect_err("an invalid chat id"),
    }
}

#[test]
fn every_troubleshooting_case_of_the_spec_has_a_class_a_code_and_a_hint() {
    let mut wrong = Vec::new();
    for case in cases() {
        let failure = failure_of(&case);
        let ok = failure.class == case.class
            && failure.platform == case.platform
            && failure.code().as_deref() == case.code
            && failure.hint.as_deref() == Some(case.hint);
        if !ok {
            wrong.push(format!(
                "{}:\n    got   {:?} {:?} hint={:?}\n    want  {:?} {:?} hint={:?}",
                case.spec,
                failure.class,
                failure.code(),
                failure.hint,
                case.class,
                case.code,
                case.hint
            ));
        }
        if case.class == RateLimited {
            assert!(
                failure.retry_at.is_some_and(|at| at > now()),
                "{}: rate limits say when they free",
                case.spec
            );
        }
        assert!(!failure.message.is_empty(), "{}: a message", case.spec);
    }
    assert!(
        wrong.is_empty(),
        "{} cases misclassified:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn rate_limits_free_when_the_platform_says() {
    let at = |case: &str| {
        cases()
            .into_iter()
            .find(|c| c.spec == case)
            .map(|c| failure_of(&c).retry_at.unwrap())
            .unwrap()
    };
    assert_eq!(
        at("X: 429 Rate Limit Exceeded"),
        DateTime::from_timestamp(1_773_490_500, 0).unwrap()
    );
    assert_eq!(
        at("Telegram: 429 retry_after"),
        now() + TimeDelta::seconds(5)
    );
    assert_eq!(
        at("LinkedIn: 101 throttled"),
        Utc.with_ymd_and_hms(2026, 3, 15, 0, 0, 0).unwrap()
    );
    assert_eq!(
        at("429 Too Many Requests (Graph without a code)"),
        now() + TimeDelta::seconds(30)
    );
}

#[test]
fn the_instagram_scope_hint_walks_through_tech_provider_verification_and_advanced_access() {
    for step in [
        "Tech Provider",
        "Business Verification",
        "Advanced Access",
        "\"Products\" section",
        "reconnect",
    ] {
        assert!(hints::INSTAGRAM_INVALID_SCOPES.contains(step), "{step}");
    }
    assert!(hints::LINKEDIN_COMPANY_ACCESS.contains("business verification"));
}

#[test]
fn only_an_expired_x_token_is_worth_one_forced_refresh() {
    let x = failure_of(
        &cases()
            .into_iter()
            .find(|c| c.spec.starts_with("X: 401"))
            .unwrap(),
    );
    let meta = failure_of(
        &cases()
            .into_iter()
            .find(|c| c.spec.starts_with("Token expired (Facebook)"))
            .unwrap(),
    );
    let linkedin = failure_of(
        &cases()
            .into_iter()
            .find(|c| c.spec.starts_with("LinkedIn: 65600"))
            .unwrap(),
    );
    assert!(
        refresh_may_help(&x),
        "X: the refresh token outlives the access token"
    );
    assert!(
        !refresh_may_help(&meta),
        "Meta refreshes by exchanging a token that must still be valid"
    );
    assert!(
        !refresh_may_help(&linkedin),
        "LinkedIn has no refresh tokens: reconnect"
    );
}
