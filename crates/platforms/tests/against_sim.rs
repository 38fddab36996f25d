//! Every flow against `herald-sim`, the platform simulator written separately from this
//! crate from the same platform documentation: a shape either side misread fails here.
//!
//! Each test starts its own simulator on a free port and points a `Platforms` at it through
//! `HERALD_PLATFORM_BASE_URL`, as `herald demo` does. Accounts are connected the way a user
//! would: the authorize URL is opened (the simulator approves for its test user and redirects
//! to the callback), and the callback's code is exchanged.

mod common;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::sim::{Sim, settings};
use common::{published, secret, text};
use herald_domain::{AppType, ErrorClass, MediaRef, Platform, PostContent};
use herald_platforms::{
    Account, ChatId, DegradedKind, HttpSettings, Lookup, MediaInput, TargetKind,
};
use herald_sim::SimConfig;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

fn fast(mut config: SimConfig) -> SimConfig {
    config.linkedin.image_processing_ms = 200;
    config.instagram.container_processing_ms = 200;
    config.threads.container_processing_ms = 200;
    config
}

async fn start() -> Sim {
    start_with(fast(SimConfig::default()), &[]).await
}

async fn start_with(config: SimConfig, extra: &[(&str, &str)]) -> Sim {
    let settings = HttpSettings {
        request_timeout: Duration::from_secs(2),
        ..settings()
    };
    Sim::start(config, extra, &settings).await
}

fn image_post(text: &str) -> PostContent {
    PostContent {
        text: Some(text.to_owned()),
        media: vec![MediaRef::Url {
            url: "https://media.example/a.jpg".into(),
        }],
        ..PostContent::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Connect and publish, every platform

#[tokio::test]
async fn every_platform_connects_and_publishes_a_text_post_exactly_once() {
    let sim = start().await;
    for platform in [
        Platform::Twitter,
        Platform::Linkedin,
        Platform::Facebook,
        Platform::Threads,
        Platform::Telegram,
    ] {
        let account = sim.account(platform, None).await;
        let body = format!("Hello from Herald to {platform}");
        let outcomes = sim
            .publish(&account, &text(&body), &[])
            .await
            .unwrap_or_else(|f| panic!("{platform}: {f}"));
        let post = published(&outcomes);
        assert!(post.url.is_some(), "{platform}: a public URL");
        let posts = sim.posts(platform.as_str()).await;
        let matching: Vec<_> = posts
            .iter()
            .filter(|p| p["text"].as_str() == Some(body.as_str()))
            .collect();
        assert_eq!(matching.len(), 1, "{platform}: exactly one post: {posts:?}");
        assert_eq!(
            matching[0]["id"].as_str(),
            Some(post.remote_id.as_str()),
            "{platform}: the id we got is the post's"
        );
    }
}

#[tokio::test]
async fn every_platform_that_takes_images_publishes_one() {
    let sim = start().await;
    for platform in Platform::ALL {
        let account = sim.account(platform, None).await;
        let media = [sim.image("1080x1080").await];
        let outcomes = sim
            .publish(
                &account,
                &image_post(&format!("a picture for {platform}")),
                &media,
            )
            .await
            .unwrap_or_else(|f| panic!("{platform}: {f}"));
        let post = published(&outcomes);
        assert!(!post.is_degraded(), "{platform}: {:?}", post.degraded);
        let posts = sim.posts(platform.as_str()).await;
        let made = posts
            .iter()
            .find(|p| p["id"].as_str() == Some(post.remote_id.as_str()));
        let made =
            made.unwrap_or_else(|| panic!("{platform}: post {} not in {posts:?}", post.remote_id));
        assert!(
            !made["media"].as_array().is_none_or(Vec::is_empty),
            "{platform}: the post carries the image: {made}"
        );
    }
}

#[tokio::test]
async fn an_x_thread_is_a_reply_chain() {
    let sim = start().await;
    let account = sim.account(Platform::Twitter, None).await;
    let mut content = text("thread 1/3");
    content.thread = vec!["thread 2/3".into(), "thread 3/3".into()];
    let outcomes = sim.publish(&account, &content, &[]).await.unwrap();
    let ids: Vec<_> = outcomes.iter().map(|(_, o)| o.remote_id.clone()).collect();
    let posts = sim.posts("twitter").await;
    let reply_to = |id: &str| {
        posts
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["reply_to"].clone())
    };
    assert_eq!(reply_to(&ids[0]), Some(Value::Null));
    assert_eq!(reply_to(&ids[1]), Some(json!(ids[0])));
    assert_eq!(reply_to(&ids[2]), Some(json!(ids[1])));
}

#[tokio::test]
async fn a_linkedin_company_page_is_discovered_and_posted_to() {
    let sim = start().await;
    let tokens = sim
        .connect(Platform::Linkedin, Some(AppType::Company))
        .await;
    let orgs = sim
        .platforms
        .targets(
            Platform::Linkedin,
            Some(AppType::Company),
            &tokens.access_token,
        )
        .await
        .expect("organizations");
    assert_eq!(orgs[0].kind, TargetKind::LinkedinOrganization);
    let me = sim
        .platforms
        .identity(Platform::Linkedin, &tokens.access_token)
        .await
        .unwrap();
    let account = Account::new(Platform::Linkedin, me.account_id, tokens.access_token)
        .with_app_type(AppType::Company)
        .on_page(orgs[0].id.clone());
    let media = [sim.image("1200x627").await];
    let outcomes = sim
        .publish(&account, &image_post("company news (v2) #launch"), &media)
        .await
        .unwrap();
    let posts = sim.posts("linkedin").await;
    let post = posts
        .iter()
        .find(|p| p["id"].as_str() == Some(published(&outcomes).remote_id.as_str()))
        .unwrap();
    assert_eq!(
        post["account"].as_str(),
        Some(format!("urn:li:organization:{}", orgs[0].id).as_str())
    );
    assert_eq!(
        post["text"].as_str(),
        Some("company news (v2) #launch"),
        "little text reads as written"
    );
}

#[tokio::test]
async fn the_legacy_linkedin_flow_posts_through_assets_and_ugc_posts() {
    let sim = start_with(
        fast(SimConfig::default()),
        &[
            ("HERALD_PLATFORMS__LINKEDIN__FLOW", "legacy"),
            ("HERALD_PLATFORMS__LINKEDIN__IMAGE_WAIT_SECS", "1"),
        ],
    )
    .await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [sim.image("1200x627").await];
    let outcomes = sim
        .publish(&account, &image_post("the legacy way"), &media)
        .await
        .unwrap();
    assert!(published(&outcomes).remote_id.starts_with("urn:li:"));
    assert_eq!(sim.posts("linkedin").await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[tokio::test]
async fn x_refresh_tokens_rotate_and_a_used_one_means_reconnect() {
    let sim = start().await;
    let tokens = sim.connect(Platform::Twitter, None).await;
    let account = Account::new(Platform::Twitter, "me", tokens.access_token.clone());
    let first = tokens
        .refresh_token
        .expect("offline.access gives a refresh token");
    let rotated = sim
        .platforms
        .refresh(&account, Some(&first))
        .await
        .expect("refresh");
    let second = rotated.refresh_token.expect("a new refresh token");
    assert_ne!(second.expose_secret(), first.expose_secret());
    assert!(rotated.expires_at.unwrap() > Utc::now());
    let reused = sim
        .platforms
        .refresh(&account, Some(&first))
        .await
        .unwrap_err();
    assert_eq!(reused.class, ErrorClass::ReconnectRequired);
}

#[tokio::test]
async fn meta_and_threads_tokens_are_long_lived_and_extendable() {
    let sim = start().await;
    for platform in [Platform::Facebook, Platform::Instagram, Platform::Threads] {
        let tokens = sim.connect(platform, None).await;
        assert!(
            tokens.expires_at.unwrap() > Utc::now() + TimeDelta::days(50),
            "{platform}: long-lived"
        );
        if platform == Platform::Threads {
            // A Threads token can be refreshed once it is a day old.
            sim.control(
                reqwest::Method::POST,
                "/_sim/clock/advance",
                Some(json!({"seconds": 90_000})),
            )
            .await;
        }
        let account = Account::new(platform, "me", tokens.access_token);
        let fresh = sim
            .platforms
            .refresh(&account, None)
            .await
            .unwrap_or_else(|f| panic!("{platform}: {f}"));
        assert!(fresh.expires_at.is_some(), "{platform}");
    }
}

#[tokio::test]
async fn linkedin_without_partner_status_asks_for_a_reconnect() {
    let sim = start().await;
    let account = sim.account(Platform::Linkedin, None).await;
    let failure = sim.platforms.refresh(&account, None).await.unwrap_err();
    assert_eq!(failure.class, ErrorClass::ReconnectRequired);
}

#[tokio::test]
async fn a_revoked_token_is_a_reconnect_on_every_platform() {
    let sim = start().await;
    for platform in [
        Platform::Twitter,
        Platform::Linkedin,
        Platform::Facebook,
        Platform::Threads,
    ] {
        let account = sim.account(platform, None).await;
        sim.control(
            reqwest::Method::POST,
            "/_sim/tokens/revoke",
            Some(json!({"platform": platform.as_str()})),
        )
        .await;
        let failure = sim
            .publish(&account, &text("after revoke"), &[])
            .await
            .unwrap_err();
        assert_eq!(
            failure.class,
            ErrorClass::ReconnectRequired,
            "{platform}: {failure}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fallbacks

#[tokio::test]
async fn x_free_tier_media_refusal_posts_text_only_and_reports_it() {
    let mut config = fast(SimConfig::default());
    config.x.free_tier_rejects_media = true;
    let sim = start_with(config, &[]).await;
    let account = sim.account(Platform::Twitter, None).await;
    let media = [sim.image("800x800").await];
    let outcomes = sim
        .publish(&account, &image_post("free tier"), &media)
        .await
        .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.degraded[0].kind, DegradedKind::MediaDropped);
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 1);
    assert!(posts[0]["media"].as_array().is_none_or(Vec::is_empty));
}

#[tokio::test]
async fn linkedin_media_urn_rejection_posts_text_only_and_reports_it() {
    let mut config = fast(SimConfig::default());
    config.linkedin.rejects_media_urn = true;
    let sim = start_with(config, &[]).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [sim.image("1200x627").await];
    let outcomes = sim
        .publish(&account, &image_post("media rejected"), &media)
        .await
        .unwrap();
    assert_eq!(
        published(&outcomes).degraded[0].kind,
        DegradedKind::MediaDropped
    );
    assert_eq!(sim.posts("linkedin").await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Faults on the publishing call, every platform

/// The fault rule's endpoint for the publishing call. X has none: the simulator names
/// `/x/2/tweets` as `/{id}/tweets` (it takes the API version `2` for an id), so a rule for
/// `POST /2/tweets` never fires; a text post makes no other X request, so the platform-wide
/// rule hits exactly the publish.
fn publish_endpoint(platform: Platform) -> Option<&'static str> {
    Some(match platform {
        Platform::Twitter => return None,
        Platform::Linkedin => "POST /rest/posts",
        Platform::Facebook => "POST /{id}/feed",
        Platform::Instagram => "POST /{id}/media_publish",
        Platform::Threads => "POST /{id}/threads_publish",
        Platform::Telegram => "sendMessage",
    })
}

fn content_for(platform: Platform, body: &str) -> PostContent {
    if platform == Platform::Instagram {
        image_post(body)
    } else {
        text(body)
    }
}

#[tokio::test]
async fn server_errors_and_rate_limits_on_publish_are_classified_on_every_platform() {
    let sim = start().await;
    for platform in Platform::ALL {
        let account = sim.account(platform, None).await;
        let media = [sim.image("1080x1080").await];
        let media: &[MediaInput] = if platform == Platform::Instagram {
            &media
        } else {
            &[]
        };
        sim.fault(json!({"platform": platform.as_str(), "endpoint": publish_endpoint(platform), "script": ["500", "429"]})).await;
        let failure = sim
            .publish(&account, &content_for(platform, "fault 500"), media)
            .await
            .unwrap_err();
        assert_eq!(
            failure.class,
            ErrorClass::Retryable,
            "{platform} 500: {failure}"
        );
        let failure = sim
            .publish(&account, &content_for(platform, "fault 429"), media)
            .await
            .unwrap_err();
        assert_eq!(
            failure.class,
            ErrorClass::RateLimited,
            "{platform} 429: {failure}"
        );
        assert!(
            failure.retry_at.is_some_and(|at| at > Utc::now()),
            "{platform}: when it frees"
        );
        assert!(failure.hint.is_some(), "{platform}: a hint");
    }
}

#[tokio::test]
async fn a_publish_dropped_after_processing_is_an_unknown_outcome_resolved_by_lookup() {
    // Looking up a LinkedIn member's posts needs `r_member_social`, which the simulator's
    // personal app (like a new app on LinkedIn) lacks unless granted, and Herald must ask.
    let mut config = fast(SimConfig::default());
    config
        .fixtures
        .grant_scope("herald-dev-linkedin", "r_member_social");
    let sim = start_with(
        config,
        &[(
            "HERALD_PLATFORMS__LINKEDIN__PERSONAL_SCOPES",
            r#"["openid", "profile", "email", "w_member_social", "r_member_social"]"#,
        )],
    )
    .await;
    for platform in Platform::ALL {
        let account = sim.account(platform, None).await;
        let media = [sim.image("1080x1080").await];
        let media: &[MediaInput] = if platform == Platform::Instagram {
            &media
        } else {
            &[]
        };
        let body = format!("dropped answer on {platform}");
        sim.fault(json!({"platform": platform.as_str(), "endpoint": publish_endpoint(platform), "script": ["drop"]})).await;
        let since = Utc::now() - TimeDelta::seconds(5);
        let failure = sim
            .publish(&account, &content_for(platform, &body), media)
            .await
            .unwrap_err();
        assert_eq!(
            failure.class,
            ErrorClass::UnknownOutcome,
            "{platform}: {failure}"
        );
        let found = sim
            .platforms
            .lookup(&account, &body, since)
            .await
            .unwrap_or_else(|f| panic!("{platform}: {f}"));
        match platform {
            Platform::Telegram => assert_eq!(found, Lookup::CannotKnow),
            _ => assert!(
                matches!(found, Lookup::Found { .. }),
                "{platform}: the post exists: {found:?}"
            ),
        }
        let missing = sim
            .platforms
            .lookup(&account, "never sent anywhere", since)
            .await
            .unwrap();
        assert!(
            matches!(missing, Lookup::NotFound | Lookup::CannotKnow),
            "{platform}"
        );
    }
}

#[tokio::test]
async fn a_hung_or_reset_publish_is_an_unknown_outcome_and_a_hung_read_is_retryable() {
    let sim = start().await;
    let account = sim.account(Platform::Twitter, None).await;
    sim.fault(json!({"platform": "twitter", "hang_ms": 5000, "script": ["hang", "reset"]}))
        .await;
    let hung = sim.publish(&account, &text("hang"), &[]).await.unwrap_err();
    assert_eq!(hung.class, ErrorClass::UnknownOutcome, "{hung}");
    let reset = sim
        .publish(&account, &text("reset"), &[])
        .await
        .unwrap_err();
    assert_eq!(reset.class, ErrorClass::UnknownOutcome, "{reset}");
    // Replaces the spent rule; no endpoint, for the reason given at `publish_endpoint`.
    sim.control(
        reqwest::Method::PUT,
        "/_sim/faults",
        Some(json!([{"platform": "twitter", "hang_ms": 5000, "script": ["hang"]}])),
    )
    .await;
    let read = sim
        .platforms
        .identity(Platform::Twitter, &account.access_token)
        .await
        .unwrap_err();
    assert_eq!(read.class, ErrorClass::Retryable, "{read}");
}

#[tokio::test]
async fn x_answers_carry_the_rate_budget_and_the_daily_cap_is_rate_limited_until_reset() {
    let mut config = fast(SimConfig::default());
    config.x.user_daily_limit = Some(2);
    let sim = start_with(config, &[]).await;
    let account = sim.account(Platform::Twitter, None).await;
    let first = sim.publish(&account, &text("one"), &[]).await.unwrap();
    let rate = &published(&first).rate;
    assert!(
        rate.window.is_some() && rate.user_daily.is_some(),
        "{rate:?}"
    );
    sim.publish(&account, &text("two"), &[]).await.unwrap();
    let third = sim
        .publish(&account, &text("three"), &[])
        .await
        .unwrap_err();
    assert_eq!(third.class, ErrorClass::RateLimited);
    assert!(
        third.retry_at.unwrap() > Utc::now() + TimeDelta::hours(1),
        "the 24-hour window: {third}"
    );
}

#[tokio::test]
async fn telegram_refuses_a_chat_where_the_bot_may_not_post() {
    let sim = start().await;
    let fixtures = sim
        .control(reqwest::Method::GET, "/_sim/fixtures", None)
        .await;
    let token = secret(fixtures["telegram"]["bot_token"].as_str().unwrap());
    let closed = fixtures["telegram"]["closed_chat_id"].to_string();
    let failure = sim
        .platforms
        .connect_telegram(&token, &ChatId::parse(&closed).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        failure.hint.as_deref(),
        Some(herald_platforms::hints::TELEGRAM_NOT_ADMIN),
        "{failure}"
    );
}

// ---------------------------------------------------------------------------------------------
// The simulator's other signals

#[tokio::test]
async fn an_expired_token_is_a_reconnect_and_only_x_is_worth_a_forced_refresh() {
    let sim = start().await;
    for platform in [
        Platform::Twitter,
        Platform::Linkedin,
        Platform::Facebook,
        Platform::Threads,
    ] {
        let account = sim.account(platform, None).await;
        sim.control(
            reqwest::Method::POST,
            "/_sim/tokens/expire",
            Some(json!({"platform": platform.as_str()})),
        )
        .await;
        let failure = sim
            .publish(&account, &text("after expiry"), &[])
            .await
            .unwrap_err();
        assert_eq!(
            failure.class,
            ErrorClass::ReconnectRequired,
            "{platform}: {failure}"
        );
        assert_eq!(
            herald_platforms::refresh_may_help(&failure),
            platform == Platform::Twitter,
            "{platform}: {failure:?}"
        );
    }
}

#[tokio::test]
async fn company_pages_without_verification_explain_the_community_management_api() {
    let mut config = fast(SimConfig::default());
    config.linkedin.company_access_denied = true;
    let sim = start_with(config, &[]).await;
    let tokens = sim
        .connect(Platform::Linkedin, Some(AppType::Company))
        .await;
    let failure = sim
        .platforms
        .targets(
            Platform::Linkedin,
            Some(AppType::Company),
            &tokens.access_token,
        )
        .await
        .unwrap_err();
    assert_eq!(
        failure.hint.as_deref(),
        Some(herald_platforms::hints::LINKEDIN_COMPANY_ACCESS),
        "{failure}"
    );
}

#[tokio::test]
async fn a_retired_linkedin_version_says_which_setting_to_change() {
    let sim = start_with(
        fast(SimConfig::default()),
        &[("HERALD_PLATFORMS__LINKEDIN__VERSION", "202001")],
    )
    .await;
    let account = sim.account(Platform::Linkedin, None).await;
    let failure = sim
        .publish(&account, &text("old version"), &[])
        .await
        .unwrap_err();
    assert_eq!(
        failure.hint.as_deref(),
        Some(herald_platforms::hints::LINKEDIN_VERSION),
        "{failure}"
    );
}

#[tokio::test]
async fn the_instagram_daily_quota_is_a_rate_limit() {
    let mut config = fast(SimConfig::default());
    config.instagram.publishing_quota.limit = 1;
    let sim = start_with(config, &[]).await;
    let account = sim.account(Platform::Instagram, None).await;
    let media = [sim.image("1080x1080").await];
    sim.publish(&account, &image_post("first of the day"), &media)
        .await
        .unwrap();
    let failure = sim
        .publish(&account, &image_post("second of the day"), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::RateLimited, "{failure}");
    assert_eq!(
        failure.hint.as_deref(),
        Some(herald_platforms::hints::INSTAGRAM_DAILY_LIMIT)
    );
}
