//! LinkedIn media against `herald-sim`: a video uploaded in parts and processed, several
//! images in one post, a first comment, and the upload failures each with the class that
//! tells the worker what to do (retry with a new upload, or stop with the reason).
//!
//! Videos come from `tests/fixtures/video` as spooled files (the way the worker hands them
//! over) and the simulator's part size is shrunk, so a 94 KB video goes up in several parts.

mod common;

use std::time::Duration;

use common::published;
use common::sim::{Sim, keys, media_post, settings, video};
use herald_domain::{Code, ErrorClass, Platform};
use herald_platforms::HttpSettings;
use herald_sim::SimConfig;
use serde_json::json;

/// The simulator's part size in these tests.
const PART: u64 = 32 * 1024;

fn config() -> SimConfig {
    let mut config = SimConfig::default();
    config.linkedin.image_processing_ms = 100;
    config.linkedin.video_processing_ms = 150;
    config.linkedin.video_part_bytes = PART;
    config
}

async fn start(config: SimConfig) -> Sim {
    start_with(config, &[]).await
}

async fn start_with(config: SimConfig, extra: &[(&str, &str)]) -> Sim {
    let settings = HttpSettings {
        poll_interval: Duration::from_millis(25),
        container_wait: Duration::from_secs(5),
        ..settings()
    };
    Sim::start(config, extra, &settings).await
}

#[tokio::test]
async fn a_video_goes_up_in_parts_and_its_post_lists_video_mp4() {
    let sim = start(config()).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [video("landscape-1280x720-4s.mp4")];
    assert!(media[0].len > 2 * PART, "the video takes several parts");
    let outcomes = sim
        .publish(&account, &media_post("Our launch video", 1), &media)
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(keys(&outcomes), ["media:0", "media:0:ready", "publish"]);
    let video_urn = &outcomes[0].1.remote_id;
    assert!(video_urn.starts_with("urn:li:video:"), "{video_urn}");
    let posts = sim.posts("linkedin").await;
    let made = posts
        .iter()
        .find(|p| p["id"] == published(&outcomes).remote_id.as_str())
        .expect("the post is on LinkedIn");
    assert_eq!(made["media"], json!([video_urn]));
    assert_eq!(made["media_types"], json!(["video/mp4"]));
    assert_eq!(made["text"], "Our launch video");
}

#[tokio::test]
async fn three_images_make_one_multi_image_post() {
    let sim = start(config()).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [
        sim.image("1200x627").await,
        sim.image("1200x627").await,
        sim.image("1200x627").await,
    ];
    let outcomes = sim
        .publish(&account, &media_post("three (3) pictures", 3), &media)
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(
        keys(&outcomes),
        [
            "media:0",
            "media:0:ready",
            "media:1",
            "media:1:ready",
            "media:2",
            "media:2:ready",
            "publish"
        ]
    );
    let images: Vec<&str> = outcomes[..6]
        .iter()
        .step_by(2)
        .map(|(_, o)| o.remote_id.as_str())
        .collect();
    let posts = sim.posts("linkedin").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["media"], json!(images));
    assert_eq!(
        posts[0]["media_types"],
        json!(["image/jpeg", "image/jpeg", "image/jpeg"])
    );
    assert_eq!(posts[0]["text"], "three (3) pictures");
}

#[tokio::test]
async fn a_part_etag_mismatch_is_retryable_and_the_next_attempt_uploads_again() {
    let mut config = config();
    config.linkedin.video_etag_mismatch_part = Some(1);
    let sim = start(config).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [video("portrait-720x1280-4s.mp4")];
    let failure = sim
        .publish(&account, &media_post("a video", 1), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Retryable, "{failure}");
    assert!(failure.message.contains("uploadedPartIds[1]"), "{failure}");
    assert!(
        failure
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("uploads the whole video again")),
        "{failure:?}"
    );
    assert!(sim.posts("linkedin").await.is_empty());

    // The store behaves again: the retry starts a new upload and posts.
    sim.patch_config(json!({"linkedin": {"video_etag_mismatch_part": null}}))
        .await;
    let outcomes = sim
        .publish(&account, &media_post("a video", 1), &media)
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_ne!(outcomes[0].1.remote_id, "");
    assert_eq!(sim.posts("linkedin").await.len(), 1);
}

#[tokio::test]
async fn an_expired_upload_url_is_retryable_with_a_hint_and_never_named() {
    let mut config = config();
    config.linkedin.video_upload_url_secs = 0.0;
    let sim = start(config).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [video("landscape-1280x720-4s.mp4")];
    let failure = sim
        .publish(&account, &media_post("too slow", 1), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Retryable, "{failure}");
    assert_eq!(failure.platform_code.as_deref(), Some("UPLOAD_URL_EXPIRED"));
    assert!(
        failure
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("starts a new upload")),
        "{failure:?}"
    );
    let shown = format!("{failure:?}");
    assert!(
        !shown.contains("_video_upload"),
        "the pre-signed URL stays out of the failure: {shown}"
    );
    assert!(sim.posts("linkedin").await.is_empty());
}

#[tokio::test]
async fn a_video_linkedin_cannot_process_fails_permanently_with_the_reason() {
    let mut config = config();
    // The fixture is under the 75 KB minimum size; what fails here is its duration.
    config.linkedin.video_min_bytes = 0;
    let sim = start(config).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [video("short-640x360-1s.mp4")];
    let failure = sim
        .publish(&account, &media_post("one second", 1), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Permanent, "{failure}");
    assert_eq!(failure.platform_code.as_deref(), Some("PROCESSING_FAILED"));
    assert!(failure.message.contains("duration"), "{failure}");
    assert!(
        failure
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("3 seconds to 30 minutes")),
        "{failure:?}"
    );
    assert!(sim.posts("linkedin").await.is_empty());
}

#[tokio::test]
async fn a_first_comment_lands_under_the_post() {
    let sim = start(config()).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let mut content = media_post("Read the thread below", 0);
    content.first_comment = Some("The link: https://herald.example/launch".into());
    let outcomes = sim
        .publish(&account, &content, &[])
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(keys(&outcomes), ["publish", "comment"]);
    let post_urn = &published(&outcomes).remote_id;
    let comment_urn = &outcomes[1].1.remote_id;
    assert!(comment_urn.starts_with("urn:li:comment:"), "{comment_urn}");
    let posts = sim.posts("linkedin").await;
    let comment = posts
        .iter()
        .find(|p| p["id"] == comment_urn.as_str())
        .expect("the comment is on LinkedIn");
    assert_eq!(comment["reply_to"], post_urn.as_str());
    assert_eq!(comment["text"], "The link: https://herald.example/launch");
    assert_eq!(
        comment["account"],
        format!("urn:li:person:{}", account.account_id)
    );
}

#[tokio::test]
async fn a_video_among_images_is_refused_before_anything_is_uploaded() {
    let sim = start(config()).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [
        sim.image("1200x627").await,
        video("landscape-1280x720-4s.mp4"),
    ];
    let failure = sim
        .publish(&account, &media_post("mixed", 2), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.herald_code, Some(Code::Content));
    assert!(failure.message.contains("one video alone"), "{failure}");
    let requests = sim.get("/_sim/requests").await;
    let uploads = requests["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["platform"] == "linkedin"
                && r["endpoint"]
                    .as_str()
                    .is_some_and(|e| e.contains("images") || e.contains("videos"))
        })
        .count();
    assert_eq!(uploads, 0, "nothing was uploaded: {requests}");

    // More than twenty images never get a plan.
    let failure = sim
        .platforms
        .plan(&account, &media_post("too many", 21))
        .unwrap_err();
    assert_eq!(failure.herald_code, Some(Code::Content));
    assert!(failure.message.contains("at most 20 images"), "{failure}");
}

#[tokio::test]
async fn a_video_over_the_size_limit_is_refused_naming_the_field_and_the_limit() {
    let mut config = config();
    config.linkedin.video_max_bytes = 50_000;
    let sim = start(config).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let media = [video("landscape-1280x720-4s.mp4")];
    let failure = sim
        .publish(&account, &media_post("too big", 1), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Permanent, "{failure}");
    assert!(failure.message.contains("fileSizeBytes"), "{failure}");
    assert!(failure.message.contains("50000"), "the limit: {failure}");
    assert!(
        failure.message.contains(&media[0].len.to_string()),
        "the size: {failure}"
    );
    assert!(
        failure.hint.as_deref().is_some_and(|h| h.contains("MP4")),
        "{failure:?}"
    );
}

#[tokio::test]
async fn a_server_error_on_a_part_is_retryable() {
    let sim = start(config()).await;
    let account = sim.account(Platform::Linkedin, None).await;
    let rule = json!({"platform": "linkedin", "endpoint": "PUT /_video_upload/{id}", "script": ["ok", "503"]});
    sim.fault(rule).await;
    let media = [video("landscape-1280x720-4s.mp4")];
    let failure = sim
        .publish(&account, &media_post("flaky storage", 1), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Retryable, "{failure}");
    assert_eq!(failure.status, Some(503));
    // The script is spent: the next attempt goes through.
    sim.publish(&account, &media_post("flaky storage", 1), &media)
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(sim.posts("linkedin").await.len(), 1);
}

#[tokio::test]
async fn the_legacy_flow_comments_through_v2_and_posts_no_video() {
    let sim = start_with(
        config(),
        &[
            ("HERALD_PLATFORMS__LINKEDIN__FLOW", "legacy"),
            ("HERALD_PLATFORMS__LINKEDIN__IMAGE_WAIT_SECS", "1"),
        ],
    )
    .await;
    let account = sim.account(Platform::Linkedin, None).await;
    let mut content = media_post("the legacy way", 0);
    content.first_comment = Some("and a comment".into());
    let outcomes = sim
        .publish(&account, &content, &[])
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    let posts = sim.posts("linkedin").await;
    let comment = posts
        .iter()
        .find(|p| p["id"] == outcomes[1].1.remote_id.as_str())
        .expect("the comment");
    assert_eq!(comment["reply_to"], published(&outcomes).remote_id.as_str());

    let media = [video("landscape-1280x720-4s.mp4")];
    let failure = sim
        .publish(&account, &media_post("a video", 1), &media)
        .await
        .unwrap_err();
    assert_eq!(failure.herald_code, Some(Code::Content));
    assert!(
        failure
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("flow = current")),
        "{failure:?}"
    );
    let failure = sim
        .platforms
        .plan(&account, &media_post("two images", 2))
        .unwrap_err();
    assert!(failure.message.contains("one image, not 2"), "{failure}");
}
