//! Video, several images and carousels, and first comments, published by the worker on
//! every platform through the simulator: each post lands once, with its media in order and
//! of the right types, and each first comment once, answering its post. (A PNG sent to
//! Instagram arriving as a JPEG copy is `api::media_rules`, which needs the API to serve the
//! copy.)

use std::time::Duration;

use herald_domain::{AppType, ConnectionId, DeliveryState, MediaRef, Platform, PostContent};
use serde_json::Value;
use support::harness::{Harness, fast_sim};

const PORTRAIT: &[u8] = include_bytes!("../fixtures/video/portrait-720x1280-4s.mp4");
const LANDSCAPE: &[u8] = include_bytes!("../fixtures/video/landscape-1280x720-4s.mp4");

/// One post of a case: its text, its media, its first comment, and the content types the
/// platform must show for its media, in order.
struct Case {
    text: String,
    media: Vec<String>,
    comment: Option<String>,
    types: Vec<&'static str>,
}

impl Case {
    fn new(text: impl Into<String>, media: Vec<String>, types: Vec<&'static str>) -> Self {
        Self {
            text: text.into(),
            media,
            comment: None,
            types,
        }
    }

    fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    fn content(&self) -> PostContent {
        PostContent {
            text: Some(self.text.clone()),
            media: self
                .media
                .iter()
                .map(|url| MediaRef::Url { url: url.clone() })
                .collect(),
            first_comment: self.comment.clone(),
            ..PostContent::default()
        }
    }
}

/// Publishes every case on `connection` and checks what the simulator holds for `platform`.
async fn publishes_each_once(
    h: &Harness,
    connection: ConnectionId,
    platform: &str,
    cases: &[Case],
) {
    let posts: Vec<_> = cases.iter().map(|c| (connection, c.content())).collect();
    let ids = h.posts(&posts, None).await;
    let done = h.until_final(&ids, Duration::from_secs(90)).await;
    let on_sim = h.sim_posts(platform).await;
    for (case, delivery) in cases.iter().zip(&done) {
        assert_eq!(
            delivery.state,
            DeliveryState::Published,
            "`{}` on {platform}: {:?}",
            case.text,
            delivery.error
        );
        if !delivery.degraded.is_empty() {
            let steps = h
                .store
                .journal()
                .steps(delivery.id)
                .await
                .expect("the journal");
            panic!(
                "`{}` on {platform} degraded: {:?}; journal: {steps:#?}",
                case.text, delivery.degraded
            );
        }
        let post = only(&on_sim, &case.text, platform);
        let types: Vec<&str> = post["media_types"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(types, case.types, "`{}` on {platform}: {post}", case.text);
        assert_eq!(
            delivery.remote_id.as_deref(),
            post["id"].as_str(),
            "`{}` on {platform}: the delivery names the post",
            case.text
        );
        if let Some(comment) = &case.comment {
            let reply = only(&on_sim, comment, platform);
            assert_eq!(
                reply["reply_to"], post["id"],
                "the first comment on {platform} answers its post: {reply}"
            );
        }
    }
}

/// Connects `platform` (as `app_type`), hosts `video` and names a JPEG of `image_size` on the
/// simulator, and publishes the cases `cases` makes of their URLs.
async fn on(
    platform: Platform,
    app_type: Option<AppType>,
    video: &[u8],
    image_size: &str,
    cases: impl FnOnce(String, String) -> Vec<Case>,
) {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(platform, app_type).await;
    let video = h.host(video, "video/mp4").await;
    let image = h.image_url(image_size);
    publishes_each_once(&h, connection, platform.as_str(), &cases(video, image)).await;
    worker.stop().await;
}

/// The one post on the simulator with exactly `text`.
fn only<'a>(posts: &'a [Value], text: &str, platform: &str) -> &'a Value {
    let found: Vec<&Value> = posts
        .iter()
        .filter(|p| p["text"].as_str() == Some(text))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one `{text}` on {platform}: {posts:?}"
    );
    found[0]
}

#[tokio::test]
async fn x_publishes_a_video_four_images_and_a_first_comment_reply_once() {
    Box::pin(on(
        Platform::Twitter,
        None,
        LANDSCAPE,
        "1200x675",
        |video, image| {
            vec![
                Case::new("a video on X", vec![video], vec!["video/mp4"])
                    .with_comment("the first reply, under the video"),
                Case::new("four pictures on X", vec![image; 4], vec!["image/jpeg"; 4]),
            ]
        },
    ))
    .await;
}

#[tokio::test]
async fn linkedin_publishes_a_video_a_multi_image_post_and_a_first_comment_once() {
    Box::pin(on(
        Platform::Linkedin,
        Some(AppType::Company),
        LANDSCAPE,
        "1200x627",
        |video, image| {
            vec![
                Case::new("a video on LinkedIn", vec![video], vec!["video/mp4"])
                    .with_comment("a first comment on LinkedIn"),
                Case::new(
                    "three pictures on LinkedIn",
                    vec![image; 3],
                    vec!["image/jpeg"; 3],
                ),
            ]
        },
    ))
    .await;
}

#[tokio::test]
async fn facebook_publishes_a_video_several_photos_and_a_first_comment_once() {
    Box::pin(on(
        Platform::Facebook,
        None,
        LANDSCAPE,
        "1200x630",
        |video, image| {
            vec![
                Case::new("a video on the Page", vec![video], vec!["video/mp4"])
                    .with_comment("a first comment on the Page"),
                Case::new(
                    "three photos on the Page",
                    vec![image; 3],
                    vec!["image/jpeg"; 3],
                ),
            ]
        },
    ))
    .await;
}

#[tokio::test]
async fn instagram_publishes_a_reel_a_mixed_carousel_and_a_first_comment_once() {
    Box::pin(on(
        Platform::Instagram,
        None,
        PORTRAIT,
        "1080x1080",
        |video, image| {
            vec![
                Case::new("a reel", vec![video.clone()], vec!["video/mp4"])
                    .with_comment("a first comment on the reel"),
                Case::new(
                    "a carousel of two pictures and a video",
                    vec![image.clone(), image, video],
                    vec!["image/jpeg", "image/jpeg", "video/mp4"],
                ),
            ]
        },
    ))
    .await;
}

#[tokio::test]
async fn threads_publishes_a_video_a_carousel_and_a_first_reply_once() {
    Box::pin(on(
        Platform::Threads,
        None,
        PORTRAIT,
        "1080x1080",
        |video, image| {
            vec![
                Case::new("a video on Threads", vec![video.clone()], vec!["video/mp4"])
                    .with_comment("a first reply on Threads"),
                Case::new(
                    "a carousel on Threads",
                    vec![image, video],
                    vec!["image/jpeg", "video/mp4"],
                ),
            ]
        },
    ))
    .await;
}

#[tokio::test]
async fn telegram_publishes_a_video_a_media_group_and_a_comment_in_the_discussion_group_once() {
    Box::pin(on(
        Platform::Telegram,
        None,
        LANDSCAPE,
        "1280x720",
        |video, image| {
            vec![
                Case::new(
                    "a video in the channel",
                    vec![video.clone()],
                    vec!["video/mp4"],
                )
                .with_comment("a first comment, in the discussion group"),
                Case::new(
                    "a picture and a video, grouped",
                    vec![image, video],
                    vec!["image/jpeg", "video/mp4"],
                ),
            ]
        },
    ))
    .await;
}

/// The comment's row in the delivery's journal.
async fn comment_row(h: &Harness, delivery: herald_domain::DeliveryId) -> herald_store::Step {
    h.store
        .journal()
        .steps(delivery)
        .await
        .expect("the journal")
        .into_iter()
        .find(|s| s.step == "comment")
        .expect("a journal row for the first comment")
}

#[tokio::test]
async fn a_first_comment_whose_answer_is_lost_is_never_sent_again_and_the_post_stays_published() {
    let h = Harness::start(fast_sim()).await;
    // The comment lands on the platform; its answer never reaches Herald.
    h.fault(serde_json::json!({
        "platform": "facebook",
        "endpoint": "POST /{id}/comments",
        "script": ["drop"],
    }))
    .await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Facebook, None).await;
    let case = Case::new(
        "a post whose comment's answer is lost",
        Vec::new(),
        Vec::new(),
    )
    .with_comment("a comment whose answer is lost");
    let id = h.post(connection, case.content(), None).await;

    let delivery = &h.until_final(&[id], Duration::from_secs(60)).await[0];
    assert_eq!(
        delivery.state,
        DeliveryState::Published,
        "{:?}",
        delivery.error
    );
    assert_eq!(delivery.degraded, vec!["first_comment_unknown".to_owned()]);
    assert_eq!(delivery.attempts, 1);
    let on_sim = h.sim_posts("facebook").await;
    let post = only(&on_sim, &case.text, "facebook");
    let comment = only(&on_sim, "a comment whose answer is lost", "facebook");
    assert_eq!(comment["reply_to"], post["id"]);
    let row = comment_row(&h, id).await;
    assert_eq!(
        row.state,
        herald_domain::StepState::Sending,
        "left in doubt: {row:?}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_first_comment_x_refuses_is_reported_with_its_hint_and_the_post_stays_published() {
    let mut sim = fast_sim();
    sim.x.reply_policy = herald_sim::XReplyPolicy::SummonedOnly;
    let h = Harness::start(sim).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    let case = Case::new("a tweet whose reply X refuses", Vec::new(), Vec::new())
        .with_comment("a reply nobody summoned");
    let id = h.post(connection, case.content(), None).await;

    let delivery = &h.until_final(&[id], Duration::from_secs(60)).await[0];
    assert_eq!(
        delivery.state,
        DeliveryState::Published,
        "{:?}",
        delivery.error
    );
    assert_eq!(delivery.degraded, vec!["first_comment_failed".to_owned()]);
    let on_sim = h.sim_posts("twitter").await;
    only(&on_sim, &case.text, "twitter");
    assert!(
        on_sim
            .iter()
            .all(|p| p["text"] != "a reply nobody summoned"),
        "no reply on X: {on_sim:?}"
    );
    let row = comment_row(&h, id).await;
    assert_eq!(row.state, herald_domain::StepState::Failed);
    let hint = row
        .detail
        .as_ref()
        .and_then(|d| d["hint"].as_str())
        .unwrap_or_default();
    assert!(
        hint.contains("summoned"),
        "the hint says why and what to do: {row:?}"
    );
    worker.stop().await;
}
