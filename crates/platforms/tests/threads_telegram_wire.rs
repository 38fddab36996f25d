//! Threads and Telegram against responses pinned to the documented shapes (wiremock).

mod common;

use chrono::{TimeDelta, Utc};
use common::*;
use herald_domain::{ErrorClass, Platform};
use herald_platforms::{
    Account, AuthorizeRequest, ChatId, CodeExchange, Lookup, PublishOptions, hints,
};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{body_json, body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn threads_account() -> Account {
    account(Platform::Threads, "t-1", "th-token")
}

fn channel() -> Account {
    account(Platform::Telegram, "@herald_dev_channel", TELEGRAM_TOKEN)
        .with_username("herald_dev_channel")
}

fn bot(method_name: &str) -> String {
    format!("/telegram/bot{TELEGRAM_TOKEN}/{method_name}")
}

#[tokio::test]
async fn threads_authorizes_on_threads_net_and_exchanges_for_a_long_lived_token() {
    let server = MockServer::start().await;
    let th = platforms(&server.uri());
    let auth = th
        .authorize_url(&AuthorizeRequest {
            platform: Platform::Threads,
            app_type: None,
            state: None,
        })
        .unwrap();
    let url = url::Url::parse(&auth.url).unwrap();
    assert_eq!(url.path(), "/threads/oauth/authorize");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q["scope"],
        "threads_basic,threads_content_publish,threads_manage_replies"
    );
    assert_eq!(q["client_id"], "herald-dev-threads");

    Mock::given(method("POST"))
        .and(path("/threads/oauth/access_token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains(
            "client_secret=herald-dev-threads-secret",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "short", "user_id": 17_841_400})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/threads/access_token"))
        .and(query_param("grant_type", "th_exchange_token"))
        .and(query_param("access_token", "short"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "long", "token_type": "bearer", "expires_in": 5_183_944
        })))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = th
        .exchange_code(&CodeExchange {
            platform: Platform::Threads,
            app_type: None,
            code: secret("c"),
            pkce_verifier: None,
        })
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "long");
    assert_eq!(tokens.user_id.as_deref(), Some("17841400"));
    assert!(tokens.expires_at.unwrap() > Utc::now() + TimeDelta::days(59));
}

#[tokio::test]
async fn threads_refreshes_with_th_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/threads/refresh_access_token"))
        .and(query_param("grant_type", "th_refresh_token"))
        .and(query_param("access_token", "th-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "th-token-2", "token_type": "bearer", "expires_in": 5_183_944
        })))
        .mount(&server)
        .await;
    let tokens = platforms(&server.uri())
        .refresh(&threads_account(), None)
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "th-token-2");
}

async fn threads_publish(server: &MockServer, container_body: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path("/threads/v1.0/t-1/threads"))
        .and(query_param("access_token", "th-token"))
        .and(body_json(container_body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "tc-1"})))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/threads/v1.0/tc-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "tc-1", "status": "FINISHED"})),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/threads/v1.0/t-1/threads_publish"))
        .and(body_json(json!({"creation_id": "tc-1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "tp-1"})))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/threads/v1.0/tp-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "tp-1", "permalink": "https://www.threads.net/@herald/post/X"}),
        ))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_threads_text_post_is_a_text_container_then_a_publish() {
    let server = MockServer::start().await;
    threads_publish(
        &server,
        json!({"media_type": "TEXT", "text": "short thought"}),
    )
    .await;
    let outcomes = publish(
        &platforms(&server.uri()),
        &threads_account(),
        &text("short thought"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.remote_id, "tp-1");
    assert_eq!(
        post.url.as_deref(),
        Some("https://www.threads.net/@herald/post/X")
    );
}

#[tokio::test]
async fn a_threads_image_post_sends_the_public_image_url() {
    let server = MockServer::start().await;
    threads_publish(
        &server,
        json!({"media_type": "IMAGE", "text": "pic", "image_url": "https://media.example/cat.png"}),
    )
    .await;
    let outcomes = publish(
        &platforms(&server.uri()),
        &threads_account(),
        &with_image("pic"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(published(&outcomes).remote_id, "tp-1");
}

#[tokio::test]
async fn threads_lookups_read_the_users_threads() {
    let server = MockServer::start().await;
    let now = Utc::now();
    Mock::given(method("GET"))
        .and(path("/threads/v1.0/t-1/threads"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "tp-7", "text": "short thought", "timestamp": now.format("%Y-%m-%dT%H:%M:%S+0000").to_string()}
        ]})))
        .mount(&server)
        .await;
    let found = platforms(&server.uri())
        .lookup(
            &threads_account(),
            "short thought",
            now - TimeDelta::minutes(1),
        )
        .await
        .unwrap();
    assert!(matches!(found, Lookup::Found { ref remote_id, .. } if remote_id == "tp-7"));
}

async fn telegram_chat(server: &MockServer, member: serde_json::Value) {
    Mock::given(method("POST")).and(path(bot("getMe")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {
            "id": 7_000_000_001_i64, "is_bot": true, "first_name": "Herald", "username": "herald_dev_bot"}})))
        .mount(server).await;
    Mock::given(method("POST")).and(path(bot("getChat")))
        .and(body_json(json!({"chat_id": "@herald_dev_channel"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {
            "id": -1_001_000_000_001_i64, "type": "channel", "title": "Herald Dev", "username": "herald_dev_channel"}})))
        .mount(server).await;
    Mock::given(method("POST"))
        .and(path(bot("getChatMember")))
        .and(body_json(
            json!({"chat_id": -1_001_000_000_001_i64, "user_id": 7_000_000_001_i64}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": member})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_telegram_channel_connects_when_the_bot_is_an_admin_who_may_post() {
    let server = MockServer::start().await;
    telegram_chat(&server, json!({"status": "administrator", "can_post_messages": true, "user": {"id": 7_000_000_001_i64}})).await;
    let channel = platforms(&server.uri())
        .connect_telegram(
            &secret(TELEGRAM_TOKEN),
            &ChatId::parse("@herald_dev_channel").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(channel.chat_id, -1_001_000_000_001);
    assert_eq!(channel.username.as_deref(), Some("herald_dev_channel"));
}

#[tokio::test]
async fn a_bot_without_post_messages_is_told_to_become_an_admin_that_may_post() {
    let server = MockServer::start().await;
    telegram_chat(&server, json!({"status": "administrator", "can_post_messages": false, "user": {"id": 7_000_000_001_i64}})).await;
    let failure = platforms(&server.uri())
        .connect_telegram(
            &secret(TELEGRAM_TOKEN),
            &ChatId::parse("@herald_dev_channel").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.hint.as_deref(), Some(hints::TELEGRAM_NOT_ADMIN));
}

#[tokio::test]
async fn a_bad_bot_token_is_a_reconnect_that_never_shows_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
            ),
        )
        .mount(&server)
        .await;
    let failure = platforms(&server.uri())
        .connect_telegram(
            &secret(TELEGRAM_TOKEN),
            &ChatId::parse("-1001000000001").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::ReconnectRequired);
    assert!(!format!("{failure:?} {failure}").contains("AAHeraldDevBotToken"));
}

#[tokio::test]
async fn a_telegram_text_post_is_send_message_with_a_t_me_link() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(bot("sendMessage")))
        .and(body_json(json!({"chat_id": "@herald_dev_channel", "text": "hello <b>channel</b>"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {
            "message_id": 42, "date": 1_700_000_000, "chat": {"id": -1_001_000_000_001_i64, "type": "channel", "username": "herald_dev_channel"},
            "text": "hello <b>channel</b>"}})))
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = publish(
        &platforms(&server.uri()),
        &channel(),
        &text("hello <b>channel</b>"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.remote_id, "42");
    assert_eq!(
        post.url.as_deref(),
        Some("https://t.me/herald_dev_channel/42")
    );
}

#[tokio::test]
async fn a_telegram_photo_is_uploaded_with_its_caption_and_private_chats_link_by_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(bot("sendPhoto")))
        .and(multipart_with(&["name=\"chat_id\"", "-1001000000001", "name=\"photo\"", "name=\"caption\"", "a cat"]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {
            "message_id": 43, "date": 1_700_000_000, "chat": {"id": -1_001_000_000_001_i64, "type": "channel"},
            "photo": [], "caption": "a cat"}})))
        .expect(1)
        .mount(&server)
        .await;
    let private = account(Platform::Telegram, "-1001000000001", TELEGRAM_TOKEN);
    let outcomes = publish(
        &platforms(&server.uri()),
        &private,
        &with_image("a cat"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        published(&outcomes).url.as_deref(),
        Some("https://t.me/c/1000000001/43")
    );
}

#[tokio::test]
async fn a_caption_over_1024_characters_is_refused_before_sending() {
    let server = MockServer::start().await;
    let failure = platforms(&server.uri())
        .plan(&channel(), &with_image(&"x".repeat(1025)))
        .unwrap_err();
    assert_eq!(failure.hint.as_deref(), Some(hints::TELEGRAM_TOO_LONG));
}

#[tokio::test]
async fn telegram_flood_control_waits_retry_after_seconds() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(bot("sendMessage")))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})))
        .mount(&server)
        .await;
    let before = Utc::now();
    let failure = publish(
        &platforms(&server.uri()),
        &channel(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::RateLimited);
    assert!(failure.retry_at.unwrap() >= before + TimeDelta::seconds(7));
}

#[tokio::test]
async fn telegram_cannot_know_whether_a_post_exists() {
    let server = MockServer::start().await;
    let answer = platforms(&server.uri())
        .lookup(&channel(), "hi", Utc::now())
        .await
        .unwrap();
    assert_eq!(answer, Lookup::CannotKnow);
}

#[tokio::test]
async fn a_threads_lookup_asks_for_the_threads_since_the_publish() {
    let server = MockServer::start().await;
    let since = Utc::now() - TimeDelta::minutes(1);
    let since_unix = (since - TimeDelta::minutes(5)).timestamp().to_string();
    Mock::given(method("GET"))
        .and(path("/threads/v1.0/t-1/threads"))
        .and(query_param("fields", "id,text,timestamp,permalink"))
        .and(query_param("since", since_unix.as_str()))
        .and(query_param("limit", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    let found = platforms(&server.uri())
        .lookup(&threads_account(), "x", since)
        .await
        .unwrap();
    assert_eq!(found, Lookup::NotFound);
}
