//! X against responses pinned to the documented shapes (wiremock).

mod common;

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use herald_domain::{ErrorClass, Platform};
use herald_platforms::{
    AuthorizeRequest, CodeExchange, DegradedKind, FallbackPolicy, HttpSettings, Lookup,
    PublishOptions, hints,
};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::Digest as _;
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn basic() -> String {
    let pair = "herald-dev-twitter:herald-dev-twitter-secret";
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn x_account() -> herald_platforms::Account {
    account(Platform::Twitter, "42", "user-token").with_username("herald")
}

fn tweet(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({"data": {"id": id, "text": "hi"}}))
}

#[tokio::test]
async fn the_authorize_url_carries_state_scopes_and_an_s256_challenge_of_the_returned_verifier() {
    let server = MockServer::start().await;
    let auth = platforms(&server.uri())
        .authorize_url(&AuthorizeRequest {
            platform: Platform::Twitter,
            app_type: None,
            state: None,
        })
        .unwrap();
    let url = url::Url::parse(&auth.url).unwrap();
    assert_eq!(url.path(), "/x/i/oauth2/authorize");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "herald-dev-twitter");
    assert_eq!(
        q["scope"],
        "tweet.read tweet.write users.read offline.access media.write"
    );
    assert_eq!(q["state"], auth.state);
    assert!(auth.state.len() >= 16);
    assert_eq!(q["code_challenge_method"], "S256");
    let verifier = auth
        .pkce_verifier
        .expect("X returns the PKCE verifier to keep");
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.expose_secret().as_bytes()));
    assert_eq!(q["code_challenge"], expected);
}

#[tokio::test]
async fn a_code_is_exchanged_with_basic_auth_and_the_verifier_and_yields_an_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/oauth2/token"))
        .and(header("authorization", basic().as_str()))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier=the-verifier"))
        .and(body_string_contains("client_id=herald-dev-twitter"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "expires_in": 7200, "access_token": "at-1",
            "scope": "tweet.read tweet.write users.read offline.access media.write",
            "refresh_token": "rt-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let before = Utc::now();
    let tokens = platforms(&server.uri())
        .exchange_code(&CodeExchange {
            platform: Platform::Twitter,
            app_type: None,
            code: secret("the-code"),
            pkce_verifier: Some(secret("the-verifier")),
        })
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "at-1");
    assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "rt-1");
    let expires = tokens.expires_at.unwrap();
    assert!(
        expires >= before + TimeDelta::seconds(7199)
            && expires <= Utc::now() + TimeDelta::seconds(7200)
    );
}

#[tokio::test]
async fn a_refresh_returns_the_rotated_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/oauth2/token"))
        .and(header("authorization", basic().as_str()))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=rt-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "expires_in": 7200, "access_token": "at-2", "refresh_token": "rt-2"
        })))
        .mount(&server)
        .await;
    let tokens = platforms(&server.uri())
        .refresh(&x_account(), Some(&secret("rt-1")))
        .await
        .unwrap();
    assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "rt-2");
}

#[tokio::test]
async fn a_used_refresh_token_means_reconnect() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request", "error_description": "Value passed for the token was invalid."
        })))
        .mount(&server)
        .await;
    let failure = platforms(&server.uri())
        .refresh(&x_account(), Some(&secret("rt-used")))
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::ReconnectRequired);
    assert_eq!(failure.hint.as_deref(), Some(hints::REFRESH_REJECTED));
}

#[tokio::test]
async fn identity_names_the_account_and_its_handle() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x/2/users/me"))
        .and(header("authorization", "Bearer user-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"id": "42", "name": "Herald", "username": "herald"}
        })))
        .mount(&server)
        .await;
    let me = platforms(&server.uri())
        .identity(Platform::Twitter, &secret("user-token"))
        .await
        .unwrap();
    assert_eq!(
        (me.account_id.as_str(), me.username.as_deref()),
        ("42", Some("herald"))
    );
}

#[tokio::test]
async fn a_text_post_is_one_tweet_with_its_public_url_and_rate_budget() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .and(header("authorization", "Bearer user-token"))
        .and(body_json(json!({"text": "Hello from Herald"})))
        .respond_with(
            tweet("1001")
                .insert_header("x-rate-limit-limit", "100")
                .insert_header("x-rate-limit-remaining", "99")
                .insert_header("x-rate-limit-reset", "1900000000")
                .insert_header("x-user-limit-24hour-limit", "17")
                .insert_header("x-user-limit-24hour-remaining", "16")
                .insert_header("x-user-limit-24hour-reset", "1900050000"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let x = platforms(&server.uri());
    let outcomes = publish(
        &x,
        &x_account(),
        &text("Hello from Herald"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.remote_id, "1001");
    assert_eq!(
        post.url.as_deref(),
        Some(format!("{}/x/herald/status/1001", server.uri()).as_str())
    );
    assert_eq!(post.rate.user_daily.unwrap().remaining, Some(16));
    assert_eq!(
        post.rate.window.unwrap().resets_at,
        DateTime::from_timestamp(1_900_000_000, 0)
    );
}

#[tokio::test]
async fn an_image_post_uploads_first_then_attaches_the_media_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/media/upload"))
        .and(multipart_with(&[
            "name=\"media_category\"",
            "tweet_image",
            "name=\"media\"",
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"id": "7001", "media_key": "3_7001", "size": 30, "expires_after_secs": 86400}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .and(body_json(
            json!({"text": "look", "media": {"media_ids": ["7001"]}}),
        ))
        .respond_with(tweet("1002"))
        .expect(1)
        .mount(&server)
        .await;
    let x = platforms(&server.uri());
    let outcomes = publish(
        &x,
        &x_account(),
        &with_image("look"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let keys: Vec<_> = outcomes.iter().map(|(k, _)| k.as_str()).collect();
    // An image is ready once uploaded: its wait step makes no call (`expect(1)` above).
    assert_eq!(keys, ["media:0", "media:0:ready", "publish"]);
    assert!(!published(&outcomes).is_degraded());
}

#[tokio::test]
async fn a_thread_is_a_reply_chain_one_step_per_part() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .and(body_json(json!({"text": "1/3"})))
        .respond_with(tweet("1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .and(body_json(
            json!({"text": "2/3", "reply": {"in_reply_to_tweet_id": "1"}}),
        ))
        .respond_with(tweet("2"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .and(body_json(
            json!({"text": "3/3", "reply": {"in_reply_to_tweet_id": "2"}}),
        ))
        .respond_with(tweet("3"))
        .expect(1)
        .mount(&server)
        .await;
    let mut content = text("1/3");
    content.thread = vec!["2/3".into(), "3/3".into()];
    let x = platforms(&server.uri());
    let outcomes = publish(&x, &x_account(), &content, &[], PublishOptions::default())
        .await
        .unwrap();
    let keys: Vec<_> = outcomes
        .iter()
        .map(|(k, o)| (k.as_str(), o.remote_id.as_str()))
        .collect();
    assert_eq!(keys, [("publish", "1"), ("part:1", "2"), ("part:2", "3")]);
}

async fn free_tier_refuses_media(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/x/2/media/upload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "7001"}})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .and(body_string_contains("media_ids"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "title": "Forbidden", "type": "about:blank", "status": 403,
            "detail": "You are not permitted to perform this action."
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn when_the_free_tier_refuses_media_the_post_goes_out_text_only_and_says_so() {
    let server = MockServer::start().await;
    free_tier_refuses_media(&server).await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .and(body_json(json!({"text": "look"})))
        .respond_with(tweet("1003"))
        .expect(1)
        .mount(&server)
        .await;
    let x = platforms(&server.uri());
    let outcomes = publish(
        &x,
        &x_account(),
        &with_image("look"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.remote_id, "1003");
    assert_eq!(post.degraded.len(), 1);
    assert_eq!(post.degraded[0].kind, DegradedKind::MediaDropped);
    assert_eq!(post.degraded[0].kind.as_str(), "media_dropped");
    assert_eq!(post.degraded[0].cause.code().as_deref(), Some("403"));
}

#[tokio::test]
async fn with_fallback_disallowed_the_media_refusal_fails_with_the_tier_hint() {
    let server = MockServer::start().await;
    free_tier_refuses_media(&server).await;
    let x = platforms(&server.uri());
    let options = PublishOptions {
        fallback: FallbackPolicy::Fail,
    };
    let failure = publish(&x, &x_account(), &with_image("look"), &[png()], options)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.hint.as_deref(), Some(hints::X_MEDIA_TIER));
}

#[tokio::test]
async fn a_duplicate_with_media_is_not_a_fallback() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/media/upload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "7001"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "title": "Forbidden", "status": 403,
            "detail": "You are not allowed to create a Tweet with duplicate content."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let x = platforms(&server.uri());
    let failure = publish(
        &x,
        &x_account(),
        &with_image("again"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.hint.as_deref(), Some(hints::X_DUPLICATE));
}

#[tokio::test]
async fn an_exhausted_24_hour_window_is_rate_limited_until_its_reset() {
    let server = MockServer::start().await;
    let reset = Utc::now().timestamp() + 3600;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-remaining", "80")
                .insert_header(
                    "x-rate-limit-reset",
                    (Utc::now().timestamp() + 60).to_string().as_str(),
                )
                .insert_header("x-user-limit-24hour-limit", "17")
                .insert_header("x-user-limit-24hour-remaining", "0")
                .insert_header("x-user-limit-24hour-reset", reset.to_string().as_str())
                .set_body_json(json!({
                    "title": "Too Many Requests", "detail": "Too Many Requests",
                    "type": "https://api.twitter.com/2/problems/rate-limit-exceeded", "status": 429
                })),
        )
        .mount(&server)
        .await;
    let failure = publish(
        &platforms(&server.uri()),
        &x_account(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::RateLimited);
    assert_eq!(failure.retry_at, DateTime::from_timestamp(reset, 0));
}

#[tokio::test]
async fn an_expired_token_on_publish_asks_for_a_refresh_then_reconnect() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"
        })))
        .mount(&server)
        .await;
    let failure = publish(
        &platforms(&server.uri()),
        &x_account(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::ReconnectRequired);
    assert!(herald_platforms::refresh_may_help(&failure));
}

#[tokio::test]
async fn a_publish_that_times_out_after_sending_has_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .respond_with(tweet("1").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let settings = HttpSettings {
        request_timeout: Duration::from_millis(300),
        ..settings()
    };
    let x = platforms_with(&server.uri(), &[], &settings);
    let failure = publish(
        &x,
        &x_account(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::UnknownOutcome);
    assert_eq!(failure.code().as_deref(), Some("timeout"));
    assert_eq!(failure.hint.as_deref(), Some(hints::UNKNOWN_OUTCOME));
}

#[tokio::test]
async fn a_publish_that_cannot_connect_is_safe_to_retry() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let failure = publish(
        &platforms(&base),
        &x_account(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Retryable);
    assert_eq!(failure.code().as_deref(), Some("connect"));
    assert!(!failure.message.contains("user-token"));
}

#[tokio::test]
async fn lookup_finds_the_tweet_by_its_text_even_with_a_shortened_link() {
    let server = MockServer::start().await;
    let now = Utc::now();
    Mock::given(method("GET"))
        .and(path("/x/2/users/42/tweets"))
        .and(query_param("tweet.fields", "created_at"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "9", "text": "other", "created_at": now.to_rfc3339()},
                {"id": "10", "text": "read https://t.co/x1", "created_at": now.to_rfc3339()}
            ],
            "meta": {"result_count": 2}
        })))
        .mount(&server)
        .await;
    let x = platforms(&server.uri());
    let found = x
        .lookup(
            &x_account(),
            "read https://example.com/a",
            now - TimeDelta::minutes(1),
        )
        .await
        .unwrap();
    assert!(
        matches!(found, Lookup::Found { ref remote_id, .. } if remote_id == "10"),
        "{found:?}"
    );
    let missing = x.lookup(&x_account(), "never posted", now).await.unwrap();
    assert_eq!(missing, Lookup::NotFound);
}
