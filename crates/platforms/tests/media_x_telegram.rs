//! X and Telegram media and first comments against `herald-sim`: a video with X's processing
//! wait, four images, the mixes X refuses, Telegram's video and media group, and the first
//! comment (an X reply, a reply in a Telegram channel's discussion group), including X's
//! summoned-only reply refusal.
//!
//! Each test starts its own simulator on a free port, as `against_sim.rs` does, and uses the
//! test videos under `tests/fixtures/video`.

mod common;

use std::path::PathBuf;

use common::sim::{
    Outcomes, Sim, fixture, keys, media_post, outcome, settings, video, video_file, with_comment,
};
use common::{published, secret};
use herald_domain::{ErrorClass, Platform, PlatformFailure, PostContent, VideoInfo};
use herald_platforms::steps::MediaBody;
use herald_platforms::{Account, ChatId, MediaInput, Platforms, PublishOptions};
use herald_sim::{DEV_DISCUSSION_ID, SimConfig, UNLINKED_CHANNEL_ID, XReplyPolicy};

fn fast() -> SimConfig {
    let mut config = SimConfig::default();
    config.x.media_processing_ms = 600;
    config.telegram.per_chat = herald_sim::Limit::new(100, 1.0);
    config
}

async fn start(config: SimConfig) -> Sim {
    Sim::start(config, &[], &settings()).await
}

/// A fixture video grown past `extra` bytes by a trailing `free` box (valid MP4 padding), so
/// its upload takes several segments.
fn padded_video(name: &str, extra: usize) -> (MediaInput, PathBuf) {
    let mut bytes = std::fs::read(fixture(name)).expect("fixture");
    let size = u32::try_from(extra + 8).expect("box size");
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(b"free");
    bytes.resize(bytes.len() + extra, 0);
    let path = std::env::temp_dir().join(format!(
        "herald-media-x-{}-{}.mp4",
        std::process::id(),
        extra
    ));
    std::fs::write(&path, &bytes).expect("temp video");
    (video_file(path.clone()), path)
}

/// Runs every step like the worker with the default options, keeping the outcomes of the
/// steps that ran when one fails (a failed first comment leaves the post published).
async fn run(
    platforms: &Platforms,
    account: &Account,
    content: &PostContent,
    media: &[MediaInput],
) -> (Outcomes, Option<(String, PlatformFailure)>) {
    common::run(
        platforms,
        account,
        content,
        media,
        PublishOptions::default(),
    )
    .await
}

// ---- X ----------------------------------------------------------------------------------

#[tokio::test]
async fn an_x_video_is_uploaded_in_segments_processed_and_posted() {
    let sim = start(fast()).await;
    let account = sim.account(Platform::Twitter, None).await;
    // Over 5 MB: two APPEND segments.
    let (media, path) = padded_video("landscape-1280x720-4s.mp4", 6 * 1024 * 1024);
    let post = media_post("A video", 1);
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &[media]).await;
    let _ = std::fs::remove_file(path);
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(keys(&outcomes), ["media:0", "media:0:ready", "publish"]);

    let appends = sim.count("twitter", |e| e.ends_with("/append")).await;
    assert_eq!(
        appends, 2,
        "a 6 MB video goes in two segments of at most 5 MB"
    );
    let finalized = sim.count("twitter", |e| e.ends_with("/finalize")).await;
    assert_eq!(finalized, 1);
    let polls = sim
        .count("twitter", |e| {
            e.starts_with("GET") && e.contains("media/upload")
        })
        .await;
    assert!(polls >= 1, "STATUS was read before posting");
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], published(&outcomes).remote_id.as_str());
    assert_eq!(
        posts[0]["media"][0],
        outcome(&outcomes, "media:0").remote_id
    );
    assert_eq!(posts[0]["media_types"], serde_json::json!(["video/mp4"]));
}

#[tokio::test]
async fn an_x_video_x_cannot_process_fails_permanently_with_x_s_reason() {
    let sim = start(fast()).await;
    let account = sim.account(Platform::Twitter, None).await;
    let post = media_post("Too long", 1);
    let (outcomes, failure) = run(
        &sim.platforms,
        &account,
        &post,
        &[video("long-320x240-320s.mp4")],
    )
    .await;
    let (step, failure) = failure.expect("the video is refused");
    assert_eq!(
        step, "media:0:ready",
        "refused by processing, after the upload"
    );
    assert_eq!(keys(&outcomes), ["media:0"]);
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert!(
        failure.message.contains("Duration too long"),
        "X's reason is named: {}",
        failure.message
    );
    assert_eq!(failure.platform_code.as_deref(), Some("InvalidMedia"));
    assert!(failure.hint.as_deref().unwrap_or_default().contains("140"));
    assert!(sim.posts("twitter").await.is_empty(), "nothing was posted");
}

#[tokio::test]
async fn four_images_go_out_in_one_x_post() {
    let sim = start(fast()).await;
    let account = sim.account(Platform::Twitter, None).await;
    let mut media = Vec::new();
    for size in ["1200x675", "800x800", "640x480", "1080x1350"] {
        media.push(sim.image(size).await);
    }
    let post = media_post("Four pictures", 4);
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &media).await;
    assert!(failure.is_none(), "{failure:?}");
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["media"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        posts[0]["media_types"],
        serde_json::json!(vec!["image/jpeg"; 4])
    );
    assert_eq!(posts[0]["id"], published(&outcomes).remote_id.as_str());
}

#[tokio::test]
async fn an_x_post_mixing_a_video_and_an_image_is_refused_before_any_upload() {
    let sim = start(fast()).await;
    let account = sim.account(Platform::Twitter, None).await;
    let media = [
        video("landscape-1280x720-4s.mp4"),
        sim.image("800x800").await,
    ];
    let post = media_post("Mixed", 2);
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &media).await;
    let (step, failure) = failure.expect("the mix is refused");
    assert_eq!(step, "media:0");
    assert!(outcomes.is_empty());
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert!(failure.message.contains("media.mix"), "{}", failure.message);
    assert!(
        failure
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("video")
    );
    let uploads = sim.count("twitter", |e| e.contains("media/upload")).await;
    assert_eq!(uploads, 0, "nothing was uploaded");
    assert!(sim.posts("twitter").await.is_empty());
}

#[tokio::test]
async fn an_x_first_comment_is_a_reply_to_the_post() {
    let sim = start(fast()).await;
    let account = sim.account(Platform::Twitter, None).await;
    let post = with_comment(media_post("The post", 0), "The first comment");
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &[]).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(keys(&outcomes), ["publish", "comment"]);
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 2);
    let post_id = published(&outcomes).remote_id.as_str();
    assert_eq!(posts[1]["text"], "The first comment");
    assert_eq!(posts[1]["reply_to"], post_id);
    assert_eq!(posts[1]["id"], outcome(&outcomes, "comment").remote_id);
}

#[tokio::test]
async fn x_summoned_only_replies_refuse_the_first_comment_with_a_hint() {
    let mut config = fast();
    config.x.reply_policy = XReplyPolicy::SummonedOnly;
    let sim = start(config).await;
    let account = sim.account(Platform::Twitter, None).await;
    let post = with_comment(media_post("The post", 0), "The first comment");
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &[]).await;
    assert_eq!(keys(&outcomes), ["publish"], "the post itself went out");
    let (step, failure) = failure.expect("the reply is refused");
    assert_eq!(step, "comment");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.status, Some(403));
    assert!(
        failure.message.contains("not been mentioned"),
        "{}",
        failure.message
    );
    let hint = failure.hint.unwrap_or_default();
    assert!(
        hint.contains("summoned") && hint.contains("enterprise"),
        "{hint}"
    );
    assert!(hint.contains("first_comment"), "{hint}");
    assert_eq!(sim.posts("twitter").await.len(), 1);
}

// ---- Telegram ---------------------------------------------------------------------------

#[tokio::test]
async fn a_telegram_video_is_sent_with_send_video() {
    let sim = start(fast()).await;
    let account = sim.telegram(None).await;
    let post = media_post("A video", 1);
    let (outcomes, failure) = run(
        &sim.platforms,
        &account,
        &post,
        &[video("portrait-720x1280-4s.mp4")],
    )
    .await;
    assert!(failure.is_none(), "{failure:?}");
    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["text"], "A video");
    assert_eq!(posts[0]["media_types"], serde_json::json!(["video/mp4"]));
    assert_eq!(posts[0]["id"], published(&outcomes).remote_id.as_str());
}

#[tokio::test]
async fn a_telegram_video_known_only_by_its_url_is_sent_by_url() {
    let sim = start(fast()).await;
    let account = sim.telegram(None).await;
    let bytes = std::fs::read(fixture("short-640x360-1s.mp4")).expect("fixture");
    let hosted = sim.host(&bytes, "video/mp4").await;
    let info = VideoInfo::read(std::io::Cursor::new(&bytes)).expect("readable");
    let mut media = MediaInput::video(MediaBody::Memory(bytes.into()), info.bytes, info);
    media.body = None;
    media.public_url = Some(hosted);
    let post = media_post("By URL", 1);
    let (_, failure) = run(&sim.platforms, &account, &post, &[media]).await;
    assert!(failure.is_none(), "{failure:?}");
    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["media_types"], serde_json::json!(["video/mp4"]));
}

#[tokio::test]
async fn a_telegram_upload_over_the_bot_limit_is_permanent_with_a_hint() {
    let mut config = fast();
    config.telegram.file_upload_max_bytes = 50_000;
    let sim = start(config).await;
    let account = sim.telegram(None).await;
    let post = media_post("Too big", 1);
    let (_, failure) = run(
        &sim.platforms,
        &account,
        &post,
        &[video("landscape-1280x720-4s.mp4")],
    )
    .await;
    let (step, failure) = failure.expect("refused");
    assert_eq!(step, "publish");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(failure.status, Some(413));
    assert!(failure.hint.unwrap_or_default().contains("50 MB"));
    assert!(sim.posts("telegram").await.is_empty());
}

#[tokio::test]
async fn a_quicktime_video_is_refused_for_telegram_before_sending() {
    let sim = start(fast()).await;
    let account = sim.telegram(None).await;
    let post = media_post("A mov", 1);
    let (_, failure) = run(
        &sim.platforms,
        &account,
        &post,
        &[video("clip-640x360-3s.mov")],
    )
    .await;
    let (_, failure) = failure.expect("refused");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert!(
        failure.message.contains("video.container"),
        "{}",
        failure.message
    );
    assert!(sim.posts("telegram").await.is_empty());
}

#[tokio::test]
async fn a_telegram_media_group_mixes_photos_and_a_video_in_one_post() {
    let sim = start(fast()).await;
    let account = sim.telegram(None).await;
    let media = [
        sim.image("800x800").await,
        video("landscape-1280x720-4s.mp4"),
        sim.image("640x480").await,
    ];
    let post = media_post("An album", 3);
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &media).await;
    assert!(failure.is_none(), "{failure:?}");
    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 1, "the group is one post");
    assert_eq!(
        posts[0]["text"], "An album",
        "the caption is on the first item"
    );
    assert_eq!(
        posts[0]["media_types"],
        serde_json::json!(["image/jpeg", "video/mp4", "image/jpeg"])
    );
    let first = published(&outcomes);
    assert_eq!(posts[0]["id"], first.remote_id.as_str());
    assert!(
        first
            .url
            .as_deref()
            .unwrap_or_default()
            .ends_with(&first.remote_id)
    );
}

#[tokio::test]
async fn a_telegram_first_comment_is_a_reply_in_the_linked_discussion_group() {
    let sim = start(fast()).await;
    let account = sim.telegram(None).await;
    let post = with_comment(media_post("The post", 0), "The first comment");
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &[]).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(keys(&outcomes), ["publish", "comment"]);
    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 2);
    let post_id = published(&outcomes).remote_id.as_str();
    assert_eq!(posts[1]["account"], DEV_DISCUSSION_ID.to_string());
    assert_eq!(posts[1]["text"], "The first comment");
    assert_eq!(posts[1]["reply_to"], post_id);
    let comment = outcome(&outcomes, "comment");
    assert_eq!(posts[1]["id"], comment.remote_id);
    assert!(
        comment
            .url
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("/{post_id}?comment=")),
        "{:?}",
        comment.url
    );
}

#[tokio::test]
async fn a_telegram_channel_without_a_discussion_group_takes_no_first_comment() {
    let sim = start(fast()).await;
    let fixtures = sim.get("/_sim/fixtures").await;
    assert_eq!(
        fixtures["telegram"]["unlinked_chat_id"],
        UNLINKED_CHANNEL_ID
    );
    let account = sim.telegram(Some(UNLINKED_CHANNEL_ID)).await;
    let post = with_comment(media_post("The post", 0), "The first comment");
    let (outcomes, failure) = run(&sim.platforms, &account, &post, &[]).await;
    assert_eq!(keys(&outcomes), ["publish"]);
    let (step, failure) = failure.expect("the comment is refused");
    assert_eq!(step, "comment");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert!(
        failure.message.contains("first_comment.unsupported"),
        "{}",
        failure.message
    );
    assert!(
        failure
            .hint
            .unwrap_or_default()
            .contains("discussion group")
    );
    assert_eq!(sim.posts("telegram").await.len(), 1);
}

#[tokio::test]
async fn connecting_a_telegram_channel_records_its_discussion_group() {
    let sim = start(fast()).await;
    let fixtures = sim.get("/_sim/fixtures").await;
    let token = secret(fixtures["telegram"]["bot_token"].as_str().expect("token"));
    for (chat, linked) in [
        (
            fixtures["telegram"]["chat_id"].to_string(),
            Some(DEV_DISCUSSION_ID),
        ),
        (UNLINKED_CHANNEL_ID.to_string(), None),
    ] {
        let channel = sim
            .platforms
            .connect_telegram(&token, &ChatId::parse(&chat).expect("chat id"))
            .await
            .expect("connects");
        assert_eq!(channel.linked_chat_id, linked, "{chat}");
    }
}
