//! Facebook Pages and Instagram (Graph API) against responses pinned to the documented
//! shapes (wiremock).

mod common;

use chrono::{TimeDelta, Utc};
use common::*;
use herald_domain::{ErrorClass, Platform};
use herald_platforms::{
    Account, AuthorizeRequest, CodeExchange, Lookup, PublishOptions, TargetKind, hints,
};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn page() -> Account {
    account(Platform::Facebook, "10", "page-token").on_page("555")
}

fn ig() -> Account {
    account(Platform::Instagram, "1784", "user-token").on_page("555")
}

#[tokio::test]
async fn the_facebook_dialog_asks_for_the_specs_scopes_comma_separated() {
    let server = MockServer::start().await;
    let auth = platforms(&server.uri())
        .authorize_url(&AuthorizeRequest {
            platform: Platform::Facebook,
            app_type: None,
            state: None,
        })
        .unwrap();
    let url = url::Url::parse(&auth.url).unwrap();
    assert_eq!(url.path(), "/facebook/v24.0/dialog/oauth");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "herald-dev-facebook");
    assert_eq!(
        q["scope"],
        "public_profile,business_management,pages_show_list,pages_manage_posts,pages_read_engagement"
    );
    assert_eq!(q["state"], auth.state);
    assert!(auth.pkce_verifier.is_none());
}

#[tokio::test]
async fn instagram_uses_the_facebook_app_with_instagram_scopes() {
    let server = MockServer::start().await;
    let auth = platforms(&server.uri())
        .authorize_url(&AuthorizeRequest {
            platform: Platform::Instagram,
            app_type: None,
            state: None,
        })
        .unwrap();
    let q: std::collections::HashMap<_, _> = url::Url::parse(&auth.url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["client_id"], "herald-dev-facebook");
    assert!(
        q["scope"].contains("instagram_content_publish") && q["scope"].contains("instagram_basic")
    );
    assert!(q["redirect_uri"].ends_with("/api/social/instagram/callback"));
}

#[tokio::test]
async fn a_code_becomes_a_long_lived_user_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/oauth/access_token"))
        .and(query_param("code", "the-code"))
        .and(query_param("client_secret", "herald-dev-facebook-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "short", "token_type": "bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("fb_exchange_token", "short"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "long", "token_type": "bearer", "expires_in": 5_184_000
        })))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = platforms(&server.uri())
        .exchange_code(&CodeExchange {
            platform: Platform::Facebook,
            app_type: None,
            code: secret("the-code"),
            pkce_verifier: None,
        })
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "long");
    assert!(tokens.expires_at.unwrap() > Utc::now() + TimeDelta::days(59));
}

async fn accounts(server: &MockServer, data: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/me/accounts"))
        .and(query_param(
            "fields",
            "id,name,access_token,instagram_business_account",
        ))
        .and(query_param("access_token", "user-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": data, "paging": {}})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn pages_come_with_their_own_tokens() {
    let server = MockServer::start().await;
    accounts(
        &server,
        json!([{"id": "555", "name": "Herald Page", "access_token": "page-token"}]),
    )
    .await;
    let targets = platforms(&server.uri())
        .targets(Platform::Facebook, None, &secret("user-token"))
        .await
        .unwrap();
    assert_eq!(targets[0].kind, TargetKind::FacebookPage);
    assert_eq!(
        targets[0].access_token.as_ref().unwrap().expose_secret(),
        "page-token"
    );
}

#[tokio::test]
async fn no_pages_is_a_failure_that_says_the_user_must_be_a_page_admin() {
    let server = MockServer::start().await;
    accounts(&server, json!([])).await;
    let failure = platforms(&server.uri())
        .targets(Platform::Facebook, None, &secret("user-token"))
        .await
        .unwrap_err();
    assert_eq!(failure.hint.as_deref(), Some(hints::FACEBOOK_NO_PAGES));
}

#[tokio::test]
async fn instagram_accounts_are_found_through_their_pages() {
    let server = MockServer::start().await;
    accounts(&server, json!([
        {"id": "555", "name": "Herald Page", "access_token": "p", "instagram_business_account": {"id": "1784"}},
        {"id": "556", "name": "No IG", "access_token": "q"}
    ])).await;
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/1784"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1784", "username": "herald.ig"})),
        )
        .mount(&server)
        .await;
    let targets = platforms(&server.uri())
        .targets(Platform::Instagram, None, &secret("user-token"))
        .await
        .unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].id.as_str(), targets[0].page_id.as_deref()),
        ("1784", Some("555"))
    );
    assert_eq!(targets[0].username.as_deref(), Some("herald.ig"));
}

#[tokio::test]
async fn no_instagram_account_explains_business_accounts_and_page_links() {
    let server = MockServer::start().await;
    accounts(
        &server,
        json!([{"id": "556", "name": "No IG", "access_token": "q"}]),
    )
    .await;
    let failure = platforms(&server.uri())
        .targets(Platform::Instagram, None, &secret("user-token"))
        .await
        .unwrap_err();
    assert_eq!(failure.hint.as_deref(), Some(hints::INSTAGRAM_NO_ACCOUNT));
}

#[tokio::test]
async fn a_page_photo_is_uploaded_unpublished_then_attached_to_a_feed_post_with_the_page_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/555/photos"))
        .and(query_param("access_token", "page-token"))
        .and(multipart_with(&[
            "name=\"published\"",
            "false",
            "name=\"source\"",
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "9001"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/555/feed"))
        .and(query_param("access_token", "page-token"))
        .and(body_json(
            json!({"message": "photo day", "attached_media": [{"media_fbid": "9001"}]}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "x-app-usage",
                    r#"{"call_count":91,"total_time":5,"total_cputime":5}"#,
                )
                .set_body_json(json!({"id": "555_777"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/555_777"))
        .and(query_param("fields", "permalink_url"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "555_777", "permalink_url": "https://www.facebook.com/555/posts/777"
        })))
        .mount(&server)
        .await;
    let fb = platforms(&server.uri());
    let outcomes = publish(
        &fb,
        &page(),
        &with_image("photo day"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.remote_id, "555_777");
    assert_eq!(
        post.url.as_deref(),
        Some("https://www.facebook.com/555/posts/777")
    );
    assert_eq!(post.rate.usage_percent, Some(91));
    assert!(
        post.rate.back_off_until(Utc::now()).is_some(),
        "above 90 % the worker backs off"
    );
}

#[tokio::test]
async fn an_expired_page_token_means_reconnect_with_the_subcode() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/555/feed"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired", "type": "OAuthException",
            "code": 190, "error_subcode": 463, "fbtrace_id": "A1"}})))
        .mount(&server)
        .await;
    let failure = publish(
        &platforms(&server.uri()),
        &page(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (failure.class, failure.code().as_deref()),
        (ErrorClass::ReconnectRequired, Some("190/463"))
    );
    assert_eq!(failure.hint.as_deref(), Some(hints::META_TOKEN));
}

#[tokio::test]
async fn a_page_rate_limit_waits_for_the_business_use_case_to_regain_access() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/555/feed"))
        .respond_with(ResponseTemplate::new(400)
            .insert_header("x-business-use-case-usage",
                r#"{"555":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":12}]}"#)
            .set_body_json(json!({"error": {"message": "Page request limit reached", "type": "OAuthException", "code": 32}})))
        .mount(&server)
        .await;
    let before = Utc::now();
    let failure = publish(
        &platforms(&server.uri()),
        &page(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::RateLimited);
    let at = failure.retry_at.unwrap();
    assert!(at >= before + TimeDelta::minutes(12) && at <= Utc::now() + TimeDelta::minutes(12));
}

#[tokio::test]
async fn the_page_feed_answers_lookups() {
    let server = MockServer::start().await;
    let now = Utc::now();
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/555/feed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "555_1", "message": "hello page", "created_time": now.format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
             "permalink_url": "https://www.facebook.com/555/posts/1"}
        ]})))
        .mount(&server)
        .await;
    let found = platforms(&server.uri())
        .lookup(&page(), "hello page", now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        found,
        Lookup::Found {
            remote_id: "555_1".into(),
            url: Some("https://www.facebook.com/555/posts/1".into())
        }
    );
}

async fn ig_container(server: &MockServer, statuses: &[&str]) {
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/1784/media"))
        .and(body_json(
            json!({"image_url": "https://media.example/cat.png", "caption": "meow"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "c-1"})))
        .expect(1)
        .mount(server)
        .await;
    for (i, status) in statuses.iter().enumerate() {
        let mock = Mock::given(method("GET"))
            .and(path("/graph/v24.0/c-1"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"status_code": status, "id": "c-1"})),
            );
        if i + 1 == statuses.len() {
            mock.mount(server).await
        } else {
            mock.up_to_n_times(1).mount(server).await
        }
    }
}

#[tokio::test]
async fn an_instagram_post_creates_a_container_waits_for_it_then_publishes() {
    let server = MockServer::start().await;
    ig_container(&server, &["IN_PROGRESS", "FINISHED"]).await;
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/1784/media_publish"))
        .and(body_json(json!({"creation_id": "c-1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "m-1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/m-1"))
        .and(query_param("fields", "permalink"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"permalink": "https://www.instagram.com/p/ABC/"})),
        )
        .mount(&server)
        .await;
    let ig_client = platforms(&server.uri());
    let outcomes = publish(
        &ig_client,
        &ig(),
        &with_image("meow"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let keys: Vec<_> = outcomes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["container", "container:ready", "publish"]);
    assert_eq!(
        published(&outcomes).url.as_deref(),
        Some("https://www.instagram.com/p/ABC/")
    );
}

#[tokio::test]
async fn a_container_in_error_fails_permanently() {
    let server = MockServer::start().await;
    ig_container(&server, &["ERROR"]).await;
    let failure = publish(
        &platforms(&server.uri()),
        &ig(),
        &with_image("meow"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (failure.class, failure.code().as_deref()),
        (ErrorClass::Permanent, Some("ERROR"))
    );
}

#[tokio::test]
async fn instagram_refuses_text_only_posts_before_any_request() {
    let server = MockServer::start().await;
    let failure = platforms(&server.uri())
        .plan(&ig(), &text("no image"))
        .unwrap_err();
    assert_eq!(
        failure.hint.as_deref(),
        Some(hints::INSTAGRAM_IMAGE_REQUIRED)
    );
}

#[tokio::test]
async fn publishing_before_the_container_is_ready_is_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/1784/media_publish"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Media ID is not available", "type": "OAuthException", "code": 9007, "error_subcode": 2207027}})))
        .mount(&server)
        .await;
    let ig_client = platforms(&server.uri());
    let content = with_image("meow");
    let steps = ig_client.plan(&ig(), &content).unwrap();
    let mut prior = herald_platforms::PriorResults::new();
    prior.insert(herald_platforms::StepKey::container(), "c-1");
    let media = [png()];
    let ctx = herald_platforms::StepContext {
        account: &ig(),
        content: &content,
        media: &media,
        prior: &prior,
        options: PublishOptions::default(),
    };
    let failure = ig_client.execute(&steps[2], &ctx).await.unwrap_err();
    assert_eq!(
        (failure.class, failure.code().as_deref()),
        (ErrorClass::Retryable, Some("9007/2207027"))
    );
}

#[tokio::test]
async fn instagram_media_answers_lookups_by_caption() {
    let server = MockServer::start().await;
    let now = Utc::now();
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/1784/media"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "m-9", "caption": "meow", "timestamp": now.format("%Y-%m-%dT%H:%M:%S+0000").to_string(), "permalink": "https://www.instagram.com/p/X/"}
        ]})))
        .mount(&server)
        .await;
    let found = platforms(&server.uri())
        .lookup(&ig(), "meow", now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(matches!(found, Lookup::Found { ref remote_id, .. } if remote_id == "m-9"));
}

#[tokio::test]
async fn a_graph_token_in_the_query_string_never_reaches_a_failure_message() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let failure = publish(
        &platforms(&base),
        &page(),
        &text("hi"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Retryable);
    let shown = format!("{failure} {failure:?}");
    assert!(
        !shown.contains("page-token") && !shown.contains("access_token="),
        "{shown}"
    );
}

#[tokio::test]
async fn the_client_and_its_configuration_print_no_app_secret() {
    let server = MockServer::start().await;
    let shown = format!("{:?}", platforms(&server.uri()));
    assert!(
        shown.contains("herald-dev-facebook"),
        "the client id is not a secret"
    );
    assert!(!shown.contains("herald-dev-facebook-secret"), "{shown}");
}

#[tokio::test]
async fn lookups_ask_each_edge_for_its_own_fields_since_and_limit() {
    use wiremock::matchers::query_param_is_missing;
    let server = MockServer::start().await;
    let since = Utc::now() - TimeDelta::minutes(1);
    let since_unix = (since - TimeDelta::minutes(5)).timestamp().to_string();
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/555/feed"))
        .and(query_param(
            "fields",
            "id,message,created_time,permalink_url",
        ))
        .and(query_param("since", since_unix.as_str()))
        .and(query_param("limit", "100"))
        .and(query_param("access_token", "page-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    // Nothing in the feed: the Page's videos, whose text is their `description`.
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/555/videos"))
        .and(query_param(
            "fields",
            "id,description,created_time,permalink_url",
        ))
        .and(query_param("since", since_unix.as_str()))
        .and(query_param("limit", "100"))
        .and(query_param("access_token", "page-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    // Instagram's media edge takes no `since`: the time is checked on each post instead.
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/1784/media"))
        .and(query_param("fields", "id,caption,timestamp,permalink"))
        .and(query_param_is_missing("since"))
        .and(query_param("limit", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    let platforms = platforms(&server.uri());
    assert_eq!(
        platforms.lookup(&page(), "x", since).await.unwrap(),
        Lookup::NotFound
    );
    assert_eq!(
        platforms.lookup(&ig(), "x", since).await.unwrap(),
        Lookup::NotFound
    );
}
