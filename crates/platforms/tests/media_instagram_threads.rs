//! Instagram and Threads media against `herald-sim`: Reels and Threads videos with their
//! processing wait, mixed carousels, videos the platform fails (classified with a hint), and
//! first comments published under the post.
//!
//! The videos are the files in `tests/fixtures/video`, hosted by the simulator itself
//! (`POST /_sim/media`), which then fetches them from `video_url` as the platforms do.

mod common;

use common::published;
use common::sim::{Sim, keys, media_post, outcome, settings};
use herald_domain::{ErrorClass, Platform, PostContent};
use herald_platforms::hints;
use herald_sim::SimConfig;
use serde_json::json;

async fn start() -> Sim {
    start_with(&[]).await
}

/// A simulator, and Herald's clients with `extra` configuration (`HERALD_…` variables).
async fn start_with(extra: &[(&str, &str)]) -> Sim {
    let mut config = SimConfig::default();
    config.instagram.container_processing_ms = 200;
    config.instagram.reels.processing_ms = 400;
    config.threads.container_processing_ms = 200;
    config.threads.video.processing_ms = 400;
    Sim::start(config, extra, &settings()).await
}

/// A post with `text`, `items` media references and an optional first comment.
fn post(text: &str, items: usize, first_comment: Option<&str>) -> PostContent {
    PostContent {
        first_comment: first_comment.map(str::to_owned),
        ..media_post(text, items)
    }
}

#[tokio::test]
async fn an_instagram_video_is_published_as_a_reel_once_processed() {
    let sim = start().await;
    let account = sim.account(Platform::Instagram, None).await;
    let video = sim.hosted_video("portrait-720x1280-4s.mp4").await;
    let outcomes = sim
        .publish(&account, &post("A reel", 1, None), &[video])
        .await
        .expect("the reel is published");
    assert_eq!(keys(&outcomes), ["container", "container:ready", "publish"]);
    let reel = published(&outcomes);
    assert!(reel.url.as_deref().is_some_and(|u| u.contains("/reel/")));
    let posts = sim.posts("instagram").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], reel.remote_id.as_str());
    assert_eq!(posts[0]["media_types"], json!(["video/mp4"]));
}

#[tokio::test]
async fn an_instagram_carousel_of_two_images_and_a_video_is_one_post_of_three_media() {
    let sim = start().await;
    let account = sim.account(Platform::Instagram, None).await;
    let media = [
        sim.image("1080x1080").await,
        sim.image("1080x1350").await,
        sim.hosted_video("landscape-1280x720-4s.mp4").await,
    ];
    let outcomes = sim
        .publish(&account, &post("Three", 3, None), &media)
        .await
        .expect("the carousel is published");
    assert_eq!(
        keys(&outcomes),
        [
            "item:0",
            "item:0:ready",
            "item:1",
            "item:1:ready",
            "item:2",
            "item:2:ready",
            "container",
            "container:ready",
            "publish"
        ]
    );
    let posts = sim.posts("instagram").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], published(&outcomes).remote_id.as_str());
    assert_eq!(
        posts[0]["media_types"],
        json!(["image/jpeg", "image/jpeg", "video/mp4"])
    );
}

#[tokio::test]
async fn a_threads_video_is_published_once_processed() {
    let sim = start().await;
    let account = sim.account(Platform::Threads, None).await;
    let video = sim.hosted_video("clip-640x360-3s.mov").await;
    let outcomes = sim
        .publish(&account, &post("A clip", 1, None), &[video])
        .await
        .expect("the video is published");
    assert_eq!(keys(&outcomes), ["container", "container:ready", "publish"]);
    let posts = sim.posts("threads").await;
    assert_eq!(posts[0]["id"], published(&outcomes).remote_id.as_str());
    assert_eq!(posts[0]["media_types"], json!(["video/quicktime"]));
}

#[tokio::test]
async fn a_threads_carousel_mixes_an_image_and_a_video() {
    let sim = start().await;
    let account = sim.account(Platform::Threads, None).await;
    let media = [
        sim.hosted_video("portrait-720x1280-4s.mp4").await,
        sim.image("1080x1350").await,
    ];
    let outcomes = sim
        .publish(&account, &post("Two", 2, None), &media)
        .await
        .expect("the carousel is published");
    assert_eq!(
        keys(&outcomes)[..4],
        ["item:0", "item:0:ready", "item:1", "item:1:ready"]
    );
    let posts = sim.posts("threads").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["media_types"], json!(["video/mp4", "image/jpeg"]));
}

#[tokio::test]
async fn a_video_instagram_fails_is_permanent_and_says_which_reels_rule_it_breaks() {
    let sim = start().await;
    let account = sim.account(Platform::Instagram, None).await;
    let video = sim.hosted_video("short-640x360-1s.mp4").await;
    let failure = sim
        .publish(&account, &post("Too short", 1, None), &[video])
        .await
        .expect_err("Instagram fails a 1 s reel");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.code().as_deref(), Some("ERROR/2207026"));
    assert_eq!(
        failure.hint.as_deref(),
        Some(hints::INSTAGRAM_VIDEO_INVALID)
    );
    assert!(
        failure.message.contains("video.too_short") && failure.message.contains("1.0 s"),
        "{}",
        failure.message
    );
    assert!(sim.posts("instagram").await.is_empty());
}

#[tokio::test]
async fn a_video_threads_fails_carries_its_error_message_a_hint_and_the_rule_it_breaks() {
    let sim = start().await;
    let account = sim.account(Platform::Threads, None).await;
    let video = sim.hosted_video("long-320x240-320s.mp4").await;
    let failure = sim
        .publish(&account, &post("Too long", 1, None), &[video])
        .await
        .expect_err("Threads fails a 320 s video");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.code().as_deref(), Some("ERROR/INVALID_DURATION"));
    assert_eq!(failure.hint.as_deref(), Some(hints::THREADS_VIDEO_DURATION));
    assert!(
        failure.message.contains("video.too_long") && failure.message.contains("at most 300 s"),
        "{}",
        failure.message
    );
    assert!(sim.posts("threads").await.is_empty());
}

#[tokio::test]
async fn a_first_comment_is_published_under_the_post_on_instagram_and_threads() {
    let sim = start().await;
    for platform in [Platform::Instagram, Platform::Threads] {
        let account = sim.account(platform, None).await;
        let (content, media) = if platform == Platform::Instagram {
            (
                post("With a comment", 1, Some("Link in bio")),
                vec![sim.image("1080x1080").await],
            )
        } else {
            (post("With a comment", 0, Some("Link below")), Vec::new())
        };
        let outcomes = sim
            .publish(&account, &content, &media)
            .await
            .unwrap_or_else(|f| panic!("{platform}: {f}"));
        assert_eq!(keys(&outcomes).last(), Some(&"comment"), "{platform}");
        let posted = published(&outcomes).remote_id.clone();
        let comment = outcome(&outcomes, "comment");
        let posts = sim.posts(platform.as_str()).await;
        assert_eq!(posts.len(), 2, "{platform}: the post and its comment");
        assert_eq!(posts[1]["id"], comment.remote_id.as_str(), "{platform}");
        assert_eq!(posts[1]["reply_to"], posted.as_str(), "{platform}");
        assert_eq!(
            posts[1]["text"],
            content.first_comment.as_deref().unwrap_or_default(),
            "{platform}"
        );
    }
}

#[tokio::test]
async fn carousels_beyond_the_platform_size_are_refused_before_any_request() {
    let sim = start().await;
    let instagram = common::account(Platform::Instagram, "1784", "token");
    let threads = common::account(Platform::Threads, "42", "token");
    let too_many = sim
        .platforms
        .plan(&instagram, &post("Eleven", 11, None))
        .expect_err("11 items");
    assert_eq!(
        too_many.hint.as_deref(),
        Some(hints::INSTAGRAM_CAROUSEL_SIZE)
    );
    assert!(too_many.message.contains("at most 10") && too_many.message.contains("11"));
    let too_many = sim
        .platforms
        .plan(&threads, &post("Twenty-one", 21, None))
        .expect_err("21 items");
    assert_eq!(too_many.hint.as_deref(), Some(hints::THREADS_CAROUSEL_SIZE));
    assert!(
        sim.platforms
            .plan(&threads, &post("Twenty", 20, None))
            .is_ok()
    );
}

#[tokio::test]
async fn a_first_comment_without_the_comment_permission_fails_with_a_hint_to_reconnect() {
    let sim = start_with(&[(
        "HERALD_PLATFORMS__INSTAGRAM__SCOPES",
        r#"["pages_show_list","instagram_basic","instagram_content_publish"]"#,
    )])
    .await;
    let account = sim.account(Platform::Instagram, None).await;
    let media = [sim.image("1080x1080").await];
    let failure = sim
        .publish(&account, &post("Commented", 1, Some("Hello")), &media)
        .await
        .expect_err("the comment is refused");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.code().as_deref(), Some("10"));
    assert!(
        failure
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("instagram_manage_comments")),
        "{:?}",
        failure.hint
    );
    let posts = sim.posts("instagram").await;
    assert_eq!(posts.len(), 1, "the post itself is published");
    assert!(posts[0]["reply_to"].is_null());
}
